"""Paths (SPEC §3.6, FORMAT.md §7.1): building, printing, navigation, type resolution, encoding."""

from __future__ import annotations

import pytest

from commitdb.codec import decode_path, encode_path
from commitdb.dsm.definitions import Definitions
from commitdb.errors import PathError
from commitdb.values import (
    NameSpace,
    TypeAny,
    TypeConcept,
    TypeDouble,
    TypeEnumeration,
    TypeInt64,
    TypeKey,
    TypeMap,
    TypeOptional,
    TypeSet,
    TypeString,
    TypeStructure,
    TypeTuple,
    TypeVariant,
    TypeVec,
    TypeVector,
    TypeXArray,
    Value,
    ValueInt64,
    ValueString,
    ValueUUId,
)
from commitdb.values.path import Path, PathConst, resolve_type

NS = NameSpace("f529bc42-0618-4f54-a3fb-d55f95c5ad03", "Tuto")
STRING, INT64 = TypeString(), TypeInt64()
USER = TypeConcept(NS, "User")
STATUS = TypeEnumeration(NS, "Status", ["active", "inactive", "banned"])
LOGIN = TypeStructure(NS, "Login", [("nickname", STRING), ("password", STRING)])
PROFILE = TypeStructure(
    NS,
    "Profile",
    [
        ("nickname", STRING),
        ("tags", TypeSet(STRING)),
        ("counters", TypeMap(STRING, INT64)),
        ("nick", TypeOptional(STRING)),
        ("status", STATUS),
        ("history", TypeVector(STRING)),
        ("notes", TypeXArray(STRING)),
        ("account", TypeKey(USER)),
        ("pair", TypeTuple([INT64, STRING])),
        ("logins", TypeMap(STRING, LOGIN)),
        ("position", TypeVec(TypeDouble(), 3)),
        ("choice", TypeVariant([INT64, STRING])),
        ("extra", TypeAny()),
        ("nested", TypeMap(STRING, TypeMap(INT64, STRING))),
        ("maybe_login", TypeOptional(LOGIN)),
    ],
)
UUID = "a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1"


def profile() -> Value:
    p = Value.create(
        PROFILE,
        {
            "nickname": "nick",
            "tags": ["mid", "alpha"],
            "counters": {"x": 1, "a": 2},
            "history": ["h0", "h1", "h2"],
            "pair": (7, "seven"),
            "logins": {"main": {"nickname": "m", "password": "pw"}},
            "position": (1.0, 2.0, 3.0),
            "choice": "c",
            "extra": ValueInt64(9),
            "nested": {"k": {5: "five"}},
        },
    )
    p.notes.insert_position(bytes(16), ValueUUId(UUID).bytes_value())
    p.notes.update_position(ValueUUId(UUID).bytes_value(), ValueString("n0"))
    return p


# --- building and printing -------------------------------------------------------------------


def test_spec_reprs() -> None:
    assert repr(Path.from_field("nickname").const()) == ".nickname"
    assert repr(Path.from_field("counters").key("x")) == ".counters['x']"
    assert repr(Path.from_field("nick").unwrap()) == ".nick!"
    assert repr(Path.from_field("history").index(2)) == ".history[2]"
    assert repr(Path.from_field("notes").position(UUID)) == ".notes[{" + UUID + "}]"
    assert repr(Path.from_field("tags").element(0)) == ".tags.element[0]"
    # SPEC §14.9: an entry component prints `[<key>].entry`; `.counters['x'].entry[0]` is the
    # entry of key 'x' followed by an index (the old reading, a key then an entry, was wrong)
    assert repr(Path.from_field("counters").entry("x")) == ".counters['x'].entry"
    assert repr(Path.from_field("counters").entry("x").index(0)) == ".counters['x'].entry[0]"
    assert repr(Path.from_field("logins").key("main").field("password")) == ".logins['main'].password"
    assert repr(Path()) == "."
    assert repr(Path().const()) == "."
    assert str(Path.from_field("a").field("b")) == ".a.b"


def test_builders_match_chaining() -> None:
    assert Path.from_field("f") == Path().field("f")
    assert Path.from_index(1) == Path().index(1)
    assert Path.from_key("k") == Path().key("k")
    assert Path.from_position(UUID) == Path().position(ValueUUId(UUID))
    assert Path.from_unwrap() == Path().unwrap()
    assert Path.from_entry("k") == Path().entry("k")
    assert Path.from_element(2) == Path().element(2)
    assert Path.from_field("a") != Path.from_field("b")
    assert Path.from_index(1) != Path.from_element(1)
    assert Path.from_key("k") != Path.from_entry("k")


def test_chaining_extends_in_place_and_slash() -> None:
    p = Path()
    q = p.field("logins")
    assert q is p
    r = p / "x"
    assert r is not p
    assert repr(p) == ".logins"
    assert repr(r) == ".logins.x"
    assert repr(Path() / "a" / "b") == ".a.b"
    assert repr(Path.from_field("a").const() / "b") == ".a.b"


