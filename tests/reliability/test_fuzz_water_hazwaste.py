"""Arbitrary bytes and mutated real files never crash the water and
hazardous-waste parsers: a result with reasons, or a one-line InputError."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from envmon.core.errors import InputError
from envmon.core.parsing import ParseResult
from envmon.core.timeutil import BEIJING
from envmon.hazwaste.delivery import ManifestExport
from envmon.hazwaste.sources.manifest_csv import parse_manifest_csv
from envmon.hazwaste.sources.manifest_json import parse_manifest_json
from envmon.water.sources.cnemc_water import Page, parse_pages
from envmon.water.sources.lab_monthly import parse_lab_monthly
from tests.reliability.test_fuzz_parsers import EDITS, FUZZ, mutate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CNEMC_WATER = (FIXTURES / "water" / "cnemc" / "realtime_p1.json").read_bytes()
LAB = (FIXTURES / "water" / "lab" / "lab_monthly_202610.csv").read_bytes()
MANIFEST_JSON = (FIXTURES / "hazwaste" / "manifests_20261031.json").read_bytes()
MANIFEST_CSV = (FIXTURES / "hazwaste" / "manifests_20261031.csv").read_bytes()
FETCHED = datetime(2026, 10, 31, 20, 0, tzinfo=BEIJING)


def outcome(parse, data: bytes) -> None:
    try:
        result = parse(data)
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    assert isinstance(result, ParseResult | ManifestExport)
    assert all(r.reason for r in result.rejects)


def water_pages(data: bytes) -> ParseResult:
    return parse_pages([Page(data=data, name="page1.json")], fetched_at=FETCHED,
                       tolerance=timedelta(hours=24), max_age=timedelta(days=31))


def from_file(parse, name: str, tmp_path: Path, **kwargs):
    def run(data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return parse(path, name=name, **kwargs)
    return run


@FUZZ
@given(data=st.binary(max_size=400))
def test_cnemc_water_arbitrary_bytes(data: bytes) -> None:
    outcome(water_pages, data)


@FUZZ
@given(edits=EDITS)
def test_cnemc_water_mutated_real_page(edits) -> None:
    outcome(water_pages, mutate(CNEMC_WATER, edits))


@FUZZ
@given(edits=EDITS)
def test_lab_monthly_mutated_real_file(tmp_path: Path, edits) -> None:
    outcome(from_file(parse_lab_monthly, "lab_monthly_202610.csv", tmp_path), mutate(LAB, edits))


@FUZZ
@given(data=st.binary(max_size=400))
def test_manifest_json_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    outcome(from_file(parse_manifest_json, "export.json", tmp_path), data)


@FUZZ
@given(edits=EDITS)
def test_manifest_json_mutated_real_export(tmp_path: Path, edits) -> None:
    outcome(from_file(parse_manifest_json, "export.json", tmp_path),
            mutate(MANIFEST_JSON, edits))


@FUZZ
@given(edits=EDITS)
def test_manifest_csv_mutated_real_export(tmp_path: Path, edits) -> None:
    outcome(from_file(parse_manifest_csv, "lines.csv", tmp_path, exported_at=FETCHED),
            mutate(MANIFEST_CSV, edits))
