"""``commitdb verify / log / show / export / import / flatten``."""

from __future__ import annotations

import json
import sqlite3

import pytest
from cli_support import ALICE, BOB, tuto_names

from commitdb import CommitDatabase, CommitDatabaseFlattener, IntegrityError, Value
from commitdb.admin import export_state, import_state, verify
from commitdb.cli.common import exit_code_for
from commitdb.errors import CommitDBError, ConnectionFailedError, CorruptedDataError, DatabaseBusyError


def documents(path, commit="last") -> dict:
    """{(attachment identifier, instance id): JSON document} at ``commit`` of the file ``path``."""
    with CommitDatabase.open(str(path)) as db:
        cid = db.last_commit_id() if commit == "last" else commit
        state = db.state(cid)
        found = {}
        for attachment in db.definitions().attachments():
            for key in state.attachment_getting().keys(attachment).members():
                doc = state.document(attachment, key)
                found[(attachment.identifier(), str(key.instance_id()))] = Value.dumps(doc, json=True)
        return found


# --- verify ---------------------------------------------------------------------------------------


def test_verify_ok(invoke, history_db):
    path, _ = history_db
    result = invoke("verify", path)
    assert result.exit_code == 0, result.output
    assert "commits: 5 (1 head)" in result.stdout
    assert "blobs: 2 (1 referenced by commits)" in result.stdout
    assert result.stdout.rstrip().endswith("OK: no fault found")


def test_verify_empty_database(invoke, empty_db):
    result = invoke("verify", empty_db)
    assert result.exit_code == 0 and "commits: 0 (0 heads)" in result.stdout


def _tamper(path, sql, *args):
    conn = sqlite3.connect(str(path))
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def test_verify_detects_a_tampered_program(invoke, history_db):
    path, ids = history_db
    rename = str(ids["rename"])
    conn = sqlite3.connect(str(path))
    data = bytearray(conn.execute("SELECT data FROM ds_commit WHERE commit_id = ?", (rename,)).fetchone()[0])
    conn.close()
    data[-1] = ord("X")   # inside the string 'alice2'
    _tamper(path, "UPDATE ds_commit SET data = ? WHERE commit_id = ?", bytes(data), rename)
    result = invoke("verify", path)
    assert result.exit_code == 4
    assert f"FAULT commit {rename}: the id does not re-hash (computed " in result.stdout
    assert "1 fault found" in result.stdout


def test_verify_detects_broken_links_and_heads(invoke, history_db):
    path, ids = history_db
    bogus = "ab" * 20
    _tamper(path, "UPDATE ds_commit SET parent_id = ? WHERE commit_id = ?", bogus, str(ids["branch"]))
    report = verify(str(path))
    assert not report.ok
    text = "\n".join(report.faults)
    assert f"commit {ids['branch']}: the id does not re-hash" in text
    assert f"commit {ids['branch']}: its parent {bogus} is missing" in text


def test_verify_detects_a_missing_target_and_extra_head(invoke, history_db):
    path, ids = history_db
    _tamper(path, "DELETE FROM ds_commit WHERE commit_id = ?", str(ids["branch"]))
    report = verify(str(path))
    assert f"commit {ids['merge']}: its target {ids['branch']} is missing" in report.faults


def test_verify_detects_blob_faults(invoke, history_db):
    path, ids = history_db
    _tamper(path, "UPDATE ds_blob SET data = ? WHERE identifier = ?", b"other", str(ids["pixels"]))
    result = invoke("verify", path)
    assert result.exit_code == 4
    assert f"FAULT blob {ids['pixels']}: the id does not re-hash" in result.stdout
    _tamper(path, "DELETE FROM ds_blob WHERE identifier = ?", str(ids["pixels"]))
    result = invoke("verify", path)
    assert result.exit_code == 4
    assert f"FAULT blob {ids['pixels']}: referenced by a commit but missing" in result.stdout


def test_verify_a_file_that_is_not_a_database(invoke, tmp_path):
    (tmp_path / "x.cdb").write_bytes(b"not sqlite at all" * 100)
    result = invoke("verify", tmp_path / "x.cdb")
    assert result.exit_code == 6 and result.stderr.startswith("error: ")


