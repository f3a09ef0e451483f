"""A stand-in for the reference runtime's client, written from the protocol specification.

It speaks the reference protocol over a plain socket, one request and one reply at a time, and
checks every reply against the specification: the reply type the catalogue names for the call
(or ThrowError), a body that decodes field by field with no byte missing, and a frame that
re-encodes to the very bytes received.
"""

from __future__ import annotations

import socket
from typing import Any

from commitdb.net import viper_protocol as V


class StandInError(Exception):
    """A ThrowError answer."""

    def __init__(self, info: V.ErrorInfo) -> None:
        super().__init__(info.text())
        self.info = info


class StandInClient:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.frames = V.FrameReader(1 << 31)
        self.pending: list[bytes] = []
        self.calls: list[str] = []

    @staticmethod
    def tcp(host: str, port: int, timeout: float = 10.0) -> StandInClient:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return StandInClient(sock)

    @staticmethod
    def unix(path: str, timeout: float = 10.0) -> StandInClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return StandInClient(sock)

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> tuple[V.Message, bytes]:
        """The next reply and its frame bytes; ConnectionError when the server closed."""
        while not self.pending:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.pending.extend(self.frames.feed(chunk))
        payload = self.pending.pop(0)
        return V.decode_payload(payload), V.LENGTH.pack(len(payload)) + payload

    def closed_by_server(self) -> bool:
        """True when the server closes the connection (whatever bytes come before), False when
        it keeps it open past the socket's timeout."""
        try:
            while self.sock.recv(1 << 16):
                pass
        except TimeoutError:
            return False
        except OSError:
            pass  # reset by the server
        return True

    def call(self, name: str, *args: Any) -> Any:
        """Send one call, check the reply's type and bytes; the reply's single value (or the
        tuple of its values, None when it has none). ThrowError raises StandInError."""
        self.calls.append(name)
        self.send_raw(V.encode_message(name, *args))
        message, raw = self.receive()
        assert V.encode_message(message.name, *message.args) == raw, f"{message.name} does not re-encode"
        if message.name == "ThrowError":
            raise StandInError(V.ErrorInfo(*message.args))
        expected = V.MESSAGES[name].reply
        assert message.name == expected, f"{name} answered {message.name}, expected {expected}"
        if not message.args:
            return None
        return message.args[0] if len(message.args) == 1 else message.args


# --- the stand-in server ----------------------------------------------------------------------


class _Throw(Exception):
    """A failure answered with the reference's component, domain and code."""

    def __init__(self, component: str, domain: str, code: int, message: str) -> None:
        super().__init__(message)
        self.fields = (component, domain, code, message)


