"""Live changes: the server tells watching clients that the data changed, unasked.

A client sends ``watch`` on its connection; from then on the server pushes, between its
answers, ``[-1, "changed", version]`` whenever the data version moves — a commit by any
client of this server or by another process writing the file (the server looks at the
file's version every ``CHECK_INTERVAL`` seconds while someone watches). ``unwatch`` stops it.

Client side, ``WatchHandle`` runs the user's callback on its own thread; the connection stays
usable for requests meanwhile (a push that arrives during a request is set aside by the
request and delivered by the handle).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

PUSH_ID = -1  # the request id of frames the server sends unasked
CHANGED = "changed"
CHECK_INTERVAL = 0.025  # seconds between two looks at the data version while someone watches
MAX_PENDING_OUTPUT = 1 << 20  # a watcher that does not read gets no more pushes beyond this


def changed_frame(version: int) -> list[Any]:
    return [PUSH_ID, CHANGED, version]


def is_push(message: Any) -> bool:
    return isinstance(message, list) and len(message) == 3 and message[0] == PUSH_ID and message[1] == CHANGED


class ChangeNotifier:
    """Server side: the connections that watch, and the task that pushes to them."""

    def __init__(self, version: Callable[[], Awaitable[int]]) -> None:
        self._version = version
        self._watchers: dict[Any, tuple[Any, int | None]] = {}  # connection -> (writer, last pushed)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, conn: Any, writer: Any, known: int | None) -> None:
        self._watchers[conn] = (writer, known)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    def remove(self, conn: Any) -> None:
        self._watchers.pop(conn, None)

    def count(self) -> int:
        return len(self._watchers)

    def watching(self, conn: Any) -> bool:
        return conn in self._watchers

    def poke(self) -> None:
        """Something was written through this server: look now rather than at the next tick."""
        if self._watchers:
            self._wake.set()

    async def stop(self) -> None:
        self._watchers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        from commitdb.net.protocol import encode_frame

        while self._watchers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CHECK_INTERVAL)
            self._wake.clear()
            try:
                version = await self._version()
            except Exception:  # the database is closing: nothing to tell
                continue
            for conn, (writer, last) in list(self._watchers.items()):
                if last == version:
                    continue
                transport = writer.transport
                if transport is None or transport.is_closing():
                    self._watchers.pop(conn, None)
                    continue
                if transport.get_write_buffer_size() > MAX_PENDING_OUTPUT:
                    continue  # it does not read: it will hear of the next change instead
                writer.write(encode_frame(changed_frame(version)))
                self._watchers[conn] = (writer, version)


class WatchHandle:
    """A running watch: ``callback(version)`` is called on a thread of its own each time the
    server reports a change. ``stop()`` ends it (also on ``with`` exit); ``wait(timeout)``
    blocks until the next change (True) or the timeout (False), for loops that prefer it."""

    def __init__(self, pump: Callable[[float], int | None], callback: Callable[[int], None] | None,
                 on_stop: Callable[[WatchHandle], None], name: str = "commitdb-watch") -> None:
        """``pump(timeout)`` waits up to ``timeout`` seconds for a change and returns the new
        version (None when nothing came); it raises when the connection is lost."""
        self._pump = pump
        self._callback = callback
        self._on_stop = on_stop
        self._stopped = threading.Event()
        self._changed = threading.Event()
        self.error: BaseException | None = None
        self.last_version: int | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                version = self._pump(0.05)
            except Exception as e:  # the connection is gone: waiters learn it from ``error``
                self.error = e
                self._changed.set()
                return
            if version is None or self._stopped.is_set():
                continue
            self.last_version = version
            self._changed.set()
            if self._callback is not None:
                try:
                    self._callback(version)
                except Exception:  # the user's callback must not end the watch
                    import logging

                    logging.getLogger("commitdb.watch").exception("watch callback failed")

    def wait(self, timeout: float | None = None) -> bool:
        """True when a change came (or the connection was lost: see ``error``) within ``timeout``."""
        happened = self._changed.wait(timeout)
        self._changed.clear()
        return happened

    def __iter__(self) -> Iterator[int]:
        """The new data versions, one per change, until ``stop()``; raises what ended the
        watch when the connection is lost."""
        while not self._stopped.is_set():
            if not self.wait(0.25):
                continue
            if self.error is not None:
                raise self.error
            if self.last_version is not None and not self._stopped.is_set():
                yield self.last_version

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            if threading.current_thread() is not self._thread:
                self._thread.join(2.0)
            self._on_stop(self)

    def __enter__(self) -> WatchHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
