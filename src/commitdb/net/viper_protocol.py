"""The reference runtime's wire protocol ("viper"): framing, token-encoded fields and the 72
message types (pure: no sockets).

A frame is ``u64 BIG-endian payload length ‖ payload``; the payload is the message type as a
token-encoded uuid (``0d`` + 16 bytes) followed by the body as a token-encoded blob (``0f`` +
u64 little-endian length + bytes). The body holds the message's fields, each written with the
token codec (one token byte before every primitive, as ``codec.Writer(token=True)``).

Every message type is defined once, in ``_CATALOGUE``, with its field layout written in the
specification's own notation (``set<commit_id> commit_ids``, ``opt<BlobInfo> value``...). The
encoder and the decoder both walk that parsed layout, so they cannot disagree. Records
(``CommitHeader``, ``BlobInfo``...) are small named tuples defined the same way.

Decoding is strict about tokens and lengths (a hostile frame raises ``ProtocolError``, an
unknown message uuid ``UnknownMessageError``) and, like the reference, ignores extra bytes
after a body's last field.
"""

from __future__ import annotations

import re
import struct
import uuid as uuid_module
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from commitdb.codec import Reader, Writer
from commitdb.errors import CommitDBError, FrameTooLargeError, ProtocolError
from commitdb.net.protocol import FrameSplitter
from commitdb.values import types as T

LENGTH = struct.Struct(">Q")
_U64LE = struct.Struct("<Q")
PAYLOAD_HEADER = 26  # 0d uuid16 0f u64le: what precedes the body inside a payload
# The reference sends blobs of up to 2 GB in one message; a server bounds what it accepts.
DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024
CODEC_NAME = "StreamBinary"


class UnknownMessageError(ProtocolError):
    """A well-formed frame whose message uuid is not in the catalogue (answered, not fatal)."""

    code = "UnknownMessageError"

    def __init__(self, message: str, message_uuid: bytes = b"") -> None:
        super().__init__(message)
        self.message_uuid = message_uuid

    @staticmethod
    def of(message_uuid: bytes) -> UnknownMessageError:
        """The error for ``message_uuid``, worded as the reference words it."""
        return UnknownMessageError(f"Unknown RPC packet ID {{{uuid_module.UUID(bytes=message_uuid)}}} [_call].",
                                   message_uuid)


# --- records --------------------------------------------------------------------------------


class CommitHeader(NamedTuple):
    commit_id: bytes
    parent_id: bytes
    timestamp: float
    label: str
    type: int
    target_id: bytes


class CommitData(NamedTuple):
    header: CommitHeader | None  # ref<CommitHeader>: None only in a hostile frame
    data: bytes


class BlobLayout(NamedTuple):
    data_type: int
    components: int


class BlobInfo(NamedTuple):
    blob_id: bytes
    layout: BlobLayout
    size: int
    chunked: bool
    row_id: int


class BlobData(NamedTuple):
    blob_id: bytes
    layout: BlobLayout
    data: bytes


class BlobStatistics(NamedTuple):
    count: int
    total_size: int
    min_size: int
    max_size: int


class CommitSyncData(NamedTuple):
    codec_name: str
    definitions_hexdigest: str
    commit_datas: list[CommitData | None]


class DefinitionsExtendInfo(NamedTuple):
    concepts: list[bytes]
    clubs: list[bytes]
    enumerations: list[bytes]
    structures: list[bytes]
    attachments: list[bytes]
    memberships: list[tuple[bytes, list[bytes]]]


