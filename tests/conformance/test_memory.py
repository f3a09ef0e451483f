"""The conformance suite on the in-memory backend."""

from __future__ import annotations

from commitdb import CommitDatabase
from commitdb.testing import CommitDatabaseConformance


class TestMemory(CommitDatabaseConformance):
    def make_database(self, tmp_path):
        return CommitDatabase.create_in_memory()


class TestMemorySharedStorage(CommitDatabaseConformance):
    """A second CommitDatabase facade over the same in-memory storage stands in for a second
    connection, so the reopen and data_version tests run on memory too."""

    def make_database(self, tmp_path):
        return CommitDatabase.create_in_memory()

    def reopen(self, db):
        return CommitDatabase(db.commit_databasing())


def test_memory_metadata():
    db = CommitDatabase.create_in_memory()
    assert db.path() == "InMemory" and db.documentation() == "In Memory"
