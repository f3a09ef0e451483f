"""Network benchmark (not a test): a server process, clients over TCP and a unix socket.

Prints, for TCP (loopback) and the unix socket:
  - round trip in ms of a bare request (``data_version``), of ``last_commit_id()`` and of a
    document ``get`` through the CommitDatabase facade (median and p99 of many calls);
  - commits/s from one client (a chain of small updates);
and the aggregate commits/s of 8 client processes committing at once over the unix socket.
The server is ``tools/commit_database_server.py`` in its own process, on a fresh ``.cdb``;
the commit figures are taken with the server's default ``--synchronous FULL`` (an fsync per
commit) and again with ``--synchronous NORMAL``.

With --sizes N,N,... (e.g. 1000,10000,100000) it measures instead, for a server holding N
chained one-field commits of one document: the connect time of a fresh client, and its read of
that document at the last commit (last_commit_id + state + get) and at commit N/2 (median of
several fresh clients; the server stays warm, as in production).

Usage: python bench/net.py [--seconds 3] [--calls 2000] [--processes 8] [--profile DIR]
       [--out bench/results/net.json] [--sizes 1000,10000,100000]
--profile DIR writes cProfile output of the server (server.prof) and of the single-client
commit loop (client.prof) to DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from commitdb import CommitDatabase, CommitMutableState, ValueUUId  # noqa: E402
from commitdb.examples_db import load_model  # noqa: E402

MODEL = ROOT / "examples" / "tuto.dsm"


def definitions() -> Any:
    return load_model(MODEL)[0]


def names() -> dict[str, Any]:
    return load_model(MODEL)[1]


def key(ns: dict[str, Any], index: int) -> Any:
    return ns["TUTO_A_USER_LOGIN"].create_key(ValueUUId(str(uuid.UUID(int=index + 1))))


def connect(where: str) -> CommitDatabase:
    kind, address = where.split(":", 1)
    if kind == "unix":
        return CommitDatabase.connect_local(address)
    host, port = address.rsplit(":", 1)
    return CommitDatabase.connect(host, port)


def commit_loop(db: CommitDatabase, ns: dict[str, Any], index: int, seconds: float, limit: int = 100_000) -> int:
    """Commit small updates on this client's own chain for ``seconds``; returns the count."""
    login, nickname = ns["TUTO_A_USER_LOGIN"], ns["TUTO_P_LOGIN_NICKNAME"]
    k = key(ns, index)
    m = CommitMutableState(db.initial_state())
    m.attachment_mutating().set(login, k, {"nickname": "start", "password": "p"})
    last = db.commit_mutations("start", m)
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and count < limit:
        m = CommitMutableState(db.state(last))
        m.attachment_mutating().update(login, k, nickname, f"n{index}-{count}")
        last = db.commit_mutations("bench", m)
        count += 1
    return count


def timed_calls(fn: Any, calls: int) -> dict[str, float]:
    for _ in range(min(200, calls)):
        fn()
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p99_ms": samples[int(len(samples) * 0.99) - 1],
            "mean_ms": statistics.fmean(samples)}


def round_trips(where: str, calls: int) -> dict[str, Any]:
    db = connect(where)
    try:
        ns = names()
        login = ns["TUTO_A_USER_LOGIN"]
        head = db.last_commit_id()
        k = key(ns, 999)
        state = db.state(head)
        assert state.attachment_getting().get(login, k).unwrap().nickname == "reader"
        backend = db.commit_databasing()
        return {
            "bare_request": timed_calls(lambda: backend.call("data_version"), calls),
            "last_commit_id": timed_calls(db.last_commit_id, calls),
            "document_get": timed_calls(lambda: db.state(head).attachment_getting().get(login, k), calls),
        }
    finally:
        db.close()


def single_client(where: str, seconds: float, profile: str | None) -> float:
    db = connect(where)
    try:
        ns = names()
        commit_loop(db, ns, 500, 0.3)  # warm up
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        started = time.perf_counter()
        count = commit_loop(db, ns, 501 if where.startswith("unix") else 502, seconds)
        elapsed = time.perf_counter() - started
        if profile:
            prof.disable()
            prof.dump_stats(profile)
        return count / elapsed
    finally:
        db.close()


def worker(where: str, index: int, seconds: float) -> None:
    """A client process of the aggregate measurement: prints its commit count."""
    db = connect(where)
    try:
        ns = names()
        print(commit_loop(db, ns, index, seconds), flush=True)
    finally:
        db.close()


