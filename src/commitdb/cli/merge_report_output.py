"""Printing merge reports: ``commitdb show MERGE_ID`` and ``reduce_heads --report [--json]``."""

from __future__ import annotations

import json
from typing import Any

import click


def echo_merge_report(db: Any, commit_id: Any) -> None:
    """The report of the merge commit ``commit_id`` under a ``report`` heading (for ``show``)."""
    from commitdb.engine.helpers import CommitDatabaseHelper

    lines = CommitDatabaseHelper.merge_report(db, commit_id).lines()
    click.echo(f"report     {lines[0]}")
    for line in lines[1:]:
        click.echo(f"         {line}")


def echo_reduction(heads: int, merged: Any, reports: list[Any], as_json: bool) -> None:
    """One pass of ``reduce_heads --report``: the merges made and what each dropped, as text or
    as one JSON document on one line."""
    if as_json:
        click.echo(json.dumps({"heads": heads, "merge": None if merged is None else str(merged),
                               "reports": [r.to_json() for r in reports]}))
        return
    for report in reports:
        for line in report.lines():
            click.echo(line)
