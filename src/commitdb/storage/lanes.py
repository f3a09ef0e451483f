"""Lanes: the commit DAG's linearisations as a few ranges, so reads need not load the history.

Every commit is *placed* once, when stored, at ``(lane, seq)``: a lane is a run of commits each
the parent of the next, numbered from 0. A commit extends its parent's lane when the parent is
the lane's last commit; otherwise (a second child, a merge, a root) it starts a new lane. A lane
records what comes before its first commit in every linearisation that runs through it:

    prefix(lane) = L(base) + extra

where ``base`` is the first commit's parent (none for a root) and ``extra`` is, for a lane started
by a merge ``M = merge(p, q)``, the ranges of ``L(q)`` not in ``L(p)`` (SPEC §6.3); empty
otherwise. Then for a commit at ``(lane, seq)``::

    L(commit) = prefix(lane) + [(lane, 0, seq)]

A linearisation is therefore a tuple of inclusive ranges ``(lane, lo, hi)``; a chain of any
length is one range. Placements never change once made (a deleted head only shortens its lane),
which is why they can be persisted and cached by any reader. This module is pure: backends
store the rows, the engine reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

Range = tuple[int, int, int]  # (lane, lo, hi), inclusive
Ranges = tuple[Range, ...]


class LaneRow(NamedTuple):
    """One lane: its base commit's placement (or None), the extra ranges of a merge lane, its
    number of commits and the id of its last commit."""

    base: tuple[int, int] | None
    extra: Ranges
    length: int
    tip: bytes


class Placement(NamedTuple):
    """Where a new commit goes: an existing lane (``new_lane`` False) or a new one."""

    lane: int | None  # None: a new lane, numbered by the backend
    seq: int
    base: tuple[int, int] | None
    extra: Ranges


def lin_ranges(lane: int, seq: int, prefix_of: Callable[[int], Ranges]) -> Ranges:
    """L of the commit at ``(lane, seq)``."""
    return (*prefix_of(lane), (lane, 0, seq))


def lane_prefix(lane: int, known: Callable[[int], Ranges | None],
                row_of: Callable[[int], LaneRow], keep: Callable[[int, Ranges], None]) -> Ranges:
    """prefix(lane): what comes before the lane's first commit in every linearisation through it.

    Computed without recursion (a history may hold thousands of merges, each a lane based on the
    one before): walk the bases back to a lane whose prefix is ``known``, then build forward,
    appending each lane's base range and extra ranges. ``keep(lane, prefix)`` is offered the
    result and every 64th prefix on the way, so a cache bounded in lanes stays bounded in size."""
    chain: list[tuple[int, LaneRow]] = []
    start: Ranges = ()
    x = lane
    while True:
        found = known(x)
        if found is not None:
            start = found
            break
        row = row_of(x)
        chain.append((x, row))
        if row.base is None:
            break
        x = row.base[0]
    built = list(start)
    for step, (x, row) in enumerate(reversed(chain), 1):
        if row.base is not None:
            built.append((row.base[0], 0, row.base[1]))
        built.extend(row.extra)
        if step % 64 == 0 and x != lane:
            keep(x, tuple(built))
    result = tuple(built)
    keep(lane, result)
    return result


def subtract(ranges: Iterable[Range], removed: Iterable[Range]) -> Ranges:
    """The parts of ``ranges`` not covered by ``removed``, in the order of ``ranges``."""
    cover: dict[int, list[tuple[int, int]]] = {}
    for lane, lo, hi in removed:
        cover.setdefault(lane, []).append((lo, hi))
    out: list[Range] = []
    for lane, lo, hi in ranges:
        pieces = [(lo, hi)]
        for clo, chi in cover.get(lane, ()):
            next_pieces = []
            for plo, phi in pieces:
                if chi < plo or clo > phi:
                    next_pieces.append((plo, phi))
                    continue
                if plo < clo:
                    next_pieces.append((plo, clo - 1))
                if chi < phi:
                    next_pieces.append((chi + 1, phi))
            pieces = next_pieces
        out.extend((lane, plo, phi) for plo, phi in pieces)
    return tuple(out)


def place(parent: tuple[int, int] | None, parent_lane_length: int, is_merge: bool,
          parent_lin: Ranges, target_lin: Ranges | None) -> Placement:
    """Where a commit goes, given its parent's placement (None for a root or a parent this
    database lacks), the length of the parent's lane, and for a merge whose target is placed,
    both linearisations.

    A merge always starts a lane (its prefix holds what it brought in); a commit whose parent is
    the last of its lane extends it; any other child starts a lane based on its parent."""
    if is_merge and target_lin is not None:
        return Placement(None, 0, parent, subtract(target_lin, parent_lin))
    if parent is not None and parent[1] == parent_lane_length - 1:
        return Placement(parent[0], parent[1] + 1, None, ())
    return Placement(None, 0, parent, ())


class Positions:
    """Positions of placed commits in one linearisation (a tuple of ranges)."""

    __slots__ = ("_by_lane", "length", "ranges")

    def __init__(self, ranges: Ranges) -> None:
        self.ranges = ranges
        self._by_lane: dict[int, list[tuple[int, int, int]]] = {}
        offset = 0
        for lane, lo, hi in ranges:
            self._by_lane.setdefault(lane, []).append((lo, hi, offset))
            offset += hi - lo + 1
        self.length = offset

    def position(self, lane: int, seq: int) -> int | None:
        """The index of the commit at ``(lane, seq)`` in the linearisation, or None."""
        for lo, hi, offset in self._by_lane.get(lane, ()):
            if lo <= seq <= hi:
                return offset + seq - lo
        return None

    def after(self, position: int) -> Ranges:
        """The ranges holding the positions after ``position``."""
        out: list[Range] = []
        offset = 0
        for lane, lo, hi in self.ranges:
            end = offset + hi - lo
            if end > position:
                start = max(lo, lo + position + 1 - offset)
                out.append((lane, start, hi))
            offset = end + 1
        return tuple(out)

    def min_position(self, ranges: Iterable[Range]) -> int | None:
        """The smallest position of any commit of ``ranges`` in this linearisation."""
        best: int | None = None
        for lane, lo, hi in ranges:
            for rlo, rhi, offset in self._by_lane.get(lane, ()):
                if hi < rlo or lo > rhi:
                    continue
                p = offset + max(lo, rlo) - rlo
                if best is None or p < best:
                    best = p
        return best

    def is_prefix(self, other: Ranges) -> bool:
        """Whether the linearisation ``other`` (a commit's own L) is a prefix of this one."""
        n = len(other)
        if n == 0 or n > len(self.ranges):
            return n == 0
        if self.ranges[: n - 1] != other[: n - 1]:
            return False
        lane, lo, hi = other[-1]
        olane, olo, ohi = self.ranges[n - 1]
        return lane == olane and lo == olo and hi <= ohi


def covers(ranges: Iterable[Range], lane: int, seq: int) -> bool:
    return any(r_lane == lane and lo <= seq <= hi for r_lane, lo, hi in ranges)
