"""DSM: the Tuto model, the graph example, to_dsm round trips, the builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from commitdb.dsm import (
    Attachment,
    Definitions,
    DefinitionsConst,
    DSMBuilder,
    DSMDefinitions,
    DSMParseReport,
)
from commitdb.errors import DSMError
from commitdb.values.types import TypeAnyConcept, TypeClub, TypeConcept, uuid_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TUTO_NS = "f529bc42-0618-4f54-a3fb-d55f95c5ad03"


def build(text: str, source: str = "model.dsm") -> tuple[DSMParseReport, DSMDefinitions, Definitions]:
    builder = DSMBuilder()
    builder.append(source, text)
    return builder.parse()  # type: ignore[return-value]


def build_ok(text: str) -> tuple[DSMDefinitions, Definitions]:
    report, dsm, definitions = build(text)
    assert not report.has_error(), str(report)
    return dsm, definitions


@pytest.fixture(scope="module")
def tuto() -> tuple[DSMDefinitions, Definitions]:
    report, dsm, definitions = DSMBuilder.assemble(EXAMPLES / "tuto.dsm").parse()
    assert not report.has_error(), str(report)
    assert dsm is not None and definitions is not None
    return dsm, definitions


# --- Tuto -------------------------------------------------------------------------------------


def test_tuto_types(tuto: tuple[DSMDefinitions, Definitions]) -> None:
    _, definitions = tuto
    assert sorted(str(t) for t in definitions.types()) == [
        "Tuto::Account", "Tuto::Identity", "Tuto::Login", "Tuto::Status", "Tuto::Texture",
        "Tuto::Thumbnail", "Tuto::User",
    ]


def test_tuto_order_and_hexdigest(tuto: tuple[DSMDefinitions, Definitions]) -> None:
    _, definitions = tuto
    assert [str(t) for t in definitions.types()] == [
        "Tuto::User", "Tuto::Status", "Tuto::Login", "Tuto::Texture", "Tuto::Account",
        "Tuto::Identity", "Tuto::Thumbnail",
    ]
    assert definitions.hexdigest() == "86f69c32f2fadeef01f08697426ff18baedfa910"


def test_tuto_attachments(tuto: tuple[DSMDefinitions, Definitions]) -> None:
    _, definitions = tuto
    by_id = {a.identifier(): a for a in definitions.attachments()}
    assert sorted(by_id) == [
        "Tuto::User.account", "Tuto::User.avatar", "Tuto::User.identity", "Tuto::User.login",
        "Tuto::User.portrait",
    ]
    login = by_id["Tuto::User.login"]
    assert isinstance(login, Attachment)
    assert str(login) == "attachment<User, Login> Tuto::login"
    assert login.identifier() == "Tuto::User.login"
    assert uuid_text(login.rid) == "438491ed-5518-5d0c-9836-920ee80dd0e8"
    assert repr(login.create_document()) == "{nickname='', password=''}"
    account = by_id["Tuto::User.account"]
    assert repr(account.create_document()) == "{state=.pending}"


def test_tuto_dsm_definitions(tuto: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, definitions = tuto
    assert dsm.definitions() is definitions
    assert [str(c) for c in dsm.concepts()] == ["Tuto::User"]
    assert dsm.concepts()[0].documentation() == "A user."
    assert [str(e) for e in dsm.enumerations()] == ["Tuto::Status"]
    assert [str(s) for s in dsm.structures()] == [
        "Tuto::Login", "Tuto::Identity", "Tuto::Thumbnail", "Tuto::Texture", "Tuto::Account",
    ]
    assert [a.name() for a in dsm.attachments()] == ["login", "identity", "avatar", "portrait", "account"]
    assert [ns.name() for ns in dsm.namespaces()] == ["Tuto"]
    assert dsm.clubs() == [] and dsm.function_pools() == [] and dsm.attachment_function_pools() == []
    assert DefinitionsConst is Definitions


def test_tuto_to_dsm_round_trip(tuto: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, definitions = tuto
    text = dsm.to_dsm()
    assert text.startswith(f"namespace Tuto {{{TUTO_NS}}} {{\n\n")
    assert '"""A user."""\nconcept User;\n' in text
    assert "attachment<User, Login> login;" in text
    assert text.endswith("}; // ns Tuto\n")
    dsm2, definitions2 = build_ok(text)
    assert definitions2.hexdigest() == definitions.hexdigest()
    assert dsm2.to_dsm() == text


def test_to_dsm_exact_layout() -> None:
    dsm, _ = build_ok("namespace Demo {aaaaaaaa-0000-0000-0000-000000000001} { concept User; };")
    assert dsm.to_dsm() == (
        "namespace Demo {aaaaaaaa-0000-0000-0000-000000000001} {\n\nconcept User;\n\n}; // ns Demo\n"
    )


# --- runtime ids of FORMAT.md §3 through DSM ------------------------------------------------------


def test_format_runtime_id_vectors() -> None:
    _, definitions = build_ok(f"""
