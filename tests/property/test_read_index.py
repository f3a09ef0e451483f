"""The persisted read structures: random DAGs (forks, merges of merges, toggles of ancestors and
of non-ancestors) written to a .cdb file read back, after reopening, exactly what the writing
process read and what the reference model of SPEC §6.3 gives — with snapshots persisted after
every replayed commit, so that every snapshot-usability decision is exercised."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_model import build_world, doc_to_plain

from commitdb import CommitDatabase, Value, ValueCommitId

# Every example writes and reopens a file: fewer of them than the in-memory model tests.
FILE_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_all(db: CommitDatabase, world: object, commits: list[str]) -> dict[tuple[str, str], str]:
    att, keys = world.att, world.keys  # type: ignore[attr-defined]
    out = {}
    for c in commits:
        getting = db.state(ValueCommitId(c)).attachment_getting()
        for key in keys:
            out[(c, str(key.instance_id()))] = Value.dumps(getting.get(att, key))
        out[(c, "keys")] = sorted(str(k.instance_id()) for k in getting.keys(att))  # type: ignore[assignment]
    return out


@FILE_SETTINGS
@given(st.data())
def test_reads_after_reopening_equal_the_writing_process(data: st.DataObject) -> None:
    spacing = data.draw(st.sampled_from([1, 2, 64]), label="snapshot spacing")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as patches:
        for module in ("commitdb.engine.reading", "commitdb.read_views"):
            patches.enter_context(mock.patch(f"{module}.SNAPSHOT_EVERY", spacing))
        path = str(Path(tmp) / "random.cdb")
        world = build_world(data, CommitDatabase.create(path))
        written = _read_all(world.db, world, world.commits)
        for c in world.commits:
            expected = world.ref.state(c)
            for key in world.keys:
                doc_id = str(key.instance_id())
                assert written[(c, doc_id)] == doc_to_plain(expected.get(doc_id)), f"{doc_id} at {c} (writer)"
        world.db.close()
        order = data.draw(st.permutations(world.commits), label="reading order")
        sample = order[: max(1, len(order) // 2)]
        for _ in range(2):  # the second reopen starts from snapshots the first one left
            db = CommitDatabase.open(path)
            try:
                assert _read_all(db, world, sample) == {k: v for k, v in written.items() if k[0] in sample}
            finally:
                db.close()
            sample = order


@FILE_SETTINGS
@given(st.data())
def test_heads_last_and_ancestry_after_reopening(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "random.cdb")
        world = build_world(data, CommitDatabase.create(path))
        heads = world.db.head_commit_ids()
        last = world.db.last_commit_id()
        dag = world.db.engine_dag()
        sample = world.commits[:8]
        ancestry = {(a, b): a in world.ref.lin(b) for a in sample for b in sample}
        world.db.close()
        db = CommitDatabase.open(path)
        try:
            assert db.head_commit_ids() == heads == {ValueCommitId(h) for h in dag.heads}
            assert db.last_commit_id() == last
            for (a, b), expected in ancestry.items():
                assert db.is_ancestor(ValueCommitId(a), ValueCommitId(b)) == expected, (a, b)
        finally:
            db.close()
