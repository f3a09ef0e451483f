"""Authentication (tokens with roles), the loopback rule and TLS."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from _netutil import free_port, handshake, make_tuto_cdb, receive, send, short_socket_path

from commitdb import (
    AuthenticationError,
    CommitDatabase,
    ConnectionFailedError,
    PermissionDeniedError,
    ValidationError,
)
from commitdb.net import protocol as P
from commitdb.net.background import BackgroundServer
from commitdb.net.security import TokenTable, is_loopback, token_from_environment
from commitdb.net.server import CommitDatabaseServer, DatabaseService
from commitdb.storage.memory import MemoryBackend
from commitdb.testing import Tuto
from commitdb.testing.suite import parse_definitions

READ_TOKEN = "r" * 8 + "-read-token-0001"
WRITE_TOKEN = "w" * 8 + "-write-token-001"
ADMIN_TOKEN = "a" * 8 + "-admin-token-001"
TOKENS = TokenTable([(READ_TOKEN, "read", "viewer"), (WRITE_TOKEN, "write", "editor"),
                     (ADMIN_TOKEN, "admin", "ops")])

EXTRA_DSM = """
namespace Extra {6a1b7f2e-1111-4a5e-9c1d-0123456789ab} {
concept Gadget;
struct GadgetInfo { string name; };
attachment<Gadget, GadgetInfo> info;
};
"""


class CountingBackend(MemoryBackend):
    """A memory backend that records every call the server makes on it (a real backend: the
    server's own reads build a facade over it)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        super().__init__()
        self.calls.clear()  # what building it called is not the server's doing

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if name.startswith("_") or name == "calls" or not callable(attr):
            return attr
        calls = super().__getattribute__("calls")

        def recorded(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return attr(*args, **kwargs)

        return recorded


def _tuto_file(tmp_path: Path) -> str:
    return make_tuto_cdb(tmp_path / "secure.cdb")


# --- token files -----------------------------------------------------------------------------


def test_token_file_parsing(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# comment\n\nread {READ_TOKEN} viewer\nadmin {ADMIN_TOKEN}\n")
    table = TokenTable.load(str(path))
    assert len(table) == 2
    assert table.identify(READ_TOKEN).name == "viewer" and table.identify(READ_TOKEN).role == "read"
    assert table.identify(ADMIN_TOKEN).name == "admin@4"
    for bad, what in [(f"owner {ADMIN_TOKEN}\n", "unknown role"), ("read short\n", "16 characters"),
                      ("read\n", "expected"), ("# nothing\n", "no token")]:
        path.write_text(bad)
        with pytest.raises(ValidationError, match=what):
            TokenTable.load(str(path))
    with pytest.raises(AuthenticationError):
        table.identify(READ_TOKEN + "x")
    with pytest.raises(AuthenticationError):
        table.identify(None)


def test_client_token_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMITDB_TOKEN", "from-the-environment")
    assert token_from_environment() == "from-the-environment"
    one = tmp_path / "one"
    one.write_text(f"{WRITE_TOKEN}\n")
    assert token_from_environment(token_file=str(one)) == WRITE_TOKEN
    server_file = tmp_path / "server"
    server_file.write_text(f"# tokens\nadmin {ADMIN_TOKEN} ops\n")
    assert token_from_environment(token_file=str(server_file)) == ADMIN_TOKEN
    assert token_from_environment("explicit", str(one)) == "explicit"


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("10.1.2.3")


# --- the handshake ---------------------------------------------------------------------------


def test_wrong_or_missing_token_refused_before_any_database_call() -> None:
    counting = CountingBackend()
    with BackgroundServer(DatabaseService(counting), host="127.0.0.1", port=0, tokens=TOKENS) as server:
        for token in (None, "", "not-a-token-at-all", READ_TOKEN[:-1], READ_TOKEN + " "):
            with pytest.raises(AuthenticationError):
                CommitDatabase.connect("127.0.0.1", server.port, token=token)
        # by hand: a request sent right after a refused greeting is never run
        import socket

        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            send(sock, {**P.hello(), "token": "wrong-token-wrong-token"})
            send(sock, [1, "commit_count", []])
            answer = receive(sock)
            assert answer["error"][0] == "AuthenticationError"
        assert counting.calls == []
        db = CommitDatabase.connect("127.0.0.1", server.port, token=READ_TOKEN)
        try:
            assert not db.commit_ids()
            assert counting.calls
        finally:
            db.close()
        stats = server.server.stats if server.server else None
        assert stats is not None and stats.authentication_failures >= 6


def test_server_side_reads_are_reads() -> None:
    from commitdb.net import server_reads
    from commitdb.net.security import required_role

    for method in ("poll", "serves_reads", *server_reads.READ_METHODS):
        assert required_role(method) == "read", method


def test_roles(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="commitdb.audit")
    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0, tokens=TOKENS) as server:
        writer = CommitDatabase.connect("127.0.0.1", server.port, token=WRITE_TOKEN)
        reader = CommitDatabase.connect("127.0.0.1", server.port, token=READ_TOKEN)
        admin = CommitDatabase.connect("127.0.0.1", server.port, token=ADMIN_TOKEN)
        try:
            tuto = Tuto(writer)  # definitions already held: a no-op any role may send
            first = tuto.set(None, "one")
            second = tuto.set(first, "two")
            read_tuto = Tuto(reader)
            assert read_tuto.nick(second) == "two"
            with pytest.raises(PermissionDeniedError, match="write token"):
                read_tuto.set(second, "three")
            with pytest.raises(PermissionDeniedError):
                reader.reset_commits()
            assert len(reader.commit_ids()) == 2
            # write: commits yes, destructive operations no
            with pytest.raises(PermissionDeniedError, match="admin token"):
                writer.reset_commits()
            with pytest.raises(PermissionDeniedError, match="admin token"):
                writer.extend_definitions(parse_definitions(EXTRA_DSM))
            assert len(admin.commit_ids()) == 2
            assert not caplog.records
            # admin may
            assert admin.extend_definitions(parse_definitions(EXTRA_DSM)).count() > 0
            admin.reset_commits()
            assert len(admin.commit_ids()) == 1
            lines = [r.getMessage() for r in caplog.records if r.name == "commitdb.audit"]
            assert any("ops (admin token" in m and "extend_definitions" in m for m in lines), lines
            assert any("ops (admin token" in m and "remove_all_but_first" in m for m in lines), lines
            # the writer still works after being refused
            tuto.set(None, "after")
        finally:
            for db in (writer, reader, admin):
                db.close()


def test_unix_socket_owner_only_and_tokens_apply(tmp_path: Path) -> None:
    import os
    import stat

    path = short_socket_path()
    with BackgroundServer(_tuto_file(tmp_path), host=None, port=None, socket_path=path, tokens=TOKENS):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with pytest.raises(AuthenticationError):
            CommitDatabase.connect_local(path, token="x" * 20)
        db = CommitDatabase.connect_local(path, token=READ_TOKEN)
        db.close()


def test_environment_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0, tokens=TOKENS) as server:
        monkeypatch.setenv("COMMITDB_TOKEN", WRITE_TOKEN)
        db = CommitDatabase.connect("127.0.0.1", server.port)
        assert db.commit_databasing().role == "write"
        db.close()


# --- where a server without tokens may listen ------------------------------------------------


def test_no_tokens_means_loopback_only(tmp_path: Path) -> None:
    path = _tuto_file(tmp_path)
    with pytest.raises(ValidationError, match="without a token file"):
        BackgroundServer(path, host="0.0.0.0", port=free_port()).start()
    with BackgroundServer(path, host="0.0.0.0", port=0, insecure=True) as server:
        assert server.server is not None and "INSECURE" in server.server.describe()
        CommitDatabase.connect("127.0.0.1", server.port).close()
    with BackgroundServer(path, host="0.0.0.0", port=0, tokens=TOKENS) as server:
        assert server.server is not None and "token" in server.server.describe()
        assert server.server.viper_clients == "off"  # reference clients prove no token
    with BackgroundServer(path, host="127.0.0.1", port=0) as server:
        assert server.server is not None
        assert "no authentication (loopback and unix sockets only)" in server.server.describe()


def test_role_is_told_in_the_handshake(tmp_path: Path) -> None:
    import socket

    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0, tokens=TOKENS) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            send(sock, {**P.hello(), "token": WRITE_TOKEN})
            assert receive(sock)["role"] == "write"
    with BackgroundServer(_tuto_file(tmp_path / ".."), host="127.0.0.1", port=0) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            handshake(sock)  # no token needed, the answer is the plain greeting


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate() -> Any:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    return ca, cert