namespace Tuto {{{TUTO_NS}}} {{
concept User;
enum Status {{ active, inactive, banned }};
struct Login {{ string nickname; string password; }};
struct Identity {{ string firstname; string lastname; optional<uint32> age; }};
struct A {{ int64 x = 5; }};
attachment<User, Login> login;
}};
""")
    rids = {str(t): uuid_text(t.rid) for t in definitions.types()}
    assert rids["Tuto::User"] == "bfb135a1-49e6-132a-e693-b84be57e9726"
    assert rids["Tuto::Status"] == "83138e90-fb93-76f4-a76e-c0e6496d8111"
    assert rids["Tuto::Login"] == "f223819a-167a-b9f8-e483-3abf4a0c2518"
    assert rids["Tuto::Identity"] == "cc2a2bf3-8345-790d-32a4-680f97d4bbf0"
    assert rids["Tuto::A"] == "8effb52f-e93f-bfbb-2575-99e36dafaa83"
    (login,) = definitions.attachments()
    assert uuid_text(login.rid) == "438491ed-5518-5d0c-9836-920ee80dd0e8"


def test_zero_default_does_not_change_the_id() -> None:
    _, plain = build_ok(f"namespace T {{{TUTO_NS}}} {{ struct A {{ int64 x; string s; }}; }};")
    _, zero = build_ok(f'namespace T {{{TUTO_NS}}} {{ struct A {{ int64 x = 0; string s = ""; }}; }};')
    _, five = build_ok(f"namespace T {{{TUTO_NS}}} {{ struct A {{ int64 x = 5; string s; }}; }};")
    assert plain.hexdigest() == zero.hexdigest() != five.hexdigest()


def test_documentation_never_enters_ids() -> None:
    _, bare = build_ok(f"namespace T {{{TUTO_NS}}} {{ concept U; struct S {{ int64 x; }}; }};")
    _, documented = build_ok(f'namespace T {{{TUTO_NS}}} {{ """u""" concept U; """s""" struct S {{ """x""" int64 x; }}; }};')
    assert bare.hexdigest() == documented.hexdigest()


# --- the graph example -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> tuple[DSMDefinitions, Definitions]:
    report, dsm, definitions = DSMBuilder.assemble(EXAMPLES / "graph.dsm").parse()
    assert not report.has_error(), str(report)
    assert dsm is not None and definitions is not None
    return dsm, definitions


def test_graph_parses(graph: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, definitions = graph
    assert [ns.name() for ns in dsm.namespaces()] == ["Graph", "Editor"]
    concepts = {str(c): c for c in dsm.concepts()}
    assert concepts["Graph::Vertex"].parent() is concepts["Graph::Element"]
    (club,) = dsm.clubs()
    assert isinstance(club, TypeClub)
    assert sorted(str(m) for m in club.members()) == ["Graph::Edge", "Graph::Vertex"]
    keys = {a.name(): a.concept_type() for a in definitions.attachments()}
    assert isinstance(keys["annotation"], TypeAnyConcept)
    assert isinstance(keys["transform"], TypeClub)
    assert isinstance(keys["last_session"], TypeConcept) and str(keys["last_session"]) == "Graph::Graph"
    # Every referenced type precedes its user (FORMAT.md §5.2).
    order = [str(t) for t in definitions.types()]
    assert order.index("Graph::VertexStyle") < order.index("Graph::Vertex2D")
    assert order.index("Graph::Transform") < order.index("Editor::Session")


def test_graph_defaults(graph: tuple[DSMDefinitions, Definitions]) -> None:
    _, definitions = graph
    by_name = {a.name(): a for a in definitions.attachments()}
    render = by_name["render"].create_document()
    assert repr(render) == (
        "{label='vertex', position=(0.0, 0.0), style={color=(0.2, 0.4, 0.8, 1.0), shape=.square, "
        "radius=12.5, visible=true}, tags={'draft', 'new'}, weight=Optional(7), "
        "origin=00112233-4455-6677-8899-aabbccddeeff}"
    )
    assert repr(by_name["data"].create_document()).endswith("style=.curved, control_points=[], cost=-3, priority=200}")
    transform = by_name["transform"].create_document()
    assert repr(transform.matrix) == "[(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]"
    assert repr(transform.tag) == "('layer', 2)"
    annotation = by_name["annotation"].create_document()
    assert annotation.text == 'it\'s a "note"\n'
    assert repr(annotation.authors) == "['ann', 'bob']"


def test_graph_documentation(graph: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, _ = graph
    enums = {str(e): e for e in dsm.enumerations()}
    style = enums["Graph::EdgeStyle"]
    assert style.documentation() == "How an edge is drawn."
    assert [c.documentation() for c in style.cases()] == ["A straight segment.", "A smooth curve.", ""]
    structs = {str(s): s for s in dsm.structures()}
    assert structs["Graph::VertexStyle"].field("color").documentation() == "Fill colour, RGBA."
    assert dsm.namespace_documentation(dsm.namespaces()[0]) == "Core graph model."


def test_graph_function_pools(graph: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, _ = graph
    (pool,) = dsm.function_pools()
    assert pool.name() == "Geometry" and pool.documentation() == "Stateless helpers."
    assert [f.prototype() for f in pool.functions()] == [
        "double distance(vec<double, 2> a, vec<double, 2> b)",
        "vec<double, 2> middle(vec<double, 2> a, vec<double, 2> b)",
        "void log(string message)",
    ]
    assert pool.functions()[0].documentation() == "The distance between two points."
    (apool,) = dsm.attachment_function_pools()
    assert apool.name() == "Layout"
    assert [(f.name(), f.is_mutable()) for f in apool.functions()] == [("auto_layout", True), ("count_vertices", False)]


def test_graph_to_dsm_fixpoint(graph: tuple[DSMDefinitions, Definitions]) -> None:
    dsm, definitions = graph
    text = dsm.to_dsm()
    dsm2, definitions2 = build_ok(text)
    assert definitions2.hexdigest() == definitions.hexdigest()
    assert dsm2.to_dsm() == text
    # Documentation and pools survive the trip.
    assert [t.documentation() for t in dsm2.definitions().types()] == [
        t.documentation() for t in definitions.types()
    ]
    assert [str(f) for p in dsm2.function_pools() for f in p.functions()] == [
        str(f) for p in dsm.function_pools() for f in p.functions()
    ]
    assert "mutable void auto_layout(key<Graph::Graph> graph, Graph::EdgeStyle style);" in text
    # The reopened namespace is rendered once.
    assert text.count("namespace Graph ") == 1


# --- language details -------------------------------------------------------------------------


def test_forward_and_cross_namespace_references() -> None:
    _, definitions = build_ok(f"""
