"""CommitMutableState and its mutator: record opcodes on top of a state (SPEC §4).

Every mutator validates its arguments first (fail fast, record nothing on error), then applies
the opcode to the working copy with the replay rules and appends it to the program — including
calls that have no effect, because a recorded no-op can take effect after a merge.
"""

from __future__ import annotations

from typing import Any

from commitdb.engine.program import (
    DOCUMENT_SET,
    DOCUMENT_UPDATE,
    MAP_SUBTRACT,
    MAP_UNION,
    MAP_UPDATE,
    SET_SUBTRACT,
    SET_UNION,
    XARRAY_INSERT,
    XARRAY_REMOVE,
    XARRAY_UPDATE,
    CommitOpcode,
    CommitProgram,
    DocKey,
    new_opcode,
    value_blob_ids,
)
from commitdb.engine.replay import apply_opcode
from commitdb.engine.state import AttachmentGetting, CommitState, check_attachment, check_key, key_value
from commitdb.errors import MissingBlobError, OperationError, PathError, UntypedValueError, ValidationError
from commitdb.values import containers as C
from commitdb.values import types as T
from commitdb.values.factory import create
from commitdb.values.path import Path, PathConst, dynamic_unwrap, resolve_type
from commitdb.values.scalars import ValueBlobId, ValueUUId
from commitdb.values.value import Value


class CommitMutableState:
    """A working copy on top of a state, recording the program of the next commit."""

    def __init__(self, state: CommitState) -> None:
        if not isinstance(state, CommitState):
            raise ValidationError(f"CommitMutableState needs a CommitState, got {state!r}")
        self._state = state
        self._docs: dict[DocKey, Value | None] = {}
        self._opcodes: list[CommitOpcode] = []

    def state(self) -> CommitState:
        return self._state

    def commit_id(self) -> Any:
        """The commit the next commit will have as parent."""
        return self._state.commit_id()

    def parent_id(self) -> bytes:
        return self._state.raw_commit_id()

    def is_on_commit(self) -> bool:
        """Whether the base state is the state at its commit (or the initial state), not a
        virtual merge: then the working copy is the state at the next commit."""
        return self._state.raw_commit_id() != bytes(20) or not self._state.linearization()

    def attachment_mutating(self) -> AttachmentMutating:
        return AttachmentMutating(self)

    def attachment_getting(self) -> AttachmentMutating:
        return AttachmentMutating(self)

    def mutations(self) -> CommitProgram:
        return CommitProgram(self._opcodes)

    def raw_opcodes(self) -> list[CommitOpcode]:
        return self._opcodes

    def has_mutations(self) -> bool:
        return bool(self._opcodes)

    # --- working copy ----------------------------------------------------------------------
    def working_document(self, dk: DocKey) -> Value | None:
        if dk in self._docs:
            return self._docs[dk]
        base = self._state.document_by_key(dk)
        doc = None if base is None else base.copy()
        self._docs[dk] = doc
        return doc

    def record(self, op: CommitOpcode) -> None:
        self._docs[op.doc_key] = apply_opcode(self.working_document(op.doc_key), op)
        self._opcodes.append(op)

    def staged_doc_keys(self, attachment_rid: bytes) -> list[DocKey]:
        return [dk for dk in self._docs if dk[0] == attachment_rid]


def _as_path(path: Any) -> PathConst:
    if isinstance(path, PathConst):
        return path.const()
    if isinstance(path, str):
        # A convenience: ".a.b" or "a" as a field path.
        p = Path()
        for part in path.strip(".").split("."):
            if part:
                p.field(part)
        return p.const()
    raise PathError(f"expected a Path, got {path!r}")


def _position(p: Any, what: str) -> bytes:
    try:
        return ValueUUId(p).bytes_value()
    except (ValueError, TypeError):
        raise ValidationError(f"{what} must be a uuid position, got {p!r}") from None


