"""Merge reports on constructed histories: one test per reason, each asserting the exact report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from commitdb import (
    CommitDatabase,
    CommitDatabaseHelper,
    CommitError,
    CommitMutableState,
    CommitNotFoundError,
    MergeReport,
    NotMergeableError,
    Path,
    ValueCommitId,
    ValueInt64,
    ValueUUId,
    ValueXArray,
)

U1 = ValueUUId("11111111-1111-1111-1111-111111111111")
P1 = ValueUUId("00000000-0000-0000-0000-0000000000a1")
P2 = ValueUUId("00000000-0000-0000-0000-0000000000b2")


class History:
    """Commits on one profile document of the rich test model, named for readable reports."""

    def __init__(self, db: CommitDatabase, names: dict[str, Any]) -> None:
        self.db, self.att = db, names["T_A_THING_PROFILE"]
        self.key = self.att.create_key(U1)
        self.labels: dict[str, str] = {}

    def commit(self, label: str, parent: ValueCommitId | None, change: Callable[[Any], None]) -> ValueCommitId:
        ms = CommitMutableState(self.db.initial_state() if parent is None else self.db.state(parent))
        change(ms.attachment_mutating())
        c = self.db.commit_mutations(label, ms)
        self.labels[str(c)] = label
        return c

    def base(self, **fields: Any) -> ValueCommitId:
        return self.commit("base", None, lambda am: am.set(self.att, self.key, {"name": "base", **fields}))

    def update(self, label: str, parent: ValueCommitId, path: Any, value: Any) -> ValueCommitId:
        return self.commit(label, parent, lambda am: am.update(self.att, self.key, path, value))

    def merge(self, ours: ValueCommitId, theirs: ValueCommitId) -> tuple[ValueCommitId, MergeReport]:
        """Write merge(ours, theirs); return it with its report, checked equal to the report of
        the same merge before it was written."""
        before = CommitDatabaseHelper.merge_report_of(self.db, ours, theirs)
        m = self.db.merge_commit("merge", ours, theirs)
        report = CommitDatabaseHelper.merge_report(self.db, m)
        assert [d.to_json() for d in before.documents] == [d.to_json() for d in report.documents]
        assert report.merge_commit_id == m and report.ours == ours and report.theirs == theirs
        return m, report

    def rows(self, report: MergeReport) -> list[tuple[Any, ...]]:
        """Each entry as (side, where, reason, losing value, losing commit, opcode, winning value,
        winning commit), values as reprs and commits as labels."""
        def name(c: Any) -> str | None:
            return None if c is None else self.labels.get(str(c), str(c))

        def text(v: Any) -> str | None:
            return None if v is None else repr(v)

        return [(e.side, e.where(), e.reason, text(e.losing_value), name(e.losing_commit), e.losing_opcode,
                 text(e.winning_value), name(e.winning_commit)) for e in report.entries()]

    def read(self, c: Any) -> Any:
        return self.db.state(c).attachment_getting().get(self.att, self.key).unwrap()


@pytest.fixture
def h(model: Any) -> History:
    return History(model.db, model.names)


NAME = Path.from_field("name")
TAGS = Path.from_field("tags")
COUNTERS = Path.from_field("counters")
NOTES = Path.from_field("notes")


def test_overwritten_by_a_later_write_at_the_same_path(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.update("B", base, NAME, "bob")
    _, report = h.merge(a, b)
    assert h.rows(report) == [("ours", ".name", "overwritten", "'alice'", "A", "Document_Update", "'bob'", "B")]
    assert not report.is_clean()
    (doc,) = report.documents
    assert doc.both_sides and doc.attachment_name() == "T::Thing.profile" and doc.instance_id == U1
    # The other way round, the other side loses.
    _, other = h.merge(b, a)
    assert h.rows(other) == [("ours", ".name", "overwritten", "'bob'", "B", "Document_Update", "'alice'", "A")]


def test_a_clean_merge_lists_the_document_without_entries(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.commit("B", base, lambda am: am.union_in_set(h.att, h.key, TAGS, {"t"}))
    _, report = h.merge(a, b)
    assert report.is_clean() and report.entries() == []
    assert [(d.instance_id, d.both_sides, d.entries) for d in report.documents] == [(U1, True, ())]
    assert str(report).splitlines()[-1] == "  no write was lost"


def test_superseded_by_a_whole_document_set(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.commit("B", base, lambda am: am.set(h.att, h.key, {"name": "reset"}))
    _, report = h.merge(a, b)
    assert h.rows(report) == [("ours", ".name", "superseded", "'alice'", "A", "Document_Update", "'reset'", "B")]


def test_a_whole_document_set_overwritten_in_part(h: History) -> None:
    base = h.base()
    a = h.commit("A", base, lambda am: am.set(h.att, h.key, {"name": "set by A"}))
    b = h.update("B", base, NAME, "bob")
    _, report = h.merge(a, b)
    ((side, where, reason, losing, who, opcode, winning, winner),) = h.rows(report)
    assert (side, where, reason, who, opcode, winner) == ("ours", ".", "overwritten", "A", "Document_Set", "B")
    assert "name='set by A'" in losing and "name='bob'" in winning


def test_a_set_element_lost_to_a_write_of_the_whole_set(h: History) -> None:
    base = h.base(tags=["t"])
    a = h.commit("A", base, lambda am: am.union_in_set(h.att, h.key, TAGS, {"x"}))
    b = h.update("B", base, TAGS, {"y"})
    _, report = h.merge(a, b)
    assert h.rows(report) == [("ours", ".tags element 'x'", "overwritten", "'x'", "A", "Set_Union", None, "B")]
    assert report.entries()[0].to_json()["member"] == "x"


def test_absent_document_disabled_by_the_other_side(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.db.disable_commit("undo base", base, base)
    _, report = h.merge(a, b)
    assert h.rows(report) == [("ours", ".name", "absent", "'alice'", "A", "Document_Update", None, None)]
    assert report.documents[0].both_sides  # theirs touched it by disabling its creation


def test_absent_map_key_removed_by_the_other_side(h: History) -> None:
    base = h.base(counters={"k": 1})
    a = h.commit("A", base, lambda am: am.subtract_in_map(h.att, h.key, COUNTERS, {"k"}))
    b = h.commit("B", base, lambda am: am.update_in_map(h.att, h.key, COUNTERS, {"k": 5}))
    _, report = h.merge(a, b)
    assert h.rows(report) == [("theirs", ".counters['k']", "absent", "5", "B", "Map_Update", None, "A")]


def test_absent_position_after_the_other_side_replaced_the_xarray(h: History) -> None:
    def with_note(am: Any) -> None:
        am.set(h.att, h.key, {"name": "base"})
        am.insert_in_xarray(h.att, h.key, NOTES, ValueXArray.END, P1, "one")

    base = h.commit("base", None, with_note)
    a = h.update("A", base, NOTES, h.att.create_document().notes)  # a new xarray: P1 is unknown
    b = h.commit("B", base, lambda am: am.update_in_xarray(h.att, h.key, NOTES, P1, "uno"))
    _, report = h.merge(a, b)
    where = ".notes[{00000000-0000-0000-0000-0000000000a1}]"
    assert h.rows(report) == [("theirs", where, "absent", "'uno'", "B", "XArray_Update", None, "A")]


def test_type_mismatch_through_a_variant(h: History) -> None:
    base = h.base()
    a = h.update("A", base, Path.from_field("v"), "text")  # the variant now holds a string
    b = h.update("B", base, Path.from_field("v").unwrap(), ValueInt64(7))  # written while it held int64
    m, report = h.merge(a, b)
    if repr(h.read(m).v) == "'text'":  # theirs' int64 could not be written through a string
        assert h.rows(report) == [("theirs", ".v!", "type_mismatch", "7", "B", "Document_Update", "'text'", "A")]
    else:  # a replay that switches the variant's alternative: ours' write is the one overwritten
        assert h.rows(report) == [("ours", ".v", "overwritten", "'text'", "A", "Document_Update", "7", "B")]


def test_disabled_by_a_toggle_of_the_other_side(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.db.disable_commit("not A", base, a)  # a toggle may target a commit it does not descend from
    _, report = h.merge(a, b)
    # No write since the sides diverged changed the name: the winning value is the common one.
    assert h.rows(report) == [("ours", ".name", "disabled", "'alice'", "A", "Document_Update", "'base'", None)]


def test_a_recorded_no_op_that_takes_effect_in_the_merge(h: History) -> None:
    created = h.base()
    other_root = h.update("T", None, NAME, "from a root without the document")  # a no-op on its side
    _, report = h.merge(created, other_root)
    rows = h.rows(report)
    assert rows[1] == ("theirs", ".name", "took_effect", None, "T", "Document_Update",
                       "'from a root without the document'", "T")
    assert rows[0][:3] == ("ours", ".", "overwritten") and rows[0][7] == "T"


def test_reordered_when_a_common_write_moves_before_the_side_write(h: History) -> None:
    base = h.base()
    t1 = h.update("T1", base, NAME, "t1")
    c = h.update("C", base, NAME, "c")
    theirs = h.db.merge_commit("theirs", t1, c)  # on theirs, C (common) comes after T1: name 'c'
    ours = h.commit("O", c, lambda am: am.union_in_set(h.att, h.key, TAGS, {"o"}))
    m, report = h.merge(ours, theirs)
    assert repr(h.read(theirs).name) == "'c'" and repr(h.read(m).name) == "'t1'"
    assert h.rows(report) == [("theirs", ".name", "reordered", "'c'", "T1", "Document_Update", "'t1'", "T1")]


def test_text_and_json_forms(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.update("B", base, NAME, "bob")
    m, report = h.merge(a, b)
    lines = report.lines()
    assert lines[0] == f"merge {str(m)[:12]}: ours {str(a)[:12]}, theirs {str(b)[:12]}"
    assert lines[1] == f"  T::Thing.profile {U1} (written by both sides, 1 lost)"
    assert lines[2].startswith(f"    .name: ours 'alice' ({str(a)[:12]} Document_Update) -> merged 'bob' ({str(b)[:12]}): "
                               "overwritten")
    data = json.loads(json.dumps(report.to_json()))
    assert data == {
        "merge": str(m), "ours": str(a), "theirs": str(b), "clean": False,
        "documents": [{"attachment": "T::Thing.profile", "key": str(U1), "both_sides": True, "entries": [{
            "side": "ours", "path": ".name", "member": None, "reason": "overwritten",
            "losing": {"commit": str(a), "opcode": "Document_Update", "value": "alice"},
            "winning": {"commit": str(b), "value": "bob"}}]}],
    }
    assert CommitDatabaseHelper.merge_report_of(h.db, a, b).to_json()["merge"] is None


def test_reports_write_nothing(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    b = h.update("B", base, NAME, "bob")
    m = h.db.merge_commit("merge", a, b)
    ids, version, state = h.db.commit_ids(), h.db.data_version(), repr(h.read(m))
    CommitDatabaseHelper.merge_report(h.db, m)
    CommitDatabaseHelper.merge_report_of(h.db, b, a)
    assert h.db.commit_ids() == ids and h.db.data_version() == version and repr(h.read(m)) == state


def test_bad_input_is_refused_by_name(h: History) -> None:
    base = h.base()
    a = h.update("A", base, NAME, "alice")
    with pytest.raises(CommitError, match=f"{a} is not a merge commit .it is a Mutations commit"):
        CommitDatabaseHelper.merge_report(h.db, a)
    with pytest.raises(CommitNotFoundError):
        CommitDatabaseHelper.merge_report(h.db, ValueCommitId("ab" * 20))
    with pytest.raises(NotMergeableError, match="not mergeable"):
        CommitDatabaseHelper.merge_report_of(h.db, a, base)
    with pytest.raises(NotMergeableError, match="not mergeable"):
        CommitDatabaseHelper.merge_report_of(h.db, a, a)
    # theirs descending from ours: what merging it would do (SPEC §14.10); nothing is lost
    child = h.update("child", a, NAME, "child")
    assert CommitDatabaseHelper.merge_report_of(h.db, a, child).is_clean()


def test_reduce_heads_returns_the_reports_of_its_merges(h: History) -> None:
    base = h.base()
    heads = [h.update(f"H{i}", base, NAME, f"h{i}") for i in range(3)]
    reports: list[MergeReport] = []
    final = CommitDatabaseHelper.reduce_heads(h.db, heads[0], reports=reports)
    assert final is not None and len(reports) == 2 and reports[-1].merge_commit_id == final
    for r in reports:
        assert r.to_json() == CommitDatabaseHelper.merge_report(h.db, r.merge_commit_id).to_json()
        assert [e.reason for e in r.entries()] == ["overwritten"]
    assert CommitDatabaseHelper.reduce_heads(h.db, reports=reports) is None and len(reports) == 2


def test_the_documented_example_runs_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest
    from pathlib import Path as FilePath

    root = FilePath(__file__).resolve().parents[2]
    text = (root / "docs" / "merge-reports.md").read_text()
    example = text.split("```pycon\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    test = doctest.DocTestParser().get_doctest(example, {}, "merge-reports.md", None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 10


@pytest.mark.parametrize("ours_path, ours_value, theirs_path, theirs_value, where, losing", [
    # theirs writes through an optional that ours set to nil
    (Path.from_field("extra"), None, Path.from_field("extra").unwrap().field("a"), 5, ".extra!.a", "5"),
    # theirs writes an index that ours' shorter vector no longer has
    (Path.from_field("history"), [], Path.from_field("history").index(1), "two", ".history[1]", "'two'"),
])
def test_absent_path_after_the_other_side_changed_its_way(h: History, ours_path: Any, ours_value: Any,
                                                          theirs_path: Any, theirs_value: Any, where: str,
                                                          losing: str) -> None:
    base = h.base(extra={"a": 1, "b": "x"}, history=["one", "2"])
    a = h.update("A", base, ours_path, ours_value)
    b = h.update("B", base, theirs_path, theirs_value)
    _, report = h.merge(a, b)
    assert h.rows(report) == [("theirs", where, "absent", losing, "B", "Document_Update", None, "A")]
