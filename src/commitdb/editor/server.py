"""Opening the edited database and running the web server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from commitdb.database import CommitDatabase
from commitdb.errors import IncompatibleDatabaseError, ValidationError

EDITOR_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8642


def open_database(path: str | None, host: str | None = None, port: int | str = 54321,
                  socket_path: str | None = None, token: str | None = None, tls: bool = False,
                  tls_ca: str | None = None) -> tuple[CommitDatabase, str, Callable[[], CommitDatabase]]:
    """The database to edit, the page title, and how to open a second connection to it.
    Exactly one of ``path``, ``host`` or ``socket_path``; a missing file or a file that is not
    a commit database is an error naming it (the editor never creates a file). ``token``,
    ``tls`` and ``tls_ca`` are shown to a server that asks for them."""
    given = [x for x in (path, host, socket_path) if x]
    if len(given) != 1:
        raise ValidationError("give one DATABASE file, or --host/--port, or --socket-path")
    if host:
        def connect() -> CommitDatabase:
            return CommitDatabase.connect(host, port, token=token, tls=tls or None, tls_ca=tls_ca)

        return connect(), f"{host}:{port}", connect
    if socket_path:
        def connect_local() -> CommitDatabase:
            return CommitDatabase.connect_local(socket_path, token=token)

        return connect_local(), socket_path, connect_local
    assert path is not None
    if not os.path.exists(path):
        raise IncompatibleDatabaseError(f"No such file {path!r}")
    if not CommitDatabase.is_compatible(path):
        raise IncompatibleDatabaseError(f"{path!r} is not a commit database")
    return CommitDatabase.open(path), os.path.basename(path), lambda: CommitDatabase.open(path, readonly=True)


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((EDITOR_HOST, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def make_server(db: CommitDatabase, title: str, reopen: Callable[[], CommitDatabase] | None = None) -> Any:
    """A uvicorn server for the editor of ``db`` (not started: ``run(sockets=[...])``)."""
    import uvicorn

    from commitdb.editor.app import create_app
    from commitdb.editor.session import EditorSession

    app = create_app(EditorSession(db, title, reopen))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2,
                            ws="none")
    return uvicorn.Server(config)


def run_editor(db: CommitDatabase, title: str, port: int = DEFAULT_HTTP_PORT,
               announce: Callable[[str], None] = print, reopen: Callable[[], CommitDatabase] | None = None) -> None:
    """Serve the editor of ``db`` until interrupted; closes ``db`` at the end."""
    sock = bind(port)
    url = f"http://{EDITOR_HOST}:{sock.getsockname()[1]}/"
    try:
        server = make_server(db, title, reopen)
        announce(f"commitdb editor on {title}: open {url}  (Ctrl+C stops it)")
        server.run(sockets=[sock])
    finally:
        sock.close()
        db.close()


def launch(database: str | None, host: str | None, port: int | str, socket_path: str | None, http_port: int,
           announce: Callable[[str], None] = print, token: str | None = None, tls: bool = False,
           tls_ca: str | None = None) -> None:
    """Open what the command line named and serve its editor (ImportError names the extra)."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ImportError("the editor needs its web stack: pip install 'commitdb[editor]'") from None
    db, title, reopen = open_database(database, host, port, socket_path, token, tls, tls_ca)
    run_editor(db, title, http_port, announce, reopen)
