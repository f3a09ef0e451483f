"""Serving reference ("viper") clients on the commitdb server's own port and socket.

The commitdb server hands a connection here when its first bytes are a reference frame (see
``viper_protocol.looks_like_viper``). Every call of the reference protocol is answered from the
same ``DatabaseService`` the commitdb protocol uses, through its ordinary methods: writes get
the very checks commitdb clients get (commit ids re-hashed in the database's codec, programs
decoded against the definitions, parents and referenced blobs present, blob ids recomputed,
sizes bounded), the write lock, group commit and transactions. A failure is answered with
``ThrowError``; "not found" with the documented absent/false answers. Requests are strictly
sequential: one frame is read, answered, then the next. The calls themselves are in
``viper_calls``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from commitdb.blobs import blob_id_bytes
from commitdb.errors import (
    CommitDBError,
    CorruptedDataError,
    DefinitionsConflictError,
    FrameTooLargeError,
    ProtocolError,
    StorageError,
)
from commitdb.net import protocol as P
from commitdb.net import viper_protocol as V
from commitdb.net.viper_calls import HANDLERS, Reserved, ViperError, ViperShared, blob_error
from commitdb.storage.base import BlobRecord

log = logging.getLogger("commitdb.server")

VIPER_CLIENT_POLICIES = ("off", "local", "any")
COMMIT_PAGE = 2000  # commits per read of the service


def error_info(error: BaseException) -> V.ErrorInfo:
    """The ThrowError body for ``error``: the reference's fields when it has them, else
    component ``commitdb`` and the commitdb error code as the domain (clients map it back)."""
    host, pid = socket.gethostname(), f"pid({os.getpid()})"
    if isinstance(error, ViperError):
        return V.ErrorInfo(host, pid, error.component, error.domain, error.number, str(error))
    if isinstance(error, DefinitionsConflictError):
        return V.ErrorInfo(host, pid, "Viper.Definitions", "TypeErrors", 96, str(error))
    if isinstance(error, V.UnknownMessageError):
        return V.ErrorInfo(host, pid, "Viper.CommitDatabaseRemoteRPCSideServer", "RPCProtocolErrors", 1, str(error))
    code = error.code if isinstance(error, CommitDBError) else "RemoteError"
    return V.ErrorInfo(host, pid, "commitdb", code, 1, str(error) or error.__class__.__name__)


def throw_frame(error: BaseException) -> bytes:
    return V.encode_message("ThrowError", *error_info(error))


def is_local_peer(writer: asyncio.StreamWriter) -> bool:
    """A unix socket, or TCP from a loopback address."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_UNIX:
        return True
    peer = writer.get_extra_info("peername")
    if not isinstance(peer, tuple) or not peer:
        return False
    host = str(peer[0])
    return host == "::1" or host.startswith("127.") or host.startswith("::ffff:127.")


def viper_client_allowed(policy: str, writer: asyncio.StreamWriter) -> bool:
    return policy == "any" or (policy == "local" and is_local_peer(writer))

