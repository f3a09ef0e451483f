"""Documents as the page sees them: abstractions, keys, a document as rows of a tree, and the
edit operations, each turned into opcodes on a mutable state with the reference's label style.

Everything crosses to the page as JSON: values in the plain projection of ``Value.dumps(json=True)``
and back through ``Value.loads`` against the type the path addresses, so a value of the wrong
type is refused before anything is recorded.
"""

from __future__ import annotations

import uuid
from typing import Any

from commitdb.errors import ValidationError
from commitdb.values import (
    TypeAny,
    TypeBlobId,
    TypeBool,
    TypeDouble,
    TypeEnumeration,
    TypeInt64,
    TypeMap,
    TypeOptional,
    TypeSet,
    TypeString,
    TypeStructure,
    TypeUUId,
    TypeVariant,
    TypeVector,
    TypeXArray,
    Value,
    ValueAny,
    ValueEnumeration,
    ValueKey,
    ValueMap,
    ValueOptional,
    ValueSet,
    ValueStructure,
    ValueUUId,
    ValueVariant,
    ValueVector,
    ValueXArray,
)
from commitdb.values.path import Path

MAX_ROWS = 5000  # rows of one document sent to the page; a larger document is cut (and says so)
ANY_TYPES = {"bool": TypeBool(), "int64": TypeInt64(), "double": TypeDouble(), "string": TypeString(),
             "uuid": TypeUUId(), "blob_id": TypeBlobId()}


# --- naming --------------------------------------------------------------------------------------

def attachment_id(attachment: Any) -> str:
    return str(attachment.runtime_id())


def find_attachment(definitions: Any, ident: Any) -> Any:
    """The attachment whose runtime id (or ``Namespace::Concept.name`` identifier) is ``ident``."""
    if not isinstance(ident, str) or not ident:
        raise ValidationError("an attachment id is required")
    for attachment in definitions.attachments():
        if ident in (attachment_id(attachment), attachment.identifier(), str(attachment)):
            return attachment
    raise ValidationError(f"no attachment {ident!r} in the database definitions")


def key_text(key: ValueKey) -> str:
    """``instance:concept`` (both uuids): enough to rebuild a key of a concept or a club."""
    instance, concept = Value.dumps(key, json=True)
    return f"{instance}:{concept}"


def parse_key(attachment: Any, definitions: Any, text: Any) -> ValueKey:
    if not isinstance(text, str) or not text:
        raise ValidationError("a key (instance:concept uuids) is required")
    instance, _, concept = text.partition(":")
    if not concept:
        concept = str(attachment.key_type().element_type().runtime_id())
    try:
        return Value.loads([instance, concept], attachment.key_type(), definitions)  # type: ignore[return-value]
    except (ValueError, TypeError) as error:
        raise ValidationError(f"{text!r} is not a key of {attachment}: {error}") from None


def abstractions(definitions: Any) -> list[dict[str, Any]]:
    """Concepts and clubs that key an attachment, each with its attachments."""
    groups: dict[str, dict[str, Any]] = {}
    for attachment in definitions.attachments():
        concept = attachment.key_type().element_type()
        group = groups.setdefault(str(concept), {"name": str(concept), "kind": type(concept).__name__[4:].lower(),
                                                 "documentation": concept.documentation(), "attachments": []})
        group["attachments"].append({"id": attachment_id(attachment), "name": attachment.name(),
                                     "identifier": attachment.identifier(),
                                     "document_type": str(attachment.document_type())})
    return sorted(groups.values(), key=lambda g: g["name"])


# --- a document as tree rows ---------------------------------------------------------------------

def _kind(t: Any) -> str:
    return type(t).__name__[4:].lower() if type(t).__name__.startswith("Type") else "value"


def document_rows(document: Value | None, doc_type: Any) -> dict[str, Any]:
    """The rows of the tree (depth-first), each with its path, type, kind and what can be done."""
    rows: list[dict[str, Any]] = []
    if document is not None:
        _walk(document, doc_type, [], "", "document", 0, rows)
    return {"rows": rows[:MAX_ROWS], "truncated": len(rows) > MAX_ROWS, "exists": document is not None}


