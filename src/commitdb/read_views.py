"""The facade's read views: read structures, bounded caches and catching up with other writers.

``ReadViews`` is what ``CommitDatabase`` reads through. It holds:

- the read index (``storage.readindex``): the SQLite backend's persisted one, or a
  ``MemoryReadIndex`` fed here for backends that keep none (memory, remote);
- bounded caches of immutable things: placements and lane prefixes (valid for one epoch of the
  index), decoded programs (by commit id), verified commit ids and document snapshots;
- the whole-history DAG (``engine.dag.Dag``), loaded only when a whole-history call asks for it
  (``commit_ids``, children, sync...), never to read a document.

Nothing here grows with the history unless a whole-history call was made.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from commitdb.codec import decode_typed_value, encode_typed_value
from commitdb.engine.dag import Dag
from commitdb.engine.program import CommitProgram, decode_program, index_entries
from commitdb.engine.reading import SNAPSHOT_EVERY, ReadPlan, rebuild, rebuild_many
from commitdb.errors import CommitDBError, CommitNotFoundError, CorruptedDataError, ReadOnlyError
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitData, CommitDatabasing, CommitHeader, compute_commit_id
from commitdb.storage.lanes import LaneRow, Positions, Ranges, lane_prefix, lin_ranges, subtract
from commitdb.storage.readindex import PREFIXES_KEPT, MemoryReadIndex, ReadIndex
from commitdb.values.value import Value

log = logging.getLogger("commitdb")

PROGRAM_CACHE = 8192
PLACEMENT_CACHE = 100_000
SNAPSHOT_DOCUMENTS = 20_000
SNAPSHOTS_PER_DOCUMENT = 4
CATCH_UP_BATCH = 5000
LANES_PER_FETCH = 4096  # lane rows fetched at once when a walk crosses many lanes
INDEX_PAGE = 20_000  # commit ids per load_index call


class BoundedCache(dict):  # type: ignore[type-arg]
    """A dict that forgets its oldest entries (insertion order) beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        if len(self) > self.capacity:
            del self[next(iter(self))]


