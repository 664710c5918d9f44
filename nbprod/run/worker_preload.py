"""Imported by the local executor's forkserver: each worker's warm-up, done once.

A worker forked from the forkserver (:func:`nbprod.run.executors.start_forkserver`)
inherits what the forkserver imported and built, so
:func:`nbprod.run.execute.warm_imports` costs it nothing more.
"""

from __future__ import annotations

# what a process pool worker imports to talk to its pool
import concurrent.futures.process  # noqa: F401
import multiprocessing.queues
import multiprocessing.synchronize  # noqa: F401

from nbprod.run.execute import warm_imports

warm_imports()
