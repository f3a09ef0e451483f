"""Commits that decode but do not type-check against the definitions are refused — by the
server and by a sync import — while best-effort no-ops stay legitimate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _netutil import make_tuto_cdb

from commitdb import (
    CommitDatabase,
    CommitDatabaseHelper,
    CommitMutableState,
    CommitSynchronizer,
    KeyTypeError,
    OperationError,
    PathError,
    TypeMismatchError,
    UnknownAttachmentError,
    ValidationError,
)
from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    SET_UNION,
    CommitOpcode,
    encode_program,
    new_opcode,
)
from commitdb.net.background import BackgroundServer
from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitData, CommitHeader, compute_commit_id
from commitdb.testing import Tuto
from commitdb.values.path import Path as DocPath
from commitdb.values.value import Value


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[CommitDatabase, Tuto]]:
    with BackgroundServer(make_tuto_cdb(tmp_path / "v.cdb"), host="127.0.0.1", port=0) as server:
        db = CommitDatabase.connect("127.0.0.1", server.port)
        try:
            yield db, Tuto(db)
        finally:
            db.close()


def _opcodes(tuto: Tuto, parent: Any = None) -> list[CommitOpcode]:
    m = CommitMutableState(tuto.db.initial_state() if parent is None else tuto.db.state(parent))
    m.attachment_mutating().set(tuto.login, tuto.key(3), {"nickname": "mallory", "password": "x"})
    return list(m.raw_opcodes())


def _commit(parent: bytes, ops: list[CommitOpcode]) -> CommitData:
    data = encode_program(ops)
    cid = compute_commit_id(parent, MUTATIONS, ZERO_ID, data)
    return CommitData(CommitHeader(cid, parent, MUTATIONS, ZERO_ID, time.time(), "forged"), data)


def _with_key(op: CommitOpcode, attachment: bytes | None = None, concept: bytes | None = None) -> CommitOpcode:
    a, i, c = op.doc_key
    return new_opcode(op.code, (attachment or a, i, concept or c), op._path, op._value, op._position, op._before)


def _flip_last_byte(b: bytes) -> bytes:
    return b[:-1] + bytes([b[-1] ^ 1])


def _forged_cases(tuto: Tuto) -> list[tuple[str, list[CommitOpcode], type[Exception]]]:
    (good,) = _opcodes(tuto)
    dk = good.doc_key
    identity = tuto.ns["TUTO_A_USER_IDENTITY"]
    from commitdb.values.factory import create

    wrong_document = create(identity.document_type(), {"firstname": "a", "lastname": "b"})
    number = create(tuto.avatar.document_type(), {"width": 1, "height": 2, "data": b""})
    nickname = DocPath.from_field("nickname").const()
    return [
        ("a byte of the key's concept id", [_with_key(good, concept=_flip_last_byte(dk[2]))], KeyTypeError),
        ("a byte of the attachment id", [_with_key(good, attachment=_flip_last_byte(dk[0]))],
         UnknownAttachmentError),
        ("a document of another type", [new_opcode(DOCUMENT_SET, dk, value=wrong_document)], TypeMismatchError),
        ("a field the type lacks", [new_opcode(DOCUMENT_UPDATE, dk, DocPath.from_field("email").const(),
                                                 value=good._value)], PathError),
        ("a value of another type at a path", [new_opcode(DOCUMENT_UPDATE, dk, nickname, value=number)],
         TypeMismatchError),
        ("a set operation on a string", [new_opcode(SET_UNION, dk, nickname, value=good._value)], OperationError),
    ]


def test_the_server_refuses_commits_that_do_not_type_check(remote: tuple[CommitDatabase, Tuto]) -> None:
    db, tuto = remote
    first = tuto.set(None, "alice")
    backend = db.commit_databasing()
    parent = bytes.fromhex(str(first))
    for what, ops, error in _forged_cases(tuto):
        with pytest.raises(error):
            backend.insert_commit(_commit(parent, ops))
        with pytest.raises(ValidationError, match="opcode 0"):  # in a batch too: all or nothing
            backend.insert_commits([(_commit(parent, _opcodes(tuto, first)), None), (_commit(parent, ops), None)])
        assert len(db.commit_ids()) == 1, what
    # what the attack did to the reference (unreadable heads, a poisoned merge) cannot happen:
    for n in range(3):
        tuto.set(first, f"branch {n}", key=tuto.key(n + 4))
    merged = CommitDatabaseHelper.reduce_heads(db)
    assert merged is not None and tuto.nick(merged, key=tuto.key(1)) == "alice"


def test_best_effort_no_ops_stay_legitimate(remote: tuple[CommitDatabase, Tuto]) -> None:
    """An update of a document a concurrent commit removed (or never created in this branch)
    type-checks and is accepted; replay simply does nothing with it."""
    db, tuto = remote
    first = tuto.set(None, "alice")
    renamed = tuto.rename(None, "nobody here", key=tuto.key(9))  # no document 9 anywhere
    assert db.commit_exists(renamed)
    m = tuto.mutable(first)
    m.attachment_mutating().update(tuto.login, tuto.key(1), tuto.nickname, "bob")
    concurrent = db.commit_mutations("concurrent", m)
    removal = tuto.mutable(first)
    removal.attachment_mutating().set(tuto.login, tuto.key(1), {"nickname": "gone", "password": "-"})
    db.commit_mutations("other branch", removal)
    merged = CommitDatabaseHelper.reduce_heads(db)
    assert merged is not None and db.commit_exists(concurrent)
    assert tuto.nick(merged) in ("bob", "gone")


def test_sync_refuses_to_import_what_does_not_type_check(tmp_path: Path) -> None:
    source = CommitDatabase.open(make_tuto_cdb(tmp_path / "source.cdb"))
    target = CommitDatabase.open(make_tuto_cdb(tmp_path / "target.cdb"))
    try:
        tuto = Tuto(source)
        first = tuto.set(None, "alice")
        (_, ops, _), *_ = _forged_cases(tuto)
        # Written under the engine (as another program could): the raw storage does not check.
        source.commit_databasing().insert_commit(_commit(bytes.fromhex(str(first)), ops))
        source.close()
        source = CommitDatabase.open(str(tmp_path / "source.cdb"))
        with pytest.raises(KeyTypeError, match="concept"):
            CommitSynchronizer(source, target, "Sync").sync()
        assert len(target.commit_ids()) <= 1
    finally:
        source.close()
        target.close()


def test_programs_written_by_the_library_always_pass(remote: tuple[CommitDatabase, Tuto]) -> None:
    """Every verb of the mutable state produces opcodes the server accepts."""
    db, _ = remote
    from commitdb.testing.models import EXTRA_DSM
    from commitdb.testing.suite import parse_definitions

    db.extend_definitions(parse_definitions(EXTRA_DSM))
    ns: dict[str, Any] = {}
    db.definitions().inject(ns)
    note = ns["EXTRA_A_ITEM_NOTE"]
    tags = ns["EXTRA_P_NOTE_TAGS"]
    key = note.create_key()
    m = CommitMutableState(db.initial_state())
    mutating = m.attachment_mutating()
    mutating.set(note, key, {"text": "hello", "tags": {"a"}})
    mutating.union_in_set(note, key, tags, {"b", "c"})
    mutating.subtract_in_set(note, key, tags, {"a"})
    c = db.commit_mutations("verbs", m)
    doc: Value = db.state(c).attachment_getting().get(note, key).unwrap()
    assert doc is not None


RICH_DSM = """
namespace Rich {5e0c3b1a-7d2f-4e6a-9b8c-0a1b2c3d4e5f} {
concept Thing;
struct Doc { set<string> tags; map<string, int64> counters; variant<int64, string> choice; any a;
             optional<string> maybe; };
attachment<Thing, Doc> doc;
attachment<Thing, xarray<string>> notes;
};
"""


def test_every_verb_through_the_server(remote: tuple[CommitDatabase, Tuto]) -> None:
    """Sets, maps, xarrays, variants and anys: what the library records always type-checks,
    including writes through a variant or any unwrap that replay will ignore (SPEC §14.6)."""
    from commitdb import DSMBuilder, ValueDouble, ValueInt64, ValueString, ValueUUId

    db, _ = remote
    builder = DSMBuilder()
    builder.append("rich.dsm", RICH_DSM)
    report, _, definitions = builder.parse()
    assert not report.has_error()
    db.extend_definitions(definitions)
    names: dict[str, Any] = {}
    definitions.inject(names)
    doc, notes = names["RICH_A_THING_DOC"], names["RICH_A_THING_NOTES"]
    key = doc.create_key()
    field = DocPath.from_field
    m = CommitMutableState(db.initial_state())
    w = m.attachment_mutating()
    w.set(doc, key, {"tags": {"a"}, "counters": {"x": 1}, "choice": 0, "a": 1, "maybe": None})
    w.union_in_set(doc, key, field("tags"), {"b"})
    w.subtract_in_set(doc, key, field("tags"), {"a"})
    w.union_in_map(doc, key, field("counters"), {"y": 2})
    w.update_in_map(doc, key, field("counters"), {"x": 3})
    w.subtract_in_map(doc, key, field("counters"), {"y"})
    w.update(doc, key, field("choice").unwrap(), ValueString("s"))
    w.update(doc, key, field("choice").unwrap(), ValueDouble(1.5))  # not an alternative: a no-op at replay
    w.update(doc, key, field("a").unwrap(), ValueInt64(7))
    w.update(doc, key, field("maybe"), "present")
    first, second = ValueUUId.create(), ValueUUId.create()
    w.set(notes, key, [])
    w.insert_in_xarray(notes, key, DocPath(), ValueUUId("00000000-0000-0000-0000-000000000000"), first, "one")
    w.insert_in_xarray(notes, key, DocPath(), first, second, "zero")
    w.update_in_xarray(notes, key, DocPath(), first, "uno")
    w.remove_in_xarray(notes, key, DocPath(), second)
    c = db.commit_mutations("every verb", m)
    assert db.commit_exists(c)
    found = db.state(c).attachment_getting().get(doc, key).unwrap()
    assert found.choice.unwrap() == "s" and found.maybe.unwrap() == "present"
    assert len(db.state(c).attachment_getting().get(notes, key).unwrap()) == 1
