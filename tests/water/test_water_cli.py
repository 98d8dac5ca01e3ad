"""`envmon ingest water` and `envmon pull water` through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from envmon.cli import main
from tests.support import stored

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "water"


def test_ingest_with_fetched_at(envmon_home: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["ingest", "water", "--format", "cnemc-water", "--no-data-docs",
                 "--fetched-at", "2027-01-01T05:10:00+08:00",
                 str(FIXTURES / "cnemc" / "year_boundary.json")])
    assert code == 0
    assert "year_boundary.json: ok, 2 rows loaded" in capsys.readouterr().out
    months = stored.query("SELECT month FROM water_section_monthly ORDER BY 1")
    assert months == [("2026-12",), ("2027-01",)]


def test_bad_input_is_one_line_and_exit_1(envmon_home: Path, capsys: pytest.CaptureFixture
                                          ) -> None:
    code = main(["ingest", "water", "--format", "cnemc-water", "--fetched-at", "yesterday",
                 str(FIXTURES / "cnemc" / "realtime_p1.json")])
    err = capsys.readouterr().err
    assert code == 1 and "--fetched-at 'yesterday' is not an ISO timestamp" in err
    code = main(["ingest", "water", "--format", "lab-monthly", "--no-data-docs",
                 str(FIXTURES / "lab" / "lab_unknown_item.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "lab_unknown_item.csv" in err and "钼(mg/L)" in err
    assert "Traceback" not in err


def test_pull_demo(envmon_home: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["pull", "water", "--source", "demo", "--at", "2026-10-05T08:30",
                 "--no-data-docs"])
    assert code == 0
    assert "cnemc_water_20261005T0830.json: ok" in capsys.readouterr().out
