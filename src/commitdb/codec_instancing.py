"""The codec object a database exposes (``db.stream_codec_instancing()``)."""

from __future__ import annotations

from typing import Any

from commitdb import codec


class StreamCodecInstancing:
    """Names the stream codec of a database and encodes/decodes with it."""

    def __init__(self, name: str = codec.STREAM_BINARY) -> None:
        if name not in (codec.STREAM_BINARY, codec.STREAM_TOKEN_BINARY, codec.STREAM_RAW):
            raise ValueError(f"unknown codec {name!r}")
        self._name = name

    def codec_name(self) -> str:
        return self._name

    def is_token(self) -> bool:
        return self._name == codec.STREAM_TOKEN_BINARY

    def encode_value(self, value: Any) -> bytes:
        return codec.encode_value(value, token=self.is_token())

    def decode_value(self, data: bytes, type: Any, definitions: Any = None) -> Any:
        return codec.decode_value(data, type, definitions, token=self.is_token())

    def __repr__(self) -> str:
        return f"StreamCodecInstancing({self._name!r})"
