"""Helpers of the command-line tests: the Tuto model, a short history, running the tools as
subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from commitdb import BlobLayout, CommitDatabase, CommitMutableState, DSMBuilder, ValueUUId

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
TUTO = ROOT / "examples" / "tuto.dsm"
ALICE = "11111111-1111-1111-1111-111111111111"
BOB = "22222222-2222-2222-2222-222222222222"


def tuto_definitions():
    report, _, definitions = DSMBuilder.assemble(TUTO).parse()
    assert not report.has_error()
    return definitions


def tuto_names() -> dict:
    names: dict = {}
    tuto_definitions().inject(names)
    return names


def build_history(db: CommitDatabase) -> dict:
    """A small DAG on ``db`` (which holds the Tuto definitions): a root, a second head with a
    blob and a thumbnail, a Disable, and a Merge. Returns the commit ids by name."""
    n = tuto_names()
    login, avatar, portrait, account = (n["TUTO_A_USER_LOGIN"], n["TUTO_A_USER_AVATAR"],
                                        n["TUTO_A_USER_PORTRAIT"], n["TUTO_A_USER_ACCOUNT"])
    alice, bob = login.create_key(ValueUUId(ALICE)), login.create_key(ValueUUId(BOB))
    m = CommitMutableState(db.initial_state())
    m.attachment_mutating().set(login, alice, {"nickname": "alice", "password": "secret"})
    first = db.commit_mutations("Add Alice", m)
    m = CommitMutableState(db.state(first))
    m.attachment_mutating().update(login, alice, n["TUTO_P_LOGIN_NICKNAME"], "alice2")
    rename = db.commit_mutations("Rename", m)
    pixels = db.create_blob(BlobLayout("uchar", 1), bytes(range(1, 6)))
    db.create_blob(BlobLayout("uchar", 1), b"unreferenced")
    m = CommitMutableState(db.state(first))
    mut = m.attachment_mutating()
    mut.set(login, bob, {"nickname": "bob", "password": "pw"})
    mut.set(portrait, bob, {"width": 2, "height": 3, "pixels": pixels})
    mut.set(avatar, bob, {"width": 1, "height": 1, "data": b"\x00\xffpng"})
    mut.set(account, bob, {"state": "active"})
    branch = db.commit_mutations("Add Bob", m)
    disable = db.disable_commit("Undo rename", rename, rename)
    merge = db.merge_commit("Merge Bob", disable, branch)
    return {"first": first, "rename": rename, "branch": branch, "disable": disable, "merge": merge,
            "pixels": pixels}


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_tool(tool: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>`` as a subprocess."""
    return subprocess.run([sys.executable, str(TOOLS / tool), *map(str, args)], capture_output=True, text=True,
                          env=child_env(), timeout=timeout)
