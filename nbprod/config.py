"""Project configuration: ``[tool.nbprod]`` in the user's ``pyproject.toml``.

Every setting has a default, so a folder of notebooks with no configuration at
all still works: the package is named after the folder.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from nbprod.errors import ConfigError, Location

DEFAULT_DATABASE = "sqlite:///.nbprod/history.db"
#: the folder, below the project root, where nbprod keeps its own state
STATE_DIR = ".nbprod"


def identifier(name: str) -> str:
    """Turn a file or folder name into a Python identifier.

    Leading ordering numbers are dropped, as data scientists number their
    notebooks: ``01_Data-Prep`` becomes ``data_prep``.

    Parameters
    ----------
    name : str
        A file stem or folder name.

    Returns
    -------
    str
        A lower-case identifier (``module`` when nothing usable remains).
    """
    text = re.sub(r"^[\d_\-. ]+", "", name.strip())
    text = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_").lower()
    text = re.sub(r"_+", "_", text)
    if not text:
        return "module"
    if text[0].isdigit():
        text = f"m_{text}"
    return text


def default_jobs(runs: int | None = None) -> int:
    """Return how many runs go at once when nobody said: one per core.

    The one place this rule lives; the CLI, the server (which sends it to the
    JupyterLab panel), batches, executors and the export's planning use it.

    Parameters
    ----------
    runs : int or None
        How many runs there are; never more workers than that.
    """
    cores = os.cpu_count() or 1
    return max(1, min(cores, runs)) if runs is not None else cores


@dataclass(frozen=True)
class GateConfig:
    """Settings of the quality gate (``[tool.nbprod.gate]``)."""

    lint: tuple[str, ...] = ("black", "ruff")
    smoke: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: run the ``package`` step (wheel installed in a fresh venv) in every gate
    package: bool = False
    #: what the ``tests`` step gives pytest (default: the generated tests folder)
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunConfig:
    """Settings of runs (``[tool.nbprod.run]``).

    Attributes
    ----------
    warm_kernels : bool
        Start kernels as forks of a warm template that preloaded the
        notebook's imports (falls back to a normal start when unsafe).
    preload : tuple of str
        Modules the template imports beside the notebook's own imports.
    keep_warm : float
        Minutes a warm keeper (:mod:`nbprod.run.keeper`), started by the
        first run or batch, keeps the templates for the next command; 0
        (the default): each command starts and stops its own.
    """

    warm_kernels: bool = True
    preload: tuple[str, ...] = ()
    keep_warm: float = 0.0


@dataclass(frozen=True)
class PushConfig:
    """Settings of ``nbprod push`` (``[tool.nbprod.push]``)."""

    remote: str = "origin"
    branch: str | None = None
    strip_outputs: bool = True


@dataclass(frozen=True)
class MetricRule:
    """Bounds of one metric (``metrics = { auc = { min = 0.75, max_drop = 0.05 } }``).

    ``max_drop`` is absolute and ``max_drop_pct`` in percent, both against the
    baseline run's value.
    """

    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_drop_pct: float | None = None


@dataclass(frozen=True)
class ColumnRule:
    """A drift method and/or threshold chosen for one column."""

    method: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class NotebookMonitor:
    """What to check on the runs of one notebook (``[tool.nbprod.monitor."nb.ipynb"]``).

    Attributes
    ----------
    baseline : str
        ``"first"`` (its first succeeded run), ``"previous"`` (the succeeded
        run before the checked one), or a run id.
    metrics : dict
        Metric name to :class:`MetricRule`.
    share : float
        A profile drifts as a whole when this share of its columns drifted.
    columns : dict
        Column name to :class:`ColumnRule`; a drifted column named here is an
        alert by itself.
    """

    baseline: str = "first"
    metrics: dict[str, MetricRule] = field(default_factory=dict)
    share: float = 0.5
    columns: dict[str, ColumnRule] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of monitoring (``[tool.nbprod.monitor]``).

    Attributes
    ----------
    notebooks : dict
        Notebook path (relative to the root) to its :class:`NotebookMonitor`.
    webhook : str or None
        URL alerts are POSTed to.
    webhook_secret_env : str or None
        Name of the environment variable holding the HMAC key that signs them.
    """

    notebooks: dict[str, NotebookMonitor] = field(default_factory=dict)
    webhook: str | None = None
    webhook_secret_env: str | None = None

    def for_notebook(self, notebook: str) -> NotebookMonitor | None:
        """The settings of a notebook (its project-relative path), None when it has none."""
        return self.notebooks.get(notebook)


