"""Printed forms (SPEC §3.2), validation (SPEC §3.1) and zero values (FORMAT.md §4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitdb.errors import (
    KeyTypeError,
    RangeError,
    TypeMismatchError,
    UnknownEnumCaseError,
    ValidationError,
)
from commitdb.values import (
    NameSpace,
    Type,
    TypeAny,
    TypeAnyConcept,
    TypeBlob,
    TypeBlobId,
    TypeBool,
    TypeClub,
    TypeCommitId,
    TypeConcept,
    TypeDouble,
    TypeEnumeration,
    TypeFloat,
    TypeInt8,
    TypeInt16,
    TypeInt32,
    TypeInt64,
    TypeKey,
    TypeMap,
    TypeMat,
    TypeOptional,
    TypeSet,
    TypeString,
    TypeStructure,
    TypeTuple,
    TypeUInt8,
    TypeUInt16,
    TypeUInt32,
    TypeUInt64,
    TypeUUId,
    TypeVariant,
    TypeVec,
    TypeVector,
    TypeVoid,
    TypeXArray,
    Value,
    ValueAny,
    ValueBlob,
    ValueBlobId,
    ValueBool,
    ValueCommitId,
    ValueDouble,
    ValueEnumeration,
    ValueFloat,
    ValueInt8,
    ValueInt64,
    ValueKey,
    ValueOptional,
    ValueString,
    ValueUInt8,
    ValueUUId,
    ValueVariant,
    ValueXArray,
)

NS = NameSpace("f529bc42-0618-4f54-a3fb-d55f95c5ad03", "Tuto")
STRING = TypeString()
USER = TypeConcept(NS, "User")
ADMIN = TypeConcept(NS, "Admin", USER)
GROUP = TypeConcept(NS, "Group")
STATUS = TypeEnumeration(NS, "Status", ["active", "inactive", "banned"])
LOGIN = TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING)])
PROFILE = TypeStructure(
    NS,
    "Profile",
    [
        ("tags", TypeSet(STRING)),
        ("counters", TypeMap(STRING, TypeInt64())),
        ("nick", TypeOptional(STRING)),
        ("status", STATUS),
        ("history", TypeVector(STRING)),
        ("pair", TypeTuple([TypeInt64(), STRING])),
        ("level", TypeInt8(), 3),
    ],
)
UUID_TEXT = "12345678-1234-1234-1234-123456789abc"


# --- reprs ------------------------------------------------------------------------------------


def test_struct_repr_field_order() -> None:
    login = Value.create(LOGIN, {"password": "", "nickname": "alice"})
    assert repr(login) == "{nickname='alice', password=''}"
    assert str(login) == "{nickname='alice', password=''}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (ValueString("x"), "'x'"),
        (ValueString(""), "''"),
        (ValueString("it's"), "'it\\'s'"),
        (ValueBool(True), "true"),
        (ValueBool(False), "false"),
        (ValueInt64(-42), "-42"),
        (ValueUInt8(255), "255"),
        (ValueDouble(0.5), "0.5"),
        (ValueDouble(42), "42.0"),
        (ValueFloat(42), "42.0"),
        (ValueFloat(0.1), "0.1"),
        (ValueFloat(0.5), "0.5"),
        (ValueFloat(-2.75), "-2.75"),
        (ValueFloat(1 / 3), "0.33333334"),
        (ValueDouble(0.1), "0.1"),
        (ValueDouble(1 / 3), "0.3333333333333333"),
        (ValueDouble(-0.0), "-0.0"),
        (ValueFloat(math.inf), "inf"),
        (ValueDouble(-math.inf), "-inf"),
        (ValueDouble(math.nan), "nan"),
    ],
)
def test_scalar_reprs(value: Value, text: str) -> None:
    assert repr(value) == text


def test_float32_repr_near_the_largest_float() -> None:
    # the shorter candidate texts round beyond the largest binary32: printing must not raise
    assert repr(ValueFloat(3.4025001647762064e38)) == "3.4025002e+38"
    assert repr(ValueFloat(3.4028234663852886e38)) == "3.4028235e+38"
    assert ValueFloat(float("3.4028235e+38")) == ValueFloat(3.4028234663852886e38)


def test_float32_value_is_rounded_but_prints_shortest() -> None:
    f = ValueFloat(0.1)
    assert float(f) != 0.1  # stored as binary32
    assert abs(float(f) - 0.1) < 1e-8
    assert repr(f) == "0.1"
    assert repr(ValueFloat(float(f))) == "0.1"


def test_enum_repr() -> None:
    assert repr(Value.create(STATUS, "banned")) == ".banned"
    assert repr(ValueEnumeration(STATUS, 1)) == ".inactive"
    assert repr(Value.create(STATUS)) == ".active"


def test_uuid_and_key_reprs_are_bare() -> None:
    assert repr(ValueUUId(UUID_TEXT)) == UUID_TEXT
    assert repr(ValueUUId("{" + UUID_TEXT.upper() + "}")) == UUID_TEXT
    key = ValueKey.create(USER, UUID_TEXT)
    assert repr(key) == UUID_TEXT
    assert str(key.type()) == "key<Tuto::User>"
    assert key.instance_id() == ValueUUId(UUID_TEXT)


def test_ids_repr_40_hex() -> None:
    h = "0123456789abcdef0123456789abcdef01234567"
    assert repr(ValueCommitId(h)) == h
    assert repr(ValueBlobId(h.upper())) == h
    assert repr(ValueCommitId()) == "0" * 40
    assert ValueCommitId() == ValueCommitId.INVALID
    assert not ValueCommitId().is_valid()
    assert ValueCommitId(h).is_valid()


def test_set_repr_sorted() -> None:
    s = Value.create(TypeSet(STRING), ["zeta", "alpha", "mid", "alpha"])
    assert repr(s) == "{'alpha', 'mid', 'zeta'}"
    assert repr(Value.create(TypeSet(STRING))) == "{}"
    assert repr(Value.create(TypeSet(TypeInt64()), [10, -1, 2])) == "{-1, 2, 10}"


def test_map_repr_sorted_by_key() -> None:
    m = Value.create(TypeMap(STRING, TypeInt64()), {"z": 1, "a": 2})
    assert repr(m) == "{'a': 2, 'z': 1}"
    assert repr(Value.create(TypeMap(STRING, TypeInt64()))) == "{}"


def test_vector_and_xarray_reprs() -> None:
    assert repr(Value.create(TypeVector(STRING), ["h1", "h2"])) == "['h1', 'h2']"
    x = ValueXArray(TypeXArray(STRING))
    p2 = x.append("h2")
    p1 = x.insert(p2, "h1")
    p3 = x.append("gone")
    assert repr(x) == "['h1', 'h2', 'gone']"
    x.remove(p3)
    assert repr(x) == "['h1', 'h2']"
    assert x.positions()[-1] == ValueXArray.END
    assert [p for p, _ in x.items()] == [p1, p2]
    assert repr(ValueXArray.END) == "00000000-0000-0000-0000-000000000000"


def test_tuple_vec_mat_reprs() -> None:
    assert repr(Value.create(TypeTuple([TypeInt64(), STRING]), (7, "seven"))) == "(7, 'seven')"
    assert repr(Value.create(TypeVec(TypeDouble(), 3), (1, 2.5, -3))) == "(1.0, 2.5, -3.0)"
    mat = Value.create(TypeMat(TypeFloat(), 2, 3), ((1, 0, 0), (0, 1, 0)))
    assert repr(mat) == "[(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]"
    assert mat[1] == (0.0, 1.0, 0.0)
    assert len(mat) == 2


def test_variant_and_any_show_held_value() -> None:
    v = Value.create(TypeVariant([TypeInt64(), STRING]), "x")
    assert repr(v) == "'x'"
    assert repr(Value.create(TypeVariant([TypeInt64(), STRING]), 5)) == "5"
    # SPEC §14.11: an any holding a value prints Any(<held repr>)
    assert repr(ValueAny(ValueString("y"))) == "Any('y')"
    assert repr(ValueAny(3)) == "Any(3)"
    assert repr(ValueAny()) == "nil"
    assert str(v.type()) == "int64|string"


def test_optional_reprs() -> None:
    assert repr(ValueOptional(TypeOptional(STRING), "nicky")) == "Optional('nicky')"
    assert repr(ValueOptional(STRING)) == "nil"
    doc = Value.create(LOGIN, {"nickname": "a"})
    nested = Value.create(TypeOptional(TypeOptional(LOGIN)), doc)
    assert repr(nested) == "Optional(Optional({nickname='a', password=''}))"
    assert repr(Value.create(TypeOptional(TypeOptional(LOGIN)))) == "nil"


def test_blob_repr() -> None:
    assert repr(ValueBlob(b"12345")) == "blob(5)"
    assert repr(ValueBlob()) == "blob(0)"


def test_profile_struct_repr() -> None:
    p = Value.create(PROFILE, {"tags": ["mid", "alpha"], "counters": {"z": 1, "a": 2}, "status": ".banned"})
    p.nick = "n"
    p.pair = (7, "seven")
    assert repr(p) == (
        "{tags={'alpha', 'mid'}, counters={'a': 2, 'z': 1}, nick=Optional('n'), status=.banned, "
        "history=[], pair=(7, 'seven'), level=3}"
    )


# --- validation --------------------------------------------------------------------------------


def test_int8_range_message() -> None:
    with pytest.raises(RangeError, match="value is not in the range of 'int8'"):
        Value.create(TypeInt8(), 256)
    with pytest.raises(RangeError, match="value is not in the range of 'int8'"):
        ValueInt8(-129)
    assert Value.create(TypeInt8(), -128) == -128
    assert Value.create(TypeInt8(), 127) == 127


@pytest.mark.parametrize(
    ("t", "lo", "hi"),
    [
        (TypeUInt8(), 0, 255),
        (TypeUInt16(), 0, 65535),
        (TypeUInt32(), 0, 2**32 - 1),
        (TypeUInt64(), 0, 2**64 - 1),
        (TypeInt16(), -(2**15), 2**15 - 1),
        (TypeInt32(), -(2**31), 2**31 - 1),
        (TypeInt64(), -(2**63), 2**63 - 1),
    ],
)
def test_integer_ranges(t: Type, lo: int, hi: int) -> None:
    assert Value.create(t, lo) == lo
    assert Value.create(t, hi) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(RangeError, match=f"range of '{t}'"):
            Value.create(t, bad)


def test_bool_refuses_ints() -> None:
    for bad in (0, 1, 1.0, "true"):
        with pytest.raises(TypeMismatchError):
            Value.create(TypeBool(), bad)
    assert Value.create(TypeBool(), True) == ValueBool(True)


def test_int_refuses_bool_and_float_and_str() -> None:
    for bad in (True, False, 1.0, "1", b"1"):
        with pytest.raises(TypeMismatchError):
            Value.create(TypeInt64(), bad)


def test_float_range_and_int_acceptance() -> None:
    with pytest.raises(RangeError, match="range of 'float'"):
        Value.create(TypeFloat(), 1e300)
    with pytest.raises(RangeError):
        Value.create(TypeFloat(), -3.5e38)
    assert Value.create(TypeFloat(), 3) == ValueFloat(3.0)
    assert Value.create(TypeDouble(), 3) == ValueDouble(3.0)
    assert repr(Value.create(TypeDouble(), 3)) == "3.0"
    assert Value.create(TypeDouble(), 1e300) == ValueDouble(1e300)
    assert math.isinf(float(Value.create(TypeFloat(), math.inf)))
    with pytest.raises(TypeMismatchError):
        Value.create(TypeDouble(), True)
    with pytest.raises(TypeMismatchError):
        Value.create(TypeDouble(), "1.0")


def test_string_blob_uuid_validation() -> None:
    with pytest.raises(TypeMismatchError):
        Value.create(STRING, 5)
    with pytest.raises(ValidationError):
        Value.create(STRING, "\udc80")  # lone surrogate: not UTF-8
    with pytest.raises(TypeMismatchError):
        Value.create(TypeBlob(), "text")
    with pytest.raises(ValidationError):
        Value.create(TypeUUId(), "not-a-uuid")
    with pytest.raises(ValidationError):
        Value.create(TypeCommitId(), "abc")
    assert bytes(Value.create(TypeBlob(), bytearray(b"ab"))) == b"ab"


def test_enum_validation() -> None:
    with pytest.raises(UnknownEnumCaseError):
        Value.create(STATUS, "pending")
    with pytest.raises(UnknownEnumCaseError):
        Value.create(STATUS, 3)
    with pytest.raises(TypeMismatchError):
        Value.create(STATUS, True)
    assert Value.create(STATUS, ".banned") == Value.create(STATUS, "banned")
    assert Value.create(STATUS, "Status.banned").index() == 2
    assert Value.create(STATUS, 2).name() == "banned"


def test_wrong_key_concept() -> None:
    group_key = ValueKey.create(GROUP, UUID_TEXT)
    with pytest.raises(KeyTypeError):
        Value.create(TypeKey(USER), group_key)
    with pytest.raises(KeyTypeError):
        Value.create(TypeKey(USER), UUID_TEXT)
    with pytest.raises(KeyTypeError):
        ValueKey(TypeKey(USER), UUID_TEXT, GROUP)
    # a child key widens to its parent and keeps the child concept
    admin_key = ValueKey.create(ADMIN, UUID_TEXT)
    widened = Value.create(TypeKey(USER), admin_key)
    assert widened.type() == TypeKey(USER)
    assert widened.type_concept() == ADMIN
    # but a parent key does not narrow to the child
    with pytest.raises(KeyTypeError):
        Value.create(TypeKey(ADMIN), ValueKey.create(USER, UUID_TEXT))
    # any_concept and clubs
    assert Value.create(TypeKey(TypeAnyConcept()), group_key).type_concept() == GROUP
    club = TypeClub(NS, "Team")
    club.add_member(USER)
    assert Value.create(TypeKey(club), admin_key).type_concept() == ADMIN
    with pytest.raises(KeyTypeError):
        Value.create(TypeKey(club), group_key)


def test_struct_from_partial_dict_and_assignment() -> None:
    login = Value.create(LOGIN, {"nickname": "alice"})
    assert login.nickname == "alice"
    assert login.password == ""
    login.password = "secret"
    assert repr(login) == "{nickname='alice', password='secret'}"
    with pytest.raises(TypeMismatchError):
        login.password = 5
    assert login.password == "secret"  # the failed write changed nothing
    with pytest.raises(AttributeError):
        login.email = "x"
    with pytest.raises(AttributeError):
        login.email
    with pytest.raises(AttributeError):
        Value.create(LOGIN, {"nickname": "a", "email": "x"})
    with pytest.raises(TypeMismatchError):
        Value.create(LOGIN, ["alice", "x"])
    p = Value.create(PROFILE)
    with pytest.raises(UnknownEnumCaseError):
        p.status = "nope"
    with pytest.raises(RangeError):
        p.level = 1000
    p.status = "inactive"
    assert repr(p.status) == ".inactive"


def test_container_element_validation() -> None:
    with pytest.raises(TypeMismatchError):
        Value.create(TypeVector(TypeInt32()), ["a"])
    with pytest.raises(TypeMismatchError):
        Value.create(TypeVector(STRING), "abc")  # a str is not a sequence of str
    with pytest.raises(RangeError):
        Value.create(TypeSet(TypeUInt8()), [1, 256])
    with pytest.raises(TypeMismatchError):
        Value.create(TypeMap(STRING, TypeInt32()), {1: 1})
    with pytest.raises(TypeMismatchError):
        Value.create(TypeTuple([TypeInt32(), STRING]), (1,))
    with pytest.raises(TypeMismatchError):
        Value.create(TypeVec(TypeFloat(), 3), (1.0, 2.0))
    with pytest.raises(TypeMismatchError):
        Value.create(TypeVariant([TypeInt64(), STRING]), 1.5)
    with pytest.raises(TypeMismatchError):
        Value.create(TypeOptional(TypeInt32()), "x")
    v = Value.create(TypeVector(TypeInt32()), [1, 2])
    with pytest.raises(TypeMismatchError):
        v.append("x")
    with pytest.raises(RangeError):
        v[0] = 2**40
    assert list(v) == [1, 2]


def test_variant_picks_alternative() -> None:
    t = TypeVariant([TypeInt64(), STRING])
    assert Value.create(t, "x").index() == 1
    assert Value.create(t, 5).index() == 0
    v = ValueVariant(t)
    assert v.index() == 0 and v.unwrap() == 0
    v.wrap("s")
    assert v.index() == 1 and v.unwrap() == "s"


def test_optional_api() -> None:
    o = ValueOptional(TypeOptional(STRING))
    assert o.is_nil() and o.get() is None
    with pytest.raises(ValidationError):
        o.unwrap()
    o.wrap("v")
    assert not o.is_nil() and o.unwrap() == "v"
    assert o == Value.create(TypeOptional(STRING), "v")


# --- zero values (FORMAT.md §4) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (TypeVoid(), "void"),
        (TypeBool(), "false"),
        (TypeUInt8(), "0"),
        (TypeUInt64(), "0"),
        (TypeInt8(), "0"),
        (TypeInt64(), "0"),
        (TypeFloat(), "0.0"),
        (TypeDouble(), "0.0"),
        (STRING, "''"),
        (TypeBlob(), "blob(0)"),
        (TypeUUId(), "00000000-0000-0000-0000-000000000000"),
        (TypeBlobId(), "0" * 40),
        (TypeCommitId(), "0" * 40),
        (TypeVec(TypeFloat(), 3), "(0.0, 0.0, 0.0)"),
        (TypeMat(TypeInt16(), 2, 2), "[(0, 0), (0, 0)]"),
        (TypeTuple([TypeInt32(), STRING]), "(0, '')"),
        (TypeOptional(STRING), "nil"),
        (TypeVector(STRING), "[]"),
        (TypeSet(STRING), "{}"),
        (TypeMap(STRING, TypeInt32()), "{}"),
        (TypeXArray(STRING), "[]"),
        (TypeAny(), "nil"),
        (TypeVariant([STRING, TypeInt64()]), "''"),
        (STATUS, ".active"),
        (LOGIN, "{nickname='', password=''}"),
        (TypeKey(USER), "00000000-0000-0000-0000-000000000000"),
        (TypeKey(TypeAnyConcept()), "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_zero_values(t: Type, text: str) -> None:
    z = Value.create(t)
    assert repr(z) == text
    assert z.type() == t
    assert z == Value.create(t, None)


def test_zero_value_details() -> None:
    x = Value.create(TypeXArray(STRING))
    assert x.positions() == [ValueXArray.END]
    assert x.disabled_positions() == [] and len(x) == 0
    var = Value.create(TypeVariant([STRING, TypeInt64()]))
    assert var.index() == 0
    key = Value.create(TypeKey(USER))
    assert key.concept_rid() == USER.rid and not key.is_valid()
    assert Value.create(TypeKey(TypeAnyConcept())).concept_rid() == bytes(16)
    s = Value.create(PROFILE)
    assert s.level == 3  # the declared default, not the zero
    assert repr(s.status) == ".active"


# --- printed reals read back to the same value -------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float32_repr_is_shortest_round_trip(x: float) -> None:
    v = ValueFloat(x)
    text = repr(v)
    assert ValueFloat(float(text)) == v
    assert "." in text or "e" in text or "inf" in text
    # no shorter decimal form reads back to the same binary32
    digits = len(text.lstrip("-").split("e")[0].replace(".", "").strip("0")) if "e" not in text else None
    if digits is not None and digits > 1:
        assert ValueFloat(float(f"{x:.{digits - 1}g}")) != v


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_repr_round_trip(x: float) -> None:
    assert float(repr(ValueDouble(x))) == x


def test_optional_of_optional_holds_a_nil_inner_optional() -> None:
    inner_t = TypeOptional(STRING)
    outer_t = TypeOptional(inner_t)
    nil_inner = Value.create(inner_t)
    held = Value.create(outer_t, nil_inner)
    assert repr(held) == "Optional(nil)"
    assert not held.is_nil()
    assert held != Value.create(outer_t)
    assert repr(Value.create(outer_t, Value.create(inner_t, "a"))) == "Optional(Optional('a'))"
    assert repr(ValueOptional(outer_t, nil_inner)) == "Optional(nil)"
    # an optional of another element type is a typed value: never converted (SPEC §14.11)
    with pytest.raises(TypeMismatchError):
        Value.create(TypeOptional(TypeInt64()), Value.create(TypeOptional(TypeInt32())))
    with pytest.raises(TypeMismatchError):
        Value.create(TypeOptional(TypeInt64()), Value.create(TypeOptional(TypeInt32()), 5))


def test_variant_with_any_alternative_holds_the_any() -> None:
    t = TypeVariant([TypeAny(), STRING])
    v = Value.create(t, ValueAny(ValueBool(True)))
    assert v.index() == 0
    assert repr(v) == "Any(true)"  # the variant prints its held any bare (SPEC §14.11)
    assert Value.create(t, ValueAny()).index() == 0
    assert Value.create(t, ValueString("s")).index() == 1
    nested = TypeVariant([TypeVariant([TypeInt64(), STRING]), TypeBool()])
    inner = Value.create(TypeVariant([TypeInt64(), STRING]), "x")
    assert Value.create(nested, inner).index() == 0
