#!/usr/bin/env python3
"""commit_admin.py [-v] (--database PATH | --host HOST [--port 54321] | --socket-path P)
                   [--protocol commitdb|viper] CMD

Administers a commit database — a file, or one served by commit_database_server.py:

  reset                                         keep only the first commit (a demo trick)
  reduce_heads [--loop] [--update-interval 2.0] merge every head into one
    [--report] [--json]                         and print what each merge dropped or overrode
  sync FILE [--loop] [--update-interval 5] [--blob-data-size 25]
                                                synchronise with the file FILE both ways
                                                (created with the source's documentation)

--protocol viper speaks to the reference runtime's server: ``--host H --protocol viper sync
local.cdb`` pulls its history into a commitdb file and pushes back.
Loop mode runs until Ctrl+C (exit 0). The same commands are ``commitdb admin ...``.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from commitdb.cli.admin_commands import admin


def main(argv: list[str] | None = None) -> None:
    """Run the tool; exits with the command's code (click's standalone mode)."""
    admin.main(args=argv, prog_name="commit_admin.py")


if __name__ == "__main__":
    main()
