"""Declared dependencies: what the shipped code imports against what ``pyproject.toml`` declares.

nbprod knows the code that ships: the modules and tests the export writes from
the notebooks (planned afresh, so the check sees what the next export writes)
and any hand-written ``.py`` files in the package and tests folders. Every
import in them is read from the AST (nested ones too: they run when a function
is called) and sorted into the standard library, the project's own code, and
third-party code. Each third-party import is mapped to the distribution that
provides it with :func:`importlib.metadata.packages_distributions` (``sklearn``
→ ``scikit-learn``) and looked up, by its PEP 503 name, among
``[project].dependencies`` (for the package) or those and the test groups (for
the tests). An import in a generated file is traced back to the notebook cell
it came from, which is where the data scientist wrote it.

deptry does the same for ordinary projects, but it reads files only: it cannot
say which notebook cell an import came from, and it needs the export written
first. The analysis here is a few hundred lines over nbprod's own plans.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import tomlkit
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nbprod.config import ProjectConfig, identifier, ini_settings, read_toml
from nbprod.errors import ConfigError, NbprodError
from nbprod.export import find_notebooks, plan_notebook
from nbprod.export.render import HEADER_MARK
from nbprod.files import write_atomic

# the built-in steps are registered first, so deps can go before lint
from nbprod.gate import steps  # noqa: F401
from nbprod.gate.registry import GateContext, gate_steps
from nbprod.gate.report import FAILED, PASSED, SKIPPED, Finding, StepResult
from nbprod.notebook.cells import Role, classify_cells
from nbprod.notebook.ipython import make_plain
from nbprod.notebook.reader import read_notebook

SETTINGS_INI = "settings.ini"
RUNTIME = "runtime"
TEST = "test"
#: optional-dependency (or PEP 735 dependency-group) names taken as the tests' own
TEST_GROUPS = ("test", "tests", "testing", "dev")
#: the group ``--add`` creates when the project has none of those
DEFAULT_TEST_GROUP = "test"

_HEADER = re.compile(rf"^{re.escape(HEADER_MARK)} (?P<notebook>.+?): do not edit")
_MARKER = re.compile(
    r"^# %% \[nbprod\] (?P<notebook>.+?) cell (?:id=(?P<id>\S+)|index=(?P<index>\d+))$"
)
_OPTIONAL_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception"}


@dataclass(frozen=True)
class ImportSite:
    """One import of a top-level module in the shipped code.

    Attributes
    ----------
    name : str
        The top-level import name (``sklearn``).
    statement : str
        The module the statement names (``sklearn.linear_model``).
    path : str
        The file, relative to the project root.
    line : int
        One-based line in that file.
    scope : str
        ``runtime`` (the package) or ``test`` (the tests).
    notebook : str or None
        For generated files: the notebook the import came from.
    cell : int or None
        One-based number of the notebook cell that holds the import.
    cell_line : int or None
        One-based line of the import in that cell.
    """

    name: str
    statement: str
    path: str
    line: int
    scope: str
    notebook: str | None = None
    cell: int | None = None
    cell_line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the site as a JSON-ready mapping."""
        return {
            "name": self.name,
            "statement": self.statement,
            "path": self.path,
            "line": self.line,
            "scope": self.scope,
            "notebook": self.notebook,
            "cell": self.cell,
            "cell_line": self.cell_line,
        }


