"""SPEC §14.3 (xarray projection), §14.5 (eval_actions), §14.6 (update through an unwrap),
§14.10 (merge_state on pairs that did not diverge) — the examples, with their exact outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spec14_support import END, P1, P2, commit, field, m14

from commitdb import (
    CommitDatabase,
    CommitMutableState,
    CommitStateBuilder,
    NotMergeableError,
    Path,
    TypeMismatchError,
    UntypedValueError,
    Value,
    ValueDouble,
    ValueInt64,
    ValueString,
)

ZERO = "00000000-0000-0000-0000-000000000000"
A1, B2 = str(P1), str(P2)


def test_xarray_projection_lists_disabled_positions_only() -> None:
    m = m14()
    key = m.NOTES.create_key()
    root = Path()

    def c1_ops(am: Any) -> None:
        am.set(m.NOTES, key, [])
        am.insert_in_xarray(m.NOTES, key, root, END, P1, "one")

    c1 = commit(m.db, None, "c1", c1_ops)
    c2 = commit(m.db, c1, "c2", lambda am: am.insert_in_xarray(m.NOTES, key, root, END, P2, "two"))
    c3 = commit(m.db, c2, "c3", lambda am: am.remove_in_xarray(m.NOTES, key, root, P1))
    d = m.db.disable_commit("d", c3, c2)

    def dumps(c: Any) -> str:
        doc = m.db.state(c).attachment_getting().get(m.NOTES, key).unwrap(encoded=False)
        return json.dumps(Value.dumps(doc, json=True))

    assert dumps(c3) == json.dumps([[A1, B2, ZERO], [], [[B2, "two"]]])
    assert dumps(d) == json.dumps([[A1, B2, ZERO], [B2], []])
    # the projection loads back, tombstones included
    doc = m.db.state(d).attachment_getting().get(m.NOTES, key).unwrap(encoded=False)
    again = Value.loads(Value.dumps(doc, json=True), m.NOTES.document_type())
    assert again == doc and again.disabled_positions() == [P2]


def _eval_actions_example() -> tuple[Any, dict[str, Any]]:
    """The DAG of the §14.5 example; ``ids`` also holds the login key under "key"."""
    m = m14()
    key = m.LOGIN.create_key()
    ids: dict[str, Any] = {"login": m.LOGIN, "key": key}
    ids["base"] = commit(m.db, None, "base", lambda am: am.set(m.LOGIN, key, {"nickname": "base"}))
    ids["A"] = commit(m.db, ids["base"], "A", lambda am: am.update(m.LOGIN, key, field("nickname"), "a"))
    ids["B"] = commit(m.db, ids["base"], "B", lambda am: am.update(m.LOGIN, key, field("password"), "b"))
    ids["M"] = m.db.merge_commit("M", ids["A"], ids["B"])
    ids["D"] = m.db.disable_commit("D", ids["M"], ids["A"])
    return m.db, ids


def _actions(state: Any) -> list[tuple[str, str, bool]]:
    return [(a.header().label(), a.header().commit_type(), a.enabled()) for a in state.eval_actions()]


def test_eval_actions_lists_mutations_commits_only() -> None:
    db, ids = _eval_actions_example()
    assert _actions(db.state(ids["M"])) == [("B", "Mutations", True), ("A", "Mutations", True),
                                            ("base", "Mutations", True)]
    assert _actions(db.state(ids["D"])) == [("B", "Mutations", True), ("A", "Mutations", False),
                                            ("base", "Mutations", True)]
    assert db.initial_state().eval_actions() == []
    # enabled_by_commit_id still covers the toggles and merges of L(c)
    assert CommitStateBuilder.enabled_by_commit_id(db, ids["D"]) == {
        ids["base"]: True, ids["A"]: False, ids["B"]: True, ids["M"]: True, ids["D"]: True}


def test_merge_state_eval_actions_equal_the_merge_commit() -> None:
    db, ids = _eval_actions_example()
    virtual = CommitStateBuilder.merge_state(db, ids["A"], ids["B"])
    assert _actions(virtual) == _actions(db.state(ids["M"]))


def _update_on_choice(path: Path, value: Any) -> str:
    """Commit one update on a base where `choice` holds int64 0; the field as read back by a
    fresh facade (replay) — after checking the working copy agrees."""
    m = m14()
    key = m.DOC.create_key()
    base = commit(m.db, None, "base", lambda am: am.set(m.DOC, key, {}))
    mutable = CommitMutableState(m.db.state(base))
    mutable.attachment_mutating().update(m.DOC, key, path, value)
    assert len(mutable.mutations()) == 1
    c = m.db.commit_mutations("update", mutable)
    name = path.components()[0].value()
    fresh = CommitDatabase(m.db.commit_databasing())
    shown = repr(getattr(fresh.state(c).attachment_getting().get(m.DOC, key).unwrap(encoded=False), name))
    working = repr(getattr(mutable.attachment_getting().get(m.DOC, key).unwrap(encoded=False), name))
    assert shown == working
    return shown


def test_update_through_a_variant_or_any_unwrap() -> None:
    choice, unwrapped = field("choice"), field("choice").unwrap()
    with pytest.raises(TypeError) as raised:
        _update_on_choice(unwrapped, 5)
    assert str(raised.value) == "the value must be a Viper value, not int"
    assert isinstance(raised.value, UntypedValueError)
    assert _update_on_choice(unwrapped, ValueInt64(5)) == "5"
    assert _update_on_choice(unwrapped, ValueString("x")) == "'x'"
    assert _update_on_choice(unwrapped, ValueDouble(1.5)) == "0"  # recorded, no effect
    with pytest.raises(TypeMismatchError):
        _update_on_choice(choice, 1.5)
    assert _update_on_choice(field("a").unwrap(), ValueInt64(7)) == "Any(7)"


def test_update_through_an_unwrap_records_the_value_with_its_own_type() -> None:
    m = m14()
    key = m.DOC.create_key()
    base = commit(m.db, None, "base", lambda am: am.set(m.DOC, key, {}))
    mutable = CommitMutableState(m.db.state(base))
    am = mutable.attachment_mutating()
    am.update(m.DOC, key, field("a").unwrap(), ValueString("s"))
    # nothing after the unwrap is checked at build time: a path into the held value records
    am.update(m.DOC, key, field("a").unwrap().field("nickname"), ValueString("n"))
    with pytest.raises(UntypedValueError):
        am.update(m.DOC, key, field("a").unwrap().field("nickname"), "n")
    ops = mutable.mutations().all_opcodes()
    assert [repr(op) for op in ops] == ["Document_Update path=.a! value='s'",
                                        "Document_Update path=.a!.nickname value='n'"]
    assert ops[0].value().type() == ValueString("s").type()
    c = m.db.commit_mutations("u", mutable)
    assert repr(m.db.state(c).attachment_getting().get(m.DOC, key).unwrap(encoded=False).a) == "Any('s')"


def test_merge_state_on_pairs_that_did_not_diverge() -> None:
    db, ids = _eval_actions_example()
    base, a = ids["base"], ids["A"]
    # theirs descends from ours: L(ours) + [L(theirs) - L(ours)]
    ahead = CommitStateBuilder.merge_state(db, base, a)
    assert [x.header().commit_id() for x in ahead.eval_actions()] == [a, base]
    doc = (ids["login"], ids["key"])
    assert repr(ahead.attachment_getting().get(*doc)) == "Optional({nickname='a', password=''})"
    # theirs is an ancestor of ours, or ours itself: what merge_commit raises
    for ours, theirs in ((a, base), (a, a), (ids["M"], ids["B"])):
        with pytest.raises(NotMergeableError, match="not mergeable"):
            CommitStateBuilder.merge_state(db, ours, theirs)
        with pytest.raises(NotMergeableError, match="not mergeable"):
            db.merge_state(ours, theirs)



def test_later_components_resolve_against_the_held_value() -> None:
    """SPEC §14.6: after the unwrap, the path walks into whatever the any (or variant) holds."""
    m = m14()
    key = m.DOC.create_key()
    base = commit(m.db, None, "base", lambda am: am.set(m.DOC, key, {}))

    def ops(am: Any) -> None:
        am.update(m.DOC, key, field("a").unwrap(), m.LOGIN.create_structure({"nickname": "x"}))
        am.update(m.DOC, key, field("a").unwrap().field("nickname"), ValueString("n"))
        am.update(m.DOC, key, field("a").unwrap().field("password"), ValueInt64(1))  # wrong type: nothing
        am.update(m.DOC, key, field("a").unwrap().field("missing"), ValueString("m"))  # no such field: nothing

    c = commit(m.db, base, "into the any", ops)
    fresh = CommitDatabase(m.db.commit_databasing())
    doc = fresh.state(c).attachment_getting().get(m.DOC, key).unwrap(encoded=False)
    assert repr(doc.a) == "Any({nickname='n', password=''})"
    assert len(m.db.commit(c).program()) == 4  # every call recorded
