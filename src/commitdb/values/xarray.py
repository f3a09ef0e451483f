"""xarray values: lists addressed by stable uuid positions, so concurrent inserts merge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commitdb.errors import TypeMismatchError
from commitdb.values import containers as _containers
from commitdb.values.containers import ZERO16, _as, _reject_text
from commitdb.values.scalars import ValueUUId
from commitdb.values.types import Type, TypeXArray, parse_uuid, uuid_text
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


