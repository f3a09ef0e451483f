"""Commands on databases: verify, log, show, export (a file, or one a server serves), import,
flatten (files)."""

from __future__ import annotations

from typing import Any

import click

from commitdb.cli.common import (
    COMMIT_REFERENCE,
    EXIT_INTEGRITY,
    Progress,
    describe_source,
    iso_date,
    open_database,
    server_options,
)

ZERO = "0" * 40


class DatabaseLocation(click.ParamType):
    """An existing ``.cdb`` file, or a ``postgresql://`` URL (checked when it is opened)."""

    name = "database"
    _file = click.Path(exists=True, dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from commitdb.storage.urls import is_postgres_url

        return value if is_postgres_url(value) else self._file.convert(value, param, ctx)


DATABASE_FILE = DatabaseLocation()


def _open(ctx: click.Context, path: str) -> Any:
    """Open a database file read-only (closed when the command ends)."""
    from commitdb.database import CommitDatabase

    db = CommitDatabase.open(path, readonly=True)
    ctx.call_on_close(db.close)
    return db


def _path_then(ctx: click.Context, values: tuple[str, ...], last: str) -> tuple[str | None, str]:
    """Split the arguments ``[PATH] LAST`` (PATH is left out when a server is named)."""
    if len(values) not in (1, 2):
        raise click.UsageError(f"expected [PATH] {last}, got {len(values)} argument(s)", ctx)
    if len(values) == 1:
        return None, values[0]
    return DATABASE_FILE.convert(values[0], None, ctx), values[1]


def _short(commit_id: Any, full: bool = False) -> str:
    text = str(commit_id)
    return text if full else text[:12]


@click.command("verify")
@click.argument("path", type=DATABASE_FILE, required=False)
@server_options
@click.pass_context
def verify(ctx: click.Context, path: str | None, host: str | None, port: int, socket_path: str | None,
           timeout: float) -> None:
    """Check everything the database file PATH stores, or the commits and blobs of the database
    a server serves (exit 4 on any fault): SQLite's page check, every commit id, program, label,
    timestamp and blob, and every row of the read index against recomputation."""
    from commitdb.admin import verify as verify_database
    from commitdb.admin import verify_through

    if path is not None and host is None and socket_path is None:
        with Progress() as progress:
            report = verify_database(path, progress)
    else:
        db = open_database(ctx, path, host, port, socket_path, timeout)
        with Progress() as progress:
            report = verify_through(db, describe_source(path, host, port, socket_path), progress)
        path = report.path
    click.echo(f"verify {path}")
    click.echo(f"  commits: {report.commits} ({report.heads} head{'' if report.heads == 1 else 's'})")
    click.echo(f"  blobs: {report.blobs} ({report.referenced_blobs} referenced by commits)")
    click.echo(f"  definitions: {report.definitions_hexdigest or '?'}")
    for fault in report.faults:
        click.echo(f"FAULT {fault} [{getattr(fault, 'kind', 'fault')}]")
    if report.checked:
        click.echo(f"  also checked: {', '.join(report.checked)}")
    elif host is not None or socket_path is not None:
        why = report.not_checked or "the server does not offer the checks of its file"
        click.echo(f"  not checked through this server: {why} ('commitdb verify FILE' where the file is)")
    if report.ok:
        click.echo("OK: no fault found")
        return
    count = len(report.faults)
    click.echo(f"{count} fault{'' if count == 1 else 's'} found")
    ctx.exit(EXIT_INTEGRITY)


@click.command("log")
@click.argument("path", type=DATABASE_FILE, required=False)
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="show at most N commits")
@click.option("--full-ids", is_flag=True, help="print whole commit ids")
@server_options
@click.pass_context
def log(ctx: click.Context, path: str | None, limit: int | None, full_ids: bool, host: str | None, port: int,
        socket_path: str | None, timeout: float) -> None:
    """The commits of PATH (or of the database a server serves) newest first: a '*' marks a
    head; then id, date (UTC), type, parent (and target), label."""
    from commitdb.admin import history

    db = open_database(ctx, path, host, port, socket_path, timeout)
    heads = {str(h) for h in db.head_commit_ids()}
    headers = history(db)
    if not headers:
        click.echo("(no commits)")
        return
    width = 40 if full_ids else 12
    for h in headers[:limit]:
        cid = str(h.commit_id())
        parent = str(h.parent_commit_id())
        links = f"parent {_short(parent, full_ids)}" if parent != ZERO else "root".ljust(width + 7)
        if h.commit_type() != "Mutations":
            links += f"  target {_short(h.target_commit_id(), full_ids)}"
        else:
            links += " " * (width + 9)
        mark = "*" if cid in heads else " "
        click.echo(f"{mark} {_short(cid, full_ids)}  {iso_date(h.timestamp())}  {h.commit_type():<9}  {links}  "
                   f"{h.label()}")


@click.command("show")
@click.argument("arguments", metavar="[PATH] COMMIT", nargs=-1, required=True)
@server_options
@click.pass_context
def show(ctx: click.Context, arguments: tuple[str, ...], host: str | None, port: int, socket_path: str | None,
         timeout: float) -> None:
    """The header and the opcodes of COMMIT (a 40-hex id, a unique prefix, or 'last') of the
    database file PATH, or of the database a server serves; for a merge, what it dropped or overrode."""
    from commitdb.admin import attachment_names, resolve_commit_id

    path, commit = _path_then(ctx, arguments, "COMMIT")
    commit = COMMIT_REFERENCE.convert(commit, None, ctx)
    db = open_database(ctx, path, host, port, socket_path, timeout)
    commit_id = resolve_commit_id(db, commit)
    c = db.commit(commit_id)
    h = c.header()
    click.echo(f"commit     {h.commit_id()}")
    click.echo(f"type       {h.commit_type()}")
    parent = str(h.parent_commit_id())
    click.echo(f"parent     {parent if parent != ZERO else '(none: a root)'}")
    if h.commit_type() != "Mutations":
        click.echo(f"target     {h.target_commit_id()}")
    click.echo(f"label      {h.label()}")
    click.echo(f"date       {iso_date(h.timestamp())} ({h.timestamp()})")
    if h.commit_type() == "Merge":
        from commitdb.cli.merge_report_output import echo_merge_report

        echo_merge_report(db, commit_id)
    program = c.program()
    if program is None:
        return
    opcodes = program.all_opcodes()
    click.echo(f"opcodes    {len(opcodes)}")
    names = attachment_names(db.definitions())
    for op in opcodes:
        click.echo("  " + _opcode_line(op, names))


