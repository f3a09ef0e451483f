"""CommitSynchronizer: replicate commits and blobs between two databases (SPEC §11).

Either side may be a file, in-memory or remote database: the synchronizer only uses the
CommitDatabase facade; both must use the same codec, since commits cross verbatim. One pass:
(1) return at once when neither side changed since the last complete pass (see
``change_token``); (2) extend the receiver's definitions additively; (3) send the blobs the
receiver lacks, in packs of at most ``size_of_packed_blobs`` bytes, then the commits it lacks,
parents (and toggle/merge targets) first, verbatim. Each batch is one transaction on the
receiver, and every commit arrives after what it references, so a sync interrupted at any point
leaves both sides valid and the next pass completes it. Sync never merges heads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commitdb.errors import ValidationError
from commitdb.storage.base import ZERO_ID, BlobRecord

MODE_FETCH, MODE_PUSH, MODE_SYNC = "Fetch", "Push", "Sync"
COMMIT_BATCH = 1000


class CommitSynchronizerInfoTransmit:
    """What one direction of a pass transmitted."""

    __slots__ = ("_blob_bytes", "_blobs", "_commit_bytes", "_commits")

    def __init__(self) -> None:
        self._commits = self._commit_bytes = self._blobs = self._blob_bytes = 0

    def commits(self) -> int:
        return self._commits

    def commit_bytes(self) -> int:
        return self._commit_bytes

    def blobs(self) -> int:
        return self._blobs

    def blob_bytes(self) -> int:
        return self._blob_bytes

    def need_transmit(self) -> bool:
        return bool(self._commits or self._blobs)

    def __repr__(self) -> str:
        return (f"Transmit(commits={self._commits}, commit_bytes={self._commit_bytes}, blobs={self._blobs}, "
                f"blob_bytes={self._blob_bytes})")


class CommitSynchronizerInfo:
    """The outcome of ``sync()``: per direction, and whether definitions were extended."""

    __slots__ = ("_fetch", "_push", "_updated_definitions")

    def __init__(self) -> None:
        self._fetch = CommitSynchronizerInfoTransmit()
        self._push = CommitSynchronizerInfoTransmit()
        self._updated_definitions = False

    def fetch(self) -> CommitSynchronizerInfoTransmit:
        return self._fetch

    def push(self) -> CommitSynchronizerInfoTransmit:
        return self._push

    def updated_definitions(self) -> bool:
        return self._updated_definitions

    def need_transmit(self) -> bool:
        return self._fetch.need_transmit() or self._push.need_transmit() or self._updated_definitions

    def __repr__(self) -> str:
        return (f"CommitSynchronizerInfo(fetch={self._fetch!r}, push={self._push!r}, "
                f"updated_definitions={self._updated_definitions})")


Progress = Callable[[str, int, int], None]


class CommitSynchronizer:
    """Synchronises ``source`` and ``target``: Fetch (source → target), Push (target → source)
    or Sync (Fetch then Push)."""

    MODE_FETCH, MODE_PUSH, MODE_SYNC = MODE_FETCH, MODE_PUSH, MODE_SYNC

    def __init__(self, source: Any, target: Any, mode: str = MODE_SYNC,
                 size_of_packed_blobs: int = 25_000_000) -> None:
        if mode not in (MODE_FETCH, MODE_PUSH, MODE_SYNC):
            raise ValidationError(f"unknown sync mode {mode!r}; use 'Fetch', 'Push' or 'Sync'")
        if isinstance(size_of_packed_blobs, bool) or not isinstance(size_of_packed_blobs, int) \
                or size_of_packed_blobs < 1:
            raise ValidationError(f"size_of_packed_blobs must be a positive int, got {size_of_packed_blobs!r}")
        self._source, self._target = source, target
        self._mode = mode
        self._pack_size = size_of_packed_blobs
        self._versions: tuple[Any, Any] | None = None

    def mode(self) -> str:
        return self._mode

    def source(self) -> Any:
        return self._source

    def target(self) -> Any:
        return self._target

    def sync(self, logging: Any = None, progress: Progress | None = None) -> CommitSynchronizerInfo:
        """One pass (see the module docstring). ``progress(stage, done, total)`` is called as
        commits and blobs are sent."""
        info = CommitSynchronizerInfo()
        codecs = (self._source.codec_name(), self._target.codec_name())
        if codecs[0] != codecs[1]:
            # Commits cross verbatim, and a commit's bytes and id depend on the codec.
            raise ValidationError(f"cannot synchronise a {codecs[0]} database with a {codecs[1]} one: "
                                  "commits cross verbatim, so both sides must use the same codec")
        tokens = (change_token(self._source), change_token(self._target))
        if tokens == self._versions:
            return info
        self._versions = None
        directions = []
        if self._mode in (MODE_FETCH, MODE_SYNC):
            directions.append((self._source, self._target, info._fetch))
        if self._mode in (MODE_PUSH, MODE_SYNC):
            directions.append((self._target, self._source, info._push))
        for sender, receiver, transmit in directions:
            self._transfer(sender, receiver, info, transmit, progress)
        tokens = (change_token(self._source), change_token(self._target))
        # Remember where both sides stand only when the pass is complete: a commit or blob that
        # another writer added while the pass ran must not be skipped by the next pass.
        if all(is_complete(sender, receiver) for sender, receiver, _ in directions):
            self._versions = tokens
        return info

    def _transfer(self, sender: Any, receiver: Any, info: CommitSynchronizerInfo,
                  transmit: CommitSynchronizerInfoTransmit, progress: Progress | None) -> None:
        if sender.definitions_hexdigest() != receiver.definitions_hexdigest():
            if receiver.extend_definitions(sender.definitions()):
                info._updated_definitions = True
        missing = ordered_missing(sender.engine_dag(), receiver.engine_dag())
        self._send_blobs(sender, receiver, transmit, progress)
        total = len(missing)
        fetch = sender.commit_databasing().get_commits
        for start in range(0, total, COMMIT_BATCH):
            batch_ids = missing[start:start + COMMIT_BATCH]
            commits = fetch(batch_ids)
            if len(commits) != len(batch_ids):
                raise ValidationError("the sender lost commits during the sync")
            transmit._commits += receiver.import_commits(commits)
            transmit._commit_bytes += sum(len(c.data()) for c in commits)
            if progress is not None:
                progress("commits", start + len(batch_ids), total)

    def _send_blobs(self, sender: Any, receiver: Any, transmit: CommitSynchronizerInfoTransmit,
                    progress: Progress | None) -> None:
        sender_backend, receiver_backend = sender.commit_databasing(), receiver.commit_databasing()
        have = set(receiver_backend.blob_id_list())
        sizes = sender_backend.blob_sizes()
        wanted = [b for b in sizes if b not in have]
        if not wanted:
            return
        total, done = len(wanted), 0
        packs: list[list[bytes]] = []
        pack_ids: list[bytes] = []
        pack_bytes = 0
        for blob_id in wanted:
            size = sizes[blob_id][1]
            if pack_ids and pack_bytes + size > self._pack_size:
                packs.append(pack_ids)
                pack_ids, pack_bytes = [], 0
            pack_ids.append(blob_id)
            pack_bytes += size
        if pack_ids:
            packs.append(pack_ids)
        for ids in packs:
            # One read per pack (a remote sender answers it in as few messages as it can).
            records = sender_backend.blob_datas(ids)
            if records:
                done += self._flush(receiver, records, transmit)
            if progress is not None:
                progress("blobs", done, total)

    @staticmethod
    def _flush(receiver: Any, pack: list[BlobRecord], transmit: CommitSynchronizerInfoTransmit) -> int:
        receiver.import_blobs(pack)
        transmit._blobs += len(pack)
        transmit._blob_bytes += sum(len(b.data) for b in pack)
        return len(pack)


def change_token(db: Any) -> tuple[Any, ...]:
    """A cheap value that changes whenever ``db`` changed. ``data_version()`` alone misses the
    writes made through the same connection (SQLite's data version only counts the other
    connections), so the commit count, the heads, the definitions and the blob count are part
    of it too."""
    dag = db.engine_dag()
    return (db.data_version(), len(dag.headers), frozenset(dag.heads), db.definitions_hexdigest(),
            len(db.commit_databasing().blob_id_list()))


def is_complete(sender: Any, receiver: Any) -> bool:
    """Whether the receiver holds every commit and blob of the sender. A receiver only ever
    holds whole ancestries, so holding the sender's heads means holding all its commits."""
    receiver_dag = receiver.engine_dag()
    if any(h not in receiver_dag for h in sender.engine_dag().heads):
        return False
    have = set(receiver.commit_databasing().blob_id_list())
    return all(b in have for b in sender.commit_databasing().blob_id_list())


def ordered_missing(sender_dag: Any, receiver_dag: Any) -> list[bytes]:
    """The sender's commits the receiver lacks, each after its parent and target (when those
    are also missing), otherwise in the sender's creation order."""
    missing = [cid for cid in sender_dag.headers if cid not in receiver_dag]
    pending = set(missing)
    ordered: list[bytes] = []
    placed: set[bytes] = set()
    for cid in missing:
        stack = [cid]
        while stack:
            x = stack[-1]
            if x in placed:
                stack.pop()
                continue
            h = sender_dag.headers[x]
            deps = [d for d in (h.parent, h.target) if d != ZERO_ID and d in pending and d not in placed]
            if deps:
                stack.extend(deps)
                continue
            stack.pop()
            placed.add(x)
            ordered.append(x)
    return ordered
