"""The ``package`` gate step: the wheel installs and works where only its metadata counts.

The other steps run in the data scientist's environment, where everything
happens to be installed. This one does what operations will do: build the
project's wheel, install it into a fresh virtual environment with only the
dependencies the wheel declares, import every module of the package there, and
run the tests against the installed package (copied away from the source tree,
so ``src/`` is never on the path).

The environment is kept under ``.nbprod/package-venvs/``, keyed on the Python
version and the declared requirements: the first gate creates it, the next ones
only reinstall the freshly built wheel. A changed dependency list makes a new
environment, so nothing left over from an older one can hide a missing
declaration. uv installs when it is on the PATH (much faster), pip otherwise;
both read the machine's usual index settings.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from nbprod.config import ProjectConfig
from nbprod.gate.deps import distributions_of, installed_version
from nbprod.gate.registry import GateContext, gate_steps
from nbprod.gate.report import FAILED, PASSED, SKIPPED, Finding, StepResult
from nbprod.gate.tools import parse_junit, tail

#: below the state folder: one environment per dependency set
VENVS = "package-venvs"
#: written last into an environment, so a half-made one is never reused
COMPLETE = ".nbprod-complete"
#: seconds one build or install may take before the step gives up
TIMEOUT = 1800
#: folders never copied into the build tree
_NOT_COPIED = (".git", ".nbprod", ".venv", "venv", "build", "dist", "__pycache__")

_IMPORT_SCRIPT = r"""
import importlib, json, sys, traceback
results = []
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
        results.append({"module": name, "ok": True, "file": getattr(module, "__file__", None)})
    except BaseException as exc:
        missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
        results.append({"module": name, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                        "missing": missing, "trace": traceback.format_exc(limit=-3)})
print(json.dumps(results))
"""


class _StepFailure(Exception):
    """A stage of the step that could not go on: its finding says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


@dataclass(frozen=True)
class _Run:
    returncode: int
    output: str


def _clean_env() -> dict[str, str]:
    """The environment of the fresh venv's processes: nothing of nbprod's own paths."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(command: list[str], cwd: Path, what: str) -> _Run:
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=_clean_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _StepFailure(
            Finding(
                f"{what} took longer than {TIMEOUT}s",
                code="package",
                hint="check the package index is reachable",
            )
        ) from None
    return _Run(proc.returncode, proc.stdout + "\n" + proc.stderr)


def _uv() -> str | None:
    return shutil.which("uv")


def _copy_tree(config: ProjectConfig, target: Path) -> None:
    """The project without git, state, runs and build leftovers: builds never touch the tree."""
    skip = {*_NOT_COPIED, config.runs.strip("/") or "runs", ".ipynb_checkpoints"}

    def ignore(folder: str, names: list[str]) -> list[str]:
        here = Path(folder).resolve() == config.root.resolve()
        return [
            n
            for n in names
            if n in _NOT_COPIED or n.endswith(".egg-info") or (here and n in skip)
        ]

    shutil.copytree(config.root, target, ignore=ignore, symlinks=True)


def build_wheel(config: ProjectConfig, out: Path) -> Path:
    """Build the project's wheel (``uv build`` or ``pip wheel --no-deps``) from a copy of it.

    Raises
    ------
    _StepFailure
        When the build fails: the finding carries the backend's last lines.
    """
    tree = out / "tree"
    _copy_tree(config, tree)
    wheels = out / "wheels"
    uv = _uv()
    if uv:
        command = [uv, "build", "--wheel", "--out-dir", str(wheels), str(tree)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        command += ["--wheel-dir", str(wheels), str(tree)]
    run = _run(command, tree, "building the wheel")
    built = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    if run.returncode or not built:
        raise _StepFailure(
            Finding(
                f"the wheel does not build: {tail(run.output, 6)}",
                path="pyproject.toml",
                code="package",
                hint="check [build-system] and the backend's package settings in "
                "pyproject.toml; `pip wheel --no-deps .` shows the whole error",
            )
        )
    return built[-1]


def wheel_requirements(wheel: Path) -> tuple[str, list[str], list[str]]:
    """``(name, runtime requirements, test-extra requirements)`` from a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(archive.read(meta).decode("utf-8"))
    from packaging.requirements import Requirement

    runtime: list[str] = []
    tests: list[str] = []
    test_extras = [
        e
        for e in message.get_all("Provides-Extra") or []
        if e in ("test", "tests", "testing", "dev")
    ]
    for text in message.get_all("Requires-Dist") or []:
        requirement = Requirement(text)
        if requirement.marker is None or "extra" not in str(requirement.marker):
            runtime.append(text)  # pip evaluates any other marker itself
            continue
        if any(requirement.marker.evaluate({"extra": e}) for e in test_extras):
            # installed as a plain requirement: the extra's marker would skip it
            requirement.marker = None
            tests.append(str(requirement))
    return str(message["Name"]), runtime, tests


