"""What every command shares: the error → exit code table, the group class that applies it,
progress reporting, and the loop of ``--loop`` commands."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

import click

from commitdb.errors import (
    CommitDBError,
    ConnectionFailedError,
    DatabaseBusyError,
    DatabaseExistsError,
    IncompatibleDatabaseError,
    IntegrityError,
    ListenError,
)

# The exit codes of every command, documented in the README and docs/cli.md. One table from
# error class to exit code; the most specific class wins (see exit_code_for). 2 is click's own
# code for a usage error (an unknown option, a missing or invalid argument).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTEGRITY = 4
EXIT_BUSY = 5
EXIT_NOT_A_DATABASE = 6
EXIT_EXISTS = 7
EXIT_CANNOT_LISTEN = 8
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (CommitDBError, EXIT_ERROR),
    (ConnectionFailedError, EXIT_UNREACHABLE),
    (IntegrityError, EXIT_INTEGRITY),
    (DatabaseBusyError, EXIT_BUSY),
    (IncompatibleDatabaseError, EXIT_NOT_A_DATABASE),
    (DatabaseExistsError, EXIT_EXISTS),
    (ListenError, EXIT_CANNOT_LISTEN),
    (OSError, EXIT_ERROR),
]
# What each code means, in the words of the documentation (tests compare the two).
EXIT_MEANINGS: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_ERROR: "error (a model with errors, a commit not found, an aborted confirmation, ...)",
    EXIT_USAGE: "usage error: an unknown option, a missing or invalid argument",
    EXIT_UNREACHABLE: "the server cannot be reached, or did not answer within --timeout",
    EXIT_INTEGRITY: "integrity fault: a corrupted database or export",
    EXIT_BUSY: "the database is busy (another process held it for more than 10 s)",
    EXIT_NOT_A_DATABASE: "not a database: the file is missing, is not a commit database, or of an unsupported version",
    EXIT_EXISTS: "already exists: the file or directory to create is there",
    EXIT_CANNOT_LISTEN: "the server cannot listen: the port is in use or not permitted, the socket path is taken",
}


def exit_code_for(error: BaseException) -> int:
    """The code of the nearest class of ``error`` in EXIT_CODES (1 when none matches)."""
    best, depth = EXIT_ERROR, None
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            d = type(error).__mro__.index(cls)
            if depth is None or d < depth:
                best, depth = code, d
    return best


class ToolError(click.ClickException):
    """A failure reported as ``error: <message>`` on stderr with a chosen exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        if file is None:
            click.echo(f"error: {self.format_message()}", err=True)
        else:
            click.echo(f"error: {self.format_message()}", file=file)


@contextmanager
def library_errors() -> Iterator[None]:
    """Turn library errors (and OS errors) into ToolError with the code of EXIT_CODES."""
    try:
        yield
    except (CommitDBError, OSError) as error:
        raise ToolError(str(error), exit_code_for(error)) from error


class CommitDBGroup(click.Group):
    """A click group that turns library errors (and OS errors) into ToolError."""

    def invoke(self, ctx: click.Context) -> Any:
        with library_errors():
            return super().invoke(ctx)


class CommitDBCommand(click.Command):
    """A click command run on its own (a console script) with the same error handling."""

    def invoke(self, ctx: click.Context) -> Any:
        with library_errors():
            return super().invoke(ctx)


# --- where the data is: a file or a server ------------------------------------------------------

CLIENT_PORT = click.IntRange(1, 65535)
SERVER_PORT = click.IntRange(0, 65535)  # 0: any free port
TIMEOUT = click.FloatRange(min=0.0, min_open=True)
DEFAULT_PORT = 54321
DEFAULT_TIMEOUT = 60.0
WAITING_NOTICE_AFTER = 1.0


