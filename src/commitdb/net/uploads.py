"""Blobs uploaded in pieces (``blob_upload_chunk``): kept in a temporary file, not in memory.

A client sends a blob larger than a frame in order, from offset 0. The pieces wait on disk
(the server's memory stays bounded whatever the number of half-finished uploads) while the
blob id is hashed as they arrive; the total size of uploads in progress is bounded too.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from commitdb.blobs import BlobIdHasher
from commitdb.errors import ProtocolError
from commitdb.net.limits import ByteBudget

MAX_UPLOAD = 1_000_000_000  # bytes of one blob uploaded in pieces (SQLite's default blob limit)


class Upload:
    """One blob arriving in pieces; ``close()`` (always) gives back its share of the budget."""

    @staticmethod
    def next_piece(current: Upload | None, args: list[Any], budget: ByteBudget) -> Upload:
        """Check one ``blob_upload_chunk`` request ([layout, total size, offset, bytes]) and add
        its bytes: to a new upload at offset 0, else to ``current``. ProtocolError when the
        request is malformed or out of order, LimitExceededError when the budget is spent (the
        caller then drops ``current``)."""
        if len(args) != 4 or not isinstance(args[0], str) or not isinstance(args[3], bytes):
            raise ProtocolError("blob_upload_chunk takes [layout, total size, offset, bytes]")
        layout, total, offset, data = args
        for n in (total, offset):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ProtocolError("blob_upload_chunk: sizes must be non-negative integers")
        if total > MAX_UPLOAD:
            raise ProtocolError(f"a blob of {total} bytes exceeds the upload limit of {MAX_UPLOAD} bytes")
        if offset == 0:
            if current is not None:
                current.close()
            current = Upload(layout, total, budget)
        if current is None or not current.matches(layout, total, offset):
            raise ProtocolError("blob_upload_chunk: pieces must come in order, starting at offset 0")
        current.add(data)
        return current

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
