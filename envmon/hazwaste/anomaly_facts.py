"""What every anomaly rule reads and how its rows are shaped: the Facts of one
run (current manifest versions with their lifecycle state, their lines, the
reference registries and the configured rules), the Rule type, and the
helpers that turn a rule's hits into the rows of OUT_COLUMNS (one per
manifest version, line findings joined). The rule modules and the runner in
anomalies.py all import it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from envmon.hazwaste.settings import Rules

OUT_COLUMNS = ("manifest_no", "version", "fields", "detail")
EPS = 1e-9


@dataclass
class Facts:
    """What the rules look at. Times are tz-aware (Beijing)."""

    manifests: pd.DataFrame  # current versions: header, state times, geography, as_of
    lines: pd.DataFrame  # lines of those versions, with category, code_known
    orphan_events: pd.DataFrame  # status updates naming no stored manifest
    approvals: pd.DataFrame  # effective approvals (delivered over reference)
    facilities: pd.DataFrame
    whitelist: pd.DataFrame
    provinces: pd.DataFrame
    rules: Rules
    # Cross-province manifests joined to their approvals: five rules read it.
    _approval_matches: pd.DataFrame | None = None


Rule = Callable[[Facts], pd.DataFrame]


def finding_rows(frame: pd.DataFrame, fields: str, detail) -> pd.DataFrame:
    return pd.DataFrame({"manifest_no": frame["manifest_no"].to_numpy(),
                         "version": frame["version"].to_numpy(), "fields": fields,
                         "detail": list(detail)}, columns=list(OUT_COLUMNS))


def no_findings() -> pd.DataFrame:
    return pd.DataFrame(columns=list(OUT_COLUMNS))


def per_manifest(lines: pd.DataFrame, fields: str, suffix: str = "") -> pd.DataFrame:
    """Line findings -> one row per manifest version, details joined."""
    if lines.empty:
        return no_findings()
    grouped = lines.groupby(["manifest_no", "version"], sort=False)["_text"].agg(
        "; ".join).reset_index()
    return pd.DataFrame({"manifest_no": grouped["manifest_no"], "version": grouped["version"],
                         "fields": fields, "detail": grouped["_text"] + suffix})
