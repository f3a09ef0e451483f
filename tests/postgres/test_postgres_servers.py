"""Many servers, one store: servers on one PostgreSQL database, their clients committing at
once; each client sees what was committed through the other servers, and live changes reach
watching clients of every server within a second."""

from __future__ import annotations

import time

import pytest
from test_postgres_processes import names_of, spawn, tuto_database

from commitdb import CommitDatabase, CommitMutableState
from commitdb.net.background import BackgroundServer

pytestmark = pytest.mark.timeout(180)



def test_a_client_of_one_server_sees_commits_made_through_another(pg_url: str) -> None:
    tuto_database(pg_url)
    with BackgroundServer(pg_url, host="127.0.0.1", port=0) as a, \
            BackgroundServer(pg_url, host="127.0.0.1", port=0) as b:
        on_a = CommitDatabase.connect("127.0.0.1", a.port)
        on_b = CommitDatabase.connect("127.0.0.1", b.port)
        names = names_of(on_b)
        login = names["TUTO_A_USER_LOGIN"]
        key = login.create_key()
        assert not on_a.commit_ids()
        mutable = CommitMutableState(on_b.initial_state())
        mutable.attachment_mutating().set(login, key, {"nickname": "through b"})
        first = on_b.commit_mutations("b", mutable)
        assert on_a.head_commit_ids() == {first}
        assert on_a.state(first).attachment_getting().get(login, key).unwrap().nickname == "through b"
        # And back: a commit through A on top of B's, seen by B's client.
        mutable = CommitMutableState(on_a.state(first))
        mutable.attachment_mutating().update(login, key, names["TUTO_P_LOGIN_NICKNAME"], "through a")
        second = on_a.commit_mutations("a", mutable)
        assert on_b.head_commit_ids() == {second}
        assert on_b.last_commit_id() == second
        assert on_b.state(second).attachment_getting().get(login, key).unwrap().nickname == "through a"
        on_a.close()
        on_b.close()


def test_two_servers_eight_clients_each_every_commit_exactly_once(pg_url: str) -> None:
    tuto_database(pg_url)
    with BackgroundServer(pg_url, host="127.0.0.1", port=0) as a, \
            BackgroundServer(pg_url, host="127.0.0.1", port=0) as b:
        procs = [spawn(pg_url, i, 6, opening=f"CommitDatabase.connect('127.0.0.1', {server.port})")
                 for i, server in enumerate([a, b] * 8)]
        made: list[str] = []
        for p in procs:
            out, err = p.communicate(timeout=150)
            assert p.returncode == 0, err
            made += [line for line in out.splitlines() if len(line) == 40]
        assert len(made) == 16 * 6 and len(set(made)) == len(made)
        for server in (a, b):
            client = CommitDatabase.connect("127.0.0.1", server.port)
            assert sorted(str(c) for c in client.commit_ids()) == sorted(made)
            assert len(client.head_commit_ids()) == 16
            client.close()
    direct = CommitDatabase.open(pg_url)
    assert sorted(str(c) for c in direct.commit_ids()) == sorted(made)
    direct.close()


def test_live_changes_reach_the_clients_of_every_server_within_a_second(pg_url: str) -> None:
    tuto_database(pg_url)
    with BackgroundServer(pg_url, host="127.0.0.1", port=0) as a, \
            BackgroundServer(pg_url, host="127.0.0.1", port=0) as b:
        on_a = CommitDatabase.connect("127.0.0.1", a.port)
        on_b = CommitDatabase.connect("127.0.0.1", b.port)
        direct = CommitDatabase.open(pg_url)
        heard: list[int] = []
        watch_a = on_a.watch(heard.append)
        watch_direct = direct.watch()
        names = names_of(on_b)
        login = names["TUTO_A_USER_LOGIN"]
        for round_ in range(2):
            mutable = CommitMutableState(on_b.initial_state())
            mutable.attachment_mutating().set(login, login.create_key(), {"nickname": f"b{round_}"})
            made = on_b.commit_mutations("through b", mutable)
            started = time.monotonic()
            assert watch_a.wait(1.0) and watch_a.error is None, "server A's client was not told"
            assert time.monotonic() - started < 1.0
            assert made in on_a.commit_ids()
            assert watch_direct.wait(1.0), "a direct connection's watch was not told"
            assert made in direct.commit_ids()
        assert len(heard) >= 2
        watch_a.stop()
        watch_direct.stop()
        for db in (on_a, on_b, direct):
            db.close()
