"""CommitNode: the DAG as a tree for display, rooted at a virtual node with the zero id."""

from __future__ import annotations

from typing import Any

from commitdb.storage.base import MUTATIONS, ZERO_ID, CommitHeader


class CommitNode:
    """One commit of the tree; merges are listed under their parent."""

    __slots__ = ("_children", "_header")

    def __init__(self, header: CommitHeader) -> None:
        self._header = header
        self._children: list[CommitNode] = []

    def header(self) -> CommitHeader:
        return self._header

    def commit_id(self) -> Any:
        return self._header.commit_id()

    def children(self) -> list[CommitNode]:
        return list(self._children)

    def __repr__(self) -> str:
        return f"CommitNode({self._header.id.hex()[:12]} {self._header.label_text!r}, {len(self._children)} children)"

    @staticmethod
    def build(db: Any) -> CommitNode:
        """The root node (zero id, type Mutations, label 'Root', timestamp 0.0) of ``db``'s tree."""
        dag = db.engine_dag()
        root = CommitNode(CommitHeader(ZERO_ID, ZERO_ID, MUTATIONS, ZERO_ID, 0.0, "Root"))
        nodes = {ZERO_ID: root}
        for cid, h in dag.headers.items():  # creation order: parents come first
            nodes[cid] = CommitNode(h)
        for cid, h in dag.headers.items():
            parent = nodes.get(h.parent, root)
            parent._children.append(nodes[cid])
        return root
