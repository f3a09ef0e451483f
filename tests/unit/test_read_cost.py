"""A cold read costs what it touches, not the history behind it: the rows a fresh process
fetches to read one document — at the last commit and at an old one — are the same for a file of
500 commits and one ten times longer (same spacing of snapshots: the lengths differ by a multiple
of it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from commitdb import CommitDatabase, ValueCommitId, ValueUUId
from commitdb.engine.reading import SNAPSHOT_EVERY

KEY = "11111111-1111-1111-1111-111111111111"  # the chain_history fixture's document


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
def test_rows_fetched_by_a_cold_read_do_not_grow_with_history(tmp_path: Path, tuto_names: dict,
                                                               chain_history: Callable[..., list]) -> None:
    names = tuto_names
    short, long = 500, 500 + SNAPSHOT_EVERY * 71  # 5,044 commits
    short_ids = chain_history(tmp_path / "short.cdb", short, other=True)
    long_ids = chain_history(tmp_path / "long.cdb", long, other=True)
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
