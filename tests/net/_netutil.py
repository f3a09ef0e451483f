"""Helpers of the network tests: Tuto databases, server processes, raw protocol sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack

from commitdb import CommitDatabase
from commitdb.net import protocol as P
from commitdb.testing import Tuto

ROOT = Path(__file__).resolve().parents[2]
SERVER_TOOL = ROOT / "tools" / "commit_database_server.py"
SRC = ROOT / "src"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def make_tuto_cdb(path: Path | str) -> str:
    """A .cdb file holding the Tuto definitions and no commits."""
    db = CommitDatabase.create(str(path))
    try:
        Tuto(db)
    finally:
        db.close()
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def short_socket_path() -> str:
    """A unix socket path well under the ~108-byte limit (pytest's tmp_path can exceed it)."""
    return os.path.join(tempfile.mkdtemp(prefix="cdbn"), "s")


STARTUP_STATEMENT = "commitdb server listening on "
VIPER_STATEMENT = "reference-protocol (viper) clients: "


def without_startup_statement(out: str) -> str:
    """A server's stdout without its first line, which says where it listens, with what
    security, and where reference clients are served."""
    first, _, rest = out.partition("\n")
    assert first.startswith(STARTUP_STATEMENT) and VIPER_STATEMENT in first, out
    return rest


class ServerProcess:
    """``tools/commit_database_server.py`` as a child process, on a free TCP port or a socket."""

    tls_ca: str | None = None  # connect over TLS trusting this CA file
    token: str | None = None  # the token connect() proves

    def __init__(self, database: str, unix: bool = False, verbosity: int = 0, extra: list[str] | None = None,
                 port: int | None = None, tls_ca: str | None = None, token: str | None = None):
        self.database = database
        self.tls_ca, self.token = tls_ca, token
        self.socket_path = short_socket_path() if unix else None
        self.port = None if unix else (port or free_port())
        args = [sys.executable, str(SERVER_TOOL)]
        if verbosity:
            args.append("-" + "v" * verbosity)
        if unix:
            args += ["--socket-path", str(self.socket_path)]
        else:
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        args += (extra or []) + [database]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
                                     text=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {out} {err}")
            try:
                self.raw_socket().close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("the server did not start listening")

    def raw_socket(self, timeout: float = 5.0) -> socket.socket:
        if self.socket_path is not None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.socket_path)
        else:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.settimeout(timeout)
        return s

    def connect(self) -> CommitDatabase:
        if self.socket_path is not None:
            return CommitDatabase.connect_local(self.socket_path, token=self.token)
        if self.tls_ca is not None:
            return CommitDatabase.connect("localhost", str(self.port), token=self.token, tls=True, tls_ca=self.tls_ca)
        return CommitDatabase.connect("127.0.0.1", str(self.port), token=self.token)

    def address_args(self) -> list[str]:
        return ["unix", self.socket_path] if self.socket_path is not None else ["tcp", f"127.0.0.1:{self.port}"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> tuple[int, str, str]:
        """Send ``sig`` and wait: (exit code, stdout, stderr). The start-up statement of the
        reference-protocol policy, checked here, is left out of stdout."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.startup_statement = out.partition("\n")[0]
        return self.proc.returncode, without_startup_statement(out), err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        if self.socket_path is not None:
            with_suppressed_unlink(self.socket_path)


def with_suppressed_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- speaking the protocol by hand -------------------------------------------------------------


def send(sock: socket.socket, obj: Any) -> None:
    sock.sendall(P.encode_frame(obj))


def receive(sock: socket.socket) -> Any:
    """One frame; raises ConnectionError when the peer closed."""
    head = _exactly(sock, P.LENGTH.size)
    (length,) = P.LENGTH.unpack(head)
    return msgpack.unpackb(_exactly(sock, length), raw=False)


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the peer")
        data += chunk
    return bytes(data)


def handshake(sock: socket.socket) -> None:
    send(sock, P.hello())
    P.check_hello(receive(sock))


def closed_by_peer(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the server closes the connection (reading any pending frames first)."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
