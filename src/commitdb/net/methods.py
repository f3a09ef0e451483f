"""The server's request table: one function per protocol method, each checking its
arguments (bytes from the network are hostile) before they reach storage.

Reads take ``(service, backend, args)`` — the backend is the read connection, or the writer
inside the caller's transaction; writes take ``(service, args)`` and run on the write thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from commitdb.blobs import blob_id_bytes
from commitdb.engine.program import collect_blob_ids, decode_program, index_entries
from commitdb.engine.validation import check_program
from commitdb.errors import (
    CommitNotFoundError,
    CorruptedDataError,
    MissingBlobError,
    NotAHeadError,
    PermissionDeniedError,
    ProtocolError,
)
from commitdb.net import protocol as P
from commitdb.net import server_reads
from commitdb.net.limits import check_id_count, check_label, check_timestamp
from commitdb.storage.base import MUTATIONS, CommitData, CommitDatabasing

if TYPE_CHECKING:
    from commitdb.net.server import DatabaseService

MAX_BATCH = 10_000  # commits in one insert_commits
MAX_BLOBS_PER_MESSAGE = 10_000  # blobs in one insert_blobs
POLL_MAX_HEADERS = 2000  # beyond this a poll answers the version only (keeps frames small)


def _bytes_list(args: list[Any], size: int, what: str) -> list[bytes]:
    if not isinstance(args, list) or not all(isinstance(x, bytes) and len(x) == size for x in args):
        raise ProtocolError(f"{what} must be a list of {size}-byte ids")
    return args


def _one_id(args: list[Any], size: int = 20) -> bytes:
    if len(args) != 1 or not isinstance(args[0], bytes) or len(args[0]) != size:
        raise ProtocolError(f"expected one {size}-byte id")
    return args[0]


def no_args(args: list[Any]) -> None:
    if args:
        raise ProtocolError("this method takes no arguments")


# --- the method table ------------------------------------------------------------------------


def _r_simple(name: str) -> Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]:
    def call(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
        no_args(args)
        return getattr(backend, name)()

    return call


def _r_get_commit(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    c = backend.get_commit(_one_id(args))
    return None if c is None else P.pack_commit(c)


def _r_get_commits(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("get_commits takes one list of ids")
    check_id_count(len(args[0]) if isinstance(args[0], list) else 0, "get_commits", service.limits)
    ids = _bytes_list(args[0], 20, "commit ids")
    return [P.pack_commit(c) for c in backend.get_commits(ids)]


def _r_get_header(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    h = backend.get_header(_one_id(args))
    return None if h is None else P.pack_header(h)


def _r_all_headers(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    no_args(args)
    return [P.pack_header(h) for h in backend.all_headers()]


def _r_headers_since(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if not 1 <= len(args) <= 2 or not isinstance(args[0], int) or isinstance(args[0], bool) \
            or not 0 <= args[0] < 2 ** 63:
        raise ProtocolError("headers_since takes a marker (an integer in [0, 2**63)) and an optional limit")
    limit = args[1] if len(args) == 2 else None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1_000_000):
        raise ProtocolError("headers_since: the limit must be an integer from 1 to 1000000")
    headers, marker = backend.headers_since(args[0], limit)
    return [[P.pack_header(h) for h in headers], marker]


def _r_head_ids(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    no_args(args)
    return sorted(backend.head_ids())


def _r_get_blob(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    b = backend.get_blob(_one_id(args))
    return None if b is None else P.pack_blob(b)


def _r_has_blob(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    return backend.has_blob(_one_id(args))


def _r_blob_chunk(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[layout, total size, bytes] of a blob from ``offset``, at most ``size`` bytes; nil if absent.
    Lets a client read a blob larger than a frame in pieces."""
    if len(args) != 3 or not isinstance(args[0], bytes) or len(args[0]) != 20:
        raise ProtocolError("blob_chunk takes [blob id, offset, size]")
    offset, size = args[1], args[2]
    for n in (offset, size):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ProtocolError("blob_chunk: offset and size must be non-negative integers")
    size = min(size, P.BLOB_CHUNK)
    record = backend.get_blob(args[0])
    if record is None:
        return None
    return [record.layout, len(record.data), record.data[offset:offset + size]]


