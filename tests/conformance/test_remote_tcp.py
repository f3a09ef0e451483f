"""The conformance suite through a server over TCP (loopback); reopening is a second client."""

from __future__ import annotations

from pathlib import Path

from _remote import RemoteConformance

from commitdb import CommitDatabase
from commitdb.net.background import BackgroundServer


class TestRemoteTCP(RemoteConformance):
    def serve(self, folder: Path, path: str) -> BackgroundServer:
        return BackgroundServer(path, host="127.0.0.1", port=0)

    def connect(self, server: BackgroundServer) -> CommitDatabase:
        return CommitDatabase.connect("127.0.0.1", str(server.port))
