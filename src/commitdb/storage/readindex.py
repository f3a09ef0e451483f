"""The read structures: what a document read needs, findable without loading the history.

A ``ReadIndex`` answers, with indexed lookups:

- where each commit is placed (``storage.lanes``): its lane and position in the lane, and each
  lane's base, extra ranges, length and last commit — so a commit's linearisation is a few ranges;
- which commits touch a document, within given ranges (with whether they hold a Document_Set);
- the toggles and merges within given ranges (the only commits that decide what is disabled);
- document snapshots (a document as the state at some commit sees it), within given ranges;
- the documents of an attachment, and the heads.

The SQLite and PostgreSQL backends keep these rows beside the commits (``storage.sqlite_index``,
one SQL implementation for both), written in the same transaction as each commit; other
backends get a ``MemoryReadIndex`` that the facade feeds as it learns of commits. Everything
here is derived data: it can always be rebuilt from the stored commits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID, CommitHeader
from commitdb.storage.lanes import LaneRow, Ranges, covers, lane_prefix, lin_ranges, place

DocKey = Any  # (attachment rid, instance id, concept rid)
PREFIXES_KEPT = 256  # lane prefixes cached (each may hold a range per merge before it)
Touch = tuple[int, int, bytes, bool]  # (lane, seq, commit id, has Document_Set)
Flip = tuple[int, int, bytes, int, "tuple[int, int] | None"]  # (lane, seq, id, type, target placement)
SnapshotRow = tuple[int, int, bytes, bytes]  # (lane, seq, commit id, encoded document)


class ReadIndex(ABC):
    """Read structures of one database (see the module docstring). Placements are immutable
    while ``epoch()`` stays the same; a rebuild changes it and callers drop what they cached."""

    @abstractmethod
    def epoch(self) -> int: ...

    @abstractmethod
    def placements(self, commit_ids: Iterable[bytes]) -> dict[bytes, tuple[int, int]]:
        """(lane, seq) of each placed commit among ``commit_ids`` (unknown ones are left out)."""

    @abstractmethod
    def lane_rows(self, lanes: Iterable[int]) -> dict[int, LaneRow]: ...

    @abstractmethod
    def touches(self, dk: DocKey, ranges: Ranges) -> list[Touch]:
        """The commits within ``ranges`` that touch document ``dk`` (any order)."""

    @abstractmethod
    def touches_of_attachment(self, attachment_rid: bytes, ranges: Ranges) -> dict[DocKey, list[Touch]]:
        """For every document of an attachment touched within ``ranges``: its touches there."""

    @abstractmethod
    def flips(self, ranges: Ranges) -> list[Flip]:
        """The Disable, Enable and Merge commits within ``ranges`` (any order), each with its
        target's placement (None when the target is not stored)."""

    @abstractmethod
    def snapshots(self, dk: DocKey, ranges: Ranges, limit: int | None = None) -> list[SnapshotRow]:
        """Stored snapshots of ``dk`` at commits within ``ranges`` (any order); with ``limit``,
        at most that many, the latest in the order of ``ranges`` first."""

    @abstractmethod
    def save_snapshots(self, rows: list[tuple[DocKey, bytes, bytes]]) -> None:
        """Keep (doc key, commit id, encoded document) rows; a no-op where nothing persists."""

    @abstractmethod
    def doc_keys(self, attachment_rid: bytes | None) -> list[DocKey]:
        """The documents ever touched under an attachment (all attachments for None)."""

    @abstractmethod
    def head_ids(self) -> list[bytes]: ...

    @abstractmethod
    def placed_in(self, ranges: Ranges) -> list[tuple[int, int, bytes]]:
        """(lane, seq, commit id) of every commit within ``ranges`` (any order): for calls that
        list a whole linearisation."""


