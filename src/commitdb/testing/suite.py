"""CommitDatabaseConformance: the storage-interface contract (SPEC §1, §9) and the CommitDatabase
behaviour on top of it (SPEC §4-§6, §8), checked against any backend through a factory hook.

Each test starts from an empty database, is short, and depends on no other test.
"""

from __future__ import annotations

import hashlib
import struct
import uuid as _uuid
from pathlib import Path as FsPath
from typing import Any

import pytest

from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitDatabaseHelper,
    CommitDBError,
    CommitMutableState,
    CommitNode,
    CommitNotFoundError,
    CommitStateBuilder,
    DefinitionsConflictError,
    DSMBuilder,
    MissingBlobError,
    NotAHeadError,
    NotMergeableError,
    Value,
    ValueBlob,
    ValueBlobId,
    ValueCommitId,
    ValueUUId,
)
from commitdb.testing import models as M
from commitdb.testing.reference_surface import ReferenceSurfaceConformance

ZERO = ValueCommitId()


def parse_definitions(text: str, source: str = "model.dsm") -> Any:
    builder = DSMBuilder()
    builder.append(source, text)
    report, _, definitions = builder.parse()
    assert not report.has_error(), [str(e) for e in report.errors()]
    return definitions


def cid(text: str) -> ValueCommitId:
    return ValueCommitId(text)


def header_fields(h: Any) -> tuple[Any, ...]:
    """A header as comparable plain data (backends may return different header classes)."""
    return (str(h.commit_id()), str(h.parent_commit_id()), str(h.target_commit_id()), h.commit_type(),
            h.label(), h.timestamp())


class Tuto:
    """The Tuto model injected into one database, with small helpers to write and read logins."""

    def __init__(self, db: CommitDatabase) -> None:
        self.db = db
        self.definitions = parse_definitions(M.TUTO_DSM, "tuto.dsm")
        db.extend_definitions(self.definitions)
        self.ns: dict[str, Any] = {}
        self.definitions.inject(self.ns)
        self.login = self.ns["TUTO_A_USER_LOGIN"]
        self.portrait = self.ns["TUTO_A_USER_PORTRAIT"]
        self.avatar = self.ns["TUTO_A_USER_AVATAR"]
        self.nickname = self.ns["TUTO_P_LOGIN_NICKNAME"]
        self.password = self.ns["TUTO_P_LOGIN_PASSWORD"]

    def key(self, n: int = 1) -> Any:
        """A fixed key: instance id made of the hex digit ``n`` (1 gives SPEC's U1)."""
        digit = f"{n:x}"
        return self.login.create_key(ValueUUId(str(_uuid.UUID(digit * 32))))

    def mutable(self, parent: Any = None) -> CommitMutableState:
        base = self.db.initial_state() if parent is None else self.db.state(parent)
        return CommitMutableState(base)

    def set(self, parent: Any, nickname: str, password: str = "p", key: Any = None,
            label: str = "set") -> ValueCommitId:
        m = self.mutable(parent)
        m.attachment_mutating().set(self.login, key or self.key(), {"nickname": nickname, "password": password})
        return self.db.commit_mutations(label, m)

    def rename(self, parent: Any, nickname: str, key: Any = None, label: str = "rename") -> ValueCommitId:
        m = self.mutable(parent)
        m.attachment_mutating().update(self.login, key or self.key(), self.nickname, nickname)
        return self.db.commit_mutations(label, m)

    def repass(self, parent: Any, password: str, key: Any = None) -> ValueCommitId:
        m = self.mutable(parent)
        m.attachment_mutating().update(self.login, key or self.key(), self.password, password)
        return self.db.commit_mutations("password", m)

    def read(self, commit_id: Any, key: Any = None, db: CommitDatabase | None = None) -> Any:
        """The login at a commit as plain data: a dict, or None when absent."""
        state = (db or self.db).state(commit_id)
        return Value.dumps(state.attachment_getting().get(self.login, key or self.key()))

    def nick(self, commit_id: Any, key: Any = None, db: CommitDatabase | None = None) -> Any:
        doc = self.read(commit_id, key, db)
        return None if doc is None else doc["nickname"]