class CommitReference(click.ParamType):
    """A COMMIT argument: 40 hex digits, a prefix of 4 or more, or ``last`` (checked when the
    command line is parsed; whether the commit exists is the database's answer)."""

    name = "commit"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text == "last" or (4 <= len(text) <= 40 and all(c in "0123456789abcdef" for c in text)):
            return text
        where = "COMMIT: " if param is None else ""
        self.fail(f"{where}{value!r} is not a commit id (use 40 hex digits, a prefix of 4 or more, or 'last')",
                  param, ctx)


COMMIT_REFERENCE = CommitReference()


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--host``, ``--port``, ``--socket-path`` and ``--timeout``: a served database instead of
    a file (the command receives ``host``, ``port``, ``socket_path`` and ``timeout``)."""
    options = [
        click.option("--host", default=None, help="read the database a server serves on this host (TCP)"),
        click.option("--port", type=CLIENT_PORT, default=DEFAULT_PORT, show_default=True,
                     help="the server's TCP port (with --host)"),
        click.option("--socket-path", metavar="PATH", default=None,
                     help="read the database a server serves on this unix socket"),
        click.option("--timeout", type=TIMEOUT, default=DEFAULT_TIMEOUT, show_default=True, metavar="SECONDS",
                     help="give up (exit 3) when the server does not answer a request within SECONDS"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def describe_source(path: str | None, host: str | None, port: int | str, socket_path: str | None) -> str:
    """A database's place as a user gave it: the file, ``host:port`` or the socket path."""
    if path is not None:
        return path
    if host is not None:
        return f"{host}:{port}"
    return str(socket_path)


