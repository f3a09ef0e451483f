"""The in-memory backend: small and readable; the reference and test double for the others."""

from __future__ import annotations

import threading
import uuid as _uuid
from typing import Any

from commitdb.errors import StorageError
from commitdb.storage.base import (
    MERGE,
    TRANSACTION_MODES,
    ZERO_ID,
    BlobRecord,
    CommitData,
    CommitDatabasing,
    CommitHeader,
)


class MemoryBackend(CommitDatabasing):
    """Everything in dicts. Transactions keep an undo log so rollback restores the state."""

    def __init__(self, documentation: str = "In Memory") -> None:
        self._uuid = str(_uuid.uuid4())
        self._documentation = documentation
        self._definitions = b""
        self._commits: dict[bytes, CommitData] = {}  # insertion order = creation order
        self._children: dict[bytes, int] = {}
        self._nephews: dict[bytes, int] = {}
        self._heads: dict[bytes, None] = {}
        self._blobs: dict[bytes, BlobRecord] = {}
        self._version = 0
        self._undo: list[tuple[str, bytes, object]] | None = None
        self._lock = threading.RLock()
        self._last_write: tuple[int, int] | None = None

    # --- metadata --------------------------------------------------------------------------
    def path(self) -> str:
        return "InMemory"

    def in_memory(self) -> bool:
        return True

    def uuid(self) -> str:
        return self._uuid

    def documentation(self) -> str:
        return self._documentation

    def codec_name(self) -> str:
        return "StreamBinary"

    def definitions_bytes(self) -> bytes:
        return self._definitions

    def write_definitions(self, encoded: bytes, hexdigest: str) -> None:
        self._log("definitions", b"", self._definitions)
        self._definitions = encoded
        self._bump()

    def data_version(self) -> int:
        return self._version

    def last_write_versions(self) -> tuple[int, int] | None:
        return self._last_write

    def _bump(self) -> None:
        self._last_write = (self._version, self._version + 1)
        self._version += 1

    # --- commits ---------------------------------------------------------------------------
    def get_commit(self, commit_id: bytes) -> CommitData | None:
        return self._commits.get(commit_id)

    def get_header(self, commit_id: bytes) -> CommitHeader | None:
        c = self._commits.get(commit_id)
        return None if c is None else c.header()

    def insert_commit(self, commit: CommitData, index_entries: list[tuple[Any, bool]] | None = None) -> bool:
        h = commit.header()
        with self._lock:
            if h.id in self._commits:
                return False
            self._commits[h.id] = commit
            self._link(h, +1)
            self._log("commit", h.id, None)
            self._bump()
            return True

    def _link(self, h: CommitHeader, delta: int) -> None:
        """Maintain child/nephew counts and the head set when ``h`` is added or removed.

        References to commits not stored yet are counted too, so a commit stored after its
        child (``create_commit_data`` out of topological order) is not taken for a head."""
        if delta > 0:
            if not self._children.get(h.id) and not self._nephews.get(h.id):
                self._heads[h.id] = None
        else:
            self._heads.pop(h.id, None)
        links = [(h.parent, self._children)] if h.parent != ZERO_ID else []
        if h.type_code == MERGE:
            links.append((h.target, self._nephews))
        for ref, counts in links:
            n = counts.get(ref, 0) + delta
            if n > 0:
                counts[ref] = n
                self._heads.pop(ref, None)
            else:
                counts.pop(ref, None)
                if ref in self._commits and not self._children.get(ref) and not self._nephews.get(ref):
                    self._heads[ref] = None

    def all_headers(self) -> list[CommitHeader]:
        return [c.header() for c in self._commits.values()]

    def head_ids(self) -> set[bytes]:
        return set(self._heads)

    def commit_count(self) -> int:
        return len(self._commits)

    def remove_commit(self, commit_id: bytes) -> None:
        with self._lock:
            c = self._commits.get(commit_id)
            if c is None:
                return
            self._unlink_and_remove(c)

    def _unlink_and_remove(self, c: CommitData) -> None:
        self._bump_generation()
        h = c.header()
        del self._commits[h.id]
        self._link(h, -1)
        self._log("uncommit", h.id, c)
        self._bump()

    def remove_all_but_first(self) -> None:
        with self._lock:
            ids = list(self._commits)
            for cid in reversed(ids[1:]):
                self._unlink_and_remove(self._commits[cid])

    # --- blobs -----------------------------------------------------------------------------
    def get_blob(self, blob_id: bytes) -> BlobRecord | None:
        return self._blobs.get(blob_id)

    def has_blob(self, blob_id: bytes) -> bool:
        return blob_id in self._blobs

    def insert_blob(self, blob: BlobRecord) -> bool:
        with self._lock:
            if blob.blob_id in self._blobs:
                return False
            self._blobs[blob.blob_id] = blob
            self._log("blob", blob.blob_id, None)
            self._bump()
            return True

    def blob_id_list(self) -> list[bytes]:
        return list(self._blobs)

    # --- transactions ----------------------------------------------------------------------
    def _log(self, kind: str, key: bytes, old: object) -> None:
        if self._undo is not None:
            self._undo.append((kind, key, old))

    def begin_transaction(self, mode: str = "Deferred") -> None:
        if mode not in TRANSACTION_MODES:
            raise StorageError(f"unknown transaction mode {mode!r}; use one of {', '.join(TRANSACTION_MODES)}")
        self._lock.acquire()
        if self._undo is not None:
            self._lock.release()
            raise StorageError("a transaction is already in progress")
        self._undo = []

    def commit(self) -> None:
        if self._undo is None:
            raise StorageError("no transaction in progress")
        self._undo = None
        self._lock.release()

    def rollback(self) -> None:
        if self._undo is None:
            raise StorageError("no transaction in progress")
        undo, self._undo = self._undo, None
        self._bump_generation()
        for kind, key, old in reversed(undo):
            if kind == "commit":
                c = self._commits.pop(key)
                self._link(c.header(), -1)
            elif kind == "uncommit":
                c = old  # type: ignore[assignment]
                self._commits[key] = c  # type: ignore[assignment]
                self._link(c.header(), +1)  # type: ignore[attr-defined]
            elif kind == "blob":
                self._blobs.pop(key, None)
            elif kind == "definitions":
                self._definitions = old  # type: ignore[assignment]
        self._version += 1
        self._lock.release()

    def in_transaction(self) -> bool:
        return self._undo is not None
