"""CommitSynchronizer (SPEC §11): directions, counts, the change short-circuit, definitions,
verbatim and ordered transfer, divergent heads, idempotence, blob packs, and every pair of
backends (file, memory, remote)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import commitdb.sync as sync_module
from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitMutableState,
    CommitSynchronizer,
    CommitSynchronizerInfo,
    DefinitionsConflictError,
    DSMBuilder,
    ValidationError,
    Value,
    ValueBlobId,
)
from commitdb.net.background import BackgroundServer
from commitdb.testing.models import EXTRA_DSM, TUTO_CONFLICT_DSM, TUTO_DSM

MODEL = """
namespace S {6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b} {
concept Item;
struct Card { string name; int64 n; set<string> tags; blob_id picture; };
attachment<Item, Card> card;
};
"""


def definitions_of(text: str) -> Any:
    builder = DSMBuilder()
    builder.append("model.dsm", text)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    return definitions


DEFS = definitions_of(MODEL)
NAMES: dict[str, Any] = {}
DEFS.inject(NAMES)
CARD = NAMES["S_A_ITEM_CARD"]
KEYS = [CARD.create_key() for _ in range(4)]


# --- databases of every kind ---------------------------------------------------------------------
class Factory:
    """Makes empty databases of a kind: 'memory', 'file' or 'remote' (a client of a server
    thread serving a fresh file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.servers: list[BackgroundServer] = []
        self.opened: list[CommitDatabase] = []
        self.count = 0

    def make(self, kind: str, definitions: Any = DEFS) -> CommitDatabase:
        self.count += 1
        path = str(self.folder / f"db{self.count}.cdb")
        if kind == "memory":
            db = CommitDatabase.create_in_memory()
        elif kind == "file":
            db = CommitDatabase.create(path)
        else:
            CommitDatabase.create(path).close()
            server = BackgroundServer(path, host="127.0.0.1", port=0).start()
            self.servers.append(server)
            db = CommitDatabase.connect("127.0.0.1", server.port)
        if definitions is not None:
            db.extend_definitions(definitions)
        self.opened.append(db)
        return db

    def close(self) -> None:
        for db in self.opened:
            db.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[Factory]:
    made = Factory(tmp_path)
    yield made
    made.close()


def commit(db: CommitDatabase, parent: Any, label: str, key: int = 0, name: str | None = None,
           tag: str | None = None, picture: Any = None) -> Any:
    """A Mutations commit on top of ``parent`` (None: a new root)."""
    mutable = CommitMutableState(db.state(parent) if parent is not None else db.initial_state())
    mutating = mutable.attachment_mutating()
    if not mutating.get(CARD, KEYS[key]).is_nil() and name is not None:
        mutating.update(CARD, KEYS[key], NAMES["S_P_CARD_NAME"], name)
    else:
        mutating.set(CARD, KEYS[key], {"name": name or label, "n": len(label)})
    if tag is not None:
        mutating.union_in_set(CARD, KEYS[key], NAMES["S_P_CARD_TAGS"], {tag})
    if picture is not None:
        mutating.update(CARD, KEYS[key], NAMES["S_P_CARD_PICTURE"], picture)
    return db.commit_mutations(label, mutable)


def chain(db: CommitDatabase, length: int, label: str, parent: Any = None) -> list[Any]:
    ids = []
    for i in range(length):
        parent = commit(db, parent, f"{label} {i}", key=i % len(KEYS), tag=f"{label}{i}")
        ids.append(parent)
    return ids


def documents(db: CommitDatabase, commit_id: Any) -> dict[str, Any]:
    state = db.state(commit_id)
    getting = state.attachment_getting()
    out = {}
    for attachment in db.definitions().attachments():
        for key in getting.keys(attachment):
            out[f"{attachment.runtime_id()!r}/{key!r}"] = Value.dumps(getting.get(attachment, key), json=True)
    return out


def assert_replicas(a: CommitDatabase, b: CommitDatabase) -> None:
    """Same commits, verbatim (header incl. label and timestamp, data bytes), same heads and
    same states at every commit."""
    assert a.commit_ids() == b.commit_ids()
    assert a.head_commit_ids() == b.head_commit_ids()
    for cid in a.commit_ids():
        assert a.commit_header(cid) == b.commit_header(cid)
        assert a.commit_databasing().commit_data(cid).data() == b.commit_databasing().commit_data(cid).data()
        assert documents(a, cid) == documents(b, cid)
    assert a.blob_ids() == b.blob_ids()


def spy(monkeypatch: pytest.MonkeyPatch, db: CommitDatabase, events: list[tuple[str, Any]]) -> None:
    """Record, on ``db``, every imported commit ('commit', header) and blob pack ('blobs', pack)."""
    import_commits, import_blobs = db.import_commits, db.import_blobs

    def commits(batch: list[Any]) -> int:
        events.extend(("commit", c.header()) for c in batch)
        return import_commits(batch)

    def blobs(pack: list[Any]) -> int:
        events.append(("blobs", list(pack)))
        return import_blobs(pack)

    monkeypatch.setattr(db, "import_commits", commits)
    monkeypatch.setattr(db, "import_blobs", blobs)


# --- directions and counts -------------------------------------------------------------------------
def test_fetch_push_sync_directions(factory: Factory) -> None:
    for mode in ("Fetch", "Push", "Sync"):
        source, target = factory.make("memory"), factory.make("memory")
        ours = chain(source, 3, "source")
        theirs = chain(target, 2, "target")
        info = CommitSynchronizer(source, target, mode).sync()
        assert isinstance(info, CommitSynchronizerInfo)
        fetched = mode in ("Fetch", "Sync")
        pushed = mode in ("Push", "Sync")
        assert info.fetch().commits() == (3 if fetched else 0)
        assert info.push().commits() == (2 if pushed else 0)
        assert set(ours) <= target.commit_ids() if fetched else not set(ours) & target.commit_ids()
        assert set(theirs) <= source.commit_ids() if pushed else not set(theirs) & source.commit_ids()
        assert len(source.commit_ids()) == (5 if pushed else 3)
        assert len(target.commit_ids()) == (5 if fetched else 2)
        assert info.need_transmit() and not info.updated_definitions()


def test_info_counts_bytes(factory: Factory) -> None:
    source, target = factory.make("memory"), factory.make("memory")
    ids = chain(source, 5, "c")
    merged = source.merge_commit("m", commit(source, ids[1], "side"), ids[-1])
    blob = source.create_blob(BlobLayout(), b"x" * 300)
    commit(source, merged, "pic", picture=blob)
    info = CommitSynchronizer(source, target, "Fetch").sync()
    backend = source.commit_databasing()
    assert info.fetch().commits() == 8
    assert info.fetch().commit_bytes() == sum(len(backend.commit_data(c).data()) for c in source.commit_ids())
    assert info.fetch().blobs() == 1 and info.fetch().blob_bytes() == 300
    assert info.push().commits() == info.push().commit_bytes() == info.push().blobs() == 0
    assert info.push().blob_bytes() == 0 and not info.push().need_transmit()
    assert info.fetch().need_transmit() and info.need_transmit()
    assert_replicas(source, target)


def test_invalid_arguments(factory: Factory) -> None:
    a, b = factory.make("memory"), factory.make("memory")
    with pytest.raises(ValidationError):
        CommitSynchronizer(a, b, "Both")
    with pytest.raises(ValidationError):
        CommitSynchronizer(a, b, "Sync", size_of_packed_blobs=0)
    assert CommitSynchronizer(a, b).mode() == "Sync"


# --- the change short-circuit --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["memory", "file", "remote"])
def test_second_pass_returns_at_once(factory: Factory, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = factory.make(kind), factory.make("file")
    chain(source, 4, "c")
    synchronizer = CommitSynchronizer(source, target)
    assert synchronizer.sync().fetch().commits() == 4

    def no_work(*args: Any) -> Any:
        raise AssertionError("the second pass compared the DAGs")

    with monkeypatch.context() as patch:
        patch.setattr(sync_module, "ordered_missing", no_work)
        again = synchronizer.sync()
    assert not again.need_transmit() and not again.updated_definitions()
    # A write on either side, through the very connections the synchronizer uses, is seen.
    head = commit(target, next(iter(target.head_commit_ids())), "on the target")
    assert synchronizer.sync().push().commits() == 1
    commit(source, head, "on the source")
    assert synchronizer.sync().fetch().commits() == 1
    blob = source.create_blob(BlobLayout(), b"lonely")
    assert synchronizer.sync().fetch().blobs() == 1
    assert target.blob_exists(blob)
    assert not synchronizer.sync().need_transmit()
    assert_replicas(source, target)


def test_other_connection_writes_are_seen(factory: Factory, tmp_path: Path) -> None:
    source = factory.make("file")
    target = factory.make("memory")
    synchronizer = CommitSynchronizer(source, target, "Fetch")
    chain(source, 2, "a")
    assert synchronizer.sync().fetch().commits() == 2
    other = CommitDatabase.open(source.path())
    try:
        chain(other, 3, "b", parent=next(iter(other.head_commit_ids())))
    finally:
        other.close()
    assert synchronizer.sync().fetch().commits() == 3
    assert_replicas(source, target)


# --- definitions ---------------------------------------------------------------------------------
def test_definitions_extended_additively(factory: Factory) -> None:
    source = factory.make("memory", definitions=definitions_of(TUTO_DSM))
    source.extend_definitions(DEFS)
    chain(source, 2, "c")
    target = factory.make("file", definitions=definitions_of(EXTRA_DSM))
    before_source, before_target = source.definitions_hexdigest(), target.definitions_hexdigest()
    info = CommitSynchronizer(source, target, "Sync").sync()
    assert info.updated_definitions() and info.need_transmit()
    assert source.definitions_hexdigest() == target.definitions_hexdigest()
    assert source.definitions_hexdigest() not in (before_source, before_target)
    types = sorted(str(t) for t in target.definitions().types())
    assert "Extra::Note" in types and "Tuto::Login" in types and "S::Card" in types
    assert_replicas(source, target)
    again = CommitSynchronizer(source, target, "Sync").sync()
    assert not again.updated_definitions() and not again.need_transmit()


def test_empty_receiver_gets_the_definitions(factory: Factory) -> None:
    source, target = factory.make("file"), factory.make("memory", definitions=None)
    chain(source, 3, "c")
    info = CommitSynchronizer(source, target, "Fetch").sync()
    assert info.updated_definitions() and info.fetch().commits() == 3
    assert target.definitions_hexdigest() == source.definitions_hexdigest()
    assert_replicas(source, target)


@pytest.mark.parametrize("mode", ["Fetch", "Push", "Sync"])
def test_conflicting_definitions_change_nothing(factory: Factory, mode: str) -> None:
    source = factory.make("memory", definitions=definitions_of(TUTO_DSM))
    source.extend_definitions(DEFS)
    chain(source, 2, "s")
    target = factory.make("file", definitions=definitions_of(TUTO_CONFLICT_DSM))
    target.extend_definitions(DEFS)
    chain(target, 2, "t")
    state = [(db.definitions_hexdigest(), db.commit_ids(), db.blob_ids()) for db in (source, target)]
    with pytest.raises(DefinitionsConflictError):
        CommitSynchronizer(source, target, mode).sync()
    assert [(db.definitions_hexdigest(), db.commit_ids(), db.blob_ids()) for db in (source, target)] == state


# --- verbatim, ordered transfer ----------------------------------------------------------------------
def build_dag(db: CommitDatabase) -> list[Any]:
    """Two roots, branches, merges both ways, toggles whose target lives on another branch,
    an empty program, and an Enable of a Disable."""
    main = chain(db, 4, "main")
    side = chain(db, 3, "side", parent=main[1])
    other_root = chain(db, 2, "root2")
    toggled = db.disable_commit("disable side", main[-1], side[1])
    merged = db.merge_commit("merge", toggled, side[-1])
    back = db.merge_commit("merge back", commit(db, side[-1], "side more"), main[2])
    enabled = db.enable_commit("enable", back, toggled)
    undo = db.disable_commit("disable other root", enabled, other_root[0])
    empty = db.commit_mutations("empty", CommitMutableState(db.state(undo)))
    return [*main, *side, *other_root, toggled, merged, back, enabled, undo, empty]


def test_commits_cross_verbatim_in_topological_order(factory: Factory, monkeypatch: pytest.MonkeyPatch,
                                                     clock: list[float]) -> None:
    source, target = factory.make("file"), factory.make("memory")
    build_dag(source)
    events: list[tuple[str, Any]] = []
    spy(monkeypatch, target, events)
    info = CommitSynchronizer(source, target, "Fetch").sync()
    assert info.fetch().commits() == len(source.commit_ids())
    seen: set[bytes] = set()
    zero = bytes(20)
    for kind, header in events:
        assert kind == "commit"
        assert header.parent in seen or header.parent == zero
        assert header.target in seen or header.target == zero
        seen.add(header.id)
    assert_replicas(source, target)
    assert target.commit_header(next(iter(source.commit_ids()))).timestamp() >= 1000.0


def test_topological_order_when_creation_order_is_not(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that got a branch first and its base later (through another replica) still
    sends everything parents-first."""
    a, b, c = factory.make("memory"), factory.make("memory"), factory.make("memory")
    base = chain(a, 2, "base")
    CommitSynchronizer(a, b).sync()
    branch = chain(b, 3, "branch", parent=base[-1])
    b.merge_commit("merge", b.disable_commit("toggle", branch[-1], base[0]), commit(b, base[0], "fork"))
    events: list[tuple[str, Any]] = []
    spy(monkeypatch, c, events)
    CommitSynchronizer(b, c, "Fetch").sync()
    CommitSynchronizer(c, a, "Fetch").sync()
    order = [h.id for _, h in events]
    for _, h in events:
        for ref in (h.parent, h.target):
            if ref != bytes(20):
                assert order.index(ref) < order.index(h.id)
    assert_replicas(a, c)
    assert_replicas(b, c)


def test_divergent_heads_are_kept(factory: Factory) -> None:
    a, b = factory.make("memory"), factory.make("file")
    root = commit(a, None, "root")
    CommitSynchronizer(a, b).sync()
    mine = commit(a, root, "mine", name="A")
    theirs = commit(b, root, "theirs", name="B")
    another_root = commit(b, None, "another root", key=1)
    info = CommitSynchronizer(a, b).sync()
    assert info.fetch().commits() == 1 and info.push().commits() == 2
    heads = {mine, theirs, another_root}
    assert a.head_commit_ids() == b.head_commit_ids() == heads
    assert_replicas(a, b)


def test_idempotent(factory: Factory) -> None:
    a, b = factory.make("file"), factory.make("memory")
    build_dag(a)
    chain(b, 3, "b")
    first = CommitSynchronizer(a, b).sync()
    assert first.fetch().commits() and first.push().commits() == 3
    snapshot = (a.commit_ids(), b.commit_ids(), a.head_commit_ids())
    for mode in ("Sync", "Fetch", "Push"):
        for source, target in ((a, b), (b, a)):
            info = CommitSynchronizer(source, target, mode).sync()
            assert not info.need_transmit(), info
    assert (a.commit_ids(), b.commit_ids(), a.head_commit_ids()) == snapshot
    assert_replicas(a, b)


def test_receiver_already_holding_part(factory: Factory) -> None:
    """Commits the receiver already has are not sent again; the rest arrive."""
    a, b = factory.make("memory"), factory.make("memory")
    ids = chain(a, 6, "c")
    CommitSynchronizer(a, b, "Fetch").sync()
    chain(a, 4, "more", parent=ids[-1])
    info = CommitSynchronizer(a, b, "Fetch").sync()
    assert info.fetch().commits() == 4
    assert_replicas(a, b)


# --- blobs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("receiver_kind", ["memory", "file", "remote"])
def test_blob_packs_respect_the_bound(factory: Factory, monkeypatch: pytest.MonkeyPatch,
                                      receiver_kind: str) -> None:
    pack_size = 1000
    source, target = factory.make("file"), factory.make(receiver_kind)
    payloads = [os.urandom(3 * pack_size + i) for i in range(3)] + [bytes([i]) * (40 + i) for i in range(60)]
    blobs = [source.create_blob(BlobLayout(), data) for data in payloads]
    big, small = blobs[:3], blobs[3:]
    target_blob = target.create_blob(BlobLayout(), b"only on the target")
    head = None
    for i, blob in enumerate(big + small[:5]):
        head = commit(source, head, f"pic {i}", key=i % 4, picture=blob)
    events: list[tuple[str, Any]] = []
    spy(monkeypatch, target, events)
    info = CommitSynchronizer(source, target, "Sync", size_of_packed_blobs=pack_size).sync()
    packs = [pack for kind, pack in events if kind == "blobs"]
    assert sum(len(p) for p in packs) == len(big) + len(small) == info.fetch().blobs()
    for pack in packs:
        size = sum(len(b.data) for b in pack)
        assert size <= pack_size or len(pack) == 1, [len(b.data) for b in pack]
    assert len(packs) >= 3 + 3  # each big one alone, the small ones in several packs
    assert info.fetch().blob_bytes() == sum(len(data) for data in payloads)
    assert info.push().blobs() == 1 and source.blob_exists(target_blob)
    for blob, data in zip(blobs, payloads, strict=True):
        assert target.commit_databasing().get_blob(blob.bytes_value()).data == data
    assert_replicas(source, target)


def test_mutations_arrive_after_their_blobs(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = factory.make("memory"), factory.make("memory")
    head = commit(source, None, "root")
    pictures = {}
    for i in range(5):
        blob = source.create_blob(BlobLayout(), bytes([i]) * 700)
        head = commit(source, head, f"pic {i}", picture=blob)
        pictures[head.bytes_value()] = blob.bytes_value()
    events: list[tuple[str, Any]] = []
    spy(monkeypatch, target, events)
    CommitSynchronizer(source, target, "Fetch", size_of_packed_blobs=1500).sync()
    arrived: set[bytes] = set()
    for kind, item in events:
        if kind == "blobs":
            arrived.update(b.blob_id for b in item)
        elif item.id in pictures:
            assert pictures[item.id] in arrived
    assert {b.bytes_value() for b in target.blob_ids()} == set(pictures.values())
    assert_replicas(source, target)
    assert target.state(head).attachment_getting().get(CARD, KEYS[0]).unwrap().picture == ValueBlobId(
        pictures[head.bytes_value()])


# --- every pair of backends -----------------------------------------------------------------------
PAIRS = [("file", "memory"), ("memory", "file"), ("memory", "remote"), ("remote", "memory"),
         ("file", "remote"), ("remote", "file"), ("remote", "remote")]


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS)
def test_between_backends(factory: Factory, source_kind: str, target_kind: str) -> None:
    source, target = factory.make(source_kind), factory.make(target_kind, definitions=None)
    build_dag(source)
    blob = source.create_blob(BlobLayout(), b"picture bytes")
    commit(source, next(iter(source.head_commit_ids())), "with a picture", picture=blob)
    chain(target, 0, "none")
    info = CommitSynchronizer(source, target, "Sync", size_of_packed_blobs=10).sync()
    assert info.updated_definitions() and info.fetch().commits() == len(source.commit_ids())
    assert info.fetch().blobs() == 1
    assert_replicas(source, target)
    mine = chain(target, 2, "target", parent=next(iter(target.head_commit_ids())))
    info = CommitSynchronizer(source, target, "Sync").sync()
    assert info.push().commits() == 2 and info.fetch().commits() == 0
    assert set(mine) <= source.commit_ids()
    assert_replicas(source, target)


def test_progress_callback(factory: Factory) -> None:
    source, target = factory.make("memory"), factory.make("memory")
    chain(source, 3, "c")
    source.create_blob(BlobLayout(), b"abc")
    calls: list[tuple[str, int, int]] = []
    CommitSynchronizer(source, target, "Fetch").sync(progress=lambda *a: calls.append(a))
    assert ("commits", 3, 3) in calls and ("blobs", 1, 1) in calls


# --- codecs ----------------------------------------------------------------------------------------
def token_file(path: Path) -> CommitDatabase:
    """A file whose CodecName is StreamTokenBinary (as the reference may write them)."""
    import sqlite3

    from commitdb import Definitions

    CommitDatabase.create(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'CodecName'", (b"StreamTokenBinary",))
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'Definitions'", (Definitions().encode(),))
    conn.commit()
    conn.close()
    db = CommitDatabase.open(str(path))
    db.extend_definitions(DEFS)
    return db


def test_token_codec_files_sync_with_each_other(factory: Factory, tmp_path: Path) -> None:
    a, b = token_file(tmp_path / "a.cdb"), token_file(tmp_path / "b.cdb")
    factory.opened += [a, b]
    build_dag(a)
    chain(b, 2, "b")
    info = CommitSynchronizer(a, b).sync()
    assert info.fetch().commits() and info.push().commits() == 2
    assert_replicas(a, b)


def test_different_codecs_are_refused(factory: Factory, tmp_path: Path) -> None:
    token, plain = token_file(tmp_path / "token.cdb"), factory.make("memory")
    factory.opened.append(token)
    chain(token, 2, "t")
    chain(plain, 2, "p")
    before = (token.commit_ids(), plain.commit_ids())
    for mode in ("Fetch", "Push", "Sync"):
        with pytest.raises(ValidationError, match="codec"):
            CommitSynchronizer(token, plain, mode).sync()
    assert (token.commit_ids(), plain.commit_ids()) == before
