"""Lets ``python3 tools/<tool>.py`` run from a checkout.

The tools import commitdb from ``src/``; its dependencies (lark, msgpack, click, rich) must be
importable too. When they are not, and ``make run`` (or ``make test``) has created ``.venv``,
the tool runs again with ``.venv/bin/python``; with no ``.venv`` it says in one line how to run it.
"""

from __future__ import annotations

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
DEPENDENCIES = ("lark", "msgpack", "click", "rich")
REEXEC_MARK = "COMMITDB_TOOL_REEXEC"


def _missing() -> str | None:
    return next((name for name in DEPENDENCIES if importlib.util.find_spec(name) is None), None)


def prepare(console_script: str) -> None:
    """Put ``src/`` first on the path; re-run with the checkout's venv, or exit 1 with a one-line
    explanation, when a dependency is missing."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    missing = _missing()
    if missing is None:
        return
    venv_python = os.path.join(VENV, "bin", "python")
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(VENV)
    if os.path.exists(venv_python) and not in_venv and not os.environ.get(REEXEC_MARK):
        os.environ[REEXEC_MARK] = "1"
        os.execv(venv_python, [venv_python, *sys.argv])
    tool = os.path.relpath(os.path.abspath(sys.argv[0]))
    sys.stderr.write(f"error: {tool} needs commitdb's dependencies ({missing} is not installed for "
                     f"{sys.executable}): run `make run` once in {ROOT} (it creates .venv), or "
                     f"`pip install commitdb` and run `{console_script}`\n")
    sys.exit(1)
