"""Random histories written to a .cdb file read back identically after a reopen: commit ids,
headers, definitions and every document at every commit (the Durable storage issue)."""

from __future__ import annotations

import tempfile
from pathlib import Path as FsPath

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitdb import CommitDatabase, CommitMutableState, DSMBuilder, Path, Value

MODEL = """namespace Reopen {0c6a1f9e-2b7d-4e3a-9c5f-7d1e2a3b4c5d} {
concept Doc;
struct Item { string name; int64 count; set<string> tags; map<string, int64> counters; xarray<string> notes; };
attachment<Doc, Item> item;
};
"""

STEP = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 2), st.text("abc", max_size=3)),
    st.tuples(st.just("name"), st.integers(0, 2), st.text("abc", max_size=3)),
    st.tuples(st.just("count"), st.integers(0, 2), st.integers(-5, 5)),
    st.tuples(st.just("tag"), st.integers(0, 2), st.sampled_from(["x", "y", "z"])),
    st.tuples(st.just("counter"), st.integers(0, 2), st.sampled_from(["x", "y"])),
    st.tuples(st.just("note"), st.integers(0, 2), st.text("ab", max_size=2)),
    st.tuples(st.just("root"), st.integers(0, 2), st.just("")),
    st.tuples(st.just("merge"), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("disable"), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("enable"), st.integers(0, 50), st.integers(0, 50)),
)


def _definitions() -> tuple[object, dict]:
    builder = DSMBuilder()
    builder.append("reopen.dsm", MODEL)
    report, _, definitions = builder.parse()
    assert not report.has_error(), str(report)
    names: dict = {}
    definitions.inject(names)
    return definitions, names


def _snapshot(db: CommitDatabase, attachment: object) -> dict:
    result = {}
    for cid in db.commit_ids():
        getting = db.state(cid).attachment_getting()
        docs = {str(k): Value.dumps(getting.get(attachment, k), json=True) for k in getting.keys(attachment)}
        result[str(cid)] = (db.commit_header(cid), docs)
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=5, max_size=40))
def test_a_reopened_file_reads_back_the_same_history(steps: list[tuple]) -> None:
    definitions, names = _definitions()
    attachment = names["REOPEN_A_DOC_ITEM"]
    keys = [attachment.create_key() for _ in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(FsPath(tmp) / "h.cdb")
        db = CommitDatabase.create(path)
        db.extend_definitions(definitions)
        made: list = []
        head = None
        for kind, a, b in steps:
            if kind in ("merge", "disable", "enable"):
                if len(made) < 2:
                    continue
                x, y = made[a % len(made)], made[b % len(made)]
                if kind == "merge":
                    if not db.is_mergeable(x, y):
                        continue
                    head = db.merge_commit("m", x, y)
                elif kind == "disable":
                    head = db.disable_commit("d", x, y)
                else:
                    head = db.enable_commit("e", x, y)
                made.append(head)
                continue
            mutable = CommitMutableState(db.initial_state() if head is None or kind == "root" else db.state(head))
            m = mutable.attachment_mutating()
            key = keys[a]
            if kind in ("set", "root"):
                m.set(attachment, key, {"name": str(b)})
            elif kind == "name":
                m.update(attachment, key, Path.from_field("name"), b)
            elif kind == "count":
                m.update(attachment, key, Path.from_field("count"), b)
            elif kind == "tag":
                m.union_in_set(attachment, key, Path.from_field("tags"), {b})
            elif kind == "counter":
                m.union_in_map(attachment, key, Path.from_field("counters"), {b: a})
            else:
                m.insert_in_xarray(attachment, key, Path.from_field("notes"), Value.create(
                    attachment.document_type().field("notes").type()).END, _position(len(made)), b)
            head = db.commit_mutations(kind, mutable)
            made.append(head)
        before = _snapshot(db, attachment)
        digest = db.definitions_hexdigest()
        heads = db.head_commit_ids()
        db.close()
        again = CommitDatabase.open(path)
        assert again.definitions_hexdigest() == digest
        assert again.head_commit_ids() == heads
        assert _snapshot(again, attachment) == before
        again.close()


def _position(n: int) -> str:
    return f"00000000-0000-4000-8000-{n + 1:012d}"
