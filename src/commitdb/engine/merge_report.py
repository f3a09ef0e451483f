"""Merge reports: what the deterministic convergence of a merge dropped or overrode, as data.

A merge never fails: on a path both sides wrote, the later write in the linearisation wins (the
target side's); a whole-document set supersedes concurrent updates; an opcode whose document,
map key or position is gone does nothing (SPEC §6.3). A merge report makes this visible without
writing anything: for every path a side wrote since the two sides diverged, it compares the value
that side's own state holds with the merged state's value, and explains each difference by
replaying the document in the merged order.

Terms (ours = the merge's parent, theirs = its target):

- *A side's commits*: the Mutations commits of its linearisation that the other side's lacks,
  enabled in the side's own state.
- *Units*, what an opcode writes: the path of a Document_Update, the root of a Document_Set, each
  key of a map opcode (``.counters['x']``), each element of a set opcode (the set's path plus the
  member), each position of an XArray_Update or XArray_Remove (``.notes[{uuid}]``). An
  XArray_Insert writes no value (the XArray_Update recorded with it does); the order of
  positions is not compared.
- *Reported*: a unit one side wrote whose value in the merged state (None: absent) differs from
  its value in that side's state. So a report is exact: every unit either side wrote is reported
  or holds, in the merged state, the value it holds on that side.
- *Why* (from the replay of the document in the merged order with the merged flags), see REASONS.

Pure: reads states, ``eval_actions`` and programs through the database facade (duck-typed, as in
``helpers.py``); writes nothing; deterministic (documents in key order, units in writing order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    MAP_SUBTRACT,
    MAP_UNION,
    MAP_UPDATE,
    SET_SUBTRACT,
    SET_UNION,
    XARRAY_REMOVE,
    XARRAY_UPDATE,
    CommitOpcode,
    DocKey,
)
from commitdb.engine.replay import apply_opcode, resolve, step
from commitdb.engine.state import CommitState, EvalAction, key_value
from commitdb.errors import CommitError, NotMergeableError
from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID, as_id
from commitdb.values import containers as C
from commitdb.values.path import ELEMENT, ENTRY, INDEX, KEY, POSITION, UNWRAP, PathComponent, PathConst
from commitdb.values.scalars import ValueCommitId, ValueUUId
from commitdb.values.value import Value

OURS, THEIRS = "ours", "theirs"

OVERWRITTEN = "overwritten"
SUPERSEDED = "superseded"
ABSENT = "absent"
TYPE_MISMATCH = "type_mismatch"
DISABLED = "disabled"
REORDERED = "reordered"
TOOK_EFFECT = "took_effect"

REASONS = {
    OVERWRITTEN: "overwritten by a later write at the same path (or one enclosing or inside it)",
    SUPERSEDED: "superseded by a later whole-document set",
    ABSENT: "no effect: the target document, map key, position or optional value was absent",
    TYPE_MISMATCH: "no effect: the value or the path did not fit what the document held",
    DISABLED: "no effect: the commit is disabled in the merged state",
    REORDERED: "the merge changed the order or the enabled flags of common writes around it",
    TOOK_EFFECT: "had no effect on its side, takes effect in the merge (its target exists there)",
}


# =========================================================================================
# The report (plain data)
# =========================================================================================

@dataclass(frozen=True)
class MergeReportEntry:
    """One unit a side wrote whose merged value differs from that side's value."""

    side: str                              # OURS or THEIRS: whose write lost
    path: PathConst                        # where (for a set element, the set's path)
    member: Value | None                   # the set element, for set units
    reason: str                            # a key of REASONS
    losing_value: Value | None             # the value in that side's state (None: absent)
    losing_commit: ValueCommitId           # that side's last commit writing there
    losing_opcode: str                     # the opcode type of that write
    winning_value: Value | None            # the value in the merged state (None: absent)
    winning_commit: ValueCommitId | None   # the last commit whose write changed it in the merged replay
    #                                        since the sides diverged (None: none did)

    def where(self) -> str:
        return str(self.path) if self.member is None else f"{self.path} element {self.member!r}"

    def describe(self) -> str:
        winner = "" if self.winning_commit is None else f" ({_short(self.winning_commit)})"
        return (f"{self.where()}: {self.side} {_text(self.losing_value)} ({_short(self.losing_commit)} "
                f"{self.losing_opcode}) -> merged {_text(self.winning_value)}{winner}: {REASONS[self.reason]}")

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side, "path": str(self.path),
            "member": None if self.member is None else Value.dumps(self.member, json=True),
            "reason": self.reason,
            "losing": {"commit": str(self.losing_commit), "opcode": self.losing_opcode,
                       "value": _json(self.losing_value)},
            "winning": {"commit": None if self.winning_commit is None else str(self.winning_commit),
                        "value": _json(self.winning_value)},
        }


