"""SPEC §14.1 (in_memory), §14.2 (ValueXArray.insert), §14.7 (CommitStore), §14.8
(create_structure) and the wider surface of §14.12 — the examples, with their exact outputs."""

from __future__ import annotations

import array
import os
import tempfile
from pathlib import Path as FsPath
from typing import Any

import pytest
from spec14_support import END, P1, P2, field, m14

from commitdb import (
    BlobLayout,
    BlobNotFoundError,
    CommitDatabase,
    CommitDBError,
    CommitStore,
    DocumentTypeError,
    MemoryBackend,
    NotAHeadError,
    UnknownFieldError,
    ValidationError,
    Value,
    ValueBlob,
    ValueUUId,
    ValueXArray,
)
from commitdb.net.background import BackgroundServer
from commitdb.net.server import DatabaseService

# --- §14.1 ---------------------------------------------------------------------------------------


def test_in_memory_answers_for_the_database(tmp_path: FsPath) -> None:
    assert CommitDatabase.create_in_memory().in_memory() is True
    path = str(tmp_path / "a.cdb")
    with CommitDatabase.create(path) as created:
        assert created.in_memory() is False
    with CommitDatabase.open(path) as opened:
        assert opened.in_memory() is False


@pytest.mark.parametrize("served_in_memory", [True, False])
def test_a_remote_database_answers_for_the_database_it_serves(served_in_memory: bool) -> None:
    folder = tempfile.mkdtemp(prefix="cdb")  # short: a unix socket path is limited in length
    path = os.path.join(folder, "served.cdb")
    if served_in_memory:
        served: Any = DatabaseService(MemoryBackend())
    else:
        CommitDatabase.create(path).close()
        served = path
    with BackgroundServer(served, socket_path=os.path.join(folder, "s")) as server:
        with CommitDatabase.connect_local(str(server.socket_path)) as remote:
            assert remote.in_memory() is served_in_memory

# --- §14.2 ---------------------------------------------------------------------------------------


def test_xarray_insert_at_a_given_position() -> None:
    m = m14()
    x = m.NOTES.create_document()
    assert str(x.insert(END, "one", P1)) == "00000000-0000-0000-0000-0000000000a1"
    assert str(x.insert(P1, "zero", P2)) == "00000000-0000-0000-0000-0000000000b2"
    assert f"{x!r} {x.positions()!r}" == (
        "['zero', 'one'] [00000000-0000-0000-0000-0000000000b2, 00000000-0000-0000-0000-0000000000a1, "
        "00000000-0000-0000-0000-000000000000]")
    with pytest.raises(ValidationError, match="already defined"):
        x.insert(END, "again", P1)
    assert repr(x) == "['zero', 'one']"


def test_xarray_insert_refuses_held_positions_and_unknown_anchors() -> None:
    x = m14().NOTES.create_document()
    x.insert(END, "one", P1)
    x.remove(P1)  # removed: still held
    before = Value.dumps(x)
    for new in (P1, END):
        with pytest.raises(ValidationError, match="already defined"):
            x.insert(END, "v", new)
    with pytest.raises(KeyError, match="not held"):
        x.insert(P2, "v", ValueUUId.create())
    assert Value.dumps(x) == before
    fresh = x.insert(P1, "before the removed one")  # a removed position is a valid anchor
    assert x.positions() == [fresh, P1, END] and x.has_position(fresh)

# --- §14.7 ---------------------------------------------------------------------------------------


def test_store_attachment_getting_reads_the_current_state() -> None:
    m = m14()
    key = m.LOGIN.create_key()
    store = CommitStore()
    with pytest.raises(CommitDBError):
        store.attachment_getting()
    store.use(m.db)
    empty = store.attachment_getting()
    store.dispatch_set("set", m.LOGIN, key, {"nickname": "a"})
    assert repr(store.attachment_getting().get(m.LOGIN, key)) == "Optional({nickname='a', password=''})"
    assert repr(empty.get(m.LOGIN, key)) == "nil"  # a getter taken earlier keeps its state
    store.close()
    with pytest.raises(CommitDBError):
        store.attachment_getting()


def test_store_undo_and_redo_with_nothing_to_do() -> None:
    m = m14()
    store = CommitStore()
    store.use(m.db)
    assert store.undo() is None and store.redo() is None
    key = m.LOGIN.create_key()
    store.dispatch_set("set", m.LOGIN, key, {"nickname": "a"})
    undo = store.undo()
    assert m.db.commit_header(undo).label() == "Undo [set]"
    assert store.undo() is None  # the one step is undone: nothing more
    assert store.redo() is not None and store.redo() is None
    assert len(m.db.commit_ids()) == 3

