"""Running the gate's tools (black, ruff, nbqa, pytest) and reading what they report.

Each tool runs as ``python -m tool`` with nbprod's own interpreter, with the
project root as the working directory so the tool finds the user's own
``[tool.black]`` / ``[tool.ruff]`` settings. Output is parsed from the tools'
machine-readable forms where they have one (ruff's JSON, pytest's JUnit XML).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from nbprod.gate.report import Finding

#: the module that ``python -m`` runs for each tool
TOOL_MODULES = {"black": "black", "ruff": "ruff", "nbqa": "nbqa", "pytest": "pytest"}


@dataclass(frozen=True)
class ToolRun:
    """What one tool invocation returned."""

    returncode: int
    stdout: str
    stderr: str


def tool_installed(tool: str) -> bool:
    """True when ``python -m tool`` can run in nbprod's environment."""
    return importlib.util.find_spec(TOOL_MODULES.get(tool, tool)) is not None


def missing_tool(tool: str, path: str | None = None) -> Finding:
    """The finding for a tool that is not installed."""
    return Finding(
        f"{tool} is not installed in nbprod's environment",
        path=path,
        code=tool,
        hint=f"pip install {tool}",
    )


def run_tool(
    tool: str, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> ToolRun:
    """Run ``python -m tool ARGS`` in ``cwd`` and capture its output."""
    command = [sys.executable, "-m", TOOL_MODULES.get(tool, tool), *args]
    proc = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        check=False,
    )
    return ToolRun(proc.returncode, proc.stdout, proc.stderr)


