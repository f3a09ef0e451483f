"""Value, path and definitions encodings (FORMAT.md §1, §4, §5, §7.1), byte for byte."""

from __future__ import annotations

import hashlib
import math
import random
import struct

import pytest

from commitdb.codec import (
    Reader,
    Writer,
    decode_path,
    decode_value,
    encode_path,
    encode_type,
    encode_value,
    read_type,
    value_hexdigest,
    write_value,
)
from commitdb.dsm.definitions import Attachment, Definitions
from commitdb.dsm.definitions_codec import decode_definitions, encode_definitions
from commitdb.errors import CorruptedDataError
from commitdb.values import (
    NameSpace,
    Type,
    TypeAny,
    TypeAnyConcept,
    TypeBlob,
    TypeBool,
    TypeClub,
    TypeConcept,
    TypeDouble,
    TypeEnumeration,
    TypeFloat,
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
    TypeUInt32,
    TypeUUId,
    TypeVariant,
    TypeVec,
    TypeVector,
    TypeVoid,
    TypeXArray,
    Value,
    ValueAny,
    ValueBlob,
    ValueDouble,
    ValueInt32,
    ValueKey,
    ValueString,
    ValueXArray,
)
from commitdb.values.path import Path

NS = NameSpace("f529bc42-0618-4f54-a3fb-d55f95c5ad03", "Tuto")
STRING, INT32, INT64 = TypeString(), TypeInt32(), TypeInt64()
USER = TypeConcept(NS, "User")
STATUS = TypeEnumeration(NS, "Status", ["active", "inactive", "banned"])
LOGIN = TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING)])


def u64(n: int) -> str:
    return n.to_bytes(8, "little").hex()


def s(text: str) -> str:
    data = text.encode()
    return u64(len(data)) + data.hex()


def enc(v: Value, token: bool = False) -> str:
    return encode_value(v, token).hex()


def defs_of(*types: Type) -> Definitions:
    d = Definitions()
    for t in types:
        d.add_type(t)
    return d


# --- §4 examples ---------------------------------------------------------------------------


def test_optional_int32() -> None:
    t = TypeOptional(INT32)
    assert enc(Value.create(t, 5)) == "01" + "05000000"
    assert enc(Value.create(t)) == "00"


def test_set_string() -> None:
    v = Value.create(TypeSet(STRING), ["b", "a", "ab"])
    assert enc(v) == u64(3) + s("a") + s("ab") + s("b")


def test_map_string_int32() -> None:
    v = Value.create(TypeMap(STRING, INT32), {"b": 2, "a": 1})
    assert enc(v) == u64(2) + s("a") + "01000000" + s("b") + "02000000"


def test_any() -> None:
    assert enc(ValueAny(ValueInt32(5))) == "01" + "08" + "05000000"
    assert enc(ValueAny()) == "00"
    # a native int in an any is an int64
    assert enc(ValueAny(5)) == "01" + "09" + "0500000000000000"


def test_variant() -> None:
    v = Value.create(TypeVariant([INT64, STRING]), "x")
    assert enc(v) == "01" + u64(1) + "78"
    assert enc(Value.create(TypeVariant([INT64, STRING]), 3)) == "00" + "0300000000000000"


def test_enum_index() -> None:
    assert enc(Value.create(STATUS, "banned")) == "02"
    assert enc(Value.create(STATUS)) == "00"


def test_tuple() -> None:
    v = Value.create(TypeTuple([INT32, STRING]), (7, "a"))
    assert enc(v) == "07000000" + u64(1) + "61"


def test_mat_column_major() -> None:
    v = Value.create(TypeMat(TypeInt16(), 2, 3), [[1, 2, 3], [4, 5, 6]])
    assert enc(v) == "0100" + "0200" + "0300" + "0400" + "0500" + "0600"
    # token mode: one array write
    assert enc(v, token=True) == "10" + "06" + "04" + u64(6) + "010002000300040005000600"


def test_vec_token_array() -> None:
    v = Value.create(TypeVec(TypeFloat(), 3), (1.0, 2.0, 3.0))
    raw = struct.pack("<3f", 1.0, 2.0, 3.0).hex()
    assert enc(v) == raw
    assert enc(v, token=True) == "10" + "09" + "04" + u64(3) + raw


