"""Opcodes and programs: the recorded mutations of a commit, and their encoding (FORMAT.md §7.2)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from commitdb import codec
from commitdb.errors import CorruptedDataError
from commitdb.values import containers as C
from commitdb.values import types as T
from commitdb.values.path import PathConst
from commitdb.values.scalars import ValueBlobId, ValueUUId
from commitdb.values.value import Value

DOCUMENT_SET, DOCUMENT_UPDATE, SET_UNION, SET_SUBTRACT, MAP_UNION = 0, 1, 2, 3, 4
MAP_SUBTRACT, MAP_UPDATE, XARRAY_INSERT, XARRAY_UPDATE, XARRAY_REMOVE = 5, 6, 7, 8, 9
OPCODE_NAMES = ("Document_Set", "Document_Update", "Set_Union", "Set_Subtract", "Map_Union",
                "Map_Subtract", "Map_Update", "XArray_Insert", "XArray_Update", "XArray_Remove")

DocKey = tuple[bytes, bytes, bytes]  # (attachment rid, instance id, concept rid)


class CommitOpcode:
    """One recorded mutation. ``key()`` is (attachment runtime id, instance id, concept runtime id).

    The engine reads the raw slots (``code``, ``doc_key``, ``_path``, ``_value``, ``_position``,
    ``_before``); the documented accessors are the methods.
    """

    __slots__ = ("_before", "_path", "_position", "_value", "code", "doc_key")

    def __init__(self, code: int, doc_key: DocKey, path: PathConst | None = None, value: Value | None = None,
                 position: bytes | None = None, before: bytes | None = None) -> None:
        self.code, self.doc_key, self._path, self._value = code, doc_key, path, value
        self._position, self._before = position, before

    def type(self) -> str:
        return OPCODE_NAMES[self.code]

    def key(self) -> tuple[ValueUUId, ValueUUId, ValueUUId]:
        a, i, c = self.doc_key
        return (ValueUUId(a), ValueUUId(i), ValueUUId(c))

    def attachment_runtime_id(self) -> ValueUUId:
        return ValueUUId(self.doc_key[0])

    def instance_id(self) -> ValueUUId:
        return ValueUUId(self.doc_key[1])

    def concept_runtime_id(self) -> ValueUUId:
        return ValueUUId(self.doc_key[2])

    def path(self) -> PathConst | None:
        return self._path

    def value(self) -> Value | None:
        """A copy of the opcode's value: programs are cached and shared by every state."""
        return None if self._value is None else self._value.copy()

    def position(self) -> ValueUUId | None:
        return None if self._position is None else ValueUUId(self._position)

    def before_position(self) -> ValueUUId | None:
        return None if self._before is None else ValueUUId(self._before)

    def encode(self) -> bytes:
        w = codec.Writer()
        write_opcode(w, self)
        return w.getvalue()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommitOpcode) and self.encode() == other.encode()

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        parts = [self.type(), ValueUUId(self.doc_key[1]).representation()]
        if self._path is not None:
            parts.append(str(self._path))
        if self._before is not None:
            parts.append(f"before={ValueUUId(self._before)}")
        if self._position is not None:
            parts.append(f"position={ValueUUId(self._position)}")
        if self._value is not None:
            parts.append(repr(self._value))
        return "<" + " ".join(parts) + ">"


class CommitProgram:
    """The opcodes of one commit, in recording order."""

    __slots__ = ("_by_doc", "_opcodes")

    def __init__(self, opcodes: Iterable[CommitOpcode] = ()) -> None:
        self._opcodes = list(opcodes)
        self._by_doc: dict[DocKey, list[CommitOpcode]] | None = None

    def all_opcodes(self) -> list[CommitOpcode]:
        return list(self._opcodes)

    def raw_opcodes(self) -> list[CommitOpcode]:
        return self._opcodes

    def _index(self) -> dict[DocKey, list[CommitOpcode]]:
        if self._by_doc is None:
            by: dict[DocKey, list[CommitOpcode]] = {}
            for op in self._opcodes:
                by.setdefault(op.doc_key, []).append(op)
            self._by_doc = by
        return self._by_doc

    def doc_keys(self) -> list[DocKey]:
        return list(self._index())

    def doc_opcodes(self, doc_key: DocKey) -> list[CommitOpcode]:
        return self._index().get(doc_key, [])

    def opcodes(self, attachment_runtime_id: Any, key: Any) -> list[CommitOpcode]:
        """The opcodes on one document (attachment runtime id, key)."""
        return self.doc_opcodes(doc_key_of(attachment_runtime_id, key))

    def has_document_set(self, opcode_key: Any) -> bool:
        dk = _as_doc_key(opcode_key)
        return any(op.code == DOCUMENT_SET for op in self.doc_opcodes(dk))

    def document_set_keys(self, attachment_runtime_id: Any) -> list[Any]:
        rid = _rid(attachment_runtime_id)
        seen = []
        for op in self._opcodes:
            if op.code == DOCUMENT_SET and op.doc_key[0] == rid and op.doc_key not in seen:
                seen.append(op.doc_key)
        return [(ValueUUId(a), ValueUUId(i), ValueUUId(c)) for a, i, c in seen]

    def encode(self, token: bool = False) -> bytes:
        return encode_program(self._opcodes, token)

    def __len__(self) -> int:
        return len(self._opcodes)

    def __iter__(self) -> Any:
        return iter(self._opcodes)

    def __repr__(self) -> str:
        return f"CommitProgram({len(self._opcodes)} opcodes)"


