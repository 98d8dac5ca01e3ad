"""manifest-json: documents the strict reader refuses for the whole file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envmon.core.errors import InputError
from envmon.hazwaste.sources.manifest_json import parse_manifest_json
from tests.hazwaste.builders import export, line, manifest, write

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hazwaste" / "manifests_20261031.json"


def refused(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_manifest_json(path, name=path.name)
    assert "\n" not in str(caught.value)
    return caught.value


def test_manifests_key_twice_is_refused_not_shrunk(tmp_path: Path) -> None:
    # The audit's export: 1,697 manifests, then "manifests" again with 107;
    # read leniently it loaded 107 rows with status ok.
    full = json.dumps(export([manifest(f"2026320500{n:04d}") for n in range(1697)]),
                      ensure_ascii=False)
    again = json.dumps([manifest(f"2026320500{n:04d}") for n in range(107)], ensure_ascii=False)
    path = write(tmp_path / "export_20261031.json", f'{full[:-1]}, "manifests": {again}}}')
    assert len(json.loads(path.read_text(encoding="utf-8"))["manifests"]) == 107
    error = refused(path)
    assert str(error).startswith("export_20261031.json, row 1: duplicate key 'manifests'")


def test_key_twice_inside_a_waste_line_is_refused(tmp_path: Path) -> None:
    text = json.dumps(export([manifest("20263205000001", lines=[line(quantity=2.0)])]),
                      ensure_ascii=False, indent=1)
    text = text.replace('"quantity": 2.0', '"quantity": 2.0, "quantity": 0.2', 1)
    error = refused(write(tmp_path / "export.json", text))
    assert "duplicate key 'quantity'" in str(error)
    assert error.row is not None and error.row > 1  # the line object's, not the document's


@pytest.mark.parametrize("depth", [10_000, 950, 500])
def test_deeply_nested_value_is_refused(tmp_path: Path, depth: int) -> None:
    # 10,000 levels were a RecursionError traceback at json.loads. Whether 950
    # were depended on how deep the caller's stack already was (under pytest:
    # yes); one fixed limit refuses any depth past it the same way.
    text = FIXTURE.read_text(encoding="utf-8").replace(
        '"waste_name": "废包装桶"', '"waste_name": ' + "[" * depth + "]" * depth, 1)
    error = refused(write(tmp_path / "deep.json", text))
    assert str(error) == "deep.json: JSON nested deeper than 100 levels"
