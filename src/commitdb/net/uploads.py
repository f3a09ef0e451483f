"""Blobs uploaded in pieces (``blob_upload_chunk``): kept in a temporary file, not in memory.

A client sends a blob larger than a frame in order, from offset 0. The pieces wait on disk
(the server's memory stays bounded whatever the number of half-finished uploads) while the
blob id is hashed as they arrive; the total size of uploads in progress is bounded too.
"""

from __future__ import annotations

import tempfile
from typing import IO

from commitdb.blobs import BlobIdHasher
from commitdb.errors import ProtocolError
from commitdb.net.limits import ByteBudget


class Upload:
    """One blob arriving in pieces; ``close()`` (always) gives back its share of the budget."""

    def __init__(self, layout: str, total: int, budget: ByteBudget) -> None:
        budget.reserve(total)  # LimitExceededError when the server holds too much already
        self.layout, self.total = layout, total
        self.received = 0
        self._budget = budget
        self._hasher = BlobIdHasher(layout)
        self._file: IO[bytes] | None = tempfile.TemporaryFile(prefix="commitdb-upload-")

    def matches(self, layout: str, total: int, offset: int) -> bool:
        return (layout, total, offset) == (self.layout, self.total, self.received) and self._file is not None

    def add(self, data: bytes) -> None:
        if self.received + len(data) > self.total:
            raise ProtocolError("blob_upload_chunk: more bytes than announced")
        assert self._file is not None
        self._file.write(data)
        self._hasher.update(data)
        self.received += len(data)

    def complete(self) -> bool:
        return self.received == self.total

    def blob_id(self) -> bytes:
        return self._hasher.digest()

    def read_all(self) -> bytes:
        """The whole blob (called on the write thread, one upload at a time)."""
        assert self._file is not None
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._budget.release(self.total)
