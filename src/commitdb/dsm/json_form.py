"""The JSON form of a model: DSM definitions as plain JSON data, and back.

``to_json_form(dsm_definitions)`` gives a dict ready for ``json.dump``; ``from_json_form(obj)``
rebuilds the DSMDefinitions. The round trip keeps everything ``to_dsm()`` renders — the order
of declarations, documentation, memberships, field defaults, function pools — so
``from_json_form(to_json_form(x))`` has the same definitions hexdigest and the same DSM text.

The form (version 1)::

    {
      "format": "commitdb.dsm.json", "version": 1,
      "definitions_hexdigest": "86f69c32...",          # checked by from_json_form
      "items": [                                        # namespaces and pools, in source order
        {"kind": "namespace", "name": "Tuto", "uuid": "f529bc42-...", "documentation": "",
         "declarations": [
           {"kind": "concept", "name": "User", "is_a": null, "documentation": "A user."},
           {"kind": "club", "name": "Selectable", "documentation": ""},
           {"kind": "membership", "club": "Graph::Selectable", "concept": "Graph::Vertex",
            "documentation": ""},
           {"kind": "enum", "name": "Status", "documentation": "",
            "cases": [{"name": "pending", "documentation": ""}, ...]},
           {"kind": "struct", "name": "Login", "documentation": "",
            "fields": [{"name": "nickname", "type": "string", "default": null,
                        "documentation": ""}, ...]},
           {"kind": "attachment", "name": "login", "key": "Tuto::User",
            "document": "Tuto::Login", "documentation": ""}]},
        {"kind": "function_pool", "name": "Tools", "uuid": "...", "documentation": "",
         "functions": [{"name": "f", "return": "string", "mutable": false, "documentation": "",
                        "parameters": [{"name": "s", "type": "Tuto::Login"}]}]}
      ]
    }

Types are DSM type expressions with every named type qualified (``map<string, Tuto::User>``);
a field default is the DSM literal text of the value (``"'draft'"``, ``".square"``,
``"{0.2, 0.4}"``) or null. ``"kind"`` of a pool is ``function_pool`` or
``attachment_function_pool`` (whose functions may be ``"mutable": true``).

Decoding renders the form as DSM text and parses it with DSMBuilder, so a hand-edited form is
checked exactly like a model file; problems raise DSMError naming the offending item.
"""

from __future__ import annotations

import re
from typing import Any

from commitdb.dsm.builder import DSMBuilder
from commitdb.dsm.definitions import Attachment
from commitdb.dsm.dsm_definitions import (
    DSMDefinitions,
    DSMFunctionPool,
    DSMMembership,
    render_literal,
    render_type,
)
from commitdb.errors import DSMError
from commitdb.values.types import NameSpace, TypeClub, TypeConcept, TypeEnumeration, TypeStructure, uuid_text

