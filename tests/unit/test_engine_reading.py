"""Reading a document replays only the commits that touch it (DESIGN "Performance shape")."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import CommitDatabase, CommitMutableState, Path, ValueUUId


def spy(monkeypatch: pytest.MonkeyPatch, db: CommitDatabase) -> list[bytes]:
    """Record every commit whose program the engine asks ``db`` for."""
    calls: list[bytes] = []
    real = db.engine_program

    def counting(commit_id: bytes) -> Any:
        calls.append(commit_id)
        return real(commit_id)

    monkeypatch.setattr(db, "engine_program", counting)
    return calls


@pytest.mark.parametrize("reopen", [False, True])
def test_read_decodes_only_touching_commits(tuto: tuple[CommitDatabase, dict[str, Any]],
                                            monkeypatch: pytest.MonkeyPatch, reopen: bool) -> None:
    db, names = tuto
    login = names["TUTO_A_USER_LOGIN"]
    target = login.create_key(ValueUUId("11111111-1111-1111-1111-111111111111"))
    ms = CommitMutableState(db.initial_state())
    ms.attachment_mutating().set(login, target, {"nickname": "first"})
    touching = [db.commit_mutations("create", ms)]
    head = touching[0]
    others = [login.create_key() for _ in range(20)]
    for i in range(2000):
        ms = CommitMutableState(db.state(head))
        ms.attachment_mutating().set(login, others[i % 20], {"nickname": f"o{i}"})
        head = db.commit_mutations(f"other {i}", ms)
    ms = CommitMutableState(db.state(head))
    ms.attachment_mutating().update(login, target, Path.from_field("nickname"), "last")
    head = db.commit_mutations("rename", ms)
    touching.append(head)
    for i in range(5):
        ms = CommitMutableState(db.state(head))
        ms.attachment_mutating().set(login, others[i], {"nickname": f"after {i}"})
        head = db.commit_mutations(f"after {i}", ms)

    reader = CommitDatabase(db.commit_databasing()) if reopen else db
    calls = spy(monkeypatch, reader)
    state = reader.state(head)
    found = state.attachment_getting().get(login, target)
    assert repr(found) == "Optional({nickname='last', password=''})"
    assert set(calls) <= set(x.bytes_value() for x in touching)
    # An older state sees the older value, again from the touching commits only.
    calls.clear()
    middle = reader.state(touching[1]).attachment_getting().get(login, target)
    assert repr(middle) == "Optional({nickname='last', password=''})"
    assert set(calls) <= set(x.bytes_value() for x in touching)
    calls.clear()
    parent = reader.commit_header(touching[1]).parent_commit_id()
    before = reader.state(parent).attachment_getting().get(login, target)
    assert repr(before) == "Optional({nickname='first', password=''})"
    assert set(calls) <= {touching[0].bytes_value()}
