"""Blobs: content-addressed binary payloads stored beside the commits (SPEC §8, FORMAT.md §6).

``blob_id = SHA1(u64 data_type ‖ u64 components ‖ bytes)``. A layout names the element type
and the component count, e.g. ``uchar-1`` or ``float-3``.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from commitdb.errors import ValidationError

DATA_TYPES = ("uchar", "ushort", "uint", "ulong", "char", "short", "int", "long", "half", "float", "double")
_SIZES = {"uchar": 1, "ushort": 2, "uint": 4, "ulong": 8, "char": 1, "short": 2, "int": 4, "long": 8,
          "half": 2, "float": 4, "double": 8}


class BlobLayout:
    """The shape of a blob's elements: a data type and 1-255 components."""

    __slots__ = ("_components", "_data_type")

    def __init__(self, data_type: str | int = "uchar", components: int = 1) -> None:
        if isinstance(data_type, int) and not isinstance(data_type, bool):
            if not 0 <= data_type < len(DATA_TYPES):
                raise ValidationError(f"unknown blob data type code {data_type}")
            data_type = DATA_TYPES[data_type]
        if data_type not in DATA_TYPES:
            raise ValidationError(f"unknown blob data type {data_type!r}; use one of {', '.join(DATA_TYPES)}")
        if isinstance(components, bool) or not isinstance(components, int) or not 1 <= components <= 255:
            raise ValidationError(f"blob components must be 1 to 255, got {components!r}")
        self._data_type, self._components = data_type, components

    @staticmethod
    def parse(text: str) -> BlobLayout:
        """``'float-3'`` -> BlobLayout('float', 3); ValidationError when malformed."""
        if isinstance(text, BlobLayout):
            return text
        name, sep, count = str(text).rpartition("-")
        if not sep or not count.isdigit():
            raise ValidationError(f"malformed blob layout {text!r} (expected e.g. 'uchar-1')")
        return BlobLayout(name, int(count))

    def data_type(self) -> str:
        return self._data_type

    def data_type_code(self) -> int:
        return DATA_TYPES.index(self._data_type)

    def components(self) -> int:
        return self._components

    def byte_count(self) -> int:
        """Bytes of one element (data type size × components)."""
        return _SIZES[self._data_type] * self._components

    def representation(self) -> str:
        return f"{self._data_type}-{self._components}"

    def __str__(self) -> str:
        return self.representation()

    def __repr__(self) -> str:
        return repr(self.representation())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other == self.representation()
        return isinstance(other, BlobLayout) and other.representation() == self.representation()

    def __hash__(self) -> int:
        return hash(self.representation())

    def id_prefix(self) -> bytes:
        return struct.pack("<QQ", self.data_type_code(), self._components)


def as_layout(layout: Any) -> BlobLayout:
    if layout is None:
        return BlobLayout()
    if isinstance(layout, BlobLayout):
        return layout
    return BlobLayout.parse(layout)


def blob_id_bytes(layout: Any, data: bytes) -> bytes:
    """The 20-byte blob id of ``data`` under ``layout``."""
    return hashlib.sha1(as_layout(layout).id_prefix() + data).digest()


class BlobIdHasher:
    """Incremental blob id: the same id as hashing the whole blob at once."""

    def __init__(self, layout: Any) -> None:
        self._sha = hashlib.sha1(as_layout(layout).id_prefix())

    def update(self, data: bytes) -> None:
        self._sha.update(data)

    def digest(self) -> bytes:
        return self._sha.digest()


class BlobInfo:
    __slots__ = ("_chunked", "_id", "_layout", "_row_id", "_size")

    def __init__(self, blob_id: Any, layout: BlobLayout, size: int, chunked: bool = False, row_id: int = 0) -> None:
        self._id, self._layout, self._size, self._chunked, self._row_id = blob_id, layout, size, chunked, row_id

    def blob_id(self) -> Any:
        return self._id

    def blob_layout(self) -> BlobLayout:
        return self._layout

    def size(self) -> int:
        return self._size

    def chunked(self) -> bool:
        return self._chunked

    def row_id(self) -> int:
        return self._row_id

    def __repr__(self) -> str:
        return f"BlobInfo({self._id}, {self._layout.representation()}, size={self._size})"


