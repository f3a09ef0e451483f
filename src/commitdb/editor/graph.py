"""The history graph: a lane layout of the commit DAG, computed once per change and read in pages.

Rows are numbered from the newest commit (row 0) down to the oldest, in a topological order that
follows timestamps (a commit always sits above its parent and, for a merge, above its target).
Lanes are assigned the way a git GUI does: walking from the newest row, each commit takes the
lane that was waiting for it (the leftmost when several children wait), then that lane waits for
its parent and a merge's target gets a lane of its own (or joins the lane already waiting for it).

``lanes_after[r]`` lists, for the band between row ``r`` and ``r + 1``, which lane waits for which
row: that is all a page needs to draw its edges, so the page never needs the whole history.
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
    """Commit ids by row, each row's lane, and per row the lanes that run on below it."""

    ids: list[bytes] = field(default_factory=list)
    row_of: dict[bytes, int] = field(default_factory=dict)
    lane: list[int] = field(default_factory=list)
    lanes_after: list[tuple[tuple[int, int], ...]] = field(default_factory=list)
    width: int = 0

    def __len__(self) -> int:
        return len(self.ids)


def topological_rows(headers: list[Any]) -> list[bytes]:
    """Commit ids newest first: ordered by timestamp, but never above a commit that depends on
    them (its parent, and a merge's target), whatever the clocks said."""
    deps: dict[bytes, list[bytes]] = {}
    waiting: dict[bytes, int] = {}
    dependents: dict[bytes, list[bytes]] = {}
    known = {h.id for h in headers}
    key: dict[bytes, tuple[float, int]] = {}
    for i, h in enumerate(headers):
        needed = [d for d in ((h.parent, h.target) if h.type_code == MERGE else (h.parent,))
                  if d != ZERO_ID and d in known]
        deps[h.id] = needed
        waiting[h.id] = len(needed)
        for d in needed:
            dependents.setdefault(d, []).append(h.id)
        key[h.id] = (h.ts, i)
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
    ids = topological_rows(headers)
    row_of = {c: r for r, c in enumerate(ids)}
    result = GraphLayout(ids=ids, row_of=row_of)
    waiting_lanes: list[int | None] = []  # lane -> the row it waits for
    lane_of_row = result.lane
    after = result.lanes_after
    width = 0
    for r, c in enumerate(ids):
        h = by_id[c]
        mine = [i for i, w in enumerate(waiting_lanes) if w == r]
        if mine:
            lane = mine[0]
            for i in mine[1:]:
                waiting_lanes[i] = None
        else:
            lane = _free_lane(waiting_lanes)
        lane_of_row.append(lane)
        parent_row = row_of.get(h.parent)
        waiting_lanes[lane] = parent_row
        if h.type_code == MERGE:
            target_row = row_of.get(h.target)
            if target_row is not None and target_row not in waiting_lanes:
                waiting_lanes[_free_lane(waiting_lanes)] = target_row
        while waiting_lanes and waiting_lanes[-1] is None:
            waiting_lanes.pop()
        width = max(width, len(waiting_lanes), lane + 1)
        after.append(tuple((i, w) for i, w in enumerate(waiting_lanes) if w is not None))
    result.width = width
    return result


def _free_lane(waiting_lanes: list[int | None]) -> int:
    for i, w in enumerate(waiting_lanes):
        if w is None:
            return i
    waiting_lanes.append(None)
    return len(waiting_lanes) - 1
