"""The attacks of a peer on the same network, each against the limit that defends it: the
attacker is refused, bounded or timed out, and a well-behaved client is unaffected."""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _netutil import closed_by_peer, make_tuto_cdb, receive, send

from commitdb import (
    CommitDatabase,
    LimitExceededError,
    TransactionTimeoutError,
    ValidationError,
)
from commitdb.net import protocol as P
from commitdb.net.background import BackgroundServer
from commitdb.net.limits import Limits
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitData, CommitHeader, compute_commit_id
from commitdb.testing import Tuto

MiB = 1024 * 1024
FAST = Limits(max_connections=30, handshake_timeout=0.5, frame_timeout=0.5, transaction_idle_timeout=0.5,
              max_buffered_total=40 * MiB, max_upload_total=40 * MiB, max_ids_per_request=1000)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    with BackgroundServer(make_tuto_cdb(tmp_path / "limits.cdb"), host="127.0.0.1", port=0, limits=FAST) as s:
        yield s


def _connect(server: BackgroundServer) -> CommitDatabase:
    return CommitDatabase.connect("127.0.0.1", server.port)


def _raw(server: BackgroundServer, handshaken: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    if handshaken:
        send(sock, P.hello())
        P.check_hello(receive(sock))
    return sock


def _well_behaved(server: BackgroundServer, label: str = "fine") -> None:
    """A normal client commits and reads back, promptly."""
    started = time.monotonic()
    db = _connect(server)
    try:
        tuto = Tuto(db)
        c = tuto.set(None, f"{label}-{time.monotonic_ns()}")
        assert tuto.nick(c).startswith(label)
    finally:
        db.close()
    assert time.monotonic() - started < 3.0


# --- a client that holds the write lock and goes silent ----------------------------------------


def test_idle_transaction_is_rolled_back_and_releases_the_lock(server: BackgroundServer) -> None:
    sleeper = _connect(server)
    tuto = Tuto(sleeper)
    backend = sleeper.commit_databasing()
    backend.begin_transaction("Immediate")
    c = tuto.set(None, "never committed")
    started = time.monotonic()
    _well_behaved(server)  # waits for the lock at most the idle-in-transaction timeout
    assert time.monotonic() - started < 2.5
    with pytest.raises(TransactionTimeoutError, match="rolled back"):
        backend.commit()
    assert not sleeper.commit_exists(c)
    Tuto(sleeper).set(None, "after the timeout")  # the connection is still usable
    sleeper.close()


def test_rollback_after_the_timeout_is_quiet(server: BackgroundServer) -> None:
    db = _connect(server)
    backend = db.commit_databasing()
    backend.begin_transaction("Immediate")
    time.sleep(1.0)
    backend.rollback()  # what a client does on any error: accepted
    assert backend.call("in_transaction") is False
    db.close()


def test_busy_transaction_is_not_cut(server: BackgroundServer) -> None:
    """A client that keeps talking inside its transaction keeps it."""
    db = _connect(server)
    tuto = Tuto(db)
    backend = db.commit_databasing()
    backend.begin_transaction("Immediate")
    parent = None
    for n in range(6):
        parent = tuto.set(parent, f"step {n}")
        time.sleep(0.2)
    backend.commit()
    assert db.commit_exists(parent)
    db.close()


# --- slowloris ---------------------------------------------------------------------------------


def test_slow_connections_are_closed(server: BackgroundServer) -> None:
    socks = []
    for n in range(20):
        sock = _raw(server, handshaken=n % 2 == 0)
        if n % 2 == 0:
            frame = P.encode_frame([1, "commit_count", []])
            sock.sendall(frame[:5])  # a frame that never ends
        else:
            sock.sendall(b"\x10")  # a greeting that never ends
        socks.append(sock)
    _well_behaved(server)
    started = time.monotonic()
    for sock in socks:
        assert closed_by_peer(sock, timeout=3.0)
        sock.close()
    assert time.monotonic() - started < 3.0
    assert server.server is not None and server.server.connection_count() <= 1


def test_connection_cap(server: BackgroundServer) -> None:
    held = [_raw(server) for _ in range(FAST.max_connections)]
    with pytest.raises(LimitExceededError, match="limit of 30 connections"):
        _connect(server)
    held.pop().close()
    time.sleep(0.1)
    _well_behaved(server)
    for sock in held:
        sock.close()


# --- memory ------------------------------------------------------------------------------------


def test_partial_frames_are_bounded_in_total(server: BackgroundServer) -> None:
    """Connections that each start a 15 MiB frame and stall: the server holds at most its budget;
    those that do not fit are told so and closed; small requests still pass."""
    assert server.server is not None
    attackers, refused = [], 0
    for _ in range(5):
        sock = _raw(server)
        sock.sendall(struct.pack("<Q", 15 * MiB) + b"\x00" * MiB)
        attackers.append(sock)
    time.sleep(0.2)
    assert server.server._buffered.used <= FAST.max_buffered_total
    for sock in attackers:
        sock.settimeout(2.0)
        try:
            answer = receive(sock)
        except (ConnectionError, TimeoutError, OSError):
            continue
        if answer[2][0] == "LimitExceededError":
            refused += 1
    assert refused >= 3  # 2 x 15 MiB fit in 40 MiB
    _well_behaved(server)
    for sock in attackers:
        sock.close()
    time.sleep(0.7)  # the stalled ones hit the frame timeout
    assert server.server._buffered.used == 0


def test_half_uploaded_blobs_wait_on_disk_and_are_bounded(server: BackgroundServer) -> None:
    assert server.server is not None
    socks = []
    for _ in range(3):
        sock = _raw(server)
        send(sock, [1, "blob_upload_chunk", ["uchar-1", 20 * MiB, 0, b"\x01" * MiB]])
        socks.append((sock, receive(sock)))
    assert [a[1] for _, a in socks] == [True, True, False]
    assert socks[2][1][2][0] == "LimitExceededError"
    # the two accepted uploads are in temporary files, not in the server's memory
    uploads = [c.upload for c in server.server._connections if c.upload is not None]
    assert len(uploads) == 2 and all(not hasattr(u, "buffer") and u.received == MiB for u in uploads)
    _well_behaved(server)
    for sock, _ in socks:
        sock.close()
    time.sleep(0.2)
    # finished or abandoned uploads give their share back: a full upload now fits
    db = _connect(server)
    try:
        from commitdb.blobs import blob_id_bytes
        from commitdb.storage.base import BlobRecord

        data = bytes(range(256)) * (70 * 1024 * 4)  # 70 MiB... too big for the 40 MiB budget
        with pytest.raises(LimitExceededError):
            db.commit_databasing().insert_blob(BlobRecord(blob_id_bytes("uchar-1", data), "uchar-1", data))
        data = data[:18 * MiB]
        blob = BlobRecord(blob_id_bytes("uchar-1", data), "uchar-1", data)
        assert db.commit_databasing().insert_blob(blob)
        assert db.commit_databasing().get_blob(blob.blob_id).data == data
    finally:
        db.close()


# --- labels and timestamps -------------------------------------------------------------------


def _raw_commit(db: CommitDatabase, parent: bytes, label: str, ts: float) -> CommitData:
    """A Mutations commit with an empty program and the given label and timestamp."""
    data = (0).to_bytes(8, "little")
    cid = compute_commit_id(parent, MUTATIONS, ZERO_ID, data)
    return CommitData(CommitHeader(cid, parent, MUTATIONS, ZERO_ID, ts, label), data)


def test_huge_labels_are_refused(tmp_path: Path) -> None:
    with BackgroundServer(make_tuto_cdb(tmp_path / "l.cdb"), host="127.0.0.1", port=0) as server:
        db = _connect(server)
        tuto = Tuto(db)
        first = tuto.set(None, "first")
        backend = db.commit_databasing()
        for _ in range(4):
            with pytest.raises(ValidationError, match="label of 22000000 bytes exceeds the limit of 1048576"):
                backend.insert_commit(_raw_commit(db, bytes.fromhex(str(first)), "L" * 22_000_000,
                                                  time.time()))
        ok = _raw_commit(db, bytes.fromhex(str(first)), "L" * 1000, time.time())
        assert backend.insert_commit(ok)
        fresh = _connect(server)  # a fresh client reads everything without FrameTooLargeError
        assert len(fresh.commit_ids()) == 2
        fresh.close()
        db.close()


@pytest.mark.parametrize("ts", [4_102_444_800.0, 1e300, math.inf, math.nan, -1.0])
def test_timestamps_outside_the_window_are_refused(server: BackgroundServer, ts: float) -> None:
    db = _connect(server)
    try:
        tuto = Tuto(db)
        first = tuto.set(None, "now")
        with pytest.raises(ValidationError, match="timestamp"):
            db.commit_databasing().insert_commit(_raw_commit(db, bytes.fromhex(str(first)), "future", ts))
        assert db.last_commit_id() == first
        past = _raw_commit(db, bytes.fromhex(str(first)), "an old commit from a replica", 1_000_000_000.0)
        assert db.commit_databasing().insert_commit(past)  # the past is fine (sync carries old commits)
    finally:
        db.close()


# --- one expensive request ---------------------------------------------------------------------


def test_huge_id_lists_are_refused_quickly_and_clients_page(server: BackgroundServer) -> None:
    with _raw(server) as sock:
        ids = [bytes([n % 256]) * 20 for n in range(200_000)]
        started = time.monotonic()
        send(sock, [1, "missing_blobs", [ids]])
        answer = receive(sock)  # refused when the list's header is read: a connection-level error
        assert answer[:2] == [0, False] and answer[2][0] == "ProtocolError" and "10000 items" in answer[2][1]
        assert time.monotonic() - started < 2.0
        assert closed_by_peer(sock)
    with _raw(server) as sock:  # a list the decoder accepts but the method does not: that request only
        send(sock, [1, "missing_blobs", [ids[:5000]]])
        answer = receive(sock)
        assert answer[1] is False and answer[2][0] == "LimitExceededError" and "at most 1000" in answer[2][1]
        send(sock, [2, "commit_count", []])
        assert receive(sock) == [2, True, 0]
    db = _connect(server)
    try:
        many = [n.to_bytes(20, "big") for n in range(5_000)]  # five pages of 1000
        assert db.commit_databasing().missing_blobs(many) == many
    finally:
        db.close()


def test_server_side_reads_obey_the_ids_limit_and_clients_page(server: BackgroundServer) -> None:
    db = _connect(server)
    try:
        tuto = Tuto(db)
        first = tuto.set(None, "one")
        backend = db.commit_databasing()
        too_many = [first.bytes_value()] + [n.to_bytes(20, "big") for n in range(1, 1001)]
        with pytest.raises(LimitExceededError, match="rx_placements: 1001 ids"):
            backend.call("rx_placements", too_many)  # type: ignore[attr-defined]
        with pytest.raises(LimitExceededError, match="read_documents: 1001 ids"):
            backend.call("read_documents", first.bytes_value(), None, [[bytes(16)] * 3] * 1001)  # type: ignore[attr-defined]
        assert backend.ids_per_request == 1000  # announced in the greeting
        placements = backend.read_index().placements(too_many)  # paged by the client
        assert list(placements) == [first.bytes_value()]
        assert tuto.nick(first) == "one"
    finally:
        db.close()


def test_reads_stay_prompt_while_another_client_floods(server: BackgroundServer) -> None:
    stop = threading.Event()

    def flood() -> None:
        with _raw(server) as sock:
            ids = [n.to_bytes(20, "big") for n in range(FAST.max_ids_per_request)]
            n = 0
            while not stop.is_set():
                n += 1
                send(sock, [n, "missing_blobs", [ids]])
                receive(sock)

    threads = [threading.Thread(target=flood) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        db = _connect(server)
        worst = 0.0
        for _ in range(20):
            started = time.monotonic()
            db.commit_ids()
            db.commit_databasing().call("commit_count")
            worst = max(worst, time.monotonic() - started)
        db.close()
        assert worst < 1.0, worst
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_every_limit_is_a_flag_of_the_server() -> None:
    import dataclasses

    import click
    from click.testing import CliRunner

    from commitdb.cli.serve_commands import serve
    from commitdb.net.limits import LIMIT_FLAGS, limits_from

    def parsed(*args: str) -> dict:
        return serve.make_context("t", [*args, "x.cdb"]).params

    assert {field for _, field, _, _, _ in LIMIT_FLAGS} == {f.name for f in dataclasses.fields(Limits)}
    assert limits_from(parsed()) == Limits()
    args = parsed("--max-frame-mib", "2", "--idle-timeout", "0", "--max-connections", "7",
                  "--transaction-idle-timeout", "1.5")
    assert limits_from(args) == Limits(max_frame=2 * MiB, idle_timeout=None, max_connections=7,
                                       transaction_idle_timeout=1.5)
    help_text = CliRunner().invoke(serve, ["--help"], terminal_width=200).output
    for flag, *_ in LIMIT_FLAGS:
        assert flag in help_text
    assert "(default 256)" in help_text and "(default 3600; 0: off)" in help_text
    with pytest.raises(click.BadParameter):
        parsed("--max-connections", "0")
