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


class CommitOpcodeKey:
    """The document an opcode writes: (attachment runtime id, key instance id, key concept
    runtime id). Immutable, hashable, equal to another key with the same three ids."""

    __slots__ = ("_raw",)

    def __init__(self, attachment_runtime_id: Any, instance_id: Any, concept_runtime_id: Any) -> None:
        self._raw: DocKey = (_rid(attachment_runtime_id), _rid(instance_id), _rid(concept_runtime_id))

    @staticmethod
    def of(doc_key: DocKey) -> CommitOpcodeKey:
        """The key of an engine doc key (three raw 16-byte ids), without re-checking them."""
        key = CommitOpcodeKey.__new__(CommitOpcodeKey)
        key._raw = doc_key
        return key

    def attachment_runtime_id(self) -> ValueUUId:
        return ValueUUId(self._raw[0])

    def instance_id(self) -> ValueUUId:
        return ValueUUId(self._raw[1])

    def concept_runtime_id(self) -> ValueUUId:
        return ValueUUId(self._raw[2])

    def doc_key(self) -> DocKey:
        return self._raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommitOpcodeKey) and self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        a, i, c = (ValueUUId(x).representation() for x in self._raw)
        return f"CommitOpcodeKey(attachment={a}, instance={i}, concept={c})"


class CommitOpcode:
    """One recorded mutation: the base of the ten opcode kinds (SPEC §4, §14.4).

    Every opcode has ``type()`` (its kind's name) and ``key()`` (a CommitOpcodeKey); each kind
    adds only the accessors it carries — ``path()``, ``value()``, ``position()``,
    ``before_position()`` — so ``hasattr`` tells what an opcode holds, and the repr shows just
    those, e.g. ``Set_Union path=.tags value={'t'}``. Build one with ``new_opcode``.

    The engine reads the raw slots (``code`` on the class, ``doc_key``, ``_path``, ``_value``,
    ``_position``, ``_before``: None where the kind has no such field).
    """

    __slots__ = ("_before", "_path", "_position", "_value", "doc_key")

    code: int  # the opcode number of FORMAT.md §7.2, set by each kind

    def __init__(self, doc_key: DocKey, path: PathConst | None = None, value: Value | None = None,
                 position: bytes | None = None, before: bytes | None = None) -> None:
        self.doc_key, self._path, self._value = doc_key, path, value
        self._position, self._before = position, before

    def type(self) -> str:
        return OPCODE_NAMES[self.code]

    def key(self) -> CommitOpcodeKey:
        return CommitOpcodeKey.of(self.doc_key)

    def encode(self) -> bytes:
        w = codec.Writer()
        write_opcode(w, self)
        return w.getvalue()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommitOpcode) and self.encode() == other.encode()

    def __hash__(self) -> int:
        return hash(self.encode())

    def fields_text(self) -> str:
        """The kind's fields as ``name=value`` words, in the order of SPEC §14.4."""
        shown = [f"{name}={getattr(self, name)()!r}" for name in _SHOWN_FIELDS if hasattr(self, name)]
        return " ".join(shown)

    def __repr__(self) -> str:
        return f"{self.type()} {self.fields_text()}"


# The accessors of the opcode kinds, in the order their reprs show them.
_SHOWN_FIELDS = ("path", "before_position", "position", "value")


class _WithPath:
    __slots__ = ()
    _path: PathConst

    def path(self) -> PathConst:
        """The path inside the document that the opcode writes at."""
        return self._path


class _WithValue:
    __slots__ = ()
    _value: Value

    def value(self) -> Value:
        """A copy of the opcode's value: programs are cached and shared by every state."""
        return self._value.copy()


class _WithPosition:
    __slots__ = ()
    _position: bytes

    def position(self) -> ValueUUId:
        """The xarray position the opcode creates, writes or removes."""
        return ValueUUId(self._position)


class _WithBeforePosition:
    __slots__ = ()
    _before: bytes

    def before_position(self) -> ValueUUId:
        """The position the new one is inserted immediately before (END appends)."""
        return ValueUUId(self._before)


_PATH_VALUE = (_WithPath, _WithValue)

