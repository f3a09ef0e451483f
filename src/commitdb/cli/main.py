"""Entry point of the ``commitdb`` command."""

from __future__ import annotations

import sys

import click

from commitdb import __version__
from commitdb.cli.admin_commands import admin
from commitdb.cli.common import EXIT_CODES, CommitDBGroup, exit_code_for
from commitdb.cli.db_commands import export, flatten, import_, log, repair, show, verify
from commitdb.cli.dsm_commands import dsm
from commitdb.cli.editor_command import editor
from commitdb.cli.serve_commands import run_example, serve
from commitdb.errors import CommitDBError

__all__ = ["EXIT_CODES", "cli", "exit_code_for", "main"]


@click.group(cls=CommitDBGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="commitdb", message="%(prog)s %(version)s")
def cli() -> None:
    """commitdb: a pure-Python commit database.

    Exit codes: 0 success, 1 error, 2 usage error, 3 server unreachable, 4 integrity fault,
    5 database busy, 6 not a database, 7 already exists, 8 cannot listen.
    """


for _command in (admin, dsm, verify, repair, log, show, export, import_, flatten, serve, run_example, editor):
    cli.add_command(_command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except CommitDBError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_code_for(error))
