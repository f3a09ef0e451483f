"""The editor's HTTP API, endpoint by endpoint, with the bad requests each must refuse clearly."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from editor_support import EditorThread, ServedDatabase, commit_in_another_process, example_database

from commitdb import CommitDatabase

ALICE = "11111111-1111-1111-1111-111111111111"


def login(editor: EditorThread) -> str:
    return next(a["id"] for g in editor.get("/api/abstractions") for a in g["attachments"] if a["name"] == "login")


def alice(editor: EditorThread) -> str:
    return editor.get(f"/api/keys?attachment={login(editor)}")[0]["key"]


def rename(editor: EditorThread, nickname: str, **extra: Any) -> dict[str, Any]:
    return editor.post("/api/edit", {"base": editor.get("/api/status")["current"], "op": "update",
                                     "attachment": login(editor), "key": alice(editor),
                                     "path": [["field", "nickname"]], "value": nickname, **extra})


def nickname(editor: EditorThread, commit: str | None = None) -> str:
    query = f"/api/document?attachment={login(editor)}&key={alice(editor)}" + (f"&commit={commit}" if commit else "")
    return next(r["json"] for r in editor.get(query)["rows"] if r["path_text"] == ".nickname")


def test_page_and_static_files(editor: EditorThread) -> None:
    status, page = editor.request("/")
    assert status == 200 and b'data-testid="graph"' in page
    status, script = editor.request("/static/editor.js")
    assert status == 200 and b"EventSource" in script
    assert b"setInterval" not in script  # the page never polls


def test_status_info_graph_and_headers(editor: EditorThread) -> None:
    status = editor.get("/api/status")
    assert status["title"] == "example.cdb" and status["commits"] == 2 and len(status["heads"]) == 1
    assert status["can_undo"] is False and status["marked"] is None
    info = editor.get("/api/info")
    assert info["codec"] == "StreamBinary" and "attachment<User, Login> login;" in info["dsm"]
    assert len(info["definitions_hexdigest"]) == 40 and info["uuid"]
    graph = editor.get("/api/graph?offset=0&limit=1")
    assert graph["total"] == 2 and len(graph["rows"]) == 1
    top = graph["rows"][0]
    assert top["label"] == "Rename" and top["head"] and top["state"] == "enabled" and top["order"] == 2
    assert editor.get(f"/api/graph/row?commit={top['id']}") == {"row": 0}
    header = editor.get(f"/api/commits/{top['id']}")
    assert header["label"] == "Rename" and header["type"] == "Mutations" and header["row"] == 0


def test_select_mark_navigate_forward(editor: EditorThread) -> None:
    top, old = (r["id"] for r in editor.get("/api/graph")["rows"])
    assert editor.post("/api/select", {"commit": old})["current"] == old
    assert nickname(editor) == "alice"
    assert nickname(editor, top) == "alice_updated"
    assert editor.post("/api/navigate", {"direction": "up"})["current"] == top
    assert editor.post("/api/navigate", {"direction": "down"})["current"] == old
    assert editor.post("/api/forward")["current"] == top
    assert editor.post("/api/mark", {"commit": old})["marked"] == old
    assert editor.get("/api/status")["mergeable"] is False  # an ancestor
    assert editor.post("/api/mark", {"commit": None})["marked"] is None


def test_edit_undo_redo_and_the_undo_stack(editor: EditorThread, database: Path) -> None:
    made = rename(editor, "bob")
    assert made["label"] == "Update nickname To 'bob'" and made["can_undo"]
    assert nickname(editor) == "bob"
    status = editor.post("/api/undo")
    assert status["undo"] == [] and status["redo"] == ["Update nickname To 'bob'"]
    assert nickname(editor) == "alice_updated"
    assert editor.post("/api/redo")["undo"] == ["Update nickname To 'bob'"]
    assert nickname(editor) == "bob"
    assert editor.get("/api/graph")["total"] == 5
    diff = editor.get(f"/api/diff?commit={made['commit']}")
    assert diff["documents"][0]["rows"] == [{"path": ".nickname", "before": "'alice_updated'", "after": "'bob'"}]
    program = editor.get(f"/api/program?commit={made['commit']}")
    assert [op["opcode"] for op in program["opcodes"]] == ["Document_Update"]
    trace = editor.get("/api/program?trace=1")
    assert [op["order"] for op in trace["opcodes"]] == [1, 2, 3]
    actions = editor.get("/api/actions")
    assert actions["total"] == 5 and actions["actions"][0]["label"] == "Redo [Update nickname To 'bob']"


def test_merge_heads_merge_marked_toggle_delete_and_reset(editor: EditorThread) -> None:
    top, old = (r["id"] for r in editor.get("/api/graph")["rows"])
    editor.post("/api/select", {"commit": old})
    branch = rename(editor, "dave", branch=True)
    assert len(branch["heads"]) == 2
    editor.post("/api/mark", {"commit": top})
    assert editor.get("/api/status")["mergeable"] is True
    merged = editor.post("/api/merge-marked")
    assert merged["merged"] and len(merged["heads"]) == 1
    assert editor.get(f"/api/commits/{merged['merged']}")["type"] == "Merge"
    toggled = editor.post("/api/toggle", {"commit": top, "enable": False})
    assert editor.get(f"/api/commits/{toggled['made']}")["type"] == "Disable"
    status = editor.post("/api/delete-head", {"commit": toggled["made"]})
    assert status["current"] == merged["merged"] and status["commits"] == 4
    assert editor.post("/api/merge-heads")["merged"] is None  # a single head: nothing to merge
    reset = editor.post("/api/reset", {"confirm": "reset"})
    assert reset["commits"] == 1 and reset["undo"] == []


def test_keys_instances_documents_and_new_instances(editor: EditorThread) -> None:
    groups = editor.get("/api/abstractions")
    assert groups[0]["name"] == "Tuto::User" and len(groups[0]["attachments"]) == 5
    keys = editor.get(f"/api/keys?attachment={login(editor)}")
    assert [k["instance"] for k in keys] == [ALICE]
    present = {a["name"]: a["present"] for a in editor.get(f"/api/instance?key={keys[0]['key']}")}
    assert present == {"avatar": False, "login": True, "identity": False, "account": False, "portrait": False}
    made = editor.post("/api/edit", {"base": editor.get("/api/status")["current"], "op": "new_instance",
                                     "attachment": "Tuto::User.login"})
    assert made["label"] == "New instance of Tuto::User"
    assert len(editor.get(f"/api/keys?attachment={login(editor)}")) == 2


def test_blobs_upload_list_download_and_use(editor: EditorThread) -> None:
    status, answer = editor.request("/api/blobs?layout=uchar-1", raw=b"\x01\x02\x03")
    assert status == 200 and answer["size"] == 3
    listing = editor.get("/api/blobs")
    assert listing["count"] == 1 and listing["total"] == 3 and listing["blobs"][0]["id"] == answer["blob_id"]
    assert editor.request(f"/api/blobs/{answer['blob_id']}") == (200, b"\x01\x02\x03")
    portrait = next(a["id"] for g in editor.get("/api/abstractions") for a in g["attachments"]
                    if a["name"] == "portrait")
    base = editor.get("/api/status")["current"]
    editor.post("/api/edit", {"base": base, "op": "add_attachment", "attachment": portrait, "key": alice(editor)})
    editor.post("/api/edit", {"base": editor.get("/api/status")["current"], "op": "update", "attachment": portrait,
                              "key": alice(editor), "path": [["field", "pixels"]], "value": answer["blob_id"]})
    rows = editor.get(f"/api/document?attachment={portrait}&key={alice(editor)}")["rows"]
    assert next(r for r in rows if r["path_text"] == ".pixels")["json"] == answer["blob_id"]


def test_sync_with_a_file_and_a_served_database(editor: EditorThread, database: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.cdb"
    shutil.copy(database, other)
    commit_in_another_process(other, "ivan")
    result = editor.post("/api/sync", {"mode": "Fetch", "source": {"kind": "file", "path": str(other)}})
    assert result["fetched_commits"] == 1 and result["pushed_commits"] == 0
    served = tmp_path / "served.cdb"
    shutil.copy(database, served)
    server = ServedDatabase(served)
    try:
        result = editor.post("/api/sync", {"mode": "Push", "source": {"kind": "host", "host": "127.0.0.1",
                                                                      "port": server.port}})
        assert result["pushed_commits"] == 1
    finally:
        server.stop()
    log = editor.get("/api/live")["log"]
    assert [e["level"] for e in log] == ["info", "info"]


def test_live_mode_forwards_and_manager_merges(editor: EditorThread, database: Path) -> None:
    import time

    _top, old = (r["id"] for r in editor.get("/api/graph")["rows"])
    editor.post("/api/select", {"commit": old})
    rename(editor, "judy", branch=True)
    assert len(editor.get("/api/status")["heads"]) == 2
    started = editor.post("/api/live/start", {"interval": 0.1, "manager": True})
    assert started["running"] and started["settings"]["manager"]
    deadline = time.monotonic() + 5
    while len(editor.get("/api/status")["heads"]) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(editor.get("/api/status")["heads"]) == 1
    assert editor.post("/api/live/stop")["running"] is False


def test_events_announce_another_process_commit(editor: EditorThread, database: Path) -> None:
    request = urllib.request.Request(editor.url + "/api/events")
    with urllib.request.urlopen(request, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = []
        while not any('"hello"' in line for line in lines):
            lines.append(stream.readline().decode())
        commit_in_another_process(database, "kim")
        while True:
            line = stream.readline().decode()
            if line.startswith("data:") and json.loads(line[5:])["kind"] == "changed":
                break
    assert editor.get("/api/graph")["total"] == 3


BAD_GETS = [
    ("/api/graph?offset=-1", 400, "offset"),
    ("/api/graph?limit=abc", 400, "limit must be an integer"),
    ("/api/graph?limit=0", 400, "limit must be at least 1"),
    ("/api/actions?offset=-5", 400, "offset must be at least 0"),
    ("/api/program?trace=1&limit=0", 400, "limit must be at least 1"),
    ("/api/graph/row?commit=zz", 400, "40 hex"),
    ("/api/graph/row", 400, "'commit' is required"),
    ("/api/commits/" + "ab" * 20, 404, "Missing commit"),
    ("/api/keys?attachment=nope", 400, "no attachment"),
    ("/api/keys", 400, "required"),
    ("/api/document?attachment=Tuto::User.login&key=bad", 400, "not a key"),
    ("/api/program", 400, "'commit' is required"),
    ("/api/diff?commit=" + "cd" * 20, 404, "Missing commit"),
    ("/api/blobs/" + "ef" * 20, 404, "Missing blob"),
    ("/api/blobs/xyz", 400, "40 hex"),
    ("/api/instance", 400, "required"),
]


@pytest.mark.parametrize(("path", "code", "message"), BAD_GETS)
def test_bad_reads_are_clear(editor: EditorThread, path: str, code: int, message: str) -> None:
    status, answer = editor.request(path)
    assert status == code, answer
    assert message in answer["error"]


BAD_WRITES = [
    ("/api/select", {"commit": "nope"}, 400, "40 hex"),
    ("/api/select", {"commit": "12" * 20}, 404, "Missing commit"),
    ("/api/mark", {"commit": 7}, 400, "40 hex"),
    ("/api/navigate", {"direction": "sideways"}, 400, "direction"),
    ("/api/undo", {}, 400, "nothing to undo"),
    ("/api/redo", {}, 400, "nothing to redo"),
    ("/api/merge-marked", {}, 409, "mark a commit"),
    ("/api/toggle", {"commit": "00" * 20}, 400, "not in the current state"),
    ("/api/toggle", {"commit": "00" * 20, "enable": "yes"}, 400, "enable must be"),
    ("/api/delete-head", {"commit": "ab" * 20}, 409, "not a head"),
    ("/api/reset", {}, 400, "confirm"),
    ("/api/edit", {"base": "x", "op": "update"}, 409, "reload"),
    ("/api/sync", {"mode": "Pull", "source": {"kind": "file", "path": "/x"}}, 400, "mode must be"),
    ("/api/sync", {"mode": "Sync", "source": {"kind": "ftp"}}, 400, "source kind"),
    ("/api/sync", {"mode": "Sync", "source": {"kind": "host", "host": "127.0.0.1", "port": 1}}, 503,
     "cannot be reached"),
    ("/api/sync", {"mode": "Sync", "source": {"kind": "host", "port": 70000}}, 400, "port must be"),
    ("/api/sync", {"mode": "Sync", "source": {"kind": "file", "path": "/nonexistent/x.cdb"}}, 400, "x.cdb"),
    ("/api/live/start", {"interval": 0}, 400, "interval"),
    ("/api/live/start", {"sync": True, "source": None}, 400, "source must be"),
]


@pytest.mark.parametrize(("path", "body", "code", "message"), BAD_WRITES)
def test_bad_writes_are_clear_and_write_nothing(editor: EditorThread, path: str, body: Any, code: int,
                                                message: str) -> None:
    before = editor.get("/api/status")
    status, answer = editor.request(path, body)
    assert status == code, answer
    assert message in answer["error"]
    after = editor.get("/api/status")
    assert after["commits"] == before["commits"] and after["current"] == before["current"]


def test_malformed_requests_and_the_write_guard(editor: EditorThread) -> None:
    status, answer = editor.request("/api/select", raw=b"{not json")
    assert status == 400 and "not JSON" in answer["error"]
    status, answer = editor.request("/api/select", raw=b"[1, 2]")
    assert status == 400 and "JSON object" in answer["error"]
    status, answer = editor.request("/api/undo", {}, write_header=False)
    assert status == 400 and "x-commitdb-editor" in answer["error"]
    status, answer = editor.request("/api/blobs", raw=b"x", write_header=False)
    assert status == 400
    status, answer = editor.request("/api/status", headers={"Host": "evil.example:80"})
    assert status == 403 and "127.0.0.1" in answer["error"]
    assert editor.get("/api/status")["commits"] == 2  # still serving


def test_an_unreachable_server_gives_a_clear_answer_and_the_editor_keeps_running(tmp_path: Path) -> None:
    served = example_database(tmp_path / "served.cdb")
    server = ServedDatabase(served)
    running = EditorThread(CommitDatabase.connect("127.0.0.1", str(server.port)), "remote")
    try:
        assert running.get("/api/status")["commits"] == 2
        server.stop()
        status, answer = running.request("/api/graph?offset=0&limit=10")
        status2, _answer2 = running.request("/api/abstractions")
        # the views may still answer from memory; anything that needs the server says so
        assert status in (200, 503) and status2 in (200, 503)
        status, answer = running.request("/api/undo", {})
        assert status in (400, 503)
        status, answer = running.request("/api/merge-heads", {})
        assert status == 503 and "cannot be reached" in answer["error"]
    finally:
        running.stop()
        server.stop()


def test_a_database_busy_beyond_its_timeout_is_a_clear_answer(database: Path) -> None:
    import sqlite3

    from commitdb.storage.sqlite import SQLiteBackend

    running = EditorThread(CommitDatabase(SQLiteBackend(str(database), busy_timeout=0.3)), "busy")
    blocker = sqlite3.connect(str(database), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        status, answer = running.request("/api/edit", {"base": running.get("/api/status")["current"],
                                                       "op": "new_instance", "attachment": "Tuto::User.login"})
        assert status == 503 and "busy" in answer["error"]
        blocker.execute("ROLLBACK")
        assert running.get("/api/status")["commits"] == 2  # nothing half-written
        made = running.post("/api/edit", {"base": running.get("/api/status")["current"], "op": "new_instance",
                                          "attachment": "Tuto::User.login"})
        assert made["commits"] == 3
    finally:
        blocker.close()
        running.stop()


def wait_for(condition: Any, seconds: float = 10) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_live_mode_syncs_with_the_source_and_stops_on_an_error(editor: EditorThread, database: Path,
                                                               tmp_path: Path) -> None:
    other = tmp_path / "other.cdb"
    shutil.copy(database, other)
    editor.post("/api/live/start", {"interval": 0.1, "sync": True, "source": {"kind": "file", "path": str(other)}})
    commit_in_another_process(other, "leo")
    assert wait_for(lambda: editor.get("/api/status")["commits"] == 3)
    assert wait_for(lambda: nickname(editor) == "leo")  # live mode also moves forward
    editor.post("/api/live/stop")
    editor.post("/api/live/start", {"interval": 0.1, "sync": True,
                                    "source": {"kind": "host", "host": "127.0.0.1", "port": 1}})
    assert wait_for(lambda: not editor.get("/api/live")["running"])
    assert "live mode stopped" in editor.get("/api/live")["log"][-1]["text"]


def test_a_merge_is_enabled_in_its_own_state(editor: EditorThread) -> None:
    top, old = (r["id"] for r in editor.get("/api/graph")["rows"])
    editor.post("/api/select", {"commit": old})
    rename(editor, "mia", branch=True)
    merged = editor.post("/api/merge-heads")["merged"]
    rows = {r["id"]: r for r in editor.get("/api/graph")["rows"]}
    assert rows[merged]["type"] == "Merge" and rows[merged]["state"] == "enabled"
    assert rows[merged]["order"] == len(rows) and rows[top]["state"] == "enabled"
