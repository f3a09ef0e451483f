"""Which commits are enabled in the current state, and their evaluation order.

Knowing them means walking the state's whole linearisation, which takes seconds on a long
history with many merges. The graph therefore never waits for them: it asks with ``peek`` and
draws its rows as "pending" until a worker thread, on its own read-only connection (so the
editor keeps answering meanwhile), has computed them; then the page is told to redraw. Panels
that need them to act (the actions panel, enable/disable) wait with ``get``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from commitdb.database import CommitDatabase
from commitdb.values import ValueCommitId

KEEP = 8  # states whose flags are kept
Flags = tuple[dict[bytes, bool], dict[bytes, int]]
log = logging.getLogger("commitdb.editor")


def flags_of(state: Any) -> Flags:
    """(commit -> enabled, commit -> evaluation order from 1) for the commits of ``state``."""
    order = {c: i + 1 for i, c in enumerate(state.linearization())}
    # eval_actions may leave out commits that act on no document (a merge): enabled unless said
    enabled = dict.fromkeys(order, True)
    enabled.update((action.header().id, action.enabled()) for action in state.eval_actions())
    return enabled, order


class StateFlags:
    def __init__(self, reopen: Callable[[], CommitDatabase] | None, ready: Callable[[], None]) -> None:
        self._reopen = reopen
        self._ready = ready
        self._lock = threading.Lock()
        self._known: OrderedDict[Any, Flags | None] = OrderedDict()
        self._pending: set[Any] = set()

    def _keep(self, key: Any, flags: Flags | None) -> None:
        with self._lock:
            self._known[key] = flags
            self._known.move_to_end(key)
            while len(self._known) > KEEP:
                self._known.popitem(last=False)
            self._pending.discard(key)

    def get(self, key: Any, state: Any) -> Flags:
        """The flags of ``state`` (``key``: its commit id and anything that invalidates them),
        computed here if need be."""
        with self._lock:
            found = self._known.get(key)
        if found is None:
            found = flags_of(state)
            self._keep(key, found)
        return found

    def peek(self, key: Any, state: Any) -> Flags | None:
        """The flags if known; otherwise None, and a worker computes them (without a way to open
        a second connection, they are computed here at once)."""
        with self._lock:
            if key in self._known:
                return self._known[key]
            if key in self._pending:
                return None
            if self._reopen is not None:
                self._pending.add(key)
        if self._reopen is None:
            return self.get(key, state)
        threading.Thread(target=self._work, args=(key,), name="cdb-editor-flags", daemon=True).start()
        return None

    def _work(self, key: Any) -> None:
        assert self._reopen is not None
        try:
            db = self._reopen()
            try:
                flags: Flags | None = flags_of(db.state(ValueCommitId(key[0])))
            finally:
                db.close()
        except Exception:  # the rows stay "pending"; the panels still compute on demand
            log.exception("computing the flags of a state failed")
            flags = None
        self._keep(key, flags)
        self._ready()
