"""`envmon report` on the scenario world: one self-contained HTML file and its CSVs."""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

import pytest

from envmon.core.errors import ConfigError
from envmon.reporting.cli import configure
from envmon.reporting.report import write_report
from tests.reporting.conftest import TODAY

# Anything that would make the browser fetch something: a URL with a scheme
# or protocol-relative in src/href/url(), a stylesheet link, an @import.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|url\(\s*["']?"""
                      r"""\s*(?:[a-z]+:)?//|<link\b|@import|<iframe\b|<img\b""", re.I)


@pytest.fixture(scope="module")
def report(world: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out") / "october.html"
    return write_report("2026-10", out=out, today=TODAY)


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: UTF-8 BOM for spreadsheets"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_html_is_self_contained(report) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert "<script src" not in html
    # the charts are inline SVG, counted for the browser check
    assert html.count('<svg class="chart"') == report.charts
    assert f'data-charts-expected="{report.charts}"' in html
    # PM2.5 panels for the 3 cities + status, calendar, water, flows, alerts
    assert report.charts == 3 + 5


def test_html_has_both_languages_and_every_section(report) -> None:
    html = report.html.read_text(encoding="utf-8")
    for text in ("Joint-protection commitments: Yangtze River Delta, October 2026",
                 "长三角地区生态环境共保联治目标进展 2026年10月", "EXAMPLE TARGETS 示例目标",
                 "PM2.5 annual mean", "PM2.5年均浓度", "missed 未达标", "at risk 有风险",
                 'id="status"', 'id="pm25"', 'id="aqi"', 'id="water"', 'id="hw"',
                 'id="alerts"', 'id="definitions"', "Nanjing 南京市", "Hangzhou 杭州市"):
        assert text in html, text
    # every CSV export is linked, relative to the HTML
    for name in ("status.csv", "aqi_calendar.csv", "hw_flows.csv", "open_anomalies.csv"):
        assert f"href='october_csv/{name}'" in html


def test_csv_exports(report) -> None:
    assert report.csv_dir == report.html.with_name("october_csv")
    status = read_csv(report.csv_dir / "status.csv")
    assert len(status) == 15  # one per indicator, for the region
    pm25 = next(r for r in status if r["indicator"] == "pm25_mean")
    assert (pm25["month_value"], pm25["month_status"]) == ("35.0", "missed")
    full = read_csv(report.csv_dir / "commitment_status.csv")
    assert {r["region"] for r in full} == {"320100", "320200", "330100", "320000", "330000",
                                           "yrd"}
    # valid PM2.5 days from January: Nanjing 304, Wuxi 31, Hangzhou 300
    assert len(read_csv(report.csv_dir / "pm25_daily.csv")) == 304 + 31 + 300
    calendar = read_csv(report.csv_dir / "aqi_calendar.csv")
    assert len(calendar) == 3 * 31
    heavy = [r for r in calendar if r["city_code"] == "320100" and r["category"] ==
             "heavily polluted"]
    assert len(heavy) == 6 and heavy[0]["category_zh"] == "重度污染"  # AQI 220, 10-01..06
    water = read_csv(report.csv_dir / "water_sections.csv")
    assert {r["section_code"] for r in water} == {"S1", "S2"}  # cross-boundary only
    s1_october = next(r for r in water if r["section_code"] == "S1" and r["month"] == "2026-10")
    assert (s1_october["water_class"], s1_october["compliant"]) == ("IV", "False")
    flows = read_csv(report.csv_dir / "hw_flows.csv")
    by_pair = {(r["origin"], r["destination"]): r for r in flows}
    assert by_pair[("Jiangsu", "Zhejiang")]["manifests"] == "4"
    assert float(by_pair[("Jiangsu", "Zhejiang")]["shipped_t"]) == 8.0
    assert by_pair[("Jiangsu", "Jiangsu")]["manifests"] == "1"
    anomalies = read_csv(report.csv_dir / "open_anomalies.csv")
    assert [(r["manifest_no"], r["anomaly"]) for r in anomalies] == [
        ("20263201000002", "xprov_no_approval")]
    assert read_csv(report.csv_dir / "open_alerts.csv") == []  # no alert store here


def test_province_report(world: Path, tmp_path: Path) -> None:
    result = write_report("2026-10", region="330000", out=tmp_path / "zj.html", today=TODAY)
    html = result.html.read_text(encoding="utf-8")
    assert "Joint-protection commitments: Zhejiang, October 2026" in html
    assert result.charts == 1 + 5  # Hangzhou's panel and the five others
    calendar = read_csv(result.csv_dir / "aqi_calendar.csv")
    assert {r["city_code"] for r in calendar} == {"330100"}
    # S1 flows into Zhejiang, S2 leaves it: both touch the province
    assert {r["section_code"] for r in read_csv(result.csv_dir / "water_sections.csv")} == \
        {"S1", "S2"}
    by_area = read_csv(result.csv_dir / "status_by_area.csv")
    assert {r["region"] for r in by_area} == {"330100"}  # the cities of the province


def test_default_path_and_cli(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    configure(parser.add_subparsers())
    args = parser.parse_args(["report", "--period", "2026-10", "--region", "320000",
                              "--as-of", "2026-10-31"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    expected = world / "reports" / "2026-10" / "320000" / "report.html"
    assert f"report: {expected}" in out and expected.is_file()
    assert "month:" in out and "missed 未达标" in out
    assert (expected.stat().st_mode & 0o777) == 0o644  # a published file


def test_reports_get_writes_out_the_stored_report(report, world: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """On the lakehouse a report is also kept as bytes, for hosts that did not
    write it; on files the written files are the only copy, and `get` says so."""
    from envmon.core import lakehouse
    from envmon.core.errors import EnvmonError
    from envmon.reporting.cli import configure_reports

    parser = argparse.ArgumentParser()
    configure_reports(parser.add_subparsers())
    get = parser.parse_args(["reports", "get", "--period", "2026-10", "--out",
                             str(tmp_path / "got")])
    if not lakehouse.active():
        assert report.published is None
        for argv in (get, parser.parse_args(["reports", "list"])):
            with pytest.raises(EnvmonError, match="kept in the lakehouse only"):
                argv.handler(argv)
        assert not (world / "lakehouse").exists()  # nothing started beside the files
        return
    assert report.published is not None and report.published.region == "yrd"
    capsys.readouterr()
    assert get.handler(get) == 0
    got = tmp_path / "got" / report.html.name  # october.html: its links name october_csv/
    assert f"report 2026-10 yrd: {got} (" in capsys.readouterr().out
    assert got.read_bytes() == report.html.read_bytes()
    assert sorted(p.name for p in (got.parent / report.csv_dir.name).iterdir()) == \
        sorted(p.name for p in report.csv_dir.iterdir())
    assert (got.stat().st_mode & 0o777) == 0o644
    listing = parser.parse_args(["reports", "list"])
    capsys.readouterr()
    assert listing.handler(listing) == 0
    assert re.search(r"^2026-10  yrd\s+\d+ files  written ", capsys.readouterr().out, re.M)
    other = parser.parse_args(["reports", "get", "--period", "2026-01", "--out",
                               str(tmp_path / "none")])
    with pytest.raises(EnvmonError, match=r"no report stored for 2026-01 yrd \(stored: "
                                          r".*2026-10 yrd"):
        other.handler(other)


@pytest.mark.parametrize(("argv", "message"), [
    (["--period", "2026-13"], "--period must be a month YYYY-MM, not '2026-13'"),
    (["--period", "202610"], "--period must be a month YYYY-MM, not '202610'"),
    (["--period", "2026-10", "--region", "999999"], "unknown region '999999'"),
    (["--period", "2099-01"], "period 2099-01 has not started yet"),
])
def test_bad_arguments_are_one_line_errors(world: Path, argv, message) -> None:
    parser = argparse.ArgumentParser()
    configure(parser.add_subparsers())
    args = parser.parse_args(["report", *argv])
    with pytest.raises(ConfigError, match=re.escape(message)):
        args.handler(args)


def test_no_warehouse_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envmon.core.errors import EnvmonError

    monkeypatch.setenv("ENVMON_HOME", str(tmp_path / "empty"))
    with pytest.raises(EnvmonError, match="no warehouse yet"):
        write_report("2026-10", today=TODAY)
