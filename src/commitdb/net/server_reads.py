"""Server-side reads: the server answers from its own read views what a client would otherwise
rebuild from the history (a document at a commit, the documents of an attachment, placements,
heads), so a fresh client reads any document in a few round trips whatever the history length.

Each method runs on the service's read thread (or its write thread for a client inside a
transaction) against a ``CommitDatabase`` facade over that thread's connection, kept warm
between requests. Everything a client sends is checked: ids are 20 bytes, document keys three
byte strings of the right sizes, page sizes bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from commitdb.codec import encode_typed_value
from commitdb.errors import ProtocolError
from commitdb.storage.base import CommitDatabasing
from commitdb.storage.sqlite_index import pack_ranges

MAX_IDS = 10_000  # ids or keys per request
MAX_PAGE = 5_000  # documents per page of read_attachment
STATES_KEPT = 64  # recently read states kept per connection to the database (their documents cached)


def _facade(service: Any, backend: CommitDatabasing) -> Any:
    """The read facade over ``backend`` (built once per backend and kept)."""
    facades = service.__dict__.setdefault("_read_facades", {})
    found = facades.get(id(backend))
    if found is None:
        from commitdb.database import CommitDatabase

        found = facades[id(backend)] = (CommitDatabase(backend), OrderedDict())
    return found


def _state(service: Any, backend: CommitDatabasing, commit_id: bytes, merged: bytes | None) -> Any:
    db, states = _facade(service, backend)
    db._refresh()
    key = (commit_id, merged, db._views.read_index().epoch(), db.data_version())
    state = states.get(key)
    if state is None:
        state = db.merge_state(commit_id, merged) if merged is not None else db.state(commit_id)
        states[key] = state
        while len(states) > STATES_KEPT:
            states.popitem(last=False)
    states.move_to_end(key)
    return state


def _id(value: Any, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise ProtocolError(f"{what} must be a 20-byte id")
    return value


def _optional_id(value: Any, what: str) -> bytes | None:
    return None if value is None else _id(value, what)


def _list(value: Any, what: str, limit: int = MAX_IDS) -> list[Any]:
    if not isinstance(value, list):
        raise ProtocolError(f"{what} must be a list")
    if len(value) > limit:
        raise ProtocolError(f"{what}: at most {limit} per request, got {len(value)}")
    return value


def _doc_key(value: Any) -> tuple[bytes, bytes, bytes]:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(x, bytes) for x in value)
            and len(value[0]) == 16 and len(value[1]) == 16 and len(value[2]) == 16):
        raise ProtocolError("a document key is [attachment id, instance id, concept id], 16 bytes each")
    return (value[0], value[1], value[2])


def _args(args: list[Any], count: int, usage: str) -> list[Any]:
    if len(args) != count:
        raise ProtocolError(f"expected {usage}")
    return args


def read_documents(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[commit id, merged id or nil, [document keys]] -> [encoded document or nil] in order."""
    commit_id, merged, keys = _args(args, 3, "[commit id, merged id or nil, [document keys]]")
    state = _state(service, backend, _id(commit_id, "the commit id"), _optional_id(merged, "the merged id"))
    out = []
    for dk in _list(keys, "document keys"):
        doc = state.document_by_key(_doc_key(dk))
        out.append(None if doc is None else encode_typed_value(doc))
    return out


def read_attachment(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[commit id, merged id or nil, attachment id, start, count] -> [[[document key], encoded]
    ..., next start or nil]: the present documents of an attachment, a page at a time."""
    commit_id, merged, attachment, start, count = _args(
        args, 5, "[commit id, merged id or nil, attachment id, start, count]")
    if not isinstance(attachment, bytes) or len(attachment) != 16:
        raise ProtocolError("the attachment id must be 16 bytes")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ProtocolError("start must be a non-negative integer")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_PAGE:
        raise ProtocolError(f"count must be an integer in [1, {MAX_PAGE}]")
    state = _state(service, backend, _id(commit_id, "the commit id"), _optional_id(merged, "the merged id"))
    present = state.present_documents(attachment)
    page = present[start:start + count]
    following = start + count if start + count < len(present) else None
    return [[[list(dk), encode_typed_value(doc)] for dk, doc in page], following]


def placements(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[[commit ids]] -> [[id, lane, seq]] for the commits the database holds."""
    (ids,) = _args(args, 1, "[[commit ids]]")
    wanted = [_id(c, "a commit id") for c in _list(ids, "commit ids")]
    db, _ = _facade(service, backend)
    db._refresh()
    found = db._views.read_index().placements(wanted)
    return [[cid, lane, seq] for cid, (lane, seq) in found.items()]


def lane_rows(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[[lanes]] -> [[lane, base lane or nil, base seq or nil, packed extra ranges, length, tip]]."""
    (lanes,) = _args(args, 1, "[[lanes]]")
    wanted = _list(lanes, "lanes")
    if not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2 ** 63 for x in wanted):
        raise ProtocolError("lanes are non-negative integers")
    db, _ = _facade(service, backend)
    db._refresh()
    rows = db._views.read_index().lane_rows(wanted)
    return [[lane, *(row.base if row.base is not None else (None, None)), pack_ranges(row.extra), row.length,
             row.tip] for lane, row in rows.items()]


def heads(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    _args(args, 0, "no arguments")
    db, _ = _facade(service, backend)
    return [h.bytes_value() for h in db.head_commit_ids()]


def ends(service: Any, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[] -> the summary a lean poll carries (see ``summary``)."""
    _args(args, 0, "no arguments")
    return summary(service, backend)


SUMMARY_HEADS = 64  # heads sent with a poll's summary (more: the client asks for them)


def summary(service: Any, backend: CommitDatabasing) -> list[Any]:
    """[first commit id or nil, last commit id or nil, placement epoch, heads or nil]."""
    db, _ = _facade(service, backend)
    first, last = db.first_commit_id(), db.last_commit_id()
    heads = [h.bytes_value() for h in db.head_commit_ids()]
    return [None if first is None else first.bytes_value(), None if last is None else last.bytes_value(),
            db._views.read_index().epoch(), heads if len(heads) <= SUMMARY_HEADS else None]


READ_METHODS: dict[str, Callable[[Any, CommitDatabasing, list[Any]], Any]] = {
    "read_documents": read_documents,
    "read_attachment": read_attachment,
    "rx_placements": placements,
    "rx_lane_rows": lane_rows,
    "rx_heads": heads,
    "rx_ends": ends,
}
