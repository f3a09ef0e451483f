"""The calls of the reference ("viper") protocol, answered for one ``ViperSession``.

One handler per call of the catalogue (``viper_protocol``), registered in ``HANDLERS``; each
answers (reply name, reply fields) or raises. Handlers reach the database only through the
session (``ask``/``write`` run the commitdb service's own methods, with their checks), so what a
reference client sends is verified like anything else. Also here: the errors answered with the
reference's own component/domain/code, and the blobs reserved in memory until frozen:
blobs reserved by ``CallCreateZeroBlob`` and blob streams stay in the server's memory until
they are frozen or closed (then checked and stored like any blob); a restart forgets them.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from commitdb.blobs import blob_id_bytes
from commitdb.errors import (
    CommitDBError,
    CorruptedDataError,
    FrameTooLargeError,
    ProtocolError,
    StorageError,
)
from commitdb.net import protocol as P
from commitdb.net import viper_protocol as V
from commitdb.storage.base import MERGE, TRANSACTION_MODES, BlobRecord

if TYPE_CHECKING:
    from commitdb.net.viper_server import ViperSession

RESERVED_BYTES = 256 * 1024 * 1024  # zero blobs and streams held in memory, all clients together

class ViperError(CommitDBError):
    """An error answered with the reference's own component, domain and code."""

    code = "ViperError"

    def __init__(self, message: str, component: str = "commitdb", domain: str = "ViperError", number: int = 1) -> None:
        super().__init__(message)
        self.component, self.domain, self.number = component, domain, number


def blob_error(number: int, message: str) -> ViperError:
    return ViperError(message, "Viper.SQLiteTableBlob", "SQLiteTableBlobErrors", number)


def _sqlite_error(message: str) -> ViperError:
    return ViperError(f"SQLite function exec failed with error {message}", "Viper.SQLite", "SQLiteErrors", 30)

@dataclass
class Reserved:
    """A blob being assembled: a zero blob (by id) or a stream (by uuid)."""

    layout: str
    data: bytearray


@dataclass
class ViperShared:
    """What all reference connections of one server share: reserved zero blobs, the byte budget
    of reserved blobs and streams, and caches keyed by the data version."""

    zero_blobs: dict[bytes, Reserved] = field(default_factory=dict)
    reserved_bytes: int = 0
    definitions: tuple[bytes, Any] | None = None
    headers: tuple[int, list[Any]] | None = None
    blob_infos: tuple[int, dict[bytes, V.BlobInfo]] | None = None

    def reserve(self, size: int) -> None:
        if self.reserved_bytes + size > RESERVED_BYTES:
            raise StorageError(f"cannot reserve {size} more bytes for unfrozen blobs: "
                               f"{self.reserved_bytes} of {RESERVED_BYTES} are in use")
        self.reserved_bytes += size

    def release(self, size: int) -> None:
        self.reserved_bytes = max(0, self.reserved_bytes - size)


Handler = Callable[["ViperSession", tuple[Any, ...]], Awaitable[tuple[str, tuple[Any, ...]]]]
HANDLERS: dict[str, Handler] = {}


