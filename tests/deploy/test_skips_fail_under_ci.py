"""Under CI a skip fails the run (tests/conftest.py): the browser and distributed
tests cannot go green in CI by skipping because Chromium or PostgreSQL is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every way a test can skip, an xfail (not a skip), and a skip marked as intended.
SKIPPING = """
import pytest

@pytest.fixture(scope="module")
def chromium():
    pytest.skip("headless Chromium unavailable: apt-get failed")

def test_fixture_skips(chromium):
    pass

def test_skips():
    pytest.skip("PostgreSQL/Redis from Debian packages unavailable")

@pytest.mark.skipif(True, reason="no redis-server")
def test_marked_skipif():
    pass

@pytest.mark.xfail(reason="a known bug")
def test_known_bug():
    assert False

@pytest.mark.may_skip_in_ci
def test_skip_intended_in_ci():
    pytest.skip("not on this platform")
"""
IMPORTORSKIP = """
import pytest

pytest.importorskip("envmon_no_such_module")

def test_never_collected():
    pass
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
        ci: str | None) -> pytest.RunResult:
    """A pytest run of the files above with the project's conftest hooks and CI as given."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_skipping=SKIPPING, test_importorskip=IMPORTORSKIP)
    return pytester.runpytest_subprocess("-p", "tests.conftest", "-rfEs",
                                         "--continue-on-collection-errors")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_skip_fails_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                               ci: str) -> None:
    result = run(pytester, monkeypatch, ci)
    assert result.ret != 0
    # A skip in setup (fixture, marker) fails as an error, one in the test as a failure.
    result.assert_outcomes(failed=1, errors=3, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines_random([
        f"*test_fixture_skips*skipped under CI={ci}, where a skip is a failure*"
        "headless Chromium unavailable: apt-get failed",
        f"*test_skips*skipped under CI={ci}*PostgreSQL/Redis from Debian packages unavailable",
        f"*test_marked_skipif*skipped under CI={ci}*no redis-server",
        f"*test_importorskip.py*skipped under CI={ci}*envmon_no_such_module*",
        "SKIPPED*not on this platform",
    ])


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_a_skip_is_a_skip_elsewhere(pytester: pytest.Pytester,
                                    monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    result = run(pytester, monkeypatch, ci)
    assert result.ret == 0
    result.assert_outcomes(skipped=5, xfailed=1)
    result.stdout.fnmatch_lines_random(["SKIPPED*headless Chromium unavailable*",
                                        "SKIPPED*envmon_no_such_module*"])
