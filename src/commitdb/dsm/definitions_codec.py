"""The encoding of Definitions (types and attachments), built on the value codec.

It lives with the modelling language, not in the codec: the codec encodes types, values and
paths and knows nothing of Definitions, so the foundation layers import each other in one
direction only (dsm -> codec -> values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import commitdb.values.scalars as S
from commitdb.codec import Reader, Writer, read_type, read_value, write_type, write_value
from commitdb.errors import CorruptedDataError
from commitdb.values import types as T
from commitdb.values.types import Type


def encode_definitions(defs: Any, token: bool = True) -> bytes:
    """The encoded definitions: types, then attachments, in the order of the file format."""
    w = Writer(token)
    types = defs.types()
    w.u64(len(types))
    for t in types:
        w.u8(t.code)
        w.uuid(t.rid)
        ns = t.namespace()
        w.uuid(ns.uuid_bytes())
        w.string(ns.name())
        w.string(t.name())
        w.string(t.documentation())
        if t.code == T.CONCEPT:
            parent = t.parent()
            w.boolean(parent is not None)
            if parent is not None:
                write_type(w, parent)
        elif t.code == T.CLUB:
            members = t.members()
            w.u64(len(members))
            for m in members:
                w.uuid(m.rid)
        elif t.code == T.ENUMERATION:
            w.u64(len(t.cases()))
            for c in t.cases():
                w.string(c.name())
                w.string(c.documentation())
        elif t.code == T.STRUCTURE:
            w.u64(len(t.fields()))
            for f in t.fields():
                w.string(f.name())
                w.string(f.documentation())
                write_type(w, f.type())
                default = f.default_value()
                w.boolean(default is not None)
                if default is not None:
                    write_value(w, default)
    attachments = defs.attachments()
    w.u64(len(attachments))
    for a in attachments:
        ns = a.namespace()
        w.uuid(ns.uuid_bytes())
        w.string(ns.name())
        w.string(a.name())
        write_type(w, a.concept_type())
        write_type(w, a.document_type())
        w.string(a.documentation())
        w.uuid(a.rid)
    return w.getvalue()


def decode_definitions(data: bytes, token: bool = True) -> Any:
    """Rebuild Definitions from their encoding; verifies every runtime id."""
    from commitdb.dsm.definitions import Attachment, Definitions

    defs = Definitions()
    r = Reader(data, token)
    by_rid: dict[bytes, Type] = {}
    named = _registry_resolver(by_rid)
    try:
        for _ in range(r.count(1)):
            code = r.u8()
            rid = r.uuid()
            ns = T.NameSpace(r.uuid(), r.string())
            name = r.string()
            doc = r.string()
            t: Type
            if code == T.CONCEPT:
                parent = read_type(r, named) if r.boolean() else None
                t = T.TypeConcept(ns, name, parent, doc)  # type: ignore[arg-type]
            elif code == T.CLUB:
                club = T.TypeClub(ns, name, doc)
                for _ in range(r.count(16)):
                    member = named(T.CONCEPT, r.uuid())
                    club.add_member(member)  # type: ignore[arg-type]
                t = club
            elif code == T.ENUMERATION:
                cases = [(r.string(), r.string()) for _ in range(r.count(16))]
                t = T.TypeEnumeration(ns, name, cases, doc)
            elif code == T.STRUCTURE:
                fields = []
                for _ in range(r.count(16)):
                    fname, fdoc = r.string(), r.string()
                    ftype = read_type(r, named)
                    default = read_value(r, ftype, named) if r.boolean() else None
                    fields.append(T.TypeStructureField(fname, ftype, default, fdoc))
                t = T.TypeStructure(ns, name, fields, doc)
            else:
                raise CorruptedDataError(f"unknown definition kind {code:#04x}")
            if t.rid != rid:
                raise CorruptedDataError(
                    f"definition {ns.name()}::{name}: runtime id {S.ValueUUId(rid)} does not match its content "
                    f"({S.ValueUUId(t.rid)})"
                )
            by_rid[rid] = defs.add_type(t)
        for _ in range(r.count(1)):
            ns = T.NameSpace(r.uuid(), r.string())
            name = r.string()
            key_type = read_type(r, named)
            doc_type = read_type(r, named)
            doc = r.string()
            rid = r.uuid()
            att = Attachment(ns, name, key_type, doc_type, doc)
            if att.rid != rid:
                raise CorruptedDataError(f"attachment {ns.name()}::{name}: runtime id does not match its content")
            defs.add_attachment(att)
        r.expect_end("the definitions")
    except CorruptedDataError:
        raise
    except Exception as e:
        raise CorruptedDataError(f"invalid definitions: {e}") from None
    return defs


def _registry_resolver(by_rid: dict[bytes, Type]) -> Callable[[int, bytes], Type]:
    def resolve(code: int, rid: bytes) -> Type:
        found = by_rid.get(rid)
        if found is None or found.code != code:
            raise CorruptedDataError(f"reference to an unknown or later type {S.ValueUUId(rid)}")
        return found

    return resolve


