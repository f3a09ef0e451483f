#!/usr/bin/env python3
"""commit_database_server.py [-v...] [--host 0.0.0.0] [--port 54321] [--socket-path PATH]
                          [--viper-clients off|local|any] DATABASE

Serves a commit database file to many clients (CommitDatabase.connect / connect_local), and to
clients of the reference runtime's protocol on the same port and socket (--viper-clients:
local, the default, serves them on the unix socket and loopback only).
Quiet by default; -v errors, -vv connections and requests, -vvv debug. Ctrl+C or SIGTERM stops
it gracefully.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from commitdb.net.serve import exit_process, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="commit_database_server.py", description="Serve a commit database.")
    parser.add_argument("-v", dest="verbosity", action="count", default=0,
                        help="more output: -v errors, -vv info, -vvv debug")
    parser.add_argument("--host", default=None, help="TCP address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=54321, help="TCP port (default 54321)")
    parser.add_argument("--socket-path", default=None, help="also (or only) listen on this unix socket")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL",
                        help="FULL (default): each commit survives power loss when acknowledged; "
                             "NORMAL: survives a server crash only, and commits are faster")
    parser.add_argument("--viper-clients", choices=["off", "local", "any"], default="local",
                        help="where clients of the reference protocol are served: off, local (unix socket and "
                             "loopback, the default) or any (that protocol carries no credentials)")
    parser.add_argument("database", metavar="DATABASE", help="the .cdb file to serve")
    args = parser.parse_args(argv)
    host = args.host
    if host is None and args.socket_path is None:
        host = "0.0.0.0"
    return serve(args.database, host=host, port=args.port, socket_path=args.socket_path, verbosity=args.verbosity,
                 synchronous=args.synchronous, viper_clients=args.viper_clients)


if __name__ == "__main__":
    exit_process(main())
