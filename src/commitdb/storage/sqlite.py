"""The SQLite backend: a ``.cdb`` file in the layout of FORMAT.md §8.

The three tables of the format (``ds_metadata``, ``ds_commit``, ``ds_blob``) hold everything;
commitdb adds its own cache tables beside them (prefix ``cdb_``), which are derived data that the
facade rebuilds or catches up when another program appended commits. The file is in WAL mode
so readers never block the writer; each write is one short transaction; a caller blocked by
another process waits up to ``busy_timeout`` seconds, then gets DatabaseBusyError.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid as _uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from commitdb.dsm.definitions import Definitions
from commitdb.errors import (
    CorruptedDataError,
    DatabaseBusyError,
    DatabaseClosedError,
    DatabaseExistsError,
    IncompatibleDatabaseError,
    ReadOnlyError,
    StorageError,
)
from commitdb.storage import sqlite_index
from commitdb.storage.base import (
    MERGE,
    TRANSACTION_MODES,
    BlobRecord,
    CommitData,
    CommitDatabasing,
    CommitHeader,
)

VERSION = "1.2"
DEFAULT_DOCUMENTATION = "not documented."
BUSY_TIMEOUT = 10.0
REQUIRED_METADATA = ("CodecName", "Definitions", "DefinitionsHexDigest", "Documentation", "UUID", "Version")

SCHEMA = (
    "CREATE TABLE ds_metadata (identifier TEXT PRIMARY KEY, data BLOB) STRICT",
    "CREATE TABLE ds_blob (identifier TEXT, layout TEXT, size INTEGER DEFAULT 0, chunked INTEGER DEFAULT 0, "
    "start INTEGER DEFAULT 0, end INTEGER DEFAULT 0, frozen INTEGER DEFAULT 1, stream INTEGER DEFAULT 0, "
    "data BLOB, PRIMARY KEY(identifier, start)) STRICT",
    "CREATE TABLE ds_commit (commit_id TEXT PRIMARY KEY, parent_id TEXT, timestamp REAL, label TEXT, "
    "type INTEGER, target_id TEXT, data BLOB) STRICT",
)

_TABLE_COLUMNS = {
    "ds_metadata": {"identifier", "data"},
    "ds_commit": {"commit_id", "parent_id", "timestamp", "label", "type", "target_id", "data"},
    "ds_blob": {"identifier", "layout", "size", "chunked", "start", "end", "frozen", "stream", "data"},
}

ZERO_HEX = "0" * 40


def _hex(raw: bytes) -> str:
    return raw.hex()


def _raw(text: str | None) -> bytes:
    if not text:
        return bytes(20)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise CorruptedDataError(f"malformed id {text!r} in the database") from None
    if len(raw) != 20:
        raise CorruptedDataError(f"malformed id {text!r} in the database")
    return raw


def _translate(error: sqlite3.Error, what: str, waited: float = BUSY_TIMEOUT) -> Exception:
    """Map a sqlite3 error to the library's errors (the caller raises it ``from`` the original)."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(f"database is busy: {what} waited {waited:g} s for another process")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyError(f"the database is read-only: {what}")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CorruptedDataError(f"{what}: the file is not a valid commit database ({error})")
    return StorageError(f"{what} failed: {error}")