def _call(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        assert name in V.MESSAGES and V.MESSAGES[name].is_call()
        HANDLERS[name] = fn
        return fn

    return register

def _reserved_write(target: Reserved, data: bytes, offset: int, error: Callable[[int], ViperError]) -> None:
    if offset + len(data) > len(target.data):
        raise error(len(target.data))
    target.data[offset:offset + len(data)] = data


def _ids(values: list[bytes]) -> list[bytes]:
    """A wire set: distinct ids sorted by their bytes."""
    return sorted(set(values))


# --- the calls -----------------------------------------------------------------------------------


@_call("CallPing")
async def _ping(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnPong", ()


@_call("CallUploadData")
async def _upload(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnVoid", ()


@_call("CallDownloadData")
async def _download(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (size,) = a
    if size > s.max_payload - 64:
        raise FrameTooLargeError(f"a download of {size} bytes exceeds the frame limit of {s.max_payload} bytes")
    return "ReturnOptionalBlob", (bytes(size),)


def _metadata(method: str, reply: str, convert: Callable[[Any], Any] = lambda x: x) -> Handler:
    async def handler(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return reply, (convert(await s.ask(method)),)

    return handler


HANDLERS["CallCodecName"] = _metadata("codec_name", "ReturnString")
HANDLERS["CallUUId"] = _metadata("uuid", "ReturnUUId", lambda text: uuid_module.UUID(text).bytes)
HANDLERS["CallDocumentation"] = _metadata("documentation", "ReturnString")
HANDLERS["CallPath"] = _metadata("path", "ReturnString")
HANDLERS["CallInTransaction"] = _metadata("in_transaction", "ReturnBool")


@_call("CallDataVersion")
async def _data_version(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnInt64", (await s.data_version(),)


@_call("CallDefinitions")
async def _definitions(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnDefinitions", ((await s.definitions()).encode(token=True),)


@_call("CallDefinitionsHexDigest")
async def _hexdigest(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnString", ((await s.definitions()).hexdigest(),)


@_call("CallExtendDefinitions")
async def _extend(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    from commitdb.dsm.definitions import Definitions

    (raw,) = a
    if raw is None:
        raise ProtocolError("CallExtendDefinitions: the definitions are a null reference")
    incoming = Definitions.decode(raw, token=True)
    before = await s.definitions()
    await s.write("extend_definitions", incoming.encode(token=await s.token()))
    return "ReturnDefinitionsExtendInfo", (extend_info(before, await s.definitions()),)


def extend_info(before: Any, after: Any) -> V.DefinitionsExtendInfo:
    """What an extension added: new runtime ids by kind, and the new members of the clubs the
    database already held."""

    def added(kind: str) -> list[bytes]:
        known = {t.rid for t in getattr(before, kind)()}
        return sorted(t.rid for t in getattr(after, kind)() if t.rid not in known)

    old_clubs = {c.rid: {m.rid for m in c.members()} for c in before.clubs()}
    memberships = []
    for club in sorted(after.clubs(), key=lambda c: c.rid):
        if club.rid in old_clubs:
            new = sorted(m.rid for m in club.members() if m.rid not in old_clubs[club.rid])
            if new:
                memberships.append((club.rid, new))
    return V.DefinitionsExtendInfo(added("concepts"), added("clubs"), added("enumerations"), added("structures"),
                                   added("attachments"), memberships)


@_call("CallBeginTransaction")
async def _begin(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (mode,) = a
    if mode >= len(TRANSACTION_MODES):
        raise ProtocolError(f"unknown transaction mode {mode}")
    if s.conn.in_transaction:
        raise _sqlite_error("cannot start a transaction within a transaction.")
    await s.ask("begin_transaction", TRANSACTION_MODES[mode])
    return "ReturnVoid", ()


def _ending(method: str, words: str) -> Handler:
    async def handler(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        if not s.conn.in_transaction:
            raise _sqlite_error(f"cannot {words} - no transaction is active.")
        await s.ask(method)
        return "ReturnVoid", ()

    return handler


HANDLERS["CallCommit"] = _ending("commit", "commit")
HANDLERS["CallRollback"] = _ending("rollback", "rollback")


@_call("CallFirstCommitId")
async def _first(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    headers, _ = await s.ask("headers_since", 0, 1)
    return "ReturnOptionalCommitId", (P.unpack_header(headers[0]).id if headers else None,)


@_call("CallLastCommitId")
async def _last(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    best = None
    for h in await s.headers():  # the greatest timestamp; on a tie, the one stored last
        if best is None or h.ts >= best.ts:
            best = h
    return "ReturnOptionalCommitId", (None if best is None else best.id,)


@_call("CallCommitIds")
async def _commit_ids(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnSetOfCommitId", (_ids([h.id for h in await s.headers()]),)


@_call("CallCommitHeadIds")
async def _head_ids(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnSetOfCommitId", (_ids(await s.ask("head_ids")),)


@_call("CallChildrenCommitIds")
async def _children(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnSetOfCommitId", (_ids([h.id for h in await s.headers() if h.parent == a[0]]),)


@_call("CallNephewCommitIds")
async def _nephews(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnSetOfCommitId", (_ids([h.id for h in await s.headers()
                                         if h.type_code == MERGE and h.target == a[0]]),)


@_call("CallCommitExists")
async def _exists(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnBool", (await s.ask("get_header", a[0]) is not None,)


@_call("CallCommitHeader")
async def _header(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    packed = await s.ask("get_header", a[0])
    return "ReturnCommitHeader", (None if packed is None else V.wire_header(P.unpack_header(packed)),)


@_call("CallCommitData")
async def _commit_data(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    packed = await s.ask("get_commit", a[0])
    return "ReturnCommitData", (None if packed is None else V.wire_commit(P.unpack_commit(packed)),)


@_call("CallCommitDatas")
async def _commit_datas(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnVectorOfCommitData", (await s.commits(list(dict.fromkeys(a[0]))),)


@_call("CallCommitDataAll")
async def _commit_data_all(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnVectorOfCommitData", (await s.commits([h.id for h in await s.headers()]),)


@_call("CreateCommitData")
async def _create_commit(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (wire,) = a
    if wire is None:
        raise ProtocolError("CreateCommitData: the commit is a null reference")
    commit = V.storage_commit(wire)  # the service re-hashes, decodes and checks it
    return "ReturnBool", (bool(await s.write("insert_commit", P.pack_commit(commit))),)


@_call("CallCommitSyncData")
async def _sync_data(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    sync = V.CommitSyncData(await s.ask("codec_name"), (await s.definitions()).hexdigest(),
                            await s.commits(list(dict.fromkeys(a[0]))))
    return "ReturnCommitSyncData", (sync,)


@_call("CallDeleteCommit")
async def _delete(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    await s.write("remove_commit", a[0])  # refused unless a head (NotAHeadError)
    return "ReturnVoid", ()


@_call("CallResetCommits")
async def _reset(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    await s.write("remove_all_but_first")
    return "ReturnVoid", ()


@_call("CallBlobStatistics")
async def _statistics(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    sizes = [info.size for info in (await s.blob_infos()).values()]
    stats = V.BlobStatistics(len(sizes), sum(sizes), min(sizes, default=0), max(sizes, default=0))
    return "ReturnBlobStatistics", (stats,)


@_call("CallBlobIds")
async def _blob_ids(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnSetOfBlobId", (_ids(list(await s.blob_infos())),)


@_call("CallBlobInfo")
async def _blob_info(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    return "ReturnBlobInfo", ((await s.blob_infos()).get(a[0]),)


@_call("CallBlobInfos")
async def _blob_infos(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    infos = await s.blob_infos()
    return "ReturnVectorOfBlobInfo", ([infos[b] for b in dict.fromkeys(a[0]) if b in infos],)


@_call("CallBlob")
async def _blob(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    try:
        _, data = await s.blob_bytes(a[0], "get")
    except ViperError as e:
        if e.number == 33:
            return "ReturnOptionalBlob", (None,)
        raise
    return "ReturnOptionalBlob", (data,)


@_call("CallReadBlob")
async def _read_blob(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    blob_id, size, offset = a
    return "ReturnBlob", (await s.blob_range(blob_id, size, offset, "read"),)


@_call("CallCreateBlobWithId")
async def _create_blob(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    blob_id, layout, data = a
    text = V.layout_text(layout)
    if blob_id in s.shared.zero_blobs:
        return "ReturnBool", (False,)
    return "ReturnBool", (await s.store_blob(blob_id, text, data),)


@_call("CallCreateZeroBlob")
async def _create_zero(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    blob_id, layout, size = a
    text = V.layout_text(layout)
    if blob_id in s.shared.zero_blobs or await s.ask("has_blob", blob_id):
        return "ReturnBool", (False,)
    s.shared.reserve(size)
    s.shared.zero_blobs[blob_id] = Reserved(text, bytearray(size))
    return "ReturnBool", (True,)


@_call("CallWriteBlob")
async def _write_blob(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    blob_id, data, offset = a
    target = s.shared.zero_blobs.get(blob_id)
    if target is None:
        if await s.ask("has_blob", blob_id):
            raise blob_error(30, f"the blob {blob_id.hex()} is frozen: its bytes cannot change [write].")
        raise blob_error(33, f"the blob {blob_id.hex()} is not held here [write].")
    _reserved_write(target, data, offset, lambda n: blob_error(
        31, f"invalid size {len(data)} at offset {offset} (offset + size) > {n})for blob {blob_id.hex()} [write]"))
    return "ReturnVoid", ()


@_call("CallFreezeBlob")
async def _freeze(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (blob_id,) = a
    target = s.shared.zero_blobs.pop(blob_id, None)
    if target is None:
        return "ReturnBool", (False,)
    s.shared.release(len(target.data))
    await s.store_blob(blob_id, target.layout, bytes(target.data))
    return "ReturnBool", (True,)


@_call("CallBlobStreamCreate")
async def _stream_create(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    layout, size = a
    text = V.layout_text(layout)
    s.shared.reserve(size)
    stream_id = uuid_module.uuid4().bytes
    s.streams[stream_id] = Reserved(text, bytearray(size))
    return "ReturnUUId", (stream_id,)


@_call("CallBlobStreamWrite")
async def _stream_write(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    stream_id, data, offset = a

    def past_end(n: int) -> ViperError:
        return blob_error(31, f"invalid size {len(data)} at offset {offset} (offset + size) > {n})"
                               f"for blob {uuid_module.UUID(bytes=stream_id)} [streamWrite]")

    target = s.streams.get(stream_id)
    if target is None:
        raise past_end(0)
    _reserved_write(target, data, offset, past_end)
    return "ReturnVoid", ()


@_call("CallBlobStreamClose")
async def _stream_close(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    stream_id, blob_id = a
    target = s.streams.pop(stream_id, None)
    if target is not None:
        s.shared.release(len(target.data))
        await s.store_blob(blob_id, target.layout, bytes(target.data))
    return "ReturnVoid", ()


@_call("CallBlobStreamDelete")
async def _stream_delete(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    target = s.streams.pop(a[0], None)
    if target is not None:
        s.shared.release(len(target.data))
    return "ReturnVoid", ()


@_call("CallBlobReaderOpen")
async def _reader_open(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (blob_id,) = a
    if blob_id not in await s.blob_infos():
        raise ViperError(f"no frozen blob {blob_id.hex()} to read.", "Viper.CommitDatabaseSQLite",
                         "BlobReaderErrors", 1)
    reader_id = uuid_module.uuid4().bytes
    s.readers[reader_id] = blob_id
    return "ReturnUUId", (reader_id,)


@_call("CallBlobReaderRead")
async def _reader_read(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    reader_id, size, offset = a
    blob_id = s.readers.get(reader_id)
    if blob_id is None:
        raise ViperError(f"no blob reader {uuid_module.UUID(bytes=reader_id)} is open on this database.",
                         "Viper.CommitDatabaseSQLite", "BlobReaderErrors", 2)
    return "ReturnBlob", (await s.blob_range(blob_id, size, offset, "read"),)


@_call("CallBlobReaderClose")
async def _reader_close(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    s.readers.pop(a[0], None)
    return "ReturnVoid", ()


@_call("CallUnknownBlobIds")
async def _unknown_blobs(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    wanted = _ids(a[0])
    infos = await s.blob_infos()
    return "ReturnSetOfBlobId", ([b for b in wanted if b not in infos],)


@_call("CallBlobDatas")
async def _blob_datas(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    out, total = [], 0
    for blob_id in dict.fromkeys(a[0]):
        reserved = s.shared.zero_blobs.get(blob_id)
        if reserved is not None:
            layout, data = reserved.layout, bytes(reserved.data)
        else:
            try:
                layout, data = await s.blob_bytes(blob_id, "get")
            except ViperError:
                continue
        total += len(data)
        if total > s.max_payload:
            raise FrameTooLargeError(f"these blobs hold more than {s.max_payload} bytes: ask for fewer at a time")
        out.append(V.BlobData(blob_id, V.wire_layout(layout), data))
    return "ReturnVectorOfBlobData", (out,)


@_call("CallCreateBlobs")
async def _create_blobs(s: ViperSession, a: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    (datas,) = a
    records = []
    for item in datas:
        if item is None:
            raise ProtocolError("CallCreateBlobs: a blob is a null reference")
        record = BlobRecord(item.blob_id, V.layout_text(item.layout), item.data)
        computed = blob_id_bytes(record.layout, record.data)
        if computed != record.blob_id:
            raise CorruptedDataError(f"blob id {record.blob_id.hex()} does not match its content ({computed.hex()})")
        records.append(record)
    known = set(await s.blob_infos()) | set(s.shared.zero_blobs)
    fresh = [r for r in records if r.blob_id not in known]
    if fresh:
        await s.write("insert_blobs", [P.pack_blob(r) for r in fresh])
    return "ReturnSetOfBlobId", (_ids([r.blob_id for r in fresh]),)


def _check_catalogue() -> None:
    missing = [m.name for m in V.MESSAGES.values() if m.is_call() and m.name not in HANDLERS]
    if missing:
        raise RuntimeError(f"calls without a handler: {missing}")


_check_catalogue()
