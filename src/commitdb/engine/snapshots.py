"""Document snapshots: documents already rebuilt at some commit, reused as replay starting points.

A snapshot of document d taken at commit k holds d as the state at k sees it. It can seed the
rebuild of d at a later commit c when L(k) is a prefix of L(c) and c's view agrees with k's on
which commits of L(k) are disabled; only the commits after k are then replayed. This turns a
long chain of updates of one document from quadratic into linear work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from commitdb.engine.dag import Linearization
from commitdb.engine.program import DocKey
from commitdb.values.value import Value


class Snapshot:
    __slots__ = ("disabled", "doc", "lin")

    def __init__(self, doc: Value | None, lin: Linearization, disabled: frozenset[bytes]) -> None:
        self.doc, self.lin, self.disabled = doc, lin, disabled

    def usable_for(self, lin: Linearization, disabled: frozenset[bytes]) -> bool:
        """Whether this snapshot is the document as the state (lin, disabled) sees it at the
        snapshot's commit."""
        if not self.lin.is_prefix_of(lin):
            return False
        if self.disabled is disabled:
            return True
        n = len(self.lin)
        seen = set()
        for x in disabled:
            p = lin.position(x)
            if p is not None and p < n:
                seen.add(x)
        return seen == self.disabled


class SnapshotCache:
    """Recent snapshots per document (a few per document, least recently used documents
    evicted first). Thread-safe."""

    def __init__(self, max_documents: int = 50_000, per_document: int = 8) -> None:
        self._docs: OrderedDict[DocKey, OrderedDict[bytes, Snapshot]] = OrderedDict()
        self._max_documents, self._per_document = max_documents, per_document
        self._lock = threading.Lock()

    def get(self, commit_id: bytes, dk: DocKey) -> Snapshot | None:
        with self._lock:
            per = self._docs.get(dk)
            return None if per is None else per.get(commit_id)

    def for_document(self, dk: DocKey) -> list[tuple[bytes, Snapshot]]:
        """The snapshots of one document, newest first."""
        with self._lock:
            per = self._docs.get(dk)
            if per is None:
                return []
            self._docs.move_to_end(dk)
            return list(reversed(per.items()))

    def put(self, commit_id: bytes, dk: DocKey, snapshot: Snapshot) -> None:
        with self._lock:
            per = self._docs.get(dk)
            if per is None:
                per = self._docs[dk] = OrderedDict()
            per[commit_id] = snapshot
            per.move_to_end(commit_id)
            while len(per) > self._per_document:
                per.popitem(last=False)
            self._docs.move_to_end(dk)
            while len(self._docs) > self._max_documents:
                self._docs.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()