def tail(text: str, count: int = 8) -> str:
    """The last non-empty lines of a tool's output, for a finding's message."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def _relative(path: str, root: Path) -> str:
    # tools print paths relative to their working directory, the project root
    full = Path(path)
    if not full.is_absolute():
        full = root / full
    try:
        return full.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


# -- black ---------------------------------------------------------------------

_BLACK_ERROR = re.compile(
    r"^error: cannot format (?P<path>.+?): (?P<msg>.*?)(?:(?P<line>\d+):(?P<col>\d+): .*)?$"
)
_WOULD_REFORMAT = re.compile(r"^would reformat (?P<path>.+)$")


# black's notebook diffs name the cell: "--- nb.ipynb\t<time>:cell_2" (0-based)
_DIFF_CELL = re.compile(r":cell_(\d+)$")


def first_changed_lines(diff: str, root: Path) -> dict[tuple[str, int | None], int]:
    """The first line each file (or notebook cell) of a unified diff changes.

    Returns
    -------
    dict
        ``(path, cell)`` to the one-based line in the old text; ``cell`` is the
        one-based cell number for black's notebook diffs, else None.
    """
    first: dict[tuple[str, int | None], int] = {}
    current: tuple[str, int | None] | None = None
    old_line = 0
    for line in diff.splitlines():
        if line.startswith("--- "):
            head = line[4:]
            cell = _DIFF_CELL.search(head)
            path = _relative(head.split("\t")[0].removeprefix("a/"), root)
            current = (path, int(cell.group(1)) + 1 if cell else None)
        elif line.startswith("@@") and current is not None:
            match = re.match(r"@@ -(\d+)", line)
            old_line = int(match.group(1)) if match else 1
        elif current is not None and current not in first:
            if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
                first[current] = max(old_line, 1)
            elif line.startswith(" "):
                old_line += 1
    return first


def black_reads_notebooks() -> bool:
    """True when black has its Jupyter extra (without it, it skips notebooks silently)."""
    return all(importlib.util.find_spec(m) for m in ("tokenize_rt", "IPython"))


def parse_black(run: ToolRun, root: Path) -> list[Finding]:
    """Findings from ``black --check --diff``: one per file, or per notebook cell.

    The line of a finding is the first line the diff changes, so an editor
    jumps to the problem; files black cannot parse give the parse position.
    """
    changes = first_changed_lines(run.stdout, root)
    findings: list[Finding] = []
    seen: set[str] = set()
    for line in run.stderr.splitlines():
        error = _BLACK_ERROR.match(line)
        if error:
            path = _relative(error.group("path"), root)
            seen.add(path)
            findings.append(
                Finding(
                    f"black cannot parse it: {error.group('msg').rstrip(': ')}",
                    path=path,
                    line=int(error.group("line")) if error.group("line") else None,
                    col=int(error.group("col")) if error.group("col") else None,
                    code="black",
                )
            )
            continue
        would = _WOULD_REFORMAT.match(line)
        if not would:
            continue
        path = _relative(would.group("path"), root)
        if path in seen:
            continue
        seen.add(path)
        spots: list[tuple[int | None, int | None]] = [
            (cell, ln) for (p, cell), ln in changes.items() if p == path
        ]
        for cell, first_line in spots or [(None, None)]:
            findings.append(
                Finding(
                    "would be reformatted by black",
                    path=path,
                    cell=cell,
                    line=first_line,
                    code="black",
                    hint=f"run `black {path}`",
                )
            )
    if run.returncode not in (0, 1) and not findings:
        findings.append(Finding(f"black failed: {tail(run.stderr)}", code="black"))
    return findings


# -- ruff ----------------------------------------------------------------------


def parse_ruff_json(run: ToolRun, root: Path) -> list[Finding]:
    """Findings from ``ruff check --output-format json`` (modules or notebooks)."""
    try:
        items = json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        items = None
    if not isinstance(items, list):
        return [Finding(f"ruff failed: {tail(run.stderr or run.stdout)}", code="ruff")]
    findings = []
    for item in items:
        location = item.get("location") or {}
        findings.append(
            Finding(
                item.get("message", ""),
                path=_relative(item.get("filename", ""), root),
                line=location.get("row"),
                col=location.get("column"),
                # for notebooks: the cell's one-based position among all cells
                cell=item.get("cell"),
                code=item.get("code") or "ruff",
                hint=(item.get("fix") or {}).get("message"),
            )
        )
    if run.returncode not in (0, 1) and not findings:
        findings.append(Finding(f"ruff failed: {tail(run.stderr)}", code="ruff"))
    return findings


# -- pytest --------------------------------------------------------------------

# the last "path:line: Error" of a traceback is where the test failed
_TRACE_LINE = re.compile(r"^(?P<path>[^\s:][^:]*\.py):(?P<line>\d+): ", re.MULTILINE)


def pytest_env(root: Path, source: str) -> dict[str, str]:
    """The environment of the test run: the project importable, no bytecode files."""
    env = dict(os.environ)
    paths = [str((root / source).resolve()), str(root.resolve())]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    # __pycache__ folders would show up as untracked files in the user's tree
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _node_id(case: ET.Element) -> str:
    """A node id pytest can run for a JUnit test case (xunit1: file, classname, name).

    ``classname`` is the dotted module path, then any classes: the classes
    become ``::`` parts. A module that failed to import (a collection error)
    is a case named after the module, with no classname: its node is the file.
    """
    file = case.get("file")
    classname = case.get("classname", "")
    name = case.get("name", "")
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file.removesuffix(".py").replace("/", ".").replace("\\", ".")
    if not classname and name == module:
        return file
    parts = [file]
    if classname.startswith(module + "."):
        parts += classname[len(module) + 1 :].split(".")
    return "::".join([*parts, name])


#: ``File "path", line N`` of a SyntaxError raised while importing a test module
_SYNTAX_LINE = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')


def _error_line(text: str) -> str | None:
    """The last ``E   ...`` line of a pytest traceback: the error itself."""
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    lines = [line for line in lines if line and not set(line) <= {"^", " "}]
    return lines[-1] if lines else None


def parse_junit(xml_path: Path, root: Path) -> list[Finding]:
    """One finding per test case of a JUnit XML file (``xunit1`` family).

    Passing tests are ``info`` findings; failures and errors are ``error``
    findings located at the line where the test failed. The hint names a node
    ``pytest`` can run: ``file::Class::test``, or the file of a test module
    that could not be collected (an import or syntax error).
    """
    tree = ET.parse(xml_path)
    findings = []
    for case in tree.iter("testcase"):
        file = case.get("file")
        nodeid = _node_id(case)
        line = case.get("line")
        outcome, severity, message, hint = "passed", "info", "passed", None
        location_line = int(line) + 1 if line and line.isdigit() else None
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                severity = "error"
                text = child.text or ""
                message = (child.get("message") or text.strip() or outcome).strip()
                message = message.splitlines()[0][:300] if message else outcome
                if message == "collection failure":
                    # pytest's message says nothing of the cause: take the error line
                    cause = _error_line(text)
                    message = f"cannot collect the tests: {cause}" if cause else message
                spots = [
                    m
                    for m in _TRACE_LINE.finditer(text)
                    if file is None or Path(m.group("path")).name == Path(file).name
                ]
                syntax = [
                    m
                    for m in _SYNTAX_LINE.finditer(text)
                    if file is not None
                    and Path(m.group("path")).name == Path(file).name
                ]
                if spots:
                    location_line = int(spots[-1].group("line"))
                elif syntax:
                    location_line = int(syntax[-1].group("line"))
                hint = "run `pytest " + nodeid + "` to see the whole traceback"
                break
            if child.tag == "skipped":
                outcome, message = "skipped", (child.get("message") or "skipped")
                severity = "info"
        findings.append(
            Finding(
                message,
                path=_relative(file, root) if file else None,
                line=location_line,
                code="pytest",
                severity=severity,
                name=nodeid,
                outcome=outcome,
                hint=hint,
            )
        )
    return findings
