"""SPEC §14.4 (opcode objects), §14.9 (path printing), §14.11 (printing and conversions)."""

from __future__ import annotations

import pytest
from spec14_support import END, P1, commit, field, m14

from commitdb import (
    OPCODE_NAMES,
    CommitMutableState,
    CommitOpcode,
    CommitOpcodeKey,
    CommitOpcodeXArrayInsert,
    Path,
    TypeMismatchError,
    Value,
    ValueAny,
    ValueInt32,
    ValueInt64,
    ValueUUId,
)

ACCESSORS = ("path", "value", "position", "before_position")
SHOWN = {
    "Document_Set": ("value",),
    "Document_Update": ("path", "value"), "Set_Union": ("path", "value"), "Set_Subtract": ("path", "value"),
    "Map_Union": ("path", "value"), "Map_Subtract": ("path", "value"), "Map_Update": ("path", "value"),
    "XArray_Insert": ("path", "before_position", "position"),
    "XArray_Update": ("path", "position", "value"),
    "XArray_Remove": ("path", "position"),
}


def _program_of_every_kind() -> tuple[list[CommitOpcode], object]:
    m = m14()
    login_key, doc_key, notes_key = m.LOGIN.create_key(), m.DOC.create_key(), m.NOTES.create_key()
    ms = CommitMutableState(m.db.initial_state())
    am = ms.attachment_mutating()
    am.set(m.LOGIN, login_key, {"nickname": "a"})
    am.set(m.DOC, doc_key, m.DOC.create_document())
    am.update(m.DOC, doc_key, field("choice"), 3)
    am.union_in_set(m.DOC, doc_key, field("tags"), {"t"})
    am.subtract_in_set(m.DOC, doc_key, field("tags"), {"u"})
    am.union_in_map(m.DOC, doc_key, field("counters"), {"a": 1})
    am.subtract_in_map(m.DOC, doc_key, field("counters"), {"z"})
    am.update_in_map(m.DOC, doc_key, field("counters"), {"b": 200})
    am.set(m.NOTES, notes_key, [])
    am.insert_in_xarray(m.NOTES, notes_key, Path(), END, P1, "one")
    am.remove_in_xarray(m.NOTES, notes_key, Path(), P1)
    return ms.mutations().all_opcodes(), login_key


def test_opcodes_expose_only_the_accessors_of_their_kind() -> None:
    ops, _ = _program_of_every_kind()
    assert sorted({op.type() for op in ops}) == sorted(OPCODE_NAMES)
    for op in ops:
        present = tuple(name for name in ACCESSORS if hasattr(op, name))
        assert sorted(present) == sorted(SHOWN[op.type()]), op.type()
        assert isinstance(op, CommitOpcode)
    assert not hasattr(ops[0], "path")  # Document_Set
    assert isinstance(ops[-3], CommitOpcodeXArrayInsert) and not hasattr(ops[-3], "value")


def test_opcode_reprs_show_only_their_fields() -> None:
    ops, _ = _program_of_every_kind()
    reprs = [repr(op) for op in ops]
    assert reprs[0] == "Document_Set value={nickname='a', password=''}"
    assert reprs[3] == "Set_Union path=.tags value={'t'}"
    assert reprs[7] == "Map_Update path=.counters value={'b': 200}"
    assert reprs[9] == ("XArray_Insert path=. before_position=00000000-0000-0000-0000-000000000000 "
                        "position=00000000-0000-0000-0000-0000000000a1")
    assert reprs[10] == "XArray_Update path=. position=00000000-0000-0000-0000-0000000000a1 value='one'"
    assert reprs[11] == "XArray_Remove path=. position=00000000-0000-0000-0000-0000000000a1"


def test_opcode_key_is_a_hashable_value_not_a_tuple() -> None:
    ops, login_key = _program_of_every_kind()
    key = ops[0].key()
    assert isinstance(key, CommitOpcodeKey) and not isinstance(key, tuple)
    m = m14()
    assert key.attachment_runtime_id() == m.LOGIN.runtime_id()
    assert key.instance_id() == login_key.instance_id()
    assert key.concept_runtime_id() == ValueUUId(login_key.concept_rid())
    same = CommitOpcodeKey(key.attachment_runtime_id(), key.instance_id(), key.concept_runtime_id())
    assert same == key and hash(same) == hash(key) and len({key, same, ops[1].key()}) == 2
    assert ops[1].key() == ops[2].key() and ops[1].key() != key


def test_program_queries_take_and_give_opcode_keys() -> None:
    m = m14()
    k1, k2 = m.LOGIN.create_key(), m.LOGIN.create_key()
    c = commit(m.db, None, "two", lambda am: (am.set(m.LOGIN, k1, {}), am.update(m.LOGIN, k2, field("nickname"), "x")))
    program = m.db.commit(c).program()
    first, second = program.all_opcodes()
    assert program.document_set_keys(m.LOGIN.runtime_id()) == [first.key()]
    assert program.has_document_set(first.key()) and not program.has_document_set(second.key())


def test_entry_components_print_key_then_entry() -> None:
    assert str(Path.from_field("counters").entry("x")) == ".counters['x'].entry"
    assert str(Path.from_field("counters").entry("x").index(0)) == ".counters['x'].entry[0]"
    assert str(Path.from_field("m").entry(3).field("f")) == ".m[3].entry.f"
    assert str(Path.from_field("counters").key("x")) == ".counters['x']"
    assert str(Path.from_field("tags").element(1)) == ".tags.element[1]"


def test_any_prints_its_held_value_wrapped_and_a_variant_bare() -> None:
    m = m14()
    assert repr(ValueAny(ValueInt64(5))) == "Any(5)"
    assert repr(ValueAny()) == "nil"
    doc = m.DOC.create_document()
    doc.a = ValueAny(ValueInt64(5))
    doc.choice = "x"
    assert repr(doc) == "{tags={}, counters={}, choice='x', a=Any(5)}"


def test_typed_values_are_never_converted_natives_are_accepted() -> None:
    m = m14()
    counters = m.DOC.document_type().field("counters").type()
    with pytest.raises(TypeMismatchError, match="int32"):
        Value.create(counters, {"a": ValueInt32(5)})
    assert repr(Value.create(counters, {"a": 5})) == "{'a': 5}"
    key = m.DOC.create_key()
    ms = CommitMutableState(m.db.initial_state())
    ms.attachment_mutating().set(m.DOC, key, {})
    with pytest.raises(TypeMismatchError):
        ms.attachment_mutating().update(m.DOC, key, field("counters").key("a"), ValueInt32(5))
    assert len(ms.mutations()) == 1


def test_commit_id_sets_are_python_sets() -> None:
    m = m14()
    assert m.db.head_commit_ids() == set() and type(m.db.head_commit_ids()) is set
    assert type(m.db.commit_ids()) is set and repr(m.db.commit_ids()) == "set()"
