"""The export plan of one notebook: which files it makes, with what content, and its problems.

Planning reads and checks; it never writes. The plan is what ``nbprod export``
writes, what ``--check`` compares with the disk and what the JupyterLab panel
shows as a live preview.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.config import ProjectConfig
from nbprod.errors import Problem
from nbprod.export.analysis import (
    IPYTHON_BUILTINS,
    MODULE_NAMES,
    CellSymbols,
    ImportBinding,
    analyze_cell,
)
from nbprod.export.render import (
    IPYTHON_SHELL_IMPORTS,
    IPYTHON_SHELL_PREAMBLE,
    NOT_TESTS,
    NOT_TESTS_MARK,
    NOTEBOOK_FOLDER_IMPORTS,
    NOTEBOOK_FOLDER_PREAMBLE,
    Chunk,
    awaits_at_top_level,
    black_style,
    docstring_from_markdown,
    import_block,
    indent_code,
    keep_bracket_comments,
    marker,
    render_file,
    sorted_all,
    test_function_name,
)
from nbprod.export.shared import (
    LayoutCell,
    SharedLayout,
    namespace_reads,
    plan_layout,
    split_definitions,
    without_imports,
)
from nbprod.notebook.cells import Cell, Role, classify_cells, notebook_module
from nbprod.notebook.ipython import make_plain, parse_python
from nbprod.notebook.reader import read_notebook

if TYPE_CHECKING:
    from nbformat import NotebookNode

SHIPPED = (Role.EXPORT, Role.EXPORT_INTERNAL, Role.TEST)


@dataclass(frozen=True)
class GeneratedFile:
    """A file an export writes.

    Parameters
    ----------
    path : Path
        Where it goes.
    kind : str
        ``module``, ``tests`` or ``package`` (an ``__init__.py``).
    content : str
        Its full text.
    create_only : bool
        True for package ``__init__.py`` files: written when missing, never
        overwritten (users put their own code there).
    """

    path: Path
    kind: str
    content: str
    create_only: bool = False


@dataclass(frozen=True)
class CellRole:
    """A code cell's role as the plan sees it, for reports and the UI."""

    index: int
    cell_id: str | None
    role: str
    module: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the role as a JSON-ready mapping."""
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "role": self.role,
            "module": self.module,
        }


@dataclass
class ExportPlan:
    """What exporting one notebook would write, and what is wrong with it.

    Attributes
    ----------
    notebook : Path
        The notebook.
    name : str
        Its path relative to the project root.
    module : str
        The full dotted name of its module (``churn.features``).
    cells : list of CellRole
        Every code cell's role.
    files : list of GeneratedFile
        The files to write; empty when the plan has errors.
    problems : list of Problem
        Errors (nothing may be written), warnings and notes.
    """

    notebook: Path
    name: str
    module: str
    cells: list[CellRole] = field(default_factory=list)
    files: list[GeneratedFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not any(problem.severity == "error" for problem in self.problems)

    def to_dict(self, config: ProjectConfig | None = None) -> dict[str, Any]:
        """Return the plan as JSON, file paths relative to the project root."""
        relative = config.relpath if config else str
        return {
            "notebook": self.name,
            "module": self.module,
            "cells": [cell.to_dict() for cell in self.cells],
            "files": [
                {"path": relative(f.path), "kind": f.kind, "content": f.content}
                for f in self.files
            ],
            "problems": [problem.to_dict() for problem in self.problems],
            "ok": self.ok,
        }


@dataclass
class _Prepared:
    """A code cell with its plain code and symbols (None when unreadable)."""

    cell: Cell
    code: str
    symbols: CellSymbols | None
    module: str | None = None


class _Planner:
    """Applies the export rules to one notebook's cells."""

    def __init__(self, nb: NotebookNode, path: Path, config: ProjectConfig) -> None:
        self.nb = nb
        self.path = path
        self.config = config
        self.name = config.relpath(path)
        self.problems: list[Problem] = []
        #: where the cells of a shared-state notebook run (None otherwise)
        self.layout: SharedLayout | None = None
        cells = classify_cells(nb, self.name)
        self.module = notebook_module(nb, path, cells)
        self.cells = [self._prepare(cell) for cell in cells]
        self.star_import = any(p.symbols and p.symbols.star_import for p in self.cells)

    # -- reporting ---------------------------------------------------------

    def _report(
        self,
        severity: str,
        message: str,
        cell: Cell,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(severity, message, cell.location(self.name, line), hint)
        )

    def _sorted_problems(self) -> list[Problem]:
        """Problems in notebook order: by cell, then line (stable for one line)."""
        return sorted(
            self.problems,
            key=lambda p: (p.location.cell or 0, p.location.line or 0),
        )

    def _cell_label(self, cell: Cell) -> str:
        return f"cell {cell.index + 1}"

    # -- reading -----------------------------------------------------------

    def _prepare(self, cell: Cell) -> _Prepared:
        plain = make_plain(cell.source)
        shipped = cell.role in SHIPPED
        module = None
        if cell.role.exported:
            module = cell.module or self.module
            if not all(part.isidentifier() for part in module.split(".")):
                self._report("error", f"{module!r} is not a valid module name", cell)
        if shipped:
            for line, text in plain.dropped:
                self._report(
                    "note",
                    f"`{text}` only sets up the notebook session: left out",
                    cell,
                    line,
                )
            for line, text in plain.ipython:
                self._report(
                    "error",
                    f"IPython syntax `{text}` cannot go into a Python file",
                    cell,
                    line,
                    f"move it to an untagged cell, or write it in plain Python; "
                    f"a {cell.role.value} cell must be plain Python",
                )
            if plain.syntax_error:
                line, message = plain.syntax_error
                self._report(
                    "error",
                    f"syntax error: {message}",
                    cell,
                    line,
                    "fix the code in the cell",
                )
            if plain.ipython or plain.syntax_error:
                return _Prepared(cell, plain.code, None, module)
        code = plain.code
        if plain.ipython:
            # Exploration cells may use magics; blank them to still learn what they define.
            lines = code.splitlines()
            for line, _ in plain.ipython:
                lines[line - 1] = ""
            code = "\n".join(lines)
        try:
            symbols = analyze_cell(code)
        except SyntaxError:
            symbols = None
        return _Prepared(cell, code, symbols, module)

    # -- rules ---------------------------------------------------------------

    def _definers(self, name: str) -> list[_Prepared]:
        return [p for p in self.cells if p.symbols and name in p.symbols.defines]

    def _import_for(self, name: str, before: int) -> ImportBinding | None:
        """The import that binds ``name``: the nearest one above the cell, else the first below."""
        site = self._import_site(name, before)
        return None if site is None else site[1]

    def _import_site(self, name: str, before: int) -> tuple[int, ImportBinding] | None:
        """``(cell index, binding)`` of the import :meth:`_import_for` picks."""
        found = [
            (p.cell.index, p.symbols.imports[name])
            for p in self.cells
            if p.symbols and name in p.symbols.imports
        ]
        if not found:
            return None
        above = [item for item in found if item[0] <= before]
        return above[-1] if above else found[0]

    def _nbdev_code(self) -> bool:
        """True for an nbdev notebook (moved by ``init --from-nbdev``, or relative imports on)."""
        return self._shared_test_state() or self.config.relative_imports

    def _imports_in_place(self, cells: list[_Prepared]) -> dict[int, set[str]]:
        """Per cell index, the imported names a module keeps where its cell has them.

        Imports go to the top of the module, above the cells' code, and a
        ``from x import *`` stays in its cell (its names are unknown). In nbdev
        code, an import in the star import's cell or below it then stays in
        place too: in the notebook it came after the star import and won
        (execnb's ``from traitlets.config import Config`` after ``from
        fastcore.utils import *``, which brings fastcore's own ``Config``).
        Other projects' modules keep one sorted import block (ruff's isort
        rules), where star imports in exported cells are rare.
        """
        if not self._nbdev_code():
            return {}
        stars = [p.cell.index for p in cells if p.symbols and p.symbols.star_import]
        if not stars:
            return {}
        return {
            p.cell.index: set(p.symbols.imports)
            for p in cells
            if p.symbols
            and p.symbols.imports
            and not p.symbols.future_imports
            and p.cell.index >= stars[0]
        }

    def _hidden_state(
        self,
        user: _Prepared,
        name: str,
        line: int,
        definers: list[_Prepared],
        target: str,
    ) -> None:
        definer = definers[0].cell
        label = self._cell_label(definer)
        if definer.role is Role.PARAMETERS:
            what, hint = (
                "the parameters cell",
                f"pass `{name}` as an argument: parameters cells are never exported",
            )
        elif definer.role is Role.NONE:
            what, hint = (
                "not exported",
                f"tag {label} `{target}`, or pass `{name}` as an argument",
            )
        else:
            what, hint = f"a {definer.role.value} cell", f"pass `{name}` as an argument"
        self._report(
            "error",
            f"`{name}` is used here but defined only in {label}, which is {what}",
            user.cell,
            line,
            hint,
        )

    def _undefined(self, user: _Prepared, name: str, line: int) -> None:
        self._report(
            "error",
            f"`{name}` is not defined in any cell of the notebook",
            user.cell,
            line,
            "define or import it in an exported cell",
        )

    def plan(self) -> ExportPlan:
        """Check every shipped cell and render the files."""
        full = f"{self.config.package}.{self.module}"
        plan = ExportPlan(self.path, self.name, full)
        plan.cells = [
            CellRole(
                p.cell.index,
                p.cell.cell_id,
                p.cell.role.value,
                f"{self.config.package}.{p.module}" if p.module else None,
            )
            for p in self.cells
        ]
        exported = [p for p in self.cells if p.module is not None]
        tests = []
        for prepared in self.cells:
            if prepared.cell.role is not Role.TEST:
                continue
            if not prepared.cell.evaluated:
                self._report(
                    "note",
                    "`#| eval: false`: not run as a test",
                    prepared.cell,
                )
                continue
            tests.append(prepared)
        if not exported and not tests:
            plan.problems = self._sorted_problems()
            return plan
        modules: dict[str, list[_Prepared]] = {}
        for prepared in exported:
            modules.setdefault(prepared.module or self.module, []).append(prepared)
        owner = {
            name: p.module
            for p in reversed(exported)
            if p.symbols
            for name in p.symbols.defines
        }
        module_imports = {
            name: self._check_module_cells(name, cells, owner)
            for name, cells in modules.items()
        }
        test_imports = self._check_tests(tests, owner)
        if any(problem.severity == "error" for problem in self.problems):
            plan.problems = self._sorted_problems()
            return plan
        for module_name, cells in modules.items():
            plan.files.append(
                self._module_file(module_name, cells, module_imports[module_name])
            )
        plan.files.extend(self._package_files(modules))
        if tests:
            plan.files.append(self._test_file(tests, test_imports))
        plan.problems = self._sorted_problems()
        return plan

    def _check_module_cells(
        self, module: str, cells: list[_Prepared], owner: dict[str, str | None]
    ) -> list[str]:
        """Check a module's cells for hidden state; return the imports it needs."""
        imports: dict[str, str] = {}
        defined: set[str] = set()
        in_place = self._imports_in_place(cells)
        for prepared in cells:
            symbols = prepared.symbols
            if symbols is None:
                continue
            for use in symbols.uses:
                name = use.name
                if name in defined:
                    continue
                site = self._import_site(name, prepared.cell.index)
                if site is not None:
                    if name not in in_place.get(site[0], ()):
                        imports[site[1].statement] = site[1].statement
                    continue
                other = owner.get(name)
                if other is not None and other != module:
                    text = f"from {self.config.package}.{other} import {name}"
                    imports[text] = text
                    continue
                if other == module:
                    if not use.deferred and not any(
                        # a star import above may bring the name (fastprogress:
                        # `from .core import *`, then `if IN_NOTEBOOK: ...
                        # IN_NOTEBOOK = False` in one cell)
                        p.symbols and p.symbols.star_import
                        for p in cells
                        if p.cell.index <= prepared.cell.index
                    ):
                        later = next(
                            p for p in cells if p.symbols and name in p.symbols.defines
                        )
                        if later is prepared:
                            message = f"`{name}` is used here at import time before this cell assigns it"
                            hint = (
                                f"assign `{name}` before line {use.line}, or import it"
                            )
                        else:
                            message = f"`{name}` is used here at import time but defined later, in {self._cell_label(later.cell)}"
                            hint = f"move {self._cell_label(later.cell)} above {self._cell_label(prepared.cell)}"
                        self._report("error", message, prepared.cell, use.line, hint)
                    continue
                if (
                    name in MODULE_NAMES
                    or self.star_import
                    or (name in IPYTHON_BUILTINS and self._nbdev_code())
                ):
                    continue
                definers = self._definers(name)
                if definers:
                    self._hidden_state(prepared, name, use.line, definers, "export")
                else:
                    self._undefined(prepared, name, use.line)
            # a @patch function adds a method; its name keeps its earlier binding
            defined |= symbols.defines.keys() - symbols.patched
            for line, text in symbols.side_effects:
                self._report(
                    "warning",
                    f"`{text}` runs every time the module is imported",
                    prepared.cell,
                    line,
                    "move it to an untagged cell, or inside a function",
                )
        self._unused_imports(cells)
        return list(imports)

    def _unused_imports(self, cells: list[_Prepared]) -> None:
        """Note the imports of exported cells that the module's code never uses."""
        used = {use.name for p in cells if p.symbols for use in p.symbols.uses}
        in_place = self._imports_in_place(cells)
        for prepared in cells:
            if prepared.cell.index in in_place:
                continue  # kept in the cell's code, used or not
            for name, binding in (
                prepared.symbols.imports.items() if prepared.symbols else ()
            ):
                if name not in used:
                    self._report(
                        "note",
                        f"`{binding.statement}` is not used by exported code: left out",
                        prepared.cell,
                        binding.line,
                    )

    def _check_tests(
        self, tests: list[_Prepared], owner: dict[str, str | None]
    ) -> list[str]:
        """Check test cells; return the imports the test file needs."""
        imports: dict[str, str] = {}
        # names the module's cells take from `from x import *`: the tests need them too
        for text in self._star_imports([p for p in self.cells if p.module is not None]):
            imports[text] = text
        setup: set[str] = set()
        local: dict[str, _Prepared] = {}
        shared = self._shared_test_state()
        if shared:
            return self._check_shared_tests(tests, owner, imports)
        for prepared in tests:
            symbols = prepared.symbols
            if symbols is None:
                continue
            for use in symbols.uses:
                name = use.name
                if name in setup:
                    continue
                binding = self._import_for(name, prepared.cell.index)
                if binding is not None:
                    imports[binding.statement] = binding.statement
                elif name in owner:
                    text = f"from {self.config.package}.{owner[name]} import {name}"
                    imports[text] = text
                elif name in local:
                    definer = local[name].cell
                    self._report(
                        "error",
                        f"`{name}` is defined in {self._cell_label(definer)}, a test with assertions, so it is local to that test",
                        prepared.cell,
                        use.line,
                        f"split {self._cell_label(definer)}: definitions in one test cell, assertions in the next",
                    )
                elif name in MODULE_NAMES or self.star_import:
                    continue
                elif any(p.symbols and name in p.symbols.defines for p in tests):
                    later = next(
                        p for p in tests if p.symbols and name in p.symbols.defines
                    )
                    self._used_before(prepared, name, use.line, later)
                else:
                    self._not_defined_for_tests(prepared, name, use.line)
            if symbols.has_action:
                local.update(dict.fromkeys(symbols.defines, prepared))
            else:
                setup |= symbols.defines.keys()
        return list(imports)

    def _check_shared_tests(
        self,
        tests: list[_Prepared],
        owner: dict[str, str | None],
        imports: dict[str, str],
    ) -> list[str]:
        """Check the test cells of a shared-state (nbdev) notebook; lay them out.

        A name a cell reads is what the last cell before it bound, in notebook
        order (see :mod:`nbprod.export.shared`); the file imports what exported
        cells and hoisted imports bound, and the layout says which cells run in
        which test function.
        """
        # the notebook's namespace held every name the module makes, those it
        # makes at import time (`globals()[name] = ...`, listed in `_all_`) too
        for module in dict.fromkeys(
            p.module for p in self.cells if p.module is not None
        ):
            text = f"from {self.config.package}.{module} import *"
            imports[text] = text
        layout_cells = {}
        test_indices = {p.cell.index for p in tests}
        for prepared in self.cells:
            if prepared.symbols is None:
                continue
            if prepared.module is not None:
                full = f"{self.config.package}.{prepared.module}"
            elif prepared.cell.index in test_indices:
                full = None
            else:
                continue
            layout_cells[prepared.cell.index] = LayoutCell(
                prepared.cell.index,
                prepared.symbols,
                self._code(prepared, keep_imports=True),
                full,
            )
        # the tests' own star imports (`from fastcore.test import *`) open the file
        for text in self._star_imports(tests):
            imports[text] = text
        in_tests = [layout_cells[p.cell.index] for p in tests if p.symbols]
        layout = plan_layout(list(layout_cells.values()), in_tests)
        self.layout = layout
        for prepared in tests:
            symbols = prepared.symbols
            if symbols is None:
                continue
            index = prepared.cell.index
            for use in symbols.uses:
                name = use.name
                binder = layout.last_binder(name, index)
                if binder is not None and binder.index != index:
                    if layout.binds_at_runtime(binder, name):
                        continue  # the same test function binds it before
                    binding = binder.symbols.imports.get(name)
                    if binding is not None:
                        if name not in layout.kept_imports.get(binder.index, ()):
                            imports[binding.statement] = binding.statement
                    elif binder.module is not None and not (
                        index in layout.runtime and name in layout.runtime_names
                    ):
                        # (a test-time cell imports a contested name where it reads it)
                        text = f"from {binder.module} import {name}"
                        imports[text] = text
                    continue
                binding = self._import_for(name, index)
                if binding is not None:
                    if name not in layout.contested:
                        imports[binding.statement] = binding.statement
                elif name in owner:
                    text = f"from {self.config.package}.{owner[name]} import {name}"
                    imports[text] = text
                elif (
                    name in MODULE_NAMES or name in IPYTHON_BUILTINS or self.star_import
                ):
                    continue
                elif any(p.symbols and name in p.symbols.bound for p in tests):
                    later = next(
                        p for p in tests if p.symbols and name in p.symbols.bound
                    )
                    if later.cell.index == index:
                        continue  # a name the cell binds after reading it in a function
                    self._used_before(prepared, name, use.line, later)
                else:
                    self._not_defined_for_tests(prepared, name, use.line)
        return list(imports)

    def _used_before(
        self, prepared: _Prepared, name: str, line: int, later: _Prepared
    ) -> None:
        """A test cell reads ``name`` above the test cell that defines it."""
        self._report(
            "error",
            f"`{name}` is used before {self._cell_label(later.cell)} defines it",
            prepared.cell,
            line,
            f"move {self._cell_label(later.cell)} above {self._cell_label(prepared.cell)}",
        )

    def _not_defined_for_tests(self, prepared: _Prepared, name: str, line: int) -> None:
        """A test cell reads ``name``, defined only outside what tests see, or nowhere."""
        definers = self._definers(name)
        if definers:
            self._hidden_state(prepared, name, line, definers, "test")
        else:
            self._undefined(prepared, name, line)

    def _shared_test_state(self) -> bool:
        """True when the notebook's test cells share state, as nbdev runs them.

        ``metadata.nbprod.test_state = "shared"`` (``nbprod init --from-nbdev``
        sets it): a test cell that uses a name bound by an earlier test with
        assertions runs in the same test function, after it.
        """
        meta = self.nb.metadata.get("nbprod", {})
        return isinstance(meta, dict) and meta.get("test_state") == "shared"

    def _star_imports(self, cells: list[_Prepared]) -> list[str]:
        """The absolute ``from x import *`` statements of ``cells``, in order."""
        found: list[str] = []
        for prepared in cells:
            if not (prepared.symbols and prepared.symbols.star_import):
                continue
            try:
                tree = parse_python(prepared.code)
            except SyntaxError:
                continue
            for node in tree.body:
                if (
                    isinstance(node, ast.ImportFrom)
                    and not node.level
                    and node.module
                    and any(alias.name == "*" for alias in node.names)
                ):
                    found.append(f"from {node.module} import *")
        return list(dict.fromkeys(found))

    # -- rendering -----------------------------------------------------------

    def _code(self, prepared: _Prepared, keep_imports: bool = False) -> str:
        """The cell's code without directives and (unless ``keep_imports``) hoisted imports."""
        symbols = prepared.symbols
        skip = {d.line for d in prepared.cell.directives}
        if symbols is not None and not keep_imports:
            skip |= symbols.import_lines
        lines = [
            line
            for number, line in enumerate(prepared.code.splitlines(), start=1)
            if number not in skip
        ]
        return "\n".join(lines).strip("\n")

    def _chunk(
        self,
        prepared: _Prepared,
        test_name: str | None = None,
        module: str | None = None,
        in_place: set[str] | None = None,
    ) -> Chunk | None:
        if in_place:
            code = without_imports(self._code(prepared, keep_imports=True), in_place)
        else:
            code = self._code(prepared)
        if module is not None and self.config.relative_imports:
            code = _relative_imports_in(code, module, self.config.package)
        if not code.strip():
            return None
        cell = prepared.cell
        return Chunk(marker(self.name, cell.index, cell.cell_id), code, test_name)

    def _docstring(self) -> str | None:
        for cell in self.nb.cells:
            if cell.cell_type == "markdown":
                return docstring_from_markdown(cell.source)
        return None

    def _future(self, cells: list[_Prepared]) -> list[str]:
        return sorted(
            {text for p in cells if p.symbols for text in p.symbols.future_imports}
        )

    def _module_file(
        self, module: str, cells: list[_Prepared], imports: list[str]
    ) -> GeneratedFile:
        names: list[str] | None = []
        for prepared in cells:
            if prepared.symbols is None:
                continue
            if "__all__" in prepared.symbols.defines:
                names = None
                break
            if prepared.cell.role is Role.EXPORT:
                names += [n for n in prepared.symbols.public if n not in names]  # type: ignore[operator]
        full = f"{self.config.package}.{module}"
        if self.config.relative_imports:
            imports = [
                relative_import(text, full, self.config.package) for text in imports
            ]
        in_place = self._imports_in_place(cells)
        chunks = [
            c
            for c in (
                self._chunk(p, module=full, in_place=in_place.get(p.cell.index))
                for p in cells
            )
            if c
        ]
        if self._nbdev_code():
            # nbdev code: fastcore's docments reads a parameter's doc from the
            # comment after it, which black would move when it joins a signature
            chunks = [
                Chunk(c.marker, keep_bracket_comments(c.code), c.test_name, c.awaits)
                for c in chunks
            ]
        text = render_file(
            self.name,
            self._docstring() if module == self.module else None,
            import_block(self._future(cells) + imports, self.config.package),
            None if names is None else sorted_all(names),
            tuple(chunks),
            black_style(self.config.root),
        )
        path = self.config.package_dir / (module.replace(".", "/") + ".py")
        return GeneratedFile(path, "module", text)

    def _package_files(
        self, modules: dict[str, list[_Prepared]]
    ) -> list[GeneratedFile]:
        """``__init__.py`` for the package and each sub-package the modules need."""
        folders = {self.config.package_dir}
        for module in modules:
            packages = module.split(".")[:-1]
            for depth in range(1, len(packages) + 1):
                folders.add(self.config.package_dir.joinpath(*packages[:depth]))
        files = []
        for folder in sorted(folders):
            parts = folder.relative_to(self.config.package_dir).parts
            dotted = ".".join((self.config.package, *parts))
            text = f'"""The `{dotted}` package: modules exported from notebooks by nbprod."""\n'
            files.append(
                GeneratedFile(folder / "__init__.py", "package", text, create_only=True)
            )
        return files

    def _shared_test_chunks(
        self, tests: list[_Prepared], taken: set[str]
    ) -> list[Chunk]:
        """The test file's code for a shared-state (nbdev) notebook.

        The cells run as nbdev ran them, in one namespace (the layout of
        :mod:`nbprod.export.shared`): cells that may run at import time are
        module-level code; the others run inside test functions, in notebook
        order, what they bind declared ``global``; their functions and classes
        defined once are defined at module level, so pickling them,
        ``inspect.getsource`` and ``__qualname__`` see what they saw in the
        notebook.
        """
        layout = self.layout or SharedLayout()
        chunks: list[Chunk] = []
        #: the first cell of a group -> position of its test function, and its parts
        groups: dict[int, tuple[int, str, list[str], set[str]]] = {}
        for prepared in tests:
            cell = prepared.cell
            index = cell.index
            code = without_imports(
                self._code(prepared, keep_imports=True),
                layout.kept_imports.get(index, set()),
                stars=True,
            ).strip("\n")
            if not code.strip():
                continue
            mark = marker(self.name, index, cell.cell_id)
            if index not in layout.runtime:
                code = keep_bracket_comments(code)
                chunks.append(
                    Chunk(
                        mark,
                        "with notebook_folder():\n" + indent_code(code, "    "),
                    )
                    if _does_work(code)
                    else Chunk(mark, code)
                )
                continue
            definitions, rest = split_definitions(
                code, layout.runtime_names, layout.contested
            )
            if definitions:
                chunks.append(Chunk(mark, keep_bracket_comments(definitions)))
            rest = keep_bracket_comments(namespace_reads(rest))
            rebinds = layout.rebinds.get(index, [])
            if rebinds and rest.strip():
                # an exported cell bound these again after a test had: the
                # notebook's namespace held the module's binding here
                rest = "\n".join(rebinds) + "\n" + rest
            try:
                names = analyze_cell(rest).bound
            except SyntaxError:
                names = set()
            if not rest.strip():
                continue
            leader = layout.groups.get(index, index)
            if leader in groups:
                at, name, parts, bound = groups[leader]
                groups[leader] = (at, name, [*parts, f"{mark}\n{rest}"], bound | names)
                continue
            name = test_function_name(rest, index, taken)
            groups[leader] = (len(chunks), name, [rest], names)
            chunks.append(Chunk(mark, rest, name))
        for at, name, parts, bound in groups.values():
            body = "\n\n".join(parts)
            if bound:
                body = f"global {', '.join(sorted(bound))}\n{body}"
            chunks[at] = Chunk(chunks[at].marker, body, name, awaits_at_top_level(body))
        return chunks

    def _calls_ipython_shell(self, tests: list[_Prepared]) -> bool:
        """True when test cells call IPython's builtin ``get_ipython`` (no cell binds it)."""
        if any(
            p.symbols
            and (
                "get_ipython" in p.symbols.defines or "get_ipython" in p.symbols.imports
            )
            for p in self.cells
        ):
            return False
        return any(
            use.name == "get_ipython"
            for p in tests
            if p.symbols
            for use in p.symbols.uses
        )

    def _test_file(self, tests: list[_Prepared], imports: list[str]) -> GeneratedFile:
        taken: set[str] = set()
        chunks: list[Chunk] = []
        shared = self._shared_test_state()
        for prepared in [] if shared else tests:
            code = self._code(prepared)
            name = None
            if prepared.symbols and prepared.symbols.has_action:
                name = test_function_name(code, prepared.cell.index, taken)
            chunk = self._chunk(prepared, name)
            if chunk:
                if name and awaits_at_top_level(chunk.code):
                    chunk = Chunk(chunk.marker, chunk.code, name, True)
                chunks.append(chunk)
        if any(chunk.awaits for chunk in chunks):
            imports = [*imports, "import asyncio"]
        preamble = None
        path = self.config.tests_dir / f"test_{self.module.replace('.', '_')}.py"
        if shared:
            chunks = self._shared_test_chunks(tests, taken)
            if any(chunk.awaits for chunk in chunks):
                imports = [*imports, "import asyncio"]
            # nbdev runs a notebook's cells in its folder: relative paths keep working
            folder = os.path.relpath(self.path.parent.resolve(), path.parent.resolve())
            preamble = NOTEBOOK_FOLDER_PREAMBLE.format(folder=Path(folder).as_posix())
            imports = [*imports, *NOTEBOOK_FOLDER_IMPORTS]
            if self._calls_ipython_shell(tests):
                preamble += IPYTHON_SHELL_PREAMBLE
                imports = [*imports, *IPYTHON_SHELL_IMPORTS]
        # setup cells' own functions named like tests (nbdev's `def test_untar(...)`
        # helpers) sit at module level too
        helpers = sorted(
            name
            for p in tests
            if p.symbols
            and not (
                p.symbols.has_action
                or (self.layout is not None and p.cell.index in self.layout.runtime)
            )
            for name in p.symbols.defines
            if name.startswith(("test", "Test"))
        )
        if (
            helpers
            or any(" import *" in text for text in imports)
            or any(p.symbols and p.symbols.star_import for p in tests)
        ):
            chunks.append(
                Chunk(NOT_TESTS_MARK, NOT_TESTS.format(helpers=tuple(helpers)))
            )
        full = f"{self.config.package}.{self.module}"
        text = render_file(
            self.name,
            f"Tests of `{full}`, generated from the test cells of {self.name}.",
            import_block(self._future(tests) + imports, self.config.package),
            None,
            tuple(chunks),
            black_style(self.config.root),
            preamble,
        )
        return GeneratedFile(path, "tests", text)