@dataclass
class MissingDependency:
    """A third-party import whose distribution the project does not declare.

    Attributes
    ----------
    name : str
        The top-level import name.
    distribution : str or None
        The distribution providing it here; None when none installed does.
    version : str or None
        Its installed version, the lower bound ``--add`` writes.
    scope : str
        ``runtime`` (goes to ``[project].dependencies``) or ``test`` (to a test group).
    sites : list of ImportSite
        Where it is imported, the first one named in the finding.
    via : list of str
        Declared distributions that require it (it is installed only as their
        dependency: deptry's "transitive" import).
    """

    name: str
    distribution: str | None
    version: str | None
    scope: str
    sites: list[ImportSite] = field(default_factory=list)
    via: list[str] = field(default_factory=list)

    @property
    def requirement(self) -> str | None:
        """The requirement ``--add`` writes: ``scikit-learn>=1.9.1``."""
        if self.distribution is None:
            return None
        return f"{self.distribution}>={self.version}" if self.version else None

    def to_dict(self) -> dict[str, Any]:
        """Return it as a JSON-ready mapping."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "scope": self.scope,
            "requirement": self.requirement,
            "sites": [site.to_dict() for site in self.sites],
            "via": list(self.via),
        }


@dataclass
class DepsReport:
    """What the project imports and declares, and where the two disagree.

    Attributes
    ----------
    pyproject : str
        The pyproject file, relative to the root.
    has_project : bool
        False when it has no ``[project]`` table: the package cannot be installed.
    problems : list of str
        Other reasons the metadata cannot be checked (dynamic dependencies).
    warnings : list of str
        Gaps that stop a build but not the check (no name or version).
    declared : list of str
        ``[project].dependencies``, as written.
    test_group : str or None
        The test group used (an optional-dependency or dependency-group name).
    test_declared : list of str
        That group's requirements.
    imports : list of ImportSite
        Every third-party import found.
    missing : list of MissingDependency
        Imports whose distribution is not declared where it is needed.
    unused : list of str
        Declared runtime requirements that nothing imports.
    """

    pyproject: str
    has_project: bool = True
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    test_group: str | None = None
    test_declared: list[str] = field(default_factory=list)
    imports: list[ImportSite] = field(default_factory=list)
    missing: list[MissingDependency] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    #: where the dependencies are declared: ``pyproject.toml``, or nbdev's
    #: ``settings.ini`` (old nbdev projects, whose setup.py reads it)
    declared_in: str = "pyproject.toml"

    @property
    def ok(self) -> bool:
        """True when the metadata is installable and declares every import."""
        return self.has_project and not self.problems and not self.missing

    @property
    def needed(self) -> list[str]:
        """The distinct third-party names the shipped code imports."""
        return sorted({site.name for site in self.imports})

    def findings(self) -> list[Finding]:
        """The gate's findings: errors first, then warnings."""
        found: list[Finding] = []
        if not self.has_project:
            found.append(
                Finding(
                    f"{self.pyproject} has no [project] table: the package cannot "
                    "be installed (pip install . and the wheel need its name, "
                    "version and dependencies)",
                    path=self.pyproject,
                    code="deps",
                    hint="set the project up (init writes a minimal [project]), "
                    "or add the dependencies (deps --add writes them)",
                )
            )
        for problem in self.problems:
            found.append(Finding(problem, path=self.pyproject, code="deps"))
        for warning in self.warnings:
            found.append(
                Finding(
                    warning,
                    path=self.pyproject,
                    code="deps",
                    severity="warning",
                    hint="add it to [project] (the package step fails without it)",
                )
            )
        for item in self.missing:
            found.append(_missing_finding(item, self))
        for requirement in self.unused:
            found.append(
                Finding(
                    f"{requirement} is declared in {self.runtime_key} but "
                    "nothing in the package or its tests imports it",
                    path=self.pyproject,
                    code="deps",
                    severity="warning",
                    hint="remove it if the code no longer needs it (a plugin or "
                    "engine loaded by name is fine to keep)",
                )
            )
        return found

    @property
    def from_settings_ini(self) -> bool:
        """True when the dependencies are read from nbdev's settings.ini."""
        return self.declared_in == SETTINGS_INI

    @property
    def runtime_key(self) -> str:
        """Where runtime requirements go, as a user reads it."""
        if self.from_settings_ini:
            return "settings.ini `requirements`"
        return "[project].dependencies"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as the JSON shared by ``nbprod deps --json`` and the server."""
        return {
            "ok": self.ok,
            "pyproject": self.pyproject,
            "declared_in": self.declared_in,
            "has_project": self.has_project,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "declared": list(self.declared),
            "test_group": self.test_group,
            "test_declared": list(self.test_declared),
            "needed": self.needed,
            "imports": [site.to_dict() for site in self.imports],
            "missing": [item.to_dict() for item in self.missing],
            "unused": list(self.unused),
            "findings": [f.to_dict() for f in self.findings()],
        }


def _missing_finding(item: MissingDependency, report: DepsReport) -> Finding:
    site = item.sites[0]
    where = f"{site.path}:{site.line}"
    if report.from_settings_ini:
        key = "requirements" if item.scope == RUNTIME else "dev_requirements"
        target = f"settings.ini `{key}`"
    elif item.scope == RUNTIME:
        target = "[project].dependencies"
    else:
        target = f"a test group ([project.optional-dependencies] {report.test_group or DEFAULT_TEST_GROUP})"
    if item.distribution is None:
        message = (
            f"`{site.statement}` is imported by {where} but no installed "
            f"distribution provides `{item.name}`, and it is not in {target}"
        )
        hint = f"install the package that provides `{item.name}`, then run `nbprod deps --add`"
        if report.from_settings_ini:
            hint = f"add the distribution that provides `{item.name}` to {target}"
    else:
        provided = (
            f" (from the distribution {item.distribution})"
            if canonicalize_name(item.distribution) != canonicalize_name(item.name)
            else ""
        )
        message = (
            f"`{site.statement}`{provided} is imported by {where} but "
            f"{item.distribution} is not in {target}"
        )
        if item.via:
            # installed today only because a declared package needs it
            message += f" (it is installed as a dependency of {', '.join(item.via)})"
        hint = f"run `nbprod deps --add` (adds {item.requirement})"
        if report.from_settings_ini:
            hint = f"add {item.requirement or item.distribution} to {target}"
    if len(item.sites) > 1:
        message += f"; {len(item.sites) - 1} more import(s) of it"
    if site.notebook is not None:
        return Finding(
            message,
            path=site.notebook,
            cell=site.cell,
            line=site.cell_line,
            code="deps",
            name=item.distribution or item.name,
            hint=hint,
        )
    return Finding(
        message,
        path=site.path,
        line=site.line,
        code="deps",
        name=item.distribution or item.name,
        hint=hint,
    )


# -- reading imports -----------------------------------------------------------


def _optional_handlers(node: ast.Try) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        names = (
            handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        )
        if any(isinstance(n, ast.Name) and n.id in _OPTIONAL_ERRORS for n in names):
            return True
    return False


def _type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING"


def iter_imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """``(module, line)`` of every absolute import a module needs to run.

    Imports guarded by ``try: ... except ImportError`` (optional) and under
    ``if TYPE_CHECKING:`` (never run) are left out; relative imports are the
    project's own.
    """
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
            continue
        if isinstance(node, ast.ImportFrom):
            if not node.level and node.module:
                yield node.module, node.lineno
            continue
        if isinstance(node, (ast.Try, *_TRY_STAR)) and _optional_handlers(node):  # type: ignore[arg-type]
            # the body may fail to import: only the handlers and the rest must run
            children = [*node.handlers, *node.orelse, *node.finalbody]  # type: ignore[attr-defined]
            stack.extend(children)
            continue
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


_TRY_STAR: tuple[type, ...] = (ast.TryStar,) if hasattr(ast, "TryStar") else ()


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    # a few hundred milliseconds on a big environment: read once per process
    return {
        k: list(dict.fromkeys(v)) for k, v in metadata.packages_distributions().items()
    }


def distributions_of(name: str) -> list[str]:
    """The installed distributions that provide the top-level import ``name``."""
    return _distributions().get(name, [])


def imports_of(distribution: str) -> set[str]:
    """The top-level import names an installed distribution provides (a guess when absent)."""
    wanted = canonicalize_name(distribution)
    names = {
        name
        for name, dists in _distributions().items()
        if any(canonicalize_name(d) == wanted for d in dists)
    }
    return names or {distribution.replace("-", "_").replace(".", "_").lower()}


def required_by(distribution: str, declared: list[Requirement]) -> list[str]:
    """The declared distributions whose installed metadata requires ``distribution``."""
    wanted = canonicalize_name(distribution)
    found = []
    for requirement in declared:
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            try:
                needed = Requirement(text)
            except InvalidRequirement:
                continue
            if needed.marker is None and canonicalize_name(needed.name) == wanted:
                found.append(requirement.name)
                break
    return found


def installed_version(distribution: str) -> str | None:
    """The installed version's public part (``2.13.0+cpu`` → ``2.13.0``), if installed."""
    try:
        text = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    try:
        return Version(text).public
    except InvalidVersion:
        return text


