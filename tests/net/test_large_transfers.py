"""Blobs larger than a message travel in pieces; commit batches and client caches stay bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import commitdb.net.client as client_module
import commitdb.net.protocol as protocol
from commitdb import BlobLayout, CommitDatabase, CommitMutableState, CommitSynchronizer
from commitdb.dsm import DSMBuilder
from commitdb.net.background import BackgroundServer
from commitdb.testing import TUTO_DSM


def _tuto(db: CommitDatabase) -> dict:
    builder = DSMBuilder()
    builder.append("tuto.dsm", TUTO_DSM)
    _, _, definitions = builder.parse()
    db.extend_definitions(definitions)
    names: dict = {}
    definitions.inject(names)
    return names


@pytest.fixture
def small_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "BLOB_CHUNK", 1000)


def test_big_blobs_go_up_and_down_in_pieces(tmp_path: Path, small_messages: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "blobs.cdb"
    CommitDatabase.create(str(path)).close()
    calls: list[str] = []
    original = client_module.RemoteBackend.call
    monkeypatch.setattr(client_module.RemoteBackend, "call",
                        lambda self, method, *args: calls.append(method) or original(self, method, *args))
    big = os.urandom(4500)
    smalls = [os.urandom(300) for _ in range(7)]
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        remote = CommitDatabase.connect("127.0.0.1", str(server.port))
        big_id = remote.create_blob(BlobLayout(), big)
        assert calls.count("blob_upload_chunk") == 5
        small_ids = [remote.create_blob(BlobLayout(), s) for s in smalls]
        reader = CommitDatabase.connect("127.0.0.1", str(server.port))
        calls.clear()
        assert bytes(reader.blob(big_id)) == big
        assert calls.count("blob_chunk") == 5
        records = reader.commit_databasing().blob_datas([big_id.bytes_value(), *(b.bytes_value() for b in small_ids)])
        assert [r.data for r in records] == [big, *smalls]
        # Sync a file replica out of the server: blobs arrive whole and re-hash.
        replica = CommitDatabase.create_in_memory()
        info = CommitSynchronizer(reader, replica, "Fetch", size_of_packed_blobs=800).sync()
        assert info.fetch().blobs() == 8
        assert bytes(replica.blob(big_id)) == big
        remote.close()
        reader.close()


def test_forged_pieces_are_refused(tmp_path: Path, small_messages: None) -> None:
    from commitdb import ProtocolError

    path = tmp_path / "forged.cdb"
    CommitDatabase.create(str(path)).close()
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        remote = CommitDatabase.connect("127.0.0.1", str(server.port))
        backend = remote.commit_databasing()
        with pytest.raises(ProtocolError, match="in order"):
            backend.call("blob_upload_chunk", "uchar-1", 3000, 1000, b"x" * 1000)
        assert backend.call("blob_upload_chunk", "uchar-1", 1500, 0, b"x" * 1000) is None
        with pytest.raises(ProtocolError, match="more bytes"):
            backend.call("blob_upload_chunk", "uchar-1", 1500, 1000, b"x" * 1000)
        with pytest.raises(ProtocolError, match="upload limit"):
            backend.call("blob_upload_chunk", "uchar-1", 10 ** 12, 0, b"")
        assert remote.blob_ids() == set()  # nothing half-written
        remote.close()


def test_commits_are_sent_in_batches_and_caches_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "COMMIT_CACHE", 50)
    source = CommitDatabase.create_in_memory()
    names = _tuto(source)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key()
    mutable = CommitMutableState(source.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "n0"})
    head = source.commit_mutations("first", mutable)
    for i in range(1, 300):
        mutable = CommitMutableState(source.state(head))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        head = source.commit_mutations(f"c{i}", mutable)
    path = tmp_path / "target.cdb"
    CommitDatabase.create(str(path)).close()
    calls: list[str] = []
    original = client_module.RemoteBackend.call
    monkeypatch.setattr(client_module.RemoteBackend, "call",
                        lambda self, method, *args: calls.append(method) or original(self, method, *args))
    with BackgroundServer(str(path), host="127.0.0.1", port=0) as server:
        remote = CommitDatabase.connect("127.0.0.1", str(server.port))
        info = CommitSynchronizer(source, remote, "Fetch").sync()
        assert info.fetch().commits() == 300
        assert calls.count("insert_commits") == 1 and "insert_commit" not in calls
        assert len(remote.commit_databasing()._commits) <= 50
        got = remote.state(head).attachment_getting().get(login, key)
        assert repr(got) == "Optional({nickname='n299', password=''})"
        remote.close()
    reopened = CommitDatabase.open(str(path))
    assert len(reopened.commit_ids()) == 300
