"""The DAG (SPEC §6.1-6.2): writing commits, heads, first/last, ancestry, CommitNode."""

from __future__ import annotations

from typing import Any

import pytest

import commitdb.database
from commitdb import (
    CommitDatabase,
    CommitMutableState,
    CommitNode,
    CommitNotFoundError,
    NotAHeadError,
    NotMergeableError,
    ValueCommitId,
    ValueUUId,
)

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")


class Tuto:
    """Small helper: commits on the login of one user."""

    def __init__(self, db: CommitDatabase, names: dict[str, Any]) -> None:
        self.db, self.names = db, names
        self.att = names["TUTO_A_USER_LOGIN"]
        self.key = self.att.create_key(U1)

    def set(self, parent: Any = None, nickname: str = "n", label: str = "set") -> ValueCommitId:
        ms = CommitMutableState(self.db.initial_state() if parent is None else self.db.state(parent))
        ms.attachment_mutating().set(self.att, self.key, {"nickname": nickname})
        return self.db.commit_mutations(label, ms)

    def nick(self, parent: Any, nickname: str, label: str = "nick") -> ValueCommitId:
        ms = CommitMutableState(self.db.state(parent))
        ms.attachment_mutating().update(self.att, self.key, self.names["TUTO_P_LOGIN_NICKNAME"], nickname)
        return self.db.commit_mutations(label, ms)


@pytest.fixture
def t(tuto: tuple[CommitDatabase, dict[str, Any]]) -> Tuto:
    return Tuto(*tuto)


def test_empty_database(t: Tuto) -> None:
    db = t.db
    assert db.first_commit_id() is None and db.last_commit_id() is None
    assert db.head_commit_ids() == set()
    assert db.commit_ids() == set()
    assert CommitNode.build(db).children() == []


def test_second_root_is_a_second_head(t: Tuto) -> None:
    a = t.set(nickname="a")
    b = t.set(nickname="b")
    assert a != b
    assert t.db.commit_header(b).parent_commit_id() == ValueCommitId()
    assert t.db.head_commit_ids() == {a, b}


def test_heads_follow_children_and_merges(t: Tuto) -> None:
    a = t.set(nickname="a")
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    assert t.db.head_commit_ids() == {b, c}
    m = t.db.merge_commit("m", b, c)
    assert t.db.head_commit_ids() == {m}
    d = t.db.disable_commit("d", m, a)
    assert t.db.head_commit_ids() == {d}


