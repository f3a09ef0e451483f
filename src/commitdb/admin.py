"""Administration of commit databases: the library behind the command-line tools.

- ``open_source`` / ``open_replica``: the databases ``commit_admin.py`` works on;
- ``resolve_commit_id``: ``last``, a full id or a unique prefix → a commit id;
- ``create_commit_database``: a database holding a model's definitions and no commits;
- ``verify``: re-check a database file from its rows (ids re-hash, links resolve, blobs
  present and re-hash, heads consistent) and report every fault instead of stopping at one;
- ``history``: the commits newest first;
- ``export_state`` / ``import_state``: the documents at one commit as a directory of JSON
  files and blobs, and a new database rebuilt from such a directory (see ``export_state``).

Everything here raises the library's errors; the command line only formats.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commitdb.blobs import BlobLayout, blob_id_bytes
from commitdb.database import CommitDatabase
from commitdb.dsm.definitions import Definitions
from commitdb.dsm.dsm_definitions import DSMDefinitions
from commitdb.engine.mutable import CommitMutableState
from commitdb.engine.program import collect_blob_ids, decode_program, value_blob_ids
from commitdb.errors import (
    CommitDBError,
    CommitNotFoundError,
    CorruptedDataError,
    DatabaseExistsError,
    IntegrityError,
    ValidationError,
)
from commitdb.storage.base import MERGE, MUTATIONS, ZERO_ID, CommitDatabasing, CommitHeader
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
    from commitdb.storage.postgres import is_postgres_url

    if CommitDatabase.is_compatible(path) if is_postgres_url(path) else os.path.lexists(path):
        return CommitDatabase.open(path), False
    return CommitDatabase.create(path, documentation), True


def remove_database_file(path: str) -> None:
    """Remove a database file and its SQLite companions (-wal, -shm, -journal); a commit
    database in PostgreSQL is left to its operator (nothing is dropped)."""
    from commitdb.storage.postgres import is_postgres_url

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
    from commitdb.storage.postgres import is_postgres_url

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
    """What ``verify`` checked and every fault it found (``ok`` when there is none)."""

    path: str
    commits: int = 0
    blobs: int = 0
    heads: int = 0
    referenced_blobs: int = 0
    definitions_hexdigest: str = ""
    faults: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


def verify(path: str, progress: Callable[[str, int, int], None] | None = None) -> VerifyReport:
    """Check the database file ``path`` row by row (opened read-only).

    Reports, rather than raises, what is wrong with the content: a commit whose id does not
    re-hash, a parent or target that is missing, a header inconsistent with its type, a
    program that does not decode, a referenced blob that is missing, a blob whose id does not
    re-hash, stored heads that differ from the heads the headers imply. Raises only when the
    file cannot be opened as a commit database at all."""
    from commitdb.storage.postgres import PostgresBackend, is_postgres_url
    from commitdb.storage.sqlite import SQLiteBackend

    backend = PostgresBackend(path, readonly=True) if is_postgres_url(path) else SQLiteBackend(path, readonly=True)
    try:
        return verify_backend(backend, path, progress)
    finally:
        backend.close()


def verify_backend(backend: CommitDatabasing, name: str = "",
                   progress: Callable[[str, int, int], None] | None = None) -> VerifyReport:
    """``verify`` for any storage backend."""
    report = VerifyReport(name or backend.path())
    faults = report.faults
    definitions: Definitions | None = None
    try:
        definitions = backend.definitions()
        report.definitions_hexdigest = definitions.hexdigest()
    except CommitDBError as e:
        faults.append(f"definitions: cannot be decoded: {e}")
    try:
        headers = backend.all_headers()
    except CommitDBError as e:
        faults.append(f"commits: cannot be listed: {e}")
        return report
    report.commits = len(headers)
    ids = {h.id for h in headers}
    referenced: set[bytes] = set()
    for start in range(0, len(headers), 500):
        chunk = headers[start:start + 500]
        datas = {d.header().id: d for d in backend.get_commits([h.id for h in chunk])}
        for h in chunk:
            data = datas.get(h.id)
            if data is None:
                faults.append(f"commit {h.id.hex()}: listed but cannot be read")
                continue
            faults.extend(_check_commit(h, data.data(), data.computed_id(), ids, definitions, referenced))
        if progress is not None:
            progress("commits", min(start + 500, len(headers)), len(headers))
    report.referenced_blobs = len(referenced)
    for blob_id in sorted(referenced):
        if not backend.has_blob(blob_id):
            faults.append(f"blob {blob_id.hex()}: referenced by a commit but missing")
    sizes = backend.blob_sizes()
    report.blobs = len(sizes)
    for i, (blob_id, (layout, size)) in enumerate(sorted(sizes.items())):
        faults.extend(_check_blob(backend, blob_id, layout, size))
        if progress is not None and (i + 1) % 100 == 0:
            progress("blobs", i + 1, len(sizes))
    expected_heads = _heads(headers)
    stored_heads = backend.head_ids()
    report.heads = len(expected_heads)
    for h in sorted(stored_heads - expected_heads):
        faults.append(f"heads: {h.hex()} is listed as a head but has a child or is a merge target")
    for h in sorted(expected_heads - stored_heads):
        faults.append(f"heads: {h.hex()} should be a head but is not listed")
    return report


def _check_commit(h: CommitHeader, data: bytes, computed: bytes, ids: set[bytes],
                  definitions: Definitions | None, referenced: set[bytes]) -> list[str]:
    faults: list[str] = []
    where = f"commit {h.id.hex()}"
    if computed != h.id:
        faults.append(f"{where}: the id does not re-hash (computed {computed.hex()})")
    if h.parent != ZERO_ID and h.parent not in ids:
        faults.append(f"{where}: its parent {h.parent.hex()} is missing")
    if h.type_code == MUTATIONS:
        if h.target != ZERO_ID:
            faults.append(f"{where}: a Mutations commit with a target ({h.target.hex()})")
        try:
            program = decode_program(data, definitions)
        except CommitDBError as e:
            faults.append(f"{where}: the program does not decode: {e}")
        else:
            referenced |= collect_blob_ids(program.raw_opcodes())
    else:
        if h.target == ZERO_ID:
            faults.append(f"{where}: a {h.commit_type()} commit without a target")
        elif h.target not in ids:
            faults.append(f"{where}: its target {h.target.hex()} is missing")
        if data:
            faults.append(f"{where}: a {h.commit_type()} commit carries {len(data)} bytes of data")
    return faults


def _check_blob(backend: CommitDatabasing, blob_id: bytes, layout: str, size: int) -> list[str]:
    where = f"blob {blob_id.hex()}"
    try:
        record = backend.get_blob(blob_id)
        if record is None:
            return [f"{where}: listed but cannot be read"]
        computed = blob_id_bytes(layout, record.data)
    except CommitDBError as e:
        return [f"{where}: cannot be read: {e}"]
    faults = []
    if computed != blob_id:
        faults.append(f"{where}: the id does not re-hash (computed {computed.hex()})")
    if len(record.data) != size:
        faults.append(f"{where}: the recorded size {size} differs from its {len(record.data)} bytes")
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
