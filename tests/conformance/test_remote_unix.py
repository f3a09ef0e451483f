"""The conformance suite through a server over a unix socket; reopening is a second client."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _remote import RemoteConformance

from commitdb import CommitDatabase
from commitdb.net.background import BackgroundServer


class TestRemoteUnix(RemoteConformance):
    def serve(self, folder: Path, path: str) -> BackgroundServer:
        # tmp_path can exceed the ~108-byte limit of a socket path: use a short directory.
        short = tempfile.mkdtemp(prefix="cdb")
        self._cleanup.append(short)
        return BackgroundServer(path, socket_path=os.path.join(short, "s"))

    def connect(self, server: BackgroundServer) -> CommitDatabase:
        return CommitDatabase.connect_local(str(server.socket_path))
