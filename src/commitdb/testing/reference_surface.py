"""The conformance checks of the reference's wider surface (SPEC §14): mixed into
CommitDatabaseConformance, so they run on every backend too."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import BlobLayout, CommitDatabase, CommitStateBuilder, NotMergeableError, Value
from commitdb.testing import models as M


class ReferenceSurfaceConformance:
    """Tests only: the fixtures (``db``, ``tuto``) come from CommitDatabaseConformance."""

    def test_merge_state_of_pairs_that_did_not_diverge(self, tuto: Any) -> None:
        """SPEC §14.10: theirs descending from ours is evaluated; theirs an ancestor of ours
        (or ours itself) raises what merge_commit raises."""
        a = tuto.set(None, "a")
        b = tuto.rename(a, "b")
        ahead = CommitStateBuilder.merge_state(tuto.db, a, b)
        assert Value.dumps(ahead.attachment_getting().get(tuto.login, tuto.key())) == tuto.read(b)
        for ours, theirs in ((b, a), (b, b)):
            with pytest.raises(NotMergeableError):
                CommitStateBuilder.merge_state(tuto.db, ours, theirs)

    def test_blob_infos_and_reader(self, db: CommitDatabase) -> None:
        """SPEC §14.12: blob_infos, blob_reader_open/read/close, create_blob_from_buffer."""
        a = db.create_blob_from_buffer(BlobLayout(), bytearray([1, 2, 3, 4, 5]))
        assert str(a) == M.BLOB_01_05
        b = db.create_blob(BlobLayout(), bytes([1, 2, 3, 4]))
        assert [i.blob_id() for i in db.blob_infos()] == sorted([a, b])
        assert [i.size() for i in db.blob_infos([a, b])] == [5, 4]
        reader = db.blob_reader_open(a)
        assert [Value.dumps(db.blob_reader_read(reader, 3)) for _ in range(3)] == [b"\x01\x02\x03", b"\x04\x05", b""]
        db.blob_reader_close(reader)
        assert Value.dumps(db.blob_getting().blob(b)) == bytes([1, 2, 3, 4])

    def test_in_memory(self, db: CommitDatabase) -> None:
        """SPEC §14.1: True only for a database made in memory (remote: the one served)."""
        assert db.in_memory() is (db.path() == "InMemory")
