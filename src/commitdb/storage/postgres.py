"""The PostgreSQL backend: one commit database in one PostgreSQL database, shared by many writers.

Selected by a URL (``postgresql://user@host:port/dbname``, or ``postgres://``) wherever a path
is accepted. The tables are those of a ``.cdb`` file — the records (``storage.sql_records``)
and the persisted read index (``storage.sqlite_index``), whose SQL both backends share (see
``storage.sql_dialect``) — plus ``cdb_counter``, the data version.

Concurrency: every write transaction first takes one transaction-level advisory lock, so writes
are serialised across all connections, processes and servers, exactly as SQLite serialises its
writers: commits get consecutive ``rowid``s (creation order), the read index is extended in that
order, and ``reduce_heads``/``extend_definitions`` (exclusive transactions) see every commit
stored before them. Reads never wait (MVCC). A write bumps the counter row in its transaction,
so ``data_version()`` changes on any writer's commit. A connection that drops mid-transaction
leaves nothing behind: PostgreSQL rolls the transaction back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from commitdb.dsm.definitions import Definitions
from commitdb.errors import (
    DatabaseClosedError,
    DatabaseExistsError,
    IncompatibleDatabaseError,
    ReadOnlyError,
    StorageError,
)
from commitdb.storage import sqlite_index
from commitdb.storage.base import TRANSACTION_MODES
from commitdb.storage.sql_dialect import TableShape, ddl_to_postgres, to_postgres
from commitdb.storage.sql_records import SQLRecords, new_metadata_rows
from commitdb.storage.urls import is_postgres_url, redacted_url

# The advisory lock every write transaction holds: (class, the schema's hash), so that commit
# databases in different schemas of one PostgreSQL database do not wait for each other.
WRITE_LOCK = "SELECT pg_advisory_xact_lock(1668246884, hashtext(current_schema()))"
CONNECT_TIMEOUT = 10

# A label may hold any character, NUL included, which PostgreSQL's text cannot: labels are
# stored as UTF-8 bytes, and a column named ``label`` is read back as str (see _Result).
RECORD_SCHEMA = (
    "CREATE TABLE ds_metadata (identifier TEXT PRIMARY KEY, data BYTEA)",
    "CREATE TABLE ds_commit (rowid BIGINT PRIMARY KEY, commit_id TEXT NOT NULL UNIQUE, parent_id TEXT, "
    "timestamp DOUBLE PRECISION, label BYTEA, type INTEGER, target_id TEXT, data BYTEA)",
    'CREATE TABLE ds_blob (rowid BIGSERIAL, identifier TEXT, layout TEXT, size BIGINT DEFAULT 0, '
    'chunked INTEGER DEFAULT 0, start BIGINT DEFAULT 0, "end" BIGINT DEFAULT 0, frozen INTEGER DEFAULT 1, '
    "stream INTEGER DEFAULT 0, data BYTEA, PRIMARY KEY (identifier, start))",
    "CREATE TABLE cdb_counter (id INTEGER PRIMARY KEY CHECK (id = 0), version BIGINT NOT NULL)",
    "INSERT INTO cdb_counter VALUES (0, 0)",
)
REQUIRED_TABLES = ("ds_metadata", "ds_commit", "ds_blob", "cdb_counter")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StorageError("a postgresql:// database needs psycopg: pip install 'commitdb[postgres]'") from None
    return psycopg


def _translate(error: Exception, what: str) -> Exception:
    """Map a psycopg error to the library's errors (the caller raises it ``from`` the original)."""
    psycopg = _psycopg()
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
        return ReadOnlyError(f"the database is read-only: {what}")
    if isinstance(error, psycopg.OperationalError):
        return StorageError(f"{what} failed: the connection to PostgreSQL failed or was lost ({error})")
    return StorageError(f"{what} failed: {error}")


def _connect(url: str) -> Any:
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as e:
        raise IncompatibleDatabaseError(f"cannot reach the PostgreSQL database {redacted_url(url)}: {e}") from e