class CommitDatabaseConformance(ReferenceSurfaceConformance):
    """Subclass as ``Test...`` and implement ``make_database``; optionally ``reopen``."""

    # --- the factory hook ------------------------------------------------------------------
    def make_database(self, tmp_path: FsPath) -> CommitDatabase:
        """A new, empty CommitDatabase whose storage lives under ``tmp_path`` (if anywhere)."""
        raise NotImplementedError

    def reopen(self, db: CommitDatabase) -> CommitDatabase | None:
        """A second connection to the storage of ``db``, or None when impossible (in memory)."""
        return None

    # --- fixtures --------------------------------------------------------------------------
    @pytest.fixture
    def opened(self) -> Any:
        databases: list[CommitDatabase] = []
        yield databases
        for database in reversed(databases):
            try:
                database.close()
            except CommitDBError:
                pass

    @pytest.fixture
    def db(self, tmp_path: FsPath, opened: list[CommitDatabase]) -> CommitDatabase:
        folder = tmp_path / "first"
        folder.mkdir()
        database = self.make_database(folder)
        opened.append(database)
        return database

    @pytest.fixture
    def other(self, tmp_path: FsPath, opened: list[CommitDatabase]) -> CommitDatabase:
        """A second, independent empty database (the receiver of copies)."""
        folder = tmp_path / "second"
        folder.mkdir()
        database = self.make_database(folder)
        opened.append(database)
        return database

    @pytest.fixture
    def tuto(self, db: CommitDatabase) -> Tuto:
        return Tuto(db)

    @pytest.fixture
    def second(self, db: CommitDatabase, opened: list[CommitDatabase]) -> CommitDatabase:
        """Another connection to ``db``'s storage (skips when the backend cannot reopen)."""
        database = self.reopen(db)
        if database is None:
            pytest.skip("this backend cannot be reopened")
        opened.append(database)
        return database

    # === metadata (SPEC §9) ==================================================================
    def test_metadata(self, db: CommitDatabase) -> None:
        assert str(_uuid.UUID(db.uuid())) == db.uuid().lower()
        assert isinstance(db.documentation(), str)
        assert isinstance(db.path(), str)
        assert db.codec_name() == "StreamBinary"
        assert db.stream_codec_instancing().codec_name() == "StreamBinary"

    def test_storage_metadata_matches_database(self, db: CommitDatabase) -> None:
        s = db.commit_databasing()
        assert (s.uuid(), s.documentation(), s.codec_name(), s.path()) == (
            db.uuid(), db.documentation(), db.codec_name(), db.path())

    def test_empty_database(self, db: CommitDatabase) -> None:
        assert db.first_commit_id() is None and db.last_commit_id() is None
        assert db.head_commit_ids() == set()
        assert set(db.commit_ids()) == set()
        s = db.commit_databasing()
        assert list(s.commit_ids()) == [] and set(s.head_commit_ids()) == set()
        assert list(s.commit_datas()) == []
        assert len(db.definitions().types()) == 0

    def test_empty_initial_state(self, tuto: Tuto) -> None:
        assert len(tuto.db.initial_state().attachment_getting().keys(tuto.login)) == 0
        assert tuto.db.state(ZERO).attachment_getting().has(tuto.login, tuto.key()) is False

    # === commit ids (FORMAT §7.3, SPEC §2.5) =================================================
    def test_commit_id_of_document_set(self, tuto: Tuto) -> None:
        c = tuto.set(None, "x", "p")
        assert str(c) == M.ID_SET_X_P

    def test_commit_id_of_update(self, tuto: Tuto) -> None:
        c = tuto.rename(tuto.set(None, "x", "p"), "y")
        assert str(c) == M.ID_UPDATE_Y

    def test_commit_id_of_empty_root(self, tuto: Tuto) -> None:
        c = tuto.db.commit_mutations("empty", tuto.mutable())
        assert str(c) == M.ID_EMPTY_ROOT
        assert len(tuto.db.commit(c).program().all_opcodes()) == 0
        assert tuto.db.commit_databasing().commit_data(c).data() == bytes(8)

    def test_walkthrough(self, tuto: Tuto) -> None:
        db, key = tuto.db, tuto.key()
        login = tuto.login.create_document()
        assert repr(login) == "{nickname='', password=''}"
        login.nickname = "alice"
        login.password = "secret"
        mutable = CommitMutableState(db.initial_state())
        mutable.attachment_mutating().set(tuto.login, key, login)
        c1 = db.commit_mutations("Add Alice", mutable)
        assert str(c1) == M.ID_ADD_ALICE
        got = db.state(c1).attachment_getting().get(tuto.login, key)
        assert repr(got) == "Optional({nickname='alice', password='secret'})"
        header = db.commit_header(c1)
        assert header.label() == "Add Alice" and header.parent_commit_id() == ValueCommitId()
        ms = CommitMutableState(db.state(c1))
        ms.attachment_mutating().update(tuto.login, key, tuto.nickname, "alice_updated")
        c2 = db.commit_mutations("Rename", ms)
        assert str(c2) == M.ID_RENAME
        assert repr(db.state(c2).attachment_getting().get(tuto.login, key)) == (
            "Optional({nickname='alice_updated', password='secret'})")
        assert repr(db.state(c1).attachment_getting().get(tuto.login, key)) == (
            "Optional({nickname='alice', password='secret'})")
        assert sorted(str(t) for t in db.definitions().types()) == sorted(M.TUTO_TYPES)

    def test_commit_id_is_sha1_of_header_and_data(self, tuto: Tuto) -> None:
        c2 = tuto.rename(tuto.set(None, "x"), "y")
        cd = tuto.db.commit_databasing().commit_data(c2)
        h = cd.header()
        raw = (bytes.fromhex(str(h.parent_commit_id())) + bytes([0]) + bytes(20)
               + struct.pack("<Q", len(cd.data())) + cd.data())
        assert hashlib.sha1(raw).hexdigest() == str(c2)

    def test_label_and_timestamp_are_not_hashed(self, tuto: Tuto) -> None:
        m = tuto.mutable()
        m.attachment_mutating().set(tuto.login, tuto.key(), {"nickname": "x", "password": "p"})
        assert str(tuto.db.commit_mutations("any label at all", m)) == M.ID_SET_X_P

    # === the storage interface (SPEC §1) ======================================================
    def test_commit_data_header(self, tuto: Tuto) -> None:
        c = tuto.set(None, "x", "p", label="first")
        h = tuto.db.commit_databasing().commit_data(c).header()
        assert h.commit_id() == c and h.parent_commit_id() == ZERO and h.target_commit_id() == ZERO
        assert h.commit_type() == "Mutations" and h.label() == "first"
        assert isinstance(h.timestamp(), float) and h.timestamp() > 0
        assert round(h.timestamp() * 1000) == pytest.approx(h.timestamp() * 1000, abs=1e-3)
        assert header_fields(h) == header_fields(tuto.db.commit_header(c))

    def test_commit_data_bytes(self, tuto: Tuto) -> None:
        """FORMAT §7.2: u64 count, opcode, attachment rid, key, typed value."""
        c = tuto.set(None, "x", "p")
        data = tuto.db.commit_databasing().commit_data(c).data()
        att_rid = tuto.login.runtime_id().bytes_value()
        key = tuto.key()
        concept_rid = bytes.fromhex(Value.dumps(key)[1].replace("-", ""))
        login_rid = bytes.fromhex(str(tuto.ns["Tuto"].Login.runtime_id()).replace("-", ""))
        expected = (struct.pack("<Q", 1) + b"\x00" + att_rid + b"\x11" * 16 + concept_rid + b"\x1c" + login_rid
                    + struct.pack("<Q", 1) + b"x" + struct.pack("<Q", 1) + b"p")
        assert data == expected
        assert att_rid.hex().startswith("438491ed") and att_rid.hex().endswith("d0e8")
        assert concept_rid.hex().startswith("bfb135a1") and login_rid.hex().startswith("f223819a")

    def test_commit_data_update_bytes(self, tuto: Tuto) -> None:
        c = tuto.rename(tuto.set(None, "x", "p"), "y")
        data = tuto.db.commit_databasing().commit_data(c).data()
        path_and_value = (bytes.fromhex("0200000000000000 01 02 04 01 0f 0800000000000000".replace(" ", ""))
                          + b"nickname" + b"\x0f" + struct.pack("<Q", 1) + b"y")
        assert data[:9] == struct.pack("<Q", 1) + b"\x01"
        assert data[9 + 48:] == path_and_value

    def test_commit_data_opcodes(self, tuto: Tuto) -> None:
        c = tuto.rename(tuto.set(None, "x", "p"), "y")
        db = tuto.db
        ops = db.commit_databasing().commit_data(c).opcodes(db.stream_codec_instancing(), db.definitions())
        assert [op.type() for op in ops] == ["Document_Update"]
        assert str(ops[0].path()) == ".nickname" and Value.dumps(ops[0].value()) == "y"
        assert ops[0].key().instance_id() == ValueUUId(M.U1)

    def test_commit_data_of_toggle_and_merge_is_empty(self, tuto: Tuto) -> None:
        a, b = tuto.set(None, "a"), tuto.set(None, "b", key=tuto.key(2))
        s = tuto.db.commit_databasing()
        for c in (tuto.db.disable_commit("d", a, a), tuto.db.merge_commit("m", a, b)):
            assert s.commit_data(c).data() == b""
            assert list(s.commit_data(c).opcodes(tuto.db.stream_codec_instancing(), tuto.db.definitions())) == []

    def test_commit_data_unknown_raises(self, tuto: Tuto) -> None:
        with pytest.raises(CommitDBError):
            tuto.db.commit_databasing().commit_data(cid("ab" * 20))

    def test_commit_datas(self, tuto: Tuto) -> None:
        c1 = tuto.set(None, "a")
        c2 = tuto.rename(c1, "b")
        c3 = tuto.set(None, "c", key=tuto.key(3))
        s = tuto.db.commit_databasing()
        assert [d.header().commit_id() for d in s.commit_datas()] == [c1, c2, c3]
        assert {d.header().commit_id() for d in s.commit_datas([c3, c1])} == {c1, c3}

    def test_storage_commit_ids_in_creation_order(self, tuto: Tuto) -> None:
        ids = [tuto.set(None, "a", key=tuto.key(n)) for n in (5, 3, 9, 1)]
        assert list(tuto.db.commit_databasing().commit_ids()) == ids
        assert set(tuto.db.commit_ids()) == set(ids)

    def test_storage_head_commit_ids(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        c = tuto.set(None, "c", key=tuto.key(2))
        assert set(tuto.db.commit_databasing().head_commit_ids()) == {b, c} == tuto.db.head_commit_ids()

    def test_create_commit_data_existing_returns_false(self, tuto: Tuto) -> None:
        c = tuto.set(None, "a")
        s = tuto.db.commit_databasing()
        assert s.create_commit_data(s.commit_data(c)) is False
        assert list(s.commit_ids()) == [c]

    def test_copy_commits_verbatim(self, tuto: Tuto, other: CommitDatabase) -> None:
        """The basis of sync: commits cross with the same id, header and bytes."""
        a = tuto.set(None, "a", label="A")
        b = tuto.rename(a, "b")
        c = tuto.db.disable_commit("undo", b, b)
        src, dst = tuto.db.commit_databasing(), other.commit_databasing()
        dst.extend_definitions(src.definitions())
        assert dst.definitions_hexdigest() == src.definitions_hexdigest()
        for data in src.commit_datas():
            assert dst.create_commit_data(data) is True
        for data in src.commit_datas():
            assert dst.create_commit_data(data) is False
        for x in (a, b, c):
            assert header_fields(dst.commit_data(x).header()) == header_fields(src.commit_data(x).header())
            assert dst.commit_data(x).data() == src.commit_data(x).data()
        assert list(dst.commit_ids()) == [a, b, c]
        assert other.head_commit_ids() == {c}
        assert tuto.read(c, db=other) == tuto.read(c) and tuto.nick(b, db=other) == "b"

    def test_copy_parents_after_children_arrive_later(self, tuto: Tuto, other: CommitDatabase) -> None:
        """Copying in topological order keeps heads right at every step."""
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        src, dst = tuto.db.commit_databasing(), other.commit_databasing()
        dst.extend_definitions(src.definitions())
        dst.create_commit_data(src.commit_data(a))
        assert other.head_commit_ids() == {a}
        dst.create_commit_data(src.commit_data(b))
        assert other.head_commit_ids() == {b}

    def test_data_version_changes_after_another_connection_writes(self, tuto: Tuto,
                                                                   second: CommitDatabase) -> None:
        before = second.data_version()
        storage_before = second.commit_databasing().data_version()
        c = tuto.set(None, "a")
        assert second.data_version() != before
        assert second.commit_databasing().data_version() != storage_before
        assert second.commit_exists(c) and second.head_commit_ids() == {c}

    def test_data_version_stable_without_writes(self, tuto: Tuto) -> None:
        tuto.set(None, "a")
        v = tuto.db.data_version()
        tuto.db.head_commit_ids()
        assert tuto.db.data_version() == v

    def test_second_facade_on_same_storage_sees_writes(self, tuto: Tuto) -> None:
        view = CommitDatabase(tuto.db.commit_databasing())
        a = tuto.set(None, "a")
        assert view.commit_exists(a) and view.head_commit_ids() == {a}
        b = tuto.rename(a, "b")
        assert view.head_commit_ids() == {b} and tuto.nick(b, db=view) == "b"

    # --- definitions ----------------------------------------------------------------------
    def test_definitions_of_tuto(self, tuto: Tuto) -> None:
        db, s = tuto.db, tuto.db.commit_databasing()
        assert db.definitions_hexdigest() == M.TUTO_HEXDIGEST == s.definitions_hexdigest()
        assert [str(t) for t in db.definitions().types()] == M.TUTO_TYPES
        assert [str(t) for t in s.definitions().types()] == M.TUTO_TYPES
        assert s.definitions().hexdigest() == M.TUTO_HEXDIGEST

    def test_extend_definitions_twice_changes_nothing(self, tuto: Tuto) -> None:
        result = tuto.db.extend_definitions(parse_definitions(M.TUTO_DSM))
        assert not result
        assert tuto.db.definitions_hexdigest() == M.TUTO_HEXDIGEST

    def test_extend_definitions_is_additive(self, tuto: Tuto) -> None:
        assert tuto.db.extend_definitions(parse_definitions(M.EXTRA_DSM, "extra.dsm"))
        names = [str(t) for t in tuto.db.definitions().types()]
        assert set(M.TUTO_TYPES) | {"Extra::Item", "Extra::Note"} == set(names)
        assert tuto.db.definitions_hexdigest() != M.TUTO_HEXDIGEST
        assert tuto.db.definitions_hexdigest() == tuto.db.commit_databasing().definitions_hexdigest()

    def test_extend_definitions_in_storage(self, db: CommitDatabase) -> None:
        s = db.commit_databasing()
        s.extend_definitions(parse_definitions(M.TUTO_DSM))
        assert s.definitions_hexdigest() == M.TUTO_HEXDIGEST
        assert db.definitions_hexdigest() == M.TUTO_HEXDIGEST

    def test_extend_definitions_conflict_raises(self, tuto: Tuto) -> None:
        with pytest.raises(DefinitionsConflictError):
            tuto.db.extend_definitions(parse_definitions(M.TUTO_CONFLICT_DSM))
        assert tuto.db.definitions_hexdigest() == M.TUTO_HEXDIGEST
        assert not tuto.db.commit_databasing().in_transaction()

    def test_definitions_is_a_snapshot(self, tuto: Tuto) -> None:
        snapshot = tuto.db.definitions()
        tuto.db.extend_definitions(parse_definitions(M.EXTRA_DSM))
        assert snapshot.hexdigest() == M.TUTO_HEXDIGEST

    # --- transactions ---------------------------------------------------------------------
    @pytest.mark.parametrize("mode", ["Deferred", "Immediate", "Exclusive"])
    def test_transaction_commit(self, tuto: Tuto, mode: str) -> None:
        s = tuto.db.commit_databasing()
        assert s.in_transaction() is False
        s.begin_transaction(mode)
        assert s.in_transaction() is True
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        s.commit()
        assert s.in_transaction() is False
        assert list(s.commit_ids()) == [a, b] and tuto.db.head_commit_ids() == {b}

    @pytest.mark.parametrize("mode", ["Deferred", "Immediate", "Exclusive"])
    def test_transaction_rollback(self, tuto: Tuto, mode: str) -> None:
        a = tuto.set(None, "a")
        s = tuto.db.commit_databasing()
        s.begin_transaction(mode)
        b = tuto.rename(a, "b")
        s.rollback()
        assert s.in_transaction() is False
        assert list(s.commit_ids()) == [a]
        assert not tuto.db.commit_exists(b)
        assert tuto.db.head_commit_ids() == {a}
        with pytest.raises(CommitDBError):
            s.commit_data(b)

    def test_rolled_back_commit_can_be_made_again(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        s = tuto.db.commit_databasing()
        s.begin_transaction("Immediate")
        tuto.rename(a, "b")
        s.rollback()
        b = tuto.rename(a, "b", label="again")
        assert tuto.db.commit_header(b).label() == "again" and tuto.nick(b) == "b"

    def test_rollback_of_definitions(self, tuto: Tuto) -> None:
        s = tuto.db.commit_databasing()
        s.begin_transaction("Exclusive")
        s.extend_definitions(parse_definitions(M.EXTRA_DSM))
        s.rollback()
        assert s.definitions_hexdigest() == M.TUTO_HEXDIGEST
        assert tuto.db.definitions_hexdigest() == M.TUTO_HEXDIGEST

    def test_transaction_unknown_mode_raises(self, db: CommitDatabase) -> None:
        with pytest.raises(CommitDBError):
            db.commit_databasing().begin_transaction("Sometimes")
        assert db.commit_databasing().in_transaction() is False

    # --- delete / reset ----------------------------------------------------------------------
    def test_delete_commit_of_a_head(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        tuto.db.delete_commit(b)
        assert not tuto.db.commit_exists(b) and tuto.db.head_commit_ids() == {a}
        assert list(tuto.db.commit_databasing().commit_ids()) == [a]

    def test_delete_commit_not_a_head_raises(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        tuto.rename(a, "b")
        with pytest.raises(NotAHeadError):
            tuto.db.delete_commit(a)
        assert tuto.db.commit_exists(a)

    def test_delete_commit_keeps_parent_with_other_child(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.rename(a, "c")
        tuto.db.delete_commit(b)
        assert tuto.db.head_commit_ids() == {c}

    def test_delete_merge_restores_both_heads(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.rename(a, "c")
        m = tuto.db.merge_commit("m", b, c)
        tuto.db.delete_commit(m)
        assert tuto.db.head_commit_ids() == {b, c}
        assert tuto.db.nephew_commit_ids(c) == set()

    def test_storage_delete_commit(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        tuto.db.commit_databasing().delete_commit(b)
        assert list(tuto.db.commit_databasing().commit_ids()) == [a]
        assert tuto.db.head_commit_ids() == {a} and not tuto.db.commit_exists(b)

    def test_recreate_after_delete_takes_new_label(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", label="old")
        tuto.db.delete_commit(a)
        assert tuto.set(None, "a", label="new") == a
        assert tuto.db.commit_header(a).label() == "new"

    def test_reset_commits(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        tuto.set(None, "c", key=tuto.key(2))
        tuto.db.merge_commit("m", b, tuto.set(None, "d", key=tuto.key(3)))
        tuto.db.reset_commits()
        assert set(tuto.db.commit_ids()) == {a} and tuto.db.head_commit_ids() == {a}
        assert tuto.nick(a) == "a"

    def test_storage_reset_commits(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        tuto.rename(a, "b")
        tuto.db.commit_databasing().reset_commits()
        assert list(tuto.db.commit_databasing().commit_ids()) == [a]
        assert tuto.db.head_commit_ids() == {a}

    # === commits (SPEC §5) =====================================================================
    def test_dedupe_same_content(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", label="first")
        ts = tuto.db.commit_header(a).timestamp()
        assert tuto.set(None, "a", label="second") == a
        assert tuto.db.commit_header(a).label() == "first"
        assert tuto.db.commit_header(a).timestamp() == ts
        assert len(tuto.db.commit_databasing().commit_ids()) == 1

    def test_dedupe_toggles_and_merges(self, tuto: Tuto) -> None:
        a, b = tuto.set(None, "a"), tuto.set(None, "b", key=tuto.key(2))
        assert tuto.db.disable_commit("x", a, a) == tuto.db.disable_commit("y", a, a)
        assert tuto.db.merge_commit("x", a, b) == tuto.db.merge_commit("y", a, b)
        assert len(tuto.db.commit_ids()) == 4

    def test_same_program_on_other_parent_differs(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.set(a, "a")
        assert a != b and tuto.db.commit_header(b).parent_commit_id() == a

    def test_commit_objects(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        m = tuto.db.merge_commit("m", b, tuto.set(None, "z", key=tuto.key(2)))
        commit = tuto.db.commit(b)
        assert header_fields(commit.header()) == header_fields(tuto.db.commit_header(b))
        assert [op.type() for op in commit.program().all_opcodes()] == ["Document_Update"]
        assert tuto.db.commit(m).program() is None
        assert tuto.db.commit(m).header().commit_type() == "Merge"

    def test_program_lookup(self, tuto: Tuto) -> None:
        m = tuto.mutable()
        am = m.attachment_mutating()
        am.set(tuto.login, tuto.key(1), {"nickname": "a"})
        am.update(tuto.login, tuto.key(2), tuto.nickname, "ignored")  # recorded though a no-op
        am.set(tuto.login, tuto.key(2), {"nickname": "b"})
        assert [op.type() for op in m.mutations().all_opcodes()] == ["Document_Set", "Document_Update",
                                                                     "Document_Set"]
        program = tuto.db.commit(tuto.db.commit_mutations("two", m)).program()
        rid = tuto.login.runtime_id()
        assert [op.type() for op in program.opcodes(rid, tuto.key(2))] == ["Document_Update", "Document_Set"]
        first = program.all_opcodes()[0]
        assert program.has_document_set(first.key())
        set_keys = [k.instance_id() for k in program.document_set_keys(rid)]
        assert set_keys == [tuto.key(1).instance_id(), tuto.key(2).instance_id()]

    def test_commit_header_of_zero_or_unknown_raises(self, tuto: Tuto) -> None:
        with pytest.raises(CommitNotFoundError):
            tuto.db.commit_header(ZERO)
        with pytest.raises(CommitNotFoundError):
            tuto.db.commit_header(cid("12" * 20))
        with pytest.raises(CommitNotFoundError):
            tuto.db.state(cid("12" * 20))

    def test_empty_commit_allowed(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        e = tuto.db.commit_mutations("nothing", tuto.mutable(a))
        assert e != a and tuto.read(e) == tuto.read(a)

    # === the DAG (SPEC §6) =====================================================================
    def test_second_root_is_second_head(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.set(None, "b", key=tuto.key(2))
        assert tuto.db.commit_header(b).parent_commit_id() == ZERO
        assert tuto.db.head_commit_ids() == {a, b}
        assert tuto.read(b) is None  # roots do not see each other

    def test_first_and_last_commit(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        c = tuto.set(None, "c", key=tuto.key(2))
        assert tuto.db.first_commit_id() == a
        assert tuto.db.last_commit_id() == c
        tuto.rename(b, "d")
        assert tuto.db.first_commit_id() == a

    def test_children_nephews_ancestry(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        m = tuto.db.merge_commit("m", b, c)
        db = tuto.db
        assert db.children_commit_ids(a) == {b, c} and db.children_commit_ids(b) == {m}
        assert db.nephew_commit_ids(c) == {m} and db.nephew_commit_ids(b) == set()
        assert db.is_ancestor(a, m) and db.is_ancestor(c, m) and db.is_ancestor(m, m)
        assert not db.is_ancestor(m, a) and not db.is_ancestor(b, c)
        assert db.is_mergeable(b, c) and not db.is_mergeable(a, b) and not db.is_mergeable(b, b)

    def test_merge_makes_one_head(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        m = tuto.db.merge_commit("m", b, c)
        assert tuto.db.head_commit_ids() == {m}
        h = tuto.db.commit_header(m)
        assert (h.commit_type(), h.parent_commit_id(), h.target_commit_id()) == ("Merge", b, c)

    def test_merge_of_ancestor_raises(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        for x, y in ((a, b), (b, a), (b, b)):
            with pytest.raises(NotMergeableError):
                tuto.db.merge_commit("m", x, y)
        assert tuto.db.head_commit_ids() == {b}

    def test_merge_of_unknown_raises(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        with pytest.raises(CommitNotFoundError):
            tuto.db.merge_commit("m", a, cid("34" * 20))

    def test_merge_combines_disjoint_paths(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        assert tuto.read(tuto.db.merge_commit("m", b, c)) == {"nickname": "b", "password": "q"}

    def test_merge_target_wins(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.rename(a, "c")
        assert tuto.nick(tuto.db.merge_commit("m1", b, c)) == "c"
        assert tuto.nick(tuto.db.merge_commit("m2", c, b)) == "b"

    def test_merge_of_two_roots(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.set(None, "b")  # same key, another root
        assert tuto.nick(tuto.db.merge_commit("m", a, b)) == "b"
        assert tuto.nick(tuto.db.merge_commit("m", b, a)) == "a"

    def test_merge_value_no_author_wrote(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b = tuto.set(a, "b", "pb")
        c = tuto.repass(a, "pc")
        assert tuto.read(tuto.db.merge_commit("m", b, c)) == {"nickname": "b", "password": "pc"}

    def test_merge_of_merges(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b, c, d = tuto.rename(a, "b"), tuto.repass(a, "q"), tuto.rename(a, "d")
        m1 = tuto.db.merge_commit("m1", b, c)
        m2 = tuto.db.merge_commit("m2", d, m1)
        assert tuto.read(m2) == {"nickname": "b", "password": "q"}
        m3 = tuto.db.merge_commit("m3", m1, d)
        assert tuto.read(m3) == {"nickname": "d", "password": "q"}

    def test_merge_state_without_writing(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        ms = CommitStateBuilder.merge_state(tuto.db, b, c)
        assert ms.commit_id() == ZERO
        assert len(tuto.db.commit_ids()) == 3
        m = tuto.db.merge_commit("m", b, c)
        got = Value.dumps(ms.attachment_getting().get(tuto.login, tuto.key()))
        assert got == tuto.read(m) == {"nickname": "b", "password": "q"}

    def test_linearisation_order(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b1 = tuto.rename(a, "b1")
        b2 = tuto.rename(b1, "b2")
        c1 = tuto.rename(a, "c1")
        m = tuto.db.merge_commit("m", c1, b2)
        actions = tuto.db.state(m).eval_actions()
        assert [x.header().commit_id() for x in actions] == [b2, b1, c1, a]  # Mutations only (SPEC §14.5)
        assert all(x.enabled() for x in actions)
        assert all(x.program() is not None for x in actions)
        assert list(CommitStateBuilder.enabled_by_commit_id(tuto.db, m)) == [a, c1, b1, b2, m]

    def test_state_builders_agree(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        s = CommitStateBuilder.state(tuto.db, a)
        assert s.commit_id() == a and tuto.db.state(a).commit_id() == a
        assert Value.dumps(s.attachment_getting().get(tuto.login, tuto.key())) == tuto.read(a)
        assert len(CommitStateBuilder.initial_state(tuto.db).attachment_getting().keys(tuto.login)) == 0

    def test_state_keys_and_has(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", key=tuto.key(1))
        b = tuto.set(a, "b", key=tuto.key(2))
        getting = tuto.db.state(b).attachment_getting()
        assert set(getting.keys(tuto.login)) == {tuto.key(1), tuto.key(2)}
        assert getting.has(tuto.login, tuto.key(2)) and not getting.has(tuto.login, tuto.key(3))
        assert repr(getting.get(tuto.login, tuto.key(3))) == "nil"
        assert set(tuto.db.state(a).attachment_getting().keys(tuto.login)) == {tuto.key(1)}

    def test_update_on_missing_document_is_recorded_noop(self, tuto: Tuto) -> None:
        c = tuto.rename(None, "ghost")
        assert [op.type() for op in tuto.db.commit(c).program().all_opcodes()] == ["Document_Update"]
        assert tuto.read(c) is None

    def test_recorded_noop_takes_effect_after_merge(self, tuto: Tuto) -> None:
        a = tuto.db.commit_mutations("empty", tuto.mutable())
        b = tuto.rename(a, "late")  # no document yet: a no-op here
        c = tuto.set(a, "a")
        assert tuto.read(b) is None
        assert tuto.nick(tuto.db.merge_commit("m", c, b)) == "late"
        assert tuto.nick(tuto.db.merge_commit("m", b, c)) == "a"

    def test_commit_node_tree(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.rename(a, "c")
        m = tuto.db.merge_commit("m", b, c)
        r = tuto.set(None, "r", key=tuto.key(2))
        root = CommitNode.build(tuto.db)
        h = root.header()
        assert (h.commit_id(), h.commit_type(), h.label(), h.timestamp()) == (ZERO, "Mutations", "Root", 0.0)
        assert {n.header().commit_id() for n in root.children()} == {a, r}
        (na,) = [n for n in root.children() if n.header().commit_id() == a]
        assert {n.header().commit_id() for n in na.children()} == {b, c}
        (nb,) = [n for n in na.children() if n.header().commit_id() == b]
        assert [n.header().commit_id() for n in nb.children()] == [m]

    # --- disable / enable ------------------------------------------------------------------
    def test_disable_update(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        d = tuto.db.disable_commit("undo", b, b)
        assert tuto.nick(d) == "a" and tuto.nick(b) == "b"
        h = tuto.db.commit_header(d)
        assert (h.commit_type(), h.parent_commit_id(), h.target_commit_id()) == ("Disable", b, b)
        assert CommitStateBuilder.enabled_by_commit_id(tuto.db, d) == {a: True, b: False, d: True}

    def test_disable_creation_removes_document(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        d = tuto.db.disable_commit("undo", b, a)
        assert tuto.read(d) is None
        assert len(tuto.db.state(d).attachment_getting().keys(tuto.login)) == 0

    def test_enable_after_disable(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        d = tuto.db.disable_commit("undo", b, b)
        e = tuto.db.enable_commit("redo", d, b)
        assert tuto.nick(e) == "b" and tuto.db.commit_header(e).commit_type() == "Enable"

    def test_one_enable_undoes_two_disables(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        d1 = tuto.db.disable_commit("d1", b, b)
        d2 = tuto.db.disable_commit("d2", d1, b)
        assert tuto.nick(d2) == "a"
        assert tuto.nick(tuto.db.enable_commit("e", d2, b)) == "b"

    def test_disabling_the_undo_is_a_redo(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        undo = tuto.db.disable_commit("Undo", b, b)
        redo = tuto.db.disable_commit("Redo", undo, undo)
        assert tuto.nick(redo) == "b"
        again = tuto.db.enable_commit("Undo", redo, undo)
        assert tuto.nick(again) == "a"

    def test_enable_of_enabled_changes_nothing(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        e = tuto.db.enable_commit("e", b, a)
        assert tuto.read(e) == tuto.read(b)

    def test_toggle_of_non_ancestor(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b = tuto.rename(a, "b")
        other = tuto.repass(a, "q")
        d = tuto.db.disable_commit("d", b, other)
        assert tuto.read(d) == {"nickname": "b", "password": "p"}
        enabled = CommitStateBuilder.enabled_by_commit_id(tuto.db, d)
        assert [enabled[x] for x in (a, b, d)] == [True, True, True]
        assert enabled.get(other, False) is False  # listed or not, the flag says disabled
        # Brought in before the toggle (merged as the parent side), the target is disabled ...
        m1 = tuto.db.merge_commit("m1", other, d)
        assert tuto.read(m1) == {"nickname": "b", "password": "p"}
        assert CommitStateBuilder.enabled_by_commit_id(tuto.db, m1)[other] is False
        # ... brought in after it (the target side), it is newer than the toggle: enabled.
        m2 = tuto.db.merge_commit("m2", d, other)
        assert tuto.read(m2) == {"nickname": "b", "password": "q"}
        assert CommitStateBuilder.enabled_by_commit_id(tuto.db, m2)[other] is True

    def test_toggle_of_unknown_or_zero_raises(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        for target in (cid("56" * 20), ZERO):
            with pytest.raises(CommitNotFoundError):
                tuto.db.disable_commit("d", a, target)
            with pytest.raises(CommitNotFoundError):
                tuto.db.enable_commit("e", a, target)
        assert tuto.db.head_commit_ids() == {a}

    def test_disabled_merge_disables_what_it_brought_in(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        m = tuto.db.merge_commit("m", b, c)
        d = tuto.db.disable_commit("d", m, m)
        assert tuto.read(d) == {"nickname": "b", "password": "p"}
        enabled = CommitStateBuilder.enabled_by_commit_id(tuto.db, d)
        assert enabled[c] is False and enabled[m] is False and enabled[b] is True

    def test_reenabled_part_of_disabled_merge(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        m = tuto.db.merge_commit("m", b, c)
        d = tuto.db.disable_commit("d", m, m)
        e = tuto.db.enable_commit("e", d, c)
        assert tuto.read(e) == {"nickname": "b", "password": "q"}

    def test_disable_in_a_branch_then_merge(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a", "p")
        b = tuto.rename(a, "b")
        d = tuto.db.disable_commit("d", b, b)
        c = tuto.repass(b, "q")
        m = tuto.db.merge_commit("m", c, d)
        assert tuto.read(m) == {"nickname": "a", "password": "q"}
        m2 = tuto.db.merge_commit("m2", d, c)
        assert tuto.read(m2) == {"nickname": "a", "password": "q"}

    # --- reducing heads and moving forward ----------------------------------------------------
    def test_reduce_heads_with_one_head(self, tuto: Tuto) -> None:
        assert CommitDatabaseHelper.reduce_heads(tuto.db) is None
        tuto.set(None, "a")
        assert CommitDatabaseHelper.reduce_heads(tuto.db) is None
        assert tuto.db.reduce_heads() is None

    def test_reduce_heads_older_head_wins(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.set(None, "b")
        r = CommitDatabaseHelper.reduce_heads(tuto.db)
        assert tuto.db.head_commit_ids() == {r}
        h = tuto.db.commit_header(r)
        assert (h.parent_commit_id(), h.target_commit_id(), h.label()) == (b, a, f"merge of {a}")
        assert tuto.nick(r) == "a"

    def test_reduce_heads_ascending_order(self, tuto: Tuto) -> None:
        heads = [tuto.set(None, str(n), key=tuto.key(n)) for n in range(1, 5)]
        anchor = heads[1]
        r = CommitDatabaseHelper.reduce_heads(tuto.db, anchor)
        targets = []
        x = r
        while x != anchor:
            h = tuto.db.commit_header(x)
            targets.append(h.target_commit_id())
            x = h.parent_commit_id()
        assert list(reversed(targets)) == sorted(set(heads) - {anchor}, key=str)
        assert tuto.db.head_commit_ids() == {r}
        assert len(tuto.db.state(r).attachment_getting().keys(tuto.login)) == 4

    def test_reduce_heads_anchor_not_a_head(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        tuto.rename(a, "b")
        tuto.set(None, "c", key=tuto.key(2))
        before = set(tuto.db.commit_ids())
        with pytest.raises(NotAHeadError):
            CommitDatabaseHelper.reduce_heads(tuto.db, a)
        assert set(tuto.db.commit_ids()) == before
        assert not tuto.db.commit_databasing().in_transaction()

    def test_fast_forward_and_forward(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        c = tuto.rename(b, "c")
        assert CommitDatabaseHelper.fast_forward(tuto.db, a) == c
        assert CommitDatabaseHelper.forward(tuto.db, a) == c
        x, y = tuto.rename(c, "x"), tuto.rename(c, "y")
        assert CommitDatabaseHelper.fast_forward(tuto.db, a) == min(x, y, key=str)
        assert CommitDatabaseHelper.forward(tuto.db, b) == min(x, y, key=str)

    def test_fast_forward_through_merge_target(self, tuto: Tuto) -> None:
        a = tuto.set(None, "a")
        b, c = tuto.rename(a, "b"), tuto.rename(a, "c")
        m = tuto.db.merge_commit("m", b, c)
        assert CommitDatabaseHelper.fast_forward(tuto.db, c) == m
        assert CommitDatabaseHelper.forward(tuto.db, c) == m

    # === blobs (SPEC §8) ========================================================================
    def test_blob_known_id(self, db: CommitDatabase) -> None:
        bid = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
        assert str(bid) == M.BLOB_01_05
        assert str(db.create_blob(BlobLayout("uchar", 1), bytes([1, 2, 3, 4]))) == M.BLOB_01_04
        assert Value.dumps(db.blob(bid)) == bytes([1, 2, 3, 4, 5])

    def test_blob_dedupe_and_ids(self, db: CommitDatabase) -> None:
        a = db.create_blob(BlobLayout(), b"abc")
        assert db.create_blob(BlobLayout(), b"abc") == a
        b = db.create_blob(BlobLayout.parse("float-3"), bytes(12))
        assert str(b) == "fd0964494a7d9bf79bcf07620af6f7b44408bacc"
        assert db.blob_ids() == {a, b}
        assert set(db.commit_ids()) == set()  # a blob lives without any commit

    def test_blob_info_and_statistics(self, db: CommitDatabase) -> None:
        a = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
        db.create_blob(BlobLayout(), bytes([1, 2, 3, 4]))
        info = db.blob_info(a)
        assert info.blob_id() == a and info.size() == 5
        assert info.blob_layout().representation() == "uchar-1"
        stats = db.blob_statistics()
        assert (stats.count(), stats.total_size(), stats.min_size(), stats.max_size()) == (2, 9, 4, 5)

    def test_blob_unknown_raises(self, db: CommitDatabase) -> None:
        with pytest.raises(CommitDBError):
            db.blob(ValueBlobId(M.BLOB_01_05))
        with pytest.raises(CommitDBError):
            db.blob_info(ValueBlobId(M.BLOB_01_05))

    def test_blob_stream(self, db: CommitDatabase) -> None:
        stream = db.blob_stream_create(BlobLayout(), 5)
        db.blob_stream_append(stream, bytes([1, 2]))
        db.blob_stream_append(stream, bytes([3, 4, 5]))
        bid = db.blob_stream_close(stream)
        assert str(bid) == M.BLOB_01_05
        assert Value.dumps(db.read_blob(bid, 2, 1)) == bytes([2, 3])
        assert db.blob_info(bid).size() == 5

    def test_document_with_missing_blob_is_refused(self, tuto: Tuto) -> None:
        m = tuto.mutable()
        texture = {"width": 1, "height": 1, "pixels": ValueBlobId(M.BLOB_01_05)}
        with pytest.raises(MissingBlobError):
            m.attachment_mutating().set(tuto.portrait, tuto.key(), texture)
        assert len(m.mutations().all_opcodes()) == 0
        tuto.db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
        m.attachment_mutating().set(tuto.portrait, tuto.key(), texture)
        c = tuto.db.commit_mutations("texture", m)
        db = tuto.db
        data = db.commit_databasing().commit_data(c)
        assert data.blob_ids(db.stream_codec_instancing(), db.definitions()) == {ValueBlobId(M.BLOB_01_05)}

    def test_document_with_inline_blob(self, tuto: Tuto) -> None:
        m = tuto.mutable()
        m.attachment_mutating().set(tuto.avatar, tuto.key(), {"width": 2, "data": ValueBlob(b"\x00\x01")})
        c = tuto.db.commit_mutations("avatar", m)
        doc = Value.dumps(tuto.db.state(c).attachment_getting().get(tuto.avatar, tuto.key()))
        assert doc == {"width": 2, "height": 0, "data": b"\x00\x01"}

    def test_storage_blob_calls(self, db: CommitDatabase, other: CommitDatabase) -> None:
        a = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
        b = db.create_blob(BlobLayout.parse("float-3"), bytes(12))
        src, dst = db.commit_databasing(), other.commit_databasing()
        unknown = ValueBlobId(M.BLOB_01_04)
        assert set(src.unknown_blob_ids([a, b, unknown])) == {unknown}
        assert set(dst.unknown_blob_ids([a, b])) == {a, b}
        records = list(src.blob_datas([a, b]))
        assert len(records) == 2
        dst.create_blobs(records)
        assert set(dst.unknown_blob_ids([a, b])) == set()
        assert other.blob_ids() == {a, b}
        assert Value.dumps(other.blob(a)) == bytes([1, 2, 3, 4, 5])
        assert other.blob_info(b).blob_layout().representation() == "float-3"
        dst.create_blobs(list(src.blob_datas([a])))  # again: no duplicate
        assert other.blob_statistics().count() == 2

    # === reopening (SPEC §9) ==================================================================
    def test_reopen_gives_identical_database(self, tuto: Tuto, second: CommitDatabase) -> None:
        db = tuto.db
        a = tuto.set(None, "a", "p")
        b, c = tuto.rename(a, "b"), tuto.repass(a, "q")
        m = db.merge_commit("m", b, c)
        d = db.disable_commit("d", m, c)
        blob = db.create_blob(BlobLayout(), b"blob")
        assert (second.uuid(), second.documentation(), second.codec_name()) == (
            db.uuid(), db.documentation(), db.codec_name())
        assert second.definitions_hexdigest() == M.TUTO_HEXDIGEST
        assert list(second.commit_databasing().commit_ids()) == [a, b, c, m, d]
        for x in (a, b, c, m, d):
            assert header_fields(second.commit_header(x)) == header_fields(db.commit_header(x))
            assert tuto.read(x, db=second) == tuto.read(x)
            assert (CommitStateBuilder.enabled_by_commit_id(second, x)
                    == CommitStateBuilder.enabled_by_commit_id(db, x))
        assert second.head_commit_ids() == {d} and second.first_commit_id() == a
        assert second.last_commit_id() == db.last_commit_id()
        assert Value.dumps(second.blob(blob)) == b"blob"

    def test_reopen_sees_definitions_extension(self, tuto: Tuto, second: CommitDatabase) -> None:
        tuto.db.extend_definitions(parse_definitions(M.EXTRA_DSM))
        assert second.definitions_hexdigest() == tuto.db.definitions_hexdigest()
        assert "Extra::Note" in {str(t) for t in second.definitions().types()}

    def test_reopen_sees_delete(self, tuto: Tuto, second: CommitDatabase) -> None:
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        assert second.head_commit_ids() == {b}
        tuto.db.delete_commit(b)
        assert second.head_commit_ids() == {a} and not second.commit_exists(b)

    def test_writes_through_both_connections(self, tuto: Tuto, second: CommitDatabase) -> None:
        a = tuto.set(None, "a")
        m = CommitMutableState(second.state(a))
        m.attachment_mutating().update(tuto.login, tuto.key(), tuto.nickname, "second")
        b = second.commit_mutations("from second", m)
        assert tuto.db.head_commit_ids() == {b} and tuto.nick(b) == "second"
