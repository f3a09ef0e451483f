"""The walkthrough of SPEC §1, verbatim, as a doctest (file database made by dsm_util's
create_commit_database equivalent), and the layer rules of DESIGN.md."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

from commitdb import CommitDatabase, DSMBuilder

ROOT = Path(__file__).resolve().parents[2]

WALKTHROUGH = '''
>>> db = CommitDatabase.open("model.cdb")
>>> db.first_commit_id() is None, db.last_commit_id() is None, db.head_commit_ids()
(True, True, set())
>>> len(db.initial_state().attachment_getting().keys(TUTO_A_USER_LOGIN))
0
>>> key = TUTO_A_USER_LOGIN.create_key(ValueUUId("11111111-1111-1111-1111-111111111111"))
>>> login = TUTO_A_USER_LOGIN.create_document()
>>> login
{nickname='', password=''}
>>> login.nickname = "alice"; login.password = "secret"
>>> mutable = CommitMutableState(db.initial_state())
>>> mutable.attachment_mutating().set(TUTO_A_USER_LOGIN, key, login)
>>> commit_id = db.commit_mutations("Add Alice", mutable)
>>> db.state(commit_id).attachment_getting().get(TUTO_A_USER_LOGIN, key)
Optional({nickname='alice', password='secret'})
>>> header = db.commit_header(commit_id)
>>> header.label()
'Add Alice'
>>> header.parent_commit_id() == ValueCommitId()
True
>>> ms = CommitMutableState(db.state(commit_id))
>>> ms.attachment_mutating().update(TUTO_A_USER_LOGIN, key, TUTO_P_LOGIN_NICKNAME, "alice_updated")
>>> c2 = db.commit_mutations("Rename", ms)
>>> db.state(c2).attachment_getting().get(TUTO_A_USER_LOGIN, key)
Optional({nickname='alice_updated', password='secret'})
>>> db.state(commit_id).attachment_getting().get(TUTO_A_USER_LOGIN, key)   # time travel
Optional({nickname='alice', password='secret'})
>>> sorted(str(t) for t in db.definitions().types())
['Tuto::Account', 'Tuto::Identity', 'Tuto::Login', 'Tuto::Status', 'Tuto::Texture', 'Tuto::Thumbnail', 'Tuto::User']
>>> str(commit_id), str(c2)
('adebac521c653c90b4ab6c25360aaa2ac5bac614', 'd1faee9a7cc2e7d84688fc992b550b0c2dd8a0d6')
'''


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_walkthrough_runs_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str) -> None:
    builder = DSMBuilder()
    builder.append("tuto.dsm", (ROOT / "examples" / "tuto.dsm").read_text())
    report, _, definitions = builder.parse()
    assert not report.has_error()
    monkeypatch.chdir(tmp_path)
    if storage == "file":
        db = CommitDatabase.create("model.cdb")
        db.extend_definitions(definitions)
        db.close()
        text = WALKTHROUGH
    else:
        memory = CommitDatabase.create_in_memory()
        memory.extend_definitions(definitions)
        text = WALKTHROUGH.replace('CommitDatabase.open("model.cdb")', "MEMORY")
    import commitdb

    globs = {name: getattr(commitdb, name) for name in commitdb.__all__}
    if storage == "memory":
        globs["MEMORY"] = memory
    definitions.inject(globs)
    test = doctest.DocTestParser().get_doctest(text, globs, "walkthrough", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 10


def test_public_api_names_exist() -> None:
    import commitdb

    for name in ("DSMBuilder", "DSMParseReport", "DSMParseError", "DSMDefinitions", "Definitions",
                 "DefinitionsConst", "Value", "ValueUUId", "ValueKey", "ValueCommitId", "ValueBlobId",
                 "ValueOptional", "ValueXArray", "ValueEnumeration", "Path", "PathConst", "CommitDatabase",
                 "CommitHeader", "Commit", "CommitProgram", "CommitOpcode", "CommitState", "CommitMutableState",
                 "CommitStateBuilder", "CommitDatabaseHelper", "CommitNode", "CommitStore", "CommitSynchronizer",
                 "CommitSynchronizerInfo", "CommitDatabaseServer", "CommitDatabaseFlattener", "BlobLayout",
                 "ValueBlob", "CommitDBError"):
        assert hasattr(commitdb, name), name
        assert name in commitdb.__all__, name
    assert all(hasattr(commitdb, name) for name in commitdb.__all__)


# --- layer rules (DESIGN.md) -------------------------------------------------------------------

PACKAGE = ROOT / "src" / "commitdb"
RULES = {
    # a module under this folder ... may not import these packages
    "values": ("commitdb.engine", "commitdb.storage", "commitdb.net", "commitdb.cli", "commitdb.database",
               "commitdb.sync", "commitdb.store"),
    "dsm": ("commitdb.engine", "commitdb.storage", "commitdb.net", "commitdb.cli", "commitdb.database",
            "commitdb.sync", "commitdb.store"),
    "engine": ("commitdb.net", "commitdb.cli", "commitdb.database", "commitdb.sync", "commitdb.storage.sqlite",
               "commitdb.storage.memory"),
    "storage": ("commitdb.engine.replay", "commitdb.engine.state", "commitdb.engine.mutable", "commitdb.engine.dag",
                "commitdb.net", "commitdb.cli", "commitdb.database", "commitdb.sync"),
}
# single modules of the foundation, with the same kind of rule
MODULE_RULES = {
    "codec.py": ("commitdb.dsm", "commitdb.engine", "commitdb.storage", "commitdb.net", "commitdb.database"),
    "read_views.py": ("commitdb.net", "commitdb.cli", "commitdb.database", "commitdb.storage.sqlite"),
}


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_rules(layer: str) -> None:
    offenders = []
    for path in (PACKAGE / layer).glob("*.py"):
        for module in _imports(path):
            if any(module == banned or module.startswith(banned + ".") for banned in RULES[layer]):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders


@pytest.mark.parametrize("module", sorted(MODULE_RULES))
def test_module_rules(module: str) -> None:
    """The codec encodes types, values and paths and knows nothing above them (the encoding of
    Definitions lives with the modelling language); the read views know no concrete backend."""
    path = PACKAGE / module
    offenders = [m for m in _imports(path) if any(m == b or m.startswith(b + ".") for b in MODULE_RULES[module])]
    assert not offenders, f"{module} imports {offenders}"


def test_no_module_is_huge_and_no_dsviper() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "dsviper" not in "".join(_imports(path)), path
        assert len(text.splitlines()) <= 1000, f"{path} has {len(text.splitlines())} lines"