class StandInServer:
    """A reference-protocol server written from the specification: plain sockets, one thread
    per connection, dictionaries for storage, commits and blobs stored as given (like the
    reference, it checks nothing). Calls it does not implement get ThrowError."""

    def __init__(self, tcp: bool = True, socket_path: str | None = None) -> None:
        import threading

        from commitdb.dsm.definitions import Definitions

        self.lock = threading.RLock()
        self.definitions = Definitions()
        self.commits: dict[bytes, V.CommitData] = {}  # insertion order is storage order
        self.blobs: dict[bytes, list[Any]] = {}  # id -> [layout, bytearray, frozen]
        self.writes = 0
        self.calls: list[str] = []
        self._listeners: list[socket.socket] = []
        self._threads: list[Any] = []
        self._connections: list[socket.socket] = []
        if tcp:
            listener = socket.create_server(("127.0.0.1", 0))
            self.port = listener.getsockname()[1]
            self._listeners.append(listener)
        self.socket_path = socket_path
        if socket_path is not None:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(socket_path)
            listener.listen()
            self._listeners.append(listener)
        for listener in self._listeners:
            self._spawn(self._accept, listener)

    def _spawn(self, target: Any, *args: Any) -> None:
        import threading

        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self._connections.append(conn)
            self._spawn(self._serve, conn)

    def close(self) -> None:
        for s in self._listeners + self._connections:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for thread in self._threads:
            thread.join(5)

    def _serve(self, conn: socket.socket) -> None:
        frames = V.FrameReader(1 << 31)
        state = {"tx": None, "seen": self.writes, "counter": 1}
        try:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                for payload in frames.feed(chunk):
                    message = V.decode_payload(payload)
                    with self.lock:
                        self.calls.append(message.name)
                        try:
                            reply, args = self._answer(state, message)
                            frame = V.encode_message(reply, *args)
                        except _Throw as e:
                            frame = V.encode_message("ThrowError", "stand-in", "pid(1)", *e.fields)
                        except Exception as e:
                            frame = V.encode_message("ThrowError", "stand-in", "pid(1)", "StandIn", "Errors", 1,
                                                     str(e))
                    conn.sendall(frame)
        except OSError:
            return

    # the calls ------------------------------------------------------------------------------
    def _wrote(self, state: dict[str, Any]) -> None:
        self.writes += 1
        state["seen"] = self.writes  # the connection's own writes do not move its version

    def _frozen(self) -> dict[bytes, list[Any]]:
        return {b: v for b, v in self.blobs.items() if v[2]}

    def _info(self, blob_id: bytes) -> V.BlobInfo | None:
        frozen = list(self._frozen())
        if blob_id not in frozen:
            return None
        layout, data, _ = self.blobs[blob_id]
        return V.BlobInfo(blob_id, layout, len(data), False, frozen.index(blob_id) + 1)

    def _answer(self, state: dict[str, Any], m: V.Message) -> tuple[str, tuple[Any, ...]]:
        from commitdb.dsm.definitions import Definitions, extended_definitions

        a, name = m.args, m.name
        heads_excluded = {c.header.parent_id for c in self.commits.values()} | \
            {c.header.target_id for c in self.commits.values() if c.header.type == 3}
        if name == "CallPing":
            return "ReturnPong", ()
        if name == "CallCodecName":
            return "ReturnString", ("StreamBinary",)
        if name in ("CallDocumentation", "CallPath"):
            return "ReturnString", ("stand-in" if name == "CallDocumentation" else "InMemory",)
        if name == "CallUUId":
            return "ReturnUUId", (b"\x5a" * 16,)
        if name == "CallDataVersion":
            if self.writes != state["seen"]:
                state["seen"], state["counter"] = self.writes, state["counter"] + 1
            return "ReturnInt64", (state["counter"],)
        if name == "CallDefinitions":
            return "ReturnDefinitions", (self.definitions.encode(token=True),)
        if name == "CallDefinitionsHexDigest":
            return "ReturnString", (self.definitions.hexdigest(),)
        if name == "CallExtendDefinitions":
            before = self.definitions
            self.definitions = extended_definitions(before, Definitions.decode(a[0], token=True))
            self._wrote(state)
            old = {t.rid for t in before.types()} | {x.rid for x in before.attachments()}
            kinds = [[t.rid for t in getattr(self.definitions, kind)() if t.rid not in old]
                     for kind in ("concepts", "clubs", "enumerations", "structures", "attachments")]
            return "ReturnDefinitionsExtendInfo", (V.DefinitionsExtendInfo(*map(sorted, kinds), []),)
        if name == "CallInTransaction":
            return "ReturnBool", (state["tx"] is not None,)
        if name == "CallBeginTransaction":
            if state["tx"] is not None:
                raise _Throw("Viper.SQLite", "SQLiteErrors", 30, "SQLite function exec failed with error cannot "
                             "start a transaction within a transaction.")
            state["tx"] = (dict(self.commits), {b: list(v) for b, v in self.blobs.items()}, self.definitions)
            return "ReturnVoid", ()
        if name in ("CallCommit", "CallRollback"):
            if state["tx"] is None:
                raise _Throw("Viper.SQLite", "SQLiteErrors", 30, f"SQLite function exec failed with error cannot "
                             f"{name[4:].lower()} - no transaction is active.")
            if name == "CallRollback":
                self.commits, self.blobs, self.definitions = state["tx"]
                self._wrote(state)
            state["tx"] = None
            return "ReturnVoid", ()
        if name == "CallFirstCommitId":
            return "ReturnOptionalCommitId", (next(iter(self.commits), None),)
        if name == "CallLastCommitId":
            best = None
            for c in self.commits.values():
                if best is None or c.header.timestamp >= best.header.timestamp:
                    best = c
            return "ReturnOptionalCommitId", (None if best is None else best.header.commit_id,)
        if name == "CallCommitIds":
            return "ReturnSetOfCommitId", (sorted(self.commits),)
        if name == "CallCommitHeadIds":
            return "ReturnSetOfCommitId", (sorted(set(self.commits) - heads_excluded),)
        if name == "CallCommitExists":
            return "ReturnBool", (a[0] in self.commits,)
        if name == "CallCommitHeader":
            found = self.commits.get(a[0])
            return "ReturnCommitHeader", (None if found is None else found.header,)
        if name == "CallCommitData":
            return "ReturnCommitData", (self.commits.get(a[0]),)
        if name == "CallCommitDatas":
            return "ReturnVectorOfCommitData", ([self.commits[c] for c in a[0] if c in self.commits],)
        if name == "CallCommitDataAll":
            return "ReturnVectorOfCommitData", (list(self.commits.values()),)
        if name == "CallCommitSyncData":
            return "ReturnCommitSyncData", (V.CommitSyncData("StreamBinary", self.definitions.hexdigest(),
                                                             [self.commits[c] for c in a[0] if c in self.commits]),)
        if name == "CreateCommitData":
            cid = a[0].header.commit_id
            if cid in self.commits:
                return "ReturnBool", (False,)
            self.commits[cid] = a[0]
            self._wrote(state)
            return "ReturnBool", (True,)
        if name == "CallDeleteCommit":
            self.commits.pop(a[0], None)
            self._wrote(state)
            return "ReturnVoid", ()
        if name == "CallResetCommits":
            self.commits = dict(list(self.commits.items())[:1])
            self._wrote(state)
            return "ReturnVoid", ()
        if name == "CallBlobIds":
            return "ReturnSetOfBlobId", (sorted(self._frozen()),)
        if name == "CallBlobInfo":
            return "ReturnBlobInfo", (self._info(a[0]),)
        if name == "CallBlobInfos":
            return "ReturnVectorOfBlobInfo", ([i for i in map(self._info, a[0]) if i is not None],)
        if name == "CallBlob":
            found = self._frozen().get(a[0])
            return "ReturnOptionalBlob", (None if found is None else bytes(found[1]),)
        if name == "CallReadBlob":
            blob_id, size, offset = a
            data = self._frozen()[blob_id][1]
            if offset + size > len(data):
                raise RuntimeError("invalid size")
            return "ReturnBlob", (bytes(data[offset:offset + size]),)
        if name == "CallCreateBlobWithId":
            if a[0] in self.blobs:
                return "ReturnBool", (False,)
            self.blobs[a[0]] = [a[1], bytearray(a[2]), True]
            self._wrote(state)
            return "ReturnBool", (True,)
        if name == "CallCreateZeroBlob":
            if a[0] in self.blobs:
                return "ReturnBool", (False,)
            self.blobs[a[0]] = [a[1], bytearray(a[2]), False]
            return "ReturnBool", (True,)
        if name == "CallWriteBlob":
            blob_id, data, offset = a
            target = self.blobs[blob_id][1]
            if offset + len(data) > len(target):
                raise RuntimeError("invalid size")
            target[offset:offset + len(data)] = data
            return "ReturnVoid", ()
        if name == "CallFreezeBlob":
            found = self.blobs.get(a[0])
            if found is None or found[2]:
                return "ReturnBool", (False,)
            found[2] = True
            self._wrote(state)
            return "ReturnBool", (True,)
        if name == "CallUnknownBlobIds":
            return "ReturnSetOfBlobId", (sorted(set(a[0]) - set(self._frozen())),)
        if name == "CallBlobDatas":
            return "ReturnVectorOfBlobData", ([V.BlobData(b, self.blobs[b][0], bytes(self.blobs[b][1]))
                                               for b in a[0] if b in self.blobs],)
        if name == "CallCreateBlobs":
            added = []
            for blob in a[0]:
                if blob.blob_id not in self.blobs:
                    self.blobs[blob.blob_id] = [blob.layout, bytearray(blob.data), True]
                    added.append(blob.blob_id)
            self._wrote(state)
            return "ReturnSetOfBlobId", (sorted(added),)
        raise RuntimeError(f"Unknown RPC packet {name} [_call].")
