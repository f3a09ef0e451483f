"""``commitdb editor``: serve the browser editor of a database on 127.0.0.1."""

from __future__ import annotations

import sys

import click


@click.command("editor")
@click.option("--host", default=None, help="edit the database a server serves on this host")
@click.option("--port", default="54321", show_default=True, help="that server's TCP port")
@click.option("--socket-path", default=None, help="edit the database a server serves on this unix socket")
@click.option("--http-port", type=int, default=8642, show_default=True,
              help="the editor page's port on 127.0.0.1 (0: any free port)")
@click.option("--token-file", default=None, metavar="FILE",
              help="the token to show a server that requires one (default: $COMMITDB_TOKEN)")
@click.option("--tls", is_flag=True, help="connect to the server with TLS")
@click.option("--tls-ca", default=None, metavar="PEM", help="trust these authorities for TLS instead of the system's")
@click.argument("database", required=False)
def editor(host: str | None, port: str, socket_path: str | None, http_port: int, token_file: str | None, tls: bool,
           tls_ca: str | None, database: str | None) -> None:
    """Browse, edit, time-travel and sync DATABASE (a .cdb file) in the browser."""
    from commitdb.editor.server import launch
    from commitdb.net.security import token_from_environment

    try:
        token = token_from_environment(token_file=token_file)
        launch(database, host, port, socket_path, http_port, click.echo, token, tls, tls_ca)
    except (ImportError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
