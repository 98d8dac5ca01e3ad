"""A scheduled pull fails its task when a batch is failed or incomplete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from envmon.core.errors import SourceError
from envmon.core.ledger import RunRecord
from envmon.core.tasks import summarise_or_fail


def run(status: str, message: str = "") -> RunRecord:
    return RunRecord(run_id=f"r-{status}", dataset="air_hourly", source="demo",
                     files=[f"{status}.csv"], sha256="0" * 64,
                     started_at=datetime(2026, 10, 1, tzinfo=UTC), status=status,
                     rows_in=3, rows_loaded=2, rows_quarantined=1, message=message)


def test_good_runs_are_summarised() -> None:
    summary = summarise_or_fail([run("ok"), run("duplicate")], source="demo", day="2026-10-01")
    assert summary["day"] == "2026-10-01"
    assert [r["status"] for r in summary["runs"]] == ["ok", "duplicate"]
    assert summary["runs"][0]["loaded"] == 2 and summary["runs"][0]["quarantined"] == 1


@pytest.mark.parametrize("status", ["failed", "incomplete"])
def test_bad_batch_fails_the_task_naming_file_and_reason(status: str) -> None:
    with pytest.raises(SourceError, match=f"{status}.csv: {status}: far fewer stations"):
        summarise_or_fail([run("ok"), run(status, "far fewer stations")], source="demo")
