"""One editing session: a database, a CommitStore on it, the marked commit, the history layout.

Everything the HTTP layer answers comes from here as plain JSON data; nothing here knows of
HTTP. All database work runs under one lock (the web server calls from worker threads).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from commitdb.database import CommitDatabase
from commitdb.dsm import DSMDefinitions
from commitdb.editor import documents
from commitdb.editor.flags import StateFlags
from commitdb.editor.graph import MERGE, TOGGLES, TYPE_NAMES, ZERO_ID, GraphLayout, layout, topological_rows
from commitdb.errors import CommitDBError, NotAHeadError, NotMergeableError, ValidationError
from commitdb.store import CommitStore
from commitdb.values import ValueCommitId

MAX_PAGE = 2000  # rows of the graph, actions or trace in one answer
INCREMENTAL_LIMIT = 5000  # more new commits than this: lay the whole history out again
DIFF_COMMITS = 200  # commits of a merge the diff looks at
ZERO = "0" * 40


class StaleEditError(CommitDBError):
    """The page asked for an edit on a state the editor no longer shows, or on a non-head."""


def commit_hex(value: Any) -> str:
    return str(value) if isinstance(value, ValueCommitId) else bytes(value).hex()


def parse_commit(text: Any) -> ValueCommitId:
    if not isinstance(text, str) or len(text) != 40:
        raise ValidationError(f"a commit id is 40 hex digits, got {text!r}")
    try:
        return ValueCommitId(bytes.fromhex(text))
    except ValueError:
        raise ValidationError(f"a commit id is 40 hex digits, got {text!r}") from None


def iso_time(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="milliseconds")


class EditorSession:
    """The state behind one editor page (or several pages on the same database)."""

    def __init__(self, db: CommitDatabase, title: str,
                 reopen: Callable[[], CommitDatabase] | None = None) -> None:
        """``reopen`` opens another (read-only) connection to the same database, for work that
        must not hold the session (see flags.py); without it that work runs in the request."""
        self.db = db
        self.title = title
        self.lock = threading.RLock()
        self.store = CommitStore()
        self.store.use(db)
        self.marked: ValueCommitId | None = None
        self.undo_labels: list[str] = []
        self.redo_labels: list[str] = []
        self._writes = 0  # our own writes (SQLite's data_version does not count them)
        self._layout: GraphLayout | None = None
        self._layout_token: Any = None
        self._layouts_built = 0
        self._heads: set[bytes] = set()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._flags = StateFlags(reopen, lambda: self.emit({"kind": "flags"}))

    # --- change tracking ---------------------------------------------------------------------
    def change_token(self) -> tuple[int, int]:
        """Changes whenever anything was written, by us or by anyone else."""
        with self.lock:
            return self.db.data_version(), self._writes

    def wrote(self) -> None:
        self._writes += 1

    def emit(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event)

    def _graph(self) -> GraphLayout:
        """The layout of the whole history, kept in step: new commits on top are appended; a
        deletion (or anything else) lays everything out again."""
        token = self.change_token()
        if self._layout is not None and token == self._layout_token:
            return self._layout
        heads = {h.bytes_value() for h in self.db.head_commit_ids()}
        if self._layout is None or not self._extend(self._layout, heads):
            # The facade's whole-history DAG (engine_dag, the engine's own source): one pass
            # over the stored headers, where a commit_header() call per commit costs 3x more.
            self._layout = layout(list(self.db.engine_dag().headers.values()))
            self._layouts_built += 1
        self._layout_token, self._heads = token, heads
        return self._layout

    def _extend(self, graph: GraphLayout, heads: set[bytes]) -> bool:
        """Append the commits that are new since the layout was made; False when that is not
        possible (commits were deleted, or too many are new to be worth it)."""
        new: dict[bytes, Any] = {}
        stack = [h for h in heads if h not in graph.index_of]
        while stack:
            cid = stack.pop()
            if cid in new:
                continue
            if len(new) > INCREMENTAL_LIMIT:
                return False
            h = self.db.commit_header(ValueCommitId(cid))
            new[cid] = h
            stack.extend(d for d in (h.parent, h.target) if d != ZERO_ID and d not in graph.index_of and d not in new)
        referenced = {d for h in new.values() for d in (h.parent, h.target)}
        if any(old not in heads and old not in referenced for old in self._heads):
            return False  # a head went away: deleted, or the history was reset
        oldest_first = reversed(topological_rows(list(new.values())))
        return all(graph.extend(new[cid]) for cid in oldest_first)

    def _flags_key(self) -> tuple[bytes, int]:
        # The flags at a commit never change (its ancestry is immutable) unless commits were
        # deleted, which lays the graph out again.
        return self.store.state().raw_commit_id(), self._layouts_built

    def _enabled_map(self) -> dict[bytes, bool]:
        """Commit -> enabled, for the commits of the current state's linearisation."""
        return self._flags.get(self._flags_key(), self.store.state())[0]

    # --- overview ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self.lock:
            current = self.store.state().commit_id()
            heads = sorted(commit_hex(h) for h in self.db.head_commit_ids())
            graph = self._graph()
            return {
                "title": self.title, "path": self.db.path(), "commits": len(graph), "heads": heads,
                "current": None if current == ValueCommitId() else commit_hex(current),
                "marked": None if self.marked is None else commit_hex(self.marked),
                "can_undo": self.store.can_undo(), "can_redo": self.store.can_redo(),
                "undo": list(self.undo_labels), "redo": list(self.redo_labels),
                "mergeable": self._mergeable(), "token": list(self.change_token()),
            }

    def _mergeable(self) -> bool:
        current = self.store.state().commit_id()
        if self.marked is None or current == ValueCommitId() or self.marked == current:
            return False
        graph, a, b = self._graph(), current.bytes_value(), self.marked.bytes_value()
        return not graph.is_ancestor(a, b) and not graph.is_ancestor(b, a)

    def info(self) -> dict[str, Any]:
        with self.lock:
            definitions = self.db.definitions()
            return {
                "title": self.title, "path": self.db.path(), "uuid": self.db.uuid(), "codec": self.db.codec_name(),
                "documentation": self.db.documentation(), "definitions_hexdigest": self.db.definitions_hexdigest(),
                "dsm": DSMDefinitions.from_definitions(definitions).to_dsm(),
                "types": len(definitions.types()), "attachments": len(definitions.attachments()),
            }

    # --- the history graph -------------------------------------------------------------------
    def graph_page(self, offset: int, limit: int) -> dict[str, Any]:
        if offset < 0 or limit < 1:
            raise ValidationError(f"offset must be >= 0 and limit >= 1, got {offset} and {limit}")
        limit = min(limit, MAX_PAGE)
        with self.lock:
            graph = self._graph()
            flags = self._flags.peek(self._flags_key(), self.store.state())
            enabled, order = flags if flags is not None else (None, {})
            heads = {h.bytes_value() for h in self.db.head_commit_ids()}
            rows = []
            for r in range(offset, min(offset + limit, len(graph))):
                cid = graph.commit_at(r)
                h = self.db.commit_header(ValueCommitId(cid))
                flag = None if enabled is None else enabled.get(cid)
                rows.append({
                    "row": r, "id": cid.hex(), "type": TYPE_NAMES.get(h.type_code, "?"), "label": h.label(),
                    "time": iso_time(h.ts), "lane": graph.lane_at(r), "after": graph.lanes_after(r),
                    "parent_row": graph.row_of(h.parent), "target_row": graph.row_of(h.target),
                    "head": cid in heads, "order": order.get(cid),
                    "state": "pending" if enabled is None else "outside" if flag is None
                    else "enabled" if flag else "disabled",
                })
            return {"total": len(graph), "width": graph.width, "offset": offset, "rows": rows}

    def row_of(self, commit: Any) -> int:
        with self.lock:
            row = self._graph().row_of(parse_commit(commit).bytes_value())
            if row is None:
                raise ValidationError(f"no commit {commit} in this database")
            return row

    def header(self, commit: Any) -> dict[str, Any]:
        with self.lock:
            h = self.db.commit_header(parse_commit(commit))
            return {"id": h.id.hex(), "parent": h.parent.hex(), "type": TYPE_NAMES.get(h.type_code, "?"),
                    "target": h.target.hex(), "label": h.label(), "time": iso_time(h.ts),
                    "row": self._graph().row_of(h.id)}

    # --- moving --------------------------------------------------------------------------------
    def select(self, commit: Any) -> None:
        with self.lock:
            self.store.use_commit(parse_commit(commit))

    def mark(self, commit: Any) -> None:
        with self.lock:
            if commit is None:
                self.marked = None
                return
            cid = parse_commit(commit)
            self.db.commit_header(cid)  # CommitNotFoundError for an unknown commit
            self.marked = cid

    def navigate(self, direction: str) -> None:
        """up: first child; down: parent; left/right: the previous/next sibling (on a merge:
        its target)."""
        with self.lock:
            current = self.store.state().commit_id()
            if current == ValueCommitId():
                raise ValidationError("the database has no commit")
            h = self.db.commit_header(current)
            if direction == "up":
                children = sorted(commit_hex(c) for c in self.db.children_commit_ids(current))
                target = children[0] if children else None
            elif direction == "down":
                target = None if h.parent.hex() == ZERO else h.parent.hex()
                if h.type_code == MERGE and target is None:
                    target = h.target.hex()
            elif direction in ("left", "right") and h.type_code == MERGE:
                target = h.target.hex()  # on a merge, sideways is the merged commit
            elif direction in ("left", "right"):
                siblings = sorted(commit_hex(c) for c in self.db.children_commit_ids(h.parent_commit_id())) \
                    if h.parent.hex() != ZERO else [h.id.hex()]
                i = siblings.index(h.id.hex()) + (1 if direction == "right" else -1)
                target = siblings[i] if 0 <= i < len(siblings) else None
            else:
                raise ValidationError(f"direction must be up, down, left or right, got {direction!r}")
            if target is not None:
                self.store.use_commit(parse_commit(target))

    def forward(self) -> None:
        with self.lock:
            if self.store.state().commit_id() != ValueCommitId():
                self.store.forward()

    def merge_heads(self) -> str | None:
        with self.lock:
            merged = self.store.reduce_heads()
            self.wrote()
            return None if merged is None else commit_hex(merged)

    def merge_marked(self) -> str:
        with self.lock:
            if not self._mergeable():
                raise NotMergeableError("mark a commit that is neither an ancestor nor a descendant of the current one")
            assert self.marked is not None
            label = f"Merge [{self.db.commit_header(self.marked).label()}]"
            merged = self.store.merge_commit(self.marked, label)
            self.wrote()
            return commit_hex(merged)

    def toggle(self, commit: Any, enable: bool | None = None) -> str:
        """Append an Enable or Disable commit of ``commit`` on the current state (the opposite of
        its current flag unless ``enable`` says which)."""
        with self.lock:
            target = parse_commit(commit)
            current = self.store.state().commit_id()
            if current == ValueCommitId():
                raise ValidationError("the database has no commit")
            if target != current and not self._graph().is_ancestor(target.bytes_value(), current.bytes_value()):
                raise ValidationError(f"commit {commit} is not in the current state: select a descendant first")
            if enable is None:  # the opposite of its flag (which may take long to know)
                enable = not self._enabled_map().get(target.bytes_value(), True)
            label = self.db.commit_header(target).label()
            if enable:
                made = self.db.enable_commit(f"Enable [{label}]", current, target)
            else:
                made = self.db.disable_commit(f"Disable [{label}]", current, target)
            self.wrote()
            self.store.use_commit(made)
            return commit_hex(made)

    def delete_head(self, commit: Any) -> None:
        with self.lock:
            cid = parse_commit(commit)
            if len(self._graph()) <= 1:
                raise NotAHeadError("the only commit of a database cannot be deleted")
            if cid not in self.db.head_commit_ids():
                raise NotAHeadError(f"{commit} is not a head: only a head can be deleted")
            parent = self.db.commit_header(cid).parent_commit_id()
            self.db.delete_commit(cid)
            self.wrote()
            if self.marked == cid:
                self.marked = None
            if self.store.state().commit_id() == cid:
                self.store.use_commit(parent if parent != ValueCommitId() else self.db.last_commit_id())

    def reset(self) -> None:
        with self.lock:
            self.db.reset_commits()
            self.wrote()
            self.marked = None
            self.store.use(self.db)
            self.undo_labels.clear()
            self.redo_labels.clear()

    # --- editing -------------------------------------------------------------------------------
    def edit(self, request: dict[str, Any]) -> dict[str, Any]:
        """One edit as one commit on the current state. ``base`` (the commit the page showed)
        must still be the current commit; editing a commit that is no longer a head needs
        ``branch: true`` (it starts a new branch)."""
        with self.lock:
            current = self.store.state().commit_id()
            base = request.get("base")
            shown = None if current == ValueCommitId() else commit_hex(current)
            if base != shown:
                raise StaleEditError(f"the page shows commit {base} but the editor is at {shown}: reload the state")
            if shown is not None and current not in self.db.head_commit_ids() and not request.get("branch"):
                raise StaleEditError(f"commit {shown[:8]} is no longer a head (commits were made on top of it): "
                                     "Forward first, or confirm to start a new branch")
            mutable = self.store.mutable_state()
            label = documents.apply_edit(mutable.attachment_mutating(), self.db.definitions(), request)
            if not mutable.has_mutations():
                raise ValidationError("the edit changes nothing")
            made = self.store.commit_mutations(label, mutable)
            self.undo_labels.append(label)
            self.redo_labels.clear()
            self.wrote()
            return {"commit": commit_hex(made), "label": label}

    def undo(self) -> str:
        with self.lock:
            if not self.store.can_undo():
                raise ValidationError("nothing to undo")
            made = self.store.undo()
            self.redo_labels.append(self.undo_labels.pop())
            self.wrote()
            return commit_hex(made)

    def redo(self) -> str:
        with self.lock:
            if not self.store.can_redo():
                raise ValidationError("nothing to redo")
            made = self.store.redo()
            self.undo_labels.append(self.redo_labels.pop())
            self.wrote()
            return commit_hex(made)

    # --- documents -----------------------------------------------------------------------------
    def abstractions(self) -> list[dict[str, Any]]:
        with self.lock:
            return documents.abstractions(self.db.definitions())

    def keys(self, attachment_id: Any) -> list[dict[str, Any]]:
        with self.lock:
            attachment = documents.find_attachment(self.db.definitions(), attachment_id)
            keys = self.store.state().attachment_getting().keys(attachment)
            return sorted(({"key": documents.key_text(k), "instance": str(k.instance_id()),
                            "concept": str(k.type_concept()) if k.type_concept() is not None else ""}
                           for k in keys), key=lambda k: k["instance"])

    def instance_attachments(self, key_text: Any) -> list[dict[str, Any]]:
        """Every attachment that can hold a document for this key, and whether it has one."""
        with self.lock:
            definitions = self.db.definitions()
            getting = self.store.state().attachment_getting()
            found = []
            for attachment in definitions.attachments():
                try:
                    key = documents.parse_key(attachment, definitions, key_text)
                except (ValidationError, ValueError, TypeError):
                    continue
                found.append({"id": documents.attachment_id(attachment), "name": attachment.name(),
                              "document_type": str(attachment.document_type()),
                              "present": getting.has(attachment, key)})
            return found

    def document(self, attachment_id: Any, key_text: Any, commit: Any = None) -> dict[str, Any]:
        with self.lock:
            definitions = self.db.definitions()
            attachment = documents.find_attachment(definitions, attachment_id)
            key = documents.parse_key(attachment, definitions, key_text)
            state = self.store.state() if commit is None else self.db.state(parse_commit(commit))
            doc = state.attachment_getting().get(attachment, key)
            result = documents.document_rows(None if doc.is_nil() else doc.unwrap(encoded=False),
                                             attachment.document_type())
            result.update(attachment=documents.attachment_id(attachment), key=key_text,
                          document_type=str(attachment.document_type()))
            return result

    # --- panels --------------------------------------------------------------------------------
    def actions(self, offset: int, limit: int) -> dict[str, Any]:
        """The current state's linearisation, newest first, with each commit's flag; ``pending``
        while they are being computed (the page is told when they are ready)."""
        with self.lock:
            lin = self._linearisation()
            if lin is None:
                return {"pending": True, "total": None, "offset": offset, "actions": []}
            enabled = self._enabled_map()
            page = []
            for i in range(len(lin) - 1 - offset, max(len(lin) - 1 - offset - min(limit, MAX_PAGE), -1), -1):
                h = self.db.commit_header(ValueCommitId(lin[i]))
                page.append({"id": h.id.hex(), "label": h.label(), "type": TYPE_NAMES.get(h.type_code, "?"),
                             "enabled": enabled.get(h.id, True), "order": i + 1})
            return {"pending": False, "total": len(lin), "offset": offset, "actions": page}

    def _linearisation(self) -> list[bytes] | None:
        """The current state's linearisation from its flags, or None while they are computed."""
        flags = self._flags.peek(self._flags_key(), self.store.state())
        if flags is None:
            return None
        order = flags[1]
        return sorted(order, key=order.__getitem__)

    def program(self, commit: Any, trace: bool, offset: int = 0, limit: int = 500) -> dict[str, Any]:
        """The opcodes of ``commit``, or (``trace``) of every commit of the current state's
        linearisation in order, paged."""
        with self.lock:
            definitions = self.db.definitions()
            if trace:
                lin = self._linearisation()
                if lin is None:
                    return {"trace": True, "pending": True, "offset": offset, "opcodes": []}
                enabled = self._enabled_map()
                rows: list[dict[str, Any]] = []
                for i, cid in enumerate(lin):
                    program = self.db.commit(ValueCommitId(cid)).program()
                    for op in program or ():
                        rows.append(_opcode_row(op, definitions, cid.hex(), enabled.get(cid, True), i + 1))
                    if len(rows) >= offset + limit:
                        break
                return {"trace": True, "offset": offset, "opcodes": rows[offset:offset + limit]}
            program = self.db.commit(parse_commit(commit)).program()
            rows = [_opcode_row(op, definitions, commit, True, None) for op in program or ()]
            return {"trace": False, "commit": commit, "opcodes": rows}

    def diff(self, commit: Any) -> dict[str, Any]:
        """What ``commit`` changed: per document touched, the rows that differ from its parent."""
        with self.lock:
            cid = parse_commit(commit)
            h = self.db.commit_header(cid)
            definitions = self.db.definitions()
            after_state = self.db.state(cid)
            before_state = self.db.state(h.parent_commit_id())
            brought = [h.id] if h.type_code not in TOGGLES else [h.target]
            if h.type_code == MERGE:
                brought = self._brought_in(h)
            docs: dict[tuple[str, str], Any] = {}
            for c in brought:
                for op in self.db.commit(ValueCommitId(c)).program() or ():
                    key = op.key()
                    attachment = definitions.attachment_by_rid(key.attachment_runtime_id().bytes_value())
                    if attachment is not None:
                        docs[(documents.attachment_id(attachment),
                              f"{key.instance_id()}:{key.concept_runtime_id()}")] = attachment
            changes = []
            for (aid, key_text), attachment in docs.items():
                key = documents.parse_key(attachment, definitions, key_text)
                rows = []
                before = _flat(before_state, attachment, key)
                after = _flat(after_state, attachment, key)
                for path in sorted(set(before) | set(after)):
                    if before.get(path) != after.get(path):
                        rows.append({"path": path, "before": before.get(path), "after": after.get(path)})
                if rows:
                    changes.append({"attachment": attachment.name(), "attachment_id": aid, "key": key_text,
                                    "rows": rows})
            return {"commit": commit, "parent": h.parent.hex(), "documents": changes}

    def _brought_in(self, merge: Any) -> list[bytes]:
        """The commits a merge brings in (its target and the target's ancestors that are not
        ancestors of its parent), oldest first, at most DIFF_COMMITS of them."""
        graph = self._graph()
        found, stack, seen = [], [merge.target], {merge.target}
        while stack and len(found) < DIFF_COMMITS:
            c = stack.pop()
            if c == merge.parent or graph.is_ancestor(c, merge.parent):
                continue
            found.append(c)
            index = graph.index_of[c]
            for d in graph.deps[index]:
                dep = graph.ids[d]
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return sorted(found, key=graph.index_of.__getitem__)

    def blobs(self) -> dict[str, Any]:
        with self.lock:
            stats = self.db.blob_statistics()
            infos = [self.db.blob_info(b) for b in self.db.blob_ids()]
            return {"count": stats.count(), "total": stats.total_size(),
                    "min": stats.min_size() if stats.count() else 0, "max": stats.max_size() if stats.count() else 0,
                    "blobs": sorted(({"id": str(i.blob_id()), "size": i.size(),
                                      "layout": i.blob_layout().representation()} for i in infos),
                                    key=lambda b: b["id"])}

    def blob_data(self, blob_id: Any) -> bytes:
        from commitdb.values import ValueBlobId

        with self.lock:
            try:
                bid = ValueBlobId(bytes.fromhex(str(blob_id)))
            except ValueError:
                raise ValidationError(f"a blob id is 40 hex digits, got {blob_id!r}") from None
            return bytes(self.db.blob(bid).get())

    def create_blob(self, layout_text: str, data: bytes) -> str:
        with self.lock:
            from commitdb.blobs import BlobLayout

            try:
                layout_value = BlobLayout.parse(layout_text or "uchar-1")
            except (ValueError, CommitDBError) as error:
                raise ValidationError(f"bad blob layout {layout_text!r}: {error}") from None
            made = self.db.create_blob(layout_value, data)
            self.wrote()
            return str(made)


