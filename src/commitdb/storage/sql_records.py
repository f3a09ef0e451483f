"""The commit database records in SQL, shared by the SQLite and PostgreSQL backends.

Both engines hold the tables of FORMAT.md §8 (``ds_metadata``, ``ds_commit``, ``ds_blob``) with
the same columns, plus a ``rowid`` that numbers commits in creation order (SQLite's own rowid;
a column of that name on PostgreSQL). ``SQLRecords`` implements the storage interface on those
tables with statements in SQLite's dialect (``storage.sql_dialect`` rewrites them for
PostgreSQL); a backend provides the connection plumbing: ``_query``, ``_write``,
``_note_version``, ``_insert_commit_row``, ``data_version``, transactions and ``read_index``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from commitdb.blobs import blob_id_bytes
from commitdb.errors import CommitDBError, CorruptedDataError, IncompatibleDatabaseError
from commitdb.storage.base import MERGE, BlobRecord, CommitData, CommitDatabasing, CommitHeader

VERSION = "1.2"
DEFAULT_DOCUMENTATION = "not documented."
REQUIRED_METADATA = ("CodecName", "Definitions", "DefinitionsHexDigest", "Documentation", "UUID", "Version")
NO_LIMIT = 2 ** 62  # a LIMIT both engines take as "all rows"


def new_metadata_rows(documentation: str | None, definitions: Any) -> list[tuple[str, bytes]]:
    """The ``ds_metadata`` rows of a new, empty commit database (a fresh UUID)."""
    rows = {
        "CodecName": "StreamBinary",
        "Definitions": definitions.encode(token=False),
        "DefinitionsHexDigest": definitions.hexdigest(),
        "Documentation": DEFAULT_DOCUMENTATION if documentation is None else documentation,
        "UUID": str(uuid.uuid4()),
        "Version": VERSION,
    }
    return [(k, v if isinstance(v, bytes) else v.encode("utf-8")) for k, v in rows.items()]


def _hex(raw: bytes) -> str:
    return raw.hex()


def _raw(text: str | None) -> bytes:
    if not text:
        return bytes(20)
    try:
        raw = bytes.fromhex(text)
    except (TypeError, ValueError):
        raise CorruptedDataError(f"malformed id {text!r} in the database") from None
    if len(raw) != 20:
        raise CorruptedDataError(f"malformed id {text!r} in the database")
    return raw


class SQLRecords(CommitDatabasing):
    """The storage interface over the record tables (see the module docstring)."""

    _path: str
    _readonly: bool
    _meta: dict[str, bytes]
    _index: Any

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, what: str, mode: str = "IMMEDIATE") -> Any:
        raise NotImplementedError

    def _note_version(self, conn: Any) -> None:
        raise NotImplementedError

    def _insert_commit_row(self, conn: Any, values: tuple[Any, ...]) -> int | None:
        """Insert (commit_id, parent_id, timestamp, label, type, target_id, data) unless the id
        is stored; the new row's rowid, or None when it was there."""
        raise NotImplementedError

    def _read_metadata(self) -> dict[str, bytes]:
        rows = dict(self._query("SELECT identifier, data FROM ds_metadata"))
        for name in REQUIRED_METADATA:
            if name not in rows:
                raise IncompatibleDatabaseError(f"Metadata {name} is missing.")
        meta = {k: (v.encode("utf-8") if isinstance(v, str) else bytes(v)) for k, v in rows.items()}
        version = meta["Version"].decode("utf-8", "replace")
        if version != VERSION:
            raise IncompatibleDatabaseError(f"expected database version {VERSION}, got {version!r}")
        codec = meta["CodecName"].decode("utf-8", "replace")
        if codec not in ("StreamBinary", "StreamTokenBinary", "StreamRaw"):
            raise IncompatibleDatabaseError(f"unknown codec {codec!r} in {self._path!r}")
        return meta

    # --- metadata ------------------------------------------------------------------------------
    def path(self) -> str:
        return self._path

    def uuid(self) -> str:
        return self._meta["UUID"].decode("utf-8")

    def documentation(self) -> str:
        return self._meta["Documentation"].decode("utf-8")

    def codec_name(self) -> str:
        return self._meta["CodecName"].decode("utf-8")

    def is_readonly(self) -> bool:
        return self._readonly

    def definitions_bytes(self) -> bytes:
        rows = self._query("SELECT data FROM ds_metadata WHERE identifier = 'Definitions'")
        if not rows:
            raise IncompatibleDatabaseError("Metadata Definitions is missing.")
        return bytes(rows[0][0])

    def write_definitions(self, encoded: bytes, hexdigest: str) -> None:
        with self._write("extending the definitions", "EXCLUSIVE") as conn:
            conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'Definitions'", (encoded,))
            conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'DefinitionsHexDigest'",
                         (hexdigest.encode("ascii"),))
            self._note_version(conn)

    def last_write_versions(self) -> tuple[int, int] | None:
        return self._last_write

    # --- commits ---------------------------------------------------------------------------------
    @staticmethod
    def _header(row: tuple[Any, ...]) -> CommitHeader:
        commit_id, parent, timestamp, label, kind, target = row[:6]
        if kind not in (0, 1, 2, 3) or type(kind) not in (int, float):
            raise CorruptedDataError(f"commit {commit_id} has an unknown type {kind!r}")
        if not isinstance(timestamp, (int, float, type(None))) or not isinstance(label, (str, type(None))):
            raise CorruptedDataError(f"commit {commit_id} has a damaged timestamp {timestamp!r} or label {label!r}")
        return CommitHeader(_raw(commit_id), _raw(parent), int(kind), _raw(target), float(timestamp or 0.0),
                            label or "")

    @staticmethod
    def commit_rows(rows: list[tuple[Any, ...]]) -> list[CommitData]:
        """Commits from (commit_id, parent_id, timestamp, label, type, target_id, data, ...) rows."""
        return commit_rows(rows)

    def get_commit(self, commit_id: bytes) -> CommitData | None:
        rows = self._query(
            "SELECT commit_id, parent_id, timestamp, label, type, target_id, data FROM ds_commit WHERE commit_id = ?",
            (_hex(commit_id),),
        )
        if not rows:
            return None
        return CommitData(self._header(rows[0]), bytes(rows[0][6] or b""))

    def get_commits(self, commit_ids: Iterable[bytes]) -> list[CommitData]:
        ids = [_hex(c) for c in commit_ids]
        found: dict[str, CommitData] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                "SELECT commit_id, parent_id, timestamp, label, type, target_id, data FROM ds_commit "
                f"WHERE commit_id IN ({marks})", chunk,
            ):
                found[row[0]] = CommitData(self._header(row), bytes(row[6] or b""))
        return [found[i] for i in ids if i in found]

    def get_header(self, commit_id: bytes) -> CommitHeader | None:
        rows = self._query(
            "SELECT commit_id, parent_id, timestamp, label, type, target_id FROM ds_commit WHERE commit_id = ?",
            (_hex(commit_id),),
        )
        return self._header(rows[0]) if rows else None

    def insert_commit(self, commit: CommitData, index_entries: list[tuple[Any, bool]] | None = None) -> bool:
        h = commit.header()
        with self._write("writing a commit") as conn:
            rowid = self._insert_commit_row(conn, (_hex(h.id), _hex(h.parent), h.ts, h.label_text, h.type_code,
                                                   _hex(h.target), commit.data()))
            self._note_version(conn)
            if rowid is not None:
                self._index.on_insert(conn, rowid, h, index_entries)
            return rowid is not None

    def insert_commits(self, rows: list[tuple[CommitData, list[tuple[Any, bool]] | None]]) -> list[bool]:
        with self._write("writing commits"):
            return [self.insert_commit(commit, entries) for commit, entries in rows]

    def all_headers(self) -> list[CommitHeader]:
        rows = self._query(
            "SELECT commit_id, parent_id, timestamp, label, type, target_id FROM ds_commit ORDER BY rowid"
        )
        return [self._header(r) for r in rows]

    def headers_since(self, marker: int, limit: int | None = None) -> tuple[list[CommitHeader], int]:
        """Headers stored after ``marker`` (a rowid), in creation order (at most ``limit``), and
        the new marker."""
        rows = self._query(
            "SELECT commit_id, parent_id, timestamp, label, type, target_id, rowid FROM ds_commit "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?", (marker, NO_LIMIT if limit is None else limit),
        )
        return _headers(rows), (rows[-1][6] if rows else marker)

    def commit_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM ds_commit")[0][0])

    def head_ids(self) -> set[bytes]:
        """Commits with no child that are not a merge target (computed from the links: the file
        has no index on parent_id, and the facade keeps heads in memory anyway)."""
        rows = self._query("SELECT commit_id, parent_id, type, target_id FROM ds_commit")
        referenced = {r[1] for r in rows} | {r[3] for r in rows if r[2] == MERGE}
        return {_raw(r[0]) for r in rows if r[0] not in referenced}

    def remove_commit(self, commit_id: bytes) -> None:
        self._bump_generation()
        with self._write("deleting a commit") as conn:
            row = conn.execute("SELECT commit_id, parent_id, timestamp, label, type, target_id, rowid FROM ds_commit "
                               "WHERE commit_id = ?", (_hex(commit_id),)).fetchone()
            if row is None:
                return
            self._index.on_delete(conn, row[6], self._header(row))
            conn.execute("DELETE FROM ds_commit WHERE rowid = ?", (row[6],))
            self._note_version(conn)

    def remove_all_but_first(self) -> None:
        self._bump_generation()
        with self._write("resetting the commits", "EXCLUSIVE") as conn:
            first = conn.execute("SELECT rowid FROM ds_commit ORDER BY rowid LIMIT 1").fetchone()
            if first is None:
                return
            self._index.wipe_in(conn)
            conn.execute("DELETE FROM ds_commit WHERE rowid > ?", (first[0],))
            self._note_version(conn)

    # --- read structures ------------------------------------------------------------------------
    def load_index(self, commit_ids: list[bytes] | None = None) -> dict[bytes, list[tuple[Any, bool]]]:
        """commit id -> [(doc key, has Document_Set)] for the indexed commits among ``commit_ids``
        (every commit for None)."""
        if not self.persists_index():
            return {}
        ids = commit_ids if commit_ids is not None else [h.id for h in self.all_headers()]
        return self._index.index_rows_by_commit(ids)

    # --- blobs ---------------------------------------------------------------------------------
    def get_blob(self, blob_id: bytes) -> BlobRecord | None:
        rows = self._query(
            "SELECT layout, data FROM ds_blob WHERE identifier = ? AND frozen = 1 ORDER BY start", (_hex(blob_id),)
        )
        if not rows:
            return None
        record = BlobRecord(blob_id, rows[0][0], b"".join(bytes(r[1] or b"") for r in rows))
        try:
            computed = blob_id_bytes(record.layout, record.data)  # bytes re-read from disk: check them
        except CommitDBError as error:
            raise CorruptedDataError(f"corrupted blob {blob_id.hex()}: its layout {record.layout!r} is invalid") \
                from error
        if computed != blob_id:
            raise CorruptedDataError(f"corrupted blob {blob_id.hex()}: its {len(record.data)} bytes do not hash to "
                                     "its id ('commitdb verify' lists every damaged blob)")
        return record

    def has_blob(self, blob_id: bytes) -> bool:
        return bool(self._query("SELECT 1 FROM ds_blob WHERE identifier = ? LIMIT 1", (_hex(blob_id),)))

    def insert_blob(self, blob: BlobRecord) -> bool:
        size = len(blob.data)
        with self._write("writing a blob") as conn:
            cur = conn.execute(
                'INSERT OR IGNORE INTO ds_blob (identifier, layout, size, chunked, start, "end", frozen, stream, '
                "data) VALUES (?, ?, ?, 0, 0, ?, 1, 0, ?)",
                (_hex(blob.blob_id), blob.layout, size, max(size - 1, 0), blob.data),
            )
            self._note_version(conn)
            return cur.rowcount == 1

    def blob_id_list(self) -> list[bytes]:
        rows = self._query("SELECT identifier FROM ds_blob WHERE frozen = 1 GROUP BY identifier ORDER BY MIN(rowid)")
        return [_raw(r[0]) for r in rows if isinstance(r[0], str) and len(r[0]) == 40]

    def blob_sizes(self) -> dict[bytes, tuple[str, int]]:
        rows = self._query("SELECT identifier, MIN(layout), MAX(size) FROM ds_blob WHERE frozen = 1 "
                           "GROUP BY identifier")
        # A damaged size (not a number) reads as -1, which verify reports against the bytes.
        return {_raw(r[0]): (r[1], r[2] if type(r[2]) is int else -1) for r in rows
                if isinstance(r[0], str) and len(r[0]) == 40}


def commit_rows(rows: list[tuple[Any, ...]]) -> list[CommitData]:
    """Commits from (commit_id, parent_id, timestamp, label, type, target_id, data, ...) rows."""
    return [CommitData(h, bytes(r[6] or b"")) for h, r in zip(_headers(rows), rows)]


def _headers(rows: list[tuple[Any, ...]]) -> list[CommitHeader]:
    """Headers from (commit_id, parent_id, timestamp, label, type, target_id, ...) rows: the fast
    path assumes well-formed rows, the careful one (per row) names what is wrong."""
    fromhex = bytes.fromhex
    try:
        headers = [CommitHeader(fromhex(r[0]), fromhex(r[1]), r[4], fromhex(r[5]), float(r[2]), r[3])
                   for r in rows]
    except (TypeError, ValueError):
        return [SQLRecords._header(r) for r in rows]
    if any(len(h.id) != 20 or len(h.parent) != 20 or len(h.target) != 20 or h.type_code not in (0, 1, 2, 3)
           or not isinstance(h.label_text, str) for h in headers):
        return [SQLRecords._header(r) for r in rows]
    return headers


SQLITE_HEADER = b"SQLite format 3\x00"
