"""The reference protocol's example frames decode and re-encode byte for byte (test vectors).

The frames are copied from the protocol specification into ``data/viper_frames.txt``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from commitdb.dsm.definitions import Definitions
from commitdb.errors import FrameTooLargeError, ProtocolError
from commitdb.net import viper_protocol as V

DATA = Path(__file__).parent / "data" / "viper_frames.txt"
_ELIDED = re.compile(r"^(?P<token>[0-9a-f]{2}) (?P<length>[0-9a-f]{16}) (?P<prefix>[0-9a-f]*)… \((?P<n>\d+) bytes\)$")


def load_frames() -> list[tuple[str, bytes]]:
    """(example label, frame bytes); elided blobs are completed with zero bytes."""
    frames: list[tuple[str, bytes]] = []
    label, parts = None, []
    for line in [*DATA.read_text(encoding="utf-8").splitlines(), "== end"]:
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("== "):
            if label is not None:
                frames.append((label, b"".join(parts)))
            label, parts = line[3:], []
            continue
        m = _ELIDED.match(line)
        if m:
            n = int(m["n"])
            prefix = bytes.fromhex(m["prefix"])
            parts.append(bytes.fromhex(m["token"] + m["length"]) + prefix + bytes(n - len(prefix)))
        else:
            parts.append(bytes.fromhex(line.replace(" ", "")))
    return frames


FRAMES = load_frames()


def test_every_message_type_has_an_example() -> None:
    assert len(V.MESSAGES) == 72
    assert sum(1 for m in V.MESSAGES.values() if m.is_call()) == 50
    names = {label.rsplit(" ", 1)[0] for label, _ in FRAMES}
    assert names == set(V.MESSAGES)
    assert len(FRAMES) == 79


@pytest.mark.parametrize(("label", "data"), FRAMES, ids=[label for label, _ in FRAMES])
def test_example_frame_round_trips(label: str, data: bytes) -> None:
    message = V.decode_frame(data)
    assert message.name == label.rsplit(" ", 1)[0]
    assert V.encode_message(message.name, *message.args) == data


def test_frame_reader_accepts_any_split() -> None:
    stream = b"".join(data for _, data in FRAMES[:20])
    for step in (1, 7, 1000):
        reader = V.FrameReader()
        payloads = []
        for i in range(0, len(stream), step):
            payloads.extend(reader.feed(stream[i:i + step]))
        assert [V.decode_payload(p).name for p in payloads] == [V.decode_frame(d).name for _, d in FRAMES[:20]]
        assert reader.pending() == 0


def _example(label: str) -> V.Message:
    return V.decode_frame(dict(FRAMES)[label])


def test_decoded_fields_match_the_annotations() -> None:
    commit = _example("CreateCommitData 1").args[0]
    assert commit.header.label == "c2" and commit.header.type == 0
    assert commit.header.timestamp == pytest.approx(1796627282.157)
    assert commit.header.parent_id.hex() == "abdcdbfa015e1e28e78005d994ded8c435c81ad7"
    merge = _example("CreateCommitData 2").args[0]
    assert merge.header.type == 3 and merge.data == b""
    info = _example("ReturnBlobInfo 1").args[0]
    assert info == V.BlobInfo(bytes.fromhex("450d080735018714a9e1a926d20c67e1878ac289"), V.BlobLayout(0, 1), 10,
                              False, 1)
    stats = _example("ReturnBlobStatistics 1").args[0]
    assert stats == V.BlobStatistics(4, 45, 5, 24)
    extend = _example("ReturnDefinitionsExtendInfo 1").args[0]
    assert len(extend.concepts) == 1 and extend.memberships[0][1] == extend.concepts
    error = V.ErrorInfo(*_example("ThrowError 2").args)
    assert error.text().startswith("[pid(24944)@vm]:Viper.CommitDatabaseRemoteRPCSideServer:RPCProtocolErrors:1:")
    assert _example("ReturnOptionalCommitId 2").args == (None,)
    sync = _example("ReturnCommitSyncData 1").args[0]
    assert sync.codec_name == "StreamBinary" and [c.header.label for c in sync.commit_datas] == ["c2", "c1"]


@pytest.mark.parametrize("label", ["CallExtendDefinitions 1", "ReturnDefinitions 1", "ReturnDefinitions 2"])
def test_definitions_decode_and_reencode_in_canonical_order(label: str) -> None:
    raw = _example(label).args[0]
    definitions = Definitions.decode(raw, token=True)
    assert definitions.encode(token=True) == raw
    if label != "ReturnDefinitions 2":
        assert [t.name() for t in definitions.types()] == ["C", "E", "S"]


def test_hostile_frames_are_refused() -> None:
    ping = dict(FRAMES)["CallPing 1"]
    with pytest.raises(ProtocolError, match="uuid token"):
        V.decode_payload(b"\x0e" + ping[9:])
    with pytest.raises(ProtocolError, match="announces"):
        V.decode_payload(ping[8:-8] + (5).to_bytes(8, "little"))  # the body claims 5 bytes, has none
    exists_uuid = V.MESSAGES["CallCommitExists"].uuid
    with pytest.raises(ProtocolError, match="undecodable"):
        V.decode_frame(V.frame(exists_uuid, b"\x0c" + bytes(5)))  # a commit id cut short
    with pytest.raises(ProtocolError, match="undecodable"):
        V.decode_frame(V.frame(exists_uuid, b"\x0b" + bytes(20)))  # a blob id token where a commit id goes
    with pytest.raises(V.UnknownMessageError, match="Unknown RPC packet ID"):
        V.decode_payload(V.frame(bytes(16), b"")[8:])
    with pytest.raises(FrameTooLargeError):
        V.FrameReader(max_payload=1000).feed(V.LENGTH.pack(2 ** 40))
    with pytest.raises(ProtocolError, match="shorter"):
        V.FrameReader().feed(V.LENGTH.pack(3))
    # a count larger than the bytes left never allocates
    body = b"\x04" + (2 ** 60).to_bytes(8, "little")
    with pytest.raises(ProtocolError, match="exceeds"):
        V.decode_body(V.MESSAGES["CallCommitDatas"], body)


def test_a_null_commit_reference_decodes_to_none() -> None:
    """The frame that crashes the reference server decodes; the server refuses its content."""
    message = V.decode_frame(V.frame(V.MESSAGES["CreateCommitData"].uuid, b"\x00\x00"))
    assert message.args == (None,)
