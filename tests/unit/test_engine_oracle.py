"""The engine against a direct transcription of SPEC §6.3 on random DAGs.

The oracle linearises recursively, decides enabled flags with the pseudo-code of the SPEC and
replays every opcode of L(c) from scratch; the engine (index, shared linearisations, snapshots,
caches) must give the same documents, the same flags and the same eval order, whatever the
order in which states are read.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from commitdb import CommitDatabase, CommitMutableState, Path, ValueUUId, ValueXArray
from commitdb.engine.replay import apply_opcode

END = ValueXArray.END


def oracle_lin(db: CommitDatabase, c: Any, memo: dict[Any, list[Any]]) -> list[Any]:
    if c in memo:
        return memo[c]
    h = db.commit_header(c)
    parent = h.parent_commit_id()
    base = [] if not parent.is_valid() else oracle_lin(db, parent, memo)
    if h.commit_type() == "Merge":
        theirs = oracle_lin(db, h.target_commit_id(), memo)
        result = base + [x for x in theirs if x not in base] + [c]
    else:
        result = [*base, c]
    memo[c] = result
    return result


def oracle_decided(db: CommitDatabase, lin: list[Any], memo: dict[Any, list[Any]]) -> dict[Any, bool]:
    decided: dict[Any, bool] = {}
    for x in reversed(lin):
        decided.setdefault(x, True)
        h = db.commit_header(x)
        kind = h.commit_type()
        if kind in ("Disable", "Enable") and decided[x] and h.target_commit_id() not in decided:
            decided[h.target_commit_id()] = kind == "Enable"
        if kind == "Merge" and not decided[x]:
            p_lin = oracle_lin(db, h.parent_commit_id(), memo) if h.parent_commit_id().is_valid() else []
            for y in oracle_lin(db, h.target_commit_id(), memo):
                if y not in p_lin:
                    decided.setdefault(y, False)
    return decided


def oracle_document(db: CommitDatabase, lin: list[Any], decided: dict[Any, bool], attachment: Any,
                    key: Any) -> str:
    doc = None
    for x in lin:
        program = db.commit(x).program()
        if program is None:
            continue
        for op in program.opcodes(attachment.runtime_id(), key):
            doc = apply_opcode(doc, op, decided.get(x, True), attachment.document_type())
    return "nil" if doc is None else f"Optional({doc!r})"


def random_ops(rng: random.Random, mu: Any, m: SimpleNamespace, keys: list[Any], positions: list[Any]) -> None:
    P, L = m.P, m.L
    f = Path.from_field
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(keys)
        choice = rng.randrange(10)
        if choice == 0:
            mu.set(P, key, {"name": rng.choice("abc"), "tags": {rng.choice("xyz")}})
        elif choice == 1:
            mu.update(P, key, f("name"), rng.choice("abcdef"))
        elif choice == 2:
            mu.union_in_set(P, key, f("tags"), {rng.choice("uvwxyz")})
        elif choice == 3:
            mu.subtract_in_set(P, key, f("tags"), {rng.choice("uvwxyz")})
        elif choice == 4:
            new = ValueUUId.create()
            positions.append(new)
            mu.insert_in_xarray(P, key, f("notes"), rng.choice([END, *positions[-4:]]), new, rng.choice("pq"))
        elif choice == 5 and positions:
            mu.remove_in_xarray(P, key, f("notes"), rng.choice(positions))
        elif choice == 6 and positions:
            mu.update_in_xarray(P, key, f("notes"), rng.choice(positions), rng.choice("rs"))
        elif choice == 7:
            mu.union_in_map(P, key, f("counters"), {rng.choice("kl"): rng.randint(0, 9)})
        elif choice == 8:
            mu.set(L, key, {"nickname": rng.choice("mn"), "password": rng.choice("op")})
        else:
            mu.update(L, key, f("password"), rng.choice("ghij"))


def build_random_dag(m: SimpleNamespace, rng: random.Random, steps: int) -> tuple[list[Any], list[Any]]:
    db = m.db
    keys = [m.P.create_key() for _ in range(3)]
    positions: list[Any] = []
    commits: list[Any] = []
    for _ in range(steps):
        action = rng.random()
        if not commits or action < 0.55:
            base = None if not commits or rng.random() < 0.08 else rng.choice(commits)
            ms = CommitMutableState(db.initial_state() if base is None else db.state(base))
            random_ops(rng, ms.attachment_mutating(), m, keys, positions)
            commits.append(db.commit_mutations("m", ms))
        elif action < 0.75:
            a, b = rng.choice(commits), rng.choice(commits)
            if db.is_mergeable(a, b):
                commits.append(db.merge_commit("merge", a, b))
        else:
            parent, target = rng.choice(commits), rng.choice(commits)
            toggle = db.disable_commit if rng.random() < 0.65 else db.enable_commit
            commits.append(toggle("toggle", parent, target))
    return commits, keys


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_the_spec_oracle(model: SimpleNamespace, seed: int) -> None:
    rng = random.Random(seed)
    commits, keys = build_random_dag(model, rng, 45)
    db = model.db
    memo: dict[Any, list[Any]] = {}
    readers = [db, CommitDatabase(db.commit_databasing())]  # warm caches and a cold facade
    order = list(commits)
    rng.shuffle(order)
    for c in order + order[: len(order) // 2]:
        lin = oracle_lin(db, c, memo)
        decided = oracle_decided(db, lin, memo)
        reader = rng.choice(readers)
        state = reader.state(c)
        # SPEC §14.5: only the Mutations commits of L(c)
        mutations = [x for x in reversed(lin) if db.commit_header(x).commit_type() == "Mutations"]
        assert [a.header().commit_id() for a in state.eval_actions()] == mutations
        flags = state.enabled_by_commit_id()
        for x in lin:
            assert flags[x] == decided.get(x, True), (seed, c, x)
        getter = state.attachment_getting()
        for attachment in (model.P, model.L):
            present = set()
            for key in keys:
                expected = oracle_document(db, lin, decided, attachment, key)
                assert repr(getter.get(attachment, key)) == expected, (seed, c, attachment, key)
                if expected != "nil":
                    present.add(key)
            assert set(getter.keys(attachment)) == present


@pytest.mark.parametrize("seed", range(6))
def test_merge_state_matches_the_oracle(model: SimpleNamespace, seed: int) -> None:
    rng = random.Random(100 + seed)
    commits, keys = build_random_dag(model, rng, 35)
    db = model.db
    memo: dict[Any, list[Any]] = {}
    pairs = [(a, b) for a in commits for b in commits if db.is_mergeable(a, b)]
    for a, b in rng.sample(pairs, min(10, len(pairs))):
        virtual = db.merge_state(a, b)
        assert not virtual.commit_id().is_valid()
        la, lb = oracle_lin(db, a, memo), oracle_lin(db, b, memo)
        lin = la + [x for x in lb if x not in la]
        decided = oracle_decided(db, lin, memo)
        for key in keys:
            expected = oracle_document(db, lin, decided, model.P, key)
            assert repr(virtual.attachment_getting().get(model.P, key)) == expected
        written = db.merge_commit("m", a, b)
        for key in keys:
            assert repr(db.state(written).attachment_getting().get(model.P, key)) == \
                repr(virtual.attachment_getting().get(model.P, key))
        commits.append(written)