@dataclass(frozen=True)
class DocumentMergeReport:
    """The entries of one document. ``both_sides``: both sides touched it (wrote it, or changed
    which of its commits are enabled)."""

    attachment: Any            # the Attachment (None when the definitions lack it)
    key: C.ValueKey | None
    instance_id: ValueUUId
    both_sides: bool
    entries: tuple[MergeReportEntry, ...]

    def attachment_name(self) -> str:
        return "attachment ?" if self.attachment is None else self.attachment.identifier()

    def to_json(self) -> dict[str, Any]:
        return {"attachment": self.attachment_name(), "key": str(self.instance_id), "both_sides": self.both_sides,
                "entries": [e.to_json() for e in self.entries]}


@dataclass(frozen=True)
class MergeReport:
    """What merging ``theirs`` into ``ours`` dropped or overrode (``merge_commit_id`` is the
    zero id for a merge not written)."""

    merge_commit_id: ValueCommitId
    ours: ValueCommitId
    theirs: ValueCommitId
    documents: tuple[DocumentMergeReport, ...]

    def entries(self) -> list[MergeReportEntry]:
        return [e for d in self.documents for e in d.entries]

    def is_clean(self) -> bool:
        """True when no write of either side was lost."""
        return not any(d.entries for d in self.documents)

    def to_json(self) -> dict[str, Any]:
        merge = None if not self.merge_commit_id.is_valid() else str(self.merge_commit_id)
        return {"merge": merge, "ours": str(self.ours), "theirs": str(self.theirs), "clean": self.is_clean(),
                "documents": [d.to_json() for d in self.documents]}

    def lines(self) -> list[str]:
        """The report as text lines."""
        title = "merge" if not self.merge_commit_id.is_valid() else f"merge {_short(self.merge_commit_id)}"
        out = [f"{title}: ours {_short(self.ours)}, theirs {_short(self.theirs)}"]
        for d in self.documents:
            both = "written by both sides" if d.both_sides else "written by one side"
            out.append(f"  {d.attachment_name()} {d.instance_id} ({both}, {len(d.entries)} lost)")
            out.extend(f"    {e.describe()}" for e in d.entries)
        out.append("  no write was lost" if self.is_clean() else f"  {len(self.entries())} write(s) lost")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _short(commit_id: ValueCommitId) -> str:
    return str(commit_id)[:12]


def _text(v: Value | None) -> str:
    return "absent" if v is None else repr(v)


def _json(v: Value | None) -> Any:
    return None if v is None else Value.dumps(v, json=True)


# =========================================================================================
# Entry points
# =========================================================================================

def merge_report(db: Any, merge_commit_id: Any) -> MergeReport:
    """The report of the merge commit ``merge_commit_id`` (its parent is ours, its target theirs)."""
    mid = as_id(merge_commit_id)
    header = db.commit_header(ValueCommitId(mid))
    if header.type_code != MERGE:
        raise CommitError(f"{mid.hex()} is not a merge commit (it is a {header.commit_type()} commit)")
    return _report(db, header.parent, header.target, db.state(ValueCommitId(mid)), mid)


