"""Synchronisation benchmark (not a test): prints a small table and writes JSON.

A source file of N commits (one-field updates on a few documents, with a merge every 100
commits) is served by ``tools/commit_database_server.py`` in a separate process; the benchmark
then times, in this process:

(a) a Fetch of the whole history from the server into an empty file (connect included);
(b) a no-op re-sync with the same synchronizer (the data-version short-circuit);
(c) a no-op pass with a fresh synchronizer (full comparison of the two DAGs, nothing to send);
(d) the other direction: a Fetch of the same history from a local file into an empty file served
    by a second server process (every commit is written through the network).

Targets: (a) >= 2,000 commits/s; (b) < 20 ms.

Usage: python bench/sync.py [--commits 10000] [--profile] [--out bench/results/sync.json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import socket
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
    CommitSynchronizer,
    examples_db,
)


def load_model() -> dict:
    definitions, names = examples_db.load_model(ROOT / "examples" / "tuto.dsm")
    names["__definitions__"] = definitions
    return names


def make_source(path: str, commits: int, names: dict) -> float:
    """Write ``commits`` commits in memory, then copy them into ``path``; returns the seconds
    the copy (an in-process memory -> file sync) took."""
    db = CommitDatabase.create_in_memory()
    db.extend_definitions(names["__definitions__"])
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    keys = [login.create_key() for _ in range(10)]
    mutable = CommitMutableState(db.initial_state())
    for i, key in enumerate(keys):
        mutable.attachment_mutating().set(login, key, {"nickname": f"k{i}", "password": "secret"})
    head = db.commit_mutations("set", mutable)
    made = 1
    while made < commits:
        if made % 100 == 99:
            # A short side branch merged back: the history is a DAG, not a line.
            side = CommitMutableState(db.state(head))
            side.attachment_mutating().update(login, keys[0], nickname, f"side {made}")
            branch = db.commit_mutations(f"side {made}", side)
            main = CommitMutableState(db.state(head))
            main.attachment_mutating().update(login, keys[1], nickname, f"main {made}")
            head = db.merge_commit("merge", db.commit_mutations(f"main {made}", main), branch)
            made += 3
            continue
        mutable = CommitMutableState(db.state(head))
        mutable.attachment_mutating().update(login, keys[made % len(keys)], nickname, f"n{made}")
        head = db.commit_mutations(f"update {made}", mutable)
        made += 1
    target = CommitDatabase.create(path)
    start = time.perf_counter()
    CommitSynchronizer(db, target, "Fetch").sync()
    elapsed = time.perf_counter() - start
    target.close()
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "commit_database_server.py"),
                             "--host", "127.0.0.1", "--port", str(port), path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            CommitDatabase.connect("127.0.0.1", port).close()
            return proc, port
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError("the server exited") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the fetch")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sync.json"))
    args = parser.parse_args()
    names = load_model()
    with tempfile.TemporaryDirectory() as folder:
        source_path, target_path = os.path.join(folder, "source.cdb"), os.path.join(folder, "target.cdb")
        copy_seconds = make_source(source_path, args.commits, names)
        proc, port = start_server(source_path)
        try:
            target = CommitDatabase.create(target_path)
            profiler = cProfile.Profile() if args.profile else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            remote = CommitDatabase.connect("127.0.0.1", port)
            synchronizer = CommitSynchronizer(remote, target, "Fetch")
            info = synchronizer.sync()
            if profiler is not None:
                profiler.disable()
            fetch_seconds = time.perf_counter() - start
            count = info.fetch().commits()
            assert count == len(remote.commit_ids()) == len(target.commit_ids()), info
            noop = []
            for _ in range(20):
                start = time.perf_counter()
                again = synchronizer.sync()
                noop.append(time.perf_counter() - start)
                assert not again.need_transmit(), again
            start = time.perf_counter()
            fresh = CommitSynchronizer(remote, target, "Sync").sync()
            fresh_seconds = time.perf_counter() - start
            assert not fresh.need_transmit(), fresh
            remote.close()
            # (d) local file -> a server.
            upload_path = os.path.join(folder, "upload.cdb")
            CommitDatabase.create(upload_path).close()
            upload_proc, upload_port = start_server(upload_path)
            try:
                upload = CommitDatabase.connect("127.0.0.1", upload_port)
                start = time.perf_counter()
                pushed = CommitSynchronizer(target, upload, "Fetch").sync()
                push_seconds = time.perf_counter() - start
                assert pushed.fetch().commits() == count, pushed
                upload.close()
            finally:
                upload_proc.terminate()
                upload_proc.wait(10)
            target.close()
        finally:
            proc.terminate()
            proc.wait(10)
    noop.sort()
    results = {
        "commits": count,
        "memory_to_file_seconds": round(copy_seconds, 3),
        "memory_to_file_commits_per_s": round(count / copy_seconds),
        "fetch_seconds": round(fetch_seconds, 3),
        "fetch_commits_per_s": round(count / fetch_seconds),
        "noop_resync_ms_median": round(noop[len(noop) // 2] * 1000, 2),
        "noop_resync_ms_max": round(noop[-1] * 1000, 2),
        "fresh_noop_pass_ms": round(fresh_seconds * 1000, 1),
        "file_to_server_seconds": round(push_seconds, 3),
        "file_to_server_commits_per_s": round(count / push_seconds),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"memory -> file           {count} commits in {copy_seconds:.2f} s "
          f"({results['memory_to_file_commits_per_s']} commits/s)")
    print(f"server -> empty file     {count} commits in {fetch_seconds:.2f} s "
          f"({results['fetch_commits_per_s']} commits/s; target >= 2000)")
    print(f"no-op re-sync            median {results['noop_resync_ms_median']} ms, "
          f"max {results['noop_resync_ms_max']} ms (target < 20 ms)")
    print(f"no-op pass, fresh sync   {results['fresh_noop_pass_ms']} ms (full DAG comparison)")
    print(f"file -> empty server     {count} commits in {push_seconds:.2f} s "
          f"({results['file_to_server_commits_per_s']} commits/s)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
