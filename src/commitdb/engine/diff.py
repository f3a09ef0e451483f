"""``diff``: the minimal opcodes that turn one document into another (SPEC §4).

An absent document gives one Document_Set. Sets and maps are diffed entry by entry, xarrays
position by position (or replaced whole when the target reordered or lost positions, or
marks other tombstones — no opcode can do that), structures field
by field — each field replaced whole, or diffed recursively with ``recursive=True``.
"""

from __future__ import annotations

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
    DocKey,
    new_opcode,
)
from commitdb.values import containers as C
from commitdb.values.path import FIELD, PathComponent, PathConst
from commitdb.values.types import TypeSet
from commitdb.values.value import Value


def diff_opcodes(dk: DocKey, current: Value | None, target: Value, recursive: bool = False) -> list[CommitOpcode]:
    if current is None:
        return [new_opcode(DOCUMENT_SET, dk, value=target.copy())]
    ops: list[CommitOpcode] = []
    _diff(dk, (), current, target, recursive, ops)
    return ops


def _replace(dk: DocKey, path: tuple[PathComponent, ...], target: Value, ops: list[CommitOpcode]) -> None:
    if not path:
        ops.append(new_opcode(DOCUMENT_SET, dk, value=target.copy()))
    else:
        ops.append(new_opcode(DOCUMENT_UPDATE, dk, PathConst(path), value=target.copy()))


def _diff(dk: DocKey, path: tuple[PathComponent, ...], cur: Value, new: Value, recursive: bool,
          ops: list[CommitOpcode]) -> None:
    if cur == new:
        return
    if isinstance(new, C.ValueSet) and isinstance(cur, C.ValueSet):
        _diff_set(dk, path, cur, new, ops)
    elif isinstance(new, C.ValueMap) and isinstance(cur, C.ValueMap):
        _diff_map(dk, path, cur, new, ops)
    elif isinstance(new, C.ValueXArray) and isinstance(cur, C.ValueXArray):
        _diff_xarray(dk, path, cur, new, ops)
    elif isinstance(new, C.ValueStructure) and isinstance(cur, C.ValueStructure) and (not path or recursive):
        for f, a, b in zip(new.type().fields(), cur.field_values(), new.field_values()):  # type: ignore[attr-defined]
            if a == b:
                continue
            sub = (*path, PathComponent(FIELD, f.name()))
            entry_wise = isinstance(b, C.ValueSet | C.ValueMap | C.ValueXArray)
            if entry_wise or (recursive and isinstance(b, C.ValueStructure)):
                _diff(dk, sub, a, b, recursive, ops)
            else:
                _replace(dk, sub, b, ops)
    else:
        _replace(dk, path, new, ops)


def _diff_set(dk: DocKey, path: tuple[PathComponent, ...], cur: C.ValueSet, new: C.ValueSet,
              ops: list[CommitOpcode]) -> None:
    t = new.type()
    removed = C.ValueSet(t, [m for m in cur.members() if m not in new])
    added = C.ValueSet(t, [m for m in new.members() if m not in cur])
    p = PathConst(path)
    if len(removed):
        ops.append(new_opcode(SET_SUBTRACT, dk, p, value=removed))
    if len(added):
        ops.append(new_opcode(SET_UNION, dk, p, value=added))


def _diff_map(dk: DocKey, path: tuple[PathComponent, ...], cur: C.ValueMap, new: C.ValueMap,
              ops: list[CommitOpcode]) -> None:
    t = new.type()
    p = PathConst(path)
    removed = C.ValueSet(TypeSet(t.key_type()), [k for k, _ in cur.entries() if new.lookup(k) is None])
    changed = C.ValueMap(t)
    added = C.ValueMap(t)
    for k, v in new.entries():
        old = cur.lookup(k)
        if old is None:
            added.put(k, v.copy())
        elif old != v:
            changed.put(k, v.copy())
    if len(removed):
        ops.append(new_opcode(MAP_SUBTRACT, dk, p, value=removed))
    if len(changed):
        ops.append(new_opcode(MAP_UPDATE, dk, p, value=changed))
    if len(added):
        ops.append(new_opcode(MAP_UNION, dk, p, value=added))


def _diff_xarray(dk: DocKey, path: tuple[PathComponent, ...], cur: C.ValueXArray, new: C.ValueXArray,
                 ops: list[CommitOpcode]) -> None:
    cur_positions = cur.raw_positions()
    new_positions = new.raw_positions()
    cur_set = set(cur_positions)
    # Opcodes never drop nor move a position, nor make one a tombstone: when the target lost
    # positions, reordered the shared ones or marks tombstones differently, only a whole
    # replacement reaches it exactly.
    if [q for q in new_positions if q in cur_set] != cur_positions or cur.raw_disabled() != new.raw_disabled():
        _replace(dk, path, new, ops)
        return
    p = PathConst(path)
    cur_vals, new_vals = cur.raw_values(), new.raw_values()
    for pos in cur_positions:
        if pos in cur_vals and pos not in new_vals:
            ops.append(new_opcode(XARRAY_REMOVE, dk, p, position=pos))
    for i, pos in enumerate(new_positions):
        if pos in cur_set:
            if pos in new_vals and cur_vals.get(pos) != new_vals[pos]:
                ops.append(new_opcode(XARRAY_UPDATE, dk, p, value=new_vals[pos].copy(), position=pos))
            continue
        anchor = next(q for q in new_positions[i + 1:] if q in cur_set)  # END is always shared
        ops.append(new_opcode(XARRAY_INSERT, dk, p, position=pos, before=anchor))
        if pos in new_vals:
            ops.append(new_opcode(XARRAY_UPDATE, dk, p, value=new_vals[pos].copy(), position=pos))
