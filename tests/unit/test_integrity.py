"""Nothing wrong is ever read: verify checks every stored row, damaged derived rows fall back
to replay or are reported, repair rebuilds them, blobs are checked on read, and creation is
atomic."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from corruption_support import populate, read_everything, tuto

from commitdb import BlobLayout, CommitDatabase, CommitMutableState, ValueUUId
from commitdb.admin import open_replica, verify
from commitdb.cli.main import cli
from commitdb.errors import CorruptedDataError, DatabaseExistsError, IncompatibleDatabaseError
from commitdb.read_index_check import repair
from commitdb.storage import sqlite_index
from commitdb.sync import CommitSynchronizer

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def populated(tmp_path_factory) -> tuple[str, dict, dict]:
    path = str(tmp_path_factory.mktemp("integrity") / "populated.cdb")
    ids = populate(path, commits=80, users=12)
    return path, ids, read_everything(path)


@pytest.fixture
def copy(populated, tmp_path) -> str:
    path = str(tmp_path / "copy.cdb")
    conn = sqlite3.connect(populated[0])
    conn.execute(f"VACUUM INTO '{path}'")
    conn.close()
    return path


def sql(path: str, statement: str, *args) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(statement, args)
        conn.commit()
    finally:
        conn.close()


def dump(path: str, table: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()


def overwrite_cells(path: str, page: int, byte: bytes) -> None:
    """Overwrite the first 300 bytes of the cell content area of an index page."""
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096 + 5)
        content = int.from_bytes(f.read(2), "big")
        f.seek((page - 1) * 4096 + content)
        f.write(byte * min(300, 4096 - content))


def faults_of(path: str) -> list:
    report = verify(path)
    return report.faults


# --- verify: every derived row against recomputation ----------------------------------------------


def test_a_healthy_file_verifies_with_every_check(populated) -> None:
    report = verify(populated[0])
    assert report.ok, report.faults
    assert report.checked == ["sqlite pages", "metadata", "read index"]


@pytest.mark.parametrize(("damage", "location"), [
    ("UPDATE cdb_touch SET doc = doc + 1 WHERE lane = 1 AND seq = 30", "cdb_touch of commit"),
    ("DELETE FROM cdb_touch WHERE lane = 1 AND seq = 31", "cdb_touch of commit"),
    ("UPDATE cdb_commit SET seq = seq + 1000 WHERE rowid = 12", "cdb_commit rowid"),
    ("UPDATE cdb_lane SET length = length + 1 WHERE id = 1", "cdb_lane 1"),
    ("UPDATE cdb_lane SET extra = NULL WHERE extra IS NOT NULL", "cdb_lane"),
    ("UPDATE cdb_flip SET target_seq = target_seq + 1", "cdb_flip"),
    ("DELETE FROM cdb_flip", "cdb_flip"),
    ("UPDATE cdb_tip SET last_rowid = 2", "cdb_tip"),
    ("UPDATE cdb_tip SET upto_id = x'00'", "cdb_tip"),
    ("UPDATE cdb_doc SET instance = x'0102' WHERE id = 3", "cdb_touch of commit"),
    ("UPDATE cdb_snapshot SET data = CAST(data || x'00' AS BLOB)", "cdb_snapshot"),
    ("UPDATE cdb_lane SET base_lane = 99 WHERE base_lane IS NOT NULL", "cdb_lane"),
    ("UPDATE cdb_commit SET lane = 'x' WHERE rowid = 5", "cdb_commit rowid 5"),
])
def test_verify_reports_each_damaged_derived_row_and_repair_fixes_it(copy, populated, damage, location) -> None:
    formats = {table: dump(copy, table) for table in ("ds_commit", "ds_blob", "ds_metadata")}
    sql(copy, damage)
    faults = faults_of(copy)
    assert faults, damage
    assert all(f.kind == "read-index" for f in faults), faults
    assert any(f.location.startswith(location) for f in faults), faults
    report = repair(copy)
    assert report.commits == len(dump(copy, "ds_commit")) and not report.remaining
    assert verify(copy).ok
    assert read_everything(copy) == populated[2]
    # The three tables of the format are never written by repair.
    assert {table: dump(copy, table) for table in formats} == formats


def test_wrong_reads_through_a_damaged_index_are_named_by_verify(copy, populated) -> None:
    """A touch row filed under the wrong document hides a change: the read is wrong, and verify
    says so (no cheap check on use can see a row that is missing: verify and repair are the answer)."""
    sql(copy, "UPDATE cdb_touch SET doc = (SELECT max(id) FROM cdb_doc) WHERE doc = 2")
    assert read_everything(copy) != populated[2]
    faults = faults_of(copy)
    assert any("reads differently through the index" in f for f in faults), faults
    repair(copy)
    assert read_everything(copy) == populated[2]


def test_sqlite_page_damage_in_a_derived_table_is_reported_and_repaired(copy, populated) -> None:
    conn = sqlite3.connect(copy)
    pages = dict(conn.execute("SELECT name, pageno FROM dbstat WHERE name IN ('cdb_touch', "
                              "'sqlite_autoindex_cdb_doc_1')").fetchall())
    conn.close()
    overwrite_cells(copy, pages["sqlite_autoindex_cdb_doc_1"], b"\x07")
    faults = faults_of(copy)
    assert any(f.kind == "sqlite" for f in faults), faults
    result = CliRunner().invoke(cli, ["verify", copy])
    assert result.exit_code == 4 and "[sqlite]" in result.stdout
    result = CliRunner().invoke(cli, ["repair", copy])
    assert result.exit_code == 0, result.output
    assert "rebuilt the read index of 84 commit(s)" in result.stdout
    assert verify(copy).ok
    assert read_everything(copy) == populated[2]


def test_repair_names_damage_it_cannot_fix(copy) -> None:
    conn = sqlite3.connect(copy)
    page = conn.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_autoindex_ds_commit_1'").fetchone()[0]
    conn.close()
    overwrite_cells(copy, page, b"\x00")
    result = CliRunner().invoke(cli, ["repair", copy])
    assert result.exit_code == 4
    assert "repair does not rewrite them" in result.stdout


# --- snapshots: checked on use ---------------------------------------------------------------------


def test_a_damaged_snapshot_is_never_read(copy, populated, caplog) -> None:
    """The snapshot of a document holding password 'secret' is changed to 'SECRET' (its digest
    kept): a fresh reader replays instead, logs the fault, and verify reports it."""
    conn = sqlite3.connect(copy)
    rows = conn.execute("SELECT doc, lane, seq, data FROM cdb_snapshot").fetchall()
    assert rows and all(b"secret" in bytes(r[3]) for r in rows)
    conn.executemany("UPDATE cdb_snapshot SET data = ? WHERE doc = ? AND lane = ? AND seq = ?",
                     [(bytes(r[3]).replace(b"secret", b"SECRET"), *r[:3]) for r in rows])
    conn.commit()
    conn.close()
    with caplog.at_level(logging.WARNING, logger="commitdb"):
        assert read_everything(copy) == populated[2]
    assert "does not match its digest" in caplog.text
    faults = faults_of(copy)
    assert any(f.location.startswith("cdb_snapshot") and "digest" in f for f in faults), faults


def test_snapshot_rows_carry_a_digest_of_what_they_describe() -> None:
    dk = (b"a" * 16, b"i" * 16, b"c" * 16)
    digest = sqlite_index.snapshot_digest(dk, b"\x01" * 20, 1, 5, b"doc")
    assert digest != sqlite_index.snapshot_digest(dk, b"\x01" * 20, 1, 6, b"doc")
    assert digest != sqlite_index.snapshot_digest(dk, b"\x02" * 20, 1, 5, b"doc")
    assert digest != sqlite_index.snapshot_digest((dk[0], dk[2], dk[1]), b"\x01" * 20, 1, 5, b"doc")
    assert digest != sqlite_index.snapshot_digest(dk, b"\x01" * 20, 1, 5, b"dog")


def test_files_of_an_older_read_layout_are_rebuilt_on_open(copy, populated) -> None:
    sql(copy, "UPDATE cdb_tip SET layout = 3")
    sql(copy, "UPDATE cdb_snapshot SET data = x'00'")  # rows of the old layout are never trusted
    assert read_everything(copy) == populated[2]  # read-only: read in memory
    CommitDatabase.open(copy).close()
    assert dump(copy, "cdb_tip")[0][2] == sqlite_index.LAYOUT
    assert verify(copy).ok and read_everything(copy) == populated[2]


# --- metadata, labels and timestamps ---------------------------------------------------------------


def test_verify_names_a_blob_row_without_a_blob_id(copy) -> None:
    sql(copy, "UPDATE ds_blob SET identifier = 'xyz'")
    faults = [f for f in faults_of(copy) if f.kind == "blob"]
    assert any(f.location.startswith("ds_blob rowid") and "not a blob id" in f for f in faults), faults


@pytest.mark.parametrize(("identifier", "value", "location"), [
    ("DefinitionsHexDigest", b"0" * 40, "ds_metadata DefinitionsHexDigest"),
    ("UUID", b"not-a-uuid", "ds_metadata UUID"),
])
def test_verify_checks_the_metadata_it_can(copy, identifier, value, location) -> None:
    sql(copy, "UPDATE ds_metadata SET data = ? WHERE identifier = ?", value, identifier)
    faults = faults_of(copy)
    assert [f.location for f in faults if f.kind == "metadata"] == [location]



@pytest.mark.parametrize("timestamp", [-1.0, 1e20, None])
def test_verify_flags_timestamps_out_of_range(copy, timestamp) -> None:
    sql(copy, "UPDATE ds_commit SET timestamp = ? WHERE rowid = 3", timestamp)
    faults = [f for f in faults_of(copy) if f.kind == "timestamp"]
    assert len(faults) == 1 and "out of range" in faults[0]


def test_verify_flags_a_label_holding_nul(copy) -> None:
    sql(copy, "UPDATE ds_commit SET label = 'Chan' || char(0) || 'ge' WHERE rowid = 4")
    faults = [f for f in faults_of(copy) if f.kind == "label"]
    assert len(faults) == 1 and "NUL" in faults[0]


def test_a_label_that_is_not_utf8_is_a_clear_corruption_error(copy) -> None:
    sql(copy, "UPDATE ds_commit SET label = CAST(x'ff00fe' AS TEXT) WHERE rowid = 4")
    with pytest.raises(CorruptedDataError, match="damaged text"):
        read_everything(copy)
    assert not verify(copy).ok


# --- blobs ------------------------------------------------------------------------------------------


def test_a_blob_damaged_on_disk_raises_instead_of_being_returned(tmp_path) -> None:
    path = str(tmp_path / "blobs.cdb")
    with CommitDatabase.create(path) as db:
        blob_id = db.create_blob(BlobLayout("uchar", 1), b"pixels" * 100)
        assert bytes(db.blob(blob_id)) == b"pixels" * 100
    sql(path, "UPDATE ds_blob SET data = ?", b"pixelz" + b"pixels" * 99)
    with CommitDatabase.open(path) as db:
        with pytest.raises(CorruptedDataError, match="do not hash to its id"):
            db.blob(blob_id)
        with pytest.raises(CorruptedDataError):
            db.read_blob(blob_id, 3, 0)
    sql(path, "UPDATE ds_blob SET layout = 'nonsense'")
    with CommitDatabase.open(path) as db, pytest.raises(CorruptedDataError, match="layout"):
        db.blob(blob_id)


# --- atomic creation --------------------------------------------------------------------------------


def test_an_empty_file_left_by_an_older_version_is_named_with_its_fix(tmp_path) -> None:
    path = tmp_path / "replica.cdb"
    path.write_bytes(b"")
    with pytest.raises(IncompatibleDatabaseError, match=r"empty \(0 bytes\).*rm "):
        CommitDatabase.open(str(path))
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA user_version = 1")  # an SQLite file without a table
    conn.close()
    with pytest.raises(IncompatibleDatabaseError, match=r"holding no table.*rm "):
        CommitDatabase.open(str(path))
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 6 and "rm " in result.output


def test_create_never_replaces_what_appears_meanwhile(tmp_path) -> None:
    path = tmp_path / "x.cdb"
    CommitDatabase.create(str(path)).close()
    with pytest.raises(DatabaseExistsError):
        CommitDatabase.create(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["x.cdb"]  # no temporary file left behind


CREATOR = textwrap.dedent("""
    import sys
    from commitdb import CommitDatabase
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    CommitDatabase.create(sys.argv[1], "killed creation").close()
    sys.stdout.write("done\\n"); sys.stdout.flush()
