"""Arbitrary bytes and mutated real files never crash a parser.

Each parser must return a ParseResult (rows plus Rejects with reasons) or
raise InputError, the one-line error the command line prints. Anything else
(a KeyError, a UnicodeDecodeError, an IndexError) would reach a user as a
traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.air.schema import PARSED_COLUMNS
from pipelines.air.sources.china_sites import parse_china_sites
from pipelines.air.sources.cnemc_archive import parse_cnemc_archive
from pipelines.air.sources.openaq import SensorConfig, parse_pages
from pipelines.core.errors import InputError
from pipelines.core.parsing import ParseResult
from tests.support.feeds import china_sites_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "air"
CHINA_SITES = china_sites_text("20261001", ["9001A", "9002A"], hours=range(3)).encode()
CNEMC = (FIXTURES / "cnemc" / "cnemc_hourly_20261001.csv").read_bytes()
OPENAQ = (FIXTURES / "openaq" / "pm25_page1.json").read_bytes()
SENSORS = [SensorConfig(sensor_id=2001, station_code="9001A", pollutant="pm25")]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Replace, delete or insert bytes at positions derived from `edits`."""
    out = bytearray(data)
    for position, kind, chunk in edits:
        if not out:
            out.extend(chunk)
            continue
        at = position % len(out)
        if kind == 0:
            out[at:at + len(chunk)] = chunk
        elif kind == 1:
            del out[at:at + max(1, len(chunk))]
        else:
            out[at:at] = chunk
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2),
                           st.binary(min_size=0, max_size=8) | st.sampled_from(
                               [b",", b"\n", b"\"", b"-", b"NA", b"\xe2\x80\x94", b"\xff",
                                b"99999999", b"1e308", b"nan", b"{", b"}", b"[", b"null"])),
                min_size=1, max_size=6)


def assert_parses_or_input_error(parse, data: bytes) -> None:
    try:
        result = parse(data)
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    assert isinstance(result, ParseResult)
    assert list(result.frame.columns) == list(PARSED_COLUMNS)
    assert all(r.reason for r in result.rejects)


def _file_parser(parse, name: str, tmp_path: Path):
    def run(data: bytes) -> ParseResult:
        path = tmp_path / name
        path.write_bytes(data)
        return parse(path, name=name)
    return run


@FUZZ
@given(data=st.binary(max_size=400))
def test_china_sites_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    assert_parses_or_input_error(
        _file_parser(parse_china_sites, "china_sites_20261001.csv", tmp_path), data)


@FUZZ
@given(edits=EDITS)
def test_china_sites_mutated_real_file(tmp_path: Path, edits) -> None:
    assert_parses_or_input_error(
        _file_parser(parse_china_sites, "china_sites_20261001.csv", tmp_path),
        mutate(CHINA_SITES, edits))


@FUZZ
@given(data=st.binary(max_size=400))
def test_cnemc_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    assert_parses_or_input_error(
        _file_parser(parse_cnemc_archive, "cnemc_20261001.csv", tmp_path), data)


@FUZZ
@given(edits=EDITS)
def test_cnemc_mutated_real_file(tmp_path: Path, edits) -> None:
    assert_parses_or_input_error(
        _file_parser(parse_cnemc_archive, "cnemc_20261001.csv", tmp_path), mutate(CNEMC, edits))


def _openaq(data: bytes) -> ParseResult:
    return parse_pages([(data, {"sensor_id": 2001, "params": {"page": "1"}})], SENSORS)


@FUZZ
@given(data=st.binary(max_size=400))
def test_openaq_arbitrary_bytes(data: bytes) -> None:
    assert_parses_or_input_error(_openaq, data)


@FUZZ
@given(edits=EDITS)
def test_openaq_mutated_real_page(edits) -> None:
    assert_parses_or_input_error(_openaq, mutate(OPENAQ, edits))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=10)


@FUZZ
@given(value=JSON_VALUES, path=st.lists(st.sampled_from(
    ["results", 0, "value", "period", "datetimeTo", "local", "parameter", "units",
     "coverage", "percentComplete", "interval"]), min_size=1, max_size=4))
def test_openaq_wrong_types_in_real_page(value, path) -> None:
    """Valid JSON, real shape, one node replaced by a value of any type."""
    doc = json.loads(OPENAQ)
    node = doc
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    try:
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass
    assert_parses_or_input_error(_openaq, json.dumps(doc).encode())
