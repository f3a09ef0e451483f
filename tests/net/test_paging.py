"""Large catch-ups over the network come in bounded pages (no answer nears the frame limit)."""

from __future__ import annotations

from pathlib import Path

import pytest

import commitdb.net.client as client_module
from commitdb import CommitDatabase, CommitMutableState
from commitdb.dsm import DSMBuilder
from commitdb.net.background import BackgroundServer
from commitdb.testing import TUTO_DSM


def test_headers_and_index_arrive_in_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builder = DSMBuilder()
    builder.append("tuto.dsm", TUTO_DSM)
    _, _, definitions = builder.parse()
    path = tmp_path / "paged.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    names: dict = {}
    definitions.inject(names)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key()
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "n0"})
    head = db.commit_mutations("first", mutable)
    for i in range(1, 57):
        mutable = CommitMutableState(db.state(head))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        head = db.commit_mutations(f"c{i}", mutable)
    db.close()

    monkeypatch.setattr(client_module, "HEADER_PAGE", 10)
    calls: list[tuple[str, tuple]] = []
    original = client_module.RemoteBackend.call

    def spy(self: client_module.RemoteBackend, method: str, *args: object) -> object:
        calls.append((method, args))
        return original(self, method, *args)

    monkeypatch.setattr(client_module.RemoteBackend, "call", spy)
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        remote = CommitDatabase.connect("127.0.0.1", str(server.port))
        assert len(remote.commit_ids()) == 57
        assert remote.head_commit_ids() == {head}
        got = remote.state(head).attachment_getting().get(login, key)
        assert repr(got) == "Optional({nickname='n56', password=''})"
        remote.close()
    pages = [args for method, args in calls if method == "headers_since"]
    assert len(pages) >= 6 and all(args[1] == 10 for args in pages)
    # The server reads documents for its clients: no index travels, one request reads it.
    assert not [args for method, args in calls if method == "load_index"]
    assert [method for method, _ in calls].count("read_documents") == 1