def _flat(state: Any, attachment: Any, key: Any) -> dict[str, str]:
    doc = state.attachment_getting().get(attachment, key)
    if doc.is_nil():
        return {}
    rows = documents.document_rows(doc.unwrap(encoded=False), attachment.document_type())["rows"]
    return {r["path_text"]: r["display"] for r in rows if r["leaf"] or r["display"]}


def _opcode_row(op: Any, definitions: Any, commit: str, enabled: bool, order: int | None) -> dict[str, Any]:
    key = op.key()
    attachment = definitions.attachment_by_rid(key.attachment_runtime_id().bytes_value())
    # Each opcode kind carries only its own operands (a path, a value, positions).
    value = op.value() if hasattr(op, "value") else None
    text = "" if value is None else value.representation()

    def operand(name: str) -> str:
        return str(getattr(op, name)()) if hasattr(op, name) else ""

    return {"commit": commit, "order": order, "enabled": enabled, "opcode": op.type(),
            "attachment": attachment.identifier() if attachment is not None else str(key.attachment_runtime_id()),
            "concept": str(key.concept_runtime_id()), "instance": str(key.instance_id()),
            "path": operand("path"), "position": operand("position"), "before": operand("before_position"),
            "value": text if len(text) <= 2000 else text[:2000] + "..."}
