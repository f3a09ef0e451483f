"""SPEC §4 replay table, row by row: the working copy (mutable reads see staged writes) and the
state rebuilt after the commit must agree."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from commitdb import (
    CommitMutableState,
    Path,
    ValidationError,
    ValueDouble,
    ValueInt64,
    ValueString,
    ValueUUId,
    ValueXArray,
)

END = ValueXArray.END


def document(getter: Any, attachment: Any, key: Any) -> Any:
    """The document Value, or None when absent."""
    found = getter.get(attachment, key)
    return None if found.is_nil() else found.unwrap(encoded=False)


def base_commit(m: SimpleNamespace, **fields: Any) -> tuple[Any, Any]:
    """A root commit setting a profile document; returns (commit id, key)."""
    key = m.P.create_key()
    doc = m.P.create_document()
    for name, value in fields.items():
        setattr(doc, name, value)
    mutable = CommitMutableState(m.db.initial_state())
    mutable.attachment_mutating().set(m.P, key, doc)
    return m.db.commit_mutations("base", mutable), key


def run(m: SimpleNamespace, ops: Callable[[Any, Any], None], key: Any = None, parent: Any = None,
        **fields: Any) -> tuple[Any, Any]:
    """Apply ``ops(mutating, key)`` on top of a base document; returns (working copy document,
    document rebuilt from the committed state), which must be equal."""
    if parent is None:
        parent, key = base_commit(m, **fields)
    mutable = CommitMutableState(m.db.state(parent))
    mutating = mutable.attachment_mutating()
    ops(mutating, key)
    working = document(mutating, m.P, key)
    commit_id = m.db.commit_mutations("ops", mutable)
    rebuilt = document(m.db.state(commit_id).attachment_getting(), m.P, key)
    assert repr(working) == repr(rebuilt)
    return working, rebuilt


def F(name: str) -> Path:
    return Path.from_field(name)


# --- Document_Set --------------------------------------------------------------------------


def test_document_set_supersedes_earlier_opcodes(model: SimpleNamespace) -> None:
    replacement = model.P.create_document()
    replacement.name = "new"

    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("name"), "old")
        mu.union_in_set(model.P, key, F("tags"), {"t"})
        mu.set(model.P, key, replacement)

    doc, _ = run(model, ops, name="base")
    assert doc.name == "new"
    assert repr(doc.tags) == "{}"


def test_document_set_supersedes_earlier_commits(model: SimpleNamespace) -> None:
    c1, key = base_commit(model, name="first")
    ms = CommitMutableState(model.db.state(c1))
    ms.attachment_mutating().union_in_set(model.P, key, F("tags"), {"a"})
    c2 = model.db.commit_mutations("tags", ms)
    replacement = model.P.create_document()
    replacement.name = "second"
    doc, _ = run(model, lambda mu, k: mu.set(model.P, k, replacement), key=key, parent=c2)
    assert doc.name == "second" and len(doc.tags) == 0


def test_document_set_creates(model: SimpleNamespace) -> None:
    key = model.P.create_key()
    ms = CommitMutableState(model.db.initial_state())
    mu = ms.attachment_mutating()
    assert mu.get(model.P, key).is_nil()
    assert not mu.has(model.P, key)
    mu.set(model.P, key, {"name": "n"})
    assert mu.has(model.P, key)
    assert key in mu.keys(model.P)
    c = model.db.commit_mutations("c", ms)
    getter = model.db.state(c).attachment_getting()
    assert getter.has(model.P, key) and key in getter.keys(model.P)
    assert document(getter, model.P, key).name == "n"


# --- Document_Update -----------------------------------------------------------------------


def test_update_field(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.update(model.P, k, F("age"), 42))
    assert doc.age == 42


def test_update_map_key_last_inserts_then_replaces(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("counters").key("x"), 1)
        assert repr(document(mu, model.P, key).counters) == "{'x': 1}"
        mu.update(model.P, key, F("counters").key("x"), 2)
        mu.update(model.P, key, F("counters").key("a"), 7)

    doc, _ = run(model, ops)
    assert repr(doc.counters) == "{'a': 7, 'x': 2}"


def test_update_through_missing_map_key_does_nothing(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("logins").key("main").field("password"), "pw")

    doc, _ = run(model, ops)
    assert repr(doc.logins) == "{}"


def test_update_through_present_map_key_writes(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("logins").key("main"), {"nickname": "n"})
        mu.update(model.P, key, F("logins").key("main").field("password"), "pw")

    doc, _ = run(model, ops)
    assert repr(doc.logins) == "{'main': {nickname='n', password='pw'}}"


def test_update_unwrap_nil_optional_as_last_sets_it(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.update(model.P, k, F("nick").unwrap(), "nicky"))
    assert repr(doc.nick) == "Optional('nicky')"


def test_update_through_nil_optional_does_nothing(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.update(model.P, k, F("extra").unwrap().field("a"), 5))
    assert repr(doc.extra) == "nil"


def test_update_through_present_optional_writes(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("extra").unwrap(), {"b": "x"})
        mu.update(model.P, key, F("extra").unwrap().field("a"), 5)

    doc, _ = run(model, ops)
    assert repr(doc.extra) == "Optional({a=5, b='x'})"


def test_update_optional_field_whole(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("nick"), "a")

    doc, _ = run(model, ops)
    assert repr(doc.nick) == "Optional('a')"


def test_update_vector_index(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("history").index(1), "B")
        mu.update(model.P, key, F("history").index(2), "no append")
        mu.update(model.P, key, F("history").index(10), "no append")

    doc, _ = run(model, ops, history=["a", "b"])
    assert repr(doc.history) == "['a', 'B']"


def test_update_vector_index_past_end_on_empty(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.update(model.P, k, F("history").index(0), "x"))
    assert repr(doc.history) == "[]"


def test_update_tuple_and_vec_index(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("pair").index(0), 7)
        mu.update(model.P, key, F("pair").index(1), "seven")
        mu.update(model.P, key, F("pos").index(2), -3.0)

    doc, _ = run(model, ops)
    assert repr(doc.pair) == "(7, 'seven')"
    assert repr(doc.pos) == "(0.0, 0.0, -3.0)"


def test_update_through_variant_unwrap_switches_alternative(model: SimpleNamespace) -> None:
    """SPEC §14.6 (replacing §4's "unheld type does nothing"): a value of any alternative is
    written and the variant switches to it; a value of another type does nothing."""
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("v").unwrap(), ValueString("text"))  # holds an int64: switches
        assert repr(document(mu, model.P, key).v) == "'text'"
        mu.update(model.P, key, F("v").unwrap(), ValueDouble(1.5))  # not an alternative: nothing
        assert repr(document(mu, model.P, key).v) == "'text'"
        mu.update(model.P, key, F("v").unwrap(), ValueInt64(5))

    doc, _ = run(model, ops)
    assert repr(doc.v) == "5" and doc.v.index() == 0


def test_update_variant_whole_changes_alternative(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("v"), "text")
        mu.update(model.P, key, F("v").unwrap(), ValueString("more"))

    doc, _ = run(model, ops)
    assert repr(doc.v) == "'more'"


def test_update_root_path_does_nothing(model: SimpleNamespace) -> None:
    replacement = model.P.create_document()
    replacement.name = "replaced"

    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, Path(), replacement)

    doc, _ = run(model, ops, name="kept")
    assert doc.name == "kept"


def test_update_nested_struct_and_enum(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.update(model.P, key, F("inner").field("b"), "deep")
        mu.update(model.P, key, F("mood"), "banned")

    doc, _ = run(model, ops)
    assert repr(doc.inner) == "{a=0, b='deep'}"
    assert repr(doc.mood) == ".banned"


# --- missing document ----------------------------------------------------------------------


def test_missing_document_every_opcode_but_set_does_nothing(model: SimpleNamespace) -> None:
    key = model.P.create_key()
    p = ValueUUId.create()
    ms = CommitMutableState(model.db.initial_state())
    mu = ms.attachment_mutating()
    mu.update(model.P, key, F("name"), "x")
    mu.union_in_set(model.P, key, F("tags"), {"a"})
    mu.subtract_in_set(model.P, key, F("tags"), {"a"})
    mu.union_in_map(model.P, key, F("counters"), {"a": 1})
    mu.update_in_map(model.P, key, F("counters"), {"a": 1})
    mu.subtract_in_map(model.P, key, F("counters"), {"a"})
    mu.insert_in_xarray(model.P, key, F("notes"), END, p, "n")
    mu.update_in_xarray(model.P, key, F("notes"), p, "n")
    mu.remove_in_xarray(model.P, key, F("notes"), p)
    assert mu.get(model.P, key).is_nil()
    assert not mu.has(model.P, key)
    assert key not in mu.keys(model.P)
    assert len(ms.mutations()) == 10  # every call recorded, insert_in_xarray twice
    c = model.db.commit_mutations("noops", ms)
    getter = model.db.state(c).attachment_getting()
    assert getter.get(model.P, key).is_nil()
    assert len(getter.keys(model.P)) == 0


def test_recorded_noop_on_missing_document_takes_effect_after_a_merge(model: SimpleNamespace) -> None:
    """A no-op recorded on a missing document applies once a merge brings the document in."""
    db, P = model.db, model.P
    key = P.create_key()
    root_ms = CommitMutableState(db.initial_state())
    root = db.commit_mutations("root", root_ms)  # empty
    a = CommitMutableState(db.state(root))
    a.attachment_mutating().set(P, key, {"name": "created"})
    ca = db.commit_mutations("create", a)
    b = CommitMutableState(db.state(root))
    b.attachment_mutating().update(P, key, F("age"), 33)
    cb = db.commit_mutations("update", b)
    assert db.state(cb).attachment_getting().get(P, key).is_nil()
    merged = db.merge_commit("m", ca, cb)
    doc = document(db.state(merged).attachment_getting(), P, key)
    assert doc.name == "created" and doc.age == 33


# --- sets and maps -------------------------------------------------------------------------


def test_set_union_and_subtract(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.union_in_set(model.P, key, F("tags"), {"b", "c"})
        mu.subtract_in_set(model.P, key, F("tags"), {"a", "absent"})

    doc, _ = run(model, ops, tags={"a"})
    assert repr(doc.tags) == "{'b', 'c'}"


def test_map_union_inserts_or_replaces(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.union_in_map(model.P, k, F("counters"), {"a": 10, "b": 2}),
                 counters={"a": 1, "z": 26})
    assert repr(doc.counters) == "{'a': 10, 'b': 2, 'z': 26}"


def test_map_subtract_ignores_absent(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.subtract_in_map(model.P, k, F("counters"), {"a", "absent"}),
                 counters={"a": 1, "z": 26})
    assert repr(doc.counters) == "{'z': 26}"


def test_map_update_only_existing_keys(model: SimpleNamespace) -> None:
    doc, _ = run(model, lambda mu, k: mu.update_in_map(model.P, k, F("counters"), {"a": 5, "new": 1}),
                 counters={"a": 1})
    assert repr(doc.counters) == "{'a': 5}"


def test_map_of_structs_union_and_update_by_path(model: SimpleNamespace) -> None:
    def ops(mu: Any, key: Any) -> None:
        mu.union_in_map(model.P, key, F("logins"), {"main": {"nickname": "a"}})
        mu.update(model.P, key, F("logins").key("main").field("nickname"), "b")

    doc, _ = run(model, ops)
    assert repr(doc.logins) == "{'main': {nickname='b', password=''}}"


# --- xarray --------------------------------------------------------------------------------


def positions(doc: Any) -> list[ValueUUId]:
    return list(doc.notes.positions())


def test_xarray_insert_before_end_and_before_held(model: SimpleNamespace) -> None:
    p1, p2, p3 = (ValueUUId.create() for _ in range(3))

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p2, "two")
        mu.insert_in_xarray(model.P, key, F("notes"), p1, p3, "zero")

    doc, _ = run(model, ops)
    assert positions(doc) == [p3, p1, p2, END]
    assert repr(doc.notes) == "['zero', 'one', 'two']"
    assert [(p, v) for p, v in doc.notes.items()] == [(p3, "zero"), (p1, "one"), (p2, "two")]


def test_xarray_insert_of_held_position_keeps_its_place(model: SimpleNamespace) -> None:
    p1, p2 = ValueUUId.create(), ValueUUId.create()

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p2, "two")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "ONE")  # already held: no move

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, p2, END]
    assert repr(doc.notes) == "['ONE', 'two']"  # the XArray_Update still wrote


def test_xarray_insert_of_removed_position_keeps_its_place_and_revives(model: SimpleNamespace) -> None:
    p1, p2 = ValueUUId.create(), ValueUUId.create()

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p2, "two")
        mu.remove_in_xarray(model.P, key, F("notes"), p1)
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "back")

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, p2, END]
    assert repr(doc.notes) == "['back', 'two']"


def test_xarray_insert_before_removed_position(model: SimpleNamespace) -> None:
    p1, p2, p3 = (ValueUUId.create() for _ in range(3))

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p2, "two")
        mu.remove_in_xarray(model.P, key, F("notes"), p2)
        mu.insert_in_xarray(model.P, key, F("notes"), p2, p3, "three")

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, p3, p2, END]
    assert repr(doc.notes) == "['one', 'three']"


def test_xarray_insert_before_unknown_does_nothing(model: SimpleNamespace) -> None:
    p1, p2, unknown = (ValueUUId.create() for _ in range(3))

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), unknown, p2, "lost")

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, END]
    assert repr(doc.notes) == "['one']"


def test_xarray_update_revives_removed_and_ignores_unknown(model: SimpleNamespace) -> None:
    p1, unknown = ValueUUId.create(), ValueUUId.create()

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.remove_in_xarray(model.P, key, F("notes"), p1)
        assert repr(document(mu, model.P, key).notes) == "[]"
        mu.update_in_xarray(model.P, key, F("notes"), p1, "again")
        mu.update_in_xarray(model.P, key, F("notes"), unknown, "lost")

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, END]
    assert repr(doc.notes) == "['again']"


def test_xarray_remove_keeps_position(model: SimpleNamespace) -> None:
    p1, p2 = ValueUUId.create(), ValueUUId.create()

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.insert_in_xarray(model.P, key, F("notes"), END, p2, "two")
        mu.remove_in_xarray(model.P, key, F("notes"), p1)
        mu.remove_in_xarray(model.P, key, F("notes"), p1)  # again: nothing more

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, p2, END]
    assert repr(doc.notes) == "['two']"
    assert len(doc.notes) == 1


def test_xarray_end_is_last_and_cannot_hold_a_value(model: SimpleNamespace) -> None:
    assert END == ValueUUId("00000000-0000-0000-0000-000000000000")
    p1 = ValueUUId.create()

    def ops(mu: Any, key: Any) -> None:
        mu.insert_in_xarray(model.P, key, F("notes"), END, p1, "one")
        mu.update_in_xarray(model.P, key, F("notes"), END, "end")
        mu.remove_in_xarray(model.P, key, F("notes"), END)

    doc, _ = run(model, ops)
    assert positions(doc) == [p1, END]
    assert repr(doc.notes) == "['one']"


def test_xarray_new_position_cannot_be_end(model: SimpleNamespace) -> None:
    c, key = base_commit(model)
    ms = CommitMutableState(model.db.state(c))
    with pytest.raises(ValidationError):
        ms.attachment_mutating().insert_in_xarray(model.P, key, F("notes"), END, END, "x")
    assert len(ms.mutations()) == 0


def test_xarray_concurrent_inserts_both_kept(model: SimpleNamespace) -> None:
    """Inserts on two branches before the same position both survive the merge."""
    db, P = model.db, model.P
    c0, key = base_commit(model)
    p1, p2 = ValueUUId.create(), ValueUUId.create()
    a = CommitMutableState(db.state(c0))
    a.attachment_mutating().insert_in_xarray(P, key, F("notes"), END, p1, "a")
    ca = db.commit_mutations("a", a)
    b = CommitMutableState(db.state(c0))
    b.attachment_mutating().insert_in_xarray(P, key, F("notes"), END, p2, "b")
    cb = db.commit_mutations("b", b)
    doc = document(db.state(db.merge_commit("m", ca, cb)).attachment_getting(), P, key)
    assert positions(doc) == [p1, p2, END]
    assert repr(doc.notes) == "['a', 'b']"