""")


def test_a_creation_killed_at_any_point_leaves_nothing_or_a_whole_database(tmp_path) -> None:
    source = str(tmp_path / "source.cdb")
    definitions, names = tuto()
    with CommitDatabase.create(source, "source") as db:
        db.extend_definitions(definitions)
        login = names["TUTO_A_USER_LOGIN"]
        m = CommitMutableState(db.initial_state())
        m.attachment_mutating().set(login, login.create_key(ValueUUId("11111111-1111-1111-1111-111111111111")),
                                    {"nickname": "a", "password": "b"})
        db.commit_mutations("One", m)
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def creator(path: str) -> tuple[subprocess.Popen, float]:
        child = subprocess.Popen([sys.executable, "-c", CREATOR, path], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline() == b"ready\n"
        child.stdin.write(b"go\n")
        child.stdin.flush()
        return child, time.perf_counter()

    child, started = creator(str(tmp_path / "timed.cdb"))  # how long one creation takes here
    assert child.stdout.readline() == b"done\n"
    duration = time.perf_counter() - started
    child.wait()
    outcomes = {"absent": 0, "complete": 0}
    for attempt in range(12):
        path = str(tmp_path / f"replica{attempt}.cdb")
        child, started = creator(path)
        # From at once to 1.5 times a creation: before, during and after it.
        time.sleep(max(0.0, started + duration * 1.5 * attempt / 11 - time.perf_counter()))
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
        if os.path.exists(path):
            outcomes["complete"] += 1
            CommitDatabase.open(path).close()  # a whole, empty database
        else:
            outcomes["absent"] += 1
        with CommitDatabase.open(source) as db:
            target, _ = open_replica(path, db.documentation())
            with target:
                CommitSynchronizer(db, target).sync()
                assert len(target.commit_ids()) == 1
    print(f"\nkilled creations: {outcomes}")
    assert sum(outcomes.values()) == 12


def test_verify_a_served_database_through_the_server_and_at_its_file(copy) -> None:
    """Through a server: the commits, programs, labels, timestamps and blobs as they arrive, and
    the server's own check of its file (an admin request); at the file while the server serves
    it: everything, on a read-only connection beside the server's."""
    from commitdb.net import security
    from commitdb.net.background import BackgroundServer

    assert security.required_role("verify_file") == security.ADMIN
    sql(copy, "UPDATE ds_commit SET timestamp = -5 WHERE rowid = 7")
    sql(copy, "UPDATE cdb_flip SET target_seq = target_seq + 1")
    with BackgroundServer(copy, host="127.0.0.1", port=0) as server:
        served = CliRunner().invoke(cli, ["verify", "--host", "127.0.0.1", "--port", str(server.port)])
        assert served.exit_code == 4
        assert "[timestamp]" in served.stdout and "FAULT cdb_flip" in served.stdout
        assert served.stdout.count("[timestamp]") == 1  # the server does not repeat what the client checked
        assert "read index (by the server)" in served.stdout
        at_file = CliRunner().invoke(cli, ["verify", copy])
        assert at_file.exit_code == 4
        assert "[timestamp]" in at_file.stdout and "FAULT cdb_flip" in at_file.stdout


