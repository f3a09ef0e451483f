"""The commit DAG in memory: headers, children, nephews, linearisation and the toggle algebra.

``Dag`` is a pure index over commit headers; it performs no I/O. The database facade feeds it
headers as they are stored (and reloads it when another connection wrote).

Linearisation (SPEC §6.3)::

    L(root r)                 = [r]
    L(c with parent p)        = L(p) + [c]
    L(M = merge(p, target q)) = L(p) + [x for x in L(q) if x not in L(p)] + [M]

Linearisations are cached per commit as a prefix of a shared list, so a chain of commits costs
one list in total and extending a head is O(1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from commitdb.storage.base import DISABLE, ENABLE, MERGE, ZERO_ID, CommitHeader


class SharedList:
    """An append-only list of commit ids with their positions; shared by the linearisations
    of a chain, each seeing a prefix."""

    __slots__ = ("items", "pos")

    def __init__(self, items: list[bytes]) -> None:
        self.items = items
        self.pos = {x: i for i, x in enumerate(items)}

    def append(self, commit_id: bytes) -> None:
        self.pos[commit_id] = len(self.items)
        self.items.append(commit_id)


class Linearization:
    """The first ``n`` items of a shared, append-only list of commit ids."""

    __slots__ = ("_n", "_shared")

    def __init__(self, shared: SharedList, n: int) -> None:
        self._shared, self._n = shared, n

    @staticmethod
    def of(items: list[bytes]) -> Linearization:
        return Linearization(SharedList(items), len(items))

    def __len__(self) -> int:
        return self._n

    def ids(self) -> list[bytes]:
        return self._shared.items[: self._n]

    def slice(self, start: int) -> list[bytes]:
        """The ids from ``start`` to the end of this linearisation."""
        return self._shared.items[start: self._n]

    def __iter__(self) -> Iterator[bytes]:
        items = self._shared.items
        return (items[i] for i in range(self._n))

    def reversed_ids(self) -> Iterable[bytes]:
        items = self._shared.items
        return (items[i] for i in range(self._n - 1, -1, -1))

    def position(self, commit_id: bytes) -> int | None:
        """The index of ``commit_id`` in this linearisation, or None."""
        p = self._shared.pos.get(commit_id)
        return p if p is not None and p < self._n else None

    def __contains__(self, commit_id: bytes) -> bool:
        return self.position(commit_id) is not None

    def is_prefix_of(self, other: Linearization) -> bool:
        """Cheap check: True only when both share a list and this one is not longer."""
        return self._shared is other._shared and self._n <= other._n


class Dag:
    """Headers of every stored commit with the links derived from them."""

    def __init__(self, headers: Iterable[CommitHeader] = ()) -> None:
        self.headers: dict[bytes, CommitHeader] = {}
        self.children: dict[bytes, list[bytes]] = {}
        self.nephews: dict[bytes, list[bytes]] = {}
        self.heads: dict[bytes, None] = {}
        self._lin: dict[bytes, Linearization] = {}
        self._enabled: dict[bytes, dict[bytes, bool]] = {}
        for h in headers:
            self.add(h)

    def __len__(self) -> int:
        return len(self.headers)

    def __contains__(self, commit_id: bytes) -> bool:
        return commit_id in self.headers

    def add(self, h: CommitHeader) -> None:
        if h.id in self.headers:
            return
        self.headers[h.id] = h
        if h.parent != ZERO_ID:
            self.children.setdefault(h.parent, []).append(h.id)
            self.heads.pop(h.parent, None)
        if h.type_code == MERGE:
            self.nephews.setdefault(h.target, []).append(h.id)
            self.heads.pop(h.target, None)
        if h.id not in self.children and h.id not in self.nephews:
            self.heads[h.id] = None

    def remove(self, commit_id: bytes) -> None:
        h = self.headers.pop(commit_id, None)
        if h is None:
            return
        self.heads.pop(commit_id, None)
        for links, ref in ((self.children, h.parent), (self.nephews, h.target)):
            lst = links.get(ref)
            if lst and commit_id in lst:
                lst.remove(commit_id)
                if not lst:
                    del links[ref]
            if ref in self.headers and ref not in self.children and ref not in self.nephews:
                self.heads[ref] = None
        # Cached linearisations may share lists with the removed commit: drop them all.
        self._lin.clear()
        self._enabled.clear()

    def header(self, commit_id: bytes) -> CommitHeader | None:
        return self.headers.get(commit_id)

    # --- linearisation ---------------------------------------------------------------------
    def linearize(self, commit_id: bytes) -> Linearization:
        """L(commit_id); KeyError when the commit is unknown."""
        cached = self._lin.get(commit_id)
        if cached is not None:
            return cached
        if commit_id not in self.headers:
            raise KeyError(commit_id)
        # Fast path: a plain chain down to a cached commit or a root, built forward in one go.
        chain: list[CommitHeader] = []
        x = commit_id
        while x not in self._lin:
            h = self.headers[x]
            if h.type_code == MERGE and h.target in self.headers and h.target not in self._lin:
                chain = []
                break  # a merge needs its target first: use the general walk below
            chain.append(h)
            if h.parent == ZERO_ID or h.parent not in self.headers:
                break
            x = h.parent
        if chain:
            for h in reversed(chain):
                self._lin[h.id] = self._build(h)
            return self._lin[commit_id]
        # Iterative post-order over parent and merge-target dependencies: no recursion limit.
        stack = [commit_id]
        while stack:
            x = stack[-1]
            if x in self._lin:
                stack.pop()
                continue
            h = self.headers[x]
            pending = [d for d in self._deps(h) if d not in self._lin]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            self._lin[x] = self._build(h)
        return self._lin[commit_id]

    def _deps(self, h: CommitHeader) -> list[bytes]:
        deps = []
        if h.parent != ZERO_ID and h.parent in self.headers:
            deps.append(h.parent)
        if h.type_code == MERGE and h.target in self.headers:
            deps.append(h.target)
        return deps

    def _build(self, h: CommitHeader) -> Linearization:
        parent = self._lin.get(h.parent) if h.parent != ZERO_ID else None
        if h.type_code == MERGE and h.target in self._lin:
            base = parent.ids() if parent is not None else []
            seen = set(base)
            return Linearization.of([*base, *(x for x in self._lin[h.target] if x not in seen), h.id])
        if parent is None:
            return Linearization.of([h.id])
        shared, n = parent._shared, parent._n
        if len(shared.items) == n:
            shared.append(h.id)  # extend the shared list: L(p) stays its prefix
            return Linearization(shared, n + 1)
        return Linearization.of([*shared.items[:n], h.id])

    def merge_linearization(self, ours: bytes, theirs: bytes) -> Linearization:
        """L of a virtual merge(ours, theirs), without the merge commit itself."""
        base = self.linearize(ours).ids() if ours != ZERO_ID else []
        seen = set(base)
        extra = list(self.linearize(theirs)) if theirs != ZERO_ID else []
        return Linearization.of(base + [x for x in extra if x not in seen])

    def brought_in(self, merge_id: bytes) -> list[bytes]:
        """The commits a merge brought in: L(target) minus L(parent)."""
        h = self.headers[merge_id]
        lin = self.linearize(merge_id)
        start = len(self.linearize(h.parent)) if h.parent in self.headers else 0
        return lin.ids()[start:-1]

    # --- toggles ---------------------------------------------------------------------------
    def enabled_map(self, lin: Linearization, key: bytes | None = None) -> dict[bytes, bool]:
        """For every commit of ``lin`` (and toggle targets), whether it is enabled (SPEC §6.3).

        Walk from newest to oldest: the latest enabled toggle decides its target; a disabled
        merge disables what it brought in (unless decided later in the walk).
        """
        if key is not None:
            cached = self._enabled.get(key)
            if cached is not None:
                return cached
        decided: dict[bytes, bool] = {}
        headers = self.headers
        for x in lin.reversed_ids():
            flag = decided.setdefault(x, True)
            h = headers[x]
            t = h.type_code
            if t == DISABLE or t == ENABLE:
                if flag and h.target not in decided:
                    decided[h.target] = t == ENABLE
            elif t == MERGE and not flag:
                for y in self.brought_in(x):
                    decided.setdefault(y, False)
        if key is not None:
            self._enabled[key] = decided
        return decided

    # --- ancestry --------------------------------------------------------------------------
    def fast_forward(self, commit_id: bytes) -> bytes:
        """Step to a child, or else a merge targeting the commit, smallest id first, until none."""
        current = commit_id
        seen = {current}
        while True:
            candidates = self.children.get(current) or self.nephews.get(current)
            if not candidates:
                return current
            nxt = min(candidates)
            if nxt in seen:  # defensive: a DAG has no cycles
                return current
            seen.add(nxt)
            current = nxt
