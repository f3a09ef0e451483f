"""Server-side reads: a fresh client reads any document — at the last commit or an old one — in
at most three round trips after connecting, whatever the history length; the new requests
refuse bad input with a clear error to that client and nothing else affected."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from commitdb import CommitDatabase, CommitMutableState, ValueCommitId, ValueUUId
from commitdb.errors import CommitDBError, CommitNotFoundError, ProtocolError
from commitdb.net import client as client_module
from commitdb.net.background import BackgroundServer

KEY = ValueUUId("11111111-1111-1111-1111-111111111111")  # the chain_history fixture's document


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = client_module.RemoteBackend.call

    def spy(self: client_module.RemoteBackend, method: str, *args: object) -> object:
        calls.append(method)
        return original(self, method, *args)

    monkeypatch.setattr(client_module.RemoteBackend, "call", spy)
    return calls


@pytest.mark.timeout(600)
@pytest.mark.parametrize("commits", [500, 5000])
def test_a_fresh_client_reads_any_document_in_three_round_trips(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commits: int, tuto_names: dict,
        chain_history: Callable[..., list]) -> None:
    names = tuto_names
    ids = chain_history(tmp_path / "served.cdb", commits)
    login = names["TUTO_A_USER_LOGIN"]
    calls = _counting(monkeypatch)
    with BackgroundServer(str(tmp_path / "served.cdb"), host="127.0.0.1", port=0) as server:
        for at, expected in ((None, commits - 1), (ids[commits // 2], commits // 2)):
            db = CommitDatabase.connect("127.0.0.1", server.port)
            calls.clear()
            commit = db.last_commit_id() if at is None else at
            document = db.state(commit).attachment_getting().get(login, login.create_key(KEY))
            assert repr(document) == f"Optional({{nickname='n{expected}', password='p'}})"
            assert len(calls) <= 3, calls
            assert "headers_since" not in calls and "all_headers" not in calls
            calls.clear()  # read again through a new state: served from the client's cache
            again = db.state(commit).attachment_getting().get(login, login.create_key(KEY))
            assert repr(again) == repr(document) and len(calls) <= 1, calls
            db.close()


@pytest.fixture
def served(tmp_path: Path, tuto_names: dict,
           chain_history: Callable[..., list]) -> Iterator[tuple[BackgroundServer, list[ValueCommitId], dict]]:
    names = tuto_names
    ids = chain_history(tmp_path / "served.cdb", 20)
    with BackgroundServer(str(tmp_path / "served.cdb"), host="127.0.0.1", port=0) as server:
        yield server, ids, names


def test_keys_and_merge_states_read_on_the_server(served: tuple[BackgroundServer, list, dict]) -> None:
    server, ids, names = served
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    db = CommitDatabase.connect("127.0.0.1", server.port)
    branch = CommitMutableState(db.state(ids[5]))
    branch.attachment_mutating().update(login, login.create_key(KEY), nickname, "branch")
    other = db.commit_mutations("branch", branch)
    merged = db.merge_state(ids[-1], other)
    assert repr(merged.attachment_getting().get(login, login.create_key(KEY))) == \
        "Optional({nickname='branch', password='p'})"
    assert [str(k.instance_id()) for k in db.state(ids[-1]).attachment_getting().keys(login)] == [str(KEY)]
    local = CommitDatabase.open(server_path(server))
    assert repr(local.merge_state(ids[-1], other).attachment_getting().get(login, login.create_key(KEY))) == \
        repr(merged.attachment_getting().get(login, login.create_key(KEY)))
    local.close()
    db.close()


def server_path(server: BackgroundServer) -> str:
    return server._database  # type: ignore[attr-defined, return-value]


@pytest.mark.parametrize("method, args, message", [
    ("read_documents", [b"x" * 3, None, []], "20-byte id"),
    ("read_documents", [bytes(20), None, [[b"a", b"b"]]], "document key"),
    ("read_documents", [bytes(20), None, "nope"], "must be a list"),
    # over its own bound, within the ids a message may carry (a longer list closes the connection)
    ("read_documents", [bytes(20), None, [[bytes(16)] * 3] * 10_001], "at most"),
    ("read_attachment", [bytes(20), None, bytes(16), 0, 10**9], "count must be"),
    ("read_attachment", [bytes(20), None, bytes(3), 0, 10], "16 bytes"),
    ("read_attachment", [bytes(20), None, bytes(16), -1, 10], "non-negative"),
    ("rx_lane_rows", [["x"]], "non-negative integers"),
    ("rx_placements", [[b"short"]], "20-byte id"),
    ("rx_ends", [1], "no arguments"),
])
def test_malformed_requests_get_a_clear_error(served: tuple[BackgroundServer, list, dict], method: str,
                                              args: list, message: str) -> None:
    server, ids, names = served
    db = CommitDatabase.connect("127.0.0.1", server.port)
    with pytest.raises(ProtocolError, match=message):
        db.commit_databasing().call(method, *args)  # type: ignore[attr-defined]
    # The same connection, and everyone else, still work.
    login = names["TUTO_A_USER_LOGIN"]
    assert repr(db.state(ids[3]).attachment_getting().get(login, login.create_key(KEY))) == \
        "Optional({nickname='n3', password='p'})"
    other = CommitDatabase.connect("127.0.0.1", server.port)
    assert other.head_commit_ids() == {ids[-1]}
    other.close()
    db.close()


def test_unknown_commits_are_not_found(served: tuple[BackgroundServer, list, dict]) -> None:
    server, ids, names = served
    db = CommitDatabase.connect("127.0.0.1", server.port)
    login = names["TUTO_A_USER_LOGIN"]
    with pytest.raises(CommitNotFoundError):
        db.state(ValueCommitId(bytes(19) + b"\x01"))
    with pytest.raises(CommitDBError):
        db.commit_databasing().call("read_documents", bytes(19) + b"\x01", None,  # type: ignore[attr-defined]
                                    [[login.rid, KEY.bytes_value(), names["TUTO_C_USER"].rid]])
    assert db.commit_exists(ids[0])
    db.close()


def test_a_huge_page_request_is_refused_before_any_work(served: tuple[BackgroundServer, list, dict]) -> None:
    server, _, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass  # a connection that says nothing is dropped without harm
    db = CommitDatabase.connect("127.0.0.1", server.port)
    with pytest.raises(ProtocolError, match="count must be"):
        db.commit_databasing().call("read_attachment", bytes(20), None, bytes(16), 0, 2**62)  # type: ignore[attr-defined]
    db.close()
