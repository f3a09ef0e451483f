"""The conformance suite through a commitdb server spoken to in the reference protocol
(``protocol="viper"``) over its unix socket; reopening is a second client."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _remote import RemoteConformance

from commitdb import CommitDatabase
from commitdb.net.background import BackgroundServer


class TestRemoteViper(RemoteConformance):
    def serve(self, folder: Path, path: str) -> BackgroundServer:
        socket_path = os.path.join(tempfile.mkdtemp(prefix="cdbv"), "s")
        self._cleanup.append(os.path.dirname(socket_path))
        return BackgroundServer(path, socket_path=socket_path)

    def connect(self, server: BackgroundServer) -> CommitDatabase:
        assert server.socket_path is not None
        return CommitDatabase.connect_local(server.socket_path, protocol="viper")
