"""Commits (SPEC §5): types and headers, ids, content dedupe, commit ids as values, integrity."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import pytest

from commitdb import (
    CommitData,
    CommitDatabase,
    CommitHeader,
    CommitMutableState,
    CommitNotFoundError,
    CorruptedDataError,
    ValueCommitId,
    ValueUUId,
)

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")


def commit_login(db: CommitDatabase, names: dict[str, Any], parent: Any = None, nickname: str = "x",
                 password: str = "p", label: str = "set", key: Any = None) -> ValueCommitId:
    login = names["TUTO_A_USER_LOGIN"]
    key = key if key is not None else login.create_key(U1)
    state = db.initial_state() if parent is None else db.state(parent)
    ms = CommitMutableState(state)
    ms.attachment_mutating().set(login, key, {"nickname": nickname, "password": password})
    return db.commit_mutations(label, ms)


def test_format_example_ids(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c1 = commit_login(db, names)
    assert str(c1) == "90d1aadfaa18d44db1bdb5e1ef8908312ae425dd"
    ms = CommitMutableState(db.state(c1))
    login = names["TUTO_A_USER_LOGIN"]
    ms.attachment_mutating().update(login, login.create_key(U1), names["TUTO_P_LOGIN_NICKNAME"], "y")
    assert str(db.commit_mutations("rename", ms)) == "ffd7841775d9f25bfd1cebf734222d4de732a391"


def test_commit_id_formula(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c1 = commit_login(db, names)
    c2 = commit_login(db, names, parent=None, nickname="other", key=names["TUTO_A_USER_LOGIN"].create_key())
    d = db.disable_commit("d", c1, c2)
    e = db.enable_commit("e", d, c2)
    mg = db.merge_commit("m", e, c2)
    backend = db.commit_databasing()
    for cid in (c1, c2, d, e, mg):
        data = backend.commit_data(cid)
        h = data.header()
        raw = data.data()
        expected = hashlib.sha1(
            h.parent_commit_id().bytes_value() + bytes([("Mutations", "Disable", "Enable", "Merge").index(
                h.commit_type())]) + h.target_commit_id().bytes_value() + struct.pack("<Q", len(raw)) + raw
        ).hexdigest()
        assert str(cid) == expected
        if h.commit_type() != "Mutations":
            assert raw == b""


def test_four_commit_types_and_headers(tuto: tuple[CommitDatabase, dict[str, Any]], clock: list[float]) -> None:
    db, names = tuto
    c1 = commit_login(db, names, label="one")
    c2 = commit_login(db, names, parent=c1, nickname="y", label="two")
    other = commit_login(db, names, nickname="z", label="other")
    d = db.disable_commit("off", c2, c1)
    e = db.enable_commit("on", d, c1)
    m = db.merge_commit("merge", e, other)
    zero = ValueCommitId()
    expect = {
        c1: ("Mutations", zero, zero, "one"),
        c2: ("Mutations", c1, zero, "two"),
        d: ("Disable", c2, c1, "off"),
        e: ("Enable", d, c1, "on"),
        m: ("Merge", e, other, "merge"),
    }
    for cid, (kind, parent, target, label) in expect.items():
        h = db.commit_header(cid)
        assert isinstance(h, CommitHeader)
        assert (h.commit_type(), h.parent_commit_id(), h.target_commit_id(), h.label()) == (kind, parent, target, label)
        assert h.commit_id() == cid
        assert isinstance(h.timestamp(), float)
        commit = db.commit(cid)
        assert commit.header() == h
        if kind == "Mutations":
            assert commit.program() is not None
        else:
            assert commit.program() is None
    assert db.commit_header(c1).timestamp() == 1000.0
    assert db.commit_header(m).timestamp() == 1005.0


def test_timestamps_have_millisecond_resolution(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c = commit_login(db, names)
    ts = db.commit_header(c).timestamp()
    assert ts * 1000 == pytest.approx(round(ts * 1000), abs=1e-3)
    assert abs(ts - __import__("time").time()) < 60


def test_content_dedupe_keeps_first_label(tuto: tuple[CommitDatabase, dict[str, Any]], clock: list[float]) -> None:
    db, names = tuto
    c1 = commit_login(db, names, label="first")
    c2 = commit_login(db, names, label="second")
    assert c1 == c2
    assert len(db.commit_ids()) == 1
    assert db.commit_header(c1).label() == "first"
    assert db.commit_header(c1).timestamp() == 1000.0
    d1 = db.disable_commit("d1", c1, c1)
    d2 = db.disable_commit("d2", c1, c1)
    assert d1 == d2 and db.commit_header(d1).label() == "d1"
    backend = db.commit_databasing()
    assert backend.create_commit_data(backend.commit_data(c1)) is False


def test_recreate_after_delete_takes_new_label(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c1 = commit_login(db, names, label="first")
    db.delete_commit(c1)
    assert not db.commit_exists(c1)
    c2 = commit_login(db, names, label="again")
    assert c2 == c1
    assert db.commit_header(c2).label() == "again"
    login = names["TUTO_A_USER_LOGIN"]
    assert repr(db.state(c2).attachment_getting().get(login, login.create_key(U1))) == \
        "Optional({nickname='x', password='p'})"


def test_commit_id_values() -> None:
    zero = ValueCommitId()
    assert zero == ValueCommitId.INVALID
    assert str(zero) == "0" * 40
    assert not zero.is_valid()
    a = ValueCommitId.try_parse("90d1aadfaa18d44db1bdb5e1ef8908312ae425dd")
    assert a is not None and a.is_valid() and str(a) == "90d1aadfaa18d44db1bdb5e1ef8908312ae425dd"
    assert ValueCommitId.try_parse("not an id") is None
    assert ValueCommitId.try_parse("90d1") is None
    b = ValueCommitId.try_parse("ffd7841775d9f25bfd1cebf734222d4de732a391")
    assert zero < a < b and sorted([b, zero, a]) == [zero, a, b]


def test_zero_and_unknown_ids_raise(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, _ = tuto
    with pytest.raises(CommitNotFoundError):
        db.commit_header(ValueCommitId())
    unknown = ValueCommitId.try_parse("ab" * 20)
    with pytest.raises(CommitNotFoundError, match="Missing commit"):
        db.commit_header(unknown)
    with pytest.raises(CommitNotFoundError):
        db.commit(unknown)
    with pytest.raises(CommitNotFoundError):
        db.state(unknown)


def _tamper(db: CommitDatabase, cid: ValueCommitId, data: bytes) -> None:
    backend = db.commit_databasing()
    stored = backend.commit_data(cid)
    backend._commits[cid.bytes_value()] = CommitData(stored.header(), data)  # type: ignore[attr-defined]


def test_corrupted_commit_raises_when_loaded(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c1 = commit_login(db, names)
    c2 = commit_login(db, names, parent=c1, nickname="second")
    other_key = names["TUTO_A_USER_LOGIN"].create_key()
    unrelated = commit_login(db, names, nickname="z", key=other_key)
    forged = db.commit_databasing().commit_data(c1).data().replace(b"x", b"w")
    _tamper(db, c1, forged)
    computed = hashlib.sha1(bytes(21) + bytes(20) + struct.pack("<Q", len(forged)) + forged).hexdigest()
    reopened = CommitDatabase(db.commit_databasing())
    assert reopened.commit_exists(c1)
    message = f"corrupted commit data, expected {c1}, got {computed}"
    with pytest.raises(CorruptedDataError) as info:
        reopened.commit(c1)
    assert str(info.value) == message
    login = names["TUTO_A_USER_LOGIN"]
    for cid in (c1, c2):
        with pytest.raises(CorruptedDataError):
            reopened.state(cid).attachment_getting().get(login, login.create_key(U1))
    # A commit that does not depend on it still reads.
    assert repr(reopened.state(unrelated).attachment_getting().get(login, other_key)) == \
        "Optional({nickname='z', password='p'})"


def test_corrupted_header_of_a_toggle_raises(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    c1 = commit_login(db, names)
    c2 = commit_login(db, names, parent=c1, nickname="y")
    d = db.disable_commit("d", c2, c2)
    backend = db.commit_databasing()
    h = backend.commit_data(d).header()
    forged = CommitHeader(h.id, h.parent, h.type_code, c1.bytes_value(), h.ts, h.label_text)
    backend._commits[d.bytes_value()] = CommitData(forged, b"")  # type: ignore[attr-defined]
    reopened = CommitDatabase(backend)
    with pytest.raises(CorruptedDataError):
        reopened.commit(d)
    with pytest.raises(CorruptedDataError):
        reopened.state(d)