def _first_party(config: ProjectConfig) -> set[str]:
    """Top-level names the project itself provides (its package, local modules)."""
    names = {config.package.split(".")[0]}
    for folder in {config.root / config.source, config.root, config.tests_dir}:
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if child.suffix == ".py":
                names.add(child.stem)
            elif (child / "__init__.py").is_file():
                names.add(child.name)
    return names


@dataclass
class _NotebookImports:
    """Each import statement of a notebook's code cells: where it is."""

    #: (cell index, role, module, line in cell)
    entries: list[tuple[int, Role, str, int]]
    ids: dict[str, int]


def _notebook_imports(path: Path, name: str) -> _NotebookImports | None:
    try:
        nb = read_notebook(path)
        cells = classify_cells(nb, name)
    except NbprodError:
        return None  # the sync step says what is wrong with the notebook
    entries = []
    ids = {}
    for cell in cells:
        if cell.cell_id:
            ids[cell.cell_id] = cell.index
        try:
            tree = ast.parse(make_plain(cell.source).code)
        except SyntaxError:
            continue
        for module, line in iter_imports(tree):
            entries.append((cell.index, cell.role, module, line))
    return _NotebookImports(entries, ids)


class _Scanner:
    """Reads the shipped files' imports and traces generated ones to their cells."""

    def __init__(self, config: ProjectConfig) -> None:
        self.config = config
        self.notebooks: dict[str, _NotebookImports | None] = {}

    def shipped_files(self) -> dict[Path, tuple[str, str]]:
        """``path -> (scope, text)``: the next export's files, then hand-written ones."""
        config = self.config
        files: dict[Path, tuple[str, str]] = {}
        for notebook in find_notebooks(config):
            try:
                plan = plan_notebook(notebook, config)
            except NbprodError:
                continue
            for generated in plan.files:
                scope = TEST if generated.kind == "tests" else RUNTIME
                if generated.create_only and generated.path.is_file():
                    continue  # an __init__.py on disk is the user's: read below
                files[generated.path.resolve()] = (scope, generated.content)
        top = config.root / config.source / config.package.split(".")[0]
        for scope, folder in ((RUNTIME, top), (TEST, config.tests_dir)):
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*.py")):
                resolved = path.resolve()
                if resolved in files or any(p.startswith(".") for p in path.parts):
                    continue
                try:
                    files[resolved] = (scope, path.read_text("utf-8"))
                except (OSError, UnicodeDecodeError):
                    continue
        return files

    def _cell_of(
        self, text_lines: list[str], line: int, module: str
    ) -> tuple[str | None, int | None, int | None]:
        """The notebook, one-based cell and cell line an import in a generated file came from."""
        header = _HEADER.match(text_lines[0]) if text_lines else None
        if header is None:
            return None, None, None
        notebook = header.group("notebook")
        if notebook not in self.notebooks:
            self.notebooks[notebook] = _notebook_imports(
                self.config.root / notebook, notebook
            )
        found = self.notebooks[notebook]
        if found is None:
            return notebook, None, None
        chunk: int | None = None
        for text in reversed(text_lines[: line - 1]):
            marker = _MARKER.match(text)
            if marker:
                if marker.group("id"):
                    chunk = found.ids.get(marker.group("id"))
                elif marker.group("index"):
                    chunk = int(marker.group("index"))
                break
        candidates = [e for e in found.entries if e[2] == module]
        if chunk is not None:
            candidates = [e for e in candidates if e[0] == chunk] or candidates
        shipped = [e for e in candidates if e[1] is not Role.NONE]
        if not (shipped or candidates):
            return notebook, (chunk + 1 if chunk is not None else None), None
        pick = (shipped or candidates)[0]
        return notebook, pick[0] + 1, pick[3]

    def sites(self) -> list[ImportSite]:
        """Every third-party import of the shipped code, in file and line order."""
        stdlib = set(sys.stdlib_module_names)
        own = _first_party(self.config)
        sites: list[ImportSite] = []
        for path, (scope, text) in sorted(self.shipped_files().items()):
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue  # lint and tests report unparsable files
            lines = text.splitlines()
            for module, line in sorted(iter_imports(tree), key=lambda m: m[1]):
                top = module.split(".")[0]
                if top in stdlib or top in own:
                    continue
                notebook, cell, cell_line = self._cell_of(lines, line, module)
                sites.append(
                    ImportSite(
                        top,
                        module,
                        self.config.relpath(path),
                        line,
                        scope,
                        notebook,
                        cell,
                        cell_line,
                    )
                )
        return sites


