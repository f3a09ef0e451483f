"""A populated ``.cdb`` file for the integrity tests: branches, a merge, a toggle, blobs, many
documents and one document updated often enough to leave persisted snapshots behind."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from commitdb import BlobLayout, CommitDatabase, CommitMutableState, DSMBuilder, ValueUUId

TUTO = Path(__file__).resolve().parents[2] / "examples" / "tuto.dsm"


def tuto() -> tuple[Any, dict]:
    report, _, definitions = DSMBuilder.assemble(TUTO).parse()
    assert not report.has_error()
    names: dict = {}
    definitions.inject(names)
    return definitions, names


def populate(path: str, seed: int = 7, commits: int = 150, users: int = 40) -> dict:
    """Write the file; returns the names of a few of its commits."""
    definitions, n = tuto()
    login, portrait = n["TUTO_A_USER_LOGIN"], n["TUTO_A_USER_PORTRAIT"]
    nickname = n["TUTO_P_LOGIN_NICKNAME"]
    rng = random.Random(seed)
    keys = [login.create_key(ValueUUId(f"{i:08x}-0000-4000-8000-000000000000")) for i in range(users)]
    db = CommitDatabase.create(path, "integrity test database")
    try:
        db.extend_definitions(definitions)
        m = CommitMutableState(db.initial_state())
        for i, key in enumerate(keys):
            m.attachment_mutating().set(login, key, {"nickname": f"user{i}", "password": "secret"})
        first = last = db.commit_mutations("Add users", m)
        pixels = db.create_blob(BlobLayout("uchar", 1), bytes(rng.randrange(256) for _ in range(300)))
        branch_point = None
        for c in range(commits):
            m = CommitMutableState(db.state(last))
            mut = m.attachment_mutating()
            mut.update(login, keys[0], nickname, f"hot{c}")  # one document touched by every commit
            mut.update(login, keys[rng.randrange(1, users)], nickname, f"n{c}")
            if c == 20:
                mut.set(portrait, keys[1], {"width": 10, "height": 30, "pixels": pixels})
            last = db.commit_mutations(f"Change {c}", m)
            if c == commits // 2:
                branch_point = last
        m = CommitMutableState(db.state(branch_point))
        m.attachment_mutating().update(login, keys[2], nickname, "branched")
        branch = db.commit_mutations("Branch", m)
        merge = db.merge_commit("Merge", last, branch)
        disable = db.disable_commit("Disable the branch", merge, branch)
        # Reads at a few commits leave snapshots of the hot document in the file.
        for commit in (last, merge, disable):
            db.state(commit).attachment_getting().get(login, keys[0])
        return {"first": first, "last": last, "branch": branch, "merge": merge, "disable": disable}
    finally:
        db.close()


def read_everything(path: str) -> dict:
    """Every document of every commit's state a fresh reader sees, every blob, every header:
    what a damaged file must never show differently without saying so."""
    db = CommitDatabase.open(path, readonly=True)
    try:
        definitions = db.definitions()
        out: dict = {}
        for commit in sorted(db.commit_ids(), key=str):
            state = db.state(commit)
            getting = state.attachment_getting()
            docs = {}
            for attachment in definitions.attachments():
                for key in getting.keys(attachment).members():
                    docs[(str(attachment.identifier()), str(key))] = repr(getting.get(attachment, key))
            out[str(commit)] = docs
        out["blobs"] = {str(b): bytes(db.blob(b)) for b in db.blob_ids()}
        out["database"] = (db.codec_name(), definitions.hexdigest())
        return out
    finally:
        db.close()