def merge_report_of(db: Any, ours: Any, theirs: Any) -> MergeReport:
    """The report of ``merge_commit(ours, theirs)``, without writing it. When theirs descends
    from ours, the report of merging it anyway (SPEC §14.10); when it is an ancestor of ours or
    ours itself, NotMergeableError (nothing would be merged)."""
    merged = db.merge_state(ours, theirs)  # raises for unknown commits
    if db.is_ancestor(theirs, ours):
        raise NotMergeableError(f"{as_id(ours).hex()} and {as_id(theirs).hex()} are not mergeable "
                                "(the second is an ancestor of the first)")
    return _report(db, as_id(ours), as_id(theirs), merged, ZERO_ID)


# =========================================================================================
# Units
# =========================================================================================

class _Unit(NamedTuple):
    path: tuple[PathComponent, ...]
    member: Value | None  # a set element (the path is the set's)


def _opcode_path(op: CommitOpcode) -> tuple[PathComponent, ...]:
    return () if op._path is None else op._path.raw_components()


def _units(op: CommitOpcode) -> list[_Unit]:
    """What ``op`` writes (see the module docstring); a value of the wrong kind writes nothing."""
    code, value, path = op.code, op._value, _opcode_path(op)
    if code == DOCUMENT_SET:
        return [_Unit((), None)]
    if code == DOCUMENT_UPDATE:
        return [_Unit(path, None)]
    if code in (SET_UNION, SET_SUBTRACT) and isinstance(value, C.ValueSet):
        return [_Unit(path, m) for m in value.members()]
    if code in (MAP_UNION, MAP_UPDATE) and isinstance(value, C.ValueMap):
        return [_Unit((*path, PathComponent(KEY, k)), None) for k, _ in value.entries()]
    if code == MAP_SUBTRACT and isinstance(value, C.ValueSet):
        return [_Unit((*path, PathComponent(KEY, k)), None) for k in value.members()]
    if code in (XARRAY_UPDATE, XARRAY_REMOVE):
        return [_Unit((*path, PathComponent(POSITION, op._position)), None)]
    return []


def _intended(op: CommitOpcode, unit: _Unit) -> Value | None:
    """The value ``op`` means ``unit`` to hold (None: absent)."""
    code = op.code
    if code in (DOCUMENT_SET, DOCUMENT_UPDATE, XARRAY_UPDATE):
        return op._value
    if code == SET_UNION:
        return unit.member
    if code in (MAP_UNION, MAP_UPDATE):
        return op._value.lookup(unit.path[-1].payload())  # type: ignore[union-attr]
    return None  # subtractions and removals


def _read(doc: Value | None, unit: _Unit) -> Value | None:
    """The value of ``unit`` in ``doc`` (None: absent). Shared: copy before keeping it."""
    if doc is None:
        return None
    v = resolve(doc, unit.path)
    if unit.member is None:
        return v
    return unit.member if isinstance(v, C.ValueSet) and unit.member in v else None


def _same(a: Value | None, b: Value | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b)


def _overlaps(op: CommitOpcode, unit: _Unit) -> bool:
    """Whether ``op`` may change ``unit``: its path encloses the unit's or lies inside it."""
    if op.code == DOCUMENT_SET:
        return True
    a, b = _opcode_path(op), unit.path
    n = min(len(a), len(b))
    return a[:n] == b[:n]


# =========================================================================================
# Why a write had no effect
# =========================================================================================

# The container kinds where a step fails because the entry is missing (a map key, a position,
# an index past the end, a nil optional or any, an element or entry) rather than its kind.
_HOLDERS = {
    KEY: (C.ValueMap,), POSITION: (C.ValueXArray,), INDEX: (C.ValueVector, C.ValueTuple, C.ValueVec),
    UNWRAP: (C.ValueOptional, C.ValueAny), ELEMENT: (C.ValueSet,), ENTRY: (C.ValueMap,),
}


def _missing_on_the_way(v: Value, c: PathComponent) -> bool:
    """A step that failed because the container lacks the entry (not because of its kind)."""
    return isinstance(v, _HOLDERS.get(c.kind_code(), ()))


