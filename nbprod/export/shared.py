"""Where each cell of a shared-state (nbdev) notebook runs in its test file.

nbdev's runner runs a notebook's cells in order, in one namespace: a name a
cell reads is whatever the last cell before it bound, an exported cell, a test
or its setup. A pytest file has two times instead: its module level runs once,
when pytest imports it, before every test; each test function runs later, in
file order. This module decides, from the names the cells bind and read, which
cells may run at import time and which must run inside a test function, so
that every read sees the binding it saw in the notebook:

- a name bound by more than one cell (a class redefined and patched cell after
  cell, ``add`` defined four times to show four docstring styles, ``p`` a test
  value here and a setup object there), or read before the notebook binds it (a
  builtin or a star import's name, then the notebook's own), is *contested*:
  every test or setup cell binding it runs at test time, in notebook order,
  inside a test function;
- what a test binds is bound at test time (a ``global`` in its function), and
  so is what a setup cell binds when it reads a name bound at test time;
- a ``def`` or ``class`` a test cell defines, defined once in the notebook and
  reading nothing bound at test time when it is defined, is *hoisted* to module
  level: ``inspect.getsource``, pickling by qualified name and ``__qualname__``
  see what they saw in the notebook;
- a cell that reads a name bound at test time joins the test function of the
  cell that bound it (so a test never depends on another having run first, and
  pytest-xdist may spread the functions);
- a cell that reads a name an exported cell bound again after a test had bound
  it (``gen`` a generator in a test, then nbdev's ``def gen``) imports the
  module's binding again first, as the notebook's namespace had it.

Everything else (setup that binds names once, imports bound once) stays at module
level, as before.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache

from nbprod.export.analysis import CellSymbols, analyze_cell
from nbprod.export.render import awaits_at_top_level
from nbprod.notebook.ipython import parse_python

_DEFINITION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class LayoutCell:
    """One code cell as the layout reads it.

    Attributes
    ----------
    index : int
        The cell's index in the notebook.
    symbols : CellSymbols
        What the cell binds and reads.
    code : str
        Its plain code without directive lines (imports not removed).
    module : str or None
        For an exported cell, the full dotted name of its module; None for a
        test or setup cell.
    """

    index: int
    symbols: CellSymbols
    code: str
    module: str | None = None

    @property
    def exported(self) -> bool:
        """True for a cell of the module (its names reach the tests by import)."""
        return self.module is not None

    @property
    def binds(self) -> set[str]:
        """Every name the cell binds at its top level, imports included."""
        return self.symbols.bound


@dataclass
class SharedLayout:
    """Where the test and setup cells of a shared-state notebook run.

    Attributes
    ----------
    runtime : set of int
        Cells that run inside a test function (the others at module level).
    groups : dict
        Cell index -> the first cell of the test function it runs in.
    runtime_names : set of str
        Names bound at test time (the ``global`` names of the functions).
    contested : set of str
        Names bound by more than one cell.
    kept_imports : dict
        Cell index -> names whose import statement stays in the cell's code
        (it binds a contested name), instead of going to the file's imports.
    rebinds : dict
        Cell index -> import statements placed before the cell's code: the
        module's binding of a name a test had bound before.
    binders : dict
        Name -> the cells binding it, in notebook order.
    """

    runtime: set[int] = field(default_factory=set)
    groups: dict[int, int] = field(default_factory=dict)
    runtime_names: set[str] = field(default_factory=set)
    contested: set[str] = field(default_factory=set)
    kept_imports: dict[int, set[str]] = field(default_factory=dict)
    rebinds: dict[int, list[str]] = field(default_factory=dict)
    binders: dict[str, list[LayoutCell]] = field(default_factory=dict)

    def last_binder(self, name: str, before: int) -> LayoutCell | None:
        """The cell that bound ``name`` last before cell ``before``, if any."""
        found = None
        for cell in self.binders.get(name, ()):
            if cell.index >= before:
                break
            found = cell
        return found

    def binds_at_runtime(self, cell: LayoutCell, name: str) -> bool:
        """True when ``cell`` binds ``name`` inside a test function."""
        return cell.index in self.runtime and name in self.runtime_names


@dataclass(frozen=True)
class _Definitions:
    """A cell's top-level ``def``/``class`` statements, read once per code text."""

    lines: tuple[str, ...]
    #: name -> its lines (decorators included), for names defined once in the cell
    spans: dict[str, range]
    #: name -> what the definition reads when it runs (not when called)
    reads: dict[str, frozenset[str]]
    #: names the cell's other statements bind, and names it defines twice
    others: frozenset[str]