def test_key() -> None:
    k = ValueKey.create(USER, "11111111-1111-1111-1111-111111111111")
    assert enc(k) == "11" * 16 + "bfb135a149e6132ae693b84be57e9726"
    assert enc(Value.create(TypeKey(USER))) == "00" * 16 + USER.rid.hex()
    assert enc(Value.create(TypeKey(TypeAnyConcept()))) == "00" * 32
    admin = TypeConcept(NS, "Admin", USER)
    widened = Value.create(TypeKey(USER), ValueKey.create(admin, "11111111-1111-1111-1111-111111111111"))
    assert enc(widened) == "11" * 16 + admin.rid.hex()  # the actual concept, not the key's


def _xarray_example() -> ValueXArray:
    x = ValueXArray(TypeXArray(INT32))
    a1, b2 = bytes.fromhex("a1" * 16), bytes.fromhex("b2" * 16)
    assert x.insert_position(bytes(16), a1, disabled=True)
    assert x.insert_position(a1, b2)
    assert x.update_position(b2, ValueInt32(6))
    assert not x.update_position(a1, ValueInt32(7))  # a tombstone takes no value
    assert not x.insert_position(bytes.fromhex("cc" * 16), bytes.fromhex("dd" * 16))  # unknown before
    assert not x.insert_position(bytes(16), b2)  # already held: nothing moves
    return x


def test_xarray_example() -> None:
    x = _xarray_example()
    a1, b2 = "a1" * 16, "b2" * 16
    expected = u64(3) + b2 + a1 + "00" * 16 + u64(1) + a1 + u64(1) + b2 + "06000000"
    assert enc(x) == expected
    back = decode_value(bytes.fromhex(expected), TypeXArray(INT32))
    assert back == x
    assert [p.representation() for p in back.positions()][-1] == "00000000-0000-0000-0000-000000000000"
    assert back.values() == [6]


def test_xarray_removed_position_stays_listed() -> None:
    x = ValueXArray(TypeXArray(INT32))
    p = bytes.fromhex("01" * 16)
    x.insert_position(bytes(16), p)
    x.update_position(p, ValueInt32(1))
    x.remove_position(p)
    assert enc(x) == u64(2) + "01" * 16 + "00" * 16 + u64(0) + u64(0)
    assert x.update_position(p, ValueInt32(2))  # a removed position revives
    assert x.values() == [2]


def test_scalars_bytes() -> None:
    assert enc(Value.create(TypeBool(), True)) == "01"
    assert enc(Value.create(TypeInt16(), -2)) == "feff"
    assert enc(Value.create(TypeUInt32(), 1)) == "01000000"
    assert enc(Value.create(TypeFloat(), 1.0)) == "0000803f"
    assert enc(ValueDouble(1.0)) == "000000000000f03f"
    assert enc(ValueString("é")) == u64(2) + "c3a9"
    assert enc(ValueBlob(b"\x00\x01")) == u64(2) + "0001"
    assert enc(Value.create(TypeVoid())) == ""
    assert enc(Value.create(TypeUUId(), "00112233-4455-6677-8899-aabbccddeeff")) == "00112233445566778899aabbccddeeff"


def test_token_mode_primitives() -> None:
    assert enc(Value.create(TypeOptional(INT32), 5), token=True) == "00" + "01" + "07" + "05000000"
    assert enc(ValueString("a"), token=True) == "0e" + u64(1) + "61"
    assert enc(ValueBlob(b"a"), token=True) == "0f" + u64(1) + "61"
    assert enc(Value.create(TypeVector(TypeUInt8()), [1]), token=True) == "04" + u64(1) + "01" + "01"
    assert enc(Value.create(TypeUUId()), token=True) == "0d" + "00" * 16
    assert enc(ValueAny(ValueInt32(5)), token=True) == "00" + "01" + "01" + "08" + "07" + "05000000"


def test_struct_in_declaration_order() -> None:
    v = Value.create(LOGIN, {"password": "p", "nickname": "n"})
    assert enc(v) == s("n") + s("p")


def test_value_hexdigest() -> None:
    v = ValueString("x")
    assert value_hexdigest(v) == hashlib.sha1(STRING.rid + bytes.fromhex(u64(1) + "78")).hexdigest()
    assert value_hexdigest(ValueDouble(-0.0)) == value_hexdigest(ValueDouble(0.0))
    nan2 = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    assert value_hexdigest(ValueDouble(nan2)) == value_hexdigest(ValueDouble(math.nan))
    assert value_hexdigest(ValueDouble(1.0)) != value_hexdigest(ValueDouble(0.0))
    assert Value.hexdigest(v) == value_hexdigest(v)


