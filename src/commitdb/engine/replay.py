"""Replay rules (SPEC §4): how one opcode changes one document.

The same rules serve the working copy of a mutable state and state reconstruction. Every
opcode is applied best-effort: one that cannot apply (missing document, path that does not
resolve, value of another type) is a deterministic no-op, never an error. Documents passed in
are owned by the caller and mutated in place; values taken from opcodes are copied, because
programs are shared and cached.
"""

from __future__ import annotations

from typing import Any

from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    MAP_SUBTRACT,
    MAP_UNION,
    MAP_UPDATE,
    SET_SUBTRACT,
    SET_UNION,
    XARRAY_INSERT,
    XARRAY_REMOVE,
    XARRAY_UPDATE,
    CommitOpcode,
)
from commitdb.values import containers as C
from commitdb.values.path import ELEMENT, ENTRY, FIELD, INDEX, KEY, POSITION, UNWRAP, PathComponent
from commitdb.values.value import Value


def apply_opcode(doc: Value | None, op: CommitOpcode, enabled: bool = True,
                 document_type: Any = None) -> Value | None:
    """The document after ``op``. A disabled opcode does nothing, except XArray_Insert, which
    still creates its position as a tombstone so later inserts relative to it keep their place.
    With ``document_type`` (the attachment's), a Document_Set of another type is a no-op."""
    code = op.code
    if code == DOCUMENT_SET:
        if not enabled or not is_valid_set(op, document_type):
            return doc
        return op._value.copy()  # type: ignore[union-attr]
    if doc is None:
        return None
    if not enabled:
        if code == XARRAY_INSERT:
            target = _resolve(doc, op._path.raw_components())  # type: ignore[union-attr]
            if isinstance(target, C.ValueXArray):
                target.insert_position(op._before, op._position, disabled=True)  # type: ignore[arg-type]
        return doc
    if code == DOCUMENT_UPDATE:
        _update(doc, op._path.raw_components(), op._value)  # type: ignore[union-attr, arg-type]
        return doc
    target = _resolve(doc, op._path.raw_components())  # type: ignore[union-attr]
    if target is None:
        return doc
    value = op._value
    if code in (SET_UNION, SET_SUBTRACT):
        if isinstance(target, C.ValueSet) and _same_type(value, target.type()):
            if code == SET_UNION:
                for m in value.members():  # type: ignore[union-attr]
                    target.add_value(m.copy())
            else:
                for m in value.members():  # type: ignore[union-attr]
                    target.discard_value(m)
    elif code in (MAP_UNION, MAP_UPDATE):
        if isinstance(target, C.ValueMap) and _same_type(value, target.type()):
            for k, v in value.entries():  # type: ignore[union-attr]
                if code == MAP_UNION or target.lookup(k) is not None:
                    target.put(k, v.copy())
    elif code == MAP_SUBTRACT:
        if isinstance(target, C.ValueMap) and isinstance(value, C.ValueSet) and (
            value.type().element_type().rid == target.type().key_type().rid  # type: ignore[attr-defined]
        ):
            for k in value.members():
                target.discard_key(k)
    elif code == XARRAY_INSERT:
        if isinstance(target, C.ValueXArray):
            target.insert_position(op._before, op._position)  # type: ignore[arg-type]
    elif code == XARRAY_UPDATE:
        if isinstance(target, C.ValueXArray) and _same_type(value, target.type().element_type()):  # type: ignore[attr-defined]
            target.update_position(op._position, value.copy())  # type: ignore[arg-type, union-attr]
    elif code == XARRAY_REMOVE:
        if isinstance(target, C.ValueXArray):
            target.remove_position(op._position)  # type: ignore[arg-type]
    return doc


def is_valid_set(op: CommitOpcode, document_type: Any) -> bool:
    """Whether a Document_Set can apply: its value has the attachment's document type (always
    true when the type is not known). Programs written by commitdb always pass; a forged or
    foreign one may not, and replay then skips it."""
    return document_type is None or _same_type(op._value, document_type)


def _same_type(value: Any, t: Any) -> bool:
    return isinstance(value, Value) and value.type().rid == t.rid


