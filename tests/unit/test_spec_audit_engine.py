"""Regressions found by the SPEC §4–§13 audit (engine, DAG, store, blobs, storage, sync)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitMutableState,
    IncompatibleDatabaseError,
    MissingBlobError,
    OperationError,
    Path,
    UnknownAttachmentError,
    ValueUUId,
    ValueXArray,
)
from commitdb.testing.models import TUTO_DSM

Builder = Callable[[str], tuple[CommitDatabase, dict[str, Any]]]


def _tuto(make_db: Builder) -> tuple[CommitDatabase, dict[str, Any]]:
    return make_db(TUTO_DSM)


def test_blob_must_exist_in_the_database_that_receives_the_commit(make_db: Builder) -> None:
    """SPEC §8: a document holding a blob_id can only be written once that blob exists *in the
    same database* — also when the mutable state was built (and checked) on another one."""
    db1, names = _tuto(make_db)
    db2, _ = _tuto(make_db)
    portrait = names["TUTO_A_USER_PORTRAIT"]
    blob_id = db1.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
    mutable = CommitMutableState(db1.initial_state())
    mutable.attachment_mutating().set(portrait, portrait.create_key(), {"width": 1, "height": 1, "pixels": blob_id})

    with pytest.raises(MissingBlobError, match=f"Missing blob {blob_id}"):
        db2.commit_mutations("foreign", mutable)
    assert db2.commit_ids() == set()

    # Once the blob exists there, the same mutable state commits, with the same id as in db1.
    db2.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
    committed = db2.commit_mutations("foreign", mutable)
    assert db2.commit_ids() == {committed}
    assert db1.commit_mutations("local", mutable) == committed


def test_foreign_mutable_state_with_an_unregistered_attachment_is_refused(make_db: Builder, model: Any) -> None:
    """SPEC §4: an attachment the database has not registered is refused, naming it — also when
    the mutable state comes from a database whose definitions do hold it."""
    tuto_db, _ = _tuto(make_db)
    profile = model.P
    mutable = CommitMutableState(model.db.initial_state())
    mutable.attachment_mutating().set(profile, profile.create_key(), profile.create_document())

    with pytest.raises(UnknownAttachmentError, match="T::profile"):
        tuto_db.commit_mutations("foreign", mutable)
    assert tuto_db.commit_ids() == set()


def test_foreign_mutable_state_without_blobs_commits_as_usual(make_db: Builder) -> None:
    """A state built on a replica with the same definitions commits normally (no false alarm)."""
    db1, names = _tuto(make_db)
    db2, _ = _tuto(make_db)
    login = names["TUTO_A_USER_LOGIN"]
    key = login.create_key()
    mutable = CommitMutableState(db1.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "alice", "password": "secret"})
    committed = db2.commit_mutations("Add Alice", mutable)
    assert repr(db2.state(committed).attachment_getting().get(login, key)) == \
        "Optional({nickname='alice', password='secret'})"


def test_opening_a_directory_is_not_a_commit_database(tmp_path: pathlib.Path) -> None:
    """SPEC §9/§10: something that is not a commit database is refused with a clear message
    (the same class as any other non-database file, not a bare storage failure)."""
    folder = tmp_path / "folder.cdb"
    folder.mkdir()
    with pytest.raises(IncompatibleDatabaseError, match="is not a commit database: it is a directory"):
        CommitDatabase.open(str(folder))
    assert CommitDatabase.is_compatible(str(folder)) is False


def test_verb_on_the_wrong_container_names_path_and_type(model: Any) -> None:
    """SPEC §4: the verb against the container is refused, naming the path and what it holds;
    nothing is recorded."""
    key = model.P.create_key()
    mutable = CommitMutableState(model.db.initial_state())
    mutating = mutable.attachment_mutating()
    with pytest.raises(OperationError, match=r"insert_in_xarray needs an xarray at path \.history, "
                                             r"which holds vector<string>"):
        mutating.insert_in_xarray(model.P, key, Path.from_field("history"), ValueXArray.END,
                                  ValueUUId.create(), "x")
    with pytest.raises(OperationError, match=r"union_in_set needs a set at path \.counters"):
        mutating.union_in_set(model.P, key, Path.from_field("counters"), {"a"})
    assert mutable.mutations().all_opcodes() == []


def test_enabled_by_commit_id_is_the_decided_map_in_linearisation_order() -> None:
    """Commits of L(c) first, in order, then toggle targets outside L(c) with the flag the walk
    decided: False for a Disable, True for an Enable."""
    from commitdb import CommitDatabase, CommitMutableState, CommitStateBuilder

    db = CommitDatabase.create_in_memory()
    a = db.commit_mutations("a", CommitMutableState(db.initial_state()))
    b = db.commit_mutations("b", CommitMutableState(db.state(a)))
    # Two commits on a side branch (not in the linearisation of e); empty programs would dedupe
    # with a and b, so these are toggles.
    other = db.disable_commit("side", a, a)
    elsewhere = db.enable_commit("side 2", other, a)
    d = db.disable_commit("d", b, other)
    e = db.enable_commit("e", d, elsewhere)
    flags = CommitStateBuilder.enabled_by_commit_id(db, e)
    assert list(flags)[:4] == [a, b, d, e]
    assert flags[other] is False and flags[elsewhere] is True
    assert all(flags[x] for x in (a, b, d, e))
