"""Editor benchmark (not a test): page load and graph render times on a long history.

Builds (once, cached in the temp directory) an example database of N commits — a chain with a
side branch merged back every 100 commits — serves its editor, and drives Chromium:
(a) the server's first answer (the lane layout of the whole history, built once; a fresh
    editor's first page load costs this plus (b));
(b) page load: navigation until the first rows of the graph are drawn; then until the rows show
    which commits are enabled in the current state (computed by a worker, see flags.py);
(c) scroll render: jumping to the middle of the history until that page is drawn;
(d) live: another process commits, until the page shows it.

Usage: python bench/editor.py [--commits 10000 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "editor"))

from editor_support import CHROMIUM, CHROMIUM_ARGS, EditorThread, commit_in_another_process  # noqa: E402

from commitdb import CommitDatabase, CommitMutableState  # noqa: E402
from commitdb.examples_db import ALICE, ensure_example_database, load_model  # noqa: E402
from commitdb.values import ValueUUId  # noqa: E402


def build(path: Path, commits: int) -> None:
    if path.exists():
        return
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    ensure_example_database(str(partial), ROOT / "examples" / "tuto.dsm")
    _, names = load_model(ROOT / "examples" / "tuto.dsm")
    login, nickname = names["TUTO_A_USER_LOGIN"], names["TUTO_P_LOGIN_NICKNAME"]
    key = login.create_key(ValueUUId(ALICE))
    from commitdb.storage.sqlite import SQLiteBackend

    db = CommitDatabase(SQLiteBackend(str(partial), synchronous="NORMAL"))  # a bench file: no fsync per commit
    head = db.last_commit_id()
    side = None
    for i in range(commits - 2):
        if i % 100 == 50:
            side = head  # a side branch starts here
        base = side if side is not None and i % 100 in (60, 70) else head
        mutable = CommitMutableState(db.state(base))
        mutable.attachment_mutating().update(login, key, nickname, f"n{i}")
        made = db.commit_mutations(f"edit {i}", mutable)
        if base is side:
            side = made
        else:
            head = made
        if i % 100 == 80 and side is not None:
            head = db.merge_commit(f"merge {i}", head, side)
            side = None
    db.close()
    os.replace(partial, path)


def measure(path: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    editor = EditorThread(CommitDatabase.open(str(path)), path.name,
                          reopen=lambda: CommitDatabase.open(str(path), readonly=True))
    result: dict[str, float] = {}
    try:
        import logging

        logging.getLogger("commitdb.editor").setLevel(logging.CRITICAL)  # the flags worker's failure is reported below
        t = time.perf_counter()
        status = editor.get("/api/status")
        result["server_first_layout_s"] = time.perf_counter() - t
        result["commits"] = status["commits"]
        t = time.perf_counter()
        editor.get("/api/graph?offset=50000&limit=200")
        result["graph_page_ms"] = (time.perf_counter() - t) * 1000
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 850})
            t = time.perf_counter()
            page.goto(editor.url)
            page.wait_for_selector("[data-testid=commit-row][data-row='0']")
            result["page_load_s"] = time.perf_counter() - t
            try:
                page.wait_for_selector("[data-testid=commit-row][data-row='0']:not([data-state=pending])",
                                       timeout=120_000)
                result["flags_shown_s"] = time.perf_counter() - t
            except Exception as error:  # the engine's answer never came: say so, measure the rest
                print(f"  enabled flags not shown: {type(error).__name__}")
            middle = status["commits"] // 2
            t = time.perf_counter()
            page.evaluate(f"document.getElementById('graph').scrollTop = {middle} * 22")
            page.wait_for_selector(f"[data-testid=commit-row][data-row='{middle}']")
            result["scroll_render_ms"] = (time.perf_counter() - t) * 1000
            result["rows_in_dom"] = page.locator("[data-testid=commit-row]").count()
            page.evaluate("document.getElementById('graph').scrollTop = 0")
            page.wait_for_selector("[data-testid=commit-row][data-row='0']")
            # Another process commits; the page shows it. The writer is a fresh Python process
            # (its start-up dominates), so both are reported: from launching the writer, and
            # from the writer's exit (the page may show the commit before the writer has exited).
            t = time.perf_counter()
            try:
                # (a fresh process reading the last state of a history with a thousand merges
                # recurses deeply in the engine's read path: give the writer a deep stack)
                commit_in_another_process(path, "bench", recursion_limit=100_000)
            except Exception as error:
                print(f"  the writer process failed ({type(error).__name__}): no live figure")
                return result
            written = time.perf_counter()
            page.get_by_text("From another process", exact=True).wait_for(timeout=30000)
            shown = time.perf_counter()
            result["writer_process_s"] = written - t
            result["live_shown_after_writer_exit_s"] = max(0.0, shown - written)
            browser.close()
    finally:
        editor.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for n in args.commits:
        path = Path(tempfile.gettempdir()) / f"commitdb-editor-bench-{n}.cdb"
        t = time.perf_counter()
        build(path, n)
        built = time.perf_counter() - t
        copy = path.with_name(path.stem + "-run.cdb")
        import shutil

        shutil.copy(path, copy)
        result = measure(copy)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        print(f"{n} commits (built in {built:.1f} s): " + ", ".join(f"{k}={v:.3g}" for k, v in result.items()))


if __name__ == "__main__":
    main()
