"""The persisted read structures stay right through deletions, writes by other programs and
commits stored before their parent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, ValueUUId

ROOT = Path(__file__).resolve().parents[2]
KEY = ValueUUId("11111111-1111-1111-1111-111111111111")


def _db(path: Path) -> tuple[CommitDatabase, dict]:
    builder = DSMBuilder()
    builder.append("tuto.dsm", (ROOT / "examples" / "tuto.dsm").read_text())
    _, _, definitions = builder.parse()
    names: dict = {}
    definitions.inject(names)
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    return db, names


def _commit(db: CommitDatabase, names: dict, parent: object, nickname: str) -> object:
    login = names["TUTO_A_USER_LOGIN"]
    mutable = CommitMutableState(db.state(parent) if parent is not None else db.initial_state())
    mutable.attachment_mutating().set(login, login.create_key(KEY), {"nickname": nickname})
    return db.commit_mutations(nickname, mutable)


def _nickname(db: CommitDatabase, names: dict, commit: object) -> str:
    login = names["TUTO_A_USER_LOGIN"]
    return repr(db.state(commit).attachment_getting().get(login, login.create_key(KEY)))


def test_commits_after_deleting_heads_in_any_order_are_read(tmp_path: Path) -> None:
    db, names = _db(tmp_path / "deleted.cdb")
    root = _commit(db, names, None, "root")
    a = _commit(db, names, root, "a")
    b = _commit(db, names, root, "b")  # a second head, stored after a
    db.delete_commit(a)  # not the last row
    db.delete_commit(b)  # the last row: the next commit reuses a rowid below the deleted ones
    c = _commit(db, names, root, "c")
    assert _nickname(db, names, c) == "Optional({nickname='c', password=''})"
    assert db.head_commit_ids() == {c}
    db.close()
    again = CommitDatabase.open(str(tmp_path / "deleted.cdb"))
    assert _nickname(again, names, c) == "Optional({nickname='c', password=''})"
    assert again.head_commit_ids() == {c}
    again.close()


def test_a_head_deleted_by_another_program_leaves_the_heads(tmp_path: Path) -> None:
    path = tmp_path / "foreign.cdb"
    db, names = _db(path)
    root = _commit(db, names, None, "root")
    a = _commit(db, names, root, "a")
    b = _commit(db, names, root, "b")
    assert db.head_commit_ids() == {a, b}
    conn = sqlite3.connect(str(path))
    conn.execute("DELETE FROM ds_commit WHERE commit_id = ?", (str(a),))  # behind commitdb's back
    conn.commit()
    conn.close()
    assert db.head_commit_ids() == {b}
    assert _nickname(db, names, b) == "Optional({nickname='b', password=''})"
    db.close()


def test_a_commit_stored_before_its_parent_reads_right_once_the_parent_arrives(tmp_path: Path) -> None:
    source, names = _db(tmp_path / "source.cdb")
    root = _commit(source, names, None, "root")
    child = _commit(source, names, root, "child")
    target, _ = _db(tmp_path / "target.cdb")
    backend = target.commit_databasing()
    backend.create_commit_data(source.commit_databasing().commit_data(child))  # the child first
    backend.create_commit_data(source.commit_databasing().commit_data(root))
    target.invalidate_views()
    assert target.head_commit_ids() == {child}
    assert _nickname(target, names, child) == "Optional({nickname='child', password=''})"
    assert target.is_ancestor(root, child)
    source.close()
    target.close()


def test_a_large_file_without_read_tables_is_indexed_in_batches_with_progress(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from commitdb.read_views import CATCH_UP_BATCH
    from commitdb.storage.sqlite import SQLiteBackend

    path = tmp_path / "foreign.cdb"
    db, names = _db(path)
    db.close()
    db = CommitDatabase(SQLiteBackend(str(path), synchronous="OFF"))
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    head = _commit(db, names, None, "n0")
    count = CATCH_UP_BATCH + 700
    for i in range(1, count):
        mutable = CommitMutableState(db.state(head))
        mutable.attachment_mutating().update(login, login.create_key(KEY), nickname, f"n{i}")
        head = db.commit_mutations(f"c{i}", mutable)
    db.close()
    conn = sqlite3.connect(str(path))  # as a file written by another program: no read tables
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cdb_%'")]
    for table in tables:
        conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    with caplog.at_level(logging.INFO, logger="commitdb"):
        again = CommitDatabase.open(str(path))
    assert any("indexing commits" in r.getMessage() for r in caplog.records)
    assert _nickname(again, names, head) == f"Optional({{nickname='n{count - 1}', password=''}})"
    assert again.head_commit_ids() == {head}
    again.close()
    third = CommitDatabase.open(str(path))  # indexed once: nothing is pending any more
    assert not third.commit_databasing().read_index().pending(1)
    third.close()


@pytest.mark.timeout(600)
def test_a_history_of_many_merges_reads_without_recursion(tmp_path: Path) -> None:
    """600 merges, each the base of the next lane (deeper than Python's recursion limit allows
    for a recursive walk): placements, reads and ancestry agree with the whole-history
    linearisation."""
    from commitdb.storage.sqlite import SQLiteBackend

    path = tmp_path / "merges.cdb"
    db, names = _db(path)
    db.close()
    db = CommitDatabase(SQLiteBackend(str(path), synchronous="OFF"))
    main = first = _commit(db, names, None, "m0")
    for i in range(1, 601):
        side = _commit(db, names, main, f"s{i}")
        ahead = _commit(db, names, main, f"m{i}")
        main = db.merge_commit(f"merge {i}", ahead, side)
    expected = "Optional({nickname='s600', password=''})"  # the merged-in side wins
    assert _nickname(db, names, main) == expected
    db.close()
    again = CommitDatabase.open(str(path))
    assert _nickname(again, names, main) == expected
    assert again.is_ancestor(first, main) and not again.is_ancestor(main, first)
    lin = again.state(main).linearization()
    assert len(lin) == 1 + 3 * 600 and lin[0] == first.bytes_value() and lin[-1] == main.bytes_value()
    again.close()
