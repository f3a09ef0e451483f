"""The model of SPEC §14 and its names, shared by the tests/unit/test_spec14_*.py files."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, Path, ValueUUId, ValueXArray

M_DSM = """
namespace M {0d5c1a9e-2f6b-4c3d-8e7f-112233445566} {
concept User;
struct Login { string nickname; string password; };
struct Doc { set<string> tags; map<string, int64> counters; variant<int64, string> choice; any a; };
attachment<User, Login> login;          // LOGIN
attachment<User, Doc> doc;              // DOC
attachment<User, xarray<string>> notes; // NOTES
};
"""

END = ValueXArray.END
P1 = ValueUUId("00000000-0000-0000-0000-0000000000a1")
P2 = ValueUUId("00000000-0000-0000-0000-0000000000b2")


def m14_definitions() -> Any:
    builder = DSMBuilder()
    builder.append("m.dsm", M_DSM)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    return definitions


def m14(db: CommitDatabase | None = None) -> SimpleNamespace:
    """A database (in memory unless given) holding the §14 model, with LOGIN, DOC, NOTES."""
    definitions = m14_definitions()
    db = db if db is not None else CommitDatabase.create_in_memory()
    db.extend_definitions(definitions)
    names: dict[str, Any] = {}
    definitions.inject(names)
    return SimpleNamespace(db=db, LOGIN=names["M_A_USER_LOGIN"], DOC=names["M_A_USER_DOC"],
                           NOTES=names["M_A_USER_NOTES"])


def commit(db: CommitDatabase, parent: Any, label: str, fn: Any) -> Any:
    """Commit what ``fn(attachment_mutating)`` records on top of ``parent`` (None: a root)."""
    state = db.initial_state() if parent is None else db.state(parent)
    mutable = CommitMutableState(state)
    fn(mutable.attachment_mutating())
    return db.commit_mutations(label, mutable)


def field(name: str) -> Path:
    return Path.from_field(name)
