"""Hostile input never escapes as anything but the library's own errors: random or mutated
program bytes, definitions bytes, and DSM text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitdb import CorruptedDataError, Definitions, DSMBuilder
from commitdb.engine.program import decode_program

ROOT = Path(__file__).resolve().parents[2]
TUTO = (ROOT / "examples" / "tuto.dsm").read_text()
GRAPH = (ROOT / "examples" / "graph.dsm").read_text()
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A real program (FORMAT.md §7.3: set login[1111..] = {nickname: "x", password: "p"}).
PROGRAM = bytes.fromhex(
    "0100000000000000" "00" "438491ed55185d0c9836920ee80dd0e8" + "11" * 16 + "bfb135a149e6132ae693b84be57e9726"
    "1c" "f223819a167ab9f8e4833abf4a0c2518" "0100000000000000" "78" "0100000000000000" "70"
)


def _tuto_definitions() -> Definitions:
    builder = DSMBuilder()
    builder.append("tuto.dsm", TUTO)
    return builder.parse()[2]


DEFINITIONS = _tuto_definitions()


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, byte in edits:
        if out:
            out[position % len(out)] = byte
    return bytes(out)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_program_bytes(data: bytes) -> None:
    try:
        decode_program(data, DEFINITIONS)
    except CorruptedDataError:
        pass


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(0, len(PROGRAM)))
def test_mutated_program_bytes(edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(PROGRAM, edits)[: cut or None]
    try:
        program = decode_program(data, DEFINITIONS)
    except CorruptedDataError:
        return
    assert len(program) <= 1  # whatever decoded is at most the one opcode there was


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_definitions_bytes(edits: list[tuple[int, int]]) -> None:
    encoded = DEFINITIONS.encode(token=False)
    try:
        Definitions.decode(_mutate(encoded, edits), token=False)
    except CorruptedDataError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([TUTO, GRAPH]), st.lists(st.tuples(st.integers(0, 100_000), st.sampled_from(
    [*list("{}<>;,.:=!\"'#/ \n"), "struct", "concept", "enum", "attachment", "namespace", "is a", "int8", "xarray<", '"""'])), min_size=1, max_size=4))
def test_mutated_models_are_reported_not_raised(source: str, edits: list[tuple[int, str]]) -> None:
    text = source
    for position, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position:]
    builder = DSMBuilder()
    builder.append("fuzz.dsm", text)
    report, dsm_definitions, definitions = builder.parse()
    if report.has_error():
        assert definitions is None and dsm_definitions is None
        for error in report.errors():
            assert error.line() >= 1 and error.pos() >= 1 and error.message()
            assert str(error).startswith(f"fuzz.dsm:{error.line()}:{error.pos()}: ")
    else:
        again = DSMBuilder()
        again.append("again.dsm", dsm_definitions.to_dsm())
        assert again.parse()[2].hexdigest() == definitions.hexdigest()