class MemoryReadIndex(ReadIndex):
    """Read structures in dicts, fed commit by commit (in an order where parents and merge
    targets come first) by whoever owns it."""

    def __init__(self, epoch: int = 0) -> None:
        self._epoch = epoch  # its owner numbers each rebuild, so cached placements are dropped
        self._placed: dict[bytes, tuple[int, int]] = {}
        self._lanes: list[list[Any]] = []  # [base, extra, length, tip id]
        self._prefix: dict[int, Ranges] = {}
        self._touches: dict[DocKey, dict[tuple[int, int], tuple[bytes, bool]]] = {}
        self._docs_by_attachment: dict[bytes, dict[DocKey, None]] = {}
        self._flips: dict[tuple[int, int], tuple[bytes, int, Any]] = {}
        self._base_refs: set[tuple[int, int]] = set()
        self._merge_targets: set[tuple[int, int]] = set()
        self.missing_refs: set[bytes] = set()  # ids referenced before being placed

    def epoch(self) -> int:
        return self._epoch

    def __contains__(self, commit_id: bytes) -> bool:
        return commit_id in self._placed

    def add(self, h: CommitHeader, entries: list[tuple[DocKey, bool]] | None) -> None:
        """Place ``h`` and index the documents it touches. A parent or target not placed yet is
        remembered in ``missing_refs`` (the owner rebuilds in topological order if it arrives)."""
        if h.id in self._placed:
            return
        parent = self._placed.get(h.parent) if h.parent != ZERO_ID else None
        if h.parent != ZERO_ID and parent is None:
            self.missing_refs.add(h.parent)
        target = self._placed.get(h.target) if h.type_code != MUTATIONS else None
        if h.type_code != MUTATIONS and target is None:
            self.missing_refs.add(h.target)
        is_merge = h.type_code == MERGE
        parent_lin = self._lin(*parent) if parent is not None and is_merge else ()
        target_lin = self._lin(*target) if target is not None and is_merge else None
        length = self._lanes[parent[0]][2] if parent is not None else 0
        p = place(parent, length, is_merge, parent_lin, target_lin)
        if p.lane is None:
            lane = len(self._lanes)
            self._lanes.append([p.base, p.extra, 1, h.id])
            if p.base is not None:
                self._base_refs.add(p.base)
        else:
            lane = p.lane
            self._lanes[lane][2] = p.seq + 1
            self._lanes[lane][3] = h.id
        key = (lane, p.seq)
        self._placed[h.id] = key
        if h.type_code != MUTATIONS:
            self._flips[key] = (h.id, h.type_code, target)
            if is_merge and target is not None:
                self._merge_targets.add(target)
        for dk, has_set in entries or ():
            self._touches.setdefault(dk, {})[key] = (h.id, has_set)
            self._docs_by_attachment.setdefault(dk[0], {})[dk] = None

    def _lin(self, lane: int, seq: int) -> Ranges:
        return lin_ranges(lane, seq, self._lane_prefix)

    def _lane_prefix(self, lane: int) -> Ranges:
        found = self._prefix.get(lane)
        if found is None:
            found = lane_prefix(lane, self._prefix.get, lambda x: LaneRow(*self._lanes[x]), self._keep_prefix)
        return found

    def _keep_prefix(self, lane: int, prefix: Ranges) -> None:
        if len(self._prefix) >= PREFIXES_KEPT:
            self._prefix.clear()
        self._prefix[lane] = prefix

    def placements(self, commit_ids: Iterable[bytes]) -> dict[bytes, tuple[int, int]]:
        placed = self._placed
        return {c: placed[c] for c in commit_ids if c in placed}

    def lane_rows(self, lanes: Iterable[int]) -> dict[int, LaneRow]:
        return {lane: LaneRow(*self._lanes[lane]) for lane in lanes if 0 <= lane < len(self._lanes)}

    def touches(self, dk: DocKey, ranges: Ranges) -> list[tuple[int, int, bytes, bool]]:
        rows = self._touches.get(dk, {})
        return [(lane, seq, cid, has_set) for (lane, seq), (cid, has_set) in rows.items()
                if covers(ranges, lane, seq)]

    def touches_of_attachment(self, attachment_rid: bytes, ranges: Ranges) -> dict[DocKey, list[Touch]]:
        out = {}
        for dk in self._docs_by_attachment.get(attachment_rid, {}):
            rows = self.touches(dk, ranges)
            if rows:
                out[dk] = rows
        return out

    def flips(self, ranges: Ranges) -> list[tuple[int, int, bytes, int, Any]]:
        return [(lane, seq, cid, kind, target) for (lane, seq), (cid, kind, target) in self._flips.items()
                if covers(ranges, lane, seq)]

    def snapshots(self, dk: DocKey, ranges: Ranges, limit: int | None = None) -> list[tuple[int, int, bytes, bytes]]:
        return []  # nothing persists in memory: the facade's snapshot cache serves this process

    def save_snapshots(self, rows: list[tuple[DocKey, bytes, bytes]]) -> None:
        """Nothing persists in memory: the facade's own snapshot cache serves this process."""

    def doc_keys(self, attachment_rid: bytes | None) -> list[DocKey]:
        if attachment_rid is None:
            return [dk for docs in self._docs_by_attachment.values() for dk in docs]
        return list(self._docs_by_attachment.get(attachment_rid, {}))

    def placed_in(self, ranges: Ranges) -> list[tuple[int, int, bytes]]:
        return [(lane, seq, cid) for cid, (lane, seq) in self._placed.items() if covers(ranges, lane, seq)]

    def head_ids(self) -> list[bytes]:
        heads = []
        for lane, (_, _, length, tip) in enumerate(self._lanes):
            key = (lane, length - 1)
            if key not in self._base_refs and key not in self._merge_targets:
                heads.append(tip)
        return heads
