"""The per-document index: which commits touch which document.

A document read replays only the commits that touch it, in linearisation order, from the last
enabled Document_Set on (DESIGN "Performance shape"). The index is derived data: it can always
be rebuilt from the stored programs.
"""

from __future__ import annotations

from commitdb.engine.program import DOCUMENT_SET, CommitProgram, DocKey


class DocIndex:
    """doc key -> commits touching it; attachment rid -> doc keys; commits with a Document_Set."""

    def __init__(self) -> None:
        self.commits_by_doc: dict[DocKey, list[bytes]] = {}
        self.touch_sets: dict[DocKey, set[bytes]] = {}
        self.docs_by_attachment: dict[bytes, dict[DocKey, None]] = {}
        self.sets: set[tuple[bytes, DocKey]] = set()
        self.indexed: set[bytes] = set()

    def add(self, commit_id: bytes, program: CommitProgram) -> None:
        if commit_id in self.indexed:
            return
        self.indexed.add(commit_id)
        for dk in program.doc_keys():
            self.commits_by_doc.setdefault(dk, []).append(commit_id)
            self.touch_sets.setdefault(dk, set()).add(commit_id)
            self.docs_by_attachment.setdefault(dk[0], {})[dk] = None
            if any(op.code == DOCUMENT_SET for op in program.doc_opcodes(dk)):
                self.sets.add((commit_id, dk))

    def add_entries(self, commit_id: bytes, entries: list[tuple[DocKey, bool]]) -> None:
        """Index a commit from precomputed (doc key, has Document_Set) rows."""
        if commit_id in self.indexed:
            return
        self.indexed.add(commit_id)
        for dk, has_set in entries:
            self.commits_by_doc.setdefault(dk, []).append(commit_id)
            self.touch_sets.setdefault(dk, set()).add(commit_id)
            self.docs_by_attachment.setdefault(dk[0], {})[dk] = None
            if has_set:
                self.sets.add((commit_id, dk))

    def remove(self, commit_id: bytes) -> None:
        if commit_id not in self.indexed:
            return
        self.indexed.discard(commit_id)
        for dk, ids in list(self.commits_by_doc.items()):
            if commit_id in ids:
                ids.remove(commit_id)
                self.touch_sets[dk].discard(commit_id)
                self.sets.discard((commit_id, dk))

    def commits_touching(self, doc_key: DocKey) -> list[bytes]:
        return self.commits_by_doc.get(doc_key, [])

    def touching_set(self, doc_key: DocKey) -> set[bytes]:
        return self.touch_sets.get(doc_key, set())

    def doc_keys(self, attachment_rid: bytes) -> list[DocKey]:
        return list(self.docs_by_attachment.get(attachment_rid, {}))

    def has_document_set(self, commit_id: bytes, doc_key: DocKey) -> bool:
        return (commit_id, doc_key) in self.sets
