"""DSM: malformed models. Every error is reported, never raised, at its exact line:column."""

from __future__ import annotations

import pytest

from commitdb.dsm import DSMBuilder, DSMParseError, DSMParseReport

NS = "namespace T {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {\n"  # line 1; the body starts on line 2


def errors_of(text: str, source: str = "model.dsm") -> list[str]:
    builder = DSMBuilder()
    builder.append(source, text)
    report, dsm, definitions = builder.parse()
    assert report.has_error()
    assert dsm is None and definitions is None
    return [str(e) for e in report.errors()]


def body_errors(body: str) -> list[str]:
    return errors_of(NS + body + "};\n")


CASES = {
    "unknown type": (
        "concept User;\nstruct A {\n    strin name;\n};\n",
        ["model.dsm:4:5: The type 'strin' is unknown."],
    ),
    "unknown qualified type": (
        "struct A { Lib::User u; };\n",
        ["model.dsm:2:12: The type 'Lib::User' is unknown."],
    ),
    "duplicate name": (
        "concept User;\nstruct User { string a; };\n",
        ["model.dsm:3:8: The identifier 'User' is already used."],
    ),
    "duplicate name across kinds": (
        "enum E { a };\nclub E;\n",
        ["model.dsm:3:6: The identifier 'E' is already used."],
    ),
    "attachment key unknown": (
        "concept User;\nstruct Identity { string a; };\nattachment<user, Identity> identity;\n",
        ["model.dsm:4:12: The type K='user' in attachment<K, D> 'identity' must be a concept."],
    ),
    "attachment key is a struct": (
        "struct Identity { string a; };\nattachment<Identity, Identity> identity;\n",
        ["model.dsm:3:12: The type K='Identity' in attachment<K, D> 'identity' must be a concept."],
    ),
    "duplicate attachment for one concept": (
        "concept User;\nattachment<User, string> a;\nattachment<User, int64> a;\n",
        ["model.dsm:4:25: The attachment 'a' is already defined for 'T::User'."],
    ),
    "bad literal kind": (
        'struct A { int64 x = "abc"; };\n',
        ["model.dsm:2:22: The literal \"abc\" is not a valid value for the type 'int64'."],
    ),
    "bad literal: float for an integer": (
        "struct A {\n  int32 x = 1.5;\n};\n",
        ["model.dsm:3:13: The literal 1.5 is not a valid value for the type 'int32'."],
    ),
    "default out of range": (
        "struct A { uint8 x = 300; };\n",
        ["model.dsm:2:22: The literal 300 is out of the range of 'uint8'."],
    ),
    "negative unsigned default": (
        "struct A { uint16 x = -1; };\n",
        ["model.dsm:2:23: The literal -1 is out of the range of 'uint16'."],
    ),
    "float default out of range": (
        "struct A { float x = 1e39; };\n",
        ["model.dsm:2:22: The literal 1e39 is out of the range of 'float'."],
    ),
    "unknown enum case": (
        "enum E { a, b };\nstruct A { E e = .c; };\n",
        ["model.dsm:3:18: The case 'c' is not defined in the enum 'T::E'."],
    ),
    "list literal of the wrong size": (
        "struct A { vec<float, 2> w = {1}; };\n",
        ["model.dsm:2:30: The literal {1} must have 2 elements for the type 'vec<float, 2>'."],
    ),
    "default on a type without literals": (
        'struct A { blob b = "x"; };\n',
        ["model.dsm:2:21: A default value is not allowed for a field of type 'blob'."],
    ),
    "enum with 0 cases": (
        "enum E { };\n",
        ["model.dsm:2:6: The enum 'E' must have 1 to 256 cases, not 0."],
    ),
    "enum with 257 cases": (
        "enum E { " + ", ".join(f"c{i}" for i in range(257)) + " };\n",
        ["model.dsm:2:6: The enum 'E' must have 1 to 256 cases, not 257."],
    ),
    "duplicate case": (
        "enum E { a, b, a };\n",
        ["model.dsm:2:16: The case 'a' is already defined in the enum 'E'."],
    ),
    "duplicate field": (
        "struct A { int64 x; string x; };\n",
        ["model.dsm:2:28: The field 'x' is already defined in the structure 'A'."],
    ),
    "empty struct": (
        "struct A { };\n",
        ["model.dsm:2:8: The structure 'A' has no field."],
    ),
    "directly recursive struct": (
        "struct A { optional<A> next; };\n",
        ["model.dsm:2:8: The structure 'A' is recursive (A -> A)."],
    ),
    "recursive struct through another": (
        "struct A { vector<B> b; };\nstruct B { A a; };\nstruct C { A a; };\n",
        ["model.dsm:2:8: The structure 'A' is recursive (A -> B -> A)."],
    ),
    "unknown parent": (
        "concept A is a B;\n",
        ["model.dsm:2:16: The type 'B' is unknown."],
    ),
    "parent not a concept": (
        "struct B { int64 x; };\nconcept A is a B;\n",
        ["model.dsm:3:16: The parent 'B' of concept 'A' must be a concept."],
    ),
    "concept cycle": (
        "concept A is a B;\nconcept B is a A;\n",
        ["model.dsm:2:9: The concept 'A' is its own ancestor."],
    ),
    "type name that is built in": (
        "struct string { int64 x; };\n",
        ["model.dsm:2:8: The identifier 'string' is a built-in type name."],
    ),
    "generic name as a type name": (
        "enum vector { a };\n",
        ["model.dsm:2:6: The identifier 'vector' is a built-in type name."],
    ),
    "membership errors": (
        "club C;\nconcept U;\nmembership U C;\nmembership C X;\n",
        [
            "model.dsm:4:12: The type 'U' in membership must be a club.",
            "model.dsm:4:14: The type 'C' in membership must be a concept.",
            "model.dsm:5:14: The type 'X' is unknown.",
        ],
    ),
    "vec and mat": (
        "struct A { vec<string, 3> v; mat<float, 0, 2> m; };\n",
        [
            "model.dsm:2:16: The element type of vec<string, 3> must be numeric.",
            "model.dsm:2:30: The sizes of mat<float, 0, 2> must be at least 1.",
        ],
    ),
    "generic arity and arguments": (
        "struct A { map<string> m; vector<3> v; set<any_concept> s; string<int64> x; };\n",
        [
            "model.dsm:2:12: The type 'map' takes 2 argument(s), not 1.",
            "model.dsm:2:34: A type is expected, not '3'.",
            "model.dsm:2:44: The type 'any_concept' is only valid in key<any_concept> or as an attachment key.",
            "model.dsm:2:60: The type 'string' takes no type arguments.",
        ],
    ),
    "key of a non concept": (
        "struct B { int64 x; };\nstruct A { key<B> k; };\n",
        ["model.dsm:3:16: The type 'B' in key<B> must be a concept, a club or any_concept."],
    ),
    "concept used as a value, void field": (
        "concept U;\nstruct A { U u; void v; };\n",
        [
            "model.dsm:3:12: The concept 'U' is not a value type; use key<U>.",
            "model.dsm:3:17: The type 'void' is only valid as the return type of a function.",
        ],
    ),
    "variant listing a type twice": (
        "struct A { variant<int64, int64> v; };\n",
        ["model.dsm:2:12: The type variant<int64, int64> lists a type twice."],
    ),
    "xarray default (positions would be random)": (
        "struct A { xarray<int32> x = {1}; };\n",
        ["model.dsm:2:30: A default value is not allowed for a field of type 'xarray<int32>'."],
    ),
    "infinite double default": (
        "struct A { double d = 1e400; };\n",
        ["model.dsm:2:23: The literal 1e400 is out of the range of 'double'."],
    ),
    # --- syntax
    "misspelt keyword": (
        "strcut A { int64 x; };\n",
        ["model.dsm:2:1: unexpected `strcut`; expected a definition or `}`"],
    ),
    "is an": (
        "concept A;\nconcept B is an A;\n",
        ["model.dsm:3:14: unexpected `an`; expected `a`"],
    ),
    "keyword as a field name": (
        "struct A { int64 concept; };\n",
        ["model.dsm:2:18: unexpected `concept`; expected an identifier, `::` or `<`"],
    ),
    "bad character": (
        "concept @X;\n",
        ["model.dsm:2:9: unexpected character `@`"],
    ),
    "unclosed struct": (
        "struct S { int64 x;\nconcept B;\n",
        ["model.dsm:3:1: unexpected `concept`; expected an identifier or `}`"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed(name: str) -> None:
    body, expected = CASES[name]
    assert body_errors(body) == expected


def test_reopened_namespace_with_another_uuid() -> None:
    text = NS + "concept U;\n};\nnamespace T {00000000-0618-4f54-a3fb-d55f95c5ad03} {\nconcept X;\n};\n"
    assert errors_of(text) == [
        "model.dsm:4:11: The namespace 'T' is already defined with the uuid {f529bc42-0618-4f54-a3fb-d55f95c5ad03}."
    ]


def test_two_namespaces_sharing_a_uuid() -> None:
    text = NS + "};\nnamespace U {f529bc42-0618-4f54-a3fb-d55f95c5ad03} {\n};\n"
    assert errors_of(text) == [
        "model.dsm:3:11: The uuid {f529bc42-0618-4f54-a3fb-d55f95c5ad03} of namespace 'U' is already used by "
        "the namespace 'T'."
    ]


def test_unclosed_namespace() -> None:
    assert errors_of(NS + "concept A;\n") == ["model.dsm:3:1: unexpected end of file; expected `}`"]


def test_missing_final_semicolon() -> None:
    assert errors_of(NS + "concept A;\n}\n") == ["model.dsm:4:1: unexpected end of file; expected `;`"]


def test_declaration_outside_a_namespace() -> None:
    assert errors_of("concept X;\n") == [
        "model.dsm:1:1: unexpected `concept`; expected a function pool, a namespace or end of file"
    ]


def test_three_independent_semantic_errors() -> None:
    text = NS + "struct A { strin x; };\nenum E { };\nattachment<Foo, A> a;\n};\n"
    assert errors_of(text) == [
        "model.dsm:2:12: The type 'strin' is unknown.",
        "model.dsm:3:6: The enum 'E' must have 1 to 256 cases, not 0.",
        "model.dsm:4:12: The type K='Foo' in attachment<K, D> 'a' must be a concept.",
    ]


def test_three_independent_syntax_errors() -> None:
    text = NS + "strcut A { int64 x; };\nconcept B\nconcept C;\nenum E { a b };\n};\n"
    assert errors_of(text) == [
        "model.dsm:2:1: unexpected `strcut`; expected a definition or `}`",
        "model.dsm:4:1: unexpected `concept`; expected an identifier or `;`",
        "model.dsm:5:12: unexpected `b`; expected `,` or `}`",
    ]


def test_syntax_and_semantic_errors_together_without_cascade() -> None:
    # `B` could not be read: using it must not add "unknown type" on top.
    text = NS + "struct B { int64 x = ; };\nstruct A { B b; strin s; };\n};\n"
    assert errors_of(text) == [
        "model.dsm:2:22: unexpected `;`; expected a number, a string, a uuid, `.`, `false`, `true` or `{`",
        "model.dsm:3:17: The type 'strin' is unknown.",
    ]


def test_errors_in_several_namespaces_and_pools() -> None:
    text = (
        NS + "struct A { strin x; };\n};\n"
        "namespace U {00000000-0000-0000-0000-000000000002} {\nstruct B { T::Nope n; };\n};\n"
        "function_pool P {00000000-0000-0000-0000-000000000003} {\n"
        "    void f(strin x);\n    void f();\n    int64 g(void x);\n};\n"
    )
    assert errors_of(text) == [
        "model.dsm:2:12: The type 'strin' is unknown.",
        "model.dsm:5:12: The type 'T::Nope' is unknown.",
        "model.dsm:8:12: The type 'strin' is unknown.",
        "model.dsm:9:10: The function 'f' is already defined in 'P'.",
        "model.dsm:10:13: The type 'void' is only valid as the return type of a function.",
    ]


def test_report_api() -> None:
    builder = DSMBuilder()
    builder.append("m.dsm", NS + "struct A {\n    strin name;\n};\n};\n")
    report, _, _ = builder.parse()
    assert isinstance(report, DSMParseReport)
    (error,) = report.errors()
    assert isinstance(error, DSMParseError)
    assert (error.source(), error.line(), error.pos(), error.message()) == (
        "m.dsm", 3, 5, "The type 'strin' is unknown."
    )
    assert str(report) == "m.dsm:3:5: The type 'strin' is unknown."


def test_parse_never_raises_on_garbage() -> None:
    for text in ['"""', "namespace", "{{{{", "}}};;;", "namespace X {bad} { };", "\x00\x01", "'unterminated"]:
        builder = DSMBuilder()
        builder.append("g.dsm", text)
        report, dsm, definitions = builder.parse()
        assert report.has_error(), text
        assert dsm is None and definitions is None
        assert all(e.line() >= 1 and e.pos() >= 1 for e in report.errors())


def test_broken_namespace_header_does_not_cascade() -> None:
    text = (
        'namespace Lib {6b1f3c2e-4d5"a-4b7c-9e8f-0a1b2c3d4e5f} {\nconcept User;\n};\n'
        + NS + "struct A { key<Lib::User> u; };\nattachment<Lib::User, A> a;\n};\n"
    )
    assert errors_of(text) == ["model.dsm:1:15: unexpected `{`; expected a uuid"]


def test_misspelt_declaration_does_not_cascade() -> None:
    text = NS + "struc,t Transform { int64 x; };\nstruct A { Transform t; };\n};\n"
    assert errors_of(text) == ["model.dsm:2:1: unexpected `struc`; expected a definition or `}`"]
