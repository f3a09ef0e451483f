"""The conformance suite on the PostgreSQL backend: each test gets a fresh database in the
session's throwaway cluster; reopening opens the same URL."""

from __future__ import annotations

import pytest

from commitdb import CommitDatabase
from commitdb.testing import CommitDatabaseConformance


class TestPostgres(CommitDatabaseConformance):
    @pytest.fixture(autouse=True)
    def _cluster(self, pg_cluster):
        self.cluster = pg_cluster

    def make_database(self, tmp_path):
        return CommitDatabase.create(self.cluster.new_schema_url())

    def reopen(self, db):
        return CommitDatabase.open(db.path())
