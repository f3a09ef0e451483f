"""The parse report of a DSM build: errors are records, never exceptions (SPEC.md §2.2)."""

from __future__ import annotations

from collections.abc import Iterable


class DSMParseError:
    """One problem in a DSM source, at a 1-based line and column (``pos``).

    Prints as ``source:line:pos: message``.
    """

    __slots__ = ("_line", "_message", "_pos", "_source")

    def __init__(self, source: str, line: int, pos: int, message: str) -> None:
        self._source, self._line, self._pos, self._message = source, line, pos, message

    def source(self) -> str:
        return self._source

    def line(self) -> int:
        return self._line

    def pos(self) -> int:
        """The 1-based column, counted in characters."""
        return self._pos

    def column(self) -> int:
        return self._pos

    def message(self) -> str:
        return self._message

    def __str__(self) -> str:
        return f"{self._source}:{self._line}:{self._pos}: {self._message}"

    def __repr__(self) -> str:
        return f"DSMParseError({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DSMParseError) and (
            (self._source, self._line, self._pos, self._message)
            == (other._source, other._line, other._pos, other._message)
        )

    def __hash__(self) -> int:
        return hash((self._source, self._line, self._pos, self._message))


class DSMParseReport:
    """All the errors of one ``DSMBuilder.parse()``, in source order."""

    __slots__ = ("_errors",)

    def __init__(self, errors: Iterable[DSMParseError] = ()) -> None:
        self._errors = list(errors)

    def has_error(self) -> bool:
        return bool(self._errors)

    def errors(self) -> list[DSMParseError]:
        return list(self._errors)

    def __len__(self) -> int:
        return len(self._errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self._errors)

    def __repr__(self) -> str:
        return f"DSMParseReport({len(self._errors)} error(s))"
