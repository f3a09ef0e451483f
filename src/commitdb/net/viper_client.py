"""A storage backend speaking the reference runtime's protocol ("viper").

``CommitDatabase.connect(host, port, protocol="viper")`` and ``connect_local(path,
protocol="viper")`` wrap one in the usual facade, so a database served by the reference
runtime's server (or by commitdb's server, which speaks both protocols) has the whole
CommitDatabase API, and ``CommitSynchronizer`` can pull its history into a local file and push
back. Requests are strictly sequential, as the reference server expects. What arrives is
verified like anything else commitdb reads: commits re-hash (the facade checks them before use)
and must be the ones asked for, blobs re-hash to their ids.
"""

from __future__ import annotations

import socket
import threading
import uuid as uuid_module
from collections.abc import Iterable
from typing import Any

from commitdb.blobs import blob_id_bytes
from commitdb.errors import (
    BlobNotFoundError,
    CommitDBError,
    ConnectionFailedError,
    CorruptedDataError,
    DefinitionsConflictError,
    ProtocolError,
    RemoteError,
    StorageError,
    error_classes,
)
from commitdb.net import viper_protocol as V
from commitdb.storage.base import TRANSACTION_MODES, BlobRecord, CommitData, CommitDatabasing, CommitHeader

REQUEST_TIMEOUT = 60.0
DEFAULT_VIPER_PORT = 54321
PIECE = 8 * 1024 * 1024  # blob bytes per message when a blob travels in pieces
PAGE = 1000  # commit ids per CallCommitDatas


def error_from(info: V.ErrorInfo) -> CommitDBError:
    """The commitdb error for a ThrowError: commitdb servers name their class in the domain;
    the reference's own layers are mapped to the nearest class."""
    text = info.text()
    if info.component == "commitdb":
        return error_classes().get(info.domain, RemoteError)(info.message)
    if info.domain == "TypeErrors":
        return DefinitionsConflictError(text)
    if info.domain == "BlobReaderErrors" or (info.domain == "SQLiteTableBlobErrors" and info.code == 33):
        return BlobNotFoundError(text)
    if info.domain in ("SQLiteErrors", "SQLiteTableBlobErrors"):
        return StorageError(text)
    if info.domain == "RPCProtocolErrors":
        return ProtocolError(text)
    return RemoteError(text)


