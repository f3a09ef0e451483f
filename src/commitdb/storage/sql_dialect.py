"""SQL written once, in SQLite's dialect, run on PostgreSQL too.

The record queries (``storage.sql_records``) and the read index (``storage.sqlite_index``) are
written in SQLite's SQL. The PostgreSQL backend runs the same statements after ``to_postgres``
rewrites the few constructs the two engines spell differently:

- ``?`` placeholders become ``%s`` (and a literal ``%`` is doubled);
- ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE`` becomes ``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of the
  other columns (the table's columns come from a ``TableShape``);
- an INSERT into a table numbered by the engine returns the new number (``RETURNING``), which
  stands for SQLite's ``lastrowid``; emptying such a table restarts its numbering, as SQLite's
  does (``TRUNCATE ... RESTART IDENTITY``): rebuilt read structures get the same numbers;
- in table definitions, SQLite's types become PostgreSQL's and ``WITHOUT ROWID``/``STRICT`` go.

Anything else must already mean the same on both engines. This module is pure text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*(\(([^)]*)\))?\s*(.*)$",
                     re.IGNORECASE | re.DOTALL)

_DELETE_ALL = re.compile(r"^\s*DELETE\s+FROM\s+(\w+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TableShape:
    """What rewriting needs to know of one table: its columns in order, its primary key, and
    the column the engine numbers (None when rows are numbered by the caller)."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    numbered: str | None = None


def to_postgres(sql: str, tables: dict[str, TableShape]) -> str:
    """The PostgreSQL spelling of one SQLite statement (see the module docstring)."""
    text = sql.replace("%", "%%").replace("?", "%s")
    emptied = _DELETE_ALL.match(text)
    if emptied is not None and tables.get(emptied.group(1), TableShape((), ())).numbered is not None:
        return f"TRUNCATE {emptied.group(1)} RESTART IDENTITY"
    found = _INSERT.match(text)
    if found is None:
        return text
    conflict, table, _, listed, rest = found.groups()
    shape = tables.get(table)
    columns = f" ({listed})" if listed is not None else ""
    out = f"INSERT INTO {table}{columns} {rest}".rstrip()
    if conflict is not None and conflict.upper() == "IGNORE":
        out += " ON CONFLICT DO NOTHING"
    elif conflict is not None:
        if shape is None:
            raise ValueError(f"INSERT OR REPLACE into {table}: its columns are unknown")
        written = [c.strip() for c in listed.split(",")] if listed is not None else list(shape.columns)
        updated = [c for c in written if c not in shape.key]
        if updated:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
            out += f" ON CONFLICT ({', '.join(shape.key)}) DO UPDATE SET {sets}"
        else:
            out += " ON CONFLICT DO NOTHING"
    if shape is not None and shape.numbered is not None and " RETURNING " not in out.upper():
        out += f" RETURNING {shape.numbered}"
    return out


_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\)\s*(WITHOUT ROWID|STRICT)\s*$"), ")"),
)


def ddl_to_postgres(statement: str) -> str:
    """A CREATE TABLE/INDEX (or INSERT) statement of SQLite as PostgreSQL takes it."""
    if not statement.lstrip().upper().startswith("CREATE"):
        return statement
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return statement