def test_merge_not_mergeable(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    for x, y in ((a, b), (b, a), (a, a)):
        with pytest.raises(NotMergeableError, match=r"not mergeable \(one is the ancestor of the other\)"):
            t.db.merge_commit("m", x, y)
    assert t.db.commit_ids() == {a, b}


def test_merge_of_unknown_commit(t: Tuto) -> None:
    a = t.set()
    unknown = ValueCommitId.try_parse("ab" * 20)
    with pytest.raises(CommitNotFoundError, match="Missing commit"):
        t.db.merge_commit("m", a, unknown)


@pytest.mark.parametrize("kind", ["disable_commit", "enable_commit"])
def test_toggle_unknown_or_zero_target(t: Tuto, kind: str) -> None:
    a = t.set()
    toggle = getattr(t.db, kind)
    unknown = ValueCommitId.try_parse("ab" * 20)
    with pytest.raises(CommitNotFoundError, match=f"Missing commit {'ab' * 20}"):
        toggle("x", a, unknown)
    with pytest.raises(CommitNotFoundError, match=f"Missing commit {'0' * 40}"):
        toggle("x", a, ValueCommitId())
    assert t.db.commit_ids() == {a}


def test_toggle_target_need_not_be_an_ancestor(t: Tuto) -> None:
    a = t.set(nickname="a")
    other = t.set(nickname="other")
    d = t.db.disable_commit("d", a, other)
    assert t.db.commit_header(d).target_commit_id() == other
    assert repr(t.db.state(d).attachment_getting().get(t.att, t.key)) == "Optional({nickname='a', password=''})"


def test_delete_commit_only_heads(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    with pytest.raises(NotAHeadError, match=f"{a} is not a head"):
        t.db.delete_commit(a)
    t.db.delete_commit(b)
    assert not t.db.commit_exists(b)
    assert t.db.head_commit_ids() == {a}
    assert t.db.children_commit_ids(a) == set()


def test_delete_commit_parent_with_other_child_stays_inner(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    t.db.delete_commit(c)
    assert t.db.head_commit_ids() == {b}


def test_delete_merge_makes_target_a_head_again(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    m = t.db.merge_commit("m", b, c)
    t.db.delete_commit(m)
    assert t.db.head_commit_ids() == {b, c}
    assert t.db.nephew_commit_ids(c) == set()
    # and writing again afterwards keeps the views consistent
    d = t.nick(b, "d")
    assert t.db.head_commit_ids() == {c, d}


def test_delete_toggle_does_not_make_its_target_a_head(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    c = t.nick(b, "c")
    d = t.db.disable_commit("d", c, b)
    t.db.delete_commit(d)
    assert t.db.head_commit_ids() == {c}


def test_reset_commits_keeps_the_first(t: Tuto) -> None:
    a = t.set(nickname="a")
    b = t.nick(a, "b")
    t.set(nickname="root2")
    t.db.merge_commit("m", b, t.set(nickname="root3"))
    t.db.reset_commits()
    assert t.db.commit_ids() == {a}
    assert t.db.head_commit_ids() == {a}
    assert t.db.first_commit_id() == a == t.db.last_commit_id()
    assert repr(t.db.state(a).attachment_getting().get(t.att, t.key)) == "Optional({nickname='a', password=''})"
    c = t.nick(a, "c")
    assert t.db.head_commit_ids() == {c}


def test_first_and_last(t: Tuto, clock: list[float]) -> None:
    a = t.set(nickname="a")  # ts 1000
    clock[0] = 5000.0
    b = t.set(nickname="b")  # ts 5000
    clock[0] = 2000.0
    c = t.nick(a, "c")  # ts 2000: stored last but older
    assert t.db.first_commit_id() == a
    assert t.db.last_commit_id() == b
    assert c in t.db.commit_ids()


def test_last_commit_tie_goes_to_the_one_stored_last(t: Tuto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commitdb.database, "now_ms", lambda: 42.0)
    ids = [t.set(nickname=name) for name in ("z", "a", "m")]
    assert t.db.last_commit_id() == ids[-1]
    assert t.db.first_commit_id() == ids[0]
    assert {t.db.commit_header(c).timestamp() for c in ids} == {42.0}


def test_children_and_nephews(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    m = t.db.merge_commit("m", b, c)
    assert t.db.children_commit_ids(a) == {b, c}
    assert t.db.children_commit_ids(b) == {m}
    assert t.db.children_commit_ids(c) == set()
    assert t.db.nephew_commit_ids(c) == {m}
    assert t.db.nephew_commit_ids(b) == set()


def test_is_ancestor_and_is_mergeable(t: Tuto) -> None:
    a = t.set()
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    m = t.db.merge_commit("m", b, c)
    other = t.set(nickname="other")
    db = t.db
    assert db.is_ancestor(a, a) and db.is_ancestor(m, m)
    assert db.is_ancestor(a, b) and not db.is_ancestor(b, a)
    assert db.is_ancestor(c, m)  # via the merge target
    assert db.is_ancestor(a, m)
    assert not db.is_ancestor(other, m) and not db.is_ancestor(c, b)
    assert db.is_mergeable(b, c) and db.is_mergeable(other, m)
    assert not db.is_mergeable(a, m) and not db.is_mergeable(m, c) and not db.is_mergeable(b, b)


def test_commit_node_tree(t: Tuto, clock: list[float]) -> None:
    a = t.set(nickname="a", label="A")
    b = t.nick(a, "b", label="B")
    c = t.nick(a, "c", label="C")
    m = t.db.merge_commit("M", b, c)
    other = t.set(nickname="o", label="O")
    root = CommitNode.build(t.db)
    h = root.header()
    assert h.commit_id() == ValueCommitId()
    assert (h.commit_type(), h.label(), h.timestamp()) == ("Mutations", "Root", 0.0)
    assert [n.header().commit_id() for n in root.children()] == [a, other]
    node_a = root.children()[0]
    assert isinstance(node_a.children(), list)
    assert [n.header().commit_id() for n in node_a.children()] == [b, c]
    node_b, node_c = node_a.children()
    assert [n.header().commit_id() for n in node_b.children()] == [m]  # merges under their parent
    assert node_c.children() == []
    assert node_b.children()[0].header().label() == "M"


def test_commits_stored_out_of_order(t: Tuto) -> None:
    """create_commit_data of a child before its parent: heads and states stay right."""
    a = t.set(nickname="a")
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    m = t.db.merge_commit("m", b, c)
    source = t.db.commit_databasing()
    target = CommitDatabase.create_in_memory()
    target.extend_definitions(t.db.definitions())
    backend = target.commit_databasing()
    for cid in (m, c, b, a):  # children first
        assert backend.create_commit_data(source.commit_data(cid)) is True
    assert backend.create_commit_data(source.commit_data(a)) is False
    assert backend.head_commit_ids() == {m}
    assert target.head_commit_ids() == {m}
    assert repr(target.state(m).attachment_getting().get(t.att, t.key)) == \
        repr(t.db.state(m).attachment_getting().get(t.att, t.key))
    target.delete_commit(m)
    assert backend.head_commit_ids() == target.head_commit_ids() == {b, c}


def test_backend_heads_agree_with_the_facade(t: Tuto) -> None:
    a = t.set(nickname="a")
    b = t.nick(a, "b")
    c = t.nick(a, "c")
    m = t.db.merge_commit("m", b, c)
    d = t.db.disable_commit("d", m, c)
    backend = t.db.commit_databasing()
    assert backend.head_commit_ids() == t.db.head_commit_ids() == {d}
    t.db.delete_commit(d)
    t.db.delete_commit(m)
    assert backend.head_commit_ids() == t.db.head_commit_ids() == {b, c}