# --- §14.8 ---------------------------------------------------------------------------------------


def test_create_structure() -> None:
    m = m14()
    assert repr(m.LOGIN.create_structure({"nickname": "x"})) == "{nickname='x', password=''}"
    assert m.LOGIN.create_structure() == m.LOGIN.create_document()
    with pytest.raises(UnknownFieldError):
        m.LOGIN.create_structure({"nick": "x"})
    with pytest.raises(TypeError) as raised:
        m.NOTES.create_structure()
    assert str(raised.value) == "the attachment's document type must be a structure, not xarray<string>"
    assert isinstance(raised.value, DocumentTypeError)

# --- §14.12: CommitStore ---------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("notify_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append(name)


def _store_with_two_steps() -> tuple[Any, CommitStore, Any]:
    m = m14()
    key = m.LOGIN.create_key()
    store = CommitStore()
    store.use(m.db)
    store.dispatch_set("set", m.LOGIN, key, {"nickname": "a"})
    store.dispatch_update("rename", m.LOGIN, key, field("nickname"), "b")
    return m, store, key


def test_store_undo_stack_ids_clear_and_reset() -> None:
    m, store, _ = _store_with_two_steps()
    labels = [m.db.commit_header(c).label() for c in store.undo_stack_ids()]
    assert labels == ["set", "rename"]
    store.undo()
    assert [m.db.commit_header(c).label() for c in store.undo_stack_ids()] == ["set"] and store.can_redo()
    store.clear_undo_redo()
    assert store.undo_stack_ids() == [] and not store.can_undo() and not store.can_redo()
    store.dispatch_update("again", *_login(m, store), field("nickname"), "c")
    store.reset_undo_redo()
    assert not store.can_undo() and not store.can_redo()


def _login(m: Any, store: CommitStore) -> tuple[Any, Any]:
    return m.LOGIN, next(iter(store.attachment_getting().keys(m.LOGIN).members()))


def test_store_has_state_and_notifier() -> None:
    store = CommitStore()
    assert not store.has_state() and store.notifier() is None
    recorder = Recorder()
    store.set_notifier(recorder)
    assert store.notifier() is not None
    store.use(m14().db)
    assert store.has_state()
    recorder.calls.clear()
    store.notify_state_did_change()
    store.notify_database_will_reset()
    assert recorder.calls == ["notify_state_did_change", "notify_database_will_reset"]
    store.set_notifier(None)
    store.notify_state_did_change()  # no notifier: nothing, no error
    store.close()
    assert not store.has_state()


def test_store_disable_enable_and_dispatch_enable_commit() -> None:
    m, store, key = _store_with_two_steps()
    rename = store.undo_stack_ids()[-1]
    nick = lambda: store.attachment_getting().get(m.LOGIN, key).unwrap().nickname  # noqa: E731
    disabled = store.disable_commit(rename)
    assert nick() == "a" and m.db.commit_header(disabled).label() == "Disable [rename]"
    assert m.db.commit_header(disabled).commit_type() == "Disable"
    enabled = store.enable_commit(rename)
    assert nick() == "b" and m.db.commit_header(enabled).commit_type() == "Enable"
    assert len(store.undo_stack_ids()) == 2  # plain toggles are not undoable steps
    toggle = store.dispatch_enable_commit(rename, False)
    assert nick() == "a" and store.undo_stack_ids()[-1] == toggle
    store.undo()  # undoes the toggle
    assert nick() == "b"
    store.redo()
    assert nick() == "a"


def test_store_delete_commit_and_reset() -> None:
    m, store, key = _store_with_two_steps()
    first, rename = store.undo_stack_ids()
    with pytest.raises(NotAHeadError):
        store.delete_commit(first)
    store.delete_commit(rename)
    assert store.state().commit_id() == first and store.undo_stack_ids() == [first]
    assert repr(store.attachment_getting().get(m.LOGIN, key)) == "Optional({nickname='a', password=''})"
    store.dispatch_update("more", m.LOGIN, key, field("password"), "p")
    recorder = Recorder()
    store.set_notifier(recorder)
    store.reset()
    assert m.db.commit_ids() == {first} and store.state().commit_id() == first
    assert not store.can_undo()
    assert recorder.calls[:2] == ["notify_database_will_reset", "notify_database_did_reset"]

# --- §14.12: CommitDatabase blob helpers -------------------------------------------------------------


