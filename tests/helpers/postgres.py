"""A real PostgreSQL server for the tests: Debian's binaries on a temporary data folder.

`make test` installs Debian's ``postgresql`` package when it is missing. The
server listens only on a Unix socket in its own temporary folder (no TCP port
to collide with), and runs as the unprivileged ``postgres`` user when the
tests run as root (PostgreSQL refuses to run as root; CI runs as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Debian's versioned binaries; the newest is used
BIN_GLOB = "/usr/lib/postgresql/*/bin"
USER = "nbprod"


def postgres_bin() -> Path | None:
    """The folder of ``initdb``/``postgres``, or None when PostgreSQL is not installed."""
    found = sorted(
        glob.glob(BIN_GLOB),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    for folder in reversed(found):
        if (Path(folder) / "initdb").is_file():
            return Path(folder)
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PostgresServer:
    """A running server: its socket folder and port."""

    socket_dir: str
    port: int

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one of its databases (psycopg 3)."""
        return (
            f"postgresql+psycopg://{USER}@/{database}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    def new_database(self) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(
            host=self.socket_dir,
            port=self.port,
            user=USER,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL server; stop it and delete its data after."""
    folder = postgres_bin()
    if folder is None:
        raise RuntimeError(
            "PostgreSQL is not installed: `apt-get install postgresql` (make test does it)"
        )
    base = Path(tempfile.mkdtemp(prefix="nbprod-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    subprocess.run(
        _as_server_user(
            [
                str(folder / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    # port: only the socket's name (.s.PGSQL.<port>) in a folder of our own
    port = 5432
    server = subprocess.Popen(
        _as_server_user(
            [
                str(folder / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=100",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (sockets / f".s.PGSQL.{port}").exists():
            if server.poll() is not None:
                raise RuntimeError(
                    f"PostgreSQL did not start: {server.stderr.read().decode() if server.stderr else ''}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start within 60 s")
            time.sleep(0.05)
        yield PostgresServer(str(sockets), port)
    finally:
        # fast shutdown: connections left by killed test processes do not hold it up
        subprocess.run(
            _as_server_user(
                [str(folder / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"]
            ),
            capture_output=True,
            timeout=60,
        )
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(base, ignore_errors=True)