def _r_get_blobs(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """The blobs of a list of ids, as many as fit in BLOB_CHUNK bytes (at least one unless it is
    larger than that: the client then reads it with blob_chunk); absent ids are skipped."""
    if len(args) != 1:
        raise ProtocolError("get_blobs takes one list of ids")
    out, total = [], 0
    check_id_count(len(args[0]) if isinstance(args[0], list) else 0, "get_blobs", service.limits)
    for blob_id in _bytes_list(args[0], 20, "blob ids"):
        record = backend.get_blob(blob_id)
        if record is None:
            continue
        if total + len(record.data) > P.BLOB_CHUNK:
            break
        out.append(P.pack_blob(record))
        total += len(record.data)
    return out


def _r_missing_blobs(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("missing_blobs takes one list of ids")
    check_id_count(len(args[0]) if isinstance(args[0], list) else 0, "missing_blobs", service.limits)
    ids = _bytes_list(args[0], 20, "blob ids")
    return [b for b in ids if not backend.has_blob(b)]


def _r_blob_sizes(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    no_args(args)
    return [[b, layout, size] for b, (layout, size) in backend.blob_sizes().items()]


FEW_COMMITS = 1000  # index entries of fewer commits are computed from their programs


def _index_entries(service: DatabaseService, backend: CommitDatabasing, ids: list[bytes] | None) -> list[Any]:
    """[[commit id, packed entries]] of the Mutations commits among ``ids``: from the backend's
    stored index for many commits (one scan), from the programs themselves for a few."""
    if ids is None or len(ids) > FEW_COMMITS:
        return [[cid, P.pack_entries(entries)] for cid, entries in backend.load_index(ids).items()]
    out = []
    for commit in backend.get_commits(ids):
        if commit.header().type_code == MUTATIONS:
            program = decode_program(commit.data(), service.definitions(), service.token())
            out.append([commit.header().id, P.pack_entries(index_entries(program))])
    return out


def _r_load_index(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("load_index takes one argument (a list of ids, or nil)")
    ids = None if args[0] is None else _bytes_list(args[0], 20, "commit ids")
    if ids is not None:
        check_id_count(len(ids), "load_index", service.limits)
    return _index_entries(service, backend, ids)


def read_poll(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """[version] when ``known`` is current; else everything a client needs to catch up, in one
    answer: [version, definitions sha1, definitions bytes (nil when the client's sha1 is
    current), headers since ``marker``, next marker, commit count, index entries of those
    headers (nil when the backend keeps no index)]. A lean poll (a 4th argument "reads", from
    a client that reads through the server) answers [version, definitions sha1, definitions
    bytes or nil, the read summary of ``server_reads.summary``] instead: no headers."""
    lean = len(args) == 4 and args[3] == "reads"
    if lean:
        args = args[:3]
    elif len(args) != 3:
        raise ProtocolError('poll takes [known version or nil, marker, definitions sha1 or nil] (+ "reads")')
    known, marker, defs_sha = args
    if known is not None and (not isinstance(known, int) or isinstance(known, bool)):
        raise ProtocolError("poll: the known version must be an integer or nil")
    if not isinstance(marker, int) or isinstance(marker, bool) or not 0 <= marker < 2 ** 63:
        raise ProtocolError("poll: the marker must be an integer in [0, 2**63)")
    if defs_sha is not None and not isinstance(defs_sha, bytes):
        raise ProtocolError("poll: the definitions digest must be bytes or nil")
    version = service.data_version()
    if known == version:
        return [version]
    definitions = backend.definitions_bytes()
    sha = hashlib.sha1(definitions).digest()
    if lean:
        return [version, sha, None if sha == defs_sha else definitions, server_reads.summary(service, backend)]
    headers, next_marker = backend.headers_since(marker)
    if len(headers) > POLL_MAX_HEADERS:
        return [version]  # a long catch-up: the client asks for it piece by piece
    index = None
    if backend.persists_index():
        mutations = [h.id for h in headers if h.type_code == MUTATIONS]
        index = _index_entries(service, backend, mutations) if mutations else []
    return [version, sha, None if sha == defs_sha else definitions, [P.pack_header(h) for h in headers],
            next_marker, backend.commit_count(), index]


def _ids_limited(method: str, read: Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]
                 ) -> Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]:
    """``read``, refusing more ids (or document keys) in its last argument than the server's
    ids-per-request limit (server_reads keeps its own bounds besides)."""

    def call(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
        if args and isinstance(args[-1], list):
            check_id_count(len(args[-1]), method, service.limits)
        return read(service, backend, args)

    return call


def _r_verify_file(service: DatabaseService, backend: CommitDatabasing, args: list[Any]) -> Any:
    """Admin only (it reads the whole file): the checks of ``commitdb verify`` that only the file
    allows, on a read-only connection beside the server's: [[kind, location, message] ...] and
    what was checked; None when the database is not a file."""
    no_args(args)
    if not hasattr(backend, "integrity_problems"):
        return None
    from commitdb.admin import verify_file_only

    report = verify_file_only(backend.path())
    return [[[f.kind, f.location, str(f)[len(f.location) + 2:]] for f in report.faults], report.checked]


READ_METHODS: dict[str, Callable[[DatabaseService, CommitDatabasing, list[Any]], Any]] = {
    "poll": read_poll,
    "serves_reads": lambda service, backend, args: True,
    **server_reads.READ_METHODS,
    **{name: _ids_limited(name, server_reads.READ_METHODS[name]) for name in ("read_documents", "rx_placements")},
    **{name: _r_simple(name) for name in (
        "path", "uuid", "documentation", "codec_name", "definitions_bytes", "is_readonly", "in_memory",
        "commit_count", "blob_id_list", "persists_index",
    )},
    "get_commit": _r_get_commit,
    "get_commits": _r_get_commits,
    "get_header": _r_get_header,
    "all_headers": _r_all_headers,
    "headers_since": _r_headers_since,
    "head_ids": _r_head_ids,
    "get_blob": _r_get_blob,
    "has_blob": _r_has_blob,
    "missing_blobs": _r_missing_blobs,
    "blob_chunk": _r_blob_chunk,
    "get_blobs": _r_get_blobs,
    "blob_sizes": _r_blob_sizes,
    "load_index": _r_load_index,
    "verify_file": _r_verify_file,
}


def checked_commit(service: DatabaseService, packed: Any,
                    earlier: set[bytes] | None = None) -> tuple[CommitData, list[tuple[Any, bool]] | None]:
    """Unpack a commit from a client and check it: the id re-hashes (in the database's codec),
    its parent and target exist (stored, or ``earlier`` in the same batch), the program decodes
    against the server's definitions, referenced blobs exist."""
    commit = P.unpack_commit(packed)
    h = commit.header()
    check_label(h.label_text, service.limits)
    check_timestamp(h.ts, service.limits)
    token = service.token()
    computed = commit.computed_id(token)
    if computed != h.id:
        raise CorruptedDataError(f"corrupted commit data, expected {h.id.hex()}, got {computed.hex()}")
    entries = None
    if h.type_code == MUTATIONS:
        program = decode_program(commit.data(), service.definitions(), token)
        check_program(program, service.definitions())
        for blob_id in collect_blob_ids(program.raw_opcodes()):
            if not service.writer.has_blob(blob_id):
                raise MissingBlobError(f"Missing blob {blob_id.hex()}")
        entries = index_entries(program)
    elif commit.data():
        raise CorruptedDataError(f"a {h.commit_type()} commit carries no data")
    for ref in (h.parent, h.target):
        if ref != bytes(20) and (earlier is None or ref not in earlier) and not _stored(service, ref):
            raise CommitNotFoundError(f"Missing commit {ref.hex()} (referenced by {h.id.hex()})")
    if earlier is not None:
        earlier.add(h.id)
    return commit, entries


def _stored(service: DatabaseService, commit_id: bytes) -> bool:
    """Whether the writer holds the commit: a placement it made proves it without a query (a
    parent was usually stored by this very connection), else its header is looked up."""
    index = service.writer.read_index()
    if index is not None and index.placements([commit_id]):
        return True
    return service.writer.get_header(commit_id) is not None


def _w_insert_commit(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("insert_commit takes one commit")
    commit, entries = checked_commit(service, args[0])
    return service.versioned(lambda: service.writer.insert_commit(commit, entries))


def _w_insert_commits(service: DatabaseService, args: list[Any]) -> Any:
    """Several commits in one transaction: [[inserted flags], before, after]; all or nothing."""
    if len(args) != 1 or not isinstance(args[0], list) or len(args[0]) > MAX_BATCH:
        raise ProtocolError(f"insert_commits takes one list of at most {MAX_BATCH} commits")
    earlier: set[bytes] = set()
    rows = [checked_commit(service, packed, earlier) for packed in args[0]]
    return service.versioned(lambda: service.writer.insert_commits(rows))


def _w_insert_blob(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ProtocolError("insert_blob takes one blob")
    blob = P.unpack_blob(args[0])
    computed = blob_id_bytes(blob.layout, blob.data)
    if computed != blob.blob_id:
        raise CorruptedDataError(f"blob id {blob.blob_id.hex()} does not match its content ({computed.hex()})")
    return service.versioned(lambda: service.writer.insert_blob(blob))


def _w_insert_blobs(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1 or not isinstance(args[0], list) or len(args[0]) > MAX_BLOBS_PER_MESSAGE:
        raise ProtocolError(f"insert_blobs takes one list of at most {MAX_BLOBS_PER_MESSAGE} blobs")
    blobs = [P.unpack_blob(b) for b in args[0]]
    for blob in blobs:
        if blob_id_bytes(blob.layout, blob.data) != blob.blob_id:
            raise CorruptedDataError(f"blob id {blob.blob_id.hex()} does not match its content")
    return service.versioned(lambda: sum(1 for b in blobs if service.writer.insert_blob(b)))


def _w_remove_commit(service: DatabaseService, args: list[Any]) -> Any:
    cid = _one_id(args)
    # Removing anything but a head would orphan its children: clients are not trusted with it.
    if service.writer.get_header(cid) is not None and cid not in service.writer.head_ids():
        raise NotAHeadError(f"{cid.hex()} is not a head")
    return service.versioned(lambda: service.writer.remove_commit(cid))


def _w_remove_all_but_first(service: DatabaseService, args: list[Any]) -> Any:
    no_args(args)
    return service.versioned(service.writer.remove_all_but_first)


def _w_extend_definitions(service: DatabaseService, args: list[Any]) -> Any:
    if len(args) != 1 or not isinstance(args[0], bytes):
        raise ProtocolError("extend_definitions takes the encoded definitions (bytes)")
    from commitdb.dsm.definitions import Definitions

    token = service.writer.codec_name() == "StreamTokenBinary"
    incoming = Definitions.decode(args[0], token=token)
    return service.versioned(lambda: service.writer.extend_definitions(incoming))


def refuse_changing_definitions(service: DatabaseService, args: list[Any]) -> None:
    """Any token may send definitions the server holds already (every client extends with its
    model when it opens it); changing them takes an admin token (PermissionDeniedError)."""
    if len(args) != 1 or not isinstance(args[0], bytes):
        raise ProtocolError("extend_definitions takes the encoded definitions (bytes)")
    from commitdb.dsm.definitions import Definitions, extended_definitions

    current = service.reader.definitions()
    merged = extended_definitions(current, Definitions.decode(args[0], token=service.token()))
    if merged.hexdigest() != current.hexdigest():
        raise PermissionDeniedError("extending the definitions needs an admin token")


def describe_destructive(method: str, args: list[Any]) -> str:
    """What a destructive request did, for the audit log."""
    if method == "remove_commit" and args and isinstance(args[0], bytes):
        return args[0].hex()
    return ""


WRITE_METHODS: dict[str, Callable[[DatabaseService, list[Any]], Any]] = {
    "insert_commit": _w_insert_commit,
    "insert_commits": _w_insert_commits,
    "insert_blob": _w_insert_blob,
    "insert_blobs": _w_insert_blobs,
    "remove_commit": _w_remove_commit,
    "remove_all_but_first": _w_remove_all_but_first,
    "extend_definitions": _w_extend_definitions,
}
TX_METHODS = frozenset({"begin_transaction", "commit", "rollback", "in_transaction"})
