"""What a new user meets in the first hour: ``--help`` everywhere, validated arguments, the
exit-code table end to end, timeouts, confirmation of destructive commands through a server,
commands that read a server as well as a file, progress, and the tools run from a checkout."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import click
import pytest
from cli_support import ROOT, TOOLS, TUTO, child_env, run_tool

from commitdb import CommitDatabase, __version__
from commitdb.admin import export_state
from commitdb.cli import common
from commitdb.cli.common import EXIT_CODES, EXIT_MEANINGS, exit_code_for
from commitdb.cli.main import cli
from commitdb.errors import ListenError
from commitdb.net.background import BackgroundServer
from commitdb.storage.sqlite import SQLiteBackend


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commit_count(path) -> int:
    with CommitDatabase.open(str(path)) as db:
        return len(db.commit_ids())


# --- --help and --version ---------------------------------------------------------------------


def _every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_every_command(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("words", _every_command(cli), ids=" ".join)
def test_help_works_on_every_sub_command_without_other_options(invoke, words):
    result = invoke(*words, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and result.stderr == ""


@pytest.mark.parametrize("tool,words", [
    ("commit_admin.py", ["sync"]), ("commit_admin.py", ["reset"]), ("commit_admin.py", ["reduce_heads"]),
    ("commit_admin.py", ["delete"]), ("dsm_util.py", ["check"]), ("commit_database_server.py", []),
])
def test_help_of_the_tools_needs_no_source(tool, words):
    done = run_tool(tool, *words, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: {tool} {' '.join(words)}".rstrip()) and done.stderr == ""


def test_version(invoke):
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout == f"commitdb {__version__}\n"
    done = run_tool("dsm_util.py", "--version")
    assert done.returncode == 0 and done.stdout == f"dsm_util.py (commitdb) {__version__}\n"


# --- the exit-code table ----------------------------------------------------------------------


def _documented_table(path: Path) -> dict[int, str]:
    rows = re.findall(r"^\| (\d) \| (.+?) \|$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_the_exit_code_table_is_the_documented_one():
    documented = _documented_table(ROOT / "docs" / "cli.md")
    assert documented == EXIT_MEANINGS
    assert set(EXIT_MEANINGS) == set(range(9))
    assert {code for _, code in EXIT_CODES} <= set(EXIT_MEANINGS)
    assert set(_documented_table(ROOT / "README.md")) == set(EXIT_MEANINGS)
    assert exit_code_for(ListenError("x")) == 8


def test_not_a_database_exits_6(invoke, tmp_path):
    (tmp_path / "notes.cdb").write_text("shopping list\n" * 200)
    result = invoke("log", tmp_path / "notes.cdb")
    assert result.exit_code == 6
    assert result.stderr.startswith("error: ") and "is not a commit database" in result.stderr


def test_a_truncated_database_is_an_integrity_fault(invoke, history_db):
    path, _ = history_db
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = invoke("verify", path)
    assert result.exit_code == 4
    # verify reports it as a fault of the file (with what SQLite's own check says)
    assert "is damaged (truncated or overwritten?)" in result.stdout and "[sqlite]" in result.stdout


def test_already_exists_exits_7(invoke, history_db, tmp_path):
    path, _ = history_db
    target = tmp_path / "copy.cdb"
    target.write_bytes(b"precious")
    result = invoke("flatten", path, "last", target)
    assert result.exit_code == 7 and "already exists" in result.stderr
    assert target.read_bytes() == b"precious"


def test_database_busy_exits_5(invoke, history_db, monkeypatch):
    path, _ = history_db
    defaults = list(SQLiteBackend.__init__.__defaults__)
    defaults[1] = 0.2  # busy_timeout: the 10 s of a real run would only slow the test
    monkeypatch.setattr(SQLiteBackend.__init__, "__defaults__", tuple(defaults))
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = invoke("admin", "--database", path, "reset")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 5
    assert "database is busy" in result.stderr
    assert commit_count(path) == 5


def test_unreachable_exits_3(invoke):
    port = free_port()
    result = invoke("log", "--host", "127.0.0.1", "--port", port)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: cannot connect to 127.0.0.1:{port}")


@pytest.mark.parametrize("args,name", [
    (["log", "--port", "99999", "--host", "h"], "--port"),
    (["admin", "--port", "0", "--host", "h", "reset"], "--port"),
    (["admin", "--timeout", "0", "--host", "h", "reset"], "--timeout"),
    (["log", "-n", "0", "x.cdb"], "-n"),
    (["serve", "--port", "-1", "x.cdb"], "--port"),
    (["serve", "--synchronous", "OFF", "x.cdb"], "--synchronous"),
    (["export", "a", "b", "c"], "[PATH] OUTDIR"),
    (["export", "--commit-id", "tip", "out"], "--commit-id"),
    (["admin", "--database", "x.cdb", "delete", "12"], "COMMIT"),
    (["show", "--host", "h", "g00d"], "COMMIT"),
])
def test_bad_arguments_are_usage_errors_naming_them(invoke, args, name):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert name in result.stderr


def test_no_place_and_two_places_are_usage_errors(invoke, history_db):
    path, _ = history_db
    result = invoke("log")
    assert result.exit_code == 2 and "give a database file PATH, or a server" in result.stderr
    result = invoke("log", path, "--socket-path", "/tmp/x.sock")
    assert result.exit_code == 2 and "give only one of PATH and --socket-path" in result.stderr


# --- the server on the command line -----------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_server_port_out_of_range_is_a_usage_error(port, empty_db):
    done = run_tool("commit_database_server.py", "--port", port, empty_db)
    assert done.returncode == 2
    assert f"Invalid value for '--port': {port} is not in the range 0<=x<=65535." in done.stderr
    assert "Traceback" not in done.stderr


def test_busy_port_exits_8_and_run_example_says_nothing_of_serving(empty_db, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = run_tool("commit_database_server.py", "--host", "127.0.0.1", "--port", port, empty_db)
        assert done.returncode == 8
        assert done.stderr.startswith("error: cannot listen: ") and "address already in use" in done.stderr
        example = subprocess.run([sys.executable, "-m", "commitdb", "run-example", "--port", port, "--database",
                                  str(tmp_path / "ex.cdb")], capture_output=True, text=True, env=child_env(),
                                 timeout=30)
    assert example.returncode == 8 and "cannot listen" in example.stderr
    assert "serving on" not in example.stdout and "Traceback" not in example.stderr


def test_serving_a_file_that_is_not_a_database_exits_6(tmp_path):
    (tmp_path / "x.cdb").write_text("not a database")
    done = run_tool("commit_database_server.py", "--host", "127.0.0.1", "--port", "0", tmp_path / "x.cdb")
    assert done.returncode == 6 and done.stderr.startswith("error: cannot serve ")


# --- timeouts ---------------------------------------------------------------------------------


@pytest.fixture
def silent_peer():
    """A TCP server that accepts connections and never answers; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_sync_with_a_silent_peer_gives_up_after_timeout(invoke, silent_peer, tmp_path):
    result = invoke("admin", "--host", "127.0.0.1", "--port", silent_peer, "--timeout", "0.6", "sync",
                    tmp_path / "r.cdb")
    assert result.exit_code == 3
    assert f"waiting for 127.0.0.1:{silent_peer} to answer (giving up after 0.6 s; see --timeout)" in result.stderr
    assert f"error: no answer from 127.0.0.1:{silent_peer} within 0.6 s" in result.stderr
    assert not (tmp_path / "r.cdb").exists()


