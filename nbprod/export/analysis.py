"""What a cell defines, imports and uses, read from its AST.

The export rules (hidden state, imports to pull in, side effects) all rest on
one question per cell: which module-level names does it bind, and which names
does it read that it did not bind itself before? Names read inside function
bodies are *deferred*: they are looked up when the function is called, so a
later cell may define them; names read at the top level are looked up when the
module is imported, in notebook order.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import cast

from nbprod.notebook.ipython import parse_python

#: names every module has without defining them
MODULE_NAMES = frozenset(dir(builtins)) | {
    "__file__",
    "__name__",
    "__doc__",
    "__spec__",
}
#: names IPython puts among the builtins: nbdev code calls ``get_ipython``
#: inside functions, guarded (fastprogress's ``in_notebook`` catches the
#: NameError plain Python raises), and nbdev exports it as it is
IPYTHON_BUILTINS = frozenset({"get_ipython"})


@dataclass(frozen=True)
class Use:
    """A name a cell reads without having bound it earlier in the cell."""

    name: str
    line: int
    #: True when read inside a function body, i.e. at call time, not import time
    deferred: bool


@dataclass(frozen=True)
class ImportBinding:
    """One name bound by a top-level import, as a stand-alone statement."""

    name: str
    statement: str
    line: int


@dataclass
class CellSymbols:
    """The module-level names of one cell.

    Attributes
    ----------
    defines : dict
        Names bound at module level (other than by hoistable imports), with
        the line of their first binding.
    imports : dict
        Names bound by top-level ``import`` statements, which export hoists.
    import_lines : set
        Lines taken by those import statements.
    uses : list of Use
        Names read that the cell did not bind before reading them.
    side_effects : list of tuple
        ``(line, text)`` of top-level statements that do work at import time.
    public : list of str
        The names nbdev's rules put in ``__all__``, in order: top-level
        assignment targets, then functions and classes not decorated with a
        ``patch`` decorator, public ones only, then every name an ``_all_``
        list names (see :func:`nbdev_all_names`).
    has_action : bool
        True when the cell does more than define names (asserts, calls, loops).
    future_imports : list of str
        ``from __future__`` statements.
    star_import : bool
        True when the cell has ``from x import *`` (its names are unknowable).
    """

    defines: dict[str, int] = field(default_factory=dict)
    imports: dict[str, ImportBinding] = field(default_factory=dict)
    import_lines: set[int] = field(default_factory=set)
    uses: list[Use] = field(default_factory=list)
    side_effects: list[tuple[int, str]] = field(default_factory=list)
    public: list[str] = field(default_factory=list)
    #: functions decorated with fastcore's ``@patch``/``@patch_to``: they add a
    #: method to a class, and the decorator gives the name back its earlier
    #: binding (``@patch def copy(self: L)`` leaves ``copy`` the imported one)
    patched: set[str] = field(default_factory=set)
    has_action: bool = False
    future_imports: list[str] = field(default_factory=list)
    star_import: bool = False

    @property
    def bound(self) -> set[str]:
        """Every module-level name the cell binds."""
        return set(self.defines) | set(self.imports)


_TRY: tuple[type, ...] = (ast.Try, *([ast.TryStar] if hasattr(ast, "TryStar") else []))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: nodes with no names under them: ``iter_child_nodes`` yields a Load or an
#: operator for every expression, and skipping them halves the nodes visited
_LEAVES = (
    ast.Constant,
    ast.expr_context,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
    ast.Pass,
    ast.Break,
    ast.Continue,
)
_DEFINITIONS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
)


def _target_names(target: ast.AST) -> list[str]:
    """Names bound by an assignment target (unpacking included, attributes not)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def import_names(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """``(bound name, stand-alone statement)`` for each alias of an import."""
    pairs = []
    for alias in node.names:
        if isinstance(node, ast.Import):
            bound = alias.asname or alias.name.split(".")[0]
            text = f"import {alias.name}" + (
                f" as {alias.asname}" if alias.asname else ""
            )
        else:
            module = "." * node.level + (node.module or "")
            bound = alias.asname or alias.name
            text = f"from {module} import {alias.name}" + (
                f" as {alias.asname}" if alias.asname else ""
            )
        pairs.append((bound, text))
    return pairs


def _local_bindings(body: list[ast.stmt]) -> set[str]:
    """Names a function body binds locally, not looking into nested scopes."""
    names: set[str] = set()
    declared_global: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, _LEAVES):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(bound for bound, _ in import_names(node))
        elif (isinstance(node, ast.ExceptHandler) and node.name) or (
            isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name
        ):
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared_global


