"""``commit_admin.py`` / ``commitdb admin``: source options, reset, reduce_heads, sync, loops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from cli_support import TOOLS, build_history, child_env, run_tool, tuto_definitions

from commitdb import CommitDatabase, CommitMutableState, ValueUUId
from commitdb.cli.admin_commands import NO_SOURCE, admin
from commitdb.net.background import BackgroundServer

from cli_support import tuto_names  # isort: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_heads(path) -> set:
    """Add two more heads (on the root) to the database at ``path``; returns all heads."""
    n = tuto_names()
    login = n["TUTO_A_USER_LOGIN"]
    with CommitDatabase.open(str(path)) as db:
        first = db.first_commit_id()
        for name in ("carol", "dave"):
            m = CommitMutableState(db.state(first))
            m.attachment_mutating().set(login, login.create_key(), {"nickname": name})
            db.commit_mutations(f"Add {name}", m)
        return db.head_commit_ids()


# --- source options -------------------------------------------------------------------------------


def test_no_source(invoke):
    result = invoke("admin", "reset")
    assert result.exit_code == 1
    assert result.stderr.strip() == NO_SOURCE


def test_no_source_no_subcommand(invoke):
    result = invoke("admin")
    assert result.exit_code == 1 and NO_SOURCE in result.stderr


def test_no_subcommand_prints_help_and_exits_1(invoke, empty_db):
    result = invoke("admin", "--database", empty_db)
    assert result.exit_code == 1
    assert "Usage:" in result.stdout and "reduce_heads" in result.stdout and "sync" in result.stdout


def test_two_sources_are_refused(invoke, empty_db):
    result = invoke("admin", "--database", empty_db, "--host", "127.0.0.1", "reset")
    assert result.exit_code == 2 and "use only one of --database, --host or --socket-path" in result.stderr


def test_tool_no_source_and_help_as_subprocess(empty_db):
    done = run_tool("commit_admin.py", "reduce_heads")
    assert done.returncode == 1 and done.stderr.strip() == NO_SOURCE
    done = run_tool("commit_admin.py", "--database", empty_db)
    assert done.returncode == 1 and "Usage: commit_admin.py" in done.stdout
    done = run_tool("commit_admin.py", "--help")
    assert done.returncode == 0 and "--socket-path" in done.stdout


def test_unreachable_server(invoke):
    result = invoke("admin", "--host", "127.0.0.1", "--port", free_port(), "reduce_heads")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: cannot connect to 127.0.0.1:")


def test_unreachable_socket(invoke, tmp_path):
    result = invoke("admin", "--socket-path", tmp_path / "none.sock", "reset")
    assert result.exit_code == 3 and "cannot connect" in result.stderr


def test_missing_database_file(invoke, tmp_path):
    result = invoke("admin", "--database", tmp_path / "none.cdb", "reset")
    assert result.exit_code == 6 and "does not exist" in result.stderr


# --- reset and reduce_heads -----------------------------------------------------------------------


def test_reset_keeps_the_first_commit(invoke, history_db):
    path, ids = history_db
    result = invoke("admin", "--database", path, "reset")
    assert result.exit_code == 0, result.output
    assert f"kept the first commit {ids['first']}, removed 4 commit(s)" in result.stdout
    with CommitDatabase.open(str(path)) as db:
        assert db.commit_ids() == {ids["first"]}


def test_reduce_heads_merges_heads(invoke, history_db):
    path, _ = history_db
    assert len(two_heads(path)) == 3
    result = invoke("admin", "--database", path, "reduce_heads")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reduced 3 heads into ")
    with CommitDatabase.open(str(path)) as db:
        heads = db.head_commit_ids()
        assert len(heads) == 1 and str(next(iter(heads))) in result.stdout
    again = invoke("admin", "--database", path, "reduce_heads")
    assert again.exit_code == 0 and again.stdout.strip() == "nothing to reduce (1 head)"


def test_reset_and_reduce_heads_on_a_served_database(invoke, history_db):
    path, ids = history_db
    two_heads(path)
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "reduce_heads")
        assert result.exit_code == 0 and result.stdout.startswith("reduced 3 heads into ")
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "reset", "--yes")
        assert result.exit_code == 0 and f"kept the first commit {ids['first']}" in result.stdout
    with CommitDatabase.open(str(path)) as db:
        assert db.commit_ids() == {ids["first"]}


# --- sync -----------------------------------------------------------------------------------------


def _state_of(path):
    with CommitDatabase.open(str(path)) as db:
        return db.commit_ids(), db.head_commit_ids(), db.blob_ids(), db.definitions_hexdigest()


def test_sync_creates_the_file_with_the_source_documentation(invoke, history_db, tmp_path):
    path, _ = history_db
    replica = tmp_path / "replica.cdb"
    result = invoke("admin", "--database", path, "sync", replica)
    assert result.exit_code == 0, result.output
    assert f"created {replica}" in result.stdout
    assert "fetched 5 commit(s)" in result.stdout and "2 blob(s)" in result.stdout
    with CommitDatabase.open(str(replica)) as db:
        assert db.documentation() == "history test database"
    assert _state_of(replica) == _state_of(path)


def test_sync_with_a_served_database_both_ways(invoke, history_db, tmp_path):
    path, _ = history_db
    replica = tmp_path / "replica.cdb"
    replica_db = CommitDatabase.create(str(replica), "replica")
    replica_db.extend_definitions(tuto_definitions())
    login = tuto_names()["TUTO_A_USER_LOGIN"]
    m = CommitMutableState(replica_db.initial_state())
    m.attachment_mutating().set(login, login.create_key(ValueUUId("33333333-3333-3333-3333-333333333333")),
                                {"nickname": "eve"})
    local = replica_db.commit_mutations("Add Eve (replica)", m)
    replica_db.close()
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "sync", "--blob-data-size", "0.000001",
                        replica)
        assert result.exit_code == 0, result.output
        assert "fetched 5 commit(s)" in result.stdout and "pushed 1 commit(s)" in result.stdout
        remote = CommitDatabase.connect("127.0.0.1", server.port)
        try:
            assert remote.commit_exists(local)
            assert len(remote.commit_ids()) == 6
        finally:
            remote.close()
        again = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "sync", replica)
        assert "fetched 0 commit(s)" in again.stdout and "pushed 0 commit(s)" in again.stdout
    assert _state_of(replica) == _state_of(path)


def test_sync_over_a_unix_socket(invoke, history_db, tmp_path):
    path, _ = history_db
    sock_dir = tempfile.mkdtemp(prefix="cdb", dir="/tmp")   # unix socket paths must be short
    sock = os.path.join(sock_dir, "s.sock")
    try:
        with BackgroundServer(str(path), socket_path=sock, port=None):
            result = invoke("admin", "-v", "--socket-path", sock, "sync", tmp_path / "r.cdb")
            assert result.exit_code == 0, result.output
            assert "source: " in result.stdout
    finally:
        if os.path.exists(sock):
            os.remove(sock)
        os.rmdir(sock_dir)
    assert _state_of(tmp_path / "r.cdb") == _state_of(path)


def test_admin_group_runs_standalone(runner, history_db):
    path, _ = history_db
    result = runner.invoke(admin, ["--database", str(path), "reduce_heads"])
    assert result.exit_code == 0 and "nothing to reduce" in result.stdout


# --- loop mode ------------------------------------------------------------------------------------


def _start_loop(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(TOOLS / "commit_admin.py"), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())


def _stop_with_sigint(proc: subprocess.Popen, wait_for: str, sig: int = signal.SIGINT) -> tuple[int, str, str]:
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if wait_for in line:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, "".join(lines) + out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_reduce_heads_loop_stops_cleanly_on_sigint(history_db, sig):
    path, _ = history_db
    two_heads(path)
    proc = _start_loop("-v", "--database", path, "reduce_heads", "--loop", "--update-interval", "0.1")
    code, out, err = _stop_with_sigint(proc, "nothing to reduce", sig)
    assert code == 0, err
    assert "reduced 3 heads into" in out
    assert out.rstrip().endswith("stopped.")
    assert "Traceback" not in err


def test_sync_loop_stops_cleanly_on_sigint(history_db, tmp_path):
    path, _ = history_db
    proc = _start_loop("-v", "--database", path, "sync", tmp_path / "r.cdb", "--loop", "--update-interval", "0.1")
    code, out, err = _stop_with_sigint(proc, "fetched 0 commit(s)")
    assert code == 0, err
    assert "fetched 5 commit(s)" in out and out.rstrip().endswith("stopped.")
    assert _state_of(tmp_path / "r.cdb") == _state_of(path)


@pytest.mark.parametrize("bad", ["-1", "x"])
def test_bad_update_interval_is_a_usage_error(invoke, empty_db, bad):
    assert invoke("admin", "--database", empty_db, "reduce_heads", "--update-interval", bad).exit_code == 2


def test_build_history_helper_is_deterministic(tmp_path):
    a, b = CommitDatabase.create_in_memory(), CommitDatabase.create_in_memory()
    for db in (a, b):
        db.extend_definitions(tuto_definitions())
    assert {k: str(v) for k, v in build_history(a).items()} == {k: str(v) for k, v in build_history(b).items()}
