"""Every edit operation of the editor on a model with every container, through EditorSession:
one commit each, the reference's label style, values checked before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import ValidationError
from commitdb.editor.documents import document_rows
from commitdb.editor.session import EditorSession, StaleEditError

MODEL = """
namespace E {5b1d3f0a-8c2e-4d6f-9a1b-3c5d7e9f1a2b} {
concept Thing;
concept Other;
enum Mood { calm, happy };
struct Inner { int64 a; string b; };
struct Profile {
  string name;
  uint16 width;
  optional<string> nick;
  set<string> tags;
  map<string, int64> counters;
  vector<string> history;
  xarray<string> notes;
  variant<int64, string> v;
  any free;
  Inner inner;
  Mood mood;
  bool flag;
  key<Other> other;
  blob_id picture;
};
attachment<Thing, Profile> profile;
attachment<Other, Inner> inner;
};
"""


@pytest.fixture
def session(make_db: Any) -> EditorSession:
    db, _ = make_db(MODEL)
    return EditorSession(db, "memory")


def profile_id(session: EditorSession) -> str:
    return next(a["id"] for g in session.abstractions() for a in g["attachments"] if a["name"] == "profile")


def new_thing(session: EditorSession) -> str:
    made = session.edit({"base": session.status()["current"], "op": "new_instance", "attachment": profile_id(session)})
    assert made["label"] == "New instance of E::Thing"
    return session.keys(profile_id(session))[0]["key"]


def edit(session: EditorSession, key: str, op: str, path: list[Any], **extra: Any) -> str:
    before = session.status()["commits"]
    made = session.edit({"base": session.status()["current"], "op": op, "attachment": profile_id(session),
                         "key": key, "path": path, **extra})
    assert session.status()["commits"] == before + 1
    return made["label"]


def rows(session: EditorSession, key: str) -> dict[str, dict[str, Any]]:
    return {r["path_text"]: r for r in session.document(profile_id(session), key)["rows"]}


def test_every_edit_is_one_commit_with_its_label(session: EditorSession) -> None:
    key = new_thing(session)
    assert edit(session, key, "update", [["field", "name"]], value="Ann") == "Update name To 'Ann'"
    assert edit(session, key, "update", [["field", "width"]], value=640) == "Update width To 640"
    assert edit(session, key, "update", [["field", "mood"]], value="happy") == "Update mood To happy"
    assert edit(session, key, "update", [["field", "flag"]], value=True) == "Update flag To true"
    assert edit(session, key, "update", [["field", "inner"]], value={"a": 3, "b": "x"}).startswith("Set ")
    assert edit(session, key, "optional_wrap", [["field", "nick"]]) == "Reset an Optional"
    assert rows(session, key)[".nick!"]["json"] == ""
    assert edit(session, key, "update", [["field", "nick"], ["unwrap"]], value="an").startswith("Set ")
    assert edit(session, key, "optional_clear", [["field", "nick"]]) == "Clear an Optional"
    assert ".nick!" not in rows(session, key)
    assert edit(session, key, "vector_append", [["field", "history"]], value="a") == "Append in Vector"
    assert edit(session, key, "vector_append", [["field", "history"]], value="c") == "Append in Vector"
    assert edit(session, key, "vector_insert", [["field", "history"], ["index", 1]], value="b") == "Insert in Vector"
    assert [rows(session, key)[f".history[{i}]"]["json"] for i in range(3)] == ["a", "b", "c"]
    assert edit(session, key, "vector_remove", [["field", "history"], ["index", 0]]) == "Remove in Vector"
    assert ".history[2]" not in rows(session, key)
    assert edit(session, key, "set_insert", [["field", "tags"]], value="red") == "Insert in Set"
    assert edit(session, key, "set_update", [["field", "tags"], ["element", "red"]], value="blue") == \
        "Update Element in Set"
    assert [r["json"] for r in rows(session, key).values() if r["path_text"] == ".tags{}"] == ["blue"]
    assert edit(session, key, "set_remove", [["field", "tags"], ["element", "blue"]]) == "Remove in Set"
    assert rows(session, key)[".tags"]["display"] == "0 elements"
    assert edit(session, key, "map_add", [["field", "counters"]], map_key="x", value=1) == "Insert a Key"
    assert edit(session, key, "update", [["field", "counters"], ["key", "x"]], value=5) == "Set 5"
    assert edit(session, key, "map_rename", [["field", "counters"], ["key", "x"]], map_key="y") == "Update Key in Map"
    assert rows(session, key)[".counters['y']"]["json"] == 5
    assert edit(session, key, "map_remove", [["field", "counters"], ["key", "y"]]) == "Remove a Key"
    assert edit(session, key, "xarray_append", [["field", "notes"]], value="n2") == "Append in XArray"
    notes = [r for r in rows(session, key).values() if r["path_text"].startswith(".notes[")]
    assert edit(session, key, "xarray_insert", notes[0]["path"], value="n1") == "Insert in XArray"
    notes = [r["json"] for r in rows(session, key).values() if r["path_text"].startswith(".notes[")]
    assert notes == ["n1", "n2"]
    first = next(r for r in rows(session, key).values() if r["path_text"].startswith(".notes["))
    assert edit(session, key, "xarray_remove", first["path"]) == "Remove in XArray"
    assert edit(session, key, "variant_reset", [["field", "v"]], alternative=1) == "Reset a Variant To string"
    assert rows(session, key)[".v!"]["type"] == "string"
    assert edit(session, key, "update", [["field", "v"], ["unwrap"]], value="held") == "Set 'held'"
    assert rows(session, key)[".v!"]["json"] == "held"
    assert edit(session, key, "any_reset", [["field", "free"]], type="double") == "Reset an Any To double"
    assert rows(session, key)[".free!"]["type"] == "double"
    assert edit(session, key, "any_clear", [["field", "free"]]) == "Clear an Any"
    assert rows(session, key)[".free"]["display"] == "nil"
    # undo goes back one edit, as a Disable commit
    session.undo()
    assert rows(session, key)[".free!"]["type"] == "double"
    assert session.status()["redo"] == ["Clear an Any"]


@pytest.mark.parametrize(("op", "path", "extra", "message"), [
    ("update", [["field", "width"]], {"value": 70000}, "70000"),
    ("update", [["field", "width"]], {"value": "wide"}, "wide"),
    ("update", [["field", "mood"]], {"value": "sad"}, "sad"),
    ("update", [["field", "nope"]], {"value": 1}, "nope"),
    ("update", [["index", 0]], {"value": 1}, "does not fit"),
    ("update", "not a list", {"value": 1}, "list"),
    ("vector_remove", [["field", "history"], ["index", 4]], {}, "out of"),
    ("map_add", [["field", "counters"]], {"map_key": 3, "value": 1}, "key"),
    ("variant_reset", [["field", "v"]], {"alternative": 7}, "alternative"),
    ("any_reset", [["field", "free"]], {"type": "matrix"}, "type must be one of"),
    ("optional_clear", [["field", "name"]], {}, "optional"),
    ("explode", [], {}, "unknown edit operation"),
    ("update", [["field", "picture"]], {"value": "ab" * 20}, "Missing blob"),
])
def test_bad_edits_name_the_problem_and_write_nothing(session: EditorSession, op: str, path: Any,
                                                      extra: dict[str, Any], message: str) -> None:
    key = new_thing(session)
    before = session.status()
    with pytest.raises(Exception, match=message) as caught:
        session.edit({"base": before["current"], "op": op, "attachment": profile_id(session), "key": key,
                      "path": path, **extra})
    assert isinstance(caught.value, ValidationError | ValueError) or "Error" in type(caught.value).__name__
    assert session.status()["commits"] == before["commits"]


def test_a_stale_page_or_a_non_head_is_refused(session: EditorSession) -> None:
    key = new_thing(session)
    first = session.status()["current"]
    edit(session, key, "update", [["field", "name"]], value="one")
    request = {"op": "update", "attachment": profile_id(session), "key": key, "path": [["field", "name"]],
               "value": "two"}
    with pytest.raises(StaleEditError, match="reload"):
        session.edit({**request, "base": first})
    session.select(first)
    with pytest.raises(StaleEditError, match="no longer a head"):
        session.edit({**request, "base": first})
    made = session.edit({**request, "base": first, "branch": True})
    assert len(session.status()["heads"]) == 2
    assert made["label"] == "Update name To 'two'"


def test_add_attachment_and_keys(session: EditorSession) -> None:
    key = new_thing(session)
    found = {a["name"]: a for a in session.instance_attachments(key)}
    assert found["profile"]["present"] is True
    assert "inner" not in found  # keyed by another concept
    with pytest.raises(ValidationError, match="already has"):
        session.edit({"base": session.status()["current"], "op": "add_attachment", "attachment": profile_id(session),
                      "key": key})


def test_a_huge_document_is_cut_and_says_so(session: EditorSession) -> None:
    key = new_thing(session)
    edit(session, key, "update", [["field", "history"]], value=[str(i) for i in range(6000)])
    result = session.document(profile_id(session), key)
    assert result["truncated"] is True
    assert len(result["rows"]) == 5000
    assert document_rows(None, None) == {"rows": [], "truncated": False, "exists": False}


def test_new_commits_extend_the_graph_and_a_deletion_lays_it_out_again(session: EditorSession) -> None:
    key = new_thing(session)
    session.graph_page(0, 10)
    built = session._layouts_built
    for name in ("a", "b", "c"):
        edit(session, key, "update", [["field", "name"]], value=name)
    page = session.graph_page(0, 10)
    assert session._layouts_built == built  # appended on top, not laid out again
    assert [r["label"] for r in page["rows"][:3]] == ["Update name To 'c'", "Update name To 'b'",
                                                      "Update name To 'a'"]
    session.delete_head(page["rows"][0]["id"])
    page = session.graph_page(0, 10)
    assert session._layouts_built == built + 1
    assert page["total"] == 3 and page["rows"][0]["label"] == "Update name To 'b'"


def test_the_graph_does_not_wait_for_the_flags_a_worker_computes_them(tmp_path: Any) -> None:
    import threading
    import time

    from editor_support import example_database

    from commitdb import CommitDatabase

    path = str(example_database(tmp_path / "example.cdb"))
    gate = threading.Event()  # holds the worker back: what the page sees meanwhile is checked

    def reopen() -> CommitDatabase:
        assert gate.wait(10)
        return CommitDatabase.open(path, readonly=True)

    events: list[dict[str, Any]] = []
    session = EditorSession(CommitDatabase.open(path), "example.cdb", reopen)
    session.listeners.append(events.append)

    def release_and_wait(count: int) -> None:
        gate.set()
        deadline = time.monotonic() + 10
        while events.count({"kind": "flags"}) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        gate.clear()

    try:
        first = session.graph_page(0, 10)
        assert [r["state"] for r in first["rows"]] == ["pending", "pending"]
        assert session.actions(0, 10)["pending"] is True  # the actions panel waits for them too
        assert session.program(None, trace=True)["pending"] is True
        release_and_wait(1)
        second = session.graph_page(0, 10)
        assert [(r["state"], r["order"]) for r in second["rows"]] == [("enabled", 2), ("enabled", 1)]
        assert [a["label"] for a in session.actions(0, 10)["actions"]] == ["Rename", "Add Alice"]
        session.select(second["rows"][1]["id"])  # another state: pending again until computed
        assert [r["state"] for r in session.graph_page(0, 10)["rows"]] == ["pending", "pending"]
        release_and_wait(2)
        assert [r["state"] for r in session.graph_page(0, 10)["rows"]] == ["outside", "enabled"]
    finally:
        gate.set()
        session.db.close()