def test_value_encode_decode_api() -> None:
    v = Value.create(TypeMap(STRING, INT32), {"a": 1})
    blob = Value.encode(v)
    assert isinstance(blob, ValueBlob)
    assert Value.decode(blob, v.type()) == v


# --- §7.1 paths ----------------------------------------------------------------------------


def test_path_example() -> None:
    p = Path.from_field("counters").key("x").const()
    expected = u64(4) + "01" + "02" + "04" + "01" + "0f" + s("counters") + "01" + "02" + "02" + "01" + "0f" + s("x")
    assert encode_path(p).hex() == expected
    assert p.encode().hex() == expected
    assert decode_path(bytes.fromhex(expected)) == p


def test_empty_path() -> None:
    assert encode_path(Path()).hex() == "00" * 8
    assert decode_path(bytes(8)) == Path()


def test_path_component_payloads() -> None:
    pos = "a1" * 16
    p = Path.from_unwrap().index(2).position("a1" * 16).entry("k").element(3)
    expected = (
        u64(10)
        + "010200" + "0100"
        + "010201" + "0105" + u64(2)
        + "010203" + "010e" + pos
        + "010205" + "010f" + s("k")
        + "010206" + "0105" + u64(3)
    )
    assert encode_path(p).hex() == expected
    assert decode_path(bytes.fromhex(expected)) == p


# --- §5 definitions ------------------------------------------------------------------------


def test_empty_definitions() -> None:
    d = Definitions()
    assert d.hexdigest() == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert encode_definitions(d, token=False) == bytes(16)
    assert decode_definitions(bytes(16), token=False).is_empty()


def _rich_definitions() -> Definitions:
    admin = TypeConcept(NS, "Admin", USER, "an admin")
    other_ns = NameSpace("00000000-0000-4000-8000-000000000001", "Lib")
    lib_user = TypeConcept(other_ns, "User")
    club = TypeClub(NS, "Team", "a team")
    club.add_member(USER)
    club.add_member(lib_user)
    status = TypeEnumeration(NS, "Status", [("active", "is active"), "inactive", "banned"], "status doc")
    point = TypeStructure(NS, "Point", [("x", TypeDouble(), 1.5), ("y", TypeDouble())])
    shape = TypeStructure(
        NS,
        "Shape",
        [
            ("points", TypeVector(point), None, "the points"),
            ("status", status, "banned"),
            ("owner", TypeOptional(TypeKey(USER))),
            ("members", TypeSet(TypeKey(club))),
            ("tag", STRING, "untagged"),
        ],
        "a shape",
    )
    d = Definitions()
    for t in (shape, point, status, club, lib_user, admin, USER, LOGIN):
        d.add_type(t)
    d.add_attachment(Attachment(NS, "login", USER, LOGIN, "login doc"))
    d.add_attachment(Attachment(NS, "shape", club, shape))
    d.add_attachment(Attachment(other_ns, "any", TypeAnyConcept(), TypeMap(STRING, TypeAny())))
    return d


@pytest.mark.parametrize("token", [True, False])
def test_definitions_round_trip(token: bool) -> None:
    d = _rich_definitions()
    data = encode_definitions(d, token=token)
    back = decode_definitions(data, token=token)
    assert [t.rid for t in back.types()] == [t.rid for t in d.types()]
    assert [str(t) for t in back.types()] == [str(t) for t in d.types()]
    assert [a.rid for a in back.attachments()] == [a.rid for a in d.attachments()]
    assert [str(a) for a in back.attachments()] == [str(a) for a in d.attachments()]
    assert back.hexdigest() == d.hexdigest()
    assert encode_definitions(back, token=token) == data
    shape = back.query_types("Shape")[0]
    assert shape.documentation() == "a shape"
    assert shape.field("points").documentation() == "the points"
    assert repr(shape.field("status").default_value()) == ".banned"
    assert back.query_types("Status")[0].cases()[0].documentation() == "is active"
    assert [str(m) for m in back.query_types("Team")[0].members()] == [
        str(m) for m in d.query_types("Team")[0].members()
    ]
    assert back.query_types("Admin")[0].parent() == USER
    assert Definitions.decode(d.encode()).hexdigest() == d.hexdigest()


def test_definitions_order() -> None:
    d = _rich_definitions()
    kinds = [t.code for t in d.types()]
    # concepts, then clubs, then enums, then structs
    assert kinds == sorted(kinds, key=[0x1E, 0x1F, 0x1B, 0x1C].index)
    names = [str(t) for t in d.types()]
    assert names.index("Tuto::User") < names.index("Tuto::Admin")  # parent first
    assert names.index("Tuto::Point") < names.index("Tuto::Shape")  # used before user
    assert [a.rid for a in d.attachments()] == sorted(a.rid for a in d.attachments())