def test_verify_through_a_server_says_what_a_read_token_cannot_check(copy, tmp_path) -> None:
    from commitdb.admin import verify_through
    from commitdb.errors import PermissionDeniedError

    class ReadOnlyToken:
        def __init__(self, db):
            self._db = db

        def __getattr__(self, name):
            return getattr(self._db, name)

        def verify_file(self):
            raise PermissionDeniedError("verify_file needs the admin role")

    with CommitDatabase.open(copy) as db:
        backend = ReadOnlyToken(db.commit_databasing())
        db.commit_databasing = lambda: backend  # type: ignore[method-assign]
        report = verify_through(db, "served")
    assert report.ok and not report.checked and "admin token" in report.not_checked


def test_a_connection_open_during_a_repair_drops_what_it_cached(copy) -> None:
    _, names = tuto()
    login = names["TUTO_A_USER_LOGIN"]
    with CommitDatabase.open(copy) as db:
        last = db.last_commit_id()
        before = {str(k): repr(db.state(last).attachment_getting().get(login, k))
                  for k in db.state(last).attachment_getting().keys(login).members()}
        epoch = db.engine_reader().read_index().epoch()
        sql(copy, "UPDATE cdb_touch SET doc = doc + 1 WHERE lane = 1 AND seq = 30")
        repair(copy)
        assert db.engine_reader().read_index().epoch() != epoch
        after = {str(k): repr(db.state(last).attachment_getting().get(login, k))
                 for k in db.state(last).attachment_getting().keys(login).members()}
        assert after == before
    assert verify(copy).ok


