"""The .cdb file layout (FORMAT.md §8) and the SQLite backend's contract."""

from __future__ import annotations

import sqlite3
import struct
import uuid
from pathlib import Path

import pytest

from commitdb import (
    BlobLayout,
    CommitDatabase,
    CommitMutableState,
    CorruptedDataError,
    DatabaseExistsError,
    Definitions,
    DSMBuilder,
    IncompatibleDatabaseError,
    ReadOnlyError,
    ValueCommitId,
    ValueUUId,
)
from commitdb.storage.base import compute_commit_id

ROOT = Path(__file__).resolve().parents[2]
ALICE = "11111111-1111-1111-1111-111111111111"


def tuto() -> tuple[Definitions, dict]:
    builder = DSMBuilder()
    builder.append("tuto.dsm", (ROOT / "examples" / "tuto.dsm").read_text())
    report, _, definitions = builder.parse()
    assert not report.has_error()
    names: dict = {}
    definitions.inject(names)
    return definitions, names


def test_create_writes_exactly_the_three_tables_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.cdb"
    CommitDatabase.create(str(path), "my docs").close()
    conn = sqlite3.connect(path)
    tables = {r[0]: r[1] for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")}
    for name in ("ds_metadata", "ds_commit", "ds_blob"):
        assert name in tables
    assert "STRICT" in tables["ds_commit"]
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    meta = dict(conn.execute("SELECT identifier, data FROM ds_metadata"))
    assert set(meta) == {"CodecName", "Definitions", "DefinitionsHexDigest", "Documentation", "UUID", "Version"}
    assert all(isinstance(v, bytes) for v in meta.values())
    assert meta["CodecName"] == b"StreamBinary"
    assert meta["Version"] == b"1.2"
    assert meta["Documentation"] == b"my docs"
    assert meta["Definitions"] == bytes(16)
    assert meta["DefinitionsHexDigest"] == b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert str(uuid.UUID(meta["UUID"].decode())) == meta["UUID"].decode()


def test_default_documentation_and_exists_error(tmp_path: Path) -> None:
    path = tmp_path / "a.cdb"
    db = CommitDatabase.create(str(path))
    assert db.documentation() == "not documented."
    assert db.codec_name() == "StreamBinary"
    assert db.path() == str(path)
    db.close()
    with pytest.raises(DatabaseExistsError):
        CommitDatabase.create(str(path))


def test_commit_rows_match_the_format(tmp_path: Path) -> None:
    definitions, names = tuto()
    path = tmp_path / "a.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    login = names["TUTO_A_USER_LOGIN"]
    key = login.create_key(ValueUUId(ALICE))
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "alice", "password": "secret"})
    first = db.commit_mutations("Add Alice", mutable)
    merged_from = db.commit_mutations("empty", CommitMutableState(db.initial_state()))
    merge = db.merge_commit("merge", first, merged_from)
    blob = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
    db.close()
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT commit_id, parent_id, timestamp, label, type, target_id, data FROM ds_commit "
                        "ORDER BY rowid").fetchall()
    assert rows[0][0] == "adebac521c653c90b4ab6c25360aaa2ac5bac614"
    assert rows[0][1] == "0" * 40 and rows[0][5] == "0" * 40
    assert isinstance(rows[0][2], float) and round(rows[0][2], 3) == rows[0][2]
    assert rows[0][3] == "Add Alice" and rows[0][4] == 0
    assert rows[2][0] == str(merge) and rows[2][4] == 3 and rows[2][5] == str(merged_from)
    assert rows[2][6] == b""  # merges store a zero-length blob, not NULL
    meta = dict(conn.execute("SELECT identifier, data FROM ds_metadata"))
    assert meta["DefinitionsHexDigest"] == b"86f69c32f2fadeef01f08697426ff18baedfa910"
    blob_row = conn.execute("SELECT identifier, layout, size, chunked, start, end, frozen, stream, data "
                            "FROM ds_blob").fetchone()
    assert blob_row == (str(blob), "uchar-1", 5, 0, 0, 4, 1, 0, bytes([1, 2, 3, 4, 5]))


