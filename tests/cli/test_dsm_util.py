"""``dsm_util.py`` / ``commitdb dsm``: check, create_commit_database, encode, decode."""

from __future__ import annotations

import json

import pytest
from cli_support import ROOT, TUTO, run_tool

from commitdb import CommitDatabase, DSMBuilder
from commitdb.cli.dsm_commands import dsm
from commitdb.dsm.json_form import FORMAT, from_json_form, to_json_form

BAD = (
    "namespace Bad {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {\n"
    "concept User;\n"
    "struct Login { strin nickname; };\n"
    "attachment<Login, Login> identity;\n"
    "};\n"
)
BAD_LINES = [
    "bad.dsm:3:16: The type 'strin' is unknown.",
    "bad.dsm:4:12: The type K='Login' in attachment<K, D> 'identity' must be a concept.",
]
RICH = '''
"""Doc of A."""
namespace A {11111111-1111-1111-1111-111111111111} {
"""A thing."""
concept Thing;
concept Special is a Thing;
club Selectable;
membership Selectable Thing;
struct S { A::E e = .b; B::Y y; set<string> tags = {"x", "y"}; vec<float, 2> v = {1.5, 2.0}; };
enum E { """first""" a, b };
attachment<Thing, S> s;
attachment<Selectable, B::Y> selected;
};
namespace B {21111111-1111-1111-1111-111111111111} {
struct Y { string s = "q\\"x"; optional<int32> n = 7; map<string, key<A::Thing>> refs; };
};
"""Tools."""
function_pool F {31111111-1111-1111-1111-111111111111} { """f doc""" string f(A::S s, int32 n); };
attachment_function_pool G {41111111-1111-1111-1111-111111111111} { mutable void g(A::S s); };
'''


@pytest.fixture
def bad_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.dsm").write_text(BAD)
    return "bad.dsm"


def test_check_ok(invoke):
    result = invoke("dsm", "check", TUTO)
    assert result.exit_code == 0
    assert result.stdout.strip() == (f"OK {TUTO}: 7 types, 5 attachments, "
                                     "definitions 86f69c32f2fadeef01f08697426ff18baedfa910")


def test_check_folder(invoke):
    result = invoke("dsm", "check", ROOT / "examples")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK ")


def test_check_malformed_prints_every_error_and_exits_1(invoke, bad_model):
    result = invoke("dsm", "check", bad_model)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == BAD_LINES
    assert "2 errors in bad.dsm" in result.stderr


def test_check_syntax_error_position(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "syn.dsm").write_text("namespace X {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {\nconcept User\n};\n")
    result = invoke("dsm", "check", "syn.dsm")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["syn.dsm:3:1: unexpected `}`; expected an identifier or `;`"]


def test_check_empty_folder_is_an_error(invoke, tmp_path):
    result = invoke("dsm", "check", tmp_path)
    assert result.exit_code == 1
    assert "no .dsm file found" in result.stderr


def test_check_missing_path_is_a_usage_error(invoke, tmp_path):
    assert invoke("dsm", "check", tmp_path / "nope.dsm").exit_code == 2


def test_tool_check_as_subprocess(tmp_path):
    (tmp_path / "bad.dsm").write_text(BAD)
    done = run_tool("dsm_util.py", "check", tmp_path / "bad.dsm")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{tmp_path}/{line}" for line in BAD_LINES]
    ok = run_tool("dsm_util.py", "check", TUTO)
    assert ok.returncode == 0 and ok.stdout.startswith("OK ")


def test_create_commit_database(invoke, tmp_path):
    out = tmp_path / "model.cdb"
    result = invoke("dsm", "create_commit_database", "--documentation", "My model", TUTO, out)
    assert result.exit_code == 0, result.output
    db = CommitDatabase.open(str(out))
    try:
        assert db.documentation() == "My model"
        assert db.definitions_hexdigest() == "86f69c32f2fadeef01f08697426ff18baedfa910"
        assert db.commit_ids() == set() and db.first_commit_id() is None
    finally:
        db.close()


def test_create_commit_database_default_documentation(invoke, tmp_path):
    out = tmp_path / "model.cdb"
    assert invoke("create_commit_database", TUTO, out, group=dsm).exit_code == 0
    with CommitDatabase.open(str(out)) as db:
        assert db.documentation() == "not documented."


def test_create_commit_database_refuses_existing_target(invoke, tmp_path):
    out = tmp_path / "model.cdb"
    out.write_bytes(b"precious")
    result = invoke("dsm", "create_commit_database", TUTO, out)
    assert result.exit_code == 7
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert out.read_bytes() == b"precious"


def test_create_commit_database_force_replaces(invoke, tmp_path, empty_db):
    with CommitDatabase.open(str(empty_db)) as db:
        old_uuid = db.uuid()
    result = invoke("dsm", "create_commit_database", "--force", "--documentation", "new", TUTO, empty_db)
    assert result.exit_code == 0, result.output
    with CommitDatabase.open(str(empty_db)) as db:
        assert db.uuid() != old_uuid and db.documentation() == "new"


