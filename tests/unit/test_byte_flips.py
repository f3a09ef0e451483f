"""Seeded single-byte flips across every table of a populated file: each outcome must be
unchanged reads, a clear corruption error, or ``verify`` reporting the fault — never a wrong
value read while verify says OK. (Labels, timestamps, the documentation and the UUID are not
hashed by the format: a flip that changes one to a plausible value is undetectable by design,
and counted apart.)"""

from __future__ import annotations

import collections
import os
import random
import shutil
import sqlite3

import pytest
from corruption_support import populate, read_everything

from commitdb.admin import verify
from commitdb.errors import CommitDBError

FLIPS = int(os.environ.get("COMMITDB_FLIPS", "150"))
SEED = int(os.environ.get("COMMITDB_FLIP_SEED", "16"))


def table_pages(path: str) -> dict[str, list[int]]:
    """The pages of every table and index (SQLite's dbstat), by name."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, pageno FROM dbstat").fetchall()
    finally:
        conn.close()
    pages: dict[str, list[int]] = {}
    for name, page in rows:
        pages.setdefault(name, []).append(page)
    return pages


def used_bytes(path: str, page: int, page_size: int) -> range | list[int]:
    """Offsets within ``page`` that hold something: the b-tree page header, its cell pointers
    and its cell content area (a flip in free space changes nothing worth testing)."""
    with open(path, "rb") as f:
        f.seek((page - 1) * page_size)
        data = f.read(page_size)
    head = 100 if page == 1 else 0
    if data[head] not in (2, 5, 10, 13):
        return range(page_size)  # not a b-tree page (an overflow page): all of it
    header = 12 if data[head] in (2, 5) else 8
    cells = int.from_bytes(data[head + 3:head + 5], "big")
    content = int.from_bytes(data[head + 5:head + 7], "big") or 65536
    return [*range(head, head + header + 2 * cells), *range(min(content, page_size), page_size)]


def unhashed(path: str) -> tuple:
    """What the format hashes nowhere: labels, timestamps, the documentation, the UUID."""
    conn = sqlite3.connect(path)
    try:
        return ({r[0]: r[1:] for r in conn.execute("SELECT commit_id, label, timestamp FROM ds_commit")},
                conn.execute("SELECT data FROM ds_metadata WHERE identifier IN ('Documentation', 'UUID')").fetchall())
    except (sqlite3.Error, UnicodeDecodeError):
        return ()
    finally:
        conn.close()


def outcome(path: str, baseline: dict, baseline_unhashed: tuple) -> str:
    try:
        report = verify(path)
        verify_ok = report.ok
    except CommitDBError:
        verify_ok = False  # verify refused the file: a clear corruption error
    try:
        seen = read_everything(path)
    except CommitDBError:
        return "corruption error"
    if seen == baseline:
        if unhashed(path) != baseline_unhashed and verify_ok:
            return "label, timestamp, documentation or UUID changed (not hashed by the format)"
        return "unchanged reads"
    return "wrong value, verify reports the fault" if not verify_ok else "WRONG VALUE WITH VERIFY OK"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("flips") / "template.cdb")
    populate(path, commits=60, users=20)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")  # one file holds everything
    conn.close()
    return path


def test_byte_flips_never_read_wrong_values_unnoticed(template, tmp_path) -> None:
    baseline, baseline_unhashed = read_everything(template), unhashed(template)
    assert verify(template).ok
    pages = table_pages(template)
    names = sorted(pages)
    page_size = 4096
    rng = random.Random(SEED)
    counts: collections.Counter = collections.Counter()
    by_table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    bad = []
    for i in range(FLIPS):
        name = names[i % len(names)]  # every table and index in turn
        page = rng.choice(pages[name])
        offset = (page - 1) * page_size + rng.choice(used_bytes(template, page, page_size))
        path = str(tmp_path / f"flip{i}.cdb")
        shutil.copyfile(template, path)
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([byte ^ (1 << rng.randrange(8))]))
        result = outcome(path, baseline, baseline_unhashed)
        counts[result] += 1
        by_table[name][result] += 1
        if result.startswith("WRONG"):
            bad.append((name, page, offset))
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    print(f"\n{FLIPS} flips (seed {SEED}): {dict(counts)}")
    for name in names:
        print(f"  {name}: {dict(by_table[name])}")
    assert not bad, f"wrong values read while verify said OK: {bad}"
