"""Fixtures of the command-line tests: databases with a short history, and click's CliRunner
to run ``commitdb`` in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import build_history, tuto_definitions
from click.testing import CliRunner

from commitdb import CommitDatabase
from commitdb.cli.main import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner):
    """invoke(*args) runs ``commitdb *args`` in-process and returns click's Result."""

    def run(*args: str, group=cli):
        return runner.invoke(group, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture
def empty_db(tmp_path) -> Path:
    path = tmp_path / "empty.cdb"
    db = CommitDatabase.create(str(path), "empty test database")
    db.extend_definitions(tuto_definitions())
    db.close()
    return path


@pytest.fixture
def history_db(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "history.cdb"
    db = CommitDatabase.create(str(path), "history test database")
    db.extend_definitions(tuto_definitions())
    ids = build_history(db)
    db.close()
    return path, ids