def test_create_commit_database_from_malformed_model(invoke, bad_model, tmp_path):
    result = invoke("dsm", "create_commit_database", bad_model, tmp_path / "out.cdb")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == BAD_LINES
    assert not (tmp_path / "out.cdb").exists()


def test_spec_walkthrough_database_starts_empty(tmp_path):
    out = tmp_path / "model.cdb"
    assert run_tool("dsm_util.py", "create_commit_database", TUTO, out).returncode == 0
    with CommitDatabase.open(str(out)) as db:
        assert (db.first_commit_id() is None, db.last_commit_id() is None, db.head_commit_ids()) == (True, True, set())
        assert sorted(str(t) for t in db.definitions().types()) == [
            "Tuto::Account", "Tuto::Identity", "Tuto::Login", "Tuto::Status", "Tuto::Texture", "Tuto::Thumbnail",
            "Tuto::User"]


@pytest.mark.parametrize("model", ["tuto", "graph", "rich"])
def test_encode_decode_round_trip(invoke, tmp_path, model):
    if model == "rich":
        source = tmp_path / "rich.dsm"
        source.write_text(RICH)
    else:
        source = ROOT / "examples" / f"{model}.dsm"
    report, dsm_definitions, definitions = DSMBuilder.assemble(source).parse()
    assert not report.has_error(), str(report)
    assert invoke("dsm", "encode", source, tmp_path / "m.dsm.json").exit_code == 0
    form = json.loads((tmp_path / "m.dsm.json").read_text())
    assert form["format"] == FORMAT and form["definitions_hexdigest"] == definitions.hexdigest()
    result = invoke("dsm", "decode", tmp_path / "m.dsm.json", tmp_path / "back.dsm")
    assert result.exit_code == 0, result.output
    report2, dsm2, definitions2 = DSMBuilder.assemble(tmp_path / "back.dsm").parse()
    assert not report2.has_error()
    assert definitions2.hexdigest() == definitions.hexdigest()
    assert dsm2.to_dsm() == dsm_definitions.to_dsm()


def test_json_form_keeps_documentation_and_pools(tmp_path):
    builder = DSMBuilder()
    builder.append("rich.dsm", RICH)
    _, dsm_definitions, _ = builder.parse()
    form = to_json_form(dsm_definitions)
    kinds = [item["kind"] for item in form["items"]]
    assert kinds == ["namespace", "namespace", "function_pool", "attachment_function_pool"]
    a = form["items"][0]
    assert a["documentation"] == "Doc of A."
    assert a["declarations"][0] == {"kind": "concept", "name": "Thing", "is_a": None, "documentation": "A thing."}
    struct = next(d for d in a["declarations"] if d["kind"] == "struct")
    assert struct["fields"][0] == {"name": "e", "type": "A::E", "default": ".b", "documentation": ""}
    back = from_json_form(json.loads(json.dumps(form)))
    assert [str(f) for f in back.function_pools()[0].functions()] == ["string f(A::S s, int32 n)"]


def test_encode_malformed_model(invoke, bad_model, tmp_path):
    result = invoke("dsm", "encode", bad_model, tmp_path / "x.json")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == BAD_LINES


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"format": "other"}', "not a commitdb.dsm.json document"),
    ('{"format": "commitdb.dsm.json", "version": 1, "items": [{"kind": "namespace", "name": "1x", '
     '"uuid": "11111111-1111-1111-1111-111111111111", "declarations": []}]}', "is not a name"),
    ('{"format": "commitdb.dsm.json", "version": 1, "items": [{"kind": "namespace", "name": "A", '
     '"uuid": "11111111-1111-1111-1111-111111111111", "declarations": [{"kind": "struct", "name": "S", '
     '"fields": [{"name": "f", "type": "strin"}]}]}]}', "The type 'strin' is unknown."),
])
def test_decode_malformed_form(invoke, tmp_path, content, message):
    (tmp_path / "in.json").write_text(content)
    result = invoke("dsm", "decode", tmp_path / "in.json", tmp_path / "out.dsm")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not (tmp_path / "out.dsm").exists()


def test_decode_detects_a_tampered_hexdigest(invoke, tmp_path):
    assert invoke("dsm", "encode", TUTO, tmp_path / "m.json").exit_code == 0
    form = json.loads((tmp_path / "m.json").read_text())
    form["items"][0]["declarations"][2]["fields"][0]["name"] = "nick"   # changes a runtime id
    (tmp_path / "m.json").write_text(json.dumps(form))
    result = invoke("dsm", "decode", tmp_path / "m.json", tmp_path / "out.dsm")
    assert result.exit_code == 1 and "hexdigest" in result.stderr


def test_tool_encode_decode_as_subprocess(tmp_path):
    assert run_tool("dsm_util.py", "encode", TUTO, tmp_path / "t.json").returncode == 0
    done = run_tool("dsm_util.py", "decode", tmp_path / "t.json", tmp_path / "t.dsm")
    assert done.returncode == 0, done.stderr
    assert "86f69c32f2fadeef01f08697426ff18baedfa910" in done.stdout


def test_no_subcommand_shows_help(runner):
    result = runner.invoke(dsm, [])
    assert "check" in result.output and "create_commit_database" in result.output
