"""Fixtures of the editor tests: a fresh example database and its editor, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from editor_support import EditorThread, example_database

from commitdb import CommitDatabase


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return example_database(tmp_path / "example.cdb")


@pytest.fixture
def editor(database: Path) -> Iterator[EditorThread]:
    running = EditorThread(CommitDatabase.open(str(database)), "example.cdb")
    yield running
    running.stop()
