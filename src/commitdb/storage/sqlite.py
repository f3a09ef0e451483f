"""The SQLite backend: a ``.cdb`` file in the layout of FORMAT.md §8.

The three tables of the format (``ds_metadata``, ``ds_commit``, ``ds_blob``) hold everything;
commitdb adds its own cache tables beside them (prefix ``cdb_``), which are derived data that the
facade rebuilds or catches up when another program appended commits. The file is in WAL mode
so readers never block the writer; each write is one short transaction; a caller blocked by
another process waits up to ``busy_timeout`` seconds, then gets DatabaseBusyError.
"""

from __future__ import annotations

import os
import shlex
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
from commitdb.storage.base import TRANSACTION_MODES
from commitdb.storage.sql_records import SQLRecords, new_metadata_rows

BUSY_TIMEOUT = 10.0

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


# A damaged file can make sqlite3 fail to decode a text (even its own error message).
SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def _translate(error: Exception, what: str, waited: float = BUSY_TIMEOUT) -> Exception:
    """Map a sqlite3 error to the library's errors (the caller raises it ``from`` the original)."""
    if isinstance(error, UnicodeDecodeError):
        return CorruptedDataError(f"{what}: a damaged text in the file ({error}); 'commitdb verify FILE' tells where")
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(f"database is busy: {what} waited {waited:g} s for another process")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyError(f"the database is read-only: {what}")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CorruptedDataError(f"{what}: the file is not a valid commit database ({error}); 'commitdb verify "
                                  "FILE' tells what is damaged, 'commitdb repair FILE' rebuilds commitdb's own tables")
    if "could not decode" in text:
        return CorruptedDataError(f"{what}: a damaged text in the file ({error}); 'commitdb verify FILE' tells where")
    return StorageError(f"{what} failed: {error}")


class SQLiteBackend(SQLRecords):
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
        unfinished = unfinished_creation(self._path)
        if unfinished is not None:
            raise unfinished_creation_error(self._path, unfinished)
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
        except SQLITE_ERRORS as e:
            self._safe_close()
            raise _translate(e, f"opening {self._path!r}") from e
        except Exception:
            self._safe_close()
            raise

    # --- creation and checks -----------------------------------------------------------------
    @staticmethod
    def create(path: str, documentation: str | None = None, definitions: Definitions | None = None) -> SQLiteBackend:
        """Create a new, empty commit database file; DatabaseExistsError if anything is at ``path``.

        The file is built under a temporary name beside ``path`` and linked into place once
        complete, so a creation killed at any point leaves either nothing at ``path`` or a whole,
        empty database (at worst a stray ``.<name>.creating-*`` file beside it)."""
        path = os.fspath(path)
        if os.path.lexists(path):
            raise DatabaseExistsError(f"cannot create a commit database at {path!r}: something already exists there")
        folder, name = os.path.split(os.path.abspath(path))
        temporary = os.path.join(folder, f".{name}.creating-{_uuid.uuid4().hex[:12]}")
        try:
            _build(temporary, documentation, definitions or Definitions())
            _move_into_place(temporary, path)
        except SQLITE_ERRORS as e:
            raise _translate(e, f"creating {path!r}") from e
        except OSError as e:
            raise StorageError(f"creating {path!r} failed: {e}") from e
        finally:
            for suffix in ("", "-journal"):
                if os.path.lexists(temporary + suffix):
                    os.remove(temporary + suffix)
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
        except SQLITE_ERRORS:
            return False

    def _check_schema(self) -> None:
        problem = _schema_problem(self._conn)
        if problem is None:
            return
        unfinished = unfinished_creation(self._path, self._conn)
        if unfinished is not None:
            raise unfinished_creation_error(self._path, unfinished)
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

    def inspect_rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query (for the checking tools: verify, repair)."""
        return self._query(sql, args)

    def integrity_problems(self, limit: int = 100) -> list[str]:
        """What SQLite's own check finds wrong with the file's pages (empty when nothing)."""
        try:
            rows = self._query(f"PRAGMA integrity_check({int(limit)})")
        except CorruptedDataError as error:
            return [str(error)]
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def rebuild_read_tables(self) -> None:
        """Drop commitdb's derived tables and create them empty (the facade then indexes every
        commit again); the three tables of the format are not touched."""
        with self._write("rebuilding the read tables", "EXCLUSIVE") as conn:
            sqlite_index.create_tables(conn)
        self._index.forget_cached_numbers()
        self._bump_generation()

    # --- connection plumbing -----------------------------------------------------------------
    def _safe_close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except SQLITE_ERRORS:
                pass

    def _live(self) -> sqlite3.Connection:
        if self._closed:
            raise DatabaseClosedError(f"the database {self._path!r} is closed")
        return self._conn

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._live().execute(sql, tuple(args)).fetchall()
            except SQLITE_ERRORS as e:
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
                except SQLITE_ERRORS as e:
                    raise _translate(e, what, self._busy_timeout) from e
                return
            try:
                conn.execute(f"BEGIN {mode}")
            except SQLITE_ERRORS as e:
                raise _translate(e, what, self._busy_timeout) from e
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                self._index.forget_cached_numbers()  # numbers handed out in the rolled-back transaction are gone
                try:
                    conn.execute("ROLLBACK")
                except SQLITE_ERRORS:
                    pass
                if isinstance(error, SQLITE_ERRORS):
                    raise _translate(error, what, self._busy_timeout) from error
                raise

    def _note_version(self, conn: sqlite3.Connection) -> None:
        """Inside a write transaction no other connection can commit, so the version read now
        is the one just before this write, and this write adds exactly one."""
        self.others_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        before = self.others_version + self._own_writes
        self._own_writes += 1
        self._last_write = (before, before + 1)

    def _insert_commit_row(self, conn: sqlite3.Connection, values: tuple[Any, ...]) -> int | None:
        cur = conn.execute("INSERT OR IGNORE INTO ds_commit (commit_id, parent_id, timestamp, label, type, target_id, "
                           "data) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        return cur.lastrowid if cur.rowcount == 1 else None

    def data_version(self) -> int:
        """Changes after every write: another connection's (PRAGMA data_version) or ours."""
        return int(self._query("PRAGMA data_version")[0][0]) + self._own_writes

    # --- read structures ------------------------------------------------------------------------
    def persists_index(self) -> bool:
        return sqlite_index.layout_ready(self._live())

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
        except SQLITE_ERRORS as e:
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
        except SQLITE_ERRORS as e:
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


