"""A commit database server on a background thread of the current process.

For tests and for programs that embed a server next to their own work::

    with BackgroundServer("model.cdb", host="127.0.0.1", port=0) as server:
        db = CommitDatabase.connect("127.0.0.1", server.port)

The server runs its own asyncio event loop on a daemon thread; ``start()`` returns once it
listens (or raises what binding raised) and ``stop()`` shuts it down gracefully.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from commitdb.net.server import CommitDatabaseServer, DatabaseService


class BackgroundServer:
    """Serve ``database`` (a ``.cdb`` path or a DatabaseService) from a background thread."""

    def __init__(self, database: str | DatabaseService, host: str | None = None, port: int | None = 0,
                 socket_path: str | None = None, grace: float = 5.0, **options: Any) -> None:
        self._database = database
        self._grace = grace
        self._host, self._port, self._socket_path = host, port, socket_path
        self._options = options
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: CommitDatabaseServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._still_running = 0

    @property
    def port(self) -> int | None:
        return None if self._server is None else self._server.port

    @property
    def socket_path(self) -> str | None:
        return self._socket_path

    @property
    def server(self) -> CommitDatabaseServer | None:
        return self._server

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread = threading.Thread(target=self._run, name="commitdb-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the background server did not start")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            service = self._database if isinstance(self._database, DatabaseService) \
                else DatabaseService.open_file(self._database)
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self._server = CommitDatabaseServer(service, host=self._host, port=self._port,
                                            socket_path=self._socket_path, **self._options)
        try:
            await self._server.start()
        except BaseException as e:
            self._error = e
            await self._loop.run_in_executor(None, service.close)
            self._ready.set()
            return
        self._ready.set()
        await self._server.serve_forever()
        self._still_running = await self._server.shutdown(self._grace)

    def stop(self, timeout: float = 15.0) -> int:
        """Graceful shutdown; returns the number of requests still running (0: clean)."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is not None and server is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(server.stop)
            thread.join(timeout)
        return self._still_running

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
