"""Running notebooks: parameters, single runs, batches, executors and metrics.

Kept free of imports so that ``import nbprod`` (and ``nbprod.record`` inside a
kernel) stays cheap; import the submodules you need.
"""
