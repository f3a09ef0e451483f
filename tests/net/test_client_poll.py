"""The client's catch-up: one round trip (poll) answers what the facade reads after another
client wrote, and poll data is never used once stale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _netutil import make_tuto_cdb, short_socket_path

from commitdb import CommitDatabase
from commitdb.errors import ProtocolError
from commitdb.net import client as C
from commitdb.net.background import BackgroundServer
from commitdb.net.client import RemoteBackend
from commitdb.testing import Tuto


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    with BackgroundServer(make_tuto_cdb(tmp_path / "p.cdb"), socket_path=short_socket_path()) as s:
        yield s


def _counting(backend: RemoteBackend) -> list[str]:
    calls: list[str] = []
    original = backend.call

    def call(method: str, *args: object) -> object:
        calls.append(method)
        return original(method, *args)

    backend.call = call  # type: ignore[method-assign]
    return calls


def test_catch_up_is_one_round_trip(server: BackgroundServer) -> None:
    a, b = (CommitDatabase.connect_local(str(server.socket_path)) for _ in range(2))
    ta, tb = Tuto(a), Tuto(b)
    c1 = ta.set(None, "one")
    assert b.head_commit_ids() == {c1}
    calls = _counting(b.commit_databasing())  # type: ignore[arg-type]
    c2 = ta.rename(c1, "two")
    assert b.head_commit_ids() == {c2}
    assert calls == ["poll"]  # headers, count, index and definitions came with it
    calls.clear()
    assert b.head_commit_ids() == {c2}
    assert calls == ["poll"]
    assert tb.nick(c2) == "two"
    a.close()
    b.close()


def test_own_writes_are_not_sent_back(server: BackgroundServer) -> None:
    db = CommitDatabase.connect_local(str(server.socket_path))
    tuto = Tuto(db)
    c = tuto.set(None, "x")
    backend = db.commit_databasing()
    calls = _counting(backend)  # type: ignore[arg-type]
    c = tuto.rename(c, "y")
    # state() and commit_mutations' parent check are answered from the views (the parent is
    # known, and a known commit's ancestry cannot change): one round trip, the insert.
    assert calls == ["insert_commit"]
    calls.clear()
    assert db.head_commit_ids() == {c}
    assert calls == ["poll"]
    db.close()


def test_stale_poll_data_is_not_used(server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    a = CommitDatabase.connect_local(str(server.socket_path))
    ta = Tuto(a)
    b = RemoteBackend.connect_local(str(server.socket_path))
    b.data_version()
    ta.set(None, "one")
    b.data_version()  # brings the new header and count
    monkeypatch.setattr(C, "POLL_FRESH", 0.0)
    time.sleep(0.01)
    ta.set(None, "two", key=ta.key(2))
    assert b.commit_count() == 2  # asked again, not taken from the old poll
    b.data_version()
    b.call("uuid")  # any other request also retires the poll data
    ta.set(None, "three", key=ta.key(3))
    assert b.commit_count() == 3
    a.close()
    b.close()


@pytest.mark.parametrize("args", [[], ["1", 0, None], [None, -1, None], [None, 0, "sha"], [True, 0, None],
                                  [None, 2 ** 63, None]])
def test_poll_arguments_are_checked(server: BackgroundServer, args: list) -> None:
    b = RemoteBackend.connect_local(str(server.socket_path))
    with pytest.raises(ProtocolError):
        b.call("poll", *args)
    assert b.call("commit_count") == 0
    b.close()
