"""The per-document index: which commits touch which document.

A document read replays only the commits that touch it, in linearisation order, from the last
enabled Document_Set on (DESIGN "Performance shape"). The index is derived data: it can always
be rebuilt from the stored programs.

With a *loader* (a backend that keeps the index and can answer per document), nothing is read
up front: the rows of a document, or the documents of an attachment, are fetched the first time
they are asked for and merged with what was indexed in memory since (duplicates are ignored).
"""

from __future__ import annotations

import threading
from typing import Protocol

from commitdb.engine.program import DOCUMENT_SET, CommitProgram, DocKey


class IndexLoader(Protocol):
    """What a backend offers for lazy loading (see ``CommitDatabasing.supports_lazy_index``)."""

    def index_rows_for_doc(self, doc_key: DocKey) -> list[tuple[bytes, bool]]: ...

    def index_doc_keys(self, attachment_rid: bytes) -> list[DocKey]: ...


class DocIndex:
    """doc key -> commits touching it; attachment rid -> doc keys; commits with a Document_Set."""

    def __init__(self, loader: IndexLoader | None = None) -> None:
        self.commits_by_doc: dict[DocKey, list[bytes]] = {}
        self.touch_sets: dict[DocKey, set[bytes]] = {}
        self.docs_by_attachment: dict[bytes, dict[DocKey, None]] = {}
        self.sets: set[tuple[bytes, DocKey]] = set()
        self.indexed: set[bytes] = set()
        self._loader = loader
        self._loaded_docs: set[DocKey] = set()
        self._loaded_attachments: set[bytes] = set()
        self._lock = threading.RLock()

    # --- adding ------------------------------------------------------------------------------
    def _add_row(self, commit_id: bytes, dk: DocKey, has_set: bool) -> None:
        touched = self.touch_sets.get(dk)
        if touched is None:
            touched = self.touch_sets[dk] = set()
            self.commits_by_doc[dk] = []
            self.docs_by_attachment.setdefault(dk[0], {})[dk] = None
        if commit_id not in touched:
            touched.add(commit_id)
            self.commits_by_doc[dk].append(commit_id)
        if has_set:
            self.sets.add((commit_id, dk))

    def add(self, commit_id: bytes, program: CommitProgram) -> None:
        self.add_entries(commit_id, [(dk, any(op.code == DOCUMENT_SET for op in program.doc_opcodes(dk)))
                                     for dk in program.doc_keys()])

    def add_entries(self, commit_id: bytes, entries: list[tuple[DocKey, bool]]) -> None:
        """Index a commit from precomputed (doc key, has Document_Set) rows."""
        with self._lock:
            if commit_id in self.indexed:
                return
            self.indexed.add(commit_id)
            for dk, has_set in entries:
                self._add_row(commit_id, dk, has_set)

    def remove(self, commit_id: bytes) -> None:
        with self._lock:
            self.indexed.discard(commit_id)
            for dk, ids in self.commits_by_doc.items():
                if commit_id in self.touch_sets[dk]:
                    ids.remove(commit_id)
                    self.touch_sets[dk].discard(commit_id)
                    self.sets.discard((commit_id, dk))

    # --- lazy loading ----------------------------------------------------------------------------
    def _ensure_doc(self, dk: DocKey) -> None:
        if self._loader is None or dk in self._loaded_docs:
            return
        with self._lock:
            if dk in self._loaded_docs:
                return
            for commit_id, has_set in self._loader.index_rows_for_doc(dk):
                self._add_row(commit_id, dk, has_set)
            self._loaded_docs.add(dk)

    def _ensure_attachment(self, attachment_rid: bytes) -> None:
        if self._loader is None or attachment_rid in self._loaded_attachments:
            return
        with self._lock:
            if attachment_rid in self._loaded_attachments:
                return
            known = self.docs_by_attachment.setdefault(attachment_rid, {})
            for dk in self._loader.index_doc_keys(attachment_rid):
                known.setdefault(dk, None)
            self._loaded_attachments.add(attachment_rid)

    # --- reading -------------------------------------------------------------------------------
    def commits_touching(self, doc_key: DocKey) -> list[bytes]:
        self._ensure_doc(doc_key)
        return self.commits_by_doc.get(doc_key, [])

    def touching_set(self, doc_key: DocKey) -> set[bytes]:
        self._ensure_doc(doc_key)
        return self.touch_sets.get(doc_key, set())

    def doc_keys(self, attachment_rid: bytes) -> list[DocKey]:
        self._ensure_attachment(attachment_rid)
        return list(self.docs_by_attachment.get(attachment_rid, {}))

    def has_document_set(self, commit_id: bytes, doc_key: DocKey) -> bool:
        self._ensure_doc(doc_key)
        return (commit_id, doc_key) in self.sets
