"""The canonical binary encoding (FORMAT.md §1-§5, §7.1): what is stored and what is hashed.

Two codecs write the same primitive bytes: ``StreamBinary`` (plain little-endian) and
``StreamTokenBinary`` (one token byte before each primitive write). ``.cdb`` files and commit
ids use StreamBinary; definitions encoded without a codec use the token form.

Decoders raise CorruptedDataError on truncated or malformed input, never IndexError.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable
from typing import Any

import commitdb.values.containers as C
import commitdb.values.scalars as S
from commitdb.errors import CorruptedDataError, ValidationError
from commitdb.values import types as T
from commitdb.values.types import Type
from commitdb.values.value import Value

STREAM_BINARY = "StreamBinary"
STREAM_TOKEN_BINARY = "StreamTokenBinary"
STREAM_RAW = "StreamRaw"

_U8, _U16, _U32, _U64 = struct.Struct("<B"), struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
_I8, _I16, _I32, _I64 = struct.Struct("<b"), struct.Struct("<h"), struct.Struct("<i"), struct.Struct("<q")
_F32, _F64 = struct.Struct("<f"), struct.Struct("<d")

# code -> (struct, token) for numbers.
_NUMBER = {
    T.BOOL: (_U8, 0x00), T.UINT8: (_U8, 0x01), T.UINT16: (_U16, 0x02), T.UINT32: (_U32, 0x03),
    T.UINT64: (_U64, 0x04), T.INT8: (_I8, 0x05), T.INT16: (_I16, 0x06), T.INT32: (_I32, 0x07),
    T.INT64: (_I64, 0x08), T.FLOAT: (_F32, 0x09), T.DOUBLE: (_F64, 0x0A),
}
TOKEN_BLOB_ID, TOKEN_COMMIT_ID, TOKEN_UUID, TOKEN_STRING, TOKEN_BLOB, TOKEN_ARRAY = 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10


class Writer:
    """Appends primitive writes to a buffer; ``token`` selects StreamTokenBinary."""

    __slots__ = ("buf", "canonical_reals", "token")

    def __init__(self, token: bool = False, canonical_reals: bool = False) -> None:
        self.buf = bytearray()
        self.token = token
        self.canonical_reals = canonical_reals

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def number(self, code: int, n: Any) -> None:
        st, tok = _NUMBER[code]
        if self.token:
            self.buf.append(tok)
        if self.canonical_reals and code in T.REAL_CODES:
            n = 0.0 if n == 0 else (math.nan if n != n else n)
        self.buf += st.pack(n)

    def u8(self, n: int) -> None:
        self.number(T.UINT8, n)

    def u64(self, n: int) -> None:
        self.number(T.UINT64, n)

    def boolean(self, b: bool) -> None:
        self.number(T.BOOL, 1 if b else 0)

    def raw(self, token: int, data: bytes) -> None:
        if self.token:
            self.buf.append(token)
        self.buf += data

    def uuid(self, data: bytes) -> None:
        self.raw(TOKEN_UUID, data)

    def commit_id(self, data: bytes) -> None:
        self.raw(TOKEN_COMMIT_ID, data)

    def blob_id(self, data: bytes) -> None:
        self.raw(TOKEN_BLOB_ID, data)

    def string(self, text: str) -> None:
        data = text.encode("utf-8")
        if self.token:
            self.buf.append(TOKEN_STRING)
        self.buf += _U64.pack(len(data))
        self.buf += data

    def blob(self, data: bytes) -> None:
        if self.token:
            self.buf.append(TOKEN_BLOB)
        self.buf += _U64.pack(len(data))
        self.buf += data

    def array(self, code: int, numbers: list[Any]) -> None:
        """A numeric array (vec/mat): raw elements, announced by a header in token mode."""
        st, tok = _NUMBER[code]
        if self.token:
            self.buf += bytes([TOKEN_ARRAY, tok, 0x04]) + _U64.pack(len(numbers))
        for n in numbers:
            if self.canonical_reals and code in T.REAL_CODES:
                n = 0.0 if n == 0 else (math.nan if n != n else n)
            self.buf += st.pack(n)


# The most items of a zero-byte encoding (vector<void>...) a decoder accepts under one count.
MAX_ZERO_SIZE_ITEMS = 1 << 20

_MIN_SIZE_CACHE: dict[bytes, int] = {}
_FIXED_SIZE = {T.VOID: 0, T.BLOB_ID: 20, T.COMMIT_ID: 20, T.UUID: 16, T.STRING: 8, T.BLOB: 8,
               T.OPTIONAL: 1, T.VECTOR: 8, T.SET: 8, T.MAP: 8, T.XARRAY: 40, T.ANY: 1, T.ENUMERATION: 1,
               T.KEY: 32}


def min_value_size(t: Type) -> int:
    """A lower bound of the StreamBinary size of any value of ``t`` (token mode only adds bytes)."""
    found = _MIN_SIZE_CACHE.get(t.rid)
    if found is not None:
        return found
    code = t.code
    if code in _NUMBER:
        size = _NUMBER[code][0].size
    elif code in _FIXED_SIZE:
        size = _FIXED_SIZE[code]
    elif code == T.VEC:
        size = min_value_size(t.element_type()) * t.size()  # type: ignore[attr-defined]
    elif code == T.MAT:
        size = min_value_size(t.element_type()) * t.columns() * t.rows()  # type: ignore[attr-defined]
    elif code == T.TUPLE:
        size = sum(min_value_size(sub) for sub in t.types())  # type: ignore[attr-defined]
    elif code == T.VARIANT:
        size = 1 + min(min_value_size(sub) for sub in t.types())  # type: ignore[attr-defined]
    elif code == T.STRUCTURE:
        size = sum(min_value_size(f.type()) for f in t.fields())  # type: ignore[attr-defined]
    else:
        size = 0
    _MIN_SIZE_CACHE[t.rid] = size
    return size


class Reader:
    """Reads primitive writes back; every short read raises CorruptedDataError."""

    __slots__ = ("data", "pos", "size", "token")

    def __init__(self, data: bytes, token: bool = False) -> None:
        self.data = bytes(data)
        self.size = len(self.data)
        self.pos = 0
        self.token = token

    def _short(self, n: int) -> CorruptedDataError:
        return CorruptedDataError(f"truncated data: needed {n} bytes at offset {self.pos}, have {self.size - self.pos}")

    def _take(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if n < 0 or end > self.size:
            raise self._short(n)
        self.pos = end
        return self.data[pos:end]

    def _token(self, expected: int) -> None:
        if self.token:
            got = self._take(1)[0]
            if got != expected:
                raise CorruptedDataError(
                    f"unexpected token {got:#04x} at offset {self.pos - 1}, expected {expected:#04x}"
                )

    def number(self, code: int) -> Any:
        st, tok = _NUMBER[code]
        if self.token:
            self._token(tok)
        pos = self.pos
        end = pos + st.size
        if end > self.size:
            raise self._short(st.size)
        self.pos = end
        return st.unpack_from(self.data, pos)[0]

    def u8(self) -> int:
        return self.number(T.UINT8)

    def u64(self) -> int:
        return self.number(T.UINT64)

    def count(self, min_item_size: int = 1) -> int:
        """A u64 element count, checked against the bytes left so a hostile count cannot balloon.

        Items that may encode to zero bytes (``void``, an empty struct...) cannot be checked
        against the data left; their count is capped at ``MAX_ZERO_SIZE_ITEMS`` instead.
        """
        n = self.u64()
        if min_item_size <= 0:
            if n > MAX_ZERO_SIZE_ITEMS:
                raise CorruptedDataError(f"count {n} at offset {self.pos - 8} is too large")
        elif n * min_item_size > self.size - self.pos:
            raise CorruptedDataError(f"count {n} at offset {self.pos - 8} exceeds the data left")
        return n

    def boolean(self) -> bool:
        b = self.number(T.BOOL)
        if b not in (0, 1):
            raise CorruptedDataError(f"invalid bool byte {b} at offset {self.pos - 1}")
        return b == 1

    def raw(self, token: int, n: int) -> bytes:
        if self.token:
            self._token(token)
        return self._take(n)

    def uuid(self) -> bytes:
        return self.raw(TOKEN_UUID, 16)

    def commit_id(self) -> bytes:
        return self.raw(TOKEN_COMMIT_ID, 20)

    def blob_id(self) -> bytes:
        return self.raw(TOKEN_BLOB_ID, 20)

    def string(self) -> str:
        if self.token:
            self._token(TOKEN_STRING)
        n = self.number(T.UINT64) if not self.token else _U64.unpack(self._take(8))[0]
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptedDataError(f"invalid UTF-8 in a string at offset {self.pos}: {e}") from None

    def blob(self) -> bytes:
        self._token(TOKEN_BLOB)
        n = _U64.unpack(self._take(8))[0]
        return self._take(n)

    def array(self, code: int, n: int) -> list[Any]:
        st, tok = _NUMBER[code]
        if self.token:
            head = self._take(3)
            if head[0] != TOKEN_ARRAY or head[1] != tok or head[2] != 0x04:
                raise CorruptedDataError(f"bad array header at offset {self.pos - 3}")
            if _U64.unpack(self._take(8))[0] != n:
                raise CorruptedDataError(f"array size mismatch at offset {self.pos - 8}")
        return [st.unpack(self._take(st.size))[0] for _ in range(n)]

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def expect_end(self, what: str) -> None:
        if not self.at_end():
            raise CorruptedDataError(f"{len(self.data) - self.pos} trailing bytes after {what}")


# --- types ---------------------------------------------------------------------------------


def write_type(w: Writer, t: Type) -> None:
    """Type encoding (FORMAT.md §2)."""
    if not w.token:
        w.buf += t.enc
        return
    w.u8(t.code)
    code = t.code
    if code in (T.ENUMERATION, T.STRUCTURE, T.CONCEPT, T.CLUB):
        w.uuid(t.rid)
    elif code == T.VEC:
        write_type(w, t.element_type())  # type: ignore[attr-defined]
        w.u64(t.size())  # type: ignore[attr-defined]
    elif code == T.MAT:
        write_type(w, t.element_type())  # type: ignore[attr-defined]
        w.u64(t.columns())  # type: ignore[attr-defined]
        w.u64(t.rows())  # type: ignore[attr-defined]
    elif code in (T.TUPLE, T.VARIANT):
        w.u64(len(t.types()))  # type: ignore[attr-defined]
        for sub in t.types():  # type: ignore[attr-defined]
            write_type(w, sub)
    elif code == T.MAP:
        write_type(w, t.key_type())  # type: ignore[attr-defined]
        write_type(w, t.element_type())  # type: ignore[attr-defined]
    elif code in (T.OPTIONAL, T.VECTOR, T.SET, T.XARRAY, T.KEY):
        write_type(w, t.element_type())  # type: ignore[attr-defined]


def encode_type(t: Type, token: bool = False) -> bytes:
    w = Writer(token)
    write_type(w, t)
    return w.getvalue()


_MAX_TYPE_DEPTH = 64


def read_type(r: Reader, named: Callable[[int, bytes], Type], depth: int = 0) -> Type:
    """Decode a type; ``named(code, rid)`` resolves named types (raises when unknown)."""
    if depth > _MAX_TYPE_DEPTH:
        raise CorruptedDataError("type nesting too deep")
    code = r.u8()
    prim = T.PRIMITIVE_BY_CODE.get(code)
    if prim is not None:
        return prim
    if code in (T.ENUMERATION, T.STRUCTURE, T.CONCEPT, T.CLUB):
        return named(code, r.uuid())
    try:
        if code == T.VEC:
            return T.TypeVec(read_type(r, named, depth + 1), r.u64())
        if code == T.MAT:
            return T.TypeMat(read_type(r, named, depth + 1), r.u64(), r.u64())
        if code in (T.TUPLE, T.VARIANT):
            n = r.count(1)
            subs = [read_type(r, named, depth + 1) for _ in range(n)]
            return T.TypeTuple(subs) if code == T.TUPLE else T.TypeVariant(subs)
        if code == T.MAP:
            return T.TypeMap(read_type(r, named, depth + 1), read_type(r, named, depth + 1))
        unary = {T.OPTIONAL: T.TypeOptional, T.VECTOR: T.TypeVector, T.SET: T.TypeSet, T.XARRAY: T.TypeXArray,
                 T.KEY: T.TypeKey}.get(code)
        if unary is not None:
            return unary(read_type(r, named, depth + 1))
    except CorruptedDataError:
        raise
    except Exception as e:  # a structurally invalid type (vec of string, key of int...)
        raise CorruptedDataError(f"invalid type encoding: {e}") from None
    raise CorruptedDataError(f"unknown type code {code:#04x} at offset {r.pos - 1}")


# --- values --------------------------------------------------------------------------------


def write_value(w: Writer, v: Value) -> None:
    """Value encoding without its type (FORMAT.md §4)."""
    t = v._type
    code = t.code
    if code in _NUMBER:
        w.number(code, v._v)  # type: ignore[attr-defined]
    elif code == T.STRING:
        w.string(v._v)  # type: ignore[attr-defined]
    elif code == T.UUID:
        w.uuid(v._v)  # type: ignore[attr-defined]
    elif code == T.COMMIT_ID:
        w.commit_id(v._v)  # type: ignore[attr-defined]
    elif code == T.BLOB_ID:
        w.blob_id(v._v)  # type: ignore[attr-defined]
    elif code == T.BLOB:
        w.blob(v._v)  # type: ignore[attr-defined]
    elif code == T.VOID:
        pass
    elif code == T.STRUCTURE:
        for f in v._fields:  # type: ignore[attr-defined]
            write_value(w, f)
    elif code == T.OPTIONAL:
        held = v._v  # type: ignore[attr-defined]
        w.boolean(held is not None)
        if held is not None:
            write_value(w, held)
    elif code == T.VECTOR:
        items = v._items  # type: ignore[attr-defined]
        w.u64(len(items))
        for item in items:
            write_value(w, item)
    elif code == T.SET:
        members = v.members()  # type: ignore[attr-defined]
        w.u64(len(members))
        for item in members:
            write_value(w, item)
    elif code == T.MAP:
        entries = v.entries()  # type: ignore[attr-defined]
        w.u64(len(entries))
        for k, item in entries:
            write_value(w, k)
            write_value(w, item)
    elif code == T.ENUMERATION:
        w.u8(v.index())  # type: ignore[attr-defined]
    elif code == T.KEY:
        w.uuid(v._instance)  # type: ignore[attr-defined]
        w.uuid(v.concept_rid())  # type: ignore[attr-defined]
    elif code in (T.TUPLE,):
        for item in v._items:  # type: ignore[attr-defined]
            write_value(w, item)
    elif code in (T.VEC, T.MAT):
        w.array(t.element_type().code, [item._v for item in v._items])  # type: ignore[attr-defined]
    elif code == T.VARIANT:
        w.u8(v._index)  # type: ignore[attr-defined]
        write_value(w, v._v)  # type: ignore[attr-defined]
    elif code == T.ANY:
        held = v._v  # type: ignore[attr-defined]
        w.boolean(held is not None)
        if held is not None:
            write_type(w, held._type)
            write_value(w, held)
    elif code == T.XARRAY:
        positions = v._positions  # type: ignore[attr-defined]
        w.u64(len(positions))
        for p in positions:
            w.uuid(p)
        disabled = sorted(v._disabled)  # type: ignore[attr-defined]
        w.u64(len(disabled))
        for p in disabled:
            w.uuid(p)
        vals = sorted(v._values.items())  # type: ignore[attr-defined]
        w.u64(len(vals))
        for p, item in vals:
            w.uuid(p)
            write_value(w, item)
    else:
        raise ValidationError(f"cannot encode a value of type {t}")


def encode_value(v: Value, token: bool = False) -> bytes:
    w = Writer(token)
    write_value(w, v)
    return w.getvalue()


def write_typed_value(w: Writer, v: Value) -> None:
    """``T.enc ‖ value``: how opcode arguments and path items carry values."""
    write_type(w, v._type)
    write_value(w, v)


def value_hexdigest(v: Value) -> str:
    """SHA1(rid(type) ‖ StreamBinary(v)) with -0.0 hashed as 0.0 and every NaN as one NaN."""
    w = Writer(canonical_reals=True)
    write_value(w, v)
    return hashlib.sha1(v._type.rid + w.getvalue()).hexdigest()


def read_value(r: Reader, t: Type, named: Callable[[int, bytes], Type] | None = None, depth: int = 0) -> Value:
    """Decode a value of type ``t``; ``named`` resolves types inside ``any`` values."""
    if depth > _MAX_TYPE_DEPTH * 2:
        raise CorruptedDataError("value nesting too deep")
    code = t.code
    try:
        if code in _NUMBER:
            n = r.number(code)
            if code == T.BOOL:
                if n not in (0, 1):
                    raise CorruptedDataError(f"invalid bool byte {n}")
                n = n == 1
            return S.SCALAR_CLASS_BY_CODE[code](n)
        if code == T.STRING:
            return S.ValueString(r.string())
        if code == T.UUID:
            return S.ValueUUId(r.uuid())
        if code == T.COMMIT_ID:
            return S.ValueCommitId(r.commit_id())
        if code == T.BLOB_ID:
            return S.ValueBlobId(r.blob_id())
        if code == T.BLOB:
            return S.ValueBlob(r.blob())
        if code == T.VOID:
            return S.ValueVoid()
        d = depth + 1
        if code == T.STRUCTURE:
            s = C.ValueStructure.__new__(C.ValueStructure)
            object.__setattr__(s, "_type", t)
            object.__setattr__(s, "_fields", [read_value(r, f.type(), named, d) for f in t.fields()])  # type: ignore[attr-defined]
            return s
        if code == T.OPTIONAL:
            o = C.ValueOptional.__new__(C.ValueOptional)
            o._type = t
            o._v = read_value(r, t.element_type(), named, d) if r.boolean() else None  # type: ignore[attr-defined]
            return o
        if code == T.VECTOR:
            vec = C.ValueVector(t)
            et = t.element_type()  # type: ignore[attr-defined]
            vec._items = [read_value(r, et, named, d) for _ in range(r.count(min_value_size(et)))]
            return vec
        if code == T.SET:
            st = C.ValueSet(t)
            et = t.element_type()  # type: ignore[attr-defined]
            for _ in range(r.count(min_value_size(et))):
                st.add_value(read_value(r, et, named, d))
            return st
        if code == T.MAP:
            m = C.ValueMap(t)
            kt, et = t.key_type(), t.element_type()  # type: ignore[attr-defined]
            for _ in range(r.count(min_value_size(kt) + min_value_size(et))):
                k = read_value(r, kt, named, d)
                m.put(k, read_value(r, et, named, d))
            return m
        if code == T.ENUMERATION:
            i = r.u8()
            cases = t.cases()  # type: ignore[attr-defined]
            if i >= len(cases):
                raise CorruptedDataError(f"enumeration {t} has no case index {i}")
            return C.ValueEnumeration(t, i)  # type: ignore[arg-type]
        if code == T.KEY:
            instance, concept_rid = r.uuid(), r.uuid()
            return _decode_key(t, instance, concept_rid, named)  # type: ignore[arg-type]
        if code == T.TUPLE:
            tup = C.ValueTuple.__new__(C.ValueTuple)
            tup._type = t
            tup._items = [read_value(r, sub, named, d) for sub in t.types()]  # type: ignore[attr-defined]
            return tup
        if code in (T.VEC, T.MAT):
            et = t.element_type()  # type: ignore[attr-defined]
            n = t.size() if code == T.VEC else t.columns() * t.rows()  # type: ignore[attr-defined]
            cls = C.ValueVec if code == T.VEC else C.ValueMat
            fixed = cls.__new__(cls)
            fixed._type = t
            scalar = S.SCALAR_CLASS_BY_CODE[et.code]
            fixed._items = [scalar(x) for x in r.array(et.code, n)]
            return fixed
        if code == T.VARIANT:
            i = r.u8()
            alts = t.types()  # type: ignore[attr-defined]
            if i >= len(alts):
                raise CorruptedDataError(f"variant {t} has no alternative {i}")
            var = C.ValueVariant.__new__(C.ValueVariant)
            var._type, var._index, var._v = t, i, read_value(r, alts[i], named, d)
            return var
        if code == T.ANY:
            a = C.ValueAny()
            if r.boolean():
                held_type = read_type(r, named or _no_named)
                a._v = read_value(r, held_type, named, d)
            return a
        if code == T.XARRAY:
            x = C.ValueXArray(t)
            et = t.element_type()  # type: ignore[attr-defined]
            x._positions = [r.uuid() for _ in range(r.count(16))]
            if not x._positions or x._positions[-1] != bytes(16) or len(set(x._positions)) != len(x._positions):
                raise CorruptedDataError("xarray positions must be unique and end with END")
            held = set(x._positions)
            x._disabled = {r.uuid() for _ in range(r.count(16))}
            for _ in range(r.count(16)):
                p = r.uuid()
                if p not in held:
                    raise CorruptedDataError("xarray value at a position it does not hold")
                x._values[p] = read_value(r, et, named, d)
            return x
    except CorruptedDataError:
        raise
    except (ValidationError, ValueError, TypeError) as e:
        raise CorruptedDataError(f"invalid {t} value: {e}") from None
    raise CorruptedDataError(f"cannot decode a value of type {t}")


def _no_named(code: int, rid: bytes) -> Type:
    raise CorruptedDataError(f"unknown named type {S.ValueUUId(rid)} (no definitions given)")


def _decode_key(t: T.TypeKey, instance: bytes, concept_rid: bytes, named: Callable[[int, bytes], Type] | None) -> Value:
    k = C.ValueKey.__new__(C.ValueKey)
    k._type, k._instance = t, instance
    target = t.element_type()
    if concept_rid == bytes(16):
        k._concept = None
    elif isinstance(target, T.TypeConcept) and target.rid == concept_rid:
        k._concept = target
    else:
        found = named(T.CONCEPT, concept_rid) if named is not None else None
        if not isinstance(found, T.TypeConcept):
            raise CorruptedDataError(f"a key refers to the unknown concept {S.ValueUUId(concept_rid)}")
        if isinstance(target, T.TypeConcept) and not found.is_a(target):
            # a concept's ancestry is part of its runtime id, so this never depends on the definitions
            raise CorruptedDataError(f"a {t} value refers to an instance of {found}")
        k._concept = found
    return k


def named_resolver(definitions: Any) -> Callable[[int, bytes], Type]:
    """A ``named`` callback looking types up in ``definitions`` (None: no named types)."""
    if definitions is None:
        return _no_named

    def resolve(code: int, rid: bytes) -> Type:
        found = definitions.type_by_rid(rid)
        if found is None or found.code != code:
            raise CorruptedDataError(f"unknown named type {S.ValueUUId(rid)}")
        return found

    return resolve


def decode_value(data: bytes, t: Type, definitions: Any = None, token: bool = False) -> Value:
    r = Reader(data, token)
    v = read_value(r, t, named_resolver(definitions))
    r.expect_end(f"a {t} value")
    return v


def read_typed_value(r: Reader, named: Callable[[int, bytes], Type]) -> Value:
    t = read_type(r, named)
    return read_value(r, t, named)


def _encoded(write: Callable[[Writer, Any], None], item: Any) -> bytes:
    w = Writer()
    write(w, item)
    return w.getvalue()


def _decoded(read: Callable[[Reader, Callable[[int, bytes], Type]], Any], data: bytes, definitions: Any,
             what: str) -> Any:
    """Read one item from ``data``, which must hold nothing else."""
    r = Reader(data)
    item = read(r, named_resolver(definitions))
    r.expect_end(what)
    return item


def encode_typed_value(v: Value) -> bytes:
    """``T.enc ‖ value`` in StreamBinary."""
    return _encoded(write_typed_value, v)


def decode_typed_value(data: bytes, definitions: Any = None) -> Value:
    return _decoded(read_typed_value, data, definitions, "a typed value")


# --- paths ---------------------------------------------------------------------------------


def write_path(w: Writer, path: Any) -> None:
    """FORMAT.md §7.1: u64 2n, then per component any(uint8 kind) ‖ any(value)."""
    from commitdb.values.path import component_value

    comps = path.raw_components()
    w.u64(2 * len(comps))
    uint8 = T.TypeUInt8()
    for c in comps:
        w.boolean(True)
        write_type(w, uint8)
        w.u8(c.kind_code())
        v = component_value(c)
        w.boolean(True)
        write_type(w, v._type)
        write_value(w, v)


_PATH_VALUE_CODES = {0: (T.VOID,), 1: (T.UINT64,), 3: (T.UUID,), 4: (T.STRING,), 6: (T.UINT64,)}


def read_path(r: Reader, named: Callable[[int, bytes], Type]) -> Any:
    from commitdb.values.path import PathComponent, PathConst

    n = r.count(4)
    if n % 2:
        raise CorruptedDataError(f"a path has an odd item count {n}")
    comps = []
    for _ in range(n // 2):
        if not r.boolean() or read_type(r, named).code != T.UINT8:
            raise CorruptedDataError("a path component kind must be an any(uint8)")
        kind = r.u8()
        if kind > 6:
            raise CorruptedDataError(f"unknown path component kind {kind}")
        if not r.boolean():
            raise CorruptedDataError("a path component value is empty")
        v = read_typed_value(r, named)
        allowed = _PATH_VALUE_CODES.get(kind)
        if allowed is not None and v._type.code not in allowed:
            raise CorruptedDataError(f"path component kind {kind} cannot carry a {v._type}")
        if kind in (1, 6, 4):
            payload: Any = v._v  # type: ignore[attr-defined]
        elif kind == 3:
            payload = v._v  # type: ignore[attr-defined]
        elif kind == 0:
            payload = None
        else:
            payload = v
        comps.append(PathComponent(kind, payload))
    return PathConst(comps)


def encode_path(path: Any) -> bytes:
    return _encoded(write_path, path)


def decode_path(data: bytes, definitions: Any = None) -> Any:
    return _decoded(read_path, data, definitions, "a path")
