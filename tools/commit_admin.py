#!/usr/bin/env python3
"""commit_admin.py [-v] (--database PATH | --host HOST [--port 54321] | --socket-path P)
                   [--protocol commitdb|viper] [--timeout 60] [--token-file F] [--tls] [--tls-ca PEM] CMD

Administers a commit database — a file, or one served by commit_database_server.py:

  reset [--yes]                                 keep only the first commit (a demo trick)
  delete COMMIT [--yes]                         remove a head (a demo tool)
  reduce_heads [--loop] [--update-interval 2.0] merge every head into one
    [--report] [--json]                         and print what each merge dropped or overrode
  sync FILE [--loop] [--update-interval 5] [--blob-data-size 25]
                                                synchronise with the file FILE both ways
                                                (created with the source's documentation)

  stats                                         a server's statistics (JSON)

--protocol viper speaks to the reference runtime's server: ``--host H --protocol viper sync
local.cdb`` pulls its history into a commitdb file and pushes back.
Through a server, reset and delete ask on a terminal and need --yes otherwise.
A commitdb server that requires a token is shown the one in --token-file, else $COMMITDB_TOKEN.
Loop mode runs a pass at each change the source reports (the interval is the fallback),
reconnects with backoff when the server goes away, and runs until Ctrl+C (exit 0). The same
commands are ``commitdb admin ...`` and ``commit-admin ...``.
"""

from __future__ import annotations

import _checkout

_checkout.prepare("commit-admin")

from commitdb.cli.tools import admin_main  # noqa: E402 - after the checkout's src/ is on the path

if __name__ == "__main__":
    admin_main(prog_name="commit_admin.py")
