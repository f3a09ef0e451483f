"""Definitions: the registered named types and attachments of a model.

Definitions are additive: a type is identified by its runtime id, and a name may only ever
denote one runtime id. ``types()`` and ``attachments()`` come in the byte-exact order of
FORMAT.md §5.2, which is also the order of the encoding; ``hexdigest()`` is FORMAT.md §5.3.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable
from typing import Any

from commitdb.errors import DefinitionsConflictError, DefinitionsError, DocumentTypeError, KeyTypeError
from commitdb.values.types import (
    NameSpace,
    Type,
    TypeAnyConcept,
    TypeClub,
    TypeConcept,
    TypeEnumeration,
    TypeEnumerationDescriptor,
    TypeKey,
    TypeOptional,
    TypeStructure,
    TypeStructureDescriptor,
    encode_str,
    md5_uuid,
    type_mentions,
)
from commitdb.values.value import Value


class Attachment:
    """attachment<Key, Document> name: one document of type Document per key instance.

    Attachments compare and hash by runtime id.
    """

    __slots__ = ("_doc_type", "_documentation", "_key_type", "_name", "_namespace", "rid")

    def __init__(
        self, namespace: NameSpace, name: str, key_type: Type, document_type: Type, documentation: str = ""
    ) -> None:
        if isinstance(key_type, TypeKey):
            key_type = key_type.element_type()
        if not isinstance(key_type, TypeConcept | TypeClub | TypeAnyConcept):
            raise DefinitionsError(f"the key of attachment {name!r} must be a concept, a club or any_concept")
        self._namespace, self._name, self._documentation = namespace, name, documentation or ""
        self._key_type = TypeKey(key_type)
        self._doc_type = document_type
        self.rid = md5_uuid(namespace.uuid_bytes() + encode_str(name) + key_type.enc + document_type.enc)

    def namespace(self) -> NameSpace:
        return self._namespace

    def name(self) -> str:
        return self._name

    def documentation(self) -> str:
        return self._documentation

    def key_type(self) -> TypeKey:
        return self._key_type

    def concept_type(self) -> Type:
        """The concept (or club, or any_concept) whose instances key this attachment."""
        return self._key_type.element_type()

    def document_type(self) -> Type:
        return self._doc_type

    def optional_document_type(self) -> TypeOptional:
        return TypeOptional(self._doc_type)

    def runtime_id(self) -> Any:
        from commitdb.values.scalars import ValueUUId

        return ValueUUId(self.rid)

    def identifier(self) -> str:
        """``Namespace::Concept.name``: the attachment's namespace, then its key type written
        relative to that namespace (``App::Tuto::User.login`` for a key from another one)."""
        return f"{self._namespace.name()}::{self.relative_key_name()}.{self._name}"

    def relative_key_name(self) -> str:
        """The key concept's name, qualified only when it belongs to another namespace."""
        concept = self.concept_type()
        ns = getattr(concept, "namespace", None)
        if ns is None:
            return str(concept)
        if ns().uuid_bytes() == self._namespace.uuid_bytes():
            return concept.name()  # type: ignore[attr-defined]
        return str(concept)

    def type_name(self) -> str:
        """``Namespace::name``, e.g. ``Tuto::login``."""
        return f"{self._namespace.name()}::{self._name}"

    def create_key(self, instance_id: Any = None) -> Any:
        """A key for this attachment: a random instance when ``instance_id`` is None."""
        from commitdb.values.containers import ValueKey
        from commitdb.values.scalars import ValueUUId

        concept = self.concept_type()
        if not isinstance(concept, TypeConcept):
            raise KeyTypeError(f"{self} is keyed by {concept}: create the key from a concept")
        inst = ValueUUId.create() if instance_id is None else ValueUUId(instance_id)
        return ValueKey(self._key_type, inst.bytes_value(), concept)

    def create_document(self) -> Value:
        return Value.create(self._doc_type)

    def create_structure(self, initial_value: Any = None) -> Value:
        """A new structure of the document type, filled from ``initial_value`` — a dict as
        ``set()`` accepts (missing fields take their default; an unknown field raises) — or
        ``create_document()`` when None. TypeError when the document type is not a structure."""
        if not isinstance(self._doc_type, TypeStructure):
            raise DocumentTypeError(f"the attachment's document type must be a structure, not {self._doc_type}")
        return Value.create(self._doc_type, initial_value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Attachment) and other.rid == self.rid

    def __hash__(self) -> int:
        return hash(self.rid)

    def __str__(self) -> str:
        types = f"{_short(self.concept_type())}, {_short(self._doc_type)}"
        return f"attachment<{types}> {self._namespace.name()}::{self._name}"

    def __repr__(self) -> str:
        return str(self)


def _short(t: Type) -> str:
    name = getattr(t, "name", None)
    if t.is_named() and callable(name):
        return name()
    return t.representation()


_NAMED_KINDS = (TypeConcept, TypeClub, TypeEnumeration, TypeStructure)


