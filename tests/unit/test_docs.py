"""The documentation stands alone: no page cites files outside the repository, every page is
in the site's navigation, and the API reference drops the design-note citations of docstrings.
(The examples of the pages run through docs/conftest.py; ``make docs`` builds the site.)"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OUTSIDE = re.compile(r"SPEC(?:\.md)?\s*§|\bSPEC\.md|FORMAT\.md|DESIGN\.md|WIRE\.md|EDITOR\.md|\.\./shared|/work/")


def _hook():
    spec = importlib.util.spec_from_file_location("plain_references", DOCS / "_hooks" / "plain_references.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_page_cites_a_file_outside_the_repository():
    offenders = [f"{page.name}: {m.group(0)}" for page in DOCS.glob("*.md")
                 for m in OUTSIDE.finditer(page.read_text(encoding="utf-8"))]
    assert offenders == []
    assert not OUTSIDE.search((ROOT / "README.md").read_text(encoding="utf-8"))


def test_every_page_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^  - [^:]+: (\S+\.md)$", config, re.MULTILINE))
    assert nav == {page.name for page in DOCS.glob("*.md")}
    for page in ("getting-started.md", "concepts.md", "dsm.md", "api.md", "cli.md", "server.md", "format.md",
                 "protocol.md"):
        assert page in nav


def test_the_api_reference_drops_citations_of_design_notes():
    plain = _hook().plain
    assert plain("Undo and redo (SPEC §7).") == "Undo and redo."
    assert plain("Paths (SPEC §3.6, FORMAT.md §7.1).") == "Paths."
    assert plain("in the order of FORMAT.md §5.2") == "in the order of the file format (see File format)"
    left = []
    for path in (ROOT / "src" / "commitdb").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc and OUTSIDE.search(plain(doc)):
                    left.append(f"{path.name}: {OUTSIDE.search(plain(doc)).group(0)}")
    assert left == []


def test_every_api_reference_entry_exists():
    import importlib

    entries = re.findall(r"^::: (\S+)$", (DOCS / "api.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert len(entries) > 20
    for entry in entries:
        module, _, name = entry.rpartition(".")
        try:
            importlib.import_module(entry)           # a module
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module), name), entry
