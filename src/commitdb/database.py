"""CommitDatabase: the facade composing definitions, the engine and one storage backend.

The facade owns the derived, in-memory views of the stored commits — the DAG, the
per-document index, decoded programs and definitions — and keeps them in step with the backend:
its own writes update them directly, and a change of ``data_version()`` (another connection
wrote) makes it read what it has not seen yet.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from commitdb.blobs import (
    BlobGetting,
    BlobInfo,
    BlobLayout,
    BlobReader,
    BlobStatistics,
    BlobStream,
    as_layout,
    blob_id_bytes,
)
from commitdb.engine.dag import Dag
from commitdb.engine.mutable import CommitMutableState
from commitdb.engine.program import (
    DOCUMENT_SET,
    CommitProgram,
    collect_blob_ids,
    decode_program,
    encode_program,
    index_entries,
)
from commitdb.engine.state import CommitState
from commitdb.engine.validation import check_program
from commitdb.errors import (
    BlobNotFoundError,
    CommitNotFoundError,
    CorruptedDataError,
    DatabaseClosedError,
    MissingBlobError,
    NotAHeadError,
    NotMergeableError,
    UnknownAttachmentError,
    ValidationError,
)
from commitdb.read_views import ReadViews
from commitdb.storage.base import (
    DISABLE,
    ENABLE,
    MERGE,
    MUTATIONS,
    ZERO_ID,
    BlobRecord,
    CommitData,
    CommitDatabasing,
    CommitHeader,
    as_id,
    compute_commit_id,
    is_token_codec,
)
from commitdb.storage.lanes import covers
from commitdb.values.scalars import ValueBlob, ValueBlobId, ValueCommitId, ValueUUId


def now_ms() -> float:
    """Wall-clock seconds truncated to the millisecond (the resolution of stored timestamps)."""
    return math.floor(time.time() * 1000) / 1000


class Commit:
    """A stored commit: its header and, for Mutations, its program."""

    __slots__ = ("_header", "_program")

    def __init__(self, header: CommitHeader, program: CommitProgram | None) -> None:
        self._header, self._program = header, program

    def header(self) -> CommitHeader:
        return self._header

    def program(self) -> CommitProgram | None:
        return self._program

    def commit_id(self) -> ValueCommitId:
        return self._header.commit_id()

    def __repr__(self) -> str:
        return f"Commit({self._header!r})"


class DefinitionsExtension:
    """What ``extend_definitions`` added."""

    __slots__ = ("_added",)

    def __init__(self, added: int) -> None:
        self._added = added

    def count(self) -> int:
        return self._added

    def __bool__(self) -> bool:
        return self._added > 0

    def __repr__(self) -> str:
        return f"DefinitionsExtension(count={self._added})"


class CommitDatabase:
    """A commit database over any storage backend (``CommitDatabase(commit_databasing)``)."""

    def __init__(self, commit_databasing: CommitDatabasing) -> None:
        if not isinstance(commit_databasing, CommitDatabasing):
            raise ValidationError(f"CommitDatabase needs a CommitDatabasing backend, got {commit_databasing!r}")
        self._backend = commit_databasing
        self._lock = threading.RLock()
        self._defs: Any = None
        self._defs_bytes: bytes | None = None
        self._seen_version: int | None = None
        self._seen_generation = -1
        self._closed = False
        self._token = is_token_codec(commit_databasing.codec_name())
        # Reads go through the views; commits whose stored id does not re-hash are remembered
        # there (views.corrupted): the database opens, but reading them or a state over them raises.
        self._views = ReadViews(commit_databasing, lambda: self._defs, self._token)
        self._refresh()

    # --- construction ------------------------------------------------------------------------
    @staticmethod
    def create_in_memory() -> CommitDatabase:
        """A database that lives in this process only (``path()`` is 'InMemory')."""
        from commitdb.storage.memory import MemoryBackend

        return CommitDatabase(MemoryBackend())

    @staticmethod
    def create(path: str, documentation: str | None = None) -> CommitDatabase:
        """Create a ``.cdb`` file; DatabaseExistsError when anything exists at ``path``. A
        ``postgresql://`` URL creates the commit database in that PostgreSQL database instead
        (DatabaseExistsError when it holds one already)."""
        from commitdb.storage.sqlite import SQLiteBackend
        from commitdb.storage.urls import is_postgres_url

        if is_postgres_url(path):
            from commitdb.storage.postgres import PostgresBackend

            return CommitDatabase._over(PostgresBackend.create(path, documentation))
        return CommitDatabase._over(SQLiteBackend.create(path, documentation))

    @staticmethod
    def open(path: str, readonly: bool = False) -> CommitDatabase:
        """Open a ``.cdb`` file, or the commit database of a ``postgresql://`` URL
        (IncompatibleDatabaseError when missing or not a commit database)."""
        from commitdb.storage.sqlite import SQLiteBackend
        from commitdb.storage.urls import is_postgres_url

        if is_postgres_url(path):
            from commitdb.storage.postgres import PostgresBackend

            return CommitDatabase._over(PostgresBackend(path, readonly=readonly))
        return CommitDatabase._over(SQLiteBackend(path, readonly=readonly))

    @staticmethod
    def connect(host: str, port: int | str = "54321", protocol: str = "commitdb", timeout: float | None = None, *,
                token: str | None = None, tls: Any = None, tls_ca: str | None = None) -> CommitDatabase:
        """A database served by a commit database server over TCP (ConnectionFailedError when
        the server cannot be reached, or does not answer a request within ``timeout`` seconds;
        60 s when None). ``token``: proven in the handshake (default: $COMMITDB_TOKEN;
        AuthenticationError when refused); ``tls``: True or an ``ssl.SSLContext`` (``tls_ca``: a
        PEM file of authorities to trust instead of the system's). ``protocol="viper"`` speaks
        the reference runtime's protocol (its server, or a commitdb server), which carries no
        token and no TLS."""
        timing = () if timeout is None else (timeout,)
        if protocol == "commitdb":
            from commitdb.net.client import RemoteBackend

            return CommitDatabase._over(RemoteBackend.connect(host, port, *timing, token=token, tls=tls,
                                                              tls_ca=tls_ca))
        _without_credentials(protocol, token, tls, tls_ca)
        return CommitDatabase._over(_remote_backend(protocol).connect(host, port, *timing))

    @staticmethod
    def connect_local(path: str, protocol: str = "commitdb", timeout: float | None = None, *,
                      token: str | None = None) -> CommitDatabase:
        """A database served by a commit database server over a unix socket (``protocol``,
        ``timeout`` and ``token`` as for ``connect``)."""
        timing = () if timeout is None else (timeout,)
        if protocol == "commitdb":
            from commitdb.net.client import RemoteBackend

            return CommitDatabase._over(RemoteBackend.connect_local(path, *timing, token=token))
        _without_credentials(protocol, token, None, None)
        return CommitDatabase._over(_remote_backend(protocol).connect_local(path, *timing))

    @staticmethod
    def _over(backend: CommitDatabasing) -> CommitDatabase:
        """The facade over a freshly opened backend, closing the backend if the facade cannot
        be built (a corrupt file must not leave a connection behind)."""
        try:
            return CommitDatabase(backend)
        except BaseException:
            backend.close()
            raise

    @staticmethod
    def is_compatible(path: str) -> bool:
        from commitdb.storage.sqlite import SQLiteBackend
        from commitdb.storage.urls import is_postgres_url

        if is_postgres_url(path):
            from commitdb.storage.postgres import PostgresBackend

            return PostgresBackend.is_compatible(path)
        return SQLiteBackend.is_compatible(path)

    # --- derived views, kept in step with the backend ------------------------------------------
    def _refresh(self) -> None:
        """Catch up with writes made through other connections (cheap when nothing changed)."""
        if self._closed:
            raise DatabaseClosedError(f"the database {self._backend.path()!r} is closed")
        generation = self._backend.local_generation()
        version = self._backend.data_version()
        if version == self._seen_version and generation == self._seen_generation:
            return
        with self._lock:
            data = self._backend.definitions_bytes()
            if data != self._defs_bytes:
                self._defs = self._backend.definitions()
                self._defs_bytes = data
            if generation != self._seen_generation and self._seen_generation != -1:
                self._views.reset()  # this connection rolled back or deleted: placements may differ
            self._views.catch_up()
            # Only now: a refresh that failed half-way must be tried again by the next call.
            self._seen_version = version
            self._seen_generation = generation

    def invalidate_views(self) -> None:
        """Forget the derived views; the next call re-reads them from the backend."""
        with self._lock:
            self._views.reset()
            self._seen_version = None

    def _note_own_write(self) -> None:
        """After our own write: the views already hold it. If nobody else wrote since the views
        were last refreshed, move the seen version past our write (no re-read needed)."""
        versions = self._backend.last_write_versions()
        if versions is not None and versions[0] == self._seen_version:
            self._seen_version = versions[1]

    # --- engine source (see engine.state.CommitSource) -------------------------------------------
    def engine_dag(self) -> Dag:
        """The whole-history DAG (loaded on first use: whole-history calls only)."""
        self._refresh()
        return self._views.full_dag()

    def engine_reader(self) -> ReadViews:
        return self._views

    def engine_definitions(self) -> Any:
        return self._defs

    def engine_has_blob(self, blob_id: bytes) -> bool:
        return self._backend.has_blob(blob_id)

    def engine_program(self, commit_id: bytes) -> CommitProgram:
        """The decoded program of a commit (cached; the stored id is re-verified on load)."""
        return self._views.program(commit_id)

    # --- metadata ------------------------------------------------------------------------------
    def commit_databasing(self) -> CommitDatabasing:
        return self._backend

    def stream_codec_instancing(self) -> Any:
        from commitdb.codec_instancing import StreamCodecInstancing

        return StreamCodecInstancing(self._backend.codec_name())

    def path(self) -> str:
        return self._backend.path()

    def uuid(self) -> str:
        return self._backend.uuid()

    def documentation(self) -> str:
        return self._backend.documentation()

    def codec_name(self) -> str:
        return self._backend.codec_name()

    def data_version(self) -> int:
        return self._backend.data_version()

    def watch(self, callback: Any = None) -> Any:
        """Be told of new commits: ``callback(version)`` runs on a thread of its own soon after
        the data changed — pushed by the server for a remote database (within ~50 ms), noticed
        by looking at the file every 50 ms for a local one (any process's commits). Returns a
        handle: ``stop()`` ends the watch, ``wait(timeout)`` blocks until the next change."""
        remote_watch = getattr(self._backend, "watch", None)
        if remote_watch is not None:
            return remote_watch(callback)
        from commitdb.net.watch import WatchHandle

        last = [self.data_version()]

        def pump(timeout: float) -> int | None:
            time.sleep(timeout)
            with self._lock:
                if self._closed:
                    raise DatabaseClosedError("the database was closed")
                version = self._backend.data_version()
            if version == last[0]:
                return None
            last[0] = version
            return version

        return WatchHandle(pump, callback, lambda handle: None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._backend.close()

    def is_closed(self) -> bool:
        return self._closed

    def __enter__(self) -> CommitDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        from commitdb.storage.urls import redacted_url

        return f"CommitDatabase({redacted_url(self.path())!r})"

    # --- definitions ---------------------------------------------------------------------------
    def definitions(self) -> Any:
        """A snapshot of the database's definitions."""
        self._refresh()
        return self._defs.copy()

    def extend_definitions(self, definitions: Any) -> DefinitionsExtension:
        """Add the types and attachments the database lacks (additive; exclusive transaction).
        Raises DefinitionsConflictError when a same-named type has another runtime id."""
        with self._lock:
            self._refresh()
            before = len(self._defs.types()) + len(self._defs.attachments())
            self._backend.extend_definitions(definitions)
            self._seen_version = None
            self._refresh()
            after = len(self._defs.types()) + len(self._defs.attachments())
            return DefinitionsExtension(after - before)

    def definitions_hexdigest(self) -> str:
        self._refresh()
        return self._defs.hexdigest()

    # --- writing -------------------------------------------------------------------------------
    def _store(self, header: CommitHeader, data: bytes, program: CommitProgram | None) -> ValueCommitId:
        with self._lock:
            # No _refresh() here: the callers checked the parent/target (_require refreshed),
            # and _note_own_write below only skips a re-read when nobody else wrote meanwhile.
            # (Saves one round trip per commit on a remote database.)
            entries = index_entries(program) if program is not None else None
            inserted = self._backend.insert_commit(CommitData(header, data), entries)
            if inserted:
                self._views.note_stored(header, program, entries)
                self._note_own_write()
            return ValueCommitId(header.id)

    def _require(self, commit_id: Any) -> bytes:
        """The raw id of a commit the database holds (CommitNotFoundError otherwise). A commit
        already in the views needs no catch-up: its ancestry cannot change."""
        cid = as_id(commit_id)
        if cid != ZERO_ID and not self._closed and self._backend.local_generation() == self._seen_generation \
                and self._views.exists(cid):
            return cid  # stored: nothing to catch up for that
        self._refresh()
        if cid == ZERO_ID or not self._views.exists(cid):
            raise CommitNotFoundError(f"Missing commit {cid.hex()}")
        return cid

    def commit_mutations(self, label: str, mutable_state: CommitMutableState) -> ValueCommitId:
        """A new Mutations commit on top of the state the mutable state was built on."""
        if not isinstance(mutable_state, CommitMutableState):
            raise ValidationError(f"commit_mutations needs a CommitMutableState, got {mutable_state!r}")
        parent = mutable_state.parent_id()
        if parent != ZERO_ID:
            self._require(parent)
        ops = list(mutable_state.raw_opcodes())
        if mutable_state.state().source() is not self:
            self._check_foreign_program(ops, mutable_state.state().definitions())
        data = encode_program(ops, self._token)
        cid = compute_commit_id(parent, MUTATIONS, ZERO_ID, data, self._token)
        program = CommitProgram(ops)
        commit_id = self._store(CommitHeader(cid, parent, MUTATIONS, ZERO_ID, now_ms(), str(label)), data, program)
        if mutable_state.is_on_commit():
            # The working copy is exactly the state at the new commit for the documents it
            # touched: keep them as replay starting points for the next reads (persisted once
            # enough commits were replayed on a document since its last persisted snapshot).
            state = mutable_state.state()
            for dk in program.doc_keys():
                doc = mutable_state.working_document(dk)
                sets = any(op.code == DOCUMENT_SET for op in program.doc_opcodes(dk))
                distance = 1 if sets else state.distance(dk) + 1
                self._views.keep_written(cid, dk, None if doc is None else doc.copy(), distance)
        return commit_id

    def _check_foreign_program(self, ops: list[Any], foreign_definitions: Any) -> None:
        """A mutable state built on another database was checked against that database only:
        its attachments must be registered here and its blobs exist here too (SPEC §4, §8)."""
        self._refresh()
        for op in ops:
            attachment_rid = op.doc_key[0]
            if self._defs.attachment_by_rid(attachment_rid) is None:
                attachment = foreign_definitions.attachment_by_rid(attachment_rid)
                name = attachment if attachment is not None else ValueUUId(attachment_rid)
                raise UnknownAttachmentError(f"attachment {name} is not registered in the database definitions")
        referenced = collect_blob_ids(ops)
        if referenced:
            missing = self._backend.missing_blob_ids(sorted(referenced))
            if missing:
                raise MissingBlobError(f"Missing blob {min(missing).hex()}")

    def merge_commit(self, label: str, parent_id: Any, merged_id: Any) -> ValueCommitId:
        parent, merged = self._require(parent_id), self._require(merged_id)
        if not self.is_mergeable(parent, merged):
            raise NotMergeableError(
                f"{parent.hex()} and {merged.hex()} are not mergeable (one is the ancestor of the other)"
            )
        return self._toggle(label, MERGE, parent, merged)

    def disable_commit(self, label: str, parent_id: Any, target_id: Any) -> ValueCommitId:
        return self._toggle(label, DISABLE, self._require(parent_id), self._require(target_id))

    def enable_commit(self, label: str, parent_id: Any, target_id: Any) -> ValueCommitId:
        return self._toggle(label, ENABLE, self._require(parent_id), self._require(target_id))

    def _toggle(self, label: str, kind: int, parent: bytes, target: bytes) -> ValueCommitId:
        cid = compute_commit_id(parent, kind, target, b"", self._token)
        return self._store(CommitHeader(cid, parent, kind, target, now_ms(), str(label)), b"", CommitProgram())

    def delete_commit(self, commit_id: Any) -> None:
        """Remove a head (a demo tool). NotAHeadError for any other commit."""
        cid = as_id(commit_id)
        with self._lock:
            if cid not in self._head_ids():
                raise NotAHeadError(f"{cid.hex()} is not a head")
            self._backend.remove_commit(cid)
            # Placements, heads and cached snapshots may have changed; a backend may also reuse
            # the removed commit's position (SQLite reuses the largest rowid).
            self._views.note_removed()
            self._note_own_write()

    def reset_commits(self) -> None:
        """Keep only the first commit (creation order) — a demo trick that breaks append-only."""
        with self._lock:
            self._backend.remove_all_but_first()
            self._views.reset()
            self._seen_version = None
            self._refresh()

    # --- replication -----------------------------------------------------------------------------
    def import_commits(self, commits: list[CommitData]) -> int:
        """Store commits received verbatim from another database, in one transaction.

        Each must re-hash to its id, reference a parent and target this database holds (or
        that come earlier in ``commits``), decode against the definitions and reference only
        blobs that exist. Returns how many were new. On any error nothing of the batch is kept.
        """
        with self._lock:
            self._refresh()
            backend = self._backend
            own = not backend.in_transaction()
            if own:
                backend.begin_transaction("Immediate")
            added: list[tuple[CommitHeader, CommitProgram | None, Any]] = []
            checked: list[tuple[CommitData, CommitProgram | None, Any]] = []
            known: set[bytes] = set()
            referenced: set[bytes] = set()
            try:
                # The parents and targets the batch does not bring itself, asked for at once.
                inside = {c.header().id for c in commits}
                present = self._views.known(list({r for c in commits for r in (c.header().parent, c.header().target)
                                                  if r != ZERO_ID and r not in inside}))
                for commit in commits:
                    h = commit.header()
                    computed = commit.computed_id(self._token)
                    if computed != h.id:
                        raise CorruptedDataError(f"corrupted commit data, expected {h.id.hex()}, got {computed.hex()}")
                    for ref in (h.parent, h.target):
                        if ref != ZERO_ID and ref not in known and ref not in present:
                            raise CommitNotFoundError(f"Missing commit {ref.hex()} (referenced by {h.id.hex()})")
                    program, entries = None, None
                    if h.type_code == MUTATIONS:
                        program = decode_program(commit.data(), self._defs, self._token)
                        check_program(program, self._defs)
                        referenced |= collect_blob_ids(program.raw_opcodes())
                        entries = index_entries(program)
                    elif commit.data():
                        raise CorruptedDataError(f"a {h.commit_type()} commit carries no data")
                    known.add(h.id)
                    checked.append((commit, program, entries))
                missing = backend.missing_blob_ids(sorted(referenced))
                if missing:
                    raise MissingBlobError(f"Missing blob {min(missing).hex()}")
                inserted = backend.insert_commits([(commit, entries) for commit, _, entries in checked])
                for (commit, program, entries), new in zip(checked, inserted):
                    if new:
                        added.append((commit.header(), program, entries))
                if own:
                    backend.commit()
            except BaseException:
                if own:
                    backend.rollback()
                raise
            for h, program, entries in added:
                self._views.note_stored(h, program, entries)
            self._note_own_write()
            return len(added)

    def import_blobs(self, blobs: list[BlobRecord]) -> int:
        """Store blobs received from another database (ids re-checked); returns how many were new."""
        for blob in blobs:
            if blob_id_bytes(blob.layout, blob.data) != blob.blob_id:
                raise CorruptedDataError(f"blob {blob.blob_id.hex()} does not match its content")
        count = self._backend.create_blobs(blobs)
        self._note_own_write()
        return count

    # --- reading the DAG -----------------------------------------------------------------------
    def commit_ids(self) -> set[ValueCommitId]:
        return {ValueCommitId(c) for c in self.engine_dag().headers}

    def commit_exists(self, commit_id: Any) -> bool:
        self._refresh()
        cid = as_id(commit_id)
        return self._views.placement(cid) is not None or self._views.header(cid) is not None

    def _head_ids(self) -> list[bytes]:
        self._refresh()
        try:
            return self._views.read_index().head_ids()
        except LookupError:
            # Another program deleted a head: the read structures are rebuilt.
            self._views.read_index().wipe()  # type: ignore[attr-defined]
            self._seen_version = None
            self._refresh()
            return self._views.read_index().head_ids()

    def head_commit_ids(self) -> set[ValueCommitId]:
        return {ValueCommitId(h) for h in self._head_ids()}

    def first_commit_id(self) -> ValueCommitId | None:
        self._refresh()
        index = self._views.read_index()
        if hasattr(index, "first_commit_id"):
            found = index.first_commit_id()
            return None if found is None else ValueCommitId(found)
        for cid in self.engine_dag().headers:
            return ValueCommitId(cid)
        return None

    def last_commit_id(self) -> ValueCommitId | None:
        """The latest timestamp; on a tie, the one stored last."""
        self._refresh()
        index = self._views.read_index()
        if hasattr(index, "last_commit_id"):
            found = index.last_commit_id()
            return None if found is None else ValueCommitId(found)
        best: CommitHeader | None = None
        for h in self.engine_dag().headers.values():
            if best is None or h.ts >= best.ts:
                best = h
        return None if best is None else ValueCommitId(best.id)

    def children_commit_ids(self, commit_id: Any) -> set[ValueCommitId]:
        return {ValueCommitId(c) for c in self.engine_dag().children.get(as_id(commit_id), [])}

    def nephew_commit_ids(self, commit_id: Any) -> set[ValueCommitId]:
        return {ValueCommitId(c) for c in self.engine_dag().nephews.get(as_id(commit_id), [])}

    def is_ancestor(self, ancestor_id: Any, descendant_id: Any) -> bool:
        """Reachable from the descendant through parents and merge targets (reflexive): the
        ancestor is in the descendant's linearisation."""
        self._refresh()
        a, d = as_id(ancestor_id), as_id(descendant_id)
        pa, pd = self._views.placement(a), self._views.placement(d)
        if pa is None or pd is None:
            return False
        return covers(self._views.lin_of(*pd), *pa)

    def is_mergeable(self, a: Any, b: Any) -> bool:
        a_id, b_id = as_id(a), as_id(b)
        return not self.is_ancestor(a_id, b_id) and not self.is_ancestor(b_id, a_id)

    def commit_header(self, commit_id: Any) -> CommitHeader:
        cid = self._require(commit_id)
        header = self._views.header(cid)
        if header is None:
            raise CommitNotFoundError(f"Missing commit {cid.hex()}")
        return header

    def commit(self, commit_id: Any) -> Commit:
        header = self.commit_header(commit_id)
        program = self.engine_program(header.id)
        return Commit(header, program if header.type_code == MUTATIONS else None)

    # --- states (the older API generation; see CommitStateBuilder) -----------------------------
    def state(self, commit_id: Any) -> CommitState:
        cid = as_id(commit_id)
        if cid == ZERO_ID:
            return self.initial_state()
        self._require(cid)
        self._views.verify(cid)
        return CommitState(self, cid)

    def initial_state(self) -> CommitState:
        self._refresh()
        return CommitState(self, ZERO_ID)

    def merge_state(self, ours: Any, theirs: Any) -> CommitState:
        """The state merge_commit(ours, theirs) would give, without writing (commit id zero).
        NotMergeableError when theirs is ours or one of its ancestors (SPEC §14.10); theirs
        descending from ours is evaluated, L(ours) + [L(theirs) - L(ours)]."""
        ours_id, theirs_id = self._require(ours), self._require(theirs)
        if self.is_ancestor(theirs_id, ours_id):
            raise NotMergeableError(
                f"{ours_id.hex()} and {theirs_id.hex()} are not mergeable (one is the ancestor of the other)"
            )
        return CommitState(self, ours_id, theirs_id)

    def reduce_heads(self, anchor: Any = None) -> ValueCommitId | None:
        from commitdb.engine.helpers import CommitDatabaseHelper

        return CommitDatabaseHelper.reduce_heads(self, anchor)

    def forward(self, commit_id: Any) -> ValueCommitId:
        from commitdb.engine.helpers import CommitDatabaseHelper

        return CommitDatabaseHelper.forward(self, commit_id)

    def fast_forward(self, commit_id: Any) -> ValueCommitId:
        from commitdb.engine.helpers import CommitDatabaseHelper

        return CommitDatabaseHelper.fast_forward(self, commit_id)

    def enabled_by_commit_id(self, commit_id: Any) -> dict[ValueCommitId, bool]:
        return self.state(commit_id).enabled_by_commit_id()

    # --- blobs ---------------------------------------------------------------------------------
    def create_blob(self, layout: Any, data: Any) -> ValueBlobId:
        """Store ``data`` under its content address (creating it again is a no-op)."""
        lay = as_layout(layout)
        raw = bytes(data)
        bid = blob_id_bytes(lay, raw)
        self._backend.insert_blob(BlobRecord(bid, lay.representation(), raw))
        self._note_own_write()
        return ValueBlobId(bid)

    def _blob_record(self, blob_id: Any) -> BlobRecord:
        """The stored blob. Its bytes match its id (the id is their hash): every backend checks
        the bytes it reads from disk or receives (CorruptedDataError), once."""
        bid = as_id(blob_id)
        rec = self._backend.get_blob(bid)
        if rec is None:
            raise BlobNotFoundError(f"Missing blob {bid.hex()}")
        return rec

    def blob(self, blob_id: Any) -> ValueBlob:
        return ValueBlob(self._blob_record(blob_id).data)

    def read_blob(self, blob_id: Any, size: int, offset: int = 0) -> ValueBlob:
        data = self._blob_record(blob_id).data
        if offset < 0 or size < 0 or offset + size > len(data):
            raise ValidationError(f"read of {size} bytes at {offset} is outside the blob of {len(data)} bytes")
        return ValueBlob(data[offset:offset + size])

    def blob_ids(self) -> set[ValueBlobId]:
        return {ValueBlobId(b) for b in self._backend.blob_id_list()}

    def blob_exists(self, blob_id: Any) -> bool:
        return self._backend.has_blob(as_id(blob_id))

    def blob_info(self, blob_id: Any) -> BlobInfo:
        bid = as_id(blob_id)
        info = self._backend.blob_sizes().get(bid)
        if info is None:
            raise BlobNotFoundError(f"Missing blob {bid.hex()}")
        return BlobInfo(ValueBlobId(bid), BlobLayout.parse(info[0]), info[1])

    def blob_statistics(self) -> BlobStatistics:
        return BlobStatistics([size for _, size in self._backend.blob_sizes().values()])

    def blob_stream_create(self, layout: Any, size: int) -> BlobStream:
        return BlobStream(as_layout(layout), size)

    def blob_stream_append(self, stream: BlobStream, data: Any) -> None:
        stream.append(bytes(data))

    def blob_stream_close(self, stream: BlobStream) -> ValueBlobId:
        bid, raw = stream.finish()
        self._backend.insert_blob(BlobRecord(bid, stream.layout().representation(), raw))
        self._note_own_write()
        return ValueBlobId(bid)

    # --- the reference's wider surface (SPEC §14.1, §14.12) -----------------------------------
    def in_memory(self) -> bool:
        """True for a database made by ``create_in_memory()``, False for a file database; a
        remote database answers for the database its server serves."""
        return self._backend.in_memory()

    def blob_getting(self) -> BlobGetting:
        """Read-only access to this database's blobs (``blob``, ``blob_info``, ``blob_ids``,
        ``blob_exists``, ``read_blob``), for code that only reads blobs."""
        return BlobGetting(self)

    def blob_infos(self, blob_ids: Any = None) -> list[BlobInfo]:
        """The BlobInfo of every blob, in ascending blob id order; with ``blob_ids``, of those
        blobs, in the order given (BlobNotFoundError naming the first that does not exist)."""
        sizes = self._backend.blob_sizes()
        wanted = sorted(sizes) if blob_ids is None else [as_id(b) for b in blob_ids]
        infos = []
        for bid in wanted:
            info = sizes.get(bid)
            if info is None:
                raise BlobNotFoundError(f"Missing blob {bid.hex()}")
            infos.append(BlobInfo(ValueBlobId(bid), BlobLayout.parse(info[0]), info[1]))
        return infos

    def blob_reader_open(self, blob_id: Any) -> BlobReader:
        """A reader at the start of a blob (BlobNotFoundError when it does not exist)."""
        data = self._blob_record(blob_id).data  # read and checked once, then served from memory
        return BlobReader(ValueBlobId(as_id(blob_id)), len(data), lambda size, offset: data[offset:offset + size])

    def blob_reader_read(self, reader: BlobReader, size: int) -> ValueBlob:
        """The next ``size`` bytes of the reader's blob (fewer at its end, none after it)."""
        return ValueBlob(reader.read(size))

    def blob_reader_close(self, reader: BlobReader) -> None:
        """Close a reader; reading from it afterwards raises. Closing twice does nothing."""
        reader.closed = True

    def create_blob_from_buffer(self, layout: Any, buffer: Any) -> ValueBlobId:
        """``create_blob`` from any object with the buffer protocol (bytes, bytearray,
        memoryview, array.array, a contiguous numpy array ...): its raw bytes are stored."""
        try:
            view = memoryview(buffer)
        except TypeError:
            raise ValidationError(f"create_blob_from_buffer needs a buffer, got {type(buffer).__name__}") from None
        return self.create_blob(layout, view.tobytes())

def _without_credentials(protocol: str, token: Any, tls: Any, tls_ca: Any) -> None:
    if token is not None or tls or tls_ca is not None:
        raise ValidationError(f"the {protocol} protocol carries no token and no TLS; use the commitdb protocol")


def _remote_backend(protocol: str) -> Any:
    """The backend class of a network protocol: "commitdb" (the default) or "viper"."""
    if protocol == "commitdb":
        from commitdb.net.client import RemoteBackend

        return RemoteBackend
    if protocol == "viper":
        from commitdb.net.viper_client import ViperBackend

        return ViperBackend
    raise ValidationError(f"unknown protocol {protocol!r}; use 'commitdb' or 'viper'")
