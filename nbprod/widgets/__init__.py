"""nbprod inside any notebook editor: ipywidgets for runs, batches, the history, monitoring.

The third front door, beside JupyterLab's panel and the command line, for
editors that have ipywidgets but not the lab extension (VS Code, Notebook 7, a
hub without extensions). The widgets use the same core and the same history:
what they start, ``nbprod runs`` and the JupyterLab panel see.

>>> from nbprod.widgets import History, Monitor, RunForm
>>> RunForm("02_train.ipynb")          # doctest: +SKIP
>>> History(notebook="02_train.ipynb")  # doctest: +SKIP
>>> Monitor("03_score.ipynb")           # doctest: +SKIP
"""

from nbprod.widgets._form import RunForm
from nbprod.widgets._history import History
from nbprod.widgets._monitor import Monitor

__all__ = ["History", "Monitor", "RunForm"]
