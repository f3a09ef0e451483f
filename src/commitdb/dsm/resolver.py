"""AST → Definitions + DSMDefinitions, with the semantic checks of SPEC.md §2.2.

Two phases. First every namespace block of every source is walked and each concept, club, enum
and struct name is registered, so that any declaration may refer to any other whatever the order
or the namespace (``Lib::User``). Then the runtime types are built on demand, dependencies first:
a concept's parent before the concept, and a struct's field types before the struct, because the
runtime id of a struct hashes the encodings of its field types (FORMAT.md §3).

Errors never stop the walk: each is recorded as ``source:line:col: message`` and the offending
declaration is marked failed, so that its users are skipped silently instead of piling up
follow-on errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from commitdb.dsm.definitions import Attachment, Definitions
from commitdb.dsm.dsm_definitions import DSMDefinitions, DSMFunction, DSMFunctionPool, DSMMembership
from commitdb.dsm.parser import (
    AnyConceptRef,
    AttachmentDecl,
    ClubDecl,
    ConceptDecl,
    Declaration,
    EnumDecl,
    FunctionPoolDecl,
    GenericType,
    IntegerArg,
    Literal,
    MembershipDecl,
    NamespaceBlock,
    Node,
    ParsedSource,
    StructDecl,
    TypeName,
    TypeRef,
)
from commitdb.dsm.report import DSMParseError
from commitdb.errors import DefinitionsError, ValidationError
from commitdb.values import types as T
from commitdb.values.types import (
    PRIMITIVE_BY_NAME,
    NameSpace,
    Type,
    TypeAnyConcept,
    TypeClub,
    TypeConcept,
    TypeEnumeration,
    TypeKey,
    TypeStructure,
    TypeStructureField,
    parse_uuid,
)
from commitdb.values.value import Value

GENERIC_NAMES = frozenset(
    {"optional", "vector", "set", "map", "xarray", "tuple", "variant", "vec", "mat", "key"}
)
BUILTIN_NAMES = frozenset(PRIMITIVE_BY_NAME) | GENERIC_NAMES | {"any_concept"}
_UNARY = {"optional": T.TypeOptional, "vector": T.TypeVector, "set": T.TypeSet, "xarray": T.TypeXArray}
_ARITY = {"map": (2, 2), "vec": (2, 2), "mat": (3, 3), "tuple": (1, 256), "variant": (1, 256)}
_MAX_CASES = 256
_FAILED = object()  # the built value of a declaration that could not be built


@dataclass
class _Entry:
    """One declared named type, before and after it is built."""

    decl: ConceptDecl | ClubDecl | EnumDecl | StructDecl
    ns: _Namespace
    built: object = None  # the Type, or _FAILED
    building: bool = False

    @property
    def kind(self) -> str:
        return {ConceptDecl: "concept", ClubDecl: "club", EnumDecl: "enum", StructDecl: "struct"}[
            type(self.decl)
        ]


@dataclass
class _Namespace:
    namespace: NameSpace
    node: NamespaceBlock
    documentation: str = ""
    entries: dict[str, _Entry] = field(default_factory=dict)
    declarations: list[Declaration] = field(default_factory=list)


class Resolver:
    """Resolve the parsed sources of one build. Call ``run()`` once."""

    def __init__(self, parsed: list[ParsedSource]) -> None:
        self.parsed = parsed
        self.errors: list[DSMParseError] = []
        self.broken_names: set[str] = set().union(*(p.broken_names for p in parsed)) if parsed else set()
        self.by_name: dict[str, _Namespace] = {}
        self.by_uuid: dict[bytes, _Namespace] = {}
        self.order: list[_Namespace | FunctionPoolDecl] = []
        self.definitions = Definitions()

    # --- errors ------------------------------------------------------------------------------
    def error(self, node: Node, message: str) -> None:
        self.errors.append(DSMParseError(node.source, node.line, node.column, message))

    # --- driver ------------------------------------------------------------------------------
    def run(self) -> tuple[Definitions | None, DSMDefinitions | None, list[DSMParseError]]:
        pools: list[FunctionPoolDecl] = []
        for source in self.parsed:
            for item in source.items:
                if isinstance(item, NamespaceBlock):
                    self._collect_namespace(item)
                else:
                    pools.append(item)
                    self.order.append(item)
        entries = [e for ns in self.by_name.values() for e in ns.entries.values()]
        for kind in ("concept", "club", "enum"):
            for entry in entries:
                if entry.kind == kind:
                    self._build(entry)
        self._check_struct_recursion([e for e in entries if e.kind == "struct"])
        for entry in entries:
            if entry.kind == "struct":
                self._build(entry)
        items: list[tuple[NameSpace, object]] = []
        attachment_names: dict[tuple[bytes, str], AttachmentDecl] = {}
        for ns in self.by_name.values():
            for decl in ns.declarations:
                built = self._declaration_object(ns, decl, attachment_names)
                if built is not None:
                    items.append((ns.namespace, built))
        built_pools = self._function_pools(pools)
        if self.errors or any(p.errors for p in self.parsed):
            return None, None, self.errors
        order: list[NameSpace | DSMFunctionPool] = []
        pool_iter = iter(built_pools)
        for o in self.order:
            order.append(o.namespace if isinstance(o, _Namespace) else next(pool_iter))
        docs = {ns.namespace.uuid_bytes(): ns.documentation for ns in self.by_name.values()}
        dsm = DSMDefinitions(self.definitions, items, built_pools, order, docs)
        return self.definitions, dsm, self.errors

    # --- phase 1: names ------------------------------------------------------------------------
    def _collect_namespace(self, block: NamespaceBlock) -> None:
        raw = parse_uuid(block.uuid)
        known = self.by_name.get(block.name)
        if known is not None and known.namespace.uuid_bytes() != raw:
            self.error(block, f"The namespace '{block.name}' is already defined with the uuid "
                              f"{{{T.uuid_text(known.namespace.uuid_bytes())}}}.")
            self._forget(block)
            return
        other = self.by_uuid.get(raw)
        if known is None and other is not None:
            self.error(block, f"The uuid {{{block.uuid}}} of namespace '{block.name}' is already used by "
                              f"the namespace '{other.namespace.name()}'.")
            self._forget(block)
            return
        if known is None:
            known = _Namespace(NameSpace(raw, block.name), block)
            self.by_name[block.name] = known
            self.by_uuid[raw] = known
            self.order.append(known)
        if block.documentation and not known.documentation:
            known.documentation = block.documentation
        for decl in block.declarations:
            known.declarations.append(decl)
            if not isinstance(decl, ConceptDecl | ClubDecl | EnumDecl | StructDecl):
                continue
            if decl.name in BUILTIN_NAMES:
                self.error(decl, f"The identifier '{decl.name}' is a built-in type name.")
                continue
            if decl.name in known.entries:
                self.error(decl, f"The identifier '{decl.name}' is already used.")
                continue
            known.entries[decl.name] = _Entry(decl, known)

    def _forget(self, block: NamespaceBlock) -> None:
        """A rejected block: its names must not cause 'unknown type' errors elsewhere."""
        for decl in block.declarations:
            if isinstance(decl, ConceptDecl | ClubDecl | EnumDecl | StructDecl):
                self.broken_names.add(decl.name)

    def _lookup(self, ref: TypeName, ns: _Namespace | None) -> _Entry | None:
        """The declared type a name denotes, or None (primitives are not entries)."""
        if ref.namespace is not None:
            target = self.by_name.get(ref.namespace)
            return None if target is None else target.entries.get(ref.name)
        if ns is not None:
            return ns.entries.get(ref.name)
        # Outside any namespace (function pools): a name that only one namespace declares.
        found = [n.entries[ref.name] for n in self.by_name.values() if ref.name in n.entries]
        return found[0] if len(found) == 1 else None

    def _suppressed(self, ref: TypeRef | IntegerArg) -> bool:
        """Whether ``ref`` names something a syntax error made unreadable (already reported)."""
        return isinstance(ref, TypeName) and (
            ref.name in self.broken_names or (ref.namespace or "") in self.broken_names
        )

    def _unknown(self, ref: TypeName) -> None:
        if self._suppressed(ref):
            return
        self.error(ref, f"The type '{ref.text()}' is unknown.")

    # --- phase 2: building ---------------------------------------------------------------------
    def _build(self, entry: _Entry) -> Type | None:
        """Build (once) the type of ``entry``; None when it failed (the error is already out)."""
        if entry.built is None:
            if entry.building:  # only concept ancestry can loop here; structs are checked before
                self.error(entry.decl, f"The concept '{entry.decl.name}' is its own ancestor.")
                entry.built = _FAILED
                return None
            entry.building = True
            try:
                entry.built = self._make(entry) or _FAILED
            finally:
                entry.building = False
            if entry.built is not _FAILED:
                self.definitions.add_type(entry.built)  # type: ignore[arg-type]
        return None if entry.built is _FAILED else entry.built  # type: ignore[return-value]

    def _make(self, entry: _Entry) -> Type | None:
        decl, ns = entry.decl, entry.ns.namespace
        if isinstance(decl, ConceptDecl):
            parent = None
            if decl.parent is not None:
                target = self._lookup(decl.parent, entry.ns)
                if target is None:
                    self._unknown(decl.parent)
                    return None
                if target.kind != "concept":
                    self.error(decl.parent, f"The parent '{decl.parent.text()}' of concept '{decl.name}' "
                                            "must be a concept.")
                    return None
                parent = self._build(target)
                if parent is None:
                    return None
            return TypeConcept(ns, decl.name, parent, decl.documentation)  # type: ignore[arg-type]
        if isinstance(decl, ClubDecl):
            return TypeClub(ns, decl.name, decl.documentation)
        if isinstance(decl, EnumDecl):
            return self._make_enum(decl, ns)
        return self._make_struct(decl, entry.ns)

    def _make_enum(self, decl: EnumDecl, ns: NameSpace) -> Type | None:
        ok = True
        if not 1 <= len(decl.cases) <= _MAX_CASES:
            self.error(decl, f"The enum '{decl.name}' must have 1 to {_MAX_CASES} cases, "
                             f"not {len(decl.cases)}.")
            ok = False
        seen: set[str] = set()
        for case in decl.cases:
            if case.name in seen:
                self.error(case, f"The case '{case.name}' is already defined in the enum '{decl.name}'.")
                ok = False
            seen.add(case.name)
        if not ok:
            return None
        cases = [(c.name, c.documentation) for c in decl.cases]
        return TypeEnumeration(ns, decl.name, cases, decl.documentation)

    def _make_struct(self, decl: StructDecl, ns: _Namespace) -> Type | None:
        ok = True
        if not decl.fields:
            self.error(decl, f"The structure '{decl.name}' has no field.")
            ok = False
        fields: list[TypeStructureField] = []
        seen: set[str] = set()
        for f in decl.fields:
            if f.name in seen:
                self.error(f, f"The field '{f.name}' is already defined in the structure '{decl.name}'.")
                ok = False
                continue
            seen.add(f.name)
            ftype = self.resolve(f.type, ns)
            if ftype is None:
                ok = False
                continue
            default = None
            if f.default is not None:
                default = self._default(f.default, ftype)
                if default is None:
                    ok = False
                    continue
            fields.append(TypeStructureField(f.name, ftype, default, f.documentation))
        if not ok:
            return None
        try:
            return TypeStructure(ns.namespace, decl.name, fields, decl.documentation)
        except (DefinitionsError, ValidationError) as e:
            self.error(decl, f"The structure '{decl.name}' is invalid: {e}.")
            return None

    def _check_struct_recursion(self, structs: list[_Entry]) -> None:
        """Report each cycle of struct-uses-struct once (at its first struct); mark them failed."""
        uses: dict[int, list[_Entry]] = {}
        for entry in structs:
            found: list[_Entry] = []
            for f in entry.decl.fields:  # type: ignore[union-attr]
                self._struct_refs(f.type, entry.ns, found)
            uses[id(entry)] = found
        state: dict[int, int] = {}  # 1 visiting, 2 done
        stack: list[_Entry] = []

        def visit(entry: _Entry) -> None:
            state[id(entry)] = 1
            stack.append(entry)
            for nxt in uses.get(id(entry), []):
                if state.get(id(nxt)) == 1:
                    cycle = stack[stack.index(nxt):]
                    path = " -> ".join([c.decl.name for c in cycle] + [nxt.decl.name])
                    if all(c.built is None for c in cycle):
                        self.error(nxt.decl, f"The structure '{nxt.decl.name}' is recursive ({path}).")
                    for c in cycle:
                        c.built = _FAILED
                elif state.get(id(nxt)) is None:
                    visit(nxt)
            stack.pop()
            state[id(entry)] = 2

        for entry in structs:
            if state.get(id(entry)) is None:
                visit(entry)

    def _struct_refs(self, ref: TypeRef | IntegerArg, ns: _Namespace, out: list[_Entry]) -> None:
        if isinstance(ref, TypeName):
            target = self._lookup(ref, ns)
            if target is not None and target.kind == "struct":
                out.append(target)
        elif isinstance(ref, GenericType) and ref.name != "key":  # key<> only holds concepts
            for arg in ref.arguments:
                self._struct_refs(arg, ns, out)

    # --- types -------------------------------------------------------------------------------
    def resolve(self, ref: TypeRef | IntegerArg, ns: _Namespace | None, role: str = "data") -> Type | None:
        """The type ``ref`` denotes in ``ns``; None after reporting why not.

        ``role`` is "data" (a field, an element, a document) or "return" (void is allowed).
        """
        if isinstance(ref, IntegerArg):
            self.error(ref, f"A type is expected, not '{ref.text()}'.")
            return None
        if isinstance(ref, AnyConceptRef):
            self.error(ref, "The type 'any_concept' is only valid in key<any_concept> "
                            "or as an attachment key.")
            return None
        if isinstance(ref, GenericType):
            return self._generic(ref, ns)
        entry = self._lookup(ref, ns)
        if entry is not None:
            if entry.kind in ("concept", "club"):
                text = ref.text()
                self.error(ref, f"The {entry.kind} '{text}' is not a value type; use key<{text}>.")
                return None
            return self._build(entry)
        if ref.namespace is None and ref.name in PRIMITIVE_BY_NAME:
            if ref.name == "void" and role != "return":
                self.error(ref, "The type 'void' is only valid as the return type of a function.")
                return None
            return PRIMITIVE_BY_NAME[ref.name]
        if ref.namespace is None and ref.name in GENERIC_NAMES:
            self.error(ref, f"The type '{ref.name}' needs type arguments.")
            return None
        self._unknown(ref)
        return None

    def _generic(self, ref: GenericType, ns: _Namespace | None) -> Type | None:
        name, args = ref.name, ref.arguments
        if name not in GENERIC_NAMES:
            if name in PRIMITIVE_BY_NAME or self._lookup(TypeName(None, name), ns) is not None:
                self.error(ref, f"The type '{name}' takes no type arguments.")
            else:
                self._unknown(TypeName(None, name, source=ref.source, line=ref.line, column=ref.column))
            return None
        arity = _ARITY.get(name, (1, 1))
        if not arity[0] <= len(args) <= arity[1]:
            want = f"{arity[0]}" if arity[0] == arity[1] else f"at least {arity[0]}"
            self.error(ref, f"The type '{name}' takes {want} argument(s), not {len(args)}.")
            return None
        if name == "key":
            return self._key(ref, args[0], ns)
        if name in ("vec", "mat"):
            sizes = []
            for arg in args[1:]:
                if not isinstance(arg, IntegerArg):
                    self.error(arg, f"An integer is expected in {ref.text()}, not '{arg.text()}'.")
                    return None
                sizes.append(arg.value)
            element = self.resolve(args[0], ns)
            if element is None:
                return None
            if element.code not in T.NUMERIC_CODES:
                self.error(args[0], f"The element type of {ref.text()} must be numeric.")
                return None
            if any(s < 1 for s in sizes):
                self.error(ref, f"The sizes of {ref.text()} must be at least 1.")
                return None
            return T.TypeVec(element, sizes[0]) if name == "vec" else T.TypeMat(element, sizes[0], sizes[1])
        resolved = [self.resolve(a, ns) for a in args]
        if any(r is None for r in resolved):
            return None
        if name == "variant" and len({r.rid for r in resolved}) != len(resolved):  # type: ignore[union-attr]
            self.error(ref, f"The type {ref.text()} lists a type twice.")
            return None
        try:
            if name in _UNARY:
                return _UNARY[name](resolved[0])  # type: ignore[arg-type]
            if name == "map":
                return T.TypeMap(resolved[0], resolved[1])  # type: ignore[arg-type]
            if name == "tuple":
                return T.TypeTuple(resolved)  # type: ignore[arg-type]
            return T.TypeVariant(resolved)  # type: ignore[arg-type]
        except DefinitionsError as e:
            self.error(ref, f"The type {ref.text()} is invalid: {e}.")
            return None

    def _key(self, ref: GenericType, arg: TypeRef | IntegerArg, ns: _Namespace | None) -> Type | None:
        target = self._key_target(arg, ns)
        if target is None:
            if not self._suppressed(arg):
                self.error(arg, f"The type '{arg.text()}' in {ref.text()} must be a concept, "
                                "a club or any_concept.")
            return None
        return TypeKey(target) if target is not _FAILED else None  # type: ignore[arg-type]

    def _key_target(self, arg: TypeRef | IntegerArg, ns: _Namespace | None) -> object:
        """A concept, club or any_concept type; _FAILED when it exists but failed; else None."""
        if isinstance(arg, AnyConceptRef):
            return TypeAnyConcept()
        if not isinstance(arg, TypeName):
            return None
        entry = self._lookup(arg, ns)
        if entry is None or entry.kind not in ("concept", "club"):
            return None
        built = self._build(entry)
        return _FAILED if built is None else built

    # --- defaults ----------------------------------------------------------------------------
    def _default(self, lit: Literal, t: Type) -> Value | None:
        try:
            obj = literal_object(lit, t)
            return Value.create(t, obj)
        except _LiteralError as e:
            self.error(e.node, e.message)
        except (ValidationError, DefinitionsError) as e:
            self.error(lit, f"The literal {lit.text()} is not valid for the type '{t}': {e}.")
        return None

    # --- declarations in order -----------------------------------------------------------------
    def _declaration_object(
        self, ns: _Namespace, decl: Declaration, attachment_names: dict[tuple[bytes, str], AttachmentDecl]
    ) -> object | None:
        if isinstance(decl, ConceptDecl | ClubDecl | EnumDecl | StructDecl):
            entry = ns.entries.get(decl.name)
            if entry is None or entry.decl is not decl:
                return None
            return self._build(entry)
        if isinstance(decl, MembershipDecl):
            return self._membership(ns, decl)
        return self._attachment(ns, decl, attachment_names)

    def _membership(self, ns: _Namespace, decl: MembershipDecl) -> object | None:
        club = self._lookup(decl.club, ns)
        concept = self._lookup(decl.concept, ns)
        ok = True
        for ref, target, kind in ((decl.club, club, "club"), (decl.concept, concept, "concept")):
            if target is None:
                self._unknown(ref)
                ok = False
            elif target.kind != kind:
                self.error(ref, f"The type '{ref.text()}' in membership must be a {kind}.")
                ok = False
        if not ok:
            return None
        club_t, concept_t = self._build(club), self._build(concept)  # type: ignore[arg-type]
        if club_t is None or concept_t is None:
            return None
        club_t.add_member(concept_t)  # type: ignore[attr-defined]
        return DSMMembership(club_t, concept_t, decl.documentation)  # type: ignore[arg-type]

    def _attachment(
        self, ns: _Namespace, decl: AttachmentDecl, names: dict[tuple[bytes, str], AttachmentDecl]
    ) -> Attachment | None:
        key = self._key_target(decl.key_type, ns)
        if key is None:
            if not self._suppressed(decl.key_type):
                self.error(decl.key_type, f"The type K='{decl.key_type.text()}' in attachment<K, D> "
                                          f"'{decl.name}' must be a concept.")
        document = self.resolve(decl.document_type, ns)
        if key is None or key is _FAILED or document is None:
            return None
        slot = (key.rid, decl.name)  # type: ignore[attr-defined]
        if slot in names:
            self.error(decl, f"The attachment '{decl.name}' is already defined for '{key}'.")
            return None
        names[slot] = decl
        att = Attachment(ns.namespace, decl.name, key, document, decl.documentation)  # type: ignore[arg-type]
        return self.definitions.add_attachment(att)

    # --- function pools ------------------------------------------------------------------------
    def _function_pools(self, pools: list[FunctionPoolDecl]) -> list[DSMFunctionPool]:
        built: list[DSMFunctionPool] = []
        seen: dict[str, FunctionPoolDecl] = {}
        for pool in pools:
            if pool.name in seen:
                self.error(pool, f"The function pool '{pool.name}' is already defined.")
                continue
            seen[pool.name] = pool
            functions: list[DSMFunction] = []
            names: set[str] = set()
            for fn in pool.functions:
                proto = fn.prototype
                if proto.name in names:
                    self.error(proto, f"The function '{proto.name}' is already defined in '{pool.name}'.")
                names.add(proto.name)
                ret = self.resolve(proto.return_type, None, role="return")
                params = [(p.name, self.resolve(p.type, None)) for p in proto.parameters]
                if len({p.name for p in proto.parameters}) != len(proto.parameters):
                    self.error(proto, f"The function '{proto.name}' declares a parameter twice.")
                if ret is not None and all(t is not None for _, t in params):
                    functions.append(DSMFunction(proto.name, ret, params, fn.documentation, fn.mutable))  # type: ignore[arg-type]
            built.append(DSMFunctionPool(pool.name, NameSpace(parse_uuid(pool.uuid), pool.name), functions,
                                         pool.attachment, pool.documentation))
        return built


class _LiteralError(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def literal_object(lit: Literal, t: Type) -> object:
    """The plain Python value a default literal denotes for ``t``; _LiteralError when it cannot."""

    def wrong() -> _LiteralError:
        return _LiteralError(lit, f"The literal {lit.text()} is not a valid value for the type '{t}'.")

    code = t.code
    if code in T.INTEGER_CODES:
        if lit.kind != "number" or not _INT_TEXT.fullmatch(str(lit.value)):
            raise wrong()
        n = int(str(lit.value))
        if not t.min_value <= n <= t.max_value:  # type: ignore[attr-defined]
            raise _LiteralError(lit, f"The literal {lit.text()} is out of the range of '{t}'.")
        return n
    if code in T.REAL_CODES:
        if lit.kind != "number":
            raise wrong()
        x = float(str(lit.value))
        try:
            if not math.isfinite(x):  # 1e400 reads as inf, which no literal can write back
                raise ValidationError("not finite")
            Value.create(t, x)
        except ValidationError:
            raise _LiteralError(lit, f"The literal {lit.text()} is out of the range of '{t}'.") from None
        return x
    simple = {T.BOOL: "bool", T.STRING: "string", T.UUID: "uuid"}
    if code in simple:
        if lit.kind != simple[code]:
            raise wrong()
        return lit.value
    if isinstance(t, TypeEnumeration):
        if lit.kind != "case":
            raise wrong()
        if t.case(str(lit.value)) is None:
            raise _LiteralError(lit, f"The case '{lit.value}' is not defined in the enum '{t}'.")
        return f".{lit.value}"
    if isinstance(t, T.TypeOptional):
        return literal_object(lit, t.element_type())
    # Not xarray: building one draws random positions, and the default enters the struct's id.
    if isinstance(t, T.TypeVector | T.TypeSet | T.TypeTuple | T.TypeVec | T.TypeMat):
        if lit.kind != "list":
            raise wrong()
        items: tuple[Literal, ...] = lit.value  # type: ignore[assignment]
        if isinstance(t, T.TypeTuple):
            element_types = list(t.types())
        elif isinstance(t, T.TypeVec):
            element_types = [t.element_type()] * t.size()
        elif isinstance(t, T.TypeMat):
            element_types = [t.element_type()] * (t.columns() * t.rows())
        else:
            element_types = [t.element_type()] * len(items)
        if len(items) != len(element_types):
            raise _LiteralError(lit, f"The literal {lit.text()} must have {len(element_types)} elements "
                                     f"for the type '{t}'.")
        return [literal_object(item, et) for item, et in zip(items, element_types)]
    raise _LiteralError(lit, f"A default value is not allowed for a field of type '{t}'.")


def resolve(
    parsed: list[ParsedSource],
) -> tuple[Definitions | None, DSMDefinitions | None, list[DSMParseError]]:
    """Resolve the parsed sources of one build: (definitions, dsm_definitions, semantic errors)."""
    return Resolver(parsed).run()
