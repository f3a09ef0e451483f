"""CommitStore (SPEC §7): dispatch, undo/redo as toggle commits, notifications."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import CommitDatabase, CommitMutableState, CommitStore, Path, ValueCommitId, ValueUUId

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("notify_"):
            raise AttributeError(name)
        return lambda *args: self.events.append((name, args))

    def names(self) -> list[str]:
        return [n for n, _ in self.events]


class Env:
    def __init__(self, db: CommitDatabase, names: dict[str, Any]) -> None:
        self.db = db
        self.att = names["TUTO_A_USER_LOGIN"]
        self.key = self.att.create_key(U1)
        self.nickname = names["TUTO_P_LOGIN_NICKNAME"]
        self.store = CommitStore()
        self.recorder = Recorder()
        self.store.set_notifier(self.recorder)
        self.store.use(db)

    def read(self) -> str:
        return repr(self.store.state().attachment_getting().get(self.att, self.key))

    def rename(self, name: str) -> Any:
        return self.store.dispatch(f"rename {name}", lambda m: m.update(self.att, self.key, self.nickname, name))


@pytest.fixture
def env(tuto: tuple[CommitDatabase, dict[str, Any]]) -> Env:
    return Env(*tuto)


def test_use_moves_to_the_last_commit(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    att = names["TUTO_A_USER_LOGIN"]
    ms = CommitMutableState(db.initial_state())
    ms.attachment_mutating().set(att, att.create_key(U1), {"nickname": "x"})
    c = db.commit_mutations("c", ms)
    store = CommitStore()
    store.use(db)
    assert store.state().commit_id() == c
    empty = CommitStore()
    empty.use(CommitDatabase.create_in_memory())
    assert empty.state().commit_id() == ValueCommitId()


def test_dispatch_commits_moves_and_notifies(env: Env) -> None:
    env.recorder.events.clear()
    result = env.store.dispatch("create", lambda m, doc: m.set(env.att, env.key, doc) or "done",
                                {"nickname": "alice"})
    assert result == "done"
    head = env.db.last_commit_id()
    assert env.store.state().commit_id() == head
    assert env.db.commit_header(head).label() == "create"
    assert env.read() == "Optional({nickname='alice', password=''})"
    assert env.recorder.names() == ["notify_state_did_change"]
    assert env.store.can_undo() and not env.store.can_redo()


def test_dispatch_error_commits_nothing(env: Env) -> None:
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    before = env.db.commit_ids()
    state_before = env.store.state().commit_id()
    env.recorder.events.clear()

    def failing(m: Any) -> None:
        m.update(env.att, env.key, env.nickname, "half")
        raise ValueError("nope")

    assert env.store.dispatch("fails", failing) is None
    assert env.db.commit_ids() == before
    assert env.store.state().commit_id() == state_before
    assert env.recorder.names() == ["notify_dispatch_error"]
    error = env.recorder.events[0][1][0]
    assert isinstance(error, ValueError) and str(error) == "nope"
    # A validation error from the mutator is reported the same way.
    assert env.store.dispatch_update("bad", env.att, env.key, env.nickname, 42) is None
    assert env.db.commit_ids() == before
    assert env.recorder.names()[-1] == "notify_dispatch_error"


def test_undo_redo_sequence(env: Env) -> None:
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    env.rename("bob")
    c2 = env.store.state().commit_id()
    assert env.read() == "Optional({nickname='bob', password=''})"

    undo1 = env.store.undo()
    h = env.db.commit_header(undo1)
    assert (h.commit_type(), h.label(), h.target_commit_id(), h.parent_commit_id()) == (
        "Disable", "Undo [rename bob]", c2, c2)
    assert env.store.state().commit_id() == undo1
    assert env.read() == "Optional({nickname='alice', password=''})"
    assert env.store.can_redo()

    redo = env.store.redo()
    h = env.db.commit_header(redo)
    assert (h.commit_type(), h.label(), h.target_commit_id(), h.parent_commit_id()) == (
        "Disable", "Redo [rename bob]", undo1, undo1)
    assert env.read() == "Optional({nickname='bob', password=''})"
    assert not env.store.can_redo() and env.store.can_undo()

    undo2 = env.store.undo()
    h = env.db.commit_header(undo2)
    assert (h.commit_type(), h.label(), h.target_commit_id(), h.parent_commit_id()) == (
        "Enable", "Undo [rename bob]", undo1, redo)
    assert env.read() == "Optional({nickname='alice', password=''})"

    undo3 = env.store.undo()  # now the creation
    h = env.db.commit_header(undo3)
    assert (h.commit_type(), h.label()) == ("Disable", "Undo [create]")
    assert env.read() == "nil"
    assert not env.store.can_undo()

    env.store.redo()
    assert env.read() == "Optional({nickname='alice', password=''})"
    env.store.redo()
    assert env.read() == "Optional({nickname='bob', password=''})"
    assert not env.store.can_redo()


def test_new_dispatch_clears_redo(env: Env) -> None:
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    env.rename("bob")
    env.store.undo()
    assert env.store.can_redo()
    env.rename("carol")
    assert not env.store.can_redo()
    assert env.read() == "Optional({nickname='carol', password=''})"


def test_raising_notifier_is_ignored(env: Env) -> None:
    class Angry:
        def __getattr__(self, name: str) -> Any:
            if name.startswith("notify_"):
                def boom(*args: Any) -> None:
                    raise RuntimeError("notifier failed")
                return boom
            raise AttributeError(name)

    env.store.set_notifier(Angry())
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    env.rename("bob")
    env.store.undo()
    env.store.redo()
    assert env.store.dispatch("fails", lambda m: 1 / 0) is None
    assert env.read() == "Optional({nickname='bob', password=''})"


def test_dispatch_set_update_diff(env: Env) -> None:
    env.store.dispatch_set("set", env.att, env.key, {"nickname": "a", "password": "p"})
    assert env.read() == "Optional({nickname='a', password='p'})"
    env.store.dispatch_update("update", env.att, env.key, Path.from_field("password"), "q")
    assert env.read() == "Optional({nickname='a', password='q'})"
    env.store.dispatch_diff("diff", env.att, env.key, {"nickname": "z", "password": "q"})
    assert env.read() == "Optional({nickname='z', password='q'})"
    program = env.db.commit(env.store.state().commit_id()).program()
    assert [(op.type(), str(op.path())) for op in program.all_opcodes()] == [("Document_Update", ".nickname")]
    labels = [env.db.commit_header(c).label() for c in env.db.commit_ids()]
    assert sorted(labels) == ["diff", "set", "update"]


def test_undo_without_history(env: Env) -> None:
    """SPEC §14.7: with nothing to undo or redo, undo() and redo() do nothing and raise nothing."""
    assert not env.store.can_undo() and not env.store.can_redo()
    before = (env.store.state().commit_id(), env.db.commit_ids())
    assert env.store.undo() is None
    assert env.store.redo() is None
    assert (env.store.state().commit_id(), env.db.commit_ids()) == before


def test_use_commit_forward_and_merge(env: Env) -> None:
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    first = env.store.state().commit_id()
    env.rename("bob")
    env.store.use_commit(first)
    assert env.read() == "Optional({nickname='alice', password=''})"
    assert env.store.can_undo()  # the undo stack survives a move
    env.rename("carol")  # a second branch
    assert len(env.db.head_commit_ids()) == 2
    merged = env.store.reduce_heads()
    assert merged is not None and env.store.state().commit_id() == merged
    assert env.db.head_commit_ids() == {merged}
    env.store.use_commit(first)
    assert env.store.forward() == merged


def test_undo_after_use_commit_opens_a_second_head(env: Env) -> None:
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "alice"})
    first = env.store.state().commit_id()
    env.rename("bob")
    renamed = env.store.state().commit_id()
    env.store.use_commit(first)
    undo = env.store.undo()  # Disable(Rename) on top of the commit we moved to
    header = env.db.commit_header(undo)
    assert header.commit_type() == "Disable" and header.label() == "Undo [rename bob]"
    assert header.parent_commit_id() == first
    assert env.db.head_commit_ids() == {renamed, undo}


def test_notifying_create_requires_every_callback() -> None:
    from commitdb.store import NOTIFICATIONS, CommitStoreNotifying

    class Partial:
        def notify_state_did_change(self) -> None:
            pass

    with pytest.raises(TypeError, match="notify_database_did_open"):
        CommitStoreNotifying.create(Partial())
    complete = type("Complete", (), {name: (lambda self, *a: None) for name in NOTIFICATIONS})()
    assert isinstance(CommitStoreNotifying.create(complete), CommitStoreNotifying)


def test_open_close_notifications(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, _ = tuto
    store = CommitStore()
    recorder = Recorder()
    store.set_notifier(recorder)
    store.use(db)
    assert recorder.names() == ["notify_database_did_open", "notify_definitions_did_change",
                                "notify_state_did_change"]
    recorder.events.clear()
    store.use(CommitDatabase.create_in_memory())  # switching closes the previous one
    assert recorder.names()[0] == "notify_database_did_close"
    recorder.events.clear()
    store.close()
    assert recorder.names() == ["notify_database_did_close"]
    assert not store.has_database()


def test_undo_redo_states_match_plain_history(env: Env) -> None:
    """After any undo/redo walk, the state equals the document of the step it stands on."""
    env.store.dispatch_set("create", env.att, env.key, {"nickname": "v0"})
    for i in range(1, 5):
        env.rename(f"v{i}")
    expected = [f"Optional({{nickname='v{i}', password=''}})" for i in range(5)]
    position = 4
    for move in "uuruuurrrrruu":
        if move == "u" and env.store.can_undo():
            env.store.undo()
            position -= 1
        elif move == "r" and env.store.can_redo():
            env.store.redo()
            position += 1
        assert env.read() == (expected[position] if position >= 0 else "nil"), move