def test_log_with_a_silent_peer_gives_up_after_timeout(invoke, silent_peer):
    result = invoke("log", "--host", "127.0.0.1", "--port", silent_peer, "--timeout", "0.3")
    assert result.exit_code == 3 and "no answer from" in result.stderr


# --- destructive commands through a server ----------------------------------------------------


def test_reset_through_a_server_needs_yes_without_a_terminal(invoke, history_db):
    path, _ = history_db
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "reset")
        assert result.exit_code == 2
        assert (f"reset removes 4 of the 5 commits of 127.0.0.1:{server.port} (only the first is kept); "
                "pass --yes to confirm") in result.stderr
        assert commit_count(path) == 5
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "reset", "--yes")
        assert result.exit_code == 0 and "removed 4 commit(s)" in result.stdout
    assert commit_count(path) == 1


def test_reset_through_a_server_asks_on_a_terminal(runner, history_db, monkeypatch):
    path, _ = history_db
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        args = ["admin", "--host", "127.0.0.1", "--port", str(server.port), "reset"]
        result = runner.invoke(cli, args, input="n\n")
        assert result.exit_code == 1 and "Go on? [y/N]" in result.stderr
        assert "error: aborted: nothing was changed" in result.stderr
        assert commit_count(path) == 5
        result = runner.invoke(cli, args, input="y\n")
        assert result.exit_code == 0 and "removed 4 commit(s)" in result.stdout
    assert commit_count(path) == 1