def _missing_target(container: Value, last: PathComponent, code: int) -> bool:
    """A final write that failed because its target is absent: Map_Update of a missing key, a
    write at an unknown or tombstoned position, an index past the end, a nil any."""
    k, p = last.kind_code(), last.payload()
    if k == KEY:
        return code == MAP_UPDATE and isinstance(container, C.ValueMap) and container.lookup(p) is None
    if k == POSITION:
        return isinstance(container, C.ValueXArray) and (
            p not in container.raw_positions() or p in container.raw_disabled() or p == bytes(16))
    if k == INDEX:
        return isinstance(container, C.ValueVector | C.ValueVec) and p >= len(container._items)
    return k == UNWRAP and isinstance(container, C.ValueAny) and container.held() is None


def _why_no_effect(doc: Value | None, op: CommitOpcode, unit: _Unit) -> str:
    """Why an enabled ``op`` applied to ``doc`` leaves ``unit`` without its intended value."""
    if op.code == DOCUMENT_SET:
        return TYPE_MISMATCH  # a set of another document type
    if doc is None:
        return ABSENT
    path = _opcode_path(op)
    container_path = path[:-1] if op.code == DOCUMENT_UPDATE else path
    v = doc
    for c in container_path:
        nxt = step(v, c)
        if nxt is None:
            return ABSENT if _missing_on_the_way(v, c) else TYPE_MISMATCH
        v = nxt
    if len(unit.path) > len(container_path) and _missing_target(v, unit.path[len(container_path)], op.code):
        return ABSENT
    return TYPE_MISMATCH


# =========================================================================================
# Building the report
# =========================================================================================

def _mutations(state: CommitState) -> dict[bytes, EvalAction]:
    """The Mutations commits of the state's linearisation, oldest first."""
    return {a.header().id: a for a in reversed(state.eval_actions()) if a.header().type_code == MUTATIONS}


def _docs_of(actions: dict[bytes, EvalAction], commit_ids: list[bytes]) -> set[DocKey]:
    found: set[DocKey] = set()
    for x in commit_ids:
        found.update(actions[x].program().doc_keys())  # type: ignore[union-attr]
    return found


def _touches(actions: dict[bytes, EvalAction], commit_ids: list[bytes]) -> dict[DocKey, list[bytes]]:
    """The commits of ``commit_ids`` touching each document, in order."""
    touches: dict[DocKey, list[bytes]] = {}
    for x in commit_ids:
        for dk in actions[x].program().doc_keys():  # type: ignore[union-attr]
            touches.setdefault(dk, []).append(x)
    return touches


_Writes = dict[DocKey, list[tuple[bytes, CommitOpcode]]]  # per document: (commit, opcode) in order


def _writes_by_document(actions: dict[bytes, EvalAction], own: list[bytes]) -> _Writes:
    """The opcodes of the commits ``own`` per document, in order."""
    writes: _Writes = {}
    for x in own:
        for op in actions[x].program().raw_opcodes():  # type: ignore[union-attr]
            writes.setdefault(op.doc_key, []).append((x, op))
    return writes


class _Side(NamedTuple):
    name: str
    state: CommitState
    actions: dict[bytes, EvalAction]
    own: list[bytes]  # the side's commits, oldest first
    writes: _Writes  # their opcodes per document
    only: frozenset[bytes]  # the Mutations commits the other side lacks, enabled or not
    touches: dict[DocKey, list[bytes]]  # per document, the commits from the first of ``only`` on

    def history_changed(self, merged: _Merged, dk: DocKey, after: bytes) -> bool:
        """Whether the merge changed this side's history of ``dk`` after the commit ``after``:
        a common commit came after it on this side, or one has another enabled flag in the merge."""
        later = self.touches.get(dk, [])
        for x in later[later.index(after) + 1:]:
            if x not in self.only or self.actions[x].enabled() != merged.actions[x].enabled():
                return True
        return False


class _Merged(NamedTuple):
    """The merged replay, from where the two sides diverge on."""

    state: CommitState
    actions: dict[bytes, EvalAction]  # Mutations of L(merge), oldest first
    start: CommitState | None  # a state whose documents are the merged replay before ``touches``
    touches: dict[DocKey, list[bytes]]  # per document, the commits replayed after ``start``


