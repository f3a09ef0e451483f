"""Composite values: optional, vector, set, map, xarray, tuple, variant, any, vec, mat, enum, key,
structure.

Composite values are mutable and hold Value objects; accessors hand back plain Python for
bool/int/float/str members (see ``out``) and the Value otherwise, so ``doc.nickname`` is a str and
``doc.position.x = 1.0`` edits in place. Every write is validated against the member type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commitdb.errors import KeyTypeError, TypeMismatchError, UnknownEnumCaseError, UnknownFieldError, ValidationError
from commitdb.values.scalars import ValueUUId
from commitdb.values.types import (
    Type,
    TypeAny,
    TypeConcept,
    TypeEnumeration,
    TypeEnumerationCase,
    TypeKey,
    TypeMap,
    TypeOptional,
    TypeSet,
    TypeStructure,
    TypeVariant,
    TypeVector,
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
    """map<K, V>: entries kept in the runtime order of their keys.

    ``ValueMap(TypeMap(K, V), values=None)``, or with the two types apart:
    ``ValueMap(K, V, values=None)`` (also ``ValueMap(K, values, element=V)``).
    """

    __slots__ = ("_items", "_sorted", "_type")

    def __init__(self, type: Type, values: Any = None, element: Any = None) -> None:
        if not isinstance(type, TypeMap) and isinstance(values, Type):
            values, element = element, values
        self._type = type if isinstance(type, TypeMap) else TypeMap(type, element)
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
        """``Any(<held repr>)``, or ``nil`` when empty (SPEC §14.11)."""
        return "nil" if self._v is None else f"Any({self._v.representation()})"

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
            raise UnknownFieldError(f"{self._type} has no field {name!r}")
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


# Imported last: these modules use the classes above.
from commitdb.values import factory  # noqa: E402
from commitdb.values.fixed import ValueMat, ValueTuple, ValueVec  # noqa: E402
from commitdb.values.xarray import ValueXArray  # noqa: E402

__all__ = [
    "ValueAny", "ValueEnumeration", "ValueKey", "ValueMap", "ValueMat", "ValueOptional", "ValueSet",
    "UnknownFieldError", "ValueStructure", "ValueTuple", "ValueVariant", "ValueVec", "ValueVector", "ValueXArray",
    "resolve_case",
]
