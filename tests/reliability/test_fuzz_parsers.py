"""Arbitrary bytes, mutated real files and large structured inputs never crash a parser.

Each parser must return a ParseResult (rows plus Rejects with reasons) or
raise InputError, the one-line error the command line prints. Anything else
(a KeyError, a UnicodeDecodeError, an IndexError, a RecursionError) would
reach a user as a traceback. The byte-level fuzzers stay under 400 bytes;
the structure-aware cases at the end build what those cannot reach (10,000
levels of nesting, a key repeated anywhere in a real document, a line of
megabytes, 10,000 columns) for every parser of every domain.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envmon.air.schema import PARSED_COLUMNS
from envmon.air.sources.china_sites import parse_china_sites
from envmon.air.sources.cnemc_archive import parse_cnemc_archive
from envmon.air.sources.openaq import SensorConfig, parse_pages
from envmon.core.errors import InputError
from envmon.core.parsing import ParseResult
from envmon.core.strict_json import MAX_DEPTH
from envmon.core.timeutil import BEIJING
from envmon.hazwaste.delivery import ManifestExport
from envmon.hazwaste.sources.manifest_csv import parse_manifest_csv
from envmon.hazwaste.sources.manifest_json import parse_manifest_json
from envmon.water.sources import cnemc_water
from envmon.water.sources.lab_monthly import parse_lab_monthly
from tests.support.feeds import china_sites_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "air"
CHINA_SITES = china_sites_text("20261001", ["9001A", "9002A"], hours=range(3)).encode()
CNEMC = (FIXTURES / "cnemc" / "cnemc_hourly_20261001.csv").read_bytes()
OPENAQ = (FIXTURES / "openaq" / "pm25_page1.json").read_bytes()
OTHER_FIXTURES = FIXTURES.parent
CNEMC_WATER = (OTHER_FIXTURES / "water" / "cnemc" / "realtime_p1.json").read_bytes()
LAB = (OTHER_FIXTURES / "water" / "lab" / "lab_monthly_202610.csv").read_bytes()
MANIFEST_JSON = (OTHER_FIXTURES / "hazwaste" / "manifests_20261031.json").read_bytes()
MANIFEST_CSV = (OTHER_FIXTURES / "hazwaste" / "manifests_20261031.csv").read_bytes()
FETCHED = datetime(2026, 10, 31, 20, 0, tzinfo=BEIJING)
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


def settle(parse: Callable[[bytes], Any], data: bytes) -> Any:
    """What a reader made of `data`: its result, or the one-line InputError it raised.

    Any other exception fails the test: it would reach a user as a traceback.
    """
    try:
        result = parse(data)
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return exc
    assert isinstance(result, ParseResult | ManifestExport | cnemc_water.PageInfo)
    assert all(r.reason for r in getattr(result, "rejects", []))
    return result


def assert_parses_or_input_error(parse, data: bytes) -> None:
    result = settle(parse, data)
    if not isinstance(result, InputError):
        assert list(result.frame.columns) == list(PARSED_COLUMNS)


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


# ---------------------------------------------------------------- large, structured inputs

DEEP = 10_000  # levels of nesting
HUGE = 5 * 2**20  # bytes on one line
WIDE = 10_000  # columns
STRUCTURED = settings(FUZZ, max_examples=15)


def _water_page(data: bytes) -> ParseResult:
    return cnemc_water.parse_pages([cnemc_water.Page(data, "page1.json")], fetched_at=FETCHED,
                                   tolerance=timedelta(hours=24), max_age=timedelta(days=31))


def _water_page_info(data: bytes) -> cnemc_water.PageInfo:
    # What the water pull reads of each page before asking for the next.
    return cnemc_water.page_info(cnemc_water.Page(data, "page1.json"))


def _in_file(parse: Callable[..., Any], name: str, **kwargs: Any) -> Callable[[bytes], Any]:
    def run(data: bytes) -> Any:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / name
            path.write_bytes(data)
            return parse(path, name=name, **kwargs)
    return run


# Every reader of delivered JSON, with a real document of its format.
JSON_READERS: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "openaq": (_openaq, OPENAQ),
    "cnemc-water": (_water_page, CNEMC_WATER),
    "cnemc-water-page-info": (_water_page_info, CNEMC_WATER),
    "manifest-json": (_in_file(parse_manifest_json, "export.json"), MANIFEST_JSON),
}
# Every CSV parser, with a real file of its format.
CSV_PARSERS: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "china-sites": (_in_file(parse_china_sites, "china_sites_20261001.csv"), CHINA_SITES),
    "cnemc-archive": (_in_file(parse_cnemc_archive, "cnemc_20261001.csv"), CNEMC),
    "lab-monthly": (_in_file(parse_lab_monthly, "lab_monthly_202610.csv"), LAB),
    "manifest-csv": (_in_file(parse_manifest_csv, "lines.csv", exported_at=FETCHED),
                     MANIFEST_CSV),
}
_SLOT = "@@envmon-structured-input@@"


def nodes(doc: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, node) of every node of a JSON document, the root first."""
    out = [(path, doc)]
    children = (doc.items() if isinstance(doc, dict)
                else enumerate(doc) if isinstance(doc, list) else ())
    for key, child in children:
        out.extend(nodes(child, (*path, key)))
    return out


