"""Names that ``Definitions.inject()`` binds: constants and one object per namespace.

Constants: ``{NS}_C_{CONCEPT}`` (also ``_T_`` for the concept type and ``_K_`` for its key type),
``{NS}_CLUB_{CLUB}``, ``{NS}_E_{ENUM}``, ``{NS}_S_{STRUCT}``, ``{NS}_A_{CONCEPT}_{ATTACHMENT}``
and ``{NS}_P_{STRUCT}_{FIELD}`` (a PathConst to the field). Namespace objects: ``Tuto.Login``
(a type), ``Tuto.keys.User`` (key type), ``Tuto.attachments.User.login``,
``Tuto.paths.Login.nickname``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from commitdb.dsm.definitions import Definitions, constant_name
from commitdb.values.path import Path
from commitdb.values.types import TypeClub, TypeConcept, TypeEnumeration, TypeKey, TypeStructure


class _Group(SimpleNamespace):
    """An attribute bag that prints its members."""

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(vars(self))) + "}"


def _ns_object(objects: dict[str, _Group], ns_name: str) -> _Group:
    group = objects.get(ns_name)
    if group is None:
        group = _Group(keys=_Group(), attachments=_Group(), paths=_Group())
        objects[ns_name] = group
    return group


def bindings(defs: Definitions) -> dict[str, Any]:
    """Every name ``inject`` binds, as a dict."""
    names: dict[str, Any] = {}
    objects: dict[str, _Group] = {}
    for t in defs.types():
        ns_name = t.namespace().name()  # type: ignore[attr-defined]
        prefix = constant_name(ns_name)
        name = t.name()  # type: ignore[attr-defined]
        upper = constant_name(name)
        group = _ns_object(objects, ns_name)
        setattr(group, name, t)
        if isinstance(t, TypeConcept):
            names[f"{prefix}_C_{upper}"] = t
            names[f"{prefix}_T_{upper}"] = t
            names[f"{prefix}_K_{upper}"] = TypeKey(t)
            setattr(group.keys, name, TypeKey(t))
        elif isinstance(t, TypeClub):
            names[f"{prefix}_CLUB_{upper}"] = t
            names[f"{prefix}_K_{upper}"] = TypeKey(t)
            setattr(group.keys, name, TypeKey(t))
        elif isinstance(t, TypeEnumeration):
            names[f"{prefix}_E_{upper}"] = t
        elif isinstance(t, TypeStructure):
            names[f"{prefix}_S_{upper}"] = t
            fields = _Group()
            for f in t.fields():
                path = Path.from_field(f.name()).const()
                names[f"{prefix}_P_{upper}_{constant_name(f.name())}"] = path
                setattr(fields, f.name(), path)
            setattr(group.paths, name, fields)
    for a in defs.attachments():
        ns_name = a.namespace().name()
        prefix = constant_name(ns_name)
        # A key concept from another namespace is prefixed with it: ``App.attachments.Lib_User``.
        concept_name = a.relative_key_name().replace("::", "_")
        names[f"{prefix}_A_{constant_name(concept_name)}_{constant_name(a.name())}"] = a
        group = _ns_object(objects, ns_name)
        by_concept = getattr(group.attachments, concept_name, None)
        if by_concept is None:
            by_concept = _Group()
            setattr(group.attachments, concept_name, by_concept)
        setattr(by_concept, a.name(), a)
    names.update(objects)
    return names
