"""The report in headless Chromium (Debian's package): every chart drew, no script failed.

scripts/ensure_chromium.sh installs `chromium` (and a CJK font) with apt-get
when it is missing; the test is skipped, saying why, only when that fails
(under CI that skip is a failure, tests/conftest.py).
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from envmon.reporting.report import write_report
from tests.reporting.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def chromium() -> str:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_chromium.sh")],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"headless Chromium unavailable: {done.stderr.strip()[-300:]}")
    return done.stdout.strip().splitlines()[-1]


def run_chromium(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def dump_dom(browser: str, tmp: Path, html: Path) -> str:
    done = run_chromium(browser, tmp, "--dump-dom", html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def chart_check(dom: str) -> tuple[int, int | None, str | None]:
    """(charts expected, charts the script says drew, the error marker's text)."""
    body = re.search(r"<body([^>]*)>", dom)
    assert body, "no <body> in the dumped DOM"
    attrs = body.group(1)
    expected = int(re.search(r'data-charts-expected="(\d+)"', attrs).group(1))
    drawn = re.search(r'data-charts-drawn="(\d+)"', attrs)
    error = re.search(r'<div id="script-error"[^>]*>([^<]*)</div>', dom)
    return expected, int(drawn.group(1)) if drawn else None, error.group(1) if error else None


@pytest.fixture(scope="module")
def report(world: Path, tmp_path_factory: pytest.TempPathFactory):
    return write_report("2026-10", out=tmp_path_factory.mktemp("browser") / "report.html",
                        today=TODAY)


def test_every_chart_draws_and_no_script_fails(chromium: str, report, tmp_path: Path) -> None:
    dom = dump_dom(chromium, tmp_path, report.html)
    expected, drawn, error = chart_check(dom)
    assert error is None, error
    assert expected == report.charts == 8
    assert drawn == expected
    assert dom.count('data-drawn="1"') == expected


def test_a_failing_script_is_caught(chromium: str, report, tmp_path: Path) -> None:
    """The check can fail: a script error leaves the marker, and a chart the
    browser cannot lay out is not counted."""
    html = report.html.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(html.replace('<div id="tip"', '<script>window.noSuchThing.call();</script>'
                                                    '<div id="tip"', 1), encoding="utf-8")
    _, _, error = chart_check(dump_dom(chromium, tmp_path, broken))
    assert error and "TypeError" in error
    hidden = tmp_path / "hidden.html"
    hidden.write_text(html.replace('<svg class="chart"', '<svg style="display:none" '
                                                         'class="chart"', 1), encoding="utf-8")
    expected, drawn, error = chart_check(dump_dom(chromium, tmp_path, hidden))
    assert error is None and drawn == expected - 1


def test_screenshot(chromium: str, report, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = run_chromium(chromium, tmp_path, "--hide-scrollbars", "--window-size=1360,2200",
                        f"--screenshot={shot}", report.html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (1360, 2200)
    assert len(data) > 50_000, "a blank page compresses to a few kB"