class _Result:
    """What a statement returned, read at once (the few things the shared SQL asks of a cursor)."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, cursor: Any, returning: bool) -> None:
        self.rowcount = cursor.rowcount
        described = cursor.description
        rows = cursor.fetchall() if described is not None else []
        labels = [i for i, column in enumerate(described or ()) if column.name == "label"]
        if labels and rows:
            rows = [_decoded(row, labels) for row in rows]
        self.lastrowid = rows[0][0] if returning and rows else None
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


def _decoded(row: tuple[Any, ...], labels: list[int]) -> tuple[Any, ...]:
    """The row with its label columns (UTF-8 bytes) as str."""
    out = list(row)
    for i in labels:
        if out[i] is not None:
            out[i] = bytes(out[i]).decode("utf-8", "surrogatepass")
    return tuple(out)


class _Statements:
    """A connection as the shared SQL sees it: SQLite statements, run in PostgreSQL's dialect."""

    def __init__(self, conn: Any, tables: dict[str, TableShape]) -> None:
        self._conn = conn
        self.tables = tables
        self._spelled: dict[str, tuple[str, bool]] = {}

    def spell(self, sql: str) -> tuple[str, bool]:
        found = self._spelled.get(sql)
        if found is None:
            text = to_postgres(sql, self.tables)
            found = self._spelled[sql] = (text, text.startswith("INSERT") and " RETURNING " in text)
        return found

    def execute(self, sql: str, args: Iterable[Any] = ()) -> _Result:
        text, returning = self.spell(sql)
        return _Result(self._conn.execute(text, tuple(args)), returning)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        text, _ = self.spell(sql)
        with self._conn.cursor() as cur:
            cur.executemany(text, [tuple(r) for r in rows])


def _table_shapes(conn: Any) -> dict[str, TableShape]:
    """Columns, primary key and numbered column of every table of the current schema (for the
    dialect rewrite), from the catalog in one query."""
    columns: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    numbered: dict[str, str] = {}
    for table, column, is_numbered, in_key in conn.execute(
            "SELECT c.relname, a.attname, COALESCE(starts_with(pg_get_expr(d.adbin, d.adrelid), 'nextval('), false), "
            "COALESCE(a.attnum = ANY(i.indkey::int2[]), false) FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
            "ORDER BY c.relname, a.attnum"):
        columns.setdefault(table, []).append(column)
        if is_numbered:
            numbered[table] = column
        if in_key:
            keys.setdefault(table, []).append(column)
    return {t: TableShape(tuple(c), tuple(keys.get(t, ())), numbered.get(t)) for t, c in columns.items()}