def _number(value: Any, what: str, where: Location) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, not {value!r}", where)
    return float(value)


def _monitor_config(table: dict[str, Any], where: Location) -> MonitorConfig:
    """Parse ``[tool.nbprod.monitor]``: global keys plus one table per notebook."""
    webhook = table.get("webhook")
    secret = table.get("webhook_secret_env")
    for key, value in (("webhook", webhook), ("webhook_secret_env", secret)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"tool.nbprod.monitor.{key} must be a string", where)
    notebooks: dict[str, NotebookMonitor] = {}
    for name, entry in table.items():
        if name in ("webhook", "webhook_secret_env"):
            continue
        prefix = f'tool.nbprod.monitor."{name}"'
        if not isinstance(entry, dict):
            raise ConfigError(
                f"{prefix} must be a table of checks for that notebook",
                where,
                hint='e.g. [tool.nbprod.monitor."notebooks/03_score.ipynb"]',
            )
        unknown = set(entry) - {"baseline", "metrics", "drift"}
        if unknown:
            raise ConfigError(
                f"{prefix} has unknown keys: {', '.join(sorted(unknown))}",
                where,
                hint="a notebook's monitor table takes baseline, metrics and drift",
            )
        baseline = entry.get("baseline", "first")
        if not isinstance(baseline, str) or not baseline:
            raise ConfigError(
                f'{prefix}.baseline must be "first", "previous" or a run id', where
            )
        metrics: dict[str, MetricRule] = {}
        raw_metrics = entry.get("metrics", {})
        if not isinstance(raw_metrics, dict):
            raise ConfigError(f"{prefix}.metrics must be a table", where)
        for metric, rule in raw_metrics.items():
            if not isinstance(rule, dict) or not rule:
                raise ConfigError(
                    f"{prefix}.metrics.{metric} must be a table of bounds",
                    where,
                    hint="e.g. auc = { min = 0.75, max_drop = 0.05 }",
                )
            bad = set(rule) - {"min", "max", "max_drop", "max_drop_pct"}
            if bad:
                raise ConfigError(
                    f"{prefix}.metrics.{metric} has unknown bounds: {', '.join(sorted(bad))}",
                    where,
                    hint="the bounds are min, max, max_drop and max_drop_pct",
                )
            metrics[metric] = MetricRule(
                **{
                    k: _number(v, f"{prefix}.metrics.{metric}.{k}", where)
                    for k, v in rule.items()
                }
            )
        drift = entry.get("drift", {})
        if not isinstance(drift, dict):
            raise ConfigError(f"{prefix}.drift must be a table", where)
        bad = set(drift) - {"share", "columns"}
        if bad:
            raise ConfigError(
                f"{prefix}.drift has unknown keys: {', '.join(sorted(bad))}",
                where,
                hint="drift takes share and columns",
            )
        share = _number(drift.get("share", 0.5), f"{prefix}.drift.share", where)
        if not 0 < share <= 1:
            raise ConfigError(f"{prefix}.drift.share must be in (0, 1]", where)
        columns: dict[str, ColumnRule] = {}
        raw_columns = drift.get("columns", {})
        if not isinstance(raw_columns, dict):
            raise ConfigError(f"{prefix}.drift.columns must be a table", where)
        for column, rule in raw_columns.items():
            if not isinstance(rule, dict) or set(rule) - {"method", "threshold"}:
                raise ConfigError(
                    f"{prefix}.drift.columns.{column} takes method and threshold",
                    where,
                    hint='e.g. tenure = { method = "ks", threshold = 0.01 }',
                )
            method = rule.get("method")
            if method is not None and not isinstance(method, str):
                raise ConfigError(
                    f"{prefix}.drift.columns.{column}.method must be a string", where
                )
            threshold = rule.get("threshold")
            columns[column] = ColumnRule(
                method,
                (
                    None
                    if threshold is None
                    else _number(
                        threshold, f"{prefix}.drift.columns.{column}.threshold", where
                    )
                ),
            )
        notebooks[name] = NotebookMonitor(baseline, metrics, share, columns)
    return MonitorConfig(notebooks, webhook, secret)


