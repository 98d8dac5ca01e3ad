"""`envmon registry import`: a station or section list as published -> envmon's registry files.

    envmon registry import air-stations FILE [--out DIR] [--dry-run]
    envmon registry import water-sections FILE... [--out DIR] [--dry-run]

air-stations reads the national air station list in the form it is
distributed (站点列表-YYYY.MM.DD起.csv): a header row
`监测点编码,监测点名称,城市,经度,纬度[,对照点]`, UTF-8 (with or without BOM) or
GB18030, `-` or an empty cell for a missing coordinate. It writes
`DIR/air/stations.csv` (formerly `DIR/air_stations.csv`, which it then
replaces and names in the report) with the stations of the region's 41 cities:

- 城市 is a name without 市 (上海, 苏州, 宿州), or a county-level city
  (昆山, 江阴, 义乌), or a former one that is now a district (吴江, 临安);
  reference/common/cities.csv and reference/common/county_cities.csv give its
  city_code.
  A name in neither (a city outside the region) is counted, skipped and
  named in the report.
- A code listed twice keeps its first row; the others are listed, not fatal.
- Names are kept as published (notes such as `(停运150702)` included).

water-sections reads sections as the real-time release lists them: its JSON
pages ({thead, tbody}: 省份, 流域, 断面名称 whose span title gives
所在地市/所属河流), or a CSV with 省份,流域,断面名称 and optionally 所在地市,
所属河流 and 水体类型 (河流/湖库). It merges them into `DIR/water/sections.csv`:
a section already in the registry (same province and name) keeps its code
and every column a bureau set; a new one gets the next code of its province
(W<2 province digits><3 digits>) and `to_fill` names what the list did not
give. Sections in the registry but not in the list are kept and reported.
Lake or river is only written when the list says so (水体类型); otherwise it
is left empty and the loader guesses from the name, visibly
(water_type_source = guessed-from-name).

DIR defaults to $ENVMON_REFERENCE_DIR, the directory whose files override the
bundled reference/ (the repository copy is never written by default). The
file written is checked by the registry loader before it replaces anything.

The package: `common` (report, reading a published list, writing a file),
`air` (stations), `water` (sections); this module is the command line.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from envmon.core.errors import ConfigError
from envmon.registry.air import import_air_stations
from envmon.registry.common import Report
from envmon.registry.water import import_water_sections

__all__ = ["Report", "configure", "import_air_stations", "import_water_sections"]


def configure(sub: argparse._SubParsersAction) -> None:
    """Register `envmon registry import ...` on the top-level parser."""
    registry = sub.add_parser("registry", help="import published station or section lists",
                              description="Turn a published list into envmon's registry files.")
    actions = registry.add_subparsers(title="actions", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import", help="read a published list, write the registry file",
        description="Read a station or section list in its published form and write envmon's "
                    "registry file into --out DIR (default $ENVMON_REFERENCE_DIR). Stations "
                    "and sections outside the region's 41 cities are counted and skipped, "
                    "duplicates reported (the first kept); the file is checked by the "
                    "registry loader before it replaces anything.")
    kinds = imp.add_subparsers(title="lists", metavar="LIST", required=True)
    air = kinds.add_parser("air-stations", help="national air station list (站点列表 CSV)")
    air.add_argument("file", type=Path, metavar="FILE")
    water = kinds.add_parser("water-sections",
                             help="surface-water sections (release JSON pages or CSV)")
    water.add_argument("file", type=Path, nargs="+", metavar="FILE")
    for one, handler in ((air, _cmd_air), (water, _cmd_water)):
        one.add_argument("--out", type=Path, metavar="DIR",
                         help="reference directory to write (default: $ENVMON_REFERENCE_DIR)")
        one.add_argument("--dry-run", action="store_true", help="report only, write nothing")
        one.set_defaults(handler=handler)


def _cmd_air(args: argparse.Namespace) -> int:
    report = import_air_stations(args.file, _out_dir(args), dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _cmd_water(args: argparse.Namespace) -> int:
    report = import_water_sections(args.file, _out_dir(args), dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


def _out_dir(args: argparse.Namespace) -> Path:
    from envmon.core.reference import REFERENCE_DIR_ENV

    if args.out is not None:
        return args.out
    configured = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    if args.dry_run:
        return Path(".")
    raise ConfigError(f"give --out DIR or set {REFERENCE_DIR_ENV}: the import writes a "
                      "registry of your own, not the bundled reference/")