class BlobStatistics:
    __slots__ = ("_count", "_max", "_min", "_total")

    def __init__(self, sizes: list[int]) -> None:
        self._count = len(sizes)
        self._total = sum(sizes)
        self._min = min(sizes) if sizes else 0
        self._max = max(sizes) if sizes else 0

    def count(self) -> int:
        return self._count

    def total_size(self) -> int:
        return self._total

    def min_size(self) -> int:
        return self._min

    def max_size(self) -> int:
        return self._max

    def __repr__(self) -> str:
        return f"BlobStatistics(count={self._count}, total={self._total}, min={self._min}, max={self._max})"


class BlobStream:
    """A blob being written in pieces; closed into a regular blob by ``blob_stream_close``."""

    __slots__ = ("_buffer", "_hasher", "_layout", "_size", "closed")

    def __init__(self, layout: BlobLayout, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValidationError(f"a blob stream size must be a non-negative int, got {size!r}")
        self._layout, self._size = layout, size
        self._buffer = bytearray()
        self._hasher = BlobIdHasher(layout)
        self.closed = False

    def layout(self) -> BlobLayout:
        return self._layout

    def size(self) -> int:
        return self._size

    def offset(self) -> int:
        return len(self._buffer)

    def remaining(self) -> int:
        return self._size - len(self._buffer)

    def append(self, data: bytes) -> None:
        if self.closed:
            raise ValidationError("the blob stream is closed")
        if len(data) > self.remaining():
            raise ValidationError(f"appending {len(data)} bytes overflows the blob stream ({self.remaining()} left)")
        self._buffer += data
        self._hasher.update(data)

    def finish(self) -> tuple[bytes, bytes]:
        """(blob id, bytes) once every announced byte was appended."""
        if self.remaining():
            raise ValidationError(f"the blob stream still expects {self.remaining()} bytes")
        self.closed = True
        return self._hasher.digest(), bytes(self._buffer)


class BlobReader:
    """A blob being read in pieces from its start (``blob_reader_open/read/close``).

    Each read returns the next bytes; a read at the end returns an empty blob. A closed reader
    refuses to read.
    """

    __slots__ = ("_blob_id", "_offset", "_read", "_size", "closed")

    def __init__(self, blob_id: Any, size: int, read: Any) -> None:
        # read(size, offset) -> bytes: the database's ranged read of this blob
        self._blob_id, self._size, self._read = blob_id, size, read
        self._offset = 0
        self.closed = False

    def blob_id(self) -> Any:
        return self._blob_id

    def size(self) -> int:
        return self._size

    def offset(self) -> int:
        return self._offset

    def remaining(self) -> int:
        return self._size - self._offset

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current offset (fewer at the end), advancing it."""
        if self.closed:
            raise ValidationError(f"the reader of blob {self._blob_id} is closed")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValidationError(f"a blob read size must be a non-negative int, got {size!r}")
        count = min(size, self.remaining())
        data = self._read(count, self._offset) if count else b""
        self._offset += count
        return data

    def __repr__(self) -> str:
        return f"BlobReader({self._blob_id}, offset={self._offset}, size={self._size})"


class BlobGetting:
    """Read-only access to the blobs of one database (``CommitDatabase.blob_getting()``): what
    code that only reads blobs needs, without the rest of the database."""

    __slots__ = ("_db",)

    def __init__(self, db: Any) -> None:
        self._db = db

    def blob(self, blob_id: Any) -> Any:
        """The blob's bytes as a ValueBlob; BlobNotFoundError when it does not exist."""
        return self._db.blob(blob_id)

    def blob_info(self, blob_id: Any) -> BlobInfo:
        return self._db.blob_info(blob_id)

    def blob_ids(self) -> set[Any]:
        return self._db.blob_ids()

    def blob_exists(self, blob_id: Any) -> bool:
        return self._db.blob_exists(blob_id)

    def read_blob(self, blob_id: Any, size: int, offset: int = 0) -> Any:
        return self._db.read_blob(blob_id, size, offset)
