"""States: the documents as seen at one commit, rebuilt (never stored) from the DAG.

A state replays, in linearisation order, the programs of the enabled commits among the
commit's ancestors (SPEC §6.3). Documents are rebuilt one at a time on demand, from the read
structures (``engine.reading``): only the commits that touch a document are replayed, from the
best snapshot or the last enabled Document_Set on. A CommitState is immutable once built and
caches its documents, so it can be shared between threads.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from commitdb.engine.dag import Dag, Linearization
from commitdb.engine.program import CommitProgram, DocKey
from commitdb.engine.reading import DocumentSource
from commitdb.errors import KeyTypeError, UnknownAttachmentError
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitHeader
from commitdb.values import containers as C
from commitdb.values.scalars import ValueCommitId
from commitdb.values.types import TypeConcept, TypeSet
from commitdb.values.value import Value


class CommitSource(Protocol):
    """What the engine reads from a database (implemented by the CommitDatabase facade)."""

    def engine_dag(self) -> Dag:
        """Every header, caught up (loads the whole history: for whole-history calls only)."""
        ...

    def engine_program(self, commit_id: bytes) -> CommitProgram: ...

    def engine_definitions(self) -> Any: ...

    def engine_has_blob(self, blob_id: bytes) -> bool: ...

    def engine_reader(self) -> DocumentSource:
        """Where documents are read: ``document(state key, dk)`` and ``documents_of(state key,
        attachment rid)``, a state key being (commit id, merged id or None)."""
        ...


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

    def __init__(self, source: CommitSource, commit_id: bytes, merged: bytes | None = None) -> None:
        self._source = source
        self._commit_id = commit_id
        self._merge_pair = (commit_id, merged) if merged is not None else None
        self._docs: dict[DocKey, Value | None] = {}
        self._distances: dict[DocKey, int] = {}
        self._attachment_docs: dict[bytes, dict[DocKey, Value | None]] = {}
        self._lock = threading.Lock()

    # --- identity --------------------------------------------------------------------------
    def commit_id(self) -> ValueCommitId:
        return ValueCommitId(ZERO_ID if self._merge_pair is not None else self._commit_id)

    def raw_commit_id(self) -> bytes:
        return ZERO_ID if self._merge_pair is not None else self._commit_id

    def is_on_commit(self) -> bool:
        """Whether this state is the state at a stored commit or the initial state (not a
        virtual merge)."""
        return self._merge_pair is None

    def source(self) -> CommitSource:
        return self._source

    def definitions(self) -> Any:
        return self._source.engine_definitions()

    def attachment_getting(self) -> AttachmentGetting:
        return AttachmentGetting(self)

    def _full_lin(self) -> Linearization:
        """The whole linearisation from the whole-history DAG (for sources without read
        structures that list it)."""
        dag = self._source.engine_dag()
        if self._merge_pair is not None:
            return dag.merge_linearization(*self._merge_pair)
        return dag.linearize(self._commit_id)

    def _walked(self) -> tuple[list[bytes], dict[bytes, bool]]:
        """L as ids in order and the flags of the SPEC §6.3 walk (every commit of L, plus the
        toggle targets outside it the walk decided): from the read structures when the source
        has them (linear in the history), else from the whole-history DAG."""
        if self._commit_id == ZERO_ID:
            return [], {}
        found = self._source.engine_reader().whole_linearization(self._key())
        if found is not None:
            return found
        lin = self._full_lin()
        decided = self._source.engine_dag().enabled_map(lin)
        ids = lin.ids()
        flags = {x: decided.get(x, True) for x in ids}
        for x, flag in decided.items():
            flags.setdefault(x, flag)
        return ids, flags

    def linearization(self) -> list[bytes]:
        return self._walked()[0]

    def enabled_by_commit_id(self) -> dict[ValueCommitId, bool]:
        """Every commit of the linearisation with its flag, in linearisation order, then the
        toggle targets outside it that the walk of SPEC §6.3 decided."""
        ids, flags = self._walked()
        ordered = {ValueCommitId(x): flags[x] for x in ids}
        for x, flag in flags.items():
            ordered.setdefault(ValueCommitId(x), flag)
        return ordered

    def eval_actions(self) -> list[EvalAction]:
        """The Mutations commits of the linearisation, newest first, each with its enabled flag
        (SPEC §14.5). Merge, Disable and Enable commits are not listed — not even the state's
        own commit; ``enabled_by_commit_id`` covers those."""
        ids, flags = self._walked()
        if not ids:
            return []
        headers = self._source.engine_dag().headers
        return [EvalAction(self._source, h, flags[x])
                for x in reversed(ids) if (h := headers[x]).type_code == MUTATIONS]

    def _key(self) -> tuple[bytes, bytes | None]:
        return (self._commit_id, self._merge_pair[1] if self._merge_pair is not None else None)

    def cache_preload(self) -> None:
        """Build every document now (later reads are then plain lookups)."""
        for attachment in self.definitions().attachments():
            self._read_all(attachment.rid)

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
        if self._commit_id == ZERO_ID:
            doc, distance = None, 0
        else:
            doc, distance = self._source.engine_reader().document(self._key(), dk)
        with self._lock:
            self._docs.setdefault(dk, doc)
            self._distances.setdefault(dk, distance)
        return doc

    def distance(self, dk: DocKey) -> int:
        """Commits replayed on ``dk`` since its last persisted snapshot (after a read of it)."""
        return self._distances.get(dk, 0)

    def keys(self, attachment: Any) -> C.ValueSet:
        check_attachment(self.definitions(), attachment)
        result = C.ValueSet(TypeSet(attachment.key_type()))
        for dk, _ in self.present_documents(attachment.rid):
            result.add_value(key_value(self.definitions(), attachment, dk))
        return result

    def present_documents(self, attachment_rid: bytes) -> list[tuple[DocKey, Value]]:
        """The present documents of an attachment (shared, do not mutate), in key order."""
        if self._commit_id == ZERO_ID:
            return []
        self._read_all(attachment_rid)
        return sorted((dk, doc) for dk, doc in self._attachment_docs[attachment_rid].items() if doc is not None)

    def _read_all(self, attachment_rid: bytes) -> None:
        """Read every document of an attachment at once (once per state)."""
        if attachment_rid in self._attachment_docs:
            return
        built = self._source.engine_reader().documents_of(self._key(), attachment_rid)
        with self._lock:
            for dk, (doc, distance) in built.items():
                self._docs.setdefault(dk, doc)
                self._distances.setdefault(dk, distance)
            self._attachment_docs[attachment_rid] = {dk: self._docs[dk] for dk in built}

    def __repr__(self) -> str:
        return f"CommitState({self.raw_commit_id().hex()})"


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
    return CommitState(source, commit_id)


def build_merge_state(source: CommitSource, ours: bytes, theirs: bytes) -> CommitState:
    """The state merge_commit(ours, theirs) would give, without writing (commit id zero)."""
    return CommitState(source, ours, theirs)
