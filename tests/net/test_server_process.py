"""The server as a process (SPEC §10): signals and graceful shutdown, bad databases, stale
sockets, logging levels, and clients of a stopped server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _netutil import (
    SERVER_TOOL,
    ServerProcess,
    child_env,
    make_tuto_cdb,
    short_socket_path,
    without_startup_statement,
)

from commitdb import CommitDatabase, CommitMutableState, ConnectionFailedError
from commitdb.net.client import RemoteBackend
from commitdb.testing import Tuto

GRACEFUL = "The server finished gracefully."


def _run_tool(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER_TOOL), *args], capture_output=True, text=True,
                          timeout=timeout, env=child_env())


@pytest.fixture(scope="module")
def big_cdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with 150 commits of ~100 KB each (a get_commits of all is ~15 MB)."""
    path = make_tuto_cdb(tmp_path_factory.mktemp("big") / "big.cdb")
    db = CommitDatabase.open(path)
    try:
        tuto = Tuto(db)
        parent = None
        for i in range(150):
            parent = tuto.set(parent, f"n{i}", password=f"{i}" + "x" * 100_000)
    finally:
        db.close()
    return path


# --- signals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_with_idle_clients(tmp_path: Path, sig: int) -> None:
    server = ServerProcess(make_tuto_cdb(tmp_path / "a.cdb"))
    db = server.connect()
    tuto = Tuto(db)
    tuto.set(None, "before")
    s = db.commit_databasing()
    s.begin_transaction("Immediate")  # left open by an idle client: rolled back at shutdown
    tuto.set(None, "uncommitted", key=tuto.key(2))
    code, out, err = server.stop(sig)
    assert (code, out.strip(), err) == (0, GRACEFUL, "")
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError):
        db.head_commit_ids()
    with pytest.raises(ConnectionFailedError):
        CommitDatabase.connect("127.0.0.1", str(server.port))
    assert time.monotonic() - started < 2.0
    direct = CommitDatabase.open(server.database)
    assert len(direct.commit_ids()) == 1
    direct.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_big_reads(big_cdb: str, sig: int) -> None:
    server = ServerProcess(big_cdb, unix=sig == signal.SIGTERM)
    db = server.connect()
    s = db.commit_databasing()
    assert isinstance(s, RemoteBackend)
    ids = [h.id for h in s.all_headers()]
    outcomes: list[str] = []

    def reader() -> None:
        for _ in range(200):
            try:
                packed = s.call("get_commits", ids)  # bypasses the client cache: a big answer each time
            except ConnectionFailedError:
                outcomes.append("failed")
                return
            assert len(packed) == len(ids)
            outcomes.append("complete")

    thread = threading.Thread(target=reader)
    thread.start()
    while not outcomes:
        time.sleep(0.01)
    time.sleep(0.05)  # the next request is in flight now
    code, out, err = server.stop(sig)
    thread.join(30)
    assert not thread.is_alive()
    assert (code, out.strip(), err) == (0, GRACEFUL, "")
    assert outcomes[-1] == "failed" and set(outcomes[:-1]) == {"complete"}


def test_signal_during_many_commits(tmp_path: Path) -> None:
    path = make_tuto_cdb(tmp_path / "c.cdb")
    server = ServerProcess(path)
    dbs = [server.connect() for _ in range(3)]
    acknowledged: list[list[str]] = [[] for _ in dbs]
    failures: list[BaseException] = []

    def writer(k: int) -> None:
        db = dbs[k]
        tuto = Tuto(db)
        login, nickname = tuto.login, tuto.nickname
        key = login.create_key()
        parent = None
        for i in range(5000):
            try:
                m = CommitMutableState(db.initial_state() if parent is None else db.state(parent))
                if parent is None:
                    m.attachment_mutating().set(login, key, {"nickname": "w", "password": "p"})
                else:
                    m.attachment_mutating().update(login, key, nickname, f"w{k}-{i}")
                parent = db.commit_mutations(f"w{k}-{i}", m)
            except ConnectionFailedError:
                return
            except BaseException as e:
                failures.append(e)
                return
            acknowledged[k].append(str(parent))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(dbs))]
    for t in threads:
        t.start()
    time.sleep(1.0)
    code, out, err = server.stop(signal.SIGINT)
    for t in threads:
        t.join(30)
    assert not failures, failures
    assert (code, out.strip(), err) == (0, GRACEFUL, "")
    assert all(acknowledged)
    direct = CommitDatabase.open(path)
    try:
        stored = {str(c) for c in direct.commit_ids()}
        every = {c for chain in acknowledged for c in chain}
        assert every <= stored
        assert len(stored - every) <= len(dbs)  # at most the one in flight per client
        for c in stored:  # each stored commit is whole: it re-hashes and its program decodes
            assert direct.commit(c).header().commit_type() == "Mutations"
            direct.state(c)
    finally:
        direct.close()