class ReadViews:
    """Read structures and caches of one database connection (see the module docstring)."""

    def __init__(self, backend: CommitDatabasing, definitions: Callable[[], Any], token: bool,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self._backend = backend
        self._definitions = definitions
        self._token = token
        self._progress = progress
        self._lock = threading.RLock()
        persisted = getattr(backend, "read_index", None)
        self._persisted: Any = persisted() if persisted is not None else None
        self._memory_epoch = -1
        self._memory: MemoryReadIndex | None = None if self._persisted is not None else self._new_memory_index()
        self._epoch = -1
        self._index_damaged = False
        self._dag: Dag | None = None
        self._marker = 0
        self.corrupted: dict[bytes, str] = {}
        self._clear_caches()

    def _clear_caches(self) -> None:
        self._placements: BoundedCache = BoundedCache(PLACEMENT_CACHE)
        self._prefixes: BoundedCache = BoundedCache(PREFIXES_KEPT)
        self._extras: BoundedCache = BoundedCache(PLACEMENT_CACHE)
        self._programs: BoundedCache = BoundedCache(PROGRAM_CACHE)
        self._verified: BoundedCache = BoundedCache(PLACEMENT_CACHE)
        self._headers: BoundedCache = BoundedCache(PROGRAM_CACHE)
        self._snapshots: BoundedCache = BoundedCache(SNAPSHOT_DOCUMENTS)
        self._plans: BoundedCache = BoundedCache(256)
        self._lane_flips: BoundedCache = BoundedCache(4096)  # lane -> (highest seq asked, its flips)
        self._exists: BoundedCache = BoundedCache(PLACEMENT_CACHE)  # ids known to be stored
        # Documents read from a server that reads for its clients: (commit, merged, dk) -> doc.
        self._served: BoundedCache = BoundedCache(SNAPSHOT_DOCUMENTS)

    def reset(self) -> None:
        """Forget everything derived (another connection took commits away, or a rollback)."""
        with self._lock:
            self._clear_caches()
            self._dag = None
            self._marker = 0
            self.corrupted.clear()
            if self._memory is not None:
                self._memory = self._new_memory_index()

    def _new_memory_index(self) -> MemoryReadIndex:
        """A fresh in-memory read index, in a new epoch (placements may be numbered anew)."""
        self._memory_epoch += 1
        return MemoryReadIndex(self._memory_epoch)

    def forget_snapshots(self) -> None:
        """Drop the in-memory document snapshots (the next reads replay; for tests and tools)."""
        with self._lock:
            self._snapshots.clear()

    def read_index(self) -> ReadIndex:
        return self._persisted if self._persisted is not None else self._memory  # type: ignore[return-value]

    # --- catching up ---------------------------------------------------------------------------
    def catch_up(self) -> None:
        """Index what other connections stored since the last call."""
        with self._lock:
            if self._persisted is not None:
                try:
                    self._catch_up_persisted()
                except (CorruptedDataError, ReadOnlyError) as error:
                    # A damaged read index (that a read-only file cannot rebuild either).
                    if self.serves_reads() or (isinstance(error, ReadOnlyError) and not self._backend.is_readonly()):
                        raise
                    self._read_in_memory(error)
                    return
                if self._dag is not None:
                    self._catch_up_dag()
            else:
                self._catch_up_memory()

    def _may_leave_index(self, error: CorruptedDataError) -> bool:
        """Whether ``error`` may come from the persisted read index (not from a damaged commit,
        which an index built in memory would meet as well)."""
        return self._persisted is not None and not self.serves_reads() and str(error) not in self.corrupted.values()

    def _read_in_memory(self, reason: object) -> None:
        """Stop using the persisted read index (it cannot be read, or contradicts the commits):
        read through one built in memory from the commits, as a read-only file without read
        tables does. Plans and placements cached so far are dropped with it."""
        with self._lock:
            log.warning("damaged read index (%s): reading through an index built in memory; "
                        "'commitdb repair' on the file rebuilds it", reason)
            self._persisted, self._memory = None, MemoryReadIndex()
            self._index_damaged = True  # its rows are not used to feed the memory index either
            self._clear_caches()
            self._dag, self._marker = None, 0  # the memory index is fed from a DAG read from the start
            self._catch_up_memory()

    def _catch_up_persisted(self) -> None:
        index = self._persisted
        if self._backend.is_readonly() and index.pending(1):
            # A read-only file that another program appended to: index it here, in memory.
            self._persisted, self._memory = None, self._new_memory_index()
            self._clear_caches()
            self._catch_up_memory()
            return
        done = 0
        while True:
            epoch = index.epoch()
            if epoch != self._epoch:
                self._clear_caches()
                self._epoch = epoch
            batch = index.pending(CATCH_UP_BATCH)
            if not batch:
                return
            if self._progress is not None:
                self._progress(done, done + len(batch))
            elif len(batch) == CATCH_UP_BATCH or done:
                log.info("indexing commits written by another program: %d done", done)
            rows = self._ordered_rows(batch)
            index.index_pending(rows, batch[-1][0])
            done += len(batch)

    def _ordered_rows(self, batch: list[tuple[int, CommitData]]) -> list[tuple[int, CommitData, Any]]:
        """The batch's commits with their index entries, parents and targets first (a file may
        hold a child before its parent): referenced commits that are stored but not indexed
        yet join the batch."""
        index = self._persisted
        by_id = {c.header().id: (rowid, c) for rowid, c in batch}
        wanted = [c.header() for _, c in batch]
        while wanted:
            refs = {r for h in wanted for r in (h.parent, h.target) if r != ZERO_ID and r not in by_id}
            unplaced = [r for r in refs if r not in index.placements(list(refs))]
            extra = index.rows_of(unplaced) if unplaced else []
            for rowid, c in extra:
                by_id[c.header().id] = (rowid, c)
            wanted = [c.header() for _, c in extra]
        ordered = _parents_first([c.header() for _, c in by_id.values()])
        return [(by_id[h.id][0], by_id[h.id][1], self._entries_of(by_id[h.id][1])) for h in ordered]

    def _entries_of(self, commit: CommitData) -> Any:
        """Index entries of a commit read from the backend (its id re-checked)."""
        h = commit.header()
        if not self._check(commit):
            return [] if h.type_code == MUTATIONS else None
        if h.type_code != MUTATIONS:
            return None
        try:
            program = decode_program(commit.data(), self._definitions(), self._token)
        except CorruptedDataError as error:
            self.corrupted[h.id] = f"corrupted commit data in {h.id.hex()}: {error}"
            return []
        self._programs[h.id] = program
        return index_entries(program)

    def _check(self, commit: CommitData) -> bool:
        """Whether a commit's stored id re-hashes (remembered as corrupted when not)."""
        h = commit.header()
        if h.id in self._verified:
            return True
        computed = compute_commit_id(h.parent, h.type_code, h.target, commit.data(), self._token)
        if computed != h.id:
            self.corrupted[h.id] = f"corrupted commit data, expected {h.id.hex()}, got {computed.hex()}"
            return False
        self._verified[h.id] = True
        return True

    def _catch_up_dag(self) -> list[CommitHeader]:
        """Bring the whole-history DAG up to date; returns the new headers (creation order).
        Resets when commits disappeared."""
        assert self._dag is not None
        while True:
            from_start = self._marker == 0 and len(self._dag) == 0
            version = self._backend.data_version()
            page, self._marker = self._backend.headers_since(self._marker)
            fresh = [h for h in page if h.id not in self._dag]
            count = self._backend.commit_count()
            if len(self._dag) + len(fresh) == count:
                for h in fresh:
                    self._dag.add(h)
                return fresh
            if from_start and self._backend.data_version() == version:
                # Every row read while nobody wrote, and still not the count: rows the count does
                # not see, or one id stored twice — a damaged file, not another program's writes.
                raise CorruptedDataError(f"the database counts {count} commits but reading its rows gives "
                                         f"{len(fresh)}: it is damaged ('commitdb verify FILE' tells where)")
            self._dag, self._marker = Dag(), 0  # commits disappeared, or others wrote meanwhile: again

    def _catch_up_memory(self) -> None:
        """For backends without persisted read structures: follow every header (the DAG is
        loaded anyway) and index new commits in memory."""
        if self._dag is None:
            self._dag, self._marker = Dag(), 0
        before = len(self._dag)
        fresh = self._catch_up_dag()
        memory = self._memory
        assert memory is not None
        if len(self._dag) < before + len(fresh) or any(h.id in memory.missing_refs for h in fresh):
            # Commits went away, or one arrived after commits that reference it: re-place all.
            memory = self._memory = self._new_memory_index()
            self._clear_caches()
            fresh = list(self._dag.headers.values())
        mutations = [h.id for h in fresh if h.type_code == MUTATIONS]
        persisted: dict[bytes, Any] = {}
        if mutations and self._backend.persists_index() and not self._index_damaged:
            for start in range(0, len(mutations), INDEX_PAGE):
                persisted.update(self._backend.load_index(mutations[start:start + INDEX_PAGE]))
        for h in _parents_first(fresh):
            entries = persisted.get(h.id)
            if h.type_code == MUTATIONS and entries is None:
                data = self._backend.get_commit(h.id)
                entries = self._entries_of(data) if data is not None else []
            elif h.type_code != MUTATIONS:
                self._check(CommitData(h, b""))
            memory.add(h, entries)

    def full_dag(self) -> Dag:
        """The whole-history DAG (loaded on first use, then caught up)."""
        with self._lock:
            if self._dag is None:
                self._dag, self._marker = Dag(), 0
                for h in self._catch_up_dag():
                    if h.type_code != MUTATIONS:
                        self._check(CommitData(h, b""))
            return self._dag

    def note_stored(self, header: CommitHeader, program: CommitProgram | None,
                    entries: list[tuple[Any, bool]] | None) -> None:
        """Our own write: what it needs to be read without asking the backend again."""
        with self._lock:
            self._verified[header.id] = True
            self._exists[header.id] = True
            self._headers[header.id] = header
            if program is not None:
                self._programs[header.id] = program
            if self._memory is not None:
                self._memory.add(header, entries)
            if self._dag is not None:
                self._dag.add(header)
            placed = self.placement(header.id) if not self.serves_reads() else None
            if placed is not None:
                # The lane's toggles and merges up to the new commit are known: extend what is cached.
                known_hi, rows = self._lane_flips.get(placed[0], (-1, []))
                if known_hi == placed[1] - 1:
                    if header.type_code != MUTATIONS:
                        target = self.placement(header.target)
                        rows = [*rows, (placed[0], placed[1], header.id, header.type_code, target)]
                    self._lane_flips[placed[0]] = (placed[1], rows)

    def note_removed(self) -> None:
        """After this connection deleted commits: placements and heads changed."""
        self.reset()

    # --- commits -------------------------------------------------------------------------------
    def header(self, commit_id: bytes) -> CommitHeader | None:
        found = self._headers.get(commit_id)
        if found is None and self._dag is not None:
            found = self._dag.headers.get(commit_id)
        if found is None:
            found = self._backend.get_header(commit_id)
            if found is not None:
                self._headers[commit_id] = found
        return found

    def verify(self, commit_id: bytes) -> None:
        """CorruptedDataError when the commit's stored id does not re-hash (a server that
        reads for its clients checks what it reads itself)."""
        if self.serves_reads():
            return
        message = self.corrupted.get(commit_id)
        if message is None and commit_id not in self._verified:
            data = self._backend.get_commit(commit_id)
            if data is None:
                raise CommitNotFoundError(f"Missing commit {commit_id.hex()}")
            self._check(data)
            message = self.corrupted.get(commit_id)
        if message is not None:
            raise CorruptedDataError(message)

    def program(self, commit_id: bytes) -> CommitProgram:
        program = self._programs.get(commit_id)
        if program is not None:
            return program
        data = self._backend.get_commit(commit_id)
        if data is None:
            raise CommitNotFoundError(f"Missing commit {commit_id.hex()}")
        return self._decoded(data)

    def _decoded(self, data: CommitData) -> CommitProgram:
        h = data.header()
        self._check(data)
        message = self.corrupted.get(h.id)
        if message is not None:
            raise CorruptedDataError(message)
        try:
            program = decode_program(data.data(), self._definitions(), self._token) \
                if h.type_code == MUTATIONS else CommitProgram()
        except CorruptedDataError as error:
            self.corrupted[h.id] = f"corrupted commit data in {h.id.hex()}: {error}"
            raise
        self._programs[h.id] = program
        return program

    def prefetch(self, commit_ids: list[bytes]) -> None:
        missing = [c for c in dict.fromkeys(commit_ids) if c not in self._programs]
        for start in range(0, len(missing), 500):
            for data in self._backend.get_commits(missing[start:start + 500]):
                try:
                    self._decoded(data)
                except CommitDBError:
                    continue  # reported by program() when the replay reaches it

    # --- documents (engine.reading.DocumentSource) ----------------------------------------------
    def serves_reads(self) -> bool:
        """Whether the backend's server rebuilds documents itself (a remote database)."""
        return hasattr(self._persisted, "read_documents")

    def document(self, key: tuple[bytes, bytes | None], dk: Any) -> tuple[Value | None, int]:
        if self.serves_reads():
            found = self._served.get((*key, dk), self)
            if found is self:
                found = self._decode(self._persisted.read_documents(key, [dk])[0])
                self._served[(*key, dk)] = found
            return found, 0
        plan, at = self._plan(key)
        try:
            return rebuild(self, plan, dk, at)
        except CorruptedDataError as error:
            if not self._may_leave_index(error):
                raise
            self._read_in_memory(error)  # the failed read is dropped whole, then done again
            plan, at = self._plan(key)
            return rebuild(self, plan, dk, at)

    def documents_of(self, key: tuple[bytes, bytes | None],
                     attachment_rid: bytes) -> dict[Any, tuple[Value | None, int]]:
        if self.serves_reads():
            out = {}
            for dk, data in self._persisted.read_attachment(key, attachment_rid):
                doc = self._decode(data)
                self._served[(*key, dk)] = doc
                out[dk] = (doc, 0)
            return out
        plan, at = self._plan(key)
        try:
            return rebuild_many(self, plan, attachment_rid, at)
        except CorruptedDataError as error:
            if not self._may_leave_index(error):
                raise
            self._read_in_memory(error)
            plan, at = self._plan(key)
            return rebuild_many(self, plan, attachment_rid, at)

    def _decode(self, data: bytes | None) -> Value | None:
        return None if data is None else decode_typed_value(data, self._definitions())

    def _plan(self, key: tuple[bytes, bytes | None]) -> tuple[ReadPlan, tuple[int, int, bytes] | None]:
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self.plan(*key)
        return found

    def keep_written(self, commit_id: bytes, dk: Any, doc: Value | None, distance: int) -> None:
        """Our own commit's working copy of ``dk``: the document at ``commit_id``."""
        if self.serves_reads():
            self._served[(commit_id, None, dk)] = doc
            return
        placed = self.placement(commit_id)
        if placed is not None:
            self.keep_snapshot(dk, placed[0], placed[1], commit_id, doc, distance)

    def known(self, commit_ids: list[bytes]) -> set[bytes]:
        """Which of ``commit_ids`` the database holds (cached placements first, the rest in
        one request)."""
        found = {c for c in commit_ids if c in self._placements}
        rest = [c for c in commit_ids if c not in found]
        if rest:
            placed = self.read_index().placements(rest)
            for c, p in placed.items():
                self._placements[c] = p
            found |= set(placed)
        return found

    # --- placements and plans ------------------------------------------------------------------
    def exists(self, commit_id: bytes) -> bool:
        """Whether the database holds the commit (cached: a stored commit stays until this
        connection deletes it, or the views are reset)."""
        with self._lock:
            try:
                return self._exists_placed(commit_id)
            except CorruptedDataError as error:
                if not self._may_leave_index(error):
                    raise
                self._read_in_memory(error)  # the persisted index cannot be read
                return self._exists_placed(commit_id)

    def _exists_placed(self, commit_id: bytes) -> bool:
        if commit_id in self._exists or self.placement(commit_id) is not None:
            return True
        try:
            self._stored_placement(commit_id)  # stored but not placed: caught up, or a damaged index
        except CommitNotFoundError:
            return False
        return True

    def placement(self, commit_id: bytes) -> tuple[int, int] | None:
        found = self._placements.get(commit_id)
        if found is None:
            found = self.read_index().placements([commit_id]).get(commit_id)
            if found is not None:
                self._placements[commit_id] = found
                self._exists[commit_id] = True
        return found

    def lin_of(self, lane: int, seq: int) -> Ranges:
        return lin_ranges(lane, seq, self._prefix)

    def _prefix(self, lane: int) -> Ranges:
        found = self._prefixes.get(lane)
        if found is not None:
            return found
        fetched: dict[int, LaneRow] = {}

        def row_of(x: int) -> LaneRow:
            row = fetched.get(x)
            if row is None:
                # Lanes are numbered in creation order and a base lane is older than the lanes
                # on it: after a few misses, fetch the older lanes in bulk rather than one by one.
                wanted = [x] if len(fetched) < 8 else list(range(max(0, x - LANES_PER_FETCH), x + 1))
                fetched.update(self.read_index().lane_rows(wanted))
                row = fetched.get(x)
                if row is None:
                    raise CorruptedDataError(f"the read index has no lane {x}: it is rebuilt on the next open")
            self._extras[x] = row.extra
            return row

        return lane_prefix(lane, self._prefixes.get, row_of, self._prefixes.__setitem__)

    def brought_in(self, lane: int) -> Ranges:
        """The extra ranges of a lane (what its merge brought in; empty for other lanes)."""
        found = self._extras.get(lane)
        if found is None:
            row = self.read_index().lane_rows([lane]).get(lane)
            if row is None:
                raise CorruptedDataError(f"the read index has no lane {lane}: it is rebuilt on the next open")
            found = self._extras[lane] = row.extra
        return found

    def plan(self, commit_id: bytes, merged: bytes | None) -> tuple[ReadPlan, tuple[int, int, bytes] | None]:
        """The read plan of a state (see ``engine.reading``) and where its documents may be kept.
        A persisted read index that cannot give it (damaged rows) is left for one built in memory."""
        with self._lock:
            try:
                return self._planned(commit_id, merged)
            except CorruptedDataError as error:
                if not self._may_leave_index(error):
                    raise  # a damaged commit, not the index
                self._read_in_memory(error)
                return self._planned(commit_id, merged)

    def _planned(self, commit_id: bytes, merged: bytes | None) -> tuple[ReadPlan, tuple[int, int, bytes] | None]:
        with self._lock:
            placed = self._stored_placement(commit_id)
            ranges = self.lin_of(*placed)
            at: tuple[int, int, bytes] | None = (placed[0], placed[1], commit_id)
            if merged is not None:
                other = self._stored_placement(merged)
                ranges = ranges + subtract(self.lin_of(*other), ranges)
                at = None
            index = self.read_index()
            flips = self._flips(ranges)
            if self.corrupted:
                positions = Positions(ranges)
                for cid, (lane, seq) in index.placements(list(self.corrupted)).items():
                    if positions.position(lane, seq) is not None:
                        raise CorruptedDataError(self.corrupted[cid])
            return ReadPlan(ranges, flips, self.brought_in), at

    def _stored_placement(self, commit_id: bytes) -> tuple[int, int]:
        """The placement of a commit a state is read at. A stored commit the persisted index
        does not place, even after catching up, means the index is damaged: reads go through an
        index built in memory instead. CommitNotFoundError for a commit that is not stored."""
        placed = self.placement(commit_id)
        if placed is None and self._persisted is not None and not self.serves_reads() \
                and self._backend.get_header(commit_id) is not None:
            self.catch_up()
            placed = self.placement(commit_id)
            if placed is None and self._persisted is not None:
                self._read_in_memory(f"the stored commit {commit_id.hex()} is not placed")
                placed = self.placement(commit_id)
        if placed is None:
            raise CommitNotFoundError(f"Missing commit {commit_id.hex()}")
        return placed

    def _flips(self, ranges: Ranges) -> list[Any]:
        """The toggles and merges within ``ranges``. What a lane holds up to a position never
        changes, so each lane's are cached and only what lies beyond is asked for (all pieces
        in one request)."""
        highest: dict[int, int] = {}
        for lane, _, hi in ranges:
            highest[lane] = max(hi, highest.get(lane, -1))
        missing = []
        for lane, hi in highest.items():
            known_hi = self._lane_flips.get(lane, (-1, []))[0]
            if hi > known_hi:
                missing.append((lane, known_hi + 1, hi))
        if missing:
            fetched: dict[int, list[Any]] = {}
            for row in self.read_index().flips(tuple(missing)):
                self.verify(row[2])  # a toggle or merge has no program: its header must re-hash
                fetched.setdefault(row[0], []).append(row)
            for lane, _, hi in missing:
                rows = self._lane_flips.get(lane, (-1, []))[1]
                self._lane_flips[lane] = (hi, rows + fetched.get(lane, []))
        out = []
        for lane, lo, hi in ranges:
            out += [row for row in self._lane_flips.get(lane, (-1, []))[1] if lo <= row[1] <= hi]
        return out

    def whole_linearization(self, key: tuple[bytes, bytes | None]) -> tuple[list[bytes], dict[bytes, bool]] | None:
        """L of a state as commit ids, in order, and the flags of the SPEC §6.3 walk for every
        commit of L and for the toggle targets outside it that the walk decided — from the
        placements, in time linear in the history (None for a served database: its caller uses
        the whole-history DAG)."""
        if self.serves_reads():
            return None
        plan, _ = self._plan(key)
        index = self.read_index()
        position = plan.positions.position
        placed = sorted((position(lane, seq), lane, seq, cid) for lane, seq, cid in index.placed_in(plan.ranges))
        ids = [cid for _, _, _, cid in placed]
        flags = {cid: plan.enabled(lane, seq) for _, lane, seq, cid in placed}
        outside = [key for key in plan.decided_keys() if position(*key) is None]
        if outside:
            named = {(lane, seq): cid for lane, seq, cid in index.placed_in(tuple((l, s, s) for l, s in outside))}
            for key in outside:
                if key in named:
                    flags[named[key]] = plan.enabled(*key)
        return ids, flags

    # --- snapshots -----------------------------------------------------------------------------
    def memory_snapshots(self, dk: Any) -> list[tuple[int, int, bytes, Value | None, int]]:
        per = self._snapshots.get(dk)
        return [] if per is None else [(lane, seq, cid, doc, d) for (lane, seq), (cid, doc, d) in per.items()]

    def stored_snapshots(self, dk: Any, ranges: Ranges,
                         limit: int | None = None) -> list[tuple[int, int, bytes, Value | None, int]]:
        out = []
        for lane, seq, cid, data in self.read_index().snapshots(dk, ranges, limit):
            try:
                doc = decode_typed_value(data, self._definitions())
            except CommitDBError:
                continue  # a damaged cache row is only a cache miss
            out.append((lane, seq, cid, doc, 0))
        return out

    def keep_snapshot(self, dk: Any, lane: int, seq: int, commit_id: bytes, doc: Value | None, distance: int) -> int:
        """Remember ``doc`` as the document at ``commit_id``; persist it when ``distance``
        commits were replayed since the last persisted one. Returns the distance it now has."""
        if doc is not None and distance >= SNAPSHOT_EVERY and self._persisted is not None \
                and not self._backend.is_readonly():
            try:
                self._persisted.save_snapshots([(dk, commit_id, encode_typed_value(doc))])
                distance = 0
            except CommitDBError as error:  # busy or read-only: the snapshot stays in memory
                log.debug("snapshot not saved: %s", error)
        per = self._snapshots.get(dk)
        if per is None:
            per = self._snapshots[dk] = OrderedDict()
        per[(lane, seq)] = (commit_id, doc, distance)
        per.move_to_end((lane, seq))
        while len(per) > SNAPSHOTS_PER_DOCUMENT:
            per.popitem(last=False)
        return distance

    def document_type(self, dk: Any) -> Any:
        attachment = self._definitions().attachment_by_rid(dk[0])
        return None if attachment is None else attachment.document_type()

    def program_ops(self, commit_id: bytes, dk: Any) -> list[Any]:
        return self.program(commit_id).doc_opcodes(dk)


def _parents_first(headers: list[CommitHeader]) -> list[CommitHeader]:
    """``headers`` reordered so a parent or merge target among them comes before its users."""
    pending = {h.id: h for h in headers}
    out: list[CommitHeader] = []
    for h in headers:
        stack = [h]
        while stack:
            x = stack[-1]
            if x.id not in pending:
                stack.pop()
                continue
            deps = [pending[r] for r in (x.parent, x.target) if r in pending and r != x.id and r != ZERO_ID]
            deps = [d for d in deps if d not in stack]
            if deps:
                stack.extend(deps)
                continue
            stack.pop()
            out.append(pending.pop(x.id))
    return out
