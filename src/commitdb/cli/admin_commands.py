"""``commitdb admin`` (also ``commit-admin`` and ``tools/commit_admin.py``): reset, delete,
reduce_heads, sync, stats.

    commit_admin.py [-v] (--database PATH | --host HOST [--port 54321] | --socket-path P)
                    [--protocol commitdb|viper] [--timeout 60] [--token-file F] [--tls] [--tls-ca PEM] CMD
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click

from commitdb.cli.common import (
    CLIENT_PORT,
    COMMIT_REFERENCE,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    EXIT_ERROR,
    TIMEOUT,
    CommitDBGroup,
    Progress,
    confirm_destructive,
    connect_source,
    describe_source,
    is_remote,
    run_live_loop,
)

NO_SOURCE = "use option --database, --host or --socket-path to specify the source"


@dataclass
class Source:
    """The database the sub-command works on, as the group's options name it (checked when the
    sub-command opens it, so that ``CMD --help`` needs no source)."""

    verbosity: int
    database: str | None
    host: str | None
    port: int
    socket_path: str | None
    timeout: float
    protocol: str = "commitdb"
    token_file: str | None = None
    tls: bool = False
    tls_ca: str | None = None

    def describe(self) -> str:
        return describe_source(self.database, self.host, self.port, self.socket_path)

    def open(self, ctx: click.Context | None = None) -> Any:
        """Open the source (closed with ``ctx`` when given; a loop closes the ones it opens)."""
        given = [x for x in (self.database, self.host, self.socket_path) if x is not None]
        if not given:
            click.echo(NO_SOURCE, err=True)
            click.get_current_context().exit(EXIT_ERROR)
        if len(given) > 1:
            raise click.UsageError("use only one of --database, --host or --socket-path", ctx)
        db = connect_source(self.database, self.host, self.port, self.socket_path, self.timeout,
                            protocol=self.protocol, token_file=self.token_file, tls=self.tls, tls_ca=self.tls_ca)
        if ctx is not None:
            ctx.call_on_close(db.close)
        if self.verbosity:
            click.echo(f"source: {self.describe()} ({db.documentation()})")
        return db


@click.group("admin", cls=CommitDBGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "verbosity", count=True, help="more output (one line per pass in loop mode)")
@click.option("--database", metavar="PATH", default=None, help="the source: a database file or a postgresql:// URL")
@click.option("--host", default=None, help="the source: a server's host")
@click.option("--port", type=CLIENT_PORT, default=DEFAULT_PORT, show_default=True,
              help="the server's port (with --host)")
@click.option("--socket-path", metavar="P", default=None, help="the source: a server's unix socket")
@click.option("--protocol", type=click.Choice(["commitdb", "viper"]), default="commitdb", show_default=True,
              help="the server's protocol (viper: the reference runtime's server)")
@click.option("--timeout", type=TIMEOUT, default=DEFAULT_TIMEOUT, show_default=True, metavar="SECONDS",
              help="give up (exit 3) when the server does not answer a request within SECONDS")
@click.option("--token-file", metavar="F", default=None,
              help="a file holding the token to prove to the server (default: $COMMITDB_TOKEN)")
@click.option("--tls", is_flag=True, help="connect to --host over TLS (the system's trusted authorities)")
@click.option("--tls-ca", metavar="PEM", default=None, help="connect over TLS trusting these authorities")
@click.pass_context
def admin(ctx: click.Context, verbosity: int, database: str | None, host: str | None, port: int,
          socket_path: str | None, protocol: str, timeout: float, token_file: str | None, tls: bool,
          tls_ca: str | None) -> None:
    """Administer a commit database: a file (--database), or one served over TCP (--host,
    --port) or a unix socket (--socket-path)."""
    ctx.obj = Source(verbosity, database, host, port, socket_path, timeout, protocol, token_file, tls, tls_ca)
    if ctx.invoked_subcommand is None:
        if database is None and host is None and socket_path is None:
            click.echo(NO_SOURCE, err=True)
            ctx.exit(EXIT_ERROR)
        click.echo(ctx.get_help())
        ctx.exit(EXIT_ERROR)


YES_OPTION = click.option("--yes", "-y", is_flag=True,
                          help="confirm a change through a server without being asked (needed without a terminal)")


@admin.command("reset")
@YES_OPTION
@click.pass_context
def reset(ctx: click.Context, yes: bool) -> None:
    """Keep only the first commit (a demo trick: it breaks append-only). Through a server, asks
    first on a terminal, and needs --yes otherwise."""
    db = ctx.obj.open(ctx)
    before = len(db.commit_ids())
    if is_remote(db) and before > 1:
        confirm_destructive(f"reset removes {before - 1} of the {before} commits of {ctx.obj.describe()} "
                            "(only the first is kept)", yes)
    db.reset_commits()
    first = db.first_commit_id()
    if first is None:
        click.echo("reset: the database has no commits")
    else:
        click.echo(f"reset: kept the first commit {first}, removed {before - len(db.commit_ids())} commit(s)")


@admin.command("delete")
@click.argument("commit", type=COMMIT_REFERENCE)
@YES_OPTION
@click.pass_context
def delete(ctx: click.Context, commit: str, yes: bool) -> None:
    """Remove the head COMMIT (a 40-hex id, a unique prefix, or 'last'), a demo tool. Through a
    server, asks first on a terminal, and needs --yes otherwise."""
    from commitdb.admin import resolve_commit_id

    db = ctx.obj.open(ctx)
    commit_id = resolve_commit_id(db, commit)
    if is_remote(db):
        label = db.commit_header(commit_id).label()
        confirm_destructive(f"delete removes the commit {commit_id} ({label!r}) from {ctx.obj.describe()}", yes)
    db.delete_commit(commit_id)
    click.echo(f"delete: removed the head {commit_id}")


@admin.command("reduce_heads")
@click.option("--loop", is_flag=True,
              help="repeat until Ctrl+C: a pass at each change the source reports, reconnecting after a failure")
@click.option("--update-interval", type=click.FloatRange(min=0.0), default=2.0, show_default=True,
              help="seconds between passes in loop mode when no change is reported")
@click.option("--report", is_flag=True, help="print what each merge dropped or overrode")
@click.option("--json", "as_json", is_flag=True, help="the report as one JSON line per pass (implies --report)")
@click.pass_context
def reduce_heads(ctx: click.Context, loop: bool, update_interval: float, report: bool, as_json: bool) -> None:
    """Merge every head into one (CommitDatabaseHelper.reduce_heads)."""
    from commitdb.cli.merge_report_output import echo_reduction
    from commitdb.engine.helpers import CommitDatabaseHelper

    verbose = ctx.obj.verbosity > 0

    def build(db: Any) -> Any:
        def step() -> None:
            heads = len(db.head_commit_ids())
            reports: list = []
            merged = CommitDatabaseHelper.reduce_heads(db, reports=reports if report or as_json else None)
            if as_json:
                if merged is not None or verbose or not loop:
                    echo_reduction(heads, merged, reports, as_json=True)
            elif merged is not None:
                click.echo(f"reduced {heads} heads into {merged}")
                echo_reduction(heads, merged, reports, as_json=False)
            elif verbose or not loop:
                click.echo(f"nothing to reduce ({heads} head{'' if heads == 1 else 's'})")
            sys.stdout.flush()

        return step

    if loop:
        run_live_loop(ctx.obj.open, build, update_interval, first=ctx.obj.open())
    else:
        build(ctx.obj.open(ctx))()


@admin.command("sync")
@click.argument("file", metavar="FILE")
@click.option("--loop", is_flag=True,
              help="repeat until Ctrl+C: a pass at each change the source reports, reconnecting after a failure")
@click.option("--update-interval", type=click.FloatRange(min=0.0), default=5.0, show_default=True,
              help="seconds between passes in loop mode when no change is reported")
@click.option("--blob-data-size", type=click.FloatRange(min=0.000001), default=25.0, show_default=True,
              help="the largest pack of blobs sent at once, in MB")
@click.pass_context
def sync(ctx: click.Context, file: str, loop: bool, update_interval: float, blob_data_size: float) -> None:
    """Synchronise the source and the database file FILE both ways (created with the source's
    documentation when missing)."""
    from commitdb.admin import open_replica
    from commitdb.sync import CommitSynchronizer

    source = ctx.obj.open(None if loop else ctx)
    target, created = open_replica(file, source.documentation())
    ctx.call_on_close(target.close)
    if created:
        click.echo(f"created {file}")
    verbose = ctx.obj.verbosity > 0

    def build(db: Any) -> Any:
        synchronizer = CommitSynchronizer(db, target, "Sync", max(int(blob_data_size * 1_000_000), 1))

        def step() -> None:
            with Progress() as progress:
                info = synchronizer.sync(progress=progress)
            if info.need_transmit() or verbose or not loop:
                click.echo(_sync_line(info))
            sys.stdout.flush()

        return step

    if loop:
        run_live_loop(ctx.obj.open, build, update_interval, first=source)
    else:
        build(source)()


@admin.command("stats")
@click.pass_context
def stats(ctx: click.Context) -> None:
    """What a server has been doing (connections, requests and latencies, commits/s), as JSON."""
    import json

    from commitdb.errors import ValidationError

    if ctx.obj.database is not None:
        raise ValidationError("stats asks a server: use --host or --socket-path")
    db = ctx.obj.open(ctx)
    click.echo(json.dumps(db.commit_databasing().call("stats"), indent=2, sort_keys=True))


def _sync_line(info: Any) -> str:
    def part(word: str, t: Any) -> str:
        return (f"{word} {t.commits()} commit(s) ({t.commit_bytes()} bytes), "
                f"{t.blobs()} blob(s) ({t.blob_bytes()} bytes)")

    extra = "; definitions extended" if info.updated_definitions() else ""
    return f"sync: {part('fetched', info.fetch())}; {part('pushed', info.push())}{extra}"
