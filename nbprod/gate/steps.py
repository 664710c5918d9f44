"""The built-in gate steps: sync, lint, tests, smoke, monitor (registered in that order)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nbprod.errors import NbprodError
from nbprod.export import export_notebooks, find_notebooks
from nbprod.gate.registry import GateContext, gate_steps
from nbprod.gate.report import FAILED, PASSED, SKIPPED, Finding, StepResult
from nbprod.gate.tools import (
    black_reads_notebooks,
    first_changed_lines,
    missing_tool,
    parse_black,
    parse_junit,
    parse_ruff_json,
    pytest_env,
    run_tool,
    tail,
    tool_installed,
)

LINT_TOOLS = ("black", "ruff")


def _verdict(findings: list[Finding]) -> str:
    return FAILED if any(f.severity == "error" for f in findings) else PASSED


def _error_finding(exc: NbprodError) -> Finding:
    where = exc.location
    return Finding(
        exc.message,
        path=where.path if where else None,
        cell=where.cell + 1 if where and where.cell is not None else None,
        line=where.line if where else None,
        code="export",
        hint=exc.hint,
    )


# -- sync ----------------------------------------------------------------------


def _first_changed_line(diff: str | None, root: Path) -> int | None:
    lines = first_changed_lines(diff or "", root)
    return next(iter(lines.values()), None)


def sync_step(ctx: GateContext) -> StepResult:
    """Check that the generated modules and tests match the notebooks.

    Runs the export in check mode: nothing is written; stale files, notebook
    problems and unreadable notebooks are findings.
    """
    if not find_notebooks(ctx.config):
        # an empty project has nothing out of sync (export itself calls it an error)
        return StepResult("sync", SKIPPED, summary="no notebooks yet")
    ctx.progress("export --check")
    try:
        result = export_notebooks(ctx.config, check=True)
    except NbprodError as exc:
        return StepResult(
            "sync", FAILED, findings=[_error_finding(exc)], summary=exc.message
        )
    findings = [_error_finding(exc) for exc in result.errors]
    for problem in result.problems:
        if problem.severity == "note":
            continue
        where = problem.location
        findings.append(
            Finding(
                problem.message,
                path=where.path,
                cell=where.cell + 1 if where.cell is not None else None,
                line=where.line,
                code="export",
                severity=problem.severity,
                hint=problem.hint,
            )
        )
    # a package __init__.py belongs to every notebook exporting into it: count it once
    files = {f.path: f for nb in result.notebooks for f in nb.files}
    stale = {f.path: f for f in result.stale}
    for file in stale.values():
        missing = (file.diff or "").startswith("--- /dev/null")
        findings.append(
            Finding(
                "not exported yet" if missing else "out of date with its notebook",
                path=file.path,
                line=(
                    None if missing else _first_changed_line(file.diff, ctx.config.root)
                ),
                code="export",
                hint="export the notebooks",
            )
        )
    in_sync = len(files) - len(stale)
    status = _verdict(findings)
    summary = f"{in_sync}/{len(files)} generated files in sync"
    if result.errors:
        summary = f"{len(result.errors)} notebook(s) could not be read"
    return StepResult(
        "sync", status, in_sync, len(files), summary=summary, findings=findings
    )


# -- lint ----------------------------------------------------------------------


def _code_targets(ctx: GateContext) -> list[str]:
    """The package's top folder and the tests folder, relative to the root."""
    config = ctx.config
    top = config.root / config.source / config.package.split(".")[0]
    targets = []
    for folder in (top, config.tests_dir):
        if folder.is_dir() and any(folder.rglob("*.py")):
            targets.append(config.relpath(folder))
    return list(dict.fromkeys(targets))


