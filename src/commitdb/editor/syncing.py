"""The sync panel: Fetch / Push / Sync with a secondary source, a log, and live mode.

Live mode is a timer on the server (never in the page): every ``interval`` seconds it
optionally syncs with the source, optionally reduces the heads (manager mode), then forwards
the current state. Any error stops it and is logged.
"""

from __future__ import annotations

import datetime
import threading
from collections import deque
from typing import Any

from commitdb.database import CommitDatabase
from commitdb.editor.session import EditorSession
from commitdb.errors import CommitDBError, ValidationError
from commitdb.sync import CommitSynchronizer

MODES = ("Fetch", "Push", "Sync")


def source_spec(raw: Any) -> tuple[str, ...]:
    """A checked secondary source: ("file", path), ("socket", path) or ("host", host, port)."""
    if not isinstance(raw, dict):
        raise ValidationError("source must be an object with a kind: file, socket or host")
    kind = raw.get("kind")
    if kind in ("file", "socket"):
        path = raw.get("path")
        if not isinstance(path, str) or not path:
            raise ValidationError(f"a {kind} source needs a path")
        return kind, path
    if kind == "host":
        host, port = raw.get("host") or "localhost", raw.get("port", 54321)
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise ValidationError(f"port must be a number, got {port!r}") from None
        if not 0 < port < 65536:
            raise ValidationError(f"port must be between 1 and 65535, got {port}")
        return "host", str(host), str(port)
    raise ValidationError(f"source kind must be file, socket or host, got {kind!r}")


def open_source(spec: tuple[str, ...]) -> CommitDatabase:
    if spec[0] == "file":
        return CommitDatabase.open(spec[1])
    if spec[0] == "socket":
        return CommitDatabase.connect_local(spec[1])
    return CommitDatabase.connect(spec[1], spec[2])


class SyncPanel:
    def __init__(self, session: EditorSession) -> None:
        self.session = session
        self.log: deque[dict[str, Any]] = deque(maxlen=500)
        self._source: tuple[tuple[str, ...], CommitDatabase, CommitSynchronizer | None] | None = None
        self._live: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _note(self, level: str, text: str) -> None:
        entry = {"time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                 "level": level, "text": text}
        self.log.append(entry)
        self.session.emit({"kind": "sync_log", **entry})

    def _database(self, spec: tuple[str, ...]) -> CommitDatabase:
        if self._source is not None and self._source[0] == spec and not self._source[1].is_closed():
            return self._source[1]
        self.close()
        db = open_source(spec)
        self._source = (spec, db, None)
        return db

    def close(self) -> None:
        if self._source is not None:
            self._source[1].close()
            self._source = None

    def run(self, mode: str, raw_source: Any, quiet: bool = False) -> dict[str, Any]:
        """One pass; returns what was transmitted. Errors are logged and raised; a ``quiet``
        pass (live mode) logs only when something was transmitted."""
        if mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        spec = source_spec(raw_source)
        with self.session.lock:
            try:
                source = self._database(spec)
                synchronizer = CommitSynchronizer(source, self.session.db, mode)

                def progress(stage: str, done: int, total: int) -> None:
                    self.session.emit({"kind": "sync_progress", "stage": stage, "done": done, "total": total})

                info = synchronizer.sync(progress=progress)
            except CommitDBError as error:
                self._note("error", f"{mode} with {':'.join(spec[1:])} failed: {error}")
                self.close()
                raise
            self.session.wrote()
            result = {"fetched_commits": info.fetch().commits(), "fetched_blobs": info.fetch().blobs(),
                      "pushed_commits": info.push().commits(), "pushed_blobs": info.push().blobs(),
                      "updated_definitions": info.updated_definitions()}
            if quiet and not info.need_transmit():
                return result
            self._note("info", f"{mode} with {':'.join(spec[1:])}: fetched {result['fetched_commits']} commits, "
                               f"{result['fetched_blobs']} blobs; pushed {result['pushed_commits']} commits, "
                               f"{result['pushed_blobs']} blobs")
            return result

    # --- live mode -------------------------------------------------------------------------
    def live_status(self) -> dict[str, Any]:
        return {"running": self._thread is not None and self._thread.is_alive(), "settings": self._live,
                "log": list(self.log)[-100:]}

    def start_live(self, settings: Any) -> None:
        if not isinstance(settings, dict):
            raise ValidationError("live settings must be an object")
        interval = settings.get("interval", 0.5)
        if not isinstance(interval, int | float) or isinstance(interval, bool) or not 0.1 <= interval <= 3600:
            raise ValidationError(f"interval must be between 0.1 and 3600 seconds, got {interval!r}")
        sync = bool(settings.get("sync"))
        spec = source_spec(settings.get("source")) if sync else None
        self.stop_live()
        self._live = {"interval": interval, "sync": sync, "manager": bool(settings.get("manager")),
                      "source": settings.get("source") if sync else None}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop, spec, dict(self._live)),
                                        name="cdb-editor-live", daemon=True)
        self._thread.start()
        self._note("info", f"live mode started (every {interval:g} s"
                           f"{', sync with the source' if sync else ''}{', manager' if self._live['manager'] else ''})")

    def stop_live(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
            self._note("info", "live mode stopped")

    def _loop(self, stop: threading.Event, spec: tuple[str, ...] | None, settings: dict[str, Any]) -> None:
        while not stop.wait(settings["interval"]):
            try:
                if spec is not None:
                    self.run("Sync", settings["source"], quiet=True)
                if settings["manager"] and len(self.session.db.head_commit_ids()) > 1:
                    self.session.merge_heads()
                self.session.forward()
            except Exception as error:  # any error stops live mode (the reference's rule)
                self._note("error", f"live mode stopped: {error}")
                self._thread = None
                self.session.emit({"kind": "live_stopped", "error": str(error)})
                return
