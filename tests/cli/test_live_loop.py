"""``run_live_loop``: the loop of ``sync --loop`` and ``reduce_heads --loop`` — a pass at each
reported change, and after a lost connection a message, a growing backoff and a reconnection."""

from __future__ import annotations

import types

import pytest

from commitdb.cli import common
from commitdb.errors import ConnectionFailedError, StorageError


class FakeHandle:
    def __init__(self, log: list[str]) -> None:
        self.error = None
        self._log = log

    def wait(self, timeout: float) -> bool:
        self._log.append(f"wait {timeout:g}")
        return True

    def stop(self) -> None:
        self._log.append("stop watching")


class FakeDatabase:
    def __init__(self, name: str, log: list[str], watchable: bool = True) -> None:
        self.name, self._log, self._watchable = name, log, watchable

    def watch(self) -> FakeHandle:
        if not self._watchable:
            raise StorageError("no live changes here")
        return FakeHandle(self._log)

    def close(self) -> None:
        self._log.append(f"close {self.name}")


def test_reconnects_with_a_growing_backoff(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    log: list[str] = []
    sleeps: list[float] = []
    monkeypatch.setattr(common, "time", types.SimpleNamespace(sleep=sleeps.append))
    attempts = iter([ConnectionFailedError("refused"), ConnectionFailedError("refused"), "second"])

    def connect() -> FakeDatabase:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return FakeDatabase(outcome, log)

    passes = {"first": 0, "second": 0}

    def build(db: FakeDatabase) -> object:
        def step() -> None:
            passes[db.name] += 1
            log.append(f"pass on {db.name}")
            if db.name == "first" and passes["first"] == 2:
                raise ConnectionFailedError("the server at h:1 closed the connection")
            if db.name == "second" and passes["second"] == 2:
                raise KeyboardInterrupt

        return step

    common.run_live_loop(connect, build, 5.0, first=FakeDatabase("first", log))
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "connection lost (the server at h:1 closed the connection); reconnecting in 0.5 s",
        "connection lost (refused); reconnecting in 1 s",
        "connection lost (refused); reconnecting in 2 s",
        "reconnected.",
        "stopped.",
    ]
    assert sleeps == [0.5, 1.0, 2.0]  # the handle's wait replaces the interval between passes
    assert log == ["pass on first", "wait 5", "pass on first", "stop watching", "close first",
                   "pass on second", "wait 5", "pass on second", "stop watching", "close second"]


def test_without_live_changes_the_interval_paces_the_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    sleeps: list[float] = []
    monkeypatch.setattr(common, "time", types.SimpleNamespace(sleep=sleeps.append))
    count = [0]

    def build(db: FakeDatabase) -> object:
        def step() -> None:
            count[0] += 1
            if count[0] == 3:
                raise KeyboardInterrupt

        return step

    common.run_live_loop(lambda: FakeDatabase("x", log), build, 0.25, first=FakeDatabase("plain", log, False))
    assert sleeps == [0.25, 0.25] and log == ["close plain"]