def test_const_and_equality() -> None:
    p = Path.from_field("counters").key("x")
    c = p.const()
    assert isinstance(c, PathConst)
    assert c == p and p == c
    assert hash(c) == hash(p)
    assert len({c, p.const(), Path.from_field("counters").key("x").const()}) == 1
    p.index(0)  # extending the builder does not touch the const
    assert repr(c) == ".counters['x']"
    assert c != p
    assert c.const() is c
    assert Path() == PathConst()
    assert Path().is_root() and not c.is_root()


def test_components_kinds() -> None:
    p = Path.from_field("a").key("k").unwrap().index(1).position(UUID).entry(3).element(2)
    comps = p.components()
    assert [c.kind() for c in comps] == ["Field", "Key", "Unwrap", "Index", "Position", "Entry", "Element"]
    assert comps[0].value() == "a"
    assert comps[1].value() == ValueString("k")
    assert comps[3].value() == 1
    assert comps[4].value() == ValueUUId(UUID)
    assert comps[5].value() == ValueInt64(3)
    assert comps[6].value() == 2
    assert len(p) == 7


def test_invalid_components_refused() -> None:
    with pytest.raises(PathError):
        Path.from_index(-1)
    with pytest.raises(PathError):
        Path.from_index(True)
    with pytest.raises(PathError):
        Path.from_element(-3)
    with pytest.raises(PathError):
        Path.from_field(3)  # type: ignore[arg-type]
    with pytest.raises(PathError):
        Path.from_position("nope")


def test_regularity() -> None:
    assert Path.from_field("a").key("x").unwrap().is_regular()
    assert not Path.from_field("tags").element(0).is_regular()
    assert not Path.from_field("counters").entry("x").is_regular()


# --- at() and set() -------------------------------------------------------------------------


def test_at_reads_nested_values() -> None:
    p = profile()
    assert Path.from_field("nickname").at(p) == "nick"
    assert Path.from_field("counters").key("x").at(p) == 1
    assert Path.from_field("history").index(2).at(p) == "h2"
    assert Path.from_field("logins").key("main").field("password").at(p) == "pw"
    assert Path.from_field("notes").position(UUID).at(p) == "n0"
    assert Path.from_field("tags").element(0).at(p) == "alpha"
    assert Path.from_field("counters").entry("x").at(p) == "x"
    assert Path.from_field("pair").index(1).at(p) == "seven"
    assert Path.from_field("position").index(2).at(p) == 3.0
    assert Path.from_field("choice").unwrap().at(p) == "c"
    assert Path.from_field("extra").unwrap().at(p) == 9
    assert Path.from_field("nested").key("k").key(5).at(p) == "five"
    assert Path().at(p) is p
    assert repr(Path.from_field("logins").key("main").at(p)) == "{nickname='m', password='pw'}"
    v = Path.from_field("counters").key("x").at(p, encoded=False)
    assert v == ValueInt64(1) and v.type() == INT64


@pytest.mark.parametrize(
    "path",
    [
        Path.from_field("missing"),
        Path.from_field("counters").key("nope"),
        Path.from_field("history").index(3),
        Path.from_field("nick").unwrap(),  # nil optional
        Path.from_field("nickname").field("x"),  # field of a string
        Path.from_field("tags").element(2),
        Path.from_field("notes").position("b2b2b2b2-b2b2-b2b2-b2b2-b2b2b2b2b2b2"),
        Path.from_field("counters").index(0),
        Path.from_field("counters").key(1),  # wrong key type
    ],
    ids=repr,
)
def test_at_unresolved_raises(path: Path) -> None:
    with pytest.raises(PathError):
        path.at(profile())


def test_set_writes_nested_values() -> None:
    p = profile()
    Path.from_field("nickname").set(p, "new")
    assert p.nickname == "new"
    Path.from_field("counters").key("x").set(p, 10)
    Path.from_field("counters").key("new").set(p, 3)  # a last map key inserts
    assert p.counters.items() == [("a", 2), ("new", 3), ("x", 10)]
    Path.from_field("history").index(0).set(p, "H0")
    assert list(p.history) == ["H0", "h1", "h2"]
    Path.from_field("logins").key("main").field("password").set(p, "secret")
    assert repr(p.logins) == "{'main': {nickname='m', password='secret'}}"
    Path.from_field("nick").unwrap().set(p, "wrapped")  # unwrapping a nil optional sets it
    assert repr(p.nick) == "Optional('wrapped')"
    Path.from_field("pair").index(0).set(p, 8)
    assert repr(p.pair) == "(8, 'seven')"
    Path.from_field("position").index(1).set(p, 5)
    assert repr(p.position) == "(1.0, 5.0, 3.0)"
    Path.from_field("notes").position(UUID).set(p, "n1")
    assert p.notes.values() == ["n1"]
    Path.from_field("choice").unwrap().set(p, 4)
    assert p.choice.index() == 0
    Path.from_field("maybe_login").unwrap().set(p, {"nickname": "z"})
    assert repr(p.maybe_login) == "Optional({nickname='z', password=''})"
    Path.from_field("maybe_login").unwrap().field("password").set(p, "q")
    assert repr(p.maybe_login) == "Optional({nickname='z', password='q'})"


