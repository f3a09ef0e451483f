"""Many servers, one store: servers on one PostgreSQL database, their clients committing at
once; each client sees what was committed through the other servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_postgres_processes import names_of, spawn, tuto_database

from commitdb import CommitDatabase, CommitMutableState
from commitdb.net.background import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
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