def written_with(doc: Any, path: tuple, raw: str) -> bytes:
    """The document as one line of JSON, with the node at `path` written as `raw`."""
    if not path:
        return raw.encode()
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = _SLOT
    return json.dumps(copy, ensure_ascii=False).replace(f'"{_SLOT}"', raw, 1).encode()


def _paths(kind: type | None = None) -> st.SearchStrategy:
    """A reader and the path of a node (of `kind`, if given) in its real document."""
    def of(reader: str) -> st.SearchStrategy:
        doc = json.loads(JSON_READERS[reader][1])
        found = [path for path, node in nodes(doc)
                 if kind is None or (isinstance(node, kind) and node)]
        return st.tuples(st.just(reader), st.sampled_from(found))
    return st.sampled_from(sorted(JSON_READERS)).flatmap(of)


@STRUCTURED
@given(where=_paths(), as_object=st.booleans())
def test_json_nested_10000_levels_anywhere_is_an_input_error(where, as_object: bool) -> None:
    reader, path = where
    parse, real = JSON_READERS[reader]
    deep = '{"a":' * DEEP + "1" + "}" * DEEP if as_object else "[" * DEEP + "]" * DEEP
    outcome = settle(parse, written_with(json.loads(real), path, deep))
    assert isinstance(outcome, InputError)
    assert outcome.detail == f"JSON nested deeper than {MAX_DEPTH} levels"


@STRUCTURED
@given(where=_paths(dict), pick=st.integers(0, 100), same_value=st.booleans())
def test_json_key_repeated_in_any_object_is_an_input_error(where, pick: int,
                                                           same_value: bool) -> None:
    reader, path = where
    parse, real = JSON_READERS[reader]
    doc = json.loads(real)
    node = dict(nodes(doc))[path]
    key = list(node)[pick % len(node)]
    # The repeat comes last, so a lenient reader would keep it (`null` differs).
    pairs = [*node.items(), (key, node[key] if same_value else None)]
    raw = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                          for k, v in pairs) + "}"
    outcome = settle(parse, written_with(doc, path, raw))
    assert isinstance(outcome, InputError)
    assert f"duplicate key {key!r}" in outcome.detail


@settings(STRUCTURED, max_examples=6)
@given(where=_paths(str))
def test_json_one_line_of_megabytes_is_read_or_refused(where) -> None:
    reader, path = where
    parse, real = JSON_READERS[reader]
    settle(parse, written_with(json.loads(real), path, json.dumps("太浦河" + "x" * HUGE)))


