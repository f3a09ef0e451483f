"""State reconstruction (SPEC §6.3): linearisation, merges, toggles, tombstones, best effort."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from commitdb import (
    CommitDatabase,
    CommitMutableState,
    CommitStateBuilder,
    Path,
    ValueCommitId,
    ValueInt64,
    ValueMap,
    ValueSet,
    ValueString,
    ValueUUId,
    ValueXArray,
)
from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    MAP_SUBTRACT,
    MAP_UNION,
    SET_UNION,
    XARRAY_INSERT,
    XARRAY_UPDATE,
    new_opcode,
)

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")
END = ValueXArray.END


class Logins:
    """Commits on the Tuto login of one user; ``read(c)`` prints the document at c."""

    def __init__(self, db: CommitDatabase, names: dict[str, Any]) -> None:
        self.db, self.names = db, names
        self.att = names["TUTO_A_USER_LOGIN"]
        self.key = self.att.create_key(U1)

    def set(self, parent: Any = None, nickname: str = "n", password: str = "p") -> ValueCommitId:
        ms = CommitMutableState(self.db.initial_state() if parent is None else self.db.state(parent))
        ms.attachment_mutating().set(self.att, self.key, {"nickname": nickname, "password": password})
        return self.db.commit_mutations("set", ms)

    def update(self, parent: Any, field: str, value: str) -> ValueCommitId:
        ms = CommitMutableState(self.db.state(parent))
        ms.attachment_mutating().update(self.att, self.key, Path.from_field(field), value)
        return self.db.commit_mutations(f"{field}={value}", ms)

    def read(self, commit_id: Any) -> str:
        return repr(self.db.state(commit_id).attachment_getting().get(self.att, self.key))

    def nick(self, commit_id: Any) -> str | None:
        found = self.db.state(commit_id).attachment_getting().get(self.att, self.key)
        return None if found.is_nil() else found.unwrap(encoded=False).nickname


@pytest.fixture
def lg(tuto: tuple[CommitDatabase, dict[str, Any]]) -> Logins:
    return Logins(*tuto)


def ids(actions: list[Any]) -> list[ValueCommitId]:
    return [a.header().commit_id() for a in actions]


# --- merges --------------------------------------------------------------------------------


def test_target_wins_on_a_path_both_wrote(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "nickname", "c")
    assert lg.nick(lg.db.merge_commit("m1", b, c)) == "c"
    assert lg.nick(lg.db.merge_commit("m2", c, b)) == "b"  # merge(a, b) != merge(b, a)


def test_merge_mixes_fields_from_both_sides(lg: Logins) -> None:
    a = lg.set(nickname="a", password="pa")
    b = lg.update(a, "nickname", "bob")
    c = lg.update(a, "password", "secret")
    m = lg.db.merge_commit("m", b, c)
    assert lg.read(m) == "Optional({nickname='bob', password='secret'})"
    assert lg.read(lg.db.merge_commit("m2", c, b)) == "Optional({nickname='bob', password='secret'})"


def test_whole_branches_not_interleaved_by_time(lg: Logins, clock: list[float]) -> None:
    a = lg.set(nickname="a")  # t=1000
    b1 = lg.update(a, "nickname", "b1")  # t=1001
    c1 = lg.update(a, "nickname", "c1")  # t=1002
    b2 = lg.update(b1, "nickname", "b2")  # t=1003, newest write
    m = lg.db.merge_commit("m", b2, c1)
    assert lg.nick(m) == "c1"
    assert ids(lg.db.state(m).eval_actions()) == [c1, b2, b1, a]  # Mutations only (SPEC §14.5)
    m2 = lg.db.merge_commit("m2", c1, b2)
    assert lg.nick(m2) == "b2"
    assert ids(lg.db.state(m2).eval_actions()) == [b2, b1, c1, a]


def test_commit_id_order_plays_no_part(lg: Logins) -> None:
    a = lg.set(nickname="a")
    branches = [lg.update(a, "nickname", f"x{i}") for i in range(6)]
    for x in branches:
        for y in branches:
            if x != y:
                assert repr(lg.db.merge_state(x, y).attachment_getting().get(lg.att, lg.key)) == lg.read(y)


def test_criss_cross_merges(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "nickname", "c")
    m1 = lg.db.merge_commit("m1", b, c)
    m2 = lg.db.merge_commit("m2", c, b)
    assert (lg.nick(m1), lg.nick(m2)) == ("c", "b")
    top = lg.db.merge_commit("top", m1, m2)
    # L(top) = L(m1) + [m2] + [top] = [a, b, c, m1, m2, top]
    assert ids(lg.db.state(top).eval_actions()) == [c, b, a]  # merges are not listed (SPEC §14.5)
    assert lg.nick(top) == "c"
    top2 = lg.db.merge_commit("top2", m2, m1)
    assert ids(lg.db.state(top2).eval_actions()) == [b, c, a]
    assert lg.nick(top2) == "b"


def test_merge_state_equals_merge_commit(lg: Logins) -> None:
    a = lg.set(nickname="a", password="pa")
    b = lg.update(a, "nickname", "bob")
    c = lg.update(a, "password", "secret")
    virtual = CommitStateBuilder.merge_state(lg.db, b, c)
    assert virtual.commit_id() == ValueCommitId()
    assert repr(virtual.attachment_getting().get(lg.att, lg.key)) == "Optional({nickname='bob', password='secret'})"
    assert [x.header().commit_id() for x in virtual.eval_actions()] == [c, b, a]
    assert lg.db.commit_ids() == {a, b, c}  # nothing written
    m = lg.db.merge_commit("m", b, c)
    assert repr(virtual.attachment_getting().get(lg.att, lg.key)) == lg.read(m)
    old_style = lg.db.merge_state(b, c)
    assert repr(old_style.attachment_getting().get(lg.att, lg.key)) == lg.read(m)


def test_merge_state_with_disabled_commits(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "password", "c")
    d = lg.db.disable_commit("d", c, c)
    virtual = CommitStateBuilder.merge_state(lg.db, b, d)
    m = lg.db.merge_commit("m", b, d)
    assert repr(virtual.attachment_getting().get(lg.att, lg.key)) == lg.read(m) == \
        "Optional({nickname='b', password='p'})"


# --- toggles -------------------------------------------------------------------------------


def test_disable_and_disable_of_a_disable(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    d1 = lg.db.disable_commit("undo", b, b)
    assert lg.nick(d1) == "a"
    d2 = lg.db.disable_commit("redo", d1, d1)
    assert lg.nick(d2) == "b"
    d3 = lg.db.disable_commit("undo again", d2, d2)
    assert lg.nick(d3) == "a"
    flags = CommitStateBuilder.enabled_by_commit_id(lg.db, d2)
    assert flags[b] is True and flags[d1] is False and flags[d2] is True


def test_one_enable_undoes_two_disables(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    d1 = lg.db.disable_commit("d1", b, b)
    d2 = lg.db.disable_commit("d2", d1, b)
    assert lg.nick(d2) == "a"
    e = lg.db.enable_commit("e", d2, b)
    assert lg.nick(e) == "b"


def test_enable_of_never_disabled_changes_nothing(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    e = lg.db.enable_commit("e", b, b)
    assert lg.read(e) == lg.read(b)
    assert all(CommitStateBuilder.enabled_by_commit_id(lg.db, e).values())


def test_disabling_a_merge_disables_what_it_brought_in(lg: Logins) -> None:
    a = lg.set(nickname="a", password="pa")
    b = lg.update(a, "nickname", "b")
    c1 = lg.update(a, "password", "c1")
    c2 = lg.update(c1, "password", "c2")
    m = lg.db.merge_commit("m", b, c2)
    assert lg.read(m) == "Optional({nickname='b', password='c2'})"
    d = lg.db.disable_commit("d", m, m)
    assert lg.read(d) == "Optional({nickname='b', password='pa'})"
    flags = CommitStateBuilder.enabled_by_commit_id(lg.db, d)
    assert (flags[m], flags[c1], flags[c2], flags[b], flags[a]) == (False, False, False, True, True)
    # enabling one brought-in commit again after the merge was disabled
    e = lg.db.enable_commit("e", d, c1)
    assert lg.read(e) == "Optional({nickname='b', password='c1'})"


def test_toggle_on_a_non_ancestor_only_flips_its_flag(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    other = lg.set(nickname="other")
    d = lg.db.disable_commit("d", b, other)
    assert lg.read(d) == lg.read(b)
    flags = CommitStateBuilder.enabled_by_commit_id(lg.db, d)
    assert flags[a] and flags[b] and flags[d]
    assert flags.get(other) is False
    assert lg.db.enabled_by_commit_id(d) == flags
    # The merge that brings ``other`` in after the toggle: the latest decision in L wins.
    m = lg.db.merge_commit("m", other, d)  # L = [other, a, b, d, m]: d decides other
    assert CommitStateBuilder.enabled_by_commit_id(lg.db, m)[other] is False
    m2 = lg.db.merge_commit("m2", d, other)  # L = [a, b, d, other, m2]: other is newer than d
    assert CommitStateBuilder.enabled_by_commit_id(lg.db, m2)[other] is True


def test_disabling_the_creating_commit_makes_the_document_absent(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    d = lg.db.disable_commit("d", b, a)
    getter = lg.db.state(d).attachment_getting()
    assert getter.get(lg.att, lg.key).is_nil()
    assert not getter.has(lg.att, lg.key)
    assert len(getter.keys(lg.att)) == 0
    assert lg.nick(lg.db.enable_commit("e", d, a)) == "b"


def test_disabled_set_restores_the_previous_set(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.set(a, nickname="b")
    c = lg.update(b, "password", "c")
    d = lg.db.disable_commit("d", c, b)
    assert lg.read(d) == "Optional({nickname='a', password='c'})"


def test_eval_actions(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    d = lg.db.disable_commit("d", b, b)
    actions = lg.db.state(d).eval_actions()
    assert ids(actions) == [b, a]  # the Disable commit itself is not listed (SPEC §14.5)
    assert [x.enabled() for x in actions] == [False, True]
    assert [x.header().commit_type() for x in actions] == ["Mutations", "Mutations"]
    assert [op.type() for op in actions[0].program().all_opcodes()] == ["Document_Update"]
    assert lg.db.enabled_by_commit_id(d) == {a: True, b: False, d: True}
    assert lg.db.initial_state().eval_actions() == []


def test_both_api_generations_agree(lg: Logins) -> None:
    a = lg.set(nickname="a")
    b = lg.update(a, "nickname", "b")
    c = lg.update(a, "password", "c")
    m = lg.db.merge_commit("m", b, c)
    d = lg.db.disable_commit("d", m, b)
    for cid in (a, b, c, m, d):
        old, new = lg.db.state(cid), CommitStateBuilder.state(lg.db, cid)
        assert old.commit_id() == new.commit_id() == cid
        assert repr(old.attachment_getting().get(lg.att, lg.key)) == repr(new.attachment_getting().get(lg.att, lg.key))
        assert lg.db.enabled_by_commit_id(cid) == CommitStateBuilder.enabled_by_commit_id(lg.db, cid)
    assert CommitStateBuilder.initial_state(lg.db).commit_id() == lg.db.initial_state().commit_id() == ValueCommitId()
    assert len(CommitStateBuilder.initial_state(lg.db).attachment_getting().keys(lg.att)) == 0


# --- xarray tombstones ---------------------------------------------------------------------


@pytest.fixture
def xa(model: SimpleNamespace) -> SimpleNamespace:
    """A profile document; ``run(parent, fn)`` commits ``fn(mutating, key)``; ``notes(c)``."""
    key = model.P.create_key()
    db, P = model.db, model.P

    def run(parent: Any, fn: Any) -> ValueCommitId:
        ms = CommitMutableState(db.initial_state() if parent is None else db.state(parent))
        fn(ms.attachment_mutating(), key)
        return db.commit_mutations("x", ms)

    def notes(commit_id: Any) -> Any:
        return db.state(commit_id).attachment_getting().get(P, key).unwrap(encoded=False).notes

    notes_path = Path.from_field("notes")
    base = run(None, lambda mu, k: mu.set(P, k, P.create_document()))
    return SimpleNamespace(db=db, P=P, key=key, run=run, notes=notes, path=notes_path, base=base)


def test_disabled_insert_leaves_a_tombstone(xa: SimpleNamespace) -> None:
    p1, p2, p3 = (ValueUUId.create() for _ in range(3))
    b = xa.run(xa.base, lambda mu, k: mu.insert_in_xarray(xa.P, k, xa.path, END, p1, "one"))
    c = xa.run(b, lambda mu, k: mu.insert_in_xarray(xa.P, k, xa.path, p1, p2, "two"))
    assert xa.notes(c).positions() == [p2, p1, END]
    d = xa.db.disable_commit("d", c, b)
    notes = xa.notes(d)
    assert notes.positions() == [p2, p1, END]  # the tombstone keeps its place
    assert notes.disabled_positions() == [p1]
    assert repr(notes) == "['two']"
    assert notes.at(p1) is None
    # An update on a tombstone does nothing, in the working copy and after the commit.
    ms = CommitMutableState(xa.db.state(d))
    mu = ms.attachment_mutating()
    mu.update_in_xarray(xa.P, xa.key, xa.path, p1, "revived?")
    assert repr(mu.get(xa.P, xa.key).unwrap(encoded=False).notes) == "['two']"
    e = xa.db.commit_mutations("e", ms)
    assert repr(xa.notes(e)) == "['two']"
    # Later inserts relative to the tombstone keep their place.
    f = xa.run(e, lambda mu, k: mu.insert_in_xarray(xa.P, k, xa.path, p1, p3, "three"))
    assert xa.notes(f).positions() == [p2, p3, p1, END]
    assert repr(xa.notes(f)) == "['two', 'three']"
    # Enabling the insert again brings its position back to life; the update recorded while it
    # was a tombstone (a recorded no-op) now takes effect.
    g = xa.db.enable_commit("g", f, b)
    assert repr(xa.notes(g)) == "['two', 'three', 'revived?']"
    assert xa.notes(g).disabled_positions() == []


def test_removed_position_is_revived_by_update(xa: SimpleNamespace) -> None:
    p1 = ValueUUId.create()
    b = xa.run(xa.base, lambda mu, k: mu.insert_in_xarray(xa.P, k, xa.path, END, p1, "one"))
    c = xa.run(b, lambda mu, k: mu.remove_in_xarray(xa.P, k, xa.path, p1))
    assert repr(xa.notes(c)) == "[]" and xa.notes(c).positions() == [p1, END]
    assert xa.notes(c).disabled_positions() == []
    d = xa.run(c, lambda mu, k: mu.update_in_xarray(xa.P, k, xa.path, p1, "again"))
    assert repr(xa.notes(d)) == "['again']"


def test_disabled_insert_then_later_update_in_history(xa: SimpleNamespace) -> None:
    """An update recorded before the disable, on the tombstoned position, does nothing."""
    p1 = ValueUUId.create()
    b = xa.run(xa.base, lambda mu, k: mu.insert_in_xarray(xa.P, k, xa.path, END, p1, "one"))
    c = xa.run(b, lambda mu, k: mu.update_in_xarray(xa.P, k, xa.path, p1, "changed"))
    d = xa.db.disable_commit("d", c, b)
    assert repr(xa.notes(d)) == "[]"
    assert xa.notes(d).positions() == [p1, END]


# --- best effort ---------------------------------------------------------------------------


def test_best_effort_reconstruction_never_fails(model: SimpleNamespace) -> None:
    """Opcodes that cannot apply (forged past the build-time checks) are no-ops."""
    db, P, L = model.db, model.P, model.L
    key = P.create_key()
    ms = CommitMutableState(db.initial_state())
    mu = ms.attachment_mutating()
    mu.set(P, key, {"name": "ok", "tags": ["t"], "counters": {"c": 1}})
    dk = ms.mutations().all_opcodes()[0].doc_key
    f = Path.from_field
    fields = P.document_type()
    strings = ValueSet(fields.field("tags").type(), ["x"])
    counters = ValueMap(fields.field("counters").type(), {"z": 26})
    forged = [
        new_opcode(DOCUMENT_UPDATE, dk, f("age").const(), value=ValueString("not an int")),
        new_opcode(DOCUMENT_UPDATE, dk, f("name").const(), value=ValueInt64(3)),
        new_opcode(DOCUMENT_UPDATE, dk, f("nope").const(), value=ValueInt64(3)),
        new_opcode(DOCUMENT_UPDATE, dk, f("name").field("deeper").const(), value=ValueInt64(3)),
        new_opcode(SET_UNION, dk, f("counters").const(), value=strings),
        new_opcode(MAP_UNION, dk, f("tags").const(), value=counters),
        new_opcode(MAP_SUBTRACT, dk, f("counters").const(), value=counters),
        new_opcode(XARRAY_INSERT, dk, f("tags").const(), position=ValueUUId.create().bytes_value(),
                     before=bytes(16)),
        new_opcode(XARRAY_UPDATE, dk, f("notes").const(), position=bytes(16), value=ValueInt64(1)),
        new_opcode(DOCUMENT_SET, dk, value=L.create_document()),  # a document of another type
    ]
    ms.raw_opcodes().extend(forged)
    c = db.commit_mutations("forged", ms)
    fresh = CommitDatabase(db.commit_databasing())
    doc = fresh.state(c).attachment_getting().get(P, key)
    assert repr(doc).startswith("Optional({name='ok', age=0,")
    assert repr(doc.unwrap(encoded=False).tags) == "{'t'}"
    assert repr(doc.unwrap(encoded=False).counters) == "{'c': 1}"
