"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` into a temporary folder,
a server listening on a unix socket in that folder (and 127.0.0.1) on a free port, stopped and
deleted at the end. It never touches any other cluster.

When run as root, the cluster belongs to the ``postgres`` user (PostgreSQL refuses to run as
root): the folder is handed to that user and the binaries run through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
PREFIX = "commitdb-pg-"
OWNER_FILE = "owner.pid"  # the pid of the process that started the cluster
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


def find_bin_dir() -> str | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for folder in (os.environ.get("COMMITDB_PG_BIN", ""), *BIN_DIRS):
        if folder and os.path.isfile(os.path.join(folder, "initdb")):
            return folder
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayCluster:
    """``with ThrowawayCluster() as cluster: url = cluster.new_database_url()``."""

    def __init__(self, bin_dir: str | None = None, durable: bool = False) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb found)")
        self.bin_dir = found
        self.durable = durable  # False: fsync off (tests); True: the server's defaults (benchmarks)
        self.folder = ""
        self.port = 0
        self._as_user: list[str] = []
        self._shared_ready = False

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> ThrowawayCluster:
        self._sweep_orphans()
        self.folder = tempfile.mkdtemp(prefix=PREFIX)
        Path(self.folder, OWNER_FILE).write_text(str(os.getpid()))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.folder, "data")
        self._run(os.path.join(self.bin_dir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        settings = [f"-c {s}" for s in FAST_SETTINGS if self.durable is False or s.startswith("max_")]
        for _ in range(5):  # a free port may be taken between finding and binding it
            self.port = _free_port()
            options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {' '.join(settings)}"
            try:
                self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-l", os.path.join(self.folder, "log"),
                          "-o", options, "-w", "-t", "60", "start")
                return self
            except subprocess.CalledProcessError:
                continue
        log = Path(self.folder, "log").read_text(errors="replace") if Path(self.folder, "log").exists() else ""
        self.stop()
        raise RuntimeError(f"the throwaway PostgreSQL did not start:\n{log[-2000:]}")

    def _sweep_orphans(self) -> None:
        """Stop and delete the throwaway clusters of test runs that were killed (their owner
        process is gone); only folders this class made, marked by their owner file."""
        for owner in Path(tempfile.gettempdir()).glob(f"{PREFIX}*/{OWNER_FILE}"):
            try:
                os.kill(int(owner.read_text()), 0)
                continue  # its run is still going
            except ProcessLookupError:
                pass
            except (ValueError, OSError):
                continue
            other = ThrowawayCluster(self.bin_dir)
            other.folder = str(owner.parent)
            other._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            other.stop()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.folder}&port={self.port}"

    def tcp_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database_url(self, prefix: str = "t") -> str:
        """The URL of a database name not used yet (``CommitDatabase.create`` creates it)."""
        return self.url(f"{prefix}_{uuid.uuid4().hex[:12]}")

    def new_schema_url(self, prefix: str = "s") -> str:
        """The URL of a new, empty schema in a shared database (much cheaper than a database:
        a test that needs a fresh commit database and nothing else uses this)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if not self._shared_ready:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'commitdb_shared'").fetchone() is None:
                    conn.execute("CREATE DATABASE commitdb_shared")
                self._shared_ready = True
        with psycopg.connect(self.url("commitdb_shared"), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return f"{self.url('commitdb_shared')}&options=-csearch_path%3D{name}"

    def stop(self) -> None:
        if not self.folder:
            return
        data = os.path.join(self.folder, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            try:
                self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = ""

    def __enter__(self) -> ThrowawayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