FORMAT = "commitdb.dsm.json"
VERSION = 1

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TYPE = re.compile(r"[A-Za-z0-9_:<>, ]+\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


# --- encoding ------------------------------------------------------------------------------------


def to_json_form(dsm_definitions: DSMDefinitions) -> dict[str, Any]:
    """The JSON form (a dict of plain JSON data) of ``dsm_definitions``."""
    items: list[dict[str, Any]] = []
    for item in _order(dsm_definitions):
        if isinstance(item, NameSpace):
            items.append({
                "kind": "namespace",
                "name": item.name(),
                "uuid": uuid_text(item.uuid_bytes()),
                "documentation": dsm_definitions.namespace_documentation(item),
                "declarations": [_declaration(obj) for obj in _declarations(dsm_definitions, item)],
            })
        else:
            items.append(_pool(item))
    return {
        "format": FORMAT,
        "version": VERSION,
        "definitions_hexdigest": dsm_definitions.definitions().hexdigest(),
        "items": items,
    }


def _order(dd: DSMDefinitions) -> list[NameSpace | DSMFunctionPool]:
    return dd.top_level_order()


def _declarations(dd: DSMDefinitions, ns: NameSpace) -> list[object]:
    return dd.declarations(ns)


def _type(t: Any) -> str:
    return render_type(t, None)


def _declaration(obj: object) -> dict[str, Any]:
    if isinstance(obj, TypeConcept):
        parent = obj.parent()
        return {"kind": "concept", "name": obj.name(), "is_a": None if parent is None else _type(parent),
                "documentation": obj.documentation()}
    if isinstance(obj, TypeClub):
        return {"kind": "club", "name": obj.name(), "documentation": obj.documentation()}
    if isinstance(obj, DSMMembership):
        return {"kind": "membership", "club": _type(obj.club), "concept": _type(obj.concept),
                "documentation": obj.documentation}
    if isinstance(obj, TypeEnumeration):
        return {"kind": "enum", "name": obj.name(), "documentation": obj.documentation(),
                "cases": [{"name": c.name(), "documentation": c.documentation()} for c in obj.cases()]}
    if isinstance(obj, TypeStructure):
        fields = []
        for f in obj.fields():
            default = f.default_value()
            fields.append({"name": f.name(), "type": _type(f.type()),
                           "default": None if default is None else render_literal(default),
                           "documentation": f.documentation()})
        return {"kind": "struct", "name": obj.name(), "documentation": obj.documentation(), "fields": fields}
    if isinstance(obj, Attachment):
        return {"kind": "attachment", "name": obj.name(), "key": _type(obj.concept_type()),
                "document": _type(obj.document_type()), "documentation": obj.documentation()}
    raise DSMError(f"cannot encode the declaration {obj!r}")


def _pool(pool: DSMFunctionPool) -> dict[str, Any]:
    return {
        "kind": "attachment_function_pool" if pool.is_attachment_function_pool() else "function_pool",
        "name": pool.name(),
        "uuid": str(pool.uuid()),
        "documentation": pool.documentation(),
        "functions": [
            {"name": fn.name(), "return": _type(fn.return_type()), "mutable": fn.is_mutable(),
             "documentation": fn.documentation(),
             "parameters": [{"name": n, "type": _type(t)} for n, t in fn.parameters()]}
            for fn in pool.functions()
        ],
    }


# --- decoding ------------------------------------------------------------------------------------


def from_json_form(obj: Any, source: str = "<json>") -> DSMDefinitions:
    """The DSMDefinitions of a JSON form. Raises DSMError (naming the item) on a malformed
    form, on a model error, or when the recorded hexdigest does not match."""
    return _parse(render_json_form(obj), source, obj)


def render_json_form(obj: Any) -> str:
    """The DSM text of a JSON form (not yet checked by the parser)."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise DSMError(f"not a {FORMAT} document (its 'format' must be {FORMAT!r})")
    if obj.get("version") != VERSION:
        raise DSMError(f"unsupported {FORMAT} version {obj.get('version')!r} (expected {VERSION})")
    items = _list(obj, "items", "the document")
    blocks = []
    for i, item in enumerate(items):
        where = f"items[{i}]"
        kind = _str(item, "kind", where)
        if kind == "namespace":
            blocks.append(_render_namespace(item, where))
        elif kind in ("function_pool", "attachment_function_pool"):
            blocks.append(_render_pool(item, where, kind))
        else:
            raise DSMError(f"{where}: unknown kind {kind!r}")
    return "\n".join(blocks)


def _parse(text: str, source: str, obj: dict[str, Any]) -> DSMDefinitions:
    builder = DSMBuilder()
    builder.append(source, text)
    report, dsm_definitions, definitions = builder.parse()
    if report.has_error() or dsm_definitions is None or definitions is None:
        raise DSMError(f"the model of {source} has errors (lines of its DSM rendering):\n{report}")
    expected = obj.get("definitions_hexdigest")
    if expected is not None and expected != definitions.hexdigest():
        raise DSMError(f"{source}: the definitions hexdigest is {definitions.hexdigest()}, "
                       f"the form records {expected}")
    return dsm_definitions


def _get(item: Any, key: str, where: str) -> Any:
    if not isinstance(item, dict):
        raise DSMError(f"{where}: expected an object, got {type(item).__name__}")
    if key not in item:
        raise DSMError(f"{where}: missing {key!r}")
    return item[key]


def _str(item: Any, key: str, where: str) -> str:
    value = _get(item, key, where)
    if not isinstance(value, str):
        raise DSMError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _list(item: Any, key: str, where: str) -> list[Any]:
    value = _get(item, key, where)
    if not isinstance(value, list):
        raise DSMError(f"{where}.{key}: expected a list, got {type(value).__name__}")
    return value


def _name(item: Any, key: str, where: str) -> str:
    value = _str(item, key, where)
    if not _NAME.match(value):
        raise DSMError(f"{where}.{key}: {value!r} is not a name")
    return value


def _type_text(item: Any, key: str, where: str) -> str:
    value = _str(item, key, where)
    if not _TYPE.match(value):
        raise DSMError(f"{where}.{key}: {value!r} is not a type expression")
    return value


def _uuid(item: Any, where: str) -> str:
    value = _str(item, "uuid", where)
    if not _UUID.match(value):
        raise DSMError(f"{where}.uuid: {value!r} is not a uuid")
    return value


def _doc(lines: list[str], item: Any, indent: str, where: str) -> None:
    doc = item.get("documentation", "") if isinstance(item, dict) else ""
    if doc is None:
        doc = ""
    if not isinstance(doc, str):
        raise DSMError(f"{where}.documentation: expected a string, got {doc!r}")
    if '"""' in doc:
        raise DSMError(f'{where}.documentation: a docstring cannot contain """')
    if doc:
        lines.append(f'{indent}"""{doc}"""')


def _render_namespace(item: dict[str, Any], where: str) -> str:
    lines: list[str] = []
    _doc(lines, item, "", where)
    lines.append(f"namespace {_name(item, 'name', where)} {{{_uuid(item, where)}}} {{")
    for j, decl in enumerate(_list(item, "declarations", where)):
        w = f"{where}.declarations[{j}]"
        _doc(lines, decl, "", w)
        lines.extend(_render_declaration(decl, w))
    lines.append("};")
    return "\n".join(lines) + "\n"


def _render_declaration(decl: Any, where: str) -> list[str]:
    kind = _str(decl, "kind", where)
    if kind == "concept":
        parent = decl.get("is_a")
        suffix = "" if parent is None else f" is a {_type_text(decl, 'is_a', where)}"
        return [f"concept {_name(decl, 'name', where)}{suffix};"]
    if kind == "club":
        return [f"club {_name(decl, 'name', where)};"]
    if kind == "membership":
        return [f"membership {_type_text(decl, 'club', where)} {_type_text(decl, 'concept', where)};"]
    if kind == "enum":
        lines = [f"enum {_name(decl, 'name', where)} {{"]
        cases = _list(decl, "cases", where)
        for k, case in enumerate(cases):
            w = f"{where}.cases[{k}]"
            _doc(lines, case, "    ", w)
            lines.append(f"    {_name(case, 'name', w)}{',' if k + 1 < len(cases) else ''}")
        return [*lines, "};"]
    if kind == "struct":
        lines = [f"struct {_name(decl, 'name', where)} {{"]
        for k, field in enumerate(_list(decl, "fields", where)):
            w = f"{where}.fields[{k}]"
            _doc(lines, field, "    ", w)
            default = field.get("default")
            if default is not None and not isinstance(default, str):
                raise DSMError(f"{w}.default: expected DSM literal text or null, got {default!r}")
            tail = "" if default is None else f" = {default}"
            lines.append(f"    {_type_text(field, 'type', w)} {_name(field, 'name', w)}{tail};")
        return [*lines, "};"]
    if kind == "attachment":
        return [f"attachment<{_type_text(decl, 'key', where)}, {_type_text(decl, 'document', where)}> "
                f"{_name(decl, 'name', where)};"]
    raise DSMError(f"{where}: unknown declaration kind {kind!r}")


def _render_pool(item: dict[str, Any], where: str, kind: str) -> str:
    lines: list[str] = []
    _doc(lines, item, "", where)
    lines.append(f"{kind} {_name(item, 'name', where)} {{{_uuid(item, where)}}} {{")
    for j, fn in enumerate(_list(item, "functions", where)):
        w = f"{where}.functions[{j}]"
        _doc(lines, fn, "    ", w)
        params = ", ".join(
            f"{_type_text(p, 'type', f'{w}.parameters[{k}]')} {_name(p, 'name', f'{w}.parameters[{k}]')}"
            for k, p in enumerate(_list(fn, "parameters", w))
        )
        mutable = "mutable " if fn.get("mutable") else ""
        lines.append(f"    {mutable}{_type_text(fn, 'return', w)} {_name(fn, 'name', w)}({params});")
    lines.append("};")
    return "\n".join(lines) + "\n"
