"""The wire protocol (no sockets here): framing, handshake, requests, responses, errors.

Every message is one *frame*: an 8-byte little-endian body length, then a msgpack body. A
connection starts with a handshake (magic, protocol version) in both directions; then the
client sends requests ``[request_id, method, args]`` and the server answers each with
``[request_id, True, result]`` or ``[request_id, False, [error_code, message]]``. Domain objects
travel as plain lists of bytes, ints and strings (see the ``pack_*``/``unpack_*`` pairs).
The full description is in docs/protocol.md.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgpack

from commitdb.errors import (
    CommitDBError,
    FrameTooLargeError,
    ProtocolError,
    RemoteError,
    VersionMismatchError,
    error_classes,
)
from commitdb.storage.base import BlobRecord, CommitData, CommitHeader

MAGIC = "commitdb"
PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
LENGTH = struct.Struct("<Q")
DEFAULT_PORT = 54321
BLOB_CHUNK = 16 * 1024 * 1024  # blob bytes per message: big blobs travel in pieces


def encode_frame(obj: Any, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """One frame holding ``obj``; FrameTooLargeError when the body exceeds ``max_frame``."""
    body = msgpack.packb(obj, use_bin_type=True)
    if len(body) > max_frame:
        raise FrameTooLargeError(f"a message of {len(body)} bytes exceeds the frame limit of {max_frame} bytes")
    return LENGTH.pack(len(body)) + body


def decode_body(body: bytes, max_items: int | None = None) -> Any:
    """The message in ``body``; ProtocolError when it is malformed, or when an array or map
    holds more than ``max_items`` entries (refused as soon as its header is read)."""
    items = len(body) if max_items is None else min(len(body), max_items)
    try:
        return msgpack.unpackb(body, raw=False, strict_map_key=True, max_bin_len=len(body), max_str_len=len(body),
                               max_array_len=items, max_map_len=items)
    except Exception as e:  # msgpack raises several unrelated classes on bad input
        if "max_array_len" in str(e) or "max_map_len" in str(e):
            raise ProtocolError(f"a list or map in the message has more than {items} items, the limit") from None
        raise ProtocolError(f"malformed message: {e}") from None


def check_length(length: int, max_frame: int) -> None:
    if length > max_frame:
        raise FrameTooLargeError(f"frame of {length} bytes announced; the limit is {max_frame} bytes")


class FrameSplitter:
    """Incremental framing by length prefix: ``feed`` bytes, get back the complete frame bodies.
    A length is checked as soon as it is read (``check(length, limit)`` raises), before its
    bytes arrive. Serves both protocols: this one's little-endian lengths and the reference's
    big-endian ones."""

    def __init__(self, limit: int, length: struct.Struct = LENGTH,
                 check: Callable[[int, int], None] = check_length) -> None:
        self._buffer = bytearray()
        self._limit, self._length, self._check = limit, length, check

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out = []
        size = self._length.size
        while len(self._buffer) >= size:
            (length,) = self._length.unpack_from(self._buffer)
            self._check(length, self._limit)
            if len(self._buffer) < size + length:
                break
            out.append(bytes(self._buffer[size:size + length]))
            del self._buffer[:size + length]
        return out


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes, get back the complete messages."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._frames = FrameSplitter(max_frame)

    def feed(self, data: bytes) -> list[Any]:
        return [decode_body(body) for body in self._frames.feed(data)]

    def pending(self) -> int:
        return len(self._buffer)


# --- handshake -----------------------------------------------------------------------------


def hello() -> dict[str, Any]:
    return {"magic": MAGIC, "version": PROTOCOL_VERSION}


def check_hello(message: Any) -> None:
    """VersionMismatchError unless ``message`` is a handshake of this protocol."""
    if not isinstance(message, dict) or message.get("magic") != MAGIC:
        raise VersionMismatchError("the peer does not speak the commitdb protocol (bad magic)")
    if message.get("version") != PROTOCOL_VERSION:
        raise VersionMismatchError(
            f"protocol version mismatch: peer speaks {message.get('version')!r}, this side {PROTOCOL_VERSION}"
        )


# --- requests and responses ----------------------------------------------------------------


def parse_request(message: Any) -> tuple[int, str, list[Any]]:
    """(request id, method, args); ProtocolError when the shape is wrong."""
    if not isinstance(message, list) or len(message) != 3:
        raise ProtocolError("a request must be [request_id, method, args]")
    request_id, method, args = message
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise ProtocolError("the request id must be an integer")
    if not isinstance(method, str):
        raise ProtocolError("the method must be a string")
    if not isinstance(args, list):
        raise ProtocolError("the arguments must be a list")
    return request_id, method, args


def error_payload(error: BaseException) -> list[Any]:
    code = error.code if isinstance(error, CommitDBError) else "RemoteError"
    return [code, str(error) or error.__class__.__name__]


def raise_remote(payload: Any) -> None:
    """Re-raise a server-side error as the same commitdb class (RemoteError if unknown)."""
    if not isinstance(payload, list) or len(payload) != 2:
        raise RemoteError(f"malformed error from the server: {payload!r}")
    code, message = payload
    cls = error_classes().get(code, RemoteError) if isinstance(code, str) else RemoteError
    raise cls(str(message))


# --- domain objects ------------------------------------------------------------------------


def pack_header(h: CommitHeader) -> list[Any]:
    return [h.id, h.parent, h.type_code, h.target, h.ts, h.label_text]


def _id(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise ProtocolError(f"{what} must be 20 bytes")
    return value


def unpack_header(obj: Any) -> CommitHeader:
    if not isinstance(obj, list) or len(obj) != 6:
        raise ProtocolError("a commit header must be a list of 6 items")
    commit_id, parent, kind, target, ts, label = obj
    if kind not in (0, 1, 2, 3) or isinstance(kind, bool):
        raise ProtocolError(f"unknown commit type {kind!r}")
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not isinstance(label, str):
        raise ProtocolError("a commit header has a bad timestamp or label")
    return CommitHeader(_id(commit_id, "a commit id"), _id(parent, "a parent id"), kind, _id(target, "a target id"),
                        float(ts), label)


def pack_commit(c: CommitData) -> list[Any]:
    return [pack_header(c.header()), c.data()]


def unpack_commit(obj: Any) -> CommitData:
    if not isinstance(obj, list) or len(obj) != 2 or not isinstance(obj[1], bytes):
        raise ProtocolError("a commit must be [header, data]")
    return CommitData(unpack_header(obj[0]), obj[1])


def pack_blob(b: BlobRecord) -> list[Any]:
    return [b.blob_id, b.layout, b.data]


def unpack_blob(obj: Any) -> BlobRecord:
    if not isinstance(obj, list) or len(obj) != 3 or not isinstance(obj[1], str) or not isinstance(obj[2], bytes):
        raise ProtocolError("a blob must be [id, layout, data]")
    return BlobRecord(_id(obj[0], "a blob id"), obj[1], obj[2])


def pack_entries(entries: list[tuple[Any, bool]]) -> list[Any]:
    return [[dk[0], dk[1], dk[2], has_set] for dk, has_set in entries]


def unpack_entries(obj: Any) -> list[tuple[Any, bool]]:
    if not isinstance(obj, list):
        raise ProtocolError("index entries must be a list")
    out = []
    for row in obj:
        if not isinstance(row, list) or len(row) != 4 \
                or not all(isinstance(x, bytes) and len(x) == 16 for x in row[:3]):
            raise ProtocolError("an index entry must be [attachment, instance, concept, has_set]")
        out.append(((row[0], row[1], row[2]), bool(row[3])))
    return out
