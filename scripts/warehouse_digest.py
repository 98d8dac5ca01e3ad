"""A digest of every warehouse view, to show a refactor left the outputs unchanged.

    python scripts/warehouse_digest.py HOME [--ignore VIEW.COLUMN ...] > digest.json
    python scripts/warehouse_digest.py --compare before.json after.json

Views in `main` are listed by name, views in other schemas (the layers raw,
curated, marts: docs/warehouse.md) as SCHEMA.VIEW. --compare fails on any
difference in main, and on a schema view that changed or went away; a
schema view that only the second digest has is listed as new, not a failure
(main is what analysts query unqualified).

Per view: its columns in order, its row count, and a SHA-256 of each
column's values (rendered as text, the home directory replaced by `$HOME`,
sorted) and of its rows (every column not ignored, rows sorted). Columns that
differ between two runs of the same code on the same month (run ids, wall
clock times) are passed with --ignore: they are hashed column-wise only
under a name that says so, and left out of the row hash (VIEW.COLUMN also
covers SCHEMA.VIEW). Per report file
under HOME/reports: a SHA-256 of its text without the generation time
and wall-clock stamps, CSV lines sorted (rows that tie keep no fixed order).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

# Set by the pipeline's clock or random ids, not by the data: differ between
# two runs of the same code (measured: two demo runs of one commit).
VOLATILE = {
    "air_hourly.run_id", "water_readings.run_id", "hw_approvals.run_id",
    "hw_manifest_copies.run_id", "ingest_runs.run_id", "ingest_runs.started_at",
    "ingest_runs.finished_at", "ingest_runs.duration_s", "ingest_runs.timings",
    "ingest_runs.files", "quarantine.run_id", "quarantine.file",
    "quarantine.quarantined_at", "commitment_status.computed_at",
    "commitment_status_latest.computed_at", "alerts.alert_id", "alerts.first_raised_at",
    "alerts.last_seen_at", "alerts.resolved_at", "alerts.last_run_id",
    "alert_events.event_id", "alert_events.run_id", "alert_events.alert_id",
    "alert_events.notice_id", "alert_events.at", "alert_events.created_at",
}


def _text(value: object, home: str) -> str:
    return "\x00" if value is None else str(value).replace(home, "$HOME")


def digest(home: Path, ignore: set[str]) -> dict[str, dict]:
    # envmon's own read-only connection: with ENVMON_STORAGE=lakehouse it
    # attaches the lakehouse the views read (the embedded one is under `home`).
    os.environ["ENVMON_HOME"] = str(home)
    from envmon.core.warehouse import connect_read_only

    con = connect_read_only(home / "warehouse.duckdb")
    out: dict[str, dict] = {}
    try:
        views = con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
            "ORDER BY schema_name <> 'main', schema_name, view_name").fetchall()
        for schema, name in views:
            view = name if schema == "main" else f"{schema}.{name}"
            relation = f'"{schema}"."{name}"'
            columns = [c for (c, *_) in con.execute(f"DESCRIBE {relation}").fetchall()]
            rows = con.execute(f"SELECT * FROM {relation}").fetchall()
            texts = [[_text(v, str(home)) for v in row] for row in rows]
            kept = [i for i, c in enumerate(columns) if f"{name}.{c}" not in ignore
                    and f"{view}.{c}" not in ignore]
            row_lines = sorted("\x1f".join(r[i] for i in kept) for r in texts)
            entry = {"columns": columns, "rows": len(rows),
                     "row_hash": _sha("\n".join(row_lines)), "column_hash": {}}
            for i, column in enumerate(columns):
                name = column if i in kept else f"{column} (ignored)"
                entry["column_hash"][name] = _sha("\n".join(sorted(r[i] for r in texts)))
            out[view] = entry
    finally:
        con.close()
    return out


def report_digest(home: Path) -> dict[str, str]:
    """Report file (relative path) -> SHA-256 of its comparable text."""
    out = {}
    for path in sorted((home / "reports").rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8").replace(str(home), "$HOME")
        if path.suffix == ".csv":
            text = "\n".join(sorted(text.splitlines()))
        text = re.sub(r"generated 生成 [0-9-]+ [0-9:]+ UTC", "generated", text)
        # the checkout the report was made from ("configuration /…/config/x.yaml")
        text = re.sub(r"\S*/config/", "config/", text)
        # wall-clock stamps (computed_at, last_seen_at): microseconds, UTC
        text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00", "<clock>", text)
        out[str(path.relative_to(home))] = _sha(text)
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare(before: dict, after: dict) -> list[str]:
    """What differs, one line each; empty when the warehouses agree."""
    reports_b, reports_a = before.pop("$reports", {}), after.pop("$reports", {})
    lines = [f"report {name} differs" for name in sorted(set(reports_b) | set(reports_a))
             if reports_b.get(name) != reports_a.get(name)]
    lines += [f"view {v} only before" for v in sorted(set(before) - set(after))]
    lines += [f"view {v} only after" for v in sorted(set(after) - set(before)) if "." not in v]
    # A layer's view and its name in main are one view: they must agree.
    lines += [f"view {v} differs from {v.split('.', 1)[1]} in main" for v in sorted(after)
              if "." in v and v.split(".", 1)[1] in after
              and after[v]["row_hash"] != after[v.split(".", 1)[1]]["row_hash"]]
    for view in sorted(set(before) & set(after)):
        b, a = before[view], after[view]
        if b["columns"] != a["columns"]:
            lines.append(f"{view}: columns {b['columns']} -> {a['columns']}")
            continue
        if b["rows"] != a["rows"]:
            lines.append(f"{view}: {b['rows']} rows -> {a['rows']}")
        if b["row_hash"] != a["row_hash"]:
            changed = [c for c, h in b["column_hash"].items()
                       if "(ignored)" not in c and a["column_hash"].get(c) != h]
            lines.append(f"{view}: rows differ (columns {changed or 'paired differently'})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", nargs="?", type=Path)
    parser.add_argument("--ignore", nargs="*", default=[], help="VIEW.COLUMN to leave out")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        new = sorted(v for v in set(after) - set(before) if "." in v)
        lines = compare(before, after)
        if new:
            print(f"new views in other schemas ({len(new)}): {', '.join(new)}")
        print("\n".join(lines) if lines else f"identical: {len(before)} views")
        return 1 if lines else 0
    if args.home is None:
        parser.error("give HOME or --compare")
    home = args.home.resolve()
    out = digest(home, VOLATILE | set(args.ignore))
    out["$reports"] = report_digest(home)
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
