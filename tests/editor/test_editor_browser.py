"""The editor in a real browser (Playwright driving Debian's Chromium): what a person would
otherwise check by hand. One browser for the module; a fresh example database and editor per
test."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from editor_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EditorThread,
    ServedDatabase,
    commit_in_another_process,
    nickname_at_last_commit,
)
from playwright import sync_api as playwright_api

if not os.path.exists(CHROMIUM):
    pytest.fail(f"{CHROMIUM} is missing: the Makefile installs it (apt-get install chromium)", pytrace=False)

TIMEOUT = 5000  # ms for anything the page must show


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, editor: EditorThread) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 850})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(editor.url)
    tab.wait_for_selector("body[data-live='1']")
    yield tab
    context.close()
    assert not errors, errors


def open_login(page: Any) -> None:
    page.click("[data-testid=attachment-item][data-name=login]")
    page.click("[data-testid=key-item]")
    page.wait_for_selector("[data-testid=doc-row][data-path='.nickname']")


def nickname_cell(page: Any) -> Any:
    return page.locator("[data-testid=doc-row][data-path='.nickname'] [data-testid=doc-value]")


def row(page: Any, label: str) -> Any:
    """The graph row whose label is exactly ``label``."""
    return page.locator("[data-testid=commit-row]").filter(has=page.get_by_text(label, exact=True))


def set_nickname(page: Any, value: str) -> None:
    nickname_cell(page).click()
    field = page.locator("[data-testid=value-input]")
    field.fill(value)
    field.press("Enter")


def test_title_graph_and_document_of_the_example(page: Any) -> None:
    assert page.locator("[data-testid=title]").inner_text() == "example.cdb"
    assert page.locator("[data-testid=commit-row]").count() == 2
    assert row(page, "Rename").get_attribute("data-head") == "1"
    assert page.locator("[data-testid=graph-node]").count() == 2
    open_login(page)
    assert nickname_cell(page).inner_text() == "'alice_updated'"


def test_selecting_an_old_commit_shows_the_old_value(page: Any) -> None:
    open_login(page)
    row(page, "Add Alice").click()
    playwright_api.expect(nickname_cell(page)).to_have_text("'alice'")
    playwright_api.expect(page.locator("[data-testid=current-label]")).to_have_text("Add Alice")
    row(page, "Rename").click()
    playwright_api.expect(nickname_cell(page)).to_have_text("'alice_updated'")


def test_an_edit_is_a_new_commit_in_the_graph_and_in_the_file(page: Any, database: Path) -> None:
    open_login(page)
    set_nickname(page, "bob")
    playwright_api.expect(row(page, "Update nickname To 'bob'")).to_have_count(1)
    playwright_api.expect(nickname_cell(page)).to_have_text("'bob'")
    assert page.locator("[data-testid=commit-row]").count() == 3
    assert nickname_at_last_commit(database) == "bob"


def test_a_value_of_the_wrong_type_shows_an_error_next_to_the_field(page: Any, database: Path) -> None:
    open_login(page)
    page.click("[data-testid=instance-attachment][data-name=avatar]")  # adds the avatar document
    page.wait_for_selector("[data-testid=doc-row][data-path='.width']")
    before = page.locator("[data-testid=commit-row]").count()
    width = page.locator("[data-testid=doc-row][data-path='.width']")
    width.locator("[data-testid=doc-value]").click()
    page.fill("[data-testid=value-input]", "70000")
    page.press("[data-testid=value-input]", "Enter")
    error = width.locator("[data-testid=field-error]")
    playwright_api.expect(error).to_contain_text("70000")
    assert page.locator("[data-testid=commit-row]").count() == before  # nothing was written
    page.fill("[data-testid=value-input]", "640")
    page.press("[data-testid=value-input]", "Enter")
    playwright_api.expect(width.locator("[data-testid=doc-value]")).to_have_text("640")
    playwright_api.expect(row(page, "Update width To 640")).to_have_count(1)


def test_undo_and_redo(page: Any) -> None:
    open_login(page)
    set_nickname(page, "carol")
    playwright_api.expect(nickname_cell(page)).to_have_text("'carol'")
    page.click("[data-testid=undo]")
    playwright_api.expect(nickname_cell(page)).to_have_text("'alice_updated'")
    undo_row = row(page, "Undo [Update nickname To 'carol']")
    playwright_api.expect(undo_row).to_have_attribute("data-type", "Disable")
    # the undone commit is greyed in the graph: disabled in the current state
    playwright_api.expect(row(page, "Update nickname To 'carol'")).to_have_attribute("data-state", "disabled")
    playwright_api.expect(page.locator("[data-testid=redo-step]")).to_have_count(1)
    page.click("[data-testid=redo]")
    playwright_api.expect(nickname_cell(page)).to_have_text("'carol'")
    playwright_api.expect(row(page, "Redo [Update nickname To 'carol']")).to_have_count(1)
    assert page.locator("[data-testid=redo]").is_disabled()


def test_merge_two_heads(page: Any, database: Path) -> None:
    open_login(page)
    row(page, "Add Alice").click()
    playwright_api.expect(nickname_cell(page)).to_have_text("'alice'")
    set_nickname(page, "dave")  # on a commit that is not a head: the page asks first
    page.click("[data-testid=confirm-ok]")
    playwright_api.expect(page.locator("[data-testid=commit-row][data-head='1']")).to_have_count(2)
    playwright_api.expect(page.locator("[data-testid=summary]")).to_contain_text("2 heads")
    page.click("[data-testid=merge-heads]")
    playwright_api.expect(page.locator("[data-testid=commit-row][data-type=Merge]")).to_have_count(1)
    playwright_api.expect(page.locator("[data-testid=summary]")).to_contain_text("1 head")
    # the page shows the merged document as any reader of the file sees it
    merged = nickname_at_last_commit(database)
    assert merged in ("dave", "alice_updated")
    playwright_api.expect(nickname_cell(page)).to_have_text(f"'{merged}'")


def test_mark_and_merge_marked_into_current(page: Any) -> None:
    open_login(page)
    row(page, "Add Alice").click()
    playwright_api.expect(nickname_cell(page)).to_have_text("'alice'")
    set_nickname(page, "erin")
    page.click("[data-testid=confirm-ok]")
    playwright_api.expect(row(page, "Update nickname To 'erin'")).to_have_count(1)
    assert page.locator("[data-testid=merge-marked]").is_disabled()
    row(page, "Rename").click(modifiers=["Control"])
    playwright_api.expect(page.locator("[data-testid=marked-label]")).to_have_text("Rename")
    playwright_api.expect(page.locator("[data-testid=merge-marked]")).to_be_enabled()
    page.click("[data-testid=merge-marked]")
    playwright_api.expect(row(page, "Merge [Rename]")).to_have_attribute("data-type", "Merge")


def test_sync_with_a_served_database(page: Any, database: Path, tmp_path: Path) -> None:
    served_path = tmp_path / "served.cdb"
    shutil.copy(database, served_path)
    commit_in_another_process(served_path, "frank")  # the served copy has one commit more
    server = ServedDatabase(served_path)
    try:
        page.click("[data-testid=tab-sync]")
        page.select_option("[data-testid=sync-kind]", "host")
        page.fill("[data-testid=sync-host]", "127.0.0.1")
        page.fill("[data-testid=sync-port]", str(server.port))
        page.click("[data-testid=sync-fetch]")
        playwright_api.expect(row(page, "From another process")).to_have_count(1)
        playwright_api.expect(page.locator("[data-testid=sync-log-entry]").last).to_contain_text("fetched 1 commits")
        open_login(page)
        page.click("[data-testid=forward]")  # to the fetched head
        playwright_api.expect(nickname_cell(page)).to_have_text("'frank'")
        set_nickname(page, "grace")
        playwright_api.expect(row(page, "Update nickname To 'grace'")).to_have_count(1)
        page.click("[data-testid=sync-push]")
        playwright_api.expect(page.locator("[data-testid=sync-log-entry]").last).to_contain_text("pushed 1 commits")
    finally:
        server.stop()
    assert nickname_at_last_commit(served_path) == "grace"


def test_unreachable_sync_source_is_a_clear_message(page: Any) -> None:
    page.click("[data-testid=tab-sync]")
    page.select_option("[data-testid=sync-kind]", "host")
    page.fill("[data-testid=sync-host]", "127.0.0.1")
    page.fill("[data-testid=sync-port]", "1")
    page.click("[data-testid=sync-sync]")
    playwright_api.expect(page.locator("[data-testid=error]")).to_contain_text("cannot be reached")


def test_another_process_commit_appears_without_reload(page: Any, database: Path) -> None:
    open_login(page)
    page.evaluate("window.__marker = 'same page'")
    start = time.monotonic()
    commit_in_another_process(database, "heidi")
    written = time.monotonic()
    playwright_api.expect(row(page, "From another process")).to_have_count(1, timeout=3000)
    shown = time.monotonic()
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert shown - written < 1.5, f"the commit took {shown - written:.2f} s to show ({written - start:.2f} s to write)"


def test_panels_program_diff_actions_info_blobs(page: Any) -> None:
    page.click("[data-testid=tab-program]")
    playwright_api.expect(page.locator("[data-testid=opcode]")).to_have_count(1)
    assert "Document_Update" in page.locator("[data-testid=opcode]").inner_text()
    page.locator("[data-testid=opcode]").click()
    playwright_api.expect(page.locator("[data-testid=program-value]")).to_have_text("'alice_updated'")
    page.check("[data-testid=program-trace]")
    playwright_api.expect(page.locator("[data-testid=opcode]")).to_have_count(2)
    page.click("[data-testid=tab-diff]")
    playwright_api.expect(page.locator("[data-testid=diff-row]")).to_contain_text("'alice_updated'")
    page.click("[data-testid=tab-actions]")
    playwright_api.expect(page.locator("[data-testid=action]")).to_have_count(2)
    page.locator("[data-testid=action]", has_text="Rename").locator("[data-testid=action-toggle]").click()
    playwright_api.expect(row(page, "Disable [Rename]")).to_have_count(1)
    playwright_api.expect(row(page, "Rename")).to_have_attribute("data-state", "disabled")
    rename = row(page, "Rename").get_attribute("data-commit")
    playwright_api.expect(page.locator(f"[data-testid=action][data-commit='{rename}']")).to_have_class(re.compile("off"))
    page.click("[data-testid=tab-info]")
    playwright_api.expect(page.locator("[data-testid=info-codec]")).to_have_text("StreamBinary")
    playwright_api.expect(page.locator("[data-testid=info-dsm]")).to_contain_text("attachment<User, Login> login;")
    page.click("[data-testid=tab-blobs]")
    playwright_api.expect(page.locator("[data-testid=blob-stats]")).to_contain_text("0 blobs")


def test_container_operations_through_the_page(browser: Any, make_db: Any) -> None:
    from test_editor_edits import MODEL

    db, _ = make_db(MODEL)
    running = EditorThread(db, "memory")
    context = browser.new_context(viewport={"width": 1500, "height": 850})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    try:
        tab.goto(running.url)
        tab.wait_for_selector("body[data-live='1']")
        tab.click("[data-testid=attachment-item][data-name=profile]")
        tab.click("[data-testid=new-instance]")
        history = tab.locator("[data-testid=doc-row][data-path='.history']")
        history.locator("[data-testid=op-vector_append]").click()
        tab.fill("[data-testid=op-value]", '"first"')
        tab.click("[data-testid=op-submit]")
        playwright_api.expect(tab.locator("[data-testid=doc-row][data-path='.history[0]'] [data-testid=doc-value]"))\
            .to_have_text("'first'")
        counters = tab.locator("[data-testid=doc-row][data-path='.counters']")
        counters.locator("[data-testid=op-map_add]").click()
        tab.fill("[data-testid=op-key]", '"x"')
        tab.fill("[data-testid=op-value]", '"not a number"')
        tab.click("[data-testid=op-submit]")
        playwright_api.expect(tab.locator("[data-testid=op-form] [data-testid=field-error]")).to_contain_text("value")
        tab.fill("[data-testid=op-value]", "7")
        tab.click("[data-testid=op-submit]")
        playwright_api.expect(tab.locator("[data-testid=doc-row][data-path=\".counters['x']\"] [data-testid=doc-value]"))\
            .to_have_text("7")
        tab.locator("[data-testid=doc-row][data-path='.mood'] [data-testid=doc-value]").click()
        tab.select_option("[data-testid=value-input]", "happy")
        playwright_api.expect(tab.locator("[data-testid=doc-row][data-path='.mood'] [data-testid=doc-value]"))\
            .to_have_text("happy")
        labels = [r["label"] for r in running.get("/api/graph")["rows"]]
        assert labels == ["Update mood To happy", "Insert a Key", "Append in Vector", "New instance of E::Thing"]
    finally:
        context.close()
        running.stop()


def test_upload_a_blob_keyboard_moves_and_delete_a_head(page: Any, tmp_path: Path) -> None:
    open_login(page)
    page.click("[data-testid=instance-attachment][data-name=portrait]")  # adds the portrait document
    pixels = page.locator("[data-testid=doc-row][data-path='.pixels']")
    picture = tmp_path / "picture.bin"
    picture.write_bytes(b"\x00\x01\x02\x03")
    with page.expect_file_chooser() as chooser:
        pixels.locator("[data-testid=op-upload]").click()
    chooser.value.set_files(str(picture))
    playwright_api.expect(page.locator("[data-testid=commit-row]", has_text="Update pixels To")).to_have_count(1)
    playwright_api.expect(pixels.locator("[data-testid=doc-value]")).not_to_contain_text("0" * 40)
    page.click("[data-testid=tab-blobs]")
    playwright_api.expect(page.locator("[data-testid=blob-stats]")).to_contain_text("1 blobs · 4 bytes")
    # keyboard: down goes to the parent, up to the first child
    top = page.locator("[data-testid=commit-row][data-row='0']").get_attribute("data-commit")
    page.focus("[data-testid=graph]")
    page.keyboard.press("ArrowDown")
    playwright_api.expect(page.locator("[data-testid=commit-row].current")).not_to_have_attribute("data-commit", top)
    page.keyboard.press("ArrowUp")
    playwright_api.expect(page.locator("[data-testid=commit-row].current")).to_have_attribute("data-commit", top)
    # delete the head behind a confirmation: cancel keeps it, OK removes it
    count = page.locator("[data-testid=commit-row]").count()
    page.click("[data-testid=delete-head]")
    page.click("[data-testid=confirm-cancel]")
    assert page.locator("[data-testid=commit-row]").count() == count
    page.click("[data-testid=delete-head]")
    page.click("[data-testid=confirm-ok]")
    playwright_api.expect(page.locator("[data-testid=commit-row]")).to_have_count(count - 1)
