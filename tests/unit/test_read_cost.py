"""A cold read costs what it touches, not the history behind it: the rows a fresh process
fetches to read one document — at the last commit and at an old one — are the same for a file of
500 commits and one ten times longer (same spacing of snapshots: the lengths differ by a multiple
of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, ValueCommitId, ValueUUId
from commitdb.engine.reading import SNAPSHOT_EVERY
from commitdb.storage.sqlite import SQLiteBackend

ROOT = Path(__file__).resolve().parents[2]
KEY = "11111111-1111-1111-1111-111111111111"


def _names() -> dict:
    builder = DSMBuilder()
    builder.append("tuto.dsm", (ROOT / "examples" / "tuto.dsm").read_text())
    _, _, definitions = builder.parse()
    names: dict = {"__definitions__": definitions}
    definitions.inject(names)
    return names


def _history(path: Path, commits: int, names: dict) -> list[ValueCommitId]:
    SQLiteBackend.create(str(path)).close()
    db = CommitDatabase(SQLiteBackend(str(path), synchronous="OFF"))  # durability is not measured here
    db.extend_definitions(names["__definitions__"])
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key(ValueUUId(KEY))
    other = login.create_key()
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "n0", "password": "p"})
    mutable.attachment_mutating().set(login, other, {"nickname": "other"})
    ids = [db.commit_mutations("first", mutable)]
    for i in range(1, commits):
        mutable = CommitMutableState(db.state(ids[-1]))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        ids.append(db.commit_mutations(f"c{i}", mutable))
    db.close()
    return ids


def _cold_read(path: Path, commit: ValueCommitId | None, names: dict) -> tuple[str, int, int]:
    """(document, rows fetched, statements) of a fresh open + one document read."""
    db = CommitDatabase.open(str(path))
    backend = db.commit_databasing()
    counts = [0, 0]
    query = backend._query  # type: ignore[attr-defined]

    def counting(sql: str, args: object = ()) -> list:
        rows = query(sql, args)
        counts[0] += len(rows)
        counts[1] += 1
        return rows

    backend._query = counting  # type: ignore[attr-defined]
    login = names["TUTO_A_USER_LOGIN"]
    at = db.last_commit_id() if commit is None else commit
    document = repr(db.state(at).attachment_getting().get(login, login.create_key(ValueUUId(KEY))))
    db.close()
    return document, counts[0], counts[1]


@pytest.mark.timeout(600)
def test_rows_fetched_by_a_cold_read_do_not_grow_with_history(tmp_path: Path) -> None:
    names = _names()
    short, long = 500, 500 + SNAPSHOT_EVERY * 71  # 5,044 commits
    short_ids = _history(tmp_path / "short.cdb", short, names)
    long_ids = _history(tmp_path / "long.cdb", long, names)
    # At the last commit.
    doc_s, rows_s, queries_s = _cold_read(tmp_path / "short.cdb", None, names)
    doc_l, rows_l, queries_l = _cold_read(tmp_path / "long.cdb", None, names)
    assert doc_s == f"Optional({{nickname='n{short - 1}', password='p'}})"
    assert doc_l == f"Optional({{nickname='n{long - 1}', password='p'}})"
    assert (rows_l, queries_l) == (rows_s, queries_s)
    assert rows_s <= 2 * SNAPSHOT_EVERY + 20
    # Time travel: an old commit at the same distance from the end of its snapshot spacing.
    old_s, old_l = short_ids[300], long_ids[300 + SNAPSHOT_EVERY * 35]
    doc_s, rows_s, queries_s = _cold_read(tmp_path / "short.cdb", old_s, names)
    doc_l, rows_l, queries_l = _cold_read(tmp_path / "long.cdb", old_l, names)
    assert doc_s == "Optional({nickname='n300', password='p'})"
    assert doc_l == f"Optional({{nickname='n{300 + SNAPSHOT_EVERY * 35}', password='p'}})"
    assert (rows_l, queries_l) == (rows_s, queries_s)