@pytest.mark.parametrize("reader", sorted(JSON_READERS))
def test_json_readers_refuse_a_deep_document_and_a_repeated_top_key(reader: str) -> None:
    parse, real = JSON_READERS[reader]
    outcome = settle(parse, b"[" * DEEP + b"]" * DEEP)
    assert isinstance(outcome, InputError) and "nested deeper" in outcome.detail
    text = real.decode("utf-8").rstrip()
    key = next(iter(json.loads(real)))
    repeated = f'{text[:-1]}, "{key}": null}}'.encode()  # the last copy wins, leniently
    outcome = settle(parse, repeated)
    assert isinstance(outcome, InputError) and f"duplicate key {key!r}" in outcome.detail


def test_cnemc_water_record_and_header_of_10000_cells() -> None:
    doc = json.loads(CNEMC_WATER)
    doc["tbody"][0] = ["--"] * WIDE
    result = settle(_water_page, json.dumps(doc, ensure_ascii=False).encode())
    assert isinstance(result, ParseResult)
    assert any(f"record has {WIDE} cells" in r.reason for r in result.rejects)
    doc = json.loads(CNEMC_WATER)
    doc["thead"] += [f"项目{n}(mg/L)" for n in range(WIDE)]
    assert isinstance(settle(_water_page, json.dumps(doc, ensure_ascii=False).encode()),
                      InputError)


def _with_line(real: bytes, line: bytes) -> bytes:
    return real.rstrip(b"\n") + b"\n" + line + b"\n"


@pytest.mark.parametrize("parser", sorted(CSV_PARSERS))
def test_csv_line_of_megabytes_is_refused_alone_or_the_file_is(parser: str) -> None:
    parse, real = CSV_PARSERS[parser]
    first = real.splitlines()[1]
    # Megabytes of ordinary cells: a line far wider than its header.
    many_cells = first + b"," + b",".join([b"40"] * (HUGE // 3))
    outcome = settle(parse, _with_line(real, many_cells))
    assert isinstance(outcome, ParseResult | ManifestExport)
    assert any(r.line == len(real.splitlines()) + 1 for r in outcome.rejects)
    # One cell of megabytes: past csv's field size limit, the file cannot be read.
    one_cell = first + b"," + b"9" * HUGE
    assert isinstance(settle(parse, _with_line(real, one_cell)), InputError)
    # ... and one line holding only that cell, where a header would be.
    assert isinstance(settle(parse, b"x" * HUGE + b"\n" + real), InputError)


@pytest.mark.parametrize("parser", sorted(CSV_PARSERS))
def test_csv_10000_columns(parser: str) -> None:
    parse, real = CSV_PARSERS[parser]
    header, *rows = real.decode("utf-8").splitlines()
    # 10,000 more columns in the header, a value in each on every line.
    extra = [f"X{n:05d}" for n in range(WIDE)]
    wide = "\n".join([",".join([header, *extra]), *(row + ",40" * WIDE for row in rows)])
    outcome = settle(parse, wide.encode())
    if parser == "china-sites":  # 10,000 more stations: a valid file
        assert isinstance(outcome, ParseResult) and not outcome.rejects
        assert len(outcome.frame) == (2 + WIDE) * 3  # stations x hours
    elif parser == "cnemc-archive":  # columns it does not read are ignored
        assert isinstance(outcome, ParseResult) and len(outcome.frame) == len(rows)
    else:  # a strict contract: unknown columns refuse the file, in a line a person reads
        assert isinstance(outcome, InputError) and len(str(outcome)) < 500
    # A line of 10,000 cells more than its header: refused alone.
    outcome = settle(parse, _with_line(real, (rows[0] + "," * WIDE + "1").encode()))
    assert isinstance(outcome, ParseResult | ManifestExport)
    assert any(r.line == len(rows) + 2 for r in outcome.rejects)
