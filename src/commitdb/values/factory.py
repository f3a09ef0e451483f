"""Building values from plain Python data (``create``), and the plain projection (``dumps``/``loads``).

``create(type, init)`` is the one place where outside data is validated into values: every
container write goes through it. Errors are ValidationError subclasses naming the value.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import cache
from typing import Any

import commitdb.values.containers as C
import commitdb.values.scalars as S
from commitdb.errors import KeyTypeError, TypeMismatchError, ValidationError
from commitdb.values import types as T
from commitdb.values.types import Type
from commitdb.values.value import Value

_ZERO16 = bytes(16)


def zero(t: Type) -> Value:
    """The zero value of a type (FORMAT.md §4)."""
    code = t.code
    cls = S.SCALAR_CLASS_BY_CODE.get(code)
    if cls is not None:
        return cls()
    maker = _zero_makers().get(code)
    if maker is None:
        raise ValidationError(f"no value can be made of type {t}")
    return maker(t)


@cache
def _zero_makers() -> dict[int, Callable[[Any], Value]]:
    """Built on first use: the container modules import this one while they load."""
    return {
        T.OPTIONAL: C.ValueOptional,
        T.VECTOR: C.ValueVector,
        T.SET: C.ValueSet,
        T.MAP: C.ValueMap,
        T.XARRAY: C.ValueXArray,
        T.TUPLE: C.ValueTuple,
        T.VARIANT: C.ValueVariant,
        T.VEC: C.ValueVec,
        T.MAT: C.ValueMat,
        T.ENUMERATION: C.ValueEnumeration,
        T.STRUCTURE: C.ValueStructure,
        T.KEY: C.ValueKey,
        T.ANY: lambda t: C.ValueAny(),
    }


# Types that hold another value: a typed Value of the held type is wrapped, not converted.
# (A key of a sub-concept is admitted by key<Parent> as it is, too.)
_WRAPPING_CODES = frozenset({T.OPTIONAL, T.VARIANT, T.ANY, T.KEY})


def create(t: Type, init: Any = None) -> Value:
    """A value of type ``t`` from ``init`` (None → zero). A Value of the same type is
    deep-copied; a typed Value of another type is never converted (SPEC §14.11): it raises
    TypeMismatchError, unless ``t`` wraps it (optional, variant, any) or admits it (key)."""
    if init is None:
        return zero(t)
    code = t.code
    if isinstance(init, Value):
        it = init._type
        if it is t or it.rid == t.rid:
            return init.copy()
        if code not in _WRAPPING_CODES:
            raise TypeMismatchError(f"expected type '{t}', got '{it}' {init!r} (a typed value is never converted)")
    cls = S.SCALAR_CLASS_BY_CODE.get(code)
    if cls is not None:
        return cls(init)
    coercer = _COERCERS.get(code)
    if coercer is None:
        raise ValidationError(f"no value can be made of type {t}")
    return coercer(t, init)


def _optional(t: T.TypeOptional, init: Any) -> Value:
    if isinstance(init, C.ValueOptional) and init._type.rid != t.element_type().rid:
        # an optional of another type is not converted (SPEC §14.11)
        raise TypeMismatchError(f"expected type '{t}', got '{init._type}' {init!r} (a typed value is never converted)")
    # optional<optional<X>> given an optional<X>: held as is, even when it is nil
    return C.ValueOptional(t, init)


def _vector(t: T.TypeVector, init: Any) -> Value:
    if isinstance(init, C.ValueSet):
        init = init.members()
    elif isinstance(init, C.ValueVector):
        init = init.values()
    elif isinstance(init, C.ValueXArray):
        init = [v for _, v in init.live_entries()]
    return C.ValueVector(t, init)


def _set(t: T.TypeSet, init: Any) -> Value:
    if isinstance(init, C.ValueSet):
        init = init.members()
    elif isinstance(init, C.ValueVector):
        init = init.values()
    return C.ValueSet(t, init)


def _map(t: T.TypeMap, init: Any) -> Value:
    return C.ValueMap(t, init)


def _xarray(t: T.TypeXArray, init: Any) -> Value:
    if isinstance(init, C.ValueXArray):
        x = C.ValueXArray(t)
        x._positions = list(init.raw_positions())
        x._disabled = set(init.raw_disabled())
        x._values = {p: create(t.element_type(), v) for p, v in init.raw_values().items()}
        return x
    return C.ValueXArray(t, init)


def _tuple(t: T.TypeTuple, init: Any) -> Value:
    if isinstance(init, C.ValueTuple):
        init = init.values()
    return C.ValueTuple(t, init)


def _vec(t: T.TypeVec, init: Any) -> Value:
    if isinstance(init, C.ValueVec):
        init = init.values()
    return C.ValueVec(t, init)


def _mat(t: T.TypeMat, init: Any) -> Value:
    if isinstance(init, C.ValueMat):
        init = init.values()
    return C.ValueMat(t, init)


def _enum(t: T.TypeEnumeration, init: Any) -> Value:
    return C.ValueEnumeration(t, init)


def _struct(t: T.TypeStructure, init: Any) -> Value:
    if isinstance(init, C.ValueStructure) and init.type().rid != t.rid:
        raise TypeMismatchError(f"expected a {t}, got a {init.type()}")
    return C.ValueStructure(t, init)


def _key(t: T.TypeKey, init: Any) -> Value:
    if isinstance(init, C.ValueKey):
        return init.widened(t)
    raise KeyTypeError(f"expected a key for {t}, got '{type(init).__name__}' {init!r}")


def _variant(t: T.TypeVariant, init: Any) -> Value:
    v = C.ValueVariant.__new__(C.ValueVariant)
    v._type = t
    v._index, v._v = variant_choice(t, init)
    return v


def _any(t: Type, init: Any) -> Value:
    if isinstance(init, C.ValueAny):
        return init.copy()
    return C.ValueAny(init)


_COERCERS: dict[int, Callable[[Any, Any], Value]] = {
    T.OPTIONAL: _optional,
    T.VECTOR: _vector,
    T.SET: _set,
    T.MAP: _map,
    T.XARRAY: _xarray,
    T.TUPLE: _tuple,
    T.VEC: _vec,
    T.MAT: _mat,
    T.ENUMERATION: _enum,
    T.STRUCTURE: _struct,
    T.KEY: _key,
    T.VARIANT: _variant,
    T.ANY: _any,
}

# Which alternative a plain Python object naturally belongs to, tried before any other.
_NATIVE_CODES: dict[type, frozenset[int]] = {
    bool: frozenset({T.BOOL}),
    int: T.INTEGER_CODES,
    float: T.REAL_CODES,
    str: frozenset({T.STRING, T.ENUMERATION}),
    bytes: frozenset({T.BLOB}),
    dict: frozenset({T.STRUCTURE, T.MAP}),
    list: frozenset({T.VECTOR, T.SET, T.XARRAY}),
    tuple: frozenset({T.TUPLE, T.VEC, T.MAT}),
}


def variant_choice(t: T.TypeVariant, value: Any) -> tuple[int, Value]:
    """The (alternative index, value) a variant holds for ``value``; TypeMismatchError if none fits."""
    alternatives = t.types()
    if isinstance(value, Value):
        # An alternative of exactly the value's type wins, before any unwrapping: a ValueAny
        # (or a ValueVariant) is held as such by an ``any`` (or that variant) alternative.
        for i, alt in enumerate(alternatives):
            if alt.rid == value._type.rid:
                return i, value.copy()
    if isinstance(value, C.ValueVariant):
        value = value.unwrap(encoded=False)
    if isinstance(value, C.ValueAny) and not value.is_nil():
        value = value.held()
    if isinstance(value, Value):
        for i, alt in enumerate(alternatives):
            if alt.rid == value._type.rid:
                return i, value.copy()
        if isinstance(value, C.ValueKey):
            for i, alt in enumerate(alternatives):
                if isinstance(alt, T.TypeKey) and value.type_concept() is not None and alt.admits(
                    value.type_concept()  # type: ignore[arg-type]
                ):
                    return i, value.widened(alt)
        raise TypeMismatchError(f"expected type '{t}', got '{value._type}'")
    natural = _NATIVE_CODES.get(type(value), frozenset())
    ordered = [i for i, a in enumerate(alternatives) if a.code in natural]
    ordered += [i for i, a in enumerate(alternatives) if a.code not in natural]
    for i in ordered:
        try:
            return i, create(alternatives[i], value)
        except (ValueError, TypeError, KeyError):
            continue
    raise TypeMismatchError(f"expected type '{t}', got '{type(value).__name__}' {value!r}")


def deduce(value: Any) -> Value:
    """The Value an ``any`` holds for ``value``: a Value as is, else bool/int64/double/string/blob."""
    if isinstance(value, Value):
        return value.copy()
    if isinstance(value, bool):
        return S.ValueBool(value)
    if isinstance(value, int):
        return S.ValueInt64(value)
    if isinstance(value, float):
        return S.ValueDouble(value)
    if isinstance(value, str):
        return S.ValueString(value)
    if isinstance(value, bytes | bytearray):
        return S.ValueBlob(value)
    raise TypeMismatchError(f"cannot deduce a type for '{type(value).__name__}' {value!r}")


# --- plain projection ----------------------------------------------------------------------


def dumps(value: Value, json: bool = False) -> Any:
    """A deep projection of ``value`` to plain Python (SPEC §3.4); JSON-ready when ``json``."""
    code = value._type.code
    if isinstance(value, S._Scalar):
        if code == T.BLOB:
            return base64.b64encode(value._v).decode("ascii") if json else value._v
        return value.encoded()
    if isinstance(value, C.ValueOptional):
        return None if value.is_nil() else dumps(value.unwrap(encoded=False), json)
    if isinstance(value, C.ValueAny):
        return None if value.is_nil() else dumps(value.held(), json)  # type: ignore[arg-type]
    if isinstance(value, C.ValueVariant):
        return dumps(value.unwrap(encoded=False), json)
    if isinstance(value, C.ValueVector):
        return [dumps(v, json) for v in value.values()]
    if isinstance(value, C.ValueSet):
        members = [dumps(v, json) for v in value.members()]
        if json:
            return members
        try:
            return set(members)
        except TypeError:
            return members
    if isinstance(value, C.ValueMap):
        pairs = [(dumps(k, json), dumps(v, json)) for k, v in value.entries()]
        if json:
            return [[k, v] for k, v in pairs]
        try:
            return dict(pairs)
        except TypeError:
            return pairs
    if isinstance(value, C.ValueStructure):
        return {f.name(): dumps(v, json) for f, v in zip(value._type.fields(), value.field_values())}
    if isinstance(value, C.ValueEnumeration):
        return value.representation()
    if isinstance(value, C.ValueKey):
        pair = (value.instance_id().representation(), S.ValueUUId(value.concept_rid()).representation())
        return list(pair) if json else pair
    if isinstance(value, C.ValueMat):
        cols = [tuple(dumps(v, json) for v in col) for col in _mat_columns(value)]
        return [list(c) for c in cols] if json else tuple(cols)
    if isinstance(value, C.ValueTuple | C.ValueVec):
        items = [dumps(v, json) for v in value.values()]
        return items if json else tuple(items)
    if isinstance(value, C.ValueXArray):
        positions = [S.ValueUUId(p).representation() for p in value.raw_positions()]
        vals = value.raw_values()
        # Only the tombstones, ascending (SPEC §14.3): a removed position is not listed.
        disabled = [S.ValueUUId(p).representation() for p in sorted(value.raw_disabled())]
        live = {S.ValueUUId(p).representation(): dumps(v, json) for p, v in vals.items()}
        if json:
            return [positions, disabled, [[p, live[p]] for p in sorted(live)]]
        return (positions, disabled, live)
    raise ValidationError(f"cannot project {value!r}")


def _mat_columns(m: C.ValueMat) -> list[list[Value]]:
    r = m.type().rows()  # type: ignore[attr-defined]
    items = m.values()
    return [items[c * r:(c + 1) * r] for c in range(m.type().columns())]  # type: ignore[attr-defined]


def loads(obj: Any, t: Type, definitions: Any = None) -> Value:
    """The inverse of ``dumps`` (either form) for a value of type ``t``."""
    code = t.code
    if obj is None:
        return zero(t)
    if code == T.BLOB:
        return S.ValueBlob(base64.b64decode(obj) if isinstance(obj, str) else obj)
    if code in (T.UUID, T.BLOB_ID, T.COMMIT_ID) or code in S.SCALAR_CLASS_BY_CODE:
        return create(t, obj)
    if code == T.OPTIONAL:
        return C.ValueOptional(t, loads(obj, t.element_type(), definitions))  # type: ignore[attr-defined]
    if code == T.ANY:
        return C.ValueAny(obj)
    if code == T.VARIANT:
        return _variant(t, obj)  # type: ignore[arg-type]
    if code in (T.VECTOR, T.SET):
        return create(t, [loads(v, t.element_type(), definitions) for v in obj])  # type: ignore[attr-defined]
    if code == T.MAP:
        pairs = obj.items() if isinstance(obj, dict) else obj
        kt, vt = t.key_type(), t.element_type()  # type: ignore[attr-defined]
        return C.ValueMap(t, [(loads(k, kt, definitions), loads(v, vt, definitions)) for k, v in pairs])
    if code == T.STRUCTURE:
        if not isinstance(obj, dict):
            raise TypeMismatchError(f"expected a dict for {t}, got {obj!r}")
        s = C.ValueStructure(t)  # type: ignore[arg-type]
        for name, v in obj.items():
            f = t.field(name)  # type: ignore[attr-defined]
            if f is None:
                raise C.UnknownFieldError(f"{t} has no field {name!r}")
            s.set(name, loads(v, f.type(), definitions))
        return s
    if code == T.ENUMERATION:
        return C.ValueEnumeration(t, obj)  # type: ignore[arg-type]
    if code == T.KEY:
        instance, concept_rid = obj
        concept = _find_concept(t, S.ValueUUId(concept_rid).bytes_value(), definitions)
        return C.ValueKey(t, S.ValueUUId(instance).bytes_value(), concept)  # type: ignore[arg-type]
    if code == T.MAT:
        return C.ValueMat(t, [list(col) for col in obj])  # type: ignore[arg-type]
    if code in (T.TUPLE, T.VEC):
        elems = t.types() if code == T.TUPLE else (t.element_type(),) * t.size()  # type: ignore[attr-defined]
        return create(t, [loads(v, et, definitions) for v, et in zip(obj, elems)])
    if code == T.XARRAY:
        positions, disabled, live = obj
        x = C.ValueXArray(t)  # type: ignore[arg-type]
        x._positions = [S.ValueUUId(p).bytes_value() for p in positions]
        if not x._positions or x._positions[-1] != _ZERO16:
            raise ValidationError("xarray positions must end with END")
        x._disabled = {S.ValueUUId(p).bytes_value() for p in disabled}
        if not x._disabled <= set(x._positions) - {_ZERO16}:
            raise ValidationError("xarray disabled positions must be positions of the xarray")
        pairs = live.items() if isinstance(live, dict) else live
        held = set(x._positions)
        et = t.element_type()  # type: ignore[attr-defined]
        for p, v in pairs:
            pb = S.ValueUUId(p).bytes_value()
            if pb not in held or pb == _ZERO16:
                raise ValidationError(f"xarray value at unknown position {p}")
            x._values[pb] = loads(v, et, definitions)
        return x
    raise ValidationError(f"cannot load a value of type {t}")


def _find_concept(t: Type, rid: bytes, definitions: Any) -> T.TypeConcept | None:
    if rid == _ZERO16:
        return None
    target = t.element_type()  # type: ignore[attr-defined]
    if isinstance(target, T.TypeConcept) and target.rid == rid:
        return target
    if definitions is not None:
        found = definitions.type_by_rid(rid)
        if isinstance(found, T.TypeConcept):
            return found
    raise ValidationError(f"unknown concept {S.ValueUUId(rid)} for {t}")
