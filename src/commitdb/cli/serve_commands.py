"""``commitdb serve`` (also ``commit-database-server`` and ``tools/commit_database_server.py``)
and ``commitdb run-example``: a server in the foreground until Ctrl+C or SIGTERM."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import click

from commitdb.cli.common import DEFAULT_PORT, SERVER_PORT, CommitDBCommand
from commitdb.errors import CommitDBError

EXAMPLE_MODEL = "tuto.dsm"


def example_model_text() -> str:
    """The DSM text of the Tuto model, shipped inside the package."""
    return resources.files("commitdb").joinpath("example_models", EXAMPLE_MODEL).read_text(encoding="utf-8")


def _load_tokens(ctx: click.Context, param: click.Parameter, path: str | None) -> Any:
    """The TokenTable of ``--token-file`` (a usage error naming the line when it is wrong)."""
    if path is None:
        return None
    from commitdb.net.security import TokenTable

    try:
        return TokenTable.load(path)
    except (CommitDBError, OSError) as e:
        raise click.BadParameter(str(e), ctx, param) from e


def limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One option per server limit (``net.limits.LIMIT_FLAGS``), each receiving its Limits
    field name, its default shown in ``--help``."""
    from commitdb.net.limits import LIMIT_FLAGS, limit_flag_default

    kinds = {"count": click.IntRange(min=1), "seconds": click.FloatRange(min=0.0, min_open=True),
             "seconds_or_off": click.FloatRange(min=0.0)}
    for flag, field, kind, unit, what in reversed(LIMIT_FLAGS):
        metavar = "MIB" if unit > 1 else "N" if kind == "count" else "SECONDS"
        off = "; 0: off" if kind == "seconds_or_off" else ""
        default = limit_flag_default(field, kind, unit)
        shown = str(default) if kind == "count" else f"{default:g}"
        command = click.option(flag, field, type=kinds[kind], metavar=metavar, default=default,
                               help=f"limit: {what} (default {shown}{off})")(command)
    return command


@click.command("serve", cls=CommitDBCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "verbosity", count=True, help="more output: -v errors, -vv info, -vvv debug")
@click.option("--host", default=None,
              help="TCP address to listen on (default 127.0.0.1, or 0.0.0.0 with --token-file; none with only "
                   "--socket-path)")
@click.option("--port", type=SERVER_PORT, default=DEFAULT_PORT, show_default=True,
              help="TCP port (0: any free port)")
@click.option("--socket-path", metavar="PATH", default=None,
              help="also (or only) listen on this unix socket (mode 600)")
@click.option("--token-file", "tokens", metavar="FILE", default=None, callback=_load_tokens,
              help="tokens clients must prove: one 'role token [name]' per line, role read, write or admin")
@click.option("--insecure", is_flag=True,
              help="allow a --host other than loopback without --token-file (anyone reaching it may read, write "
                   "and reset)")
@click.option("--tls-cert", metavar="PEM", default=None, help="certificate (chain): serve TCP over TLS")
@click.option("--tls-key", metavar="PEM", default=None, help="private key of --tls-cert (if not in it)")
@limit_options
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True,
              help="FULL: each commit survives power loss when acknowledged; NORMAL: a server crash only")
@click.option("--viper-clients", type=click.Choice(["off", "local", "any"]), default=None,
              help="where clients of the reference protocol are served: off, local (unix socket and loopback; "
                   "the default without --token-file) or any; that protocol carries no credentials, so with "
                   "--token-file the default is off")
@click.argument("database")
def serve(verbosity: int, host: str | None, port: int, socket_path: str | None, tokens: Any, insecure: bool,
          tls_cert: str | None, tls_key: str | None, synchronous: str, viper_clients: str | None, database: str,
          **limit_values: Any) -> None:
    """Serve DATABASE (a .cdb file or a postgresql:// URL) to many clients until Ctrl+C or SIGTERM.

    With --token-file every connection proves a token (roles read, write, admin); without one
    the server listens only on loopback addresses and unix sockets unless --insecure.
    --tls-cert/--tls-key encrypt the TCP listener. One line at start says where the server
    listens and with what security; destructive operations (reset, remove, definition
    changes) are logged with the token's name whatever the verbosity. Every limit is an option
    (0 switches a timeout off).
    """
    from commitdb.net.limits import limits_from
    from commitdb.net.security import check_exposure, server_tls_context
    from commitdb.net.serve import default_host, exit_process
    from commitdb.net.serve import serve as serve_database

    tls = None
    if tls_key is not None and tls_cert is None:
        raise click.UsageError("--tls-key needs --tls-cert")
    if tls_cert is not None:
        try:
            tls = server_tls_context(tls_cert, tls_key)
        except OSError as e:  # ssl.SSLError too: a file missing, not PEM, a key that does not match
            raise click.BadParameter(str(e), param_hint="'--tls-cert'/'--tls-key'") from e
    if host is None:
        host = default_host(socket_path, tokens)
    try:
        check_exposure(host, tokens, insecure)
    except CommitDBError as e:
        raise click.UsageError(str(e)) from e
    exit_process(serve_database(database, host=host, port=port, socket_path=socket_path, verbosity=verbosity,
                                synchronous=synchronous, tokens=tokens, tls=tls, insecure=insecure,
                                limits=limits_from(limit_values), viper_clients=viper_clients))


@click.command("run-example", cls=CommitDBCommand)
@click.option("--database", default="example.cdb", show_default=True, help="the example database file")
@click.option("--host", default="127.0.0.1", show_default=True, help="TCP address to listen on")
@click.option("--port", type=SERVER_PORT, default=DEFAULT_PORT, show_default=True,
              help="TCP port (0: any free port)")
@click.option("-v", "verbosity", count=True, help="server verbosity (-v errors, -vv info)")
def run_example(database: str, host: str, port: int, verbosity: int) -> None:
    """Create an example database (the Tuto model and a short history) if DATABASE is
    missing, and serve it until Ctrl+C."""
    from commitdb.examples_db import ensure_example_database
    from commitdb.net.serve import exit_process, serve

    created = ensure_example_database(database, example_model_text())
    click.echo(f"{'created' if created else 'using'} {database} (the Tuto model, a few commits)")

    def listening(addresses: list[str]) -> None:
        actual = addresses[0].rsplit(":", 1)[1]
        click.echo(f"serving on {addresses[0]} - connect with:")
        click.echo(f"    from commitdb import CommitDatabase; db = CommitDatabase.connect({host!r}, {actual!r})")
        click.echo("Ctrl+C stops the server.")

    exit_process(serve(database, host=host, port=port, verbosity=verbosity, on_listening=listening))
