"""Entry point of the ``commitdb`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commitdb.cli.admin_commands import admin
from commitdb.cli.common import EXIT_CODES, CommitDBGroup, exit_code_for
from commitdb.cli.db_commands import export, flatten, import_, log, show, verify
from commitdb.cli.dsm_commands import dsm
from commitdb.errors import CommitDBError

__all__ = ["EXIT_CODES", "cli", "exit_code_for", "main"]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@click.group(cls=CommitDBGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """commitdb: a pure-Python commit database."""


for _command in (admin, dsm, verify, log, show, export, import_, flatten):
    cli.add_command(_command)


@cli.command("serve")
@click.option("-v", "verbosity", count=True, help="more output: -v errors, -vv info, -vvv debug")
@click.option("--host", default=None, help="TCP address to listen on (default 0.0.0.0)")
@click.option("--port", type=int, default=54321, show_default=True, help="TCP port")
@click.option("--socket-path", default=None, help="also (or only) listen on this unix socket")
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True,
              help="FULL: each commit survives power loss when acknowledged; NORMAL: a server crash only")
@click.option("--viper-clients", type=click.Choice(["off", "local", "any"]), default="local", show_default=True,
              help="where clients of the reference protocol are served (local: unix socket and loopback)")
@click.argument("database")
def serve_command(verbosity: int, host: str | None, port: int, socket_path: str | None, synchronous: str,
                  viper_clients: str, database: str) -> None:
    """Serve DATABASE (a .cdb file) to many clients."""
    from commitdb.net.serve import exit_process, serve

    if host is None and socket_path is None:
        host = "0.0.0.0"
    exit_process(serve(database, host=host, port=port, socket_path=socket_path, verbosity=verbosity,
                       synchronous=synchronous, viper_clients=viper_clients))


@cli.command("run-example")
@click.option("--database", default="example.cdb", show_default=True, help="the example database file")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=54321, show_default=True)
@click.option("-v", "verbosity", count=True, help="server verbosity (-v errors, -vv info)")
def run_example(database: str, host: str, port: int, verbosity: int) -> None:
    """Create an example database from examples/tuto.dsm (if missing) and serve it."""
    from commitdb.examples_db import ensure_example_database
    from commitdb.net.serve import serve

    created = ensure_example_database(database, EXAMPLES / "tuto.dsm")
    click.echo(f"{'created' if created else 'using'} {database} (the Tuto model, a few commits)")
    click.echo(f"serving on {host}:{port} - connect with:")
    click.echo(f"    from commitdb import CommitDatabase; db = CommitDatabase.connect({host!r}, {str(port)!r})")
    click.echo("Ctrl+C stops the server.")
    sys.exit(serve(database, host=host, port=port, verbosity=verbosity))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except CommitDBError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_code_for(error))
