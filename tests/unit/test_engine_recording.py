"""Recording rules (SPEC §4, FORMAT.md §7.2) and build-time checks (fail fast, record nothing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from commitdb import (
    CommitDBError,
    CommitMutableState,
    CommitOpcodeKey,
    CommitProgram,
    KeyTypeError,
    OperationError,
    Path,
    PathError,
    RangeError,
    TypeMismatchError,
    UnknownAttachmentError,
    UnknownEnumCaseError,
    ValidationError,
    ValueUUId,
    ValueXArray,
)

END = ValueXArray.END


def F(name: str) -> Path:
    return Path.from_field(name)


@pytest.fixture
def setup(model: SimpleNamespace) -> SimpleNamespace:
    """A committed profile document and a mutable state on top of it."""
    key = model.P.create_key()
    ms = CommitMutableState(model.db.initial_state())
    ms.attachment_mutating().set(model.P, key, model.P.create_document())
    c = model.db.commit_mutations("base", ms)
    mutable = CommitMutableState(model.db.state(c))
    return SimpleNamespace(m=model, key=key, mutable=mutable, mu=mutable.attachment_mutating(), base=c)


# --- recording -----------------------------------------------------------------------------


def test_calls_recorded_in_order_including_noops(setup: SimpleNamespace) -> None:
    P, key, mu = setup.m.P, setup.key, setup.mu
    p = ValueUUId.create()
    mu.update(P, key, F("name"), "a")
    mu.update(P, key, F("name"), "a")  # same value again: still recorded
    mu.update(P, key, F("logins").key("none").field("password"), "x")  # no effect
    mu.subtract_in_map(P, key, F("counters"), {"absent"})  # no effect
    mu.update_in_xarray(P, key, F("notes"), p, "x")  # unknown position
    mu.insert_in_xarray(P, key, F("notes"), END, p, "y")
    mu.remove_in_xarray(P, key, F("notes"), p)
    program = setup.mutable.mutations()
    assert isinstance(program, CommitProgram)
    assert [op.type() for op in program.all_opcodes()] == [
        "Document_Update", "Document_Update", "Document_Update", "Map_Subtract", "XArray_Update",
        "XArray_Insert", "XArray_Update", "XArray_Remove",
    ]


def test_insert_in_xarray_records_two_opcodes(setup: SimpleNamespace) -> None:
    P, key, mu = setup.m.P, setup.key, setup.mu
    p = ValueUUId.create()
    mu.insert_in_xarray(P, key, F("notes"), END, p, "v")
    insert, update = setup.mutable.mutations().all_opcodes()
    assert insert.type() == "XArray_Insert"
    assert insert.before_position() == END and insert.position() == p
    assert not hasattr(insert, "value")  # SPEC §14.4
    assert str(insert.path()) == ".notes"
    assert update.type() == "XArray_Update"
    assert update.position() == p and repr(update.value()) == "'v'"
    assert not hasattr(update, "before_position")


@pytest.mark.parametrize("call", [
    lambda mu, P, k: mu.union_in_set(P, k, F("tags"), set()),
    lambda mu, P, k: mu.subtract_in_set(P, k, F("tags"), []),
    lambda mu, P, k: mu.union_in_map(P, k, F("counters"), {}),
    lambda mu, P, k: mu.update_in_map(P, k, F("counters"), {}),
    lambda mu, P, k: mu.subtract_in_map(P, k, F("counters"), set()),
])
def test_empty_set_or_map_argument_records_nothing(setup: SimpleNamespace, call: Any) -> None:
    call(setup.mu, setup.m.P, setup.key)
    assert len(setup.mutable.mutations()) == 0


def test_opcode_accessors(setup: SimpleNamespace) -> None:
    P, key, mu = setup.m.P, setup.key, setup.mu
    mu.set(P, key, {"name": "n"})
    mu.update(P, key, F("counters").key("x"), 3)
    mu.union_in_set(P, key, F("tags"), {"t"})
    mu.subtract_in_set(P, key, F("tags"), {"t"})
    mu.union_in_map(P, key, F("counters"), {"a": 1})
    mu.subtract_in_map(P, key, F("counters"), {"a"})
    mu.update_in_map(P, key, F("counters"), {"x": 4})
    ops = setup.mutable.mutations().all_opcodes()
    assert [op.type() for op in ops] == [
        "Document_Set", "Document_Update", "Set_Union", "Set_Subtract", "Map_Union", "Map_Subtract",
        "Map_Update",
    ]
    concept = setup.m.names["T_C_THING"]
    assert ops[0].key() == CommitOpcodeKey(P.runtime_id(), key.instance_id(), concept.runtime_id())  # SPEC §14.4
    assert all(op.key() == ops[0].key() for op in ops)
    assert repr(ops[0].value()).startswith("{name='n', age=0")
    assert str(ops[1].path()) == ".counters['x']" and repr(ops[1].value()) == "3"
    assert repr(ops[2].value()) == "{'t'}"
    assert repr(ops[5].value()) == "{'a'}"
    assert repr(ops[6].value()) == "{'x': 4}"
    # SPEC §14.4: an opcode has only its kind's accessors
    assert not hasattr(ops[1], "position") and not hasattr(ops[1], "before_position")
    assert not hasattr(ops[0], "path")


def test_program_document_queries(setup: SimpleNamespace) -> None:
    m, mu = setup.m, setup.mu
    k1, k2 = setup.key, m.P.create_key()
    lk = m.L.create_key()
    mu.update(m.P, k1, F("name"), "a")
    mu.set(m.P, k2, {"name": "b"})
    mu.set(m.L, lk, {"nickname": "n"})
    mu.update(m.P, k2, F("age"), 1)
    program = setup.mutable.mutations()
    assert [op.type() for op in program.opcodes(m.P.runtime_id(), k2)] == ["Document_Set", "Document_Update"]
    assert [op.type() for op in program.opcodes(m.P.runtime_id(), k1)] == ["Document_Update"]
    set_keys = program.document_set_keys(m.P.runtime_id())
    assert len(set_keys) == 1
    assert set_keys[0].instance_id() == k2.instance_id()
    assert program.has_document_set(set_keys[0])
    k1_key = program.opcodes(m.P.runtime_id(), k1)[0].key()
    assert not program.has_document_set(k1_key)
    assert len(program.document_set_keys(m.L.runtime_id())) == 1


def test_committed_program_matches_recorded(setup: SimpleNamespace) -> None:
    m, mu = setup.m, setup.mu
    p = ValueUUId.create()
    mu.update(m.P, setup.key, F("nick").unwrap(), "n")
    mu.insert_in_xarray(m.P, setup.key, F("notes"), END, p, "v")
    recorded = setup.mutable.mutations().all_opcodes()
    c = m.db.commit_mutations("c", setup.mutable)
    stored = m.db.commit(c).program()
    assert stored is not None
    assert stored.all_opcodes() == recorded
    assert [op.type() for op in stored.all_opcodes()] == ["Document_Update", "XArray_Insert", "XArray_Update"]


def test_empty_commit_allowed(model: SimpleNamespace) -> None:
    ms = CommitMutableState(model.db.initial_state())
    c = model.db.commit_mutations("empty", ms)
    assert str(c) == "eea951019b41aa88decaa3bd97fecbd585040090"
    assert len(model.db.commit(c).program().all_opcodes()) == 0


# --- build-time checks ---------------------------------------------------------------------


def _refused(setup: SimpleNamespace, error: type[Exception], call: Any, *needles: str) -> None:
    before = len(setup.mutable.mutations())
    with pytest.raises(error) as info:
        call(setup.mu, setup.m, setup.key)
    assert isinstance(info.value, CommitDBError)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    assert len(setup.mutable.mutations()) == before


def test_wrong_document_type(setup: SimpleNamespace) -> None:
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.set(m.P, k, m.L.create_document()))
    _refused(setup, ValidationError, lambda mu, m, k: mu.set(m.P, k, 42))


def test_key_of_another_concept_refused(setup: SimpleNamespace) -> None:
    other_key = setup.m.R.create_key()
    _refused(setup, KeyTypeError, lambda mu, m, k: mu.set(m.P, other_key, m.P.create_document()))
    _refused(setup, KeyTypeError, lambda mu, m, k: mu.update(m.P, other_key, F("name"), "x"))
    with pytest.raises(KeyTypeError):
        setup.mu.get(setup.m.P, other_key)
    with pytest.raises(KeyTypeError):
        setup.m.db.state(setup.base).attachment_getting().get(setup.m.P, other_key)
    with pytest.raises(KeyTypeError):
        setup.m.db.initial_state().attachment_getting().has(setup.m.P, other_key)


def test_unknown_field(setup: SimpleNamespace) -> None:
    _refused(setup, PathError, lambda mu, m, k: mu.update(m.P, k, F("nope"), "x"), "nope")


def test_field_of_a_string(setup: SimpleNamespace) -> None:
    _refused(setup, PathError, lambda mu, m, k: mu.update(m.P, k, F("name").field("x"), "x"))


def test_irregular_path_refused_by_update(setup: SimpleNamespace) -> None:
    _refused(setup, PathError, lambda mu, m, k: mu.update(m.P, k, F("tags").element(0), "x"))
    _refused(setup, PathError, lambda mu, m, k: mu.update(m.P, k, F("counters").entry("x"), "y"))


def test_wrong_scalar_type(setup: SimpleNamespace) -> None:
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.update(m.P, k, F("age"), "forty"))
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.update(m.P, k, F("name"), 3))
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.update(m.P, k, F("counters").key("x"), "s"))


def test_int_out_of_range(setup: SimpleNamespace) -> None:
    _refused(setup, RangeError, lambda mu, m, k: mu.update(m.P, k, F("small"), 256), "int8")
    _refused(setup, RangeError, lambda mu, m, k: mu.update(m.P, k, F("age"), 2**31))


def test_wrong_vec_length(setup: SimpleNamespace) -> None:
    _refused(setup, ValidationError, lambda mu, m, k: mu.update(m.P, k, F("pos"), [1.0, 2.0]))
    _refused(setup, PathError, lambda mu, m, k: mu.update(m.P, k, F("pos").index(3), 1.0))


def test_variant_given_unheld_type(setup: SimpleNamespace) -> None:
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.update(m.P, k, F("v"), 1.5))
    # through the unwrap a Python native is refused: a typed value is needed (SPEC §14.6)
    _refused(setup, TypeError, lambda mu, m, k: mu.update(m.P, k, F("v").unwrap(), [1]), "not list")


def test_enum_cases(setup: SimpleNamespace) -> None:
    _refused(setup, UnknownEnumCaseError, lambda mu, m, k: mu.update(m.P, k, F("mood"), "furious"), "furious")
    setup.mu.update(setup.m.P, setup.key, F("mood"), "banned")
    setup.mu.update(setup.m.P, setup.key, F("mood"), ".happy")
    ops = setup.mutable.mutations().all_opcodes()
    assert [repr(op.value()) for op in ops] == [".banned", ".happy"]


def test_verb_against_container(setup: SimpleNamespace) -> None:
    p = ValueUUId.create()
    _refused(setup, OperationError, lambda mu, m, k: mu.union_in_set(m.P, k, F("counters"), {"a"}))
    _refused(setup, OperationError, lambda mu, m, k: mu.union_in_map(m.P, k, F("tags"), {"a": 1}))
    _refused(setup, OperationError, lambda mu, m, k: mu.insert_in_xarray(m.P, k, F("history"), END, p, "x"))
    _refused(setup, OperationError, lambda mu, m, k: mu.update_in_xarray(m.P, k, F("history"), p, "x"))
    _refused(setup, OperationError, lambda mu, m, k: mu.remove_in_xarray(m.P, k, F("tags"), p))
    _refused(setup, OperationError, lambda mu, m, k: mu.subtract_in_map(m.P, k, F("tags"), {"a"}))


def test_container_element_types_checked(setup: SimpleNamespace) -> None:
    p = ValueUUId.create()
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.union_in_set(m.P, k, F("tags"), {1}))
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.union_in_map(m.P, k, F("counters"), {"a": "b"}))
    _refused(setup, TypeMismatchError, lambda mu, m, k: mu.insert_in_xarray(m.P, k, F("notes"), END, p, 1))


def test_unregistered_attachment(setup: SimpleNamespace, make_db: Any) -> None:
    _, names = make_db("""
