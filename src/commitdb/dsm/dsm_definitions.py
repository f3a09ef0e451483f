"""DSMDefinitions: what a DSM build declared, in source order, and its canonical DSM text.

``definitions()`` is the runtime Definitions (types and attachments). On top of it this object
keeps what the runtime does not need but a model author does: the order of declarations,
memberships as written, namespace documentation and the function pools. ``to_dsm()`` renders
all of it so that parsing the text again gives the same definitions (same hexdigest, same
documentation, same pools) and the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from commitdb.dsm.definitions import Attachment, Definitions
from commitdb.values import types as T
from commitdb.values.types import (
    NameSpace,
    Type,
    TypeClub,
    TypeConcept,
    TypeEnumeration,
    TypeStructure,
    uuid_text,
)
from commitdb.values.value import Value

_INDENT = "    "


@dataclass(frozen=True)
class DSMMembership:
    """``membership Club Concept;`` as declared."""

    club: TypeClub
    concept: TypeConcept
    documentation: str = ""


@dataclass(frozen=True)
class DSMFunction:
    """One prototype of a function pool (commitdb keeps it; it never runs it)."""

    _name: str
    _return_type: Type
    _parameters: list[tuple[str, Type]]
    _documentation: str = ""
    _mutable: bool = False

    def name(self) -> str:
        return self._name

    def return_type(self) -> Type:
        return self._return_type

    def parameters(self) -> list[tuple[str, Type]]:
        return list(self._parameters)

    def documentation(self) -> str:
        return self._documentation

    def is_mutable(self) -> bool:
        return self._mutable

    def prototype(self) -> str:
        params = ", ".join(f"{render_type(t, None)} {n}" for n, t in self._parameters)
        return f"{render_type(self._return_type, None)} {self._name}({params})"

    def __str__(self) -> str:
        return self.prototype()


@dataclass(frozen=True)
class DSMFunctionPool:
    """``function_pool`` or (``attachment`` True) ``attachment_function_pool``."""

    _name: str
    _namespace: NameSpace
    _functions: list[DSMFunction] = field(default_factory=list)
    _attachment: bool = False
    _documentation: str = ""

    def name(self) -> str:
        return self._name

    def uuid(self) -> Any:
        return self._namespace.uuid()

    def runtime_id(self) -> Any:
        return self.uuid()

    def functions(self) -> list[DSMFunction]:
        return list(self._functions)

    def is_attachment_function_pool(self) -> bool:
        return self._attachment

    def documentation(self) -> str:
        return self._documentation

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return self._name


class DSMDefinitions:
    """The declarations of one DSM build. Built by the resolver; see the module docstring."""

    def __init__(
        self,
        definitions: Definitions,
        items: list[tuple[NameSpace, object]],
        function_pools: list[DSMFunctionPool],
        order: list[NameSpace | DSMFunctionPool],
        namespace_docs: dict[bytes, str] | None = None,
    ) -> None:
        self._definitions = definitions
        self._items = list(items)
        self._pools = list(function_pools)
        self._order = list(order)
        self._ns_docs = dict(namespace_docs or {})

    @staticmethod
    def from_definitions(definitions: Definitions) -> DSMDefinitions:
        """DSMDefinitions for runtime Definitions (as a database holds them): one block per
        namespace, its types in the definitions' order, club memberships after their club, then
        the attachments. Function pools and namespace documentation are not part of Definitions."""
        items: list[tuple[NameSpace, object]] = []
        for t in definitions.types():
            items.append((t.namespace(), t))  # type: ignore[attr-defined]
            if isinstance(t, TypeClub):
                items.extend((t.namespace(), DSMMembership(t, member)) for member in t.members())
        items.extend((a.namespace(), a) for a in definitions.attachments())
        return DSMDefinitions(definitions, items, [], list(definitions.namespaces()))

    # --- collections (source order) --------------------------------------------------------
    def top_level_order(self) -> list[NameSpace | DSMFunctionPool]:
        """Namespaces (once each) and function pools, interleaved as in the source."""
        return list(self._order)

    def declarations(self, namespace: NameSpace) -> list[Any]:
        """The declarations of one namespace (types, attachments, memberships) in source order."""
        return [obj for owner, obj in self._items if owner.uuid_bytes() == namespace.uuid_bytes()]

    def _of(self, cls: type) -> list[Any]:
        return [obj for _, obj in self._items if isinstance(obj, cls)]

    def concepts(self) -> list[TypeConcept]:
        return self._of(TypeConcept)

    def clubs(self) -> list[TypeClub]:
        return self._of(TypeClub)

    def memberships(self) -> list[DSMMembership]:
        return self._of(DSMMembership)

    def structures(self) -> list[TypeStructure]:
        return self._of(TypeStructure)

    def enumerations(self) -> list[TypeEnumeration]:
        return self._of(TypeEnumeration)

    def attachments(self) -> list[Attachment]:
        return self._of(Attachment)

    def function_pools(self) -> list[DSMFunctionPool]:
        return [p for p in self._pools if not p.is_attachment_function_pool()]

    def attachment_function_pools(self) -> list[DSMFunctionPool]:
        return [p for p in self._pools if p.is_attachment_function_pool()]

    def namespaces(self) -> list[NameSpace]:
        return [o for o in self._order if isinstance(o, NameSpace)]

    def namespace_documentation(self, namespace: NameSpace) -> str:
        return self._ns_docs.get(namespace.uuid_bytes(), "")

    def definitions(self) -> Definitions:
        return self._definitions

    def to_definitions(self) -> Definitions:
        return self._definitions

    def __repr__(self) -> str:
        return (f"<DSMDefinitions namespaces={len(self.namespaces())} types={len(self._definitions.types())} "
                f"attachments={len(self.attachments())} function_pools={len(self._pools)}>")

    # --- canonical text --------------------------------------------------------------------
    def to_dsm(self, show_documentation: bool = True, show_runtime_id: bool = False) -> str:
        """Canonical DSM text: one block per namespace (reopened blocks merged, declarations
        in source order), then function pools where they first appeared."""
        blocks: list[str] = []
        for item in self._order:
            if isinstance(item, NameSpace):
                blocks.append(self._render_namespace(item, show_documentation, show_runtime_id))
            else:
                blocks.append(_render_pool(item, show_documentation))
        return "\n".join(blocks)

    def _render_namespace(self, ns: NameSpace, docs: bool, rids: bool) -> str:
        lines: list[str] = []
        _doc_lines(lines, self._ns_docs.get(ns.uuid_bytes(), "") if docs else "", "")
        lines.append(f"namespace {ns.name()} {{{uuid_text(ns.uuid_bytes())}}} {{")
        lines.append("")
        for owner, obj in self._items:
            if owner.uuid_bytes() != ns.uuid_bytes():
                continue
            if rids and hasattr(obj, "rid"):
                lines.append(f"// runtime id {uuid_text(obj.rid)}")
            lines.extend(_render_declaration(obj, ns, docs))
            lines.append("")
        lines.append(f"}}; // ns {ns.name()}")
        return "\n".join(lines) + "\n"


# --- rendering ---------------------------------------------------------------------------------


def _doc_lines(lines: list[str], doc: str, indent: str) -> None:
    if doc:
        body = doc.replace("\n", "\n" + indent) if indent else doc
        lines.append(f'{indent}"""{body}"""')


def render_type(t: Type, ns: NameSpace | None) -> str:
    """DSM text of a type; named types of ``ns`` are written short, others qualified."""
    if isinstance(t, T.TypeAnyConcept):
        return "any_concept"
    if isinstance(t, TypeConcept | TypeClub | TypeEnumeration | TypeStructure):
        same = ns is not None and t.namespace().uuid_bytes() == ns.uuid_bytes()
        return t.name() if same else f"{t.namespace().name()}::{t.name()}"
    if isinstance(t, T.TypeOptional | T.TypeVector | T.TypeSet | T.TypeXArray):
        return f"{t.keyword}<{render_type(t.element_type(), ns)}>"
    if isinstance(t, T.TypeMap):
        return f"map<{render_type(t.key_type(), ns)}, {render_type(t.element_type(), ns)}>"
    if isinstance(t, T.TypeTuple | T.TypeVariant):
        return f"{t.keyword}<{', '.join(render_type(x, ns) for x in t.types())}>"
    if isinstance(t, T.TypeVec):
        return f"vec<{render_type(t.element_type(), ns)}, {t.size()}>"
    if isinstance(t, T.TypeMat):
        return f"mat<{render_type(t.element_type(), ns)}, {t.columns()}, {t.rows()}>"
    if isinstance(t, T.TypeKey):
        return f"key<{render_type(t.element_type(), ns)}>"
    return t.representation()


def _quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_literal(v: Value) -> str:
    """DSM literal text of a default value (the inverse of the resolver's literal reading)."""
    t = v.type()
    code = t.code
    if code == T.BOOL:
        return "true" if v.get() else "false"
    if code in T.INTEGER_CODES:
        return str(v.get())
    if code in T.REAL_CODES:
        return v.representation()
    if code == T.STRING:
        return _quote(v.get())
    if code == T.UUID:
        return "{" + v.representation() + "}"
    if code == T.ENUMERATION:
        return "." + v.name()  # type: ignore[attr-defined]
    if code == T.OPTIONAL:
        return render_literal(v.unwrap(encoded=False))  # type: ignore[attr-defined]
    if code == T.SET:
        items = v.members()  # type: ignore[attr-defined]
    elif code == T.XARRAY:
        items = [x for _, x in v.live_entries()]  # type: ignore[attr-defined]
    else:  # vector, tuple, vec, mat (flat, column-major)
        items = v.values()  # type: ignore[attr-defined]
    return "{" + ", ".join(render_literal(x) for x in items) + "}"


def _render_declaration(obj: object, ns: NameSpace, docs: bool) -> list[str]:
    lines: list[str] = []
    doc = getattr(obj, "documentation", "")
    doc = (doc() if callable(doc) else doc) if docs else ""
    _doc_lines(lines, doc, "")
    if isinstance(obj, TypeConcept):
        parent = obj.parent()
        suffix = f" is a {render_type(parent, ns)}" if parent is not None else ""
        lines.append(f"concept {obj.name()}{suffix};")
    elif isinstance(obj, TypeClub):
        lines.append(f"club {obj.name()};")
    elif isinstance(obj, DSMMembership):
        lines.append(f"membership {render_type(obj.club, ns)} {render_type(obj.concept, ns)};")
    elif isinstance(obj, TypeEnumeration):
        lines.append(f"enum {obj.name()} {{")
        cases = obj.cases()
        for i, case in enumerate(cases):
            _doc_lines(lines, case.documentation() if docs else "", _INDENT)
            lines.append(f"{_INDENT}{case.name()}{',' if i + 1 < len(cases) else ''}")
        lines.append("};")
    elif isinstance(obj, TypeStructure):
        lines.append(f"struct {obj.name()} {{")
        for f in obj.fields():
            _doc_lines(lines, f.documentation() if docs else "", _INDENT)
            default = f.default_value()
            tail = f" = {render_literal(default)}" if default is not None else ""
            lines.append(f"{_INDENT}{render_type(f.type(), ns)} {f.name()}{tail};")
        lines.append("};")
    elif isinstance(obj, Attachment):
        key = render_type(obj.concept_type(), ns)
        lines.append(f"attachment<{key}, {render_type(obj.document_type(), ns)}> {obj.name()};")
    return lines


def _render_pool(pool: DSMFunctionPool, docs: bool) -> str:
    lines: list[str] = []
    _doc_lines(lines, pool.documentation() if docs else "", "")
    keyword = "attachment_function_pool" if pool.is_attachment_function_pool() else "function_pool"
    lines.append(f"{keyword} {pool.name()} {{{uuid_text(pool._namespace.uuid_bytes())}}} {{")
    for fn in pool.functions():
        _doc_lines(lines, fn.documentation() if docs else "", _INDENT)
        mutable = "mutable " if fn.is_mutable() else ""
        lines.append(f"{_INDENT}{mutable}{fn.prototype()};")
    lines.append("};")
    return "\n".join(lines) + "\n"