_RECORDS: dict[str, tuple[type, str]] = {
    "CommitHeader": (CommitHeader, "commit_id commit_id, commit_id parent_id, f64 timestamp, string label, "
                                   "i32 type, commit_id target_id"),
    "CommitData": (CommitData, "ref<CommitHeader> header, blob data"),
    "BlobLayout": (BlobLayout, "u8 data_type, u8 components"),
    "BlobInfo": (BlobInfo, "blob_id blob_id, BlobLayout layout, u64 size, bool chunked, i64 row_id"),
    "BlobData": (BlobData, "blob_id blob_id, BlobLayout layout, blob data"),
    "BlobStatistics": (BlobStatistics, "u64 count, u64 total_size, u64 min_size, u64 max_size"),
    "CommitSyncData": (CommitSyncData, "string codec_name, string definitions_hexdigest, "
                                       "vector<ref<CommitData>> commit_datas"),
    "DefinitionsExtendInfo": (DefinitionsExtendInfo, "set<uuid> concepts, set<uuid> clubs, set<uuid> enumerations, "
                                                     "set<uuid> structures, set<uuid> attachments, "
                                                     "map<uuid, set<uuid>> memberships"),
}

# --- the catalogue: (name, uuid, body, normal reply) -----------------------------------------

_CATALOGUE: tuple[tuple[str, str, str, str | None], ...] = (
    ("CallPing", "4699f1b4-1efb-4163-a5fb-3b8bd69aafcc", "", "ReturnPong"),
    ("CallUploadData", "612d3514-b175-489a-91a8-d82c6ce9ed13", "blob data", "ReturnVoid"),
    ("CallDownloadData", "20d3e400-612d-48bf-a929-a1d3c24d6f2c", "u64 size", "ReturnOptionalBlob"),
    ("CallCodecName", "dca55759-86c3-446a-b4f7-ab88a7dc1c0f", "", "ReturnString"),
    ("CallUUId", "a85e8540-cd9c-40a6-9b29-a5080107fee9", "", "ReturnUUId"),
    ("CallDocumentation", "6a82da1c-9ce6-4696-a68f-e5cc53bbdb4c", "", "ReturnString"),
    ("CallPath", "370d2c1b-5281-44ef-98ae-8152f62e50c6", "", "ReturnString"),
    ("CallDataVersion", "61f9236e-52e5-493c-a0c3-e0d76a492df6", "", "ReturnInt64"),
    ("CallDefinitions", "375fab9b-2ef0-4523-8558-41ae720d719c", "", "ReturnDefinitions"),
    ("CallDefinitionsHexDigest", "22fe6e16-6494-4679-b731-f3241301d49e", "", "ReturnString"),
    ("CallExtendDefinitions", "3f969b7e-1a36-4233-9d2a-4b049330f28d", "ref<Definitions> definitions",
     "ReturnDefinitionsExtendInfo"),
    ("CallInTransaction", "48b1072d-7c9e-4c3a-8615-6d02eb06dac4", "", "ReturnBool"),
    ("CallBeginTransaction", "41ab4790-010a-440b-98ff-b808a97a2797", "u8 mode", "ReturnVoid"),
    ("CallCommit", "8481378c-8031-44ec-bfa5-6a5278bc6f04", "", "ReturnVoid"),
    ("CallRollback", "07643e11-5878-4b71-b315-4aa4c1396cfa", "", "ReturnVoid"),
    ("CallFirstCommitId", "9be03670-6a0f-45d3-a21b-508e7ce17292", "", "ReturnOptionalCommitId"),
    ("CallLastCommitId", "695d8da5-7eb2-4c23-92f1-9a4259eb8cb1", "", "ReturnOptionalCommitId"),
    ("CallCommitIds", "1eae023a-2386-4ab7-be24-fa9afac3f3a1", "", "ReturnSetOfCommitId"),
    ("CallCommitHeadIds", "29bf7ed0-f9d7-4ba9-b099-6d93f424cc22", "", "ReturnSetOfCommitId"),
    ("CallChildrenCommitIds", "47778c09-18f5-4e6e-b62d-c0ed01639e81", "commit_id commit_id", "ReturnSetOfCommitId"),
    ("CallNephewCommitIds", "31916f86-d3e3-4b08-b1a6-9b3ed7b5b899", "commit_id commit_id", "ReturnSetOfCommitId"),
    ("CallCommitExists", "534724df-b006-4173-815f-f0e1369bcbfe", "commit_id commit_id", "ReturnBool"),
    ("CallCommitHeader", "4490628e-bf12-41da-bf6d-8e0ea8ed931f", "commit_id commit_id", "ReturnCommitHeader"),
    ("CallCommitData", "d50b10a1-28d1-4461-bdac-61569b5c5e8b", "commit_id commit_id", "ReturnCommitData"),
    ("CallCommitDatas", "51a9841a-ea15-4c9a-921f-e20b8cc037f0", "set<commit_id> commit_ids",
     "ReturnVectorOfCommitData"),
    ("CallCommitDataAll", "738852e8-e797-4385-9bef-1e0c922180b6", "", "ReturnVectorOfCommitData"),
    ("CreateCommitData", "b41eda68-c925-4169-a938-a53af51837d2", "ref<CommitData> commit_data", "ReturnBool"),
    ("CallCommitSyncData", "17add7d7-e22c-4648-a426-1a60ecd59659", "set<commit_id> commit_ids",
     "ReturnCommitSyncData"),
    ("CallDeleteCommit", "2be08c62-343b-478c-b59b-4b6e5c754fc9", "commit_id commit_id", "ReturnVoid"),
    ("CallResetCommits", "2a1483c7-d624-461b-80e8-b50e8221ecc4", "", "ReturnVoid"),
    ("CallBlobStatistics", "fa3cec40-4267-46bf-bf4d-ec3cdf7623d3", "", "ReturnBlobStatistics"),
    ("CallBlobIds", "5d5d26d7-3f82-4bbb-9255-b59e93077d65", "", "ReturnSetOfBlobId"),
    ("CallBlobInfo", "9726c7c8-f7a6-4d62-8a57-14a0bd12d241", "blob_id blob_id", "ReturnBlobInfo"),
    ("CallBlobInfos", "737a7dd1-9e8a-41ef-8e20-087e70d2aef0", "set<blob_id> blob_ids", "ReturnVectorOfBlobInfo"),
    ("CallBlob", "68422c3c-5687-4613-ba55-858d84db51d7", "blob_id blob_id", "ReturnOptionalBlob"),
    ("CallReadBlob", "33662ad9-ec6b-4cf1-a480-8af4fd02e77b", "blob_id blob_id, u64 size, u64 offset", "ReturnBlob"),
    ("CallCreateBlobWithId", "582ad65a-c637-4d28-8583-de843c0105d4", "blob_id blob_id, BlobLayout layout, blob blob",
     "ReturnBool"),
    ("CallCreateZeroBlob", "cb0e4108-87c8-43a7-9952-0310038a5f68", "blob_id blob_id, BlobLayout layout, u64 size",
     "ReturnBool"),
    ("CallWriteBlob", "52554730-81dc-486e-954b-44d0794d1717", "blob_id blob_id, blob blob, u64 offset", "ReturnVoid"),
    ("CallFreezeBlob", "8a55f1bc-46c6-4116-a539-95c846518a3d", "blob_id blob_id", "ReturnBool"),
    ("CallBlobStreamCreate", "2e082567-667f-4aff-8bf5-acb870ba7fac", "BlobLayout layout, u64 size", "ReturnUUId"),
    ("CallBlobStreamWrite", "6b2bc841-475f-45f4-8acb-d396eae19be6", "uuid stream_id, blob blob, u64 offset",
     "ReturnVoid"),
    ("CallBlobStreamClose", "b1357c29-31e8-4d97-b375-6964b1d0c9fa", "uuid stream_id, blob_id blob_id", "ReturnVoid"),
    ("CallBlobStreamDelete", "59846c5f-2689-4283-8f27-6632f5f1398f", "uuid stream_id", "ReturnVoid"),
    ("CallBlobReaderOpen", "dc581043-60af-4d65-a5a6-546dd6577a01", "blob_id blob_id", "ReturnUUId"),
    ("CallBlobReaderRead", "9d5cd502-c243-44ac-a254-73d67c9d6e70", "uuid reader_id, u64 size, u64 offset",
     "ReturnBlob"),
    ("CallBlobReaderClose", "e761a316-6b27-41d4-8208-a0498b22b66e", "uuid reader_id", "ReturnVoid"),
    ("CallUnknownBlobIds", "56f20d5f-bf61-4dea-abf2-398fdac2ed58", "set<blob_id> blob_ids", "ReturnSetOfBlobId"),
    ("CallBlobDatas", "35b34bef-c28d-40c3-9b95-92141e956987", "set<blob_id> blob_ids", "ReturnVectorOfBlobData"),
    ("CallCreateBlobs", "fabdf065-e34e-4481-84c4-db1c89d4a917", "vector<ref<BlobData>> blob_datas",
     "ReturnSetOfBlobId"),
    # replies
    ("ReturnVoid", "2849cd83-ba8d-4619-9bd5-0100ed1d52f7", "", None),
    ("ReturnPong", "94a13ea5-0ba1-4baa-8d40-c7b35d9eedcf", "", None),
    ("ReturnBool", "b0a14f40-b9b6-47ee-a08a-ebbe0333c688", "bool value", None),
    ("ReturnInt64", "62ae3b93-a530-43cc-a63d-aeaa528ad52d", "i64 value", None),
    ("ReturnString", "a0af999c-566a-4e99-9530-fc27172eaaee", "string value", None),
    ("ReturnUUId", "eaf77e55-8613-4495-968d-c52ee5d2ee62", "uuid value", None),
    ("ReturnBlob", "64656673-ea6e-4273-9f2b-1b698302b8b6", "blob value", None),
    ("ReturnOptionalBlob", "e4d771f5-7227-45fb-9e8e-10aa0822052d", "opt<blob> value", None),
    ("ReturnOptionalCommitId", "b34c6b42-b9c4-4154-999a-8bd19312fba4", "opt<commit_id> value", None),
    ("ReturnSetOfCommitId", "6beb8e29-308b-484d-9306-237e1b405ee7", "set<commit_id> value", None),
    ("ReturnSetOfBlobId", "c0d3592d-6602-4d2c-ab4c-d26ebd79ced6", "set<blob_id> value", None),
    ("ReturnDefinitions", "c094c109-47a8-4829-81d4-3d54c8355f3a", "ref<Definitions> value", None),
    ("ReturnDefinitionsExtendInfo", "a440a17e-bac4-4d92-917a-7b234b7a9514", "DefinitionsExtendInfo value", None),
    ("ReturnCommitHeader", "3cbf3294-6bb9-4265-8172-fc7af62f1d09", "opt<CommitHeader> value", None),
    ("ReturnCommitData", "49fab78b-29d4-424e-bbb3-b0dbcf89efd2", "opt<CommitData> value", None),
    ("ReturnVectorOfCommitData", "61848ea0-be00-421e-a0d0-555554cb13fe", "vector<ref<CommitData>> value", None),
    ("ReturnCommitSyncData", "a5118032-425a-4f13-b7a6-43d7fa991e00", "ref<CommitSyncData> value", None),
    ("ReturnBlobStatistics", "0601d135-c3d8-485c-9db9-83a588286b49", "ref<BlobStatistics> value", None),
    ("ReturnBlobInfo", "9ae34674-7127-4dc3-9de1-d3ad9f5a3945", "opt<BlobInfo> value", None),
    ("ReturnVectorOfBlobInfo", "447db0b9-3307-4c93-b4fd-954e176f7a06", "vector<ref<BlobInfo>> value", None),
    ("ReturnVectorOfBlobData", "5097682e-8a87-4410-9c63-1893abba8e96", "vector<ref<BlobData>> value", None),
    ("ThrowError", "896e5f57-3c80-4778-b57b-d7e5b1347644",
     "string host, string pid, string component, string domain, i32 code, string message", None),
)