class ViperBackend(CommitDatabasing):
    """A CommitDatabasing whose storage lives in a server speaking the reference protocol."""

    def __init__(self, sock: socket.socket, address: str, timeout: float = REQUEST_TIMEOUT,
                 max_payload: int = 1 << 31) -> None:
        self._sock = sock
        self._address = address
        self._timeout = timeout
        self._frames = V.FrameReader(max_payload)
        self._inbox: list[bytes] = []
        self._lock = threading.RLock()
        self._closed = False
        self._meta: dict[str, Any] = {}
        from commitdb.net.client import COMMIT_CACHE, BoundedCache

        self._commits: BoundedCache = BoundedCache(COMMIT_CACHE)  # immutable records (bounded)
        self._order: list[bytes] = []  # commit ids in the order headers_since delivered them
        self._definitions: tuple[bytes, bytes] | None = None  # (wire bytes, bytes in the database codec)
        self._in_tx = False
        self._server_version = 0
        self._own_writes = 0
        self._last_write: tuple[int, int] | None = None

    # --- connecting ------------------------------------------------------------------------------
    @staticmethod
    def connect(host: str, port: int | str = DEFAULT_VIPER_PORT, timeout: float = REQUEST_TIMEOUT) -> ViperBackend:
        from commitdb.net.client import tcp_socket

        return ViperBackend(*tcp_socket(host, port), timeout)

    @staticmethod
    def connect_local(path: str, timeout: float = REQUEST_TIMEOUT) -> ViperBackend:
        from commitdb.net.client import unix_socket

        return ViperBackend(unix_socket(path), path, timeout)

    def address(self) -> str:
        return self._address

    # --- plumbing --------------------------------------------------------------------------------
    def call(self, name: str, *args: Any) -> Any:
        """One request and its reply: the reply's value (None when it has none). ThrowError is
        raised as a commitdb error; any other unexpected reply is a ProtocolError."""
        with self._lock:
            if self._closed:
                raise ConnectionFailedError(f"the connection to {self._address} is closed")
            try:
                self._sock.settimeout(self._timeout)
                self._sock.sendall(V.encode_message(name, *args))
                message = V.decode_payload(self._next_payload())
            except TimeoutError:
                self._shutdown()
                raise ConnectionFailedError(f"no answer from {self._address} within {self._timeout:g} s") from None
            except OSError as e:
                self._shutdown()
                raise ConnectionFailedError(f"connection to {self._address} lost: {e}") from None
            except ProtocolError:
                self._shutdown()  # the stream can no longer be trusted
                raise
        if message.name == "ThrowError":
            raise error_from(V.ErrorInfo(*message.args))
        expected = V.MESSAGES[name].reply
        if message.name != expected:
            raise ProtocolError(f"expected {expected} in answer to {name}, got {message.name}")
        return message.args[0] if message.args else None

    def _next_payload(self) -> bytes:
        while not self._inbox:
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                self._shutdown()
                raise ConnectionFailedError(f"the server at {self._address} closed the connection")
            self._inbox.extend(self._frames.feed(chunk))
        return self._inbox.pop(0)

    def _shutdown(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._shutdown()

    def _cached(self, name: str) -> Any:
        if name not in self._meta:
            self._meta[name] = self.call(name)
        return self._meta[name]

    # --- metadata --------------------------------------------------------------------------------
    def path(self) -> str:
        return self._cached("CallPath")

    def uuid(self) -> str:
        return str(uuid_module.UUID(bytes=self._cached("CallUUId")))

    def documentation(self) -> str:
        return self._cached("CallDocumentation")

    def codec_name(self) -> str:
        return self._cached("CallCodecName")

    def data_version(self) -> int:
        """The server's counter (it moves when another connection wrote) combined with this
        connection's own writes, which the reference server does not count."""
        self._server_version = int(self.call("CallDataVersion"))
        return (self._server_version << 32) + self._own_writes

    def last_write_versions(self) -> tuple[int, int] | None:
        return self._last_write

    def _wrote(self) -> None:
        before = (self._server_version << 32) + self._own_writes
        self._own_writes += 1
        self._last_write = (before, before + 1)

    def ping(self) -> None:
        self.call("CallPing")

    def definitions_bytes(self) -> bytes:
        """The definitions in this database's codec (they travel in the token codec)."""
        wire = self.call("CallDefinitions")
        if self._definitions is None or self._definitions[0] != wire:
            from commitdb.dsm.definitions import Definitions

            decoded = Definitions.decode(wire, token=True)
            local = b"" if decoded.is_empty() else decoded.encode(token=self.codec_name() == "StreamTokenBinary")
            self._definitions = (wire, local)
        return self._definitions[1]

    def definitions_hexdigest(self) -> str:
        return self.call("CallDefinitionsHexDigest")

    def write_definitions(self, encoded: bytes, hexdigest: str) -> None:
        raise ProtocolError("definitions of a remote database are extended with extend_definitions")

    def extend_definitions(self, definitions: Any) -> bool:
        info = self.call("CallExtendDefinitions", definitions.encode(token=True))
        self._wrote()
        return any(info)

    # --- commits ---------------------------------------------------------------------------------
    def _remember(self, wire: V.CommitData) -> CommitData:
        commit = V.storage_commit(wire)
        self._commits[commit.header().id] = commit
        return commit

    def get_commit(self, commit_id: bytes) -> CommitData | None:
        found = self._commits.get(commit_id)
        if found is None:
            wire = self.call("CallCommitData", commit_id)
            if wire is None:
                return None
            found = self._remember(wire)
            if found.header().id != commit_id:
                raise ProtocolError("the server answered with another commit")
        return found

    def get_commits(self, commit_ids: Iterable[bytes]) -> list[CommitData]:
        ids = list(commit_ids)
        found = {c: self._commits[c] for c in ids if c in self._commits}
        missing = sorted(set(ids) - set(found))
        for start in range(0, len(missing), PAGE):
            for wire in self.call("CallCommitDatas", missing[start:start + PAGE]):
                commit = self._remember(wire)
                found[commit.header().id] = commit
        return [found[c] for c in ids if c in found]

    def get_header(self, commit_id: bytes) -> CommitHeader | None:
        cached = self._commits.get(commit_id)
        if cached is not None:
            return cached.header()
        wire = self.call("CallCommitHeader", commit_id)
        if wire is None:
            return None
        return V.storage_commit(V.CommitData(wire, b"")).header()

    def insert_commit(self, commit: CommitData, index_entries: list[tuple[Any, bool]] | None = None) -> bool:
        inserted = bool(self.call("CreateCommitData", V.wire_commit(commit)))
        self._wrote()
        self._commits[commit.header().id] = commit
        return inserted

    def all_headers(self) -> list[CommitHeader]:
        """Every header in storage order (one CallCommitDataAll: the data comes along and is kept)."""
        commits = [self._remember(w) for w in self.call("CallCommitDataAll")]
        self._order = [c.header().id for c in commits]
        return [c.header() for c in commits]

    def headers_since(self, marker: int, limit: int | None = None) -> tuple[list[CommitHeader], int]:
        """New headers after ``marker``. The protocol has no such call: the ids are compared
        with those already delivered and only the new commits are fetched, parents first; when
        commits went away (or on the first call) every header is read again."""
        ids = set(self.call("CallCommitIds"))
        if 0 < marker == len(self._order) and ids.issuperset(self._order):
            known = set(self._order)
            fresh = [c.header() for c in self.get_commits(sorted(ids - known))]
            fresh = _parents_first(fresh)
            self._order.extend(h.id for h in fresh)
        else:
            # Commits went away (deleted, reset): forget them, then read every header again.
            for gone in [c for c in self._commits if c not in ids]:
                self._commits.pop(gone)
            fresh = self.all_headers()[marker:]
        if limit is not None:
            fresh = fresh[:limit]
        return fresh, marker + len(fresh)

    def commit_count(self) -> int:
        return len(self.call("CallCommitIds"))

    def head_ids(self) -> set[bytes]:
        return set(self.call("CallCommitHeadIds"))

    def remove_commit(self, commit_id: bytes) -> None:
        self._bump_generation()
        self.call("CallDeleteCommit", commit_id)
        self._wrote()
        self._commits.pop(commit_id, None)

    def remove_all_but_first(self) -> None:
        self._bump_generation()
        self.call("CallResetCommits")
        self._wrote()
        self._commits.clear()

    # --- blobs -----------------------------------------------------------------------------------
    def _infos(self, blob_ids: list[bytes]) -> list[V.BlobInfo]:
        return self.call("CallBlobInfos", sorted(set(blob_ids))) if blob_ids else []

    def get_blob(self, blob_id: bytes) -> BlobRecord | None:
        info = self.call("CallBlobInfo", blob_id)
        if info is None:
            return None
        if info.size <= PIECE:
            data = self.call("CallBlob", blob_id)
            if data is None:
                return None
        else:
            data = b"".join(self.call("CallReadBlob", blob_id, min(PIECE, info.size - offset), offset)
                            for offset in range(0, info.size, PIECE))
        return self._checked(BlobRecord(blob_id, V.layout_text(info.layout), data))

    @staticmethod
    def _checked(blob: BlobRecord) -> BlobRecord:
        if blob_id_bytes(blob.layout, blob.data) != blob.blob_id:
            raise CorruptedDataError(f"blob {blob.blob_id.hex()} from the server does not match its content")
        return blob

    def has_blob(self, blob_id: bytes) -> bool:
        return not self.call("CallUnknownBlobIds", [blob_id])

    def missing_blob_ids(self, blob_ids: list[bytes]) -> set[bytes]:
        wanted = sorted(set(blob_ids))
        return set(self.call("CallUnknownBlobIds", wanted)) if wanted else set()

    def insert_blob(self, blob: BlobRecord) -> bool:
        self._wrote()
        layout = V.wire_layout(blob.layout)
        if len(blob.data) <= PIECE:
            return bool(self.call("CallCreateBlobWithId", blob.blob_id, layout, blob.data))
        if not self.call("CallCreateZeroBlob", blob.blob_id, layout, len(blob.data)):
            return False
        for offset in range(0, len(blob.data), PIECE):
            self.call("CallWriteBlob", blob.blob_id, blob.data[offset:offset + PIECE], offset)
        return bool(self.call("CallFreezeBlob", blob.blob_id))

    def blob_id_list(self) -> list[bytes]:
        return list(self.call("CallBlobIds"))

    def blob_sizes(self) -> dict[bytes, tuple[str, int]]:
        return {i.blob_id: (V.layout_text(i.layout), i.size) for i in self._infos(self.blob_id_list())}

    def blob_datas(self, blob_ids: Iterable[Any]) -> list[BlobRecord]:
        """Small blobs in packs of at most PIECE bytes, large ones in pieces."""
        from commitdb.storage.base import as_id

        wanted = [as_id(b) for b in blob_ids]
        found: dict[bytes, BlobRecord] = {}
        pack: list[bytes] = []
        size = 0
        for info in [*self._infos(wanted), None]:
            if pack and (info is None or size + info.size > PIECE):
                for wire in self.call("CallBlobDatas", sorted(pack)):
                    found[wire.blob_id] = self._checked(BlobRecord(wire.blob_id, V.layout_text(wire.layout),
                                                                   wire.data))
                pack, size = [], 0
            if info is None:
                break
            if info.size > PIECE:
                big = self.get_blob(info.blob_id)
                if big is not None:
                    found[big.blob_id] = big
            else:
                pack.append(info.blob_id)
                size += info.size
        return [found[b] for b in wanted if b in found]

    def create_blobs(self, blobs: Iterable[BlobRecord]) -> int:
        self._wrote()
        count, pack, size = 0, [], 0
        for blob in [*blobs, None]:
            if pack and (blob is None or size + len(blob.data) > PIECE):
                count += len(self.call("CallCreateBlobs", pack))
                pack, size = [], 0
            if blob is None:
                break
            if len(blob.data) > PIECE:
                count += self.insert_blob(blob)
            else:
                pack.append(V.BlobData(blob.blob_id, V.wire_layout(blob.layout), blob.data))
                size += len(blob.data)
        return count

    def insert_blobs(self, blobs: list[BlobRecord]) -> int:
        return self.create_blobs(blobs)

    # --- transactions ----------------------------------------------------------------------------
    def begin_transaction(self, mode: str = "Deferred") -> None:
        if mode not in TRANSACTION_MODES:
            raise StorageError(f"unknown transaction mode {mode!r}; use one of {', '.join(TRANSACTION_MODES)}")
        self.call("CallBeginTransaction", TRANSACTION_MODES.index(mode))
        self._in_tx = True

    def commit(self) -> None:
        try:
            self.call("CallCommit")
        finally:
            self._in_tx = False

    def rollback(self) -> None:
        self._bump_generation()
        try:
            self.call("CallRollback")
        finally:
            self._in_tx = False
            self._wrote()
            self._commits.clear()  # what the transaction wrote is not stored after all
            self._order = []

    def in_transaction(self) -> bool:
        return self._in_tx


def _parents_first(headers: list[CommitHeader]) -> list[CommitHeader]:
    """New headers ordered so that each comes after its parent and target (then by timestamp)."""
    pending = sorted(headers, key=lambda h: h.ts)
    waiting = {h.id for h in pending}
    out: list[CommitHeader] = []
    while pending:
        ready = [h for h in pending if h.parent not in waiting and h.target not in waiting] or pending
        out.extend(ready)
        waiting.difference_update(h.id for h in ready)
        pending = [h for h in pending if h.id in waiting]
    return out
