"""The read index of a served database, as a client sees it: each question is one request to the
server, which answers from its own read structures (``net/server_reads.py``). Documents are
rebuilt on the server, so a client never pulls the history to read one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from commitdb.errors import ProtocolError
from commitdb.storage.lanes import LaneRow, Ranges
from commitdb.storage.readindex import ReadIndex
from commitdb.storage.sqlite_index import unpack_ranges

PAGE = 2000  # documents per read_attachment request
IDS_PER_REQUEST = 5000


class RemoteReadIndex(ReadIndex):
    """A ``ReadIndex`` whose answers come from the server (see the module docstring)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def _call(self, method: str, *args: Any) -> Any:
        return self._backend.call(method, *args)

    def _ids_per_request(self) -> int:
        """Commit ids per request: the server's limit when it announced a lower one."""
        return min(IDS_PER_REQUEST, self._backend.ids_per_request)

    def epoch(self) -> int:
        return int(self._backend.served_summary()[2])

    def last_commit_id(self) -> bytes | None:
        return self._backend.served_summary()[1]

    def first_commit_id(self) -> bytes | None:
        return self._backend.served_summary()[0]

    def pending(self, limit: int) -> list[Any]:
        return []  # the server indexes what it stores

    def placements(self, commit_ids: Iterable[bytes]) -> dict[bytes, tuple[int, int]]:
        ids = list(dict.fromkeys(commit_ids))
        out: dict[bytes, tuple[int, int]] = {}
        page = self._ids_per_request()
        for start in range(0, len(ids), page):
            for row in self._call("rx_placements", ids[start:start + page]):
                if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], bytes)):
                    raise ProtocolError("malformed placement answer")
                out[row[0]] = (int(row[1]), int(row[2]))
        return out

    def lane_rows(self, lanes: Iterable[int]) -> dict[int, LaneRow]:
        out = {}
        for lane, base_lane, base_seq, extra, length, tip in self._call("rx_lane_rows", list(dict.fromkeys(lanes))):
            base = None if base_lane is None else (int(base_lane), int(base_seq))
            out[int(lane)] = LaneRow(base, unpack_ranges(extra), int(length), tip)
        return out

    def head_ids(self) -> list[bytes]:
        summary = self._backend.served_summary(fresh_only=True)
        if summary is not None and len(summary) > 3 and summary[3] is not None:
            return list(summary[3])
        return list(self._call("rx_heads"))

    def read_documents(self, key: tuple[bytes, bytes | None], dks: list[Any]) -> list[bytes | None]:
        """The encoded documents ``dks`` of the state ``key`` = (commit id, merged id or None)."""
        answer = self._call("read_documents", key[0], key[1], [list(dk) for dk in dks])
        if not isinstance(answer, list) or len(answer) != len(dks):
            raise ProtocolError("malformed read_documents answer")
        return answer

    def read_attachment(self, key: tuple[bytes, bytes | None], attachment_rid: bytes) -> list[tuple[Any, bytes]]:
        """(document key, encoded document) of every present document of an attachment."""
        out: list[tuple[Any, bytes]] = []
        start: int | None = 0
        while start is not None:
            page, start = self._call("read_attachment", key[0], key[1], attachment_rid, start, PAGE)
            out += [(tuple(dk), data) for dk, data in page]
        return out

    # Rebuilding happens on the server: these are never needed by a client.
    def touches(self, dk: Any, ranges: Ranges) -> list[Any]:
        raise NotImplementedError("documents of a served database are read on the server")

    def touches_of_attachment(self, attachment_rid: bytes, ranges: Ranges) -> dict[Any, list[Any]]:
        raise NotImplementedError("documents of a served database are read on the server")

    def flips(self, ranges: Ranges) -> list[Any]:
        raise NotImplementedError("documents of a served database are read on the server")

    def snapshots(self, dk: Any, ranges: Ranges, limit: int | None = None) -> list[Any]:
        return []

    def save_snapshots(self, rows: list[Any]) -> None:
        """The server keeps its own snapshots."""

    def placed_in(self, ranges: Ranges) -> list[Any]:
        raise NotImplementedError("a served database lists linearisations from its headers")

    def doc_keys(self, attachment_rid: bytes | None) -> list[Any]:
        raise NotImplementedError("documents of a served database are read on the server")