@lru_cache(maxsize=4096)
def _definitions(code: str) -> _Definitions | None:
    try:
        tree = parse_python(code)
    except SyntaxError:
        return None
    lines = tuple(code.splitlines())
    spans: dict[str, range] = {}
    twice: set[str] = set()
    kept: list[str] = []
    for node in tree.body:
        if isinstance(node, _DEFINITION_NODES):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if node.name in spans:
                twice.add(node.name)
            spans[node.name] = range(first, (node.end_lineno or node.lineno) + 1)
        else:
            start, end = node.lineno, node.end_lineno or node.lineno
            kept += lines[start - 1 : end]
    try:
        others = set(analyze_cell("\n".join(kept)).bound) if kept else set()
    except SyntaxError:
        others = set()
    reads = {}
    for name, span in spans.items():
        text = "\n".join(lines[span.start - 1 : span.stop - 1])
        reads[name] = frozenset(
            use.name for use in analyze_cell(text).uses if not use.deferred
        )
    for name in twice:
        spans.pop(name)
    return _Definitions(lines, spans, reads, frozenset(others | twice))


def _movable(
    found: _Definitions, unavailable: set[str], repeated: set[str]
) -> dict[str, range]:
    """The definitions that may run at import time, and their lines."""
    candidates = {
        name: span
        for name, span in found.spans.items()
        if not name.startswith(("test", "Test")) and name not in repeated
    }
    # what stays in the test function: the cell's other bindings, and the
    # definitions that cannot move (a moved one may not read them when defined)
    staying = set(found.others) | (set(found.spans) - set(candidates))
    changed = True
    while changed:
        changed = False
        for name in list(candidates):
            if found.reads[name] & (unavailable | staying):
                staying.add(name)
                del candidates[name]
                changed = True
    return candidates


def split_definitions(
    code: str, unavailable: set[str], repeated: set[str]
) -> tuple[str, str]:
    """Split a test cell's code: its top-level ``def``/``class`` statements, the rest.

    A definition whose decorators, defaults, annotations or bases read one of
    ``unavailable`` (names bound at test time, unknown at import time) or a
    name the cell binds otherwise, or whose name is in ``repeated`` (bound by
    other cells too), stays with the rest; so does one named like a test
    (pytest would collect it at module level).

    Parameters
    ----------
    code : str
        The cell's code.
    unavailable : set of str
        Names bound at test time.
    repeated : set of str
        Names bound by more than one cell.

    Returns
    -------
    tuple of str
        The definitions that go to module level, and the rest of the code.
    """
    found = _definitions(code)
    if found is None:
        return "", code
    moved: set[int] = set()
    for span in _movable(found, unavailable, repeated).values():
        moved.update(span)
    lines = found.lines
    definitions = [line for n, line in enumerate(lines, 1) if n in moved]
    rest = [line for n, line in enumerate(lines, 1) if n not in moved]
    return "\n".join(definitions).strip("\n"), "\n".join(rest).strip("\n")


def bound_at_test_time(
    code: str, unavailable: set[str], repeated: set[str]
) -> set[str]:
    """The names a test-time cell binds inside its test function (not moved out)."""
    found = _definitions(code)
    if found is None:
        return set()
    return set(found.others) | (
        set(found.spans) - set(_movable(found, unavailable, repeated))
    )


_NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: calls that read the whole namespace: the cell depends on every earlier binding
_NAMESPACE_CALLS = ("locals", "vars", "globals", "dir")


def _namespace_calls(code: str, names: tuple[str, ...]) -> list[ast.Call]:
    """Top-level calls without arguments of ``names`` (``locals()``), outside nested scopes."""
    try:
        tree = parse_python(code)
    except SyntaxError:
        return []
    found: list[ast.Call] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*_NEW_SCOPES, *_COMPREHENSIONS)):
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in names
            and not node.args
            and not node.keywords
            and node.lineno == node.end_lineno
        ):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def namespace_reads(code: str) -> str:
    """``code`` with its top-level ``locals()`` and ``vars()`` read as ``globals()``.

    At a notebook's top level ``locals()`` is the namespace every cell shares
    (``get_schema_nm("ca.f", locals())``); in a test function it would be the
    function's own, empty, variables. Calls inside functions, lambdas, classes
    and comprehensions keep their meaning.

    Parameters
    ----------
    code : str
        A cell's code, run inside a test function.

    Returns
    -------
    str
        The code, each such call written ``globals()``.
    """
    found = _namespace_calls(code, ("locals", "vars"))
    if not found:
        return code
    lines = code.splitlines()
    # right to left, so earlier columns of a line stay valid (offsets are bytes)
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        line = lines[node.lineno - 1].encode()
        start, end = node.col_offset, node.end_col_offset or node.col_offset
        lines[node.lineno - 1] = (line[:start] + b"globals()" + line[end:]).decode()
    return "\n".join(lines)


@lru_cache(maxsize=4096)
def _without_imports(code: str, keep: frozenset[str]) -> str:
    return without_imports(code, set(keep))


def without_imports(code: str, keep: set[str], stars: bool = False) -> str:
    """``code`` without its top-level imports, but those binding a name of ``keep``.

    With ``stars``, absolute ``from x import *`` lines go too (the file imports
    them at its top: Python allows them nowhere else).
    """
    try:
        tree = parse_python(code)
    except SyntaxError:
        return code
    drop: set[int] = set()
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if any(alias.name == "*" for alias in node.names):
            if stars and isinstance(node, ast.ImportFrom) and not node.level:
                drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            continue
        names = {
            (
                alias.asname or alias.name.split(".")[0]
                if isinstance(node, ast.Import)
                else alias.asname or alias.name
            )
            for alias in node.names
        }
        if not names & keep:
            drop.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = code.splitlines()
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in drop)


def _equivalent_imports(cells: list[LayoutCell], name: str) -> bool:
    """True when every binding of ``name`` is the same import statement."""
    statements = set()
    for cell in cells:
        binding = cell.symbols.imports.get(name)
        if binding is None:
            return False
        statements.add(binding.statement)
    return len(statements) == 1


