"""Runs the examples of the documentation (Sybil), so that they cannot rot.

- ```python blocks run in order, one namespace per page; ``>>>`` blocks are doctests.
- ```console blocks run each ``$ command`` with a shell and compare what it prints (stdout and
  stderr) with the lines below it; ``...`` stands for any text.
- ```dsm blocks whose first line is ``// file NAME.dsm`` are written to that file, for the
  blocks after them to use.
- ```sh blocks are shown, not run (servers that run until Ctrl+C, installation).

Each page runs in a fresh directory holding ``tuto.dsm`` (the Tuto model), with the commands of
the current environment first on PATH.
"""

from __future__ import annotations

import doctest
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

ROOT = Path(__file__).resolve().parents[1]
TUTO = ROOT / "src" / "commitdb" / "example_models" / "tuto.dsm"
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class ConsoleBlockParser(CodeBlockParser):
    """```console blocks: ``$ command`` lines, each followed by what it prints."""

    language = "console"

    def evaluate(self, example: Any) -> str | None:
        commands: list[tuple[str, list[str]]] = []
        for line in example.parsed.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env["COLUMNS"] = "100"
        env.pop("PYTHONPATH", None)
        for command, expected_lines in commands:
            done = subprocess.run(command, shell=True, cwd=example.namespace["workdir"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
            got = done.stdout
            expected = "\n".join(expected_lines).strip() + "\n"
            if not CHECKER.check_output(expected, got.strip() + "\n", FLAGS):
                return f"$ {command}\nexpected:\n{expected}got:\n{got}"
        return None


class DSMFileParser(CodeBlockParser):
    """```dsm blocks starting with ``// file NAME``: written to NAME in the page's directory."""

    language = "dsm"

    def evaluate(self, example: Any) -> str | None:
        first = example.parsed.splitlines()[0]
        if first.startswith("// file "):
            name = first.removeprefix("// file ").strip()
            (Path(example.namespace["workdir"]) / name).write_text(example.parsed, encoding="utf-8")
        return None


def setup(namespace: dict[str, Any]) -> None:
    workdir = tempfile.mkdtemp(prefix="commitdb-docs-")
    shutil.copy(TUTO, Path(workdir) / "tuto.dsm")
    namespace["workdir"] = workdir
    namespace["previous_cwd"] = os.getcwd()
    os.chdir(workdir)


def teardown(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["previous_cwd"])
    shutil.rmtree(namespace["workdir"], ignore_errors=True)


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(doctest_optionflags=FLAGS), ConsoleBlockParser(), DSMFileParser()],
    patterns=["*.md"],
    setup=setup,
    teardown=teardown,
).pytest()
