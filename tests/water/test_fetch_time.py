"""Issue 12, finding 1: an archived release page loaded without --fetched-at.

The page carries no year (监测时间 is `MM-DD HH:MM`) and no other date, so
its fetch time cannot be read from it. Without --fetched-at or a recorded
fetch time, envmon falls back on the file's modification time; when that
puts none of the readings in the window, the guess is wrong, and the
delivery fails with one line naming --fetched-at instead of quarantining
every reading as "outside the window".
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from envmon.cli import main
from envmon.core.errors import InputError
from envmon.core.landing import land_bytes
from envmon.core.timeutil import BEIJING
from envmon.water.ingest import ingest_files
from envmon.water.sources.cnemc_water import Page, parse_pages
from tests.water.pages import row, write
from tests.water.test_water_ingest import lake, quarantine

DAY = timedelta(days=1)
FETCHED = datetime(2026, 10, 14, 9, 0, tzinfo=BEIJING)
# The archive copied the page on 5 December: its modification time says so.
COPIED = datetime(2026, 12, 5, 10, 30, tzinfo=BEIJING)
MESSAGE = ("cnemc_water_p1.json: readings carry no year (MM-DD HH:MM); the file's time "
           "2026-12-05 puts none of them in the last 31 days: pass --fetched-at with the time "
           "the page was fetched")


def archived_page(directory: Path, stamps: tuple[str, ...] = ("10-14 08:00",) * 3
                  + ("10-14 04:00",), modified: datetime = COPIED) -> Path:
    """A release page as fetched on 14 October, with the modification time of its copy."""
    codes = ("YW001", "YW002", "YW009", "YW016")
    path = write(directory / "cnemc_water_p1.json",
                 [row(code, stamp) for code, stamp in zip(codes, stamps, strict=True)])
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def test_archived_page_fails_naming_fetched_at_and_quarantines_nothing(
        envmon_home: Path, tmp_path: Path) -> None:
    path = archived_page(tmp_path)
    [record] = ingest_files([path], "cnemc-water", data_docs=False)
    assert (record.status, record.message) == ("failed", MESSAGE)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (0, 0, 0)
    assert quarantine(envmon_home).empty and lake(envmon_home).empty
    # The failed run left no loaded marker: with the fetch time the same bytes load.
    [again] = ingest_files([path], "cnemc-water", fetched_at=FETCHED, data_docs=False)
    assert again.status == "ok" and again.rows_loaded == 4
    assert sorted(lake(envmon_home)["ts"].unique()) == [
        datetime(2026, 10, 14, 4, tzinfo=BEIJING), datetime(2026, 10, 14, 8, tzinfo=BEIJING)]


def test_the_command_line_prints_one_line_and_exits_1(envmon_home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    code = main(["ingest", "water", "--format", "cnemc-water", "--no-data-docs",
                 str(archived_page(tmp_path))])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [f"  error: {MESSAGE}"]


def test_a_page_copied_soon_after_its_fetch_loads_by_its_file_time(
        envmon_home: Path, tmp_path: Path) -> None:
    # Some readings fall in the window of the file's time: the guess holds, and
    # a station that has reported nothing for 43 days is quarantined as before.
    path = archived_page(tmp_path, ("10-14 08:00", "10-14 08:00", "10-14 04:00", "09-01 08:00"),
                         modified=FETCHED + timedelta(minutes=5))
    [record] = ingest_files([path], "cnemc-water", data_docs=False)
    assert record.status == "ok" and (record.rows_loaded, record.rows_quarantined) == (3, 1)
    q = quarantine(envmon_home)
    assert list(q["field"]) == ["ts"] and "before the start of the window" in q["reason"][0]


def test_a_recorded_fetch_time_is_trusted_as_before(envmon_home: Path, tmp_path: Path) -> None:
    # A pull records when it fetched: readings outside its window are stale
    # readings, quarantined one by one, not a guessed year.
    path = archived_page(tmp_path)
    land_bytes(path.read_bytes(), domain="water", source="cnemc-water", name=path.name,
               meta={"fetched_at": COPIED.isoformat()})
    [record] = ingest_files([path], "cnemc-water", data_docs=False)
    assert record.status == "failed" and record.rows_quarantined == 4
    assert set(quarantine(envmon_home)["field"]) == {"ts"}
    assert "--fetched-at" not in record.message


def test_given_fetched_at_outside_the_window_is_trusted_too(envmon_home: Path,
                                                             tmp_path: Path) -> None:
    [record] = ingest_files([archived_page(tmp_path)], "cnemc-water", fetched_at=COPIED,
                            data_docs=False)
    assert record.status == "failed" and record.rows_quarantined == 4
    assert "--fetched-at" not in record.message


def test_parser_refuses_a_file_time_that_puts_no_reading_in_the_window(tmp_path: Path) -> None:
    page = Page(archived_page(tmp_path).read_bytes(), "cnemc_water_p1.json")
    with pytest.raises(InputError) as caught:
        parse_pages([page], fetched_at=COPIED, tolerance=DAY, max_age=31 * DAY,
                    fetched_at_is_file_time=True)
    assert str(caught.value) == MESSAGE
    # The same time given by the user is trusted: the checks judge the window.
    trusted = parse_pages([page], fetched_at=COPIED, tolerance=DAY, max_age=31 * DAY)
    assert len(trusted.frame) == 4 and trusted.rejects == []


def test_dated_readings_say_so_in_the_message(tmp_path: Path) -> None:
    # A page whose 监测时间 carries a year is not guessed, but its window is.
    path = archived_page(tmp_path, ("2025-10-14 08:00",) * 2 + ("2025-10-13 20:00",) * 2)
    with pytest.raises(InputError) as caught:
        parse_pages([Page(path.read_bytes(), path.name)], fetched_at=COPIED, tolerance=DAY,
                    max_age=31 * DAY, fetched_at_is_file_time=True)
    assert str(caught.value) == (
        "cnemc_water_p1.json: readings dated 2025-10-13 to 2025-10-14; the file's time "
        "2026-12-05 puts none of them in the last 31 days: pass --fetched-at with the time the "
        "page was fetched")