# --- layouts: parsing the notation -------------------------------------------------------------

Spec = Any  # a primitive name, a record name, "Definitions", or (wrapper, spec[, spec])
_PRIMITIVES = frozenset({"bool", "u8", "u64", "i32", "i64", "f64", "uuid", "blob_id", "commit_id", "string", "blob"})
_WRAPPERS = {"opt": 1, "ref": 1, "set": 1, "vector": 1, "map": 2}


def _split_top(text: str) -> list[str]:
    """Split on the commas that are not inside angle brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    if last:
        parts.append(last)
    return parts


def _parse_spec(text: str) -> Spec:
    m = re.fullmatch(r"(\w+)<(.*)>", text.strip())
    if m is None:
        name = text.strip()
        if name not in _PRIMITIVES and name not in _RECORDS and name != "Definitions":
            raise ValueError(f"unknown field type {name!r}")
        return name
    wrapper, inner = m.groups()
    args = _split_top(inner)
    if _WRAPPERS.get(wrapper) != len(args):
        raise ValueError(f"bad field type {text!r}")
    return (wrapper, *(_parse_spec(a) for a in args))


def _parse_fields(layout: str) -> tuple[tuple[str, Spec], ...]:
    fields = []
    for part in _split_top(layout):
        spec_text, _, name = part.rpartition(" ")
        fields.append((name, _parse_spec(spec_text)))
    for _, spec in fields[:-1]:
        # Definitions are not self-delimiting in this codec: they must end the body.
        if spec == ("ref", "Definitions"):
            raise ValueError("Definitions must be the last field of a body")
    return tuple(fields)


_RECORD_FIELDS: dict[str, tuple[tuple[str, Spec], ...]] = {name: _parse_fields(layout)
                                                           for name, (_, layout) in _RECORDS.items()}


@dataclass(frozen=True)
class MessageType:
    """One of the 72 message types: its label, uuid, body fields and (for a call) normal reply."""

    name: str
    uuid: bytes
    fields: tuple[tuple[str, Spec], ...]
    reply: str | None

    def is_call(self) -> bool:
        return self.reply is not None


MESSAGES: dict[str, MessageType] = {
    name: MessageType(name, uuid_module.UUID(text).bytes, _parse_fields(layout), reply)
    for name, text, layout, reply in _CATALOGUE
}
BY_UUID: dict[bytes, MessageType] = {m.uuid: m for m in MESSAGES.values()}


class Message(NamedTuple):
    """A decoded message: its type and its field values, in body order."""

    type: MessageType
    args: tuple[Any, ...]

    @property
    def name(self) -> str:
        return self.type.name


# --- encoding ------------------------------------------------------------------------------------

_ID_SIZES = {"uuid": 16, "blob_id": 20, "commit_id": 20}


def _write(w: Writer, spec: Spec, value: Any) -> None:
    if isinstance(spec, tuple):
        wrapper = spec[0]
        if wrapper in ("opt", "ref"):
            w.boolean(value is not None)
            if value is not None:
                _write(w, spec[1], value)
        elif wrapper in ("set", "vector"):
            items = list(value)
            w.u64(len(items))
            for item in items:
                _write(w, spec[1], item)
        else:  # map: a list of (key, value) pairs, or a dict
            pairs = list(value.items()) if isinstance(value, dict) else list(value)
            w.u64(len(pairs))
            for k, v in pairs:
                _write(w, spec[1], k)
                _write(w, spec[2], v)
        return
    if spec in _RECORD_FIELDS:
        for (_, sub), item in zip(_RECORD_FIELDS[spec], value, strict=True):
            _write(w, sub, item)
    elif spec == "bool":
        w.boolean(bool(value))
    elif spec == "u8":
        w.number(T.UINT8, value)
    elif spec == "u64":
        w.number(T.UINT64, value)
    elif spec == "i32":
        w.number(T.INT32, value)
    elif spec == "i64":
        w.number(T.INT64, value)
    elif spec == "f64":
        w.number(T.DOUBLE, value)
    elif spec in _ID_SIZES:
        if not isinstance(value, bytes | bytearray) or len(value) != _ID_SIZES[spec]:
            raise ValueError(f"a {spec} must be {_ID_SIZES[spec]} bytes")
        {"uuid": w.uuid, "blob_id": w.blob_id, "commit_id": w.commit_id}[spec](bytes(value))
    elif spec == "string":
        w.string(value)
    elif spec == "blob":
        w.blob(bytes(value))
    else:  # Definitions: already token-encoded bytes
        w.buf += value


def encode_body(message_type: MessageType, args: Iterable[Any]) -> bytes:
    values = tuple(args)
    if len(values) != len(message_type.fields):
        raise ValueError(f"{message_type.name} takes {len(message_type.fields)} fields, got {len(values)}")
    w = Writer(token=True)
    for (_, spec), value in zip(message_type.fields, values):
        _write(w, spec, value)
    return w.getvalue()


def encode_message(name: str, *args: Any) -> bytes:
    """The whole frame (length prefix included) of message ``name`` with these field values."""
    message_type = MESSAGES[name]
    return frame(message_type.uuid, encode_body(message_type, args))


def frame(message_uuid: bytes, body: bytes) -> bytes:
    """A frame around any uuid and body (tests craft hostile ones with it)."""
    payload = b"\x0d" + message_uuid + b"\x0f" + _U64LE.pack(len(body)) + body
    return LENGTH.pack(len(payload)) + payload


# --- decoding ------------------------------------------------------------------------------------


def _read(r: Reader, spec: Spec) -> Any:
    if isinstance(spec, tuple):
        wrapper = spec[0]
        if wrapper in ("opt", "ref"):
            return _read(r, spec[1]) if r.boolean() else None
        count = r.count(1)  # every element takes at least one token byte: a count cannot balloon
        if wrapper in ("set", "vector"):
            return [_read(r, spec[1]) for _ in range(count)]
        return [(_read(r, spec[1]), _read(r, spec[2])) for _ in range(count)]
    if spec in _RECORD_FIELDS:
        cls = _RECORDS[spec][0]
        return cls(*(_read(r, sub) for _, sub in _RECORD_FIELDS[spec]))
    if spec == "bool":
        return r.boolean()
    if spec == "u8":
        return r.number(T.UINT8)
    if spec == "u64":
        return r.number(T.UINT64)
    if spec == "i32":
        return r.number(T.INT32)
    if spec == "i64":
        return r.number(T.INT64)
    if spec == "f64":
        return r.number(T.DOUBLE)
    if spec == "uuid":
        return r.uuid()
    if spec == "blob_id":
        return r.blob_id()
    if spec == "commit_id":
        return r.commit_id()
    if spec == "string":
        return r.string()
    if spec == "blob":
        return r.blob()
    rest = r.data[r.pos:]  # Definitions: the rest of the body, decoded by the caller
    r.pos = r.size
    return rest


def decode_body(message_type: MessageType, body: bytes) -> Message:
    r = Reader(body, token=True)
    try:
        args = tuple(_read(r, spec) for _, spec in message_type.fields)
    except CommitDBError as e:
        raise ProtocolError(f"{message_type.name}: undecodable body: {e}") from None
    return Message(message_type, args)


def split_payload(payload: bytes) -> tuple[bytes, bytes]:
    """(message uuid, body) of a payload; ProtocolError when it is not ``0d uuid 0f len body``."""
    if len(payload) < PAYLOAD_HEADER or payload[0] != 0x0D or payload[17] != 0x0F:
        raise ProtocolError("a payload must start with a uuid token and a blob token")
    (length,) = _U64LE.unpack_from(payload, 18)
    if length != len(payload) - PAYLOAD_HEADER:
        raise ProtocolError(f"the body announces {length} bytes but the frame holds {len(payload) - PAYLOAD_HEADER}")
    return payload[1:17], payload[PAYLOAD_HEADER:]


def decode_payload(payload: bytes) -> Message:
    """The message of one payload (the frame without its length prefix)."""
    message_uuid, body = split_payload(payload)
    message_type = BY_UUID.get(message_uuid)
    if message_type is None:
        raise UnknownMessageError.of(message_uuid)
    return decode_body(message_type, body)


def decode_frame(data: bytes) -> Message:
    """The message of one whole frame, length prefix included (nothing may follow)."""
    if len(data) < LENGTH.size or LENGTH.unpack_from(data)[0] != len(data) - LENGTH.size:
        raise ProtocolError("the length prefix does not match the frame")
    return decode_payload(data[LENGTH.size:])


def check_length(length: int, max_payload: int) -> None:
    if length < PAYLOAD_HEADER:
        raise ProtocolError(f"a frame of {length} bytes is shorter than any message ({PAYLOAD_HEADER})")
    if length > max_payload:
        raise FrameTooLargeError(f"frame of {length} bytes announced; the limit is {max_payload} bytes")


def looks_like_viper(head: bytes) -> bool:
    """Whether the first 9 bytes of a connection start a reference frame: a big-endian length
    (first byte zero; a commitdb handshake starts with a small little-endian length) and the
    uuid token that opens every payload."""
    return len(head) >= 9 and head[0] == 0 and head[8] == 0x0D


class FrameReader(FrameSplitter):
    """Incremental framing of the reference protocol: ``feed`` bytes, get back complete
    payloads (big-endian lengths, checked first)."""

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        super().__init__(max_payload, LENGTH, check_length)

    def pending(self) -> int:
        return len(self._buffer)


# --- the error record --------------------------------------------------------------------------


class ErrorInfo(NamedTuple):
    """The body of ThrowError."""

    host: str
    pid: str
    component: str
    domain: str
    code: int
    message: str

    def text(self) -> str:
        """The reference client's rendering: ``[pid@host]:component:domain:code:message``."""
        return f"[{self.pid}@{self.host}]:{self.component}:{self.domain}:{self.code}:{self.message}"