def _side_tail(actions: dict[bytes, EvalAction], only: set[bytes]) -> list[bytes]:
    """The Mutations commits from the first of ``only`` on (what can differ from the other side)."""
    ids = list(actions)
    first = next((i for i, x in enumerate(ids) if x in only), len(ids))
    return ids[first:]


def _merged_replay(db: Any, merged: CommitState, merged_actions: dict[bytes, EvalAction],
                   common: set[bytes]) -> _Merged:
    """Where to replay the merge from: the state of the last commit before the first commit only
    one side has, when its linearisation and flags are exactly the merge's up to there (the
    usual case); else from the start of the merge's linearisation (criss-cross histories)."""
    lin = merged.linearization()
    first = next((i for i, x in enumerate(lin) if x not in common), len(lin))
    if first > 0:
        candidate = db.state(ValueCommitId(lin[first - 1]))
        before = _mutations(candidate)
        if candidate.linearization() == lin[:first] and all(
                merged_actions[x].enabled() == a.enabled() for x, a in before.items()):
            replayed = [x for x in merged_actions if x not in before]
            return _Merged(merged, merged_actions, candidate, _touches(merged_actions, replayed))
    return _Merged(merged, merged_actions, None, _touches(merged_actions, list(merged_actions)))


def _report(db: Any, ours: bytes, theirs: bytes, merged: CommitState, merge_id: bytes) -> MergeReport:
    states = {OURS: db.state(ValueCommitId(ours)), THEIRS: db.state(ValueCommitId(theirs))}
    actions = {name: _mutations(s) for name, s in states.items()}
    merged_actions = _mutations(merged)
    sides = []
    for name, other in ((OURS, THEIRS), (THEIRS, OURS)):
        acts = actions[name]
        only = [x for x in acts if x not in actions[other]]
        own = [x for x in only if acts[x].enabled()]
        sides.append(_Side(name, states[name], acts, own, _writes_by_document(acts, own), frozenset(only),
                           _touches(acts, _side_tail(acts, set(only)))))
    ours_side, theirs_side = sides
    written = {s.name: set(s.writes) for s in sides}
    # A side also touches the documents of the commits whose flag the merge changed as seen
    # from the other side (its toggles).
    touched = {
        s.name: written[s.name] | _docs_of(merged_actions, [
            x for x, a in actions[o.name].items() if a.enabled() != merged_actions[x].enabled()])
        for s, o in ((ours_side, theirs_side), (theirs_side, ours_side))
    }
    both = touched[OURS] & touched[THEIRS]
    # A document no commit of theirs touches (even disabled: its xarray inserts leave
    # tombstones), whose commits keep their flags, is ours' document in the merged state
    # (L(ours) is a prefix of L(merge)): nothing to compare.
    reached = touched[THEIRS] | _docs_of(theirs_side.actions, list(theirs_side.only))
    checked = (written[OURS] & reached) | written[THEIRS] | both
    common = set(states[OURS].linearization()) & set(states[THEIRS].linearization())
    replay = _merged_replay(db, merged, merged_actions, common) if checked else None
    definitions = db.definitions()
    documents = []
    for dk in sorted(checked):
        entries = _document_entries(dk, sides, replay, definitions)  # type: ignore[arg-type]
        if entries or dk in both:
            attachment = definitions.attachment_by_rid(dk[0])
            key = None if attachment is None else key_value(definitions, attachment, dk)
            documents.append(DocumentMergeReport(attachment, key, ValueUUId(dk[1]), dk in both, tuple(entries)))
    return MergeReport(ValueCommitId(merge_id), ValueCommitId(ours), ValueCommitId(theirs), tuple(documents))


