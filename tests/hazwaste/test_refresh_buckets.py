"""The refresh in buckets of manifest numbers gives what one pass over everything gives.

The demo month is loaded once without a refresh; the derived datasets are
then recomputed in one bucket and in many small ones (so that versions,
status updates, approvals and receivers spread over buckets), and must be
the same row for row, up to row order.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from envmon.hazwaste.anomalies import CUMULATIVE
from tests.hazwaste.conftest import ingest_demo_month, lake

DERIVED = ("hw_manifest_state", "hw_anomalies", "hw_flows")
ONE_BUCKET = 10**9


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("hazwaste_buckets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVMON_HOME", str(home))
        ingest_demo_month(home, refresh=False)
        yield home


def derived(home: Path) -> dict[str, pd.DataFrame]:
    """Each derived dataset, its rows sorted on every column."""
    out = {}
    for name in DERIVED:
        rows = lake(home, name).drop(columns="_part")
        out[name] = rows.sort_values(list(rows.columns)).reset_index(drop=True)
    return out


def parts(home: Path) -> set[str]:
    return {f"{part}.parquet" for name in DERIVED for part in lake(home, name)["_part"]}


def test_many_buckets_give_the_rows_of_one(demo_home: Path) -> None:
    from envmon.hazwaste.derive import refresh

    whole = refresh(bucket_manifests=ONE_BUCKET)
    expected = derived(demo_home)
    assert whole["buckets"] == 1 and whole["manifests"] > 8000
    # The cumulative rules are the ones buckets could break: the demo plants both.
    assert set(CUMULATIVE) <= set(expected["hw_anomalies"]["anomaly"])

    split = refresh(bucket_manifests=500)
    assert split["buckets"] > 15
    assert {k: split[k] for k in ("manifests", "versions", "anomalies")} == {
        k: whole[k] for k in ("manifests", "versions", "anomalies")}
    got = derived(demo_home)
    for name in DERIVED:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    assert {"derived.b000.parquet", "derived.b015.parquet"} <= parts(demo_home)


def test_fewer_buckets_remove_the_parts_of_more(demo_home: Path) -> None:
    from envmon.hazwaste.derive import refresh

    refresh(bucket_manifests=500)
    many = derived(demo_home)
    refresh(bucket_manifests=ONE_BUCKET)
    assert parts(demo_home) == {"derived.b000.parquet", "derived.parquet"}
    for name, rows in derived(demo_home).items():
        pd.testing.assert_frame_equal(rows, many[name], obj=name)
