"""Many writers on one PostgreSQL store: eight processes committing at once, a writer killed
mid-loop and a connection dropped mid-transaction (nothing lost, nothing doubled, nothing
half-written)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest

from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, ValueCommitId

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from commitdb import CommitDatabase, CommitMutableState
    db = {opening}
    names = {{}}
    db.definitions().inject(names)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key()
    head = None
    for i in range({count}):
        mutable = CommitMutableState(db.state(head) if head else db.initial_state())
        if head is None:
            mutable.attachment_mutating().set(login, key, {{"nickname": "w{worker}-0"}})
        else:
            mutable.attachment_mutating().update(login, key, nickname, "w{worker}-%d" % i)
        head = db.commit_mutations("w{worker}", mutable)
        print(head, flush=True)
    {after}
""")


def tuto_database(url: str) -> None:
    builder = DSMBuilder()
    builder.append("tuto.dsm", (ROOT / "examples" / "tuto.dsm").read_text())
    _, _, definitions = builder.parse()
    db = CommitDatabase.create(url)
    db.extend_definitions(definitions)
    db.close()


def spawn(url: str, worker: int, count: int, after: str = "", opening: str = "") -> subprocess.Popen[str]:
    """A writer process: ``count`` commits on a chain of its own, each id printed; it opens
    ``url``, or evaluates ``opening`` (e.g. a connection to a server)."""
    script = WRITER.format(src=str(ROOT / "src"), opening=opening or f"CommitDatabase.open({url!r})",
                           worker=worker, count=count, after=after)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def names_of(db: CommitDatabase) -> dict[str, Any]:
    names: dict[str, Any] = {}
    db.definitions().inject(names)
    return names


def test_eight_writer_processes_every_commit_exactly_once(pg_cluster: Any) -> None:
    url = pg_cluster.new_database_url()
    tuto_database(url)
    watcher = CommitDatabase.open(url)
    version = watcher.data_version()
    procs = [spawn(url, w, 15) for w in range(8)]
    made: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        made += [line for line in out.splitlines() if len(line) == 40]
    assert len(made) == 8 * 15 and len(set(made)) == len(made)
    # A connection opened before the writers sees every commit, once, in creation order.
    assert watcher.data_version() != version
    ids = [str(c) for c in watcher.commit_ids()]
    assert sorted(ids) == sorted(made)
    assert len(watcher.head_commit_ids()) == 8
    login = names_of(watcher)["TUTO_A_USER_LOGIN"]
    for head in watcher.head_commit_ids():
        (key,) = watcher.state(head).attachment_getting().keys(login)
        assert str(watcher.state(head).attachment_getting().get(login, key)).count("-14") == 1
    # Reducing the eight heads is exclusive across writers: one final head.
    merged = watcher.reduce_heads()
    assert watcher.head_commit_ids() == {merged}
    fresh = CommitDatabase.open(url)
    assert fresh.commit_ids() == watcher.commit_ids()
    assert fresh.head_commit_ids() == {merged}
    assert fresh.last_commit_id() == watcher.last_commit_id()
    fresh.close()
    watcher.close()


def test_a_writer_killed_mid_loop_loses_nothing_it_reported(pg_cluster: Any) -> None:
    url = pg_cluster.new_database_url()
    tuto_database(url)
    proc = spawn(url, 0, 10_000)
    assert proc.stdout is not None
    for _ in range(25):
        assert proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    printed = [line for line in proc.stdout.read().splitlines() if len(line) == 40]
    db = CommitDatabase.open(url)
    ids = db.commit_ids()
    for line in printed:
        assert ValueCommitId(line) in ids
    for cid in ids:
        db.commit(cid)  # re-hashes the id, decodes the program
    assert len(db.head_commit_ids()) == 1
    # The store goes on: another writer extends the chain.
    (head,) = db.head_commit_ids()
    names = names_of(db)
    login = names["TUTO_A_USER_LOGIN"]
    mutable = CommitMutableState(db.state(head))
    (key,) = db.state(head).attachment_getting().keys(login)
    mutable.attachment_mutating().update(login, key, names["TUTO_P_LOGIN_NICKNAME"], "after")
    db.commit_mutations("after", mutable)
    assert len(db.commit_ids()) == len(ids) + 1
    db.close()