def test_set_failures() -> None:
    p = profile()
    before = repr(p)
    with pytest.raises(PathError):
        Path().set(p, p)
    with pytest.raises(PathError):
        Path.from_field("tags").element(0).set(p, "x")
    with pytest.raises(PathError):
        Path.from_field("counters").entry("x").set(p, "y")
    with pytest.raises(PathError):
        Path.from_field("history").index(5).set(p, "x")  # no append
    with pytest.raises(PathError):
        Path.from_field("nick").unwrap().field("x").set(p, "x")  # through a nil optional
    with pytest.raises(PathError):
        Path.from_field("counters").key("nope").field("x").set(p, 1)  # through a missing key
    with pytest.raises(ValueError):
        Path.from_field("nickname").set(p, 5)  # wrong value type
    with pytest.raises(ValueError):
        Path.from_field("status").set(p, "unknown")
    assert repr(p) == before


# --- resolve_type ---------------------------------------------------------------------------


def test_resolve_type_addresses() -> None:
    cases = [
        (Path.from_field("nickname"), STRING),
        (Path.from_field("counters").key("x"), INT64),
        (Path.from_field("counters").entry("x"), STRING),
        (Path.from_field("tags").element(0), STRING),
        (Path.from_field("nick").unwrap(), STRING),
        (Path.from_field("history").index(9), STRING),
        (Path.from_field("notes").position(UUID), STRING),
        (Path.from_field("pair").index(0), INT64),
        (Path.from_field("position").index(2), TypeDouble()),
        (Path.from_field("logins").key("m").field("password"), STRING),
        (Path.from_field("nested").key("k").key(5), STRING),
        (Path(), PROFILE),
    ]
    for path, expected in cases:
        resolved, t = resolve_type(path, PROFILE)
        assert t == expected, repr(path)
        assert len(resolved) == len(path)
    assert resolve_type(Path.from_field("choice").unwrap(), PROFILE)[1] is None
    assert resolve_type(Path.from_field("extra").unwrap(), PROFILE)[1] is None


def test_resolve_type_coerces_map_keys() -> None:
    p = Path.from_field("nested").key("k").key(5)  # 5 deduces to an int64 already
    resolved, _ = resolve_type(p, PROFILE)
    assert resolved == p
    t = TypeStructure(NS, "S", [("m", TypeMap(TypeDouble(), STRING))])
    resolved, _ = resolve_type(Path.from_field("m").key(1), t)
    assert resolved != Path.from_field("m").key(1)
    assert resolved.components()[1].value().type() == TypeDouble()


@pytest.mark.parametrize(
    "path",
    [
        Path.from_field("missing"),
        Path.from_field("nickname").field("length"),
        Path.from_field("nickname").index(0),
        Path.from_field("history").key("x"),
        Path.from_field("counters").index(0),
        Path.from_field("counters").key(1),
        Path.from_field("counters").position(UUID),
        Path.from_field("tags").index(0),
        Path.from_field("history").element(0),
        Path.from_field("status").unwrap(),
        Path.from_field("pair").index(2),
        Path.from_field("position").index(3),
        Path.from_field("choice").unwrap().field("x"),
        Path.from_index(0),
    ],
    ids=repr,
)
def test_resolve_type_errors(path: Path) -> None:
    with pytest.raises(PathError):
        resolve_type(path, PROFILE)


def test_resolve_type_error_names_the_field() -> None:
    with pytest.raises(PathError, match="missing"):
        resolve_type(Path.from_field("missing"), PROFILE)


# --- encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        Path(),
        Path.from_field("nickname"),
        Path.from_field("counters").key("x"),
        Path.from_field("nick").unwrap(),
        Path.from_field("history").index(2),
        Path.from_field("notes").position(UUID),
        Path.from_field("tags").element(0),
        Path.from_field("counters").entry("x"),
        Path.from_field("logins").key("main").field("password"),
        Path.from_field("nested").key("k").key(5),
        Path.from_field("m").key(Value.create(TypeTuple([INT64, STRING]), (1, "a"))),
        Path.from_field("k").key(Value.create(STATUS, "banned")),
    ],
    ids=repr,
)
def test_encode_decode_round_trip(path: Path) -> None:
    defs = Definitions()
    defs.add_type(STATUS)
    data = encode_path(path)
    assert data == path.const().encode()
    back = decode_path(data, defs)
    assert back == path
    assert repr(back) == repr(path)
    assert [c.kind() for c in back.components()] == [c.kind() for c in path.components()]


def test_decode_named_key_needs_definitions() -> None:
    from commitdb.errors import CorruptedDataError

    data = encode_path(Path.from_key(Value.create(STATUS, "banned")))
    with pytest.raises(CorruptedDataError):
        decode_path(data)
