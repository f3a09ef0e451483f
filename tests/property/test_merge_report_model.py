"""Merge reports on random concurrent histories, checked against the independent reference model
of test_engine_model (plain dicts replaying SPEC §4 and §6.3; it never touches commitdb.engine).

For each merge (those of the random history, and new merges of random divergent pairs):
- every entry's losing value is the value in its side's state, its winning value the value in
  the merged state, and they differ;
- every unit (path, map key, set element, xarray position) written by either side since the
  divergence is reported or holds, in the merged state, that side's value;
- applying the winning values to the common ancestry's document never disagrees with the
  merged state;
- the report of a prospective merge equals the report of the merge once written.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine_model import SETTINGS, Reference, World, apply, build_world, doc_to_plain, plain

from commitdb import CommitDatabaseHelper, ValueCommitId

Unit = tuple[tuple[tuple[str, Any], ...], Any]  # (path components, set member or None)
ABSENT = "<absent>"  # a unit without a value (a report's None); distinct from a nil optional


def report_value(v: Any) -> Any:
    return ABSENT if v is None else plain(v)


def plain_units(op: dict[str, Any]) -> list[Unit]:
    """The units an opcode writes, derived from its plain form (same rules as the docs state)."""
    kind, path, value = op["type"], op["path"], op["value"]
    if kind == "Document_Set":
        return [((), None)]
    if kind == "Document_Update":
        return [(path, None)]
    if kind in ("Set_Union", "Set_Subtract"):
        return [(path, e) for e in sorted(value)]
    if kind in ("Map_Union", "Map_Update", "Map_Subtract"):
        return [((*path, ("Key", k)), None) for k in sorted(value)]
    if kind in ("XArray_Update", "XArray_Remove"):
        return [((*path, ("Position", op["position"])), None)]
    return []


def plain_read(doc: dict[str, Any] | None, unit: Unit) -> Any:
    """The value of a unit in a reference document (ABSENT when it has none)."""
    return plain_read_plain(doc_to_plain(doc), unit)


def plain_write(doc: dict[str, Any] | None, unit: Unit, value: Any) -> dict[str, Any] | None:
    """Write ``value`` (None: absent) at ``unit`` of a plain (``doc_to_plain``) document."""
    path, member = unit
    if not path:
        return None if value is ABSENT else copy.deepcopy(value)
    if doc is None:
        return None
    field = path[0][1]
    if len(path) == 1:
        if member is not None:
            doc[field] = (doc[field] | {member}) if value is not ABSENT else (doc[field] - {member})
        else:
            doc[field] = copy.deepcopy(value)
        return doc
    kind, p = path[1]
    container = doc[field][2] if kind == "Position" else doc[field]
    if kind == "Unwrap":
        doc[field] = None if value is ABSENT else value
    elif value is ABSENT:
        container.pop(p, None)
    else:
        container[p] = value
    return doc


def entry_unit(entry: Any) -> Unit:
    comps = tuple((c.kind(), str(c.value()) if c.kind() == "Position" else plain(c.value()))
                  for c in entry.path.components())
    return comps, None if entry.member is None else plain(entry.member)


def ref_docs(ref: Reference, lin: list[str], decided: dict[str, bool]) -> dict[str, Any]:
    docs: dict[str, Any] = {}

    for x in lin:
        if ref.header(x)[0] == "Mutations":
            for op in ref.program(x):
                apply(docs, op, decided.get(x, True))
    return docs


def check_report(world: World, merge: str) -> None:
    db, ref = world.db, world.ref
    _, ours, theirs = ref.header(merge)
    report = CommitDatabaseHelper.merge_report(db, ValueCommitId(merge))
    side_heads = {"ours": ours, "theirs": theirs}
    states = {name: ref.state(c) for name, c in side_heads.items()}
    merged = ref.state(merge)
    reported: dict[tuple[str, str, Unit], Any] = {}
    for d in report.documents:
        doc = str(d.instance_id)
        for e in d.entries:
            unit = entry_unit(e)
            losing, winning = report_value(e.losing_value), report_value(e.winning_value)
            assert losing == plain_read(states[e.side].get(doc), unit), f"losing value of {e.describe()}"
            assert winning == plain_read(merged.get(doc), unit), f"winning value of {e.describe()}"
            assert losing != winning, e.describe()
            reported[(e.side, doc, unit)] = winning
            check_reason(ref, merge, e, doc)
    # Completeness: every unit a side wrote is reported, or the merged state holds its value.
    for name, other in (("ours", "theirs"), ("theirs", "ours")):
        head, other_lin = side_heads[name], set(ref.lin(side_heads[other]))
        decided = ref.decided(head)
        for x in ref.lin(head):
            if x in other_lin or ref.header(x)[0] != "Mutations" or not decided[x]:
                continue
            for op in ref.program(x):
                for unit in plain_units(op):
                    doc = op["doc"]
                    mine, there = plain_read(states[name].get(doc), unit), plain_read(merged.get(doc), unit)
                    assert (name, doc, unit) in reported or mine == there, (
                        f"{name} wrote {unit} on {doc}: {mine!r} on its side, {there!r} merged, not reported")
    # The winning values applied to the common ancestry's documents agree with the merged state.
    common = [x for x in ref.lin(merge) if x in set(ref.lin(ours)) and x in set(ref.lin(theirs))]
    ancestor = ref_docs(ref, common, ref.decided(merge))
    for d in report.documents:
        doc = str(d.instance_id)
        patched = doc_to_plain(ancestor.get(doc))
        ordered = sorted(d.entries, key=lambda e: len(e.path))  # enclosing paths first
        for e in ordered:
            patched = plain_write(patched, entry_unit(e), report_value(e.winning_value))
        for e in ordered:
            unit = entry_unit(e)
            if patched is None and unit[0]:
                continue  # no document to write a path into (the ancestor lacks it)
            assert plain_read_plain(patched, unit) == plain_read(merged.get(doc), unit), e.describe()


def check_reason(ref: Reference, merge: str, e: Any, doc: str) -> None:
    """What the reference says about the commits a reason names."""
    order = {x: i for i, x in enumerate(ref.lin(merge))}
    losing, winner = str(e.losing_commit), None if e.winning_commit is None else str(e.winning_commit)
    assert ref.header(losing)[0] == "Mutations" and losing in order
    if e.reason == "disabled":
        assert ref.decided(merge)[losing] is False, e.describe()
    if e.reason in ("overwritten", "superseded"):
        assert winner is not None and order[winner] >= order[losing], e.describe()
        # A disabled commit changes a document only through the tombstones of its inserts.
        assert ref.decided(merge)[winner] is True or any(
            op["type"] == "XArray_Insert" and op["doc"] == doc for op in ref.program(winner)), e.describe()
    if e.reason == "superseded":
        assert any(op["type"] == "Document_Set" and op["doc"] == doc for op in ref.program(winner)), e.describe()
    if winner is not None:
        assert any(op["doc"] == doc for op in ref.program(winner)), e.describe()


def plain_read_plain(doc: Any, unit: Unit) -> Any:
    """``plain_read`` on a document in ``doc_to_plain`` form."""
    path, member = unit
    if doc is None:
        return ABSENT
    if not path:
        return doc
    v = doc[path[0][1]]
    if len(path) == 1:
        return v if member is None else member if member in v else ABSENT
    kind, p = path[1]
    if kind == "Unwrap":
        return ABSENT if v is None else v
    return (v[2] if kind == "Position" else v).get(p, ABSENT)


@settings(SETTINGS, max_examples=120)
@given(st.data())
def test_merge_reports_agree_with_the_reference_model(data: st.DataObject) -> None:
    world = build_world(data)
    ref = world.ref
    merges = [c for c in world.commits if ref.header(c)[0] == "Merge"]
    pairs = [(a, b) for a in world.commits for b in world.commits if a != b and ref.is_mergeable(a, b)]
    for _ in range(min(3, len(pairs))):
        a, b = data.draw(st.sampled_from(pairs))
        prospective = CommitDatabaseHelper.merge_report_of(world.db, ValueCommitId(a), ValueCommitId(b))
        m = world.record(world.db.merge_commit("merge", ValueCommitId(a), ValueCommitId(b)))
        written = CommitDatabaseHelper.merge_report(world.db, ValueCommitId(m))
        assert [d.to_json() for d in prospective.documents] == [d.to_json() for d in written.documents]
        merges.append(m)
    for m in merges:
        check_report(world, m)
