"""Scalar values: bool, integers, reals, string, uuid, ids, blob, void.

Scalars are immutable: ``copy()`` returns the value itself. Each holds its plain Python payload
in ``_v`` (bytes for uuid and ids).
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from typing import Any, ClassVar

from commitdb.errors import RangeError, TypeMismatchError, ValidationError
from commitdb.values.types import (
    Type,
    TypeBlob,
    TypeBlobId,
    TypeBool,
    TypeCommitId,
    TypeDouble,
    TypeFloat,
    TypeInt8,
    TypeInt16,
    TypeInt32,
    TypeInt64,
    TypeString,
    TypeUInt8,
    TypeUInt16,
    TypeUInt32,
    TypeUInt64,
    TypeUUId,
    TypeVoid,
    parse_uuid,
    uuid_text,
)
from commitdb.values.value import Value

_F32 = struct.Struct("<f")


def to_float32(x: float) -> float:
    """Round a Python float to binary32; RangeError when finite but too large."""
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:
        raise RangeError(f"value is not in the range of 'float' (got {x!r})") from None


def float32_text(x: float) -> str:
    """The shortest decimal text that reads back as the same binary32 value."""
    if math.isnan(x) or math.isinf(x):
        return real_text(x)
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        try:
            if to_float32(float(text)) == x:
                return real_text(float(text))
        except RangeError:
            # near the largest binary32 the rounded text may lie beyond it: not a candidate
            continue
    return real_text(x)


def real_text(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _type_name(obj: object) -> str:
    return type(obj).__name__


class _Scalar(Value):
    __slots__ = ("_v",)
    _type: ClassVar[Type]  # type: ignore[misc]

    def _key(self) -> Any:
        return self._v

    def __hash__(self) -> int:
        return hash(self._v)

    def get(self) -> Any:
        return self._v

    def encoded(self) -> Any:
        return self._v

    def __reduce__(self) -> Any:
        return (self.__class__, (self._v,))


class ValueVoid(_Scalar):
    _type = TypeVoid()

    def __init__(self, initial_value: Any = None) -> None:
        self._v = None

    def _key(self) -> Any:
        return ()

    def representation(self) -> str:
        return "void"

    def encoded(self) -> Any:
        return None

    def __reduce__(self) -> Any:
        return (self.__class__, ())


class ValueBool(_Scalar):
    _type = TypeBool()

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            initial_value = False
        elif isinstance(initial_value, ValueBool):
            initial_value = initial_value._v
        elif not isinstance(initial_value, bool):
            raise TypeMismatchError(f"expected type 'bool', got '{_type_name(initial_value)}'")
        self._v = initial_value

    def representation(self) -> str:
        return "true" if self._v else "false"

    def __bool__(self) -> bool:
        return self._v


class _Integer(_Scalar):
    _min = 0
    _max = 0

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            initial_value = 0
        elif isinstance(initial_value, _Integer):
            initial_value = initial_value._v
        elif isinstance(initial_value, bool) or not isinstance(initial_value, int):
            raise TypeMismatchError(
                f"expected type 'int' for {self._type}, got '{_type_name(initial_value)}' {initial_value!r}"
            )
        if not self._min <= initial_value <= self._max:
            raise RangeError(f"value is not in the range of '{self._type}' (got {initial_value})")
        self._v = int(initial_value)

    def representation(self) -> str:
        return str(self._v)

    def __int__(self) -> int:
        return self._v

    def __index__(self) -> int:
        return self._v


def _integer_class(name: str, t: Type, bits: int, signed: bool) -> type[_Integer]:
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    return type(name, (_Integer,), {"__slots__": (), "_type": t, "_min": lo, "_max": hi})


ValueUInt8 = _integer_class("ValueUInt8", TypeUInt8(), 8, False)
ValueUInt16 = _integer_class("ValueUInt16", TypeUInt16(), 16, False)
ValueUInt32 = _integer_class("ValueUInt32", TypeUInt32(), 32, False)
ValueUInt64 = _integer_class("ValueUInt64", TypeUInt64(), 64, False)
ValueInt8 = _integer_class("ValueInt8", TypeInt8(), 8, True)
ValueInt16 = _integer_class("ValueInt16", TypeInt16(), 16, True)
ValueInt32 = _integer_class("ValueInt32", TypeInt32(), 32, True)
ValueInt64 = _integer_class("ValueInt64", TypeInt64(), 64, True)


class _Real(_Scalar):
    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            initial_value = 0.0
        elif isinstance(initial_value, _Real | _Integer):
            initial_value = initial_value._v
        elif isinstance(initial_value, bool) or not isinstance(initial_value, int | float):
            raise TypeMismatchError(
                f"expected type 'float' for {self._type}, got '{_type_name(initial_value)}' {initial_value!r}"
            )
        try:
            as_float = float(initial_value)
        except OverflowError:  # an int beyond every float
            raise RangeError(f"value is not in the range of '{self._type}' (got {initial_value!r})") from None
        self._v = self._round(as_float)

    @staticmethod
    def _round(x: float) -> float:
        return x

    def _key(self) -> Any:
        v = self._v
        return (0, 0.0) if v != v else (1, v)

    def __hash__(self) -> int:
        return hash(self._key())

    def representation(self) -> str:
        return real_text(self._v)

    def __float__(self) -> float:
        return self._v


class ValueFloat(_Real):
    __slots__ = ()
    _type = TypeFloat()

    @staticmethod
    def _round(x: float) -> float:
        return to_float32(x)

    def representation(self) -> str:
        return float32_text(self._v)


class ValueDouble(_Real):
    __slots__ = ()
    _type = TypeDouble()


for _cls in (ValueFloat, ValueDouble):
    _cls.ZERO = _cls(0.0)  # type: ignore[attr-defined]
    _cls.ONE = _cls(1.0)  # type: ignore[attr-defined]
    _cls.INF = _cls(math.inf)  # type: ignore[attr-defined]
    _cls.NEG_INF = _cls(-math.inf)  # type: ignore[attr-defined]
    _cls.NAN = _cls(math.nan)  # type: ignore[attr-defined]


class ValueString(_Scalar):
    _type = TypeString()

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            initial_value = ""
        elif isinstance(initial_value, ValueString):
            initial_value = initial_value._v
        elif not isinstance(initial_value, str):
            raise TypeMismatchError(f"expected type 'str', got '{_type_name(initial_value)}' {initial_value!r}")
        try:
            initial_value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(f"string {initial_value!r} is not valid UTF-8") from None
        self._v = initial_value

    def representation(self) -> str:
        return quote(self._v)

    def __len__(self) -> int:
        return len(self._v)


def quote(text: str) -> str:
    """A string in single quotes with backslash escapes, as values print."""
    body = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{body}'"


class _Identifier(_Scalar):
    """Fixed-size identifiers held as raw bytes: uuid (16), blob_id and commit_id (20)."""

    _size = 0

    def _key(self) -> Any:
        return self._v

    def __hash__(self) -> int:
        return hash(self._v)

    def bytes_value(self) -> bytes:
        return self._v

    def is_valid(self) -> bool:
        return self._v != bytes(self._size)

    def __bool__(self) -> bool:
        return True

    def encoded(self) -> Any:
        return self.representation()


class ValueUUId(_Identifier):
    """A 128-bit UUID. ``ValueUUId()`` is the nil uuid; ``ValueUUId.create()`` a random one."""

    _type = TypeUUId()
    _size = 16

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            self._v = bytes(16)
        elif isinstance(initial_value, ValueUUId):
            self._v = initial_value._v
        elif isinstance(initial_value, bytes | bytearray) and len(initial_value) == 16:
            self._v = bytes(initial_value)
        elif isinstance(initial_value, str):
            try:
                self._v = parse_uuid(initial_value)
            except ValueError:
                raise ValidationError(f"malformed UUId {initial_value!r}") from None
        elif hasattr(initial_value, "bytes") and isinstance(initial_value.bytes, bytes):
            self._v = initial_value.bytes
        else:
            raise TypeMismatchError(f"expected a uuid, got '{_type_name(initial_value)}' {initial_value!r}")

    @staticmethod
    def create(text: str | None = None) -> ValueUUId:
        if text is None:
            raw = bytearray(os.urandom(16))
            raw[6] = (raw[6] & 0x0F) | 0x40
            raw[8] = (raw[8] & 0x3F) | 0x80
            return ValueUUId(bytes(raw))
        return ValueUUId(text)

    @staticmethod
    def try_parse(text: str) -> ValueUUId | None:
        try:
            return ValueUUId(parse_uuid(text))
        except (ValueError, AttributeError):
            return None

    def representation(self) -> str:
        return uuid_text(self._v)


ValueUUId.INVALID = ValueUUId()  # type: ignore[attr-defined]


class _Digest(_Identifier):
    _size = 20

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            self._v = bytes(20)
        elif isinstance(initial_value, _Digest):
            self._v = initial_value._v
        elif isinstance(initial_value, bytes | bytearray) and len(initial_value) == 20:
            self._v = bytes(initial_value)
        elif isinstance(initial_value, str) and _is_hex40(initial_value):
            self._v = bytes.fromhex(initial_value)
        else:
            raise ValidationError(f"malformed {self._type}: {initial_value!r}")

    @classmethod
    def try_parse(cls, text: str) -> Any:
        if isinstance(text, str) and _is_hex40(text):
            return cls(bytes.fromhex(text))
        return None

    def representation(self) -> str:
        return self._v.hex()

    def hexdigest(self) -> str:  # type: ignore[override]
        return self._v.hex()


def _is_hex40(text: str) -> bool:
    if len(text) != 40:
        return False
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


class ValueCommitId(_Digest):
    """A commit id (SHA-1). ``ValueCommitId()`` is the zero id, also ``ValueCommitId.INVALID``."""

    _type = TypeCommitId()


class ValueBlobId(_Digest):
    """A blob id: SHA-1 over the blob layout and the bytes (FORMAT.md §6)."""

    _type = TypeBlobId()

    def __init__(self, initial_value: Any = None, blob: Any = None) -> None:
        if blob is not None:
            # ValueBlobId(layout, blob): compute the content address.
            from commitdb.blobs import blob_id_bytes

            super().__init__(blob_id_bytes(initial_value, bytes(blob)))
        else:
            super().__init__(initial_value)


ValueCommitId.INVALID = ValueCommitId()  # type: ignore[attr-defined]
ValueBlobId.INVALID = ValueBlobId()  # type: ignore[attr-defined]


class ValueBlob(_Scalar):
    """Binary data. Behaves like ``bytes`` for ``bytes(b)``, ``len(b)`` and equality."""

    _type = TypeBlob()

    def __init__(self, initial_value: Any = None) -> None:
        if initial_value is None:
            self._v = b""
        elif isinstance(initial_value, ValueBlob):
            self._v = initial_value._v
        elif isinstance(initial_value, bytes | bytearray | memoryview):
            self._v = bytes(initial_value)
        else:
            raise TypeMismatchError(f"expected type 'bytes', got '{_type_name(initial_value)}'")

    def representation(self) -> str:
        return f"blob({len(self._v)})"

    def __bytes__(self) -> bytes:
        return self._v

    def __len__(self) -> int:
        return len(self._v)

    def size(self) -> int:
        return len(self._v)

    def sha1(self) -> str:
        return hashlib.sha1(self._v).hexdigest()


# Values handed to Python callers as their plain payload (struct fields, container items).
NATIVE_CLASSES = frozenset(
    {ValueBool, ValueUInt8, ValueUInt16, ValueUInt32, ValueUInt64, ValueInt8, ValueInt16, ValueInt32,
     ValueInt64, ValueFloat, ValueDouble, ValueString}
)

SCALAR_CLASS_BY_CODE: dict[int, type[_Scalar]] = {
    cls._type.code: cls
    for cls in (
        ValueVoid, ValueBool, ValueUInt8, ValueUInt16, ValueUInt32, ValueUInt64, ValueInt8, ValueInt16,
        ValueInt32, ValueInt64, ValueFloat, ValueDouble, ValueString, ValueUUId, ValueCommitId, ValueBlobId,
        ValueBlob,
    )
}
