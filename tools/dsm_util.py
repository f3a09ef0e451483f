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
the same canonical DSM text. The same commands are ``commitdb dsm ...`` and ``dsm-util ...``.
"""

from __future__ import annotations

import _checkout

_checkout.prepare("dsm-util")

from commitdb.cli.tools import dsm_util_main  # noqa: E402 - after the checkout's src/ is on the path

if __name__ == "__main__":
    dsm_util_main(prog_name="dsm_util.py")
