"""The newer API generation: CommitStateBuilder and CommitDatabaseHelper (SPEC §1, §6.4).

Both are written against the CommitDatabase facade's public methods (duck-typed, so the engine
does not import the facade).
"""

from __future__ import annotations

from typing import Any

from commitdb.engine.merge_report import MergeReport, merge_report, merge_report_of
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
    def reduce_heads(db: Any, anchor: Any = None, commit_id: Any = None, *,
                     reports: list[MergeReport] | None = None) -> ValueCommitId | None:
        """Merge every other head into ``anchor`` (default: the last commit), in ascending id
        order, in one exclusive transaction. Returns the final merge, or None with < 2 heads.

        With ``reports`` (a list), appends the report of each merge made, in merge order; they
        are computed after the transaction, so the exclusive lock is not held longer."""
        anchor = anchor if anchor is not None else commit_id
        merges: list[bytes] = []
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
                    merges.append(acc)
                result = ValueCommitId(acc)
            if own:
                backend.commit()
        except BaseException:
            if own:
                backend.rollback()
                db.invalidate_views()  # the views may hold rolled-back commits
            raise
        if reports is not None:
            reports.extend(merge_report(db, m) for m in merges)
        return result

    @staticmethod
    def merge_report(db: Any, merge_commit_id: Any) -> MergeReport:
        """What the merge commit ``merge_commit_id`` dropped or overrode: for each document both
        sides touched, the paths where one side's write lost, with the losing and winning values,
        the commits that wrote them, and why (see ``commitdb.engine.merge_report``)."""
        return merge_report(db, merge_commit_id)

    @staticmethod
    def merge_report_of(db: Any, ours: Any, theirs: Any) -> MergeReport:
        """The report of ``merge_commit(ours, theirs)``, without writing the merge."""
        return merge_report_of(db, ours, theirs)

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
