"""The example database that ``make run`` serves: the Tuto model and a short history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from commitdb.database import CommitDatabase
from commitdb.dsm import DSMBuilder
from commitdb.engine.mutable import CommitMutableState
from commitdb.errors import DSMError
from commitdb.values.scalars import ValueUUId

ALICE = "11111111-1111-1111-1111-111111111111"


def load_model(model: Path | str) -> tuple[Any, dict[str, Any]]:
    """(definitions, the names ``inject`` binds) of a DSM file (a Path) or DSM text (a str);
    DSMError listing every error."""
    if isinstance(model, Path):
        builder = DSMBuilder.assemble(str(model))
    else:
        builder = DSMBuilder()
        builder.append("model.dsm", model)
    report, _, definitions = builder.parse()
    if report.has_error():
        raise DSMError(str(report))
    names: dict[str, Any] = {}
    definitions.inject(names)
    return definitions, names


def ensure_example_database(path: str, model: Path | str) -> bool:
    """Create ``path`` with the model's definitions and a few commits unless it exists.
    Returns whether it was created."""
    if os.path.exists(path):
        return False
    definitions, names = load_model(model)
    db = CommitDatabase.create(path, "commitdb example: the Tuto model")
    try:
        db.extend_definitions(definitions)
        login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
        key = login.create_key(ValueUUId(ALICE))
        mutable = CommitMutableState(db.initial_state())
        mutable.attachment_mutating().set(login, key, {"nickname": "alice", "password": "secret"})
        first = db.commit_mutations("Add Alice", mutable)
        mutable = CommitMutableState(db.state(first))
        mutable.attachment_mutating().update(login, key, nickname, "alice_updated")
        db.commit_mutations("Rename", mutable)
    finally:
        db.close()
    return True
