"""Shared fixtures: in-memory databases built from DSM text, the Tuto model, a rich test model
and a controllable clock for commit timestamps."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import settings

from commitdb import CommitDatabase, DSMBuilder

# CI runs every property test with fixed seeds (a red build must be reproducible, never a roll
# of the dice); local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# A model exercising every kind of path component and container the engine replays.
MODEL_DSM = """
namespace T {0d6e7b4c-1f23-4a5b-8c9d-0e1f2a3b4c5d} {
concept Thing;
concept Other;
enum Mood { calm, banned, happy };
struct Login { string nickname; string password; };
struct Inner { int64 a; string b; };
struct Profile {
  string name;
  int32 age;
  optional<string> nick;
  set<string> tags;
  map<string, int64> counters;
  vector<string> history;
  xarray<string> notes;
  tuple<int64, string> pair;
  vec<float, 3> pos;
  variant<int64, string> v;
  Inner inner;
  map<string, Login> logins;
  Mood mood;
  int8 small;
  optional<Inner> extra;
  blob_id picture;
};
struct Ref { key<Other> other; string label; };
attachment<Thing, Profile> profile;
attachment<Thing, Login> login;
attachment<Other, Ref> ref;
};
"""


def build_db(text: str) -> tuple[CommitDatabase, dict[str, Any]]:
    """An in-memory database holding the definitions of ``text``, and their injected names."""
    builder = DSMBuilder()
    builder.append("model.dsm", text)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    db = CommitDatabase.create_in_memory()
    db.extend_definitions(definitions)
    names: dict[str, Any] = {}
    definitions.inject(names)
    return db, names


@pytest.fixture
def make_db() -> Callable[[str], tuple[CommitDatabase, dict[str, Any]]]:
    return build_db


@pytest.fixture
def tuto() -> tuple[CommitDatabase, dict[str, Any]]:
    """(db, names) with the Tuto model of examples/tuto.dsm."""
    return build_db((EXAMPLES / "tuto.dsm").read_text())


@pytest.fixture
def model() -> SimpleNamespace:
    """The rich test model: ``db``, ``names``, ``P`` (profile), ``L`` (login), ``R`` (ref)."""
    db, names = build_db(MODEL_DSM)
    return SimpleNamespace(db=db, names=names, P=names["T_A_THING_PROFILE"], L=names["T_A_THING_LOGIN"],
                           R=names["T_A_OTHER_REF"])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Fixes commit timestamps: each commit takes ``clock[0]`` seconds, then it advances by 1."""
    import commitdb.database

    now = [1000.0]

    def fake_now() -> float:
        value = now[0]
        now[0] += 1.0
        return value

    monkeypatch.setattr(commitdb.database, "now_ms", fake_now)
    yield now


CHAIN_KEY = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="session")
def tuto_names() -> dict[str, Any]:
    """The Tuto model's injected names (and its definitions under ``__definitions__``)."""
    builder = DSMBuilder()
    builder.append("tuto.dsm", (EXAMPLES / "tuto.dsm").read_text())
    _, _, definitions = builder.parse()
    names: dict[str, Any] = {"__definitions__": definitions}
    definitions.inject(names)
    return names


@pytest.fixture
def chain_history(tuto_names: dict[str, Any]) -> Callable[..., list[Any]]:
    """``build(path, commits, other=False)``: a .cdb file where the first commit sets the login
    of key CHAIN_KEY (nickname 'n0', password 'p'; with ``other``, a second login too) and each
    next commit updates its nickname to 'n<i>'; returns the commit ids. Written with
    synchronous=OFF: these files measure reads, not durability."""
    from commitdb import CommitMutableState, ValueUUId
    from commitdb.storage.sqlite import SQLiteBackend

    def build(path: Path, commits: int, other: bool = False) -> list[Any]:
        SQLiteBackend.create(str(path)).close()
        db = CommitDatabase(SQLiteBackend(str(path), synchronous="OFF"))
        db.extend_definitions(tuto_names["__definitions__"])
        login, nickname = tuto_names["TUTO_A_USER_LOGIN"], tuto_names["TUTO_P_LOGIN_NICKNAME"]
        key = login.create_key(ValueUUId(CHAIN_KEY))
        mutable = CommitMutableState(db.initial_state())
        mutable.attachment_mutating().set(login, key, {"nickname": "n0", "password": "p"})
        if other:
            mutable.attachment_mutating().set(login, login.create_key(), {"nickname": "other"})
        ids = [db.commit_mutations("first", mutable)]
        for i in range(1, commits):
            mutable = CommitMutableState(db.state(ids[-1]))
            mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
            ids.append(db.commit_mutations(f"c{i}", mutable))
        db.close()
        return ids

    return build


# --- a throwaway PostgreSQL cluster (one per test session, a fresh database per test) --------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A PostgreSQL server of our own, in a temporary folder (``make test`` installs PostgreSQL
    when its binaries are missing); stopped and deleted after the session."""
    from commitdb.testing.pgcluster import ThrowawayCluster, find_bin_dir

    if find_bin_dir() is None:
        pytest.fail("PostgreSQL is not installed: run `make test` (it installs the postgresql package)")
    with ThrowawayCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Any) -> str:
    """The URL of a database that does not exist yet (``CommitDatabase.create`` creates it)."""
    return pg_cluster.new_database_url()