@dataclass(frozen=True)
class ProjectConfig:
    """Where a project keeps its notebooks, package, tests, runs and history.

    Parameters
    ----------
    root : Path
        The project folder (the one holding ``pyproject.toml``).
    package : str
        Import name of the package that modules are exported into.
    source : str
        Folder holding the package, relative to root ("" for a flat layout).
    notebooks : str
        Folder of the notebooks, relative to root.
    tests : str
        Folder of the generated tests, relative to root.
    runs : str
        Folder of the output notebooks of runs, relative to root.
    database : str
        SQLAlchemy URL of the run history; a relative SQLite path is relative
        to root.
    """

    root: Path
    package: str
    source: str = ""
    notebooks: str = "notebooks"
    tests: str = "tests"
    runs: str = "runs"
    database: str = DEFAULT_DATABASE
    gate: GateConfig = field(default_factory=GateConfig)
    push: PushConfig = field(default_factory=PushConfig)
    run: RunConfig = field(default_factory=RunConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    #: True when the settings came from a ``[tool.nbprod]`` table
    configured: bool = False
    #: ``from pkg.core import x`` inside the package becomes ``from .core import x``
    #: in generated modules, as nbdev writes them
    relative_imports: bool = False
    #: where the settings came from when not from ``[tool.nbprod]`` (nbdev's
    #: settings), for front doors to say once; None otherwise
    settings_note: str | None = None

    @property
    def package_dir(self) -> Path:
        """The folder of the package's top-level ``__init__.py``."""
        return self.root / self.source / self.package.replace(".", "/")

    @property
    def tests_dir(self) -> Path:
        """The folder the generated tests go to."""
        return self.root / self.tests

    @property
    def notebooks_dir(self) -> Path:
        """The folder of the notebooks (the root when it has no such folder)."""
        folder = self.root / self.notebooks
        return folder if folder.is_dir() else self.root

    @property
    def runs_dir(self) -> Path:
        """The folder the output notebooks of runs go to."""
        return self.root / self.runs

    @property
    def state_dir(self) -> Path:
        """The folder of nbprod's own state (history, export manifest)."""
        return self.root / STATE_DIR

    @property
    def database_url(self) -> str:
        """The history's SQLAlchemy URL, with a relative SQLite path made absolute."""
        url = os.environ.get("NBPROD_DATABASE_URL") or self.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str((self.root / rest).resolve())
        return url

    def relpath(self, path: Path) -> str:
        """Return ``path`` relative to the project root when it is inside it."""
        try:
            return path.resolve().relative_to(_resolved(self.root)).as_posix()
        except ValueError:
            return str(path)


@functools.lru_cache(maxsize=64)
def _resolved(root: Path) -> Path:
    # an export asks for hundreds of relative paths, each resolving the root
    return root.resolve()


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file such as ``pyproject.toml``.

    Raises
    ------
    ConfigError
        When the file is not valid TOML.
    """
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", Location(str(path))) from None


def find_project_root(start: Path) -> Path | None:
    """Return the nearest folder at or above ``start`` whose pyproject has ``[tool.nbprod]``."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.nbprod" in pyproject.read_text("utf-8"):
            return candidate
    return None


def _table(data: dict[str, Any], key: str, where: Location) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[tool.nbprod.{key}] must be a table", where)
    return value


def _text(data: dict[str, Any], key: str, default: str, where: Location) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(
            f"tool.nbprod.{key} must be a string, not {type(value).__name__}", where
        )
    return value


def load_config(start: Path | str = ".") -> ProjectConfig:
    """Load the configuration of the project that holds ``start``.

    The project root is the nearest folder at or above ``start`` with a
    ``[tool.nbprod]`` table in its ``pyproject.toml``; without one, the nearest
    with a ``pyproject.toml`` or a ``.git``, else ``start`` itself (or its
    folder, for a file), with every setting at its default.

    Parameters
    ----------
    start : Path or str
        A folder or file inside the project.

    Returns
    -------
    ProjectConfig
        The settings, defaults filled in.

    Raises
    ------
    ConfigError
        When the pyproject is not valid TOML or a setting has the wrong type.
    """
    start = Path(start)
    root = find_project_root(start)
    if root is None:
        folder = start.resolve()
        folder = folder if folder.is_dir() else folder.parent
        # Unconfigured: the enclosing Python project or git repository, else the folder.
        root = next(
            (
                candidate
                for candidate in (folder, *folder.parents)
                if (candidate / "pyproject.toml").is_file()
                or (candidate / ".git").exists()
            ),
            folder,
        )
        nbdev = _nbdev_config(folder)
        if nbdev is not None:
            return nbdev
        return ProjectConfig(root=root, package=identifier(root.name))
    pyproject = root / "pyproject.toml"
    where = Location(str(pyproject))
    data = read_toml(pyproject)
    table = data.get("tool", {}).get("nbprod", {})
    if not isinstance(table, dict):
        raise ConfigError("[tool.nbprod] must be a table", where)
    gate = _table(table, "gate", where)
    push = _table(table, "push", where)
    smoke = gate.get("smoke", {})
    if not isinstance(smoke, dict) or not all(
        isinstance(v, dict) for v in smoke.values()
    ):
        raise ConfigError(
            "tool.nbprod.gate.smoke must map notebook paths to parameter tables",
            where,
        )
    lint = gate.get("lint", list(GateConfig.lint))
    if not isinstance(lint, list) or not all(isinstance(v, str) for v in lint):
        raise ConfigError("tool.nbprod.gate.lint must be a list of tool names", where)
    package_step = gate.get("package", False)
    if not isinstance(package_step, bool):
        raise ConfigError("tool.nbprod.gate.package must be true or false", where)
    test_paths = gate.get("tests", [])
    if not isinstance(test_paths, list) or not all(
        isinstance(v, str) and v for v in test_paths
    ):
        raise ConfigError(
            "tool.nbprod.gate.tests must be a list of test folders or files",
            where,
            'e.g. tests = ["tests"]',
        )
    strip = push.get("strip_outputs", True)
    if not isinstance(strip, bool):
        raise ConfigError("tool.nbprod.push.strip_outputs must be true or false", where)
    branch = push.get("branch")
    if branch is not None and not isinstance(branch, str):
        raise ConfigError("tool.nbprod.push.branch must be a string", where)
    run = _table(table, "run", where)
    warm_kernels = run.get("warm_kernels", True)
    if not isinstance(warm_kernels, bool):
        raise ConfigError("tool.nbprod.run.warm_kernels must be true or false", where)
    preload = run.get("preload", [])
    if not isinstance(preload, list) or not all(
        isinstance(v, str) and all(p.isidentifier() for p in v.split("."))
        for v in preload
    ):
        raise ConfigError(
            "tool.nbprod.run.preload must be a list of module names", where
        )
    keep_warm = run.get("keep_warm", 0)
    if (
        isinstance(keep_warm, bool)
        or not isinstance(keep_warm, (int, float))
        or not 0 <= keep_warm < 10_000
    ):
        raise ConfigError(
            "tool.nbprod.run.keep_warm must be a number of minutes (0: off)",
            where,
            "e.g. keep_warm = 30",
        )
    project_name = data.get("project", {}).get("name", root.name)
    package = _text(table, "package", identifier(str(project_name)), where)
    if not all(part.isidentifier() for part in package.split(".")):
        raise ConfigError(
            f"tool.nbprod.package {package!r} is not a Python import name", where
        )
    return ProjectConfig(
        root=root,
        package=package,
        source=_text(table, "source", "", where),
        notebooks=_text(table, "notebooks", "notebooks", where),
        tests=_text(table, "tests", "tests", where),
        runs=_text(table, "runs", "runs", where),
        database=_text(table, "database", DEFAULT_DATABASE, where),
        gate=GateConfig(
            lint=tuple(lint),
            smoke=smoke,
            package=package_step,
            tests=tuple(test_paths),
        ),
        push=PushConfig(
            remote=_text(push, "remote", "origin", where),
            branch=branch,
            strip_outputs=strip,
        ),
        run=RunConfig(
            warm_kernels=warm_kernels,
            preload=tuple(preload),
            keep_warm=float(keep_warm),
        ),
        monitor=_monitor_config(_table(table, "monitor", where), where),
        configured=True,
        relative_imports=_flag(table, "relative_imports", False, where),
    )


def _flag(data: dict[str, Any], key: str, default: bool, where: Location) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"tool.nbprod.{key} must be true or false", where)
    return value


