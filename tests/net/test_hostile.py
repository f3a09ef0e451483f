"""Hostile input: after each abuse the server is still alive, a well-behaved client is served
correctly, and no commit is half-written (SPEC §10)."""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _netutil import ServerProcess, closed_by_peer, handshake, make_tuto_cdb, receive, send

from commitdb import CommitMutableState, CommitNotFoundError, CorruptedDataError
from commitdb.net import protocol as P
from commitdb.net.client import RemoteBackend
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitData, CommitHeader, compute_commit_id
from commitdb.testing import Tuto


@pytest.fixture(scope="module", params=["tcp", "unix"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = make_tuto_cdb(tmp_path_factory.mktemp("hostile") / "hostile.cdb")
    proc = ServerProcess(path, unix=request.param == "unix")
    yield proc
    code, out, err = proc.stop()
    # Quiet by default: whatever clients did, only the final message is printed.
    assert (code, out.strip(), err) == (0, "The server finished gracefully.", "")


@pytest.fixture
def served(server: ServerProcess) -> Iterator[ServerProcess]:
    """Runs the test, then checks a well-behaved client is served correctly."""
    yield server
    assert server.alive(), "the server died"
    before = _commit_count(server)
    db = server.connect()
    try:
        tuto = Tuto(db)
        key = tuto.key(7)
        c = tuto.set(None, f"ok-{time.monotonic_ns()}", key=key)
        assert tuto.nick(c, key=key).startswith("ok-")
        assert c in db.head_commit_ids()
        assert len(db.commit_ids()) == before + 1
    finally:
        db.close()


def _commit_count(server: ServerProcess) -> int:
    db = server.connect()
    try:
        return len(db.commit_ids())
    finally:
        db.close()


def _raw_handshaken(server: ServerProcess) -> socket.socket:
    sock = server.raw_socket()
    handshake(sock)
    return sock


def _call(sock: socket.socket, method: str, args: list, request_id: int = 1) -> list:
    send(sock, [request_id, method, args])
    answer = receive(sock)
    assert answer[0] == request_id
    return answer


# --- framing -----------------------------------------------------------------------------------


def test_random_bytes(served: ServerProcess) -> None:
    rnd = random.Random(7)
    for n in range(20):
        with served.raw_socket() as sock:
            blob = rnd.randbytes(rnd.choice([1, 7, 8, 100, 5000]))
            try:
                sock.sendall(blob)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            assert closed_by_peer(sock)
        # and after the handshake
        with _raw_handshaken(served) as sock:
            try:
                sock.sendall(rnd.randbytes(64 + n))
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            assert closed_by_peer(sock)


def test_garbage_body_in_valid_frame(served: ServerProcess) -> None:
    with _raw_handshaken(served) as sock:
        body = b"\xc1\xc1\xc1 not msgpack"
        sock.sendall(P.LENGTH.pack(len(body)) + body)
        answer = receive(sock)
        assert answer[1] is False and answer[2][0] == "ProtocolError"
        assert closed_by_peer(sock)


def test_deeply_nested_message(served: ServerProcess) -> None:
    with _raw_handshaken(served) as sock:
        body = b"\x91" * 100_000 + b"\xc0"
        sock.sendall(P.LENGTH.pack(len(body)) + body)
        assert closed_by_peer(sock)


def test_truncated_frame(served: ServerProcess) -> None:
    with _raw_handshaken(served) as sock:
        frame = P.encode_frame([1, "data_version", []])
        sock.sendall(frame[:-3])
        sock.shutdown(socket.SHUT_WR)
        assert closed_by_peer(sock)
    with served.raw_socket() as sock:  # a truncated length prefix, before the handshake
        sock.sendall(b"\x05\x00\x00")
        sock.shutdown(socket.SHUT_WR)
        assert closed_by_peer(sock)


@pytest.mark.parametrize("length", [2 ** 40, 2 ** 64 - 1, 64 * 1024 * 1024 + 1])
def test_huge_length_prefix(served: ServerProcess, length: int) -> None:
    for handshaken in (False, True):
        with (_raw_handshaken(served) if handshaken else served.raw_socket()) as sock:
            sock.sendall(struct.pack("<Q", length) + b"\x00" * 16)
            answer = receive(sock)
            assert answer[1] is False and answer[2][0] == "FrameTooLargeError"
            assert closed_by_peer(sock)


@pytest.mark.parametrize("hello", [
    {"magic": "gitdb", "version": 1},
    {"magic": "commitdb", "version": 2},
    {"magic": "commitdb"},
    {"version": 1},
    [1, "data_version", []],
    "commitdb",
    None,
])
def test_wrong_handshake(served: ServerProcess, hello: object) -> None:
    with served.raw_socket() as sock:
        send(sock, hello)
        answer = receive(sock)
        assert answer["error"][0] == "VersionMismatchError"
        assert closed_by_peer(sock)


def test_client_sees_version_mismatch_error(served: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    from commitdb import VersionMismatchError  # noqa: F401  (public name)

    monkeypatch.setattr(P, "PROTOCOL_VERSION", 99)
    with pytest.raises(P.VersionMismatchError):
        served.connect()


# --- requests ----------------------------------------------------------------------------------


def test_unknown_method(served: ServerProcess) -> None:
    with _raw_handshaken(served) as sock:
        for i, method in enumerate(["drop_database", "__init__", "close", "_write", "", "x" * 10_000]):
            answer = _call(sock, method, [], request_id=i + 1)
            assert answer[1] is False and answer[2][0] == "ProtocolError"
        assert _call(sock, "commit_count", [], request_id=99) == [99, True, 0] or \
            _call(sock, "commit_count", [], request_id=100)[1] is True


@pytest.mark.parametrize("message", [
    [],
    [1, "data_version"],
    ["1", "data_version", []],
    [True, "data_version", []],
    [1, 5, []],
    [1, "data_version", {}],
    {"id": 1},
    42,
])
def test_malformed_request(served: ServerProcess, message: object) -> None:
    with _raw_handshaken(served) as sock:
        send(sock, message)
        answer = receive(sock)
        assert answer[1] is False and answer[2][0] == "ProtocolError"
        assert closed_by_peer(sock)


BAD_ARGUMENTS = [
    ("get_commit", []), ("get_commit", [5]), ("get_commit", ["ab" * 20]), ("get_commit", [b"short"]),
    ("get_commit", [b"x" * 20, b"y" * 20]),
    ("get_commits", [b"x" * 20]), ("get_commits", [[1, 2]]), ("get_commits", ["ids"]),
    ("get_header", [None]), ("headers_since", ["0"]), ("headers_since", [-1]), ("headers_since", [2 ** 64 - 1]),
    ("headers_since", [True]),
    ("head_ids", [1]), ("data_version", ["now"]), ("commit_count", [None]),
    ("get_blob", [[b"x" * 20]]), ("has_blob", [{}]), ("missing_blobs", [b"x" * 20]),
    ("load_index", [5]), ("load_index", [[b"x"]]),
    ("insert_commit", []), ("insert_commit", [{}]), ("insert_commit", [[1, 2]]), ("insert_commit", [[[], b""]]),
    ("insert_commit", [[[b"x" * 20, b"y" * 20, 9, b"z" * 20, 0.0, "l"], b""]]),
    ("insert_commit", [[[b"x" * 20, b"y" * 20, 0, b"z" * 20, "ts", "l"], b""]]),
    ("insert_commit", [[[b"x" * 20, b"y" * 20, 0, b"z" * 20, 0.0, 5], b""]]),
    ("insert_blob", [[b"x" * 20, 5, b"data"]]), ("insert_blob", [[b"x", "uchar-1", b"data"]]),
    ("insert_blobs", [b"blobs"]), ("insert_blobs", [[[1, 2, 3]]]),
    ("remove_commit", [1]), ("remove_all_but_first", [1]),
    ("extend_definitions", ["text"]), ("extend_definitions", [b"\x00\x01garbage"]),
    ("begin_transaction", [5]), ("begin_transaction", ["Sometimes"]), ("begin_transaction", []),
    ("commit", [1]), ("commit", []), ("rollback", []), ("in_transaction", [1]),
]


def test_wrong_argument_types(served: ServerProcess) -> None:
    before = _commit_count(served)
    with _raw_handshaken(served) as sock:
        for i, (method, args) in enumerate(BAD_ARGUMENTS):
            answer = _call(sock, method, args, request_id=i + 1)
            assert answer[1] is False, (method, args, answer)
            assert isinstance(answer[2][0], str) and answer[2][0] != "RemoteError", (method, args, answer)
        # The connection is still good for a proper request.
        assert _call(sock, "commit_count", [], request_id=1000)[1:] == [True, before]
        assert _call(sock, "in_transaction", [], request_id=1001)[1:] == [True, False]


def test_client_closing_mid_frame(served: ServerProcess) -> None:
    for cut in (1, 4, 8, 9, 30):
        sock = _raw_handshaken(served)
        frame = P.encode_frame([1, "get_commits", [[os.urandom(20) for _ in range(5)]]])
        sock.sendall(frame[:cut])
        sock.close()
    # and one that vanishes with a request in flight
    sock = _raw_handshaken(served)
    send(sock, [1, "all_headers", []])
    sock.close()


def test_client_vanishing_inside_a_transaction(served: ServerProcess) -> None:
    db = served.connect()
    tuto = Tuto(db)
    s = db.commit_databasing()
    before = _commit_count(served)
    s.begin_transaction("Immediate")
    tuto.set(None, "never stored", key=tuto.key(9))
    assert isinstance(s, RemoteBackend)
    s._sock.close()  # vanish without commit or rollback
    # The server rolled back and released the write lock: others write at once.
    assert _commit_count(served) == before


def test_five_hundred_connections(served: ServerProcess) -> None:
    def churn(offset: int) -> None:
        for i in range(offset, 500, 5):
            sock = served.raw_socket()
            if i % 3 == 1:
                handshake(sock)
            elif i % 3 == 2:
                handshake(sock)
                send(sock, [1, "commit_count", []])
            sock.close()

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)


def test_many_idle_connections_then_served(served: ServerProcess) -> None:
    socks = [served.raw_socket() for _ in range(100)]
    try:
        assert _commit_count(served) >= 0
    finally:
        for s in socks:
            s.close()


# --- forged commits ----------------------------------------------------------------------------


def _forge(parent: bytes, data: bytes, commit_id: bytes | None = None, label: str = "forged") -> list:
    cid = commit_id or compute_commit_id(parent, MUTATIONS, ZERO_ID, data)
    return P.pack_commit(CommitData(CommitHeader(cid, parent, MUTATIONS, ZERO_ID, 1.0, label), data))


def test_forged_commit_id_does_not_rehash(served: ServerProcess) -> None:
    db = served.connect()
    try:
        tuto = Tuto(db)
        m = CommitMutableState(db.initial_state())
        m.attachment_mutating().set(tuto.login, tuto.key(3), {"nickname": "mallory", "password": "x"})
        from commitdb.engine.program import encode_program

        data = encode_program(list(m.raw_opcodes()))
        before = _commit_count(served)
        s = db.commit_databasing()
        forged_id = bytes(19) + b"\x01"
        with pytest.raises(CorruptedDataError):
            s.call("insert_commit", _forge(ZERO_ID, data, forged_id))
        with pytest.raises(CorruptedDataError):  # through the documented storage call as well
            s.create_commit_data(CommitData(CommitHeader(os.urandom(20), ZERO_ID, MUTATIONS, ZERO_ID, 1.0, "f"), data))
        with pytest.raises(CorruptedDataError):  # a toggle with a wrong id, or with data
            s.call("insert_commit", [[os.urandom(20), ZERO_ID, 1, os.urandom(20), 1.0, "t"], b""])
        with pytest.raises(CorruptedDataError):
            target = os.urandom(20)
            tdata = b"data"
            s.call("insert_commit", [[compute_commit_id(ZERO_ID, 1, target, tdata), ZERO_ID, 1, target, 1.0, "t"],
                                     tdata])
        assert _commit_count(served) == before
        assert s.get_commit(forged_id) is None
    finally:
        db.close()


@pytest.mark.parametrize("seed", range(3))
def test_mutations_commit_with_garbage_program(served: ServerProcess, seed: int) -> None:
    rnd = random.Random(seed)
    db = served.connect()
    try:
        s = db.commit_databasing()
        before = _commit_count(served)
        for size in (0, 1, 7, 8, 9, 100, 4096):
            data = rnd.randbytes(size)
            if size == 8:
                data = b"\x01" + bytes(7)  # claims one opcode, holds none
            with pytest.raises(CorruptedDataError):
                s.call("insert_commit", _forge(ZERO_ID, data))
        assert _commit_count(served) == before
    finally:
        db.close()


def test_a_commit_whose_parent_is_unknown_is_refused(served: ServerProcess) -> None:
    """A well-formed commit whose parent the server does not hold would dangle: it is refused
    with CommitNotFoundError and nothing is stored (sync sends parents first)."""
    db = served.connect()
    try:
        tuto = Tuto(db)
        m = CommitMutableState(db.initial_state())
        m.attachment_mutating().set(tuto.login, tuto.key(4), {"nickname": "orphan", "password": "x"})
        from commitdb.engine.program import encode_program

        data = encode_program(list(m.raw_opcodes()))
        packed = _forge(os.urandom(20), data)
        s = db.commit_databasing()
        with pytest.raises(CommitNotFoundError, match="Missing commit"):
            s.call("insert_commit", packed)
        assert s.get_commit(packed[0][0]) is None
    finally:
        db.close()


def test_slow_client_does_not_block_others(served: ServerProcess, tmp_path: Path) -> None:
    sock = _raw_handshaken(served)
    try:
        frame = P.encode_frame([1, "commit_count", []])
        sock.sendall(frame[:5])  # half a frame, then nothing
        assert _commit_count(served) >= 0
    finally:
        sock.close()
