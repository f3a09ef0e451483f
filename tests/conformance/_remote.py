"""Shared plumbing of the remote conformance runs: one background server per database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from commitdb import CommitDatabase
from commitdb.net.background import BackgroundServer
from commitdb.testing import CommitDatabaseConformance


class RemoteConformance(CommitDatabaseConformance):
    """Each ``make_database`` creates a fresh ``.cdb`` under tmp_path, serves it from a server
    thread and returns a client connected to it; the servers stop after the test."""

    @pytest.fixture(autouse=True)
    def _servers(self) -> Any:
        self._running: list[BackgroundServer] = []
        self._addresses: dict[int, BackgroundServer] = {}
        self._cleanup: list[str] = []
        yield
        # Autouse fixtures are set up first, so this runs after the clients were closed.
        for server in reversed(self._running):
            assert server.stop() == 0
        for folder in self._cleanup:
            shutil.rmtree(folder, ignore_errors=True)

    def serve(self, folder: Path, path: str) -> BackgroundServer:
        raise NotImplementedError

    def connect(self, server: BackgroundServer) -> CommitDatabase:
        raise NotImplementedError

    def make_database(self, tmp_path: Path) -> CommitDatabase:
        path = str(tmp_path / "suite.cdb")
        CommitDatabase.create(path).close()
        server = self.serve(tmp_path, path).start()
        self._running.append(server)
        db = self.connect(server)
        self._addresses[id(db)] = server
        return db

    def reopen(self, db: CommitDatabase) -> CommitDatabase:
        return self.connect(self._addresses[id(db)])
