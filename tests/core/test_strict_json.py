"""The one JSON reader for delivered documents: what it refuses, and how it says so."""

from __future__ import annotations

import json

import pytest

from envmon.core.errors import InputError
from envmon.core.strict_json import MAX_DEPTH, load_json


def refused(data: bytes | str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_json(data, name="export.json")
    assert "\n" not in str(caught.value)
    return caught.value


def test_reads_json() -> None:
    assert load_json(b'{"a": [1, 2.5, "\xe5\xa4\xaa", null, true]}', name="x") == {
        "a": [1, 2.5, "太", None, True]}
    assert load_json("[]", name="x") == []


def test_duplicate_top_level_key_is_refused_with_its_name_and_place() -> None:
    # The audit's case: json.loads kept the second, shorter "manifests".
    text = '{"export": {},\n "manifests": [1, 2, 3],\n "manifests": [1]}'
    assert json.loads(text)["manifests"] == [1]
    error = refused(text.encode())
    assert "duplicate key 'manifests'" in str(error)
    assert (error.file, error.row) == ("export.json", 1)
    assert "column 1" in str(error)


def test_duplicate_key_deep_inside_names_the_object_holding_it() -> None:
    text = '{"a": [\n  {"b": 1},\n  {"c": {"d": 1, "d": 2}}]}'
    error = refused(text)
    assert "duplicate key 'd'" in str(error)
    assert error.row == 3 and "column 9" in str(error)  # the inner object's "{"


def test_duplicate_key_in_bytes_with_a_bom_or_utf16() -> None:
    assert "'k'" in str(refused(b'\xef\xbb\xbf{"k": 1, "k": 2}'))
    assert "'k'" in str(refused('{"k": 1, "k": 2}'.encode("utf-16")))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 10_000, 100_000])
def test_nesting_deeper_than_the_limit_is_refused(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        error = refused(text)
        assert error.detail == f"JSON nested deeper than {MAX_DEPTH} levels"


def test_nesting_up_to_the_limit_is_read() -> None:
    value = load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, name="x")
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "[-Infinity]"])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    assert "is not a JSON value" in str(refused(text))


@pytest.mark.parametrize("data, row, message", [
    (b'{"a": 1', 1, "not valid JSON: Expecting ',' delimiter"),
    (b'{"a": 1}\n{"b": 2}', 2, "not valid JSON: Extra data"),
    (b"", 1, "not valid JSON: Expecting value"),
    (b'["\xff"]', None, "not valid JSON: undecodable byte"),
])
def test_malformed_json_is_one_input_error(data: bytes, row: int | None, message: str) -> None:
    error = refused(data)
    assert error.row == row and message in str(error)