def lint_step(ctx: GateContext) -> StepResult:
    """Run black and ruff on the package, the tests and the notebooks.

    Both read notebooks natively (black through nbqa when it lacks its Jupyter
    extra), so findings name the notebook's cell.

    The tools run from the project root, so ``[tool.black]`` and
    ``[tool.ruff]`` in the user's pyproject apply. Nothing is ever rewritten:
    black runs with ``--check`` and ruff with ``--no-fix``.
    """
    config = ctx.config
    root = config.root
    code = _code_targets(ctx)
    notebooks = [config.relpath(p) for p in find_notebooks(config) if p.is_file()]
    findings: list[Finding] = []
    passed = total = 0
    unknown = [t for t in config.gate.lint if t not in LINT_TOOLS]
    for tool in unknown:
        total += 1
        findings.append(
            Finding(
                f"nbprod does not know the lint tool {tool!r}",
                code=tool,
                hint=f"tool.nbprod.gate.lint may list: {', '.join(LINT_TOOLS)}",
            )
        )
    for tool in (t for t in config.gate.lint if t in LINT_TOOLS):
        for target, paths in (("code", code), ("notebooks", notebooks)):
            if not paths:
                continue
            total += 1
            # black reads notebooks itself when it has its Jupyter extra; nbqa is
            # the fallback (with black >= 26 it reports blank lines between cells
            # that no notebook can fix: psf/black#4966)
            runner = tool
            if (
                tool == "black"
                and target == "notebooks"
                and not black_reads_notebooks()
            ):
                runner = "nbqa"
            if not tool_installed(tool) or not tool_installed(runner):
                name = tool if not tool_installed(tool) else runner
                findings.append(missing_tool(name))
                continue
            prefix = "nbqa " if runner == "nbqa" else ""
            ctx.progress(f"{prefix}{tool} {' '.join(paths)}")
            if runner == "black":
                run = run_tool("black", ["--check", "--diff", "--", *paths], root)
                found = parse_black(run, root)
            elif runner == "nbqa":
                run = run_tool("nbqa", ["black", *paths, "--check"], root)
                found = parse_black(run, root)
            else:
                # ruff reads notebooks itself and reports the real cell and line
                # (nbqa's mapping of ruff's positions is off by the cell markers);
                # --force-exclude applies the user's excludes to named files too
                args = ["check", "--no-cache", "--no-fix", "--force-exclude"]
                args += ["--output-format", "json", "--", *paths]
                found = parse_ruff_json(run_tool("ruff", args, root), root)
            findings.extend(found)
            passed += not any(f.severity == "error" for f in found)
    if not total:
        return StepResult("lint", SKIPPED, summary="nothing to lint")
    problems = sum(f.severity == "error" for f in findings)
    summary = f"{passed}/{total} tool runs clean" + (
        f", {problems} finding(s)" if problems else ""
    )
    return StepResult(
        "lint", _verdict(findings), passed, total, summary=summary, findings=findings
    )


# -- tests ---------------------------------------------------------------------


def tests_step(ctx: GateContext) -> StepResult:
    """Run pytest on the project's tests in a subprocess; results from JUnit XML.

    The project's source folder is put on ``PYTHONPATH`` so the tests import
    the package without installing it.
    """
    config = ctx.config
    # the generated tests, or what [tool.nbprod.gate] tests names (an nbdev
    # project's own tests/ beside the notebooks' tests/notebook_tests)
    paths = [
        p for p in config.gate.tests or (config.tests,) if (config.root / p).exists()
    ]
    if not paths:
        wanted = ", ".join(config.gate.tests or (f"{config.tests}/",))
        return StepResult("tests", SKIPPED, summary=f"no {wanted}")
    if not tool_installed("pytest"):
        return StepResult("tests", FAILED, 0, 1, findings=[missing_tool("pytest")])
    ctx.progress(f"pytest {' '.join(paths)}")
    with tempfile.TemporaryDirectory(prefix="nbprod-gate-") as tmp:
        xml = Path(tmp) / "junit.xml"
        run = run_tool(
            "pytest",
            [
                *paths,
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={xml}",
                # xunit1 records each test's file and line
                "-o",
                "junit_family=xunit1",
            ],
            config.root,
            env=pytest_env(config.root, config.source),
        )
        if run.returncode == 5:
            return StepResult("tests", SKIPPED, summary="no tests collected")
        if not xml.is_file():
            message = tail(run.stdout + "\n" + run.stderr) or "pytest failed"
            return StepResult(
                "tests",
                FAILED,
                0,
                1,
                summary="pytest did not run",
                findings=[Finding(message, code="pytest")],
            )
        findings = parse_junit(xml, config.root)
    failed = [f for f in findings if f.severity == "error"]
    ran = [f for f in findings if f.outcome != "skipped"]
    passed = sum(f.outcome == "passed" for f in findings)
    if run.returncode not in (0, 1) and not failed:
        failed.append(Finding(f"pytest failed: {tail(run.stderr or run.stdout)}"))
        findings.append(failed[-1])
    # errors and failures first, then the passing tests
    findings.sort(key=lambda f: f.severity != "error")
    summary = f"{passed}/{len(ran)} tests passed"
    skipped = len(findings) - len(ran)
    if skipped:
        summary += f", {skipped} skipped"
    return StepResult(
        "tests",
        FAILED if failed else PASSED,
        passed,
        len(ran),
        summary=summary,
        findings=findings,
    )