class Definitions:
    """A set of named types and attachments. Also exported as ``DefinitionsConst``."""

    def __init__(self) -> None:
        self._types: dict[bytes, Type] = {}
        self._names: dict[str, bytes] = {}
        self._attachments: dict[bytes, Attachment] = {}
        self._order_cache: list[Type] | None = None

    # --- building --------------------------------------------------------------------------
    def const(self) -> Definitions:
        return self

    def add_type(self, t: Type) -> Type:
        """Register a concept, club, enum or struct; returns the registered (possibly existing) one.

        Raises DefinitionsConflictError when the qualified name already denotes another id.
        """
        if not isinstance(t, _NAMED_KINDS):
            raise DefinitionsError(f"only concepts, clubs, enums and structs are registered, not {t}")
        qualified = f"{t.namespace().uuid_bytes().hex()}::{t.name()}"  # type: ignore[attr-defined]
        known = self._names.get(qualified)
        if known is not None and known != t.rid:
            raise DefinitionsConflictError(
                f"type {t} is already defined with runtime id {_hex_uuid(known)}, not {_hex_uuid(t.rid)}"
            )
        if known is None and t.rid in self._types:
            return self._types[t.rid]
        if known is None:
            self._names[qualified] = t.rid
            self._types[t.rid] = t
            self._order_cache = None
        return self._types[t.rid]

    def add_attachment(self, attachment: Attachment) -> Attachment:
        """Register an attachment; DefinitionsConflictError when the same namespace already has an
        attachment of that name on the same key type with another runtime id."""
        existing = self._attachments.get(attachment.rid)
        if existing is not None:
            return existing
        for other in self._attachments.values():
            if (other.name() == attachment.name()
                    and other.namespace().uuid_bytes() == attachment.namespace().uuid_bytes()
                    and other.key_type().rid == attachment.key_type().rid):
                raise DefinitionsConflictError(
                    f"attachment {attachment.identifier()} is already defined as {other} "
                    f"(runtime id {_hex_uuid(other.rid)}, not {_hex_uuid(attachment.rid)})"
                )
        self._attachments[attachment.rid] = attachment
        return attachment

    def create_concept(self, namespace: NameSpace, name: str, parent: TypeConcept | None = None,
                       documentation: str = "") -> TypeConcept:
        return self.add_type(TypeConcept(namespace, name, parent, documentation))  # type: ignore[return-value]

    def create_club(self, namespace: NameSpace, name: str, documentation: str = "") -> TypeClub:
        return self.add_type(TypeClub(namespace, name, documentation))  # type: ignore[return-value]

    def create_membership(self, club: TypeClub, concept: TypeConcept) -> None:
        """Make ``concept`` a member of ``club`` (both already held here)."""
        if not isinstance(club, TypeClub) or not isinstance(concept, TypeConcept):
            raise DefinitionsError(f"a membership needs a club and a concept, got {club} and {concept}")
        held = self._types.get(club.rid)
        if not isinstance(held, TypeClub):
            raise DefinitionsError(f"the club {club} is not defined here")
        held.add_member(concept)

    def create_enumeration(self, namespace: NameSpace, descriptor: TypeEnumerationDescriptor) -> TypeEnumeration:
        return self.add_type(descriptor.build(namespace))  # type: ignore[return-value]

    def create_structure(self, namespace: NameSpace, descriptor: TypeStructureDescriptor) -> TypeStructure:
        return self.add_type(descriptor.build(namespace))  # type: ignore[return-value]

    def create_attachment(self, namespace: NameSpace, name: str, key_type: Type, document_type: Type,
                          documentation: str = "") -> Attachment:
        return self.add_attachment(Attachment(namespace, name, key_type, document_type, documentation))

    # --- reading ---------------------------------------------------------------------------
    def types(self) -> list[Type]:
        """Concepts, clubs, enums, structs in the order of FORMAT.md §5.2."""
        if self._order_cache is None:
            self._order_cache = _ordered_types(list(self._types.values()))
        return list(self._order_cache)

    def concepts(self) -> list[TypeConcept]:
        return [t for t in self.types() if isinstance(t, TypeConcept)]

    def clubs(self) -> list[TypeClub]:
        return [t for t in self.types() if isinstance(t, TypeClub)]

    def enumerations(self) -> list[TypeEnumeration]:
        return [t for t in self.types() if isinstance(t, TypeEnumeration)]

    def structures(self) -> list[TypeStructure]:
        return [t for t in self.types() if isinstance(t, TypeStructure)]

    def attachments(self) -> list[Attachment]:
        return [self._attachments[r] for r in sorted(self._attachments)]

    def namespaces(self) -> list[NameSpace]:
        seen: dict[bytes, NameSpace] = {}
        for t in self.types():
            ns = t.namespace()  # type: ignore[attr-defined]
            seen.setdefault(ns.uuid_bytes(), ns)
        for a in self.attachments():
            seen.setdefault(a.namespace().uuid_bytes(), a.namespace())
        return list(seen.values())

    def type_by_rid(self, rid: bytes) -> Type | None:
        return self._types.get(rid)

    def attachment_by_rid(self, rid: bytes) -> Attachment | None:
        return self._attachments.get(rid)

    def has_attachment(self, attachment: Attachment) -> bool:
        return attachment.rid in self._attachments

    def query_types(self, name: str) -> list[Type]:
        """Types whose name, or ``Namespace::Name``, is ``name``."""
        return [t for t in self.types() if name in (t.name(), str(t))]  # type: ignore[attr-defined]

    def query_attachments(self, name: str) -> list[Attachment]:
        return [
            a for a in self.attachments()
            if name in (a.name(), a.identifier(), f"{a.namespace().name()}::{a.name()}")
        ]

    def is_empty(self) -> bool:
        return not self._types and not self._attachments

    def hexdigest(self) -> str:
        """SHA-1 of the sorted runtime ids of every type and attachment (FORMAT.md §5.3)."""
        rids = sorted([*self._types, *self._attachments])
        return hashlib.sha1(b"".join(rids)).hexdigest()

    def encode(self, token: bool = True) -> bytes:
        from commitdb.dsm.definitions_codec import encode_definitions

        return encode_definitions(self, token=token)

    @staticmethod
    def decode(data: bytes, token: bool = True) -> Definitions:
        from commitdb.dsm.definitions_codec import decode_definitions

        return decode_definitions(bytes(data), token=token)

    def copy(self) -> Definitions:
        c = Definitions()
        c._types, c._names, c._attachments = dict(self._types), dict(self._names), dict(self._attachments)
        return c

    def extend(self, other: Definitions) -> bool:
        """Add what ``other`` has and self lacks (in place); True when anything was added."""
        merged = extended_definitions(self, other)
        changed = merged.hexdigest() != self.hexdigest()
        self._types, self._names, self._attachments = merged._types, merged._names, merged._attachments
        self._order_cache = None
        return changed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Definitions) and self.hexdigest() == other.hexdigest()

    def __hash__(self) -> int:
        return hash(self.hexdigest())

    def __repr__(self) -> str:
        return f"<Definitions types={len(self._types)} attachments={len(self._attachments)}>"

    # --- inject ----------------------------------------------------------------------------
    def inject(self, namespace: dict[str, Any] | None = None) -> None:
        """Bind constants (``TUTO_A_USER_LOGIN``...) and one object per namespace (``Tuto``)
        into ``namespace``, or into the caller's globals when it is None."""
        target = namespace if namespace is not None else sys._getframe(1).f_globals
        from commitdb.dsm.inject import bindings

        target.update(bindings(self))


