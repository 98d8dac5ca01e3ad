"""OpenAQ v3 source: fetching from a real local HTTP server, parsing fixture pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from envmon.air.schema import PARSED_COLUMNS
from envmon.air.sources.openaq import (
    FetchedPage,
    SensorConfig,
    api_key_from_env,
    fetch_pages,
    parse_pages,
    unit_factor,
)
from envmon.core.errors import ConfigError, InputError, SourceError
from envmon.core.timeutil import BEIJING
from tests.support.http_server import FixtureServer, Scripted

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "air" / "openaq"
KEY = "test-openaq-key-9f8e7d6c5b4a"
START = datetime(2026, 10, 1, 0, tzinfo=BEIJING)
END = datetime(2026, 10, 1, 6, tzinfo=BEIJING)
SENSORS = [
    SensorConfig(2001, "1141A", "pm25"),
    SensorConfig(2002, "1141A", "no2"),
    SensorConfig(2003, "1141A", "co"),
]
HOURS_PATH = "/v3/sensors/2001/hours"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def page(name: str, sensor_id: int, number: int = 1) -> tuple[bytes, dict]:
    return fixture(name), {"sensor_id": sensor_id, "params": {"page": str(number)}}


def hour(h: int) -> pd.Timestamp:
    return pd.Timestamp(START + timedelta(hours=h))


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def serve_three_pages(server: FixtureServer) -> None:
    for number in (1, 2, 3):
        server.add(HOURS_PATH, Scripted.from_file(FIXTURES / f"pm25_page{number}.json"),
                   query={"page": str(number)})


# ---------------------------------------------------------------- fetching


def test_fetch_pages_follows_pages_until_a_short_one(fixture_server: FixtureServer) -> None:
    serve_three_pages(fixture_server)
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        limit=2)
    assert [p.params["page"] for p in pages] == ["1", "2", "3"]
    assert [p.body for p in pages] == [fixture(f"pm25_page{n}.json") for n in (1, 2, 3)]
    assert len(fixture_server.requests) == 3
    first = fixture_server.requests[0].query
    assert first["datetime_from"] == ["2026-09-30T16:00:00Z"]
    assert first["datetime_to"] == ["2026-09-30T22:00:00Z"]
    assert first["limit"] == ["2"]
    assert all(p.fetched_at.tzinfo is not None for p in pages)
    assert all(p.sensor_id == 2001 for p in pages)
    assert pages[0].url == fixture_server.url(HOURS_PATH)


def test_api_key_goes_in_the_header_only(fixture_server: FixtureServer) -> None:
    serve_three_pages(fixture_server)
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        limit=2)
    assert [r.headers.get("x-api-key") for r in fixture_server.requests] == [KEY] * 3
    assert all(KEY not in r.raw_path for r in fixture_server.requests)
    for fetched in pages:
        assert KEY not in fetched.url
        assert KEY not in repr(fetched.params)
        assert KEY not in repr(fetched.metadata())


def test_fetched_pages_parse_after_landing_round_trip(fixture_server: FixtureServer) -> None:
    serve_three_pages(fixture_server)
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        limit=2)
    result = parse_pages([(p.body, p.metadata()) for p in pages], SENSORS)
    assert list(result.frame["pm25"]) == [12.0, 15.5, 18.0, 21.0, 9.0]
    assert list(result.frame["ts"]) == [hour(h) for h in (1, 2, 3, 4, 5)]
    assert list(result.frame["source_line"]) == [1, 2, 1, 2, 1]
    assert result.rejects == []
    # The window comes from the request the pages were fetched with.
    assert result.window == (START, END)


def test_key_read_from_the_configured_environment_variable(
        fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture_server.add(HOURS_PATH, Scripted.from_file(FIXTURES / "pm25_page3.json"))
    monkeypatch.setenv("ENVMON_TEST_OPENAQ_KEY", KEY)
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url,
                        api_key_env="ENVMON_TEST_OPENAQ_KEY")
    assert len(pages) == 1
    assert fixture_server.requests[0].headers["x-api-key"] == KEY


def test_missing_key_is_a_clear_source_error(fixture_server: FixtureServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAQ_API_KEY", raising=False)
    with pytest.raises(SourceError, match="OPENAQ_API_KEY"):
        fetch_pages(2001, START, END, base_url=fixture_server.base_url)
    monkeypatch.setenv("MY_KEY_VAR", "   ")
    with pytest.raises(SourceError, match="MY_KEY_VAR"):
        api_key_from_env("MY_KEY_VAR")
    assert fixture_server.requests == []


def test_429_then_success_waits_as_told(fixture_server: FixtureServer) -> None:
    fixture_server.add(HOURS_PATH, Scripted.from_file(FIXTURES / "pm25_page3.json"))
    fixture_server.fail_first(HOURS_PATH, 2, headers={"Retry-After": "3",
                                                      "x-ratelimit-remaining": "0"})
    sleeps = Sleeps()
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        sleep=sleeps)
    assert sleeps.calls == [3.0, 3.0]
    assert len(pages) == 1
    assert pages[0].body == fixture("pm25_page3.json")


def test_500_exhausted_is_a_source_error_without_the_key(
        fixture_server: FixtureServer) -> None:
    fixture_server.add(HOURS_PATH, Scripted(500, {}, b"upstream database unavailable"))
    with pytest.raises(SourceError) as caught:
        fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                    sleep=Sleeps())
    assert "HTTP 500" in str(caught.value)
    assert "/v3/sensors/2001/hours" in str(caught.value)
    assert KEY not in str(caught.value)
    assert len(fixture_server.requests) == 6  # first try + 5 retries


def test_unreadable_page_stops_paging_and_is_kept(fixture_server: FixtureServer) -> None:
    fixture_server.add(HOURS_PATH, Scripted.from_file(FIXTURES / "pm25_truncated.json"))
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        limit=1)
    assert len(pages) == 1
    with pytest.raises(InputError, match="not valid JSON"):
        parse_pages([(pages[0].body, pages[0].metadata())], SENSORS)


@pytest.mark.parametrize("body", [
    b"[" * 10_000 + b"]" * 10_000,  # a RecursionError traceback in the pull before
    b'{"results": [], "results": []}',
], ids=["deep", "duplicate-key"])
def test_page_the_strict_reader_refuses_stops_paging_and_is_kept(
        fixture_server: FixtureServer, body: bytes) -> None:
    fixture_server.add(HOURS_PATH, Scripted(200, {"Content-Type": "application/json"}, body))
    pages = fetch_pages(2001, START, END, base_url=fixture_server.base_url, api_key=KEY,
                        limit=1)
    assert [p.body for p in pages] == [body]
    with pytest.raises(InputError, match="sensor 2001 page 1"):
        parse_pages([(pages[0].body, pages[0].metadata())], SENSORS)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fetch_pages(2001, datetime(2026, 10, 1), END, api_key=KEY)


# ---------------------------------------------------------------- units


def test_unit_factors_worked_by_hand() -> None:
    # NO2: 1 ppb = 46.006 / 24.45 µg/m³ = 1.881636 µg/m³
    assert unit_factor("ppb", "no2") == pytest.approx(1.881636, abs=1e-6)
    # SO2: 1 ppm = 1000 x 64.066 / 24.45 µg/m³ = 2620.29 µg/m³
    assert unit_factor("ppm", "so2") == pytest.approx(2620.29, abs=0.01)
    # O3: 1 ppb = 47.997 / 24.45 = 1.963067 µg/m³
    assert unit_factor("ppb", "o3") == pytest.approx(1.963067, abs=1e-6)
    # CO is reported in mg/m³: 1 ppm = 28.010 / 24.45 = 1.145603 mg/m³
    assert unit_factor("ppm", "co") == pytest.approx(1.145603, abs=1e-6)
    assert unit_factor("µg/m³", "co") == pytest.approx(0.001)
    assert unit_factor("μg/m³", "pm25") == 1.0  # Greek mu spelling
    assert unit_factor("ug/m3", "no2") == 1.0
    assert unit_factor("ppm", "pm10") is None  # particles have no molar mass
    assert unit_factor("ppt", "no2") is None


def test_ppb_converted_to_micrograms() -> None:
    result = parse_pages([page("no2_edge_cases.json", 2002)], SENSORS)
    first = result.frame.set_index("ts").loc[hour(1)]
    # 20 ppb x 46.006 g/mol / 24.45 L/mol = 920.12 / 24.45 = 37.6327 µg/m³
    assert first["no2"] == pytest.approx(37.6327, abs=1e-4)


def test_ppm_co_converted_to_milligrams() -> None:
    result = parse_pages([page("co_ppm.json", 2003)], SENSORS)
    # 0.8 ppm x 28.010 / 24.45 = 22.408 / 24.45 = 0.91648 mg/m³
    assert result.frame["co"].iloc[0] == pytest.approx(0.91648, abs=1e-5)


# ---------------------------------------------------------------- parsing


def test_frame_has_the_parsed_columns_in_beijing_time() -> None:
    result = parse_pages([page("pm25_page1.json", 2001)], SENSORS)
    assert list(result.frame.columns) == list(PARSED_COLUMNS)
    assert str(result.frame["ts"].dt.tz) == str(BEIJING)
    assert result.frame["ts"].iloc[0] == pd.Timestamp("2026-10-01 01:00", tz=BEIJING)
    assert result.frame["pm25_24h"].isna().all()
    assert result.frame["feed_aqi"].isna().all()
    assert result.window is None  # no request parameters, no window given


def test_sensors_of_one_station_become_one_row() -> None:
    result = parse_pages([page("pm25_page1.json", 2001), page("no2_edge_cases.json", 2002),
                          page("co_ppm.json", 2003)], SENSORS)
    at_one = result.frame[result.frame["ts"] == hour(1)]
    assert len(at_one) == 1
    row = at_one.iloc[0]
    assert (row["station_code"], row["pm25"]) == ("1141A", 12.0)
    assert row["no2"] == pytest.approx(37.6327, abs=1e-4)
    assert row["co"] == pytest.approx(0.91648, abs=1e-5)
    assert math.isnan(row["so2"]) and math.isnan(row["o3"])
    assert not result.frame.duplicated(["station_code", "ts"]).any()


def test_null_value_is_a_missing_concentration() -> None:
    result = parse_pages([page("no2_edge_cases.json", 2002)], SENSORS)
    frame = result.frame.set_index("ts")
    assert hour(2) in frame.index
    assert math.isnan(frame.loc[hour(2), "no2"])
    assert frame.loc[hour(2), "source_line"] == 2


def test_edge_cases_are_rejected_with_reasons() -> None:
    result = parse_pages([page("no2_edge_cases.json", 2002)], SENSORS)
    by_line = {r.line: r for r in result.rejects}
    assert sorted(by_line) == [3, 4, 5, 6]
    assert by_line[3].field == "period.interval" and by_line[3].value == "00:15:00"
    assert by_line[4].reason == "coverage below 75% (HJ 663 needs >= 45 min per hour)"
    assert by_line[4].value == "50.0"
    assert by_line[5].field == "parameter.units" and "ppt" in by_line[5].reason
    assert by_line[6].field == "period.datetimeTo"
    assert all('"sensor_id": 2002' in r.raw for r in result.rejects)
    assert list(result.frame["ts"]) == [hour(1), hour(2)]


def test_coverage_threshold_is_configurable() -> None:
    result = parse_pages([page("no2_edge_cases.json", 2002)], SENSORS, min_coverage=50)
    assert 4 not in {r.line for r in result.rejects}
    assert hour(4) in set(result.frame["ts"])


def test_pollutant_mismatch_is_rejected() -> None:
    wrong = [SensorConfig(2001, "1141A", "pm10")]
    result = parse_pages([page("pm25_page1.json", 2001)], wrong)
    assert result.frame.empty
    assert [r.field for r in result.rejects] == ["parameter.name", "parameter.name"]


def test_same_hour_twice_keeps_the_first() -> None:
    result = parse_pages([page("pm25_page1.json", 2001), page("pm25_page1.json", 2001, 2)],
                         SENSORS)
    assert len(result.frame) == 2
    assert [r.line for r in result.rejects] == [1, 2]
    assert all("duplicate pm25" in r.reason for r in result.rejects)


def test_malformed_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"sensor 2001 page 1.*not valid JSON"):
        parse_pages([page("pm25_truncated.json", 2001)], SENSORS)


def test_deeply_nested_page_is_an_input_error() -> None:
    # 10,000 levels inside a real result: a RecursionError traceback before.
    body = fixture("pm25_page1.json").replace(b'"value": 12.0', b'"value": ' + b"[" * 10_000
                                              + b"]" * 10_000, 1)
    with pytest.raises(InputError) as caught:
        parse_pages([(body, {"sensor_id": 2001, "params": {"page": "1"}})], SENSORS)
    assert str(caught.value) == ("OpenAQ sensor 2001 page 1: JSON nested deeper than 100 "
                                 "levels")


def test_duplicate_key_in_a_page_is_an_input_error() -> None:
    # Read leniently, the second "results" (empty) silently replaced the hours.
    text = fixture("pm25_page1.json").decode()
    body = (text.rstrip().removesuffix("}") + ', "results": []}').encode()
    with pytest.raises(InputError, match=r"sensor 2001 page 1, row 1: duplicate key 'results'"):
        parse_pages([(body, {"sensor_id": 2001, "params": {"page": "1"}})], SENSORS)
    # a key repeated inside one result is refused too
    body = fixture("pm25_page1.json").replace(b'"value": 12.0', b'"value": 12.0, "value": 9.0',
                                              1)
    with pytest.raises(InputError, match="duplicate key 'value'"):
        parse_pages([(body, {"sensor_id": 2001, "params": {"page": "1"}})], SENSORS)


def test_missing_results_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no 'results' list.*sensor not found"):
        parse_pages([page("pm25_no_results.json", 2001)], SENSORS)


def test_page_from_an_unconfigured_sensor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="9999"):
        parse_pages([page("pm25_page1.json", 9999)], SENSORS)


def test_explicit_window_is_kept_in_beijing_time() -> None:
    window = (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 9, 30, 22, tzinfo=UTC))
    result = parse_pages([page("pm25_page1.json", 2001)], SENSORS, window=window)
    assert result.window == (START, END)
    assert result.window[0].utcoffset() == timedelta(hours=8)


def test_fetched_page_metadata_is_json_ready() -> None:
    fetched = FetchedPage(url="https://api.openaq.org/v3/sensors/1/hours",
                          params={"page": "1"}, body=b"{}", fetched_at=START, sensor_id=1)
    meta = fetched.metadata()
    assert meta["sensor_id"] == 1 and meta["params"] == {"page": "1"}
    assert meta["fetched_at"] == "2026-10-01T00:00:00+08:00"


def test_sensor_config_refuses_unknown_pollutant() -> None:
    with pytest.raises(ConfigError, match="pm1"):
        SensorConfig(1, "1141A", "pm1")
