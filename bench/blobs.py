"""What checking a blob on read costs (not a test): ms to read a blob of each size from a file
database with ``db.blob()`` (which re-hashes the bytes against the blob id) and the time of the
hash alone, so its share of a read is visible; and a blob reader going through the largest blob
in 64 KB reads.

Usage: python bench/blobs.py [--sizes 1000,100000,1000000,16000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from commitdb import BlobLayout, CommitDatabase  # noqa: E402
from commitdb.blobs import blob_id_bytes  # noqa: E402


def best_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000,16000000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "blobs.cdb")
        with CommitDatabase.create(path) as db:
            layout = BlobLayout("uchar", 1)
            ids = {size: db.create_blob(layout, os.urandom(size)) for size in sizes}
        print(f"{'bytes':>10} {'db.blob() ms':>13} {'hash alone ms':>14} {'hash share':>10}")
        with CommitDatabase.open(path) as db:
            backend = db.commit_databasing()
            for size in sizes:
                blob_id = ids[size]
                read = best_ms(lambda b=blob_id: db.blob(b), args.repeat)
                record = backend.get_blob(blob_id.bytes_value())
                hashed = best_ms(lambda r=record: blob_id_bytes(r.layout, r.data), args.repeat)
                print(f"{size:>10} {read:>13.3f} {hashed:>14.3f} {hashed / read:>9.0%}")
            largest = ids[max(sizes)]

            def read_in_chunks() -> None:
                reader = db.blob_reader_open(largest)
                while db.blob_reader_read(reader, 65536).size():
                    pass

            chunked = best_ms(read_in_chunks, max(args.repeat // 4, 1))
            print(f"blob reader, {max(sizes)} bytes in 64 KB reads: {chunked:.1f} ms (the blob is read and "
                  "checked once)")


if __name__ == "__main__":
    main()
