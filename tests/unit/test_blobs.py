"""Blobs (SPEC §8): content ids, layouts, info and statistics, streams, blob_id documents."""

from __future__ import annotations

from typing import Any

import pytest

from commitdb import (
    BlobInfo,
    BlobLayout,
    BlobNotFoundError,
    BlobStatistics,
    CommitDatabase,
    CommitDBError,
    CommitMutableState,
    MissingBlobError,
    Path,
    ValidationError,
    ValueBlobId,
)

FIVE = bytes([1, 2, 3, 4, 5])
FIVE_ID = "f07d73c81ed1a91165a75c5cc22253cc7895a8b2"
FOUR_ID = "6b8f3ca756046be29244d9bdb6b5ca5c00468ad5"
FLOAT3_ZERO_ID = "fd0964494a7d9bf79bcf07620af6f7b44408bacc"


@pytest.fixture
def db() -> CommitDatabase:
    return CommitDatabase.create_in_memory()


def test_known_ids(db: CommitDatabase) -> None:
    assert str(db.create_blob(BlobLayout(), FIVE)) == FIVE_ID
    assert str(db.create_blob(BlobLayout("uchar", 1), FIVE[:4])) == FOUR_ID
    assert str(db.create_blob(BlobLayout.parse("float-3"), bytes(12))) == FLOAT3_ZERO_ID
    assert str(db.create_blob("uchar-1", FIVE)) == FIVE_ID  # the layout text works too


def test_create_is_idempotent(db: CommitDatabase) -> None:
    a = db.create_blob(BlobLayout(), FIVE)
    b = db.create_blob(BlobLayout(), FIVE)
    assert a == b and isinstance(a, ValueBlobId)
    assert db.blob_ids() == {a}


def test_layouts() -> None:
    layout = BlobLayout()
    assert layout.representation() == "uchar-1"
    assert layout.byte_count() == 1
    f3 = BlobLayout.parse("float-3")
    assert f3.representation() == "float-3" and f3.byte_count() == 12
    assert BlobLayout("double", 4).byte_count() == 32
    assert BlobLayout.parse("ushort-2") == BlobLayout("ushort", 2)
    for bad in ("float", "float-0", "nope-3", "float-x", "float-256"):
        with pytest.raises(ValidationError):
            BlobLayout.parse(bad)
    with pytest.raises(CommitDBError):
        BlobLayout("uchar", 0)


def test_read_back_info_and_statistics(db: CommitDatabase) -> None:
    stats = db.blob_statistics()
    assert isinstance(stats, BlobStatistics)
    assert (stats.count(), stats.total_size(), stats.min_size(), stats.max_size()) == (0, 0, 0, 0)
    a = db.create_blob(BlobLayout(), FIVE)
    b = db.create_blob(BlobLayout.parse("float-3"), bytes(12))
    assert bytes(db.blob(a)) == FIVE
    assert repr(db.blob(a)) == "blob(5)"
    info = db.blob_info(b)
    assert isinstance(info, BlobInfo)
    assert info.blob_id() == b
    assert info.blob_layout().representation() == "float-3"
    assert info.size() == 12
    assert info.chunked() is False
    assert isinstance(info.row_id(), int)
    stats = db.blob_statistics()
    assert (stats.count(), stats.total_size(), stats.min_size(), stats.max_size()) == (2, 17, 5, 12)
    assert db.blob_ids() == {a, b}


def test_missing_blob(db: CommitDatabase) -> None:
    unknown = ValueBlobId(bytes.fromhex("ab" * 20))
    with pytest.raises(BlobNotFoundError, match="ab" * 20):
        db.blob(unknown)
    with pytest.raises(BlobNotFoundError):
        db.blob_info(unknown)
    with pytest.raises(BlobNotFoundError):
        db.read_blob(unknown, 1, 0)


