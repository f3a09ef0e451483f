"""Fixed-length values: tuple, vec and mat."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commitdb.errors import TypeMismatchError
from commitdb.values import containers as _containers
from commitdb.values.containers import _reject_text
from commitdb.values.types import Type, TypeMat, TypeTuple, TypeVec
from commitdb.values.value import Value, out


class _Fixed(Value):
    """A fixed-length sequence of values."""

    __slots__ = ("_items", "_type")

    def _types(self) -> tuple[Type, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fill(self, values: Iterable[Any] | None) -> None:
        types = self._types()
        if values is None:
            self._items = [_containers.factory.create(t) for t in types]
            return
        _reject_text(values, self._type)
        seq = list(values)
        if len(seq) != len(types):
            raise TypeMismatchError(f"{self._type} needs {len(types)} elements, got {len(seq)}")
        self._items = [_containers.factory.create(t, v) for t, v in zip(types, seq)]

    def __getitem__(self, index: int) -> Any:
        return out(self._items[index])

    def __setitem__(self, index: int, value: Any) -> None:
        self._items[index] = _containers.factory.create(self._types()[index], value)

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
                    self._items[i * type.rows() + i] = _containers.factory.create(type.element_type(), 1)
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


