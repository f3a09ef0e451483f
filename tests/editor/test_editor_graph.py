"""The lane layout of the history graph: rows in a topological order that follows time, and
lanes that let every edge be drawn from the rows of a page alone."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from commitdb.editor.graph import layout, topological_rows
from commitdb.storage.base import DISABLE, MERGE, MUTATIONS, ZERO_ID


@dataclass
class H:
    id: bytes
    parent: bytes
    type_code: int = MUTATIONS
    target: bytes = ZERO_ID
    ts: float = 0.0


def cid(n: int) -> bytes:
    return n.to_bytes(20, "big")


def test_a_chain_is_one_lane_newest_first() -> None:
    headers = [H(cid(i), cid(i - 1) if i > 1 else ZERO_ID, ts=i) for i in range(1, 6)]
    g = layout(headers)
    assert g.ids == [cid(i) for i in range(5, 0, -1)]
    assert g.lane == [0] * 5 and g.width == 1
    assert g.lanes_after[0] == ((0, 1),) and g.lanes_after[4] == ()


def test_branches_take_lanes_and_a_merge_joins_them() -> None:
    root = H(cid(1), ZERO_ID, ts=1)
    a = H(cid(2), cid(1), ts=2)
    b = H(cid(3), cid(1), ts=3)
    m = H(cid(4), cid(2), MERGE, cid(3), ts=4)
    g = layout([root, a, b, m])
    assert g.ids == [cid(4), cid(3), cid(2), cid(1)]
    assert g.lane[0] == 0  # the merge
    assert g.lanes_after[0] == ((0, 2), (1, 1))  # its parent row 2 in lane 0, its target row 1 in lane 1
    assert g.lane[1] == 1 and g.lane[2] == 0 and g.lane[3] == 0
    assert g.width == 2


def test_a_child_stays_above_its_parent_whatever_the_clocks_say() -> None:
    headers = [H(cid(1), ZERO_ID, ts=50), H(cid(2), cid(1), ts=10), H(cid(3), cid(2), DISABLE, cid(1), ts=5)]
    assert topological_rows(headers) == [cid(3), cid(2), cid(1)]


@pytest.mark.parametrize("seed", range(6))
def test_every_edge_runs_unbroken_in_one_lane(seed: int) -> None:
    rnd = random.Random(seed)
    headers: list[H] = [H(cid(1), ZERO_ID, ts=0)]
    for i in range(2, 400):
        parent = rnd.choice(headers[-12:])
        if rnd.random() < 0.15 and len(headers) > 3:
            target = rnd.choice(headers[-20:])
            if target.id != parent.id:
                headers.append(H(cid(i), parent.id, MERGE, target.id, ts=rnd.random() * 1000))
                continue
        headers.append(H(cid(i), parent.id, ts=rnd.random() * 1000))
    by_id = {h.id: h for h in headers}
    g = layout(headers)
    assert sorted(g.ids) == sorted(by_id)
    for r, c in enumerate(g.ids):
        h = by_id[c]
        deps = [h.parent] + ([h.target] if h.type_code == MERGE else [])
        for d in deps:
            if d == ZERO_ID:
                continue
            target_row = g.row_of[d]
            assert target_row > r
            # the edge leaves row r in some lane and stays in that lane down to the row above d
            lanes = [lane for lane, t in g.lanes_after[r] if t == target_row]
            assert lanes, (r, target_row)
            lane = lanes[0]
            for between in range(r + 1, target_row):
                assert (lane, target_row) in g.lanes_after[between]
                assert g.lane[between] != lane  # no commit sits on a lane an edge runs through
        assert len({lane for lane, _ in g.lanes_after[r]}) == len(g.lanes_after[r])
    assert g.width >= 2
