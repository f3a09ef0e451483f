"""``commitdb dsm`` (and ``tools/dsm_util.py``): check a model, create a database from it,
and convert it to and from its JSON form (commitdb.dsm.json_form)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from commitdb.cli.common import EXIT_ERROR, CommitDBGroup


@click.group("dsm", cls=CommitDBGroup, context_settings={"help_option_names": ["-h", "--help"]})
def dsm() -> None:
    """Work with DSM models (a .dsm file, or a folder of them)."""


def _parse(ctx: click.Context, path: str) -> tuple[Any, Any]:
    """Parse the model at ``path``; on errors print them (file:line:col: message) and exit 1."""
    from commitdb.dsm.builder import DSMBuilder

    builder = DSMBuilder.assemble(path)
    if not builder.parts():
        click.echo(f"{path}: no .dsm file found", err=True)
        ctx.exit(EXIT_ERROR)
    report, dsm_definitions, definitions = builder.parse()
    if report.has_error():
        for error in report.errors():
            click.echo(str(error))
        count = len(report.errors())
        click.echo(f"{count} error{'' if count == 1 else 's'} in {path}", err=True)
        ctx.exit(EXIT_ERROR)
    return dsm_definitions, definitions


@dsm.command("check")
@click.argument("path", type=click.Path(exists=True))
@click.pass_context
def check(ctx: click.Context, path: str) -> None:
    """Check the model PATH; print every error as file:line:col: message."""
    _, definitions = _parse(ctx, path)
    click.echo(f"OK {path}: {len(definitions.types())} types, {len(definitions.attachments())} attachments, "
               f"definitions {definitions.hexdigest()}")


@dsm.command("create_commit_database")
@click.option("--force", is_flag=True, help="replace OUT if it exists")
@click.option("--documentation", default=None, help="the database's documentation text")
@click.argument("model", type=click.Path(exists=True))
@click.argument("out")
@click.pass_context
def create_commit_database(ctx: click.Context, force: bool, documentation: str | None, model: str, out: str) -> None:
    """Create the database OUT holding MODEL's definitions and no commits."""
    from commitdb import admin

    _, definitions = _parse(ctx, model)
    db = admin.create_commit_database(out, definitions, documentation, force)
    try:
        click.echo(f"created {out}: {len(definitions.types())} types, {len(definitions.attachments())} attachments, "
                   f"definitions {db.definitions_hexdigest()}")
    finally:
        db.close()


@dsm.command("encode")
@click.argument("model", type=click.Path(exists=True))
@click.argument("out")
@click.pass_context
def encode(ctx: click.Context, model: str, out: str) -> None:
    """Write the JSON form of MODEL to OUT (e.g. model.dsm.json)."""
    from commitdb.dsm.json_form import to_json_form

    dsm_definitions, definitions = _parse(ctx, model)
    Path(out).write_text(json.dumps(to_json_form(dsm_definitions), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    click.echo(f"wrote {out} (definitions {definitions.hexdigest()})")


@dsm.command("decode")
@click.argument("source", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.argument("out")
def decode(source: str, out: str) -> None:
    """Write the DSM text of the JSON form IN to OUT (e.g. model.dsm)."""
    from commitdb.dsm.json_form import from_json_form
    from commitdb.errors import DSMError

    try:
        obj = json.loads(Path(source).read_text(encoding="utf-8"))
    except ValueError as e:
        raise DSMError(f"{source} is not JSON: {e}") from e
    dsm_definitions = from_json_form(obj, source)
    Path(out).write_text(dsm_definitions.to_dsm(), encoding="utf-8")
    click.echo(f"wrote {out} (definitions {dsm_definitions.definitions().hexdigest()})")
