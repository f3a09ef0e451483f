"""The three documented tools as console scripts (``commit-database-server``,
``commit-admin``, ``dsm-util``); ``tools/*.py`` in a checkout run the same functions."""

from __future__ import annotations

import sys

import click

from commitdb import __version__
from commitdb.cli.admin_commands import admin
from commitdb.cli.dsm_commands import dsm
from commitdb.cli.serve_commands import serve


def _run(command: click.Command, prog_name: str, argv: list[str] | None) -> None:
    """Run ``command`` as the program ``prog_name`` (with ``--version``); exits with its code."""
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--version"]:
        click.echo(f"{prog_name} (commitdb) {__version__}")
        raise SystemExit(0)
    command.main(args=argv, prog_name=prog_name)


def server_main(argv: list[str] | None = None, prog_name: str = "commit-database-server") -> None:
    """``commit-database-server [-v...] [--host H] [--port P] [--socket-path S] [--token-file F]
    [--tls-cert C] [limits...] DATABASE``."""
    _run(serve, prog_name, argv)


def admin_main(argv: list[str] | None = None, prog_name: str = "commit-admin") -> None:
    """``commit-admin [-v] (--database PATH | --host H [--port P] | --socket-path S) CMD``."""
    _run(admin, prog_name, argv)


def dsm_util_main(argv: list[str] | None = None, prog_name: str = "dsm-util") -> None:
    """``dsm-util CMD``: check, create_commit_database, encode, decode."""
    _run(dsm, prog_name, argv)
