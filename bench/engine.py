"""Engine benchmark on a file database (not a test): prints a table and writes JSON.

(a) commits/s for N commits of one small update each, WAL journal: with synchronous=FULL (the
    default: each commit durable, even across power loss, when commit_mutations returns) and
    with synchronous=NORMAL (durable across a process crash; the last commits may be lost on
    power loss);
(b) ms to read one document at the last commit after 1,000 and N commits, cold (fresh process,
    fresh open) and warm;
(c) ms to build a state with 1,000 documents written in 1 commit and in 1,000 commits, and read all;
(d) file bytes per commit.

Usage: python bench/engine.py [--commits 10000] [--out bench/results/engine.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from commitdb import (  # noqa: E402
    CommitDatabase,
    CommitMutableState,
    ValueUUId,
    examples_db,
)

FIXED_KEY = "11111111-1111-1111-1111-111111111111"


def load_model() -> dict:
    definitions, names = examples_db.load_model(ROOT / "examples" / "tuto.dsm")
    names["__definitions__"] = definitions
    return names


def make_history(path: str, commits: int, names: dict, synchronous: str = "FULL") -> float:
    """Write ``commits`` one-field updates of one document (after a first set); returns the
    seconds the updates took."""
    from commitdb.storage.sqlite import SQLiteBackend

    SQLiteBackend.create(path).close()
    db = CommitDatabase(SQLiteBackend(path, synchronous=synchronous))
    db.extend_definitions(names["__definitions__"])
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key(ValueUUId(FIXED_KEY))
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "n0", "password": "secret"})
    head = db.commit_mutations("set", mutable)
    start = time.perf_counter()
    for i in range(1, commits):
        mutable = CommitMutableState(db.state(head))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        head = db.commit_mutations(f"update {i}", mutable)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


COLD_SCRIPT = """
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {src!r})
from commitdb import CommitDatabase, ValueUUId
t1 = time.perf_counter()
db = CommitDatabase.open({path!r}, readonly=True)
ns = {{}}
db.definitions().inject(ns)
att = ns["TUTO_A_USER_LOGIN"]
key = att.create_key(ValueUUId({key!r}))
doc = db.state(db.last_commit_id()).attachment_getting().get(att, key)
t2 = time.perf_counter()
assert not doc.is_nil()
print((t2 - t1) * 1000)
"""


def cold_read_ms(path: str) -> float:
    """Open + read one document in a fresh process (imports excluded), median of 3."""
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT.format(src=str(ROOT / "src"), path=path, key=FIXED_KEY)],
            check=True, capture_output=True, text=True,
        )
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def warm_read_ms(path: str, names: dict) -> float:
    """Read one document at the last commit with an open database: a fresh state each time
    (so the document is rebuilt from the index), median of 50."""
    db = CommitDatabase.open(path, readonly=True)
    att = names["TUTO_A_USER_LOGIN"]
    key = att.create_key(ValueUUId(FIXED_KEY))
    last = db.last_commit_id()
    db.state(last).attachment_getting().get(att, key)  # load the views
    runs = []
    for _ in range(50):
        t0 = time.perf_counter()
        db.state(last).attachment_getting().get(att, key)
        runs.append((time.perf_counter() - t0) * 1000)
    db.close()
    return statistics.median(runs)


def many_documents(path: str, names: dict, one_commit: bool) -> tuple[float, float]:
    """(ms to write, ms to build the state and read all 1,000 documents in a fresh open)."""
    db = CommitDatabase.create(path)
    db.extend_definitions(names["__definitions__"])
    att = names["TUTO_A_USER_LOGIN"]
    keys = [att.create_key() for _ in range(1000)]
    t0 = time.perf_counter()
    head = None
    mutable = CommitMutableState(db.initial_state())
    for i, key in enumerate(keys):
        mutable.attachment_mutating().set(att, key, {"nickname": f"u{i}", "password": "p"})
        if not one_commit:
            head = db.commit_mutations(f"user {i}", mutable)
            mutable = CommitMutableState(db.state(head))
    if one_commit:
        head = db.commit_mutations("users", mutable)
    write_ms = (time.perf_counter() - t0) * 1000
    db.close()
    db = CommitDatabase.open(path, readonly=True)
    db.state(head)  # open and load the views outside the timing
    t0 = time.perf_counter()
    getting = db.state(head).attachment_getting()
    docs = [getting.get(att, k) for k in getting.keys(att)]
    read_ms = (time.perf_counter() - t0) * 1000
    assert len(docs) == 1000 and all(not d.is_nil() for d in docs)
    db.close()
    return write_ms, read_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "engine.json"))
    args = parser.parse_args()
    names = load_model()
    results: dict = {"machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_implementation()} "
                                f"{platform.python_version()}, {platform.system()}",
                     "commits": args.commits}
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.cdb")
        make_history(small, 1000, names)
        big = os.path.join(tmp, "big.cdb")
        elapsed = make_history(big, args.commits, names)
        results["a_commits_per_s_synchronous_full"] = (args.commits - 1) / elapsed
        elapsed = make_history(os.path.join(tmp, "normal.cdb"), args.commits, names, synchronous="NORMAL")
        results["a_commits_per_s_synchronous_normal"] = (args.commits - 1) / elapsed
        results["b_cold_ms_1000"] = cold_read_ms(small)
        results["b_warm_ms_1000"] = warm_read_ms(small, names)
        results[f"b_cold_ms_{args.commits}"] = cold_read_ms(big)
        results[f"b_warm_ms_{args.commits}"] = warm_read_ms(big, names)
        for one in (True, False):
            label = "1_commit" if one else "1000_commits"
            w, r = many_documents(os.path.join(tmp, f"docs_{label}.cdb"), names, one)
            results[f"c_write_ms_{label}"] = w
            results[f"c_read_all_ms_{label}"] = r
        for name in ("small", "big"):
            path = os.path.join(tmp, f"{name}.cdb")
            n = 1000 if name == "small" else args.commits
            size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
            results[f"d_bytes_per_commit_{n}"] = size / n
    print(f"machine: {results['machine']}")
    print(f"{'measure':<40} {'value':>12}")
    for k, v in results.items():
        if k in ("machine", "commits"):
            continue
        print(f"{k:<40} {v:>12.2f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