@contextmanager
def waiting_notice(address: str, timeout: float) -> Iterator[None]:
    """Say on stderr that we are waiting for ``address`` when its answer is slow to come
    (after a second, or half the timeout when shorter), once."""

    def notice() -> None:
        click.echo(f"waiting for {address} to answer (giving up after {timeout:g} s; see --timeout)...", err=True)

    timer = threading.Timer(min(WAITING_NOTICE_AFTER, timeout / 2), notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def connect_source(path: str | None, host: str | None, port: int | str, socket_path: str | None,
                   timeout: float = DEFAULT_TIMEOUT, readonly: bool = False, protocol: str = "commitdb",
                   token_file: str | None = None, tls: bool = False, tls_ca: str | None = None) -> Any:
    """Open the database file ``path`` or connect to the server (exactly one is given; the
    caller checks), with a notice on stderr while a server is slow to answer. A server is shown
    the token of ``token_file`` (else $COMMITDB_TOKEN); ``tls``/``tls_ca`` encrypt TCP."""
    from commitdb.admin import open_source

    if path is not None:
        return open_source(path, readonly=readonly)
    with waiting_notice(describe_source(None, host, port, socket_path), timeout):
        return open_source(None, host, port, socket_path, protocol=protocol, timeout=timeout,
                           token_file=token_file, tls=tls, tls_ca=tls_ca)


def open_database(ctx: click.Context, path: str | None, host: str | None, port: int, socket_path: str | None,
                  timeout: float, readonly: bool = True) -> Any:
    """The database of a command taking a PATH or the ``server_options`` (closed when the
    command ends); a usage error when none or several places are given."""
    given = [name for name, value in (("PATH", path), ("--host", host), ("--socket-path", socket_path))
             if value is not None]
    if not given:
        raise click.UsageError("give a database file PATH, or a server with --host [--port] or --socket-path", ctx)
    if len(given) > 1:
        raise click.UsageError(f"give only one of {' and '.join(given)}", ctx)
    db = connect_source(path, host, port, socket_path, timeout, readonly)
    ctx.call_on_close(db.close)
    return db


def is_remote(db: Any) -> bool:
    """Whether ``db`` is served by a server (not a file or memory of this process)."""
    from commitdb.net.client import RemoteBackend

    return isinstance(db.commit_databasing(), RemoteBackend)


# --- confirmation of destructive commands ---------------------------------------------------------


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm_destructive(action: str, yes: bool) -> None:
    """Ask on a terminal before ``action`` (a sentence saying what will be lost); without a
    terminal, a usage error unless ``--yes`` was given. A "no" aborts (exit 1)."""
    if yes:
        return
    if not stdin_is_terminal():
        raise click.UsageError(f"{action}; pass --yes to confirm (there is no terminal to ask on)")
    if not click.confirm(f"{action}. Go on?", default=False, err=True):
        raise ToolError("aborted: nothing was changed")


# --- output helpers -----------------------------------------------------------------------------


def iso_date(timestamp: float) -> str:
    """ISO 8601 UTC with milliseconds: ``2024-05-01T10:00:00.000Z``; a timestamp no calendar
    date can show (1e300, NaN: another program may have written it) is shown as its number."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return f"(timestamp {timestamp!r})"


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """``progress(stage, done, total)`` on stderr (stdout keeps the command's result): a rich
    progress bar per stage on a terminal; else, once the work has lasted ``plain_after``
    seconds, a plain line whenever a stage advances by a tenth (and when it completes). Short
    work prints nothing."""

    def __init__(self, rich: bool | None = None, quiet: bool = False, plain_after: float = 1.0) -> None:
        self._rich = stderr_is_terminal() if rich is None else rich
        self._quiet = quiet
        self._plain_after = plain_after
        self._start = time.monotonic()
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._printed: dict[str, int] = {}

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self._rich and not self._quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=False, console=Console(stderr=True))
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        self._tasks.clear()
        self._printed.clear()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._quiet:
            return
        if self._bars is not None:
            task = self._tasks.get(stage)
            if task is None:
                task = self._tasks[stage] = self._bars.add_task(stage, total=total)
            self._bars.update(task, completed=done, total=total)
            return
        if time.monotonic() - self._start < self._plain_after:
            return
        step = max(total // 10, 1)
        last = self._printed.get(stage, -1)
        if done >= total or last < 0 or done - last >= step:
            if done != last:
                click.echo(f"{stage}: {done}/{total}", err=True)
                self._printed[stage] = done

    def stage(self, stage: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callable for one named stage."""
        return lambda done, total: self(stage, done, total)


# --- loops ----------------------------------------------------------------------------------------


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


RECONNECT_FIRST, RECONNECT_MAX = 0.5, 30.0  # seconds: the backoff doubles between attempts


def run_live_loop(connect: Callable[[], Any], build: Callable[[Any], Callable[[], None]], interval: float,
                  first: Any = None) -> None:
    """Run a pass each time the database reports a change (``watch``), or every ``interval``
    seconds when it cannot, until Ctrl+C (or SIGTERM). When the connection is lost (a server
    restart), say so and reconnect with a growing backoff; ``connect()`` opens the database,
    ``build(db)`` gives the pass; ``first`` is an already open database to start with."""
    with _sigterm_as_interrupt():
        try:
            backoff = RECONNECT_FIRST
            db = first
            while True:
                try:
                    if db is None:
                        db = connect()
                        click.echo("reconnected.")
                        sys.stdout.flush()
                    backoff = RECONNECT_FIRST
                    _passes(db, build(db), interval)
                except ConnectionFailedError as error:
                    click.echo(f"connection lost ({error}); reconnecting in {backoff:g} s")
                    sys.stdout.flush()
                    time.sleep(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX)
                finally:
                    if db is not None:
                        db.close()
                    db = None
        except KeyboardInterrupt:
            click.echo("stopped.")
            sys.stdout.flush()


def _passes(db: Any, step: Callable[[], None], interval: float) -> None:
    """Passes over one connection until it fails (ConnectionFailedError)."""
    try:
        handle = db.watch()
    except ConnectionFailedError:
        raise
    except CommitDBError:  # a server without live changes: the interval alone
        handle = None
    try:
        while True:
            step()
            if handle is None:
                time.sleep(interval)
                continue
            handle.wait(interval)
            if handle.error is not None:
                raise ConnectionFailedError(str(handle.error))
    finally:
        if handle is not None:
            handle.stop()
