"""Reports kept in the lakehouse, so any host can hand out one written on another.

A report is written as files (report.html and its CSV exports in
report_csv/) on the host that computed it. With workers that share no file
system (docker-compose.yml), that host is whichever worker ran the task, so
on the lakehouse the same bytes are also stored in the `reports` table, one
row per file, each (report period, area) replaced whole in one transaction:
`envmon reports get` writes them out on any host.

On the files layout there is one ENVMON_HOME, and the report's files are the
copy everyone reads: nothing more is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from envmon.core import lake_tables, lakehouse
from envmon.core.errors import EnvmonError
from envmon.core.names import checked_component

TABLE = "reports"
SCHEMA = pa.schema([
    ("report_period", pa.string()),  # YYYY-MM
    ("region", pa.string()),  # the area's code: the region's (yrd) or an adcode
    # The file's path beside the HTML, as written (report.html, report_csv/x.csv
    # by default): the HTML links to its CSV folder by that name.
    ("name", pa.string()),
    ("content", pa.binary()),
    ("written_at", pa.timestamp("us", tz="UTC")),
])


@dataclass(frozen=True)
class Published:
    report_period: str
    region: str
    files: int
    written_at: datetime


def publish(report_period: str, region: str, html: Path, csv_dir: Path) -> Published | None:
    """Store the report's HTML and CSV files (lakehouse only; None on files)."""
    if not lakehouse.active():
        return None
    now = datetime.now(UTC)
    files = [html, *sorted(p for p in csv_dir.glob("*") if p.is_file())]
    rows = [{"report_period": report_period, "region": region,
             "name": path.relative_to(html.parent).as_posix(),
             "content": path.read_bytes(), "written_at": now} for path in files]
    # The bytes go to data files, not into the catalog's rows.
    lake_tables.ensure_table(TABLE, SCHEMA, inline=False)
    lake_tables.rewrite(TABLE, pa.Table.from_pylist(rows, schema=SCHEMA),
                        report_period=report_period, region=region)
    return Published(report_period, region, len(rows), now)


def fetch(report_period: str, region: str, out_dir: Path) -> list[Path]:
    """Write the stored report into `out_dir` (report.html, report_csv/...); the
    HTML file first."""
    _require_lakehouse()
    table = lake_tables.select_arrow(
        TABLE, "SELECT name, content FROM {table} WHERE report_period = ? AND region = ? "
        "ORDER BY NOT ends_with(name, '.html'), name", [report_period, region])
    if table is None or not len(table):
        have = listing()
        known = ", ".join(f"{p.report_period} {p.region}" for p in have[:12]) or "none yet"
        raise EnvmonError(f"no report stored for {report_period} {region} (stored: {known})")
    from envmon.reporting.render import write_public

    written = []
    for name, content in zip(table["name"].to_pylist(), table["content"].to_pylist(),
                             strict=True):
        # Names come from the table: each part must stay inside out_dir.
        parts = [checked_component(part, "report file") for part in name.split("/")]
        path = out_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_public(path, content)
        written.append(path)
    return written


def listing() -> list[Published]:
    """The stored reports, newest period first."""
    _require_lakehouse()
    rows = lake_tables.select(
        TABLE, "SELECT report_period, region, count(*), max(written_at) FROM {table} "
        "GROUP BY ALL ORDER BY report_period DESC, region")
    return [Published(*row) for row in rows]


def _require_lakehouse() -> None:
    if not lakehouse.active():
        raise EnvmonError("reports are kept in the lakehouse only; on the files storage the "
                          "report is the file `envmon report` wrote")
