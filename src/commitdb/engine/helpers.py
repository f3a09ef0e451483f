"""The newer API generation: CommitStateBuilder and CommitDatabaseHelper (SPEC §1, §6.4).

Both are written against the CommitDatabase facade's public methods (duck-typed, so the engine
does not import the facade).
"""

from __future__ import annotations

from typing import Any

from commitdb.engine.state import CommitState
from commitdb.errors import NotAHeadError
from commitdb.storage.base import as_id
from commitdb.values.scalars import ValueCommitId


class CommitStateBuilder:
    """Builds states: at a commit, initial, or of a merge that is not written."""

    @staticmethod
    def state(db: Any, commit_id: Any) -> CommitState:
        return db.state(commit_id)

    @staticmethod
    def initial_state(db: Any) -> CommitState:
        return db.initial_state()

    @staticmethod
    def merge_state(db: Any, ours: Any, theirs: Any) -> CommitState:
        return db.merge_state(ours, theirs)

    @staticmethod
    def enabled_by_commit_id(db: Any, commit_id: Any) -> dict[ValueCommitId, bool]:
        return db.state(commit_id).enabled_by_commit_id()

    @staticmethod
    def merge_enabled_by_commit_id(db: Any, ours: Any, theirs: Any) -> dict[ValueCommitId, bool]:
        return db.merge_state(ours, theirs).enabled_by_commit_id()


class CommitDatabaseHelper:
    """DAG maintenance: reduce heads, move forward."""

    @staticmethod
    def reduce_heads(db: Any, anchor: Any = None, commit_id: Any = None) -> ValueCommitId | None:
        """Merge every other head into ``anchor`` (default: the last commit), in ascending id
        order, in one exclusive transaction. Returns the final merge, or None with < 2 heads."""
        anchor = anchor if anchor is not None else commit_id
        backend = db.commit_databasing()
        own = not backend.in_transaction()
        if own:
            backend.begin_transaction("Exclusive")
        try:
            heads = {h.bytes_value() for h in db.head_commit_ids()}
            if len(heads) < 2:
                result = None
            else:
                acc = as_id(anchor) if anchor is not None else db.last_commit_id().bytes_value()
                if acc not in heads:
                    raise NotAHeadError(f"{acc.hex()} is not a head")
                for head in sorted(heads - {acc}):
                    acc = db.merge_commit(f"merge of {head.hex()}", acc, head).bytes_value()
                result = ValueCommitId(acc)
            if own:
                backend.commit()
            return result
        except BaseException:
            if own:
                backend.rollback()
                db.invalidate_views()  # the views may hold rolled-back commits
            raise

    @staticmethod
    def fast_forward(db: Any, commit_id: Any) -> ValueCommitId:
        """From ``commit_id``, step to the smallest child (or else the smallest merge targeting
        it) until there is none."""
        return ValueCommitId(db.engine_dag().fast_forward(as_id(commit_id)))

    @staticmethod
    def forward(db: Any, commit_id: Any) -> ValueCommitId:
        """The only head if there is exactly one, else ``fast_forward``."""
        heads = db.head_commit_ids()
        if len(heads) == 1:
            return next(iter(heads))
        return CommitDatabaseHelper.fast_forward(db, commit_id)