def index_entries(program: CommitProgram) -> list[tuple[DocKey, bool]]:
    """The rows a commit adds to the per-document index: (doc key, has a Document_Set)."""
    return [(dk, any(op.code == DOCUMENT_SET for op in program.doc_opcodes(dk))) for dk in program.doc_keys()]


def _rid(x: Any) -> bytes:
    if isinstance(x, bytes):
        return x
    if isinstance(x, ValueUUId):
        return x.bytes_value()
    if hasattr(x, "rid") and isinstance(x.rid, bytes):
        return x.rid
    return ValueUUId(x).bytes_value()


def doc_key_of(attachment: Any, key: Any) -> DocKey:
    if isinstance(key, C.ValueKey):
        return (_rid(attachment), key._instance, key.concept_rid())
    raise TypeError(f"expected a key, got {key!r}")


def _as_doc_key(k: Any) -> DocKey:
    if isinstance(k, tuple) and len(k) == 3:
        return (_rid(k[0]), _rid(k[1]), _rid(k[2]))
    raise TypeError(f"expected an opcode key (attachment rid, instance id, concept rid), got {k!r}")


# --- encoding ------------------------------------------------------------------------------


def write_opcode(w: codec.Writer, op: CommitOpcode) -> None:
    w.u8(op.code)
    a, i, c = op.doc_key
    w.uuid(a)
    w.uuid(i)
    w.uuid(c)
    code = op.code
    if code == DOCUMENT_SET:
        codec.write_typed_value(w, op._value)  # type: ignore[arg-type]
        return
    codec.write_path(w, op._path)
    if code == XARRAY_INSERT:
        w.uuid(op._before)  # type: ignore[arg-type]
        w.uuid(op._position)  # type: ignore[arg-type]
    elif code == XARRAY_UPDATE:
        w.uuid(op._position)  # type: ignore[arg-type]
        codec.write_typed_value(w, op._value)  # type: ignore[arg-type]
    elif code == XARRAY_REMOVE:
        w.uuid(op._position)  # type: ignore[arg-type]
    else:
        codec.write_typed_value(w, op._value)  # type: ignore[arg-type]


def encode_program(opcodes: Iterable[CommitOpcode], token: bool = False) -> bytes:
    """FORMAT.md §7.2 bytes (StreamBinary, or StreamTokenBinary when ``token``)."""
    ops = list(opcodes)
    w = codec.Writer(token)
    w.u64(len(ops))
    for op in ops:
        write_opcode(w, op)
    return w.getvalue()


def decode_program(data: bytes, definitions: Any = None, token: bool = False) -> CommitProgram:
    """Decode FORMAT.md §7.2 bytes; CorruptedDataError on malformed input."""
    r = codec.Reader(data, token)
    named = codec.named_resolver(definitions)
    ops: list[CommitOpcode] = []
    for _ in range(r.count(49)):
        code = r.u8()
        if code > XARRAY_REMOVE:
            raise CorruptedDataError(f"unknown opcode {code}")
        doc_key = (r.uuid(), r.uuid(), r.uuid())
        if code == DOCUMENT_SET:
            ops.append(CommitOpcode(code, doc_key, value=codec.read_typed_value(r, named)))
            continue
        path = codec.read_path(r, named)
        if code == XARRAY_INSERT:
            before = r.uuid()
            ops.append(CommitOpcode(code, doc_key, path, position=r.uuid(), before=before))
        elif code == XARRAY_UPDATE:
            pos = r.uuid()
            ops.append(CommitOpcode(code, doc_key, path, value=codec.read_typed_value(r, named), position=pos))
        elif code == XARRAY_REMOVE:
            ops.append(CommitOpcode(code, doc_key, path, position=r.uuid()))
        else:
            # A value of an unexpected kind (a map for Set_Union ...) is well-formed bytes: it is
            # kept, and replay treats the opcode as a no-op (best effort, SPEC §6.3).
            ops.append(CommitOpcode(code, doc_key, path, value=codec.read_typed_value(r, named)))
    r.expect_end("the program")
    return CommitProgram(ops)


def collect_blob_ids(opcodes: Iterable[CommitOpcode]) -> set[bytes]:
    found: set[bytes] = set()
    for op in opcodes:
        if op._value is not None:
            _collect(op._value, found)
    return found


def _collect(v: Value, found: set[bytes]) -> None:
    if isinstance(v, ValueBlobId):
        if v.is_valid():
            found.add(v.bytes_value())
        return
    if isinstance(v, C.ValueStructure):
        for f in v.field_values():
            _collect(f, found)
    elif isinstance(v, C.ValueOptional | C.ValueVariant):
        held = v._v
        if held is not None:
            _collect(held, found)
    elif isinstance(v, C.ValueAny):
        if v.held() is not None:
            _collect(v.held(), found)  # type: ignore[arg-type]
    elif isinstance(v, C.ValueVector | C.ValueTuple):
        for item in v._items:
            _collect(item, found)
    elif isinstance(v, C.ValueSet):
        for item in v.members():
            _collect(item, found)
    elif isinstance(v, C.ValueMap):
        for k, item in v.entries():
            _collect(k, found)
            _collect(item, found)
    elif isinstance(v, C.ValueXArray):
        for item in v.raw_values().values():
            _collect(item, found)


def type_uses_blob_id(t: T.Type, _seen: set[bytes] | None = None) -> bool:
    """Whether values of ``t`` can hold a blob_id (so writes must check blob existence)."""
    if t.code == T.BLOB_ID or t.code == T.ANY:
        return True
    seen = _seen if _seen is not None else set()
    if t.rid in seen:
        return False
    seen.add(t.rid)
    return any(type_uses_blob_id(c, seen) for c in t.children())
