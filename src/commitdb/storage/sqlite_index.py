"""The read structures of a ``.cdb`` file (see ``storage.readindex``), in commitdb's own tables.

The tables sit beside the three tables of the format; the Viper runtime ignores them. Rows
refer to commits by their rowid in ``ds_commit`` (compact), documents by a number given once in
``cdb_doc``, and commits' places by ``(lane, seq)``:

- ``cdb_tip``: one row — layout version, epoch (bumped when everything is rebuilt), ``upto``
  (every commit with a rowid up to it is placed and indexed) with the id of the commit at that
  rowid (another program deleting it and reusing its rowid is noticed) and the last commit by
  timestamp;
- ``cdb_commit``: rowid -> (lane, seq);
- ``cdb_lane``: lane -> base placement, extra ranges, length, rowid of the last commit;
- ``cdb_touch``: (doc, lane, seq) -> commit rowid, has Document_Set — a range scan per document;
- ``cdb_flip``: (lane, seq) -> the Disable/Enable/Merge commit and its target's placement;
- ``cdb_snapshot``: (doc, lane, seq) -> an encoded document and its digest (``snapshot_digest``:
  the document key, the commit id, the placement and the bytes), checked on every read: a row
  that does not match is skipped (the read replays instead) and logged;
- ``cdb_dangling``: commits placed while their parent or target was missing (if that commit
  arrives later, placements are rebuilt).

A commit stored through commitdb is placed and indexed in the same transaction as its row. A
commit written by another program is found by ``pending()`` (rowid beyond ``upto``) and indexed
by the facade, which decodes its program.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import logging
import secrets
import sqlite3
import struct
from collections.abc import Callable, Iterable
from typing import Any

from commitdb.errors import CorruptedDataError
from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID, CommitData, CommitHeader
from commitdb.storage.lanes import LaneRow, Ranges, lane_prefix, lin_ranges, place
from commitdb.storage.readindex import PREFIXES_KEPT, ReadIndex, Touch

log = logging.getLogger("commitdb")

LAYOUT = 4
TABLES = ("cdb_tip", "cdb_commit", "cdb_lane", "cdb_doc", "cdb_touch", "cdb_flip", "cdb_snapshot", "cdb_dangling")
SCHEMA = (
    "CREATE TABLE cdb_tip (id INTEGER PRIMARY KEY CHECK (id = 0), layout INTEGER, epoch INTEGER, "
    "upto INTEGER, upto_id BLOB, last_rowid INTEGER, last_ts REAL)",
    "CREATE TABLE cdb_commit (rowid INTEGER PRIMARY KEY, lane INTEGER, seq INTEGER)",
    "CREATE TABLE cdb_lane (id INTEGER PRIMARY KEY, base_lane INTEGER, base_seq INTEGER, extra BLOB, "
    "length INTEGER, tip INTEGER)",
    "CREATE INDEX cdb_lane_base ON cdb_lane (base_lane, base_seq)",
    "CREATE TABLE cdb_doc (id INTEGER PRIMARY KEY, attachment BLOB, instance BLOB, concept BLOB, "
    "UNIQUE (attachment, instance, concept))",
    "CREATE TABLE cdb_touch (doc INTEGER, lane INTEGER, seq INTEGER, commit_rowid INTEGER, has_set INTEGER, "
    "PRIMARY KEY (doc, lane, seq)) WITHOUT ROWID",
    "CREATE TABLE cdb_flip (lane INTEGER, seq INTEGER, commit_rowid INTEGER, type INTEGER, target_lane INTEGER, "
    "target_seq INTEGER, PRIMARY KEY (lane, seq)) WITHOUT ROWID",
    "CREATE INDEX cdb_flip_target ON cdb_flip (target_lane, target_seq)",
    "CREATE TABLE cdb_snapshot (doc INTEGER, lane INTEGER, seq INTEGER, commit_rowid INTEGER, data BLOB, "
    "digest BLOB, PRIMARY KEY (doc, lane, seq)) WITHOUT ROWID",
    "CREATE TABLE cdb_dangling (missing TEXT, commit_rowid INTEGER, PRIMARY KEY (missing, commit_rowid)) "
    "WITHOUT ROWID",
    f"INSERT INTO cdb_tip VALUES (0, {LAYOUT}, 0, 0, NULL, 0, -1e308)",
)
RANGE_QUERY_LIMIT = 8  # more ranges than this: one scan of the document's rows, filtered here


# What interpreting a damaged row raises (a NULL or a text where a number belongs, a bad id).
ROW_DAMAGE = (TypeError, ValueError, struct.error, AttributeError)


def _damage_is_corruption(method: Callable[..., Any]) -> Callable[..., Any]:
    """A read of the index whose rows hold values no commitdb version writes raises
    CorruptedDataError naming the fix, never another error or a value built from them."""
    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ROW_DAMAGE as error:
            raise CorruptedDataError(f"the read index of {self._backend.path()!r} is damaged ({error}): "
                                     "'commitdb verify FILE' names the rows, 'commitdb repair FILE' rebuilds them") \
                from error
    return checked


def _whole(*values: Any) -> None:
    """Placements and lane numbers are integers (TypeError otherwise: a damaged row)."""
    for v in values:
        if type(v) is not int:
            raise TypeError(f"a placement holds {v!r}")


def snapshot_digest(dk: Any, commit_id: bytes, lane: int, seq: int, data: bytes) -> bytes:
    """What a snapshot row is checked against on use: any damaged part of the row (the document
    it is filed under, its commit, its placement or its bytes) changes it."""
    h = hashlib.blake2b(digest_size=16)
    for part in (*dk, commit_id, struct.pack("<qq", lane, seq), data):
        h.update(struct.pack("<I", len(part)))
        h.update(part)
    return h.digest()


def pack_ranges(ranges: Ranges) -> bytes:
    return struct.pack(f"<{3 * len(ranges)}q", *(v for r in ranges for v in r))


def unpack_ranges(data: bytes | None) -> Ranges:
    if not data:
        return ()
    values = struct.unpack(f"<{len(data) // 8}q", data)
    return tuple((values[i], values[i + 1], values[i + 2]) for i in range(0, len(values), 3))


def layout_ready(conn: sqlite3.Connection) -> bool:
    """Whether the file has this version's read tables."""
    try:
        row = conn.execute("SELECT layout, typeof(epoch), typeof(upto), typeof(last_rowid), typeof(last_ts), "
                           "typeof(upto_id) FROM cdb_tip WHERE id = 0").fetchone()
    except (sqlite3.Error, UnicodeDecodeError):
        return False
    # A damaged tip row (a NULL or a text where a number belongs) makes the tables rebuilt.
    return row is not None and row[:4] == (LAYOUT, "integer", "integer", "integer") \
        and row[4] in ("real", "integer") and row[5] in ("blob", "null")


