"""Administration of commit databases: the library behind the command-line tools.

- ``open_source`` / ``open_replica``: the databases ``commit_admin.py`` works on;
- ``resolve_commit_id``: ``last``, a full id or a unique prefix → a commit id;
- ``create_commit_database``: a database holding a model's definitions and no commits;
- ``verify``: re-check everything a database file stores (SQLite's page check, ids re-hash,
  programs decode, links resolve, labels and timestamps in range, blobs present and re-hash,
  heads consistent, every row of the read index against recomputation) and report every fault
  instead of stopping at one;
- ``repair`` (``read_index_check.repair``): rebuild the derived tables from the commits;
- ``history``: the commits newest first;
- ``export_state`` / ``import_state``: the documents at one commit as a directory of JSON
  files and blobs, and a new database rebuilt from such a directory (see ``export_state``).

Everything here raises the library's errors; the command line only formats.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commitdb.blobs import BlobLayout, blob_id_bytes
from commitdb.database import CommitDatabase
from commitdb.dsm.definitions import Definitions
from commitdb.dsm.dsm_definitions import DSMDefinitions
from commitdb.engine.mutable import CommitMutableState
from commitdb.engine.program import collect_blob_ids, decode_program, index_entries, value_blob_ids
from commitdb.errors import (
    CommitDBError,
    CommitNotFoundError,
    CorruptedDataError,
    DatabaseExistsError,
    IntegrityError,
    PermissionDeniedError,
    ValidationError,
)
from commitdb.read_index_check import Fault
from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID, CommitDatabasing, CommitHeader, is_token_codec
from commitdb.values.scalars import ValueCommitId, ValueUUId
from commitdb.values.value import Value

EXPORT_FORMAT = "commitdb.export"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"
DEFINITIONS_BIN = "definitions.bin"
DEFINITIONS_DSM = "definitions.dsm"

# --- opening --------------------------------------------------------------------------------------


def open_source(database: str | None = None, host: str | None = None, port: int | str = 54321,
                socket_path: str | None = None, protocol: str = "commitdb", timeout: float | None = None,
                readonly: bool = False, token_file: str | None = None, tls: bool = False,
                tls_ca: str | None = None) -> CommitDatabase:
    """A database file, or one served over TCP or a unix socket (exactly one of the three),
    spoken to in ``protocol`` ("commitdb", or "viper" for the reference runtime's server). A
    commitdb server is shown the token of ``token_file`` (else $COMMITDB_TOKEN); ``tls``/``tls_ca``
    encrypt a TCP connection.

    ValidationError when none or several are given; ConnectionFailedError when the server
    cannot be reached or does not answer within ``timeout`` seconds; AuthenticationError when
    it refuses the token; IncompatibleDatabaseError for a missing or foreign file. ``readonly``
    applies to a file."""
    given = [x for x in (database, host, socket_path) if x is not None]
    if not given:
        raise ValidationError("use option --database, --host or --socket-path to specify the source")
    if len(given) > 1:
        raise ValidationError("use only one of --database, --host or --socket-path")
    if database is not None:
        return CommitDatabase.open(database, readonly=readonly)
    if protocol != "commitdb":  # the reference protocol carries no token and no TLS
        if host is not None:
            return CommitDatabase.connect(host, str(port), protocol=protocol, timeout=timeout)
        return CommitDatabase.connect_local(socket_path, protocol=protocol, timeout=timeout)  # type: ignore[arg-type]
    from commitdb.net.security import token_from_environment

    token = token_from_environment(token_file=token_file)
    if host is not None:
        return CommitDatabase.connect(host, str(port), timeout=timeout, token=token, tls=tls or None, tls_ca=tls_ca)
    return CommitDatabase.connect_local(socket_path, timeout=timeout, token=token)  # type: ignore[arg-type]


def open_replica(path: str, documentation: str) -> tuple[CommitDatabase, bool]:
    """Open the database file ``path``, creating it with ``documentation`` when missing.
    Returns the database and whether it was created."""
    from commitdb.storage.urls import is_postgres_url

    if CommitDatabase.is_compatible(path) if is_postgres_url(path) else os.path.lexists(path):
        return CommitDatabase.open(path), False
    return CommitDatabase.create(path, documentation), True


def remove_database_file(path: str) -> None:
    """Remove a database file and its SQLite companions (-wal, -shm, -journal); a commit
    database in PostgreSQL is left to its operator (nothing is dropped)."""
    from commitdb.storage.urls import is_postgres_url

    if is_postgres_url(path):
        return
    if os.path.isdir(path):
        raise DatabaseExistsError(f"{path!r} is a directory, not a database file")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.lexists(path + suffix):
            os.remove(path + suffix)


def create_commit_database(path: str, definitions: Definitions, documentation: str | None = None,
                           force: bool = False) -> CommitDatabase:
    """A new database file holding ``definitions`` and no commits.

    DatabaseExistsError when something exists at ``path`` and ``force`` is false; with
    ``force`` an existing file is replaced (a directory never is). A ``postgresql://`` URL is
    created there (DatabaseExistsError when it holds a commit database, whatever ``force``)."""
    from commitdb.storage.urls import is_postgres_url

    if not is_postgres_url(path) and os.path.lexists(path):
        if not force:
            raise DatabaseExistsError(f"{path} already exists (use --force to replace it)")
        remove_database_file(path)
    db = CommitDatabase.create(path, documentation)
    try:
        db.extend_definitions(definitions)
    except BaseException:
        db.close()
        remove_database_file(path)
        raise
    return db


def resolve_commit_id(db: CommitDatabase, text: str) -> ValueCommitId:
    """``last`` (the last commit), a 40-hex id, or a unique hex prefix of at least 4 digits.
    CommitNotFoundError when nothing (or more than one commit) matches."""
    text = text.strip().lower()
    if text == "last":
        last = db.last_commit_id()
        if last is None:
            raise CommitNotFoundError("the database has no commits")
        return last
    if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(f"not a commit id: {text!r} (use 40 hex digits, a prefix of 4 or more, or 'last')")
    if len(text) == 40:
        if not db.commit_exists(text):
            raise CommitNotFoundError(f"Missing commit {text}")
        return ValueCommitId(text)
    matches = [c for c in db.commit_ids() if str(c).startswith(text)]
    if not matches:
        raise CommitNotFoundError(f"no commit id starts with {text}")
    if len(matches) > 1:
        raise CommitNotFoundError(f"the prefix {text} is ambiguous ({len(matches)} commits)")
    return matches[0]


# --- verify ---------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What ``verify`` checked and every fault it found (``ok`` when there is none). Each fault
    is a ``Fault``: text ``location: message`` with a ``kind`` (sqlite, commit, program, link,
    blob, heads, label, timestamp, read-index)."""

    path: str
    commits: int = 0
    blobs: int = 0
    heads: int = 0
    referenced_blobs: int = 0
    definitions_hexdigest: str = ""
    faults: list[Fault] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was checked beyond commits and blobs
    not_checked: str = ""  # why the checks of the file itself were not made (through a server)

    @property
    def ok(self) -> bool:
        return not self.faults


def verify(path: str, progress: Callable[[str, int, int], None] | None = None) -> VerifyReport:
    """Check everything the database file ``path`` stores (opened read-only): SQLite's own
    integrity check of its pages, then ``verify_backend``, then the metadata and every row of
    commitdb's read index against recomputation from the commits (``read_index_check``).

    Reports, rather than raises, what is wrong. Raises only when the file cannot be opened as a
    commit database at all and SQLite finds nothing wrong with its pages."""
    return _verify_file(path, progress, with_content=True)


def verify_file_only(path: str, progress: Callable[[str, int, int], None] | None = None) -> VerifyReport:
    """The checks only the file itself allows: SQLite's pages, the metadata and the read index
    (what a server runs on its own file for ``verify`` through it; the commits, programs and
    blobs are checked by the client as they arrive)."""
    return _verify_file(path, progress, with_content=False)


def _verify_file(path: str, progress: Callable[[str, int, int], None] | None, with_content: bool) -> VerifyReport:
    from commitdb.storage.sqlite import SQLiteBackend
    from commitdb.storage.urls import is_postgres_url

    if is_postgres_url(path):  # the content checks; the page and read-index checks are SQLite's
        from commitdb.storage.postgres import PostgresBackend

        backend = PostgresBackend(path, readonly=True)
        try:
            return verify_backend(backend, path, progress)
        finally:
            backend.close()
    try:
        backend = SQLiteBackend(path, readonly=True)
    except CorruptedDataError as error:
        report = VerifyReport(path)
        report.faults += [Fault("sqlite", "file", p) for p in _raw_integrity_problems(path)]
        report.faults.append(Fault("sqlite", "file", f"cannot be opened: {error}"))
        return report
    try:
        if progress is not None:
            progress("sqlite pages", 0, 1)
        problems = backend.integrity_problems()
        if progress is not None:
            progress("sqlite pages", 1, 1)
        entries: dict[bytes, list[tuple[Any, bool]]] = {}
        report = verify_backend(backend, path, progress, entries)
        content, report.faults = report.faults, [Fault("sqlite", "file pages", p) for p in problems]
        if with_content:
            report.faults += content
        report.faults += _check_metadata(backend)
        report.checked += ["sqlite pages", "metadata"]
        if backend.read_index() is not None and not any(f.location.startswith("commits") for f in content):
            from commitdb.read_index_check import check

            bad = {f.location.split()[1] for f in content if f.location.startswith("commit ")}
            try:
                report.faults += check(backend, backend.definitions(), is_token_codec(backend.codec_name()), entries,
                                       progress, bad)
            except CommitDBError as error:
                report.faults.append(Fault("read-index", "read index", f"cannot be read: {error}"))
            report.checked.append("read index")
        return report
    finally:
        backend.close()


def verify_through(db: CommitDatabase, name: str,
                   progress: Callable[[str, int, int], None] | None = None) -> VerifyReport:
    """``verify`` of a served database: the commits, programs, labels, timestamps and blobs as
    they arrive, then what the server finds in its own file (SQLite's pages, the metadata, the
    read index) when it offers that check and this connection may ask (an admin token)."""
    backend = db.commit_databasing()
    report = verify_backend(backend, name, progress)
    ask = getattr(backend, "verify_file", None)
    if ask is None:
        return report
    try:
        answer = ask()
    except PermissionDeniedError:
        report.not_checked = "SQLite's pages, the metadata and the read index need an admin token"
        return report
    if answer is None:
        report.not_checked = "the server's database is not a file: nothing more to check"
        return report
    faults, checked = answer
    report.faults += [Fault(kind, location, message) for kind, location, message in faults]
    report.checked += [f"{what} (by the server)" for what in checked]
    return report


def _check_metadata(backend: Any) -> list[Fault]:
    """The metadata rows the format lets us check: the definitions' digest and the UUID (the
    documentation is free text, hashed by nothing); and that every blob row has a blob id (a
    row without one is listed by nothing else)."""
    faults = []
    try:
        rows = dict(backend.inspect_rows("SELECT identifier, data FROM ds_metadata"))
        digest = bytes(rows.get("DefinitionsHexDigest") or b"").decode("ascii", "replace")
        expected = backend.definitions().hexdigest()
    except CommitDBError as e:
        return [Fault("metadata", "ds_metadata", f"cannot be read: {e}")]
    for rowid, identifier in backend.inspect_rows("SELECT rowid, identifier FROM ds_blob"):
        if not (isinstance(identifier, str) and len(identifier) == 40
                and all(c in "0123456789abcdefABCDEF" for c in identifier)):
            faults.append(Fault("blob", f"ds_blob rowid {rowid}", f"its identifier {identifier!r} is not a blob id"))
    if digest != expected:
        faults.append(Fault("metadata", "ds_metadata DefinitionsHexDigest",
                            f"{digest!r} differs from the digest of the stored definitions ({expected})"))
    try:
        uuid.UUID(bytes(rows.get("UUID") or b"").decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        faults.append(Fault("metadata", "ds_metadata UUID", f"{rows.get('UUID')!r} is not a UUID"))
    return faults


def _raw_integrity_problems(path: str) -> list[str]:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(100)")]
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as error:
        return [f"SQLite cannot check it: {error}"]
    return [] if rows == ["ok"] else rows


def verify_backend(backend: CommitDatabasing, name: str = "",
                   progress: Callable[[str, int, int], None] | None = None,
                   entries: dict[bytes, list[tuple[Any, bool]]] | None = None) -> VerifyReport:
    """``verify`` for any storage backend: commits (ids re-hash, programs decode, links resolve,
    labels and timestamps well-formed), blobs (present, re-hash) and heads. ``entries``
    collects the read-index entries of every program that decodes."""
    report = VerifyReport(name or backend.path())
    faults = report.faults
    definitions: Definitions | None = None
    try:
        definitions = backend.definitions()
        report.definitions_hexdigest = definitions.hexdigest()
    except CommitDBError as e:
        faults.append(Fault("definitions", "definitions", f"cannot be decoded: {e}"))
    try:
        headers = backend.all_headers()
    except CommitDBError as e:
        faults.append(Fault("commit", "commits", f"cannot be listed: {e}"))
        return report
    report.commits = len(headers)
    ids = {h.id for h in headers}
    referenced: set[bytes] = set()
    latest = time.time() + FUTURE_SLACK
    for start in range(0, len(headers), 500):
        chunk = headers[start:start + 500]
        datas = {d.header().id: d for d in backend.get_commits([h.id for h in chunk])}
        for h in chunk:
            data = datas.get(h.id)
            if data is None:
                faults.append(Fault("commit", f"commit {h.id.hex()}", "listed but cannot be read"))
                continue
            faults.extend(_check_commit(h, data.data(), data.computed_id(), ids, definitions, referenced, entries))
            faults.extend(_check_label_and_time(h, latest))
        if progress is not None:
            progress("commits", min(start + 500, len(headers)), len(headers))
    report.referenced_blobs = len(referenced)
    for blob_id in sorted(referenced):
        if not backend.has_blob(blob_id):
            faults.append(Fault("blob", f"blob {blob_id.hex()}", "referenced by a commit but missing"))
    sizes = backend.blob_sizes()
    report.blobs = len(sizes)
    for i, (blob_id, (layout, size)) in enumerate(sorted(sizes.items())):
        faults.extend(_check_blob(backend, blob_id, layout, size))
        if progress is not None and ((i + 1) % 100 == 0 or i + 1 == len(sizes)):
            progress("blobs", i + 1, len(sizes))
    expected_heads = _heads(headers)
    stored_heads = backend.head_ids()
    report.heads = len(expected_heads)
    for h in sorted(stored_heads - expected_heads):
        faults.append(Fault("heads", "heads", f"{h.hex()} is listed as a head but has a child or is a merge target"))
    for h in sorted(expected_heads - stored_heads):
        faults.append(Fault("heads", "heads", f"{h.hex()} should be a head but is not listed"))
    return report


FUTURE_SLACK = 86_400.0  # a commit's timestamp may be this far ahead of the verifying clock


def _check_label_and_time(h: CommitHeader, latest: float) -> list[Fault]:
    """The format does not hash labels and timestamps: only values out of range show damage."""
    where = f"commit {h.id.hex()}"
    faults = []
    if not isinstance(h.label_text, str):
        faults.append(Fault("label", where, f"its label is not text ({type(h.label_text).__name__})"))
    elif "\x00" in h.label_text:
        faults.append(Fault("label", where, f"its label holds a NUL character: {h.label_text!r}"))
    ts = h.ts
    if not isinstance(ts, float) or not math.isfinite(ts) or ts <= 0 or ts > latest:
        faults.append(Fault("timestamp", where, f"its timestamp {ts!r} is out of range (after 1970, "
                                                "at most a day ahead of this clock)"))
    return faults


def _check_commit(h: CommitHeader, data: bytes, computed: bytes, ids: set[bytes],
                  definitions: Definitions | None, referenced: set[bytes],
                  entries: dict[bytes, list[tuple[Any, bool]]] | None = None) -> list[Fault]:
    faults: list[Fault] = []
    where = f"commit {h.id.hex()}"
    if computed != h.id:
        faults.append(Fault("commit", where, f"the id does not re-hash (computed {computed.hex()})"))
    if h.parent != ZERO_ID and h.parent not in ids:
        faults.append(Fault("link", where, f"its parent {h.parent.hex()} is missing"))
    if h.type_code == MUTATIONS:
        if h.target != ZERO_ID:
            faults.append(Fault("link", where, f"a Mutations commit with a target ({h.target.hex()})"))
        try:
            program = decode_program(data, definitions)
            if entries is not None and computed == h.id:
                entries[h.id] = index_entries(program)
        except CommitDBError as e:
            faults.append(Fault("program", where, f"the program does not decode: {e}"))
        else:
            referenced |= collect_blob_ids(program.raw_opcodes())
    else:
        if h.target == ZERO_ID:
            faults.append(Fault("link", where, f"a {h.commit_type()} commit without a target"))
        elif h.target not in ids:
            faults.append(Fault("link", where, f"its target {h.target.hex()} is missing"))
        if data:
            faults.append(Fault("commit", where, f"a {h.commit_type()} commit carries {len(data)} bytes of data"))
    return faults


def _check_blob(backend: CommitDatabasing, blob_id: bytes, layout: str, size: int) -> list[Fault]:
    where = f"blob {blob_id.hex()}"
    try:
        record = backend.get_blob(blob_id)
        if record is None:
            return [Fault("blob", where, "listed but cannot be read")]
        computed = blob_id_bytes(layout, record.data)
    except CorruptedDataError as e:  # the backend checks what it reads
        return [Fault("blob", where, f"the id does not re-hash ({e})")]
    except CommitDBError as e:
        return [Fault("blob", where, f"cannot be read: {e}")]
    faults = []
    if computed != blob_id:
        faults.append(Fault("blob", where, f"the id does not re-hash (computed {computed.hex()})"))
    if len(record.data) != size:
        faults.append(Fault("blob", where, f"the recorded size {size} differs from its {len(record.data)} bytes"))
    return faults


def _heads(headers: list[CommitHeader]) -> set[bytes]:
    not_heads = {h.parent for h in headers} | {h.target for h in headers if h.type_code == MERGE}
    return {h.id for h in headers} - not_heads


# --- history --------------------------------------------------------------------------------------


def history(db: CommitDatabase) -> list[CommitHeader]:
    """Every commit's header, newest first (by timestamp; a tie goes to the one stored last)."""
    headers = [db.commit_header(c) for c in _creation_order(db)]
    order = {h.id: i for i, h in enumerate(headers)}
    return sorted(headers, key=lambda h: (h.timestamp(), order[h.id]), reverse=True)


def _creation_order(db: CommitDatabase) -> list[Any]:
    return list(db.commit_databasing().commit_ids())


def attachment_names(definitions: Definitions) -> dict[bytes, str]:
    """Attachment runtime id → its identifier (``Tuto::User.login``)."""
    return {a.runtime_id().bytes_value(): a.identifier() for a in definitions.attachments()}


# --- export and import ----------------------------------------------------------------------------


@dataclass
class ExportSummary:
    commit_id: str
    directory: str
    attachments: int
    documents: int
    blobs: int


def _documents_at(db: CommitDatabase, commit_id: ValueCommitId,
                  progress: Callable[[int, int], None] | None = None) -> list[tuple[Any, list[tuple[Any, Value]]]]:
    state = db.state(commit_id)
    getting = state.attachment_getting()
    keys = [(attachment, getting.keys(attachment).members()) for attachment in db.definitions().attachments()]
    total = sum(len(members) for _, members in keys)
    found = []
    done = 0
    for attachment, members in keys:
        docs = []
        for key in members:
            doc = state.document(attachment, key)
            if doc is not None:
                docs.append((key, doc))
            done += 1
            if progress is not None and (done % 200 == 0 or done == total):
                progress(done, total)
        if docs:
            found.append((attachment, docs))
    return found


def _file_name(identifier: str, used: set[str]) -> str:
    base = "".join(c if c.isalnum() or c in "._-" else "." for c in identifier.replace("::", "."))
    name, n = f"{base}.json", 1
    while name in used:
        n += 1
        name = f"{base}.{n}.json"
    used.add(name)
    return name


def export_state(db: CommitDatabase, commit_id: ValueCommitId, directory: str,
                 all_blobs: bool = False, progress: Callable[[str, int, int], None] | None = None) -> ExportSummary:
    """Write the documents at ``commit_id`` to ``directory`` (created; an existing one must be
    empty):

    - ``manifest.json``: format, version, the database's uuid and documentation, the commit
      (id, type, label, timestamp), the definitions hexdigest, counts, the attachment files and
      the blobs (id, layout, size);
    - ``definitions.bin`` (``Definitions.encode()``, authoritative) and ``definitions.dsm``
      (readable DSM text of the same definitions);
    - ``documents/<attachment>.json`` per attachment holding documents: ``{"attachment",
      "runtime_id", "documents": {instance id: Value.dumps(document, json=True)}}`` plus
      ``"key_concepts": {instance id: concept runtime id}`` for keys whose concept is not the
      attachment's own (sub-concepts, clubs, any_concept);
    - ``blobs/<blob id>``: the raw bytes of each blob the documents reference (every blob of
      the database with ``all_blobs``).

    ``progress(stage, done, total)`` is told how far the reading of the documents and the
    writing of the blobs went.
    """
    out = Path(directory)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatabaseExistsError(f"{directory} exists and is not an empty directory")
    header = db.commit_header(commit_id)
    definitions = db.definitions()
    documents = _documents_at(db, commit_id, None if progress is None else
                              lambda done, total: progress("documents", done, total))
    (out / "documents").mkdir(parents=True, exist_ok=True)
    (out / "blobs").mkdir(exist_ok=True)
    (out / DEFINITIONS_BIN).write_bytes(definitions.encode())
    (out / DEFINITIONS_DSM).write_text(DSMDefinitions.from_definitions(definitions).to_dsm(), encoding="utf-8")
    used: set[str] = set()
    attachment_entries = []
    blob_ids: set[bytes] = set()
    count = 0
    for attachment, docs in documents:
        own_concept = attachment.concept_type().runtime_id().bytes_value()
        content: dict[str, Any] = {"attachment": attachment.identifier(),
                                   "runtime_id": str(attachment.runtime_id()), "documents": {}}
        concepts: dict[str, str] = {}
        for key, doc in docs:
            instance = str(key.instance_id())
            if instance in content["documents"]:
                raise ValidationError(f"{attachment.identifier()}: instance {instance} has documents under two "
                                      "concepts; the export keys documents by instance id")
            content["documents"][instance] = Value.dumps(doc, json=True)
            concept_rid, _ = _key_concept(key)
            if concept_rid != own_concept:
                concepts[instance] = str(ValueUUId(concept_rid))
            blob_ids |= value_blob_ids(doc)
        if concepts:
            content["key_concepts"] = concepts
        name = _file_name(attachment.identifier(), used)
        _write_json(out / "documents" / name, content)
        attachment_entries.append({"identifier": attachment.identifier(), "runtime_id": str(attachment.runtime_id()),
                                   "file": f"documents/{name}", "documents": len(docs)})
        count += len(docs)
    backend = db.commit_databasing()
    if all_blobs:
        blob_ids |= set(backend.blob_id_list())
    blob_entries = []
    for i, blob_id in enumerate(sorted(blob_ids)):
        record = backend.get_blob(blob_id)
        if record is None:
            raise IntegrityError(f"Missing blob {blob_id.hex()} (referenced at {commit_id})")
        (out / "blobs" / blob_id.hex()).write_bytes(record.data)
        blob_entries.append({"id": blob_id.hex(), "layout": record.layout, "size": len(record.data)})
        if progress is not None:
            progress("blobs", i + 1, len(blob_ids))
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "database": {"uuid": db.uuid(), "documentation": db.documentation(), "codec": db.codec_name()},
        "commit": {"id": str(commit_id), "type": header.commit_type(), "label": header.label(),
                   "timestamp": header.timestamp()},
        "definitions_hexdigest": definitions.hexdigest(),
        "definitions": {"encoded": DEFINITIONS_BIN, "dsm": DEFINITIONS_DSM},
        "counts": {"attachments": len(attachment_entries), "documents": count, "blobs": len(blob_entries)},
        "attachments": attachment_entries,
        "blobs": blob_entries,
    }
    _write_json(out / MANIFEST, manifest)
    return ExportSummary(str(commit_id), str(out), len(attachment_entries), count, len(blob_entries))


def _key_concept(key: Any) -> tuple[bytes, str]:
    instance, concept = Value.dumps(key, json=True)
    return ValueUUId(concept).bytes_value(), instance


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CorruptedDataError(f"the export lacks {path}") from e
    except (OSError, ValueError) as e:
        raise CorruptedDataError(f"cannot read {path}: {e}") from e


@dataclass
class ImportSummary:
    path: str
    commit_id: str
    documents: int
    blobs: int


def read_export_definitions(directory: str) -> Definitions:
    """The definitions of an export (``definitions.bin``, else ``definitions.dsm``), checked
    against the manifest's hexdigest."""
    out = Path(directory)
    manifest = _manifest(out)
    encoded = out / DEFINITIONS_BIN
    if encoded.exists():
        definitions = Definitions.decode(encoded.read_bytes())
    else:
        from commitdb.dsm.builder import DSMBuilder

        report, _, definitions = DSMBuilder.assemble(out / DEFINITIONS_DSM).parse()
        if definitions is None:
            raise CorruptedDataError(f"{out / DEFINITIONS_DSM} has errors:\n{report}")
    if definitions.hexdigest() != manifest.get("definitions_hexdigest"):
        raise CorruptedDataError(f"the definitions of {directory} have the hexdigest {definitions.hexdigest()}, "
                                 f"the manifest records {manifest.get('definitions_hexdigest')}")
    return definitions


def _manifest(out: Path) -> dict[str, Any]:
    manifest = _read_json(out / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise CorruptedDataError(f"{out / MANIFEST} is not a {EXPORT_FORMAT} manifest")
    if manifest.get("version") != EXPORT_VERSION:
        raise CorruptedDataError(f"unsupported export version {manifest.get('version')!r}")
    return manifest


def import_state(directory: str, path: str, label: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Create the database ``path`` from an export: the definitions, the blobs and one root
    commit setting every document. Documents are set in the order ``CommitDatabaseFlattener``
    uses, so the new commit has the id a flatten of the exported commit would have. The
    result is read back and compared with the export (IntegrityError on any difference);
    on any error the new file is removed."""
    out = Path(directory)
    manifest = _manifest(out)
    definitions = read_export_definitions(directory)
    db = CommitDatabase.create(path, manifest.get("database", {}).get("documentation"))
    try:
        summary = _import_into(db, out, manifest, definitions, label, progress)
    except BaseException:
        db.close()
        remove_database_file(path)
        raise
    db.close()
    return summary


def _import_into(db: CommitDatabase, out: Path, manifest: dict[str, Any], definitions: Definitions,
                 label: str | None, progress: Callable[[int, int], None] | None) -> ImportSummary:
    db.extend_definitions(definitions)
    definitions = db.definitions()
    for entry in manifest.get("blobs", []):
        data = (out / "blobs" / entry["id"]).read_bytes()
        if blob_id_bytes(entry["layout"], data) != bytes.fromhex(entry["id"]):
            raise CorruptedDataError(f"blob {entry['id']} of the export does not match its content")
        db.create_blob(BlobLayout.parse(entry["layout"]), data)
    by_rid = {str(a.runtime_id()): a for a in definitions.attachments()}
    expected: dict[Any, list[tuple[Any, Any]]] = {}
    for entry in manifest.get("attachments", []):
        content = _read_json(out / entry["file"])
        attachment = by_rid.get(content.get("runtime_id"))
        if attachment is None:
            raise CorruptedDataError(f"{entry['file']}: unknown attachment {content.get('attachment')!r}")
        concepts = content.get("key_concepts", {})
        own = str(attachment.concept_type().runtime_id())
        docs = expected.setdefault(attachment, [])
        for instance, obj in content["documents"].items():
            concept = concepts.get(instance, own)
            key = Value.loads([instance, concept], attachment.key_type(), definitions)
            docs.append((key, obj))
    mutable = CommitMutableState(db.initial_state())
    mutating = mutable.attachment_mutating()
    ordered = [(a, sorted(expected[a], key=lambda kd: kd[0])) for a in definitions.attachments() if a in expected]
    total = sum(len(docs) for _, docs in ordered)
    done = 0
    for attachment, docs in ordered:
        for key, obj in docs:
            mutating.set(attachment, key, Value.loads(obj, attachment.document_type(), definitions))
            done += 1
            if progress is not None:
                progress(done, total)
    source_id = manifest.get("commit", {}).get("id", "")
    commit_id = db.commit_mutations(label or f"Import of {source_id}", mutable)
    state = db.state(commit_id)
    for attachment, docs in ordered:
        if len(state.attachment_getting().keys(attachment)) != len(docs):
            raise IntegrityError(f"{attachment.identifier()}: the import does not hold {len(docs)} documents")
        for key, obj in docs:
            got = json.loads(json.dumps(Value.dumps(state.document(attachment, key), json=True)))
            if got != obj:
                raise IntegrityError(f"{attachment.identifier()} {key}: the imported document differs from the export")
    return ImportSummary(db.path(), str(commit_id), total, len(manifest.get("blobs", [])))
