"""The storage interface: what every backend (memory, SQLite, remote) provides.

A backend stores bytes and the few columns it must index — commit records, blobs, encoded
definitions, metadata — and knows nothing of documents, paths or replay. Ids cross this
interface as raw bytes (20 for commits and blobs); the public names of SPEC §1
(``commit_data``, ``create_commit_data``, ``head_commit_ids`` ...) are implemented once here,
on top of a handful of primitives each backend implements.

Contract shared by all backends:
- ``insert_commit`` is idempotent: an existing id is left untouched (first label and timestamp
  win) and False is returned.
- ``commit_ids()``/``all_commits()`` list commits in creation order.
- heads are commits with no child that are not the target of a merge.
- ``data_version()`` changes whenever another connection has written.
- writes outside an explicit transaction are each their own transaction; ``begin_transaction``
  modes are 'Deferred', 'Immediate' and 'Exclusive'.
"""

from __future__ import annotations

import hashlib
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from commitdb.errors import CommitNotFoundError, ValidationError
from commitdb.values.scalars import ValueBlobId, ValueCommitId

ZERO_ID = bytes(20)
COMMIT_TYPES = ("Mutations", "Disable", "Enable", "Merge")
MUTATIONS, DISABLE, ENABLE, MERGE = 0, 1, 2, 3
TRANSACTION_MODES = ("Deferred", "Immediate", "Exclusive")


def as_id(commit_id: Any) -> bytes:
    """Raw 20-byte id from a ValueCommitId, 40-hex str or bytes; ValidationError otherwise."""
    if isinstance(commit_id, ValueCommitId | ValueBlobId):
        return commit_id.bytes_value()
    if isinstance(commit_id, bytes) and len(commit_id) == 20:
        return commit_id
    if isinstance(commit_id, str) and len(commit_id) == 40:
        try:
            return bytes.fromhex(commit_id)
        except ValueError:
            pass
    raise ValidationError(f"not a commit id: {commit_id!r}")


def compute_commit_id(parent: bytes, commit_type: int, target: bytes, data: bytes, token: bool = False) -> bytes:
    """SHA-1(parent ‖ u8 type ‖ target ‖ u64 len(data) ‖ data) — FORMAT.md §7.3. With the
    token codec each write carries its token byte (0c commit id, 01 uint8, 0f blob)."""
    if token:
        return hashlib.sha1(b"\x0c" + parent + b"\x01" + bytes([commit_type]) + b"\x0c" + target + b"\x0f"
                            + struct.pack("<Q", len(data)) + data).digest()
    return hashlib.sha1(parent + bytes([commit_type]) + target + struct.pack("<Q", len(data)) + data).digest()


def is_token_codec(codec: Any) -> bool:
    """Whether a codec (its name, or an object with ``codec_name()``) is StreamTokenBinary."""
    name = codec.codec_name() if hasattr(codec, "codec_name") else codec
    return name == "StreamTokenBinary"


class CommitHeader:
    """The header of a commit: id, parent, type, target, label and timestamp."""

    __slots__ = ("id", "label_text", "parent", "target", "ts", "type_code")

    def __init__(self, commit_id: bytes, parent: bytes, type_code: int, target: bytes, timestamp: float,
                 label: str) -> None:
        self.id, self.parent, self.type_code, self.target = commit_id, parent, type_code, target
        self.ts, self.label_text = timestamp, label

    def commit_id(self) -> ValueCommitId:
        return ValueCommitId(self.id)

    def parent_commit_id(self) -> ValueCommitId:
        return ValueCommitId(self.parent)

    def target_commit_id(self) -> ValueCommitId:
        return ValueCommitId(self.target)

    def commit_type(self) -> str:
        return COMMIT_TYPES[self.type_code]

    def label(self) -> str:
        return self.label_text

    def timestamp(self) -> float:
        return self.ts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommitHeader) and (
            self.id, self.parent, self.type_code, self.target, self.ts, self.label_text
        ) == (other.id, other.parent, other.type_code, other.target, other.ts, other.label_text)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return (f"CommitHeader({self.id.hex()}, type={self.commit_type()}, parent={self.parent.hex()}, "
                f"target={self.target.hex()}, label={self.label_text!r}, timestamp={self.ts})")