def test_definitions_tampered_rid_is_corrupted() -> None:
    d = defs_of(USER)
    data = bytearray(encode_definitions(d, token=False))
    data[9] ^= 0xFF  # inside the runtime id of the concept
    with pytest.raises(CorruptedDataError):
        decode_definitions(bytes(data), token=False)


def test_definitions_forward_reference_is_corrupted() -> None:
    admin = TypeConcept(NS, "Admin", USER)
    data = encode_definitions(defs_of(USER, admin), token=False)
    assert decode_definitions(data, token=False).hexdigest() == defs_of(USER, admin).hexdigest()
    # a child whose parent is not defined before it cannot be resolved
    only_child = Definitions()
    only_child._types[admin.rid] = admin
    with pytest.raises(CorruptedDataError):
        decode_definitions(encode_definitions(only_child, token=False), token=False)


# --- corrupted and hostile input -----------------------------------------------------------

SAMPLES: list[Value] = [
    Value.create(TypeOptional(INT32), 5),
    Value.create(TypeSet(STRING), ["b", "a", "ab"]),
    Value.create(TypeMap(STRING, TypeVector(TypeDouble())), {"a": [1.0, 2.0], "b": []}),
    ValueAny(Value.create(TypeTuple([INT32, STRING]), (1, "x"))),
    Value.create(TypeVariant([INT64, STRING]), "xy"),
    Value.create(STATUS, "banned"),
    Value.create(TypeMat(TypeInt16(), 2, 3), [[1, 2, 3], [4, 5, 6]]),
    Value.create(LOGIN, {"nickname": "n", "password": "p"}),
    ValueKey.create(USER, "11111111-1111-1111-1111-111111111111"),
    _xarray_example(),
    Value.create(TypeVector(TypeBlob()), [b"abc", b""]),
    Value.create(TypeVec(TypeFloat(), 2), (1.0, 2.0)),
]
DEFS = defs_of(USER, STATUS, LOGIN)


@pytest.mark.parametrize("token", [False, True])
@pytest.mark.parametrize("value", SAMPLES, ids=[str(v.type()) for v in SAMPLES])
def test_round_trip_and_every_truncation(value: Value, token: bool) -> None:
    data = encode_value(value, token)
    assert decode_value(data, value.type(), DEFS, token) == value
    for n in range(len(data)):
        with pytest.raises(CorruptedDataError):
            decode_value(data[:n], value.type(), DEFS, token)
    with pytest.raises(CorruptedDataError):
        decode_value(data + b"\x00", value.type(), DEFS, token)


@pytest.mark.parametrize("token", [False, True])
def test_random_corruption_raises_only_corrupted(token: bool) -> None:
    rng = random.Random(1234)
    for value in SAMPLES:
        data = encode_value(value, token)
        for _ in range(150):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            try:
                decode_value(bytes(mutated), value.type(), DEFS, token)
            except CorruptedDataError:
                pass


def test_invalid_bytes_are_corrupted() -> None:
    cases: list[tuple[str, Type]] = [
        ("02", TypeBool()),
        ("03", STATUS),
        ("02" + "00" * 8, TypeVariant([INT64, STRING])),
        ("01" + "ff", TypeAny()),  # unknown type code
        ("01" + "1c" + LOGIN.rid.hex() + s("a") + s("b"), TypeAny()),  # named type, no definitions
        ("01" + "110f" + u64(3), TypeAny()),  # vec<string>: not a valid type
        (u64(1) + "ff", STRING),  # invalid UTF-8
        (u64(1) + "01" * 16 + u64(0) + u64(0), TypeXArray(INT32)),  # positions not ending with END
        (u64(1) + "00" * 16 + u64(0) + u64(1) + "02" * 16 + "01000000", TypeXArray(INT32)),  # unheld value
        ("11" * 16 + "22" * 16, TypeKey(USER)),  # unknown concept
        ("02", TypeOptional(INT32)),
    ]
    for hexdata, t in cases:
        with pytest.raises(CorruptedDataError):
            decode_value(bytes.fromhex(hexdata), t)


