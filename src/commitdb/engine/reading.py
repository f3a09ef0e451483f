"""Reading a document at a commit from the read structures (``storage.readindex``).

A state at commit c is read through its *plan*: L(c) as a few ranges of lanes (``storage.lanes``)
and what is disabled in it. Disabled commits come from the SPEC §6.3 walk, newest first, but only
the toggles and merges of L(c) can decide anything, so the walk visits those alone:

- a commit's flag is the one a newer toggle decided, else False when a newer disabled merge
  brought it in, else True;
- an enabled toggle decides its target unless the target comes later in L(c) (already visited),
  was decided by a newer toggle or brought in by a newer disabled merge;
- a disabled merge marks what it brought in (its lane's extra ranges) disabled unless decided.

A document is rebuilt from the best *snapshot*: a copy of it as the state at some commit k sees
it, usable for c when L(k) is a prefix of L(c) and no toggle or merge after k in L(c) decides
anything at or before k (then the walk over L(k) is the same for both states). Only the commits
after k that touch the document are fetched and replayed. Without a snapshot, replay starts at
the last enabled Document_Set. Long replays leave snapshots behind (in memory, and every
``SNAPSHOT_EVERY`` commits in the backend), so the replay length stays bounded for every commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commitdb.engine.program import DOCUMENT_SET
from commitdb.engine.replay import apply_opcode, is_valid_set
from commitdb.errors import CorruptedDataError
from commitdb.storage.base import DISABLE, ENABLE, MERGE
from commitdb.storage.lanes import Positions, Range, Ranges, covers
from commitdb.values.value import Value

SNAPSHOT_EVERY = 64  # replayed commits between two persisted snapshots of a document
STORED_FIRST = 4  # stored snapshots looked at first (the latest ones)


class ReadPlan:
    """L(c) as ranges, the positions in it and the disabled commits of the state at c."""

    def __init__(self, ranges: Ranges, flips: list[tuple[int, int, bytes, int, Any]],
                 brought_in: Callable[[int], Ranges]) -> None:
        self.ranges = ranges
        self.positions = Positions(ranges)
        self._decided: dict[tuple[int, int], bool] = {}
        self._false_ranges: list[Range] = []
        # (position of a toggle or merge, smallest position it decided): snapshot usability
        self._reach: list[tuple[int, int]] = []
        self._walk(flips, brought_in)

    def _walk(self, flips: list[tuple[int, int, bytes, int, Any]], brought_in: Callable[[int], Ranges]) -> None:
        position = self.positions.position
        ordered = sorted(((p, lane, seq, kind, target) for p, lane, seq, _, kind, target
                          in _placed(self.positions, flips, "a toggle or merge")), reverse=True)
        decided, false_ranges = self._decided, self._false_ranges
        for p, lane, seq, kind, target in ordered:
            flag = self.enabled(lane, seq)
            decided[(lane, seq)] = flag
            if kind in (DISABLE, ENABLE):
                if not flag or target is None or target in decided or covers(false_ranges, *target):
                    continue
                tp = position(*target)
                if tp is not None and tp > p:
                    continue  # visited already: a toggle cannot reach a commit after it
                decided[target] = kind == ENABLE
                if tp is not None:
                    self._reach.append((p, tp))
            elif kind == MERGE and not flag and seq == 0:
                extra = brought_in(lane)
                if extra:
                    false_ranges.extend(extra)
                    low = self.positions.min_position(extra)
                    if low is not None:
                        self._reach.append((p, low))

    def enabled(self, lane: int, seq: int) -> bool:
        flag = self._decided.get((lane, seq))
        if flag is not None:
            return flag
        return not (self._false_ranges and covers(self._false_ranges, lane, seq))

    def decided_keys(self) -> list[tuple[int, int]]:
        """The placements the walk decided explicitly (toggles, merges and toggle targets)."""
        return list(self._decided)

    def snapshot_usable(self, own_ranges: Ranges, position: int) -> bool:
        """Whether a snapshot taken at the commit whose L is ``own_ranges`` (at ``position``
        here) is the document as this state sees it at that point."""
        if not self.positions.is_prefix(own_ranges):
            return False
        return all(low > position for p, low in self._reach if p > position)


class DocumentSource:
    """Where a state reads its documents (the facade's read views)."""

    def document(self, key: tuple[bytes, bytes | None], dk: Any) -> tuple[Value | None, int]:
        """(document, distance) of ``dk`` in the state ``key`` = (commit id, merged id or None)."""
        ...

    def documents_of(self, key: tuple[bytes, bytes | None],
                     attachment_rid: bytes) -> dict[Any, tuple[Value | None, int]]:
        """Every document of an attachment touched in the state ``key``; others are absent."""
        ...


class DocumentReader:
    """What rebuilding needs from the database (implemented by the facade's read views)."""

    def read_index(self) -> Any: ...

    def lin_of(self, lane: int, seq: int) -> Ranges: ...

    def program_ops(self, commit_id: bytes, dk: Any) -> list[Any]: ...

    def prefetch(self, commit_ids: list[bytes]) -> None: ...

    def document_type(self, dk: Any) -> Any: ...

    def memory_snapshots(self, dk: Any) -> list[tuple[int, int, bytes, Value | None, int]]: ...

    def stored_snapshots(self, dk: Any, ranges: Ranges,
                         limit: int | None = None) -> list[tuple[int, int, bytes, Value | None, int]]: ...

    def keep_snapshot(self, dk: Any, lane: int, seq: int, commit_id: bytes, doc: Value | None, distance: int) -> int:
        """Remember a snapshot; returns its new distance (0 when it was persisted)."""
        ...


def rebuild(reader: DocumentReader, plan: ReadPlan, dk: Any,
            at: tuple[int, int, bytes] | None) -> tuple[Value | None, int]:
    """The document ``dk`` as the state of ``plan`` sees it, and its distance (commits replayed
    since a persisted snapshot). ``at`` is the state's own commit placement, where a snapshot of
    the result may be kept (None for a virtual merge state)."""
    best = _best_snapshot(plan, reader, reader.memory_snapshots(dk))
    if best is None:
        # The latest stored snapshots; all of them only when toggles made none of those usable.
        latest = reader.stored_snapshots(dk, plan.ranges, STORED_FIRST)
        best = _best_snapshot(plan, reader, latest)
        if best is None and len(latest) == STORED_FIRST:
            best = _best_snapshot(plan, reader, reader.stored_snapshots(dk, plan.ranges))
    index = reader.read_index()
    if best is not None:
        start_position, doc, distance = best
        touches = index.touches(dk, plan.positions.after(start_position))
        return replay(reader, plan, dk, None if doc is None else doc.copy(), distance, touches, False, at)
    return replay(reader, plan, dk, None, 0, index.touches(dk, plan.ranges), True, at)


def rebuild_many(reader: DocumentReader, plan: ReadPlan, attachment_rid: bytes,
                 at: tuple[int, int, bytes] | None) -> dict[Any, tuple[Value | None, int]]:
    """Every document of an attachment as the state of ``plan`` sees it, with few queries: the
    touches of all its documents at once, their programs in batches. A document touched more
    than ``SNAPSHOT_EVERY`` times in L(c) is rebuilt alone (from its snapshots)."""
    touches = reader.read_index().touches_of_attachment(attachment_rid, plan.ranges)
    short = {dk: rows for dk, rows in touches.items() if len(rows) <= SNAPSHOT_EVERY}
    reader.prefetch([row[2] for rows in short.values() for row in rows])
    out = {}
    for dk, rows in touches.items():
        if dk in short:
            out[dk] = replay(reader, plan, dk, None, 0, rows, True, at)
        else:
            out[dk] = rebuild(reader, plan, dk, at)
    return out


def replay(reader: DocumentReader, plan: ReadPlan, dk: Any, doc: Value | None, distance: int,
           touches: list[tuple[int, int, bytes, bool]], from_set: bool,
           at: tuple[int, int, bytes] | None) -> tuple[Value | None, int]:
    """Apply, in linearisation order, the opcodes on ``dk`` of the commits ``touches`` (those
    after ``doc``'s snapshot; with ``from_set``, all of L(c) and replay starts at the last enabled
    Document_Set). Keeps snapshots where the replay was long; returns (document, distance)."""
    positions = plan.positions
    document_type = reader.document_type(dk)
    ordered = sorted(_placed(positions, touches, "a commit touching a document"))
    if from_set:
        # The last enabled, valid Document_Set supersedes everything before it.
        for i in range(len(ordered) - 1, -1, -1):
            _, lane, seq, cid, has_set = ordered[i]
            if has_set and plan.enabled(lane, seq) and any(
                    op.code == DOCUMENT_SET and is_valid_set(op, document_type) for op in reader.program_ops(cid, dk)):
                ordered = ordered[i:]
                break
    if not ordered:
        return doc, distance
    reader.prefetch([cid for _, _, _, cid, _ in ordered])
    for i, (p, lane, seq, cid, _) in enumerate(ordered):
        flag = plan.enabled(lane, seq)
        ops = reader.program_ops(cid, dk)
        if i == 0 and from_set and flag:
            last_set = max((j for j, op in enumerate(ops)
                            if op.code == DOCUMENT_SET and is_valid_set(op, document_type)), default=0)
            ops = ops[last_set:]
        for op in ops:
            doc = apply_opcode(doc, op, flag, document_type)
        distance += 1
        if distance >= SNAPSHOT_EVERY and i < len(ordered) - 1 and plan.snapshot_usable(reader.lin_of(lane, seq), p):
            # A long replay leaves a snapshot behind where it is valid for that commit's own state.
            distance = reader.keep_snapshot(dk, lane, seq, cid, None if doc is None else doc.copy(), distance)
    if at is not None and (distance >= SNAPSHOT_EVERY or len(ordered) > 1):
        # Worth keeping: a later read would replay more than one commit to get here again.
        distance = reader.keep_snapshot(dk, at[0], at[1], at[2], None if doc is None else doc.copy(), distance)
    return doc, distance

def _placed(positions: Positions, rows: list[tuple[Any, ...]], what: str) -> list[tuple[Any, ...]]:
    """``rows`` (lane, seq, ...) asked for within the plan's ranges, each led by its position; a
    row outside them comes from a damaged read index (CorruptedDataError, never a wrong read)."""
    out = []
    for row in rows:
        p = positions.position(row[0], row[1])
        if p is None:
            raise CorruptedDataError(f"the read index gave {what} at {row[:2]}, outside the ranges asked for: it is "
                                     "damaged ('commitdb repair FILE' rebuilds it)")
        out.append((p, *row))
    return out


def _best_snapshot(plan: ReadPlan, reader: DocumentReader,
                   rows: list[tuple[int, int, bytes, Value | None, int]]) -> tuple[int, Value | None, int] | None:
    """(position, document, distance) of the latest snapshot among ``rows`` usable for ``plan``."""
    placed = []
    for lane, seq, _, doc, distance in rows:
        p = plan.positions.position(lane, seq)
        if p is not None:
            placed.append((p, lane, seq, doc, distance))
    placed.sort(key=lambda row: row[0], reverse=True)  # the latest usable one wins: look at it first
    for p, lane, seq, doc, distance in placed:
        if plan.snapshot_usable(reader.lin_of(lane, seq), p):
            return p, doc, distance
    return None