def _hex_uuid(rid: bytes) -> str:
    from commitdb.values.types import uuid_text

    return uuid_text(rid)


def extended_definitions(base: Definitions, extra: Definitions) -> Definitions:
    """A new Definitions with everything of ``base`` plus what ``extra`` adds (pure).

    Raises DefinitionsConflictError when a same-named type has a different runtime id.
    """
    merged = base.copy()
    for t in extra.types():
        merged.add_type(t)
    for a in extra.attachments():
        merged.add_attachment(a)
    return merged


def _dfs_front(nodes: list[Type], children_of: dict[bytes, list[Type]]) -> list[Type]:
    """Depth-first over ``nodes`` in ascending rid order, each finished node pushed in front."""
    order: list[Type] = []
    seen: set[bytes] = set()

    def visit(n: Type) -> None:
        seen.add(n.rid)
        for c in sorted(children_of.get(n.rid, []), key=lambda t: t.rid):
            if c.rid not in seen:
                visit(c)
        order.append(n)

    for n in sorted(nodes, key=lambda t: t.rid):
        if n.rid not in seen:
            visit(n)
    order.reverse()
    return order


def _ordered_types(all_types: Iterable[Type]) -> list[Type]:
    all_types = list(all_types)
    concepts = [t for t in all_types if isinstance(t, TypeConcept)]
    clubs = sorted((t for t in all_types if isinstance(t, TypeClub)), key=lambda t: t.rid)
    enums = sorted((t for t in all_types if isinstance(t, TypeEnumeration)), key=lambda t: t.rid)
    structs = [t for t in all_types if isinstance(t, TypeStructure)]

    concept_children: dict[bytes, list[Type]] = {}
    for c in concepts:
        parent = c.parent()
        if parent is not None:
            concept_children.setdefault(parent.rid, []).append(c)

    # Struct A -> struct B when a field type of B mentions A through containers.
    struct_users: dict[bytes, list[Type]] = {}
    for b in structs:
        for a in structs:
            if a.rid != b.rid and any(type_mentions(f.type(), a.rid) for f in b.fields()):
                struct_users.setdefault(a.rid, []).append(b)

    return [
        *_dfs_front(concepts, concept_children),  # type: ignore[arg-type]
        *clubs,
        *enums,
        *_dfs_front(structs, struct_users),  # type: ignore[arg-type]
    ]


def constant_name(text: str) -> str:
    """``MyApp`` -> ``MY_APP``; ``nickname`` -> ``NICKNAME``; ``firstName`` -> ``FIRST_NAME``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return text.upper()


DefinitionsConst = Definitions