def _check_wheel_holds(wheel: Path, config: ProjectConfig) -> None:
    """Refuse a wheel without the package's files (a .gitignore or build setting dropped them)."""
    folder = config.package.replace(".", "/") + "/"
    with zipfile.ZipFile(wheel) as archive:
        if any(name.startswith(folder) for name in archive.namelist()):
            return
    raise _StepFailure(
        Finding(
            f"the wheel {wheel.name} holds none of the package {config.package}'s "
            f"files ({config.relpath(config.package_dir)}/ is left out of the build)",
            path="pyproject.toml",
            code="package",
            hint="the build backend skips files your .gitignore ignores and "
            "follows its package settings, e.g. "
            f'[tool.hatch.build.targets.wheel] packages = ["{config.relpath(config.package_dir)}"]',
        )
    )


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _install(venv: Path, args: list[str], what: str) -> _Run:
    uv = _uv()
    python = str(_venv_python(venv))
    if uv:
        command = [uv, "pip", "install", "--python", python, *args]
    else:
        # nbprod's own pip installs into the venv: no pip bootstrap in each venv
        command = [sys.executable, "-m", "pip", "--python", python, "install", "-q"]
        command += args
    return _run(command, venv, what)


def ensure_venv(
    config: ProjectConfig, requirements: list[str], ctx: GateContext
) -> tuple[Path, bool]:
    """The cached environment holding exactly ``requirements`` (and pytest); made when missing.

    Returns
    -------
    tuple of (Path, bool)
        The environment, and whether it was reused.
    """
    wanted = [*sorted(set(requirements)), "pytest"]
    key = json.dumps([sys.version_info[:2], wanted, _uv() is not None])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    # NBPROD_VENV_CACHE shares the environments between projects (CI caches, tests)
    folder = Path(os.environ.get("NBPROD_VENV_CACHE") or config.state_dir / VENVS)
    folder.mkdir(parents=True, exist_ok=True)
    venv = folder / digest
    with FileLock(str(folder / f"{digest}.lock")):
        if (venv / COMPLETE).is_file():
            return venv, True
        shutil.rmtree(venv, ignore_errors=True)
        ctx.progress(f"fresh venv with {', '.join(wanted)}")
        uv = _uv()
        if uv:
            command = [uv, "venv", "--python", sys.executable, str(venv)]
        else:
            command = [sys.executable, "-m", "venv", "--without-pip", str(venv)]
        made = _run(command, folder, "creating the venv")
        if made.returncode:
            raise _StepFailure(
                Finding(f"cannot create a venv: {tail(made.output)}", code="package")
            )
        run = _install(venv, wanted, "installing the dependencies")
        if run.returncode:
            raise _StepFailure(
                Finding(
                    "the declared dependencies do not install: " + tail(run.output, 6),
                    path="pyproject.toml",
                    code="package",
                    hint="check the requirements in [project].dependencies "
                    "(names and versions the package index has)",
                )
            )
        (venv / "requirements.txt").write_text("\n".join(wanted) + "\n", "utf-8")
        (venv / COMPLETE).write_text(key + "\n", "utf-8")
    return venv, False


def _module_names(config: ProjectConfig) -> list[str]:
    """Every module of the package in the source tree, as dotted names."""
    base = config.root / config.source
    names = []
    for path in sorted(config.package_dir.rglob("*.py")):
        if any(part.startswith(".") or part == "__pycache__" for part in path.parts):
            continue
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def _import_findings(
    config: ProjectConfig, results: list[dict[str, object]], venv: Path
) -> list[Finding]:
    findings = []
    prefix = str(venv.resolve())
    for item in results:
        module = str(item["module"])
        base = config.root / config.source / module.replace(".", "/")
        path = config.relpath(
            base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        )
        if item["ok"]:
            file = str(item.get("file") or "")
            if file and not str(Path(file).resolve()).startswith(prefix):
                findings.append(
                    Finding(
                        f"`{module}` was imported from {file}, not from the installed wheel",
                        path=path,
                        code="package",
                    )
                )
                continue
            findings.append(
                Finding(
                    f"import {module}: ok",
                    path=path,
                    code="package",
                    severity="info",
                    name=module,
                    outcome="passed",
                )
            )
            continue
        missing = str(item.get("missing") or "")
        top = missing.split(".")[0]
        own = config.package.split(".")[0]
        if top and top != own:
            dists = distributions_of(top)
            what = dists[0] if dists else top
            version = installed_version(what) if dists else None
            requirement = f"{what}>={version}" if version else what
            # `nbprod deps --add` writes what it reads; an import made by name
            # (importlib) or by a dependency's own code needs it written by hand
            hint = (
                f'declare it: add "{requirement}" to [project].dependencies '
                "(`nbprod deps --add` writes the imports it can read in the code)"
            )
            message = (
                f"`import {module}` fails where the package is installed: "
                f"{item['error']} (the wheel does not declare {what})"
            )
        elif top == own:
            hint = (
                "the wheel does not contain it: check the build backend's package "
                "settings (e.g. [tool.hatch.build.targets.wheel] packages)"
            )
            message = f"`import {module}` fails where the package is installed: {item['error']}"
        else:
            hint = "run the import in a clean environment to see the whole traceback"
            message = f"`import {module}` fails where the package is installed: {item['error']}"
        findings.append(
            Finding(
                message,
                path=path,
                code="package",
                name=module,
                outcome="failed",
                hint=hint,
            )
        )
    return findings


