"""Group commit: concurrent single-commit inserts are stored in one transaction, each caller
gets its own answer, and no caller is told it has seen the others' commits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from commitdb import CommitDatabase, CommitMutableState, CorruptedDataError
from commitdb.dsm import DSMBuilder
from commitdb.net import protocol as P
from commitdb.net.server import DatabaseService
from commitdb.storage.base import CommitData, CommitHeader
from commitdb.testing import TUTO_DSM


def _commits(count: int) -> tuple[Any, list[CommitData]]:
    builder = DSMBuilder()
    builder.append("tuto.dsm", TUTO_DSM)
    _, _, definitions = builder.parse()
    scratch = CommitDatabase.create_in_memory()
    scratch.extend_definitions(definitions)
    names: dict = {}
    definitions.inject(names)
    login = names["TUTO_A_USER_LOGIN"]
    made = []
    for i in range(count):
        mutable = CommitMutableState(scratch.initial_state())
        mutable.attachment_mutating().set(login, login.create_key(), {"nickname": f"u{i}"})
        made.append(scratch.commit_mutations(f"root {i}", mutable))
    return definitions, [scratch.commit_databasing().commit_data(c) for c in made]


def test_concurrent_inserts_share_one_transaction(tmp_path: Path) -> None:
    definitions, commits = _commits(6)
    path = tmp_path / "group.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    db.close()
    forged = commits[5]
    h = forged.header()
    bad = CommitData(CommitHeader(bytes(20), h.parent, h.type_code, h.target, h.ts, h.label_text), forged.data())

    async def run() -> list[object]:
        service = DatabaseService.open_file(str(path))
        transactions = []
        original = service.writer.insert_commits
        service.writer.insert_commits = lambda rows: transactions.append(len(rows)) or original(rows)  # type: ignore[method-assign]
        try:
            calls = [service._grouped_insert([P.pack_commit(c)]) for c in [*commits[:5], bad]]
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            service.close()
        return [results, transactions]

    results, transactions = asyncio.run(run())
    assert transactions == [5]  # the five good ones in one transaction
    assert isinstance(results[5], CorruptedDataError)
    for inserted, before, after in results[:5]:
        assert inserted is True and before == -1 and isinstance(after, int)
    reopened = CommitDatabase.open(str(path))
    assert {c.header().id for c in commits[:5]} == {c.bytes_value() for c in reopened.commit_ids()}


def test_a_lone_insert_reports_its_versions(tmp_path: Path) -> None:
    definitions, commits = _commits(1)
    path = tmp_path / "lone.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    db.close()

    async def run() -> list[object]:
        service = DatabaseService.open_file(str(path))
        try:
            return await service._grouped_insert([P.pack_commit(commits[0])])
        finally:
            service.close()

    inserted, before, after = asyncio.run(run())
    assert inserted is True and before >= 0 and after != before


def test_more_than_a_group_is_split(tmp_path: Path) -> None:
    count = 300  # more than MAX_GROUP
    definitions, commits = _commits(count)
    path = tmp_path / "many.cdb"
    db = CommitDatabase.create(str(path))
    db.extend_definitions(definitions)
    db.close()

    async def run() -> list[object]:
        service = DatabaseService.open_file(str(path), synchronous="NORMAL")
        try:
            return await asyncio.gather(*(service._grouped_insert([P.pack_commit(c)]) for c in commits))
        finally:
            service.close()

    results = asyncio.run(run())
    assert all(r[0] is True for r in results)
    assert len(CommitDatabase.open(str(path)).commit_ids()) == count
