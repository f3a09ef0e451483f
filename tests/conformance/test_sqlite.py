"""The conformance suite on the SQLite (.cdb file) backend; reopening opens the same file."""

from __future__ import annotations

from commitdb import CommitDatabase
from commitdb.testing import CommitDatabaseConformance


class TestSQLite(CommitDatabaseConformance):
    def make_database(self, tmp_path):
        return CommitDatabase.create(str(tmp_path / "suite.cdb"))

    def reopen(self, db):
        return CommitDatabase.open(db.path())