# -- reading the metadata ------------------------------------------------------


def _requirements(values: Any, where: str) -> list[Requirement]:
    if not isinstance(values, list):
        raise ConfigError(f"{where} must be a list of requirement strings")
    found = []
    for value in values:
        if not isinstance(value, str):
            continue  # PEP 735 include-group tables: nothing to check here
        try:
            found.append(Requirement(value))
        except InvalidRequirement as exc:
            raise ConfigError(
                f"{where} has an invalid requirement {value!r}: {exc}",
                hint="write it as PEP 508 says, e.g. 'pandas>=2'",
            ) from None
    return found


def _applies(requirement: Requirement) -> bool:
    """True when the requirement's marker holds here (``tomli; python_version < '3.11'``)."""
    if requirement.marker is None:
        return True
    environment = {**default_environment(), "extra": ""}
    return requirement.marker.evaluate(environment)  # type: ignore[arg-type]


def _test_group(data: dict[str, Any]) -> tuple[str | None, str | None, list[Any]]:
    """``(kind, name, requirements)`` of the project's test group, if it has one."""
    optional = data.get("project", {}).get("optional-dependencies", {})
    groups = data.get("dependency-groups", {})
    for name in TEST_GROUPS:
        if isinstance(optional, dict) and name in optional:
            return "optional-dependencies", name, optional[name]
        if isinstance(groups, dict) and name in groups:
            return "dependency-groups", name, groups[name]
    return None, None, []


