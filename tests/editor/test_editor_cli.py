"""Starting the editor: `commitdb editor` and tools/cdbe.py, their errors, and a real start."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from editor_support import ROOT, child_env, example_database

from commitdb.cli.main import cli


def cdbe_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("cdbe", ROOT / "tools" / "cdbe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_cdbe_refuses_two_databases_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cdbe_main(["a.cdb", "b.cdb"]) == 1
    assert "usage: cdbe.py" in capsys.readouterr().out


def test_cdbe_names_a_missing_file_and_a_file_that_is_not_a_database(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cdbe_main([str(tmp_path / "missing.cdb")]) == 1
    assert "No such file" in capsys.readouterr().err
    junk = tmp_path / "junk.cdb"
    junk.write_text("not sqlite at all")
    assert cdbe_main([str(junk)]) == 1
    assert "is not a commit database" in capsys.readouterr().err
    assert not (tmp_path / "missing.cdb").exists()  # the editor never creates a file


def test_commitdb_editor_errors() -> None:
    from commitdb.cli.main import exit_code_for
    from commitdb.errors import IncompatibleDatabaseError

    result = CliRunner().invoke(cli, ["editor", "/nonexistent/x.cdb"])
    # the commitdb command's exit code for "not a database" (tools/cdbe.py exits 1, as the reference)
    assert result.exit_code == exit_code_for(IncompatibleDatabaseError("x"))
    assert "error: No such file" in result.output
    result = CliRunner().invoke(cli, ["editor"])
    assert result.exit_code == 1 and "error: give one DATABASE file" in result.output


def test_commitdb_editor_serves_the_page_on_127_0_0_1(tmp_path: Path) -> None:
    database = example_database(tmp_path / "example.cdb")
    process = subprocess.Popen([sys.executable, "-m", "commitdb", "editor", "--http-port", "0", str(database)],
                               env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert "open http://127.0.0.1:" in line, line
        url = line.split("open ")[1].split()[0]
        with urllib.request.urlopen(url + "api/status", timeout=10) as response:
            assert json.loads(response.read())["title"] == "example.cdb"
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def test_the_editor_shows_its_token_to_a_server_that_requires_one(tmp_path) -> None:
    from commitdb.editor.server import open_database
    from commitdb.errors import AuthenticationError
    from commitdb.net.background import BackgroundServer
    from commitdb.net.security import TokenTable, token_from_environment

    token = "e" * 8 + "-editor-token-01"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    with BackgroundServer(str(example_database(tmp_path / "secure.cdb")), host="127.0.0.1", port=0,
                          tokens=TokenTable([(token, "write", "editor")])) as server:
        db, title, reopen = open_database(None, "127.0.0.1", server.port, None,
                                          token=token_from_environment(token_file=str(token_file)))
        assert title == f"127.0.0.1:{server.port}" and db.head_commit_ids()
        second = reopen()
        assert second.head_commit_ids() == db.head_commit_ids()
        second.close()
        db.close()
        with pytest.raises(AuthenticationError):
            open_database(None, "127.0.0.1", server.port, None, token="wrong-token-0000000")
