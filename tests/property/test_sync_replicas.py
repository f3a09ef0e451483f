"""Three replicas — a file, an in-memory database and a remote server — write concurrently and
synchronise in random orders and modes (SPEC §11). After a final full round of syncs every
replica holds the same commits, and every commit gives the same state on every replica."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commitdb import CommitDatabase, CommitMutableState, CommitSynchronizer, DSMBuilder, Value, ValueUUId
from commitdb.net.background import BackgroundServer

MODEL = """namespace Rep {2d7e9a41-6c3b-4f0e-8d2a-9b1c0e4f5a6d} {
concept Doc;
struct Item { string name; int64 count; set<string> tags; map<string, int64> counters; };
attachment<Doc, Item> item;
};
"""


def _definitions() -> Any:
    builder = DSMBuilder()
    builder.append("rep.dsm", MODEL)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    return definitions


DEFS = _definitions()
NAMES: dict[str, Any] = {}
DEFS.inject(NAMES)
ITEM = NAMES["REP_A_DOC_ITEM"]
FIELDS = {f: NAMES[f"REP_P_ITEM_{f.upper()}"] for f in ("name", "count", "tags", "counters")}
KEYS = [ITEM.create_key(ValueUUId(f"{i}{i}{i}{i}{i}{i}{i}{i}-0000-4000-8000-000000000000")) for i in range(1, 4)]
WORDS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    """One server for the module; each example empties its database first."""
    folder = tempfile.mkdtemp(prefix="sync-replicas-")
    path = str(Path(folder) / "remote.cdb")
    CommitDatabase.create(path).close()
    running = BackgroundServer(path, host="127.0.0.1", port=0).start()
    yield running
    running.stop()
    shutil.rmtree(folder, ignore_errors=True)


def emptied_remote(server: BackgroundServer) -> CommitDatabase:
    db = CommitDatabase.connect("127.0.0.1", server.port)
    db.extend_definitions(DEFS)
    for _ in range(10_000):
        heads = db.head_commit_ids()
        if not heads:
            break
        for head in heads:
            db.delete_commit(head)
    assert not db.commit_ids()
    return db


# --- random work -----------------------------------------------------------------------------------
replica = st.integers(0, 2)
pick = st.integers(0, 1 << 16)
edit = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 2), st.sampled_from(WORDS), st.integers(0, 3)),
    st.tuples(st.just("name"), st.integers(0, 2), st.sampled_from(WORDS)),
    st.tuples(st.just("count"), st.integers(0, 2), st.integers(-2, 2)),
    st.tuples(st.just("tag"), st.integers(0, 2), st.sampled_from(WORDS)),
    st.tuples(st.just("untag"), st.integers(0, 2), st.sampled_from(WORDS)),
    st.tuples(st.just("counter"), st.integers(0, 2), st.sampled_from(WORDS), st.integers(0, 9)),
)
step = st.one_of(
    st.tuples(st.just("commit"), replica, pick, st.lists(edit, min_size=0, max_size=3)),
    st.tuples(st.just("commit"), replica, pick, st.lists(edit, min_size=1, max_size=3)),
    st.tuples(st.just("commit"), replica, pick, st.lists(edit, min_size=1, max_size=3)),
    st.tuples(st.just("root"), replica, st.lists(edit, min_size=1, max_size=2)),
    st.tuples(st.just("merge"), replica, pick, pick),
    st.tuples(st.just("toggle"), replica, pick, pick, st.booleans()),
    st.tuples(st.just("sync"), replica, replica, st.sampled_from(["Sync", "Fetch", "Push"]), st.booleans()),
)


def apply_edits(db: CommitDatabase, parent: Any, label: str, edits: list[Any]) -> Any:
    mutable = CommitMutableState(db.state(parent) if parent is not None else db.initial_state())
    m = mutable.attachment_mutating()
    for e in edits:
        key = KEYS[e[1]]
        if e[0] == "set":
            m.set(ITEM, key, {"name": e[2], "count": e[3], "tags": {e[2]}, "counters": {e[2]: e[3]}})
        elif e[0] == "name":
            m.update(ITEM, key, FIELDS["name"], e[2])
        elif e[0] == "count":
            m.update(ITEM, key, FIELDS["count"], e[2])
        elif e[0] == "tag":
            m.union_in_set(ITEM, key, FIELDS["tags"], {e[2]})
        elif e[0] == "untag":
            m.subtract_in_set(ITEM, key, FIELDS["tags"], {e[2]})
        else:
            m.union_in_map(ITEM, key, FIELDS["counters"], {e[2]: e[3]})
    return db.commit_mutations(label, mutable)


def choose(ids: Any, index: int) -> Any:
    ordered = sorted(ids, key=str)
    return ordered[index % len(ordered)] if ordered else None


def documents(db: CommitDatabase, commit_id: Any) -> dict[str, Any]:
    getting = db.state(commit_id).attachment_getting()
    return {repr(k): Value.dumps(getting.get(ITEM, k), json=True) for k in getting.keys(ITEM)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=12, max_size=45))
def test_replicas_converge(server: BackgroundServer, steps: list[Any]) -> None:
    folder = tempfile.mkdtemp(prefix="sync-replica-")
    replicas: list[CommitDatabase] = []
    try:
        file_db = CommitDatabase.create(str(Path(folder) / "replica.cdb"))
        memory_db = CommitDatabase.create_in_memory()
        replicas = [file_db, memory_db, emptied_remote(server)]
        # The file and memory replicas start without definitions: a sync or a first write
        # brings them.
        synchronizers: dict[tuple[int, int, str], CommitSynchronizer] = {}

        def synchronizer(i: int, j: int, mode: str, reuse: bool) -> CommitSynchronizer:
            if not reuse:
                return CommitSynchronizer(replicas[i], replicas[j], mode)
            return synchronizers.setdefault((i, j, mode), CommitSynchronizer(replicas[i], replicas[j], mode))

        for n, s in enumerate(steps):
            kind, r = s[0], s[1]
            db = replicas[r]
            if kind != "sync" and db.definitions_hexdigest() != DEFS.hexdigest():
                db.extend_definitions(DEFS)
            ids = db.commit_ids()
            if kind == "commit":
                apply_edits(db, choose(ids, s[2]), f"commit {n}", s[3])
            elif kind == "root":
                apply_edits(db, None, f"root {n}", s[2])
            elif kind == "merge":
                heads = sorted(db.head_commit_ids(), key=str)
                a, b = choose(heads, s[2]), choose(heads, s[3])
                if a is not None and b is not None and db.is_mergeable(a, b):
                    db.merge_commit(f"merge {n}", a, b)
            elif kind == "toggle" and ids:
                parent, target = choose(ids, s[2]), choose(ids, s[3])
                toggle = db.disable_commit if s[4] else db.enable_commit
                toggle(f"toggle {n}", parent, target)
            elif kind == "sync" and s[1] != s[2]:
                synchronizer(s[1], s[2], s[3], s[4]).sync()

        # The final full round, partly through synchronizers that already ran.
        for i, j in ((0, 1), (1, 2), (0, 1)):
            synchronizer(i, j, "Sync", True).sync()
        ids = replicas[0].commit_ids()
        event(f"commits: {min(len(ids), 40) // 10 * 10}+ steps {min(len(steps), 40) // 10 * 10}+")
        event(f"heads: {min(len(replicas[0].head_commit_ids()), 3)}")
        assert replicas[1].commit_ids() == ids
        assert replicas[2].commit_ids() == ids
        assert replicas[1].head_commit_ids() == replicas[2].head_commit_ids() == replicas[0].head_commit_ids()
        assert len({db.definitions_hexdigest() for db in replicas}) == 1
        for cid in ids:
            expected = documents(replicas[0], cid)
            assert documents(replicas[1], cid) == expected
            assert documents(replicas[2], cid) == expected
        # Everything is in step: another round transmits nothing.
        for i, j in ((0, 1), (1, 2), (2, 0)):
            assert not CommitSynchronizer(replicas[i], replicas[j], "Sync").sync().need_transmit()
    finally:
        for db in replicas:
            db.close()
        shutil.rmtree(folder, ignore_errors=True)
