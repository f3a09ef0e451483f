#!/usr/bin/env python3
"""cdbe.py [DATABASE] [--host HOST --port PORT | --socket-path PATH] [--http-port 8642]

The commitdb editor: serves a page on 127.0.0.1 to browse, edit, time-travel and sync a commit
database (a .cdb file, or what a commit database server serves). Needs 'commitdb[editor]'.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from commitdb.errors import CommitDBError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cdbe.py", description="The commitdb editor, in the browser.")
    parser.add_argument("--host", default=None, help="edit the database a server serves on this host")
    parser.add_argument("--port", default="54321", help="that server's TCP port (default 54321)")
    parser.add_argument("--socket-path", default=None, help="edit the database served on this unix socket")
    parser.add_argument("--http-port", type=int, default=8642, help="the page's port on 127.0.0.1 (default 8642)")
    args, rest = parser.parse_known_args(argv)
    if len(rest) > 1 or any(r.startswith("-") for r in rest):
        parser.print_help()
        return 1
    from commitdb.editor.server import launch

    try:
        launch(rest[0] if rest else None, args.host, args.port, args.socket_path, args.http_port)
    except (CommitDBError, ImportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
