#!/usr/bin/env python3
"""commit_database_server.py [-v...] [--host H] [--port 54321] [--socket-path PATH]
    [--token-file F] [--tls-cert C [--tls-key K]] [--insecure] [--viper-clients off|local|any]
    [limits...] DATABASE

Serves a commit database file to many clients (CommitDatabase.connect / connect_local), and to
clients of the reference runtime's protocol on the same port and socket (--viper-clients).
``--help`` lists every option and limit with its default; docs/protocol.md explains them.
Quiet by default (one line at start says where and how it listens); -v errors, -vv connections
and requests, -vvv debug. Ctrl+C or SIGTERM stops it gracefully. The same command is
``commitdb serve`` and ``commit-database-server``.
"""

from __future__ import annotations

import _checkout

_checkout.prepare("commit-database-server")

from commitdb.cli.tools import server_main  # noqa: E402 - after the checkout's src/ is on the path

if __name__ == "__main__":
    server_main(prog_name="commit_database_server.py")
