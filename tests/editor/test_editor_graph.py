"""The lane layout of the history graph: rows in a topological order that follows time, and
lanes that let every edge be drawn from the rows of a page alone — whether the history was laid
out at once or grew commit by commit on top."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from commitdb.editor.graph import GraphLayout, layout, topological_rows
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


def rows(g: GraphLayout) -> list[bytes]:
    return [g.commit_at(r) for r in range(len(g))]


def test_a_chain_is_one_lane_newest_first() -> None:
    headers = [H(cid(i), cid(i - 1) if i > 1 else ZERO_ID, ts=i) for i in range(1, 6)]
    g = layout(headers)
    assert rows(g) == [cid(i) for i in range(5, 0, -1)]
    assert [g.lane_at(r) for r in range(5)] == [0] * 5 and g.width == 1
    assert g.lanes_after(0) == [(0, 1)] and g.lanes_after(4) == []


def test_branches_take_lanes_and_a_merge_joins_them() -> None:
    root = H(cid(1), ZERO_ID, ts=1)
    a = H(cid(2), cid(1), ts=2)
    b = H(cid(3), cid(1), ts=3)
    m = H(cid(4), cid(2), MERGE, cid(3), ts=4)
    g = layout([root, a, b, m])
    assert rows(g) == [cid(4), cid(3), cid(2), cid(1)]
    assert g.lane_at(0) == 0  # the merge
    assert g.lanes_after(0) == [(0, 2), (1, 1)]  # its parent row 2 in lane 0, its target row 1 in lane 1
    assert [g.lane_at(r) for r in (1, 2, 3)] == [1, 0, 0]
    assert g.width == 2


def test_a_child_stays_above_its_parent_whatever_the_clocks_say() -> None:
    headers = [H(cid(1), ZERO_ID, ts=50), H(cid(2), cid(1), ts=10), H(cid(3), cid(2), DISABLE, cid(1), ts=5)]
    assert topological_rows(headers) == [cid(3), cid(2), cid(1)]


def random_history(seed: int, size: int = 400) -> list[H]:
    rnd = random.Random(seed)
    headers: list[H] = [H(cid(1), ZERO_ID, ts=0)]
    for i in range(2, size):
        parent = rnd.choice(headers[-12:])
        if rnd.random() < 0.15 and len(headers) > 3:
            target = rnd.choice(headers[-20:])
            if target.id != parent.id:
                headers.append(H(cid(i), parent.id, MERGE, target.id, ts=i))
                continue
        headers.append(H(cid(i), parent.id, ts=i + rnd.random() * 30))
    return headers


def check_drawable(g: GraphLayout, headers: list[H]) -> None:
    """Every edge leaves its commit in one lane and stays there, alone, down to the row above
    the commit it joins; no commit sits on a lane an edge runs through."""
    by_id = {h.id: h for h in headers}
    assert sorted(rows(g)) == sorted(by_id)
    for r in range(len(g)):
        h = by_id[g.commit_at(r)]
        band = g.lanes_after(r)
        assert len({lane for lane, _ in band}) == len(band)
        for d in [h.parent] + ([h.target] if h.type_code == MERGE else []):
            if d == ZERO_ID:
                continue
            target_row = g.row_of(d)
            assert target_row is not None and target_row > r
            lanes = [lane for lane, t in band if t == target_row]
            assert lanes, (r, target_row)
            for between in range(r + 1, target_row):
                assert (lanes[0], target_row) in g.lanes_after(between)
                assert g.lane_at(between) != lanes[0]


@pytest.mark.parametrize("seed", range(4))
def test_every_edge_runs_unbroken_in_one_lane(seed: int) -> None:
    headers = random_history(seed)
    g = layout(headers)
    check_drawable(g, headers)
    assert g.width >= 2


@pytest.mark.parametrize("seed", range(4))
def test_a_history_grown_on_top_stays_drawable(seed: int) -> None:
    headers = random_history(seed)
    g = layout(headers[:50])
    for h in headers[50:]:
        assert g.extend(h)
    check_drawable(g, headers)
    assert g.extend(headers[10])  # already laid out: nothing to do
    assert not g.extend(H(cid(10_000), cid(9_999)))  # its parent is unknown


@pytest.mark.parametrize("seed", range(3))
def test_ancestry_from_the_layout(seed: int) -> None:
    headers = random_history(seed, 200)
    by_id = {h.id: h for h in headers}
    g = layout(headers[:120])
    for h in headers[120:]:
        g.extend(h)

    def ancestors(c: bytes) -> set[bytes]:
        found, stack = set(), [c]
        while stack:
            h = by_id[stack.pop()]
            for d in [h.parent] + ([h.target] if h.type_code == MERGE else []):
                if d != ZERO_ID and d not in found:
                    found.add(d)
                    stack.append(d)
        return found

    rnd = random.Random(seed)
    for _ in range(200):
        a, d = rnd.choice(headers).id, rnd.choice(headers).id
        assert g.is_ancestor(a, d) == (a in ancestors(d))
    assert not g.is_ancestor(cid(1), cid(10_000))