namespace App {{00000000-0000-0000-0000-00000000000a}} {{
    struct Profile {{ Lib::Address home; vector<Lib::Address> others; key<Lib::User> owner; }};
    attachment<Lib::User, Profile> profile;
}};
namespace Lib {{{TUTO_NS}}} {{
    struct Address {{ Street street; }};
    struct Street {{ string name; }};
    concept User;
}};
""")
    assert [str(t) for t in definitions.structures()][-1] == "App::Profile"
    (att,) = definitions.attachments()
    assert att.identifier() == "App::Lib::User.profile"


def test_literals_and_escapes() -> None:
    dsm, definitions = build_ok(f"""
namespace T {{{TUTO_NS}}} {{
    enum E {{ a, b }};
    struct S {{
        string dq = "tab\\there \\"q\\" \\u00e9";
        string sq = 'it\\'s';
        bool flag = true;
        double d = -2.5e3;
        float f = 3;
        E e = .b;
        set<int32> s = {{3, 1, 2}};
        optional<string> o = "x";
        vector<vector<int8>> nested = {{{{1}}, {{}}, {{2, 3}}}};
        uuid u = {{AAAAAAAA-0000-0000-0000-000000000001}};
    }};
}};
""")
    (s,) = definitions.structures()
    defaults = {f.name(): repr(f.default_value()) for f in s.fields()}
    assert defaults == {
        "dq": "'tab\\there \"q\" é'", "sq": "'it\\'s'", "flag": "true", "d": "-2500.0", "f": "3.0",
        "e": ".b", "s": "{1, 2, 3}", "o": "Optional('x')", "nested": "[[1], [], [2, 3]]",
        "u": "aaaaaaaa-0000-0000-0000-000000000001",
    }
    assert build_ok(dsm.to_dsm())[1].hexdigest() == definitions.hexdigest()


def test_keywords_reserved_but_builtin_names_usable_as_fields() -> None:
    _, definitions = build_ok(f"""
