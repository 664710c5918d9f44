"""``nbprod push`` against real git: a work tree and a local bare ``origin``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from helpers.ship import (
    EXPORT,
    PYPROJECT,
    git,
    make_project,
    nbprod,
    refs,
    tree_state,
    write_notebook,
)

from nbprod.gitops.git import redact_url

#: no lint tools, no test cells: a gate of a second, for the tests about git itself
LIGHT = PYPROJECT.replace('lint = ["black", "ruff"]', "lint = []")


def light_project(tmp_path: Path) -> tuple[Path, Path]:
    root, origin = make_project(tmp_path, LIGHT)
    return root, origin


def test_failing_test_refuses_push_and_changes_nothing(tmp_path: Path) -> None:
    root, origin = make_project(tmp_path)
    # the notebook changes; the push's export would regenerate the test
    write_notebook(root, test="assert total(2, 3.0) == 7.0\n")
    generated = (root / "tests" / "test_orders.py").read_bytes()
    before, before_refs, head = (
        tree_state(root),
        refs(origin),
        git(root, "rev-parse", "HEAD"),
    )

    result = nbprod(root, "push", "-m", "break it")

    assert result.exit_code == 1, result.output
    assert "the quality gate failed (tests)" in result.output
    assert "test_cell_4 failed: assert 6.0 == 7.0" in result.output
    assert refs(origin) == before_refs
    assert git(root, "rev-parse", "HEAD") == head
    assert tree_state(root) == before
    # the export's rewrite of the test was put back
    assert (root / "tests" / "test_orders.py").read_bytes() == generated


def test_lint_failure_refuses_push(tmp_path: Path) -> None:
    root, origin = make_project(tmp_path)
    unused = EXPORT.replace("    return", "    rate = 1\n    return")
    write_notebook(root, export=unused)
    before, before_refs = tree_state(root), refs(origin)

    result = nbprod(root, "push", "-m", "unused import")

    assert result.exit_code == 1, result.output
    assert "the quality gate failed (lint)" in result.output
    assert "src/shop/orders.py:12:5: F841" in result.output
    assert "notebooks/orders.ipynb:cell_3:3:5: F841" in result.output
    assert refs(origin) == before_refs
    assert tree_state(root) == before


def test_passing_gate_commits_stripped_notebooks_and_pushes(tmp_path: Path) -> None:
    root, origin = make_project(tmp_path)
    write_notebook(
        root, export=EXPORT + "\n\ndef vat(amount):\n    return amount * 0.2\n"
    )
    message = "Add tax"

    result = nbprod(root, "push", "-m", message)

    assert result.exit_code == 0, result.output
    assert "Gate passed" in result.output and "Pushed to origin" in result.output
    body = git(origin, "log", "-1", "--format=%B", "main")
    assert body == (
        f"{message}\n\nNbprod-Gate: passed (sync 3/3, deps 0/0, lint 4/4, tests 1/1, smoke -, monitor -)\n\n"
    )
    assert "def vat" in git(origin, "show", "main:src/shop/orders.py")
    pushed = nbformat.reads(git(origin, "show", "main:notebooks/orders.ipynb"), 4)
    assert all(not c.get("outputs") for c in pushed.cells if c.cell_type == "code")
    # cell ids are kept, so the generated files' markers still match
    local = nbformat.read(root / "notebooks" / "orders.ipynb", 4)
    assert [c.id for c in pushed.cells] == [c.id for c in local.cells]
    assert local.cells[-1].outputs, "the working copy keeps its outputs"
    assert git(root, "status", "--porcelain") == ""
    assert git(origin, "rev-parse", "main") == git(root, "rev-parse", "HEAD")


def test_rejected_push_keeps_the_local_commit(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(origin), str(other))
    (other / "NOTES.md").write_text("someone else was first\n")
    git(other, "add", "NOTES.md")
    git(other, "-c", "user.name=O", "-c", "user.email=o@x", "commit", "-qm", "first")
    git(other, "push", "--quiet", "origin", "HEAD:main")
    theirs = refs(origin)
    write_notebook(root, export=EXPORT + "\n\nRATE = 2\n")

    result = nbprod(root, "push", "-m", "mine")

    assert result.exit_code == 1, result.output
    assert "non-fast-forward" in result.output
    assert "git pull --rebase origin main" in result.output
    assert "is kept locally" in result.output
    assert "force" in result.output  # says it never force-pushes
    assert refs(origin) == theirs
    assert git(root, "log", "-1", "--format=%s") == "mine\n"


def test_hostile_branch_names_and_messages_pass_literally(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    messages = {
        "-x": "-x\n\n# kept, not a comment\n--amend",
        "$(touch_pwned)'\"q": '$(touch pwned) `touch pwned` it\'s "quoted" \\n; rm -rf /',
    }
    for n, (branch, message) in enumerate(messages.items()):
        write_notebook(root, export=EXPORT + f"\n\nVERSION = {n}\n")
        result = nbprod(root, "push", "-m", message, "--branch", branch)
        assert result.exit_code == 0, result.output
        body = git(origin, "log", "-1", "--format=%B", f"refs/heads/{branch}")
        assert body.startswith(message + "\n\nNbprod-Gate: passed")
        assert git(root, "log", "-1", "--format=%B").startswith(message + "\n\n")
    assert not list(tmp_path.rglob("pwned"))
    names = git(origin, "for-each-ref", "--format=%(refname)")
    assert "refs/heads/-x\n" in names and "refs/heads/$(touch_pwned)'\"q\n" in names


def test_invalid_branch_is_refused_before_anything(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    write_notebook(root, export=EXPORT + "\n\nRATE = 3\n")
    before, before_refs = tree_state(root), refs(origin)

    result = nbprod(root, "push", "-m", "x", "--branch", "a b")

    assert result.exit_code == 2
    assert "'a b' is not a valid branch name" in result.output
    assert tree_state(root) == before and refs(origin) == before_refs


def test_credentials_in_the_remote_url_are_never_printed(tmp_path: Path) -> None:
    root, _ = light_project(tmp_path)
    url = "https://user:s3cret@127.0.0.1:9/repo.git"
    git(root, "remote", "set-url", "origin", url)
    write_notebook(root, export=EXPORT + "\n\nRATE = 4\n")

    dry = nbprod(root, "push", "-m", "x", "--dry-run")
    failed = nbprod(root, "push", "-m", "x")
    as_json = nbprod(root, "push", "-m", "y", "--json")
    as_remote = nbprod(root, "push", "-m", "z", "--remote", url)

    assert dry.exit_code == 0 and "https://***@127.0.0.1:9/repo.git" in dry.output
    assert failed.exit_code == 1, failed.output
    assert "cannot reach the remote 'origin'" in failed.output
    assert "is kept locally" in failed.output
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["commit"]
    assert as_remote.exit_code == 2
    assert "no git remote called 'https://***@127.0.0.1:9/repo.git'" in as_remote.output
    for result in (dry, failed, as_json, as_remote):
        assert "s3cret" not in result.output


def test_redact_url() -> None:
    text = "fatal: unable to access 'https://user:pw@host/r.git/' and ssh://tok@h/x"
    assert redact_url(text) == (
        "fatal: unable to access 'https://***@host/r.git/' and ssh://***@h/x"
    )
    assert redact_url("/plain/path.git") == "/plain/path.git"


def test_dry_run_shows_the_commit_and_changes_nothing(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    write_notebook(root, export=EXPORT + "\n\nRATE = 5\n")
    before, before_refs = tree_state(root), refs(origin)

    result = nbprod(root, "push", "-m", "try", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "src/shop/orders.py" in result.output  # the export would write it
    assert "notebooks/orders.ipynb" in result.output
    assert "git push origin HEAD:main" in result.output
    assert tree_state(root) == before and refs(origin) == before_refs


def test_hand_edited_module_stops_the_push(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    module = root / "src" / "shop" / "orders.py"
    module.write_text(module.read_text() + "\nHACK = 1\n")
    write_notebook(root, export=EXPORT + "\n\nRATE = 6\n")
    before_refs = refs(origin)

    result = nbprod(root, "push", "-m", "x")

    assert result.exit_code == 1
    assert "edited by hand" in result.output
    assert "pull the edits into the notebook with a sync" in result.output
    assert "try: `nbprod sync` or `nbprod export --force`" in result.output
    assert "HACK = 1" in module.read_text()
    assert refs(origin) == before_refs


def test_no_remote_and_unconfigured_project_are_clear(tmp_path: Path) -> None:
    root, _ = light_project(tmp_path)
    git(root, "remote", "remove", "origin")
    result = nbprod(root, "push", "-m", "x")
    assert result.exit_code == 2
    assert "no git remote called 'origin'" in result.output
    assert "git remote add origin" in result.output

    plain = tmp_path / "plain"
    plain.mkdir()
    result = nbprod(plain, "push", "-m", "x")
    assert result.exit_code == 2
    assert "not an nbprod project" in result.output and "nbprod init" in result.output


def test_a_refused_commit_restores_the_index(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'not today' >&2\nexit 1\n")
    hook.chmod(0o755)
    write_notebook(root, export=EXPORT + "\n\nRATE = 7\n")
    assert nbprod(root, "export").exit_code == 0
    git(root, "add", "src/shop/orders.py")  # something the user staged already
    before, before_refs = tree_state(root), refs(origin)

    result = nbprod(root, "push", "-m", "x")

    assert result.exit_code == 2
    assert "git commit failed: not today" in result.output
    assert "git or a commit hook refused the commit" in result.output
    # status and staged diff as before; (push set the nbstripout filter up, which
    # changes how `git diff` renders notebooks, not what is in the tree)
    assert tree_state(root)[:2] == before[:2] and refs(origin) == before_refs


def test_dry_run_sees_notebooks_that_the_filter_would_strip(tmp_path: Path) -> None:
    from nbprod.gitops.git import Git
    from nbprod.gitops.strip import install_strip_filter

    root, _ = light_project(tmp_path)  # committed with outputs, before any filter
    install_strip_filter(Git(root))

    result = nbprod(root, "push", "-m", "strip", "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == ["notebooks/orders.ipynb"]


def test_after_a_push_the_dry_run_sees_an_edit_and_filters_it_once(
    tmp_path: Path,
) -> None:
    import os
    import time

    from nbprod.config import load_config
    from nbprod.ship.push import push_project

    root, _ = light_project(tmp_path)
    second = write_notebook(root, name="more.ipynb")
    git(root, "add", "notebooks/more.ipynb")
    git(root, "commit", "--quiet", "-m", "a second notebook")
    pushed = nbprod(root, "push", "-m", "first push")  # sets the filter up
    assert pushed.exit_code == 0, pushed.output
    # the clean filter as push set it up, counting its runs
    log = tmp_path / "filter-runs.log"
    clean = git(root, "config", "--get", "filter.nbstripout.clean").strip()
    git(root, "config", "filter.nbstripout.clean", f"echo run >> '{log}'; {clean}")
    edited = write_notebook(root, export=EXPORT + "\n\nRATE = 5\n")
    hour_ago = time.time() - 3600  # saved a while ago: not "racily clean"
    for path in (edited, second):
        os.utime(path, (hour_ago, hour_ago))

    dry = push_project(load_config(root), "x", dry_run=True)
    again = push_project(load_config(root), "x", dry_run=True)

    # a user who pushed and then edits a notebook sees it in what push commits
    assert "notebooks/orders.ipynb" in dry.files
    assert "notebooks/more.ipynb" not in dry.files
    # and the tracked module the export will rewrite from it
    assert "src/shop/orders.py" in dry.exported and "src/shop/orders.py" in dry.files
    assert again.files == dry.files
    # nbstripout (a Python process each) ran once per notebook, and not again
    # for the second look at unchanged files
    assert log.read_text().split() == ["run", "run"]


def test_push_refuses_when_gated_files_are_git_ignored(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    # the example used to ship such an ignore file: the generated code stayed local
    (root / ".gitignore").write_text("# generated\nsrc/\n.nbprod/\nruns/\n")
    git(root, "rm", "-r", "--cached", "--quiet", "src")
    git(root, "commit", "--quiet", "-m", "stop tracking src")
    git(root, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    write_notebook(root, export=EXPORT + "\n\nRATE = 8\n")
    before, before_refs = tree_state(root), refs(origin)
    head = git(root, "rev-parse", "HEAD")

    result = nbprod(root, "push", "-m", "x")
    as_json = nbprod(root, "push", "-m", "x", "--json")
    dry = nbprod(root, "push", "-m", "x", "--dry-run")

    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "git ignores files the gate checked" in text
    assert "src/shop/__init__.py (by .gitignore:2: src/)" in text
    assert "src/shop/orders.py (by .gitignore:2: src/)" in text
    assert "remove those lines from the ignore file" in text
    error = json.loads(as_json.stdout)["error"]
    assert as_json.exit_code == 2 and error["type"] == "ignored_files"
    assert error["files"] == {
        "src/shop/__init__.py": ".gitignore:2: src/",
        "src/shop/orders.py": ".gitignore:2: src/",
    }
    assert dry.exit_code == 2 and "git ignores files" in dry.output
    assert refs(origin) == before_refs and git(root, "rev-parse", "HEAD") == head
    assert tree_state(root) == before


def test_a_negated_ignore_rule_lets_the_push_through(tmp_path: Path) -> None:
    root, origin = light_project(tmp_path)
    (root / ".gitignore").write_text("*.py\n!src/**/*.py\n!tests/*.py\n.nbprod/\n")
    write_notebook(root, export=EXPORT + "\n\nRATE = 9\n")

    result = nbprod(root, "push", "-m", "negated")

    assert result.exit_code == 0, result.output
    assert "RATE = 9" in git(origin, "show", "main:src/shop/orders.py")


def test_a_push_waits_for_the_git_lock_and_gives_up_clearly(
    tmp_path: Path, monkeypatch
) -> None:
    import threading

    from nbprod.config import load_config
    from nbprod.locks import project_lock

    root, origin = light_project(tmp_path)
    write_notebook(root, export=EXPORT + "\n\nRATE = 10\n")
    before_refs, head = refs(origin), git(root, "rev-parse", "HEAD")
    monkeypatch.setenv("NBPROD_LOCK_TIMEOUT", "0.5")

    # another command (a sync, a second push) is staging in this project
    held, done = threading.Event(), threading.Event()

    def other_command() -> None:
        with project_lock(load_config(root), "git"):
            held.set()
            done.wait(60)

    other = threading.Thread(target=other_command)
    other.start()
    try:
        assert held.wait(30)
        result = nbprod(root, "push", "-m", "while locked")
    finally:
        done.set()
        other.join()

    assert result.exit_code == 1, result.output
    assert "another nbprod command has held the lock on the git index" in result.output
    assert refs(origin) == before_refs and git(root, "rev-parse", "HEAD") == head
    # the export's files were put back, as for any refused push
    assert git(root, "status", "--porcelain") == " M notebooks/orders.ipynb\n"
    assert nbprod(root, "push", "-m", "after").exit_code == 0


def test_reading_the_status_never_writes_the_index(tmp_path: Path) -> None:
    """The Ship panel polls the status; `git status` would rewrite the index
    (holding index.lock) and a push's `git add` at that moment would fail."""
    import os

    from nbprod.gitops.status import repository_status

    root, _ = light_project(tmp_path)
    notebook = root / "notebooks" / "orders.ipynb"
    stat = notebook.stat()
    os.utime(notebook, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    index = root / ".git" / "index"
    before = index.read_bytes()

    status = repository_status(root)

    assert status.changed == []  # same content, only the stat changed
    assert index.read_bytes() == before