SQLITE_HEADER = b"SQLite format 3\x00"


def _build(path: str, documentation: str | None, defs: Definitions) -> None:
    """Write a complete, empty commit database at ``path`` (a fresh name) and sync it to disk."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN")
        for stmt in SCHEMA:
            conn.execute(stmt)
        conn.executemany("INSERT INTO ds_metadata (identifier, data) VALUES (?, ?)",
                         new_metadata_rows(documentation, defs))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _move_into_place(temporary: str, path: str) -> None:
    """Give the complete file at ``temporary`` the name ``path``, never replacing what another
    process put there meanwhile (a hard link fails when the name is taken), and make the new
    name durable."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise DatabaseExistsError(f"cannot create a commit database at {path!r}: something already exists there") \
            from None
    except OSError:  # a file system without hard links: rename (the name was checked just before)
        if os.path.lexists(path):
            raise DatabaseExistsError(f"cannot create a commit database at {path!r}: something already exists "
                                      "there") from None
        os.rename(temporary, path)
    try:
        folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return  # platforms that cannot open a directory: the rename is as durable as they allow
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def unfinished_creation(path: str, conn: sqlite3.Connection | None = None) -> str | None:
    """Why ``path`` looks like a creation that was interrupted (an older version wrote the file
    in place): empty, or (asked through ``conn`` when given) an SQLite file holding no table.
    None otherwise."""
    try:
        if os.path.getsize(path) == 0:
            return "it is empty (0 bytes)"
    except OSError:
        return None
    if conn is None:
        return None
    try:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except SQLITE_ERRORS:
        return None
    return "it is an SQLite file holding no table" if tables == 0 else None


def unfinished_creation_error(path: str, why: str) -> IncompatibleDatabaseError:
    return IncompatibleDatabaseError(
        f"{path!r} is not a commit database: {why}, as a creation that was interrupted leaves it; nothing "
        f"was ever stored in it: remove it (rm {shlex.quote(path)}) and create it again (or sync into it)")




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
    except UnicodeDecodeError as e:
        return f"the schema is malformed ({e})"
    for table, columns in _TABLE_COLUMNS.items():
        if table not in tables:
            return f"table {table} is missing"
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = columns - have
        if missing:
            return f"table {table} lacks columns {', '.join(sorted(missing))}"
    return None
