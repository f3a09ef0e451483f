"""An interrupted sync leaves the receiver valid and the next pass completes it (SPEC §11).

A child process copies a few thousand commits (and blobs) between two files and is SIGKILLed
after a random delay; after every kill the receiver must reopen with no dangling reference, and
a final pass must complete the copy, every commit re-hashing on read.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from commitdb import BlobLayout, CommitDatabase, CommitMutableState, CommitSynchronizer, DSMBuilder

ROOT = Path(__file__).resolve().parents[2]
COMMITS = 3000

MODEL = """namespace Resume {8c2f4e1a-5b7d-4a3c-9e6f-1d0b2a4c6e8f} {
concept Doc;
struct Item { string name; int64 count; blob_id picture; };
attachment<Doc, Item> item;
};
"""

# Run by the child: one Fetch pass in small batches and packs, so that a kill can land between
# many transactions (and inside one).
CHILD = """
import sys
import commitdb.sync as sync
from commitdb import CommitDatabase, CommitSynchronizer
sync.COMMIT_BATCH = int(sys.argv[3])
source, target = CommitDatabase.open(sys.argv[1]), CommitDatabase.open(sys.argv[2])
print("ready", flush=True)
CommitSynchronizer(source, target, "Fetch", size_of_packed_blobs=3000).sync()
print("done", flush=True)
"""


def _names() -> tuple[Any, dict[str, Any]]:
    builder = DSMBuilder()
    builder.append("resume.dsm", MODEL)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    names: dict[str, Any] = {}
    definitions.inject(names)
    return definitions, names


@pytest.fixture(scope="module")
def source_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A file of COMMITS commits: a main line with side branches merged back, toggles of
    commits on other branches, and commits referencing blobs."""
    definitions, names = _names()
    item, count, picture = names["RESUME_A_DOC_ITEM"], names["RESUME_P_ITEM_COUNT"], names["RESUME_P_ITEM_PICTURE"]
    keys = [item.create_key() for _ in range(8)]
    db = CommitDatabase.create_in_memory()
    db.extend_definitions(definitions)
    mutable = CommitMutableState(db.initial_state())
    for i, key in enumerate(keys):
        mutable.attachment_mutating().set(item, key, {"name": f"doc {i}", "count": 0})
    head = db.commit_mutations("root", mutable)
    made = 1
    while made < COMMITS:
        mutable = CommitMutableState(db.state(head))
        if made % 50 == 0:
            blob = db.create_blob(BlobLayout(), os.urandom(1000 + made))
            mutable.attachment_mutating().update(item, keys[made % 8], picture, blob)
        else:
            mutable.attachment_mutating().update(item, keys[made % 8], count, made)
        head = db.commit_mutations(f"commit {made}", mutable)
        made += 1
        if made % 97 == 0:
            side = CommitMutableState(db.state(head))
            side.attachment_mutating().update(item, keys[0], count, -made)
            branch = db.commit_mutations(f"side {made}", side)
            toggled = db.disable_commit(f"disable {made}", branch, head)
            main = CommitMutableState(db.state(head))
            main.attachment_mutating().update(item, keys[1], count, -made)
            head = db.merge_commit(f"merge {made}", db.commit_mutations(f"main {made}", main), toggled)
            made += 4
    path = str(tmp_path_factory.mktemp("resume") / "source.cdb")
    CommitSynchronizer(db, CommitDatabase.create(path), "Fetch").sync()
    return path


def check_valid(path: str, source_ids: set[Any]) -> set[Any]:
    """Reopen ``path``: every parent and target present, every referenced blob present, every
    commit re-hashes when read; returns its commit ids."""
    db = CommitDatabase.open(path)
    try:
        ids = db.commit_ids()
        assert ids <= source_ids
        raw = {c.bytes_value() for c in ids}
        blobs = db.blob_ids()
        backend, codec, definitions = db.commit_databasing(), db.stream_codec_instancing(), db.definitions()
        for cid in ids:
            header = db.commit(cid).header()  # re-verifies the id
            for ref in (header.parent_commit_id(), header.target_commit_id()):
                assert not ref.is_valid() or ref.bytes_value() in raw, f"dangling {ref} in {cid}"
            if header.commit_type() == "Mutations":
                assert backend.commit_data(cid).blob_ids(codec, definitions) <= blobs
        heads = db.head_commit_ids()
        if heads:
            db.state(sorted(heads, key=str)[0]).attachment_getting()
        return ids
    finally:
        db.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_sync_resumes(source_path: str, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    source = CommitDatabase.open(source_path, readonly=True)
    source_ids = source.commit_ids()
    source_blobs = source.blob_ids()
    source.close()
    target_path = str(tmp_path / "target.cdb")
    CommitDatabase.create(target_path).close()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    kills, partial = 0, []
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, source_path, target_path, str(rng.choice([50, 200]))],
                                 stdout=subprocess.PIPE, env=env, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.3))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                kills += 1
        finally:
            child.wait(30)
        partial.append(len(check_valid(target_path, source_ids)))
    assert kills >= 1, "the child finished before every kill: make the copy longer"
    # The next, uninterrupted pass completes the copy.
    source, target = CommitDatabase.open(source_path), CommitDatabase.open(target_path)
    try:
        info = CommitSynchronizer(source, target, "Fetch").sync()
        assert info.fetch().commits() == len(source_ids) - partial[-1]
        assert target.blob_ids() == source_blobs
        heads = source.head_commit_ids()
        assert target.head_commit_ids() == heads
        for head in heads:
            assert target.commit_header(head) == source.commit_header(head)
    finally:
        source.close()
        target.close()
    assert check_valid(target_path, source_ids) == source_ids