# --- log and show ---------------------------------------------------------------------------------


def test_log_newest_first(invoke, history_db):
    path, ids = history_db
    result = invoke("log", path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines] == ["Bob", "rename", "Bob", "Rename", "Alice"]
    merge = lines[0]
    assert merge.startswith(f"* {str(ids['merge'])[:12]}  ")
    assert f"parent {str(ids['disable'])[:12]}  target {str(ids['branch'])[:12]}" in merge
    assert " Merge " in merge and "Z  " in merge
    assert "root" in lines[-1] and lines[-1].startswith("  ")
    assert all(line.startswith("  ") for line in lines[1:])


def test_log_limit_and_full_ids(invoke, history_db):
    path, ids = history_db
    result = invoke("log", path, "-n", "1", "--full-ids")
    assert result.stdout.count("\n") == 1 and str(ids["merge"]) in result.stdout


def test_log_empty(invoke, empty_db):
    assert invoke("log", empty_db).stdout.strip() == "(no commits)"


def test_show_mutations(invoke, history_db):
    path, ids = history_db
    result = invoke("show", path, str(ids["branch"])[:8])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"commit     {ids['branch']}" in out and "type       Mutations" in out
    assert f"parent     {ids['first']}" in out and "label      Add Bob" in out
    assert "opcodes    4" in out
    assert f"Document_Set    Tuto::User.login {BOB} {{nickname='bob', password='pw'}}" in out
    assert f"pixels={ids['pixels']}" in out


def test_show_update_and_merge(invoke, history_db):
    path, ids = history_db
    update = invoke("show", path, str(ids["rename"])).stdout
    assert f"Document_Update Tuto::User.login {ALICE} .nickname 'alice2'" in update
    merge = invoke("show", path, "last").stdout
    assert f"target     {ids['branch']}" in merge and "opcodes" not in merge


@pytest.mark.parametrize("commit, message, code", [
    ("0" * 40, "Missing commit", 1),
    ("ffff", "no commit id starts with ffff", 1),
    ("xyz", "COMMIT: 'xyz' is not a commit id", 2),   # a usage error: not even the shape of an id
])
def test_show_unknown_commit(invoke, history_db, commit, message, code):
    path, _ = history_db
    result = invoke("show", path, commit)
    assert result.exit_code == code and message in result.stderr


def test_show_last_of_empty_database(invoke, empty_db):
    result = invoke("show", empty_db, "last")
    assert result.exit_code == 1 and "no commits" in result.stderr


# --- export and import ----------------------------------------------------------------------------


def test_export_import_round_trip(invoke, history_db, tmp_path):
    path, ids = history_db
    out = tmp_path / "export"
    result = invoke("export", path, "--commit-id", "last", out)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["commit"]["id"] == str(ids["merge"])
    assert manifest["definitions_hexdigest"] == "86f69c32f2fadeef01f08697426ff18baedfa910"
    assert manifest["database"]["documentation"] == "history test database"
    assert manifest["counts"] == {"attachments": 4, "documents": 5, "blobs": 1}
    assert (out / "blobs" / str(ids["pixels"])).read_bytes() == bytes(range(1, 6))
    logins = json.loads((out / "documents" / "Tuto.User.login.json").read_text())
    assert logins["documents"][ALICE] == {"nickname": "alice", "password": "secret"}   # the rename is disabled
    assert "namespace Tuto" in (out / "definitions.dsm").read_text()

    result = invoke("import", out, tmp_path / "new.cdb")
    assert result.exit_code == 0, result.output
    assert documents(tmp_path / "new.cdb") == documents(path)
    with CommitDatabase.open(str(tmp_path / "new.cdb")) as db:
        assert len(db.commit_ids()) == 1
        assert db.blob_ids() == {ids["pixels"]}
        assert db.documentation() == "history test database"
        assert db.blob(ids["pixels"]) == db.blob(ids["pixels"])
    assert invoke("verify", tmp_path / "new.cdb").exit_code == 0