# --- conversions to and from commitdb's storage objects -----------------------------------------


def layout_text(layout: BlobLayout) -> str:
    """``BlobLayout(9, 3)`` -> ``'float-3'`` (ValidationError for an unknown type or count)."""
    from commitdb.blobs import BlobLayout as Layout

    return Layout(layout.data_type, layout.components).representation()


def wire_layout(text: str) -> BlobLayout:
    from commitdb.blobs import as_layout

    parsed = as_layout(text)
    return BlobLayout(parsed.data_type_code(), parsed.components())


def wire_header(h: Any) -> CommitHeader:
    """A storage ``CommitHeader`` as the wire record."""
    return CommitHeader(h.id, h.parent, float(h.ts), h.label_text, h.type_code, h.target)


def wire_commit(c: Any) -> CommitData:
    return CommitData(wire_header(c.header()), c.data())


def storage_commit(c: CommitData) -> Any:
    """The wire record as a storage ``CommitData``; ProtocolError for a null header or bad type."""
    from commitdb.storage.base import CommitData as StoredCommit
    from commitdb.storage.base import CommitHeader as StoredHeader

    h = c.header
    if h is None:
        raise ProtocolError("a commit arrived without its header (null reference)")
    if h.type not in (0, 1, 2, 3):
        raise ProtocolError(f"unknown commit type {h.type}")
    return StoredCommit(StoredHeader(h.commit_id, h.parent_id, h.type, h.target_id, h.timestamp, h.label), c.data)
