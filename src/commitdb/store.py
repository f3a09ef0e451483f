"""CommitStore: single-user editing on top of a database, with undo and redo (SPEC §7).

The store holds a current state. ``dispatch`` records a change as a commit on top of it and
moves to it. ``undo`` appends ``Disable(last dispatch)``; ``redo`` appends ``Disable(that undo
commit)``; undoing again after a redo appends ``Enable(the undo commit)`` — history only grows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commitdb.engine.helpers import CommitDatabaseHelper
from commitdb.engine.mutable import CommitMutableState
from commitdb.engine.state import AttachmentGetting, CommitState
from commitdb.errors import CommitDBError
from commitdb.values.scalars import ValueCommitId

NOTIFICATIONS = (
    "notify_database_did_open",
    "notify_database_did_close",
    "notify_state_did_change",
    "notify_definitions_did_change",
    "notify_dispatch_error",
    "notify_stop_live",
    "notify_reset_database",
    "notify_database_will_reset",
    "notify_database_did_reset",
)


class CommitStoreNotifying:
    """Adapts an object with ``notify_*`` methods; missing methods are ignored."""

    def __init__(self, target: Any) -> None:
        self._target = target

    @staticmethod
    def create(target: Any) -> CommitStoreNotifying:
        """A notifier for ``target``, which must define every ``notify_*`` method of
        NOTIFICATIONS (TypeError naming the missing ones). ``CommitStore.set_notifier`` also
        takes any object directly; then missing methods are simply not called."""
        if target is None:
            raise TypeError("a notifier object is required")
        missing = [name for name in NOTIFICATIONS if not callable(getattr(target, name, None))]
        if missing:
            raise TypeError(f"the notifier {target!r} lacks {', '.join(missing)}")
        return CommitStoreNotifying(target)

    def send(self, name: str, *args: Any) -> None:
        method = getattr(self._target, name, None)
        if method is None:
            return
        try:
            method(*args)
        except Exception:  # a failing notifier must never break the store
            pass


@dataclass
class _Step:
    label: str
    commit_id: ValueCommitId
    undo_commit_id: ValueCommitId | None = None


class CommitStore:
    """The current state of one database, with dispatch, undo/redo and notifications."""

    def __init__(self) -> None:
        self._db: Any = None
        self._state: CommitState | None = None
        self._notifier: CommitStoreNotifying | None = None
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []

    # --- notifications ---------------------------------------------------------------------
    def set_notifier(self, notifier: Any) -> None:
        if notifier is None or isinstance(notifier, CommitStoreNotifying):
            self._notifier = notifier
        else:
            self._notifier = CommitStoreNotifying(notifier)

    def notifier(self) -> CommitStoreNotifying | None:
        """The notifier given to ``set_notifier`` (wrapped), or None."""
        return self._notifier

    def _notify(self, name: str, *args: Any) -> None:
        if self._notifier is not None:
            self._notifier.send(name, *args)

    # --- database --------------------------------------------------------------------------
    def use(self, db: Any) -> None:
        """Work on ``db``, starting at its last commit."""
        if self._db is not None and self._db is not db:
            self._notify("notify_database_did_close")
        self._db = db
        self._undo.clear()
        self._redo.clear()
        self._notify("notify_database_did_open")
        self._notify("notify_definitions_did_change")
        last = db.last_commit_id()
        self._move(db.initial_state() if last is None else db.state(last))

    set_database = use

    def has_database(self) -> bool:
        return self._db is not None

    def database(self) -> Any:
        return self._require_db()

    def close(self) -> None:
        if self._db is not None:
            self._db = None
            self._state = None
            self._undo.clear()
            self._redo.clear()
            self._notify("notify_database_did_close")

    def _require_db(self) -> Any:
        if self._db is None:
            raise CommitDBError("the store has no database: call use(db) first")
        return self._db

    def definitions(self) -> Any:
        return self._require_db().definitions()

    def extend_definitions(self, definitions: Any) -> Any:
        result = self._require_db().extend_definitions(definitions)
        self._notify("notify_definitions_did_change")
        return result

    # --- state -----------------------------------------------------------------------------
    def state(self) -> CommitState:
        self._require_db()
        return self._state  # type: ignore[return-value]

    def has_state(self) -> bool:
        """Whether the store has a database and so a current state."""
        return self._db is not None and self._state is not None

    def attachment_getting(self) -> AttachmentGetting:
        """``state().attachment_getting()`` of the current state, read now: a getter taken
        earlier keeps answering its own state. Raises before ``use(db)`` and after ``close()``."""
        return self.state().attachment_getting()

    def mutable_state(self) -> CommitMutableState:
        return CommitMutableState(self.state())

    def _move(self, state: CommitState) -> None:
        self._state = state
        self._notify("notify_state_did_change")

    def _move_to(self, commit_id: ValueCommitId) -> None:
        self._move(self._db.state(commit_id))

    def use_commit(self, commit_id: Any) -> None:
        """Move to any commit. Undo and redo stay: undoing now appends the Disable on top of
        that commit, which may open a second head."""
        db = self._require_db()
        self._move(db.state(commit_id))

    def set_state(self, state: CommitState) -> None:
        self._require_db()
        self._move(state)

    # --- dispatch --------------------------------------------------------------------------
    def dispatch(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(attachment_mutating, *args)``, commit what it recorded, move to it.

        An exception raised by ``fn`` commits nothing: it goes to ``notify_dispatch_error``
        and dispatch returns None.
        """
        db = self._require_db()
        mutable = CommitMutableState(self.state())
        try:
            result = fn(mutable.attachment_mutating(), *args)
        except Exception as error:  # reported to the notifier, per contract
            self._notify("notify_dispatch_error", error)
            return None
        commit_id = db.commit_mutations(label, mutable)
        self._undo.append(_Step(label, commit_id))
        self._redo.clear()
        self._move_to(commit_id)
        return result

    def dispatch_set(self, label: str, attachment: Any, key: Any, document: Any) -> Any:
        return self.dispatch(label, lambda m: m.set(attachment, key, document))

    def dispatch_update(self, label: str, attachment: Any, key: Any, path: Any, value: Any) -> Any:
        return self.dispatch(label, lambda m: m.update(attachment, key, path, value))

    def dispatch_diff(self, label: str, attachment: Any, key: Any, document: Any, recursive: bool = False) -> Any:
        return self.dispatch(label, lambda m: m.diff(attachment, key, document, recursive))

    def commit_mutations(self, label: str, mutable: CommitMutableState) -> ValueCommitId:
        """Commit a mutable state built from ``state()`` as an undoable step."""
        commit_id = self._require_db().commit_mutations(label, mutable)
        self._undo.append(_Step(label, commit_id))
        self._redo.clear()
        self._move_to(commit_id)
        return commit_id

    # --- undo / redo -----------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_stack_ids(self) -> list[ValueCommitId]:
        """The commits the undo stack would undo, oldest first (the next undo takes the last)."""
        return [step.commit_id for step in self._undo]

    def clear_undo_redo(self) -> None:
        """Forget both stacks: what was dispatched so far can no longer be undone or redone."""
        self._undo.clear()
        self._redo.clear()

    def reset_undo_redo(self) -> None:
        """Start undo/redo afresh from the current state (e.g. after moving to a commit that
        the user must not undo past): both stacks are emptied, as ``clear_undo_redo`` does."""
        self.clear_undo_redo()

    def undo(self) -> ValueCommitId | None:
        """Undo the last step: None, doing nothing, when there is nothing to undo."""
        if not self._undo:
            return None
        db = self._require_db()
        step = self._undo.pop()
        here = self.state().commit_id()
        if step.undo_commit_id is None:
            step.undo_commit_id = db.disable_commit(f"Undo [{step.label}]", here, step.commit_id)
            commit_id = step.undo_commit_id
        else:
            commit_id = db.enable_commit(f"Undo [{step.label}]", here, step.undo_commit_id)
        self._redo.append(step)
        self._move_to(commit_id)
        return commit_id

    def redo(self) -> ValueCommitId | None:
        """Redo the last undone step: None, doing nothing, when there is nothing to redo."""
        if not self._redo:
            return None
        db = self._require_db()
        step = self._redo.pop()
        commit_id = db.disable_commit(f"Redo [{step.label}]", self.state().commit_id(), step.undo_commit_id)
        self._undo.append(step)
        self._move_to(commit_id)
        return commit_id

    # --- moving in the DAG -----------------------------------------------------------------
    def forward(self) -> ValueCommitId:
        db = self._require_db()
        target = CommitDatabaseHelper.forward(db, self.state().commit_id())
        self._move_to(target)
        return target

    def reduce_heads(self) -> ValueCommitId | None:
        db = self._require_db()
        merged = CommitDatabaseHelper.reduce_heads(db)
        if merged is not None:
            self._move_to(merged)
        return merged

    def merge_commit(self, commit_id: Any, label: str | None = None) -> ValueCommitId:
        db = self._require_db()
        here = self.state().commit_id()
        merged = db.merge_commit(label or f"merge of {commit_id}", here, commit_id)
        self._move_to(merged)
        return merged

    # --- toggles, deletion and reset (SPEC §14.12) ---------------------------------------------
    def disable_commit(self, commit_id: Any, label: str | None = None) -> ValueCommitId:
        """Append Disable(``commit_id``) on top of the current state and move to it. Not an
        undoable step (``dispatch_enable_commit`` is)."""
        return self._toggle(commit_id, False, label)

    def enable_commit(self, commit_id: Any, label: str | None = None) -> ValueCommitId:
        """Append Enable(``commit_id``) on top of the current state and move to it. Not an
        undoable step (``dispatch_enable_commit`` is)."""
        return self._toggle(commit_id, True, label)

    def dispatch_enable_commit(self, commit_id: Any, enabled: bool) -> ValueCommitId:
        """Enable (``enabled`` True) or disable ``commit_id`` as an undoable step: the toggle
        commit goes on the undo stack like a dispatch, and the redo stack is cleared."""
        toggle = self._toggle(commit_id, bool(enabled), None)
        self._undo.append(_Step(self._db.commit_header(toggle).label(), toggle))
        self._redo.clear()
        return toggle

    def _toggle(self, commit_id: Any, enable: bool, label: str | None) -> ValueCommitId:
        db = self._require_db()
        here = self.state().commit_id()
        if label is None:
            label = f"{'Enable' if enable else 'Disable'} [{db.commit_header(commit_id).label()}]"
        toggle = (db.enable_commit if enable else db.disable_commit)(label, here, commit_id)
        self._move_to(toggle)
        return toggle

    def delete_commit(self, commit_id: Any) -> None:
        """Delete a head of the database (NotAHeadError otherwise). When the store stood on it,
        it moves to the commit's parent (the initial state for a root); undo/redo steps that
        involve the commit are forgotten."""
        db = self._require_db()
        header = db.commit_header(commit_id)
        db.delete_commit(commit_id)
        gone = header.commit_id()
        self._undo = [s for s in self._undo if gone not in (s.commit_id, s.undo_commit_id)]
        self._redo = [s for s in self._redo if gone not in (s.commit_id, s.undo_commit_id)]
        if self.state().commit_id() == gone:
            parent = header.parent_commit_id()
            self._move(db.state(parent) if parent.is_valid() else db.initial_state())

    def reset(self) -> None:
        """The demo reset: notify ``notify_database_will_reset``, keep only the database's first
        commit (``reset_commits``), notify ``notify_database_did_reset``, forget undo/redo and
        move to the last commit left."""
        db = self._require_db()
        self._notify("notify_database_will_reset")
        db.reset_commits()
        self._notify("notify_database_did_reset")
        self.clear_undo_redo()
        last = db.last_commit_id()
        self._move(db.initial_state() if last is None else db.state(last))


def _forwarder(name: str) -> Callable[..., None]:
    def forward(self: CommitStore, *args: Any) -> None:
        self._notify(name, *args)

    forward.__name__ = name
    forward.__doc__ = f"Send ``{name}`` to the notifier (nothing without one; a notifier that raises is ignored)."
    return forward


# The notify_* forwarders: code driving a store announces events through it.
for _name in NOTIFICATIONS:
    setattr(CommitStore, _name, _forwarder(_name))