def test_read_blob_ranges(db: CommitDatabase) -> None:
    a = db.create_blob(BlobLayout(), FIVE)
    assert bytes(db.read_blob(a, 2, 1)) == bytes([2, 3])
    assert bytes(db.read_blob(a, 5, 0)) == FIVE
    assert bytes(db.read_blob(a, 0, 5)) == b""
    with pytest.raises(ValidationError):
        db.read_blob(a, 2, 4)
    with pytest.raises(ValidationError):
        db.read_blob(a, 1, -1)


def test_streams_give_the_same_id(db: CommitDatabase) -> None:
    data = bytes(range(256)) * 40
    stream = db.blob_stream_create(BlobLayout(), len(data))
    for i in range(0, len(data), 1000):
        db.blob_stream_append(stream, data[i:i + 1000])
    streamed = db.blob_stream_close(stream)
    assert streamed == CommitDatabase.create_in_memory().create_blob(BlobLayout(), data)
    assert bytes(db.blob(streamed)) == data
    assert db.blob_info(streamed).size() == len(data)


def test_stream_size_is_enforced(db: CommitDatabase) -> None:
    stream = db.blob_stream_create(BlobLayout(), 3)
    with pytest.raises(ValidationError):
        db.blob_stream_append(stream, b"1234")
    db.blob_stream_append(stream, b"12")
    with pytest.raises(ValidationError):
        db.blob_stream_close(stream)
    assert db.blob_ids() == set()


def test_blob_survives_without_commits(db: CommitDatabase) -> None:
    a = db.create_blob(BlobLayout(), FIVE)
    assert db.commit_ids() == set()
    assert a in db.blob_ids()


def test_document_with_blob_id_needs_the_blob(tuto: tuple[CommitDatabase, dict[str, Any]]) -> None:
    db, names = tuto
    portrait = names["TUTO_A_USER_PORTRAIT"]
    key = portrait.create_key()
    missing = ValueBlobId(bytes.fromhex(FIVE_ID))
    ms = CommitMutableState(db.initial_state())
    mu = ms.attachment_mutating()
    with pytest.raises(MissingBlobError, match=f"Missing blob {FIVE_ID}"):
        mu.set(portrait, key, {"width": 1, "height": 5, "pixels": missing})
    assert len(ms.mutations()) == 0
    mu.set(portrait, key, {"width": 1, "height": 5})  # the zero blob id needs nothing
    with pytest.raises(MissingBlobError, match=f"Missing blob {FIVE_ID}"):
        mu.update(portrait, key, Path.from_field("pixels"), missing)
    with pytest.raises(MissingBlobError):
        mu.diff(portrait, key, {"width": 1, "height": 5, "pixels": missing})
    assert len(ms.mutations()) == 1
    blob_id = db.create_blob(BlobLayout(), FIVE)
    assert blob_id == missing
    mu.update(portrait, key, Path.from_field("pixels"), blob_id)
    c = db.commit_mutations("portrait", ms)
    doc = db.state(c).attachment_getting().get(portrait, key).unwrap(encoded=False)
    assert doc.pixels == blob_id
    data = db.commit_databasing().commit_data(c)
    assert data.blob_ids(db.stream_codec_instancing(), db.definitions()) == {blob_id}


def test_blob_id_in_a_container_is_checked(make_db: Any) -> None:
    db, names = make_db("""
namespace B {3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99} {
concept Item; struct Gallery { vector<blob_id> images; map<string, blob_id> named; };
attachment<Item, Gallery> gallery; };
""")
    gallery = names["B_A_ITEM_GALLERY"]
    key = gallery.create_key()
    ms = CommitMutableState(db.initial_state())
    mu = ms.attachment_mutating()
    mu.set(gallery, key, {})
    missing = ValueBlobId(bytes.fromhex(FOUR_ID))
    with pytest.raises(MissingBlobError):
        mu.union_in_map(gallery, key, Path.from_field("named"), {"x": missing})
    with pytest.raises(MissingBlobError):
        mu.update(gallery, key, Path.from_field("images"), [missing])
    db.create_blob(BlobLayout(), FIVE[:4])
    mu.union_in_map(gallery, key, Path.from_field("named"), {"x": missing})
    assert len(ms.mutations()) == 2
