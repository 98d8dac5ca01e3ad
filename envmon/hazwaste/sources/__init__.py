"""Manifest export readers, one module per format.

Each reader is `(path, *, name, exported_at=None) -> ManifestExport`; `name` is the
delivered file name (landing stores files under their sha256) and
`exported_at` overrides the export time where the format has none (CSV).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from envmon.core.sources import Format

if TYPE_CHECKING:
    from envmon.hazwaste.delivery import ManifestExport


def _json(path: Path, *, name: str, exported_at: datetime | None = None) -> ManifestExport:
    from envmon.hazwaste.sources.manifest_json import parse_manifest_json

    return parse_manifest_json(path, name=name)


def _csv(path: Path, *, name: str, exported_at: datetime | None = None) -> ManifestExport:
    from envmon.hazwaste.sources.manifest_csv import parse_manifest_csv

    return parse_manifest_csv(path, name=name, exported_at=exported_at)


FORMATS: dict[str, Format] = {
    "manifest-json": Format("a provincial system's JSON export", _json,
                            daily_name="manifests_{date:%Y%m%d}.json"),
    "manifest-csv": Format("the same, one row per waste line", _csv,
                           daily_name="manifests_{date:%Y%m%d}.csv"),
}