def test_blob_infos_and_blob_getting() -> None:
    db = CommitDatabase.create_in_memory()
    five = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
    four = db.create_blob(BlobLayout("float", 1), bytes([1, 2, 3, 4]))
    assert str(five) == "f07d73c81ed1a91165a75c5cc22253cc7895a8b2"
    infos = db.blob_infos()
    assert [i.blob_id() for i in infos] == sorted([five, four])
    assert [(i.blob_layout().representation(), i.size()) for i in db.blob_infos([five, four])] == [
        ("uchar-1", 5), ("float-1", 4)]
    with pytest.raises(BlobNotFoundError):
        db.blob_infos([five, "00" * 20])
    getting = db.blob_getting()
    assert bytes(getting.blob(five)) == bytes([1, 2, 3, 4, 5]) and getting.blob_exists(four)
    assert getting.blob_ids() == {five, four} and getting.blob_info(five).size() == 5
    assert bytes(getting.read_blob(five, 2, 1)) == bytes([2, 3])


def test_blob_reader_reads_in_pieces() -> None:
    db = CommitDatabase.create_in_memory()
    blob_id = db.create_blob(BlobLayout(), bytes(range(10)))
    reader = db.blob_reader_open(blob_id)
    pieces = [db.blob_reader_read(reader, 4) for _ in range(4)]
    assert all(isinstance(p, ValueBlob) for p in pieces)
    assert [bytes(p) for p in pieces] == [bytes(range(4)), bytes(range(4, 8)), bytes([8, 9]), b""]
    db.blob_reader_close(reader)
    with pytest.raises(ValidationError, match="closed"):
        db.blob_reader_read(reader, 1)
    with pytest.raises(BlobNotFoundError):
        db.blob_reader_open("00" * 20)


def test_create_blob_from_buffer() -> None:
    db = CommitDatabase.create_in_memory()
    expected = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4, 5]))
    assert db.create_blob_from_buffer(BlobLayout(), bytearray([1, 2, 3, 4, 5])) == expected
    assert db.create_blob_from_buffer(BlobLayout(), memoryview(bytes([0, 1, 2, 3, 4, 5]))[1:]) == expected
    floats = array.array("f", [1.0, 2.0])
    blob_id = db.create_blob_from_buffer(BlobLayout("float", 1), floats)
    assert bytes(db.blob(blob_id)) == floats.tobytes()
    with pytest.raises(ValidationError, match="buffer"):
        db.create_blob_from_buffer(BlobLayout(), [1, 2, 3])

# --- §14.12: ValueXArray helpers ---------------------------------------------------------------------


def _three() -> tuple[ValueXArray, list[ValueUUId]]:
    x = m14().NOTES.create_document()
    return x, [x.append(v) for v in ("a", "b", "c")]


def test_xarray_has_position_create_position_and_succ() -> None:
    x, (a, b, c) = _three()
    assert x.has_position(a) and x.has_position(END) and not x.has_position(P1)
    new = x.create_position()
    assert not x.has_position(new) and x.positions() == [a, b, c, END]  # nothing inserted
    assert x.succ(a) == b and x.succ(c) == END
    x.insert(x.succ(a), "after a", P1)
    assert list(x) == ["a", "after a", "b", "c"]
    for bad in (END, P2):
        with pytest.raises(KeyError):
            x.succ(bad)


def test_xarray_disable_position_index_and_set() -> None:
    x, (a, b, c) = _three()
    assert [x.index(p) for p in (a, b, c)] == [0, 1, 2]
    x.disable_position(b)
    assert list(x) == ["a", "c"] and x.disabled_positions() == [b] and x.has_position(b)
    assert x.index(c) == 1
    with pytest.raises(KeyError):
        x.index(b)
    with pytest.raises(KeyError):
        x.set(b, "revived?")  # a tombstone cannot be written
    with pytest.raises(KeyError):
        x.disable_position(END)
    x.set(a, "A")
    x.remove(c)
    x.set(c, "C")  # a removed position is revived
    assert list(x) == ["A", "C"]
    assert Value.dumps(x)[1] == [str(b)]


def test_xarray_to_vector_and_rebuild_from() -> None:
    x, (a, b, c) = _three()
    x.remove(b)
    vector = x.to_vector()
    assert repr(vector) == "['a', 'c']" and str(vector.type()) == "vector<string>"
    y = m14().NOTES.create_document()
    y.rebuild_from(x)
    assert y == x and y.positions() == [a, b, c, END]
    y.rebuild_from(vector)
    assert list(y) == ["a", "c"] and len(y.positions()) == 3 and a not in y.positions()
    y.rebuild_from(["z"])
    assert list(y) == ["z"]
    with pytest.raises(ValidationError):
        y.rebuild_from(["ok", 3])
    assert list(y) == ["z"]  # nothing changed
