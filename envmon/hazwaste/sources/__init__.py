"""Manifest export readers, one module per format.

Each reader is `(path, *, name, exported_at=None) -> ManifestExport`; `name` is the
delivered file name (landing stores files under their sha256) and
`exported_at` overrides the export time where the format has none (CSV).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from envmon.hazwaste.delivery import ManifestExport

Reader = Callable[..., ManifestExport]


def _json(path: Path, *, name: str, exported_at: datetime | None = None) -> ManifestExport:
    from envmon.hazwaste.sources.manifest_json import parse_manifest_json

    return parse_manifest_json(path, name=name)


def _csv(path: Path, *, name: str, exported_at: datetime | None = None) -> ManifestExport:
    from envmon.hazwaste.sources.manifest_csv import parse_manifest_csv

    return parse_manifest_csv(path, name=name, exported_at=exported_at)


FORMATS: dict[str, Reader] = {"manifest-json": _json, "manifest-csv": _csv}