def _server_context(cert: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def test_tls_round_trip(tmp_path: Path, certificate: Any) -> None:
    ca, cert = certificate
    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0, tokens=TOKENS,
                          tls=_server_context(cert)) as server:
        assert server.server is not None and "TLS" in server.server.describe()
        client_context = ssl.create_default_context()
        ca.configure_trust(client_context)
        db = CommitDatabase.connect("127.0.0.1", server.port, token=WRITE_TOKEN, tls=client_context)
        try:
            tuto = Tuto(db)
            c = tuto.set(None, "over TLS")
            big = tuto.set(c, "x" * 3_000_000)  # several TLS records
            assert tuto.nick(big) == "x" * 3_000_000
        finally:
            db.close()
        with ca.cert_pem.tempfile() as ca_file:  # tls=True with a CA file (what the tools use)
            db = CommitDatabase.connect("localhost", server.port, token=READ_TOKEN, tls=True, tls_ca=ca_file)
            assert len(db.commit_ids()) == 2
            with db.watch() as handle:  # pushes arrive over TLS as well
                writer = CommitDatabase.connect("127.0.0.1", server.port, token=WRITE_TOKEN, tls=client_context)
                Tuto(writer).set(big, "pushed")
                assert handle.wait(3.0) and handle.error is None
                writer.close()
            assert len(db.commit_ids()) == 3
            db.close()
        # not trusted: the system's authorities do not know this CA
        with pytest.raises(ConnectionFailedError, match="TLS handshake"):
            CommitDatabase.connect("127.0.0.1", server.port, token=READ_TOKEN, tls=True)
        # a plain client against a TLS server fails clearly
        with pytest.raises(ConnectionFailedError, match="TLS"):
            CommitDatabase.connect("127.0.0.1", server.port, token=READ_TOKEN)


