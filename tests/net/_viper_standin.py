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
        """True when the server closes the connection (after any replies still in flight)."""
        try:
            while True:
                self.receive()
        except (ConnectionError, OSError):
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
