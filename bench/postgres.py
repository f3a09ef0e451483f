"""PostgreSQL benchmark (not a test): the same work on a .cdb file and on PostgreSQL.

Prints:
  - commits/s of one in-process writer (a chain of small updates), on a .cdb file (synchronous
    FULL: an fsync per commit) and on PostgreSQL (the server's defaults: fsync on, synchronous
    commit);
  - cold reads: a fresh connection's open and its read of one document at the last commit and
    at commit N/2, for a history of N commits (median of several fresh connections);
  - aggregate commits/s of 1, 2 and 4 server processes on one PostgreSQL store, each with
    --clients client processes committing at once (TCP loopback), beside one server on a
    .cdb file with the same clients.

PostgreSQL runs in a throwaway cluster of its own (``commitdb.testing.pgcluster``), started
and removed by this script. Usage: python bench/postgres.py [--seconds 2] [--commits 2000]
[--clients 8] [--servers 1,2,4] [--out bench/results/postgres.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from commitdb import CommitDatabase, CommitMutableState  # noqa: E402
from commitdb.testing.pgcluster import ThrowawayCluster  # noqa: E402
from net import commit_loop, definitions, free_port, key, names, start_server  # noqa: E402


def fresh(location: str) -> CommitDatabase:
    db = CommitDatabase.create(location)
    db.extend_definitions(definitions())
    return db


def single_writer(location: str, seconds: float) -> float:
    db = fresh(location)
    try:
        ns = names()
        commit_loop(db, ns, 1, 0.3)  # warm up
        started = time.perf_counter()
        count = commit_loop(db, ns, 2, seconds)
        return count / (time.perf_counter() - started)
    finally:
        db.close()


def cold_reads(location: str, commits: int, repeats: int = 5) -> dict[str, float]:
    """Build N chained commits of one document, then time fresh connections reading it."""
    db = fresh(location)
    ns = names()
    login, nickname = ns["TUTO_A_USER_LOGIN"], ns["TUTO_P_LOGIN_NICKNAME"]
    k = key(ns, 7)
    m = CommitMutableState(db.initial_state())
    m.attachment_mutating().set(login, k, {"nickname": "n0", "password": "p"})
    ids = [db.commit_mutations("start", m)]
    for i in range(1, commits):
        m = CommitMutableState(db.state(ids[-1]))
        m.attachment_mutating().update(login, k, nickname, f"n{i}")
        ids.append(db.commit_mutations("c", m))
    db.close()
    half = ids[commits // 2]
    opens, lasts, halves = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        reader = CommitDatabase.open(location)
        t1 = time.perf_counter()
        assert reader.state(reader.last_commit_id()).attachment_getting().get(login, k).unwrap().nickname \
            == f"n{commits - 1}"
        t2 = time.perf_counter()
        reader.state(half).attachment_getting().get(login, k)
        t3 = time.perf_counter()
        reader.close()
        opens.append((t1 - t0) * 1000)
        lasts.append((t2 - t1) * 1000)
        halves.append((t3 - t2) * 1000)
    return {"open_ms": statistics.median(opens), "read_last_ms": statistics.median(lasts),
            "read_half_ms": statistics.median(halves)}


def servers_on_one_store(url: str, servers: int, clients: int, seconds: float, folder: str) -> float:
    """Aggregate commits/s of ``servers`` server processes on one store (a URL or a file),
    ``clients`` each."""
    fresh(url).close()
    procs = []
    try:
        for s in range(servers):
            port = free_port()
            procs.append((start_server(url, port, os.path.join(folder, f"s{servers}-{s}.sock"), None), port))
        where = [f"tcp:127.0.0.1:{port}" for _, port in procs]
        # Each server's clients run at once: one aggregate() per server would run them in turn.
        from subprocess import PIPE, Popen

        bench_net = str(ROOT / "bench" / "net.py")
        workers = [Popen([sys.executable, bench_net, "--worker", where[i % servers], str(1000 + i), str(seconds)],
                         stdout=PIPE, text=True) for i in range(servers * clients)]
        total = 0
        for p in workers:
            out, _ = p.communicate(timeout=300 + seconds)
            total += int(out.strip().splitlines()[-1])
        return total / seconds
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--servers", default="1,2,4")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder, ThrowawayCluster(durable=True) as cluster:
        results["single_writer_commits_per_s"] = {
            "sqlite": single_writer(os.path.join(folder, "single.cdb"), args.seconds),
            "postgres": single_writer(cluster.new_database_url(), args.seconds),
        }
        print("one writer, commits/s:", {k: round(v) for k, v in results["single_writer_commits_per_s"].items()})
        results["cold_reads"] = {
            "commits": args.commits,
            "sqlite": cold_reads(os.path.join(folder, "cold.cdb"), args.commits),
            "postgres": cold_reads(cluster.new_database_url(), args.commits),
        }
        print("cold reads:", json.dumps(results["cold_reads"], indent=1))
        scale = {}
        # The reference: one server on a .cdb file (synchronous FULL), with the same clients.
        rate = servers_on_one_store(os.path.join(folder, "served.cdb"), 1, args.clients, args.seconds, folder)
        results["file_server_commits_per_s"] = rate
        print(f"1 server on a .cdb file x {args.clients} clients: {rate:.0f} commits/s")
        for servers in [int(s) for s in args.servers.split(",")]:
            rate = servers_on_one_store(cluster.new_database_url(), servers, args.clients, args.seconds, folder)
            scale[str(servers)] = rate
            print(f"{servers} server(s) x {args.clients} clients on one store: {rate:.0f} commits/s")
        results["servers_on_one_store_commits_per_s"] = scale
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