def _raw_file(path: Path, definitions: Definitions) -> sqlite3.Connection:
    """Write a .cdb the way another program would: only the rows of FORMAT.md §8."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ds_metadata (identifier TEXT PRIMARY KEY, data BLOB) STRICT")
    conn.execute("CREATE TABLE ds_blob (identifier TEXT, layout TEXT, size INTEGER DEFAULT 0, chunked INTEGER "
                 "DEFAULT 0, start INTEGER DEFAULT 0, end INTEGER DEFAULT 0, frozen INTEGER DEFAULT 1, stream "
                 "INTEGER DEFAULT 0, data BLOB, PRIMARY KEY(identifier, start)) STRICT")
    conn.execute("CREATE TABLE ds_commit (commit_id TEXT PRIMARY KEY, parent_id TEXT, timestamp REAL, label TEXT, "
                 "type INTEGER, target_id TEXT, data BLOB) STRICT")
    rows = {"CodecName": b"StreamBinary", "Definitions": definitions.encode(token=False),
            "DefinitionsHexDigest": definitions.hexdigest().encode(), "Documentation": b"written by hand",
            "UUID": str(uuid.uuid4()).encode(), "Version": b"1.2"}
    conn.executemany("INSERT INTO ds_metadata VALUES (?, ?)", list(rows.items()))
    conn.commit()
    return conn


def _set_login_program(nickname: str, password: str) -> bytes:
    """FORMAT.md §7.3: set login[1111..] = {nickname, password}."""
    def text(s: str) -> bytes:
        return struct.pack("<Q", len(s)) + s.encode()

    return (struct.pack("<Q", 1) + b"\x00" + bytes.fromhex("438491ed55185d0c9836920ee80dd0e8") + bytes.fromhex("11" * 16)
            + bytes.fromhex("bfb135a149e6132ae693b84be57e9726") + b"\x1c" + bytes.fromhex("f223819a167ab9f8e4833abf4a0c2518")
            + text(nickname) + text(password))


def _insert(conn: sqlite3.Connection, parent: bytes, data: bytes, label: str, ts: float) -> bytes:
    cid = compute_commit_id(parent, 0, bytes(20), data)
    conn.execute("INSERT INTO ds_commit VALUES (?, ?, ?, ?, 0, ?, ?)",
                 (cid.hex(), parent.hex(), ts, label, "0" * 40, data))
    conn.commit()
    return cid


def test_a_file_written_by_another_program_opens_and_indexes_catch_up(tmp_path: Path) -> None:
    definitions, names = tuto()
    path = tmp_path / "raw.cdb"
    conn = _raw_file(path, definitions)
    first = _insert(conn, bytes(20), _set_login_program("x", "p"), "by hand", 1795314231.442)
    assert first.hex() == "90d1aadfaa18d44db1bdb5e1ef8908312ae425dd"
    login = names["TUTO_A_USER_LOGIN"]
    key = login.create_key(ValueUUId(ALICE))
    db = CommitDatabase.open(str(path))
    assert db.documentation() == "written by hand"
    assert db.definitions_hexdigest() == definitions.hexdigest()
    assert repr(db.state(first).attachment_getting().get(login, key)) == "Optional({nickname='x', password='p'})"
    assert db.commit_header(first).timestamp() == 1795314231.442
    # Another program appends behind commitdb's back: the open database catches up.
    second = _insert(conn, first, _set_login_program("y", "q"), "appended", 1795314232.0)
    assert db.last_commit_id() == ValueCommitId(second)
    assert repr(db.state(second).attachment_getting().get(login, key)) == "Optional({nickname='y', password='q'})"
    assert db.head_commit_ids() == {ValueCommitId(second)}
    db.close()
    # The cache tables now cover both commits; a fresh open reads the same states.
    indexed = {r[0] for r in sqlite3.connect(path).execute("SELECT DISTINCT c.commit_id FROM cdb_touch t JOIN ds_commit c ON c.rowid = t.commit_rowid")}
    assert indexed == {first.hex(), second.hex()}
    db = CommitDatabase.open(str(path), readonly=True)
    assert repr(db.state(second).attachment_getting().get(login, key)) == "Optional({nickname='y', password='q'})"
    db.close()


def test_a_row_whose_id_does_not_rehash_is_reported(tmp_path: Path) -> None:
    definitions, _ = tuto()
    path = tmp_path / "bad.cdb"
    conn = _raw_file(path, definitions)
    good = _insert(conn, bytes(20), _set_login_program("x", "p"), "ok", 1.0)
    conn.execute("UPDATE ds_commit SET data = ? WHERE commit_id = ?", (_set_login_program("z", "p"), good.hex()))
    conn.commit()
    db = CommitDatabase.open(str(path))
    with pytest.raises(CorruptedDataError, match=r"corrupted commit data, expected 90d1aadf"):
        db.state(good)
    with pytest.raises(CorruptedDataError):
        db.commit(good)


def test_open_refuses_what_is_not_a_commit_database(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleDatabaseError):
        CommitDatabase.open(str(tmp_path / "missing.cdb"))
    junk = tmp_path / "junk.cdb"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises((IncompatibleDatabaseError, CorruptedDataError)):
        CommitDatabase.open(str(junk))
    assert not CommitDatabase.is_compatible(str(junk))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(IncompatibleDatabaseError, match="ds_metadata"):
        CommitDatabase.open(str(other))
    assert not CommitDatabase.is_compatible(str(other))


def test_metadata_rules(tmp_path: Path) -> None:
    definitions, _ = tuto()
    path = tmp_path / "m.cdb"
    conn = _raw_file(path, definitions)
    assert CommitDatabase.is_compatible(str(path))
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'Version'", (b"1.3",))
    conn.commit()
    with pytest.raises(IncompatibleDatabaseError, match=r"expected database version 1\.2"):
        CommitDatabase.open(str(path))
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'Version'", (b"1.2",))
    conn.execute("DELETE FROM ds_metadata WHERE identifier = 'UUID'")
    conn.commit()
    with pytest.raises(IncompatibleDatabaseError, match=r"Metadata UUID is missing\."):
        CommitDatabase.open(str(path))


def test_readonly_refuses_writes(tmp_path: Path) -> None:
    definitions, names = tuto()
    path = tmp_path / "r.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    db.close()
    ro = CommitDatabase.open(str(path), readonly=True)
    mutable = CommitMutableState(ro.initial_state())
    mutable.attachment_mutating().set(names["TUTO_A_USER_LOGIN"], names["TUTO_A_USER_LOGIN"].create_key(), {})
    with pytest.raises(ReadOnlyError):
        ro.commit_mutations("nope", mutable)
    with pytest.raises(ReadOnlyError):
        ro.create_blob(BlobLayout(), b"x")
    assert ro.commit_ids() == set()


def test_reopen_gives_identical_ids_headers_definitions_and_states(tmp_path: Path) -> None:
    definitions, names = tuto()
    path = tmp_path / "re.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    keys = [login.create_key() for _ in range(3)]
    head = None
    for i in range(30):
        mutable = CommitMutableState(db.state(head) if head else db.initial_state())
        m = mutable.attachment_mutating()
        key = keys[i % 3]
        if m.has(login, key):
            m.update(login, key, nickname, f"n{i}")
        else:
            m.set(login, key, {"nickname": f"s{i}"})
        head = db.commit_mutations(f"c{i}", mutable)
    undo = db.disable_commit("undo", head, db.commit_header(head).parent_commit_id())
    before = {c: (db.commit_header(c), repr([db.state(c).attachment_getting().get(login, k) for k in keys]))
              for c in db.commit_ids()}
    db.close()
    again = CommitDatabase.open(str(path))
    assert again.commit_ids() == set(before)
    assert again.definitions_hexdigest() == definitions.hexdigest()
    for c, (header, docs) in before.items():
        assert again.commit_header(c) == header
        assert repr([again.state(c).attachment_getting().get(login, k) for k in keys]) == docs
    assert again.head_commit_ids() == {undo}


def test_a_token_codec_file_works(tmp_path: Path) -> None:
    """FORMAT.md §1/§7.3: a file whose CodecName is StreamTokenBinary stores definitions and
    programs with token bytes and computes commit ids over the token writes."""
    definitions, names = tuto()
    path = tmp_path / "token.cdb"
    CommitDatabase.create(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'CodecName'", (b"StreamTokenBinary",))
    conn.execute("UPDATE ds_metadata SET data = ? WHERE identifier = 'Definitions'", (Definitions().encode(),))
    conn.commit()
    db = CommitDatabase.open(str(path))
    assert db.codec_name() == "StreamTokenBinary"
    db.extend_definitions(definitions)
    login = names["TUTO_A_USER_LOGIN"]
    key = login.create_key(ValueUUId(ALICE))
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "x", "password": "p"})
    first = db.commit_mutations("token", mutable)
    empty = db.commit_mutations("empty", CommitMutableState(db.initial_state()))
    db.close()
    row = sqlite3.connect(path).execute("SELECT data FROM ds_commit WHERE commit_id = ?", (str(first),)).fetchone()
    program = row[0]
    assert program[:9] == b"\x04" + struct.pack("<Q", 1)  # the opcode count carries its u64 token
    assert str(first) != "90d1aadfaa18d44db1bdb5e1ef8908312ae425dd"  # the id hashes the token writes
    assert first.bytes_value() == compute_commit_id(bytes(20), 0, bytes(20), program, token=True)
    assert empty.bytes_value() == compute_commit_id(bytes(20), 0, bytes(20), b"\x04" + bytes(8), token=True)
    again = CommitDatabase.open(str(path))
    assert repr(again.state(first).attachment_getting().get(login, key)) == "Optional({nickname='x', password='p'})"
    assert again.definitions_hexdigest() == definitions.hexdigest()


def test_closed_database_refuses_calls(tmp_path: Path) -> None:
    from commitdb import DatabaseClosedError

    for db in (CommitDatabase.create(str(tmp_path / "c.cdb")), CommitDatabase.create_in_memory()):
        db.close()
        assert db.is_closed()
        with pytest.raises(DatabaseClosedError, match="closed"):
            db.commit_ids()
        with pytest.raises(DatabaseClosedError):
            db.initial_state()


def test_extending_with_an_attachment_of_another_shape_conflicts(tmp_path: Path) -> None:
    from commitdb import DefinitionsConflictError

    definitions, _ = tuto()
    db = CommitDatabase.create(str(tmp_path / "d.cdb"))
    db.extend_definitions(definitions)
    changed = (ROOT / "examples" / "tuto.dsm").read_text().replace(
        "attachment<User, Identity> identity;", "attachment<User, Login> identity;")
    builder = DSMBuilder()
    builder.append("changed.dsm", changed)
    report, _, other = builder.parse()
    assert not report.has_error(), str(report)
    before = db.definitions_hexdigest()
    with pytest.raises(DefinitionsConflictError, match="identity"):
        db.extend_definitions(other)
    assert db.definitions_hexdigest() == before  # nothing was half-added


def test_a_malformed_commit_row_is_named(tmp_path: Path) -> None:
    definitions, _ = tuto()
    path = tmp_path / "rows.cdb"
    conn = _raw_file(path, definitions)
    _insert(conn, bytes(20), _set_login_program("x", "p"), "ok", 1.0)
    conn.execute("INSERT INTO ds_commit VALUES (?, ?, 2.0, 'bad', 0, ?, x'')", ("ab" * 20, "not-hex", "0" * 40))
    conn.commit()
    with pytest.raises(CorruptedDataError, match="malformed id 'not-hex'"):
        CommitDatabase.open(str(path))
    conn.execute("UPDATE ds_commit SET parent_id = ?, type = 7 WHERE label = 'bad'", ("0" * 40,))
    conn.commit()
    with pytest.raises(CorruptedDataError, match="unknown type 7"):
        CommitDatabase.open(str(path))


def test_a_reader_sees_a_burst_of_another_connections_commits_on_a_document_it_read(tmp_path: Path) -> None:
    definitions, names = tuto()
    path = tmp_path / "two.cdb"
    first = CommitDatabase.create(str(path))
    first.extend_definitions(definitions)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key()
    mutable = CommitMutableState(first.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "a"})
    head = first.commit_mutations("a", mutable)
    first.close()
    reader = CommitDatabase.open(str(path))
    assert repr(reader.state(head).attachment_getting().get(login, key)) == "Optional({nickname='a', password=''})"
    writer = CommitDatabase.open(str(path))
    for i in range(300):  # a burst from another connection, on the document the reader read
        mutable = CommitMutableState(writer.state(head))
        mutable.attachment_mutating().update(login, key, nickname, f"w{i}")
        head = writer.commit_mutations(f"w{i}", mutable)
    assert reader.last_commit_id() == head
    assert repr(reader.state(head).attachment_getting().get(login, key)) == "Optional({nickname='w299', password=''})"


def test_index_rows_never_attach_to_a_commit_that_reused_a_rowid(tmp_path: Path) -> None:
    """Another program deletes the last commit and appends a different one, which SQLite gives
    the same rowid: the old cache rows (tagged with the old id) are ignored, the new commit is
    decoded and indexed."""
    definitions, names = tuto()
    login = names["TUTO_A_USER_LOGIN"]
    path = tmp_path / "reuse.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    other = login.create_key()
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, other, {"nickname": "other"})
    doomed = db.commit_mutations("doomed", mutable)
    db.close()
    conn = sqlite3.connect(path)
    rowid = conn.execute("SELECT rowid FROM ds_commit WHERE commit_id = ?", (str(doomed),)).fetchone()[0]
    conn.execute("DELETE FROM ds_commit WHERE commit_id = ?", (str(doomed),))  # no cache cleanup
    conn.commit()
    fresh = _insert(conn, bytes(20), _set_login_program("x", "p"), "reused", 2.0)
    assert conn.execute("SELECT rowid FROM ds_commit WHERE commit_id = ?", (fresh.hex(),)).fetchone()[0] == rowid
    conn.close()
    again = CommitDatabase.open(str(path))
    getting = again.state(fresh).attachment_getting()
    alice = login.create_key(ValueUUId(ALICE))
    assert repr(getting.get(login, alice)) == "Optional({nickname='x', password='p'})"
    assert getting.get(login, other).is_nil()
    assert [str(k) for k in getting.keys(login)] == [ALICE]


def test_document_numbers_from_a_rolled_back_transaction_are_not_reused(tmp_path: Path) -> None:
    definitions, names = tuto()
    login = names["TUTO_A_USER_LOGIN"]
    path = tmp_path / "rollback.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    backend = db.commit_databasing()
    key = login.create_key()
    backend.begin_transaction("Immediate")
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "gone"})  # numbers the document
    db.commit_mutations("rolled back", mutable)
    backend.rollback()  # ... and takes the number back
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "kept"})
    kept = db.commit_mutations("kept", mutable)
    db.close()
    again = CommitDatabase.open(str(path))
    views = again.engine_reader()
    dk = (login.rid, key.instance_id().bytes_value(), names["TUTO_C_USER"].rid)
    ranges = views.lin_of(*views.placement(kept.bytes_value()))
    assert [t[2] for t in views.read_index().touches(dk, ranges)] == [kept.bytes_value()]
    assert repr(again.state(kept).attachment_getting().get(login, key)) == "Optional({nickname='kept', password=''})"