class SQLiteBackend(CommitDatabasing):
    """A commit database in one SQLite file, safe to share between processes."""

    def __init__(self, path: str, readonly: bool = False, busy_timeout: float = BUSY_TIMEOUT,
                 synchronous: str = "FULL") -> None:
        self._path = os.fspath(path)
        self._readonly = readonly
        self._closed = False
        self._busy_timeout = busy_timeout
        self._index = sqlite_index.SQLiteReadIndex(self)
        # PRAGMA data_version as read in this connection's last write: it moves only when
        # another connection commits (the read index trusts what it cached while it stays).
        self.others_version: int | None = None
        self._last_write: tuple[int, int] | None = None
        # PRAGMA data_version ignores this connection's own writes; count them so that
        # data_version() changes on every write, ours included (rollbacks count too).
        self._own_writes = 0
        self._lock = threading.RLock()
        self._depth = 0  # explicit transaction nesting guard
        if not os.path.exists(self._path):
            raise IncompatibleDatabaseError(f"no commit database at {self._path!r} (the file does not exist)")
        if os.path.isdir(self._path):
            raise IncompatibleDatabaseError(f"{self._path!r} is not a commit database: it is a directory")
        try:
            if readonly:
                self._conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, isolation_level=None,
                                             check_same_thread=False, timeout=busy_timeout)
            else:
                self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                                             timeout=busy_timeout)
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._check_schema()
            if not readonly:
                mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute(f"PRAGMA synchronous = {synchronous}")
                self._ensure_cache_tables()
            self._meta = self._read_metadata()
        except sqlite3.Error as e:
            self._safe_close()
            raise _translate(e, f"opening {self._path!r}") from e
        except Exception:
            self._safe_close()
            raise

    # --- creation and checks -----------------------------------------------------------------
    @staticmethod
    def create(path: str, documentation: str | None = None, definitions: Definitions | None = None) -> SQLiteBackend:
        """Create a new, empty commit database file; DatabaseExistsError if anything is at ``path``."""
        path = os.fspath(path)
        if os.path.lexists(path):
            raise DatabaseExistsError(f"cannot create a commit database at {path!r}: something already exists there")
        defs = definitions or Definitions()
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                conn.execute("PRAGMA page_size = 4096")
                conn.execute("BEGIN")
                for stmt in SCHEMA:
                    conn.execute(stmt)
                rows = {
                    "CodecName": "StreamBinary",
                    "Definitions": defs.encode(token=False),
                    "DefinitionsHexDigest": defs.hexdigest(),
                    "Documentation": DEFAULT_DOCUMENTATION if documentation is None else documentation,
                    "UUID": str(_uuid.uuid4()),
                    "Version": VERSION,
                }
                conn.executemany(
                    "INSERT INTO ds_metadata (identifier, data) VALUES (?, ?)",
                    [(k, v if isinstance(v, bytes) else v.encode("utf-8")) for k, v in rows.items()],
                )
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise _translate(e, f"creating {path!r}") from e
        return SQLiteBackend(path)

    @staticmethod
    def is_compatible(path: str) -> bool:
        """Whether ``path`` is a file with the commit database schema."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            return False
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return _schema_problem(conn) is None
            finally:
                conn.close()
        except sqlite3.Error:
            return False

    def _check_schema(self) -> None:
        problem = _schema_problem(self._conn)
        if problem is None:
            return
        if "malformed" in problem and _has_sqlite_header(self._path):
            # An SQLite file whose pages are damaged (truncated, overwritten): an integrity
            # fault of a database, not a file of another kind.
            raise CorruptedDataError(f"{self._path!r} is damaged (truncated or overwritten?): {problem}")
        raise IncompatibleDatabaseError(f"{self._path!r} is not a commit database: {problem}")

    def _ensure_cache_tables(self) -> None:
        if sqlite_index.layout_ready(self._conn):
            return  # nothing to write: opening never waits for another writer
        with self._write("preparing the read tables", "EXCLUSIVE") as conn:
            if not sqlite_index.layout_ready(conn):
                sqlite_index.create_tables(conn)

    def read_index(self) -> sqlite_index.SQLiteReadIndex | None:
        """The persisted read structures (None for a read-only file without them)."""
        if self._readonly and not sqlite_index.layout_ready(self._live()):
            return None
        return self._index

    def _read_metadata(self) -> dict[str, bytes]:
        rows = dict(self._conn.execute("SELECT identifier, data FROM ds_metadata").fetchall())
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

    # --- connection plumbing -----------------------------------------------------------------
    def _safe_close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _live(self) -> sqlite3.Connection:
        if self._closed:
            raise DatabaseClosedError(f"the database {self._path!r} is closed")
        return self._conn

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._live().execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as e:
                raise _translate(e, "reading") from e

    @contextmanager
    def _write(self, what: str, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One write transaction (or a part of the caller's explicit transaction)."""
        if self._readonly:
            raise ReadOnlyError(f"the database {self._path!r} is open read-only: {what} refused")
        with self._lock:
            conn = self._conn
            if conn.in_transaction:
                try:
                    yield conn
                except sqlite3.Error as e:
                    raise _translate(e, what, self._busy_timeout) from e
                return
            try:
                conn.execute(f"BEGIN {mode}")
            except sqlite3.Error as e:
                raise _translate(e, what, self._busy_timeout) from e
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                self._index.forget_cached_numbers()  # numbers handed out in the rolled-back transaction are gone
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(error, sqlite3.Error):
                    raise _translate(error, what, self._busy_timeout) from error
                raise

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

    def _note_version(self, conn: sqlite3.Connection) -> None:
        """Inside a write transaction no other connection can commit, so the version read now
        is the one just before this write, and this write adds exactly one."""
        self.others_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        before = self.others_version + self._own_writes
        self._own_writes += 1
        self._last_write = (before, before + 1)

    def data_version(self) -> int:
        """Changes after every write: another connection's (PRAGMA data_version) or ours."""
        return int(self._query("PRAGMA data_version")[0][0]) + self._own_writes

    # --- commits ---------------------------------------------------------------------------------
    @staticmethod
    def _header(row: tuple[Any, ...]) -> CommitHeader:
        commit_id, parent, timestamp, label, kind, target = row[:6]
        if kind not in (0, 1, 2, 3):
            raise CorruptedDataError(f"commit {commit_id} has an unknown type {kind!r}")
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
            cur = conn.execute(
                "INSERT OR IGNORE INTO ds_commit (commit_id, parent_id, timestamp, label, type, target_id, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_hex(h.id), _hex(h.parent), h.ts, h.label_text, h.type_code, _hex(h.target), commit.data()),
            )
            inserted = cur.rowcount == 1
            self._note_version(conn)
            if inserted:
                self._index.on_insert(conn, cur.lastrowid, h, index_entries)
            return inserted

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
            "WHERE rowid > ? ORDER BY rowid LIMIT ?", (marker, -1 if limit is None else limit),
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
    def persists_index(self) -> bool:
        return sqlite_index.layout_ready(self._live())

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
        return BlobRecord(blob_id, rows[0][0], b"".join(bytes(r[1] or b"") for r in rows))

    def has_blob(self, blob_id: bytes) -> bool:
        return bool(self._query("SELECT 1 FROM ds_blob WHERE identifier = ? LIMIT 1", (_hex(blob_id),)))

    def insert_blob(self, blob: BlobRecord) -> bool:
        size = len(blob.data)
        with self._write("writing a blob") as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO ds_blob (identifier, layout, size, chunked, start, end, frozen, stream, data) "
                "VALUES (?, ?, ?, 0, 0, ?, 1, 0, ?)",
                (_hex(blob.blob_id), blob.layout, size, max(size - 1, 0), blob.data),
            )
            self._note_version(conn)
            return cur.rowcount == 1

    def blob_id_list(self) -> list[bytes]:
        rows = self._query("SELECT DISTINCT identifier FROM ds_blob WHERE frozen = 1 ORDER BY rowid")
        return [_raw(r[0]) for r in rows if len(r[0]) == 40]

    def blob_sizes(self) -> dict[bytes, tuple[str, int]]:
        rows = self._query("SELECT identifier, layout, MAX(size) FROM ds_blob WHERE frozen = 1 GROUP BY identifier")
        return {_raw(r[0]): (r[1], int(r[2])) for r in rows if len(r[0]) == 40}

    # --- transactions --------------------------------------------------------------------------
    def begin_transaction(self, mode: str = "Deferred") -> None:
        if mode not in TRANSACTION_MODES:
            raise StorageError(f"unknown transaction mode {mode!r}; use one of {', '.join(TRANSACTION_MODES)}")
        self._lock.acquire()
        try:
            if self._live().in_transaction:
                raise StorageError("a transaction is already in progress")
            if self._readonly and mode != "Deferred":
                raise ReadOnlyError(f"the database {self._path!r} is open read-only")
            self._conn.execute(f"BEGIN {mode.upper()}")
        except sqlite3.Error as e:
            self._lock.release()
            raise _translate(e, f"beginning a {mode} transaction") from e
        except BaseException:
            self._lock.release()
            raise

    def commit(self) -> None:
        if not self._conn.in_transaction:
            raise StorageError("no transaction in progress")
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise _translate(e, "committing") from e
        finally:
            self._lock.release()

    def rollback(self) -> None:
        if not self._conn.in_transaction:
            raise StorageError("no transaction in progress")
        self._index.forget_cached_numbers()
        try:
            self._conn.execute("ROLLBACK")
        finally:
            self._own_writes += 1
            self._bump_generation()
            self._lock.release()

    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._safe_close()


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
        return [SQLiteBackend._header(r) for r in rows]
    if any(len(h.id) != 20 or len(h.parent) != 20 or len(h.target) != 20 or h.type_code not in (0, 1, 2, 3)
           or not isinstance(h.label_text, str) for h in headers):
        return [SQLiteBackend._header(r) for r in rows]
    return headers


SQLITE_HEADER = b"SQLite format 3\x00"


def _has_sqlite_header(path: str) -> bool:
    """Whether the file starts as every SQLite database does."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    """None when the three tables exist with their columns, else what is wrong."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        return str(e)
    for table, columns in _TABLE_COLUMNS.items():
        if table not in tables:
            return f"table {table} is missing"
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = columns - have
        if missing:
            return f"table {table} lacks columns {', '.join(sorted(missing))}"
    return None
