"""Checking the read index of a ``.cdb`` file against its commits, and rebuilding it.

The read index (``storage.sqlite_index``: the ``cdb_`` tables) is derived data. ``check`` holds
every row to what recomputation from the commits gives:

- placements (``cdb_commit``, ``cdb_lane``): every indexed commit is placed once; a commit after
  the first of its lane has its parent just before it; a lane's base is its first commit's parent,
  its extra ranges what a merge brought in (``storage.lanes``); lengths and last commits match;
- ``cdb_touch``: each placed commit's rows are exactly the documents its program touches (with
  whether it sets them whole), under the right document numbers (``cdb_doc``);
- ``cdb_flip``: each toggle and merge, with its type and its target's placement;
- ``cdb_dangling``: every commit placed without its parent or target is listed;
- ``cdb_tip``: ``upto`` and the last commit;
- ``cdb_snapshot``: each row's digest, and its document against a replay from the commits;
- reads: every document at every head, read through the index, equals the document read
  through a read index rebuilt in memory from the commits.

``repair`` drops the derived tables and rebuilds them from the commits; the three tables of the
format are never written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from commitdb.codec import encode_typed_value
from commitdb.errors import CommitDBError
from commitdb.read_views import BoundedCache, ReadViews
from commitdb.storage import sqlite_index
from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID
from commitdb.storage.lanes import LaneRow, Ranges, lane_prefix, lin_ranges, subtract

Progress = Callable[[str, int, int], None]


class Fault(str):
    """One fault: ``location: message`` as text, with its ``kind`` (what was checked)."""

    kind: str
    location: str

    def __new__(cls, kind: str, location: str, message: str) -> Fault:
        fault = super().__new__(cls, f"{location}: {message}")
        fault.kind = kind
        fault.location = location
        return fault


INDEX = "read-index"


@dataclass
class _Commit:
    rowid: int
    id: bytes
    parent: bytes
    type_code: int
    target: bytes


class _Unindexed:
    """A backend seen without its persisted read index: read views over it place and index every
    commit in memory, from the commits alone."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def persists_index(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name in ("read_index", "load_index"):
            raise AttributeError(name)
        return getattr(self._backend, name)


def check(backend: Any, definitions: Any, token: bool, entries: dict[bytes, list[tuple[Any, bool]]],
          progress: Progress | None = None, known_bad: Iterable[str] = ()) -> list[Fault]:
    """Every fault of the read index of the SQLite ``backend`` (see the module docstring).
    ``entries``: the index entries of each Mutations commit whose program decoded (commits
    missing from it are not compared); ``known_bad``: the hex ids of commits already reported
    damaged (replays that fail on them are not reported again)."""
    checker = _Checker(backend, definitions, token, entries, progress)
    checker.known_bad = set(known_bad)
    try:
        return _capped(checker.run())
    except CommitDBError as error:
        return [*checker.faults, Fault(INDEX, "read index", f"cannot be read: {error}")]
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
        # Values no commitdb version writes: the rows are damaged in a way not foreseen above.
        return [*checker.faults, Fault(INDEX, "read index", f"holds values that cannot be checked ({error!r})")]


MAX_FAULTS = 200


def _capped(faults: list[Fault]) -> list[Fault]:
    """At most MAX_FAULTS faults, then one saying how many more there were (one damaged commit
    can make every document after it differ)."""
    if len(faults) <= MAX_FAULTS:
        return faults
    return [*faults[:MAX_FAULTS], Fault(INDEX, "read index", f"and {len(faults) - MAX_FAULTS} more faults")]


def _ints(*values: Any) -> bool:
    return all(type(v) is int for v in values)


