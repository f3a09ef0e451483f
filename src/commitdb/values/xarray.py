"""xarray values: lists addressed by stable uuid positions, so concurrent inserts merge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commitdb.errors import TypeMismatchError, ValidationError
from commitdb.values import containers as _containers
from commitdb.values.containers import ZERO16, _as, _reject_text
from commitdb.values.scalars import ValueUUId
from commitdb.values.types import Type, TypeVector, TypeXArray, parse_uuid, uuid_text
from commitdb.values.value import Value, out


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
        if new in self._positions:
            return False
        try:
            i = self._positions.index(before)
        except ValueError:
            return False
        self._positions.insert(i, new)
        if disabled:
            self._disabled.add(new)
        return True

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
        return _containers.factory.create(self._type.element_type(), value)

    @staticmethod
    def _pos(position: Any) -> bytes:
        if isinstance(position, ValueUUId):
            return position.bytes_value()
        if isinstance(position, bytes) and len(position) == 16:
            return position
        if isinstance(position, str):
            return parse_uuid(position)
        raise TypeMismatchError(f"expected an xarray position (uuid), got {position!r}")

    def insert(self, before_position: Any, value: Any, new_position: Any = None) -> ValueUUId:
        """Insert ``value`` immediately before ``before_position`` (END appends) and return the
        position used: ``new_position``, or a fresh random uuid when None.

        Raises, changing nothing, when ``new_position`` is already held (live, removed,
        disabled, or END) or ``before_position`` is not held (SPEC §14.2)."""
        v = self._elem(value)
        before = self._pos(before_position)
        if new_position is None:
            new = self.create_position().bytes_value()
        else:
            new = self._pos(new_position)
            if new in self._positions:
                raise ValidationError(f"position {uuid_text(new)} already defined in the xarray")
        if before not in self._positions:
            raise KeyError(f"position {uuid_text(before)} is not held by the xarray")
        self.insert_position(before, new)
        self._values[new] = v
        return ValueUUId(new)

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

    # --- the reference's wider surface (SPEC §14.12) -----------------------------------------
    def has_position(self, position: Any) -> bool:
        """Whether ``position`` is held: live, removed, disabled, or END."""
        return self._pos(position) in self._positions

    def create_position(self) -> ValueUUId:
        """A fresh random position this xarray does not hold yet (nothing is inserted)."""
        while True:
            new = ValueUUId.create()
            if new.bytes_value() not in self._positions:
                return new

    def disable_position(self, position: Any) -> None:
        """Make a held position a tombstone, as an insert of a disabled commit leaves it: its
        value is dropped, it stays in ``positions()``, and later writes to it do nothing.
        KeyError when the position is not held or is END."""
        p = self._pos(position)
        if p == ZERO16 or p not in self._positions:
            raise KeyError(f"position {uuid_text(p)} cannot be disabled")
        self._values.pop(p, None)
        self._disabled.add(p)

    def set(self, position: Any, value: Any) -> None:
        """Write ``value`` at a held position (reviving a removed one) — ``update`` under the
        name vectors use; KeyError for END, a disabled or an unknown position."""
        self.update(position, value)

    def index(self, position: Any) -> int:
        """The index of a live position among the live values (the inverse of ``position(i)``);
        KeyError when the position holds no value."""
        p = self._pos(position)
        for i, (q, _) in enumerate(self.live_entries()):
            if q == p:
                return i
        raise KeyError(f"position {uuid_text(p)} holds no value")

    def succ(self, position: Any) -> ValueUUId:
        """The position right after ``position`` in ``positions()`` (END after the last one):
        inserting before it inserts after ``position``. KeyError for END or an unknown one."""
        p = self._pos(position)
        if p == ZERO16 or p not in self._positions:
            raise KeyError(f"position {uuid_text(p)} has no successor in the xarray")
        return ValueUUId(self._positions[self._positions.index(p) + 1])

    def to_vector(self) -> Value:
        """The live values in position order, as a ``vector<T>`` (copies)."""
        return _containers.ValueVector(TypeVector(self._type.element_type()), [v for _, v in self.live_entries()])

    def rebuild_from(self, values: Any) -> None:
        """Replace the whole content. From another xarray of the same element type: its
        positions, tombstones and values. From a vector or any iterable of values: those values
        in order, each at a fresh position. Values are checked first: on error nothing changes."""
        if isinstance(values, ValueXArray):
            if values._type.element_type().rid != self._type.element_type().rid:
                raise TypeMismatchError(f"cannot rebuild a {self._type} from a {values._type}")
            source = values.copy()
            self._positions, self._disabled, self._values = source._positions, source._disabled, source._values
            return
        if isinstance(values, _containers.ValueVector):
            values = values.values()
        _reject_text(values, self._type)
        items = [self._elem(v) for v in values]
        self._positions, self._disabled, self._values = [ZERO16], set(), {}
        for item in items:
            new = self.create_position().bytes_value()
            self._positions.insert(len(self._positions) - 1, new)
            self._values[new] = item

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


