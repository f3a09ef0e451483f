"""Scale benchmark (not a test): how reads and writes grow with history length.

For each N, a file gets N chained one-field commits (one document, updated once per commit),
then fresh processes measure:

- commits/s while building (WAL, synchronous=FULL: each commit durable when the call returns),
  beside a raw-SQLite baseline on the same disk in the same run (WAL, synchronous=FULL, one
  small-row insert per transaction) — the disk's limit for durable transactions;
- the import time of ``commitdb`` (reported apart: every figure below excludes it);
- open ms; cold read (open + read of the document) at the last commit and at commit N/2;
- warm read (the same read again, on a new state object, in the same process);
- the RSS growth of the reading process (after imports, to after the reads);
- file bytes per commit.

Several implementations can run side by side in one run (``--impl NAME=SRC_DIR``, e.g. an older
checkout's ``src``): the same workload, the same disk, one table.

Usage: python bench/scale.py [--sizes 1000,10000,100000] [--impl old=/path/to/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "tuto.dsm"
FIXED_KEY = "11111111-1111-1111-1111-111111111111"

# Run in a child process: build a file of N commits, print JSON {seconds, half_id, last_id}.
BUILD = r"""
import json, sys, time
from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, ValueUUId
path, n, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
builder = DSMBuilder(); builder.append("tuto.dsm", open(model).read())
report, _, definitions = builder.parse()
db = CommitDatabase.create(path)
db.extend_definitions(definitions)
names = {}
definitions.inject(names)
login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
key = login.create_key(ValueUUId("FIXED_KEY"))
mutable = CommitMutableState(db.initial_state())
mutable.attachment_mutating().set(login, key, {"nickname": "n0", "password": "secret"})
head = db.commit_mutations("set", mutable)
half = head
start = time.perf_counter()
for i in range(1, n):
    mutable = CommitMutableState(db.state(head))
    mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
    head = db.commit_mutations(f"update {i}", mutable)
    if i == n // 2:
        half = head
seconds = time.perf_counter() - start
db.close()
print(json.dumps({"seconds": seconds, "half": str(half), "last": str(head)}))
""".replace("FIXED_KEY", FIXED_KEY)

# Run in a fresh child process: time import, open, cold reads, warm read, RSS growth.
READ = r"""
import json, os, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
t0 = time.perf_counter()
from commitdb import CommitDatabase, ValueCommitId, ValueUUId
import importlib
for name in ("commitdb.database", "commitdb.storage.sqlite", "commitdb.engine.state", "commitdb.read_views",
             "commitdb.dsm.definitions_codec", "commitdb.storage.urls"):  # what open and read use
    try:
        importlib.import_module(name)
    except ImportError:  # an implementation without that module
        pass
t_import = time.perf_counter() - t0
path, at = sys.argv[1], sys.argv[2]
before = rss()
t0 = time.perf_counter()
db = CommitDatabase.open(path)
t_open = time.perf_counter() - t0
login = [a for a in db.definitions().attachments() if str(a).endswith("login")][0]
key = login.create_key(ValueUUId("FIXED_KEY"))
t0 = time.perf_counter()
commit = db.last_commit_id() if at == "last" else ValueCommitId(bytes.fromhex(at))
value = db.state(commit).attachment_getting().get(login, key)
t_read = time.perf_counter() - t0
t0 = time.perf_counter()
again = db.state(commit).attachment_getting().get(login, key)
t_warm = time.perf_counter() - t0
assert repr(value) == repr(again)
print(json.dumps({"import": t_import, "open": t_open, "read": t_read, "warm": t_warm,
                  "rss": rss() - before, "value": repr(value)}))
""".replace("FIXED_KEY", FIXED_KEY)


def child(src: str, code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def raw_sqlite_commits_per_second(folder: str, count: int) -> float:
    """The disk's durable-transaction rate: one small-row insert per WAL transaction, FULL sync."""
    path = os.path.join(folder, "raw.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)")
    start = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"{i:040x}", b"x" * 100))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    os.remove(path)
    return count / seconds


def file_bytes(path: str) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def run(impls: dict[str, str], sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
        for n in sizes:
            raw = raw_sqlite_commits_per_second(folder, min(n, 3000))
            for name, src in impls.items():
                path = os.path.join(folder, f"{name}-{n}.cdb")
                built = child(src, BUILD, path, str(n), str(MODEL))
                size = file_bytes(path)
                reads = {"last": [], "half": []}
                for _ in range(repeats):
                    reads["last"].append(child(src, READ, path, "last"))
                    reads["half"].append(child(src, READ, path, built["half"]))
                last, half = reads["last"], reads["half"]
                row = {
                    "impl": name, "commits": n,
                    "commits_per_s": (n - 1) / built["seconds"], "raw_sqlite_per_s": raw,
                    "import_ms": 1000 * median([r["import"] for r in last + half]),
                    "open_ms": 1000 * median([r["open"] for r in last]),
                    "cold_last_ms": 1000 * median([r["open"] + r["read"] for r in last]),
                    "cold_half_ms": 1000 * median([r["open"] + r["read"] for r in half]),
                    "warm_ms": 1000 * median([r["warm"] for r in last]),
                    "rss_mb": max(r["rss"] for r in last + half) / 1e6,
                    "bytes_per_commit": size / n,
                }
                rows.append(row)
                os.remove(path)
                print(_line(row), flush=True)
    return rows


HEADER = ("impl", "commits", "commits/s", "raw sqlite/s", "ratio", "import ms", "open ms", "cold last ms",
          "cold N/2 ms", "warm ms", "RSS MB", "bytes/commit")


def _line(r: dict) -> str:
    cells = (r["impl"], f"{r['commits']:,}", f"{r['commits_per_s']:,.0f}", f"{r['raw_sqlite_per_s']:,.0f}",
             f"{r['commits_per_s'] / r['raw_sqlite_per_s']:.0%}", f"{r['import_ms']:.0f}", f"{r['open_ms']:.1f}",
             f"{r['cold_last_ms']:.1f}", f"{r['cold_half_ms']:.1f}", f"{r['warm_ms']:.2f}", f"{r['rss_mb']:.1f}",
             f"{r['bytes_per_commit']:.0f}")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--impl", action="append", default=[], help="NAME=SRC_DIR of another implementation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    impls = {"this": str(ROOT / "src")}
    for spec in args.impl:
        name, _, src = spec.partition("=")
        impls[name] = src
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    rows = run(impls, [int(s) for s in args.sizes.split(",")], args.repeats)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
