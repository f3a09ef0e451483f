"""The conformance suite every storage backend runs (memory, SQLite, remote-TCP, remote-unix).

Usage, in a test module::

    from commitdb import CommitDatabase
    from commitdb.testing import CommitDatabaseConformance

    class TestSQLite(CommitDatabaseConformance):
        def make_database(self, tmp_path):
            return CommitDatabase.create(str(tmp_path / "suite.cdb"))

        def reopen(self, db):                       # optional; None = cannot be reopened
            return CommitDatabase.open(db.path())

Every ``test_*`` method of the base class then runs against the backend. ``make_database`` may
be called more than once per test (with distinct directories) when a test needs two databases.
"""

from __future__ import annotations

import pytest

# Assertions in the shipped suite get pytest's detailed failure messages.
pytest.register_assert_rewrite("commitdb.testing.suite")

from commitdb.testing.models import TUTO_DSM  # noqa: E402
from commitdb.testing.suite import CommitDatabaseConformance, Tuto  # noqa: E402

__all__ = ["TUTO_DSM", "CommitDatabaseConformance", "Tuto"]