class CommitData:
    """A commit as stored: its header and the encoded program bytes (FORMAT.md §7.2)."""

    __slots__ = ("_data", "_header")

    def __init__(self, header: CommitHeader, data: bytes) -> None:
        self._header, self._data = header, data

    def header(self) -> CommitHeader:
        return self._header

    def data(self) -> bytes:
        return self._data

    def computed_id(self, token: bool = False) -> bytes:
        h = self._header
        return compute_commit_id(h.parent, h.type_code, h.target, self._data, token)

    def opcodes(self, codec: Any = None, definitions: Any = None) -> list[Any]:
        """The decoded opcodes (empty for Disable, Enable and Merge)."""
        if self._header.type_code != MUTATIONS:
            return []
        from commitdb.engine.program import decode_program

        return decode_program(self._data, definitions, token=is_token_codec(codec)).all_opcodes()

    def blob_ids(self, codec: Any = None, definitions: Any = None) -> set[ValueBlobId]:
        """Every blob id referenced by a value of this commit's opcodes."""
        from commitdb.engine.program import collect_blob_ids

        return {ValueBlobId(b) for b in collect_blob_ids(self.opcodes(codec, definitions))}

    def __repr__(self) -> str:
        return f"CommitData({self._header!r}, {len(self._data)} bytes)"


class BlobRecord:
    """One stored blob: id, layout text and bytes."""

    __slots__ = ("blob_id", "data", "layout")

    def __init__(self, blob_id: bytes, layout: str, data: bytes) -> None:
        self.blob_id, self.layout, self.data = blob_id, layout, data