namespace T {{{TUTO_NS}}} {{
    struct S {{ string string; int64 key; set<int8> map; bool a; bool is; }};
}};
""")
    (s,) = definitions.structures()
    assert [f.name() for f in s.fields()] == ["string", "key", "map", "a", "is"]


def test_comments_are_ignored() -> None:
    _, definitions = build_ok(f"""
// leading
namespace T {{{TUTO_NS}}} {{ # trailing
    concept U; // a concept
}};
""")
    assert [str(t) for t in definitions.types()] == ["T::U"]


def test_reopened_namespace_same_uuid() -> None:
    dsm, definitions = build_ok(f"""
namespace T {{{TUTO_NS}}} {{ concept U; }};
namespace T {{{TUTO_NS}}} {{ struct S {{ key<U> u; }}; attachment<U, S> s; }};
""")
    assert len(definitions.types()) == 2
    assert dsm.to_dsm().count("namespace T ") == 1


def test_empty_source() -> None:
    report, dsm, definitions = build("// nothing\n")
    assert not report.has_error()
    assert definitions is not None and definitions.is_empty()
    assert dsm is not None and dsm.to_dsm() == ""


# --- the builder -------------------------------------------------------------------------------


def test_assemble_folder(tmp_path: Path) -> None:
    (tmp_path / "b_model.dsm").write_text(f"namespace T {{{TUTO_NS}}} {{ struct S {{ key<U> u; }}; }};\n")
    (tmp_path / "a_model.dsm").write_text(f"namespace T {{{TUTO_NS}}} {{ concept U; }};\n")
    (tmp_path / "notes.txt").write_text("not a model")
    builder = DSMBuilder.assemble(tmp_path)
    assert [Path(p.source()).name for p in builder.parts()] == ["a_model.dsm", "b_model.dsm"]
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    assert definitions is not None and [str(t) for t in definitions.types()] == ["T::U", "T::S"]


def test_assemble_folder_errors_name_their_file(tmp_path: Path) -> None:
    (tmp_path / "a.dsm").write_text(f"namespace T {{{TUTO_NS}}} {{ concept U; }};\n")
    (tmp_path / "b.dsm").write_text(f"namespace T {{{TUTO_NS}}} {{\nstruct S {{ Usr u; }};\n}};\n")
    report, dsm, definitions = DSMBuilder.assemble(tmp_path).parse()
    assert dsm is None and definitions is None
    assert [str(e) for e in report.errors()] == [f"{tmp_path / 'b.dsm'}:2:12: The type 'Usr' is unknown."]


def test_assemble_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DSMError):
        DSMBuilder.assemble(tmp_path / "missing.dsm")


def test_assemble_examples_folder() -> None:
    # Both examples together: distinct namespaces, one model.
    report, _, definitions = DSMBuilder.assemble(EXAMPLES).parse()
    assert not report.has_error(), str(report)
    assert definitions is not None and len(definitions.query_types("Login")) == 1


def test_cross_namespace_parent_and_membership_round_trip() -> None:
    dsm, definitions = build_ok(f"""
namespace Lib {{{TUTO_NS}}} {{ concept User; club Actors; }};
namespace App {{00000000-0000-0000-0000-00000000000a}} {{
    \"\"\"An administrator.\"\"\"
    concept Admin is a Lib::User;
    \"\"\"Admins act.\"\"\"
    membership Lib::Actors Admin;
    attachment<Lib::Actors, string> motto;
}};
""")
    text = dsm.to_dsm()
    assert "concept Admin is a Lib::User;" in text
    assert '"""Admins act."""\nmembership Lib::Actors Admin;' in text
    (club,) = dsm.clubs()
    assert [str(m) for m in club.members()] == ["App::Admin"]
    dsm2, definitions2 = build_ok(text)
    assert definitions2.hexdigest() == definitions.hexdigest() and dsm2.to_dsm() == text
    # Runtime ids shown as comments still parse to the same model.
    shown = dsm.to_dsm(show_runtime_id=True)
    assert "// runtime id " in shown
    assert build_ok(shown)[1].hexdigest() == definitions.hexdigest()
