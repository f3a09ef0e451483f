"""The example script of the README runs and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_walkthrough_script(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "walkthrough.py"), str(tmp_path / "w.cdb")],
                         capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert lines["merged"].strip() == "Optional({nickname='alice_ours', password='s3cret'})"
    assert lines["time travel to the first commit"].strip() == "Optional({nickname='alice', password='secret'})"
    assert lines["after undo"].strip() == "Optional({nickname='alice_ours', password='s3cret'})"
    assert lines["after redo"].strip() == "Optional({nickname='alice2', password='s3cret'})"
    assert "'Undo [Rename again]', 'Redo [Rename again]'" in lines["history"]