def test_a_parent_another_program_stores_late_is_placed_before_its_child(tmp_path) -> None:
    """Another program stores a child, then (later) its parent: the child was placed without its
    parent; indexing the parent places everything again, so the child's state holds both."""
    _, names = tuto()
    login = names["TUTO_A_USER_LOGIN"]
    keys = [login.create_key(ValueUUId(f"{i}{i}{i}{i}{i}{i}{i}{i}-1111-1111-1111-111111111111")) for i in (1, 2)]
    source, target = str(tmp_path / "source.cdb"), str(tmp_path / "target.cdb")
    with CommitDatabase.create(source) as db:
        db.extend_definitions(tuto()[0])
        m = CommitMutableState(db.initial_state())
        m.attachment_mutating().set(login, keys[0], {"nickname": "p", "password": "x"})
        parent = db.commit_mutations("Parent", m)
        m = CommitMutableState(db.state(parent))
        m.attachment_mutating().set(login, keys[1], {"nickname": "c", "password": "y"})
        child = db.commit_mutations("Child", m)
    with CommitDatabase.create(target) as db:
        db.extend_definitions(tuto()[0])
    rows = {r[0]: r for r in dump(source, "ds_commit")}
    by_id = {r[1]: r[1:] for r in rows.values()}
    sql(target, "INSERT INTO ds_commit VALUES (?, ?, ?, ?, ?, ?, ?)", *by_id[str(child)])
    CommitDatabase.open(target).close()  # the child is indexed without its parent
    sql(target, "INSERT INTO ds_commit VALUES (?, ?, ?, ?, ?, ?, ?)", *by_id[str(parent)])
    with CommitDatabase.open(target) as db:
        assert len(db.state(child).attachment_getting().keys(login)) == 2
    assert verify(target).ok


