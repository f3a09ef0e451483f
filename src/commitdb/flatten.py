"""CommitDatabaseFlattener: the state at one commit as the single root commit of a fresh database.

The only sanctioned way to shrink a history (SPEC §12): the target receives the source's
definitions, the blobs the flattened documents reference (and no others), and one Mutations
commit that sets every present document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commitdb.engine.mutable import CommitMutableState
from commitdb.engine.program import value_blob_ids
from commitdb.errors import ValidationError
from commitdb.values.scalars import ValueCommitId


class CommitDatabaseFlattener:
    """Flattens once: ``flatten(source, commit_id, target, label)`` returns the new commit id."""

    def __init__(self) -> None:
        self._commit_id: ValueCommitId | None = None

    def commit_id(self) -> ValueCommitId | None:
        return self._commit_id

    def flatten(self, source: Any, commit_id: Any, target: Any, label: str = "Flatten",
                progress: Callable[[int, int], None] | None = None) -> ValueCommitId:
        if target.commit_ids():
            raise ValidationError("the flatten target must be an empty database (it has commits)")
        definitions = source.definitions()
        target.extend_definitions(definitions)
        state = source.state(commit_id)
        getting = state.attachment_getting()
        documents: list[tuple[Any, Any, Any]] = []
        for attachment in definitions.attachments():
            for key in getting.keys(attachment).members():
                documents.append((attachment, key, state.document(attachment, key)))
        blob_ids: set[bytes] = set()
        for _, _, doc in documents:
            blob_ids |= value_blob_ids(doc)
        if blob_ids:
            target.import_blobs(source.commit_databasing().blob_datas(sorted(blob_ids)))
        mutable = CommitMutableState(target.initial_state())
        mutating = mutable.attachment_mutating()
        for i, (attachment, key, doc) in enumerate(documents):
            mutating.set(attachment, key, doc)
            if progress is not None:
                progress(i + 1, len(documents))
        self._commit_id = target.commit_mutations(label, mutable)
        return self._commit_id

    convert = flatten