namespace X {9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d} {
concept Elsewhere; struct S { string s; }; attachment<Elsewhere, S> s; };
""")
    att = names["X_A_ELSEWHERE_S"]
    key = att.create_key()
    _refused(setup, UnknownAttachmentError, lambda mu, m, k: mu.set(att, key, att.create_document()))
    _refused(setup, UnknownAttachmentError, lambda mu, m, k: mu.update(att, key, F("s"), "x"))
    with pytest.raises(UnknownAttachmentError):
        setup.mu.get(att, key)
    with pytest.raises(UnknownAttachmentError):
        setup.m.db.state(setup.base).attachment_getting().keys(att)


def test_key_attachment_of_other_concept(setup: SimpleNamespace) -> None:
    """A ``key<Other>`` field accepts a key of Other and refuses a key of Thing."""
    m, mu = setup.m, setup.mu
    ref_key = m.R.create_key()
    other = m.R.create_key()
    mu.set(m.R, ref_key, {"label": "r"})
    mu.update(m.R, ref_key, F("other"), other)
    assert mu.get(m.R, ref_key).unwrap(encoded=False).other == other
    _refused(setup, ValidationError, lambda mu, m, k: mu.update(m.R, ref_key, F("other"), k))


def test_programs_cannot_be_altered_through_their_values(setup: SimpleNamespace) -> None:
    m, mu = setup.m, setup.mu
    mu.update(m.P, setup.key, F("inner"), {"a": 1})
    c = m.db.commit_mutations("c", setup.mutable)
    program = m.db.commit(c).program()
    program.all_opcodes()[0].value().a = 99
    m.db.engine_reader().forget_snapshots()  # force a replay from the cached program
    doc = m.db.state(c).attachment_getting().get(m.P, setup.key).unwrap(encoded=False)
    assert repr(doc.inner) == "{a=1, b=''}"
    assert repr(m.db.commit(c).program().all_opcodes()[0].value()) == "{a=1, b=''}"
