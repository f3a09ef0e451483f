"""Running a server as a process: logging, the audit log, signals, graceful shutdown (SPEC §10).

``commitdb serve``, ``commit-database-server`` and ``tools/commit_database_server.py`` are one
click command (``commitdb.cli.serve_commands``): it builds its limit options from
``net.limits.LIMIT_FLAGS`` and calls ``serve``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from commitdb.errors import CommitDBError, ListenError, ValidationError
from commitdb.net.limits import Limits
from commitdb.net.server import CommitDatabaseServer, DatabaseService

GRACEFUL = "The server finished gracefully."
SHUTDOWN_GRACE = 5.0

def default_host(socket_path: str | None, tokens: Any) -> str | None:
    """Where a server listens when no --host is given: nowhere on TCP when it has a unix
    socket; on every interface when it requires tokens; else on loopback only."""
    if socket_path is not None:
        return None
    return "0.0.0.0" if tokens is not None else "127.0.0.1"


def log_level(verbosity: int) -> int:
    """Quiet by default; -v errors, -vv info (connections and requests), -vvv debug."""
    if verbosity <= 0:
        return logging.CRITICAL + 1
    return {1: logging.ERROR, 2: logging.INFO}.get(verbosity, logging.DEBUG)


def serve(database: str, host: str | None = None, port: int | None = None, socket_path: str | None = None,
          verbosity: int = 0, out: TextIO = sys.stdout, err: TextIO = sys.stderr, synchronous: str = "FULL",
          tokens: Any = None, tls: Any = None, insecure: bool = False, limits: Limits | None = None,
          viper_clients: str | None = None,
          on_listening: Callable[[list[str]], None] | None = None) -> int:
    """Serve ``database`` until SIGINT/SIGTERM; returns the process exit code (0: graceful
    stop, 1: clients were still running after the grace period).

    ``tokens``: a ``net.security.TokenTable`` every client must prove a token of (None: no
    authentication, and then only loopback addresses and unix sockets unless ``insecure``);
    ``tls``: an ``ssl.SSLContext`` for the TCP listener; ``limits``: see ``net.limits``.
    ``viper_clients`` says where clients of the reference protocol are served (off, local, any;
    default: local, or off with tokens). Without ``host`` and ``socket_path`` the server
    listens on 127.0.0.1 (0.0.0.0 with tokens).

    What prevents the start is raised, nothing is half-started: the error of opening the
    database, of the same class, its message starting ``cannot serve 'PATH'``;
    ValidationError for an address that may not be served without tokens; ListenError when
    the address cannot be listened on. Once the server listens, one line on ``out`` says
    where, with what security and its choice for reference clients, and
    ``on_listening(addresses)`` is called with each address as text (``host:port`` with the
    real port, or the socket path)."""
    logging.basicConfig(level=log_level(verbosity), stream=err,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _log_destructive_operations(err)
    if host is None and socket_path is None:
        host = default_host(socket_path, tokens)
    try:
        service = DatabaseService.open_file(database, synchronous)
    except CommitDBError as e:
        from commitdb.storage.urls import redacted_url

        raise type(e)(f"cannot serve {redacted_url(database)!r}: {e}") from e
    options: dict[str, Any] = {"tokens": tokens, "tls": tls, "insecure": insecure, "limits": limits,
                               "viper_clients": viper_clients}
    return asyncio.run(_run(service, host, port, socket_path, out, options, on_listening))


def _log_destructive_operations(err: TextIO) -> None:
    """Destructive operations are always logged (who, what, when), whatever the verbosity."""
    audit = logging.getLogger("commitdb.audit")
    audit.setLevel(logging.WARNING)
    if not any(getattr(h, "commitdb_audit", False) for h in audit.handlers):
        handler = logging.StreamHandler(err)
        handler.setFormatter(logging.Formatter("%(asctime)s AUDIT %(message)s"))
        handler.commitdb_audit = True  # type: ignore[attr-defined]
        audit.addHandler(handler)
        audit.propagate = False


async def _run(service: DatabaseService, host: str | None, port: int | None, socket_path: str | None,
               out: TextIO, options: dict[str, Any],
               on_listening: Callable[[list[str]], None] | None = None) -> int:
    try:
        server = CommitDatabaseServer(service, host=host, port=port, socket_path=socket_path, **options)
        await server.start()
    except ValidationError:  # an address that may not be served without tokens
        service.close()
        raise
    except (OSError, OverflowError, CommitDBError) as e:
        service.close()
        raise ListenError(f"cannot listen: {e}") from e
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    print(server.describe(), file=out, flush=True)
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
