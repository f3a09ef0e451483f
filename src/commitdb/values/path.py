"""Paths: addresses of a piece of a document (SPEC §3.6, FORMAT.md §7.1).

A path is a list of components. ``Path`` is the builder (chained calls extend it in place and
return it); ``PathConst`` is the immutable form that opcodes carry. A Path and a PathConst with
the same components are equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from commitdb.errors import PathError
from commitdb.values import types as T
from commitdb.values.scalars import ValueString, ValueUInt64, ValueUUId
from commitdb.values.types import Type, uuid_text
from commitdb.values.value import Value, out

UNWRAP, INDEX, KEY, POSITION, FIELD, ENTRY, ELEMENT = 0, 1, 2, 3, 4, 5, 6
KIND_NAMES = {UNWRAP: "Unwrap", INDEX: "Index", KEY: "Key", POSITION: "Position", FIELD: "Field",
              ENTRY: "Entry", ELEMENT: "Element"}


class PathComponent:
    """One step of a path: a kind and its payload (str, int, 16 bytes, or a Value)."""

    __slots__ = ("_kind", "_value")

    def __init__(self, kind: int, value: Any) -> None:
        self._kind, self._value = kind, value

    def kind(self) -> str:
        return KIND_NAMES[self._kind]

    def type(self) -> str:
        """The kind's name (``'Field'``, ``'Key'``, ...), as the reference spells the accessor."""
        return KIND_NAMES[self._kind]

    def kind_code(self) -> int:
        return self._kind

    def value(self) -> Any:
        if self._kind == POSITION:
            return ValueUUId(self._value)
        return self._value

    def payload(self) -> Any:
        return self._value

    def _cmp(self) -> tuple[int, Any]:
        v = self._value
        return (self._kind, v.full_key() if isinstance(v, Value) else v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathComponent) and self._cmp() == other._cmp()

    def __hash__(self) -> int:
        return hash(self._cmp())

    def text(self) -> str:
        k, v = self._kind, self._value
        if k == FIELD:
            return f".{v}"
        if k == INDEX:
            return f"[{v}]"
        if k == KEY:
            return f"[{v.representation()}]"
        if k == POSITION:
            return "[{" + uuid_text(v) + "}]"
        if k == UNWRAP:
            return "!"
        if k == ENTRY:  # the map entry of key v, i.e. the key itself (SPEC §14.9)
            return f"[{v.representation()}].entry"
        return f".element[{v}]"

    def __repr__(self) -> str:
        return f"{{type: {self.kind()}, value: {component_value(self).description()}}}"


def _key_value(key: Any) -> Value:
    from commitdb.values.factory import deduce

    return deduce(key)


def _index(i: Any) -> int:
    if isinstance(i, bool) or not isinstance(i, int) or i < 0:
        raise PathError(f"a path index must be a non-negative int, got {i!r}")
    return int(i)


def _position(p: Any) -> bytes:
    if isinstance(p, ValueUUId):
        return p.bytes_value()
    try:
        return ValueUUId(p).bytes_value()
    except ValueError:
        raise PathError(f"a path position must be a uuid, got {p!r}") from None


class PathConst:
    """An immutable path."""

    __slots__ = ("_components", "_hash")

    def __init__(self, components: Iterable[PathComponent] = ()) -> None:
        self._components: tuple[PathComponent, ...] = tuple(components)
        self._hash: int | None = None

    def components(self) -> list[PathComponent]:
        return list(self._components)

    def raw_components(self) -> tuple[PathComponent, ...]:
        return self._components

    def const(self) -> PathConst:
        return self

    def copy(self) -> Path:
        return Path(self._components)

    def is_root(self) -> bool:
        return not self._components

    def __len__(self) -> int:
        return len(self._components)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathConst) and self._components == other._components

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._components)
        return self._hash

    def __truediv__(self, name: str) -> Path:
        return Path(self._components).field(name)

    def representation(self) -> str:
        if not self._components:
            return "."
        return "".join(c.text() for c in self._components)

    def __repr__(self) -> str:
        return self.representation()

    def __str__(self) -> str:
        return self.representation()

    def is_regular(self) -> bool:
        """Whether the path can be written through (no entry or element component)."""
        return all(c.kind_code() not in (ENTRY, ELEMENT) for c in self._components)

    # --- navigation -------------------------------------------------------------------------
    def at(self, value: Value, encoded: bool = True) -> Any:
        """The value at this path inside ``value``; PathError when it does not resolve."""
        v = value
        for c in self._components:
            v = _step(v, c)
        return out(v) if encoded else v

    def set(self, value: Value, new: Any) -> None:
        """Replace what this path addresses inside ``value`` (validated); PathError when it
        does not resolve or addresses something that cannot be replaced (root, entry, element)."""
        if not self._components:
            raise PathError("the root path cannot be set; replace the document instead")
        if not self.is_regular():
            raise PathError(f"path {self} is irregular (entry/element) and cannot be written")
        parent = value
        for c in self._components[:-1]:
            parent = _step(parent, c)
        _write(parent, self._components[-1], new)

    def encode(self) -> bytes:
        from commitdb.codec import Writer, write_path

        w = Writer()
        write_path(w, self)
        return w.getvalue()


