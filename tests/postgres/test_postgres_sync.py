"""A .cdb file synchronised into PostgreSQL and back, and PostgreSQL behind a server: the
synchronizer cannot tell the backends apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitMutableState,
    CommitSynchronizer,
    DatabaseExistsError,
    DSMBuilder,
    IncompatibleDatabaseError,
    ReadOnlyError,
    Value,
)
from commitdb.net.background import BackgroundServer

MODEL = """
namespace S {6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b} {
concept Item;
struct Card { string name; int64 n; set<string> tags; blob_id picture; };
attachment<Item, Card> card;
};
"""


def definitions() -> Any:
    builder = DSMBuilder()
    builder.append("model.dsm", MODEL)
    report, _, defs = builder.parse()
    assert not report.has_error(), str(report)
    return defs


DEFS = definitions()
NAMES: dict[str, Any] = {}
DEFS.inject(NAMES)
CARD = NAMES["S_A_ITEM_CARD"]
KEYS = [CARD.create_key() for _ in range(3)]


def commit(db: CommitDatabase, parent: Any, label: str, key: int, picture: Any = None) -> Any:
    mutable = CommitMutableState(db.state(parent) if parent is not None else db.initial_state())
    mutating = mutable.attachment_mutating()
    if mutating.get(CARD, KEYS[key]).is_nil():
        mutating.set(CARD, KEYS[key], {"name": label, "n": len(label)})
    else:
        mutating.update(CARD, KEYS[key], NAMES["S_P_CARD_NAME"], label)
    mutating.union_in_set(CARD, KEYS[key], NAMES["S_P_CARD_TAGS"], {label})
    if picture is not None:
        mutating.update(CARD, KEYS[key], NAMES["S_P_CARD_PICTURE"], picture)
    return db.commit_mutations(label, mutable)


def history(db: CommitDatabase) -> None:
    """Two branches, a blob, a disabled commit, a merge."""
    picture = db.create_blob(BlobLayout(), b"\x89PNG picture bytes" * 50)
    a = commit(db, None, "a", 0)
    b = commit(db, a, "b", 1, picture)
    c = commit(db, a, "c", 2)
    d = commit(db, c, "d", 0)
    e = db.disable_commit("no d", d, d)
    db.merge_commit("merge", b, e)


def documents(db: CommitDatabase, commit_id: Any) -> dict[str, Any]:
    getting = db.state(commit_id).attachment_getting()
    return {repr(key): Value.dumps(getting.get(CARD, key), json=True) for key in getting.keys(CARD)}


def assert_replicas(a: CommitDatabase, b: CommitDatabase) -> None:
    assert a.commit_ids() == b.commit_ids()
    assert a.head_commit_ids() == b.head_commit_ids()
    assert a.definitions().hexdigest() == b.definitions().hexdigest()
    assert a.commit_databasing().definitions_bytes() == b.commit_databasing().definitions_bytes()
    for cid in a.commit_ids():
        assert a.commit_header(cid) == b.commit_header(cid)
        assert a.commit_databasing().commit_data(cid).data() == b.commit_databasing().commit_data(cid).data()
        assert documents(a, cid) == documents(b, cid)
    assert a.blob_ids() == b.blob_ids()
    assert a.last_commit_id() == b.last_commit_id()


def test_a_file_into_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    source = CommitDatabase.create(str(tmp_path / "source.cdb"))
    source.extend_definitions(DEFS)
    history(source)
    store = CommitDatabase.create(pg_url)
    info = CommitSynchronizer(source, store).sync()
    assert info.fetch().commits() == len(source.commit_ids()) and info.fetch().blobs() == 1
    assert_replicas(source, store)
    # Reopened from its URL, the store answers the same (from its persisted read index).
    store.close()
    store = CommitDatabase.open(pg_url)
    assert_replicas(source, store)
    # New work on the store, then back into a fresh file.
    (head,) = store.head_commit_ids()
    commit(store, head, "on postgres", 1)
    back = CommitDatabase.create(str(tmp_path / "back.cdb"))
    CommitSynchronizer(store, back).sync()
    assert_replicas(store, back)
    # And the file's original learns it too: both directions agree.
    CommitSynchronizer(source, store).sync()
    assert_replicas(source, back)
    for db in (source, store, back):
        db.close()


def test_labels_cross_verbatim_nul_and_all(tmp_path: Path, pg_url: str) -> None:
    source = CommitDatabase.create(str(tmp_path / "labels.cdb"))
    source.extend_definitions(DEFS)
    parent = None
    labels = ["nul\x00inside", "accents é ü 漢字 🙂", "", "line\nbreak\ttab", "\x00"]
    for label in labels:
        parent = source.commit_mutations(label, CommitMutableState(
            source.state(parent) if parent is not None else source.initial_state()))
    store = CommitDatabase.create(pg_url)
    CommitSynchronizer(source, store).sync()
    store.close()
    store = CommitDatabase.open(pg_url)
    assert sorted(store.commit_header(c).label() for c in store.commit_ids()) == sorted(labels)
    back = CommitDatabase.create(str(tmp_path / "back.cdb"))
    CommitSynchronizer(store, back).sync()
    assert_replicas(source, back)
    for db in (source, store, back):
        db.close()


def test_a_server_on_postgres_syncs_with_a_file(tmp_path: Path, pg_url: str) -> None:
    CommitDatabase.create(pg_url).close()
    with BackgroundServer(pg_url, host="127.0.0.1", port=0) as server:
        client = CommitDatabase.connect("127.0.0.1", server.port)
        client.extend_definitions(DEFS)
        history(client)
        local = CommitDatabase.create(str(tmp_path / "local.cdb"))
        CommitSynchronizer(client, local).sync()
        assert_replicas(client, local)
        direct = CommitDatabase.open(pg_url)
        assert_replicas(direct, local)
        client.close()
        direct.close()
        local.close()


def test_a_server_on_a_file_syncs_with_postgres_both_ways(tmp_path: Path, pg_url: str) -> None:
    path = str(tmp_path / "served.cdb")
    CommitDatabase.create(path).close()
    store = CommitDatabase.create(pg_url)
    store.extend_definitions(DEFS)
    history(store)
    with BackgroundServer(path, host="127.0.0.1", port=0) as server:
        client = CommitDatabase.connect("127.0.0.1", server.port)
        CommitSynchronizer(client, store).sync()  # PostgreSQL -> the served file
        assert_replicas(store, client)
        (head,) = client.head_commit_ids()
        commit(client, head, "through the file's server", 2)
        CommitSynchronizer(store, client).sync()  # and back
        assert_replicas(client, store)
        client.close()
    store.close()


def test_urls_are_checked(pg_cluster: Any, pg_url: str) -> None:
    with pytest.raises(IncompatibleDatabaseError, match=r"no commit database|does not exist"):
        CommitDatabase.open(pg_url)
    assert not CommitDatabase.is_compatible(pg_url)
    db = CommitDatabase.create(pg_url, documentation="shared store")
    assert CommitDatabase.is_compatible(pg_url)
    with pytest.raises(DatabaseExistsError, match="already holds one"):
        CommitDatabase.create(pg_url)
    assert db.documentation() == "shared store" and db.path() == pg_url
    reader = CommitDatabase.open(pg_url, readonly=True)
    with pytest.raises(ReadOnlyError):
        reader.extend_definitions(DEFS)
    db.extend_definitions(DEFS)
    assert reader.definitions().hexdigest() == DEFS.hexdigest()  # data_version moved: re-read
    reader.close()
    db.close()
    unreachable = f"postgresql://postgres:secret@127.0.0.1:{pg_cluster.port}/nowhere"
    with pytest.raises(IncompatibleDatabaseError) as caught:
        CommitDatabase.open(unreachable)
    assert "secret" not in str(caught.value)
    from commitdb.net.serve import serve

    with pytest.raises(IncompatibleDatabaseError, match="cannot serve") as caught:
        serve(unreachable, host="127.0.0.1", port=0)
    assert "secret" not in str(caught.value) and "postgres:***@" in str(caught.value)
    with_password = CommitDatabase.open(pg_url.replace("postgres@", "postgres:secret@"))  # trust: ignored
    assert "secret" not in repr(with_password) and with_password.path().count("secret") == 1
    with_password.close()