# The ten kinds in opcode number order (FORMAT.md §7.2): class name, the accessors the kind
# carries, what it does. Each kind is a small class of its own, so ``isinstance`` and
# ``hasattr`` tell what an opcode is and holds.
_KINDS: tuple[tuple[str, tuple[type, ...], str], ...] = (
    ("CommitOpcodeDocumentSet", (_WithValue,), "Creates or replaces the whole document."),
    ("CommitOpcodeDocumentUpdate", _PATH_VALUE, "Writes the value at the path, when the path resolves."),
    ("CommitOpcodeSetUnion", _PATH_VALUE, "Adds the value's elements to the set at the path."),
    ("CommitOpcodeSetSubtract", _PATH_VALUE, "Removes the value's elements from the set at the path."),
    ("CommitOpcodeMapUnion", _PATH_VALUE, "Inserts or replaces the value's entries in the map at the path."),
    ("CommitOpcodeMapSubtract", _PATH_VALUE, "Removes the keys of the value (a set) from the map at the path."),
    ("CommitOpcodeMapUpdate", _PATH_VALUE, "Overwrites the entries of the map at the path whose keys it holds."),
    ("CommitOpcodeXArrayInsert", (_WithPath, _WithBeforePosition, _WithPosition),
     "Creates ``position`` immediately before ``before_position`` in the xarray at the path."),
    ("CommitOpcodeXArrayUpdate", (_WithPath, _WithPosition, _WithValue),
     "Writes the value at a held position of the xarray at the path (reviving a removed one)."),
    ("CommitOpcodeXArrayRemove", (_WithPath, _WithPosition),
     "Drops the value at a position of the xarray at the path (the position stays)."),
)


def _opcode_class(code: int, name: str, accessors: tuple[type, ...], doc: str) -> type[CommitOpcode]:
    namespace = {"__slots__": (), "__doc__": doc, "__module__": __name__, "code": code}
    return type(name, (*accessors, CommitOpcode), namespace)


OPCODE_CLASSES: tuple[type[CommitOpcode], ...] = tuple(
    _opcode_class(code, *kind) for code, kind in enumerate(_KINDS)
)
(CommitOpcodeDocumentSet, CommitOpcodeDocumentUpdate, CommitOpcodeSetUnion, CommitOpcodeSetSubtract,
 CommitOpcodeMapUnion, CommitOpcodeMapSubtract, CommitOpcodeMapUpdate, CommitOpcodeXArrayInsert,
 CommitOpcodeXArrayUpdate, CommitOpcodeXArrayRemove) = OPCODE_CLASSES


def new_opcode(code: int, doc_key: DocKey, path: PathConst | None = None, value: Value | None = None,
               position: bytes | None = None, before: bytes | None = None) -> CommitOpcode:
    """An opcode of kind ``code`` (0..9) on ``doc_key``; the caller passes the fields that kind
    carries (FORMAT.md §7.2)."""
    return OPCODE_CLASSES[code](doc_key, path, value, position, before)


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
        """Whether the program sets the whole document of ``opcode_key`` (a CommitOpcodeKey)."""
        dk = _as_doc_key(opcode_key)
        return any(op.code == DOCUMENT_SET for op in self.doc_opcodes(dk))

    def document_set_keys(self, attachment_runtime_id: Any) -> list[CommitOpcodeKey]:
        """The keys of the documents of one attachment that the program sets whole, in
        recording order, each once."""
        rid = _rid(attachment_runtime_id)
        seen: dict[DocKey, None] = {}
        for op in self._opcodes:
            if op.code == DOCUMENT_SET and op.doc_key[0] == rid:
                seen.setdefault(op.doc_key)
        return [CommitOpcodeKey.of(dk) for dk in seen]

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
    if isinstance(k, CommitOpcodeKey):
        return k.doc_key()
    if isinstance(k, tuple) and len(k) == 3:
        return (_rid(k[0]), _rid(k[1]), _rid(k[2]))
    raise TypeError(f"expected an opcode key (CommitOpcodeKey), got {k!r}")


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
            ops.append(new_opcode(code, doc_key, value=codec.read_typed_value(r, named)))
            continue
        path = codec.read_path(r, named)
        if code == XARRAY_INSERT:
            before = r.uuid()
            ops.append(new_opcode(code, doc_key, path, position=r.uuid(), before=before))
        elif code == XARRAY_UPDATE:
            pos = r.uuid()
            ops.append(new_opcode(code, doc_key, path, value=codec.read_typed_value(r, named), position=pos))
        elif code == XARRAY_REMOVE:
            ops.append(new_opcode(code, doc_key, path, position=r.uuid()))
        else:
            # A value of an unexpected kind (a map for Set_Union ...) is well-formed bytes: it is
            # kept, and replay treats the opcode as a no-op (best effort, SPEC §6.3).
            ops.append(new_opcode(code, doc_key, path, value=codec.read_typed_value(r, named)))
    r.expect_end("the program")
    return CommitProgram(ops)


def value_blob_ids(value: Value) -> set[bytes]:
    """The valid blob ids a value holds, at any depth."""
    found: set[bytes] = set()
    _collect(value, found)
    return found


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
