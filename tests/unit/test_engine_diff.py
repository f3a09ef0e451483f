"""``diff`` (SPEC §4): the minimal opcodes that turn the current document into the target."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from commitdb import CommitMutableState, ValueXArray

END = ValueXArray.END


@pytest.fixture
def d(model: SimpleNamespace) -> SimpleNamespace:
    """``base(**fields)`` commits a profile; ``diff(target, recursive)`` returns
    (opcodes, working document, committed document)."""
    db, P = model.db, model.P
    key = P.create_key()
    env = SimpleNamespace(db=db, P=P, key=key, commit=None)

    def base(**fields: Any) -> Any:
        doc = P.create_document()
        for name, value in fields.items():
            setattr(doc, name, value)
        ms = CommitMutableState(db.initial_state())
        ms.attachment_mutating().set(P, key, doc)
        env.commit = db.commit_mutations("base", ms)
        return current()

    def current() -> Any:
        return db.state(env.commit).attachment_getting().get(P, key).unwrap(encoded=False)

    def diff(target: Any, recursive: bool = False) -> tuple[list[Any], Any, Any]:
        ms = CommitMutableState(db.initial_state() if env.commit is None else db.state(env.commit))
        mu = ms.attachment_mutating()
        mu.diff(P, key, target, recursive)
        working = mu.get(P, key).unwrap(encoded=False)
        ops = ms.mutations().all_opcodes()
        c = db.commit_mutations("diff", ms)
        committed = db.state(c).attachment_getting().get(P, key).unwrap(encoded=False)
        assert working == committed and repr(working) == repr(committed)
        return ops, working, committed

    env.base, env.current, env.diff = base, current, diff
    return env


def summary(ops: list[Any]) -> list[tuple[str, str, str]]:
    return [(op.type(), str(op.path()) if op.path() is not None else "", repr(op.value())) for op in ops]


def test_absent_document_gives_one_document_set(d: SimpleNamespace) -> None:
    target = d.P.create_document()
    target.name = "new"
    target.tags = {"a", "b"}
    ops, doc, _ = d.diff(target)
    assert [op.type() for op in ops] == ["Document_Set"]
    assert doc == target


def test_identical_document_gives_nothing(d: SimpleNamespace) -> None:
    cur = d.base(name="same", tags={"x"})
    ops, doc, _ = d.diff(cur.copy())
    assert ops == [] and doc == cur


def test_scalar_fields_replaced_one_by_one(d: SimpleNamespace) -> None:
    cur = d.base(name="a", age=1)
    target = cur.copy()
    target.age = 2
    ops, doc, _ = d.diff(target)
    assert summary(ops) == [("Document_Update", ".age", "2")]
    assert doc == target


def test_set_field_entry_by_entry(d: SimpleNamespace) -> None:
    cur = d.base(tags={"a", "b"})
    target = cur.copy()
    target.tags = {"b", "c"}
    ops, doc, _ = d.diff(target)
    assert sorted(summary(ops)) == [("Set_Subtract", ".tags", "{'a'}"), ("Set_Union", ".tags", "{'c'}")]
    assert doc == target


def test_map_field_entry_by_entry(d: SimpleNamespace) -> None:
    cur = d.base(counters={"a": 1, "b": 2, "k": 5})
    target = cur.copy()
    target.counters = {"b": 3, "c": 4, "k": 5}
    ops, doc, _ = d.diff(target)
    assert sorted(summary(ops)) == [
        ("Map_Subtract", ".counters", "{'a'}"),
        ("Map_Union", ".counters", "{'c': 4}"),
        ("Map_Update", ".counters", "{'b': 3}"),
    ]
    assert doc == target


def test_struct_field_whole_or_recursive(d: SimpleNamespace) -> None:
    cur = d.base(inner={"a": 1, "b": "x"})
    target = cur.copy()
    target.inner.a = 2
    ops, _, _ = d.diff(target)
    assert summary(ops) == [("Document_Update", ".inner", "{a=2, b='x'}")]
    target2 = d.current().copy()
    target2.inner.b = "y"
    ops, doc, _ = d.diff(target2, recursive=True)
    assert summary(ops) == [("Document_Update", ".inner.b", "'y'")]
    assert doc == target2


def test_other_fields_replaced_whole(d: SimpleNamespace) -> None:
    cur = d.base(history=["a", "b"], pair=(1, "x"))
    target = cur.copy()
    target.history = ["a", "c"]
    target.nick = "n"
    target.mood = "happy"
    ops, doc, _ = d.diff(target)
    assert sorted(summary(ops)) == [
        ("Document_Update", ".history", "['a', 'c']"),
        ("Document_Update", ".mood", ".happy"),
        ("Document_Update", ".nick", "Optional('n')"),
    ]
    assert doc == target


def test_xarray_by_position(d: SimpleNamespace) -> None:
    cur = d.base()
    target = cur.copy()
    p1 = target.notes.append("one")
    p2 = target.notes.append("two")
    ops, doc, _ = d.diff(target)
    assert [op.type() for op in ops] == ["XArray_Insert", "XArray_Update", "XArray_Insert", "XArray_Update"]
    assert doc == target and doc.notes.positions() == [p1, p2, END]
    d.commit = d.db.last_commit_id()
    cur = d.current()
    target = cur.copy()
    target.notes.remove(p1)
    target.notes.update(p2, "TWO")
    p0 = target.notes.insert(p2, "between")
    ops, doc, _ = d.diff(target)
    assert sorted(op.type() for op in ops) == ["XArray_Insert", "XArray_Remove", "XArray_Update", "XArray_Update"]
    insert = next(op for op in ops if op.type() == "XArray_Insert")
    assert insert.position() == p0 and insert.before_position() == p2
    assert doc == target
    assert doc.notes.positions() == [p1, p0, p2, END]
    assert repr(doc.notes) == "['between', 'TWO']"


def test_xarray_reordered_replaced_whole(d: SimpleNamespace) -> None:
    cur = d.base()
    target = cur.copy()
    target.notes.append("one")
    target.notes.append("two")
    d.diff(target)
    d.commit = d.db.last_commit_id()
    cur = d.current()
    p1, p2 = cur.notes.positions()[:2]
    reordered = cur.copy()
    fresh = ValueXArray(cur.notes.type())
    # Build an xarray holding the same positions in the other order.
    fresh.insert_position(END.bytes_value(), p2.bytes_value())
    fresh.insert_position(END.bytes_value(), p1.bytes_value())
    fresh.update(p2, "two")
    fresh.update(p1, "one")
    reordered.notes = fresh
    ops, doc, _ = d.diff(reordered)
    assert summary(ops) == [("Document_Update", ".notes", "['two', 'one']")]
    assert doc == reordered
    assert doc.notes.positions() == [p2, p1, END]


def test_diff_of_struct_with_map_of_structs(d: SimpleNamespace) -> None:
    cur = d.base(logins={"main": {"nickname": "a"}, "old": {"nickname": "o"}})
    target = cur.copy()
    target.logins = {"main": {"nickname": "b"}, "new": {"nickname": "n"}}
    ops, doc, _ = d.diff(target)
    assert sorted(summary(ops)) == [
        ("Map_Subtract", ".logins", "{'old'}"),
        ("Map_Union", ".logins", "{'new': {nickname='n', password=''}}"),
        ("Map_Update", ".logins", "{'main': {nickname='b', password=''}}"),
    ]
    assert doc == target


def test_diff_random_targets_apply_exactly(d: SimpleNamespace) -> None:
    import random

    rng = random.Random(7)
    d.base(name="start")
    for step in range(15):
        target = d.current().copy()
        target.name = rng.choice(["a", "b", "c"])
        target.tags = {rng.choice("abcdef") for _ in range(rng.randint(0, 4))}
        target.counters = {rng.choice("wxyz"): rng.randint(0, 3) for _ in range(rng.randint(0, 4))}
        live = [p for p, _ in target.notes.items()]
        if live and rng.random() < 0.5:
            target.notes.remove(rng.choice(live))
        if rng.random() < 0.7:
            held = target.notes.positions()
            target.notes.insert(rng.choice(held), f"n{step}")
        target.inner.a = rng.randint(0, 2)
        _, doc, _ = d.diff(target, recursive=bool(step % 2))
        assert doc == target, step
        d.commit = d.db.last_commit_id()


def test_xarray_target_without_the_current_positions(d: SimpleNamespace) -> None:
    """A target built afresh (it lacks positions the current xarray holds) is reached exactly:
    positions are never dropped by opcodes, so the field is replaced whole."""
    cur = d.base()
    target = cur.copy()
    target.notes.append("one")
    d.diff(target)
    d.commit = d.db.last_commit_id()
    cur = d.current()
    fresh = cur.copy()
    fresh.notes = ["new"]
    ops, doc, _ = d.diff(fresh)
    assert summary(ops) == [("Document_Update", ".notes", "['new']")]
    assert doc == fresh and doc.notes.positions() == fresh.notes.positions()
