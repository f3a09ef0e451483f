"""``commitdb serve`` (also ``commit-database-server`` and ``tools/commit_database_server.py``)
and ``commitdb run-example``: a server in the foreground until Ctrl+C or SIGTERM."""

from __future__ import annotations

from importlib import resources

import click

from commitdb.cli.common import DEFAULT_PORT, SERVER_PORT, CommitDBCommand

EXAMPLE_MODEL = "tuto.dsm"


def example_model_text() -> str:
    """The DSM text of the Tuto model, shipped inside the package."""
    return resources.files("commitdb").joinpath("example_models", EXAMPLE_MODEL).read_text(encoding="utf-8")


@click.command("serve", cls=CommitDBCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "verbosity", count=True, help="more output: -v errors, -vv info, -vvv debug")
@click.option("--host", default=None, help="TCP address to listen on (default 0.0.0.0 unless only --socket-path)")
@click.option("--port", type=SERVER_PORT, default=DEFAULT_PORT, show_default=True,
              help="TCP port (0: any free port)")
@click.option("--socket-path", metavar="PATH", default=None, help="also (or only) listen on this unix socket")
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True,
              help="FULL: each commit survives power loss when acknowledged; NORMAL: a server crash only")
@click.option("--viper-clients", type=click.Choice(["off", "local", "any"]), default="local", show_default=True,
              help="where clients of the reference protocol are served (local: unix socket and loopback; "
                   "that protocol carries no credentials)")
@click.argument("database")
def serve(verbosity: int, host: str | None, port: int, socket_path: str | None, synchronous: str,
          viper_clients: str, database: str) -> None:
    """Serve DATABASE (a .cdb file) to many clients until Ctrl+C or SIGTERM."""
    from commitdb.net.serve import exit_process
    from commitdb.net.serve import serve as serve_database

    if host is None and socket_path is None:
        host = "0.0.0.0"
    exit_process(serve_database(database, host=host, port=port, socket_path=socket_path, verbosity=verbosity,
                                synchronous=synchronous, viper_clients=viper_clients))


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