def _row(rows: list[dict[str, Any]], value: Value, t: Any, comps: list[Any], text: str, name: str,
         depth: int, ops: list[str], **extra: Any) -> None:
    leaf = _is_leaf(t)
    row = {"path": comps, "path_text": text or "/", "name": name, "depth": depth, "type": str(t),
           "kind": _kind(t), "ops": ops, "leaf": leaf, **extra}
    if leaf:
        row["json"] = Value.dumps(value, json=True)
        row["display"] = value.representation() if not isinstance(value, ValueEnumeration) else value.name()
    else:
        row["display"] = _summary(value)
    if isinstance(t, TypeEnumeration):
        row["cases"] = [c.name() for c in t.cases()]
    rows.append(row)


def _is_leaf(t: Any) -> bool:
    return (t.is_primitive() and not isinstance(t, TypeAny)) or isinstance(t, TypeEnumeration) \
        or _kind(t) in ("key", "tuple", "vec", "mat")


def _summary(value: Value) -> str:
    if isinstance(value, ValueOptional):
        return "nil" if value.is_nil() else "some"
    if isinstance(value, ValueAny):
        return "nil" if value.is_nil() else f"any {value.held().type()}"  # type: ignore[union-attr]
    if isinstance(value, ValueVariant):
        return f"variant {value.held_type()}"
    if isinstance(value, ValueXArray):
        return f"{len(value.raw_values())} elements"
    if isinstance(value, ValueVector | ValueSet | ValueMap):
        return f"{len(value)} elements"
    return ""


def _walk(value: Value, t: Any, comps: list[Any], text: str, name: str, depth: int,
          rows: list[dict[str, Any]], via: str | None = None) -> None:
    if len(rows) > MAX_ROWS:
        return
    ops = ["update"] if _is_leaf(t) or isinstance(t, TypeStructure) else []
    if via == "set":
        ops = ["set_update", "set_remove"]
    elif via == "map":
        ops += ["map_remove", "map_rename"]
    elif via == "vector":
        ops += ["vector_insert", "vector_remove"]
    elif via == "xarray":
        ops += ["xarray_insert", "xarray_remove"]
    extra: dict[str, Any] = {}
    if isinstance(value, ValueOptional):
        ops += ["optional_clear"] if not value.is_nil() else ["optional_wrap"]
    elif isinstance(value, ValueVector):
        ops += ["vector_append"]
    elif isinstance(value, ValueSet):
        ops += ["set_insert"]
        extra["element_type"] = str(t.element_type())
    elif isinstance(value, ValueMap):
        ops += ["map_add"]
        extra["key_type"] = str(t.key_type())
        extra["element_type"] = str(t.element_type())
    elif isinstance(value, ValueXArray):
        ops += ["xarray_append"]
    elif isinstance(value, ValueVariant):
        ops += ["variant_reset"]
        extra["alternatives"] = [str(a) for a in t.types()]
        extra["alternative"] = value.index()
    elif isinstance(value, ValueAny):
        ops += ["any_clear", "any_reset"]
        extra["any_types"] = sorted(ANY_TYPES)
    if via != "set" and t is not None:
        extra["zero"] = Value.dumps(Value.create(t), json=True) if _is_leaf(t) else None
    if isinstance(value, ValueVector | ValueSet | ValueMap | ValueXArray):
        extra["element_zero"] = Value.dumps(Value.create(t.element_type()), json=True)
    if isinstance(value, ValueMap):
        extra["key_zero"] = Value.dumps(Value.create(t.key_type()), json=True)
    _row(rows, value, t, comps, text, name, depth, ops, **extra)
    _children(value, t, comps, text, depth, rows)


