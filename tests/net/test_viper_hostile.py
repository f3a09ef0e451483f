"""Hostile input on the reference protocol: truncated frames, wrong uuids and tokens, huge
lengths, the frame that crashes the reference server, forged ids. Each gets a clear ThrowError
or a closed connection; the server and its other clients carry on."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _netutil import make_tuto_cdb, short_socket_path
from _viper_standin import StandInClient, StandInError

from commitdb import CommitDatabase
from commitdb.net import viper_protocol as V
from commitdb.net.background import BackgroundServer
from commitdb.net.viper_server import is_local_peer
from commitdb.testing import Tuto

PING = V.encode_message("CallPing")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    path = make_tuto_cdb(tmp_path / "hostile.cdb")
    with BackgroundServer(path, host="127.0.0.1", port=0, socket_path=short_socket_path(),
                          max_frame=1 << 20) as running:
        yield running
        # whatever happened, a commitdb client and a reference client are still served
        with CommitDatabase.connect("127.0.0.1", running.port) as db:
            assert db.commit_ids() is not None
        healthy = StandInClient.unix(running.socket_path)
        try:
            assert healthy.call("CallPing") is None
        finally:
            healthy.close()


def _client(server: BackgroundServer) -> StandInClient:
    return StandInClient.tcp("127.0.0.1", server.port)


def _error(client: StandInClient) -> V.ErrorInfo:
    message, _ = client.receive()
    assert message.name == "ThrowError"
    return V.ErrorInfo(*message.args)


def test_truncated_frames_leave_the_server_unharmed(server: BackgroundServer) -> None:
    for cut in (3, 8, 20, len(PING) - 1):
        c = _client(server)
        c.send_raw(PING[:cut])
        c.sock.shutdown(socket.SHUT_WR)
        assert c.closed_by_server()
        c.close()


def test_a_body_shorter_than_announced_is_refused(server: BackgroundServer) -> None:
    frame = V.encode_message("CallCommitExists", bytes(20))
    forged = V.LENGTH.pack(len(frame) - 8 - 5) + frame[8:-5]  # the body's own length says 5 more bytes
    c = _client(server)
    c.send_raw(forged)
    assert "announces" in _error(c).message
    assert c.call("CallPing") is None  # the frame boundary was intact: the connection goes on
    c.close()


def test_unknown_uuids_and_reply_uuids_get_a_throw_error(server: BackgroundServer) -> None:
    c = _client(server)
    c.send_raw(V.frame(bytes(range(16)), b"\x04" + bytes(8)))
    info = _error(c)
    assert (info.component, info.domain, info.code) == ("Viper.CommitDatabaseRemoteRPCSideServer",
                                                        "RPCProtocolErrors", 1)
    assert info.message == "Unknown RPC packet ID {00010203-0405-0607-0809-0a0b0c0d0e0f} [_call]."
    c.send_raw(V.encode_message("ReturnVoid"))  # a reply is not a call
    assert "Unknown RPC packet ID" in _error(c).message
    assert c.call("CallPing") is None
    c.close()


def test_wrong_tokens_get_a_throw_error(server: BackgroundServer) -> None:
    c = _client(server)
    exists = V.MESSAGES["CallCommitExists"].uuid
    for body in (b"\x0b" + bytes(20), b"\x0c" + bytes(5), b"", b"\x00\x02"):
        c.send_raw(V.frame(exists, body))
        assert "undecodable" in _error(c).message
    c.send_raw(V.frame(V.MESSAGES["CallBeginTransaction"].uuid, b"\x01\x07"))  # mode 7
    assert "unknown transaction mode" in _error(c).message
    assert c.call("CallInTransaction") is False
    c.close()


def test_a_payload_without_the_uuid_token_closes_the_connection(server: BackgroundServer) -> None:
    c = _client(server)
    assert c.call("CallPing") is None  # the first frame chose the protocol
    c.send_raw(V.LENGTH.pack(30) + b"\x0e" + bytes(29))
    assert "uuid token" in _error(c).message
    assert c.closed_by_server()
    c.close()


@pytest.mark.parametrize("length", [2 ** 40, 2 ** 56 - 1, (1 << 20) + 1, 5])
def test_absurd_lengths_close_the_connection_without_allocating(server: BackgroundServer, length: int) -> None:
    c = _client(server)
    c.send_raw(V.LENGTH.pack(length) + b"\x0d" + bytes(16))
    info = _error(c)
    assert "FrameTooLargeError" in info.domain or "shorter" in info.message
    assert c.closed_by_server()
    c.close()


def test_the_crash_frame_gets_a_throw_error(server: BackgroundServer) -> None:
    """CreateCommitData with a null reference crashed the reference server."""
    c = _client(server)
    c.send_raw(V.frame(V.MESSAGES["CreateCommitData"].uuid, b"\x00\x00"))
    info = _error(c)
    assert info.domain == "ProtocolError" and "null reference" in info.message
    # and its cousins: a null header inside the commit, a null blob in a pack
    c.send_raw(V.frame(V.MESSAGES["CreateCommitData"].uuid, b"\x00\x01\x00\x00\x0f" + bytes(8)))
    assert "without its header" in _error(c).message
    with pytest.raises(StandInError, match="null reference"):
        c.call("CallCreateBlobs", [None])
    assert c.call("CallPing") is None
    c.close()


def _commit(tmp_path: Path) -> tuple[V.CommitData, Any]:
    scratch = CommitDatabase.create_in_memory()
    tuto = Tuto(scratch)
    c1 = tuto.set(None, "alice")
    return V.wire_commit(scratch.commit_databasing().commit_data(c1)), tuto


def test_forged_commits_and_blobs_are_refused(server: BackgroundServer, tmp_path: Path) -> None:
    c = _client(server)
    good, _ = _commit(tmp_path)
    forged_id = good._replace(header=good.header._replace(commit_id=b"\x01" * 20))
    with pytest.raises(StandInError, match="CorruptedDataError:1:corrupted commit data"):
        c.call("CreateCommitData", forged_id)
    garbage = good._replace(data=b"\x07" * 40)
    garbage = garbage._replace(header=garbage.header._replace(
        commit_id=V.storage_commit(garbage).computed_id()))
    with pytest.raises(StandInError, match="CorruptedDataError"):
        c.call("CreateCommitData", garbage)
    orphan = good._replace(header=good.header._replace(parent_id=b"\x05" * 20))
    orphan = orphan._replace(header=orphan.header._replace(commit_id=V.storage_commit(orphan).computed_id()))
    with pytest.raises(StandInError, match="CommitNotFoundError"):
        c.call("CreateCommitData", orphan)
    with pytest.raises(StandInError, match="does not match its content"):
        c.call("CallCreateBlobWithId", b"\x01" * 20, V.BlobLayout(0, 1), b"data")
    with pytest.raises(StandInError, match="blob data type"):
        c.call("CallCreateBlobWithId", b"\x01" * 20, V.BlobLayout(99, 1), b"data")
    # a zero blob filled with other bytes than its id promises is not stored
    assert c.call("CallCreateZeroBlob", b"\x02" * 20, V.BlobLayout(0, 1), 4) is True
    c.call("CallWriteBlob", b"\x02" * 20, b"abcd", 0)
    with pytest.raises(StandInError, match="does not match its content"):
        c.call("CallFreezeBlob", b"\x02" * 20)
    assert c.call("CallBlobIds") == []
    assert c.call("CallCommitIds") == []
    assert c.call("CreateCommitData", good) is True
    c.close()


def test_reservations_are_bounded(server: BackgroundServer) -> None:
    c = _client(server)
    with pytest.raises(StandInError, match="cannot reserve"):
        c.call("CallCreateZeroBlob", b"\x03" * 20, V.BlobLayout(0, 1), 2 ** 40)
    with pytest.raises(StandInError, match="cannot reserve"):
        c.call("CallBlobStreamCreate", V.BlobLayout(0, 1), 2 ** 62)
    with pytest.raises(StandInError, match="FrameTooLargeError"):
        c.call("CallDownloadData", 2 ** 40)
    with pytest.raises(StandInError, match="FrameTooLargeError"):
        c.call("CallReadBlob", b"\x04" * 20, 2 ** 40, 0)
    assert c.call("CallPing") is None
    c.close()


def test_viper_clients_off_refuses_them(tmp_path: Path) -> None:
    path = make_tuto_cdb(tmp_path / "off.cdb")
    with BackgroundServer(path, host="127.0.0.1", port=0, viper_clients="off") as running:
        c = StandInClient.tcp("127.0.0.1", running.port)
        c.send_raw(PING)
        info = _error(c)
        assert "accepts no reference clients" in info.message and "--viper-clients off" in info.message
        assert c.closed_by_server()
        c.close()
        with CommitDatabase.connect("127.0.0.1", running.port) as db:  # commitdb clients are served
            assert db.commit_ids() == set()


class _FakeWriter:
    def __init__(self, family: int, peer: Any) -> None:
        self._info = {"socket": socket.socket(family, socket.SOCK_STREAM), "peername": peer}

    def get_extra_info(self, name: str) -> Any:
        return self._info[name]

    def close(self) -> None:
        self._info["socket"].close()


@pytest.mark.parametrize(("family", "peer", "local"), [
    (socket.AF_UNIX, "", True),
    (socket.AF_INET, ("127.0.0.1", 5000), True),
    (socket.AF_INET6, ("::1", 5000, 0, 0), True),
    (socket.AF_INET, ("10.1.2.3", 5000), False),
    (socket.AF_INET6, ("2001:db8::1", 5000, 0, 0), False),
])
def test_local_peers(family: int, peer: Any, local: bool) -> None:
    writer = _FakeWriter(family, peer)
    try:
        assert is_local_peer(writer) is local  # type: ignore[arg-type]
    finally:
        writer.close()


def test_the_first_bytes_choose_the_protocol() -> None:
    """A commitdb handshake starts with a small little-endian length: never taken for a
    reference frame, whose big-endian length starts with a zero byte."""
    from commitdb.net import protocol as P

    assert not V.looks_like_viper(P.encode_frame(P.hello())[:9])
    assert V.looks_like_viper(PING[:9])
    assert struct.unpack(">Q", PING[:8])[0] == 26
    # a hostile commitdb length whose first byte is zero is not taken for a reference frame
    assert not V.looks_like_viper(struct.pack("<Q", 2 ** 40) + bytes(16))
