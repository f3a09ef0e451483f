"""Running the editor in a thread for the tests, and a small JSON client."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from commitdb import CommitDatabase
from commitdb.editor.server import bind, make_server
from commitdb.examples_db import ensure_example_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def example_database(path: Path) -> Path:
    ensure_example_database(str(path), ROOT / "examples" / "tuto.dsm")
    return path


class EditorThread:
    """The editor of ``db`` served from a thread on a free port of 127.0.0.1."""

    def __init__(self, db: CommitDatabase, title: str = "test.cdb", reopen: Any = None) -> None:
        self.db = db
        self.sock = bind(0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = make_server(db, title, reopen)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the editor did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.db.close()

    # --- a JSON client ------------------------------------------------------------------------
    def request(self, path: str, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None,
                write_header: bool = True) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if write_header and (data is not None):
            all_headers.setdefault("X-Commitdb-Editor", "1")
        request = urllib.request.Request(self.url + path, data=data, headers=all_headers,
                                         method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                kind = response.headers.get("Content-Type", "")
                return response.status, json.loads(payload) if "json" in kind else payload
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path: str) -> Any:
        status, data = self.request(path)
        assert status == 200, (path, status, data)
        return data

    def post(self, path: str, body: Any = None) -> Any:
        status, data = self.request(path, {} if body is None else body)
        assert status == 200, (path, status, data)
        return data


SRC = ROOT / "src"
SERVER_TOOL = ROOT / "tools" / "commit_database_server.py"


def child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class ServedDatabase:
    """``tools/commit_database_server.py`` serving ``path`` on a free port of 127.0.0.1."""

    def __init__(self, path: Path) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, str(SERVER_TOOL), "--host", "127.0.0.1", "--port",
                                      str(self.port), str(path)], env=child_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the database server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def commit_in_another_process(path: Path, nickname: str, recursion_limit: int = 1000) -> None:
    """Rename Alice to ``nickname`` from a separate Python process writing the file."""
    import subprocess
    import sys

    code = f"""
import sys
sys.setrecursionlimit({recursion_limit})
from commitdb import CommitDatabase, CommitMutableState
from commitdb.examples_db import load_model, ALICE
from commitdb.values import ValueUUId
from pathlib import Path
_, names = load_model(Path({str(ROOT / 'examples' / 'tuto.dsm')!r}))
db = CommitDatabase.open({str(path)!r})
login = names["TUTO_A_USER_LOGIN"]
mutable = CommitMutableState(db.state(db.last_commit_id()))
mutable.attachment_mutating().update(login, login.create_key(ValueUUId(ALICE)), names["TUTO_P_LOGIN_NICKNAME"], {nickname!r})
db.commit_mutations("From another process", mutable)
db.close()
"""
    subprocess.run([sys.executable, "-c", code], env=child_env(), check=True, timeout=60)


def nickname_at_last_commit(path: Path) -> str:
    """What a fresh reader of the file sees as Alice's nickname at the database's last commit."""
    from commitdb.examples_db import ALICE, load_model
    from commitdb.values import ValueUUId

    _, names = load_model(ROOT / "examples" / "tuto.dsm")
    db = CommitDatabase.open(str(path), readonly=True)
    try:
        login = names["TUTO_A_USER_LOGIN"]
        doc = db.state(db.last_commit_id()).attachment_getting().get(login, login.create_key(ValueUUId(ALICE)))
        return doc.unwrap(encoded=False).at("nickname", encoded=True)
    finally:
        db.close()
