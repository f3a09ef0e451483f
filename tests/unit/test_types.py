"""Type encodings (FORMAT.md §2) and runtime ids (FORMAT.md §3), byte for byte."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from commitdb.codec import encode_type
from commitdb.dsm.definitions import Attachment, Definitions
from commitdb.errors import DefinitionsError
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
    TypeStructureField,
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
    ValueInt64,
)
from commitdb.values.types import uuid_text

NS_UUID = "f529bc42-0618-4f54-a3fb-d55f95c5ad03"
NS = NameSpace(NS_UUID, "Tuto")
NS_BYTES = bytes.fromhex(NS_UUID.replace("-", ""))

STRING = TypeString()
INT64 = TypeInt64()


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def sstr(text: str) -> bytes:
    data = text.encode()
    return u64(len(data)) + data


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def rid_hex(t: Type) -> str:
    return uuid_text(t.rid)


# --- Tuto types used by several tests --------------------------------------------------------

USER = TypeConcept(NS, "User")
STATUS = TypeEnumeration(NS, "Status", ["active", "inactive", "banned"])
LOGIN = TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING)])
IDENTITY = TypeStructure(
    NS, "Identity", [("firstname", STRING), ("lastname", STRING), ("age", TypeOptional(TypeUInt32()))]
)


# --- §2 type codes ----------------------------------------------------------------------------

PRIMITIVE_CODES = [
    (TypeVoid(), 0x00, "void"),
    (TypeBool(), 0x01, "bool"),
    (TypeUInt8(), 0x02, "uint8"),
    (TypeUInt16(), 0x03, "uint16"),
    (TypeUInt32(), 0x04, "uint32"),
    (TypeUInt64(), 0x05, "uint64"),
    (TypeInt8(), 0x06, "int8"),
    (TypeInt16(), 0x07, "int16"),
    (TypeInt32(), 0x08, "int32"),
    (TypeInt64(), 0x09, "int64"),
    (TypeFloat(), 0x0A, "float"),
    (TypeDouble(), 0x0B, "double"),
    (TypeBlobId(), 0x0C, "blob_id"),
    (TypeCommitId(), 0x0D, "commit_id"),
    (TypeUUId(), 0x0E, "uuid"),
    (TypeString(), 0x0F, "string"),
    (TypeBlob(), 0x10, "blob"),
    (TypeAny(), 0x19, "any"),
    (TypeAnyConcept(), 0x20, "any_concept"),
]


@pytest.mark.parametrize(("t", "code", "name"), PRIMITIVE_CODES, ids=[n for _, _, n in PRIMITIVE_CODES])
def test_primitive_code_encoding_name_and_rid(t: Type, code: int, name: str) -> None:
    assert t.code == code
    assert t.enc == bytes([code])
    assert encode_type(t) == bytes([code])
    assert encode_type(t, token=True) == bytes([0x01, code])  # the code is a uint8 write
    assert str(t) == name
    assert t.rid == md5(bytes(16) + sstr(name))


def test_primitive_singletons_and_type_constants() -> None:
    assert TypeString() is TypeString()
    assert Type.STRING is TypeString()
    assert Type.INT64 == TypeInt64()
    assert Type.FLOAT != Type.DOUBLE


def test_container_encodings_examples() -> None:
    assert TypeSet(STRING).enc.hex() == "160f"
    assert TypeMap(STRING, INT64).enc.hex() == "170f09"
    assert TypeVec(TypeFloat(), 3).enc.hex() == "110a0300000000000000"
    assert TypeKey(USER).enc.hex() == "1d1ebfb135a149e6132ae693b84be57e9726"
    assert encode_type(TypeVec(TypeFloat(), 3), token=True).hex() == "0111010a040300000000000000"


def test_every_parametrised_encoding() -> None:
    i32, f = TypeInt32(), TypeFloat()
    assert TypeMat(TypeInt16(), 2, 3).enc == bytes([0x12, 0x07]) + u64(2) + u64(3)
    assert TypeTuple([i32, STRING]).enc == bytes([0x13]) + u64(2) + bytes([0x08, 0x0F])
    assert TypeOptional(i32).enc == bytes([0x14, 0x08])
    assert TypeVector(STRING).enc == bytes([0x15, 0x0F])
    assert TypeXArray(f).enc == bytes([0x18, 0x0A])
    assert TypeVariant([INT64, STRING]).enc == bytes([0x1A]) + u64(2) + bytes([0x09, 0x0F])
    assert STATUS.enc == bytes([0x1B]) + STATUS.rid
    assert LOGIN.enc == bytes([0x1C]) + LOGIN.rid
    assert USER.enc == bytes([0x1E]) + USER.rid
    club = TypeClub(NS, "Team")
    assert club.enc == bytes([0x1F]) + club.rid
    assert TypeKey(club).enc == bytes([0x1D, 0x1F]) + club.rid
    assert TypeKey(TypeAnyConcept()).enc == bytes([0x1D, 0x20])
    # nested containers write their whole nested encoding
    nested = TypeMap(STRING, TypeVector(TypeOptional(LOGIN)))
    assert nested.enc == bytes([0x17, 0x0F, 0x15, 0x14, 0x1C]) + LOGIN.rid


def test_token_mode_type_encoding_nested() -> None:
    # every primitive write gets a token: u8 code -> 01, u64 -> 04, uuid -> 0d
    t = TypeMap(STRING, TypeTuple([INT64, STATUS]))
    expected = (
        bytes([0x01, 0x17, 0x01, 0x0F, 0x01, 0x13, 0x04]) + u64(2) + bytes([0x01, 0x09, 0x01, 0x1B, 0x0D]) + STATUS.rid
    )
    assert encode_type(t, token=True) == expected
    m = TypeMat(TypeDouble(), 4, 2)
    assert encode_type(m, token=True) == bytes([0x01, 0x12, 0x01, 0x0B, 0x04]) + u64(4) + bytes([0x04]) + u64(2)


def test_variant_declaration_order_is_identity() -> None:
    a = TypeVariant([INT64, STRING])
    b = TypeVariant([STRING, INT64])
    assert a != b
    assert a.enc != b.enc
    assert a.rid != b.rid


def test_type_hexdigest_is_sha1_of_rid() -> None:
    assert STRING.hexdigest() == hashlib.sha1(STRING.rid).hexdigest()
    assert LOGIN.hexdigest() == hashlib.sha1(LOGIN.rid).hexdigest()


# --- §3 runtime ids: the worked examples -------------------------------------------------------


def test_rid_string() -> None:
    assert STRING.rid == md5(bytes(16) + bytes.fromhex("0600000000000000") + b"string")
    assert rid_hex(STRING) == "433964f2-70d8-6208-f782-3ee877a4776b"
    assert str(STRING.runtime_id()) == "433964f2-70d8-6208-f782-3ee877a4776b"


def test_rid_vector_string() -> None:
    assert TypeVector(STRING).rid == md5(b"\x15" + STRING.rid)
    assert rid_hex(TypeVector(STRING)) == "9c6e72c3-3b66-d3f4-5377-1a61bcaa3159"


def test_rid_map_string_int64() -> None:
    assert TypeMap(STRING, INT64).rid == md5(b"\x17" + STRING.rid + INT64.rid)
    assert rid_hex(TypeMap(STRING, INT64)) == "e40e3789-cbae-1781-6c0c-90cd144877be"


def test_rid_vec_float_3() -> None:
    assert TypeVec(TypeFloat(), 3).rid == md5(b"\x11" + TypeFloat().rid + u64(3))
    assert rid_hex(TypeVec(TypeFloat(), 3)) == "f06ed0e4-7902-caf5-5c1b-7924ca331a66"


def test_rid_concept_user() -> None:
    assert USER.rid == md5(NS_BYTES + sstr("User"))
    assert rid_hex(USER) == "bfb135a1-49e6-132a-e693-b84be57e9726"
    assert str(USER) == "Tuto::User"


def test_rid_enum_status() -> None:
    assert STATUS.rid == md5(NS_BYTES + sstr("Status") + sstr("active") + sstr("inactive") + sstr("banned"))
    assert rid_hex(STATUS) == "83138e90-fb93-76f4-a76e-c0e6496d8111"


def test_rid_struct_login() -> None:
    assert LOGIN.rid == md5(NS_BYTES + sstr("Login") + sstr("nickname") + b"\x0f" + sstr("password") + b"\x0f")
    assert rid_hex(LOGIN) == "f223819a-167a-b9f8-e483-3abf4a0c2518"


def test_rid_struct_identity_with_optional_field() -> None:
    expected = md5(
        NS_BYTES + sstr("Identity") + sstr("firstname") + b"\x0f" + sstr("lastname") + b"\x0f" + sstr("age") + b"\x14\x04"
    )
    assert IDENTITY.rid == expected
    assert rid_hex(IDENTITY) == "cc2a2bf3-8345-790d-32a4-680f97d4bbf0"


def test_rid_struct_with_default() -> None:
    a = TypeStructure(NS, "A", [("x", INT64, 5)])
    assert a.rid == md5(NS_BYTES + sstr("A") + sstr("x") + b"\x09" + u64(5))
    assert rid_hex(a) == "8effb52f-e93f-bfbb-2575-99e36dafaa83"
    assert a.fields()[0].default_value() == ValueInt64(5)


def test_rid_attachment_login() -> None:
    att = Attachment(NS, "login", USER, LOGIN)
    assert att.rid == md5(NS_BYTES + sstr("login") + b"\x1e" + USER.rid + b"\x1c" + LOGIN.rid)
    assert uuid_text(att.rid) == "438491ed-5518-5d0c-9836-920ee80dd0e8"
    assert str(att.runtime_id()) == "438491ed-5518-5d0c-9836-920ee80dd0e8"
    # a key<User> given as the key type is the same attachment
    assert Attachment(NS, "login", TypeKey(USER), LOGIN).rid == att.rid


def test_rid_tuple_and_variant_have_no_count() -> None:
    i32 = TypeInt32()
    assert TypeTuple([i32, STRING]).rid == md5(b"\x13" + i32.rid + STRING.rid)
    assert TypeVariant([i32, STRING]).rid == md5(b"\x1a" + i32.rid + STRING.rid)


def test_rid_unary_containers_and_keys() -> None:
    for cls, code in ((TypeOptional, 0x14), (TypeVector, 0x15), (TypeSet, 0x16), (TypeXArray, 0x18)):
        assert cls(INT64).rid == md5(bytes([code]) + INT64.rid)
    assert TypeKey(USER).rid == md5(b"\x1d" + USER.rid)
    assert TypeKey(TypeAnyConcept()).rid == md5(b"\x1d" + TypeAnyConcept().rid)


def test_rid_mat() -> None:
    m = TypeMat(TypeDouble(), 2, 3)
    assert m.rid == md5(b"\x12" + TypeDouble().rid + u64(2) + u64(3))
    assert m.rid != TypeMat(TypeDouble(), 3, 2).rid


def test_rid_concept_with_parent_and_club() -> None:
    admin = TypeConcept(NS, "Admin", USER)
    assert admin.rid == md5(NS_BYTES + sstr("Admin") + USER.rid)
    assert admin.rid != TypeConcept(NS, "Admin").rid
    club = TypeClub(NS, "Team")
    before = club.rid
    club.add_member(USER)
    assert TypeClub(NS, "Team").rid == before == md5(NS_BYTES + sstr("Team"))


# --- str forms ---------------------------------------------------------------------------------


def test_str_forms() -> None:
    assert str(TypeMap(STRING, INT64)) == "map<string, int64>"
    assert str(TypeVariant([STRING, INT64])) == "string|int64"
    assert str(TypeKey(USER)) == "key<Tuto::User>"
    assert str(TypeOptional(STRING)) == "optional<string>"
    assert str(TypeTuple([INT64, STRING])) == "tuple<int64, string>"
    assert str(TypeVector(TypeVariant([INT64, TypeSet(TypeDouble())]))) == "vector<int64|set<double>>"
    assert str(TypeVec(TypeFloat(), 3)) == "vec<float, 3>"
    assert str(TypeMat(TypeFloat(), 2, 3)) == "mat<float, 2, 3>"
    assert str(TypeXArray(LOGIN)) == "xarray<Tuto::Login>"
    assert str(TypeKey(TypeAnyConcept())) == "key<any_concept>"
    assert str(STATUS) == "Tuto::Status"


# --- what does and does not enter an id --------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "zero"),
    [
        (INT64, 0),
        (STRING, ""),
        (TypeBool(), False),
        (TypeDouble(), -0.0),
        (TypeDouble(), 0.0),
        (STATUS, "active"),
        (TypeVector(STRING), []),
        (TypeSet(INT64), []),
    ],
)
def test_zero_default_does_not_change_struct_id(ftype: Type, zero: object) -> None:
    plain = TypeStructure(NS, "A", [("x", ftype)])
    with_zero = TypeStructure(NS, "A", [("x", ftype, zero)])
    assert with_zero.rid == plain.rid
    assert with_zero.fields()[0].default_value() is None


def test_nonzero_default_changes_struct_id() -> None:
    assert TypeStructure(NS, "A", [("x", STATUS, "banned")]).rid != TypeStructure(NS, "A", [("x", STATUS)]).rid
    s = TypeStructure(NS, "A", [("x", STATUS, "banned")])
    assert s.rid == md5(NS_BYTES + sstr("A") + sstr("x") + b"\x1b" + STATUS.rid + b"\x02")


def test_renaming_namespace_keeps_ids() -> None:
    other = NameSpace(NS_UUID, "Renamed")
    assert TypeConcept(other, "User").rid == USER.rid
    assert TypeStructure(other, "Login", [("nickname", STRING), ("password", STRING)]).rid == LOGIN.rid
    assert TypeEnumeration(other, "Status", ["active", "inactive", "banned"]).rid == STATUS.rid
    assert Attachment(other, "login", USER, LOGIN).rid == Attachment(NS, "login", USER, LOGIN).rid
    assert str(TypeConcept(other, "User")) == "Renamed::User"
    # but another namespace uuid does change it
    assert TypeConcept(NameSpace(uuid.uuid4().hex, "Tuto"), "User").rid != USER.rid


def test_documentation_never_enters_ids() -> None:
    assert TypeConcept(NS, "User", documentation="A user.").rid == USER.rid
    assert TypeEnumeration(NS, "Status", [("active", "doc"), "inactive", ("banned", "x")], "d").rid == STATUS.rid
    doc_login = TypeStructure(
        NS,
        "Login",
        [TypeStructureField("nickname", STRING, None, "nick doc"), ("password", STRING, None, "pw doc")],
        documentation="struct doc",
    )
    assert doc_login.rid == LOGIN.rid
    assert Attachment(NS, "login", USER, LOGIN, "att doc").rid == Attachment(NS, "login", USER, LOGIN).rid
    assert TypeClub(NS, "Team", "doc").rid == TypeClub(NS, "Team").rid


def test_adding_a_field_changes_struct_id() -> None:
    more = TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING), ("x", INT64)])
    assert more.rid != LOGIN.rid


def test_type_equality_is_rid_equality() -> None:
    assert TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING)]) == LOGIN
    assert hash(TypeVector(STRING)) == hash(TypeVector(TypeString()))
    assert TypeVector(STRING) != TypeSet(STRING)


# --- definitions built programmatically ----------------------------------------------------------


def test_definitions_hexdigest() -> None:
    assert Definitions().hexdigest() == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    defs = Definitions()
    for t in (USER, STATUS, LOGIN, IDENTITY):
        defs.add_type(t)
    att = defs.add_attachment(Attachment(NS, "login", USER, LOGIN))
    rids = sorted([USER.rid, STATUS.rid, LOGIN.rid, IDENTITY.rid, att.rid])
    assert defs.hexdigest() == hashlib.sha1(b"".join(rids)).hexdigest()


# --- invalid type construction -------------------------------------------------------------------


def test_invalid_types_are_refused() -> None:
    with pytest.raises(DefinitionsError):
        TypeVec(STRING, 3)
    with pytest.raises(DefinitionsError):
        TypeVec(TypeFloat(), 0)
    with pytest.raises(DefinitionsError):
        TypeMat(TypeFloat(), 2, 0)
    with pytest.raises(DefinitionsError):
        TypeKey(STRING)
    with pytest.raises(DefinitionsError):
        TypeVariant([STRING, STRING])
    with pytest.raises(DefinitionsError):
        TypeTuple([])
    with pytest.raises(DefinitionsError):
        TypeEnumeration(NS, "E", [])
    with pytest.raises(DefinitionsError):
        TypeEnumeration(NS, "E", ["a", "a"])
    with pytest.raises(DefinitionsError):
        TypeEnumeration(NS, "E", [f"c{i}" for i in range(257)])
    with pytest.raises(DefinitionsError):
        TypeStructure(NS, "S", [("a", STRING), ("a", INT64)])
    with pytest.raises(DefinitionsError):
        TypeVector("string")  # type: ignore[arg-type]
    assert len(TypeEnumeration(NS, "E", [f"c{i}" for i in range(256)]).cases()) == 256