def _children(value: Value, t: Any, comps: list[Any], text: str, depth: int, rows: list[dict[str, Any]]) -> None:
    d = depth + 1
    if isinstance(value, ValueStructure):
        for f, v in zip(t.fields(), value.field_values()):
            _walk(v, f.type(), [*comps, ["field", f.name()]], f"{text}.{f.name()}", f.name(), d, rows)
    elif isinstance(value, ValueOptional) and not value.is_nil():
        _walk(value.unwrap(encoded=False), t.element_type(), [*comps, ["unwrap"]], f"{text}!", "some", d, rows)
    elif isinstance(value, ValueVariant):
        _walk(value.unwrap(encoded=False), value.held_type(), [*comps, ["unwrap"]], f"{text}!", "held", d, rows,
              via="variant")
    elif isinstance(value, ValueAny) and not value.is_nil():
        held = value.held()
        _walk(held, held.type(), [*comps, ["unwrap"]], f"{text}!", "held", d, rows, via="any")  # type: ignore[union-attr]
    elif isinstance(value, ValueVector):
        for i, v in enumerate(value.values()):
            _walk(v, t.element_type(), [*comps, ["index", i]], f"{text}[{i}]", f"[{i}]", d, rows, via="vector")
    elif isinstance(value, ValueSet):
        for v in value.members():
            _walk(v, t.element_type(), [*comps, ["element", Value.dumps(v, json=True)]], f"{text}{{}}",
                  v.representation(), d, rows, via="set")
    elif isinstance(value, ValueMap):
        for k, v in value.entries():
            _walk(v, t.element_type(), [*comps, ["key", Value.dumps(k, json=True)]],
                  f"{text}[{k.representation()}]", k.representation(), d, rows, via="map")
    elif isinstance(value, ValueXArray):
        values = value.raw_values()
        for i, p in enumerate(q for q in value.raw_positions() if q in values):
            position = str(ValueUUId(p))
            _walk(values[p], t.element_type(), [*comps, ["position", position]], f"{text}[{{{position}}}]",
                  f"[{i}]", d, rows, via="xarray")


# --- edits -------------------------------------------------------------------------------------

def build_path(doc_type: Any, comps: Any, definitions: Any) -> tuple[Path, Any]:
    """The Path of the page's components and the type it addresses (None inside a variant or any
    whose held type the components do not tell)."""
    if not isinstance(comps, list):
        raise ValidationError("path must be a list of components")
    path, t = Path(), doc_type
    for comp in comps:
        if not isinstance(comp, list) or not comp or not isinstance(comp[0], str):
            raise ValidationError(f"bad path component {comp!r}")
        kind = comp[0]
        arg = comp[1] if len(comp) > 1 else None
        if kind == "field" and isinstance(t, TypeStructure) and isinstance(arg, str) and t.field(arg) is not None:
            path.field(arg)
            t = t.field(arg).type()
        elif kind == "index" and isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0 \
                and hasattr(t, "element_type"):
            path.index(arg)
            t = t.element_type()
        elif kind == "key" and isinstance(t, TypeMap):
            path.key(_load(arg, t.key_type(), definitions, "map key"))
            t = t.element_type()
        elif kind == "position" and isinstance(t, TypeXArray):
            path.position(ValueUUId(_uuid(arg)))
            t = t.element_type()
        elif kind == "unwrap" and isinstance(t, TypeOptional):
            path.unwrap()
            t = t.element_type()
        elif kind == "unwrap" and isinstance(t, TypeVariant | TypeAny):
            path.unwrap()
            t = None
        else:
            raise ValidationError(f"path component {comp!r} does not fit {t}")
    return path, t


def _uuid(text: Any) -> str:
    try:
        return str(uuid.UUID(str(text)))
    except ValueError:
        raise ValidationError(f"{text!r} is not a uuid") from None


def _load(obj: Any, t: Any, definitions: Any, what: str) -> Value:
    try:
        return Value.loads(obj, t, definitions)
    except ValidationError as error:
        raise ValidationError(f"{what}: {error}") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValidationError(f"{what}: {obj!r} is not a {t} ({error})") from None


def _current(getting: Any, attachment: Any, key: Any, path: Path) -> Value:
    doc = getting.get(attachment, key)
    if doc.is_nil():
        raise ValidationError(f"{attachment} has no document for this key")
    try:
        return path.at(doc.unwrap(encoded=False), encoded=False)
    except Exception as error:  # a path that no longer resolves in this state
        raise ValidationError(f"path {path} does not resolve in this document: {error}") from None


