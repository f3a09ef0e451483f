#!/usr/bin/env python3
"""dsm_util.py CMD — work with DSM models (a .dsm file, or a folder of *.dsm files):

  check PATH                                   print every error as file:line:col: message
                                               (exit 1 on error, an OK line otherwise)
  create_commit_database [--force] [--documentation TEXT] model.dsm out.cdb
                                               a database with the definitions, no commits
  encode model.dsm out.dsm.json                the JSON form of the model
  decode in.dsm.json out.dsm                   DSM text from the JSON form

The JSON form (format "commitdb.dsm.json", version 1) is documented in
src/commitdb/dsm/json_form.py; decode(encode(model)) has the same definitions hexdigest and
the same canonical DSM text. The same commands are ``commitdb dsm ...``.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from commitdb.cli.dsm_commands import dsm


def main(argv: list[str] | None = None) -> None:
    """Run the tool; exits with the command's code (click's standalone mode)."""
    dsm.main(args=argv, prog_name="dsm_util.py")


if __name__ == "__main__":
    main()
