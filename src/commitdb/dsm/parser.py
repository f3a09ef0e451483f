"""DSM text → AST (SPEC.md §2.1-2.2).

``parse_source(source, text)`` never raises on bad input: it returns the AST of everything it
could read and the list of syntax errors, each with a 1-based line and column.

Recovery: the whole text is first parsed in one go (the common case: no error). When that
fails, the text is cut into top-level items (``namespace ... };``, function pools) at ``;`` of
brace depth 0 and before any top-level keyword; each item is parsed alone, and an item that still
fails is cut again into its header and its declarations, each parsed alone with its own start
symbol. A chunk is parsed from a copy of the text padded so that lark reports the true line and
column. Declarations that could not be read are remembered by name (``broken_names``) so that
the resolver does not add "unknown type" errors on top of the syntax error.
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from commitdb.dsm.report import DSMParseError

# --- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Node:
    """Every node knows where it was written (1-based line and column)."""

    source: str = ""
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class TypeName(Node):
    """A reference to a named or primitive type: ``string``, ``User``, ``Lib::User``."""

    namespace: str | None
    name: str

    def text(self) -> str:
        return f"{self.namespace}::{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class AnyConceptRef(Node):
    """``any_concept`` (only valid as a key type)."""

    def text(self) -> str:
        return "any_concept"


@dataclass(frozen=True)
class IntegerArg(Node):
    """An integer argument of ``vec<T, n>`` / ``mat<T, c, r>``."""

    value: int
    literal: str

    def text(self) -> str:
        return self.literal


@dataclass(frozen=True)
class GenericType(Node):
    """``name<arg, ...>``; the name and the arity are checked by the resolver."""

    name: str
    arguments: tuple[TypeRef | IntegerArg, ...]

    def text(self) -> str:
        return f"{self.name}<{', '.join(a.text() for a in self.arguments)}>"


TypeRef = TypeName | GenericType | AnyConceptRef


@dataclass(frozen=True)
class Literal(Node):
    """A default value as written. ``kind``: number, string, bool, uuid, case or list.

    ``value``: the number's text, the decoded string, the bool, the uuid text (no braces), the
    case name, or a tuple of Literals.
    """

    kind: str
    value: object
    source_text: str = ""

    def text(self) -> str:
        if self.kind == "list":
            return "{" + ", ".join(item.text() for item in self.value) + "}"  # type: ignore[attr-defined]
        return self.source_text


@dataclass(frozen=True)
class ConceptDecl(Node):
    name: str
    parent: TypeName | None = None
    documentation: str = ""


@dataclass(frozen=True)
class ClubDecl(Node):
    name: str
    documentation: str = ""


@dataclass(frozen=True)
class MembershipDecl(Node):
    club: TypeName
    concept: TypeName
    documentation: str = ""


@dataclass(frozen=True)
class EnumCase(Node):
    name: str
    documentation: str = ""


@dataclass(frozen=True)
class EnumDecl(Node):
    name: str
    cases: tuple[EnumCase, ...]
    documentation: str = ""


@dataclass(frozen=True)
class FieldDecl(Node):
    type: TypeRef
    name: str
    default: Literal | None = None
    documentation: str = ""


@dataclass(frozen=True)
class StructDecl(Node):
    name: str
    fields: tuple[FieldDecl, ...]
    documentation: str = ""


@dataclass(frozen=True)
class AttachmentDecl(Node):
    key_type: TypeRef
    document_type: TypeRef
    name: str
    documentation: str = ""


Declaration = ConceptDecl | ClubDecl | MembershipDecl | EnumDecl | StructDecl | AttachmentDecl


@dataclass(frozen=True)
class NamespaceBlock(Node):
    """One ``namespace Name {uuid} { ... };`` (a namespace may be opened several times)."""

    name: str
    uuid: str
    declarations: tuple[Declaration, ...]
    documentation: str = ""


@dataclass(frozen=True)
class Parameter(Node):
    type: TypeRef
    name: str


@dataclass(frozen=True)
class Prototype(Node):
    return_type: TypeRef
    name: str
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class FunctionDecl(Node):
    prototype: Prototype
    documentation: str = ""
    mutable: bool = False


@dataclass(frozen=True)
class FunctionPoolDecl(Node):
    """``function_pool`` (``attachment=False``) or ``attachment_function_pool``."""

    name: str
    uuid: str
    functions: tuple[FunctionDecl, ...]
    attachment: bool = False
    documentation: str = ""


TopItem = NamespaceBlock | FunctionPoolDecl


@dataclass
class ParsedSource:
    """The result of parsing one source: what could be read, and the syntax errors."""

    source: str
    items: list[TopItem] = field(default_factory=list)
    errors: list[DSMParseError] = field(default_factory=list)
    broken_names: set[str] = field(default_factory=set)


# --- lark --------------------------------------------------------------------------------------

_STARTS = ["start", "ns_header", "ns_item", "pool_header", "function", "afpool_header", "attachment_function"]


@cache
def _lark() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        start=_STARTS,
        maybe_placeholders=True,
        propagate_positions=True,
    )


class _Syntax(Exception):
    """A syntax problem found after lark accepted the text (e.g. ``concept A is an B``)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def unescape(body: str) -> str:
    """Decode backslash escapes: ``\\n \\t \\r \\0 \\\\ \\" \\' \\xNN \\uNNNN``; others keep the char."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        width = {"x": 2, "u": 4}.get(nxt, 0)
        digits = body[i + 2:i + 2 + width]
        if width and len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
            out.append(chr(int(digits, 16)))
            i += 2 + width
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def clean_doc(raw: str) -> str:
    """The text of a ``\"\"\"...\"\"\"`` docstring, trimmed and dedented (stable under re-rendering)."""
    return inspect.cleandoc(raw[3:-3])