def plan_layout(cells: list[LayoutCell], tests: list[LayoutCell]) -> SharedLayout:
    """Decide where each test and setup cell of a shared-state notebook runs.

    Parameters
    ----------
    cells : list of LayoutCell
        Every exported, test and setup cell the notebook runs, in notebook order.
    tests : list of LayoutCell
        The test and setup cells among them (the cells of the test file).

    Returns
    -------
    SharedLayout
        Which cells run at test time, their test functions, the names bound at
        test time, the imports kept in place and the bindings imported again.
    """
    layout = SharedLayout()
    for cell in cells:
        for name in cell.binds:
            layout.binders.setdefault(name, []).append(cell)
    layout.contested = {
        name
        for name, binders in layout.binders.items()
        if len(binders) > 1
        and any(not b.exported for b in binders)
        and not _equivalent_imports(binders, name)
    }
    # a name read before the notebook first binds it has another binding then (a
    # builtin, a star import's): bound at import time, the earlier reads would see ours
    for cell in tests:
        for use in cell.symbols.uses:
            binders = layout.binders.get(use.name)
            if (
                binders
                and not use.deferred
                and not binders[0].exported
                # an import binds the same object, most likely (`test_eq`)
                and use.name not in binders[0].symbols.imports
                and cell.index < binders[0].index
            ):
                layout.contested.add(use.name)
    runtime_names = set(layout.contested)
    runtime: set[int] = set()
    # only a function can await (`value = await fetch()`): test time
    awaiting = {cell.index for cell in tests if awaits_at_top_level(cell.code)}
    changed = True
    while changed:
        changed = False
        for cell in tests:
            symbols = cell.symbols
            if cell.index not in runtime:
                reads_runtime = any(
                    use.name in runtime_names
                    and (binder := layout.last_binder(use.name, cell.index)) is not None
                    and binder.index in runtime
                    for use in symbols.uses
                )
                if not (
                    symbols.has_action
                    or cell.binds & runtime_names
                    or reads_runtime
                    or cell.index in awaiting
                ):
                    continue
                runtime.add(cell.index)
                changed = True
            code = _without_imports(cell.code, frozenset(layout.contested))
            bound = bound_at_test_time(code, runtime_names, layout.contested)
            if not bound <= runtime_names:
                runtime_names |= bound
                changed = True
    layout.runtime = runtime
    layout.runtime_names = runtime_names
    _group(layout, tests)
    return layout


def _group(layout: SharedLayout, tests: list[LayoutCell]) -> None:
    """Join each test-time cell with the cells whose test-time names it reads."""
    parent: dict[int, int] = {
        c.index: c.index for c in tests if c.index in layout.runtime
    }

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for cell in tests:
        if cell.index not in layout.runtime:
            continue
        kept = cell.binds & layout.contested & set(cell.symbols.imports)
        if kept:
            layout.kept_imports[cell.index] = kept
        rebinds: list[str] = []
        if _namespace_calls(cell.code, _NAMESPACE_CALLS):
            # it reads every name: it runs after each test-time cell above it
            for other in tests:
                if other.index >= cell.index:
                    break
                if other.index in layout.runtime:
                    a, b = find(cell.index), find(other.index)
                    parent[max(a, b)] = min(a, b)
        for use in cell.symbols.uses:
            name = use.name
            if name in cell.symbols.imports:
                continue  # the cell's own import, kept in place or hoisted
            binder = layout.last_binder(name, cell.index)
            if binder is None:
                continue
            if layout.binds_at_runtime(binder, name):
                a, b = find(cell.index), find(binder.index)
                parent[max(a, b)] = min(a, b)
            elif binder.exported and name in layout.runtime_names:
                statement = _module_binding(binder, name)
                if statement not in rebinds:
                    rebinds.append(statement)
        if rebinds:
            layout.rebinds[cell.index] = rebinds
    layout.groups = {index: find(index) for index in parent}
    _drop_repeated_rebinds(layout, tests)


def _module_binding(cell: LayoutCell, name: str) -> str:
    """The import that gives a test file the binding an exported cell made."""
    binding = cell.symbols.imports.get(name)
    if binding is not None:
        return binding.statement
    return f"from {cell.module} import {name}"


def _drop_repeated_rebinds(layout: SharedLayout, tests: list[LayoutCell]) -> None:
    """Import a module's binding again once per test function, until a cell rebinds it."""
    fresh: dict[int, set[str]] = {}
    for cell in tests:
        if cell.index not in layout.runtime:
            continue
        group = layout.groups[cell.index]
        done = fresh.setdefault(group, set())
        wanted = layout.rebinds.get(cell.index, [])
        kept = []
        for statement in wanted:
            name = statement.rsplit(" ", 1)[-1]
            if name not in done:
                kept.append(statement)
                done.add(name)
        if kept:
            layout.rebinds[cell.index] = kept
        else:
            layout.rebinds.pop(cell.index, None)
        done -= cell.binds
