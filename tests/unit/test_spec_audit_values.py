"""Regressions found by the audit of SPEC §1-§3 (public API, DSM and Definitions, values,
keys, paths, JSON projection)."""

from __future__ import annotations

from pathlib import Path as FsPath

import pytest

from commitdb import (
    CommitDBError,
    Definitions,
    DSMBuilder,
    DSMError,
    NameSpace,
    Path,
    RangeError,
    Type,
    TypeDouble,
    TypeEnumerationDescriptor,
    TypeFloat,
    TypeInt64,
    TypeMap,
    TypeString,
    TypeStructureDescriptor,
    TypeVector,
    UnknownEnumCaseError,
    ValidationError,
    Value,
    ValueFloat,
    ValueMap,
    ValueUUId,
)

TUTO = (FsPath(__file__).resolve().parents[2] / "examples" / "tuto.dsm").read_text(encoding="utf-8")


def _tuto() -> Definitions:
    builder = DSMBuilder()
    builder.append("tuto.dsm", TUTO)
    report, _, definitions = builder.parse()
    assert not report.has_error()
    assert definitions is not None
    return definitions


# --- §1: one Value class per kind, constructible directly -------------------------------------


def test_value_map_takes_key_and_element_types_apart() -> None:
    m = ValueMap(TypeString(), TypeInt64(), {"z": 1, "a": 2})
    assert repr(m) == "{'a': 2, 'z': 1}"
    assert str(m.type()) == "map<string, int64>"
    assert repr(ValueMap(TypeString(), TypeInt64())) == "{}"
    # the older forms still work
    assert repr(ValueMap(TypeMap(TypeString(), TypeInt64()), {"a": 1})) == "{'a': 1}"
    assert repr(ValueMap(TypeString(), {"a": 1}, element=TypeInt64())) == "{'a': 1}"


# --- §3.1: validation -------------------------------------------------------------------------


@pytest.mark.parametrize("t, name", [(TypeDouble(), "double"), (TypeFloat(), "float")])
def test_an_int_beyond_every_float_is_a_range_error(t: Type, name: str) -> None:
    with pytest.raises(RangeError, match=f"value is not in the range of '{name}'"):
        Value.create(t, 2**1100)


def test_an_int_within_range_is_accepted_for_double() -> None:
    assert repr(Value.create(TypeDouble(), 2**60)) == repr(float(2**60))


def test_unknown_struct_field_is_a_library_error_and_an_attribute_error() -> None:
    defs = _tuto()
    login_type = defs.query_types("Login")[0]
    with pytest.raises(ValidationError, match="has no field 'nick'"):
        Value.create(login_type, {"nick": "x"})
    login = Value.create(login_type)
    with pytest.raises(CommitDBError):
        login.nick = "x"
    with pytest.raises(AttributeError):
        login.nick = "x"
    with pytest.raises(CommitDBError):
        _ = login.nick
    assert not hasattr(login, "nick")
    assert hasattr(login, "nickname")
    with pytest.raises(ValidationError):
        Value.loads({"nick": "x"}, login_type, defs)


# --- §2.3: builder ------------------------------------------------------------------------------


def test_assemble_of_a_missing_path_is_an_os_error_and_a_dsm_error(tmp_path: FsPath) -> None:
    missing = tmp_path / "missing.dsm"
    with pytest.raises(FileNotFoundError):
        DSMBuilder.assemble(missing)
    with pytest.raises(DSMError, match=r"missing\.dsm"):
        DSMBuilder.assemble(missing)


# --- §2.4: Definitions built from code (the Type* classes) ---------------------------------------