def _step(v: Value, c: PathComponent) -> Value | None:
    """One component down for replay; None when it does not resolve (a missing map key, a nil
    optional, an index past the end, a removed position ...)."""
    k, p = c.kind_code(), c.payload()
    if k == FIELD:
        if isinstance(v, C.ValueStructure):
            i = v.type().field_index(p)  # type: ignore[attr-defined]
            return None if i is None else v.field_values()[i]
    elif k == INDEX:
        if isinstance(v, C.ValueVector | C.ValueTuple | C.ValueVec):
            items = v._items
            return items[p] if p < len(items) else None
    elif k == KEY:
        if isinstance(v, C.ValueMap):
            return v.lookup(p)
    elif k == POSITION:
        if isinstance(v, C.ValueXArray):
            return v.raw_values().get(p)
    elif k == UNWRAP:
        if isinstance(v, C.ValueOptional | C.ValueVariant):
            return v._v
        if isinstance(v, C.ValueAny):
            return v.held()
    elif k == ELEMENT:
        if isinstance(v, C.ValueSet):
            members = v.members()
            return members[p] if p < len(members) else None
    elif k == ENTRY and isinstance(v, C.ValueMap):
        for key, _ in v.entries():
            if key == p:
                return key
    return None


def resolve(doc: Value, comps: tuple[PathComponent, ...]) -> Value | None:
    """The value at path ``comps`` in ``doc`` as replay resolves paths; None when a step does
    not resolve (read-only: for tools that explain replay, such as merge reports)."""
    return _resolve(doc, comps)


def step(v: Value, c: PathComponent) -> Value | None:
    """One path component down, as replay steps (None when it does not resolve)."""
    return _step(v, c)


def _resolve(doc: Value, comps: tuple[PathComponent, ...]) -> Value | None:
    v: Value | None = doc
    for c in comps:
        if v is None:
            return None
        v = _step(v, c)
    return v


def _update(doc: Value, comps: tuple[PathComponent, ...], value: Value) -> None:
    """Document_Update: write ``value`` at the path if it resolves (SPEC §4 table)."""
    if not comps:
        return  # the root path does nothing
    parent = _resolve(doc, comps[:-1])
    if parent is None:
        return
    last = comps[-1]
    k, p = last.kind_code(), last.payload()
    if k == FIELD:
        if isinstance(parent, C.ValueStructure):
            i = parent.type().field_index(p)  # type: ignore[attr-defined]
            if i is not None and _same_type(value, parent.type().fields()[i].type()):  # type: ignore[attr-defined]
                parent.field_values()[i] = value.copy()
    elif k == KEY:
        if isinstance(parent, C.ValueMap) and _same_type(p, parent.type().key_type()) and _same_type(
            value, parent.type().element_type()  # type: ignore[attr-defined]
        ):
            parent.put(p, value.copy())
    elif k == INDEX:
        if isinstance(parent, C.ValueVector | C.ValueVec):
            if p < len(parent._items) and _same_type(value, parent.type().element_type()):  # type: ignore[attr-defined]
                parent._items[p] = value.copy()
        elif isinstance(parent, C.ValueTuple):
            types = parent.type().types()  # type: ignore[attr-defined]
            if p < len(types) and _same_type(value, types[p]):
                parent._items[p] = value.copy()
    elif k == UNWRAP:
        if isinstance(parent, C.ValueOptional):
            if _same_type(value, parent.type().element_type()):  # type: ignore[attr-defined]
                parent._v = value.copy()
        elif isinstance(parent, C.ValueVariant):
            # A value of one of the alternatives is written and the variant switches to it;
            # any other type does nothing (SPEC §14.6).
            rid = value.type().rid
            for i, alternative in enumerate(parent.type().types()):  # type: ignore[attr-defined]
                if alternative.rid == rid:
                    parent._index, parent._v = i, value.copy()
                    break
        elif isinstance(parent, C.ValueAny):
            parent._v = value.copy()  # any typed value; a nil any becomes present
    elif k == POSITION:
        if isinstance(parent, C.ValueXArray) and _same_type(value, parent.type().element_type()):  # type: ignore[attr-defined]
            parent.update_position(p, value.copy())
    # ENTRY and ELEMENT are irregular: nothing is written through them.
