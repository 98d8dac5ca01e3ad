"""Small real-time release pages written by hand, in the release's shape."""

from __future__ import annotations

import json
from pathlib import Path

THEAD = ["省份", "流域", "断面名称", "监测时间", "水质类别", "水温(℃)", "pH(无量纲)",
         "溶解氧(mg/L)", "电导率(μS/cm)", "浊度(NTU)", "高锰酸盐指数(mg/L)", "氨氮(mg/L)",
         "总磷(mg/L)", "总氮(mg/L)", "叶绿素α(mg/L)", "藻密度(cells/L)", "站点情况"]
ITEMS = ("water_temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn",
         "chla", "algae_density")
BASE = {"water_temp": 20.0, "ph": 7.6, "do": 7.8, "conductivity": 500.0, "turbidity": 20.0,
        "codmn": 3.0, "nh3n": 0.3, "tp": 0.08, "tn": 2.0}
# (province, section name as the release writes it, city, river)
SECTIONS = {
    "YW001": ("江苏省", "太浦河苏沪交界", "苏州市", "太浦河"),
    "YW002": ("江苏省", "急水港周庄", "苏州市", "急水港"),
    "YW009": ("安徽省", "淮河皖苏交界", "滁州市", "淮河"),
    "YW016": ("江苏省", "太湖梅梁湖", "无锡市", "太湖"),
}


def row(code: str, stamp: str, feed_class: str = "Ⅱ", **values: object) -> list:
    province, name, city, river = SECTIONS[code]
    items = {**BASE, **values}
    cells = []
    for item in ITEMS:
        value = items.get(item)
        cells.append("--" if value is None else f"<span title='原始值：{value}'>{value}</span>")
    section = f"<span class='mn' title='所在地市:{city};所属河流:{river}'>{name}</span>"
    return [province, "太湖流域", section, stamp, feed_class, *cells, "正常"]


def page(rows: list[list], total: int = 1, records: int | None = None) -> dict:
    return {"result": 1, "message": "", "thead": THEAD, "tbody": rows, "total": total,
            "records": len(rows) if records is None else records}


def write(path: Path, rows: list[list], **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(page(rows, **kwargs), ensure_ascii=False), encoding="utf-8")
    return path