class Path(PathConst):
    """A path under construction; chained calls extend it in place and return it."""

    __slots__ = ()

    def __init__(self, components: Iterable[PathComponent] = ()) -> None:
        super().__init__(components)

    def _push(self, kind: int, value: Any) -> Path:
        self._components = (*self._components, PathComponent(kind, value))
        self._hash = None
        return self

    def field(self, name: str) -> Path:
        if not isinstance(name, str):
            raise PathError(f"a field name must be a str, got {name!r}")
        return self._push(FIELD, name)

    def index(self, i: int) -> Path:
        return self._push(INDEX, _index(i))

    def key(self, key: Any) -> Path:
        return self._push(KEY, _key_value(key))

    def position(self, position: Any) -> Path:
        return self._push(POSITION, _position(position))

    def unwrap(self) -> Path:
        return self._push(UNWRAP, None)

    def entry(self, key: Any) -> Path:
        return self._push(ENTRY, _key_value(key))

    def element(self, i: int) -> Path:
        return self._push(ELEMENT, _index(i))

    def const(self) -> PathConst:
        return PathConst(self._components)

    def __hash__(self) -> int:
        return hash(self._components)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathConst) and self._components == other._components

    @staticmethod
    def from_field(name: str) -> Path:
        return Path().field(name)

    @staticmethod
    def from_index(i: int) -> Path:
        return Path().index(i)

    @staticmethod
    def from_key(key: Any) -> Path:
        return Path().key(key)

    @staticmethod
    def from_position(position: Any) -> Path:
        return Path().position(position)

    @staticmethod
    def from_unwrap() -> Path:
        return Path().unwrap()

    @staticmethod
    def from_entry(key: Any) -> Path:
        return Path().entry(key)

    @staticmethod
    def from_element(i: int) -> Path:
        return Path().element(i)


# --- navigation helpers ---------------------------------------------------------------------


def _step(v: Value, c: PathComponent) -> Value:
    """One component down; PathError when it does not resolve."""
    from commitdb.values import containers as C

    k, p = c.kind_code(), c.payload()
    if k == FIELD and isinstance(v, C.ValueStructure):
        i = v.type().field_index(p)  # type: ignore[attr-defined]
        if i is not None:
            return v.field_values()[i]
    elif k == INDEX and isinstance(v, C.ValueVector | C.ValueTuple | C.ValueVec):
        items = v._items
        if p < len(items):
            return items[p]
    elif k == KEY and isinstance(v, C.ValueMap):
        found = v.lookup(_coerce_key(v.type().key_type(), p))  # type: ignore[attr-defined]
        if found is not None:
            return found
    elif k == POSITION and isinstance(v, C.ValueXArray):
        found = v.raw_values().get(p)
        if found is not None:
            return found
    elif k == UNWRAP:
        if isinstance(v, C.ValueOptional) and not v.is_nil():
            return v.unwrap(encoded=False)
        if isinstance(v, C.ValueVariant):
            return v.unwrap(encoded=False)
        if isinstance(v, C.ValueAny) and not v.is_nil():
            return v.held()  # type: ignore[return-value]
    elif k == ENTRY and isinstance(v, C.ValueMap):
        key = _coerce_key(v.type().key_type(), p)  # type: ignore[attr-defined]
        for kv, _ in v.entries():
            if kv == key:
                return kv
    elif k == ELEMENT and isinstance(v, C.ValueSet):
        members = v.members()
        if p < len(members):
            return members[p]
    raise PathError(f"path component {c.text()} does not resolve in {v.type()} value {v!r}")


def _coerce_key(t: Type, key: Value) -> Value:
    from commitdb.values.factory import create

    try:
        # A path holds its keys as values deduced when it was built (``.key(1)`` holds an
        # int64), so a key of a plain kind is read back as the native it came from.
        return create(t, out(key))
    except ValueError:
        raise PathError(f"map key {key!r} does not fit {t}") from None