def apply_edit(mutating: Any, definitions: Any, request: dict[str, Any]) -> str:
    """Record the edit ``request`` on ``mutating``; returns the commit label. ValidationError
    (and the value system's errors) name what is wrong; nothing is recorded then."""
    op = request.get("op")
    attachment = find_attachment(definitions, request.get("attachment"))
    if op == "new_instance":
        key = attachment.create_key(ValueUUId(_uuid(request["instance"])) if request.get("instance") else None)
        mutating.set(attachment, key, attachment.create_document())
        return f"New instance of {attachment.key_type().element_type()}"
    key = parse_key(attachment, definitions, request.get("key"))
    if op == "add_attachment":
        if mutating.has(attachment, key):
            raise ValidationError(f"{key_text(key)} already has a {attachment.name()} document")
        mutating.set(attachment, key, attachment.create_document())
        return f"Add {attachment.name()} to {attachment.key_type().element_type()}"
    if op in ("set_remove", "set_update"):
        return _set_element(mutating, definitions, attachment, key, request.get("path"), op, request.get("value"))
    path, t = build_path(attachment.document_type(), request.get("path", []), definitions)
    value = request.get("value")
    if op == "update":
        if t is None:
            # Inside a variant or an any the written value must carry its type: it keeps the
            # type the holder holds now (resetting the holder changes it).
            held = _current(mutating, attachment, key, path)
            new = _load(value, held.type(), definitions, "value")
            mutating.update(attachment, key, path, new)
            return f"Set {_short(new)}"
        new = _load(value, t, definitions, "value")
        mutating.update(attachment, key, path, new)
        comps = path.components()
        if comps and comps[-1].kind() == "Field" and _is_leaf(t):
            return f"Update {comps[-1].value()} To {_short(new)}"
        return f"Set {_short(new)}"
    if op in ("optional_clear", "optional_wrap"):
        _expect(t, TypeOptional, op)
        wrapped = Value.create(t) if op == "optional_clear" else ValueOptional(t, Value.create(t.element_type()))
        mutating.update(attachment, key, path, wrapped)
        return "Clear an Optional" if op == "optional_clear" else "Reset an Optional"
    if op.startswith("vector_") if isinstance(op, str) else False:
        return _vector_edit(mutating, definitions, attachment, key, path, t, op, request)
    if op == "set_insert":
        _expect(t, TypeSet, op)
        mutating.union_in_set(attachment, key, path, [_load(value, t.element_type(), definitions, "element")])
        return "Insert in Set"
    if op in ("map_add", "map_remove", "map_rename"):
        return _map_edit(mutating, definitions, attachment, key, path, t, op, request)
    if op in ("xarray_append", "xarray_insert", "xarray_remove"):
        return _xarray_edit(mutating, definitions, attachment, key, path, t, op, request)
    if op == "variant_reset":
        _expect(t, TypeVariant, op)
        index = request.get("alternative")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(t.types()):
            raise ValidationError(f"alternative must be an index below {len(t.types())}, got {index!r}")
        alternative = t.types()[index]
        mutating.update(attachment, key, path, ValueVariant(t, Value.create(alternative)))
        return f"Reset a Variant To {alternative}"
    if op in ("any_clear", "any_reset"):
        _expect(t, TypeAny, op)
        if op == "any_clear":
            mutating.update(attachment, key, path, ValueAny())
            return "Clear an Any"
        name = request.get("type")
        if name not in ANY_TYPES:
            raise ValidationError(f"type must be one of {', '.join(sorted(ANY_TYPES))}, got {name!r}")
        mutating.update(attachment, key, path, ValueAny(Value.create(ANY_TYPES[name])))
        return f"Reset an Any To {name}"
    raise ValidationError(f"unknown edit operation {op!r}")


def _short(value: Value) -> str:
    text = value.name() if isinstance(value, ValueEnumeration) else value.representation()
    return text if len(text) <= 60 else text[:57] + "..."


def _expect(t: Any, kind: type, op: str) -> None:
    if not isinstance(t, kind):
        raise ValidationError(f"{op} needs a {kind.__name__[4:].lower()} here, this path holds {t}")


def _container_path(path: Path) -> tuple[Path, Any]:
    """The path of the container holding the last component, and that component's payload."""
    comps = path.components()
    if not comps:
        raise ValidationError("this operation needs an element of a container")
    return Path(comps[:-1]), comps[-1]


def _vector_edit(mutating: Any, definitions: Any, attachment: Any, key: Any, path: Path, t: Any, op: str,
                 request: dict[str, Any]) -> str:
    if op == "vector_append":
        _expect(t, TypeVector, op)
        vector_path, index = path, None
    else:
        vector_path, component = _container_path(path)
        if component.kind() != "Index":
            raise ValidationError(f"{op} needs a vector element")
        index = component.value()
    vector = _current(mutating, attachment, key, vector_path)
    if not isinstance(vector, ValueVector):
        raise ValidationError(f"{op} needs a vector at {vector_path}")
    items = list(Value.dumps(vector, json=True))
    element_type = vector.type().element_type()
    if op == "vector_remove":
        if index >= len(items):
            raise ValidationError(f"index {index} is out of the vector of {len(items)} elements")
        del items[index]
        label = "Remove in Vector"
    else:
        element = Value.dumps(_load(request.get("value"), element_type, definitions, "element"), json=True)
        if op == "vector_append":
            items.append(element)
            label = "Append in Vector"
        elif op == "vector_insert":
            items.insert(min(index, len(items)), element)
            label = "Insert in Vector"
        else:
            raise ValidationError(f"unknown edit operation {op!r}")
    mutating.update(attachment, key, vector_path, _load(items, vector.type(), definitions, "vector"))
    return label


