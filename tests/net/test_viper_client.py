"""commitdb as a reference-protocol client: ``protocol="viper"`` against a stand-in reference
server (written from the protocol specification), for commits, reads, blobs, transactions and
sync, and the admin tool's ``--protocol viper sync``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _netutil import short_socket_path
from _viper_standin import StandInServer
from click.testing import CliRunner

from commitdb import CommitDatabase, CommitMutableState
from commitdb.blobs import BlobLayout
from commitdb.cli.admin_commands import admin
from commitdb.errors import ConnectionFailedError, RemoteError, StorageError, ValidationError
from commitdb.net import viper_protocol as V
from commitdb.net.viper_client import ViperBackend
from commitdb.sync import CommitSynchronizer
from commitdb.testing import Tuto


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    server = StandInServer(tcp=True, socket_path=short_socket_path())
    yield server
    server.close()


def _connect(server: StandInServer, transport: str) -> CommitDatabase:
    if transport == "tcp":
        return CommitDatabase.connect("127.0.0.1", server.port, protocol="viper")
    assert server.socket_path is not None
    return CommitDatabase.connect_local(server.socket_path, protocol="viper")


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_commit_read_blobs_and_transactions(standin: StandInServer, transport: str) -> None:
    with _connect(standin, transport) as db:
        assert isinstance(db.commit_databasing(), ViperBackend)
        tuto = Tuto(db)
        assert db.definitions_hexdigest() == tuto.definitions.hexdigest()
        c1 = tuto.set(None, "alice")
        c2 = tuto.rename(c1, "bob")
        c3 = tuto.repass(c2, "secret")
        branch = tuto.rename(c1, "carol")
        merge = db.merge_commit("merge", c3, branch)
        toggle = db.disable_commit("undo", merge, c2)
        assert "CreateCommitData" in standin.calls
        assert db.head_commit_ids() == {toggle}
        assert tuto.nick(merge) == "carol"
        assert db.last_commit_id() == toggle
        blob = db.create_blob(BlobLayout(), b"\x01\x02\x03\x04\x05")
        assert db.commit_databasing().get_blob(blob.bytes_value()).data == b"\x01\x02\x03\x04\x05"
        m = CommitMutableState(db.state(toggle))
        m.attachment_mutating().set(tuto.portrait, tuto.portrait.create_key(), {"width": 5, "height": 1,
                                                                                "pixels": blob})
        with_blob = db.commit_mutations("portrait", m)
        backend = db.commit_databasing()
        backend.begin_transaction("Immediate")
        later = tuto.rename(with_blob, "eve")
        assert db.commit_exists(later)
        backend.rollback()
        assert not db.commit_exists(later)
        assert db.head_commit_ids() == {with_blob}
        with pytest.raises(StorageError, match="no transaction is active"):
            backend.commit()
        with pytest.raises(StorageError, match="unknown transaction mode"):
            backend.begin_transaction("Sometimes")
        ids = list(db.commit_ids())
        expected = tuto.read(with_blob)
    # a fresh connection reads the same history (a cold read)
    with _connect(standin, transport) as again:
        assert list(again.commit_ids()) == ids
        assert tuto.read(with_blob, db=again) == expected
        assert again.blob_ids() == {blob}


def test_sync_pulls_and_pushes(standin: StandInServer, tmp_path: Path) -> None:
    local_path = str(tmp_path / "local.cdb")
    local = CommitDatabase.create(local_path)
    tuto = Tuto(local)
    big = local.create_blob(BlobLayout(), bytes(range(256)) * 200)
    c1 = tuto.set(None, "alice")
    m = CommitMutableState(local.state(c1))
    m.attachment_mutating().set(tuto.portrait, tuto.portrait.create_key(), {"width": 1, "height": 1, "pixels": big})
    c2 = local.commit_mutations("portrait", m)
    with CommitDatabase.connect("127.0.0.1", standin.port, protocol="viper") as remote:
        info = CommitSynchronizer(local, remote, "Sync", 10_000).sync()  # local -> remote is the fetch side
        assert info.fetch().commits() == 2 and info.fetch().blobs() == 1
        assert set(remote.commit_ids()) == {c1, c2}
        assert standin.blobs[bytes.fromhex(str(big))][1] == bytes(range(256)) * 200
        # a commit made on the server side comes back
        c3 = Tuto(remote).rename(c2, "bob")
        info = CommitSynchronizer(local, remote, "Sync", 10_000).sync()
        assert info.push().commits() == 1 and info.fetch().commits() == 0
        assert tuto.nick(c3) == "bob"
    local.close()


def test_admin_tool_syncs_with_protocol_viper(standin: StandInServer, tmp_path: Path) -> None:
    with CommitDatabase.connect_local(standin.socket_path, protocol="viper") as remote:  # type: ignore[arg-type]
        tuto = Tuto(remote)
        c1 = tuto.set(None, "alice")
        tuto.rename(c1, "bob")
    copy = tmp_path / "copy.cdb"
    result = CliRunner().invoke(admin, ["--host", "127.0.0.1", "--port", str(standin.port), "--protocol", "viper",
                                        "sync", str(copy)])
    assert result.exit_code == 0, result.output
    assert "fetched 2 commit(s)" in result.output
    with CommitDatabase.open(str(copy)) as db:
        assert len(db.commit_ids()) == 2
        assert tuto.nick(db.last_commit_id(), db=db) == "bob"


def test_unknown_protocol_and_unreachable_server() -> None:
    with pytest.raises(ValidationError, match="unknown protocol"):
        CommitDatabase.connect("127.0.0.1", 1, protocol="grpc")
    with pytest.raises(ConnectionFailedError):
        CommitDatabase.connect("127.0.0.1", 1, protocol="viper")


def test_a_throw_error_becomes_a_commitdb_error(standin: StandInServer) -> None:
    backend = ViperBackend.connect("127.0.0.1", standin.port)
    try:
        with pytest.raises(RemoteError, match="Unknown RPC packet CallBlobStreamCreate"):
            backend.call("CallBlobStreamCreate", V.BlobLayout(0, 1), 5)
        backend.ping()  # the connection is still usable
    finally:
        backend.close()