HOLD = """
import os, signal
db.commit_databasing().begin_transaction('Immediate')
mutable = CommitMutableState(db.state(head))
mutable.attachment_mutating().update(login, key, nickname, "uncommitted")
print(db.commit_mutations("uncommitted", mutable), flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_connection_dropped_mid_transaction_leaves_nothing(pg_cluster: Any) -> None:
    url = pg_cluster.new_database_url()
    tuto_database(url)
    # The writer stores 3 commits, then one more inside a transaction, and stops before COMMIT.
    writer = spawn(url, 1, 3, after=HOLD)
    try:
        assert writer.stdout is not None
        committed = [writer.stdout.readline().strip() for _ in range(3)]
        uncommitted = writer.stdout.readline().strip()
        assert len(uncommitted) == 40
        # While it holds the write lock, readers are not blocked and do not see its commit.
        db = CommitDatabase.open(url)
        assert sorted(str(c) for c in db.commit_ids()) == sorted(committed)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert not db.commit_exists(ValueCommitId(uncommitted))
    # A connection the server drops mid-transaction: nothing of it is kept either.
    other = CommitDatabase.open(url)
    other.commit_databasing().begin_transaction("Immediate")
    names = names_of(other)
    login = names["TUTO_A_USER_LOGIN"]
    mutable = CommitMutableState(other.initial_state())
    mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "lost"})
    lost = other.commit_mutations("lost", mutable)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                               "AND state LIKE 'idle in transaction%'").fetchall()
    assert len(killed) == 1
    assert db.commit_exists(ValueCommitId(committed[0]))
    assert not db.commit_exists(lost)
    assert len(db.commit_databasing().all_headers()) == 3
    # The write lock went with the dropped connections: writing goes on.
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "next"})
    db.commit_mutations("next", mutable)
    assert len(db.commit_ids()) == 4
    db.close()


def test_connections_the_server_dropped_between_calls_are_replaced(pg_cluster: Any) -> None:
    url = pg_cluster.new_database_url()
    tuto_database(url)
    db = CommitDatabase.open(url)
    reader = CommitDatabase.open(url, readonly=True)
    names = names_of(db)
    login = names["TUTO_A_USER_LOGIN"]
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "before"})
    first = db.commit_mutations("before", mutable)
    assert reader.head_commit_ids() == {first}
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:  # a restart, a failover
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                      "AND backend_type = 'client backend'")
    # The next write and the next read go through on new connections.
    mutable = CommitMutableState(db.state(first))
    mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "after"})
    second = db.commit_mutations("after", mutable)
    assert reader.head_commit_ids() == {second}
    assert reader.commit_ids() == {first, second}
    reader.close()
    db.close()


def test_an_exclusive_transaction_holds_off_every_other_writer(pg_url: str) -> None:
    import threading

    tuto_database(pg_url)
    holder, other = CommitDatabase.open(pg_url), CommitDatabase.open(pg_url)
    names = names_of(other)
    login = names["TUTO_A_USER_LOGIN"]
    holder.commit_databasing().begin_transaction("Exclusive")  # as reduce_heads and extend_definitions do
    version = other.data_version()
    done = threading.Event()

    def write() -> None:
        mutable = CommitMutableState(other.initial_state())
        mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "waited"})
        other.commit_mutations("waited", mutable)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.5), "a writer went through while another held an exclusive transaction"
    reader = CommitDatabase.open(pg_url)  # (``other`` is busy waiting, on its thread)
    assert reader.data_version() == version and not reader.commit_ids()  # reads still answer
    reader.close()
    holder.commit_databasing().commit()
    thread.join(10)
    assert done.is_set()
    assert len(holder.commit_ids()) == 1 and holder.data_version() != version
    holder.close()
    other.close()


def test_a_writer_notices_the_read_index_rebuilt_by_another_connection(pg_url: str) -> None:
    """Writes that touch only the read index (a rebuild, a catch-up, snapshots) move the data
    version too, so a writer never trusts what it cached of the index across them."""
    tuto_database(pg_url)
    writer, other = CommitDatabase.open(pg_url), CommitDatabase.open(pg_url)
    names = names_of(writer)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key()
    mutable = CommitMutableState(writer.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "n0"})
    head = writer.commit_mutations("n0", mutable)
    for i in range(1, 4):
        version = other.data_version()
        other.commit_databasing().read_index().wipe()  # placements gone: a new epoch
        assert other.data_version() != version
        assert other.head_commit_ids() == {head}  # caught up again by the other connection
        mutable = CommitMutableState(writer.state(head))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        head = writer.commit_mutations(f"n{i}", mutable)
    fresh = CommitDatabase.open(pg_url)
    assert fresh.head_commit_ids() == {head}
    assert len(fresh.commit_ids()) == 4
    assert fresh.state(head).attachment_getting().get(login, key).unwrap().nickname == "n3"
    fresh.close()
    writer.close()
    other.close()
