"""Helpers shared by the test suites (notebook writers, project and git set-up)."""