def aggregate(where: str, processes: int, seconds: float) -> float:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", where, str(100 + i), str(seconds)],
                              stdout=subprocess.PIPE, text=True) for i in range(processes)]
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=120 + seconds)
        total += int(out.strip().splitlines()[-1])
    return total / seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database: str, port: int, sock: str, profile: str | None,
                 synchronous: str = "FULL") -> subprocess.Popen[str]:
    tool = [str(ROOT / "tools" / "commit_database_server.py")]
    if profile:
        tool = ["-m", "cProfile", "-o", profile, *tool]
    proc = subprocess.Popen([sys.executable, *tool, "--host", "127.0.0.1", "--port", str(port),
                             "--socket-path", sock, "--synchronous", synchronous, database],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if os.path.exists(sock):
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start")


def build_history(path: str, commits: int) -> tuple[str, Any]:
    """A file of ``commits`` chained one-field updates (written fast: durability is not measured
    here); returns the id of commit N/2 and the key."""
    from commitdb.storage.sqlite import SQLiteBackend

    SQLiteBackend.create(path).close()
    db = CommitDatabase(SQLiteBackend(path, synchronous="OFF"))
    db.extend_definitions(definitions())
    ns = names()
    login, nickname, k = ns["TUTO_A_USER_LOGIN"], ns["TUTO_P_LOGIN_NICKNAME"], key(ns, 7)
    m = CommitMutableState(db.initial_state())
    m.attachment_mutating().set(login, k, {"nickname": "n0", "password": "p"})
    head = half = db.commit_mutations("first", m)
    for i in range(1, commits):
        m = CommitMutableState(db.state(head))
        m.attachment_mutating().update(login, k, nickname, f"n{i}")
        head = db.commit_mutations(f"c{i}", m)
        if i == commits // 2:
            half = head
    db.close()
    return str(half), k


def fresh_reads(where: str, half: str, k: Any, repeats: int = 7) -> dict[str, float]:
    """Median ms of a fresh client's connect, and of its read at the last commit and at N/2."""
    from commitdb import ValueCommitId

    login = names()["TUTO_A_USER_LOGIN"]
    figures: dict[str, list[float]] = {"connect_ms": [], "read_last_ms": [], "read_half_ms": []}
    for _ in range(repeats):
        for what in ("read_last_ms", "read_half_ms"):
            t = time.perf_counter()
            db = connect(where)
            figures["connect_ms"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            commit = db.last_commit_id() if what == "read_last_ms" else ValueCommitId(bytes.fromhex(half))
            doc = db.state(commit).attachment_getting().get(login, k)
            figures[what].append((time.perf_counter() - t) * 1000)
            assert not doc.is_nil()
            db.close()
    return {name: statistics.median(values) for name, values in figures.items()}


def scaling(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    tmp = tempfile.mkdtemp(prefix="cdbnet-scale")
    print("| commits | connect ms (tcp / unix) | read at last ms (tcp / unix) | read at N/2 ms (tcp / unix) |")
    print("|---|---|---|---|")
    for n in sizes:
        database = os.path.join(tmp, f"scale-{n}.cdb")
        half, k = build_history(database, n)
        port, sock = free_port(), os.path.join(tmp, f"s-{n}")
        server = start_server(database, port, sock, None)
        try:
            row: dict[str, Any] = {"commits": n}
            for name, where in (("tcp", f"tcp:127.0.0.1:{port}"), ("unix", f"unix:{sock}")):
                row[name] = fresh_reads(where, half, k)
        finally:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=30)
        rows.append(row)
        t, u = row["tcp"], row["unix"]
        print(f"| {n:,} | {t['connect_ms']:.1f} / {u['connect_ms']:.1f} | {t['read_last_ms']:.1f} / "
              f"{u['read_last_ms']:.1f} | {t['read_half_ms']:.1f} / {u['read_half_ms']:.1f} |", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each commit measurement")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round-trip measurement")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--profile", default=None, help="directory for server.prof and client.prof")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "net.json"))
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=None, help="history lengths for the fresh-client read measurement")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), float(args.worker[2]))
        return
    if args.sizes:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        rows = scaling([int(n) for n in args.sizes.split(",")])
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
        return

    tmp = tempfile.mkdtemp(prefix="cdbnet")
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_implementation()} "
                   f"{platform.python_version()}, {platform.system()}",
    }
    for synchronous in ("FULL", "NORMAL"):
        database = os.path.join(tmp, f"bench-{synchronous}.cdb")
        db = CommitDatabase.create(database)
        db.extend_definitions(definitions())
        ns = names()
        m = CommitMutableState(db.initial_state())
        m.attachment_mutating().set(ns["TUTO_A_USER_LOGIN"], key(ns, 999), {"nickname": "reader", "password": "p"})
        db.commit_mutations("reader", m)
        db.close()

        port, sock = free_port(), os.path.join(tmp, f"s-{synchronous}")
        profiling = args.profile if synchronous == "FULL" else None
        server = start_server(database, port, sock, os.path.join(profiling, "server.prof") if profiling else None,
                              synchronous)
        tcp, unix = f"tcp:127.0.0.1:{port}", f"unix:{sock}"
        tag = "" if synchronous == "FULL" else "_sync_normal"
        try:
            if synchronous == "FULL":
                for name, where in (("tcp", tcp), ("unix", unix)):
                    results[f"{name}_round_trip"] = round_trips(where, args.calls)
            client_prof = os.path.join(profiling, "client.prof") if profiling else None
            results[f"unix_commits_per_s_one_client{tag}"] = single_client(unix, args.seconds, client_prof)
            results[f"tcp_commits_per_s_one_client{tag}"] = single_client(tcp, args.seconds, None)
            results[f"unix_commits_per_s_{args.processes}_processes{tag}"] = aggregate(unix, args.processes,
                                                                                      args.seconds)
        finally:
            server.send_signal(signal.SIGINT)
            out, _ = server.communicate(timeout=30)
        results[f"server_exit{tag}"] = [server.returncode, out.strip()]

    for name in ("tcp", "unix"):
        rt = results[f"{name}_round_trip"]
        for what, figures in rt.items():
            print(f"{name:4} {what:15} median {figures['median_ms']:.3f} ms   p99 {figures['p99_ms']:.3f} ms")
    for tag, label in (("", "synchronous=FULL"), ("_sync_normal", "synchronous=NORMAL")):
        print(f"[server {label}]")
        print(f"  commits/s, one client, unix: {results[f'unix_commits_per_s_one_client{tag}']:.0f}")
        print(f"  commits/s, one client, tcp:  {results[f'tcp_commits_per_s_one_client{tag}']:.0f}")
        print(f"  commits/s, {args.processes} client processes, unix (aggregate): "
              f"{results[f'unix_commits_per_s_{args.processes}_processes{tag}']:.0f}")
        print(f"  server: exit {results[f'server_exit{tag}'][0]}, {results[f'server_exit{tag}'][1]!r}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