def test_unclean_stop_reports_busy_clients(tmp_path: Path) -> None:
    """A request that outlives the grace period: the count is printed and the exit code is 1."""
    from commitdb.net.background import BackgroundServer
    from commitdb.net.serve import finish_message
    from commitdb.net.server import DatabaseService
    from commitdb.storage.memory import MemoryBackend

    release = threading.Event()

    class Slow(MemoryBackend):
        def commit_count(self) -> int:
            release.wait(10)
            return super().commit_count()

    server = BackgroundServer(DatabaseService(Slow()), host="127.0.0.1", port=0, grace=0.3).start()
    backend = RemoteBackend.connect("127.0.0.1", server.port)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            backend.commit_count()
        except ConnectionFailedError as e:
            outcome.append(e)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    assert server.stop() == 1
    release.set()
    thread.join(10)
    assert len(outcome) == 1  # the client was cut off, not left hanging
    assert finish_message(1) == "1 client(s) still running, the server did not stop cleanly."
    assert finish_message(0) == GRACEFUL


# --- starting --------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"hello, I am text\n", b"", os.urandom(4096), "sqlite", "dir", "missing"])
def test_not_a_commit_database(tmp_path: Path, content: object) -> None:
    path = tmp_path / "bad.cdb"
    if content == "sqlite":
        import sqlite3

        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    elif content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    before = path.read_bytes() if path.is_file() else None
    result = _run_tool("--host", "127.0.0.1", "--port", "0", str(path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert "cannot serve" in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr
    if before is not None:
        assert path.read_bytes() == before  # not modified


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run_tool("--host", "127.0.0.1", "--port", str(port), make_tuto_cdb(tmp_path / "p.cdb"))
    assert result.returncode != 0 and "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_stale_socket_is_removed(tmp_path: Path) -> None:
    path = short_socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    assert os.path.exists(path)
    server = ServerProcess.__new__(ServerProcess)
    server.database, server.socket_path, server.port = make_tuto_cdb(tmp_path / "s.cdb"), path, None
    server.proc = subprocess.Popen([sys.executable, str(SERVER_TOOL), "--socket-path", path, server.database],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    server._wait_ready()
    db = server.connect()
    assert db.head_commit_ids() == set()
    db.close()
    code, out, err = server.stop()
    assert (code, out.strip(), err) == (0, GRACEFUL, "")
    assert not os.path.exists(path)  # removed on the way out too


def test_socket_path_that_is_not_a_socket(tmp_path: Path) -> None:
    path = short_socket_path()
    Path(path).write_text("precious")
    result = _run_tool("--socket-path", path, make_tuto_cdb(tmp_path / "n.cdb"))
    assert result.returncode != 0 and "not a socket" in result.stderr
    assert Path(path).read_text() == "precious"


def test_socket_in_use_by_a_live_server(tmp_path: Path) -> None:
    first = ServerProcess(make_tuto_cdb(tmp_path / "l.cdb"), unix=True)
    try:
        result = _run_tool("--socket-path", str(first.socket_path), first.database)
        assert result.returncode != 0 and "another server" in result.stderr
        db = first.connect()  # the first server still owns its socket
        assert db.head_commit_ids() == set()
        db.close()
    finally:
        assert first.stop()[0] == 0


# --- logging ---------------------------------------------------------------------------------


def test_quiet_by_default_and_vv_logs_connections(tmp_path: Path) -> None:
    path = make_tuto_cdb(tmp_path / "v.cdb")
    for verbosity, expect_log in ((0, False), (1, False), (2, True)):
        server = ServerProcess(path, verbosity=verbosity)
        db = server.connect()
        db.head_commit_ids()
        db.close()
        time.sleep(0.1)
        code, out, err = server.stop()
        assert (code, out.strip()) == (0, GRACEFUL)
        assert ("connection from" in err) is expect_log, err
        assert "dropped" not in err  # a client that closes between requests leaves cleanly
        if not expect_log:
            assert err == ""
    server = ServerProcess(path, verbosity=3)
    db = server.connect()
    db.head_commit_ids()
    db.close()
    code, out, err = server.stop()
    assert code == 0 and "poll #" in err  # -vvv: every request


def test_cli_serve_command(tmp_path: Path) -> None:
    path = make_tuto_cdb(tmp_path / "cli.cdb")
    sock = short_socket_path()
    proc = subprocess.Popen([sys.executable, "-m", "commitdb", "serve", "--socket-path", sock, path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        db = CommitDatabase.connect_local(sock)
        assert db.head_commit_ids() == set()
        db.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert (proc.returncode, without_startup_statement(out).strip(), err) == (0, GRACEFUL, "")


# --- clients of a stopped or unresponsive server -----------------------------------------------


def test_clients_of_a_killed_server_fail_fast(tmp_path: Path) -> None:
    server = ServerProcess(make_tuto_cdb(tmp_path / "k.cdb"), unix=True)
    db = server.connect()
    db.head_commit_ids()
    server.kill()
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError):
        db.head_commit_ids()
    with pytest.raises(ConnectionFailedError):
        db.head_commit_ids()  # the connection stays failed
    with pytest.raises(ConnectionFailedError):
        CommitDatabase.connect_local(str(server.socket_path))
    with pytest.raises(ConnectionFailedError):
        CommitDatabase.connect("127.0.0.1", "1")
    assert time.monotonic() - started < 2.0


def test_unresponsive_server_times_out(tmp_path: Path) -> None:
    server = ServerProcess(make_tuto_cdb(tmp_path / "t.cdb"))
    backend = RemoteBackend.connect("127.0.0.1", server.port, timeout=0.5)
    try:
        server.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ConnectionFailedError):
            backend.commit_count()
        assert time.monotonic() - started < 2.0
    finally:
        server.send_signal(signal.SIGCONT)
        backend.close()
        assert server.stop()[0] == 0
