"""The SQLite-to-PostgreSQL rewrite of the shared SQL (storage.sql_dialect)."""

from __future__ import annotations

import pytest

from commitdb.storage import sqlite_index
from commitdb.storage.sql_dialect import TableShape, ddl_to_postgres, to_postgres

TABLES = {
    "cdb_touch": TableShape(("doc", "lane", "seq", "commit_rowid", "has_set"), ("doc", "lane", "seq")),
    "cdb_lane": TableShape(("id", "base_lane", "base_seq", "extra", "length", "tip"), ("id",), numbered="id"),
    "cdb_pair": TableShape(("a", "b"), ("a", "b")),
}


def test_placeholders_and_percent_signs() -> None:
    assert to_postgres("SELECT x FROM t WHERE a = ? AND b LIKE '5%'", {}) == \
        "SELECT x FROM t WHERE a = %s AND b LIKE '5%%'"


def test_insert_or_ignore_does_nothing_on_conflict() -> None:
    assert to_postgres("INSERT OR IGNORE INTO cdb_dangling VALUES (?, ?)", {}) == \
        "INSERT INTO cdb_dangling VALUES (%s, %s) ON CONFLICT DO NOTHING"


def test_insert_or_replace_updates_the_other_columns() -> None:
    assert to_postgres("INSERT OR REPLACE INTO cdb_touch VALUES (?, ?, ?, ?, ?)", TABLES) == (
        "INSERT INTO cdb_touch VALUES (%s, %s, %s, %s, %s) ON CONFLICT (doc, lane, seq) "
        "DO UPDATE SET commit_rowid = EXCLUDED.commit_rowid, has_set = EXCLUDED.has_set")
    # Only key columns: nothing to update.
    assert to_postgres("INSERT OR REPLACE INTO cdb_pair (a, b) VALUES (?, ?)", TABLES).endswith("ON CONFLICT DO NOTHING")


def test_insert_or_replace_into_an_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="cdb_nowhere"):
        to_postgres("INSERT OR REPLACE INTO cdb_nowhere VALUES (?)", TABLES)


def test_inserts_into_numbered_tables_return_the_number() -> None:
    assert to_postgres("INSERT INTO cdb_lane (base_lane, length) VALUES (?, 1)", TABLES) == \
        "INSERT INTO cdb_lane (base_lane, length) VALUES (%s, 1) RETURNING id"


def test_emptying_a_numbered_table_restarts_its_numbering() -> None:
    assert to_postgres("DELETE FROM cdb_lane", TABLES) == "TRUNCATE cdb_lane RESTART IDENTITY"
    assert to_postgres("DELETE FROM cdb_touch", TABLES) == "DELETE FROM cdb_touch"
    assert to_postgres("DELETE FROM cdb_lane WHERE id = ?", TABLES) == "DELETE FROM cdb_lane WHERE id = %s"


def test_table_definitions() -> None:
    assert ddl_to_postgres("CREATE TABLE t (id INTEGER PRIMARY KEY, d BLOB, r REAL, n INTEGER) STRICT") == \
        "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, d BYTEA, r DOUBLE PRECISION, n BIGINT)"
    assert ddl_to_postgres("CREATE TABLE w (a INTEGER, PRIMARY KEY (a)) WITHOUT ROWID") == \
        "CREATE TABLE w (a BIGINT, PRIMARY KEY (a))"
    assert ddl_to_postgres("INSERT INTO cdb_tip VALUES (0, 3)") == "INSERT INTO cdb_tip VALUES (0, 3)"
    # Every statement of the read index's layout rewrites to something without SQLite's words.
    for statement in sqlite_index.SCHEMA:
        rewritten = ddl_to_postgres(statement)
        assert "BLOB" not in rewritten and "WITHOUT ROWID" not in rewritten
