"""The commit database server: serves one database to many clients (asyncio).

Each connection speaks the protocol of ``net.protocol``. Storage work runs on worker threads,
never on the event loop: one thread for writes (serialised by an asyncio lock, which a client's
explicit transaction holds until it commits, rolls back or disconnects), two for reads (a read
goes to the less busy). Bytes from clients are untrusted: commit ids are re-hashed, programs
decoded and type-checked against the server's definitions, blob ids recomputed, and every
argument checked before it reaches storage (the request table is ``net.methods``). Who may
connect (``net.security``), what one client may cost the others (``net.limits``) and live
changes (``net.watch``) have modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from commitdb.errors import (
    CommitDBError,
    DatabaseBusyError,
    FrameTooLargeError,
    LimitExceededError,
    ProtocolError,
    StorageError,
    TransactionTimeoutError,
)
from commitdb.net import protocol as P
from commitdb.net.limits import SMALL_FRAME, ByteBudget, Limits
from commitdb.net.methods import (
    MAX_BATCH,
    MAX_BLOBS_PER_MESSAGE,
    READ_METHODS,
    TX_METHODS,
    WRITE_METHODS,
    checked_commit,
    describe_destructive,
    no_args,
    read_poll,
    refuse_changing_definitions,
)
from commitdb.net.security import (
    ADMIN,
    ANONYMOUS_ADMIN,
    DESTRUCTIVE,
    Identity,
    TokenTable,
    check_allowed,
    check_exposure,
)
from commitdb.net.stats import ServerStats
from commitdb.net.uploads import Upload
from commitdb.net.watch import ChangeNotifier
from commitdb.storage.base import BlobRecord, CommitDatabasing

log = logging.getLogger("commitdb.server")
audit = logging.getLogger("commitdb.audit")  # destructive operations: who, what, when

WRITE_WAIT = 10.0  # seconds a write waits for another client's transaction
MAX_GROUP = 256  # single-commit inserts stored together by group commit
READERS = 2  # read connections (each on a thread of its own) of a server over a file
MAX_GREETING = 64 * 1024  # bytes of the handshake frame (nothing larger before a token is proven)
_EOF = object()  # what _read returns when the peer closed between two frames


@dataclass(eq=False)
class Connection:
    """Per-connection state."""

    peer: str
    in_transaction: bool = False
    busy: int = 0
    writer: asyncio.StreamWriter | None = field(default=None, repr=False)
    upload: Upload | None = field(default=None, repr=False)
    identity: Identity = ANONYMOUS_ADMIN
    # The server rolled back this connection's idle transaction: its next requests are told so
    # (TransactionTimeoutError) until it rolls back (accepted silently), commits or begins anew.
    transaction_expired: bool = False

    def drop_upload(self) -> None:
        if self.upload is not None:
            self.upload.close()
            self.upload = None


class DatabaseService:
    """Runs protocol methods against a backend (``writer``) and a read connection (``reader``)."""

    def __init__(self, writer: CommitDatabasing, reader: CommitDatabasing | None = None,
                 versions: CommitDatabasing | None = None, more_readers: list[CommitDatabasing] | None = None) -> None:
        """``versions``, when given, is a connection used only for ``data_version()``, cheap
        enough to ask on the event loop itself (no thread hop for the most frequent request).
        ``more_readers``: further read connections, each with a thread of its own; a read goes
        to the least busy, so one long read does not hold up the others."""
        self.writer = writer
        self.reader = reader or writer
        self.versions = versions
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="commitdb-write")
        self._read_pool = ThreadPoolExecutor(1, thread_name_prefix="commitdb-read") if reader else self._write_pool
        # [backend, its thread, reads queued or running there]
        self._readers: list[list[Any]] = [[self.reader, self._read_pool, 0]] + [
            [r, ThreadPoolExecutor(1, thread_name_prefix="commitdb-read"), 0] for r in (more_readers or [])]
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
        self.limits = Limits()
        self._upload_budget: ByteBudget | None = None
        self.on_write: Callable[[], None] | None = None  # told after each write (live changes)

    @staticmethod
    def open_file(path: str, synchronous: str = "FULL") -> DatabaseService:
        """A service over a ``.cdb`` file or a ``postgresql://`` URL (IncompatibleDatabaseError
        when it is not a commit database).
        ``synchronous`` is SQLite's setting for the writer: FULL (the default) makes each
        acknowledged commit durable across power loss; NORMAL across a crash of the server
        process only, and is several times faster per commit."""
        from commitdb.storage.sqlite import SQLiteBackend
        from commitdb.storage.urls import is_postgres_url

        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        postgres = is_postgres_url(path)
        if postgres:
            from commitdb.storage.postgres import PostgresBackend
        kind: Any = PostgresBackend if postgres else SQLiteBackend
        # Durability on PostgreSQL is the PostgreSQL server's own setting (synchronous_commit).
        opened: list[Any] = [PostgresBackend(path) if postgres else SQLiteBackend(path, synchronous=synchronous)]
        try:
            for _ in range(READERS + 1):
                opened.append(kind(path, readonly=len(opened) == 2))
            return DatabaseService(opened[0], opened[1], opened[2], opened[3:])
        except BaseException:
            for backend in opened:
                backend.close()
            raise

    def close(self) -> None:
        self._write_pool.shutdown(wait=True)
        if self._read_pool is not self._write_pool:
            self._read_pool.shutdown(wait=True)
        for backend, pool, _ in self._readers[1:]:
            pool.shutdown(wait=True)
            backend.close()
        self.writer.close()
        if self.reader is not self.writer:
            self.reader.close()
        if self.versions is not None:
            self.versions.close()

    # --- dispatch ----------------------------------------------------------------------------
    async def handle(self, conn: Connection, method: str, args: list[Any]) -> Any:
        """Run one request for ``conn``: its role allows it, an expired transaction is
        reported, destructive operations are logged, watchers hear of writes."""
        check_allowed(conn.identity, method)
        if conn.transaction_expired:
            if method == "rollback":
                conn.transaction_expired = False
                return None
            if method == "begin_transaction":
                conn.transaction_expired = False
            else:
                if method == "commit":
                    conn.transaction_expired = False
                raise TransactionTimeoutError(
                    f"the server rolled back this connection's transaction after "
                    f"{self.limits.transaction_idle_timeout:g} s without a request (and released the write lock)")
        if method == "extend_definitions" and not conn.identity.allows(ADMIN):
            # Definitions the server holds already: answered without the write lock (a read
            # client opening its model must not wait for, or block, the writers).
            await asyncio.get_running_loop().run_in_executor(self._read_pool, refuse_changing_definitions,
                                                             self, args)
            version = self.data_version()
            return [False, version, version]
        result = await self._dispatch(conn, method, args)
        if method in WRITE_METHODS or method in ("commit", "blob_upload_chunk"):
            if self.on_write is not None:
                self.on_write()
            if method in DESTRUCTIVE and (method != "extend_definitions" or result[0]):
                audit.warning("%s (%s token, %s) %s %s", conn.identity.name, conn.identity.role, conn.peer,
                              method, describe_destructive(method, args))
        return result

    async def _dispatch(self, conn: Connection, method: str, args: list[Any]) -> Any:
        if method == "data_version":
            no_args(args)
            if self.versions is not None:
                return self.data_version()
            return await asyncio.get_running_loop().run_in_executor(self._read_pool, self.data_version)
        if method == "poll" and self.versions is not None and args and not conn.in_transaction:
            # The frequent case (nothing changed) is answered on the loop, without a thread hop.
            version = self.data_version()
            if args[0] == version and not isinstance(args[0], bool):
                read_poll(self, self.reader, args)  # validates the arguments (cheap when current)
                return [version]
        if method in TX_METHODS:
            return await self._transaction(conn, method, args)
        if method == "insert_commit" and not conn.in_transaction:
            return await self._grouped_insert(args)
        if method == "blob_upload_chunk":
            return await self._upload(conn, args)
        read = READ_METHODS.get(method)
        if read is not None:
            if conn.in_transaction:
                return await asyncio.get_running_loop().run_in_executor(self._write_pool, read, self, self.writer, args)
            slot = min(self._readers, key=lambda r: r[2])
            slot[2] += 1
            try:
                return await asyncio.get_running_loop().run_in_executor(slot[1], read, self, slot[0], args)
            finally:
                slot[2] -= 1
        write = WRITE_METHODS.get(method)
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
        if self._upload_budget is None:
            self._upload_budget = ByteBudget(self.limits.max_upload_total, "blobs being uploaded")
        try:
            conn.upload = upload = Upload.next_piece(conn.upload, args, self._upload_budget)
        except CommitDBError:
            conn.drop_upload()
            raise
        if not upload.complete():
            return None
        conn.upload = None
        loop = asyncio.get_running_loop()
        try:
            if conn.in_transaction:
                return await loop.run_in_executor(self._write_pool, self._store_upload, upload)
            await self._acquire(conn)
            try:
                return await loop.run_in_executor(self._write_pool, self._store_upload, upload)
            finally:
                self._write_lock.release()
        finally:
            upload.close()

    def _store_upload(self, upload: Upload) -> list[Any]:
        """On the write thread (so one finished upload at a time is in memory): store it."""
        blob = BlobRecord(upload.blob_id(), upload.layout, upload.read_all())
        return [blob.blob_id, *self.versioned(lambda: self.writer.insert_blob(blob))]

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
                checked.append(checked_commit(self, args[0], earlier))
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
            no_args(args)
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
        no_args(args)
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
        """A client went away (or sat idle inside its transaction): roll back its transaction,
        free the write lock, forget its unfinished upload."""
        conn.drop_upload()
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


# --- the server ------------------------------------------------------------------------------


class CommitDatabaseServer:
    """Serves one database over TCP and/or a unix socket.

    ``start()`` binds and returns; ``serve_forever()`` runs until ``stop()``; ``shutdown(grace)``
    stops accepting, lets in-flight requests finish for up to ``grace`` seconds, closes the
    database and returns the number of requests still running (0 means a clean stop).
    """

    def __init__(self, service: DatabaseService, host: str | None = None, port: int | None = None,
                 socket_path: str | None = None, max_frame: int | None = None,
                 idle_timeout: float | None = None, *, tokens: TokenTable | None = None, tls: Any = None,
                 limits: Limits | None = None, insecure: bool = False, viper_clients: str | None = None) -> None:
        """``tokens``: who may connect (None: anyone who reaches the sockets, as admin — then
        only loopback addresses and unix sockets are served unless ``insecure``); ``tls``: an
        ``ssl.SSLContext`` for the TCP listener; ``limits``: see ``net.limits.Limits``
        (``max_frame`` and ``idle_timeout``, when given, override its fields).
        ``viper_clients``: where clients of the reference protocol are served: "off", "local"
        (unix socket and loopback) or "any" (see net.viper_server); that protocol carries no
        credentials, so the default is "off" with tokens, "local" without."""
        if host is None and socket_path is None:
            raise ValueError("give a host (TCP) or a socket path (unix)")
        if viper_clients is None:
            viper_clients = "off" if tokens is not None else "local"
        if viper_clients not in VIPER_POLICY_TEXT:
            raise ValueError(f"viper_clients must be off, local or any, not {viper_clients!r}")
        self.viper_clients = viper_clients
        self.viper_shared: Any = None  # what the reference protocol's connections share
        self.service = service
        self.host, self.port, self.socket_path = host, port, socket_path
        limits = limits or Limits()
        if max_frame is not None:
            limits = replace(limits, max_frame=max_frame)
        if idle_timeout is not None:
            limits = replace(limits, idle_timeout=idle_timeout)
        self.limits = limits
        self.max_frame = limits.max_frame
        self.idle_timeout = limits.idle_timeout  # also what reference-protocol sessions wait
        service.limits = limits
        self.tokens, self.tls, self.insecure = tokens, tls, insecure
        self.stats = ServerStats()
        self._buffered = ByteBudget(limits.max_buffered_total, "partly received messages")
        # No list a client sends may be longer than what one request may carry: a longer one is
        # refused when its header is read, before millions of items are decoded on the loop.
        self._max_items = max(limits.max_ids_per_request, MAX_BATCH, MAX_BLOBS_PER_MESSAGE)
        self._notifier: ChangeNotifier | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """Bind. Without tokens, a TCP address other than loopback is refused (ValidationError)
        unless the server was told ``insecure``."""
        check_exposure(self.host, self.tokens, self.insecure)
        self._notifier = ChangeNotifier(self._version)
        self.service.on_write = self._notifier.poke
        if self.socket_path is not None:
            remove_stale_socket(self.socket_path)
            self._servers.append(await asyncio.start_unix_server(self._client, path=self.socket_path,
                                                                 limit=2 ** 16))
            # Without a token the socket's permissions are the access control: owner only.
            os.chmod(self.socket_path, 0o600)
        if self.host is not None:
            port = P.DEFAULT_PORT if self.port is None else self.port
            server = await asyncio.start_server(self._client, host=self.host, port=port, limit=2 ** 16,
                                                reuse_address=True, ssl=self.tls,
                                                ssl_handshake_timeout=self.limits.handshake_timeout
                                                if self.tls is not None else None)
            self._servers.append(server)
            self.port = server.sockets[0].getsockname()[1]

    def describe(self) -> str:
        """One line: where the server listens and with what security (printed at start)."""
        where = []
        if self.host is not None:
            where.append(f"{self.host}:{self.port} (TCP{', TLS' if self.tls is not None else ', no TLS'})")
        if self.socket_path is not None:
            where.append(f"{self.socket_path} (unix socket, mode 600)")
        if self.tokens is not None:
            security = f"{len(self.tokens)} token(s) from the token file required"
        elif self.insecure:
            security = "INSECURE: no authentication, every client may read, write and reset"
        else:
            security = "no authentication (loopback and unix sockets only)"
        return (f"commitdb server listening on {', '.join(where)}; {security}; "
                f"reference-protocol (viper) clients: {VIPER_POLICY_TEXT[self.viper_clients]}")

    async def _version(self) -> int:
        if self.service.versions is not None:
            return self.service.data_version()
        return await asyncio.get_running_loop().run_in_executor(self.service._read_pool, self.service.data_version)

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
        if self._notifier is not None:
            await self._notifier.stop()
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
        if len(self._connections) >= self.limits.max_connections:
            # Told at once, before its greeting: the client reads this as the handshake answer.
            self.stats.connections_refused += 1
            log.error("%s refused: %d connections already", peer, len(self._connections))
            await self._send_quietly(writer, {**P.hello(), "error": [
                "LimitExceededError",
                f"the server has reached its limit of {self.limits.max_connections} connections; try again later"]})
            writer.close()
            return
        self.stats.connections_accepted += 1
        self._connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        log.info("connection from %s", peer)
        try:
            await self._session(conn, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            log.info("connection from %s dropped", peer)
        except (FrameTooLargeError, LimitExceededError) as e:
            log.error("%s: %s", peer, e)
            await self._send_quietly(writer, [0, False, P.error_payload(e)])
        except ProtocolError as e:
            log.error("%s: protocol error: %s", peer, e)
            await self._send_quietly(writer, [0, False, P.error_payload(e)])
        except Exception:  # never let one client take the server down
            log.exception("unexpected error with %s", peer)
        finally:
            if self._notifier is not None:
                self._notifier.remove(conn)
            await self.service.abandon(conn)
            self._connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("connection from %s closed", peer)

    async def _read_head(self, reader: asyncio.StreamReader, wait: float | None) -> Any:
        """The next frame's length prefix, or _EOF when the peer closed cleanly before it.
        ``wait`` bounds the silence before it starts (TimeoutError); once started, the prefix
        must be complete within the frame timeout."""
        try:
            head = await _within(reader.readexactly(1), wait)
        except asyncio.IncompleteReadError:
            return _EOF
        return head + await _within(reader.readexactly(P.LENGTH.size - 1), self.limits.frame_timeout)

    async def _read(self, reader: asyncio.StreamReader, wait: float | None, max_frame: int | None = None,
                    head: Any = None, started: bytes = b"") -> Any:
        """The next message, or _EOF when the peer closed cleanly before a new frame (``wait``:
        see _read_head). Once started, the frame must be complete within the frame timeout. A
        frame above SMALL_FRAME takes its size from the bytes all connections may hold at
        once, or is refused (LimitExceededError). ``head`` and ``started``: the length prefix
        and first body bytes, when already read."""
        if head is None:
            head = await self._read_head(reader, wait)
            if head is _EOF:
                return _EOF
        (length,) = P.LENGTH.unpack(head)
        P.check_length(length, self.max_frame if max_frame is None else max_frame)
        if len(started) > length:
            raise ProtocolError("the handshake frame is shorter than its first byte")
        counted = length if length > SMALL_FRAME else 0
        self._buffered.reserve(counted)
        try:
            body = started + await _within(reader.readexactly(length - len(started)), self.limits.frame_timeout)
        finally:
            self._buffered.release(counted)
        return P.decode_body(body, self._max_items)

    def stopping(self) -> bool:
        return self._stopped.is_set()

    def _silence_allowed(self, conn: Connection) -> float | None:
        """How long the server waits for this connection's next request."""
        if conn.in_transaction and self.limits.transaction_idle_timeout is not None:
            return self.limits.transaction_idle_timeout
        if self._notifier is not None and self._notifier.watching(conn):
            return None  # a watcher is silent by design
        return self.limits.idle_timeout

    async def _handshake(self, conn: Connection, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> bool:
        """Greeting and token, within the handshake timeout; False when the peer left at once
        or spoke the reference protocol (served, or refused, by net.viper_server)."""
        head = await self._read_head(reader, self.limits.handshake_timeout)
        if head is _EOF:
            return False  # connected and left without a word (a port probe)
        started: bytes | None = b""
        if head[0] == 0:  # perhaps a reference frame (a big-endian length)
            from commitdb.net.viper_server import serve_if_viper

            started = await serve_if_viper(self, conn, reader, writer, head)
            if started is None:
                return False
        greeting = await self._read(reader, None, MAX_GREETING, head, started)
        if greeting is _EOF:
            return False
        try:
            P.check_hello(greeting)
            if self.tokens is not None:
                try:
                    conn.identity = self.tokens.identify(greeting.get("token"))
                except CommitDBError:
                    self.stats.authentication_failures += 1
                    log.error("%s: authentication failed", conn.peer)
                    raise
        except CommitDBError as e:
            await self._send_quietly(writer, {**P.hello(), "error": P.error_payload(e)})
            raise ConnectionError(str(e)) from None
        answer: dict[str, Any] = {**P.hello(), "max_ids": self.limits.max_ids_per_request}
        if self.tokens is not None:
            answer["role"] = conn.identity.role
        writer.write(P.encode_frame(answer, self.max_frame))
        await writer.drain()
        return True

    async def _session(self, conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._handshake(conn, reader, writer):
            return
        while True:
            wait = self._silence_allowed(conn)
            try:
                message = await self._read(reader, wait)
            except TimeoutError:
                if not conn.in_transaction:
                    raise
                log.error("%s: transaction idle for %g s: rolled back", conn.peer, wait)
                await self.service.abandon(conn)
                conn.transaction_expired = True
                continue
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
                started = time.perf_counter()
                response = await self._answer(conn, request_id, method, args)
                self.stats.request(method, time.perf_counter() - started)
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

    async def _connection_request(self, conn: Connection, method: str, args: list[Any]) -> Any:
        """Requests about the connection itself (not the database): watch, unwatch, stats."""
        assert self._notifier is not None
        if method == "watch":
            if len(args) > 1 or (args and args[0] is not None and (not isinstance(args[0], int)
                                                                  or isinstance(args[0], bool))):
                raise ProtocolError("watch takes [known version or nil]")
            assert conn.writer is not None
            self._notifier.add(conn, conn.writer, args[0] if args else None)
            return None
        if method == "unwatch":
            no_args(args)
            self._notifier.remove(conn)
            return None
        no_args(args)
        return self.stats.snapshot(len(self._connections), self._notifier.count(), {
            "max_connections": self.limits.max_connections,
            "buffered_bytes": self._buffered.used,
            "data_version": await self._version(),
            "security": self.describe(),
        })

    async def _answer(self, conn: Connection, request_id: int, method: str, args: list[Any]) -> list[Any]:
        """The response to one request; every failure becomes an error response."""
        try:
            if method in _CONNECTION_METHODS:
                return [request_id, True, await self._connection_request(conn, method, args)]
            result = await self.service.handle(conn, method, args)
            if method == "insert_commit":
                self.stats.stored(int(bool(result[0])))
            elif method == "insert_commits":
                self.stats.stored(sum(1 for x in result[0] if x))
            return [request_id, True, result]
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


_CONNECTION_METHODS = frozenset({"watch", "unwatch", "stats"})
VIPER_POLICY_TEXT = {
    "off": "refused (--viper-clients off)",
    "local": "served on the unix socket and loopback only, without credentials (--viper-clients local)",
    "any": "served from any address, without credentials (--viper-clients any)",
}


async def _within(awaitable: Any, seconds: float | None) -> Any:
    """``await awaitable``, raising TimeoutError after ``seconds`` (None: no limit). A timeout
    scope costs one timer, where ``wait_for`` would also start a task per frame read."""
    if seconds is None:
        return await awaitable
    async with asyncio.timeout(seconds):
        return await awaitable


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