class _Checker:
    def __init__(self, backend: Any, definitions: Any, token: bool, entries: dict[bytes, list[tuple[Any, bool]]],
                 progress: Progress | None) -> None:
        self.backend = backend
        self.definitions = definitions
        self.token = token
        self.entries = entries
        self.progress = progress
        self.faults: list[Fault] = []
        self.prefixes: BoundedCache = BoundedCache(4096)
        self.known_bad: set[str] = set()

    def already_reported(self, error: Exception) -> bool:
        """Whether ``error`` names a commit reported damaged already."""
        text = str(error)
        return any(commit in text for commit in self.known_bad)

    def fault(self, location: str, message: str) -> None:
        self.faults.append(Fault(INDEX, location, message))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.backend.inspect_rows(sql)

    def run(self) -> list[Fault]:
        tip = self.rows("SELECT layout, upto, upto_id, last_rowid, last_ts FROM cdb_tip WHERE id = 0")
        if not tip:
            self.fault("cdb_tip", "the row is missing")
            return self.faults
        layout, upto, upto_id, last_rowid, _ = tip[0]
        if layout != sqlite_index.LAYOUT:
            return self.faults  # an older layout: rebuilt when the file is next opened for writing
        if not _ints(upto, last_rowid):
            self.fault("cdb_tip", f"holds values of the wrong type ({upto!r}, {last_rowid!r})")
            return self.faults
        self.commits = {r[0]: _Commit(r[0], bytes.fromhex(r[1]), bytes.fromhex(r[2] or "0" * 40), r[3],
                                      bytes.fromhex(r[4] or "0" * 40))
                        for r in self.rows("SELECT rowid, commit_id, parent_id, type, target_id FROM ds_commit")}
        self.by_id = {c.id: c for c in self.commits.values()}
        self._check_tip(upto, upto_id, last_rowid)
        self._load_placements(upto)
        self._check_lanes()
        self._check_commits()
        self._check_touches()
        self._check_flips()
        self._check_reads()
        return self.faults

    # --- cdb_tip -------------------------------------------------------------------------------
    def _check_tip(self, upto: int, upto_id: Any, last_rowid: int) -> None:
        top = max(self.commits, default=0)
        if upto > top:
            self.fault("cdb_tip", f"upto {upto} is beyond the last commit's rowid {top}")
        elif upto > 0 and upto in self.commits and (upto_id is None or bytes(upto_id) != self.commits[upto].id):
            self.fault("cdb_tip", f"upto_id does not name the commit at rowid {upto}")
        if self.commits:
            stamps = dict(self.rows("SELECT rowid, timestamp FROM ds_commit"))

            def latest(rowids: list[int]) -> int | None:
                return max(rowids, key=lambda r: (stamps.get(r) or 0.0, r), default=None)

            everything = latest(list(self.commits))
            if last_rowid not in (everything, latest([r for r in self.commits if r <= upto])):
                self.fault("cdb_tip", f"the last commit is recorded at rowid {last_rowid}, "
                                      f"recomputation gives rowid {everything}")
        self.pending = sum(1 for r in self.commits if r > upto)

    # --- cdb_commit, cdb_lane ------------------------------------------------------------------
    def _load_placements(self, upto: int) -> None:
        self.placed: dict[int, tuple[int, int]] = {}
        self.at: dict[tuple[int, int], int] = {}
        for rowid, lane, seq in self.rows("SELECT rowid, lane, seq FROM cdb_commit"):
            where = f"cdb_commit rowid {rowid}"
            if not _ints(lane, seq):
                self.fault(where, f"holds values of the wrong type ({lane!r}, {seq!r})")
                continue
            if rowid not in self.commits:
                self.fault(where, "places a commit that is not stored")
                continue
            if (lane, seq) in self.at:
                self.fault(where, f"places commit {self.commits[rowid].id.hex()} at ({lane}, {seq}), where commit "
                                  f"{self.commits[self.at[lane, seq]].id.hex()} is placed too")
                continue
            self.placed[rowid] = (lane, seq)
            self.at[(lane, seq)] = rowid
        for rowid, c in self.commits.items():
            if rowid <= upto and rowid not in self.placed:
                self.fault(f"commit {c.id.hex()}", f"rowid {rowid} is within the indexed commits but not placed")
        self.dangling = {(r[0], r[1]) for r in self.rows("SELECT missing, commit_rowid FROM cdb_dangling")}

    def _check_lanes(self) -> None:
        self.lanes: dict[int, tuple[Any, Ranges, int, int]] = {}
        unsound: set[int] = set()
        seqs_of: dict[int, list[int]] = {}
        for lane, seq in self.at:
            seqs_of.setdefault(lane, []).append(seq)
        for lane, base_lane, base_seq, extra, length, tip in self.rows(
                "SELECT id, base_lane, base_seq, extra, length, tip FROM cdb_lane"):
            try:
                ranges = sqlite_index.unpack_ranges(extra)
            except Exception:
                self.fault(f"cdb_lane {lane}", "its extra ranges do not decode")
                ranges = ()
            base = None if base_lane is None else (base_lane, base_seq)
            self.lanes[lane] = (base, ranges, length, tip)
            where = f"cdb_lane {lane}"
            if (base is not None and base_lane >= lane) or any(r[0] >= lane for r in ranges):
                self.fault(where, "refers to a lane that is not older than itself")
                unsound.add(lane)
            seqs = sorted(seqs_of.get(lane, ()))
            if seqs != list(range(length or 0)):
                self.fault(where, f"records {length} commits, {len(seqs)} are placed in it")
            elif length and self.at.get((lane, length - 1)) != tip:
                self.fault(where, f"records rowid {tip} as its last commit, rowid {self.at[(lane, length - 1)]} is")
        # A lane is sound when it refers only to older lanes, all sound (in id order: one pass).
        self.sound: dict[int, bool] = {}
        for lane in sorted(self.lanes):
            base, extra, _, _ = self.lanes[lane]
            self.sound[lane] = lane not in unsound and (base is None or self.sound.get(base[0], False)) \
                and all(self.sound.get(r[0], False) for r in extra)
        for (lane, _seq), rowid in self.at.items():
            if lane not in self.lanes:
                self.fault(f"cdb_commit rowid {rowid}", f"places its commit in lane {lane}, which does not exist")

    def _prefix(self, lane: int) -> Ranges | None:
        """The lane's prefix from the rows as they are (None when its chain of bases is unsound)."""
        if not self.sound.get(lane, False):
            return None
        return lane_prefix(lane, self.prefixes.get, lambda x: LaneRow(*self.lanes[x]),
                           self.prefixes.__setitem__)

    def _lin(self, lane: int, seq: int) -> Ranges | None:
        prefix = self._prefix(lane)
        return None if prefix is None else lin_ranges(lane, seq, lambda _: prefix)

    def _placement(self, ref: bytes, rowid: int) -> tuple[int, int] | None:
        """Where ``ref`` (the parent or target of the commit at ``rowid``) is placed, as placing
        that commit saw it: None when it was missing then (a dangling row names it)."""
        if ref == ZERO_ID or (ref.hex(), rowid) in self.dangling:
            return None
        other = self.by_id.get(ref)
        return None if other is None else self.placed.get(other.rowid)

    def _check_commits(self) -> None:
        for rowid, (lane, seq) in sorted(self.placed.items()):
            c = self.commits[rowid]
            where = f"cdb_commit rowid {rowid} (commit {c.id.hex()})"
            for ref in (c.parent, c.target if c.type_code != MUTATIONS else ZERO_ID):
                if ref != ZERO_ID and self._placement(ref, rowid) is None and (ref.hex(), rowid) not in self.dangling:
                    self.fault(where, f"placed without {ref.hex()}, and no cdb_dangling row says so")
            parent = self._placement(c.parent, rowid)
            target = self._placement(c.target, rowid) if c.type_code != MUTATIONS else None
            merge = c.type_code == MERGE and target is not None
            if seq > 0:
                before = self.at.get((lane, seq - 1))
                if merge:
                    self.fault(where, "a merge placed after the first commit of a lane")
                elif before is None or self.commits[before].id != c.parent:
                    self.fault(where, f"placed at ({lane}, {seq}) after a commit that is not its parent")
                continue
            if lane not in self.lanes:
                continue
            base, extra, _, _ = self.lanes[lane]
            if base != parent:
                self.fault(f"cdb_lane {lane}", f"its base is {base}, its first commit's parent is placed at {parent}")
            expected: Ranges | None = ()
            if merge:
                target_lin = self._lin(*target)  # type: ignore[misc]
                parent_lin = self._lin(*parent) if parent is not None else ()
                expected = None if target_lin is None or parent_lin is None else subtract(target_lin, parent_lin)
            if expected is not None and tuple(extra) != expected:
                self.fault(f"cdb_lane {lane}", "its extra ranges differ from what its merge brought in")

    # --- cdb_doc, cdb_touch, cdb_flip ------------------------------------------------------------
    def _check_touches(self) -> None:
        self.docs: dict[int, Any] = {}
        seen: dict[Any, int] = {}
        for doc, attachment, instance, concept in self.rows("SELECT id, attachment, instance, concept FROM cdb_doc"):
            dk = (bytes(attachment or b""), bytes(instance or b""), bytes(concept or b""))
            if dk in seen:
                self.fault(f"cdb_doc {doc}", f"the same document as cdb_doc {seen[dk]}")
            seen[dk] = doc
            self.docs[doc] = dk
        found: dict[tuple[int, int], set[tuple[Any, bool]]] = {}
        for doc, lane, seq, commit_rowid, has_set in self.rows(
                "SELECT doc, lane, seq, commit_rowid, has_set FROM cdb_touch"):
            where = f"cdb_touch (doc {doc}, lane {lane}, seq {seq})"
            if not _ints(doc, lane, seq, commit_rowid, has_set):
                self.fault(where, "holds values of the wrong type")
                continue
            if self.at.get((lane, seq)) is None:
                self.fault(where, "no commit is placed there")
                continue
            if self.at[(lane, seq)] != commit_rowid:
                self.fault(where, f"names rowid {commit_rowid}, the commit placed there is rowid {self.at[lane, seq]}")
            if doc not in self.docs:
                self.fault(where, "names a document number cdb_doc does not hold")
                continue
            found.setdefault((lane, seq), set()).add((self.docs[doc], bool(has_set)))
        for rowid, place in self.placed.items():
            c = self.commits[rowid]
            expected = self.entries.get(c.id) if c.type_code == MUTATIONS else []
            if expected is None:
                continue  # its program did not decode: reported with the commits
            want = {(tuple(dk), bool(has_set)) for dk, has_set in expected}
            have = found.get(place, set())
            if want != have:
                lost, extra = len(want - have), len(have - want)
                self.fault(f"cdb_touch of commit {c.id.hex()}",
                           f"{lost} document(s) it touches are not listed, {extra} listed that it does not touch")

    def _check_flips(self) -> None:
        found = {}
        for lane, seq, commit_rowid, kind, target_lane, target_seq in self.rows(
                "SELECT lane, seq, commit_rowid, type, target_lane, target_seq FROM cdb_flip"):
            if not _ints(lane, seq, commit_rowid, kind):
                self.fault(f"cdb_flip ({lane}, {seq})", "holds values of the wrong type")
                continue
            found[(lane, seq)] = (commit_rowid, kind, None if target_lane is None else (target_lane, target_seq))
        for rowid, place in self.placed.items():
            c = self.commits[rowid]
            row = found.pop(place, None)
            if c.type_code == MUTATIONS:
                if row is not None:
                    self.fault(f"cdb_flip {place}", f"lists the Mutations commit {c.id.hex()} as a toggle or merge")
                continue
            expected = (rowid, c.type_code, self._placement(c.target, rowid))
            if row != expected:
                self.fault(f"cdb_flip {place}", f"differs from commit {c.id.hex()}: {row} instead of {expected}")
        for place in found:
            self.fault(f"cdb_flip {place}", "no commit is placed there")

    # --- reads and snapshots ---------------------------------------------------------------------
    def _views(self, backend: Any) -> ReadViews:
        views = ReadViews(backend, lambda: self.definitions, self.token)
        views.catch_up()
        return views

    def _check_reads(self) -> None:
        if self.pending:
            return  # commits another program appended are indexed when the file is next opened for writing
        reference = self._views(_Unindexed(self.backend))
        snapshots = self.rows("SELECT doc, lane, seq, commit_rowid, CAST(data AS BLOB), CAST(digest AS BLOB) "
                              "FROM cdb_snapshot")
        for i, (doc, lane, seq, commit_rowid, data, digest) in enumerate(snapshots):
            where = f"cdb_snapshot (doc {doc}, lane {lane}, seq {seq})"
            dk = self.docs.get(doc)
            rowid = self.at.get((lane, seq))
            if dk is None or rowid is None or rowid != commit_rowid:
                self.fault(where, "names a document or commit that does not match the placements")
                continue
            commit_id = self.commits[rowid].id
            data = bytes(data or b"")
            if digest is None or bytes(digest) != sqlite_index.snapshot_digest(dk, commit_id, lane, seq, data):
                self.fault(where, "does not match its digest (a read skips it and replays)")
                continue
            try:
                doc_value, _ = reference.document((commit_id, None), dk)
                same = doc_value is not None and encode_typed_value(doc_value) == data
            except CommitDBError as error:
                if not self.already_reported(error):
                    self.fault(where, f"its document cannot be replayed: {error}")
                continue
            if not same:
                self.fault(where, "differs from the document replayed from the commits")
            if self.progress is not None and (i + 1) % 100 == 0:
                self.progress("snapshots", i + 1, len(snapshots))
        # Reads through the damaged index log what they skip; verify reports it above instead.
        logger = logging.getLogger("commitdb")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            self._check_head_reads(reference)
        finally:
            logger.setLevel(level)

    def _check_head_reads(self, reference: ReadViews) -> None:
        """Every document at every head, through the file's index and through the recomputed one."""
        try:
            indexed = self._views(self.backend)
            heads = reference.read_index().head_ids()
        except CommitDBError as error:
            self.fault("read index", f"cannot be read: {error}")
            return
        keys = reference.read_index().doc_keys(None)
        for n, head in enumerate(heads):
            unreplayable: dict[str, list[Any]] = {}  # error -> documents (one damaged commit fails many)
            for dk in keys:
                try:
                    want, _ = reference.document((head, None), dk)
                except CommitDBError as error:
                    if not self.already_reported(error):
                        unreplayable.setdefault(str(error), []).append(dk)
                    continue
                try:
                    got, _ = indexed.document((head, None), dk)
                except CommitDBError as error:
                    self.fault(f"document {sqlite_index.doc_text(dk)} at {head.hex()}",
                               f"cannot be read through the index: {error}")
                    continue
                if (None if want is None else encode_typed_value(want)) != \
                        (None if got is None else encode_typed_value(got)):
                    self.fault(f"document {sqlite_index.doc_text(dk)} at {head.hex()}",
                               "reads differently through the index than replayed from the commits")
            for error, docs in unreplayable.items():
                self.faults.append(Fault("program", f"{len(docs)} document(s) at {head.hex()}",
                                         f"do not replay from the commits (first {sqlite_index.doc_text(docs[0])}): "
                                         f"{error}"))
            if self.progress is not None:
                self.progress("documents at the heads", n + 1, len(heads))


