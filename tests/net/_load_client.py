"""One client of the concurrency test: commits on its own chain and reads, then reports.

Run as a process: ``python _load_client.py (tcp HOST:PORT | unix PATH) INDEX ROOT_HEX SECONDS``.
It prints one JSON line with its commits, waits for ``check`` on stdin, then prints one JSON
line with what it sees of the whole database. The test's threads call the same functions.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

from commitdb import CommitDatabase, CommitMutableState, Value, ValueUUId
from commitdb.testing.models import TUTO_DSM
from commitdb.testing.suite import parse_definitions

MAX_COMMITS = 3000  # a bound on top of the time limit


def names() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    parse_definitions(TUTO_DSM, "tuto.dsm").inject(ns)
    return ns


def key(ns: dict[str, Any], index: int) -> Any:
    return ns["TUTO_A_USER_LOGIN"].create_key(ValueUUId(str(uuid.UUID(int=index + 1))))


def nickname_at(db: CommitDatabase, ns: dict[str, Any], commit: Any, index: int) -> Any:
    doc = Value.dumps(db.state(commit).attachment_getting().get(ns["TUTO_A_USER_LOGIN"], key(ns, index)))
    return None if doc is None else doc["nickname"]


def run_client(db: CommitDatabase, index: int, root_hex: str, seconds: float) -> list[str]:
    """Commit ``c<index>-<n>`` on this client's own chain from the root until time is up,
    checking each write reads back and that other clients' writes show up."""
    ns = names()
    login, nickname = ns["TUTO_A_USER_LOGIN"], ns["TUTO_P_LOGIN_NICKNAME"]
    k = key(ns, index)
    last = db.commit_header(root_hex).commit_id()
    mine: list[str] = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and n < MAX_COMMITS:
        m = CommitMutableState(db.state(last))
        m.attachment_mutating().update(login, k, nickname, f"c{index}-{n}")
        last = db.commit_mutations(f"client {index} #{n}", m)
        mine.append(str(last))
        assert nickname_at(db, ns, last, index) == f"c{index}-{n}"
        if n % 4 == 0:
            heads = db.head_commit_ids()
            assert last in heads, "a client's newest commit must be a head"
            assert len(db.commit_ids()) >= len(mine) + 1
        n += 1
    return mine


def final_view(db: CommitDatabase) -> dict[str, Any]:
    return {"ids": sorted(str(c) for c in db.commit_ids()), "heads": sorted(str(h) for h in db.head_commit_ids())}


def connect(kind: str, where: str) -> CommitDatabase:
    if kind == "unix":
        return CommitDatabase.connect_local(where)
    host, port = where.rsplit(":", 1)
    return CommitDatabase.connect(host, port)


def main() -> int:
    kind, where, index, root_hex, seconds = sys.argv[1:6]
    db = connect(kind, where)
    try:
        mine = run_client(db, int(index), root_hex, float(seconds))
        print(json.dumps({"commits": mine}), flush=True)
        if sys.stdin.readline().strip() != "check":
            return 1
        print(json.dumps(final_view(db)), flush=True)
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
