"""The server speaks the reference protocol: a stand-in reference client (written from the
protocol specification) runs the whole surface on TCP and on the unix socket, beside commitdb
clients of the same server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _netutil import short_socket_path
from _viper_standin import StandInClient, StandInError

from commitdb import CommitDatabase, CommitMutableState
from commitdb.blobs import BlobLayout, blob_id_bytes
from commitdb.dsm.definitions import Definitions
from commitdb.net import viper_protocol as V
from commitdb.net.background import BackgroundServer
from commitdb.testing import Tuto
from commitdb.testing.models import BLOB_01_05, TUTO_HEXDIGEST

EMPTY_DIGEST = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
UCHAR = V.BlobLayout(0, 1)


@pytest.fixture(params=["tcp", "unix"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[BackgroundServer, Callable[[], Any]]]:
    """An empty database served on both transports, and a stand-in connector for one of them."""
    path = str(tmp_path / "served.cdb")
    CommitDatabase.create(path).close()
    server = BackgroundServer(path, host="127.0.0.1", port=0, socket_path=short_socket_path()).start()
    clients: list[StandInClient] = []

    def connect() -> StandInClient:
        client = StandInClient.tcp("127.0.0.1", server.port) if request.param == "tcp" \
            else StandInClient.unix(server.socket_path)
        clients.append(client)
        return client

    yield server, connect
    for client in clients:
        client.close()
    assert server.stop() == 0


class Scratch:
    """Commits made by commitdb in memory, to be sent by the stand-in as a reference client would."""

    def __init__(self) -> None:
        self.db = CommitDatabase.create_in_memory()
        self.tuto = Tuto(self.db)

    def wire(self, commit_id: Any) -> V.CommitData:
        return V.wire_commit(self.db.commit_databasing().commit_data(commit_id))

    def portrait(self, parent: Any, pixels: Any) -> Any:
        m = CommitMutableState(self.db.state(parent))
        key = self.tuto.portrait.create_key()
        m.attachment_mutating().set(self.tuto.portrait, key, {"width": 1, "height": 5, "pixels": pixels})
        return self.db.commit_mutations("portrait", m)


def _raw(commit_id: Any) -> bytes:
    return bytes.fromhex(str(commit_id))


def test_reference_client_session(served: tuple[BackgroundServer, Callable[[], Any]]) -> None:
    server, connect = served
    c = connect()
    # connect: codec name and definitions, as the reference client's connect() does
    assert c.call("CallCodecName") == "StreamBinary"
    assert Definitions.decode(c.call("CallDefinitions"), token=True).is_empty()
    assert c.call("CallDefinitionsHexDigest") == EMPTY_DIGEST
    assert c.call("CallPing") is None
    assert c.call("CallPath").endswith("served.cdb")
    assert c.call("CallDocumentation") == "not documented."
    assert len(c.call("CallUUId")) == 16
    assert c.call("CallFirstCommitId") is None and c.call("CallLastCommitId") is None

    # definitions
    scratch = Scratch()
    info = c.call("CallExtendDefinitions", scratch.tuto.definitions.encode(token=True))
    defs = scratch.tuto.definitions
    assert info == V.DefinitionsExtendInfo(
        sorted(t.rid for t in defs.concepts()), [], sorted(t.rid for t in defs.enumerations()),
        sorted(t.rid for t in defs.structures()), sorted(a.rid for a in defs.attachments()), [])
    assert c.call("CallDefinitions") == defs.encode(token=True)
    assert c.call("CallDefinitionsHexDigest") == TUTO_HEXDIGEST
    again = c.call("CallExtendDefinitions", defs.encode(token=True))
    assert again == V.DefinitionsExtendInfo([], [], [], [], [], [])

    # three chained commits, a branch, a merge and a toggle
    tuto = scratch.tuto
    c1 = tuto.set(None, "alice")
    c2 = tuto.rename(c1, "bob")
    c3 = tuto.repass(c2, "secret")
    b1 = tuto.rename(c1, "carol", label="branch")
    merge = scratch.db.merge_commit("merge", c3, b1)
    toggle = scratch.db.disable_commit("disable", merge, c2)
    order = [c1, c2, c3, b1, merge, toggle]
    for commit in order:
        assert c.call("CallCommitExists", _raw(commit)) is False
        assert c.call("CreateCommitData", scratch.wire(commit)) is True
    assert c.call("CreateCommitData", scratch.wire(c1)) is False  # already stored
    ids = [_raw(x) for x in order]

    # read back
    assert c.call("CallCommitExists", ids[0]) is True
    assert c.call("CallCommitData", ids[1]) == scratch.wire(c2)
    assert c.call("CallCommitHeader", ids[4]) == scratch.wire(merge).header
    assert c.call("CallCommitHeader", bytes(20)) is None and c.call("CallCommitData", bytes(20)) is None
    assert c.call("CallCommitIds") == sorted(ids)
    assert c.call("CallCommitHeadIds") == [ids[5]]
    assert c.call("CallChildrenCommitIds", ids[0]) == sorted([ids[1], ids[3]])
    assert c.call("CallNephewCommitIds", ids[3]) == [ids[4]]
    assert c.call("CallNephewCommitIds", ids[1]) == []  # a Disable target is no nephew
    assert c.call("CallFirstCommitId") == ids[0]
    assert c.call("CallLastCommitId") == ids[5]
    assert [x.header.commit_id for x in c.call("CallCommitDataAll")] == ids
    wanted = sorted([ids[2], ids[0], b"\x01" * 20])
    assert [x.header.commit_id for x in c.call("CallCommitDatas", wanted)] == [i for i in wanted if i in ids]
    sync = c.call("CallCommitSyncData", sorted(ids[:2]))
    assert (sync.codec_name, sync.definitions_hexdigest) == ("StreamBinary", TUTO_HEXDIGEST)
    assert sorted(x.header.commit_id for x in sync.commit_datas) == sorted(ids[:2])

    # a commitdb client of the same server sees the same history
    with CommitDatabase.connect("127.0.0.1", server.port) as db:
        assert tuto.read(toggle, db=db) == tuto.read(toggle)
        assert tuto.nick(merge, db=db) == "carol"
        assert {str(h) for h in db.head_commit_ids()} == {str(toggle)}

    # blobs: direct, stream, reader, zero blob + write + freeze, packs
    hello = b"hello blob"
    hello_id = blob_id_bytes(BlobLayout(), hello)
    assert c.call("CallCreateBlobWithId", hello_id, UCHAR, hello) is True
    assert c.call("CallCreateBlobWithId", hello_id, UCHAR, hello) is False
    assert c.call("CallBlobInfo", hello_id) == V.BlobInfo(hello_id, UCHAR, 10, False, 1)
    assert c.call("CallBlob", hello_id) == hello
    assert c.call("CallReadBlob", hello_id, 4, 2) == b"llo "
    with pytest.raises(StandInError, match=r"SQLiteTableBlobErrors:31:invalid size 4 at offset 8"):
        c.call("CallReadBlob", hello_id, 4, 8)
    with pytest.raises(StandInError, match=r"SQLiteTableBlobErrors:33:the blob 0123"):
        c.call("CallReadBlob", bytes.fromhex("0123456789abcdef0123456789abcdef01234567"), 1, 0)
    assert c.call("CallBlob", b"\x02" * 20) is None and c.call("CallBlobInfo", b"\x02" * 20) is None
    stream = c.call("CallBlobStreamCreate", UCHAR, 5)
    c.call("CallBlobStreamWrite", stream, b"\x01\x02\x03", 0)
    c.call("CallBlobStreamWrite", stream, b"\x04\x05", 3)
    with pytest.raises(StandInError, match="streamWrite"):
        c.call("CallBlobStreamWrite", stream, b"\x06", 5)
    assert c.call("CallBlobStreamClose", stream, bytes.fromhex(BLOB_01_05)) is None
    assert c.call("CallBlobStreamClose", stream, bytes.fromhex(BLOB_01_05)) is None  # unknown: void
    assert c.call("CallBlobIds") == sorted([hello_id, bytes.fromhex(BLOB_01_05)])
    reader = c.call("CallBlobReaderOpen", hello_id)
    assert c.call("CallBlobReaderRead", reader, 4, 0) == b"hell"
    assert c.call("CallBlobReaderRead", reader, 6, 4) == b"o blob"
    c.call("CallBlobReaderClose", reader)
    with pytest.raises(StandInError, match="BlobReaderErrors:2:no blob reader"):
        c.call("CallBlobReaderRead", reader, 1, 0)
    with pytest.raises(StandInError, match="BlobReaderErrors:1:no frozen blob"):
        c.call("CallBlobReaderOpen", b"\x03" * 20)
    zero = blob_id_bytes(BlobLayout(), b"zeroblob")
    assert c.call("CallCreateZeroBlob", zero, UCHAR, 8) is True
    assert c.call("CallCreateZeroBlob", zero, UCHAR, 8) is False
    assert c.call("CallBlobInfo", zero) is None
    assert c.call("CallUnknownBlobIds", sorted([zero, hello_id])) == [zero]
    c.call("CallWriteBlob", zero, b"zero", 0)
    with pytest.raises(StandInError, match=r"SQLiteTableBlobErrors:30:the blob .* is not frozen \[read\]"):
        c.call("CallReadBlob", zero, 4, 0)
    assert [b.data for b in c.call("CallBlobDatas", [zero])] == [b"zero\0\0\0\0"]
    c.call("CallWriteBlob", zero, b"blob", 4)
    assert c.call("CallFreezeBlob", zero) is True
    assert c.call("CallFreezeBlob", zero) is False
    assert c.call("CallBlob", zero) == b"zeroblob"
    packed = [V.BlobData(blob_id_bytes(BlobLayout(), x), UCHAR, x) for x in (b"packed-one", b"packed-two")]
    assert c.call("CallCreateBlobs", packed) == sorted(b.blob_id for b in packed)
    assert c.call("CallCreateBlobs", packed) == []
    assert sorted(c.call("CallBlobDatas", sorted(b.blob_id for b in packed))) == sorted(packed)
    assert c.call("CallBlobStatistics") == V.BlobStatistics(5, 10 + 5 + 8 + 10 + 10, 5, 10)
    infos = c.call("CallBlobInfos", sorted([hello_id, zero, b"\x04" * 20]))
    assert {i.blob_id: i.size for i in infos} == {hello_id: 10, zero: 8}

    # a commit referencing a blob needs it stored first
    pixels = scratch.db.create_blob(BlobLayout(), b"\x09" * 5)
    with_blob = scratch.portrait(toggle, pixels)
    with pytest.raises(StandInError, match="commitdb:MissingBlobError"):
        c.call("CreateCommitData", scratch.wire(with_blob))
    assert c.call("CallCreateBlobWithId", _raw(pixels), UCHAR, b"\x09" * 5) is True
    assert c.call("CreateCommitData", scratch.wire(with_blob)) is True

    # a transaction with rollback, then one committed
    later = tuto.rename(with_blob, "eve")
    assert c.call("CallInTransaction") is False
    c.call("CallBeginTransaction", 1)
    assert c.call("CallInTransaction") is True
    with pytest.raises(StandInError, match=r"SQLiteErrors:30:.*cannot start a transaction within a transaction"):
        c.call("CallBeginTransaction", 0)
    assert c.call("CreateCommitData", scratch.wire(later)) is True
    assert c.call("CallCommitExists", _raw(later)) is True
    c.call("CallRollback")
    assert c.call("CallCommitExists", _raw(later)) is False
    with pytest.raises(StandInError, match="cannot rollback - no transaction is active"):
        c.call("CallRollback")
    with pytest.raises(StandInError, match="cannot commit - no transaction is active"):
        c.call("CallCommit")
    c.call("CallBeginTransaction", 0)
    assert c.call("CreateCommitData", scratch.wire(later)) is True
    c.call("CallCommit")
    assert c.call("CallCommitHeadIds") == [_raw(later)]

    # delete and reset
    with pytest.raises(StandInError, match="NotAHeadError"):
        c.call("CallDeleteCommit", ids[0])
    c.call("CallDeleteCommit", _raw(later))
    assert c.call("CallCommitExists", _raw(later)) is False
    c.call("CallResetCommits")
    assert c.call("CallCommitIds") == [ids[0]]

    # the speed tests and an unknown message
    assert c.call("CallUploadData", bytes(1000)) is None
    assert c.call("CallDownloadData", 1000) == bytes(1000)
    c.send_raw(V.frame(b"\x11" * 16, b""))
    message, _ = c.receive()
    assert message.name == "ThrowError" and "Unknown RPC packet ID {11111111-" in message.args[5]
    assert c.call("CallPing") is None


def test_data_version_moves_for_the_others_writes_only(
        served: tuple[BackgroundServer, Callable[[], Any]]) -> None:
    _, connect = served
    a, b = connect(), connect()
    scratch = Scratch()
    a.call("CallExtendDefinitions", scratch.tuto.definitions.encode(token=True))
    first = a.call("CallDataVersion")
    c1 = scratch.tuto.set(None, "x")
    assert a.call("CreateCommitData", scratch.wire(c1)) is True
    assert a.call("CallDataVersion") == first  # its own write
    seen_by_b = b.call("CallDataVersion")
    assert b.call("CreateCommitData", scratch.wire(scratch.tuto.rename(c1, "y"))) is True
    assert b.call("CallDataVersion") == seen_by_b
    assert a.call("CallDataVersion") == first + 1


def _parents_first(commits: list[V.CommitData]) -> list[V.CommitData]:
    pending = {c.header.commit_id: c for c in commits}
    out: list[V.CommitData] = []
    while pending:
        for cid, commit in list(pending.items()):
            if commit.header.parent_id not in pending and commit.header.target_id not in pending:
                out.append(pending.pop(cid))
    return out


def _referenced_blobs(commit: V.CommitData, definitions: Definitions) -> list[bytes]:
    stored = V.storage_commit(commit)
    return sorted(b.bytes_value() for b in stored.blob_ids("StreamBinary", definitions))


def standin_fetch(source: StandInClient, target: StandInClient, pack_limit: int) -> None:
    """The synchronizer's call sequence for one direction (source -> target), as specified."""
    source.call("CallDataVersion")
    target.call("CallDataVersion")
    known = set(target.call("CallCommitIds"))
    target.call("CallCommitDataAll")
    missing = sorted(set(source.call("CallCommitIds")) - known)
    sync = source.call("CallCommitSyncData", missing)
    if source.call("CallDefinitionsHexDigest") != target.call("CallDefinitionsHexDigest"):
        target.call("CallExtendDefinitions", source.call("CallDefinitions"))
    definitions = Definitions.decode(target.call("CallDefinitions"), token=True)
    for commit in _parents_first(sync.commit_datas):
        referenced = _referenced_blobs(commit, definitions)
        if referenced:
            unknown = target.call("CallUnknownBlobIds", referenced)
            infos = source.call("CallBlobInfos", unknown) if unknown else []
            small = [i for i in infos if i.size <= pack_limit // 2]
            if len(small) >= 2:
                datas = source.call("CallBlobDatas", sorted(i.blob_id for i in small))
                target.call("CallCreateBlobs", datas)
            for info in infos:
                if len(small) >= 2 and info in small:
                    continue
                assert target.call("CallCreateZeroBlob", info.blob_id, info.layout, info.size) is True
                for offset in range(0, info.size, pack_limit):
                    piece = source.call("CallReadBlob", info.blob_id, min(pack_limit, info.size - offset), offset)
                    target.call("CallWriteBlob", info.blob_id, piece, offset)
                assert target.call("CallFreezeBlob", info.blob_id) is True
        assert target.call("CreateCommitData", commit) is True


def test_sync_call_sequence_between_two_servers(served: tuple[BackgroundServer, Callable[[], Any]],
                                                 tmp_path: Path) -> None:
    _, connect = served
    source = connect()
    scratch = Scratch()
    source.call("CallExtendDefinitions", scratch.tuto.definitions.encode(token=True))
    db = scratch.db
    blobs = [db.create_blob(BlobLayout(), bytes([i]) * size) for i, size in ((1, 3600), (2, 3600), (3, 3600),
                                                                              (4, 25600))]
    for b in blobs:
        record = db.commit_databasing().blob_datas([b])[0]
        source.call("CallCreateBlobWithId", record.blob_id, UCHAR, record.data)
    c1 = scratch.tuto.set(None, "alice")
    c2 = scratch.portrait(c1, blobs[0])
    m = CommitMutableState(db.state(c2))
    for n, b in enumerate(blobs[1:], start=2):
        key = scratch.tuto.portrait.create_key()
        m.attachment_mutating().set(scratch.tuto.portrait, key, {"width": n, "height": 1, "pixels": b})
    c3 = db.commit_mutations("more", m)
    for commit in (c1, c2, c3):
        source.call("CreateCommitData", scratch.wire(commit))

    other_path = str(tmp_path / "other.cdb")
    CommitDatabase.create(other_path).close()
    with BackgroundServer(other_path, socket_path=short_socket_path()) as other:
        target = StandInClient.unix(other.socket_path)
        try:
            standin_fetch(source, target, pack_limit=10_000)
            assert "CallCreateBlobs" in target.calls and "CallFreezeBlob" in target.calls
            assert sorted(target.call("CallBlobIds")) == sorted(_raw(b) for b in blobs)
            assert [x.header.commit_id for x in target.call("CallCommitDataAll")] == \
                [_raw(x) for x in (c1, c2, c3)]
            # a second pass finds nothing to do and the data versions are still
            before = (source.call("CallDataVersion"), target.call("CallDataVersion"))
            target.calls.clear()
            standin_fetch(source, target, pack_limit=10_000)
            assert "CreateCommitData" not in target.calls
            assert (source.call("CallDataVersion"), target.call("CallDataVersion")) == before
        finally:
            target.close()
        with CommitDatabase.connect_local(other.socket_path) as copy:
            assert scratch.tuto.read(c3, db=copy) == scratch.tuto.read(c3)
            assert copy.commit_databasing().blob_datas([blobs[3]])[0].data == bytes([4]) * 25600


def test_shutdown_with_an_idle_reference_client(tmp_path: Path) -> None:
    path = str(tmp_path / "idle.cdb")
    CommitDatabase.create(path).close()
    server = BackgroundServer(path, host="127.0.0.1", port=0).start()
    client = StandInClient.tcp("127.0.0.1", server.port)
    try:
        assert client.call("CallPing") is None
        assert server.stop() == 0
        assert client.closed_by_server()
    finally:
        client.close()


def test_the_server_tool_states_its_viper_policy(tmp_path: Path) -> None:
    from _netutil import ServerProcess, make_tuto_cdb

    server = ServerProcess(make_tuto_cdb(tmp_path / "tool.cdb"), extra=["--viper-clients", "any"])
    try:
        client = StandInClient.tcp("127.0.0.1", server.port)
        try:
            assert client.call("CallDefinitionsHexDigest") == TUTO_HEXDIGEST
        finally:
            client.close()
    finally:
        code, out, err = server.stop()
    assert (code, out.strip(), err) == (0, "The server finished gracefully.", "")
    assert server.startup_statement.endswith(
        "; reference-protocol (viper) clients: served from any address, without credentials (--viper-clients any)")


def test_pipelined_requests_are_answered_in_order(served: tuple[BackgroundServer, Callable[[], Any]]) -> None:
    _, connect = served
    c = connect()
    c.send_raw(V.encode_message("CallCodecName") + V.encode_message("CallPing")
               + V.encode_message("CallCommitExists", bytes(20)) + V.encode_message("CallDefinitionsHexDigest"))
    assert [c.receive()[0].name for _ in range(4)] == ["ReturnString", "ReturnPong", "ReturnBool", "ReturnString"]


def test_reference_clients_commit_concurrently_beside_commitdb_clients(
        served: tuple[BackgroundServer, Callable[[], Any]]) -> None:
    """Four reference clients each extend their own chain while a commitdb client watches; the
    server stores every commit (concurrent single commits share transactions)."""
    import threading

    server, connect = served
    scratch = Scratch()
    tuto = scratch.tuto
    root = tuto.set(None, "root")
    chains = []
    for n in range(4):
        parent, chain = root, []
        for i in range(15):
            parent = tuto.rename(parent, f"c{n}-{i}", key=tuto.key(n + 2))
            chain.append(scratch.wire(parent))
        chains.append(chain)
    first = connect()
    first.call("CallExtendDefinitions", tuto.definitions.encode(token=True))
    assert first.call("CreateCommitData", scratch.wire(root)) is True
    clients = [connect() for _ in chains]
    errors: list[BaseException] = []

    def run(client: StandInClient, chain: list[V.CommitData]) -> None:
        try:
            for commit in chain:
                assert client.call("CreateCommitData", commit) is True
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(clients, chains)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    heads = first.call("CallCommitHeadIds")
    assert sorted(heads) == sorted(chain[-1].header.commit_id for chain in chains)
    with CommitDatabase.connect("127.0.0.1", server.port) as db:
        assert len(db.commit_ids()) == 1 + 4 * 15
