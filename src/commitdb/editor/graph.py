"""The history graph: a lane layout of the commit DAG, computed once per change and read in pages.

Rows are numbered from the newest commit (row 0) down to the oldest, in a topological order that
follows timestamps (a commit always sits above its parent and, for a merge, above its target).
Lanes are assigned the way a git GUI does: walking from the newest row, each commit takes the
lane that was waiting for it (the leftmost when several children wait), then that lane waits for
its parent and a merge's target gets a lane of its own (or joins the lane already waiting for it).

``lanes_after(r)`` lists, for the band between row ``r`` and ``r + 1``, which lane waits for which
row: that is all a page needs to draw its edges, so the page never needs the whole history.
New commits on top of the history are appended (``extend``) without laying out the rest again.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from commitdb.storage.base import COMMIT_TYPES, DISABLE, ENABLE, MERGE, ZERO_ID

TYPE_NAMES = dict(enumerate(COMMIT_TYPES))
TOGGLES = (ENABLE, DISABLE)


@dataclass
class GraphLayout:
    """The layout, stored by *index* (0 = the oldest commit) so that new commits are appended on
    top without renumbering anything; display rows count from the newest (row = n - 1 - index).

    ``below[j]`` lists the edges crossing the band under commit ``j`` (between index ``j`` and
    ``j - 1``) as (lane, index of the commit the edge goes down to)."""

    ids: list[bytes] = field(default_factory=list)
    index_of: dict[bytes, int] = field(default_factory=dict)
    lane: list[int] = field(default_factory=list)
    below: list[tuple[tuple[int, int], ...]] = field(default_factory=list)
    deps: list[tuple[int, ...]] = field(default_factory=list)  # indexes of the parent and a merge's target
    width: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self, commit_id: bytes) -> int | None:
        index = self.index_of.get(commit_id)
        return None if index is None else len(self.ids) - 1 - index

    def commit_at(self, row: int) -> bytes:
        return self.ids[len(self.ids) - 1 - row]

    def lane_at(self, row: int) -> int:
        return self.lane[len(self.ids) - 1 - row]

    def is_ancestor(self, ancestor: bytes, descendant: bytes) -> bool:
        """Whether ``ancestor`` is reached from ``descendant`` through parents and merge targets
        (a commit is not its own ancestor). A dependency always has a smaller index, so the walk
        never goes below the ancestor's index."""
        low, start = self.index_of.get(ancestor), self.index_of.get(descendant)
        if low is None or start is None or low >= start:
            return False
        seen, stack = {start}, [start]
        while stack:
            for d in self.deps[stack.pop()]:
                if d == low:
                    return True
                if d > low and d not in seen:
                    seen.add(d)
                    stack.append(d)
        return False

    def lanes_after(self, row: int) -> list[tuple[int, int]]:
        """The band under display row ``row``: (lane, display row the edge goes down to)."""
        last = len(self.ids) - 1
        return [(lane, last - target) for lane, target in self.below[last - row]]

    def extend(self, header: Any) -> bool:
        """Put a new commit on top (its parent and a merge's target must be laid out already,
        and nothing laid out may depend on it). False when it cannot be appended."""
        if header.id in self.index_of:
            return True
        deps = [header.parent] + ([header.target] if header.type_code == MERGE else [])
        deps = [d for d in deps if d != ZERO_ID]
        if any(d not in self.index_of for d in deps):
            return False
        top = len(self.ids)
        edges: list[tuple[int, int]] = []
        for d in deps:
            start = self.index_of[d]
            taken = {lane for lane, _ in edges}
            preferred = self.lane[start] if not edges else None
            lane = self._free_lane(start, top, taken, preferred)
            edges.append((lane, start))
            for j in range(start + 1, top):
                self.below[j] = (*self.below[j], (lane, start))
        self.ids.append(header.id)
        self.index_of[header.id] = top
        self.lane.append(edges[0][0] if edges else 0)
        self.below.append(tuple(edges))
        self.deps.append(tuple(start for _, start in edges))
        self.width = max([self.width, self.lane[-1] + 1] + [lane + 1 for lane, _ in edges])
        return True

    def _free_lane(self, start: int, top: int, taken: set[int], preferred: int | None) -> int:
        """A lane no edge and no commit uses between index ``start`` and the top."""
        used = set(taken)
        for j in range(start + 1, top):
            used.add(self.lane[j])
            used.update(lane for lane, _ in self.below[j])
        if preferred is not None and preferred not in used:
            return preferred
        lane = 0
        while lane in used:
            lane += 1
        return lane


