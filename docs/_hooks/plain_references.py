"""A griffe extension for the API reference: docstrings in the source cite the sections of
the project's design notes (``SPEC §6.3``, ``FORMAT.md §7.2``), which users of the
documentation cannot read. The reference drops those citations, or names the page of this
site that covers the same ground."""

from __future__ import annotations

import re
from typing import Any

import griffe

CITATION = r"(?:SPEC|FORMAT|DESIGN|WIRE|EDITOR)(?:\.md)?(?:\s*§\s*[\d.]*\d)?"
# "(SPEC §7)", "(SPEC §4, §8)", "(SPEC §3.6, FORMAT.md §7.1)": dropped with their parentheses.
ONLY_CITATIONS = re.compile(rf"\s*\((?:see\s+)?{CITATION}(?:\s*,\s*(?:{CITATION}|§\s*[\d.]*\d))*\)")
FORMAT_CITATION = re.compile(r"FORMAT(?:\.md)?(?:\s*§\s*[\d.]*\d)?")
OTHER_CITATION = re.compile(rf"(?:the walk of |the order of )?{CITATION}")


def plain(text: str) -> str:
    """``text`` without citations of documents outside the site."""
    text = ONLY_CITATIONS.sub("", text)
    text = FORMAT_CITATION.sub("the file format (see File format)", text)
    return OTHER_CITATION.sub("the documented rules", text)


class PlainReferences(griffe.Extension):
    """Rewrites every docstring with :func:`plain`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