def _set_element(mutating: Any, definitions: Any, attachment: Any, key: Any, comps: Any, op: str,
                 value: Any) -> str:
    """Remove a set element, or replace it by ``value`` (both in one commit). An element is
    addressed by its value: the path ends with ``["element", value]``."""
    if not isinstance(comps, list) or not comps or not isinstance(comps[-1], list) or len(comps[-1]) != 2 \
            or comps[-1][0] != "element":
        raise ValidationError(f"{op} needs a path ending with an element of a set")
    set_path, set_type = build_path(attachment.document_type(), comps[:-1], definitions)
    _expect(set_type, TypeSet, op)
    element = _load(comps[-1][1], set_type.element_type(), definitions, "element")
    if op == "set_remove":
        mutating.subtract_in_set(attachment, key, set_path, [element])
        return "Remove in Set"
    new = _load(value, set_type.element_type(), definitions, "element")
    if new == element:
        raise ValidationError("the new element is the same as the old one")
    mutating.subtract_in_set(attachment, key, set_path, [element])
    mutating.union_in_set(attachment, key, set_path, [new])
    return "Update Element in Set"


def _map_edit(mutating: Any, definitions: Any, attachment: Any, key: Any, path: Path, t: Any, op: str,
              request: dict[str, Any]) -> str:
    if op == "map_add":
        _expect(t, TypeMap, op)
        map_key = _load(request.get("map_key"), t.key_type(), definitions, "key")
        current = _current(mutating, attachment, key, path)
        if isinstance(current, ValueMap) and current.lookup(map_key) is not None:
            raise ValidationError(f"the map already has the key {map_key.representation()}")
        element = _load(request.get("value"), t.element_type(), definitions, "value")
        mutating.union_in_map(attachment, key, path, [(map_key, element)])
        return "Insert a Key"
    map_path, component = _container_path(path)
    if component.kind() != "Key":
        raise ValidationError(f"{op} needs a map entry")
    map_type = build_path(attachment.document_type(), request.get("path", [])[:-1], definitions)[1]
    old_key = _load(Value.dumps(component.value(), json=True), map_type.key_type(), definitions, "key")
    if op == "map_remove":
        mutating.subtract_in_map(attachment, key, map_path, [old_key])
        return "Remove a Key"
    new_key = _load(request.get("map_key"), map_type.key_type(), definitions, "key")
    current = _current(mutating, attachment, key, map_path)
    element = current.lookup(old_key)
    if element is None:
        raise ValidationError(f"the map has no key {old_key.representation()}")
    if current.lookup(new_key) is not None:
        raise ValidationError(f"the map already has the key {new_key.representation()}")
    mutating.subtract_in_map(attachment, key, map_path, [old_key])
    mutating.union_in_map(attachment, key, map_path, [(new_key, element)])
    return "Update Key in Map"


def _xarray_edit(mutating: Any, definitions: Any, attachment: Any, key: Any, path: Path, t: Any, op: str,
                 request: dict[str, Any]) -> str:
    new_position = ValueUUId(str(uuid.uuid4()))
    if op == "xarray_append":
        _expect(t, TypeXArray, op)
        element = _load(request.get("value"), t.element_type(), definitions, "element")
        mutating.insert_in_xarray(attachment, key, path, ValueUUId(), new_position, element)
        return "Append in XArray"
    xarray_path, component = _container_path(path)
    if component.kind() != "Position":
        raise ValidationError(f"{op} needs an xarray element")
    position = component.value()
    if op == "xarray_remove":
        mutating.remove_in_xarray(attachment, key, xarray_path, position)
        return "Remove in XArray"
    xarray_type = build_path(attachment.document_type(), request.get("path", [])[:-1], definitions)[1]
    element = _load(request.get("value"), xarray_type.element_type(), definitions, "element")
    mutating.insert_in_xarray(attachment, key, xarray_path, position, new_position, element)
    return "Insert in XArray"