# --- repair ---------------------------------------------------------------------------------------


@dataclass
class RepairReport:
    """What ``repair`` rebuilt, and what SQLite still finds wrong afterwards (damage in the
    format's own tables, which repair never writes: ``verify`` names it)."""

    path: str
    commits: int
    documents: int
    snapshots_dropped: int
    remaining: list[str]


def repair(path: str, progress: Callable[[int, int], None] | None = None) -> RepairReport:
    """Rebuild every derived table of the database file ``path`` from its commits (the three
    tables of the format are only read). Raises when the file is not a commit database."""
    from commitdb.storage.base import is_token_codec
    from commitdb.storage.sqlite import SQLiteBackend

    backend = SQLiteBackend(path)
    try:
        try:
            snapshots = backend.inspect_rows("SELECT count(*) FROM cdb_snapshot")[0][0]
        except CommitDBError:
            snapshots = 0  # unreadable (damaged) or absent: dropped all the same
        backend.rebuild_read_tables()
        definitions = backend.definitions()
        views = ReadViews(backend, lambda: definitions, is_token_codec(backend.codec_name()), progress)
        views.catch_up()
        commits = backend.commit_count()
        documents = len(views.read_index().doc_keys(None))
        return RepairReport(path, commits, documents, snapshots, backend.integrity_problems())
    finally:
        backend.close()