def test_descriptors_build_the_same_types_as_the_dsm() -> None:
    reference = _tuto()
    ns = NameSpace(ValueUUId("f529bc42-0618-4f54-a3fb-d55f95c5ad03"), "Tuto")
    defs = Definitions()
    user = defs.create_concept(ns, "User")
    login_desc = TypeStructureDescriptor("Login")
    login_desc.add_field("nickname", Type.STRING)
    login_desc.add_field("password", Type.STRING)
    login = defs.create_structure(ns, login_desc)
    status_desc = TypeEnumerationDescriptor("Status", documentation="a status")
    for case in ("pending", "active", "completed"):
        status_desc.add_case(case)
    status = defs.create_enumeration(ns, status_desc)
    attachment = defs.create_attachment(ns, "login", user, login)

    assert str(login) == "Tuto::Login"
    assert login.runtime_id() == reference.query_types("Login")[0].runtime_id()
    assert status.runtime_id() == reference.query_types("Status")[0].runtime_id()
    assert str(attachment.runtime_id()) == "438491ed-5518-5d0c-9836-920ee80dd0e8"
    assert attachment.type_name() == "Tuto::login"


def test_a_descriptor_field_given_a_value_takes_it_as_default() -> None:
    ns = NameSpace(ValueUUId("f529bc42-0618-4f54-a3fb-d55f95c5ad03"), "Tuto")
    defs = Definitions()
    desc = TypeStructureDescriptor("Config")
    desc.add_field("scale", ValueFloat(1.0))
    desc.add_field("items", Value.create(TypeVector(Type.INT64), [1, 2, 3]))
    config = defs.create_structure(ns, desc)
    assert repr(Value.create(config)) == "{scale=1.0, items=[1, 2, 3]}"


def test_membership_from_code() -> None:
    ns = NameSpace(ValueUUId("f529bc42-0618-4f54-a3fb-d55f95c5ad03"), "Tuto")
    defs = Definitions()
    user = defs.create_concept(ns, "User")
    club = defs.create_club(ns, "Members")
    defs.create_membership(club, user)
    assert [str(c) for c in club.members()] == ["Tuto::User"]


def test_enumeration_query_and_check() -> None:
    status = _tuto().query_types("Status")[0]
    assert status.query("active").name() == "active"
    assert status.query(".completed").index() == 2
    assert status.query("unknown") is None
    assert status.check("pending").index() == 0
    with pytest.raises(UnknownEnumCaseError, match="unknown"):
        status.check("unknown")


# --- §3.6: path components ----------------------------------------------------------------------


def test_path_component_type_names_its_kind() -> None:
    p = Path.from_field("counters").key("x").const()
    assert [c.type() for c in p.components()] == ["Field", "Key"]
    assert [c.type() for c in Path.from_field("nick").unwrap().index(2).components()] == ["Field", "Unwrap", "Index"]


def test_reference_printed_forms_of_fields_components_and_foreign_attachments() -> None:
    from commitdb import DSMBuilder, Path

    builder = DSMBuilder()
    builder.append("x.dsm", """
namespace Lib {11111111-1111-1111-1111-111111111111} { concept User; struct P { string n; int64 k; }; attachment<User, P> own; };
namespace App {22222222-2222-2222-2222-222222222222} { struct Q { string m; }; attachment<Lib::User, Q> profile; };
""")
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    by_name = {a.name(): a for a in definitions.attachments()}
    assert by_name["own"].identifier() == "Lib::User.own"
    assert by_name["profile"].identifier() == "App::Lib::User.profile"
    names: dict = {}
    definitions.inject(names)
    assert names["App"].attachments.Lib_User.profile is by_name["profile"]
    assert names["APP_A_LIB_USER_PROFILE"] is by_name["profile"]
    struct = definitions.query_types("P")[0]
    assert repr(struct.fields()) == "[n:string, k:int64]"
    assert repr(Path.from_field("items").index(0).components()) == \
        "[{type: Field, value: 'items':string}, {type: Index, value: 0:uint64}]"


def test_dsm_definitions_from_runtime_definitions_round_trip() -> None:
    from pathlib import Path as FsPath

    from commitdb import DSMBuilder, DSMDefinitions

    text = (FsPath(__file__).resolve().parents[2] / "examples" / "graph.dsm").read_text()
    builder = DSMBuilder()
    builder.append("graph.dsm", text)
    _, _, definitions = builder.parse()
    rendered = DSMDefinitions.from_definitions(definitions).to_dsm()
    again = DSMBuilder()
    again.append("rendered.dsm", rendered)
    report, _, reparsed = again.parse()
    assert not report.has_error(), str(report)
    assert reparsed.hexdigest() == definitions.hexdigest()
