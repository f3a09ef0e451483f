"""The commitdb editor: browse, edit, time-travel and sync a commit database in the browser.

``commitdb editor DATABASE`` (or ``--host/--port``, ``--socket-path`` for a served database)
serves one page on 127.0.0.1. Needs the ``editor`` extra (``pip install 'commitdb[editor]'``);
nothing here is imported by ``import commitdb``.
"""

from __future__ import annotations

from commitdb.editor.server import open_database, run_editor

__all__ = ["open_database", "run_editor"]
