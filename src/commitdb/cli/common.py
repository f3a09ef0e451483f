"""What every command shares: the error → exit code table, the group class that applies it,
progress reporting, and the loop of ``--loop`` commands."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

import click

from commitdb.errors import CommitDBError, ConnectionFailedError, DatabaseBusyError, IntegrityError

# One table from error class to exit code; the most specific class wins (see exit_code_for).
# 2 is click's own code for a usage error (unknown option, missing argument).
EXIT_ERROR = 1
EXIT_UNREACHABLE = 3
EXIT_INTEGRITY = 4
EXIT_BUSY = 5
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (CommitDBError, EXIT_ERROR),
    (ConnectionFailedError, EXIT_UNREACHABLE),
    (IntegrityError, EXIT_INTEGRITY),
    (DatabaseBusyError, EXIT_BUSY),
    (OSError, EXIT_ERROR),
]


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


class CommitDBGroup(click.Group):
    """A click group that turns library errors (and OS errors) into ToolError."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CommitDBError as error:
            raise ToolError(str(error), exit_code_for(error)) from error
        except OSError as error:
            raise ToolError(str(error), exit_code_for(error)) from error


# --- output helpers -----------------------------------------------------------------------------


def iso_date(timestamp: float) -> str:
    """ISO 8601 UTC with milliseconds: ``2024-05-01T10:00:00.000Z``."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """``progress(stage, done, total)``: a rich progress bar per stage on a terminal; else,
    once the work has lasted ``plain_after`` seconds, a plain line whenever a stage advances
    by a tenth (and when it completes). Short work prints nothing."""

    def __init__(self, rich: bool | None = None, quiet: bool = False, plain_after: float = 1.0) -> None:
        self._rich = stdout_is_terminal() if rich is None else rich
        self._quiet = quiet
        self._plain_after = plain_after
        self._start = time.monotonic()
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._printed: dict[str, int] = {}

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self._rich and not self._quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=False)
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
                click.echo(f"{stage}: {done}/{total}")
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


def run_loop(step: Callable[[], None], interval: float) -> None:
    """Run ``step`` every ``interval`` seconds until Ctrl+C (or SIGTERM), then return normally."""
    with _sigterm_as_interrupt():
        try:
            while True:
                step()
                time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("stopped.")
            sys.stdout.flush()