# -- smoke ---------------------------------------------------------------------


def smoke_step(ctx: GateContext) -> StepResult:
    """Run the notebooks of ``[tool.nbprod.gate] smoke`` with their small parameters.

    Each is an ordinary run through the runner, recorded in the run history.
    """
    config = ctx.config
    if not config.gate.smoke:
        return StepResult("smoke", SKIPPED, summary="no smoke notebooks configured")
    from nbprod.run.single import run_notebook

    findings: list[Finding] = []
    passed = 0
    for notebook, parameters in config.gate.smoke.items():
        ctx.progress(f"run {notebook}")
        try:
            record = run_notebook(
                config, config.root / notebook, parameters, store=ctx.store
            )
        except NbprodError as exc:
            finding = _error_finding(exc)
            finding.path = (
                config.relpath(Path(finding.path)) if finding.path else notebook
            )
            finding.code = "smoke"
            findings.append(finding)
            continue
        if record.status == "succeeded":
            passed += 1
            findings.append(
                Finding(
                    f"run {record.id} succeeded in {record.duration or 0:.1f}s",
                    path=notebook,
                    code="smoke",
                    severity="info",
                    name=record.id,
                    outcome="passed",
                )
            )
            continue
        error = record.error
        findings.append(
            Finding(
                f"{error.ename}: {error.evalue}" if error else f"run {record.status}",
                path=notebook,
                cell=error.cell + 1 if error and error.cell is not None else None,
                code="smoke",
                name=record.id,
                outcome=record.status,
                hint=f"see the output notebook {record.output_path} (run {record.id})",
            )
        )
    total = len(config.gate.smoke)
    findings.sort(key=lambda f: f.severity != "error")
    return StepResult(
        "smoke",
        _verdict(findings),
        passed,
        total,
        summary=f"{passed}/{total} notebooks ran",
        findings=findings,
    )


# -- monitor -------------------------------------------------------------------


def monitor_step(ctx: GateContext) -> StepResult:
    """Check that the latest run of every monitored notebook has no failing check.

    On when ``[tool.nbprod.monitor]`` has a notebook table (it runs after the
    smoke runs, whose runs are checked as they end); skipped otherwise.
    """
    config = ctx.config
    if not config.monitor.notebooks:
        return StepResult("monitor", SKIPPED, summary="no monitor tables configured")
    from nbprod.history.store import HistoryStore
    from nbprod.monitor.alerts import describe
    from nbprod.monitor.status import latest_report

    store = ctx.store or HistoryStore(config.database_url)
    findings: list[Finding] = []
    passed = 0
    try:
        for notebook in config.monitor.notebooks:
            ctx.progress(f"monitor {notebook}")
            try:
                report = latest_report(config, store, notebook)
            except NbprodError as exc:
                finding = _error_finding(exc)
                finding.code = "monitor"
                findings.append(finding)
                continue
            if report.run is None:
                findings.append(
                    Finding(
                        "no succeeded run to check yet",
                        path=notebook,
                        code="monitor",
                        severity="info",
                        outcome="skipped",
                    )
                )
                passed += 1
                continue
            passed += report.ok
            for check in report.alerts:
                findings.append(
                    Finding(
                        f"{describe(check)}: {check.detail}",
                        path=notebook,
                        code="monitor",
                        name=check.key,
                        outcome="failed",
                        hint=f"see the checks of run {report.run} of {notebook} (monitoring)",
                    )
                )
            if report.ok:
                findings.append(
                    Finding(
                        f"run {report.run}: {len(report.checks)} checks pass",
                        path=notebook,
                        code="monitor",
                        severity="info",
                        name=report.run,
                        outcome="passed",
                    )
                )
    finally:
        if ctx.store is None:
            store.close()
    total = len(config.monitor.notebooks)
    findings.sort(key=lambda f: f.severity != "error")
    return StepResult(
        "monitor",
        _verdict(findings),
        passed,
        total,
        summary=f"{passed}/{total} monitored notebooks without alerts",
        findings=findings,
    )


gate_steps.register("sync", sync_step)
gate_steps.register("lint", lint_step)
gate_steps.register("tests", tests_step)
gate_steps.register("smoke", smoke_step)
gate_steps.register("monitor", monitor_step)