_DEFINITION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _does_work(code: str) -> bool:
    """True when code does more than define functions and classes and import."""
    try:
        tree = parse_python(code)
    except SyntaxError:
        return True
    quiet = (*_DEFINITION_NODES, ast.Import, ast.ImportFrom)
    return any(not isinstance(node, quiet) for node in tree.body)


def relative_import(statement: str, module: str, package: str) -> str:
    """``from pkg.core import x`` as nbdev writes it in module ``pkg.sub.mod``: ``from ..core import x``.

    Parameters
    ----------
    statement : str
        A single import statement.
    module : str
        The full dotted name of the module the statement goes into.
    package : str
        The project's package; imports from outside it are returned unchanged.

    Returns
    -------
    str
        The statement, relative when it imports from inside the package.
    """
    if not statement.startswith("from "):
        return statement
    target, _, names = statement[5:].partition(" import ")
    inside = target == package or target.startswith(package + ".")
    if not inside or not names:
        return statement
    here = module.split(".")[:-1]
    there = target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    dots = "." * (len(here) - common + 1)
    return f"from {dots}{'.'.join(there[common:])} import {names}"


def _relative_imports_in(code: str, module: str, package: str) -> str:
    """Make the one-line ``from pkg.x import ...`` statements left in a cell's code relative."""
    try:
        tree = parse_python(code)
    except SyntaxError:
        return code
    lines = code.splitlines()
    for node in tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and node.module
            and node.lineno == node.end_lineno
        ):
            line = lines[node.lineno - 1]
            text = line[node.col_offset : node.end_col_offset]
            head = f"from {node.module} import "
            if not text.startswith(head):
                continue  # unusual spacing: left as written
            names = text[len(head) :]
            lines[node.lineno - 1] = line.replace(
                text, relative_import(head + names, module, package)
            )
    return "\n".join(lines)


def plan_notebook(
    path: Path | str, config: ProjectConfig, nb: NotebookNode | None = None
) -> ExportPlan:
    """Plan the export of one notebook: the files it makes and its problems.

    Parameters
    ----------
    path : Path or str
        The notebook file.
    config : ProjectConfig
        The project's settings.
    nb : NotebookNode, optional
        The notebook's content when it is already read (or unsaved, from the UI).

    Returns
    -------
    ExportPlan
        The files (none when there are errors) and every problem found.

    Raises
    ------
    NotebookError
        When the notebook cannot be read, or a cell has two roles.
    """
    path = Path(path)
    if nb is None:
        nb = read_notebook(path, for_reading=True)
    return _Planner(nb, path, config).plan()