def test_delete_a_head_through_a_server(invoke, history_db):
    path, ids = history_db
    merge = str(ids["merge"])
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "delete", merge[:10])
        assert result.exit_code == 2 and f"delete removes the commit {merge} ('Merge Bob')" in result.stderr
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "delete", merge[:10], "-y")
        assert result.exit_code == 0 and result.stdout == f"delete: removed the head {merge}\n"
    assert commit_count(path) == 4


def test_delete_a_commit_that_is_not_a_head(invoke, history_db):
    path, ids = history_db
    result = invoke("admin", "--database", path, "delete", str(ids["first"]))
    assert result.exit_code == 1 and "is not a head" in result.stderr
    assert commit_count(path) == 5


# --- log / show / verify / export from a server -------------------------------------------------


def test_log_show_verify_export_read_a_server_as_a_file(invoke, history_db, tmp_path):
    path, ids = history_db
    merge = str(ids["merge"])
    from_file = {
        "log": invoke("log", path, "--full-ids").stdout,
        "show": invoke("show", path, merge[:8]).stdout,
        "verify": invoke("verify", path).stdout,
    }
    assert invoke("export", path, tmp_path / "file-export").exit_code == 0
    sock_dir = tempfile.mkdtemp(prefix="cdb", dir="/tmp")
    sock = os.path.join(sock_dir, "s.sock")
    try:
        with BackgroundServer(str(path), host="127.0.0.1", port=0, socket_path=sock) as server:
            tcp = ["--host", "127.0.0.1", "--port", str(server.port)]
            assert invoke("log", *tcp, "--full-ids").stdout == from_file["log"]
            assert invoke("show", merge[:8], "--socket-path", sock).stdout == from_file["show"]
            verified = invoke("verify", *tcp)
            assert verified.exit_code == 0
            # The same report, but for what only a check of the file itself can do.
            file_lines = from_file["verify"].replace(f"verify {path}", f"verify 127.0.0.1:{server.port}").splitlines()
            served_lines = verified.stdout.splitlines()
            assert "  also checked: sqlite pages, metadata, read index" in file_lines
            assert "  also checked: sqlite pages (by the server), metadata (by the server), read index (by the " \
                "server)" in served_lines
            assert [line for line in served_lines if "checked" not in line] == \
                [line for line in file_lines if "checked" not in line]
            exported = invoke("export", tmp_path / "served-export", *tcp)
            assert exported.exit_code == 0, exported.output
    finally:
        if os.path.exists(sock):
            os.remove(sock)
        os.rmdir(sock_dir)
    first = sorted(p.relative_to(tmp_path / "file-export") for p in (tmp_path / "file-export").rglob("*"))
    second = sorted(p.relative_to(tmp_path / "served-export") for p in (tmp_path / "served-export").rglob("*"))
    assert first == second
    for name in first:
        if (tmp_path / "file-export" / name).is_file():
            assert (tmp_path / "file-export" / name).read_bytes() == (tmp_path / "served-export" / name).read_bytes()


# --- progress ---------------------------------------------------------------------------------


def test_export_reports_progress(history_db, tmp_path):
    path, _ = history_db
    seen: list[tuple[str, int, int]] = []
    with CommitDatabase.open(str(path)) as db:
        export_state(db, db.last_commit_id(), str(tmp_path / "e"), all_blobs=True,
                     progress=lambda *a: seen.append(a))
    assert [s for s in seen if s[0] == "documents"] == [("documents", 5, 5)]
    assert [s for s in seen if s[0] == "blobs"] == [("blobs", 1, 2), ("blobs", 2, 2)]


def test_rich_progress_goes_to_stderr(capsys):
    from commitdb.cli.common import Progress

    with Progress(rich=True) as progress:
        progress("documents", 3, 10)
        progress("documents", 10, 10)
    captured = capsys.readouterr()
    assert captured.out == "" and "documents" in captured.err and "10/10" in captured.err


# --- the tools from a checkout ----------------------------------------------------------------


def test_a_tool_without_its_dependencies_says_how_to_run_it(tmp_path):
    env = child_env()
    env.pop("PYTHONPATH")
    env["COMMITDB_TOOL_REEXEC"] = "1"  # as if already re-run: no venv to fall back on
    done = subprocess.run([sys.executable, "-S", str(TOOLS / "dsm_util.py"), "check", str(TUTO)],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "is not installed for" in lines[0] and "make run" in lines[0] and "dsm-util" in lines[0]


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the checkout's .venv")
def test_a_tool_runs_with_the_checkout_venv_when_python_lacks_the_dependencies():
    env = child_env()
    env.pop("PYTHONPATH")
    done = subprocess.run([sys._base_executable, "-S", str(TOOLS / "dsm_util.py"), "check", str(TUTO)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK {TUTO}")