def _argument_names(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return {arg.arg for arg in every}


def _argument_loads(args: ast.arguments) -> list[ast.AST]:
    """Defaults and annotations: evaluated when the ``def`` runs, not when called."""
    nodes: list[ast.AST] = [
        *args.defaults,
        *(d for d in args.kw_defaults if d is not None),
    ]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    nodes += [arg.annotation for arg in every if arg.annotation is not None]
    return nodes


class _Reader:
    """Collects the free names read by expressions, scope by scope."""

    def __init__(self) -> None:
        self.found: list[Use] = []

    def visit(self, node: ast.AST, scopes: list[set[str]], deferred: bool) -> None:
        """Record free name reads under ``node`` given the enclosing local scopes."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and not any(node.id in s for s in scopes):
                self.found.append(Use(node.id, node.lineno, deferred))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for item in [*node.decorator_list, *_argument_loads(node.args)]:
                self.visit(item, scopes, deferred)
            if node.returns is not None:
                self.visit(node.returns, scopes, deferred)
            self.function_body(node.args, node.body, scopes)
            return
        if isinstance(node, ast.Lambda):
            for item in _argument_loads(node.args):
                self.visit(item, scopes, deferred)
            self.visit(node.body, [*scopes, _argument_names(node.args)], True)
            return
        if isinstance(node, ast.ClassDef):
            for item in [*node.decorator_list, *node.bases, *node.keywords]:
                self.visit(item, scopes, deferred)
            # A class body runs now; its own names are not visible in its methods.
            class_names = _local_bindings(node.body)
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.visit(statement, scopes, deferred)
                else:
                    self.visit(statement, [*scopes, class_names], deferred)
            return
        if isinstance(node, _COMPREHENSIONS):
            generators = node.generators
            # The first iterable is evaluated in the enclosing scope.
            self.visit(generators[0].iter, scopes, deferred)
            inner = [*scopes, {n for g in generators for n in _target_names(g.target)}]
            for number, generator in enumerate(generators):
                if number:
                    self.visit(generator.iter, inner, deferred)
                for condition in generator.ifs:
                    self.visit(condition, inner, deferred)
            parts = (
                [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            )
            for part in parts:
                self.visit(part, inner, deferred)
            return
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            # `x += 1` reads x before it writes it.
            name = node.target.id
            if not any(name in s for s in scopes):
                self.found.append(Use(name, node.lineno, deferred))
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                self.visit(child, scopes, deferred)

    def function_body(
        self, args: ast.arguments, body: list[ast.stmt], scopes: list[set[str]]
    ) -> None:
        """Record the globals a function body reads (at call time)."""
        local = _argument_names(args) | _local_bindings(body)
        for statement in body:
            self.visit(statement, [*scopes, local], True)


# -- __all__, by nbdev's rules -------------------------------------------------
#
# nbdev projects do `from pkg.mod import *` everywhere, so a module's `__all__`
# must hold exactly the names nbdev would list (nbdev/maker.py, `make_all`):
# only top-level statements count, a tuple target is unpacked one level (its
# names, not nested tuples or starred parts), and `_all_ = [...]` adds names
# even when private.


def _decorator_name(node: ast.expr) -> str:
    """``patch`` for ``@patch`` and ``@patch(...)``; ``""`` for ``@a.patch``."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else ""


def _is_patch(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    # fastcore's @patch, @patch_to(Cls), @patch(as_prop=True): methods added to
    # another class, which nbdev keeps out of the module's __all__
    return any(_decorator_name(d).startswith("patch") for d in node.decorator_list)


def _assignment_targets(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = []
    for target in targets:
        elements = (
            target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        )
        names += [e.id for e in elements if isinstance(e, ast.Name)]
    return names


def _all_list(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> list[str] | None:
    """The names of an ``_all_ = [...]`` assignment (strings or bare names)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    first = targets[0]
    if not (isinstance(first, ast.Name) and first.id == "_all_"):
        return None
    value = node.value
    if not isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return []
    names = []
    for element in value.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            names.append(element.value)
        elif isinstance(element, ast.Name):
            names.append(element.id)
    return names


def nbdev_all_names(body: list[ast.stmt]) -> list[str]:
    """The names nbdev puts in ``__all__`` for the top-level statements ``body``.

    Parameters
    ----------
    body : list of ast.stmt
        A cell's top-level statements.

    Returns
    -------
    list of str
        Assignment targets (``a = b = c`` and ``a, b = ...`` included), then
        functions, async functions and classes that no ``@patch``-like
        decorator adds to another class, names starting with ``_`` dropped;
        then every name listed in ``_all_ = [...]``, private or not. No
        duplicates, in that order.
    """
    assigned: list[str] = []
    defined: list[str] = []
    listed: list[str] = []
    for node in body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            assigned += _assignment_targets(node)
            listed += _all_list(node) or []
        elif isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ) and not _is_patch(node):
            defined.append(node.name)
    public = [name for name in assigned + defined if not name.startswith("_")]
    return list(dict.fromkeys(public + listed))


def _summary(node: ast.AST, source: str) -> str:
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and (isinstance(node.value.value, str) or node.value.value is Ellipsis)
    )


def analyze_cell(code: str) -> CellSymbols:
    """Read what one cell binds, imports and uses.

    Parameters
    ----------
    code : str
        Plain Python (IPython syntax already removed).

    Returns
    -------
    CellSymbols
        The cell's module-level names.

    Raises
    ------
    SyntaxError
        When ``code`` is not valid Python.
    """
    tree = parse_python(code)
    symbols = CellSymbols()
    bound_so_far: set[str] = set()
    reader = _Reader()

    def bind(names: list[str] | set[str], line: int) -> None:
        for name in names:
            if name not in symbols.imports:
                symbols.defines.setdefault(name, line)
            bound_so_far.add(name)

    def read(node: ast.AST) -> None:
        reader.found = []
        reader.visit(node, [], False)
        for use in reader.found:
            if use.deferred or use.name not in bound_so_far:
                symbols.uses.append(use)

    def statement(node: ast.stmt, nested: bool) -> None:
        line = node.lineno
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                symbols.future_imports.append(ast.unparse(node))
                symbols.import_lines.update(range(line, (node.end_lineno or line) + 1))
                return
            if any(alias.name == "*" for alias in node.names):
                symbols.star_import = True
                bind([], line)
                return
            pairs = import_names(node)
            if nested:
                bind([name for name, _ in pairs], line)
                return
            # Hoisted imports stay out of bound_so_far on purpose: reads of their
            # names remain uses, so the plan keeps exactly the imports that are used.
            for name, text in pairs:
                # the last import of a name wins, as it does when the cell runs
                # (`import time` then `from time import time`: the function)
                symbols.imports[name] = ImportBinding(name, text, line)
            symbols.import_lines.update(range(line, (node.end_lineno or line) + 1))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            read(node)
            bind([node.name], line)
            return
        if isinstance(node, (ast.If, ast.While)):
            read(node.test)
            for child in [*node.body, *node.orelse]:
                statement(child, True)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            read(node.iter)
            bind(_target_names(node.target), line)
            for child in [*node.body, *node.orelse]:
                statement(child, True)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                read(item.context_expr)
                if item.optional_vars is not None:
                    bind(_target_names(item.optional_vars), line)
            for child in node.body:
                statement(child, True)
        elif isinstance(node, _TRY):
            node = cast(ast.Try, node)  # try/except* has the same fields
            for child in node.body:
                statement(child, True)
            for handler in node.handlers:
                if handler.type is not None:
                    read(handler.type)
                if handler.name:
                    bind([handler.name], handler.lineno)
                for child in handler.body:
                    statement(child, True)
            for child in [*node.orelse, *node.finalbody]:
                statement(child, True)
        else:
            read(node)
            names = _local_bindings([node])
            bind(sorted(names), line)

    for node in tree.body:
        statement(node, False)
        if _is_docstring(node):
            continue
        if not isinstance(node, _DEFINITIONS):
            symbols.has_action = True
        is_main_guard = isinstance(node, ast.If) and "__main__" in ast.unparse(
            node.test
        )
        if isinstance(
            node, (ast.Expr, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)
        ):
            symbols.side_effects.append((node.lineno, _summary(node, code)))
        elif isinstance(node, ast.If) and not is_main_guard:
            for child in node.body:
                if isinstance(child, ast.Expr) and not _is_docstring(child):
                    symbols.side_effects.append((child.lineno, _summary(child, code)))
    symbols.public = nbdev_all_names(tree.body)
    symbols.patched = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_patch(node)
    }
    # A deferred read of a name the cell binds anywhere at module level is resolved
    # inside the cell, whatever the order.
    symbols.uses = [
        use for use in symbols.uses if not (use.deferred and use.name in bound_so_far)
    ]
    return symbols
