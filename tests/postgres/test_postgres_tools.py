"""The command-line tools take a postgresql:// URL wherever they take a database file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from test_postgres_sync import DEFS, MODEL, history

from commitdb import CommitDatabase
from commitdb.cli.admin_commands import admin
from commitdb.cli.main import cli


def run(group: Any, *args: str) -> Any:
    return CliRunner().invoke(group, list(args), catch_exceptions=False)


def test_commitdb_commands_and_commit_admin_on_a_url(tmp_path: Path, pg_url: str) -> None:
    db = CommitDatabase.create(pg_url, "on postgres")
    db.extend_definitions(DEFS)
    history(db)
    count = len(db.commit_ids())
    result = run(cli, "log", pg_url)
    assert result.exit_code == 0, result.output
    assert "merge" in result.output and "no d" in result.output
    result = run(cli, "verify", pg_url)
    assert result.exit_code == 0, result.output
    # commit_admin --database URL sync FILE: the file is created and holds every commit.
    copy = tmp_path / "copy.cdb"
    result = run(admin, "--database", pg_url, "sync", str(copy))
    assert result.exit_code == 0, result.output
    replica = CommitDatabase.open(str(copy))
    assert replica.commit_ids() == db.commit_ids() and len(replica.commit_ids()) == count
    # ... and the other way: a file's source into a new PostgreSQL database.
    other_url = pg_url.replace("/t_", "/u_")
    result = run(admin, "--database", str(copy), "sync", other_url)
    assert result.exit_code == 0, result.output
    assert f"created {other_url}" in result.output
    assert CommitDatabase.open(other_url).commit_ids() == db.commit_ids()
    # reduce_heads through commit_admin on the URL.
    result = run(admin, "--database", pg_url, "reduce_heads")
    assert result.exit_code == 0, result.output
    assert len(CommitDatabase.open(pg_url).head_commit_ids()) == 1
    replica.close()
    db.close()


def test_dsm_util_creates_a_commit_database_at_a_url(tmp_path: Path, pg_url: str) -> None:
    from commitdb.cli.dsm_commands import dsm

    model = tmp_path / "model.dsm"
    model.write_text(MODEL)
    result = run(dsm, "create_commit_database", str(model), pg_url)
    assert result.exit_code == 0, result.output
    db = CommitDatabase.open(pg_url)
    assert db.definitions().hexdigest() == DEFS.hexdigest()
    db.close()
    result = CliRunner().invoke(dsm, ["create_commit_database", str(model), pg_url])
    assert result.exit_code == 7, result.output  # already exists


def test_a_url_that_holds_no_database_is_a_clear_error(pg_url: str) -> None:
    result = CliRunner().invoke(cli, ["log", pg_url])
    assert result.exit_code == 6, result.output  # not a database
    assert "no commit database" in result.output or "does not exist" in result.output
