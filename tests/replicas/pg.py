"""A throwaway PostgreSQL cluster for the replica tests: ``initdb`` in a temp dir, started
with ``pg_ctl`` on a free 127.0.0.1 port, stopped and removed at the end.

PostgreSQL refuses to run as root; under root (CI) the cluster belongs to ``nobody`` and
its commands run through ``runuser``. The binaries come from PATH or Debian's
``/usr/lib/postgresql/<version>/bin`` (``make install`` installs the ``postgresql`` package
where they are missing).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.procs import free_port


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"{name} not found: `make install` installs PostgreSQL")
    return candidates[-1]


class PgCluster:
    """initdb + pg_ctl start; ``url(db)`` for a fresh database per test."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="xseqd-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "nobody", "--"]
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "nobody")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200",
            "start",
        )

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [*self.as_user, *argv], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}\n{done.stderr}")

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = "xseqd_" + uuid.uuid4().hex[:10]
        engine = create_engine(
            "postgresql+psycopg://" + self.server_url.split("://")[1] + "/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return f"{self.server_url}/{name}"

    def stop(self) -> None:
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