def test_export_an_older_commit_and_all_blobs(invoke, history_db, tmp_path):
    path, ids = history_db
    result = invoke("export", path, "--commit-id", str(ids["rename"]), "--all-blobs", tmp_path / "e")
    assert result.exit_code == 0, result.output
    assert invoke("import", tmp_path / "e", tmp_path / "n.cdb").exit_code == 0
    assert documents(tmp_path / "n.cdb") == documents(path, ids["rename"])
    with CommitDatabase.open(str(tmp_path / "n.cdb")) as db:
        assert len(db.blob_ids()) == 2


def test_import_gives_the_flatten_commit_id(history_db, tmp_path):
    path, _ = history_db
    with CommitDatabase.open(str(path)) as db:
        summary = export_state(db, db.last_commit_id(), str(tmp_path / "e"))
        flat = CommitDatabase.create_in_memory()
        flat_id = CommitDatabaseFlattener().flatten(db, db.last_commit_id(), flat)
    assert import_state(str(tmp_path / "e"), str(tmp_path / "n.cdb")).commit_id == str(flat_id)
    assert summary.documents == 5


def test_export_refuses_a_non_empty_directory(invoke, history_db, tmp_path):
    path, _ = history_db
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "keep").write_text("x")
    result = invoke("export", path, tmp_path / "e")
    assert result.exit_code == 7 and "not an empty directory" in result.stderr


def test_export_unknown_commit(invoke, history_db, tmp_path):
    path, _ = history_db
    result = invoke("export", path, "--commit-id", "1" * 40, tmp_path / "e")
    assert result.exit_code == 1 and "Missing commit" in result.stderr
    assert not (tmp_path / "e").exists()


def test_import_refuses_an_existing_database(invoke, history_db, empty_db, tmp_path):
    path, _ = history_db
    invoke("export", path, tmp_path / "e")
    result = invoke("import", tmp_path / "e", empty_db)
    assert result.exit_code == 7 and "already exists" in result.stderr


def test_import_detects_a_tampered_export(invoke, history_db, tmp_path):
    path, ids = history_db
    invoke("export", path, tmp_path / "e")
    (tmp_path / "e" / "blobs" / str(ids["pixels"])).write_bytes(b"changed")
    result = invoke("import", tmp_path / "e", tmp_path / "n.cdb")
    assert result.exit_code == 4 and "does not match its content" in result.stderr
    assert not (tmp_path / "n.cdb").exists()
    (tmp_path / "e" / "manifest.json").write_text("{}")
    result = invoke("import", tmp_path / "e", tmp_path / "n.cdb")
    assert result.exit_code == 4 and "manifest" in result.stderr


def test_export_keys_of_sub_concepts(tmp_path):
    """A key whose concept is not the attachment's own is recorded in key_concepts."""
    from commitdb import CommitMutableState, DSMBuilder

    builder = DSMBuilder()
    builder.append("m.dsm", "namespace M {51111111-1111-1111-1111-111111111111} {\nconcept Base;\n"
                   "concept Derived is a Base;\nstruct D { int32 n; };\nattachment<Base, D> d;\n};\n")
    _, _, definitions = builder.parse()
    names: dict = {}
    definitions.inject(names)
    att = names["M_A_BASE_D"]
    derived = definitions.query_types("Derived")[0]
    db = CommitDatabase.create(str(tmp_path / "m.cdb"))
    db.extend_definitions(definitions)
    m = CommitMutableState(db.initial_state())
    key = Value.loads([ALICE, str(derived.runtime_id())], att.key_type(), definitions)
    m.attachment_mutating().set(att, key, {"n": 4})
    m.attachment_mutating().set(att, att.create_key(), {"n": 5})
    db.commit_mutations("two", m)
    summary = export_state(db, db.last_commit_id(), str(tmp_path / "e"))
    db.close()
    content = json.loads((tmp_path / "e" / "documents" / "M.Base.d.json").read_text())
    assert content["key_concepts"] == {ALICE: str(derived.runtime_id())}
    assert summary.documents == 2
    import_state(str(tmp_path / "e"), str(tmp_path / "n.cdb"))
    assert documents(tmp_path / "n.cdb") == documents(tmp_path / "m.cdb")