class CommitDatabasing(ABC):
    """The storage interface. Subclasses implement the abstract primitives."""

    # --- metadata --------------------------------------------------------------------------
    @abstractmethod
    def path(self) -> str: ...

    @abstractmethod
    def uuid(self) -> str: ...

    @abstractmethod
    def documentation(self) -> str: ...

    @abstractmethod
    def codec_name(self) -> str: ...

    @abstractmethod
    def definitions_bytes(self) -> bytes:
        """The encoded definitions (FORMAT.md §5.1, in this database's codec)."""

    @abstractmethod
    def write_definitions(self, encoded: bytes, hexdigest: str) -> None:
        """Replace the stored definitions (callers extend additively and hold a transaction)."""

    @abstractmethod
    def data_version(self) -> int: ...

    def is_readonly(self) -> bool:
        return False

    def in_memory(self) -> bool:
        """Whether the database lives in this process only (nothing on disk)."""
        return False

    def local_generation(self) -> int:
        """A counter this connection bumps when it takes something away (rollback, deleting
        commits): read locally, so the facade can trust its views without asking the backend."""
        return getattr(self, "_generation", 0)

    def _bump_generation(self) -> None:
        self._generation = getattr(self, "_generation", 0) + 1

    def last_write_versions(self) -> tuple[int, int] | None:
        """(data version before, data version after) this connection's last write, where the
        "before" is read inside the write's transaction; None when unknown. Lets the facade
        skip re-reading its own writes without missing anyone else's."""
        return None

    # --- commits ---------------------------------------------------------------------------
    @abstractmethod
    def get_commit(self, commit_id: bytes) -> CommitData | None: ...

    @abstractmethod
    def get_header(self, commit_id: bytes) -> CommitHeader | None: ...

    @abstractmethod
    def insert_commit(self, commit: CommitData, index_entries: list[tuple[Any, bool]] | None = None) -> bool:
        """Store a commit unless its id exists (returns whether it was stored). A backend that
        persists the document index stores ``index_entries`` in the same transaction."""

    @abstractmethod
    def all_headers(self) -> list[CommitHeader]:
        """Every header in creation order."""

    @abstractmethod
    def head_ids(self) -> set[bytes]: ...

    @abstractmethod
    def remove_commit(self, commit_id: bytes) -> None:
        """Delete one commit row (callers check it is a head)."""

    @abstractmethod
    def remove_all_but_first(self) -> None: ...

    def insert_commits(self, rows: list[tuple[CommitData, list[tuple[Any, bool]] | None]]) -> list[bool]:
        """Insert several (commit, index entries) rows, each like ``insert_commit``; a backend
        may do it in one transaction or one round trip."""
        return [self.insert_commit(commit, entries) for commit, entries in rows]

    def get_commits(self, commit_ids: Iterable[bytes]) -> list[CommitData]:
        found = []
        for cid in commit_ids:
            c = self.get_commit(cid)
            if c is not None:
                found.append(c)
        return found

    def commit_count(self) -> int:
        return len(self.all_headers())

    def headers_since(self, marker: int, limit: int | None = None) -> tuple[list[CommitHeader], int]:
        """Headers stored after ``marker`` (0: all), in creation order — at most ``limit`` of them
        when given — and the marker to continue from."""
        headers = self.all_headers()[marker:]
        if limit is not None:
            headers = headers[:limit]
        return headers, marker + len(headers)

    # --- read structures (optional) ------------------------------------------------------------
    def read_index(self) -> Any:
        """The persisted read structures (a ``storage.readindex.ReadIndex``), or None when this
        backend keeps none (the facade then indexes in memory)."""
        return None

    def persists_index(self) -> bool:
        """Whether ``load_index`` can answer from stored rows (for clients building their own
        views, such as a remote client)."""
        return False

    def load_index(self, commit_ids: list[bytes] | None = None) -> dict[bytes, list[tuple[Any, bool]]]:
        """commit id -> [(doc key, has Document_Set)] for the commits the stored index covers."""
        return {}

    # --- blobs -----------------------------------------------------------------------------
    @abstractmethod
    def get_blob(self, blob_id: bytes) -> BlobRecord | None:
        """The blob, or None. Its bytes match its id: a backend checks bytes it reads from disk
        or receives (CorruptedDataError when they do not hash to the id); bytes it holds were
        checked when stored."""

    @abstractmethod
    def has_blob(self, blob_id: bytes) -> bool: ...

    @abstractmethod
    def insert_blob(self, blob: BlobRecord) -> bool: ...

    @abstractmethod
    def blob_id_list(self) -> list[bytes]: ...

    def blob_sizes(self) -> dict[bytes, tuple[str, int]]:
        """blob id -> (layout, size), without reading the bytes where the backend can."""
        out: dict[bytes, tuple[str, int]] = {}
        for b in self.blob_id_list():
            rec = self.get_blob(b)
            if rec is not None:
                out[b] = (rec.layout, len(rec.data))
        return out

    # --- transactions ----------------------------------------------------------------------
    @abstractmethod
    def begin_transaction(self, mode: str = "Deferred") -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def in_transaction(self) -> bool: ...

    def close(self) -> None:
        """Release resources; further calls may raise DatabaseClosedError."""

    # --- the documented interface (SPEC §1), built on the primitives ------------------------
    def commit_data(self, commit_id: Any) -> CommitData:
        cid = as_id(commit_id)
        found = self.get_commit(cid)
        if found is None:
            raise CommitNotFoundError(f"Missing commit {cid.hex()}")
        return found

    def commit_datas(self, commit_ids: Iterable[Any] | None = None) -> list[CommitData]:
        if commit_ids is None:
            return self.get_commits([h.id for h in self.all_headers()])
        return self.get_commits([as_id(c) for c in commit_ids])

    def create_commit_data(self, commit_data: CommitData) -> bool:
        return self.insert_commit(commit_data)

    def commit_ids(self) -> list[ValueCommitId]:
        return [ValueCommitId(h.id) for h in self.all_headers()]

    def head_commit_ids(self) -> set[ValueCommitId]:
        return {ValueCommitId(h) for h in self.head_ids()}

    def definitions(self) -> Any:
        from commitdb.dsm.definitions import Definitions

        data = self.definitions_bytes()
        if not data:
            return Definitions()
        return Definitions.decode(data, token=self.codec_name() == "StreamTokenBinary")

    def definitions_hexdigest(self) -> str:
        return self.definitions().hexdigest()

    def extend_definitions(self, definitions: Any) -> bool:
        """Add the types and attachments the database lacks, in one exclusive transaction."""
        from commitdb.dsm.definitions import extended_definitions

        own = not self.in_transaction()
        if own:
            self.begin_transaction("Exclusive")
        try:
            current = self.definitions()
            merged = extended_definitions(current, definitions)
            changed = merged.hexdigest() != current.hexdigest()
            if changed:
                token = self.codec_name() == "StreamTokenBinary"
                self.write_definitions(merged.encode(token=token), merged.hexdigest())
            if own:
                self.commit()
            return changed
        except BaseException:
            if own:
                self.rollback()
            raise

    def missing_blob_ids(self, blob_ids: list[bytes]) -> set[bytes]:
        """The ids of ``blob_ids`` this backend does not hold."""
        return {b for b in blob_ids if not self.has_blob(b)}

    def unknown_blob_ids(self, blob_ids: Iterable[Any]) -> set[ValueBlobId]:
        return {ValueBlobId(as_id(b)) for b in blob_ids if not self.has_blob(as_id(b))}

    def blob_datas(self, blob_ids: Iterable[Any]) -> list[BlobRecord]:
        found = []
        for b in blob_ids:
            rec = self.get_blob(as_id(b))
            if rec is not None:
                found.append(rec)
        return found

    def create_blobs(self, blobs: Iterable[BlobRecord]) -> int:
        return sum(1 for b in blobs if self.insert_blob(b))

    def delete_commit(self, commit_id: Any) -> None:
        self.remove_commit(as_id(commit_id))

    def reset_commits(self) -> None:
        self.remove_all_but_first()
