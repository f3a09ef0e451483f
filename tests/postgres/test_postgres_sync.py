"""A .cdb file synchronised into PostgreSQL and back, and PostgreSQL behind a server: the
synchronizer cannot tell the backends apart."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitMutableState,
    CommitSynchronizer,
    DatabaseExistsError,
    IncompatibleDatabaseError,
    ReadOnlyError,
)
from commitdb.net.background import BackgroundServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_sync import DEFS, MODEL, commit  # noqa: F401 (MODEL: for the tools' tests)
from test_sync import assert_replicas as assert_same_commits


def history(db: CommitDatabase) -> None:
    """Two branches, a blob, a disabled commit, a merge."""
    picture = db.create_blob(BlobLayout(), b"\x89PNG picture bytes" * 50)
    a = commit(db, None, "a", key=0, tag="a")
    b = commit(db, a, "b", key=1, tag="b", picture=picture)
    c = commit(db, a, "c", key=2, tag="c")
    d = commit(db, c, "d", key=0, name="d")
    e = db.disable_commit("no d", d, d)
    db.merge_commit("merge", b, e)


def assert_replicas(a: CommitDatabase, b: CommitDatabase) -> None:
    """Same commits verbatim, heads, states and blobs; same definitions and last commit."""
    assert_same_commits(a, b)
    assert a.definitions().hexdigest() == b.definitions().hexdigest()
    assert a.commit_databasing().definitions_bytes() == b.commit_databasing().definitions_bytes()
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
    commit(store, head, "on postgres", key=1, name="on postgres")
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
        commit(client, head, "through the file's server", key=2)
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
