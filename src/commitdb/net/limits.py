"""The server's limits: what one client may cost the others, with documented defaults.

Every limit answers the offending client with a clear error (``LimitExceededError``,
``TransactionTimeoutError``, ``ValidationError``...) or closes only its connection; nobody
else notices. docs/protocol.md lists them with the flags that change them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commitdb.errors import LimitExceededError, ValidationError
from commitdb.net.protocol import DEFAULT_MAX_FRAME

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The server's limits (``None`` switches a timeout off)."""

    max_connections: int = 256
    """Connections served at once; one more is told ``LimitExceededError`` and closed."""
    handshake_timeout: float = 10.0
    """Seconds from accepting a connection (TLS included) to a complete, authenticated greeting."""
    idle_timeout: float | None = 3600.0
    """Seconds a connection may stay silent between requests (a watching connection is exempt)."""
    frame_timeout: float = 120.0
    """Seconds a frame may take to arrive once its first byte came (slow senders are closed)."""
    transaction_idle_timeout: float | None = 30.0
    """Seconds a connection holding a transaction may stay silent: then the transaction is
    rolled back, the write lock released, and the client's next request is answered with
    ``TransactionTimeoutError``."""
    max_frame: int = DEFAULT_MAX_FRAME
    """Bytes of one message, both directions."""
    max_buffered_total: int = 256 * MiB
    """Bytes of frames being received over all connections together; a frame above 1 MiB
    that does not fit is refused (frames up to 1 MiB always are admitted)."""
    max_upload_total: int = 4096 * MiB
    """Bytes of blobs being uploaded in pieces over all connections (they wait in temporary
    files, not in memory)."""
    max_label: int = 1 * MiB
    """Bytes (UTF-8) of a commit label."""
    max_clock_skew: float = 3600.0
    """Seconds a commit's timestamp may lie ahead of the server's clock."""
    max_ids_per_request: int = 20_000
    """Ids in one ``missing_blobs``, ``get_commits``, ``get_blobs``, ``load_index``,
    ``read_documents`` or ``rx_placements`` request (the client pages longer lists), so one
    request never holds a read thread for long."""


# What a limit flag counts: "count" (an integer >= 1, times the unit), "seconds" (> 0) or
# "seconds_or_off" (>= 0; 0 switches the timeout off).
# flag, Limits field, what it counts, unit (the flag counts units), help
LIMIT_FLAGS: list[tuple[str, str, str, int, str]] = [
    ("--max-connections", "max_connections", "count", 1, "connections served at once"),
    ("--handshake-timeout", "handshake_timeout", "seconds", 1, "seconds for TLS and the greeting with its token"),
    ("--idle-timeout", "idle_timeout", "seconds_or_off", 1,
     "seconds a connection may stay silent; watchers are exempt"),
    ("--frame-timeout", "frame_timeout", "seconds", 1, "seconds a message may take to arrive once started"),
    ("--transaction-idle-timeout", "transaction_idle_timeout", "seconds_or_off", 1,
     "seconds a client holding a transaction may stay silent before it is rolled back and the write lock "
     "released"),
    ("--max-frame-mib", "max_frame", "count", MiB, "MiB of one message"),
    ("--max-buffered-mib", "max_buffered_total", "count", MiB,
     "MiB of partly received messages over all connections; frames above 1 MiB that do not fit are refused"),
    ("--max-upload-mib", "max_upload_total", "count", MiB,
     "MiB of blobs being uploaded in pieces at once, kept in temporary files"),
    ("--max-label-bytes", "max_label", "count", 1, "bytes of a commit label"),
    ("--max-clock-skew", "max_clock_skew", "seconds", 1,
     "seconds a commit timestamp may lie ahead of the server's clock"),
    ("--max-ids-per-request", "max_ids_per_request", "count", 1,
     "ids in one missing_blobs/get_commits/get_blobs/load_index/read_documents/rx_placements request"),
]


def limit_flag_default(field: str, kind: str, unit: int) -> int | float:
    """The default of a limit flag, in the flag's units (0 for a timeout that is off)."""
    value = getattr(Limits(), field)
    if kind == "count":
        return value // unit
    return 0.0 if value is None else value


def limits_from(values: Mapping[str, Any]) -> Limits:
    """The Limits that the limit flags' values say (keyed by Limits field; MiB flags are
    multiplied, a timeout of 0 is off)."""
    chosen: dict[str, Any] = {}
    for _, field, kind, unit, _ in LIMIT_FLAGS:
        value = values[field]
        if kind == "count":
            chosen[field] = value * unit
        elif kind == "seconds_or_off":
            chosen[field] = None if value == 0 else value
        else:
            chosen[field] = value
    return Limits(**chosen)


SMALL_FRAME = 1 * MiB  # frames up to this size never wait for the shared budget


class ByteBudget:
    """Bytes shared by all connections (used on the event loop only: no lock needed)."""

    def __init__(self, capacity: int, what: str) -> None:
        self.capacity = capacity
        self.used = 0
        self._what = what

    def reserve(self, size: int) -> None:
        """Take ``size`` bytes; LimitExceededError when they do not fit."""
        if self.used + size > self.capacity:
            raise LimitExceededError(
                f"the server is holding {self.used} bytes of {self._what}; {size} more would exceed "
                f"its limit of {self.capacity} bytes (try again later)")
        self.used += size

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)


def check_label(label: str, limits: Limits) -> None:
    size = len(label.encode("utf-8", "surrogatepass"))
    if size > limits.max_label:
        raise ValidationError(f"a commit label of {size} bytes exceeds the limit of {limits.max_label} bytes")


def check_timestamp(ts: float, limits: Limits, now: float | None = None) -> None:
    """A timestamp must be a finite number of seconds, not before 1970 and at most
    ``max_clock_skew`` ahead of the server's clock (it orders ``last_commit_id`` for everyone)."""
    if not math.isfinite(ts) or ts < 0:
        raise ValidationError(f"a commit timestamp must be a finite number of seconds since 1970, not {ts!r}")
    now = time.time() if now is None else now
    if ts > now + limits.max_clock_skew:
        raise ValidationError(
            f"a commit timestamp {ts:.3f} lies {ts - now:.0f} s ahead of the server's clock "
            f"(at most {limits.max_clock_skew:g} s are accepted)")


def check_id_count(count: int, method: str, limits: Limits) -> None:
    if count > limits.max_ids_per_request:
        raise LimitExceededError(
            f"{method}: {count} ids in one request; at most {limits.max_ids_per_request} are served at once "
            f"(send them in pages)")
