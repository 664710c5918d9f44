"""``nbprod export``: notebooks to modules and tests (being written)."""