# -- nbdev's settings (zero configuration for an nbdev repository) --------------
#
# nbdev 3 keeps its settings in `[tool.nbdev]` of pyproject.toml (the library's
# name is `[project].name`), nbdev 2 in the `[DEFAULT]` section of settings.ini.
# Only what says where things are is read: lib_name, lib_path, nbs_path, and
# tst_flags for `nbprod init --from-nbdev`.


@dataclass(frozen=True)
class NbdevSettings:
    """Where an nbdev project keeps its library and notebooks.

    Parameters
    ----------
    root : Path
        The folder of the settings file.
    origin : str
        The file the settings came from: ``pyproject.toml`` or ``settings.ini``.
    lib_name : str
        The library's name (``[project].name`` or ``lib_name``).
    lib_path : str
        The package folder, relative to root (default: lib_name, ``-`` → ``_``).
    nbs_path : str
        The notebooks folder, relative to root (default ``nbs``).
    tst_flags : tuple of str
        Directives that make nbdev's test runner skip a cell (default ``notest``).
    """

    root: Path
    origin: str
    lib_name: str
    lib_path: str
    nbs_path: str = "nbs"
    tst_flags: tuple[str, ...] = ("notest",)

    @property
    def package(self) -> str:
        """The import name: the last folder of lib_path."""
        return Path(self.lib_path).name or identifier(self.lib_name)

    @property
    def source(self) -> str:
        """The folder holding the package, relative to root (``""`` when flat)."""
        parent = Path(self.lib_path).parent.as_posix()
        return "" if parent == "." else parent