def create_tables(conn: sqlite3.Connection) -> None:
    """(Re)create the read tables, dropping those of an older layout (derived data). The new
    tables start a new epoch (past the old one when it can be read), so that other connections
    drop the placements and numbers they cached."""
    try:
        old = conn.execute("SELECT epoch FROM cdb_tip WHERE id = 0").fetchone()
        epoch = old[0] + 1 if old is not None and type(old[0]) is int else None
    except (sqlite3.Error, UnicodeDecodeError):
        epoch = None
    for table in (*TABLES, "cdb_doc_old"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for stmt in SCHEMA:
        conn.execute(stmt)
    conn.execute("UPDATE cdb_tip SET epoch = ?", (secrets.randbits(40) if epoch is None else epoch,))


class SQLiteReadIndex(ReadIndex):
    """The read structures of one SQLite connection. Reads run through ``query``; writes are
    given the connection of the caller's open write transaction."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._doc_ids: dict[Any, int] = {}
        self._prefix: dict[int, Ranges] = {}
        self._prefix_epoch = -1
        # Placements made by this connection (answered without a query; dropped on rollback).
        self._recent: dict[bytes, tuple[int, int]] = {}
        # While no other connection writes (``others_version`` unchanged since our last write):
        # (others_version, upto, last rowid, last timestamp, ids awaited by dangling commits),
        # and the lengths of the lanes we extended. Dropped on rollback, wipe and deletion.
        self._tip: tuple[Any, ...] | None = None
        self._lane_lengths: dict[int, int] = {}
        # Damaged rows met while reading (reported by the read, then skipped): the latest few.
        self.faults: collections.deque[str] = collections.deque(maxlen=100)

    # --- reading -------------------------------------------------------------------------------
    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._backend._query(sql, args)

    @_damage_is_corruption
    def epoch(self) -> int:
        epoch = int(self._query("SELECT epoch FROM cdb_tip WHERE id = 0")[0][0])
        self._check_epoch(epoch)  # another connection rebuilt the tables: our cached numbers are stale
        return epoch

    @_damage_is_corruption
    def placements(self, commit_ids: Iterable[bytes]) -> dict[bytes, tuple[int, int]]:
        out: dict[bytes, tuple[int, int]] = {}
        ids = []
        for c in commit_ids:
            found = self._recent.get(c)
            if found is not None:
                out[c] = found
            else:
                ids.append(c.hex())
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._query(
                "SELECT d.commit_id, c.lane, c.seq FROM ds_commit d JOIN cdb_commit c ON c.rowid = d.rowid "
                f"WHERE d.commit_id IN ({','.join('?' * len(chunk))})", chunk)
            for hex_id, lane, seq in rows:
                _whole(lane, seq)
                out[bytes.fromhex(hex_id)] = (lane, seq)
        return out

    @_damage_is_corruption
    def lane_rows(self, lanes: Iterable[int]) -> dict[int, LaneRow]:
        wanted = list(dict.fromkeys(lanes))
        out: dict[int, LaneRow] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._query(
                "SELECT l.id, l.base_lane, l.base_seq, l.extra, l.length, d.commit_id FROM cdb_lane l "
                f"LEFT JOIN ds_commit d ON d.rowid = l.tip WHERE l.id IN ({','.join('?' * len(chunk))})", chunk)
            for lane, base_lane, base_seq, extra, length, tip in rows:
                _whole(length, *(() if base_lane is None else (base_lane, base_seq)))
                base = None if base_lane is None else (base_lane, base_seq)
                out[lane] = LaneRow(base, unpack_ranges(extra), length, bytes.fromhex(tip) if tip else ZERO_ID)
        return out

    def _ranged(self, select: str, alias: str, head: tuple[Any, ...], ranges: Ranges) -> list[tuple[Any, ...]]:
        """Rows of ``select`` (ending in a WHERE on its own keys) within ``ranges``: one indexed
        range scan per range, or one scan filtered here when there are many ranges."""
        if len(ranges) <= RANGE_QUERY_LIMIT:
            rows: list[tuple[Any, ...]] = []
            for lane, lo, hi in ranges:
                rows += self._query(f"{select} AND {alias}.lane = ? AND {alias}.seq BETWEEN ? AND ?",
                                    (*head, lane, lo, hi))
            return rows
        by_lane: dict[int, list[tuple[int, int]]] = {}
        for lane, lo, hi in ranges:
            by_lane.setdefault(lane, []).append((lo, hi))
        return [r for r in self._query(select, head)
                if any(lo <= r[1] <= hi for lo, hi in by_lane.get(r[0], ()))]

    def _doc_number(self, dk: Any) -> int | None:
        found = self._doc_ids.get(dk)
        if found is None:
            rows = self._query("SELECT id FROM cdb_doc WHERE attachment = ? AND instance = ? AND concept = ?", dk)
            if not rows:
                return None
            found = self._doc_ids[dk] = rows[0][0]
        return found

    @_damage_is_corruption
    def touches(self, dk: Any, ranges: Ranges) -> list[tuple[int, int, bytes, bool]]:
        doc = self._doc_number(dk)
        if doc is None or not ranges:
            return []
        rows = self._ranged("SELECT t.lane, t.seq, d.commit_id, t.has_set FROM cdb_touch t "
                            "JOIN ds_commit d ON d.rowid = t.commit_rowid WHERE t.doc = ?", "t", (doc,), ranges)
        for row in rows:
            _whole(row[0], row[1])
        return [(lane, seq, bytes.fromhex(cid), bool(has_set)) for lane, seq, cid, has_set in rows]

    @_damage_is_corruption
    def touches_of_attachment(self, attachment_rid: bytes, ranges: Ranges) -> dict[Any, list[Touch]]:
        if not ranges:
            return {}
        rows = self._ranged("SELECT t.lane, t.seq, d.commit_id, t.has_set, c.instance, c.concept FROM cdb_doc c "
                            "JOIN cdb_touch t ON t.doc = c.id JOIN ds_commit d ON d.rowid = t.commit_rowid "
                            "WHERE c.attachment = ?", "t", (attachment_rid,), ranges)
        out: dict[Any, list[Touch]] = {}
        for lane, seq, cid, has_set, instance, concept in rows:
            _whole(lane, seq)
            dk = (attachment_rid, bytes(instance), bytes(concept))
            out.setdefault(dk, []).append((lane, seq, bytes.fromhex(cid), bool(has_set)))
        return out

    @_damage_is_corruption
    def flips(self, ranges: Ranges) -> list[tuple[int, int, bytes, int, Any]]:
        if not ranges:
            return []
        rows = self._ranged("SELECT f.lane, f.seq, d.commit_id, f.type, f.target_lane, f.target_seq "
                            "FROM cdb_flip f JOIN ds_commit d ON d.rowid = f.commit_rowid WHERE 1 = ?",
                            "f", (1,), ranges)
        for lane, seq, _, kind, tl, ts in rows:
            _whole(lane, seq, kind, *(() if tl is None else (tl, ts)))
        return [(lane, seq, bytes.fromhex(cid), kind, None if tl is None else (tl, ts))
                for lane, seq, cid, kind, tl, ts in rows]

    def snapshots(self, dk: Any, ranges: Ranges, limit: int | None = None) -> list[tuple[int, int, bytes, bytes]]:
        doc = self._doc_number(dk)
        if doc is None or not ranges:
            return []
        try:
            rows = self._snapshot_rows(doc, ranges, limit)
        except CorruptedDataError as error:  # damaged pages or values: replaying is always possible
            self._damaged(f"cdb_snapshot: the snapshots of document {doc_text(dk)} cannot be read ({error})")
            return []
        out = []
        for lane, seq, cid, data, digest in rows:
            data, digest = (bytes(v) if isinstance(v, memoryview) else v for v in (data, digest))  # PostgreSQL
            if type(lane) is not int or type(seq) is not int or not isinstance(data, bytes) \
                    or not isinstance(digest, bytes) \
                    or digest != snapshot_digest(dk, bytes.fromhex(cid), lane, seq, data):
                self._damaged(f"cdb_snapshot: the snapshot of document {doc_text(dk)} at ({lane}, {seq}) "
                              "does not match its digest")
                continue
            out.append((lane, seq, bytes.fromhex(cid), data))
        return out

    def _damaged(self, fault: str) -> None:
        self.faults.append(fault)
        log.warning("damaged read index: %s; the document is replayed instead (run 'commitdb repair' on the file)",
                    fault)

    def _snapshot_rows(self, doc: int, ranges: Ranges, limit: int | None) -> list[tuple[Any, ...]]:
        select = ("SELECT s.lane, s.seq, d.commit_id, s.data, s.digest FROM cdb_snapshot s "
                  "JOIN ds_commit d ON d.rowid = s.commit_rowid WHERE s.doc = ?")
        if limit is None:
            rows = self._ranged(select, "s", (doc,), ranges)
        else:  # the newest first, range by range from the end
            rows = []
            for lane, lo, hi in reversed(ranges):
                rows += self._query(f"{select} AND s.lane = ? AND s.seq BETWEEN ? AND ? ORDER BY s.seq DESC LIMIT ?",
                                    (doc, lane, lo, hi, limit - len(rows)))
                if len(rows) >= limit:
                    break
        return rows

    @_damage_is_corruption
    def doc_keys(self, attachment_rid: bytes | None) -> list[Any]:
        if attachment_rid is None:
            rows = self._query("SELECT attachment, instance, concept FROM cdb_doc ORDER BY id")
        else:
            rows = self._query("SELECT attachment, instance, concept FROM cdb_doc WHERE attachment = ? ORDER BY id",
                               (attachment_rid,))
        return [(bytes(a), bytes(i), bytes(c)) for a, i, c in rows]

    @_damage_is_corruption
    def head_ids(self) -> list[bytes]:
        """The last commit of every lane that no other lane starts from and no merge targets.
        A lane whose last commit is gone (deleted by another program) makes this raise
        LookupError: the caller rebuilds."""
        rows = self._query(
            "SELECT d.commit_id FROM cdb_lane l LEFT JOIN ds_commit d ON d.rowid = l.tip "
            "WHERE NOT EXISTS (SELECT 1 FROM cdb_lane b WHERE b.base_lane = l.id AND b.base_seq = l.length - 1) "
            f"AND NOT EXISTS (SELECT 1 FROM cdb_flip f WHERE f.type = {MERGE} AND f.target_lane = l.id "
            "AND f.target_seq = l.length - 1)")
        if any(r[0] is None for r in rows):
            raise LookupError("a lane's last commit is missing")
        return [bytes.fromhex(r[0]) for r in rows]

    @_damage_is_corruption
    def placed_in(self, ranges: Ranges) -> list[tuple[int, int, bytes]]:
        """One scan of the placements (whole-linearisation calls read most of them anyway)."""
        by_lane: dict[int, list[tuple[int, int]]] = {}
        for lane, lo, hi in ranges:
            by_lane.setdefault(lane, []).append((lo, hi))
        rows = self._query("SELECT c.lane, c.seq, d.commit_id FROM cdb_commit c JOIN ds_commit d ON d.rowid = c.rowid")
        return [(lane, seq, bytes.fromhex(cid)) for lane, seq, cid in rows
                if any(lo <= seq <= hi for lo, hi in by_lane.get(lane, ()))]

    @_damage_is_corruption
    def last_commit_id(self) -> bytes | None:
        rows = self._query("SELECT d.commit_id FROM cdb_tip t JOIN ds_commit d ON d.rowid = t.last_rowid")
        return bytes.fromhex(rows[0][0]) if rows else None

    def first_commit_id(self) -> bytes | None:
        rows = self._query("SELECT commit_id FROM ds_commit ORDER BY rowid LIMIT 1")
        return bytes.fromhex(rows[0][0]) if rows else None

    # --- catching up with commits written by other programs ---------------------------------
    @_damage_is_corruption
    def pending(self, limit: int) -> list[tuple[int, CommitData]]:
        """Commits not indexed yet, in rowid order (at most ``limit``): (rowid, commit). Wipes
        the read tables first when another program deleted commits they describe."""
        upto, upto_id = self._query("SELECT upto, upto_id FROM cdb_tip WHERE id = 0")[0]
        if upto > 0:
            top = self._query("SELECT max(rowid) FROM ds_commit")[0][0] or 0
            at = self._query("SELECT commit_id FROM ds_commit WHERE rowid = ?", (upto,))
            if top < upto or (at and upto_id is not None and bytes.fromhex(at[0][0]) != upto_id):
                self.wipe()
                upto = 0
        rows = self._query("SELECT commit_id, parent_id, timestamp, label, type, target_id, data, rowid "
                           "FROM ds_commit WHERE rowid > ? ORDER BY rowid LIMIT ?", (upto, limit))
        return list(zip([r[7] for r in rows], self._backend.commit_rows(rows)))

    @_damage_is_corruption
    def rows_of(self, commit_ids: list[bytes]) -> list[tuple[int, CommitData]]:
        """(rowid, commit) of the stored commits among ``commit_ids``."""
        out: list[tuple[int, CommitData]] = []
        hex_ids = [c.hex() for c in commit_ids]
        for start in range(0, len(hex_ids), 500):
            chunk = hex_ids[start:start + 500]
            rows = self._query("SELECT commit_id, parent_id, timestamp, label, type, target_id, data, rowid "
                               f"FROM ds_commit WHERE commit_id IN ({','.join('?' * len(chunk))})", chunk)
            out += zip([r[7] for r in rows], self._backend.commit_rows(rows))
        return out

    def wipe(self) -> None:
        """Forget every placement and index row (a new epoch); ``pending`` then lists every commit."""
        with self._backend._write("rebuilding the read index") as conn:
            self.wipe_in(conn)

    def wipe_in(self, conn: sqlite3.Connection) -> None:
        epoch = conn.execute("SELECT epoch FROM cdb_tip WHERE id = 0").fetchone()[0]
        for table in TABLES[1:]:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE cdb_tip SET epoch = ?, upto = 0, upto_id = NULL, last_rowid = 0, last_ts = -1e308",
                     (epoch + 1,))
        self.forget_cached_numbers()

    def index_pending(self, rows: list[tuple[int, CommitData, list[tuple[Any, bool]] | None]], upto: int) -> None:
        """Place and index commits found by ``pending`` (parents and targets first), then move
        ``upto`` to the last rowid the caller went through. When one of them is a commit others
        were placed without (another program stored it late), everything is placed again
        instead: the tables are wiped (a new epoch) and ``pending`` lists every commit."""
        with self._backend._write("indexing commits") as conn:
            self._tip = None  # others may have written since: ask rather than trust the cache
            self._lane_lengths.clear()
            self._check_epoch(conn.execute("SELECT epoch FROM cdb_tip WHERE id = 0").fetchone()[0])
            awaited = {r[0] for r in conn.execute("SELECT missing FROM cdb_dangling")}
            if awaited and any(commit.header().id.hex() in awaited for _, commit, _ in rows):
                self.wipe_in(conn)
                return
            for rowid, commit, entries in rows:
                if conn.execute("SELECT 1 FROM cdb_commit WHERE rowid = ?", (rowid,)).fetchone() is None:
                    self._place(conn, rowid, commit.header(), entries)
            tip = conn.execute("SELECT upto, last_rowid, last_ts FROM cdb_tip WHERE id = 0").fetchone()
            last_rowid, last_ts = tip[1], tip[2]
            for rowid, commit, _ in rows:
                ts = commit.header().ts
                if ts > last_ts or (ts == last_ts and rowid > last_rowid):
                    last_rowid, last_ts = rowid, ts
            upto = max(upto, tip[0])
            at = conn.execute("SELECT commit_id FROM ds_commit WHERE rowid = ?", (upto,)).fetchone()
            conn.execute("UPDATE cdb_tip SET upto = ?, upto_id = ?, last_rowid = ?, last_ts = ?",
                         (upto, bytes.fromhex(at[0]) if at else None, last_rowid, last_ts))

    # --- writing (inside the caller's transaction) ---------------------------------------------
    def on_insert(self, conn: sqlite3.Connection, rowid: int, h: CommitHeader,
                  entries: list[tuple[Any, bool]] | None) -> None:
        """Index a commit just stored at ``rowid`` (when everything before it is indexed)."""
        tip = self._tip if self._tip is not None and self._tip[0] == self._backend.others_version else None
        if tip is not None:  # nobody else wrote since our last write: what we cached still holds
            upto, last_rowid, last_ts, awaiting = tip[1:]
            awaited = h.id in awaiting
        else:
            upto, last_rowid, last_ts, epoch, awaited = conn.execute(
                "SELECT upto, last_rowid, last_ts, epoch, EXISTS (SELECT 1 FROM cdb_dangling WHERE missing = ?) "
                "FROM cdb_tip WHERE id = 0", (h.id.hex(),)).fetchone()
            self._check_epoch(epoch)
            self._lane_lengths.clear()
            awaiting = {bytes.fromhex(r[0]) for r in conn.execute("SELECT missing FROM cdb_dangling")}
        if awaited:
            self.wipe_in(conn)  # a commit others were placed without: place everything again
            upto, awaiting = 0, set()
        self._tip = None  # set again once this commit is placed
        if h.ts >= last_ts:
            last_rowid, last_ts = rowid, h.ts
        if (entries is not None or h.type_code != MUTATIONS) and rowid == upto + 1:
            awaiting |= self._place(conn, rowid, h, entries)
            upto = rowid
            conn.execute("UPDATE cdb_tip SET upto = ?, upto_id = ?, last_rowid = ?, last_ts = ? WHERE id = 0",
                         (rowid, h.id, last_rowid, last_ts))
        else:
            conn.execute("UPDATE cdb_tip SET last_rowid = ?, last_ts = ? WHERE id = 0", (last_rowid, last_ts))
        self._tip = (self._backend.others_version, upto, last_rowid, last_ts, awaiting)

    def _placement_in(self, conn: sqlite3.Connection, commit_id: bytes) -> tuple[int, int, int] | None:
        """(lane, seq, length of the lane) of a stored commit (from what this connection placed
        while nobody else wrote, else asked)."""
        known = self._recent.get(commit_id)
        if known is not None and known[0] in self._lane_lengths:
            return (*known, self._lane_lengths[known[0]])
        row = conn.execute("SELECT c.lane, c.seq, l.length FROM ds_commit d JOIN cdb_commit c ON c.rowid = d.rowid "
                           "JOIN cdb_lane l ON l.id = c.lane WHERE d.commit_id = ?", (commit_id.hex(),)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _lin_in(self, conn: sqlite3.Connection, lane: int, seq: int) -> Ranges:
        def row_of(x: int) -> LaneRow:
            r = conn.execute("SELECT base_lane, base_seq, extra FROM cdb_lane WHERE id = ?", (x,)).fetchone()
            return LaneRow(None if r[0] is None else (r[0], r[1]), unpack_ranges(r[2]), 0, ZERO_ID)

        def keep(x: int, prefix: Ranges) -> None:
            if len(self._prefix) >= PREFIXES_KEPT:
                self._prefix.clear()
            self._prefix[x] = prefix

        def prefix_of(x: int) -> Ranges:
            found = self._prefix.get(x)  # () is a valid prefix (a root lane): test for None
            return found if found is not None else lane_prefix(x, self._prefix.get, row_of, keep)

        return lin_ranges(lane, seq, prefix_of)

    def _place(self, conn: sqlite3.Connection, rowid: int, h: CommitHeader,
               entries: list[tuple[Any, bool]] | None) -> set[bytes]:
        """Place and index a commit; returns the ids it was placed without (dangling)."""
        missing = set()
        parent = self._placement_in(conn, h.parent) if h.parent != ZERO_ID else None
        if h.parent != ZERO_ID and parent is None:
            conn.execute("INSERT OR IGNORE INTO cdb_dangling VALUES (?, ?)", (h.parent.hex(), rowid))
            missing.add(h.parent)
        target = self._placement_in(conn, h.target) if h.type_code != MUTATIONS else None
        if h.type_code != MUTATIONS and target is None:
            conn.execute("INSERT OR IGNORE INTO cdb_dangling VALUES (?, ?)", (h.target.hex(), rowid))
            missing.add(h.target)
        is_merge = h.type_code == MERGE
        parent_lin = self._lin_in(conn, parent[0], parent[1]) if parent is not None and is_merge else ()
        target_lin = self._lin_in(conn, target[0], target[1]) if target is not None and is_merge else None
        p = place(None if parent is None else parent[:2], 0 if parent is None else parent[2], is_merge,
                  parent_lin, target_lin)
        if p.lane is None:
            base_lane, base_seq = p.base if p.base is not None else (None, None)
            lane = conn.execute("INSERT INTO cdb_lane (base_lane, base_seq, extra, length, tip) VALUES (?, ?, ?, 1, ?)",
                                (base_lane, base_seq, pack_ranges(p.extra) if p.extra else None, rowid)).lastrowid
        else:
            lane = p.lane
            conn.execute("UPDATE cdb_lane SET length = ?, tip = ? WHERE id = ?", (p.seq + 1, rowid, lane))
        conn.execute("INSERT INTO cdb_commit (rowid, lane, seq) VALUES (?, ?, ?)", (rowid, lane, p.seq))
        if len(self._recent) > 4096:
            self._recent.clear()
        self._recent[h.id] = (lane, p.seq)
        self._lane_lengths[lane] = p.seq + 1
        if entries:
            conn.executemany("INSERT OR REPLACE INTO cdb_touch VALUES (?, ?, ?, ?, ?)",
                             [(self._doc_in(conn, dk), lane, p.seq, rowid, 1 if has_set else 0)
                              for dk, has_set in entries])
        if h.type_code != MUTATIONS:
            conn.execute("INSERT OR REPLACE INTO cdb_flip VALUES (?, ?, ?, ?, ?, ?)",
                         (lane, p.seq, rowid, h.type_code, *(target[:2] if target is not None else (None, None))))
        return missing

    def _doc_in(self, conn: sqlite3.Connection, dk: Any) -> int:
        found = self._doc_ids.get(dk)
        if found is None:
            conn.execute("INSERT OR IGNORE INTO cdb_doc (attachment, instance, concept) VALUES (?, ?, ?)", dk)
            found = conn.execute("SELECT id FROM cdb_doc WHERE attachment = ? AND instance = ? AND concept = ?",
                                 dk).fetchone()[0]
            self._doc_ids[dk] = found
        return found

    def forget_cached_numbers(self) -> None:
        """After a rollback: document numbers, lane prefixes and placements made in it are gone."""
        self._doc_ids.clear()
        self._prefix.clear()
        self._recent.clear()
        self._tip = None
        self._lane_lengths.clear()

    def _check_epoch(self, epoch: int) -> None:
        """Cached lane prefixes, placements and document numbers belong to one epoch of the tables."""
        if epoch != self._prefix_epoch:
            self._prefix.clear()
            self._recent.clear()
            self._doc_ids.clear()
            self._prefix_epoch = epoch

    def on_delete(self, conn: sqlite3.Connection, rowid: int, h: CommitHeader) -> None:
        """Before a head's row is deleted: shorten its lane and drop its rows. A new epoch tells
        every reader to drop cached placements (a lane number may be reused)."""
        self.forget_cached_numbers()
        conn.execute("UPDATE cdb_tip SET epoch = epoch + 1")
        row = conn.execute("SELECT lane, seq FROM cdb_commit WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None:
            lane, seq = row
            conn.execute("DELETE FROM cdb_commit WHERE rowid = ?", (rowid,))
            for table in ("cdb_touch", "cdb_snapshot", "cdb_flip"):
                conn.execute(f"DELETE FROM {table} WHERE lane = ? AND seq = ?", (lane, seq))
            conn.execute("DELETE FROM cdb_dangling WHERE commit_rowid = ?", (rowid,))
            if seq == 0:
                conn.execute("DELETE FROM cdb_lane WHERE id = ?", (lane,))
            else:
                conn.execute("UPDATE cdb_lane SET length = ?, tip = (SELECT rowid FROM ds_commit WHERE commit_id = ?) "
                             "WHERE id = ?", (seq, h.parent.hex(), lane))
        upto, last_rowid = conn.execute("SELECT upto, last_rowid FROM cdb_tip WHERE id = 0").fetchone()
        top = conn.execute("SELECT max(rowid) FROM ds_commit").fetchone()[0]
        if rowid == top and upto >= rowid:
            # The next commit takes the largest remaining rowid + 1: 'upto' must be that rowid.
            below = conn.execute("SELECT rowid, commit_id FROM ds_commit WHERE rowid < ? ORDER BY rowid DESC LIMIT 1",
                                 (rowid,)).fetchone()
            upto = 0 if below is None else below[0]
            conn.execute("UPDATE cdb_tip SET upto_id = ?", (None if below is None else bytes.fromhex(below[1]),))
        if last_rowid == rowid:
            best = conn.execute("SELECT rowid, timestamp FROM ds_commit WHERE rowid != ? "
                                "ORDER BY timestamp DESC, rowid DESC LIMIT 1", (rowid,)).fetchone()
            conn.execute("UPDATE cdb_tip SET last_rowid = ?, last_ts = ?",
                         (best[0], best[1]) if best else (0, -1e308))
        conn.execute("UPDATE cdb_tip SET upto = ?", (upto,))

    def save_snapshots(self, rows: list[tuple[Any, bytes, bytes]]) -> None:
        if not rows or self._backend.is_readonly():
            return
        with self._backend._write("saving document snapshots") as conn:
            for dk, commit_id, data in rows:
                at = conn.execute("SELECT c.rowid, c.lane, c.seq FROM ds_commit d JOIN cdb_commit c "
                                  "ON c.rowid = d.rowid WHERE d.commit_id = ?", (commit_id.hex(),)).fetchone()
                if at is None:
                    continue
                conn.execute("INSERT OR REPLACE INTO cdb_snapshot VALUES (?, ?, ?, ?, ?, ?)",
                             (self._doc_in(conn, dk), at[1], at[2], at[0], data,
                              snapshot_digest(dk, commit_id, at[1], at[2], data)))

    @_damage_is_corruption
    def index_rows_by_commit(self, commit_ids: list[bytes]) -> dict[bytes, list[tuple[Any, bool]]]:
        """commit id -> [(doc key, has Document_Set)] for indexed commits (for remote clients that
        build their own views). One scan of the touch rows."""
        placed = self.placements(commit_ids)
        by_place = {v: k for k, v in placed.items()}
        out: dict[bytes, list[tuple[Any, bool]]] = {c: [] for c in placed}
        for att, inst, concept, lane, seq, has_set in self._query(
                "SELECT d.attachment, d.instance, d.concept, t.lane, t.seq, t.has_set FROM cdb_touch t "
                "JOIN cdb_doc d ON d.id = t.doc"):
            cid = by_place.get((lane, seq))
            if cid is not None:
                out[cid].append(((bytes(att), bytes(inst), bytes(concept)), bool(has_set)))
        return out


def doc_text(dk: Any) -> str:
    return "/".join(bytes(part).hex() for part in dk)
