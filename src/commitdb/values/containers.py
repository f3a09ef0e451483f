"""Composite values: optional, vector, set, map, xarray, tuple, variant, any, vec, mat, enum, key,
structure.

Composite values are mutable and hold Value objects; accessors hand back plain Python for
bool/int/float/str members (see ``out``) and the Value otherwise, so ``doc.nickname`` is a str and
``doc.position.x = 1.0`` edits in place. Every write is validated against the member type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commitdb.errors import KeyTypeError, TypeMismatchError, UnknownEnumCaseError, ValidationError
from commitdb.values.scalars import ValueUUId
from commitdb.values.types import (
    Type,
    TypeAny,
    TypeConcept,
    TypeEnumeration,
    TypeEnumerationCase,
    TypeKey,
    TypeMap,
    TypeMat,
    TypeOptional,
    TypeSet,
    TypeStructure,
    TypeTuple,
    TypeVariant,
    TypeVec,
    TypeVector,
    TypeXArray,
    parse_uuid,
    uuid_text,
)
from commitdb.values.value import Value, out

ZERO16 = bytes(16)


def _as(type_class: type, t: Any, *args: Any) -> Any:
    """Accept either the container type itself or its element type(s)."""
    if isinstance(t, type_class):
        return t
    return type_class(t, *args)


def _reject_text(init: Any, t: Type) -> None:
    if isinstance(init, str | bytes | bytearray | dict):
        raise TypeMismatchError(f"expected a sequence for {t}, got '{type(init).__name__}' {init!r}")


# --- optional ------------------------------------------------------------------------------


class ValueOptional(Value):
    """optional<T>: nil or one value. ``ValueOptional(type, value=None)``."""

    __slots__ = ("_type", "_v")

    def __init__(self, type: Type, value: Any = None) -> None:
        self._type = _as(TypeOptional, type)
        self._v = None if value is None else factory.create(self._type.element_type(), value)

    def is_nil(self) -> bool:
        return self._v is None

    def unwrap(self, encoded: bool = True) -> Any:
        if self._v is None:
            raise ValidationError(f"Try to unwrap empty {self._type}")
        return out(self._v) if encoded else self._v

    def wrap(self, value: Any) -> None:
        self._v = factory.create(self._type.element_type(), value)

    def clear(self) -> None:
        self._v = None

    def get(self, encoded: bool = True) -> Any:
        if self._v is None:
            return None
        return out(self._v) if encoded else self._v

    def _key(self) -> Any:
        return (0,) if self._v is None else (1, self._v._key())

    def representation(self) -> str:
        return "nil" if self._v is None else f"Optional({self._v.representation()})"

    def copy(self) -> ValueOptional:
        c = ValueOptional.__new__(ValueOptional)
        c._type, c._v = self._type, None if self._v is None else self._v.copy()
        return c

    def __bool__(self) -> bool:
        return self._v is not None


# --- vector --------------------------------------------------------------------------------


class ValueVector(Value):
    """vector<T>: an ordered list."""

    __slots__ = ("_items", "_type")

    def __init__(self, type: Type, values: Iterable[Any] | None = None) -> None:
        self._type = _as(TypeVector, type)
        self._items: list[Value] = []
        if values is not None:
            _reject_text(values, self._type)
            self.extend(values)

    def _elem(self, value: Any) -> Value:
        return factory.create(self._type.element_type(), value)

    def append(self, value: Any) -> None:
        self._items.append(self._elem(value))

    def extend(self, values: Iterable[Any]) -> None:
        _reject_text(values, self._type)
        self._items.extend([self._elem(v) for v in values])

    def insert(self, index: int, value: Any) -> None:
        self._items.insert(index, self._elem(value))

    def pop(self, index: int = -1) -> Any:
        return out(self._items.pop(index))

    def remove(self, value: Any) -> None:
        v = self._elem(value)
        for i, item in enumerate(self._items):
            if item == v:
                del self._items[i]
                return
        raise ValueError(f"{v!r} is not in the vector")

    def clear(self) -> None:
        self._items.clear()

    def at(self, index: int, encoded: bool = True) -> Any:
        if index < 0 or index >= len(self._items):
            raise IndexError(f"index {index} out of range for a vector of size {len(self._items)}")
        return out(self._items[index]) if encoded else self._items[index]

    def set(self, index: int, value: Any) -> None:
        self._items[index] = self._elem(value)

    def size(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, slice):
            raise TypeError("vectors do not support slicing")
        return out(self._items[index])

    def __setitem__(self, index: int, value: Any) -> None:
        self._items[index] = self._elem(value)

    def __delitem__(self, index: int) -> None:
        del self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return (out(v) for v in self._items)

    def __contains__(self, value: Any) -> bool:
        return any(item == value for item in self._items)

    def values(self) -> list[Value]:
        return list(self._items)

    def _key(self) -> Any:
        return (len(self._items), tuple(v._key() for v in self._items))

    def representation(self) -> str:
        return "[" + ", ".join(v.representation() for v in self._items) + "]"

    def copy(self) -> ValueVector:
        c = ValueVector.__new__(ValueVector)
        c._type, c._items = self._type, [v.copy() for v in self._items]
        return c


# --- set -----------------------------------------------------------------------------------


class ValueSet(Value):
    """set<T>: unique members kept in the runtime order."""

    __slots__ = ("_items", "_sorted", "_type")

    def __init__(self, type: Type, values: Iterable[Any] | None = None) -> None:
        self._type = _as(TypeSet, type)
        self._items: dict[Any, Value] = {}
        self._sorted: list[Value] | None = None
        if values is not None:
            _reject_text(values, self._type)
            for v in values:
                self.add(v)

    def _elem(self, value: Any) -> Value:
        return factory.create(self._type.element_type(), value)

    def add_value(self, v: Value) -> None:
        """Add an already validated member (the first of equal members is kept)."""
        k = v._key()
        if k not in self._items:
            self._items[k] = v
            self._sorted = None

    def add(self, value: Any) -> None:
        self.add_value(self._elem(value))

    def discard_value(self, v: Value) -> None:
        """Remove an already validated member if present."""
        if self._items.pop(v._key(), None) is not None:
            self._sorted = None

    def discard(self, value: Any) -> None:
        k = self._elem(value)._key()
        if self._items.pop(k, None) is not None:
            self._sorted = None

    def remove(self, value: Any) -> None:
        k = self._elem(value)._key()
        if k not in self._items:
            raise KeyError(f"{value!r} is not in the set")
        del self._items[k]
        self._sorted = None

    def clear(self) -> None:
        self._items.clear()
        self._sorted = None

    def members(self) -> list[Value]:
        """The members as Values, in the runtime order."""
        if self._sorted is None:
            self._sorted = [self._items[k] for k in sorted(self._items)]
        return self._sorted

    def update(self, values: Iterable[Any]) -> None:
        for v in values:
            self.add(v)

    def union(self, other: Iterable[Any]) -> ValueSet:
        c = self.copy()
        c.update(other)
        return c

    def intersection(self, other: Iterable[Any]) -> ValueSet:
        keep = ValueSet(self._type, other)
        return ValueSet(self._type, [v for v in self.members() if v._key() in keep._items])

    def difference(self, other: Iterable[Any]) -> ValueSet:
        drop = ValueSet(self._type, other)
        return ValueSet(self._type, [v for v in self.members() if v._key() not in drop._items])

    def __contains__(self, value: Any) -> bool:
        try:
            return self._elem(value)._key() in self._items
        except (ValueError, TypeError):
            return False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return (out(v) for v in self.members())

    def _key(self) -> Any:
        return (len(self._items), tuple(sorted(self._items)))

    def representation(self) -> str:
        return "{" + ", ".join(v.representation() for v in self.members()) + "}"

    def copy(self) -> ValueSet:
        c = ValueSet.__new__(ValueSet)
        c._type, c._sorted = self._type, None
        c._items = {k: v.copy() for k, v in self._items.items()}
        return c


# --- map -----------------------------------------------------------------------------------


class ValueMap(Value):
    """map<K, V>: entries kept in the runtime order of their keys."""

    __slots__ = ("_items", "_sorted", "_type")

    def __init__(self, type: Type, values: Any = None, element: Type | None = None) -> None:
        self._type = type if isinstance(type, TypeMap) else TypeMap(type, element)  # type: ignore[arg-type]
        self._items: dict[Any, tuple[Value, Value]] = {}
        self._sorted: list[tuple[Value, Value]] | None = None
        if values is not None:
            self.update(values)

    def _k(self, key: Any) -> Value:
        return factory.create(self._type.key_type(), key)

    def _v(self, value: Any) -> Value:
        return factory.create(self._type.element_type(), value)

    def put(self, k: Value, v: Value) -> None:
        """Insert or replace an entry with already validated values."""
        kk = k._key()
        old = self._items.get(kk)
        self._items[kk] = (old[0] if old is not None else k, v)
        if old is None:
            self._sorted = None
        elif self._sorted is not None:
            self._sorted = None

    def update(self, values: Any) -> None:
        if isinstance(values, ValueMap):
            pairs: Iterable[Any] = values.entries()
        elif isinstance(values, dict):
            pairs = values.items()
        elif isinstance(values, str | bytes):
            raise TypeMismatchError(f"expected a mapping for {self._type}, got {type(values).__name__}")
        else:
            pairs = values
        for pair in pairs:
            try:
                k, v = pair
            except (TypeError, ValueError):
                raise TypeMismatchError(f"expected (key, value) pairs for {self._type}, got {pair!r}") from None
            self.put(self._k(k), self._v(v))

    def entries(self) -> list[tuple[Value, Value]]:
        """(key, value) Values in key order."""
        if self._sorted is None:
            self._sorted = [self._items[k] for k in sorted(self._items)]
        return self._sorted

    def lookup(self, k: Value) -> Value | None:
        e = self._items.get(k._key())
        return None if e is None else e[1]

    def discard_key(self, k: Value) -> None:
        if self._items.pop(k._key(), None) is not None:
            self._sorted = None

    def __getitem__(self, key: Any) -> Any:
        e = self._items.get(self._k(key)._key())
        if e is None:
            raise KeyError(key)
        return out(e[1])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(self._k(key), self._v(value))

    def __delitem__(self, key: Any) -> None:
        kk = self._k(key)._key()
        if kk not in self._items:
            raise KeyError(key)
        del self._items[kk]
        self._sorted = None

    def get(self, key: Any = None, default: Any = None) -> Any:  # type: ignore[override]
        try:
            e = self._items.get(self._k(key)._key())
        except (ValueError, TypeError):
            return default
        return default if e is None else out(e[1])

    def pop(self, key: Any, *default: Any) -> Any:
        kk = self._k(key)._key()
        if kk in self._items:
            self._sorted = None
            return out(self._items.pop(kk)[1])
        if default:
            return default[0]
        raise KeyError(key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        k = self._k(key)
        e = self._items.get(k._key())
        if e is None:
            v = self._v(default)
            self.put(k, v)
            return out(v)
        return out(e[1])

    def clear(self) -> None:
        self._items.clear()
        self._sorted = None

    def keys(self) -> list[Any]:
        return [out(k) for k, _ in self.entries()]

    def values(self) -> list[Any]:
        return [out(v) for _, v in self.entries()]

    def items(self) -> list[tuple[Any, Any]]:
        return [(out(k), out(v)) for k, v in self.entries()]

    def __contains__(self, key: Any) -> bool:
        try:
            return self._k(key)._key() in self._items
        except (ValueError, TypeError):
            return False

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def _key(self) -> Any:
        return (len(self._items), tuple((k._key(), v._key()) for k, v in self.entries()))

    def representation(self) -> str:
        return "{" + ", ".join(f"{k.representation()}: {v.representation()}" for k, v in self.entries()) + "}"

    def copy(self) -> ValueMap:
        c = ValueMap.__new__(ValueMap)
        c._type, c._sorted = self._type, None
        c._items = {kk: (k.copy(), v.copy()) for kk, (k, v) in self._items.items()}
        return c


# --- xarray --------------------------------------------------------------------------------


class ValueXArray(Value):
    """xarray<T>: a list addressed by stable uuid positions, so concurrent inserts merge.

    ``positions()`` lists every position ever created, in order, ``END`` last. A position is
    live (it has a value), removed (no value; ``update`` revives it), or disabled (a tombstone
    left by an insert of a disabled commit: no value, and updates do nothing).
    """

    __slots__ = ("_disabled", "_positions", "_type", "_values")

    END = ValueUUId()

    def __init__(self, type: Type, values: Iterable[Any] | None = None) -> None:
        self._type = _as(TypeXArray, type)
        self._positions: list[bytes] = [ZERO16]
        self._disabled: set[bytes] = set()
        self._values: dict[bytes, Value] = {}
        if values is not None:
            _reject_text(values, self._type)
            for v in values:
                self.append(v)

    # --- engine-level primitives (raw 16-byte positions) ------------------------------------
    def insert_position(self, before: bytes, new: bytes, disabled: bool = False) -> bool:
        """Create ``new`` right before ``before``. Nothing moves if ``new`` is already held, and
        nothing happens if ``before`` is not held. Returns whether a position was created."""
        if new in self._positions_set():
            return False
        try:
            i = self._positions.index(before)
        except ValueError:
            return False
        self._positions.insert(i, new)
        if disabled:
            self._disabled.add(new)
        return True

    def _positions_set(self) -> set[bytes] | list[bytes]:
        return self._positions

    def update_position(self, position: bytes, value: Value) -> bool:
        """Write at a held, non-disabled position (reviving a removed one)."""
        if position == ZERO16 or position in self._disabled or position not in self._positions:
            return False
        self._values[position] = value
        return True

    def remove_position(self, position: bytes) -> bool:
        return self._values.pop(position, None) is not None

    def raw_positions(self) -> list[bytes]:
        return self._positions

    def raw_disabled(self) -> set[bytes]:
        return self._disabled

    def raw_values(self) -> dict[bytes, Value]:
        return self._values

    def live_entries(self) -> list[tuple[bytes, Value]]:
        vals = self._values
        return [(p, vals[p]) for p in self._positions if p in vals]

    # --- Python API -------------------------------------------------------------------------
    def _elem(self, value: Any) -> Value:
        return factory.create(self._type.element_type(), value)

    @staticmethod
    def _pos(position: Any) -> bytes:
        if isinstance(position, ValueUUId):
            return position.bytes_value()
        if isinstance(position, bytes) and len(position) == 16:
            return position
        if isinstance(position, str):
            return parse_uuid(position)
        raise TypeMismatchError(f"expected an xarray position (uuid), got {position!r}")

    def insert(self, before_position: Any, value: Any) -> ValueUUId:
        """Insert ``value`` before ``before_position`` (END appends); returns the new position."""
        v = self._elem(value)
        before = self._pos(before_position)
        if before not in self._positions:
            raise KeyError(f"position {uuid_text(before)} is not held by the xarray")
        new = ValueUUId.create()
        self.insert_position(before, new.bytes_value())
        self._values[new.bytes_value()] = v
        return new

    def append(self, value: Any) -> ValueUUId:
        return self.insert(ZERO16, value)

    def extend(self, values: Iterable[Any]) -> ValueUUId:
        for v in values:
            self.append(v)
        return self.END

    def update(self, position: Any, value: Any) -> None:
        p = self._pos(position)
        if not self.update_position(p, self._elem(value)):
            raise KeyError(f"position {uuid_text(p)} cannot be written")

    def remove(self, position: Any) -> None:
        p = self._pos(position)
        if not self.remove_position(p):
            raise KeyError(f"position {uuid_text(p)} holds no value")

    def at(self, position: Any, encoded: bool = True) -> Any:
        v = self._values.get(self._pos(position))
        if v is None:
            return None
        return out(v) if encoded else v

    def position(self, index: int) -> ValueUUId:
        return ValueUUId(self.live_entries()[index][0])

    def position_of(self, value: Any) -> ValueUUId | None:
        v = self._elem(value)
        for p, item in self.live_entries():
            if item == v:
                return ValueUUId(p)
        return None

    def positions(self) -> list[ValueUUId]:
        return [ValueUUId(p) for p in self._positions]

    def disabled_positions(self) -> list[ValueUUId]:
        return [ValueUUId(p) for p in sorted(self._disabled)]

    def items(self, encoded: bool = True) -> list[tuple[ValueUUId, Any]]:
        return [(ValueUUId(p), out(v) if encoded else v) for p, v in self.live_entries()]

    def values(self) -> list[Any]:
        return [out(v) for _, v in self.live_entries()]

    def size(self) -> int:
        return len(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values())

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int):
            return out(self.live_entries()[index][1])
        v = self._values.get(self._pos(index))
        if v is None:
            raise KeyError(index)
        return out(v)

    def _key(self) -> Any:
        vals = sorted((p, v._key()) for p, v in self._values.items())
        return (tuple(self._positions), tuple(sorted(self._disabled)), (len(vals), tuple(vals)))

    def representation(self) -> str:
        return "[" + ", ".join(v.representation() for _, v in self.live_entries()) + "]"

    def copy(self) -> ValueXArray:
        c = ValueXArray.__new__(ValueXArray)
        c._type = self._type
        c._positions = list(self._positions)
        c._disabled = set(self._disabled)
        c._values = {p: v.copy() for p, v in self._values.items()}
        return c


# --- tuple, vec, mat -----------------------------------------------------------------------


class _Fixed(Value):
    """A fixed-length sequence of values."""

    __slots__ = ("_items", "_type")

    def _types(self) -> tuple[Type, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fill(self, values: Iterable[Any] | None) -> None:
        types = self._types()
        if values is None:
            self._items = [factory.create(t) for t in types]
            return
        _reject_text(values, self._type)
        seq = list(values)
        if len(seq) != len(types):
            raise TypeMismatchError(f"{self._type} needs {len(types)} elements, got {len(seq)}")
        self._items = [factory.create(t, v) for t, v in zip(types, seq)]

    def __getitem__(self, index: int) -> Any:
        return out(self._items[index])

    def __setitem__(self, index: int, value: Any) -> None:
        self._items[index] = factory.create(self._types()[index], value)

    def at(self, index: int, encoded: bool = True) -> Any:
        if index < 0 or index >= len(self._items):
            raise IndexError(f"index {index} out of range for {self._type}")
        return out(self._items[index]) if encoded else self._items[index]

    def set(self, index: int, value: Any) -> None:
        self[index] = value

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return (out(v) for v in self._items)

    def values(self) -> list[Value]:
        return list(self._items)

    def _key(self) -> Any:
        return tuple(v._key() for v in self._items)

    def representation(self) -> str:
        return "(" + ", ".join(v.representation() for v in self._items) + ")"

    def copy(self) -> Any:
        c = self.__class__.__new__(self.__class__)
        c._type, c._items = self._type, [v.copy() for v in self._items]
        return c


class ValueTuple(_Fixed):
    __slots__ = ()

    def __init__(self, type: Type, values: Iterable[Any] | None = None) -> None:
        self._type = type if isinstance(type, TypeTuple) else TypeTuple(type)  # type: ignore[arg-type]
        self._fill(values)

    def _types(self) -> tuple[Type, ...]:
        return self._type.types()


class ValueVec(_Fixed):
    __slots__ = ()

    def __init__(self, type: TypeVec, values: Iterable[Any] | None = None) -> None:
        self._type = type
        self._fill(values)

    def _types(self) -> tuple[Type, ...]:
        return (self._type.element_type(),) * self._type.size()


class ValueMat(_Fixed):
    """mat<E, c, r>: column-major; ``m[i]`` is column i, ``len(m)`` the number of columns."""

    __slots__ = ()

    def __init__(self, type: TypeMat, columns: Iterable[Any] | None = None, identity: bool = False) -> None:
        self._type = type
        n = type.columns() * type.rows()
        if columns is None:
            self._fill(None)
            if identity:
                for i in range(min(type.columns(), type.rows())):
                    self._items[i * type.rows() + i] = factory.create(type.element_type(), 1)
            return
        _reject_text(columns, type)
        seq = list(columns)
        if len(seq) == type.columns() and all(isinstance(c, list | tuple) for c in seq):
            flat: list[Any] = []
            for col in seq:
                if len(col) != type.rows():
                    raise TypeMismatchError(f"each column of {type} needs {type.rows()} elements, got {len(col)}")
                flat.extend(col)
            seq = flat
        if len(seq) != n:
            raise TypeMismatchError(f"{type} needs {type.columns()} columns of {type.rows()} elements")
        self._fill(seq)

    def _types(self) -> tuple[Type, ...]:
        return (self._type.element_type(),) * (self._type.columns() * self._type.rows())

    def columns(self) -> list[tuple[Any, ...]]:
        r = self._type.rows()
        return [tuple(out(v) for v in self._items[c * r:(c + 1) * r]) for c in range(self._type.columns())]

    def __getitem__(self, index: int) -> Any:
        return self.columns()[index]

    def __len__(self) -> int:
        return self._type.columns()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.columns())

    def size(self) -> int:
        return len(self._items)

    def representation(self) -> str:
        r = self._type.rows()
        cols = [
            "(" + ", ".join(v.representation() for v in self._items[c * r:(c + 1) * r]) + ")"
            for c in range(self._type.columns())
        ]
        return "[" + ", ".join(cols) + "]"


# --- variant, any --------------------------------------------------------------------------


class ValueVariant(Value):
    """variant<T1..Tn>: one value of one of the alternatives (the index is kept)."""

    __slots__ = ("_index", "_type", "_v")

    def __init__(self, type: TypeVariant, value: Any = None) -> None:
        self._type = type
        if value is None:
            self._index, self._v = 0, factory.create(type.types()[0])
        else:
            self.wrap(value)

    def wrap(self, value: Any) -> None:
        self._index, self._v = factory.variant_choice(self._type, value)

    def unwrap(self, encoded: bool = True) -> Any:
        return out(self._v) if encoded else self._v

    def index(self) -> int:
        return self._index

    def held_type(self) -> Type:
        return self._type.types()[self._index]

    def _key(self) -> Any:
        return self._v.full_key()

    def representation(self) -> str:
        return self._v.representation()

    def copy(self) -> ValueVariant:
        c = ValueVariant.__new__(ValueVariant)
        c._type, c._index, c._v = self._type, self._index, self._v.copy()
        return c


class ValueAny(Value):
    """any: empty, or one value of any type (the type travels with it)."""

    __slots__ = ("_v",)
    _type = TypeAny()

    def __init__(self, value: Any = None) -> None:
        self._v = None if value is None else factory.deduce(value)

    def is_nil(self) -> bool:
        return self._v is None

    def wrap(self, value: Any) -> None:
        self._v = factory.deduce(value)

    def unwrap(self, encoded: bool = True) -> Any:
        if self._v is None:
            raise ValidationError("Try to unwrap empty any")
        return out(self._v) if encoded else self._v

    def held(self) -> Value | None:
        return self._v

    def _key(self) -> Any:
        return (0,) if self._v is None else (1, self._v.full_key())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value) and self._v is not None:
            return self._v == other
        return super().__eq__(other)

    __hash__ = Value.__hash__

    def representation(self) -> str:
        return "nil" if self._v is None else self._v.representation()

    def copy(self) -> ValueAny:
        c = ValueAny.__new__(ValueAny)
        c._v = None if self._v is None else self._v.copy()
        return c


# --- enumeration ---------------------------------------------------------------------------


class ValueEnumeration(Value):
    """One case of an enumeration, ordered by declaration index; prints ``.case``."""

    __slots__ = ("_case", "_type")

    def __init__(self, type: TypeEnumeration, case: Any = None) -> None:
        self._type = type
        self._case = type.cases()[0] if case is None else resolve_case(type, case)

    def name(self) -> str:
        return self._case.name()

    def index(self) -> int:
        return self._case.index()

    def case(self) -> TypeEnumerationCase:
        return self._case

    def type_enumeration(self) -> TypeEnumeration:
        return self._type

    def _key(self) -> Any:
        return self._case.index()

    def __hash__(self) -> int:
        return hash(self._case.index())

    def representation(self) -> str:
        return f".{self._case.name()}"

    def encoded(self) -> Any:
        return self.representation()

    def copy(self) -> ValueEnumeration:
        return self


def resolve_case(t: TypeEnumeration, case: Any) -> TypeEnumerationCase:
    if isinstance(case, ValueEnumeration):
        case = case.name()
    if isinstance(case, TypeEnumerationCase):
        case = case.name()
    if isinstance(case, bool):
        raise TypeMismatchError(f"expected a case of {t}, got {case!r}")
    if isinstance(case, int):
        if 0 <= case < len(t.cases()):
            return t.cases()[case]
        raise UnknownEnumCaseError(f"enumeration {t} has no case of index {case}")
    if isinstance(case, str):
        name = case
        prefix = t.name() + "."
        if name.startswith(prefix):
            name = name[len(prefix):]
        found = t.case(name)
        if found is not None:
            return found
        raise UnknownEnumCaseError(f"enumeration {t} has no case {case!r}")
    raise TypeMismatchError(f"expected a case of {t}, got '{type(case).__name__}' {case!r}")


# --- key -----------------------------------------------------------------------------------


class ValueKey(Value):
    """key<X>: an instance uuid plus the concept the instance actually belongs to."""

    __slots__ = ("_concept", "_instance", "_type")

    def __init__(self, type: TypeKey, instance: Any = None, concept: TypeConcept | None = None) -> None:
        if isinstance(type, TypeConcept):
            type, concept = TypeKey(type), concept or type
        self._type = type
        target = type.element_type()
        if concept is None and isinstance(target, TypeConcept):
            concept = target
        if concept is not None and not type.admits(concept):
            raise KeyTypeError(f"a key of {concept} is not a {type}")
        self._concept = concept
        self._instance = ZERO16 if instance is None else ValueUUId(instance).bytes_value()

    @staticmethod
    def create(concept: TypeConcept, instance: Any = None) -> ValueKey:
        inst = ValueUUId.create() if instance is None else ValueUUId(instance)
        return ValueKey(TypeKey(concept), inst.bytes_value(), concept)

    def instance_id(self) -> ValueUUId:
        return ValueUUId(self._instance)

    def type_concept(self) -> TypeConcept | None:
        return self._concept

    def concept_rid(self) -> bytes:
        return self._concept.rid if self._concept is not None else ZERO16

    def is_valid(self) -> bool:
        return self._instance != ZERO16

    def _key(self) -> Any:
        return (self._instance, self.concept_rid())

    def representation(self) -> str:
        return uuid_text(self._instance)

    def copy(self) -> ValueKey:
        return self

    def widened(self, type: TypeKey) -> ValueKey:
        """This key as a value of another key type; KeyTypeError when not admitted."""
        return ValueKey(type, self._instance, self._concept)


# --- structure -----------------------------------------------------------------------------


class ValueStructure(Value):
    """A structure: fields in declaration order, read and written as attributes."""

    __slots__ = ("_fields", "_type")

    def __init__(self, type: TypeStructure, values: Any = None) -> None:
        object.__setattr__(self, "_type", type)
        fields = []
        for f in type.fields():
            d = f.default_value()
            fields.append(d.copy() if d is not None else factory.create(f.type()))
        object.__setattr__(self, "_fields", fields)
        if values is not None:
            if isinstance(values, ValueStructure):
                if values._type.rid != type.rid:
                    raise TypeMismatchError(f"expected a {type}, got a {values._type}")
                object.__setattr__(self, "_fields", [v.copy() for v in values._fields])
            elif isinstance(values, dict):
                for name, v in values.items():
                    self.set(name, v)
            else:
                raise TypeMismatchError(f"expected a dict for {type}, got '{values.__class__.__name__}' {values!r}")

    def _index(self, name: str) -> int:
        i = self._type.field_index(name)
        if i is None:
            raise AttributeError(f"{self._type} has no field {name!r}")
        return i

    def at(self, name: str, encoded: bool = False) -> Any:
        v = self._fields[self._index(name)]
        return out(v) if encoded else v

    def set(self, name: str, value: Any) -> None:
        i = self._index(name)
        self._fields[i] = factory.create(self._type.fields()[i].type(), value)

    def field_values(self) -> list[Value]:
        return self._fields

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return out(self._fields[self._index(name)])

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        self.set(name, value)

    def __dir__(self) -> list[str]:
        return [*object.__dir__(self), *(f.name() for f in self._type.fields())]

    def _key(self) -> Any:
        return tuple(v._key() for v in self._fields)

    def representation(self) -> str:
        parts = [f"{f.name()}={v.representation()}" for f, v in zip(self._type.fields(), self._fields)]
        return "{" + ", ".join(parts) + "}"

    def copy(self) -> ValueStructure:
        c = ValueStructure.__new__(ValueStructure)
        object.__setattr__(c, "_type", self._type)
        object.__setattr__(c, "_fields", [v.copy() for v in self._fields])
        return c

    def __reduce__(self) -> Any:
        return (_rebuild_structure, (self._type, {f.name(): v for f, v in zip(self._type.fields(), self._fields)}))


def _rebuild_structure(type: TypeStructure, values: dict[str, Value]) -> ValueStructure:
    return ValueStructure(type, values)


# Imported last: the factory refers to the classes above at import time.
from commitdb.values import factory  # noqa: E402