class AttachmentMutating(AttachmentGetting):
    """The mutator of a CommitMutableState; also a reader that sees the staged writes."""

    def __init__(self, mutable: CommitMutableState) -> None:
        self._mutable = mutable
        self._state = mutable.state()

    # --- reading (sees staged writes) ------------------------------------------------------
    def _doc(self, attachment: Any, key: Any) -> Value | None:
        check_attachment(self._state.definitions(), attachment)
        return self._mutable.working_document(check_key(attachment, key))

    def get(self, attachment: Any, key: Any) -> C.ValueOptional:
        doc = self._doc(attachment, key)
        result = C.ValueOptional.__new__(C.ValueOptional)
        result._type = attachment.optional_document_type()
        result._v = None if doc is None else doc.copy()
        return result

    def has(self, attachment: Any, key: Any) -> bool:
        return self._doc(attachment, key) is not None

    def keys(self, attachment: Any) -> C.ValueSet:
        result = self._state.keys(attachment)
        defs = self._state.definitions()
        for dk in self._mutable.staged_doc_keys(attachment.rid):
            k = key_value(defs, attachment, dk)
            if self._mutable.working_document(dk) is None:
                result.discard_value(k)
            else:
                result.add_value(k)
        return result

    def attachment_getting(self) -> AttachmentMutating:
        return self

    # --- validation helpers ----------------------------------------------------------------
    def _target(self, attachment: Any, key: Any) -> DocKey:
        check_attachment(self._state.definitions(), attachment)
        return check_key(attachment, key)

    def _check_blobs(self, value: Value) -> None:
        source = self._state.source()
        for blob_id in value_blob_ids(value):
            if not source.engine_has_blob(blob_id):
                raise MissingBlobError(f"Missing blob {ValueBlobId(blob_id)}")

    def _container(self, attachment: Any, path: Any, kind: type[T.Type], verb: str) -> tuple[PathConst, T.Type]:
        p, t = resolve_type(_as_path(path), attachment.document_type())
        if not p.is_regular():
            raise PathError(f"{verb}: path {p} is irregular (entry/element)")
        if not isinstance(t, kind):
            wanted = kind.__name__[4:].lower()
            article = "an" if wanted[0] in "aeioux" else "a"
            raise OperationError(f"{verb} needs {article} {wanted} at path {p}, which holds {t}")
        return p, t

    # --- mutators ----------------------------------------------------------------------------
    def set(self, attachment: Any, key: Any, document: Any) -> None:
        """Create or replace the whole document."""
        dk = self._target(attachment, key)
        value = create(attachment.document_type(), document)
        self._check_blobs(value)
        self._mutable.record(new_opcode(DOCUMENT_SET, dk, value=value))

    def update(self, attachment: Any, key: Any, path: Any, value: Any) -> None:
        """Write ``value`` at ``path`` inside the document (no-op at replay if it does not resolve)."""
        dk = self._target(attachment, key)
        p = _as_path(path)
        document_type = attachment.document_type()
        cut = dynamic_unwrap(p, document_type)
        if cut is None:
            p, t = resolve_type(p, document_type)
            v = create(t, value)  # type: ignore[arg-type]
        else:
            # Through a variant or any unwrap (SPEC §14.6): the held type is only known when the
            # opcode is replayed, so the value must carry its own type, and nothing after the
            # unwrap is checked now.
            if not isinstance(value, Value):
                raise UntypedValueError(f"the value must be a Viper value, not {type(value).__name__}")
            comps = p.raw_components()
            head, _ = resolve_type(PathConst(comps[:cut + 1]), document_type)
            p = PathConst(head.raw_components() + comps[cut + 1:])
            v = value.copy()
        if not p.is_regular():
            raise PathError(f"update: path {p} is irregular (entry/element) and cannot be written")
        self._check_blobs(v)
        self._mutable.record(new_opcode(DOCUMENT_UPDATE, dk, p, value=v))

    def union_in_set(self, attachment: Any, key: Any, path: Any, values: Any) -> None:
        self._collection_op(SET_UNION, "union_in_set", T.TypeSet, attachment, key, path, values)

    def subtract_in_set(self, attachment: Any, key: Any, path: Any, values: Any) -> None:
        self._collection_op(SET_SUBTRACT, "subtract_in_set", T.TypeSet, attachment, key, path, values)

    def union_in_map(self, attachment: Any, key: Any, path: Any, mapping: Any) -> None:
        self._collection_op(MAP_UNION, "union_in_map", T.TypeMap, attachment, key, path, mapping)

    def update_in_map(self, attachment: Any, key: Any, path: Any, mapping: Any) -> None:
        self._collection_op(MAP_UPDATE, "update_in_map", T.TypeMap, attachment, key, path, mapping)

    def _collection_op(self, code: int, verb: str, kind: type[T.Type], attachment: Any, key: Any, path: Any,
                       values: Any) -> None:
        """A set or map verb: the path must hold a ``kind``; ``values`` is validated against it."""
        dk = self._target(attachment, key)
        p, t = self._container(attachment, path, kind, verb)
        v = create(t, values)
        if not len(v):  # type: ignore[arg-type]
            return  # an empty argument records nothing (FORMAT.md §7.2)
        self._check_blobs(v)
        self._mutable.record(new_opcode(code, dk, p, value=v))

    def subtract_in_map(self, attachment: Any, key: Any, path: Any, keys: Any) -> None:
        dk = self._target(attachment, key)
        p, t = self._container(attachment, path, T.TypeMap, "subtract_in_map")
        v = create(T.TypeSet(t.key_type()), keys)  # type: ignore[attr-defined]
        if not len(v):  # type: ignore[arg-type]
            return
        self._mutable.record(new_opcode(MAP_SUBTRACT, dk, p, value=v))

    def insert_in_xarray(self, attachment: Any, key: Any, path: Any, before_position: Any, new_position: Any,
                         value: Any) -> None:
        """Records XArray_Insert(before, new) then XArray_Update(new, value)."""
        dk = self._target(attachment, key)
        p, t = self._container(attachment, path, T.TypeXArray, "insert_in_xarray")
        before = _position(before_position, "before_position")
        new = _position(new_position, "new_position")
        if new == bytes(16):
            raise ValidationError("new_position cannot be END (the zero uuid)")
        v = create(t.element_type(), value)  # type: ignore[attr-defined]
        self._check_blobs(v)
        self._mutable.record(new_opcode(XARRAY_INSERT, dk, p, position=new, before=before))
        self._mutable.record(new_opcode(XARRAY_UPDATE, dk, p, value=v, position=new))

    def update_in_xarray(self, attachment: Any, key: Any, path: Any, position: Any, value: Any) -> None:
        dk = self._target(attachment, key)
        p, t = self._container(attachment, path, T.TypeXArray, "update_in_xarray")
        pos = _position(position, "position")
        v = create(t.element_type(), value)  # type: ignore[attr-defined]
        self._check_blobs(v)
        self._mutable.record(new_opcode(XARRAY_UPDATE, dk, p, value=v, position=pos))

    def remove_in_xarray(self, attachment: Any, key: Any, path: Any, position: Any) -> None:
        dk = self._target(attachment, key)
        p, _ = self._container(attachment, path, T.TypeXArray, "remove_in_xarray")
        self._mutable.record(new_opcode(XARRAY_REMOVE, dk, p, position=_position(position, "position")))

    def diff(self, attachment: Any, key: Any, document: Any, recursive: bool = False) -> None:
        """Record the minimal opcodes that turn the current document into ``document``."""
        from commitdb.engine.diff import diff_opcodes

        dk = self._target(attachment, key)
        target = create(attachment.document_type(), document)
        self._check_blobs(target)
        current = self._mutable.working_document(dk)
        for op in diff_opcodes(dk, current, target, recursive):
            self._mutable.record(op)