@pytest.mark.parametrize("damage", ["page", "unplaced", "tip"])
def test_a_read_index_that_cannot_be_read_is_left_for_one_built_in_memory(copy, populated, damage, caplog) -> None:
    """Damaged pages or rows of the read tables: the reader builds the index from the commits in
    memory (logging why) and reads what the commits say."""
    if damage == "page":
        conn = sqlite3.connect(copy)
        page = conn.execute("SELECT pageno FROM dbstat WHERE name = 'cdb_commit'").fetchone()[0]
        conn.close()
        overwrite_cells(copy, page, b"\xff")
    elif damage == "unplaced":
        sql(copy, "DELETE FROM cdb_commit WHERE rowid = 12")
    else:
        sql(copy, "UPDATE cdb_tip SET upto_id = x'00'")
    with caplog.at_level(logging.WARNING, logger="commitdb"):
        assert read_everything(copy) == populated[2]
    assert "reading through an index built in memory" in caplog.text
    assert not verify(copy).ok


def test_a_document_read_that_meets_a_damaged_index_page_is_done_again_in_memory(copy, populated) -> None:
    conn = sqlite3.connect(copy)
    page = conn.execute("SELECT pageno FROM dbstat WHERE name = 'cdb_touch' ORDER BY pageno DESC").fetchone()[0]
    conn.close()
    overwrite_cells(copy, page, b"\xff")
    assert read_everything(copy) == populated[2]
    assert not verify(copy).ok