def _document_entries(dk: DocKey, sides: list[_Side], merged: _Merged, definitions: Any) -> list[MergeReportEntry]:
    merged_doc = merged.state.document_by_key(dk)
    candidates: dict[tuple[str, _Unit], tuple[bytes, CommitOpcode, Value | None]] = {}
    for side in sides:
        last: dict[_Unit, tuple[bytes, CommitOpcode]] = {}
        for x, op in side.writes.get(dk, ()):
            for unit in _units(op):
                last[unit] = (x, op)
        if not last:
            continue
        side_doc = side.state.document_by_key(dk)
        for unit, (x, op) in last.items():
            mine = _read(side_doc, unit)
            if not _same(mine, _read(merged_doc, unit)):
                candidates[(side.name, unit)] = (x, op, None if mine is None else mine.copy())
    if not candidates:
        return []
    attachment = definitions.attachment_by_rid(dk[0])
    trace = _Trace(dk, None if attachment is None else attachment.document_type(), candidates)
    trace.run(merged, {s.name: set(s.own) for s in sides})
    by_name = {s.name: s for s in sides}
    entries = []
    for (side_name, unit), (x, op, mine) in candidates.items():
        theirs_value = _read(merged_doc, unit)
        reason, winner = trace.explain(side_name, unit, _same(mine, _intended(op, unit)))
        if reason == REORDERED and not by_name[side_name].history_changed(merged, dk, x):
            # Nothing after the write changed on its side, yet its side shows another value:
            # the write was a no-op there (recorded no-ops can take effect after a merge).
            reason = TOOK_EFFECT
        entries.append(MergeReportEntry(
            side_name, PathConst(unit.path), unit.member, reason, mine, ValueCommitId(x), op.type(),
            None if theirs_value is None else theirs_value.copy(),
            None if winner is None else ValueCommitId(winner)))
    return entries


class _Trace:
    """The replay of one document in the merged order and flags, watching the reported units:
    the last write that changed each, and the outcome of each side's own writes there."""

    def __init__(self, dk: DocKey, document_type: Any, candidates: dict[tuple[str, _Unit], Any]) -> None:
        self.dk, self.document_type = dk, document_type
        self.keys = list(candidates)
        self.units = list(dict.fromkeys(u for _, u in self.keys))
        self.last_change: dict[_Unit, tuple[int, bytes, CommitOpcode]] = {}
        self.own: dict[tuple[str, _Unit], tuple[int, str | None]] = {}  # (step, why it had no effect)

    def run(self, merged: _Merged, own: dict[str, set[bytes]]) -> None:
        start = merged.start
        doc = None if start is None else _copy(start.document_by_key(self.dk))
        watched = set(self.keys)
        t = 0
        for x in merged.touches.get(self.dk, []):
            action = merged.actions[x]
            enabled = action.enabled()
            owner = OURS if x in own[OURS] else THEIRS if x in own[THEIRS] else None
            for op in action.program().doc_opcodes(self.dk):  # type: ignore[union-attr]
                t += 1
                hits = [u for u in self.units if _overlaps(op, u)]
                before = {u: _copy(_read(doc, u)) for u in hits}
                mine = [] if owner is None else [(owner, u) for u in _units(op) if (owner, u) in watched]
                whys = {k: DISABLED if not enabled else _why_no_effect(doc, op, k[1]) for k in mine}
                doc = apply_opcode(doc, op, enabled, self.document_type)
                for u in hits:
                    if not _same(before[u], _read(doc, u)):
                        self.last_change[u] = (t, x, op)
                for k in mine:
                    landed = enabled and _same(_read(doc, k[1]), _intended(op, k[1]))
                    self.own[k] = (t, None if landed else whys[k])

    def explain(self, side: str, unit: _Unit, held_on_its_side: bool) -> tuple[str, bytes | None]:
        """(reason, winning commit) of a reported unit. ``held_on_its_side``: the side's state
        holds what its last write there meant."""
        change = self.last_change.get(unit)
        winner = None if change is None else change[1]
        t_own, why = self.own.get((side, unit), (0, DISABLED))
        later = change is not None and change[0] > t_own
        if why is not None and (held_on_its_side or not later):
            return why, winner  # the write itself was dropped
        if later:
            return (SUPERSEDED if change[2].code == DOCUMENT_SET else OVERWRITTEN), winner  # type: ignore[index]
        return REORDERED, winner


def _copy(v: Value | None) -> Value | None:
    return None if v is None else v.copy()
