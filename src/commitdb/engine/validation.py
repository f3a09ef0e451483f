"""Type-checking a decoded program against the definitions, before it is stored.

Decoding proves the bytes are well-formed; it does not prove they make sense for this
database. A commit received from elsewhere (a network client, a replica being synced) must
also address documents the definitions know (SPEC §4, §14.6):

- its attachment exists, and the key's concept is one that attachment admits;
- a Document_Set carries a document of the attachment's document type;
- every path resolves in the attachment's document type, and the value an opcode carries has
  the type the path addresses (a set for Set_Union, a map for Map_Union, the keys' set for
  Map_Subtract, an xarray's element for XArray_Update, ...).

These are static checks: whether the path exists in the current document, or the opcode
changes anything, is not asked — a mutation that became a no-op because of concurrent
changes is legitimate (replay is best effort).
"""

from __future__ import annotations

from typing import Any

from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    MAP_SUBTRACT,
    MAP_UNION,
    MAP_UPDATE,
    OPCODE_NAMES,
    SET_SUBTRACT,
    SET_UNION,
    XARRAY_UPDATE,
    CommitOpcode,
    CommitProgram,
)
from commitdb.errors import KeyTypeError, OperationError, PathError, TypeMismatchError, UnknownAttachmentError
from commitdb.values import types as T
from commitdb.values.path import dynamic_unwrap, resolve_type
from commitdb.values.value import Value


def check_program(program: CommitProgram, definitions: Any) -> None:
    """ValidationError (a subclass naming the opcode and what is wrong) unless every opcode of
    ``program`` addresses what ``definitions`` define, with values of the addressed types."""
    for number, op in enumerate(program.raw_opcodes()):
        try:
            _check_opcode(op, definitions)
        except (UnknownAttachmentError, KeyTypeError, PathError, TypeMismatchError, OperationError) as e:
            raise e.__class__(f"opcode {number} ({OPCODE_NAMES[op.code]}): {e}") from None


def _check_opcode(op: CommitOpcode, definitions: Any) -> None:
    attachment_rid, _, concept_rid = op.doc_key
    attachment = definitions.attachment_by_rid(attachment_rid)
    if attachment is None:
        raise UnknownAttachmentError(f"no attachment has the runtime id {attachment_rid.hex()}")
    concept = definitions.type_by_rid(concept_rid)
    if not isinstance(concept, T.TypeConcept) or not attachment.key_type().admits(concept):
        raise KeyTypeError(f"the key's concept {concept_rid.hex()} is not one {attachment} admits "
                           f"(it expects {attachment.key_type()})")
    document_type = attachment.document_type()
    code = op.code
    if code == DOCUMENT_SET:
        _expect(op._value, document_type, "the document")
        return
    path = op._path
    assert path is not None
    if code == DOCUMENT_UPDATE and dynamic_unwrap(path, document_type) is not None:
        # Through a variant or any unwrap (SPEC §14.6): the path up to it is checked; what the
        # value is, and the rest of the path, only the held value decides at replay.
        if not isinstance(op._value, Value):
            raise TypeMismatchError(f"the value at {path} is missing")
        return
    _, addressed = resolve_type(path, document_type)
    if code == DOCUMENT_UPDATE:
        _expect(op._value, addressed, f"the value at {path}")
        return
    container = {SET_UNION: T.TypeSet, SET_SUBTRACT: T.TypeSet, MAP_UNION: T.TypeMap, MAP_UPDATE: T.TypeMap,
                 MAP_SUBTRACT: T.TypeMap}.get(code, T.TypeXArray)
    if not isinstance(addressed, container):
        raise OperationError(f"path {path} holds {addressed}, not {container.__name__[4:].lower()}")
    if code in (SET_UNION, SET_SUBTRACT, MAP_UNION, MAP_UPDATE):
        _expect(op._value, addressed, f"the argument at {path}")
    elif code == MAP_SUBTRACT:
        _expect(op._value, T.TypeSet(addressed.key_type()), f"the keys at {path}")  # type: ignore[attr-defined]
    elif code == XARRAY_UPDATE:
        _expect(op._value, addressed.element_type(), f"the element at {path}")  # type: ignore[attr-defined]


def _expect(value: Value | None, expected: Any, what: str) -> None:
    if not isinstance(value, Value) or value.type().rid != expected.rid:
        found = value.type() if isinstance(value, Value) else value
        raise TypeMismatchError(f"{what} must be a {expected}, not a {found}")
