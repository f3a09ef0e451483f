"""A remote client re-raises the server-side exception class, with its message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _netutil import make_tuto_cdb, short_socket_path

from commitdb import (
    CommitDatabase,
    CommitNotFoundError,
    DefinitionsConflictError,
    MissingBlobError,
    NotAHeadError,
    NotMergeableError,
)
from commitdb.errors import CommitDBError, RemoteError, StorageError, error_classes
from commitdb.net import protocol as P
from commitdb.net.background import BackgroundServer
from commitdb.net.client import RemoteBackend
from commitdb.net.server import DatabaseService
from commitdb.storage.memory import MemoryBackend
from commitdb.testing import Tuto
from commitdb.testing.models import TUTO_CONFLICT_DSM
from commitdb.testing.suite import parse_definitions

ALL_ERRORS = sorted(error_classes().items())


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[CommitDatabase]:
    with BackgroundServer(make_tuto_cdb(tmp_path / "e.cdb"), socket_path=short_socket_path()) as server:
        db = CommitDatabase.connect_local(str(server.socket_path))
        yield db
        db.close()


def test_not_mergeable(remote: CommitDatabase) -> None:
    tuto = Tuto(remote)
    a = tuto.set(None, "a")
    b = tuto.rename(a, "b")
    with pytest.raises(NotMergeableError, match="not mergeable"):
        remote.merge_commit("m", a, b)


def test_not_a_head(remote: CommitDatabase) -> None:
    tuto = Tuto(remote)
    a = tuto.set(None, "a")
    tuto.rename(a, "b")
    with pytest.raises(NotAHeadError, match="is not a head"):
        remote.delete_commit(a)
    # the server refuses it too, whatever the client's facade thinks
    with pytest.raises(NotAHeadError, match="is not a head"):
        remote.commit_databasing().delete_commit(a)
    assert remote.commit_exists(a)


def test_definitions_conflict(remote: CommitDatabase) -> None:
    Tuto(remote)
    with pytest.raises(DefinitionsConflictError):  # raised by the server's extend_definitions
        remote.extend_definitions(parse_definitions(TUTO_CONFLICT_DSM))
    with pytest.raises(DefinitionsConflictError):
        remote.commit_databasing().extend_definitions(parse_definitions(TUTO_CONFLICT_DSM))
    assert not remote.commit_databasing().in_transaction()


def test_commit_not_found(remote: CommitDatabase) -> None:
    with pytest.raises(CommitNotFoundError):
        remote.commit_header("ab" * 20)
    with pytest.raises(CommitNotFoundError):
        remote.commit_databasing().commit_data("ab" * 20)


def test_storage_errors_cross(remote: CommitDatabase) -> None:
    s = remote.commit_databasing()
    with pytest.raises(StorageError, match="no transaction"):
        s.commit()
    s.begin_transaction("Immediate")
    with pytest.raises(StorageError, match="already in progress"):
        s.begin_transaction("Immediate")
    s.rollback()


@pytest.mark.parametrize(("code", "cls"), ALL_ERRORS, ids=[c for c, _ in ALL_ERRORS])
def test_every_class_crosses_the_wire(code: str, cls: type[CommitDBError]) -> None:
    """A server-side error of any class reaches the client as that very class."""

    class Failing(MemoryBackend):
        def commit_count(self) -> int:
            raise cls(f"boom {code}")

    with BackgroundServer(DatabaseService(Failing()), host="127.0.0.1", port=0) as server:
        backend = RemoteBackend.connect("127.0.0.1", server.port)
        try:
            with pytest.raises(cls) as caught:
                backend.commit_count()
            assert type(caught.value) is cls and str(caught.value) == f"boom {code}"
            assert backend.call("path") == "InMemory"  # the connection survives
        finally:
            backend.close()


def test_foreign_exception_becomes_remote_error() -> None:
    class Buggy(MemoryBackend):
        def commit_count(self) -> int:
            raise RuntimeError("a bug")

    with BackgroundServer(DatabaseService(Buggy()), host="127.0.0.1", port=0) as server:
        backend = RemoteBackend.connect("127.0.0.1", server.port)
        try:
            with pytest.raises(RemoteError, match="a bug"):
                backend.commit_count()
            assert backend.call("path") == "InMemory"
        finally:
            backend.close()


def test_unknown_code_becomes_remote_error() -> None:
    with pytest.raises(RemoteError, match="strange"):
        P.raise_remote(["NoSuchError", "strange"])
    with pytest.raises(RemoteError):
        P.raise_remote("not a payload")


def test_missing_blob_is_checked_by_the_server(remote: CommitDatabase) -> None:
    """A commit whose document references a blob the server lacks is refused there (a client
    that skips its own check gets MissingBlobError) and nothing is stored."""
    from commitdb import BlobLayout, CommitMutableState

    Tuto(remote)
    local = CommitDatabase.create_in_memory()
    lt = Tuto(local)
    blob = local.create_blob(BlobLayout(), b"only here")
    m = CommitMutableState(local.initial_state())
    m.attachment_mutating().set(lt.portrait, lt.portrait.create_key(), {"width": 1, "height": 1, "pixels": blob})
    c = local.commit_mutations("with a blob", m)
    data = local.commit_databasing().commit_data(c)
    s = remote.commit_databasing()
    with pytest.raises(MissingBlobError, match="Missing blob"):
        s.create_commit_data(data)
    assert s.commit_count() == 0
    s.create_blobs(local.commit_databasing().blob_datas([blob]))
    assert s.create_commit_data(data) is True