#: nbdev 2's settings.ini keys, as its setup.py template reads them: runtime
#: requirements (``pip_requirements`` pip only, ``conda_requirements`` conda
#: only; both are what the project declares) and the tests' ``dev_requirements``
INI_RUNTIME_KEYS = ("requirements", "pip_requirements", "conda_requirements")
INI_TEST_KEY = "dev_requirements"


def _ini_requirements(path: Path) -> tuple[list[Requirement], list[Requirement]]:
    """``(runtime, test)`` requirements of an nbdev ``settings.ini`` (space separated)."""
    values = ini_settings(path)

    def parse(key: str) -> list[Requirement]:
        return _requirements(values.get(key, "").split(), f"settings.ini `{key}`")

    runtime = [r for key in INI_RUNTIME_KEYS for r in parse(key)]
    return runtime, parse(INI_TEST_KEY)


def _declared_in_settings_ini(root: Path, data: dict[str, Any]) -> bool:
    """True for an old nbdev project: no ``[project]``, a settings.ini its setup.py reads."""
    if isinstance(data.get("project"), dict):
        return False
    return (root / SETTINGS_INI).is_file() and (root / "setup.py").is_file()


def check_dependencies(config: ProjectConfig) -> DepsReport:
    """Compare what the shipped code imports with what the project declares.

    Parameters
    ----------
    config : ProjectConfig
        The project.

    Returns
    -------
    DepsReport
        The imports, the undeclared ones (with the distribution to add and
        where each is imported), the unused declared ones, and whether the
        metadata can be installed at all.

    Raises
    ------
    ConfigError
        When pyproject.toml is not valid TOML or holds an invalid requirement.
    """
    path = config.root / "pyproject.toml"
    report = DepsReport(config.relpath(path))
    data = read_toml(path) if path.is_file() else {}
    project = data.get("project")
    report.has_project = isinstance(project, dict)
    project = project if isinstance(project, dict) else {}
    dynamic = project.get("dynamic", [])
    if report.has_project:
        for key in ("name", "version"):
            if key not in project and key not in dynamic:
                report.warnings.append(
                    f"[project] has no {key}: the package cannot be built or installed"
                )
    if _declared_in_settings_ini(config.root, data):
        # nbdev 2's setup.py builds the package from settings.ini
        report.has_project = True
        report.declared_in = SETTINGS_INI
        report.pyproject = config.relpath(config.root / SETTINGS_INI)
        runtime, tests = _ini_requirements(config.root / SETTINGS_INI)
        report.test_group = INI_TEST_KEY
    else:
        runtime = _requirements(
            project.get("dependencies", []), "[project].dependencies"
        )
        _, report.test_group, test_values = _test_group(data)
        tests = _requirements(test_values, f"the test group {report.test_group!r}")
    report.declared = [str(r) for r in runtime]
    report.test_declared = [str(r) for r in tests]
    if "dependencies" in dynamic:
        report.problems.append(
            "[project].dependencies is dynamic: nbprod cannot check it "
            "(list the dependencies in pyproject.toml)"
        )
        return report
    report.imports = _Scanner(config).sites()
    runtime_names = {canonicalize_name(r.name) for r in runtime}
    test_names = runtime_names | {canonicalize_name(r.name) for r in tests}
    missing: dict[tuple[str, str], MissingDependency] = {}
    for site in report.imports:
        dists = distributions_of(site.name)
        candidates = [canonicalize_name(d) for d in dists] or [
            canonicalize_name(site.name)
        ]
        declared = runtime_names if site.scope == RUNTIME else test_names
        if any(c in declared for c in candidates):
            continue
        which = (site.name, site.scope)
        if which not in missing:
            distribution = dists[0] if dists else None
            missing[which] = MissingDependency(
                site.name,
                distribution,
                installed_version(distribution) if distribution else None,
                site.scope,
                via=(
                    required_by(
                        distribution,
                        runtime if site.scope == RUNTIME else [*runtime, *tests],
                    )
                    if distribution
                    else []
                ),
            )
        missing[which].sites.append(site)
    # a test import of what the package also needs is fixed by the runtime entry
    runtime_missing = {name for name, scope in missing if scope == RUNTIME}
    report.missing = [
        item
        for (name, scope), item in missing.items()
        if scope == RUNTIME or name not in runtime_missing
    ]
    imported = {site.name for site in report.imports}
    report.unused = [
        str(r) for r in runtime if _applies(r) and not (imports_of(r.name) & imported)
    ]
    return report


