"""A real PostgreSQL server for tests: Debian's binaries, a private socket, gone afterwards.

:func:`postgres_server` runs ``initdb`` and ``pg_ctl start`` from
``/usr/lib/postgresql/<version>/bin`` (the project's test command installs
Debian's ``postgresql`` package when it is missing) on a data folder in a new
temporary folder, listening on a Unix socket in that folder only (no TCP port).
PostgreSQL refuses to run as root: as root the server runs as ``nobody``, who
owns the folder; as an ordinary user it runs as that user. On exit the server is
stopped (fast shutdown) and the folder removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcourse.tools.environment import postgresql_binaries

NOBODY = 65534


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its socket folder, binaries and log."""

    folder: Path
    bin: Path

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3, over the Unix socket)."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        with psycopg.connect(host=str(self.folder), user="postgres", dbname="postgres") as db:
            db.autocommit = True
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def query(self, database: str, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(host=str(self.folder), user="postgres", dbname=database) as db:
            return list(db.execute(sql).fetchall())


def _as_owner(command: list[str], folder: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    as_root = os.geteuid() == 0
    return subprocess.run(
        command,
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"},
        user=NOBODY if as_root else None,
        group=NOBODY if as_root else None,
        extra_groups=[] if as_root else None,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for the duration of the ``with`` block."""
    binaries = postgresql_binaries()
    if binaries is None:
        raise RuntimeError(
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres): "
            "`python3 -m gdcourse test` installs Debian's postgresql package"
        )
    folder = Path(tempfile.mkdtemp(prefix="gdcourse-pg-"))
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    server = PostgresServer(folder, binaries)
    data = folder / "data"
    started = False
    try:
        done = _as_owner(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            folder,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        options = (
            f"-k {folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=100 -c shared_buffers=32MB"
        )
        done = _as_owner(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(server.log), "-o", options,
             "-w", "-t", "60", "start"],
            folder,
        )  # fmt: skip
        if done.returncode != 0:
            log = server.log.read_text(errors="replace") if server.log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}{done.stderr}{log}")
        started = True
        yield server
    finally:
        if started:
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                folder,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