def ini_settings(path: Path) -> dict[str, str]:
    """The settings of an nbdev ``settings.ini`` (its ``[DEFAULT]`` section), interpolated."""
    import configparser

    # nbdev's settings.ini uses %(name)s interpolation, as configparser does
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text("utf-8"))
        return dict(parser.defaults())
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"nbdev's settings.ini cannot be read: {exc}".splitlines()[0],
            Location(str(path)),
        ) from None


def read_nbdev_settings(folder: Path) -> NbdevSettings | None:
    """Read nbdev's settings in ``folder``: ``[tool.nbdev]``, else ``settings.ini``.

    Parameters
    ----------
    folder : Path
        A project folder.

    Returns
    -------
    NbdevSettings or None
        None when the folder has neither.

    Raises
    ------
    ConfigError
        When the file cannot be read or names no library.
    """
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and "tool.nbdev" in pyproject.read_text("utf-8"):
        data = read_toml(pyproject)
        table = data.get("tool", {}).get("nbdev")
        if isinstance(table, dict):
            name = str(data.get("project", {}).get("name", "") or folder.name)
            flags = table.get("tst_flags", "notest")
            return NbdevSettings(
                folder,
                "pyproject.toml",
                name,
                str(table.get("lib_path") or name.replace("-", "_")),
                str(table.get("nbs_path") or "nbs"),
                _flags(flags),
            )
    ini = folder / "settings.ini"
    if ini.is_file():
        values = ini_settings(ini)
        name = values.get("lib_name") or values.get("repo") or ""
        if not name:
            raise ConfigError(
                "nbdev's settings.ini has no lib_name",
                Location(str(ini)),
                "add `lib_name = yourlib` under [DEFAULT]",
            )
        return NbdevSettings(
            folder,
            "settings.ini",
            name,
            values.get("lib_path") or name.replace("-", "_"),
            values.get("nbs_path") or "nbs",
            _flags(values.get("tst_flags", "notest")),
        )
    return None


def _flags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(str(value).replace(",", " ").split())


def find_nbdev_root(start: Path) -> NbdevSettings | None:
    """The nbdev settings of the nearest folder at or above ``start`` that has them."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "settings.ini").is_file() or (
            (candidate / "pyproject.toml").is_file()
            and "tool.nbdev" in (candidate / "pyproject.toml").read_text("utf-8")
        ):
            settings = read_nbdev_settings(candidate)
            if settings is not None:
                return settings
    return None


def nbdev_project_config(settings: NbdevSettings) -> ProjectConfig:
    """The configuration nbprod uses for an nbdev project without ``[tool.nbprod]``.

    Imports inside the package are written relative, as nbdev writes them.
    """
    package = settings.package
    if not all(part.isidentifier() for part in package.split(".")):
        raise ConfigError(
            f"nbdev's lib_path {settings.lib_path!r} is not a Python package folder",
            Location(str(settings.root / settings.origin)),
        )
    note = (
        f"no [tool.nbprod]: using nbdev's settings from {settings.origin} "
        f"(package {package}, lib_path {settings.lib_path}, "
        f"nbs_path {settings.nbs_path})"
    )
    return ProjectConfig(
        root=settings.root,
        package=package,
        source=settings.source,
        notebooks=settings.nbs_path,
        relative_imports=True,
        settings_note=note,
    )


def _nbdev_config(folder: Path) -> ProjectConfig | None:
    settings = find_nbdev_root(folder)
    return nbdev_project_config(settings) if settings is not None else None
