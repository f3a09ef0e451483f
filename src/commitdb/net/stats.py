"""What a server has been doing, for the ``stats`` request: connections, requests and their
latencies, commits stored (in total and per second over the last minute)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

RATE_WINDOW = 60.0  # seconds over which commits/s is measured


class ServerStats:
    def __init__(self) -> None:
        self.started = time.time()
        self._requests: dict[str, list[float]] = {}  # method -> [count, total seconds, max seconds]
        self._commits: deque[tuple[float, int]] = deque()
        self.commits_stored = 0
        self.connections_accepted = 0
        self.connections_refused = 0
        self.authentication_failures = 0

    def request(self, method: str, seconds: float) -> None:
        entry = self._requests.get(method)
        if entry is None:
            if len(self._requests) >= 64 and method not in self._requests:
                method = "(other)"  # unknown method names from clients must not grow the table
            entry = self._requests.setdefault(method, [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)

    def stored(self, count: int) -> None:
        if count:
            self.commits_stored += count
            self._commits.append((time.monotonic(), count))

    def commits_per_second(self) -> float:
        now = time.monotonic()
        while self._commits and self._commits[0][0] < now - RATE_WINDOW:
            self._commits.popleft()
        window = min(RATE_WINDOW, max(time.time() - self.started, 1e-3))
        return sum(n for _, n in self._commits) / window

    def snapshot(self, connections: int, watching: int, extra: dict[str, Any]) -> dict[str, Any]:
        """The answer of ``stats``: plain values only (it travels as MessagePack)."""
        return {
            "uptime": time.time() - self.started,
            "connections": connections,
            "watching": watching,
            "connections_accepted": self.connections_accepted,
            "connections_refused": self.connections_refused,
            "authentication_failures": self.authentication_failures,
            "commits_stored": self.commits_stored,
            "commits_per_second": self.commits_per_second(),
            "requests": {m: {"count": int(c), "mean_ms": 1000 * t / c if c else 0.0, "max_ms": 1000 * mx}
                         for m, (c, t, mx) in sorted(self._requests.items())},
            **extra,
        }
