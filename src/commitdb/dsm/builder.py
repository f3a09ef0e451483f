"""DSMBuilder: collect DSM sources, then parse them together (SPEC.md §2.3)."""

from __future__ import annotations

from pathlib import Path

from commitdb.dsm.definitions import Definitions
from commitdb.dsm.dsm_definitions import DSMDefinitions
from commitdb.dsm.parser import parse_source
from commitdb.dsm.report import DSMParseReport
from commitdb.dsm.resolver import resolve
from commitdb.errors import DSMSourceError, DSMSourceNotFoundError


class DSMBuilderPart:
    """One source of a build: its name (a path, or any label) and its text."""

    __slots__ = ("_content", "_source")

    def __init__(self, source: str, content: str) -> None:
        self._source, self._content = source, content

    def source(self) -> str:
        return self._source

    def content(self) -> str:
        return self._content

    def __repr__(self) -> str:
        return f"DSMBuilderPart({self._source!r})"


class DSMBuilder:
    """Sources in, ``(report, dsm_definitions, definitions)`` out.

    All sources of a builder form one model: any of them may use the types of another, and a
    namespace may be reopened in several of them. ``parse()`` never raises on a bad model; the
    report carries every error and both definitions are None when there is any.
    """

    def __init__(self) -> None:
        self._parts: list[DSMBuilderPart] = []

    def append(self, source: str, text: str) -> None:
        """Add a source named ``source`` (used in error messages) with content ``text``."""
        self._parts.append(DSMBuilderPart(str(source), text))

    def parts(self) -> list[DSMBuilderPart]:
        return list(self._parts)

    @classmethod
    def assemble(cls, path: str | Path) -> DSMBuilder:
        """A builder holding the file ``path``, or every ``*.dsm`` of the folder ``path``
        sorted by path. Raises DSMSourceError (a DSMError and an OSError; FileNotFoundError when
        nothing is there) when the path does not exist or cannot be read."""
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.glob("*.dsm") if f.is_file())
        elif p.is_file():
            files = [p]
        else:
            raise DSMSourceNotFoundError(f"no DSM file or folder at {str(path)!r}")
        builder = cls()
        for f in files:
            try:
                builder.append(str(f), f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as e:
                raise DSMSourceError(f"cannot read {str(f)!r}: {e}") from e
        return builder

    def parse(self) -> tuple[DSMParseReport, DSMDefinitions | None, Definitions | None]:
        parsed = [parse_source(part.source(), part.content()) for part in self._parts]
        _, dsm_definitions, semantic = resolve(parsed)
        rank = {part.source(): i for i, part in enumerate(self._parts)}
        errors = [e for p in parsed for e in p.errors] + semantic
        # Stable: two errors at one place keep the order in which they were found.
        errors.sort(key=lambda e: (rank.get(e.source(), len(rank)), e.line(), e.pos()))
        if errors:
            return DSMParseReport(errors), None, None
        assert dsm_definitions is not None
        return DSMParseReport(), dsm_definitions, dsm_definitions.definitions()
