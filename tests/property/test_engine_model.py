"""Random DAGs against a tiny independent reference model of SPEC §4 and §6.3.

The reference reads only what the public API shows — headers (`commit_header`) and opcodes
(`commit(c).program().all_opcodes()`) — and rebuilds every state with plain dicts, sets and
lists, following the spec literally: the L() recursion, the newest-first `decided` walk, ignore
mode with xarray tombstones, and best-effort replay of each opcode. It never touches
`commitdb.engine`.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitdb import (
    CommitDatabase,
    CommitMutableState,
    CommitStateBuilder,
    DSMBuilder,
    Path,
    Value,
    ValueCommitId,
    ValueUUId,
    ValueXArray,
)

MODEL = """namespace Prop {5e0c1d2a-7b3f-4c8d-9e1f-2a3b4c5d6e7f} {
concept Doc;
struct Item {
    string name; int64 count; set<string> tags; map<string, int64> counters;
    optional<string> nick; xarray<string> notes;
};
attachment<Doc, Item> item;
};
"""

ZERO = str(ValueCommitId())
END = str(ValueXArray.END)
WORDS = ["a", "b", "c"]
NOT_CREATED = "ffffffff-ffff-4fff-8fff-ffffffffffff"  # a position no commit ever inserts

NAME = Path.from_field("name").const()
COUNT = Path.from_field("count").const()
TAGS = Path.from_field("tags").const()
COUNTERS = Path.from_field("counters").const()
NICK = Path.from_field("nick").const()
NICK_UNWRAP = Path.from_field("nick").unwrap().const()
NOTES = Path.from_field("notes").const()

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# =========================================================================================
# The reference model
# =========================================================================================

def plain(v: Any) -> Any:
    return Value.dumps(v) if isinstance(v, Value) else v


def ref_opcode(op: Any) -> dict[str, Any]:
    """An opcode as plain data, read through the documented accessors only (each kind has
    only its own, SPEC §14.4)."""
    path = op.path() if hasattr(op, "path") else None
    comps = () if path is None else tuple(
        (c.kind(), str(c.value()) if c.kind() == "Position" else plain(c.value())) for c in path.components()
    )
    pos = op.position() if hasattr(op, "position") else None
    before = op.before_position() if hasattr(op, "before_position") else None
    value = op.value() if hasattr(op, "value") else None
    return {"type": op.type(), "doc": str(op.key().instance_id()), "path": comps, "value": plain(value),
            "position": None if pos is None else str(pos), "before": None if before is None else str(before)}


def xarray_from_plain(v: Any) -> dict[str, Any]:
    positions, disabled, live = v
    return {"pos": list(positions), "vals": dict(live), "dis": set(disabled)}


def doc_from_plain(v: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(v)
    doc["notes"] = xarray_from_plain(v["notes"])
    return doc


def doc_to_plain(doc: dict[str, Any] | None) -> Any:
    """The reference document in the shape of `Value.dumps` (SPEC §3.4)."""
    if doc is None:
        return None
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k != "notes"}
    xa = doc["notes"]
    # SPEC §14.3: the second item lists the disabled positions only, ascending
    out["notes"] = (list(xa["pos"]), sorted(xa["dis"]), dict(xa["vals"]))
    return out


def xa_insert(xa: dict[str, Any], before: str, new: str, disabled: bool) -> None:
    if new in xa["pos"]:
        return  # already held (even removed): keeps its place
    if before not in xa["pos"]:
        return
    xa["pos"].insert(xa["pos"].index(before), new)
    if disabled:
        xa["dis"].add(new)


def apply(docs: dict[str, Any], op: dict[str, Any], enabled: bool) -> None:
    """SPEC §4 replay table plus §6.3 ignore mode, best effort."""
    kind, doc = op["type"], docs.get(op["doc"])
    if kind == "Document_Set":
        if enabled:
            docs[op["doc"]] = doc_from_plain(op["value"])
        return
    if doc is None:
        return
    path = op["path"]
    assert path and path[0][0] == "Field", f"unexpected path {path}"
    field = path[0][1]
    if not enabled:
        if kind == "XArray_Insert" and len(path) == 1:
            xa_insert(doc[field], op["before"], op["position"], disabled=True)
        return
    value = op["value"]
    if kind == "Document_Update":
        if len(path) == 1:
            doc[field] = xarray_from_plain(value) if field == "notes" else copy.deepcopy(value)
        elif path[1][0] == "Unwrap":  # unwrapping a nil optional sets it
            doc[field] = value
        elif path[1][0] == "Key":  # a last map-key component inserts or replaces
            doc[field][path[1][1]] = value
        elif path[1][0] == "Position":
            xa = doc[field]
            p = path[1][1]
            if p in xa["pos"] and p != END and p not in xa["dis"]:
                xa["vals"][p] = value
        else:
            raise AssertionError(f"unexpected update path {path}")
        return
    target = doc[field]
    if kind == "Set_Union":
        target |= value
    elif kind == "Set_Subtract":
        target -= value
    elif kind == "Map_Union":
        target.update(value)
    elif kind == "Map_Update":
        target.update({k: v for k, v in value.items() if k in target})
    elif kind == "Map_Subtract":
        for k in value:
            target.pop(k, None)
    elif kind == "XArray_Insert":
        xa_insert(target, op["before"], op["position"], disabled=False)
    elif kind == "XArray_Update":
        p = op["position"]
        if p in target["pos"] and p != END and p not in target["dis"]:
            target["vals"][p] = value
    elif kind == "XArray_Remove":
        target["vals"].pop(op["position"], None)
    else:
        raise AssertionError(f"unknown opcode {kind}")


class Reference:
    """SPEC §6.3 over headers and programs read from the database."""

    def __init__(self, db: CommitDatabase) -> None:
        self.db = db
        self.headers: dict[str, tuple[str, str, str]] = {}
        self.programs: dict[str, list[dict[str, Any]]] = {}
        self._lin: dict[str, list[str]] = {}

    def header(self, c: str) -> tuple[str, str, str]:
        if c not in self.headers:
            h = self.db.commit_header(ValueCommitId(c))
            self.headers[c] = (h.commit_type(), str(h.parent_commit_id()), str(h.target_commit_id()))
        return self.headers[c]

    def program(self, c: str) -> list[dict[str, Any]]:
        if c not in self.programs:
            program = self.db.commit(ValueCommitId(c)).program()
            self.programs[c] = [] if program is None else [ref_opcode(op) for op in program.all_opcodes()]
        return self.programs[c]

    def lin(self, c: str) -> list[str]:
        if c not in self._lin:
            kind, parent, target = self.header(c)
            base = self.lin(parent) if parent != ZERO else []
            if kind == "Merge":
                seen = set(base)
                self._lin[c] = base + [x for x in self.lin(target) if x not in seen] + [c]
            else:
                self._lin[c] = [*base, c]
        return self._lin[c]

    def brought_in(self, m: str) -> list[str]:
        _, parent, target = self.header(m)
        seen = set(self.lin(parent))
        return [x for x in self.lin(target) if x not in seen]

    def decided(self, c: str) -> dict[str, bool]:
        decided: dict[str, bool] = {}
        for x in reversed(self.lin(c)):
            decided.setdefault(x, True)
            kind, _, target = self.header(x)
            if kind in ("Disable", "Enable") and decided[x] and target not in decided:
                decided[target] = kind == "Enable"
            if kind == "Merge" and not decided[x]:
                for y in self.brought_in(x):
                    decided.setdefault(y, False)
        return decided

    def state(self, c: str) -> dict[str, Any]:
        decided = self.decided(c)
        docs: dict[str, Any] = {}
        for x in self.lin(c):
            if self.header(x)[0] == "Mutations":
                for op in self.program(x):
                    apply(docs, op, decided[x])
        return docs

    def is_mergeable(self, a: str, b: str) -> bool:
        return a not in self.lin(b) and b not in self.lin(a)


# =========================================================================================
# Random DAGs through the public API
# =========================================================================================

class World:
    """One database with the model, its commits in creation order and a pool of positions."""

    def __init__(self, n_keys: int, db: CommitDatabase | None = None) -> None:
        builder = DSMBuilder()
        builder.append("prop.dsm", MODEL)
        report, _, definitions = builder.parse()
        assert not report.has_error()
        self.db = db if db is not None else CommitDatabase.create_in_memory()
        self.db.extend_definitions(definitions)
        ns: dict[str, Any] = {}
        definitions.inject(ns)
        self.att = ns["PROP_A_DOC_ITEM"]
        self.keys = [self.att.create_key(ValueUUId(f"00000000-0000-4000-8000-{n:012x}")) for n in range(1, n_keys + 1)]
        self.commits: list[str] = []
        self.positions: list[str] = []
        self.ref = Reference(self.db)
        self.working_copies: list[tuple[str, dict[str, Any]]] = []

    def new_position(self) -> str:
        p = f"00000000-0000-4000-9000-{len(self.positions) + 1:012x}"
        self.positions.append(p)
        return p

    def record(self, c: ValueCommitId) -> str:
        text = str(c)
        if text not in self.commits:
            self.commits.append(text)
        return text

    # --- drawing -------------------------------------------------------------------------
    def draw_word_set(self, data: st.DataObject) -> set[str]:
        return data.draw(st.sets(st.sampled_from(WORDS), min_size=1, max_size=2))

    def draw_counters(self, data: st.DataObject) -> dict[str, int]:
        return data.draw(st.dictionaries(st.sampled_from(WORDS), st.integers(0, 3), min_size=1, max_size=2))

    def draw_existing_position(self, data: st.DataObject) -> str:
        if not self.positions or data.draw(st.integers(0, 9)) == 0:
            return NOT_CREATED
        return data.draw(st.sampled_from(self.positions))

    def draw_document(self, data: st.DataObject) -> Any:
        notes = [(self.new_position(), data.draw(st.sampled_from(WORDS))) for _ in range(data.draw(st.integers(0, 2)))]
        plain_doc = {
            "name": data.draw(st.sampled_from(WORDS)),
            "count": data.draw(st.integers(0, 3)),
            "tags": data.draw(st.sets(st.sampled_from(WORDS), max_size=2)),
            "counters": data.draw(st.dictionaries(st.sampled_from(WORDS), st.integers(0, 3), max_size=2)),
            "nick": data.draw(st.none() | st.sampled_from(WORDS)),
            "notes": ([p for p, _ in notes] + [END], [], dict(notes)),
        }
        return Value.loads(plain_doc, self.att.document_type(), self.db.definitions())

    def mutate(self, data: st.DataObject, am: Any, verb: str | None = None) -> None:
        """One random mutator call on a random key."""
        att, key = self.att, data.draw(st.sampled_from(self.keys))
        verb = verb or data.draw(st.sampled_from([
            "set", "set", "name", "count", "nick", "nick!", "counter", "tags", "union_in_set",
            "subtract_in_set", "union_in_map", "update_in_map", "subtract_in_map", "insert", "insert",
            "insert", "insert", "update_in_xarray", "remove_in_xarray", "diff",
        ]))
        word = data.draw(st.sampled_from(WORDS))
        if verb == "set":
            am.set(att, key, self.draw_document(data))
        elif verb == "name":
            am.update(att, key, NAME, word)
        elif verb == "count":
            am.update(att, key, COUNT, data.draw(st.integers(0, 3)))
        elif verb == "nick":
            am.update(att, key, NICK, data.draw(st.none() | st.just(word)))
        elif verb == "nick!":
            am.update(att, key, NICK_UNWRAP, word)
        elif verb == "counter":
            am.update(att, key, Path.from_field("counters").key(word).const(), data.draw(st.integers(0, 3)))
        elif verb == "tags":
            am.update(att, key, TAGS, data.draw(st.sets(st.sampled_from(WORDS), max_size=2)))
        elif verb in ("union_in_set", "subtract_in_set"):
            getattr(am, verb)(att, key, TAGS, self.draw_word_set(data))
        elif verb in ("union_in_map", "update_in_map"):
            getattr(am, verb)(att, key, COUNTERS, self.draw_counters(data))
        elif verb == "subtract_in_map":
            am.subtract_in_map(att, key, COUNTERS, self.draw_word_set(data))
        elif verb == "insert":
            before = END if data.draw(st.booleans()) else self.draw_existing_position(data)
            new = self.new_position() if data.draw(st.integers(0, 3)) else self.draw_existing_position(data)
            if new == NOT_CREATED:
                new = self.new_position()
            am.insert_in_xarray(att, key, NOTES, ValueUUId(before), ValueUUId(new), word)
        elif verb == "update_in_xarray":
            am.update_in_xarray(att, key, NOTES, ValueUUId(self.draw_existing_position(data)), word)
        elif verb == "remove_in_xarray":
            am.remove_in_xarray(att, key, NOTES, ValueUUId(self.draw_existing_position(data)))
        elif verb == "diff":
            am.diff(att, key, self.draw_document(data), recursive=data.draw(st.booleans()))

    def commit_mutations(self, data: st.DataObject, parent: str | None) -> str:
        base = self.db.initial_state() if parent is None else self.db.state(ValueCommitId(parent))
        mutable = CommitMutableState(base)
        am = mutable.attachment_mutating()
        if parent is None and data.draw(st.booleans()):
            self.mutate(data, am, "set")  # most roots create a document, so later ops apply
        for _ in range(data.draw(st.integers(0, 4))):
            self.mutate(data, am)
        shown = {str(k.instance_id()): Value.dumps(am.get(self.att, k)) for k in self.keys}
        c = self.record(self.db.commit_mutations("mutations", mutable))
        self.working_copies.append((c, shown))
        return c

    def step(self, data: st.DataObject) -> None:
        if not self.commits:
            self.commit_mutations(data, None)
            return
        action = data.draw(st.sampled_from(["root", "child", "child", "child", "merge", "merge", "disable",
                                            "disable", "enable"]))
        pick = st.sampled_from(self.commits)
        if action == "root":
            self.commit_mutations(data, None)
        elif action == "merge":
            pairs = [(a, b) for a in self.commits for b in self.commits if a != b and self.ref.is_mergeable(a, b)]
            if not pairs:
                self.commit_mutations(data, data.draw(pick))
                return
            a, b = data.draw(st.sampled_from(pairs))
            assert self.db.is_mergeable(ValueCommitId(a), ValueCommitId(b))
            self.record(self.db.merge_commit("merge", ValueCommitId(a), ValueCommitId(b)))
        elif action in ("disable", "enable"):
            parent = data.draw(pick)
            # Mostly an ancestor (a real undo/redo), sometimes any commit at all.
            ancestors = self.ref.lin(parent)
            target = data.draw(st.sampled_from(ancestors) if data.draw(st.integers(0, 3)) else pick)
            toggle = self.db.disable_commit if action == "disable" else self.db.enable_commit
            self.record(toggle(action, ValueCommitId(parent), ValueCommitId(target)))
        else:
            self.commit_mutations(data, data.draw(pick))


def build_world(data: st.DataObject, db: CommitDatabase | None = None) -> World:
    world = World(data.draw(st.integers(2, 3), label="keys"), db)
    for _ in range(data.draw(st.integers(3, 25), label="commits")):
        world.step(data)
    return world


# =========================================================================================
# Properties
# =========================================================================================

@SETTINGS
@given(st.data())
def test_every_state_matches_the_reference_model(data: st.DataObject) -> None:
    world = build_world(data)
    db, ref, att = world.db, world.ref, world.att
    for c in world.commits:
        cv = ValueCommitId(c)
        lin = ref.lin(c)
        decided = ref.decided(c)
        state = db.state(cv)
        actions = state.eval_actions()  # newest first
        # SPEC §14.5: eval_actions lists the Mutations commits of L(c) only
        mutations = [x for x in lin if ref.header(x)[0] == "Mutations"]
        assert [str(a.header().commit_id()) for a in reversed(actions)] == mutations, f"linearisation of {c}"
        assert [a.enabled() for a in reversed(actions)] == [decided[x] for x in mutations], f"eval_actions at {c}"
        enabled = {str(x): v for x, v in CommitStateBuilder.enabled_by_commit_id(db, cv).items()}
        assert {x: enabled.get(x) for x in lin} == {x: decided[x] for x in lin}, f"enabled flags at {c}"
        # SPEC §6.3 lists the commits of L(c); a backend may add the toggle targets outside it,
        # and then with the flag the walk gave them.
        assert all(decided.get(x) == v for x, v in enabled.items()), f"extra flags at {c}"
        expected = ref.state(c)
        getting = state.attachment_getting()
        for key in world.keys:
            doc_id = str(key.instance_id())
            got = Value.dumps(getting.get(att, key))
            assert got == doc_to_plain(expected.get(doc_id)), f"document {doc_id} at {c}"
        present = {str(k.instance_id()) for k in getting.keys(att)}
        assert present == {d for d, doc in expected.items() if doc is not None}, f"keys at {c}"


@SETTINGS
@given(st.data())
def test_committed_state_equals_the_working_copy(data: st.DataObject) -> None:
    """Replaying a mutable state's recorded opcodes on its base state gives what the mutator
    showed before the commit."""
    world = build_world(data)
    for c, shown in world.working_copies:
        getting = world.db.state(ValueCommitId(c)).attachment_getting()
        for key in world.keys:
            assert Value.dumps(getting.get(world.att, key)) == shown[str(key.instance_id())], f"at {c}"


@SETTINGS
@given(st.data())
def test_program_replayed_by_reference_on_base_state(data: st.DataObject) -> None:
    """The same check through the reference: base state (reference) + the commit's opcodes
    (reference replay) equals the mutator's working copy."""
    world = build_world(data)
    ref = world.ref
    for c, shown in world.working_copies:
        assert ref.header(c)[0] == "Mutations"
        assert ref.decided(c)[c] is True
        assert {d: doc_to_plain(doc) for d, doc in ref.state(c).items() if doc is not None} == {
            d: v for d, v in shown.items() if v is not None}, f"at {c}"
