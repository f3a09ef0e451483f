"""Running a server as a process: logging levels, signals, graceful shutdown (SPEC §10)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from commitdb.errors import CommitDBError, ListenError
from commitdb.net.server import CommitDatabaseServer, DatabaseService

GRACEFUL = "The server finished gracefully."
SHUTDOWN_GRACE = 5.0


def log_level(verbosity: int) -> int:
    """Quiet by default; -v errors, -vv info (connections and requests), -vvv debug."""
    if verbosity <= 0:
        return logging.CRITICAL + 1
    return {1: logging.ERROR, 2: logging.INFO}.get(verbosity, logging.DEBUG)


def serve(database: str, host: str | None = None, port: int | None = None, socket_path: str | None = None,
          verbosity: int = 0, out: TextIO = sys.stdout, err: TextIO = sys.stderr, synchronous: str = "FULL",
          viper_clients: str = "local",
          on_listening: Callable[[list[str]], None] | None = None) -> int:
    """Serve ``database`` until SIGINT/SIGTERM; returns the process exit code (0: graceful
    stop, 1: clients were still running after the grace period).

    What prevents the start is raised, nothing is half-started: the error of opening the
    database, of the same class, its message starting ``cannot serve 'PATH'``; ListenError
    when the address cannot be listened on. ``on_listening(addresses)`` is called once the
    server listens, with each address as text (``host:port`` with the real port, or the
    socket path). ``viper_clients`` says where clients of the reference protocol are served
    (off, local, any); the choice is stated on ``out`` at start-up."""
    logging.basicConfig(level=log_level(verbosity), stream=err,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        service = DatabaseService.open_file(database, synchronous)
    except CommitDBError as e:
        raise type(e)(f"cannot serve {database!r}: {e}") from e
    if host is None and socket_path is None:
        host = "0.0.0.0"
    return asyncio.run(_run(service, host, port, socket_path, out, viper_clients, on_listening))


VIPER_POLICY_TEXT = {
    "off": "refused (--viper-clients off)",
    "local": "served on the unix socket and loopback only (--viper-clients local)",
    "any": "served from any address (--viper-clients any)",
}


async def _run(service: DatabaseService, host: str | None, port: int | None, socket_path: str | None,
               out: TextIO, viper_clients: str = "local",
               on_listening: Callable[[list[str]], None] | None = None) -> int:
    server = CommitDatabaseServer(service, host=host, port=port, socket_path=socket_path,
                                  viper_clients=viper_clients)
    try:
        await server.start()
    except (OSError, OverflowError, CommitDBError) as e:
        service.close()
        raise ListenError(f"cannot listen: {e}") from e
    print(f"Reference-protocol (viper) clients: {VIPER_POLICY_TEXT[viper_clients]}.", file=out, flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    where = []
    if host is not None:
        where.append(f"{host}:{server.port}")
    if socket_path is not None:
        where.append(socket_path)
    logging.getLogger("commitdb.server").info("serving on %s", ", ".join(where))
    if on_listening is not None:
        on_listening(where)
    await server.serve_forever()
    still = await server.shutdown(SHUTDOWN_GRACE)
    print(finish_message(still), file=out, flush=True)
    return 1 if still else 0


def finish_message(still_running: int) -> str:
    if still_running:
        return f"{still_running} client(s) still running, the server did not stop cleanly."
    return GRACEFUL


def exit_process(code: int) -> None:
    """Exit with ``code``. After an unclean stop a worker thread may still be inside a request;
    the interpreter would wait for it at exit, so leave without waiting (SQLite's journal keeps
    the file consistent: an unfinished transaction is simply not there)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if code == 1:
        os._exit(code)
    sys.exit(code)