def test_tls_client_against_plain_server(tmp_path: Path, certificate: Any) -> None:
    ca, _ = certificate
    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0) as server:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        with pytest.raises(ConnectionFailedError, match="TLS handshake"):
            CommitDatabase.connect("127.0.0.1", server.port, tls=context)


def test_server_requires_host_or_socket() -> None:
    with pytest.raises(ValueError):
        CommitDatabaseServer(DatabaseService(MemoryBackend()))


# --- the tools -----------------------------------------------------------------------------------


def test_server_and_admin_tools_with_tokens_and_tls(tmp_path: Path, certificate: Any) -> None:
    import json
    import os
    import subprocess
    import sys

    from _netutil import ServerProcess, child_env

    ca, cert = certificate
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    token_file = tmp_path / "tokens"
    token_file.write_text(f"read {READ_TOKEN} viewer\nadmin {ADMIN_TOKEN} ops\n")
    path = make_tuto_cdb(tmp_path / "tool.cdb")
    server = ServerProcess(path, extra=["--token-file", str(token_file), "--tls-cert", str(cert_file),
                                        "--tls-key", str(key_file)], tls_ca=str(ca_file), token=ADMIN_TOKEN)
    tools = Path(__file__).resolve().parents[2] / "tools"

    def admin(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = child_env()
        env.pop("COMMITDB_TOKEN", None)
        if token:
            env["COMMITDB_TOKEN"] = token
        return subprocess.run([sys.executable, str(tools / "commit_admin.py"), "--host", "localhost", "--port",
                               str(server.port), "--tls-ca", str(ca_file), *args], capture_output=True, text=True,
                              timeout=60, env=env)

    try:
        db = server.connect()
        tuto = Tuto(db)
        first = tuto.set(None, "one")
        tuto.set(first, "two")
        db.close()
        refused = admin("reset", "--yes")  # through a server, reset needs --yes without a terminal
        assert refused.returncode != 0 and "token" in refused.stderr
        read_only = admin("reset", "--yes", token=READ_TOKEN)
        assert read_only.returncode != 0 and "admin token" in read_only.stderr, read_only.stderr
        one_token = tmp_path / "admin-token"
        one_token.write_text(ADMIN_TOKEN + "\n")
        done = admin("--token-file", str(one_token), "reset", "--yes")
        assert done.returncode == 0 and "removed 1 commit(s)" in done.stdout, done.stderr
        stats = json.loads(admin("stats", token=READ_TOKEN).stdout)
        assert stats["authentication_failures"] >= 1 and "TLS" in stats["security"]
    finally:
        code, out, err = server.stop()
    assert code == 0
    assert server.startup_statement == (
        f"commitdb server listening on 127.0.0.1:{server.port} (TCP, TLS); 2 token(s) from the token file "
        f"required; reference-protocol (viper) clients: refused (--viper-clients off)")
    assert out.strip() == "The server finished gracefully."
    audit = [line for line in err.splitlines() if "AUDIT" in line]
    assert len(audit) == 1 and "ops (admin token" in audit[0] and "remove_all_but_first" in audit[0], err
    assert os.path.exists(path)


def test_server_tool_refuses_an_open_address_without_tokens(tmp_path: Path) -> None:
    import subprocess
    import sys

    from _netutil import SERVER_TOOL, child_env

    path = make_tuto_cdb(tmp_path / "open.cdb")
    done = subprocess.run([sys.executable, str(SERVER_TOOL), "--host", "0.0.0.0", "--port", str(free_port()), path],
                          capture_output=True, text=True, timeout=30, env=child_env())
    assert done.returncode == 2 and "without a token file" in done.stderr
    bad = tmp_path / "bad-tokens"
    bad.write_text("superuser 0123456789abcdef0123\n")
    done = subprocess.run([sys.executable, str(SERVER_TOOL), "--token-file", str(bad), path],
                          capture_output=True, text=True, timeout=30, env=child_env())
    assert done.returncode == 2 and "bad-tokens:1: unknown role 'superuser'" in done.stderr


def test_opening_a_model_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """A non-admin client sending the definitions the server holds (what Tuto(db) does) is
    answered at once, even while another client holds the write lock."""
    import time

    with BackgroundServer(_tuto_file(tmp_path), host="127.0.0.1", port=0, tokens=TOKENS) as server:
        holder = CommitDatabase.connect("127.0.0.1", server.port, token=ADMIN_TOKEN)
        holder.commit_databasing().begin_transaction("Immediate")
        started = time.monotonic()
        for token in (READ_TOKEN, WRITE_TOKEN):
            db = CommitDatabase.connect("127.0.0.1", server.port, token=token)
            assert Tuto(db).db is db
            db.close()
        assert time.monotonic() - started < 2.0
        holder.commit_databasing().rollback()
        holder.close()