# --- flatten --------------------------------------------------------------------------------------


def test_flatten_equals_the_source_state(invoke, history_db, tmp_path):
    path, ids = history_db
    target = tmp_path / "flat.cdb"
    result = invoke("flatten", path, "last", target)
    assert result.exit_code == 0, result.output
    assert "1 blob(s)" in result.stdout
    assert documents(target) == documents(path)
    with CommitDatabase.open(str(target)) as db:
        assert len(db.commit_ids()) == 1
        assert db.blob_ids() == {ids["pixels"]}
        assert db.commit_header(db.last_commit_id()).label() == "Flatten"
        assert db.documentation() == "history test database"


def test_flatten_an_older_commit_with_label(invoke, history_db, tmp_path):
    path, ids = history_db
    result = invoke("flatten", path, str(ids["rename"]), tmp_path / "f.cdb", "--label", "Snapshot")
    assert result.exit_code == 0, result.output
    assert documents(tmp_path / "f.cdb") == documents(path, ids["rename"])
    names = tuto_names()
    with CommitDatabase.open(str(tmp_path / "f.cdb")) as db:
        assert db.commit_header(db.last_commit_id()).label() == "Snapshot"
        key = names["TUTO_A_USER_LOGIN"].create_key(ALICE)
        doc = db.state(db.last_commit_id()).attachment_getting().get(names["TUTO_A_USER_LOGIN"], key)
        assert repr(doc) == "Optional({nickname='alice2', password='secret'})"


def test_flatten_unknown_commit_leaves_no_target(invoke, history_db, tmp_path):
    path, _ = history_db
    result = invoke("flatten", path, "2" * 40, tmp_path / "f.cdb")
    assert result.exit_code == 1 and "Missing commit" in result.stderr
    assert not (tmp_path / "f.cdb").exists()


def test_flatten_refuses_an_existing_target(invoke, history_db, empty_db):
    path, _ = history_db
    result = invoke("flatten", path, "last", empty_db)
    assert result.exit_code == 7 and "already exists" in result.stderr


# --- the exit code table --------------------------------------------------------------------------


def test_exit_codes_most_specific_class_wins():
    assert exit_code_for(CommitDBError("x")) == 1
    assert exit_code_for(ConnectionFailedError("x")) == 3
    assert exit_code_for(IntegrityError("x")) == 4
    assert exit_code_for(CorruptedDataError("x")) == 4
    assert exit_code_for(DatabaseBusyError("x")) == 5
    assert exit_code_for(FileNotFoundError("x")) == 1
    assert exit_code_for(RuntimeError("x")) == 1


def test_plain_progress_prints_tenths_once_work_is_long(capsys):
    from commitdb.cli.common import Progress

    with Progress(rich=False, plain_after=0.0) as progress:
        for i in range(1, 101):
            progress("commits", i, 100)
    captured = capsys.readouterr()
    assert captured.out == ""   # progress goes to stderr: stdout keeps the command's result
    lines = captured.err.splitlines()
    assert lines[0] == "commits: 1/100" and lines[-1] == "commits: 100/100" and len(lines) == 11
    with Progress(rich=False) as progress:   # short work prints nothing
        progress("commits", 1, 1)
    assert capsys.readouterr().err == ""


def test_log_shows_a_timestamp_no_calendar_can(invoke, empty_db):
    """Another program may have stored 1e300 (the server refuses it): log still prints."""
    from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitData, CommitHeader, compute_commit_id

    data = (0).to_bytes(8, "little")
    cid = compute_commit_id(ZERO_ID, MUTATIONS, ZERO_ID, data)
    with CommitDatabase.open(str(empty_db)) as db:
        db.commit_databasing().insert_commit(CommitData(CommitHeader(cid, ZERO_ID, MUTATIONS, ZERO_ID, 1e300,
                                                                     "far"), data))
    result = invoke("log", empty_db)
    assert result.exit_code == 0 and "(timestamp 1e+300)" in result.stdout, result.output
