"""The runtime order (FORMAT.md §4, SPEC §3.3): sets, map keys, encodings and comparisons."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitdb.codec import encode_value, value_hexdigest
from commitdb.values import (
    NameSpace,
    Type,
    TypeAny,
    TypeBlob,
    TypeBool,
    TypeConcept,
    TypeDouble,
    TypeEnumeration,
    TypeFloat,
    TypeInt32,
    TypeInt64,
    TypeKey,
    TypeMap,
    TypeOptional,
    TypeSet,
    TypeString,
    TypeStructure,
    TypeTuple,
    TypeUUId,
    TypeVariant,
    TypeVec,
    TypeVector,
    TypeXArray,
    Value,
    ValueAny,
    ValueBlob,
    ValueDouble,
    ValueFloat,
    ValueInt32,
    ValueInt64,
    ValueKey,
    ValueString,
    ValueUUId,
    ValueXArray,
)

NS = NameSpace("f529bc42-0618-4f54-a3fb-d55f95c5ad03", "Tuto")
STRING = TypeString()
INT64 = TypeInt64()
STATUS = TypeEnumeration(NS, "Status", ["active", "inactive", "banned"])
USER = TypeConcept(NS, "User")
ADMIN = TypeConcept(NS, "Admin", USER)
GROUP = TypeConcept(NS, "Group")
POINT = TypeStructure(NS, "Point", [("x", TypeDouble()), ("label", STRING)])


def members(t: Type, items: list[Any]) -> list[str]:
    return [repr(v) for v in Value.create(TypeSet(t), items).members()]


def sort_values(values: list[Value]) -> list[Value]:
    return sorted(values)


# --- strings, blobs ------------------------------------------------------------------------


def test_strings_by_utf8_bytes() -> None:
    words = ["é", "b", "ab", "aa", "a", "B", "", "z", "\U0001f600", "\uffff"]
    expected = sorted(words, key=lambda w: w.encode("utf-8"))
    assert expected[:7] == ["", "B", "a", "aa", "ab", "b", "z"]
    assert [v.get() for v in Value.create(TypeSet(STRING), words).members()] == expected
    assert ValueString("B") < ValueString("a") < ValueString("aa") < ValueString("ab") < ValueString("b")
    assert ValueString("b") < ValueString("é")
    # U+FFFF (3 UTF-8 bytes) sorts before U+1F600 (4 bytes), as in UTF-16 it would not
    assert ValueString("\uffff") < ValueString("\U0001f600")


def test_set_string_encoding_in_runtime_order() -> None:
    s = Value.create(TypeSet(STRING), ["b", "a", "ab"])
    assert encode_value(s).hex() == (
        "0300000000000000" + "0100000000000000" + "61" + "0200000000000000" + "6162" + "0100000000000000" + "62"
    )


def test_blobs_by_bytes_not_size() -> None:
    assert ValueBlob(b"\x02") > ValueBlob(b"\x01\xff\xff")
    assert ValueBlob(b"") < ValueBlob(b"\x00")
    assert ValueBlob(b"ab") < ValueBlob(b"abc") < ValueBlob(b"b")
    s = Value.create(TypeSet(TypeBlob()), [b"\x02", b"\x01\xff\xff", b"", b"\x01"])
    assert [bytes(v) for v in s.members()] == [b"", b"\x01", b"\x01\xff\xff", b"\x02"]


def test_uuid_by_raw_bytes() -> None:
    a = ValueUUId("00000000-0000-0000-0000-0000000000ff")
    b = ValueUUId("01000000-0000-0000-0000-000000000000")
    assert a < b
    assert members(TypeUUId(), [b, a]) == [repr(a), repr(b)]


# --- numbers -------------------------------------------------------------------------------


def test_ints_numeric_order() -> None:
    assert members(INT64, [3, -1, 10, 0, -20]) == ["-20", "-1", "0", "3", "10"]
    assert ValueInt64(-1) < ValueInt64(0)


@pytest.mark.parametrize("t", [TypeFloat(), TypeDouble()])
def test_nan_first_and_one_element(t: Type) -> None:
    nan2 = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    s = Value.create(TypeSet(t), [1.0, math.inf, math.nan, -math.inf, -math.nan, nan2, 0.0])
    assert len(s) == 5
    assert [repr(v) for v in s.members()] == ["nan", "-inf", "0.0", "1.0", "inf"]
    # all NaNs compare equal to each other and below -inf
    nan = Value.create(t, math.nan)
    assert nan == Value.create(t, -math.nan)
    assert nan < Value.create(t, -math.inf)
    assert hash(nan) == hash(Value.create(t, nan2))


def test_nan_set_encodes_canonically() -> None:
    s = Value.create(TypeSet(TypeDouble()), [math.nan, 2.0])
    data = encode_value(s)
    assert data[:8] == (2).to_bytes(8, "little")
    assert math.isnan(struct.unpack("<d", data[8:16])[0])
    assert struct.unpack("<d", data[16:24])[0] == 2.0


@pytest.mark.parametrize("t", [TypeFloat(), TypeDouble()])
def test_negative_zero_equals_zero_and_set_keeps_first(t: Type) -> None:
    assert Value.create(t, -0.0) == Value.create(t, 0.0)
    assert hash(Value.create(t, -0.0)) == hash(Value.create(t, 0.0))
    first_neg = Value.create(TypeSet(t), [-0.0, 0.0])
    assert len(first_neg) == 1
    assert repr(first_neg) == "{-0.0}"
    first_pos = Value.create(TypeSet(t), [0.0, -0.0])
    assert repr(first_pos) == "{0.0}"
    assert first_neg == first_pos
    m = Value.create(TypeMap(t, STRING), [(-0.0, "a"), (0.0, "b")])
    assert len(m) == 1
    assert m.get(0.0) == "b"  # the value is replaced, the first key kept
    assert repr(m) == "{-0.0: 'b'}"


def test_bool_false_first() -> None:
    assert members(TypeBool(), [True, False]) == ["false", "true"]


# --- containers: size first ----------------------------------------------------------------


def test_vectors_size_first() -> None:
    t = TypeVector(INT64)
    a, b = Value.create(t, [3, 1, 2]), Value.create(t, [4])
    assert a > b
    assert Value.create(t, []) < b
    assert Value.create(t, [1, 2]) < Value.create(t, [1, 3])
    s = Value.create(TypeSet(t), [[3, 1, 2], [4], [], [0, 9]])
    assert [repr(v) for v in s.members()] == ["[]", "[4]", "[0, 9]", "[3, 1, 2]"]


def test_sets_and_maps_size_first() -> None:
    st_t = TypeSet(STRING)
    assert Value.create(st_t, ["z"]) < Value.create(st_t, ["a", "b"])
    assert Value.create(st_t, ["a", "c"]) < Value.create(st_t, ["b", "c"])
    mt = TypeMap(STRING, INT64)
    assert Value.create(mt, {"z": 9}) < Value.create(mt, {"a": 0, "b": 0})
    assert Value.create(mt, {"a": 1}) < Value.create(mt, {"a": 2}) < Value.create(mt, {"b": 0})


def test_map_entries_sorted_by_key_in_encoding() -> None:
    m = Value.create(TypeMap(STRING, TypeInt32()), {"b": 2, "a": 1})
    assert encode_value(m).hex() == "0200000000000000" + "010000000000000061" + "01000000" + "010000000000000062" + "02000000"
    assert m.keys() == ["a", "b"]


def test_tuple_struct_vec_elementwise() -> None:
    tt = TypeTuple([INT64, STRING])
    assert Value.create(tt, (1, "z")) < Value.create(tt, (2, "a"))
    assert Value.create(tt, (1, "a")) < Value.create(tt, (1, "b"))
    assert Value.create(POINT, {"x": 1.0, "label": "z"}) < Value.create(POINT, {"x": 2.0, "label": "a"})
    vt = TypeVec(TypeFloat(), 2)
    assert Value.create(vt, (0, 5)) < Value.create(vt, (1, 0))


def test_optional_nil_first() -> None:
    t = TypeOptional(INT64)
    s = Value.create(TypeSet(t), [Value.create(t, 5), Value.create(t), Value.create(t, -7)])
    assert [repr(v) for v in s.members()] == ["nil", "Optional(-7)", "Optional(5)"]


def test_enums_by_index_not_name() -> None:
    s = Value.create(TypeSet(STATUS), ["banned", "active", "inactive"])
    assert [repr(v) for v in s.members()] == [".active", ".inactive", ".banned"]
    assert Value.create(STATUS, "inactive") < Value.create(STATUS, "banned")  # 'i' > 'b' by name


def test_keys_by_instance_then_concept() -> None:
    i1 = "00000000-0000-0000-0000-000000000001"
    i2 = "00000000-0000-0000-0000-000000000002"
    k1u, k1a, k2u = ValueKey.create(USER, i1), ValueKey.create(ADMIN, i1), ValueKey.create(USER, i2)
    assert k1u < k2u and k1a < k2u
    assert (k1u < k1a) == (USER.rid < ADMIN.rid)
    assert k1u != k1a
    s = Value.create(TypeSet(TypeKey(USER)), [k2u, k1a, k1u])
    assert len(s) == 3
    assert [(v.instance_id().representation(), v.concept_rid()) for v in s.members()] == sorted(
        [(i1, USER.rid), (i1, ADMIN.rid), (i2, USER.rid)]
    )


def test_xarray_order() -> None:
    t = TypeXArray(INT64)
    a, b = ValueXArray(t), ValueXArray(t)
    pa = bytes.fromhex("01" * 16)
    pb = bytes.fromhex("02" * 16)
    a.insert_position(bytes(16), pa)
    b.insert_position(bytes(16), pb)
    assert a < b  # positions compared lexicographically
    c = ValueXArray(t)
    c.insert_position(bytes(16), pa, disabled=True)
    assert a < c  # same positions, then tombstones: () < (pa,)
    a.update_position(pa, ValueInt64(1))
    d = a.copy()
    d.update_position(pa, ValueInt64(2))
    assert a < d


# --- any / variant: cross-type -------------------------------------------------------------


def test_any_empty_first_then_type_code() -> None:
    empty = ValueAny()
    vals = [ValueAny(ValueString("a")), ValueAny(ValueInt32(100)), empty, ValueAny(ValueInt64(-5))]
    s = Value.create(TypeSet(TypeAny()), vals)
    # int32 (08) < int64 (09) < string (0f), empty first
    assert [repr(v) for v in s.members()] == ["nil", "Any(100)", "Any(-5)", "Any('a')"]  # reprs of SPEC §14.11
    assert empty < ValueAny(ValueInt32(0))


def test_any_same_code_orders_by_rid_then_value() -> None:
    vi, vs = Value.create(TypeVector(INT64), [9]), Value.create(TypeVector(STRING), ["a"])
    a, b = ValueAny(vi), ValueAny(vs)
    assert (a < b) == (TypeVector(INT64).rid < TypeVector(STRING).rid)
    assert ValueAny(ValueInt64(1)) < ValueAny(ValueInt64(2))


def test_variant_ignores_index_and_orders_held_values() -> None:
    t1 = TypeVariant([INT64, STRING])
    i0 = "00000000-0000-0000-0000-000000000000"
    kv = TypeVariant([TypeKey(USER), TypeKey(ADMIN)])
    admin_key = ValueKey.create(ADMIN, i0)
    as_user = Value.create(kv, admin_key.widened(TypeKey(USER)))
    as_admin = Value.create(kv, admin_key)
    assert (as_user.index(), as_admin.index()) == (0, 1)
    assert as_user == as_admin  # the index is ignored
    assert hash(as_user) == hash(as_admin)
    assert len(Value.create(TypeSet(kv), [as_user, as_admin])) == 1
    s = Value.create(TypeSet(t1), ["b", 5, "a", -1])
    assert [repr(v) for v in s.members()] == ["-1", "5", "'a'", "'b'"]
    i1 = "00000000-0000-0000-0000-000000000001"
    kt = TypeVariant([TypeKey(USER), TypeKey(GROUP)])
    keys = Value.create(TypeSet(kt), [ValueKey.create(GROUP, i1), ValueKey.create(USER, i1)])
    # two keys compare (instance, concept) whatever their key types
    assert [v.unwrap().concept_rid() for v in keys.members()] == sorted([USER.rid, GROUP.rid])


# --- python comparisons with natives -------------------------------------------------------


def test_equality_with_natives() -> None:
    assert ValueString("a") == "a"
    assert ValueInt64(3) == 3
    assert ValueInt64(3) != 3.5
    assert ValueDouble(0.5) == 0.5
    assert Value.create(TypeVector(INT64), [1, 2]) == [1, 2]
    assert ValueString("a") != ValueInt64(1)
    assert ValueInt32(1) != ValueInt64(1)  # different types
    assert ValueString("a") < "b"
    with pytest.raises(TypeError):
        ValueInt64(1) < "x"  # noqa: B015


# --- hypothesis: the order is a total order consistent with == and hash ---------------------

TYPES: list[Type] = [
    TypeVector(INT64),
    TypeSet(STRING),
    TypeMap(STRING, TypeOptional(TypeDouble())),
    TypeTuple([TypeFloat(), STATUS]),
    POINT,
    TypeVariant([INT64, STRING, TypeDouble()]),
]

_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
_doubles = st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, math.nan]))
_text = st.text(alphabet=st.sampled_from(["a", "b", "B", "é", "\U0001f600"]), max_size=3)


def _raw(t: Type) -> st.SearchStrategy[Any]:
    if t == TYPES[0]:
        return st.lists(st.integers(-3, 3), max_size=3)
    if t == TYPES[1]:
        return st.lists(_text, max_size=3)
    if t == TYPES[2]:
        return st.dictionaries(_text, st.one_of(st.none(), _doubles), max_size=3).map(
            lambda d: {k: Value.create(TypeOptional(TypeDouble()), v) for k, v in d.items()}
        )
    if t == TYPES[3]:
        return st.tuples(_floats, st.sampled_from(["active", "inactive", "banned"]))
    if t == POINT:
        return st.fixed_dictionaries({"x": _doubles, "label": _text})
    return st.one_of(st.integers(-2, 2), _text, _doubles)


values_of_one_type = st.sampled_from(TYPES).flatmap(
    lambda t: st.lists(_raw(t).map(lambda raw: Value.create(t, raw)), min_size=3, max_size=3)
)
any_values = st.lists(
    st.sampled_from(TYPES).flatmap(lambda t: _raw(t).map(lambda raw: ValueAny(Value.create(t, raw)))),
    min_size=3,
    max_size=3,
)


def _check_order(a: Value, b: Value, c: Value) -> None:
    # totality and antisymmetry
    assert (a < b) + (a == b) + (a > b) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)
    assert (a < b) == (b > a)
    # consistency with hash
    if a == b:
        assert hash(a) == hash(b)
        # -0.0/0.0 and NaN payloads may differ in bytes, never in the canonical digest
        assert value_hexdigest(a) == value_hexdigest(b)
    # transitivity
    if a <= b and b <= c:
        assert a <= c
    if a < b and b < c:
        assert a < c
    if a == b and b == c:
        assert a == c
    # sorting agrees with set membership order
    s = Value.create(TypeSet(a.type()), [a, b, c])
    ms = s.members()
    assert all(ms[i] < ms[i + 1] for i in range(len(ms) - 1))
    assert len(ms) == len({v._key() for v in (a, b, c)})


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values_of_one_type)
def test_order_is_total_within_a_type(vs: list[Value]) -> None:
    a, b, c = vs
    _check_order(a, b, c)
    _check_order(c, a, b)
    _check_order(b, c, a)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(any_values)
def test_order_is_total_across_types_in_any(vs: list[Value]) -> None:
    a, b, c = vs
    _check_order(a, b, c)
    _check_order(c, b, a)


@settings(max_examples=100, deadline=None)
@given(st.lists(_doubles, max_size=6))
def test_set_of_doubles_is_sorted_and_unique(xs: list[float]) -> None:
    s = Value.create(TypeSet(TypeDouble()), xs)
    got = [float(v) for v in s.members()]
    distinct_nan = any(math.isnan(x) for x in xs)
    assert len(got) == len({0.0 if x == 0 else x for x in xs if not math.isnan(x)}) + distinct_nan
    if distinct_nan:
        assert math.isnan(got[0])
        got = got[1:]
    assert got == sorted(got)
    # equal sets are equal whatever the insertion order, and hash to the same digest
    s2 = Value.create(TypeSet(TypeDouble()), list(reversed(xs)))
    assert s == s2
    assert hash(s) == hash(s2)
    assert value_hexdigest(s) == value_hexdigest(s2)
    if not any(x == 0 for x in xs):
        assert encode_value(s) == encode_value(s2) or distinct_nan


def test_float_value_round_trip_through_set_keeps_value() -> None:
    s = Value.create(TypeSet(TypeFloat()), [0.1, 0.2])
    assert [repr(v) for v in s.members()] == ["0.1", "0.2"]
    assert ValueFloat(0.1) in s
