"""Merge reports on the command line: ``reduce_heads --report [--json]`` and ``show MERGE_ID``."""

from __future__ import annotations

import json

import pytest
from cli_support import ALICE, build_history, run_tool, tuto_definitions, tuto_names

from commitdb import CommitDatabase, CommitMutableState, ValueCommitId, ValueUUId


@pytest.fixture
def concurrent_db(tmp_path):
    """Alice renamed on two heads (the newer head is the anchor, so the older one's name wins)."""
    path = tmp_path / "concurrent.cdb"
    db = CommitDatabase.create(str(path), "concurrent renames")
    db.extend_definitions(tuto_definitions())
    n = tuto_names()
    login, nickname = n["TUTO_A_USER_LOGIN"], n["TUTO_P_LOGIN_NICKNAME"]
    alice = login.create_key(ValueUUId(ALICE))
    m = CommitMutableState(db.initial_state())
    m.attachment_mutating().set(login, alice, {"nickname": "alice", "password": "secret"})
    first = db.commit_mutations("Add Alice", m)
    renames = {}
    for name in ("ally", "alicia"):
        m = CommitMutableState(db.state(first))
        m.attachment_mutating().update(login, alice, nickname, name)
        renames[name] = db.commit_mutations(f"Rename {name}", m)
    db.close()
    return path, renames


def anchor_and_other(path, renames):
    with CommitDatabase.open(str(path)) as db:
        anchor = db.last_commit_id()
    other = next(c for c in renames.values() if c != anchor)
    names = {str(c): name for name, c in renames.items()}
    return anchor, other, names


def test_reduce_heads_report_as_text(invoke, concurrent_db):
    path, renames = concurrent_db
    anchor, other, names = anchor_and_other(path, renames)
    result = invoke("admin", "--database", path, "reduce_heads", "--report")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("reduced 2 heads into ")
    merged = lines[0].split()[-1]
    assert lines[1] == f"merge {merged[:12]}: ours {str(anchor)[:12]}, theirs {str(other)[:12]}"
    assert lines[2] == f"  Tuto::User.login {ALICE} (written by both sides, 1 lost)"
    assert lines[3].startswith(f"    .nickname: ours '{names[str(anchor)]}' ({str(anchor)[:12]} Document_Update) "
                               f"-> merged '{names[str(other)]}' ({str(other)[:12]}): overwritten")
    assert lines[4] == "  1 write(s) lost"


def test_reduce_heads_report_as_json_through_the_tool(concurrent_db):
    path, renames = concurrent_db
    anchor, other, names = anchor_and_other(path, renames)
    done = run_tool("commit_admin.py", "--database", path, "reduce_heads", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["heads"] == 2 and data["merge"] is not None
    (report,) = data["reports"]
    assert (report["merge"], report["ours"], report["theirs"], report["clean"]) == (
        data["merge"], str(anchor), str(other), False)
    (entry,) = report["documents"][0]["entries"]
    assert entry == {"side": "ours", "path": ".nickname", "member": None, "reason": "overwritten",
                     "losing": {"commit": str(anchor), "opcode": "Document_Update", "value": names[str(anchor)]},
                     "winning": {"commit": str(other), "value": names[str(other)]}}
    again = run_tool("commit_admin.py", "--database", path, "reduce_heads", "--json")
    assert json.loads(again.stdout) == {"heads": 1, "merge": None, "reports": []}


def test_reduce_heads_without_report_prints_one_line(invoke, concurrent_db):
    path, _ = concurrent_db
    result = invoke("admin", "--database", path, "reduce_heads")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1


def test_show_includes_the_report_of_a_merge(invoke, concurrent_db):
    path, renames = concurrent_db
    anchor, other, _ = anchor_and_other(path, renames)
    with CommitDatabase.open(str(path)) as db:
        merge = db.merge_commit("merge", anchor, other)
    out = invoke("show", path, str(merge)).stdout
    assert f"report     merge {str(merge)[:12]}: ours {str(anchor)[:12]}, theirs {str(other)[:12]}" in out
    assert ".nickname: ours" in out and "overwritten" in out
    # A Mutations commit has no report.
    assert "report" not in invoke("show", path, str(anchor)).stdout


def test_show_a_clean_merge(invoke, tmp_path):
    path = tmp_path / "history.cdb"
    db = CommitDatabase.create(str(path), "history")
    db.extend_definitions(tuto_definitions())
    ids = build_history(db)
    db.close()
    out = invoke("show", path, str(ids["merge"])).stdout
    assert "no write was lost" in out and "opcodes" not in out
    assert isinstance(ids["merge"], ValueCommitId)


def test_reduce_heads_report_on_a_served_database(invoke, concurrent_db):
    from commitdb.net.background import BackgroundServer

    path, renames = concurrent_db
    anchor, other, _ = anchor_and_other(path, renames)
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        result = invoke("admin", "--host", "127.0.0.1", "--port", server.port, "reduce_heads", "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["reports"]
    assert (report["ours"], report["theirs"]) == (str(anchor), str(other))
    assert [e["reason"] for e in report["documents"][0]["entries"]] == ["overwritten"]