def _opcode_line(op: Any, names: dict[bytes, str]) -> str:
    key = op.key()
    rid = key.attachment_runtime_id()
    attachment = names.get(rid.bytes_value(), f"attachment {rid}")
    parts = [f"{op.type():<15}", attachment, str(key.instance_id())]
    if hasattr(op, "path"):  # each opcode kind has only its own accessors (SPEC §14.4)
        parts.append(str(op.path()))
    if hasattr(op, "before_position"):
        parts.append(f"before={op.before_position()}")
    if hasattr(op, "position"):
        parts.append(f"position={op.position()}")
    if hasattr(op, "value"):
        parts.append(repr(op.value()))
    return " ".join(parts)


@click.command("export")
@click.argument("arguments", metavar="[PATH] OUTDIR", nargs=-1, required=True)
@click.option("--commit-id", "commit", type=COMMIT_REFERENCE, default="last", show_default=True,
              help="the commit to export: a 40-hex id, a unique prefix, or 'last'")
@click.option("--all-blobs", is_flag=True, help="export every blob, not only those the documents reference")
@server_options
@click.pass_context
def export(ctx: click.Context, arguments: tuple[str, ...], commit: str, all_blobs: bool, host: str | None,
           port: int, socket_path: str | None, timeout: float) -> None:
    """Write the documents at one commit of PATH (or of the database a server serves) to the
    new directory OUTDIR (manifest.json, definitions, documents/*.json, blobs/*)."""
    from commitdb.admin import export_state, resolve_commit_id

    path, outdir = _path_then(ctx, arguments, "OUTDIR")
    db = open_database(ctx, path, host, port, socket_path, timeout)
    with Progress() as progress:
        summary = export_state(db, resolve_commit_id(db, commit), outdir, all_blobs, progress)
    click.echo(f"exported {summary.commit_id} to {outdir}: {summary.documents} document(s) in "
               f"{summary.attachments} attachment(s), {summary.blobs} blob(s)")


@click.command("import")
@click.argument("outdir", type=click.Path(exists=True, file_okay=False))
@click.argument("newdb")
@click.option("--label", default=None, help="the label of the commit (default 'Import of <id>')")
def import_(outdir: str, newdb: str, label: str | None) -> None:
    """Create the database NEWDB from an export: its definitions, blobs and one commit
    setting every document (read back and compared with the export)."""
    from commitdb.admin import import_state

    with Progress() as progress:
        summary = import_state(outdir, newdb, label, progress.stage("documents"))
    click.echo(f"imported {outdir} into {newdb}: commit {summary.commit_id}, {summary.documents} document(s), "
               f"{summary.blobs} blob(s)")


@click.command("flatten")
@click.argument("source", metavar="SRC", type=DATABASE_FILE)
@click.argument("commit", type=COMMIT_REFERENCE)
@click.argument("target", metavar="DST")
@click.option("--label", default="Flatten", show_default=True, help="the label of the single commit")
@click.pass_context
def flatten(ctx: click.Context, source: str, commit: str, target: str, label: str) -> None:
    """Write the state at COMMIT (a 40-hex id, a unique prefix, or 'last') of SRC as the single
    root commit of the new database DST, with only the blobs it references."""
    from commitdb.admin import remove_database_file, resolve_commit_id
    from commitdb.database import CommitDatabase
    from commitdb.flatten import CommitDatabaseFlattener

    src = _open(ctx, source)
    commit_id = resolve_commit_id(src, commit)
    dst = CommitDatabase.create(target, src.documentation())
    try:
        with Progress() as progress:
            new_id = CommitDatabaseFlattener().flatten(src, commit_id, dst, label, progress.stage("documents"))
        blobs = len(dst.blob_ids())
    except BaseException:
        dst.close()
        remove_database_file(target)
        raise
    dst.close()
    click.echo(f"flattened {source} at {commit_id} into {target}: commit {new_id}, {blobs} blob(s)")


@click.command("repair")
@click.argument("path", type=DATABASE_FILE)
@click.pass_context
def repair(ctx: click.Context, path: str) -> None:
    """Rebuild the read index of the database file PATH (commitdb's derived tables) from its
    commits; the commits, blobs and metadata are only read. Run 'commitdb verify PATH' after."""
    from commitdb.read_index_check import repair as repair_database

    with Progress() as progress:
        report = repair_database(path, lambda done, total: progress("indexing commits", done, total))
    click.echo(f"repair {path}: rebuilt the read index of {report.commits} commit(s), "
               f"{report.documents} document(s); dropped {report.snapshots_dropped} snapshot(s)")
    if report.remaining:
        for problem in report.remaining:
            click.echo(f"FAULT file pages: {problem} [sqlite]")
        click.echo("the commits, blobs or metadata are damaged: repair does not rewrite them; "
                   f"'commitdb verify {path}' names what is damaged")
        ctx.exit(EXIT_INTEGRITY)