class PostgresBackend(SQLRecords):
    """A commit database in one PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str, readonly: bool = False) -> None:
        if not is_postgres_url(url):
            raise IncompatibleDatabaseError(f"{url!r} is not a postgresql:// URL")
        self._path = url
        self._readonly = readonly
        self._closed = False
        self._lock = threading.RLock()
        self._index = sqlite_index.SQLiteReadIndex(self)
        # The counter as others moved it: our own writes subtracted (the read index trusts what
        # it cached while this stays the same between two of our writes).
        self.others_version: int | None = None
        self._last_write: tuple[int, int] | None = None
        self._own_writes = 0
        self._txn_writes = 0  # writes noted in the open transaction (undone by a rollback)
        self._rollbacks = 0
        self._write_locked = False
        self._txn_open = False  # BEGIN sent and neither COMMIT nor ROLLBACK since
        self._conn = _connect(url)
        try:
            shapes = _table_shapes(self._conn)
            self._check_schema(shapes)
            self._statements = _Statements(self._conn, shapes)
            if readonly:
                self._conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            self._meta = self._read_metadata()
        except BaseException:
            self._conn.close()
            raise

    # --- creation and checks -----------------------------------------------------------------
    @staticmethod
    def create(url: str, documentation: str | None = None, definitions: Definitions | None = None) -> PostgresBackend:
        """Create the tables of a new, empty commit database in the PostgreSQL database of
        ``url`` (created first when the server lets us); DatabaseExistsError when that database
        already holds one."""
        psycopg = _psycopg()
        if not is_postgres_url(url):
            raise IncompatibleDatabaseError(f"{url!r} is not a postgresql:// URL")
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.OperationalError as e:
            if "does not exist" not in str(e):
                raise IncompatibleDatabaseError(f"cannot reach the PostgreSQL database {redacted_url(url)}: {e}") from e
            _create_database(url)
            conn = _connect(url)
        defs = definitions or Definitions()
        try:
            with conn.transaction():
                conn.execute(WRITE_LOCK)
                if conn.execute("SELECT to_regclass('ds_metadata')").fetchone()[0] is not None:
                    raise DatabaseExistsError(
                        f"cannot create a commit database in {redacted_url(url)}: it already holds one")
                for statement in (*RECORD_SCHEMA, *sqlite_index.SCHEMA):
                    conn.execute(ddl_to_postgres(statement))
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO ds_metadata (identifier, data) VALUES (%s, %s)",
                                    new_metadata_rows(documentation, defs))
        except psycopg.Error as e:
            raise _translate(e, f"creating a commit database in {redacted_url(url)}") from e
        finally:
            conn.close()
        return PostgresBackend(url)

    @staticmethod
    def is_compatible(url: str) -> bool:
        """Whether ``url`` names a reachable PostgreSQL database holding a commit database."""
        try:
            PostgresBackend(url, readonly=True).close()
        except (StorageError, ValueError):
            return False
        return True

    def _check_schema(self, found: dict[str, TableShape]) -> None:
        missing = [t for t in REQUIRED_TABLES if t not in found]
        if missing:
            raise IncompatibleDatabaseError(
                f"{redacted_url(self._path)} holds no commit database (table {missing[0]} is missing)")
        if not all(t in found for t in sqlite_index.TABLES):
            raise IncompatibleDatabaseError(f"{redacted_url(self._path)} lacks the read tables of this version")

    def read_index(self) -> sqlite_index.SQLiteReadIndex:
        return self._index

    def persists_index(self) -> bool:
        return True

    # --- connection plumbing -----------------------------------------------------------------
    def _live(self) -> Any:
        if self._closed:
            raise DatabaseClosedError(f"the database {redacted_url(self._path)} is closed")
        return self._conn

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        psycopg = _psycopg()
        with self._lock:
            self._live()
            self._reconnect_if_lost()
            try:
                return self._statements.execute(sql, args).fetchall()
            except psycopg.OperationalError as e:
                if not self._reconnect_if_lost():
                    raise _translate(e, "reading") from e
            except psycopg.Error as e:
                raise _translate(e, "reading") from e
            try:  # a read outside a transaction is retried once on a new connection
                return self._statements.execute(sql, args).fetchall()
            except psycopg.Error as e:
                raise _translate(e, "reading") from e

    def _reconnect_if_lost(self) -> bool:
        """Outside a transaction, replace a connection the server dropped (restarted, failed
        over, idle-killed): nothing is lost, since nothing was pending. Returns whether it did.
        Inside a transaction the loss is an error: PostgreSQL rolled the transaction back."""
        if not (self._conn.broken or self._conn.closed) or self._txn_open:
            return False
        conn = _connect(self._path)
        if self._readonly:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        try:
            self._conn.close()
        except Exception:
            pass
        self._conn = conn
        self._statements = _Statements(conn, self._statements.tables)
        self._index.forget_cached_numbers()
        self.others_version = None
        return True

    def _take_write_lock(self) -> None:
        if not self._write_locked:
            self._conn.execute(WRITE_LOCK)
            self._write_locked = True

    def _begin(self, lock: bool) -> None:
        self._reconnect_if_lost()
        # One round trip for both statements: if the lock fails, BEGIN did run.
        self._txn_open = True
        self._txn_writes = 0
        self._write_locked = lock
        try:
            self._conn.execute(f"BEGIN; {WRITE_LOCK}" if lock else "BEGIN")
        except BaseException:
            status = _psycopg().pq.TransactionStatus
            self._txn_open = self._conn.info.transaction_status in (status.INTRANS, status.INERROR)
            raise

    def _begin_anew(self, lock: bool) -> None:
        """BEGIN, on a new connection when the server dropped ours since the last statement."""
        try:
            self._begin(lock)
        except _psycopg().OperationalError:
            if self._txn_open or not self._reconnect_if_lost():
                raise
            self._begin(lock)

    def _end(self, statement: str) -> None:
        """COMMIT or ROLLBACK; after a rollback our writes of the transaction never happened."""
        try:
            self._conn.execute(statement)
        finally:
            self._txn_open = False
            if statement == "ROLLBACK":
                self._own_writes -= self._txn_writes
            self._txn_writes = 0
            self._write_locked = False

    def _abort(self) -> None:
        self._index.forget_cached_numbers()  # numbers handed out in the rolled-back transaction are gone
        try:
            self._end("ROLLBACK")
        except _psycopg().Error:
            pass  # the connection is gone: the server rolled back

    @contextmanager
    def _write(self, what: str, mode: str = "IMMEDIATE") -> Iterator[_Statements]:
        """One write transaction holding the write lock (or a part of the caller's transaction)."""
        psycopg = _psycopg()
        if self._readonly:
            raise ReadOnlyError(f"the database {redacted_url(self._path)} is open read-only: {what} refused")
        with self._lock:
            self._live()
            if self.in_transaction():
                try:
                    self._take_write_lock()
                    yield self._statements
                    self._note_any_write()
                except psycopg.Error as e:
                    raise _translate(e, what) from e
                return
            try:
                self._begin_anew(lock=True)
            except psycopg.Error as e:
                self._abort()
                raise _translate(e, what) from e
            try:
                yield self._statements
                self._note_any_write()
                self._end("COMMIT")
            except BaseException as error:
                self._abort()
                if isinstance(error, psycopg.Error):
                    raise _translate(error, what) from error
                raise

    def _note_any_write(self) -> None:
        """Every write transaction moves the data version, those that touch only the read index
        included (a rebuild, a catch-up, snapshots): as SQLite's data_version counts any other
        connection's commit, a writer never trusts what it cached of the index across them."""
        if self._txn_writes == 0:
            self._note_version(self._statements)

    def _note_version(self, conn: _Statements) -> None:
        """Bump the counter (inside the write transaction, under the write lock)."""
        after = int(conn.execute("UPDATE cdb_counter SET version = version + 1 WHERE id = 0 RETURNING version")
                    .fetchall()[0][0])
        self._own_writes += 1
        self._txn_writes += 1
        self.others_version = after - self._own_writes
        self._last_write = (after - 1 + self._rollbacks, after + self._rollbacks)

    def data_version(self) -> int:
        """The counter every write bumps (any connection's), plus this connection's rollbacks."""
        return int(self._query("SELECT version FROM cdb_counter WHERE id = 0")[0][0]) + self._rollbacks

    def _insert_commit_row(self, conn: _Statements, values: tuple[Any, ...]) -> int | None:
        # Under the write lock: the next rowid is the largest + 1, as in SQLite.
        commit_id, parent, timestamp, label, kind, target, data = values
        values = (commit_id, parent, timestamp, label.encode("utf-8", "surrogatepass"), kind, target, data)
        rows = conn.execute(
            "INSERT INTO ds_commit (rowid, commit_id, parent_id, timestamp, label, type, target_id, data) "
            "SELECT COALESCE(MAX(rowid), 0) + 1, ?, ?, CAST(? AS DOUBLE PRECISION), CAST(? AS BYTEA), "
            "CAST(? AS INTEGER), ?, CAST(? AS BYTEA) FROM ds_commit ON CONFLICT (commit_id) DO NOTHING RETURNING rowid",
            values).lastrowid
        return None if rows is None else int(rows)

    # --- transactions --------------------------------------------------------------------------
    def begin_transaction(self, mode: str = "Deferred") -> None:
        """Deferred takes the write lock at the first write; Immediate and Exclusive at once
        (so an exclusive transaction sees every commit stored before it)."""
        psycopg = _psycopg()
        if mode not in TRANSACTION_MODES:
            raise StorageError(f"unknown transaction mode {mode!r}; use one of {', '.join(TRANSACTION_MODES)}")
        self._lock.acquire()
        try:
            self._live()
            if self.in_transaction():
                raise StorageError("a transaction is already in progress")
            if self._readonly and mode != "Deferred":
                raise ReadOnlyError(f"the database {redacted_url(self._path)} is open read-only")
            self._begin_anew(lock=mode != "Deferred")
        except psycopg.Error as e:
            self._abort()
            self._lock.release()
            raise _translate(e, f"beginning a {mode} transaction") from e
        except BaseException:
            self._lock.release()
            raise

    def commit(self) -> None:
        if not self.in_transaction():
            raise StorageError("no transaction in progress")
        psycopg = _psycopg()
        try:
            self._end("COMMIT")
        except psycopg.Error as e:
            self._index.forget_cached_numbers()
            raise _translate(e, "committing") from e
        finally:
            self._lock.release()

    def rollback(self) -> None:
        if not self.in_transaction():
            raise StorageError("no transaction in progress")
        try:
            self._abort()
        finally:
            self._rollbacks += 1
            self._bump_generation()
            self._lock.release()

    def in_transaction(self) -> bool:
        return self._txn_open and not self._closed

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._conn.close()
                except Exception:
                    pass


def _create_database(url: str) -> None:
    """CREATE DATABASE for the database ``url`` names (through the server's ``postgres`` database)."""
    psycopg = _psycopg()
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    name = params.get("dbname")
    if not name:
        raise IncompatibleDatabaseError(f"{redacted_url(url)} names no database")
    try:
        with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True,
                             connect_timeout=CONNECT_TIMEOUT) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        pass  # created meanwhile by someone else
    except psycopg.Error as e:
        raise IncompatibleDatabaseError(f"cannot create the PostgreSQL database {name!r}: {e}") from e