@pytest.mark.parametrize(
    "t",
    [
        TypeVector(INT32),
        TypeVector(TypeVoid()),
        TypeVector(TypeStructure(NS, "Empty", [])),
        TypeSet(STRING),
        TypeSet(TypeVoid()),
        TypeMap(STRING, INT32),
        TypeMap(TypeVoid(), TypeVoid()),
        TypeXArray(INT32),
        TypeVector(TypeTuple([TypeVoid()])),
    ],
)
def test_hostile_counts_fail_fast(t: Type) -> None:
    data = bytes.fromhex(u64(2**60))
    with pytest.raises(CorruptedDataError):
        decode_value(data, t)
    with pytest.raises(CorruptedDataError):
        decode_value(data + bytes(64), t)
    with pytest.raises(CorruptedDataError):
        decode_value(bytes.fromhex("04" + u64(2**60)), t, token=True)


def test_zero_size_items_still_decode() -> None:
    assert repr(decode_value(bytes.fromhex(u64(3)), TypeVector(TypeVoid()))) == "[void, void, void]"
    assert len(decode_value(bytes.fromhex(u64(1)), TypeSet(TypeVoid()))) == 1


def test_hostile_counts_in_types_paths_and_definitions() -> None:
    with pytest.raises(CorruptedDataError):
        read_type(Reader(bytes.fromhex("13" + u64(2**60))), lambda c, r: STRING)
    with pytest.raises(CorruptedDataError):
        decode_value(bytes.fromhex("01" + "15" + "00" + u64(2**60)), TypeAny())  # any(vector<void>)
    with pytest.raises(CorruptedDataError):
        decode_value(bytes.fromhex("01" + "11" + "02" + u64(2**60)), TypeAny())  # any(vec<uint8, 2^60>)
    with pytest.raises(CorruptedDataError):
        decode_path(bytes.fromhex(u64(2**60)))
    with pytest.raises(CorruptedDataError):
        decode_path(bytes.fromhex(u64(3)))
    with pytest.raises(CorruptedDataError):
        decode_definitions(bytes.fromhex(u64(2**60) + u64(0)), token=False)
    with pytest.raises(CorruptedDataError):
        decode_definitions(bytes.fromhex(u64(0) + u64(2**60)), token=False)


def test_path_corruption() -> None:
    good = encode_path(Path.from_field("a").index(1))
    for n in range(len(good)):
        with pytest.raises(CorruptedDataError):
            decode_path(good[:n])
    with pytest.raises(CorruptedDataError):
        decode_path(bytes.fromhex(u64(2) + "010207" + "0100"))  # unknown kind 7
    with pytest.raises(CorruptedDataError):
        decode_path(bytes.fromhex(u64(2) + "010204" + "0109" + u64(1)))  # field carrying an int64
    with pytest.raises(CorruptedDataError):
        decode_path(bytes.fromhex(u64(2) + "010904" + "0100"))  # kind not a uint8


def test_definitions_truncation() -> None:
    data = encode_definitions(_rich_definitions(), token=True)
    for n in range(0, len(data), 7):
        with pytest.raises(CorruptedDataError):
            decode_definitions(data[:n], token=True)


def test_writer_reader_primitives() -> None:
    w = Writer(token=True)
    w.u64(7)
    w.string("hi")
    w.uuid(bytes(range(16)))
    r = Reader(w.getvalue(), token=True)
    assert r.u64() == 7 and r.string() == "hi" and r.uuid() == bytes(range(16))
    assert r.at_end()
    with pytest.raises(CorruptedDataError):
        Reader(b"\x04\x01", token=True).u64()  # truncated after the token
    with pytest.raises(CorruptedDataError):
        Reader(bytes.fromhex("05" + u64(1)), token=True).u64()  # wrong token
    w2 = Writer()
    write_value(w2, ValueInt32(1))
    assert w2.getvalue() == b"\x01\x00\x00\x00"
    assert encode_type(TypeMap(STRING, INT32)) == bytes([0x17, 0x0F, 0x08])


def test_key_of_an_unrelated_concept_is_corrupted() -> None:
    group = TypeConcept(NS, "Group")
    admin = TypeConcept(NS, "Admin", USER)
    defs = defs_of(USER, group, admin)
    inst = "11" * 16
    with pytest.raises(CorruptedDataError):
        decode_value(bytes.fromhex(inst + group.rid.hex()), TypeKey(USER), defs)
    child = decode_value(bytes.fromhex(inst + admin.rid.hex()), TypeKey(USER), defs)
    assert child.type_concept() == admin
    assert decode_value(bytes.fromhex(inst + group.rid.hex()), TypeKey(TypeAnyConcept()), defs).type_concept() == group