class ViperSession:
    """One reference client's connection."""

    def __init__(self, service: Any, conn: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 shared: ViperShared, max_payload: int, idle_timeout: float | None,
                 stopping: Callable[[], bool]) -> None:
        self.service, self.conn = service, conn
        self.reader, self.writer = reader, writer
        self.shared = shared
        self.max_payload = max_payload
        self.idle_timeout = idle_timeout
        self.stopping = stopping
        self.version_counter = 1
        self.seen_version: int | None = None
        self.streams: dict[bytes, Reserved] = {}
        self.readers: dict[bytes, bytes] = {}

    # --- the loop ------------------------------------------------------------------------------
    async def run(self, head: bytes | None, started: bytes = b"") -> None:
        """Serve requests until EOF; ``head`` and ``started`` are the length prefix and the
        first payload bytes of the first frame, already read."""
        try:
            while True:
                if head is None:
                    head = await self._read_head()
                    if head is None:
                        return
                (length,) = V.LENGTH.unpack(head)
                head = None
                try:
                    V.check_length(length, self.max_payload)
                except ProtocolError as e:
                    log.error("%s: %s", self.conn.peer, e)
                    await self._send(throw_frame(e))
                    return  # the rest of the stream cannot be trusted
                payload = started + await self._timed(self.reader.readexactly(length - len(started)))
                started = b""
                try:
                    message = V.decode_payload(payload)
                except V.UnknownMessageError as e:
                    await self._send(throw_frame(e))
                    continue
                except ProtocolError as e:
                    log.error("%s: %s", self.conn.peer, e)
                    await self._send(throw_frame(e))
                    if payload[:1] != b"\x0d":
                        return  # not even framed like a message
                    continue
                if self.stopping():
                    await self._send(throw_frame(StorageError("the server is shutting down")))
                    return
                self.conn.busy += 1
                try:
                    await self._send(await self._answer(message))
                finally:
                    self.conn.busy -= 1
                if self.stopping():
                    return
        finally:
            for stream in self.streams.values():
                self.shared.release(len(stream.data))
            self.streams.clear()

    async def _read_head(self) -> bytes | None:
        try:
            return await self._timed(self.reader.readexactly(V.LENGTH.size))
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise
            return None

    async def _timed(self, awaitable: Any) -> Any:
        if self.idle_timeout is None:
            return await awaitable
        return await asyncio.wait_for(awaitable, self.idle_timeout)

    async def _send(self, frame: bytes) -> None:
        self.writer.write(frame)
        await self.writer.drain()

    async def _answer(self, message: V.Message) -> bytes:
        handler = HANDLERS.get(message.name)
        try:
            if handler is None:  # a reply's uuid sent as a request
                raise V.UnknownMessageError.of(message.type.uuid)
            reply, args = await handler(self, message.args)
            frame = V.encode_message(reply, *args)
            if len(frame) - V.LENGTH.size > self.max_payload:
                raise FrameTooLargeError(f"the answer to {message.name} would be {len(frame)} bytes; "
                                         f"the limit is {self.max_payload} bytes")
            return frame
        except CommitDBError as e:
            log.info("%s: %s: %s", self.conn.peer, message.name, e)
            return throw_frame(e)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, UnicodeError) as e:
            log.error("%s: bad arguments for %s: %s", self.conn.peer, message.name, e)
            return throw_frame(ProtocolError(f"bad arguments for {message.name}: {e}"))
        except Exception as e:  # a bug must not cost the client its connection
            log.exception("%s: %s failed", self.conn.peer, message.name)
            return throw_frame(ProtocolError(f"{message.name} failed on the server: {e.__class__.__name__}: {e}"))

    # --- access to the database ----------------------------------------------------------------------
    async def ask(self, method: str, *args: Any) -> Any:
        return await self.service.handle(self.conn, method, list(args))

    async def write(self, method: str, *args: Any) -> Any:
        """A write of the service; answers its result and keeps this connection's data version
        still when nobody else wrote in between."""
        result, before, after = await self.ask(method, *args)
        if before == self.seen_version:
            self.seen_version = after
        return result

    async def data_version(self) -> int:
        version = await self.ask("data_version")
        if self.seen_version is None:
            self.seen_version = version
        elif version != self.seen_version:
            self.seen_version = version
            self.version_counter += 1
        return self.version_counter

    async def token(self) -> bool:
        return await self.ask("codec_name") == "StreamTokenBinary"

    async def definitions(self) -> Any:
        from commitdb.dsm.definitions import Definitions

        data = await self.ask("definitions_bytes")
        cached = self.shared.definitions
        if cached is None or cached[0] != data:
            decoded = Definitions.decode(data, token=await self.token()) if data else Definitions()
            cached = self.shared.definitions = (data, decoded)
        return cached[1]

    async def headers(self) -> list[Any]:
        """Every stored header in storage order (cached by data version outside transactions)."""
        version = await self.ask("data_version")
        cached = self.shared.headers
        if cached is not None and cached[0] == version and not self.conn.in_transaction:
            return cached[1]
        headers = [P.unpack_header(h) for h in await self.ask("all_headers")]
        if not self.conn.in_transaction:
            self.shared.headers = (version, headers)
        return headers

    async def commits(self, ids: list[bytes]) -> list[V.CommitData]:
        """The stored commits of ``ids`` in that order, unknown ones left out."""
        found: dict[bytes, V.CommitData] = {}
        for start in range(0, len(ids), COMMIT_PAGE):
            for packed in await self.ask("get_commits", ids[start:start + COMMIT_PAGE]):
                commit = P.unpack_commit(packed)
                found[commit.header().id] = V.wire_commit(commit)
        return [found[c] for c in ids if c in found]

    async def blob_infos(self) -> dict[bytes, V.BlobInfo]:
        """Every frozen blob's info, in storage order; row ids count from 1 in that order."""
        version = await self.ask("data_version")
        cached = self.shared.blob_infos
        if cached is not None and cached[0] == version and not self.conn.in_transaction:
            return cached[1]
        sizes = {b: (layout, size) for b, layout, size in await self.ask("blob_sizes")}
        infos = {}
        for row, blob_id in enumerate(await self.ask("blob_id_list"), start=1):
            if blob_id in sizes:
                layout, size = sizes[blob_id]
                infos[blob_id] = V.BlobInfo(blob_id, V.wire_layout(layout), size, False, row)
        if not self.conn.in_transaction:
            self.shared.blob_infos = (version, infos)
        return infos

    async def blob_bytes(self, blob_id: bytes, what: str) -> tuple[str, bytes]:
        """(layout, bytes) of a frozen blob; the reference's errors when unknown or unfrozen."""
        if blob_id in self.shared.zero_blobs:
            raise blob_error(30, f"the blob {blob_id.hex()} is not frozen [{what}].")
        first = await self.ask("blob_chunk", blob_id, 0, P.BLOB_CHUNK)
        if first is None:
            raise blob_error(33, f"the blob {blob_id.hex()} is not held here [{what}].")
        layout, total, data = first
        if total > self.max_payload:
            raise FrameTooLargeError(f"blob {blob_id.hex()} ({total} bytes) exceeds the frame limit; "
                                     f"read it in pieces")
        parts = [data]
        received = len(data)
        while received < total:
            piece = await self.ask("blob_chunk", blob_id, received, P.BLOB_CHUNK)
            if piece is None or not piece[2]:
                raise StorageError(f"blob {blob_id.hex()} changed while it was read")
            parts.append(piece[2])
            received += len(piece[2])
        return layout, b"".join(parts)

    async def blob_range(self, blob_id: bytes, size: int, offset: int, what: str) -> bytes:
        """``size`` bytes at ``offset`` of a frozen blob, read in pieces from the service."""
        if size > self.max_payload:
            raise FrameTooLargeError(f"a read of {size} bytes exceeds the frame limit of {self.max_payload} bytes")
        if blob_id in self.shared.zero_blobs:
            raise blob_error(30, f"the blob {blob_id.hex()} is not frozen [{what}].")
        first = await self.ask("blob_chunk", blob_id, offset, min(size, P.BLOB_CHUNK))
        if first is None:
            raise blob_error(33, f"the blob {blob_id.hex()} is not held here [{what}].")
        total = first[1]
        if offset + size > total:
            raise blob_error(31, f"invalid size {size} at offset {offset} (offset + size) > {total})"
                                  f"for blob {blob_id.hex()} [{what}]")
        parts, received = [first[2]], len(first[2])
        while received < size:
            piece = await self.ask("blob_chunk", blob_id, offset + received, min(size - received, P.BLOB_CHUNK))
            if piece is None or not piece[2]:
                raise StorageError(f"blob {blob_id.hex()} changed while it was read")
            parts.append(piece[2])
            received += len(piece[2])
        return b"".join(parts)

    async def store_blob(self, blob_id: bytes, layout: str, data: bytes) -> bool:
        """Check the id against the bytes, then store the blob; whether it was added."""
        computed = blob_id_bytes(layout, data)
        if computed != blob_id:
            raise CorruptedDataError(f"blob id {blob_id.hex()} does not match its content ({computed.hex()})")
        return bool(await self.write("insert_blob", P.pack_blob(BlobRecord(blob_id, layout, data))))