def _write(parent: Value, c: PathComponent, new: Any) -> None:
    from commitdb.values import containers as C
    from commitdb.values.factory import create

    k, p = c.kind_code(), c.payload()
    if k == FIELD and isinstance(parent, C.ValueStructure) and parent.type().field_index(p) is not None:
        parent.set(p, new)
        return
    if k == INDEX and isinstance(parent, C.ValueVector | C.ValueTuple | C.ValueVec) and p < len(parent._items):
        parent[p] = new
        return
    if k == KEY and isinstance(parent, C.ValueMap):
        parent.put(_coerce_key(parent.type().key_type(), p), create(parent.type().element_type(), new))
        return
    if k == POSITION and isinstance(parent, C.ValueXArray) and parent.update_position(
        p, create(parent.type().element_type(), new)  # type: ignore[attr-defined]
    ):
        return
    if k == UNWRAP and isinstance(parent, C.ValueOptional):
        parent.wrap(new)
        return
    if k == UNWRAP and isinstance(parent, C.ValueVariant | C.ValueAny):
        parent.wrap(new)
        return
    raise PathError(f"path component {c.text()} cannot be written in {parent.type()} value {parent!r}")


def resolve_type(path: PathConst, t: Type) -> tuple[PathConst, Type | None]:
    """Check ``path`` against type ``t``: returns the path with keys coerced to the map key
    types, and the type it addresses (None after unwrapping a variant or an any, whose held type
    is only known from a value). Raises PathError naming the component that does not fit."""
    comps: list[PathComponent] = []
    cur: Type | None = t
    for c in path.raw_components():
        k, p = c.kind_code(), c.payload()
        if cur is None:
            raise PathError(f"path {path} goes through a variant or any; its type cannot be checked")
        here = cur
        if k == FIELD:
            f = here.field(p) if isinstance(here, T.TypeStructure) else None
            if f is None:
                raise PathError(f"path {path}: {here} has no field {p!r}")
            cur = f.type()
        elif k == INDEX:
            if isinstance(here, T.TypeVector):
                cur = here.element_type()
            elif isinstance(here, T.TypeTuple):
                if p >= len(here.types()):
                    raise PathError(f"path {path}: index {p} is out of {here}")
                cur = here.types()[p]
            elif isinstance(here, T.TypeVec):
                if p >= here.size():
                    raise PathError(f"path {path}: index {p} is out of {here}")
                cur = here.element_type()
            else:
                raise PathError(f"path {path}: [{p}] cannot index a {here}")
        elif k in (KEY, ENTRY):
            if not isinstance(here, T.TypeMap):
                raise PathError(f"path {path}: {c.text()} needs a map, not a {here}")
            c = PathComponent(k, _coerce_key(here.key_type(), p))
            cur = here.element_type() if k == KEY else here.key_type()
        elif k == POSITION:
            if not isinstance(here, T.TypeXArray):
                raise PathError(f"path {path}: a position needs an xarray, not a {here}")
            cur = here.element_type()
        elif k == UNWRAP:
            if isinstance(here, T.TypeOptional):
                cur = here.element_type()
            elif isinstance(here, T.TypeVariant | T.TypeAny):
                cur = None
            else:
                raise PathError(f"path {path}: ! cannot unwrap a {here}")
        elif k == ELEMENT:
            if not isinstance(here, T.TypeSet):
                raise PathError(f"path {path}: element[{p}] needs a set, not a {here}")
            cur = here.element_type()
        comps.append(c)
    return PathConst(comps), cur


def dynamic_unwrap(path: PathConst, document_type: Type) -> int | None:
    """The index of the first component of ``path`` that unwraps a variant or an any (whose
    held type only a value knows), or None. The components before it are checked (PathError)."""
    comps = path.raw_components()
    for i, c in enumerate(comps):
        if c.kind_code() == UNWRAP:
            _, held = resolve_type(PathConst(comps[:i]), document_type)
            if isinstance(held, T.TypeVariant | T.TypeAny):
                return i
    return None


def component_value(c: PathComponent) -> Value:
    """The typed value a component carries in its encoding (FORMAT.md §7.1)."""
    k, p = c.kind_code(), c.payload()
    if k in (INDEX, ELEMENT):
        return ValueUInt64(p)
    if k == FIELD:
        return ValueString(p)
    if k == POSITION:
        return ValueUUId(p)
    if k in (KEY, ENTRY):
        return p
    from commitdb.values.scalars import ValueVoid

    return ValueVoid()