def topological_rows(headers: list[Any]) -> list[bytes]:
    """Commit ids newest first: ordered by timestamp, but never above a commit that depends on
    them (its parent, and a merge's target), whatever the clocks said."""
    known = {h.id for h in headers}
    deps = {h.id: [d for d in _deps(h) if d != ZERO_ID and d in known] for h in headers}
    by_time = sorted(range(len(headers)), key=lambda i: (headers[i].ts, i))
    placed: set[bytes] = set()
    for i in by_time:
        cid = headers[i].id
        if any(d not in placed for d in deps[cid]):
            break
        placed.add(cid)
    else:  # the usual case: the clocks already put every commit after what it depends on
        return [headers[i].id for i in reversed(by_time)]
    waiting = {c: len(d) for c, d in deps.items()}
    dependents: dict[bytes, list[bytes]] = {}
    for c, ds in deps.items():
        for d in ds:
            dependents.setdefault(d, []).append(c)
    key = {h.id: (h.ts, i) for i, h in enumerate(headers)}
    ready = [(key[c], c) for c, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[bytes] = []
    while ready:
        _, c = heapq.heappop(ready)
        order.append(c)
        for child in dependents.get(c, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (key[child], child))
    order.reverse()
    return order


def layout(headers: list[Any]) -> GraphLayout:
    """The lane layout of ``headers`` (any order; each needs ``id``, ``parent``, ``target``,
    ``type_code`` and ``ts``)."""
    by_id = {h.id: h for h in headers}
    rows = topological_rows(headers)  # newest first
    row_of = {c: r for r, c in enumerate(rows)}
    last = len(rows) - 1
    waiting_lanes: list[int | None] = []  # lane -> the row it waits for
    lanes_waiting: dict[int, list[int]] = {}  # row -> the lanes waiting for it
    lanes: list[int] = []
    bands: list[tuple[tuple[int, int], ...]] = []
    width = 0
    for r, c in enumerate(rows):
        h = by_id[c]
        mine = lanes_waiting.pop(r, None)
        if mine:
            lane = min(mine)
            for i in mine:
                waiting_lanes[i] = None
        else:
            lane = _free_lane(waiting_lanes)
        lanes.append(lane)
        parent_row = row_of.get(h.parent)
        waiting_lanes[lane] = parent_row
        if parent_row is not None:
            lanes_waiting.setdefault(parent_row, []).append(lane)
        if h.type_code == MERGE:
            target_row = row_of.get(h.target)
            if target_row is not None and target_row not in lanes_waiting:
                free = _free_lane(waiting_lanes)
                waiting_lanes[free] = target_row
                lanes_waiting[target_row] = [free]
        while waiting_lanes and waiting_lanes[-1] is None:
            waiting_lanes.pop()
        width = max(width, len(waiting_lanes), lane + 1)
        bands.append(tuple((i, last - w) for i, w in enumerate(waiting_lanes) if w is not None))
    ids = rows[::-1]
    index_of = {c: i for i, c in enumerate(ids)}
    deps = [tuple(index_of[d] for d in _deps(by_id[c]) if d in index_of) for c in ids]
    return GraphLayout(ids=ids, index_of=index_of, lane=lanes[::-1], below=bands[::-1], deps=deps, width=width)


def _deps(h: Any) -> tuple[bytes, ...]:
    return (h.parent, h.target) if h.type_code == MERGE else (h.parent,)


def _free_lane(waiting_lanes: list[int | None]) -> int:
    for i, w in enumerate(waiting_lanes):
        if w is None:
            return i
    waiting_lanes.append(None)
    return len(waiting_lanes) - 1
