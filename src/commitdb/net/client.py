"""The remote backend: the storage interface over a connection to a commit database server.

``CommitDatabase.connect(host, port)`` and ``CommitDatabase.connect_local(path)`` wrap one in the
usual facade, so a remote database has the whole CommitDatabase API. Immutable data — commit
records, blobs, definitions by content — is cached for the life of the connection. Every call
has a timeout: a dead or stopped server gives ConnectionFailedError, never a hang.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commitdb.blobs import blob_id_bytes
from commitdb.errors import ConnectionFailedError, CorruptedDataError, ProtocolError
from commitdb.net import protocol as P
from commitdb.net.security import TOKEN_ENV, client_tls_context
from commitdb.net.watch import WatchHandle, is_push
from commitdb.storage.base import MERGE, BlobRecord, CommitData, CommitDatabasing, CommitHeader, as_id

UNKNOWN = object()  # a served summary's entry that must be asked for again
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0
COMMIT_CACHE = 200_000  # commit records kept by a client
BLOB_CACHE_BYTES = 64 * 1024 * 1024  # blob bytes kept by a client
COMMIT_BATCH_BYTES = 8 * 1024 * 1024  # program bytes per insert_commits message
HEADER_PAGE = 20_000  # headers per answer (~2.5 MB, far below the frame limit)
POLL_FRESH = 0.25  # seconds the catch-up data of a poll may be used
ID_PAGE = 20_000  # ids per request (the server serves at most this many at once by default)


@dataclass(eq=False)
class _Poll:
    """The catch-up data of the last poll (each field is cleared once used)."""

    taken: float
    definitions_fresh: bool
    base: int
    headers: list[CommitHeader] | None
    marker: int
    count: int | None
    index: dict[bytes, list[tuple[Any, bool]]] | None


class BoundedCache(OrderedDict):  # type: ignore[type-arg]
    """A dict that forgets its least recently stored entries beyond ``capacity`` entries or
    ``max_bytes`` (with ``size`` giving each value's weight)."""

    def __init__(self, capacity: int, max_bytes: int | None = None, size: Callable[[Any], int] | None = None) -> None:
        super().__init__()
        self._capacity, self._max_bytes, self._size = capacity, max_bytes, size
        self._bytes = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self:
            self.pop(key)
        super().__setitem__(key, value)
        if self._size is not None:
            self._bytes += self._size(value)
        while len(self) > self._capacity or (self._max_bytes is not None and self._bytes > self._max_bytes):
            self.popitem(last=False)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self and self._size is not None:
            self._bytes -= self._size(self[key])
        return super().pop(key, *default)

    def popitem(self, last: bool = True) -> Any:
        key, value = super().popitem(last)
        if self._size is not None:
            self._bytes -= self._size(value)
        return key, value

    def clear(self) -> None:
        super().clear()
        self._bytes = 0


def tcp_socket(host: str, port: int | str) -> tuple[socket.socket, str]:
    """A connected TCP socket (no Nagle delay) and its "host:port"; ConnectionFailedError."""
    try:
        port_number = int(port)
    except (TypeError, ValueError):
        raise ConnectionFailedError(f"invalid port {port!r}") from None
    try:
        sock = socket.create_connection((host, port_number), timeout=CONNECT_TIMEOUT)
    except OSError as e:
        raise ConnectionFailedError(f"cannot connect to {host}:{port_number}: {e}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock, f"{host}:{port_number}"


def unix_socket(path: str) -> socket.socket:
    """A socket connected to the unix socket ``path``; ConnectionFailedError."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise ConnectionFailedError(f"cannot connect to the socket {path!r}: {e}") from None
    return sock


class RemoteBackend(CommitDatabasing):
    """A CommitDatabasing whose storage lives in a server process."""

    def __init__(self, sock: socket.socket, address: str, timeout: float = REQUEST_TIMEOUT,
                 max_frame: int = P.DEFAULT_MAX_FRAME, token: str | None = None) -> None:
        """Speaks the protocol over ``sock`` (connected, TLS already wrapped when used) and
        proves ``token`` in the handshake (None: $COMMITDB_TOKEN when set)."""
        self._sock = sock
        self._address = address
        self._timeout = timeout
        self._max_frame = max_frame
        self._lock = threading.RLock()
        self._decoder = P.FrameDecoder(max_frame)
        self._inbox: list[Any] = []
        self._next_id = 0
        self._closed = False
        # Immutable records, cached with bounds so that long syncs do not grow without limit.
        self._commits: BoundedCache = BoundedCache(COMMIT_CACHE)
        self._blobs: BoundedCache = BoundedCache(1 << 30, BLOB_CACHE_BYTES, lambda b: len(b.data))
        self._meta: dict[str, Any] = {}
        self._last_write: tuple[int, int] | None = None
        self._in_tx = False
        # Written inside the open transaction: uncached again if it rolls back.
        self._tx_commits: list[bytes] = []
        self._tx_blobs: list[bytes] = []
        # What the last poll brought (see data_version); each part is used at most once.
        self._known_version: int | None = None
        self._marker = 0
        self._defs: tuple[bytes, bytes] | None = None  # (sha1, encoded definitions)
        self._poll: _Poll | None = None
        self._summary: tuple[int | None, list[Any]] | None = None  # (data version, served summary)
        # Live changes: the last version the server pushed, counted so that each watch handle
        # sees every push once.
        self._pushed_version: int | None = None
        self._pushes = 0
        self._watches: list[WatchHandle] = []
        self.role: str | None = None  # the token's role, when the server asked for one
        self._id_page = ID_PAGE  # ids per request: the server's limit when it told one
        self._handshake(token if token is not None else os.environ.get(TOKEN_ENV) or None)

    # --- connecting --------------------------------------------------------------------------
    @staticmethod
    def connect(host: str, port: int | str = P.DEFAULT_PORT, timeout: float = REQUEST_TIMEOUT, *,
                token: str | None = None, tls: Any = None, tls_ca: str | None = None) -> RemoteBackend:
        """``tls``: True (the system's trusted authorities, or ``tls_ca``) or an
        ``ssl.SSLContext``; the server's certificate must name ``host``."""
        context = client_tls_context(tls, tls_ca)
        sock, address = tcp_socket(host, port)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except OSError as e:  # ssl.SSLError, a certificate not trusted, a plain server...
                sock.close()
                raise ConnectionFailedError(
                    f"TLS handshake with {address} failed: {e} (does the server use TLS, "
                    f"and is its certificate trusted for {host}?)") from None
        return RemoteBackend(sock, address, timeout, token=token)

    @staticmethod
    def connect_local(path: str, timeout: float = REQUEST_TIMEOUT, *, token: str | None = None) -> RemoteBackend:
        return RemoteBackend(unix_socket(path), path, timeout, token=token)

    def _handshake(self, token: str | None) -> None:
        greeting = P.hello()
        if token is not None:
            greeting["token"] = token
        self._send(greeting)
        try:
            answer = self._receive()
        except ConnectionFailedError as e:
            raise ConnectionFailedError(
                f"{e} during the handshake (a server that requires TLS closes plain connections: "
                f"connect with tls=True)") from None
        if isinstance(answer, dict) and "error" in answer:
            self._shutdown()
            P.raise_remote(answer["error"])
        try:
            P.check_hello(answer)
        except ProtocolError:
            self._shutdown()
            raise
        role = answer.get("role")
        self.role = role if isinstance(role, str) else None
        max_ids = answer.get("max_ids")
        if isinstance(max_ids, int) and not isinstance(max_ids, bool) and max_ids > 0:
            self._id_page = min(ID_PAGE, max_ids)

    # --- plumbing ------------------------------------------------------------------------------
    def _send(self, message: Any) -> None:
        try:
            self._sock.settimeout(self._timeout)
            self._sock.sendall(P.encode_frame(message, self._max_frame))
        except OSError as e:
            self._shutdown()
            raise ConnectionFailedError(f"connection to {self._address} lost: {e}") from None

    def _receive(self) -> Any:
        while not self._inbox:
            self._pull(blocking=True)
        return self._inbox.pop(0)

    def _pull(self, blocking: bool) -> None:
        """Read what the socket brings and route it: waiting up to the request timeout when
        ``blocking``, else only what is already there. ConnectionFailedError when it fails."""
        try:
            if blocking:
                self._sock.settimeout(self._timeout)
            else:
                self._sock.setblocking(False)
            chunk = self._sock.recv(1 << 20)
        except TimeoutError:
            self._shutdown()
            raise ConnectionFailedError(f"no answer from {self._address} within {self._timeout:g} s") from None
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if not blocking and e.__class__.__name__ == "SSLWantReadError":  # no whole TLS record yet
                return
            self._shutdown()
            raise ConnectionFailedError(f"connection to {self._address} lost: {e}") from None
        if not chunk:
            self._shutdown()
            raise ConnectionFailedError(f"the server at {self._address} closed the connection")
        self._route(self._decoder.feed(chunk))

    def _route(self, messages: list[Any]) -> None:
        """Answers go to the inbox; pushes (live changes) are noted for the watch handles."""
        for message in messages:
            if is_push(message):
                if isinstance(message[2], int):
                    self._pushed_version = message[2]
                    self._pushes += 1
            else:
                self._inbox.append(message)

    def verify_file(self) -> Any:
        """The server's check of its own file (``commitdb verify`` through a server): (faults as
        [kind, location, message], what was checked), or None when it serves no file.
        PermissionDeniedError without an admin token."""
        return self.call("verify_file")

    def call(self, method: str, *args: Any) -> Any:
        """One request/response round trip; server errors are re-raised as their own class."""
        with self._lock:
            if self._closed:
                raise ConnectionFailedError(f"the connection to {self._address} is closed")
            self._poll = None  # poll data is only good until the next request
            self._next_id += 1
            request_id = self._next_id
            self._send([request_id, method, list(args)])
            while True:
                answer = self._receive()
                if isinstance(answer, list) and len(answer) == 3 and answer[0] == request_id:
                    break
                if isinstance(answer, list) and len(answer) == 3 and answer[0] == 0 and answer[1] is False:
                    self._shutdown()
                    P.raise_remote(answer[2])
            if not answer[1]:
                P.raise_remote(answer[2])
            return answer[2]

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
        for handle in list(self._watches):
            handle.stop()

    # --- live changes --------------------------------------------------------------------------
    def watch(self, callback: Callable[[int], None] | None = None) -> WatchHandle:
        """Ask the server to push changes on this connection; ``callback(version)`` runs on the
        handle's thread after each one (within ~50 ms of the server noticing: it looks every
        25 ms, and at once after a write it served). Stop with ``handle.stop()``."""
        with self._lock:
            known = self.call("data_version")
            self.call("watch", known)
            seen = [self._pushes]

        def pump(timeout: float) -> int | None:
            if self._pushes == seen[0]:
                self._read_pushes(timeout)
            if self._pushes != seen[0]:
                seen[0] = self._pushes
                return self._pushed_version
            return None

        handle = WatchHandle(pump, callback, self._unwatch, name=f"commitdb-watch {self._address}")
        self._watches.append(handle)
        return handle

    def _unwatch(self, handle: WatchHandle) -> None:
        if handle in self._watches:
            self._watches.remove(handle)
        if not self._watches and not self._closed:
            try:
                self.call("unwatch")
            except ConnectionFailedError:
                pass

    def _read_pushes(self, timeout: float) -> None:
        """Wait up to ``timeout`` for pushes while no request is running (a running request
        reads them itself). ConnectionFailedError when the connection is lost."""
        if self._closed:
            raise ConnectionFailedError(f"the connection to {self._address} is closed")
        try:
            pending = getattr(self._sock, "pending", lambda: 0)()  # TLS: bytes already decrypted
            readable = pending or select.select([self._sock], [], [], timeout)[0]
        except (OSError, ValueError):
            raise ConnectionFailedError(f"the connection to {self._address} is closed") from None
        if not readable or not self._lock.acquire(blocking=False):
            if readable:
                time.sleep(min(timeout, 0.005))  # a request is reading them right now
            return
        try:
            if self._closed:
                raise ConnectionFailedError(f"the connection to {self._address} is closed")
            self._pull(blocking=False)
        finally:
            self._lock.release()

    def _cached_meta(self, name: str) -> Any:
        if name not in self._meta:
            self._meta[name] = self.call(name)
        return self._meta[name]

    # --- metadata ------------------------------------------------------------------------------
    def path(self) -> str:
        return self._cached_meta("path")

    def uuid(self) -> str:
        return self._cached_meta("uuid")

    def documentation(self) -> str:
        return self._cached_meta("documentation")

    def codec_name(self) -> str:
        return self._cached_meta("codec_name")

    def is_readonly(self) -> bool:
        return self._cached_meta("is_readonly")

    def in_memory(self) -> bool:
        """Whether the database the server serves is in memory."""
        return self._cached_meta("in_memory")

    def address(self) -> str:
        return self._address

    @property
    def ids_per_request(self) -> int:
        """The most ids one request carries (the server's limit when it announced one)."""
        return self._id_page

    # --- server-side reads --------------------------------------------------------------------
    def serves_reads(self) -> bool:
        """Whether the server reads documents for its clients (older servers do not)."""
        if "serves_reads" not in self._meta:
            try:
                self._meta["serves_reads"] = bool(self.call("serves_reads"))
            except ProtocolError:
                self._meta["serves_reads"] = False
        return self._meta["serves_reads"]

    def read_index(self) -> Any:
        """The server's read index, asked request by request (None for an older server: the
        facade then indexes the history itself)."""
        if not self.serves_reads():
            return None
        from commitdb.net.client_reads import RemoteReadIndex

        return RemoteReadIndex(self)

    def _advance_summary(self, versions: list[Any], stored: list[CommitHeader]) -> None:
        """After our own commits: when the served summary was current just before them, move it
        past them — they are the new heads in place of their parents and merge targets, and the
        last commit is unknown (timestamps decide it) — so a head query needs no request."""
        summary = self._summary
        if summary is None or summary[0] != versions[0] or summary[1][3] is None:
            return
        heads = dict.fromkeys(summary[1][3])
        for h in stored:
            heads.pop(h.parent, None)
            if h.type_code == MERGE:
                heads.pop(h.target, None)
            heads[h.id] = None
        first = summary[1][0] if summary[1][0] is not None or not stored else stored[0].id
        self._summary = (versions[1], [first, UNKNOWN, summary[1][2], list(heads)])

    def served_summary(self, fresh_only: bool = False) -> Any:
        """[first commit id, last commit id, placement epoch, heads or nil]: from the last poll
        while the data version has not moved, else asked (or None with ``fresh_only``, where an
        entry may then be UNKNOWN)."""
        with self._lock:
            if self._summary is not None and self._summary[0] == self._known_version \
                    and (fresh_only or UNKNOWN not in self._summary[1]):
                return self._summary[1]  # nothing changed since it came
            if fresh_only:
                return None
            version, summary = self._known_version, self.call("rx_ends")
            self._summary = (version, summary)
            return summary

    def definitions_bytes(self) -> bytes:
        with self._lock:
            poll = self._fresh_poll()
            if poll is not None and poll.definitions_fresh and self._defs is not None:
                poll.definitions_fresh = False
                return self._defs[1]
        return self.call("definitions_bytes")

    def write_definitions(self, encoded: bytes, hexdigest: str) -> None:
        raise ProtocolError("definitions of a remote database are extended with extend_definitions")

    def extend_definitions(self, definitions: Any) -> bool:
        token = self.codec_name() == "StreamTokenBinary"
        result, *versions = self.call("extend_definitions", definitions.encode(token=token))
        self._wrote(versions)
        return bool(result)

    def data_version(self) -> int:
        """One round trip. When the version moved since this connection last asked, the same
        answer carries what the facade's catch-up reads next (definitions, new headers, the
        commit count, their index entries); those calls are then answered locally, once."""
        with self._lock:
            lean = self._meta.get("serves_reads") is True
            answer = self.call("poll", self._known_version, self._marker,
                               None if self._defs is None else self._defs[0], *(["reads"] if lean else []))
            if not isinstance(answer, list) or not answer or not isinstance(answer[0], int):
                raise ProtocolError("malformed poll answer")
            version = answer[0]
            self._known_version = version
            if len(answer) == 4:  # a lean poll: no headers, the read index's summary instead
                _, sha, definitions, summary = answer
                if definitions is not None:
                    self._defs = (sha, definitions)
                self._poll = _Poll(taken=time.monotonic(), definitions_fresh=self._defs is not None
                                   and self._defs[0] == sha, base=-1, headers=None, marker=self._marker, count=None,
                                   index=None)
                self._summary = (version, summary)
            elif len(answer) == 7:
                _, sha, definitions, headers, marker, count, index = answer
                if definitions is not None:
                    self._defs = (sha, definitions)
                self._poll = _Poll(
                    taken=time.monotonic(),
                    definitions_fresh=self._defs is not None and self._defs[0] == sha,
                    base=self._marker, headers=[P.unpack_header(h) for h in headers], marker=int(marker),
                    count=int(count),
                    index=None if index is None else {cid: P.unpack_entries(e) for cid, e in index},
                )
            return version

    def last_write_versions(self) -> tuple[int, int] | None:
        return self._last_write

    def _fresh_poll(self) -> _Poll | None:
        """The last poll's data, if no request was made since and it is a moment old at most:
        the facade reads it right after data_version(); anyone else asks the server."""
        poll = self._poll
        if poll is not None and time.monotonic() - poll.taken > POLL_FRESH:
            self._poll = poll = None
        return poll

    def _wrote(self, versions: list[Any]) -> None:
        """Remember the versions around our own write; when nobody else wrote in between, the
        next poll need not send our own write back."""
        before, after = versions
        self._last_write = (before, after)
        if before == self._known_version:
            self._known_version = after

    # --- commits ---------------------------------------------------------------------------------
    def get_commit(self, commit_id: bytes) -> CommitData | None:
        found = self._commits.get(commit_id)
        if found is None:
            packed = self.call("get_commit", commit_id)
            if packed is None:
                return None
            found = P.unpack_commit(packed)
            if found.header().id != commit_id:
                raise ProtocolError("the server answered with another commit")
            self._commits[commit_id] = found
        return found

    def get_commits(self, commit_ids: Any) -> list[CommitData]:
        ids = list(commit_ids)
        missing = [c for c in ids if c not in self._commits]
        page = min(2000, self._id_page)
        for start in range(0, len(missing), page):
            for packed in self.call("get_commits", missing[start:start + page]):
                c = P.unpack_commit(packed)
                self._commits[c.header().id] = c
        return [self._commits[c] for c in ids if c in self._commits]

    def get_header(self, commit_id: bytes) -> CommitHeader | None:
        cached = self._commits.get(commit_id)
        if cached is not None:
            return cached.header()
        packed = self.call("get_header", commit_id)
        return None if packed is None else P.unpack_header(packed)

    def insert_commit(self, commit: CommitData, index_entries: list[tuple[Any, bool]] | None = None) -> bool:
        inserted, *versions = self.call("insert_commit", P.pack_commit(commit))
        self._advance_summary(versions, [commit.header()] if inserted else [])
        self._wrote(versions)
        self._commits[commit.header().id] = commit
        if self._in_tx:
            self._tx_commits.append(commit.header().id)
        return bool(inserted)

    def insert_commits(self, rows: list[tuple[CommitData, list[tuple[Any, bool]] | None]]) -> list[bool]:
        """Commits in messages of at most COMMIT_BATCH_BYTES program bytes (the server indexes
        them itself); each message is one transaction on the server."""
        flags: list[bool] = []
        batch: list[CommitData] = []
        size = 0
        for row in [*rows, None]:
            commit = None if row is None else row[0]
            if batch and (commit is None or size + len(commit.data()) > COMMIT_BATCH_BYTES
                          or len(batch) >= 5000):
                inserted, *versions = self.call("insert_commits", [P.pack_commit(c) for c in batch])
                self._advance_summary(versions, [c.header() for c, new in zip(batch, inserted) if new])
                self._wrote(versions)
                for c in batch:
                    self._commits[c.header().id] = c
                    if self._in_tx:
                        self._tx_commits.append(c.header().id)
                flags.extend(bool(x) for x in inserted)
                batch, size = [], 0
            if commit is not None:
                batch.append(commit)
                size += len(commit.data())
        return flags

    def all_headers(self) -> list[CommitHeader]:
        return [P.unpack_header(h) for h in self.call("all_headers")]

    def headers_since(self, marker: int, limit: int | None = None) -> tuple[list[CommitHeader], int]:
        """Headers after ``marker``, fetched in pages so that no answer nears the frame limit."""
        with self._lock:
            poll = self._fresh_poll()
            if poll is not None and poll.headers is not None and poll.base == marker and limit is None:
                headers, new_marker = poll.headers, poll.marker
                poll.headers = None
            else:
                headers, new_marker = [], marker
                while True:
                    page = HEADER_PAGE if limit is None else min(HEADER_PAGE, limit - len(headers))
                    packed, next_marker = self.call("headers_since", new_marker, page)
                    headers.extend(P.unpack_header(h) for h in packed)
                    new_marker = int(next_marker)
                    if len(packed) < page or (limit is not None and len(headers) >= limit):
                        break
            self._marker = new_marker
            return headers, new_marker

    def commit_count(self) -> int:
        with self._lock:
            poll = self._fresh_poll()
            if poll is not None and poll.count is not None:
                count, poll.count = poll.count, None
                return count
        return int(self.call("commit_count"))

    def head_ids(self) -> set[bytes]:
        return set(self.call("head_ids"))

    def remove_commit(self, commit_id: bytes) -> None:
        self._bump_generation()
        _, *versions = self.call("remove_commit", commit_id)
        self._wrote(versions)
        self._commits.pop(commit_id, None)

    def remove_all_but_first(self) -> None:
        self._bump_generation()
        _, *versions = self.call("remove_all_but_first")
        self._wrote(versions)
        self._commits.clear()

    # --- document index ----------------------------------------------------------------------------
    def persists_index(self) -> bool:
        return bool(self._cached_meta("persists_index"))

    def load_index(self, commit_ids: list[bytes] | None = None) -> dict[bytes, list[tuple[Any, bool]]]:
        with self._lock:
            poll = self._fresh_poll()
            if poll is not None and poll.index is not None and commit_ids is not None \
                    and all(c in poll.index for c in commit_ids):
                index, poll.index = poll.index, None
                return {c: index[c] for c in commit_ids}
        if commit_ids is None:
            rows = self.call("load_index", None)
        else:
            rows = [row for start in range(0, len(commit_ids), self._id_page)
                    for row in self.call("load_index", commit_ids[start:start + self._id_page])]
        return {cid: P.unpack_entries(entries) for cid, entries in rows}

    # --- blobs -----------------------------------------------------------------------------------
    def get_blob(self, blob_id: bytes) -> BlobRecord | None:
        """One blob; a large one is read in BLOB_CHUNK pieces."""
        found = self._blobs.get(blob_id)
        if found is not None:
            return found
        first = self.call("blob_chunk", blob_id, 0, P.BLOB_CHUNK)
        if first is None:
            return None
        layout, total, data = first
        parts = [data]
        received = len(data)
        while received < total:
            piece = self.call("blob_chunk", blob_id, received, P.BLOB_CHUNK)
            if piece is None or not piece[2]:
                raise ProtocolError(f"blob {blob_id.hex()} changed while it was read")
            parts.append(piece[2])
            received += len(piece[2])
        found = P.unpack_blob([blob_id, layout, b"".join(parts)])
        if blob_id_bytes(found.layout, found.data) != blob_id:
            raise CorruptedDataError(f"blob {blob_id.hex()} from the server does not match its content")
        self._cache_blob(found)
        return found

    def _cache_blob(self, blob: BlobRecord) -> None:
        if len(blob.data) <= BLOB_CACHE_BYTES // 16:
            self._blobs[blob.blob_id] = blob

    def blob_datas(self, blob_ids: Any) -> list[BlobRecord]:
        """Several blobs in as few messages as the chunk size allows."""
        wanted = [as_id(b) for b in blob_ids]
        found: dict[bytes, BlobRecord] = {b: self._blobs[b] for b in wanted if b in self._blobs}
        pending = [b for b in wanted if b not in found]
        while pending:
            got = [P.unpack_blob(p) for p in self.call("get_blobs", pending[:self._id_page])]
            for blob in got:
                found[blob.blob_id] = blob
                self._cache_blob(blob)
            received = {b.blob_id for b in got}
            rest = [b for b in pending if b not in received]
            if not got:  # the first one is larger than a message (read in pieces), or absent
                big = self.get_blob(rest[0])
                if big is not None:
                    found[big.blob_id] = big
                rest = rest[1:]
            pending = rest
        return [found[b] for b in wanted if b in found]

    def has_blob(self, blob_id: bytes) -> bool:
        return blob_id in self._blobs or bool(self.call("has_blob", blob_id))

    def missing_blobs(self, blob_ids: list[bytes]) -> list[bytes]:
        unknown = [b for b in blob_ids if b not in self._blobs]
        missing: list[bytes] = []
        for start in range(0, len(unknown), self._id_page):
            missing.extend(self.call("missing_blobs", unknown[start:start + self._id_page]))
        return missing

    def missing_blob_ids(self, blob_ids: list[bytes]) -> set[bytes]:
        return set(self.missing_blobs(list(blob_ids)))

    def insert_blob(self, blob: BlobRecord) -> bool:
        if len(blob.data) > P.BLOB_CHUNK:
            return self._upload(blob)
        inserted, *versions = self.call("insert_blob", P.pack_blob(blob))
        self._wrote(versions)
        self._stored_blob(blob)
        return bool(inserted)

    def _upload(self, blob: BlobRecord) -> bool:
        """A blob larger than a message, sent in pieces; the server checks its id at the end."""
        total = len(blob.data)
        result = None
        for offset in range(0, total, P.BLOB_CHUNK):
            result = self.call("blob_upload_chunk", blob.layout, total, offset,
                               blob.data[offset:offset + P.BLOB_CHUNK])
        if not isinstance(result, list) or len(result) != 4 or result[0] != blob.blob_id:
            raise ProtocolError(f"the upload of blob {blob.blob_id.hex()} did not complete")
        self._wrote(result[2:])
        self._stored_blob(blob)
        return bool(result[1])

    def _stored_blob(self, blob: BlobRecord) -> None:
        self._cache_blob(blob)
        if self._in_tx:
            self._tx_blobs.append(blob.blob_id)

    def insert_blobs(self, blobs: list[BlobRecord]) -> int:
        """Small blobs travel together (at most BLOB_CHUNK bytes a message), large ones alone."""
        count = 0
        batch: list[BlobRecord] = []
        size = 0
        for blob in [*blobs, None]:
            if blob is not None and len(blob.data) > P.BLOB_CHUNK:
                count += self._upload(blob)
                continue
            if batch and (blob is None or size + len(blob.data) > P.BLOB_CHUNK or len(batch) >= 5000):
                added, *versions = self.call("insert_blobs", [P.pack_blob(b) for b in batch])
                self._wrote(versions)
                for b in batch:
                    self._stored_blob(b)
                count += int(added)
                batch, size = [], 0
            if blob is not None:
                batch.append(blob)
                size += len(blob.data)
        return count

    def create_blobs(self, blobs: Any) -> int:
        return self.insert_blobs(list(blobs))

    def blob_id_list(self) -> list[bytes]:
        return list(self.call("blob_id_list"))

    def blob_sizes(self) -> dict[bytes, tuple[str, int]]:
        return {b: (layout, int(size)) for b, layout, size in self.call("blob_sizes")}

    # --- transactions ------------------------------------------------------------------------------
    def begin_transaction(self, mode: str = "Deferred") -> None:
        self.call("begin_transaction", mode)
        self._in_tx = True
        self._tx_commits.clear()
        self._tx_blobs.clear()

    def commit(self) -> None:
        try:
            self.call("commit")
        except BaseException:
            # Not stored after all (the server rolled the transaction back): what this
            # connection saw of it goes, as after a rollback.
            self._bump_generation()
            self._forget_transaction()
            raise
        finally:
            self._in_tx = False
            self._tx_commits.clear()
            self._tx_blobs.clear()

    def rollback(self) -> None:
        self._bump_generation()
        try:
            self.call("rollback")
        finally:
            self._forget_transaction()
            self._in_tx = False

    def _forget_transaction(self) -> None:
        """What the transaction wrote is not stored after all: drop it from the caches."""
        for cid in self._tx_commits:
            self._commits.pop(cid, None)
        for bid in self._tx_blobs:
            self._blobs.pop(bid, None)
        self._tx_commits.clear()
        self._tx_blobs.clear()

    def in_transaction(self) -> bool:
        return self._in_tx