# -- the gate step -------------------------------------------------------------


def deps_step(ctx: GateContext) -> StepResult:
    """Gate step: the package's imports are declared in its pyproject (see :func:`check_dependencies`)."""
    config = ctx.config
    if (
        not (config.root / "pyproject.toml").is_file()
        and not (config.root / SETTINGS_INI).is_file()
    ):
        return StepResult("deps", SKIPPED, summary="no pyproject.toml")
    ctx.progress("imports of the package and tests vs pyproject.toml")
    report = check_dependencies(config)
    findings = report.findings()
    needed = {(s.name, s.scope) for s in report.imports}
    total = len({name for name, _ in needed})
    passed = total - len({item.name for item in report.missing})
    if not report.has_project:
        summary = "no [project]: cannot be installed"
    elif report.missing:
        summary = f"{len(report.missing)} import(s) not declared"
    else:
        summary = f"{total} third-party import(s) declared"
    if report.unused:
        summary += f", {len(report.unused)} unused"
    status = FAILED if any(f.severity == "error" for f in findings) else PASSED
    return StepResult(
        "deps", status, max(passed, 0), total, summary=summary, findings=findings
    )


# -- writing the metadata ------------------------------------------------------


@dataclass
class AddResult:
    """What ``nbprod deps --add`` wrote (or would write, in a dry run).

    Attributes
    ----------
    added : list of str
        Requirements added to ``[project].dependencies``.
    added_tests : list of str
        Requirements added to the test group.
    test_group : str or None
        That group's name.
    created_project : bool
        True when a minimal ``[project]`` table was written first.
    unresolved : list of MissingDependency
        Imports no installed distribution provides: nothing to write for them.
    text : str
        The new pyproject text.
    changed : bool
        True when the file changed (or would).
    """

    added: list[str] = field(default_factory=list)
    added_tests: list[str] = field(default_factory=list)
    test_group: str | None = None
    created_project: bool = False
    unresolved: list[MissingDependency] = field(default_factory=list)
    text: str = ""
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return it as a JSON-ready mapping (without the file's text)."""
        return {
            "added": list(self.added),
            "added_tests": list(self.added_tests),
            "test_group": self.test_group,
            "created_project": self.created_project,
            "unresolved": [item.to_dict() for item in self.unresolved],
            "changed": self.changed,
        }


def _append(array: Any, values: list[str]) -> None:
    """Add strings to a tomlkit array, one per line when it is already multi-line."""
    multiline = "\n" in array.as_string() or not len(array)
    if not multiline:
        for value in values:
            array.append(value)
        return
    closing = not len(array)
    for value in values:
        array.add_line(value, indent="    ")
    if closing:
        array.add_line(indent="")


def project_table_text(name: str, requirements: list[str]) -> str:
    """A minimal ``[project]`` table: name, version, requires-python, dependencies."""
    table = tomlkit.table()
    table["name"] = name
    table["version"] = "0.1.0"
    table["requires-python"] = f">={sys.version_info.major}.{sys.version_info.minor}"
    array = tomlkit.array()
    _append(array, requirements)
    table["dependencies"] = array
    return tomlkit.dumps({"project": table})


def _insert_project(text: str, name: str, requirements: list[str]) -> str:
    """Put a minimal ``[project]`` after the file's leading comments (text kept as is)."""
    lines = text.splitlines(keepends=True)
    head = 0
    while head < len(lines) and (
        not lines[head].strip() or lines[head].startswith("#")
    ):
        head += 1
    before = "".join(lines[:head])
    if before and not before.endswith("\n\n"):
        before += "\n" if before.endswith("\n") else "\n\n"
    return (
        before + project_table_text(name, requirements) + "\n" + "".join(lines[head:])
    )


def add_missing(text: str, report: DepsReport, project_name: str) -> AddResult:
    """The pyproject text with the report's missing distributions added, comments kept.

    Runtime imports go to ``[project].dependencies``, test-only imports to the
    test group (``[project.optional-dependencies] test``, created when the
    project has none), each with its installed version as the lower bound.
    """
    result = AddResult(test_group=report.test_group or DEFAULT_TEST_GROUP)
    resolvable = [m for m in report.missing if m.requirement]
    result.unresolved = [m for m in report.missing if not m.requirement]
    runtime = list(
        dict.fromkeys(
            r for m in resolvable if m.scope == RUNTIME and (r := m.requirement)
        )
    )
    tests = list(
        dict.fromkeys(r for m in resolvable if m.scope == TEST and (r := m.requirement))
    )
    if not report.has_project:
        text = _insert_project(text, project_name, runtime)
        result.created_project = True
        result.added = runtime
        runtime = []
    doc = tomlkit.parse(text)
    project: Any = doc["project"]
    if runtime:
        if "dependencies" not in project:
            project["dependencies"] = tomlkit.array()
        _append(project["dependencies"], runtime)
        result.added = runtime
    if tests:
        kind, name, _ = _test_group(doc.unwrap())
        if kind == "dependency-groups":
            groups: Any = doc["dependency-groups"]
            _append(groups[name], tests)
        elif kind == "optional-dependencies":
            _append(project["optional-dependencies"][name], tests)
        else:
            array = tomlkit.array()
            _append(array, tests)
            if "optional-dependencies" in project:
                project["optional-dependencies"][DEFAULT_TEST_GROUP] = array
            else:
                group = tomlkit.table()
                group[DEFAULT_TEST_GROUP] = array
                group.add(tomlkit.nl())
                project["optional-dependencies"] = group
        result.added_tests = tests
    result.text = tomlkit.dumps(doc)
    result.changed = bool(result.added or result.added_tests or result.created_project)
    return result


def add_dependencies(
    config: ProjectConfig, *, dry_run: bool = False
) -> tuple[AddResult, DepsReport]:
    """Write the distributions the shipped code imports but the project lacks into pyproject.toml.

    Parameters
    ----------
    config : ProjectConfig
        The project.
    dry_run : bool
        Work out the change, write nothing.

    Returns
    -------
    tuple of (AddResult, DepsReport)
        What was added, and the check afterwards (before, in a dry run).

    Raises
    ------
    ConfigError
        When there is no pyproject.toml, or it is not valid TOML.
    """
    path = config.root / "pyproject.toml"
    if not path.is_file():
        raise ConfigError(
            f"{config.root} has no pyproject.toml",
            hint="set the project up first (init writes one)",
            actions=("init",),
        )
    report = check_dependencies(config)
    if report.from_settings_ini:
        # a [project] table next to setup.py would fight it for the metadata
        wanted = ", ".join(m.requirement or m.name for m in report.missing) or "nothing"
        raise ConfigError(
            "this nbdev project declares its dependencies in settings.ini, "
            "which nbprod does not write",
            hint=f"add them to `requirements` / `dev_requirements` there (missing: {wanted})",
        )
    text = path.read_text("utf-8")
    name = identifier(config.root.name).replace("_", "-")
    result = add_missing(text, report, config.package or name)
    if result.changed and not dry_run:
        write_atomic(path, result.text)
        report = check_dependencies(config)
    return result, report


def minimal_project(config: ProjectConfig) -> str | None:
    """The pyproject text with a minimal ``[project]`` added, or None when it has one.

    For ``nbprod init``: the table holds the name, a first version, the
    running Python as ``requires-python`` and the dependencies the shipped code
    imports.
    """
    path = config.root / "pyproject.toml"
    text = path.read_text("utf-8") if path.is_file() else ""
    data = read_toml(path) if path.is_file() else {}
    if "project" in data or _declared_in_settings_ini(config.root, data):
        return None  # an old nbdev project's setup.py builds it from settings.ini
    report = check_dependencies(config)
    return add_missing(text, report, config.package).text


gate_steps.register("deps", deps_step, before="lint")

__all__ = [
    "AddResult",
    "DepsReport",
    "ImportSite",
    "MissingDependency",
    "add_dependencies",
    "check_dependencies",
    "deps_step",
    "iter_imports",
    "minimal_project",
]