async def serve_if_viper(server: Any, conn: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         head: bytes) -> bytes | None:
    """Called by the commitdb server when a connection's first length byte is zero: reads one
    more byte and, when it is the uuid token of a reference frame, serves the connection in the
    reference protocol (or refuses it, per ``server.viper_clients``) and answers None; else
    answers the byte read, which belongs to a commitdb frame."""
    started = await (reader.read(1) if server.idle_timeout is None
                     else asyncio.wait_for(reader.read(1), server.idle_timeout))
    if not V.looks_like_viper(head + started):
        return started
    if not viper_client_allowed(server.viper_clients, writer):
        log.error("%s: refused a reference-protocol client (--viper-clients %s)", conn.peer, server.viper_clients)
        await refuse(writer, server.viper_clients)
        return None
    if server.viper_shared is None:
        server.viper_shared = ViperShared()
    session = ViperSession(server.service, conn, reader, writer, server.viper_shared, server.max_frame,
                           server.idle_timeout, server.stopping)
    await session.run(head, started)
    return None


async def refuse(writer: asyncio.StreamWriter, policy: str) -> None:
    """Answer a reference client this server does not serve (its first request gets the error)."""
    where = "no reference clients" if policy == "off" else "reference clients on its unix socket and loopback only"
    error = ProtocolError(f"this server accepts {where} (--viper-clients {policy}); the reference protocol "
                          f"carries no credentials")
    try:
        writer.write(throw_frame(error))
        await asyncio.wait_for(writer.drain(), 1.0)
    except (OSError, TimeoutError):
        pass
