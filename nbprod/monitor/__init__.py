"""Monitoring: profiles of a run's data, drift and metric checks against a baseline, alerts.

:mod:`nbprod.monitor.profile` is what a notebook calls (``nbprod.profile``) and
imports nothing heavy; :mod:`nbprod.monitor.drift` holds the statistics
(scipy), :mod:`nbprod.monitor.checks` turns a run and its baseline into a
:class:`~nbprod.monitor.checks.MonitorReport`, :mod:`nbprod.monitor.alerts`
fires alerts on changes of state and delivers them to a webhook, and
:mod:`nbprod.monitor.hook` is the one call the runners make when a run ends.
"""
