"""The README tour as a script: model, commits, time travel, a merge, undo/redo.

    python examples/walkthrough.py [DATABASE]      (default: a fresh in-memory database)
"""

from __future__ import annotations

import sys
from pathlib import Path

from commitdb import CommitDatabase, CommitDatabaseHelper, CommitMutableState, CommitStore
from commitdb.examples_db import load_model


def main(argv: list[str]) -> None:
    definitions, names = load_model(Path(__file__).with_name("tuto.dsm"))
    db = CommitDatabase.create(argv[0]) if argv else CommitDatabase.create_in_memory()
    db.extend_definitions(definitions)
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    password = names["TUTO_P_LOGIN_PASSWORD"]

    key = login.create_key()
    mutable = CommitMutableState(db.initial_state())
    mutable.attachment_mutating().set(login, key, {"nickname": "alice", "password": "secret"})
    first = db.commit_mutations("Add Alice", mutable)

    # Two writers start from the same commit: two heads.
    ours = CommitMutableState(db.state(first))
    ours.attachment_mutating().update(login, key, nickname, "alice_ours")
    theirs = CommitMutableState(db.state(first))
    theirs.attachment_mutating().update(login, key, password, "s3cret")
    a = db.commit_mutations("Rename", ours)
    b = db.commit_mutations("New password", theirs)
    print("heads:", sorted(str(h) for h in db.head_commit_ids()))

    merged = CommitDatabaseHelper.reduce_heads(db)
    print("merged:", db.state(merged).attachment_getting().get(login, key))
    print("time travel to the first commit:", db.state(first).attachment_getting().get(login, key))
    print("each side:", db.state(a).attachment_getting().get(login, key),
          db.state(b).attachment_getting().get(login, key))

    store = CommitStore()
    store.use(db)
    store.dispatch_update("Rename again", login, key, nickname, "alice2")
    print("after dispatch:", store.state().attachment_getting().get(login, key))
    store.undo()
    print("after undo:", store.state().attachment_getting().get(login, key))
    store.redo()
    print("after redo:", store.state().attachment_getting().get(login, key))
    print("history:", [db.commit_header(c).label() for c in db.commit_databasing().commit_ids()])


if __name__ == "__main__":
    main(sys.argv[1:])
