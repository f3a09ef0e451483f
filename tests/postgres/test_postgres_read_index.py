"""The persisted read structures on PostgreSQL: random DAGs (forks, merges of merges, toggles)
read back from a fresh connection exactly what the writing connection read and what the
reference model gives (snapshots persisted every 1, 2 or 64 replayed commits), heads and last
commit included: the property tests of the .cdb read index, on PostgreSQL."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "property"))

from test_engine_model import build_world, doc_to_plain
from test_read_index import _read_all

from commitdb import CommitDatabase, ValueCommitId

PG_SETTINGS = settings(max_examples=12, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def cluster(pg_cluster: Any) -> Any:
    return pg_cluster


@PG_SETTINGS
@given(st.data())
def test_a_fresh_connection_reads_what_the_writer_read(cluster: Any, data: st.DataObject) -> None:
    spacing = data.draw(st.sampled_from([1, 2, 64]), label="snapshot spacing")
    with ExitStack() as patches:
        for module in ("commitdb.engine.reading", "commitdb.read_views"):
            patches.enter_context(mock.patch(f"{module}.SNAPSHOT_EVERY", spacing))
        check_world(cluster.new_schema_url(), data)


def check_world(url: str, data: st.DataObject) -> None:
    world = build_world(data, CommitDatabase.create(url))
    written = _read_all(world.db, world, world.commits)
    for c in world.commits:
        expected = world.ref.state(c)
        for key in world.keys:
            doc_id = str(key.instance_id())
            assert written[(c, doc_id)] == doc_to_plain(expected.get(doc_id)), f"{doc_id} at {c} (writer)"
    heads, last = world.db.head_commit_ids(), world.db.last_commit_id()
    sample = world.commits[:6]
    ancestry = {(a, b): a in world.ref.lin(b) for a in sample for b in sample}
    world.db.close()
    db = CommitDatabase.open(url)
    try:
        order = data.draw(st.permutations(world.commits), label="reading order")
        assert _read_all(db, world, order) == written
        assert db.head_commit_ids() == heads
        assert db.last_commit_id() == last
        for (a, b), expected_ancestry in ancestry.items():
            assert db.is_ancestor(ValueCommitId(a), ValueCommitId(b)) == expected_ancestry, (a, b)
    finally:
        db.close()
