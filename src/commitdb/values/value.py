"""The base of every value: identity, the runtime order, printing and the static factories.

Every value has a type and a *sort key*: a plain Python object such that two values of the
same type compare (and hash) exactly as their sort keys do. The sort keys implement the runtime
order of FORMAT.md §4, which decides the order of set members and map keys and so the bytes
that are hashed into commit ids. Across types, values compare by ``full_key`` (type code, then
runtime id, then sort key), which is the order used inside ``any`` and ``variant``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from commitdb.values.types import KEY, Type

if TYPE_CHECKING:
    from commitdb.values.definitions_api import DefinitionsLike


class Value:
    """Base class of all values. Subclasses define ``_type`` and ``_key()``."""

    __slots__ = ()

    _type: Type

    # --- identity and order ----------------------------------------------------------------
    def type(self) -> Type:
        return self._type

    def _key(self) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def full_key(self) -> tuple[Any, ...]:
        """The cross-type sort key: type code, runtime id (not for keys), then the value."""
        t = self._type
        return (t.code, b"" if t.code == KEY else t.rid, self._key())

    def _coerce_other(self, other: object) -> Value | None:
        if isinstance(other, Value):
            return other
        from commitdb.values.factory import create

        try:
            return create(self._type, other)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def __eq__(self, other: object) -> bool:
        o = self._coerce_other(other)
        if o is None:
            return False
        if o._type is self._type or o._type.rid == self._type.rid:
            return self._key() == o._key()
        return self.full_key() == o.full_key()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._key())

    def _cmp_keys(self, other: object) -> tuple[Any, Any]:
        o = self._coerce_other(other)
        if o is None:
            raise TypeError(f"cannot compare {self._type} with {type(other).__name__}")
        if o._type.rid == self._type.rid:
            return self._key(), o._key()
        return self.full_key(), o.full_key()

    def __lt__(self, other: object) -> bool:
        a, b = self._cmp_keys(other)
        return a < b

    def __le__(self, other: object) -> bool:
        a, b = self._cmp_keys(other)
        return a <= b

    def __gt__(self, other: object) -> bool:
        a, b = self._cmp_keys(other)
        return a > b

    def __ge__(self, other: object) -> bool:
        a, b = self._cmp_keys(other)
        return a >= b

    # --- printing --------------------------------------------------------------------------
    def representation(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.representation()

    def __str__(self) -> str:
        return self.representation()

    def description(self) -> str:
        """The value followed by ``:type``."""
        return f"{self.representation()}:{self._type.representation()}"

    # --- conversion ------------------------------------------------------------------------
    def copy(self) -> Value:
        """A deep copy (values of immutable kinds return themselves)."""
        return self

    def encoded(self) -> Any:
        """The plain Python projection of this value (``Value.dumps``)."""
        from commitdb.values.factory import dumps

        return dumps(self)

    def get(self) -> Any:
        return self.encoded()

    # --- static factories (the documented entry points) ------------------------------------
    @staticmethod
    def create(type: Type, init: Any = None) -> Value:
        """Build a value of ``type`` from ``init`` (a Value, or plain Python data), validated.

        ``init=None`` gives the type's zero value. Raises a ValidationError subclass naming the
        offending value when ``init`` does not fit ``type``.
        """
        from commitdb.values.factory import create

        return create(type, init)

    @staticmethod
    def dumps(value: Value, json: bool = False) -> Any:
        from commitdb.values.factory import dumps

        return dumps(value, json=json)

    @staticmethod
    def loads(obj: Any, type: Type, definitions: DefinitionsLike | None = None) -> Value:
        from commitdb.values.factory import loads

        return loads(obj, type, definitions)

    @staticmethod
    def encode(value: Value) -> Any:
        """The StreamBinary bytes of ``value`` (without its type), as a ValueBlob."""
        from commitdb.codec import encode_value
        from commitdb.values.scalars import ValueBlob

        return ValueBlob(encode_value(value))

    @staticmethod
    def decode(blob: Any, type: Type, definitions: DefinitionsLike | None = None) -> Value:
        from commitdb.codec import decode_value

        return decode_value(bytes(blob), type, definitions)

    @staticmethod
    def hexdigest(value: Value) -> str:
        from commitdb.codec import value_hexdigest

        return value_hexdigest(value)


def out(value: Value) -> Any:
    """What an accessor hands back: plain Python for bool/int/float/str, else the Value."""
    from commitdb.values.scalars import NATIVE_CLASSES

    if type(value) in NATIVE_CLASSES:
        return value._v  # type: ignore[attr-defined]
    return value