def _run_tests(config: ProjectConfig, venv: Path, work: Path) -> list[Finding] | None:
    """The project's tests, copied away from the source, run by the venv's pytest."""
    if not config.tests_dir.is_dir() or not any(config.tests_dir.rglob("test_*.py")):
        return None
    tests = work / "run" / config.tests
    shutil.copytree(
        config.tests_dir,
        tests,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    run_root = work / "run"
    # an empty ini file: the project's pytest settings (pythonpath = ["src"]) stay out
    (run_root / "pytest.ini").write_text("[pytest]\n", "utf-8")
    xml = work / "junit.xml"
    command = [str(_venv_python(venv)), "-m", "pytest", config.tests, "-q"]
    command += ["-p", "no:cacheprovider", "-c", "pytest.ini", "--rootdir", "."]
    command += [f"--junitxml={xml}", "-o", "junit_family=xunit1"]
    run = _run(command, run_root, "running the tests")
    if run.returncode == 5:
        return None
    if not xml.is_file():
        return [
            Finding(
                f"pytest did not run in the fresh venv: {tail(run.output)}",
                code="package",
            )
        ]
    findings = parse_junit(xml, run_root)
    for finding in findings:
        finding.code = "package"
        if finding.severity == "error":
            finding.hint = (
                "this test passes with the source tree but not against the "
                "installed package: a file the wheel lacks, or an undeclared "
                "dependency (`nbprod deps`)"
            )
    return findings


def package_step(ctx: GateContext) -> StepResult:
    """Gate step: build the wheel, install it fresh with its declared dependencies, import, test."""
    config = ctx.config
    pyproject = config.root / "pyproject.toml"
    if not pyproject.is_file():
        return StepResult("package", SKIPPED, summary="no pyproject.toml")
    if not config.package_dir.is_dir():
        return StepResult("package", SKIPPED, summary="no package exported yet")
    findings: list[Finding] = []
    modules = _module_names(config)
    with tempfile.TemporaryDirectory(prefix="nbprod-package-") as tmp:
        work = Path(tmp)
        try:
            ctx.progress("build the wheel")
            wheel = build_wheel(config, work)
            _check_wheel_holds(wheel, config)
            name, runtime, tests = wheel_requirements(wheel)
            venv, reused = ensure_venv(config, runtime + tests, ctx)
            ctx.progress(
                f"install {wheel.name} into {'the cached' if reused else 'a fresh'} venv"
            )
            run = _install(
                venv,
                ["--no-deps", "--force-reinstall", str(wheel)],
                "installing the wheel",
            )
            if run.returncode:
                raise _StepFailure(
                    Finding(
                        f"the wheel does not install: {tail(run.output, 6)}",
                        code="package",
                    )
                )
        except _StepFailure as failure:
            return StepResult(
                "package",
                FAILED,
                0,
                1,
                summary=failure.finding.message.split(":")[0],
                findings=[failure.finding],
            )
        ctx.progress(f"import {len(modules)} module(s) in the venv")
        script = work / "imports.py"
        script.write_text(_IMPORT_SCRIPT, "utf-8")
        empty = work / "empty"
        empty.mkdir()
        # -I: no PYTHONPATH, no user site, not even the script's folder on the path
        run_imports = _run(
            [str(_venv_python(venv)), "-I", str(script), *modules],
            empty,
            "importing the modules",
        )
        try:
            results = json.loads(run_imports.output.strip().splitlines()[0])
        except (json.JSONDecodeError, IndexError):
            results = [
                {"module": m, "ok": False, "error": tail(run_imports.output)}
                for m in modules
            ]
        imports = _import_findings(config, results, venv)
        findings.extend(imports)
        test_findings: list[Finding] | None = []
        if not any(f.severity == "error" for f in imports):
            ctx.progress(f"pytest {config.tests} against the installed {name}")
            test_findings = _run_tests(config, venv, work)
            findings.extend(test_findings or [])
    passed = sum(f.outcome == "passed" for f in findings)
    total = len([f for f in findings if f.outcome != "skipped"])
    errors = [f for f in findings if f.severity == "error"]
    ok_imports = sum(f.outcome == "passed" for f in imports)
    summary = f"{ok_imports}/{len(modules)} modules import from the wheel"
    if test_findings:
        ran = [f for f in test_findings if f.outcome != "skipped"]
        summary += f", {sum(f.outcome == 'passed' for f in ran)}/{len(ran)} tests pass"
    elif test_findings is None:
        summary += ", no tests"
    else:
        summary += ", tests not run"
    summary += " (cached venv)" if reused else " (fresh venv)"
    findings.sort(key=lambda f: f.severity != "error")
    return StepResult(
        "package",
        FAILED if errors else PASSED,
        passed,
        max(total, 1),
        summary=summary,
        findings=findings,
    )


gate_steps.register("package", package_step, enabled=lambda config: config.gate.package)

__all__ = ["build_wheel", "ensure_venv", "package_step", "wheel_requirements"]
