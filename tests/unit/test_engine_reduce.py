"""Reducing heads and moving forward (SPEC §6.4)."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import (
    CommitDatabase,
    CommitDatabaseHelper,
    CommitMutableState,
    NotAHeadError,
    Path,
    ValueCommitId,
    ValueUUId,
)

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")


class Logins:
    def __init__(self, db: CommitDatabase, names: dict[str, Any]) -> None:
        self.db = db
        self.att = names["TUTO_A_USER_LOGIN"]
        self.key = self.att.create_key(U1)

    def set(self, nickname: str = "n", password: str = "p") -> ValueCommitId:
        ms = CommitMutableState(self.db.initial_state())
        ms.attachment_mutating().set(self.att, self.key, {"nickname": nickname, "password": password})
        return self.db.commit_mutations("set", ms)

    def update(self, parent: Any, field: str, value: str) -> ValueCommitId:
        ms = CommitMutableState(self.db.state(parent))
        ms.attachment_mutating().update(self.att, self.key, Path.from_field(field), value)
        return self.db.commit_mutations(f"{field}={value}", ms)

    def read(self, commit_id: Any) -> str:
        return repr(self.db.state(commit_id).attachment_getting().get(self.att, self.key))


@pytest.fixture
def lg(tuto: tuple[CommitDatabase, dict[str, Any]]) -> Logins:
    return Logins(*tuto)


def test_fewer_than_two_heads_gives_none(lg: Logins) -> None:
    assert CommitDatabaseHelper.reduce_heads(lg.db) is None
    a = lg.set()
    assert CommitDatabaseHelper.reduce_heads(lg.db) is None
    assert lg.db.reduce_heads() is None
    lg.update(a, "nickname", "b")
    assert lg.db.reduce_heads() is None
    assert len(lg.db.commit_ids()) == 2


def test_reduce_heads_merges_in_ascending_id_order(lg: Logins, clock: list[float]) -> None:
    a = lg.set(nickname="a")
    heads = [lg.update(a, "nickname", f"h{i}") for i in range(4)]
    anchor = lg.db.last_commit_id()
    assert anchor == heads[-1]
    result = CommitDatabaseHelper.reduce_heads(lg.db)
    assert result is not None
    assert lg.db.head_commit_ids() == {result}
    # Walk the merge chain back from the result.
    chain = []
    x = result
    while lg.db.commit_header(x).commit_type() == "Merge":
        h = lg.db.commit_header(x)
        chain.append((h.label(), h.target_commit_id()))
        x = h.parent_commit_id()
    assert x == anchor
    chain.reverse()
    others = sorted(set(heads) - {anchor})
    assert [t for _, t in chain] == others
    assert [label for label, _ in chain] == [f"merge of {h}" for h in others]
    # The last merged head (largest id) wins the overlap: merge targets win.
    assert lg.read(result) == lg.read(others[-1])


def test_with_two_heads_the_older_head_wins(lg: Logins, clock: list[float]) -> None:
    a = lg.set(nickname="a")
    older = lg.update(a, "nickname", "older")
    newer = lg.update(a, "nickname", "newer")
    result = lg.db.reduce_heads()
    assert lg.db.commit_header(result).parent_commit_id() == newer  # anchor = last commit
    assert lg.db.commit_header(result).target_commit_id() == older
    assert "older" in lg.read(result)


def test_explicit_anchor(lg: Logins, clock: list[float]) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "nickname", "c")
    result = CommitDatabaseHelper.reduce_heads(lg.db, b)
    h = lg.db.commit_header(result)
    assert (h.parent_commit_id(), h.target_commit_id(), h.label()) == (b, c, f"merge of {c}")
    assert "'c'" in lg.read(result)


def test_anchor_not_a_head(lg: Logins) -> None:
    a = lg.set(nickname="a")
    lg.update(a, "nickname", "b")
    lg.update(a, "nickname", "c")
    with pytest.raises(NotAHeadError, match=f"{a} is not a head"):
        CommitDatabaseHelper.reduce_heads(lg.db, a)
    with pytest.raises(NotAHeadError):
        lg.db.reduce_heads(a)
    assert len(lg.db.commit_ids()) == 3


def test_reduce_heads_is_atomic(lg: Logins, monkeypatch: pytest.MonkeyPatch) -> None:
    a = lg.set(nickname="a")
    for i in range(3):
        lg.update(a, "nickname", f"h{i}")
    before = lg.db.commit_ids()
    heads_before = lg.db.head_commit_ids()
    real = CommitDatabase.merge_commit
    calls = []

    def failing(self: CommitDatabase, label: str, parent: Any, merged: Any) -> ValueCommitId:
        calls.append(label)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(self, label, parent, merged)

    monkeypatch.setattr(CommitDatabase, "merge_commit", failing)
    with pytest.raises(RuntimeError, match="boom"):
        CommitDatabaseHelper.reduce_heads(lg.db)
    assert len(calls) == 2
    monkeypatch.setattr(CommitDatabase, "merge_commit", real)
    assert lg.db.commit_ids() == before
    assert lg.db.head_commit_ids() == heads_before
    assert not lg.db.commit_databasing().in_transaction()
    backend_ids = set(lg.db.commit_databasing().commit_ids())
    assert backend_ids == before
    # The database still works afterwards.
    result = lg.db.reduce_heads()
    assert lg.db.head_commit_ids() == {result}


def test_fast_forward_smallest_id(lg: Logins) -> None:
    a = lg.set(nickname="a")
    kids = [lg.update(a, "nickname", f"k{i}") for i in range(4)]
    smallest = min(kids)
    grandchild = lg.update(smallest, "password", "x")
    assert CommitDatabaseHelper.fast_forward(lg.db, a) == grandchild
    assert lg.db.fast_forward(a) == grandchild
    assert CommitDatabaseHelper.fast_forward(lg.db, grandchild) == grandchild


def test_fast_forward_follows_merges_targeting_the_commit(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "nickname", "c")
    m = lg.db.merge_commit("m", b, c)
    assert CommitDatabaseHelper.fast_forward(lg.db, c) == m
    after = lg.update(m, "password", "z")
    assert CommitDatabaseHelper.fast_forward(lg.db, c) == after


def test_forward(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    other = lg.set(nickname="other")  # a second root: two heads
    assert CommitDatabaseHelper.forward(lg.db, a) == b
    assert CommitDatabaseHelper.forward(lg.db, other) == other
    m = lg.db.merge_commit("m", b, other)
    # one head: forward goes there from anywhere
    assert CommitDatabaseHelper.forward(lg.db, other) == m
    assert lg.db.forward(a) == m
    assert CommitDatabaseHelper.forward(lg.db, ValueCommitId(m.bytes_value())) == m
