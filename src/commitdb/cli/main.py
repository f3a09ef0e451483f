"""Entry point of the ``commitdb`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commitdb.errors import CommitDBError

# One table from error class to exit code; the most specific class wins.
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (CommitDBError, 1),
]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def exit_code_for(error: BaseException) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 1


@click.group()
def cli() -> None:
    """commitdb: a pure-Python commit database."""


@cli.command("run-example")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="DSM model to show (default: examples/tuto.dsm).")
def run_example(model: Path | None) -> None:
    """Parse the example model and print its definitions."""
    from commitdb.dsm import DSMBuilder

    path = model or EXAMPLES / "tuto.dsm"
    builder = DSMBuilder.assemble(str(path))
    report, _, definitions = builder.parse()
    if report.has_error():
        click.echo(str(report), err=True)
        sys.exit(1)
    click.echo(f"{path.name}: {len(definitions.types())} types, {len(definitions.attachments())} attachments, "
               f"hexdigest {definitions.hexdigest()}")
    for t in definitions.types():
        click.echo(f"  type {t}  ({t.runtime_id()})")
    for a in definitions.attachments():
        click.echo(f"  {a}  ({a.runtime_id()})")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except CommitDBError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_code_for(error))
