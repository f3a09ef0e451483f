"""The commit database server: serves one database to many clients (asyncio).

Each connection speaks the protocol of ``net.protocol``. Storage work runs on worker threads,
never on the event loop: one thread for writes (serialised by an asyncio lock, which a client's
explicit transaction holds until it commits, rolls back or disconnects), one for reads. Bytes
from clients are untrusted: commit ids are re-hashed, programs decoded against the server's
definitions, blob ids recomputed, and every argument checked before it reaches storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from commitdb.blobs import blob_id_bytes
from commitdb.engine.program import collect_blob_ids, decode_program, index_entries
from commitdb.errors import (
    CommitDBError,
    CommitNotFoundError,
    CorruptedDataError,
    DatabaseBusyError,
    FrameTooLargeError,
    MissingBlobError,
    NotAHeadError,
    ProtocolError,
    StorageError,
)
from commitdb.net import protocol as P
from commitdb.net import server_reads
from commitdb.storage.base import MUTATIONS, BlobRecord, CommitData, CommitDatabasing

log = logging.getLogger("commitdb.server")

WRITE_WAIT = 10.0  # seconds a write waits for another client's transaction
MAX_BATCH = 10_000  # commits in one insert_commits
MAX_GROUP = 256  # single-commit inserts stored together by group commit
MAX_UPLOAD = 1_000_000_000  # bytes of one blob uploaded in pieces (SQLite's default blob limit)
POLL_MAX_HEADERS = 2000  # beyond this a poll answers the version only (keeps frames small)
_EOF = object()  # what _read returns when the peer closed between two frames


def _bytes_list(args: list[Any], size: int, what: str) -> list[bytes]:
    if not isinstance(args, list) or not all(isinstance(x, bytes) and len(x) == size for x in args):
        raise ProtocolError(f"{what} must be a list of {size}-byte ids")
    return args


def _one_id(args: list[Any], size: int = 20) -> bytes:
    if len(args) != 1 or not isinstance(args[0], bytes) or len(args[0]) != size:
        raise ProtocolError(f"expected one {size}-byte id")
    return args[0]


def _no_args(args: list[Any]) -> None:
    if args:
        raise ProtocolError("this method takes no arguments")


@dataclass(eq=False)
class Connection:
    """Per-connection state."""

    peer: str
    in_transaction: bool = False
    busy: int = 0
    writer: asyncio.StreamWriter | None = field(default=None, repr=False)
    upload: tuple[str, int, bytearray] | None = field(default=None, repr=False)


class DatabaseService:
    """Runs protocol methods against a backend (``writer``) and a read connection (``reader``)."""

    def __init__(self, writer: CommitDatabasing, reader: CommitDatabasing | None = None,
                 versions: CommitDatabasing | None = None) -> None:
        """``versions``, when given, is a connection used only for ``data_version()``, cheap
        enough to ask on the event loop itself (no thread hop for the most frequent request)."""
        self.writer = writer
        self.reader = reader or writer
        self.versions = versions
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="commitdb-write")
        self._read_pool = ThreadPoolExecutor(1, thread_name_prefix="commitdb-read") if reader else self._write_pool
        self._write_lock = asyncio.Lock()
        self._definitions_cache: tuple[bytes, Any] | None = None
        # The data version clients see is the read connection's, which moves when a write is
        # committed; a rolled-back transaction moves it too (its writes had been visible to
        # the client that made them), hence this offset.
        self._rollbacks = 0
        # Group commit: single-commit inserts from different clients that arrive while a write
        # is under way are stored together, in one transaction (one fsync).
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self._grouping = False

    @staticmethod
    def open_file(path: str, synchronous: str = "FULL") -> DatabaseService:
        """A service over a ``.cdb`` file (IncompatibleDatabaseError when it is not one).
        ``synchronous`` is SQLite's setting for the writer: FULL (the default) makes each
        acknowledged commit durable across power loss; NORMAL across a crash of the server
        process only, and is several times faster per commit."""
        from commitdb.storage.sqlite import SQLiteBackend

        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        writer = SQLiteBackend(path, synchronous=synchronous)
        try:
            return DatabaseService(writer, SQLiteBackend(path), SQLiteBackend(path, readonly=True))
        except BaseException:
            writer.close()
            raise

    def close(self) -> None:
        self._write_pool.shutdown(wait=True)
        if self._read_pool is not self._write_pool:
            self._read_pool.shutdown(wait=True)
        self.writer.close()
        if self.reader is not self.writer:
            self.reader.close()
        if self.versions is not None:
            self.versions.close()

    # --- dispatch ----------------------------------------------------------------------------
    async def handle(self, conn: Connection, method: str, args: list[Any]) -> Any:
        if method == "data_version":
            _no_args(args)
            if self.versions is not None:
                return self.data_version()
            return await asyncio.get_running_loop().run_in_executor(self._read_pool, self.data_version)
        if method == "poll" and self.versions is not None and args and not conn.in_transaction:
            # The frequent case (nothing changed) is answered on the loop, without a thread hop.
            version = self.data_version()
            if args[0] == version and not isinstance(args[0], bool):
                _r_poll(self, self.reader, args)  # validates the arguments (cheap when current)
                return [version]
        if method in _TX_METHODS:
            return await self._transaction(conn, method, args)
        if method == "insert_commit" and not conn.in_transaction:
            return await self._grouped_insert(args)
        if method == "blob_upload_chunk":
            return await self._upload(conn, args)
        read = _READ_METHODS.get(method)
        if read is not None:
            backend, pool = (self.writer, self._write_pool) if conn.in_transaction else (self.reader, self._read_pool)
            return await asyncio.get_running_loop().run_in_executor(pool, read, self, backend, args)
        write = _WRITE_METHODS.get(method)
        if write is None:
            raise ProtocolError(f"unknown method {method!r}")
        if conn.in_transaction:
            return await asyncio.get_running_loop().run_in_executor(self._write_pool, write, self, args)
        await self._acquire(conn)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._write_pool, write, self, args)
        finally:
            self._write_lock.release()

    async def _upload(self, conn: Connection, args: list[Any]) -> Any:
        """A blob too large for one message, sent in order: [layout, total size, offset, bytes].
        Answers nil until the last piece, then stores the blob: [blob id, inserted, before, after]."""
        if len(args) != 4 or not isinstance(args[0], str) or not isinstance(args[3], bytes):
            raise ProtocolError("blob_upload_chunk takes [layout, total size, offset, bytes]")
        layout, total, offset, data = args
        for n in (total, offset):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ProtocolError("blob_upload_chunk: sizes must be non-negative integers")
        if total > MAX_UPLOAD:
            raise ProtocolError(f"a blob of {total} bytes exceeds the upload limit of {MAX_UPLOAD} bytes")
        if offset == 0:
            conn.upload = (layout, total, bytearray())
        if conn.upload is None or conn.upload[:2] != (layout, total) or len(conn.upload[2]) != offset:
            conn.upload = None
            raise ProtocolError("blob_upload_chunk: pieces must come in order, starting at offset 0")
        buffer = conn.upload[2]
        if offset + len(data) > total:
            conn.upload = None
            raise ProtocolError("blob_upload_chunk: more bytes than announced")
        buffer += data
        if len(buffer) < total:
            return None
        conn.upload = None
        blob = BlobRecord(blob_id_bytes(layout, bytes(buffer)), layout, bytes(buffer))
        result = await self.handle(conn, "insert_blob", [P.pack_blob(blob)])
        return [blob.blob_id, *result]

    async def _grouped_insert(self, args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((args, future))
        if not self._grouping:
            self._grouping = True
            asyncio.get_running_loop().create_task(self._run_groups())
        return await future

    async def _run_groups(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                await asyncio.sleep(0)  # let requests that are already readable join the group
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                try:
                    await asyncio.wait_for(self._write_lock.acquire(), WRITE_WAIT)
                except TimeoutError:
                    error = DatabaseBusyError(f"database is busy: another client held it for {WRITE_WAIT:g} s")
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                try:
                    results = await loop.run_in_executor(self._write_pool, self._insert_group,
                                                         [args for args, _ in group])
                except BaseException as error:  # the whole transaction failed: every caller learns why
                    results = [error] * len(group)
                finally:
                    self._write_lock.release()
                for (_, future), result in zip(group, results):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._grouping = False

    def _insert_group(self, group: list[list[Any]]) -> list[Any]:
        """On the write thread: check each commit, store the good ones in one transaction.
        Each caller gets [inserted, before, after]; in a group of several, ``before`` is -1 (no
        version), because ``after`` also covers the others' commits the caller has not seen."""
        checked: list[Any] = []
        earlier: set[bytes] = set()  # a commit may have its parent earlier in the same group
        for args in group:
            try:
                if len(args) != 1:
                    raise ProtocolError("insert_commit takes one commit")
                checked.append(_checked_commit(self, args[0], earlier))
            except (CommitDBError, ValueError, TypeError) as error:
                checked.append(error if isinstance(error, CommitDBError) else ProtocolError(str(error)))
        good = [c for c in checked if not isinstance(c, BaseException)]
        before = self.data_version()
        flags = iter(self.writer.insert_commits(good)) if good else iter(())
        after = self.data_version()
        if len(group) > 1:
            before = -1
        return [c if isinstance(c, BaseException) else [next(flags), before, after] for c in checked]

    async def _acquire(self, conn: Connection) -> None:
        try:
            await asyncio.wait_for(self._write_lock.acquire(), WRITE_WAIT)
        except TimeoutError:
            raise DatabaseBusyError(f"database is busy: another client held it for {WRITE_WAIT:g} s") from None

    async def _transaction(self, conn: Connection, method: str, args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        if method == "in_transaction":
            _no_args(args)
            return conn.in_transaction
        if method == "begin_transaction":
            if len(args) != 1 or args[0] not in ("Deferred", "Immediate", "Exclusive"):
                raise ProtocolError("begin_transaction takes one mode: 'Deferred', 'Immediate' or 'Exclusive'")
            if conn.in_transaction:
                raise StorageError("a transaction is already in progress")
            await self._acquire(conn)
            try:
                await loop.run_in_executor(self._write_pool, self.writer.begin_transaction, args[0])
            except BaseException:
                self._write_lock.release()
                raise
            conn.in_transaction = True
            return None
        _no_args(args)
        if not conn.in_transaction:
            raise StorageError("no transaction in progress")
        try:
            await loop.run_in_executor(self._write_pool, getattr(self.writer, method))
        finally:
            conn.in_transaction = False
            if method == "rollback":
                self._rollbacks += 1
            self._write_lock.release()
        return None

    async def abandon(self, conn: Connection) -> None:
        """A client went away: roll back its transaction and free the write lock."""
        if conn.in_transaction:
            conn.in_transaction = False
            try:
                await asyncio.get_running_loop().run_in_executor(self._write_pool, self.writer.rollback)
            except CommitDBError:
                pass
            finally:
                self._rollbacks += 1
                self._write_lock.release()

    # --- helpers used by the method table ----------------------------------------------------
    def token(self) -> bool:
        """Whether the served database uses the token codec (ids and programs follow it)."""
        return self.writer.codec_name() == "StreamTokenBinary"

    def definitions(self) -> Any:
        data = self.writer.definitions_bytes()
        if self._definitions_cache is None or self._definitions_cache[0] != data:
            self._definitions_cache = (data, self.writer.definitions())
        return self._definitions_cache[1]

    def data_version(self) -> int:
        return (self.versions or self.reader).data_version() + self._rollbacks

    def versioned(self, fn: Callable[[], Any]) -> list[Any]:
        """Run a write and report the data version before and after it, so the client can
        tell its own write from someone else's. (A process writing the file directly, not
        through this server, between the two reads would go unnoticed until the next change.)"""
        before = self.data_version()
        result = fn()
        after = self.data_version()
        return [result, before, after]


# --- the method table ------------------------------------------------------------------------


def _r_simple(name: str) -> Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]:
    def call(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
        _no_args(args)
        return getattr(backend, name)()

    return call


def _r_get_commit(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    c = backend.get_commit(_one_id(args))
    return None if c is None else P.pack_commit(c)


def _r_get_commits(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("get_commits takes one list of ids")
    ids = _bytes_list(args[0], 20, "commit ids")
    return [P.pack_commit(c) for c in backend.get_commits(ids)]


def _r_get_header(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    h = backend.get_header(_one_id(args))
    return None if h is None else P.pack_header(h)


def _r_all_headers(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    _no_args(args)
    return [P.pack_header(h) for h in backend.all_headers()]


def _r_headers_since(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if not 1 <= len(args) <= 2 or not isinstance(args[0], int) or isinstance(args[0], bool) \
            or not 0 <= args[0] < 2 ** 63:
        raise ProtocolError("headers_since takes a marker (an integer in [0, 2**63)) and an optional limit")
    limit = args[1] if len(args) == 2 else None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1_000_000):
        raise ProtocolError("headers_since: the limit must be an integer from 1 to 1000000")
    headers, marker = backend.headers_since(args[0], limit)
    return [[P.pack_header(h) for h in headers], marker]


def _r_head_ids(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    _no_args(args)
    return sorted(backend.head_ids())


def _r_get_blob(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    b = backend.get_blob(_one_id(args))
    return None if b is None else P.pack_blob(b)


def _r_has_blob(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    return backend.has_blob(_one_id(args))


def _r_blob_chunk(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[layout, total size, bytes] of a blob from ``offset``, at most ``size`` bytes; nil if absent.
    Lets a client read a blob larger than a frame in pieces."""
    if len(args) != 3 or not isinstance(args[0], bytes) or len(args[0]) != 20:
        raise ProtocolError("blob_chunk takes [blob id, offset, size]")
    offset, size = args[1], args[2]
    for n in (offset, size):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ProtocolError("blob_chunk: offset and size must be non-negative integers")
    size = min(size, P.BLOB_CHUNK)
    record = backend.get_blob(args[0])
    if record is None:
        return None
    return [record.layout, len(record.data), record.data[offset:offset + size]]


def _r_get_blobs(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """The blobs of a list of ids, as many as fit in BLOB_CHUNK bytes (at least one unless it is
    larger than that: the client then reads it with blob_chunk); absent ids are skipped."""
    if len(args) != 1:
        raise ProtocolError("get_blobs takes one list of ids")
    out, total = [], 0
    for blob_id in _bytes_list(args[0], 20, "blob ids"):
        record = backend.get_blob(blob_id)
        if record is None:
            continue
        if total + len(record.data) > P.BLOB_CHUNK:
            break
        out.append(P.pack_blob(record))
        total += len(record.data)
    return out


def _r_missing_blobs(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("missing_blobs takes one list of ids")
    return [b for b in _bytes_list(args[0], 20, "blob ids") if not backend.has_blob(b)]


def _r_blob_sizes(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    _no_args(args)
    return [[b, layout, size] for b, (layout, size) in backend.blob_sizes().items()]


FEW_COMMITS = 1000  # index entries of fewer commits are computed from their programs


def _index_entries(service: DatabaseService, backend: CommitDatabasing, ids: list[bytes] | None) -> list[Any]:
    """[[commit id, packed entries]] of the Mutations commits among ``ids``: from the backend's
    stored index for many commits (one scan), from the programs themselves for a few."""
    if ids is None or len(ids) > FEW_COMMITS:
        return [[cid, P.pack_entries(entries)] for cid, entries in backend.load_index(ids).items()]
    out = []
    for commit in backend.get_commits(ids):
        if commit.header().type_code == MUTATIONS:
            program = decode_program(commit.data(), service.definitions(), service.token())
            out.append([commit.header().id, P.pack_entries(index_entries(program))])
    return out


def _r_load_index(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("load_index takes one argument (a list of ids, or nil)")
    ids = None if args[0] is None else _bytes_list(args[0], 20, "commit ids")
    return _index_entries(service, backend, ids)


def _r_poll(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[version] when ``known`` is current; else everything a client needs to catch up, in one
    answer: [version, definitions sha1, definitions bytes (nil when the client's sha1 is
    current), headers since ``marker``, next marker, commit count, index entries of those
    headers (nil when the backend keeps no index)]."""
    if len(args) == 4 and args[3] == "reads":
        args = args[:3]
        lean = True  # a client that reads through the server: no headers, the read summary instead
    elif len(args) != 3:
        raise ProtocolError('poll takes [known version or nil, marker, definitions sha1 or nil] (+ "reads")')
    else:
        lean = False
    known, marker, defs_sha = args
    if known is not None and (not isinstance(known, int) or isinstance(known, bool)):
        raise ProtocolError("poll: the known version must be an integer or nil")
    if not isinstance(marker, int) or isinstance(marker, bool) or not 0 <= marker < 2 ** 63:
        raise ProtocolError("poll: the marker must be an integer in [0, 2**63)")
    if defs_sha is not None and not isinstance(defs_sha, bytes):
        raise ProtocolError("poll: the definitions digest must be bytes or nil")
    version = service.data_version()
    if known == version:
        return [version]
    definitions = backend.definitions_bytes()
    sha = hashlib.sha1(definitions).digest()
    if lean:
        return [version, sha, None if sha == defs_sha else definitions, server_reads.summary(service, backend)]
    headers, next_marker = backend.headers_since(marker)
    if len(headers) > POLL_MAX_HEADERS:
        return [version]  # a long catch-up: the client asks for it piece by piece
    index = None
    if backend.persists_index():
        mutations = [h.id for h in headers if h.type_code == MUTATIONS]
        index = _index_entries(service, backend, mutations) if mutations else []
    return [version, sha, None if sha == defs_sha else definitions, [P.pack_header(h) for h in headers],
            next_marker, backend.commit_count(), index]


_READ_METHODS: dict[str, Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]] = {
    "poll": _r_poll,
    "serves_reads": lambda service, backend, args: True,
    **server_reads.READ_METHODS,
    **{name: _r_simple(name) for name in (
        "path", "uuid", "documentation", "codec_name", "definitions_bytes", "is_readonly", "in_memory",
        "commit_count", "blob_id_list", "persists_index",
    )},
    "get_commit": _r_get_commit,
    "get_commits": _r_get_commits,
    "get_header": _r_get_header,
    "all_headers": _r_all_headers,
    "headers_since": _r_headers_since,
    "head_ids": _r_head_ids,
    "get_blob": _r_get_blob,
    "has_blob": _r_has_blob,
    "missing_blobs": _r_missing_blobs,
    "blob_chunk": _r_blob_chunk,
    "get_blobs": _r_get_blobs,
    "blob_sizes": _r_blob_sizes,
    "load_index": _r_load_index,
}


def _checked_commit(service: DatabaseService, packed: Any,
                    earlier: set[bytes] | None = None) -> tuple[CommitData, list[tuple[Any, bool]] | None]:
    """Unpack a commit from a client and check it: the id re-hashes (in the database's codec),
    its parent and target exist (stored, or ``earlier`` in the same batch), the program decodes
    against the server's definitions, referenced blobs exist."""
    commit = P.unpack_commit(packed)
    h = commit.header()
    token = service.token()
    computed = commit.computed_id(token)
    if computed != h.id:
        raise CorruptedDataError(f"corrupted commit data, expected {h.id.hex()}, got {computed.hex()}")
    entries = None
    if h.type_code == MUTATIONS:
        program = decode_program(commit.data(), service.definitions(), token)
        for blob_id in collect_blob_ids(program.raw_opcodes()):
            if not service.writer.has_blob(blob_id):
                raise MissingBlobError(f"Missing blob {blob_id.hex()}")
        entries = index_entries(program)
    elif commit.data():
        raise CorruptedDataError(f"a {h.commit_type()} commit carries no data")
    for ref in (h.parent, h.target):
        if ref != bytes(20) and (earlier is None or ref not in earlier) and service.writer.get_header(ref) is None:
            raise CommitNotFoundError(f"Missing commit {ref.hex()} (referenced by {h.id.hex()})")
    if earlier is not None:
        earlier.add(h.id)
    return commit, entries


def _w_insert_commit(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("insert_commit takes one commit")
    commit, entries = _checked_commit(service, args[0])
    return service.versioned(lambda: service.writer.insert_commit(commit, entries))


def _w_insert_commits(service: DatabaseService, args: list[Any]) -> Any:
    """Several commits in one transaction: [[inserted flags], before, after]; all or nothing."""
    if len(args) != 1 or not isinstance(args[0], list) or len(args[0]) > MAX_BATCH:
        raise ProtocolError(f"insert_commits takes one list of at most {MAX_BATCH} commits")
    earlier: set[bytes] = set()
    rows = [_checked_commit(service, packed, earlier) for packed in args[0]]
    return service.versioned(lambda: service.writer.insert_commits(rows))


def _w_insert_blob(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("insert_blob takes one blob")
    blob = P.unpack_blob(args[0])
    computed = blob_id_bytes(blob.layout, blob.data)
    if computed != blob.blob_id:
        raise CorruptedDataError(f"blob id {blob.blob_id.hex()} does not match its content ({computed.hex()})")
    return service.versioned(lambda: service.writer.insert_blob(blob))


def _w_insert_blobs(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1 or not isinstance(args[0], list):
        raise ProtocolError("insert_blobs takes one list of blobs")
    blobs = [P.unpack_blob(b) for b in args[0]]
    for blob in blobs:
        if blob_id_bytes(blob.layout, blob.data) != blob.blob_id:
            raise CorruptedDataError(f"blob id {blob.blob_id.hex()} does not match its content")
    return service.versioned(lambda: sum(1 for b in blobs if service.writer.insert_blob(b)))


def _w_remove_commit(service: DatabaseService, args: list[Any]) -> Any:
    cid = _one_id(args)
    # Removing anything but a head would orphan its children: clients are not trusted with it.
    if service.writer.get_header(cid) is not None and cid not in service.writer.head_ids():
        raise NotAHeadError(f"{cid.hex()} is not a head")
    return service.versioned(lambda: service.writer.remove_commit(cid))


def _w_remove_all_but_first(service: DatabaseService, args: list[Any]) -> Any:
    _no_args(args)
    return service.versioned(service.writer.remove_all_but_first)


def _w_extend_definitions(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1 or not isinstance(args[0], bytes):
        raise ProtocolError("extend_definitions takes the encoded definitions (bytes)")
    from commitdb.dsm.definitions import Definitions

    token = service.writer.codec_name() == "StreamTokenBinary"
    incoming = Definitions.decode(args[0], token=token)
    return service.versioned(lambda: service.writer.extend_definitions(incoming))


_WRITE_METHODS: dict[str, Callable[[DatabaseService, list[Any]], Any]] = {
    "insert_commit": _w_insert_commit,
    "insert_commits": _w_insert_commits,
    "insert_blob": _w_insert_blob,
    "insert_blobs": _w_insert_blobs,
    "remove_commit": _w_remove_commit,
    "remove_all_but_first": _w_remove_all_but_first,
    "extend_definitions": _w_extend_definitions,
}
_TX_METHODS = frozenset({"begin_transaction", "commit", "rollback", "in_transaction"})


# --- the server ------------------------------------------------------------------------------


class CommitDatabaseServer:
    """Serves one database over TCP and/or a unix socket.

    ``start()`` binds and returns; ``serve_forever()`` runs until ``stop()``; ``shutdown(grace)``
    stops accepting, lets in-flight requests finish for up to ``grace`` seconds, closes the
    database and returns the number of requests still running (0 means a clean stop).
    """

    def __init__(self, service: DatabaseService, host: str | None = None, port: int | None = None,
                 socket_path: str | None = None, max_frame: int = P.DEFAULT_MAX_FRAME,
                 idle_timeout: float | None = None, viper_clients: str = "local") -> None:
        """``viper_clients``: where clients of the reference protocol are served: "off",
        "local" (unix socket and loopback) or "any" (see net.viper_server)."""
        if host is None and socket_path is None:
            raise ValueError("give a host (TCP) or a socket path (unix)")
        if viper_clients not in ("off", "local", "any"):
            raise ValueError(f"viper_clients must be off, local or any, not {viper_clients!r}")
        self.viper_clients = viper_clients
        self.viper_shared: Any = None  # what the reference protocol's connections share
        self.service = service
        self.host, self.port, self.socket_path = host, port, socket_path
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        if self.socket_path is not None:
            remove_stale_socket(self.socket_path)
            self._servers.append(await asyncio.start_unix_server(self._client, path=self.socket_path,
                                                                 limit=2 ** 16))
        if self.host is not None:
            port = P.DEFAULT_PORT if self.port is None else self.port
            server = await asyncio.start_server(self._client, host=self.host, port=port, limit=2 ** 16,
                                                reuse_address=True)
            self._servers.append(server)
            self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._stopped.set()

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    def busy_clients(self) -> int:
        """How many clients have a request in progress."""
        return sum(1 for c in self._connections if c.busy)

    def connection_count(self) -> int:
        return len(self._connections)

    async def shutdown(self, grace: float = 5.0) -> int:
        """Stop accepting, let running requests finish for up to ``grace`` seconds, close every
        connection and the database. Returns how many clients were still busy (0: clean)."""
        self._stopped.set()
        for server in self._servers:
            server.close()
        # Idle clients cannot send anything the server would still run: close them now, which
        # also rolls back a transaction an idle client left open (it would block the others).
        for conn in list(self._connections):
            if not conn.busy and conn.writer is not None:
                conn.writer.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.busy_clients() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        still = self.busy_clients()
        for conn in list(self._connections):
            if conn.writer is not None:
                conn.writer.close()
        # Let the handlers see their connection closed (bounded: a stuck handler is counted).
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=1.0 if not still else 0.1)
        if not still:
            for conn in list(self._connections):
                await self.service.abandon(conn)
            await loop.run_in_executor(None, self.service.close)
        if self.socket_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)
        return still

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername") or writer.get_extra_info("sockname") or "unix")
        conn = Connection(peer=peer, writer=writer)
        if self._stopped.is_set():
            writer.close()
            return
        self._connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        log.info("connection from %s", peer)
        try:
            await self._session(conn, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            log.info("connection from %s dropped", peer)
        except FrameTooLargeError as e:
            log.error("%s: %s", peer, e)
            await self._send_quietly(writer, [0, False, P.error_payload(e)])
        except ProtocolError as e:
            log.error("%s: protocol error: %s", peer, e)
            await self._send_quietly(writer, [0, False, P.error_payload(e)])
        except Exception:  # never let one client take the server down
            log.exception("unexpected error with %s", peer)
        finally:
            await self.service.abandon(conn)
            self._connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("connection from %s closed", peer)

    async def _read_head(self, reader: asyncio.StreamReader) -> Any:
        """The next frame's length prefix, or _EOF when the peer closed cleanly before it."""
        try:
            return await self._timed(reader.readexactly(P.LENGTH.size))
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise
            return _EOF

    async def _read(self, reader: asyncio.StreamReader, head: Any = None, started: bytes = b"") -> Any:
        """The next message, or _EOF when the peer closed cleanly before a new frame. ``head``
        and ``started``: the length prefix and first body bytes, when already read."""
        if head is None:
            head = await self._read_head(reader)
            if head is _EOF:
                return _EOF
        (length,) = P.LENGTH.unpack(head)
        P.check_length(length, self.max_frame)
        if len(started) > length:
            raise ProtocolError("the handshake frame is shorter than its first byte")
        return P.decode_body(started + await self._timed(reader.readexactly(length - len(started))))

    def stopping(self) -> bool:
        return self._stopped.is_set()

    async def _timed(self, awaitable: Any) -> Any:
        if self.idle_timeout is None:
            return await awaitable
        return await asyncio.wait_for(awaitable, self.idle_timeout)

    async def _session(self, conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await self._read_head(reader)
        if head is _EOF:
            return  # connected and left without a word (a port probe)
        started: bytes | None = b""
        if head[0] == 0:  # perhaps a reference frame (a big-endian length)
            from commitdb.net.viper_server import serve_if_viper

            started = await serve_if_viper(self, conn, reader, writer, head)
            if started is None:
                return
        greeting = await self._read(reader, head, started)
        try:
            P.check_hello(greeting)
        except CommitDBError as e:
            await self._send_quietly(writer, {"magic": P.MAGIC, "version": P.PROTOCOL_VERSION,
                                              "error": P.error_payload(e)})
            raise
        writer.write(P.encode_frame(P.hello(), self.max_frame))
        await writer.drain()
        while True:
            message = await self._read(reader)
            if message is _EOF:
                return  # the client left between two requests: a normal end
            request_id, method, args = P.parse_request(message)
            if self._stopped.is_set():
                # Shutting down: in-flight requests finish, new ones are refused.
                await self._send_quietly(writer, [request_id, False, [
                    "ConnectionFailedError", "the server is shutting down"]])
                return
            log.debug("%s: %s #%d", conn.peer, method, request_id)
            # Busy until the answer is handed to the socket, so a shutdown lets it go out.
            conn.busy += 1
            try:
                response = await self._answer(conn, request_id, method, args)
                try:
                    frame = P.encode_frame(response, self.max_frame)
                except FrameTooLargeError as e:
                    frame = P.encode_frame([request_id, False, P.error_payload(e)], self.max_frame)
                writer.write(frame)
                await writer.drain()
            finally:
                conn.busy -= 1
            if self._stopped.is_set():
                return  # answered the last request; the shutdown closes the rest

    async def _answer(self, conn: Connection, request_id: int, method: str, args: list[Any]) -> list[Any]:
        """The response to one request; every failure becomes an error response."""
        try:
            return [request_id, True, await self.service.handle(conn, method, args)]
        except CommitDBError as e:
            if isinstance(e, ProtocolError):
                log.error("%s: %s: %s", conn.peer, method, e)
            return [request_id, False, P.error_payload(e)]
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as e:
            log.error("%s: bad arguments for %s: %s", conn.peer, method, e)
            return [request_id, False, ["ProtocolError", f"bad arguments for {method}: {e}"]]
        except Exception as e:  # a bug must not cost the client its connection, nor the server its life
            log.exception("%s: %s failed", conn.peer, method)
            return [request_id, False, ["RemoteError", f"{method} failed on the server: {e.__class__.__name__}: {e}"]]

    async def _send_quietly(self, writer: asyncio.StreamWriter, message: Any) -> None:
        with contextlib.suppress(Exception):
            writer.write(P.encode_frame(message, self.max_frame))
            await asyncio.wait_for(writer.drain(), 1.0)


def remove_stale_socket(path: str) -> None:
    """Remove a leftover unix socket file nobody listens on; refuse to remove anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise StorageError(f"{path!r} exists and is not a socket; not removing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody answers: stale
    else:
        raise StorageError(f"another server is listening on {path!r}")
    finally:
        probe.close()
