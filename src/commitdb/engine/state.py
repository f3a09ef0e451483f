"""States: the documents as seen at one commit, rebuilt (never stored) from the DAG.

A state replays, in linearisation order, the programs of the enabled commits among the
commit's ancestors (SPEC §6.3). Documents are rebuilt one at a time on demand: only the commits
that touch a document are replayed, from the last enabled Document_Set on. A CommitState is
immutable once built and caches its documents, so it can be shared between threads.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from commitdb.engine.dag import Dag, Linearization
from commitdb.engine.index import DocIndex
from commitdb.engine.program import DOCUMENT_SET, CommitProgram, DocKey
from commitdb.engine.replay import apply_opcode, is_valid_set
from commitdb.engine.snapshots import Snapshot, SnapshotCache
from commitdb.errors import KeyTypeError, UnknownAttachmentError
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitHeader
from commitdb.values import containers as C
from commitdb.values.scalars import ValueCommitId
from commitdb.values.types import TypeConcept, TypeSet
from commitdb.values.value import Value


class CommitSource(Protocol):
    """What the engine reads from a database (implemented by the CommitDatabase facade)."""

    def engine_dag(self) -> Dag: ...

    def engine_index(self) -> DocIndex: ...

    def engine_program(self, commit_id: bytes) -> CommitProgram: ...

    def engine_definitions(self) -> Any: ...

    def engine_has_blob(self, blob_id: bytes) -> bool: ...

    def engine_snapshots(self) -> SnapshotCache: ...

    def engine_dag_view(self) -> Dag:
        """The DAG as last refreshed (no catch-up: for work within one state's lifetime)."""
        ...

    def engine_prefetch(self, commit_ids: list[bytes]) -> None:
        """Load and decode the programs of ``commit_ids`` in bulk (a hint; may do nothing)."""
        ...

    def engine_snapshots_for(self, dk: DocKey) -> list[tuple[bytes, Snapshot]]: ...


def check_attachment(definitions: Any, attachment: Any) -> None:
    if not hasattr(attachment, "rid") or definitions.attachment_by_rid(attachment.rid) is None:
        raise UnknownAttachmentError(f"attachment {attachment} is not registered in the database definitions")


def check_key(attachment: Any, key: Any) -> DocKey:
    """The doc key of (attachment, key); KeyTypeError when the key does not fit the attachment."""
    if not isinstance(key, C.ValueKey):
        raise KeyTypeError(f"expected a key for {attachment.key_type()}, got '{type(key).__name__}' {key!r}")
    concept = key.type_concept()
    if concept is None or not attachment.key_type().admits(concept):
        raise KeyTypeError(f"a key of {concept} is refused by {attachment} (it expects {attachment.key_type()})")
    return (attachment.rid, key._instance, concept.rid)


class EvalAction:
    """One step of a state's linearisation: the commit header, whether it is enabled, its program."""

    __slots__ = ("_enabled", "_header", "_source")

    def __init__(self, source: CommitSource, header: CommitHeader, enabled: bool) -> None:
        self._source, self._header, self._enabled = source, header, enabled

    def enabled(self) -> bool:
        return self._enabled

    def header(self) -> CommitHeader:
        return self._header

    def program(self) -> CommitProgram | None:
        if self._header.type_code != MUTATIONS:
            return None
        return self._source.engine_program(self._header.id)

    def __repr__(self) -> str:
        return f"EvalAction({self._header.id.hex()[:12]} {self._header.commit_type()} enabled={self._enabled})"


class AttachmentGetting:
    """Reads documents of a state: ``get`` (always an optional), ``keys``, ``has``."""

    def __init__(self, state: CommitState) -> None:
        self._state = state

    def get(self, attachment: Any, key: Any) -> C.ValueOptional:
        """The document as an ``optional<Document>``: nil when absent. Returns a copy."""
        doc = self._state.document(attachment, key)
        result = C.ValueOptional.__new__(C.ValueOptional)
        result._type = attachment.optional_document_type()
        result._v = None if doc is None else doc.copy()
        return result

    def has(self, attachment: Any, key: Any) -> bool:
        return self._state.document(attachment, key) is not None

    def keys(self, attachment: Any) -> C.ValueSet:
        """The keys whose document is present, as a set of keys."""
        return self._state.keys(attachment)

    def enumerate(self, attachment: Any) -> list[tuple[C.ValueKey, Value]]:
        return [(k, self.get(attachment, k)) for k in self.keys(attachment).members()]  # type: ignore[misc]

    def attachment_getting(self) -> AttachmentGetting:
        return self


class CommitState:
    """The documents at one commit (or at a virtual merge, whose commit id is zero)."""

    def __init__(self, source: CommitSource, commit_id: bytes, lin: Linearization | None,
                 disabled: frozenset[bytes] = frozenset()) -> None:
        self._source = source
        self._commit_id = commit_id
        self._lin = lin
        self._disabled = disabled
        self._docs: dict[DocKey, Value | None] = {}
        self._lock = threading.Lock()

    # --- identity --------------------------------------------------------------------------
    def commit_id(self) -> ValueCommitId:
        return ValueCommitId(self._commit_id)

    def raw_commit_id(self) -> bytes:
        return self._commit_id

    def source(self) -> CommitSource:
        return self._source

    def definitions(self) -> Any:
        return self._source.engine_definitions()

    def attachment_getting(self) -> AttachmentGetting:
        return AttachmentGetting(self)

    def linearization(self) -> list[bytes]:
        return [] if self._lin is None else self._lin.ids()

    def enabled_by_commit_id(self) -> dict[ValueCommitId, bool]:
        """Every commit of the linearisation with its flag, plus the toggle targets outside it
        that the walk of SPEC §6.3 decided (the ``decided`` map itself)."""
        if self._lin is None:
            return {}
        decided = self._source.engine_dag_view().enabled_map(self._lin)
        flags = {ValueCommitId(x): decided.get(x, True) for x in self._lin}  # in linearisation order
        for x, flag in decided.items():
            flags.setdefault(ValueCommitId(x), flag)
        return flags

    def eval_actions(self) -> list[EvalAction]:
        """The linearisation, newest first."""
        if self._lin is None:
            return []
        dag = self._source.engine_dag()
        disabled = self._disabled
        return [EvalAction(self._source, dag.headers[x], x not in disabled) for x in self._lin.reversed_ids()]

    def cache_preload(self) -> None:
        """Build every document now (later reads are then plain lookups)."""
        index = self._source.engine_index()
        for att_docs in list(index.docs_by_attachment.values()):
            for dk in list(att_docs):
                self.document_by_key(dk)

    # --- documents -------------------------------------------------------------------------
    def document(self, attachment: Any, key: Any) -> Value | None:
        """The document (shared, do not mutate) or None; validates attachment and key."""
        check_attachment(self.definitions(), attachment)
        return self.document_by_key(check_key(attachment, key))

    def document_by_key(self, dk: DocKey) -> Value | None:
        try:
            return self._docs[dk]
        except KeyError:
            pass
        doc = self._rebuild(dk)
        with self._lock:
            self._docs.setdefault(dk, doc)
        return doc

    def _rebuild(self, dk: DocKey) -> Value | None:
        lin = self._lin
        if lin is None:
            return None
        index = self._source.engine_index()
        touching = index.commits_touching(dk)
        if not touching:
            return None
        disabled = self._disabled
        # The best starting point: the latest snapshot of this document that this state agrees
        # with. Then only the commits after it are replayed, found by scanning whichever is
        # shorter: the linearisation after the snapshot, or the commits touching the document.
        best: Snapshot | None = None
        best_pos = -1
        for cid, snap in self._source.engine_snapshots_for(dk):
            p = lin.position(cid)
            if p is not None and p > best_pos and snap.usable_for(lin, disabled):
                best, best_pos = snap, p
        if best is not None:
            if len(lin) - best_pos - 1 <= len(touching):
                touched = index.touching_set(dk)
                sequence = [x for x in lin.slice(best_pos + 1) if x in touched]
            else:
                sequence = _in_order(lin, touching, after=best_pos)
            doc = None if best.doc is None else best.doc.copy()
            if not sequence:
                return doc
            return self._replay(dk, doc, sequence, from_set=False)
        relevant = _in_order(lin, touching, after=-1)
        if not relevant:
            return None
        start = 0
        document_type = self._document_type(dk)
        for i in range(len(relevant) - 1, -1, -1):  # the last enabled Document_Set supersedes the rest
            cid = relevant[i]
            if cid not in disabled and index.has_document_set(cid, dk) and any(
                op.code == DOCUMENT_SET and is_valid_set(op, document_type)
                for op in self._source.engine_program(cid).doc_opcodes(dk)
            ):
                start = i
                break
        return self._replay(dk, None, relevant[start:], from_set=True)

    def _document_type(self, dk: DocKey) -> Any:
        """The document type of the attachment of ``dk`` (None when not registered)."""
        attachment = self._source.engine_definitions().attachment_by_rid(dk[0])
        return None if attachment is None else attachment.document_type()

    def _replay(self, dk: DocKey, doc: Value | None, sequence: list[bytes], from_set: bool) -> Value | None:
        """Apply the opcodes on ``dk`` of ``sequence`` (in order) to ``doc``; remember the result
        as a snapshot at the last commit. With ``from_set``, the first commit starts at its last
        Document_Set on the document."""
        source, disabled = self._source, self._disabled
        document_type = self._document_type(dk)
        for i, cid in enumerate(sequence):
            flag = cid not in disabled
            ops = source.engine_program(cid).doc_opcodes(dk)
            if i == 0 and from_set and flag:
                last_set = max((j for j, op in enumerate(ops)
                                if op.code == DOCUMENT_SET and is_valid_set(op, document_type)), default=0)
                ops = ops[last_set:]
            for op in ops:
                doc = apply_opcode(doc, op, flag, document_type)
        self._remember(sequence[-1], dk, doc)
        return doc

    def _remember(self, commit_id: bytes, dk: DocKey, doc: Value | None) -> None:
        """Keep ``doc`` as a snapshot at ``commit_id`` when that commit's own view agrees."""
        dag = self._source.engine_dag_view()
        snap = Snapshot(doc, dag.linearize(commit_id), dag.disabled(commit_id))
        if self._lin is not None and snap.usable_for(self._lin, self._disabled):
            self._source.engine_snapshots().put(commit_id, dk, snap)

    def keys(self, attachment: Any) -> C.ValueSet:
        check_attachment(self.definitions(), attachment)
        result = C.ValueSet(TypeSet(attachment.key_type()))
        index = self._source.engine_index()
        doc_keys = index.doc_keys(attachment.rid)
        # Reading every document: fetch the programs of short histories in bulk first.
        self._source.engine_prefetch([
            c for dk in doc_keys if dk not in self._docs and len(index.commits_touching(dk)) <= PREFETCH_HISTORY
            for c in index.commits_touching(dk)
        ])
        for dk in doc_keys:
            if self.document_by_key(dk) is not None:
                result.add_value(key_value(self.definitions(), attachment, dk))
        return result

    def __repr__(self) -> str:
        return f"CommitState({self._commit_id.hex()})"


PREFETCH_HISTORY = 4  # keys() prefetches the programs of documents touched by at most this many commits


def _in_order(lin: Linearization, commit_ids: list[bytes], after: int) -> list[bytes]:
    """The commits of ``commit_ids`` that ``lin`` holds after position ``after``, in its order."""
    found = []
    for c in commit_ids:
        p = lin.position(c)
        if p is not None and p > after:
            found.append((p, c))
    found.sort()
    return [c for _, c in found]


def key_value(definitions: Any, attachment: Any, dk: DocKey) -> C.ValueKey:
    """The key Value of a doc key (its concept looked up in the definitions)."""
    k = C.ValueKey.__new__(C.ValueKey)
    k._type = attachment.key_type()
    k._instance = dk[1]
    concept = definitions.type_by_rid(dk[2])
    k._concept = concept if isinstance(concept, TypeConcept) else None
    return k


def build_state(source: CommitSource, commit_id: bytes) -> CommitState:
    """The state at ``commit_id`` (the zero id gives the empty initial state)."""
    if commit_id == ZERO_ID:
        return CommitState(source, ZERO_ID, None)
    dag = source.engine_dag()
    return CommitState(source, commit_id, dag.linearize(commit_id), dag.disabled(commit_id))


def build_merge_state(source: CommitSource, ours: bytes, theirs: bytes) -> CommitState:
    """The state merge_commit(ours, theirs) would give, without writing (commit id zero)."""
    dag = source.engine_dag()
    lin = dag.merge_linearization(ours, theirs)
    decided = dag.enabled_map(lin)
    return CommitState(source, ZERO_ID, lin, frozenset(c for c, flag in decided.items() if not flag))
