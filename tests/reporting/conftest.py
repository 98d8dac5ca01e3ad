"""The scenario world (tests/reporting/scenario.py), built once per module."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from envmon.core.settings import CONFIG_DIR
from tests.reporting import scenario

# The day the tests run "on": after the report month (2026-10), so the month
# is over and the year is not.
TODAY = date(2026, 11, 15)


def shipped_config() -> dict:
    return yaml.safe_load((CONFIG_DIR / "commitments.yaml").read_text(encoding="utf-8"))


def world_config() -> dict:
    """The shipped commitments with a hazardous-waste capture minimum of 0 (the
    scenario has five manifests on five days) and the shipped example targets."""
    data = copy.deepcopy(shipped_config())
    data["status"]["min_capture"]["hazwaste"] = 0.0
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("reporting_world")
    config = base / "commitments.yaml"
    text = yaml.safe_dump(world_config(), allow_unicode=True, sort_keys=False)
    config.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVMON_HOME", str(base / "home"))
        mp.setenv("ENVMON_REFERENCE_DIR", str(scenario.write_reference(base / "reference")))
        mp.setenv("ENVMON_COMMITMENTS_CONFIG", str(config))
        scenario.build(base / "home")
        yield base / "home"