@v_args(meta=True)
class _ToAST(Transformer):  # type: ignore[type-arg]
    """lark tree → AST nodes. Declarations are positioned at their name."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.src = source

    def _pos(self, tok: Token | None, meta: object = None) -> dict[str, object]:
        if tok is not None:
            return {"source": self.src, "line": tok.line, "column": tok.column}
        return {"source": self.src, "line": getattr(meta, "line", 0), "column": getattr(meta, "column", 0)}

    # --- types
    def type_name(self, meta, kids):  # type: ignore[no-untyped-def]
        if len(kids) == 2 and kids[1] is not None:
            return TypeName(str(kids[0]), str(kids[1]), **self._pos(kids[0]))
        return TypeName(None, str(kids[0]), **self._pos(kids[0]))

    def generic_type(self, meta, kids):  # type: ignore[no-untyped-def]
        return GenericType(str(kids[0]), tuple(kids[1:]), **self._pos(kids[0]))

    def any_concept(self, meta, kids):  # type: ignore[no-untyped-def]
        return AnyConceptRef(**self._pos(kids[0]))

    def integer(self, meta, kids):  # type: ignore[no-untyped-def]
        tok = kids[0]
        text = str(tok)
        value = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else -1
        if value < 0:
            raise _Syntax(tok.line, tok.column, f"unexpected `{text}`; expected a positive integer")
        return IntegerArg(value, text, **self._pos(tok))

    # --- literals
    def number(self, meta, kids):  # type: ignore[no-untyped-def]
        return Literal("number", str(kids[0]), str(kids[0]), **self._pos(kids[0]))

    def string(self, meta, kids):  # type: ignore[no-untyped-def]
        text = str(kids[0])
        return Literal("string", unescape(text[1:-1]), text, **self._pos(kids[0]))

    def true(self, meta, kids):  # type: ignore[no-untyped-def]
        return Literal("bool", True, "true", **self._pos(kids[0]))

    def false(self, meta, kids):  # type: ignore[no-untyped-def]
        return Literal("bool", False, "false", **self._pos(kids[0]))

    def uuid(self, meta, kids):  # type: ignore[no-untyped-def]
        text = str(kids[0])
        return Literal("uuid", text[1:-1].lower(), text, **self._pos(kids[0]))

    def case(self, meta, kids):  # type: ignore[no-untyped-def]
        return Literal("case", str(kids[0]), f".{kids[0]}", **self._pos(None, meta))

    def list(self, meta, kids):  # type: ignore[no-untyped-def]
        items = tuple(k for k in kids[1:] if k is not None)
        return Literal("list", items, "", **self._pos(kids[0]))

    def doc(self, meta, kids):  # type: ignore[no-untyped-def]
        return clean_doc(str(kids[0]))

    # --- declarations
    def is_a(self, meta, kids):  # type: ignore[no-untyped-def]
        for tok, word in ((kids[0], "is"), (kids[1], "a")):
            if str(tok) != word:
                raise _Syntax(tok.line, tok.column, f"unexpected `{tok}`; expected `{word}`")
        return kids[2]

    def concept(self, meta, kids):  # type: ignore[no-untyped-def]
        return ConceptDecl(str(kids[0]), kids[1], **self._pos(kids[0]))

    def club(self, meta, kids):  # type: ignore[no-untyped-def]
        return ClubDecl(str(kids[0]), **self._pos(kids[0]))

    def membership(self, meta, kids):  # type: ignore[no-untyped-def]
        return MembershipDecl(kids[0], kids[1], **self._pos(None, meta))

    def enum_case(self, meta, kids):  # type: ignore[no-untyped-def]
        return EnumCase(str(kids[1]), kids[0] or "", **self._pos(kids[1]))

    def enum(self, meta, kids):  # type: ignore[no-untyped-def]
        cases = tuple(k for k in kids[1:] if k is not None)
        return EnumDecl(str(kids[0]), cases, **self._pos(kids[0]))

    def field(self, meta, kids):  # type: ignore[no-untyped-def]
        doc, type_, name, default = kids
        return FieldDecl(type_, str(name), default, doc or "", **self._pos(name))

    def struct(self, meta, kids):  # type: ignore[no-untyped-def]
        return StructDecl(str(kids[0]), tuple(kids[1:]), **self._pos(kids[0]))

    def attachment(self, meta, kids):  # type: ignore[no-untyped-def]
        key, doc_type, name = kids
        return AttachmentDecl(key, doc_type, str(name), **self._pos(name))

    def ns_item(self, meta, kids):  # type: ignore[no-untyped-def]
        doc, decl = kids
        return _with_doc(decl, doc)

    def ns_header(self, meta, kids):  # type: ignore[no-untyped-def]
        doc, name, uuid_tok = kids
        return (doc or "", name, str(uuid_tok)[1:-1].lower())

    def namespace(self, meta, kids):  # type: ignore[no-untyped-def]
        (doc, name, uuid), decls = kids[0], kids[1:]
        return NamespaceBlock(str(name), uuid, tuple(decls), doc, **self._pos(name))

    # --- function pools
    def parameter(self, meta, kids):  # type: ignore[no-untyped-def]
        return Parameter(kids[0], str(kids[1]), **self._pos(kids[1]))

    def prototype(self, meta, kids):  # type: ignore[no-untyped-def]
        params = tuple(k for k in kids[2:] if k is not None)
        return Prototype(kids[0], str(kids[1]), params, **self._pos(kids[1]))

    def function(self, meta, kids):  # type: ignore[no-untyped-def]
        doc, proto = kids
        return FunctionDecl(proto, doc or "", False, **self._pos(None, meta))

    def attachment_function(self, meta, kids):  # type: ignore[no-untyped-def]
        doc, mutable, proto = kids
        return FunctionDecl(proto, doc or "", mutable is not None, **self._pos(None, meta))

    pool_header = ns_header
    afpool_header = ns_header

    def function_pool(self, meta, kids):  # type: ignore[no-untyped-def]
        (doc, name, uuid), functions = kids[0], kids[1:]
        return FunctionPoolDecl(str(name), uuid, tuple(functions), False, doc, **self._pos(name))

    def attachment_function_pool(self, meta, kids):  # type: ignore[no-untyped-def]
        (doc, name, uuid), functions = kids[0], kids[1:]
        return FunctionPoolDecl(str(name), uuid, tuple(functions), True, doc, **self._pos(name))

    def start(self, meta, kids):  # type: ignore[no-untyped-def]
        return list(kids)


def _with_doc(decl: Declaration, doc: str | None) -> Declaration:
    return replace(decl, documentation=doc) if doc else decl


# --- error messages ----------------------------------------------------------------------------

_DECL_KEYWORDS = frozenset({"CONCEPT", "CLUB", "MEMBERSHIP", "ENUM", "STRUCT", "ATTACHMENT"})
_TOP_KEYWORDS = frozenset({"NAMESPACE", "FUNCTION_POOL", "ATTACHMENT_FUNCTION_POOL"})
_NAMED_TERMINALS = {
    "NAME": "an identifier",
    "NUMBER": "a number",
    "STRING": "a string",
    "UUID": "a uuid",
    "DOCSTRING": "a docstring",
    "$END": "end of file",
}


def _describe_terminal(name: str) -> str:
    if name in _NAMED_TERMINALS:
        return _NAMED_TERMINALS[name]
    for term in _lark().terminals:
        if term.name == name:
            return f"`{term.pattern.value}`"
    return name


def describe_expected(names: set[str] | frozenset[str]) -> str:
    """Human text for a set of lark terminal names: ``a definition or `}` ``."""
    names = set(names)
    words: set[str] = set()
    if names & _DECL_KEYWORDS:
        words.add("a definition")
        names -= _DECL_KEYWORDS | {"DOCSTRING"}
    if names & _TOP_KEYWORDS:
        words |= {"a namespace", "a function pool"}
        names -= _TOP_KEYWORDS | {"DOCSTRING"}
    if words or len(names) > 1:  # a docstring is always possible; only say so when alone
        names.discard("DOCSTRING")
    words |= {_describe_terminal(n) for n in names}
    ordered = sorted(words, key=lambda w: (w.startswith("`"), w))
    if not ordered:
        return "nothing"
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _shown(text: str) -> str:
    text = text if len(text) <= 24 else text[:21] + "..."
    return "`" + text.replace("\n", " ") + "`"


# --- scanning and chunking ---------------------------------------------------------------------

_SCAN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f]+)
  | (?P<comment>(?://|\#)[^\n]*)
  | (?P<doc>\"\"\"(?:.|\n)*?\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<uuid>\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\})
  | (?P<word>[A-Za-z][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_TOP_WORDS = frozenset({"namespace", "function_pool", "attachment_function_pool"})
_DECL_WORDS = frozenset({"concept", "club", "membership", "enum", "struct", "attachment"})
_NAMED_DECL_WORDS = frozenset({"concept", "club", "enum", "struct"})


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    def is_punct(self, char: str) -> bool:
        return self.kind == "other" and self.text == char


def _scan(text: str) -> list[_Tok]:
    """Significant tokens (no whitespace, no comments), enough to find structural boundaries."""
    toks: list[_Tok] = []
    for m in _SCAN.finditer(text):
        kind = m.lastgroup or "other"
        if kind not in ("ws", "comment"):
            toks.append(_Tok(kind, m.group(), m.start(), m.end()))
    return toks


def _split(toks: list[_Tok], starters: frozenset[str]) -> tuple[list[list[_Tok]], list[_Tok]]:
    """Cut ``toks`` into items ending with ``;`` at brace depth 0, or before a starter keyword.

    A ``}`` at depth 0 ends the sequence (it closes the enclosing block): the tokens from it on
    are returned as the tail. Docstrings right before a starter move with it.
    """
    items: list[list[_Tok]] = []
    cur: list[_Tok] = []
    depth = 0
    for i, tok in enumerate(toks):
        if tok.kind == "word" and tok.text in starters and any(t.kind != "doc" for t in cur) and (
            depth <= 0 or _looks_like_declaration(toks, i)
        ):
            moved: list[_Tok] = []
            while cur and cur[-1].kind == "doc":
                moved.insert(0, cur.pop())
            items.append(cur)
            cur, depth = moved, 0
        if tok.is_punct("}") and depth == 0:
            if cur:
                items.append(cur)
            return items, toks[i:]
        cur.append(tok)
        if tok.is_punct("{"):
            depth += 1
        elif tok.is_punct("}"):
            depth -= 1
        elif tok.is_punct(";") and depth <= 0:
            items.append(cur)
            cur, depth = [], 0
    if cur:
        items.append(cur)
    return items, []


def _body_brace(chunk: list[_Tok]) -> int | None:
    """The index of the ``{`` that opens the body of ``namespace N {uuid} {``. A malformed
    uuid is scanned as ``{ ... }``: then the body opens at the first ``{`` after its ``}``."""
    start = next((i for i, t in enumerate(chunk) if t.kind != "doc"), 0)
    if start + 2 < len(chunk) and chunk[start + 2].is_punct("{"):
        for i in range(start + 3, len(chunk)):
            if chunk[i].is_punct(";") or chunk[i].text in _DECL_WORDS:
                break
            if chunk[i].is_punct("}"):
                after = next((j for j in range(i + 1, len(chunk)) if chunk[j].is_punct("{")), None)
                return after
    found = next((i for i, t in enumerate(chunk) if t.is_punct("{")), None)
    return None if found is None or found <= start else found


def _looks_like_declaration(toks: list[_Tok], i: int) -> bool:
    """Whether the keyword at ``i``, met inside braces, starts a declaration (``concept B``)
    rather than being misused as a name (``int64 concept;``): then the braces were unclosed."""
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None:
        return False
    return nxt.kind == "word" or (toks[i].text == "attachment" and nxt.is_punct("<"))


class _Chunker:
    """Parses chunks of one source and collects their errors."""

    def __init__(self, source: str, text: str) -> None:
        self.source, self.text = source, text
        self.toks = _scan(text)
        self.result = ParsedSource(source)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self._line_starts, offset) - 1
        return i + 1, offset - self._line_starts[i] + 1

    def error(self, line: int, column: int, message: str) -> None:
        self.result.errors.append(DSMParseError(self.source, line, column, message))

    def _after(self, chunk: list[_Tok]) -> _Tok | None:
        """The first significant token after ``chunk``."""
        end = chunk[-1].end
        for tok in self.toks:
            if tok.start >= end:
                return tok
        return None

    def parse(self, chunk: list[_Tok], start: str, closable: bool = False) -> object | None:
        """Parse the text of ``chunk`` with ``start``; on failure record one error, return None."""
        lo, hi = chunk[0].start, chunk[-1].end
        line, column = self.position(lo)
        padded = "\n" * (line - 1) + " " * (column - 1) + self.text[lo:hi]
        try:
            tree = _lark().parse(padded, start=start)
            return _ToAST(self.source).transform(tree)
        except _Syntax as e:
            self.error(e.line, e.column, e.message)
        except UnexpectedInput as e:
            self._report(e, chunk, closable)
        except Exception as e:  # lark wraps transformer errors in VisitError
            inner = getattr(e, "orig_exc", None)
            if not isinstance(inner, _Syntax):
                raise
            self.error(inner.line, inner.column, inner.message)
        return None

    def _report(self, e: UnexpectedInput, chunk: list[_Tok], closable: bool = False) -> None:
        if isinstance(e, UnexpectedCharacters):
            self.error(e.line, e.column, f"unexpected character {_shown(e.char)}")
            return
        expected: set[str] = set()
        if isinstance(e, UnexpectedToken):
            expected = set(e.accepts or e.expected)
            at_end = e.token.type == "$END"
        else:
            expected = set(getattr(e, "expected", ()) or ())
            at_end = isinstance(e, UnexpectedEOF)
        first = next((t for t in chunk if t.kind != "doc"), chunk[0])
        if closable and not at_end and (e.line, e.column) == self.position(first.start):
            expected.add("RBRACE")  # the block could have been closed instead of this item
        want = describe_expected(expected)
        if not at_end:
            tok = e.token  # type: ignore[attr-defined]
            self.error(tok.line, tok.column, f"unexpected {_shown(str(tok))}; expected {want}")
            return
        # The chunk ended early: the culprit is whatever follows it in the file.
        nxt = self._after(chunk)
        if nxt is None:
            line, column = self.position(len(self.text))
            self.error(line, column, f"unexpected end of file; expected {want}")
        else:
            line, column = self.position(nxt.start)
            self.error(line, column, f"unexpected {_shown(nxt.text)}; expected {want}")

    # --- recovery
    def recover(self) -> None:
        items, tail = _split(self.toks, _TOP_WORDS)
        if tail:  # a stray `}` at top level: report it, then carry on after it
            items.append(tail)
        for chunk in items:
            if not chunk:
                continue
            errors_before = len(self.result.errors)
            parsed = self.parse(chunk, "start")
            if parsed is not None:
                self.result.items.extend(parsed)  # type: ignore[arg-type]
                continue
            head = next((t for t in chunk if t.kind != "doc"), None)
            if head is None or head.text not in _TOP_WORDS:
                continue
            del self.result.errors[errors_before:]
            self._recover_block(chunk, head.text)
            if len(self.result.errors) == errors_before:  # recovery found nothing: keep lark's word
                self.parse(chunk, "start")

    def _recover_block(self, chunk: list[_Tok], keyword: str) -> None:
        header_start, item_start = {
            "namespace": ("ns_header", "ns_item"),
            "function_pool": ("pool_header", "function"),
            "attachment_function_pool": ("afpool_header", "attachment_function"),
        }[keyword]
        brace = _body_brace(chunk)
        if brace is None:
            self.parse(chunk, "start")
            return
        header = self.parse(chunk[:brace], header_start)
        if header is None:  # its name may still be readable: spare its users "unknown type"
            self._remember_broken(chunk[:brace])
        starters = _DECL_WORDS if keyword == "namespace" else frozenset()
        items, tail = _split(chunk[brace + 1:], starters)
        parsed = []
        for item in items:
            node = self.parse(item, item_start, closable=True)
            if node is None:
                self._remember_broken(item)
            else:
                parsed.append(node)
        if not tail:
            last = chunk[-1]
            self._expect_after(last, "`}`")
        elif len(tail) == 1:
            self._expect_after(tail[0], "`;`")
        elif not tail[1].is_punct(";") or len(tail) > 2:
            bad = tail[1] if not tail[1].is_punct(";") else tail[2]
            line, column = self.position(bad.start)
            self.error(line, column, f"unexpected {_shown(bad.text)}; expected `;`")
        if header is None:
            for node in parsed:
                if hasattr(node, "name") and not isinstance(node, AttachmentDecl):
                    self.result.broken_names.add(node.name)
            return
        doc, name, uuid = header  # type: ignore[misc]
        line, column = name.line, name.column
        if keyword == "namespace":
            block: TopItem = NamespaceBlock(
                str(name), uuid, tuple(parsed), doc, source=self.source, line=line, column=column
            )
        else:
            block = FunctionPoolDecl(
                str(name), uuid, tuple(parsed), keyword != "function_pool", doc,
                source=self.source, line=line, column=column,
            )
        self.result.items.append(block)

    def _expect_after(self, last: _Tok, what: str) -> None:
        nxt = self._after([last])
        if nxt is None:
            line, column = self.position(len(self.text))
            self.error(line, column, f"unexpected end of file; expected {what}")
        else:
            line, column = self.position(nxt.start)
            self.error(line, column, f"unexpected {_shown(nxt.text)}; expected {what}")

    def _remember_broken(self, item: list[_Tok]) -> None:
        """Record the name(s) an unreadable declaration probably declares: the word after its
        keyword, and any word right before a ``{`` (``struc t Transform {``)."""
        words = [t for t in item if t.kind != "doc"]
        if len(words) >= 2 and words[0].text in _NAMED_DECL_WORDS | _TOP_WORDS and words[1].kind == "word":
            self.result.broken_names.add(words[1].text)
        for tok, nxt in itertools.pairwise(words):
            if tok.kind == "word" and nxt.is_punct("{"):
                self.result.broken_names.add(tok.text)


def parse_source(source: str, text: str) -> ParsedSource:
    """Parse one DSM source. Never raises for bad input; see the module docstring."""
    chunker = _Chunker(source, text)
    if not chunker.toks:
        return chunker.result
    try:
        tree = _lark().parse(text, start="start")
        chunker.result.items.extend(_ToAST(source).transform(tree))
        return chunker.result
    except (UnexpectedInput, _Syntax):
        pass
    except Exception as e:  # VisitError around a _Syntax raised by the transformer
        if not isinstance(getattr(e, "orig_exc", None), _Syntax):
            raise
    chunker.result.items.clear()
    chunker.recover()
    chunker.result.errors.sort(key=lambda err: (err.line(), err.pos()))
    return chunker.result


__all__ = [
    "AnyConceptRef",
    "AttachmentDecl",
    "ClubDecl",
    "ConceptDecl",
    "Declaration",
    "EnumCase",
    "EnumDecl",
    "FieldDecl",
    "FunctionDecl",
    "FunctionPoolDecl",
    "GenericType",
    "IntegerArg",
    "Literal",
    "MembershipDecl",
    "NamespaceBlock",
    "Node",
    "Parameter",
    "ParsedSource",
    "Prototype",
    "StructDecl",
    "TopItem",
    "TypeName",
    "TypeRef",
    "describe_expected",
    "parse_source",
    "unescape",
]
