"""Units in feed headers ("总磷(mg/L)", "粪大肠菌群(个/L)") and their conversion.

Every item is stored in the unit reference/water/items.csv gives it. A header
in another unit of the same quantity is converted (μg/L -> mg/L × 0.001);
a unit of another quantity ("氨氮(个/L)") is refused with a clear error.
"""

from __future__ import annotations

import math
import re

# Normalised spelling -> (envmon unit, factor to multiply values by).
_UNITS: dict[str, tuple[str, float]] = {}


def _add(unit: str, factor: float, *spellings: str) -> None:
    for spelling in spellings:
        _UNITS[_normalise(spelling)] = (unit, factor)


def _normalise(unit: str) -> str:
    text = unit.strip().replace("µ", "μ").replace("（", "(").replace("）", ")")
    return "".join(text.split()).lower()


_add("mg/L", 1.0, "mg/L", "毫克/升", "mg/dm3")
_add("mg/L", 1e-3, "μg/L", "ug/L", "微克/升")
_add("mg/L", 1e-6, "ng/L", "纳克/升")
_add("℃", 1.0, "℃", "°C", "摄氏度", "degC")
_add("dimensionless", 1.0, "无量纲", "dimensionless", "-")
_add("μS/cm", 1.0, "μS/cm", "uS/cm", "微西门子/厘米")
_add("μS/cm", 1000.0, "mS/cm", "毫西门子/厘米")
_add("NTU", 1.0, "NTU")
_add("个/L", 1.0, "个/L", "个/升", "MPN/L", "CFU/L")
_add("个/L", 10.0, "个/100mL", "MPN/100mL", "CFU/100mL")
_add("cells/L", 1.0, "cells/L", "cell/L", "细胞/升")
_add("cells/L", 1e4, "万cells/L", "10^4cells/L", "万个/L")
_add("cells/L", 1e3, "cells/mL")
_add("m", 1.0, "m", "米")
_add("m", 0.01, "cm", "厘米")

_HEADER = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")


def split_header(header: str) -> tuple[str, str | None]:
    """'总磷(以P计)(mg/L)' -> ('总磷(以P计)', 'mg/L'); 'pH' -> ('pH', None)."""
    text = header.strip().replace("（", "(").replace("）", ")")
    match = _HEADER.match(text)
    if not match or not match.group("name"):
        return text, None
    return match.group("name").strip(), match.group("unit").strip()


def factor_to(unit: str | None, wanted: str) -> float:
    """Multiplier from `unit` to envmon's `wanted` unit; ValueError when they differ in kind.

    No unit in the header means the item's own unit (pH has none)."""
    if unit is None or unit == "":
        return 1.0
    known = _UNITS.get(_normalise(unit))
    if known is None:
        raise ValueError(f"unknown unit {unit!r} (envmon stores this item in {wanted})")
    canonical, factor = known
    if canonical == wanted:
        return factor
    # "个/L" also counts algae cells per litre.
    if canonical == "个/L" and wanted == "cells/L" and factor == 1.0:
        return 1.0
    raise ValueError(f"unit {unit} is not a unit of this item (envmon stores it in {wanted})")


def do_saturation(temp_c: float) -> float:
    """Dissolved-oxygen saturation (mg/L) of fresh water at 1 atm and `temp_c` ℃.

    Benson and Krause (1984), as given in Standard Methods 4500-O:
    ln C = -139.34411 + 1.575701e5/T - 6.642308e7/T² + 1.243800e10/T³ - 8.621949e11/T⁴.
    """
    t = temp_c + 273.15
    return math.exp(-139.34411 + 1.575701e5 / t - 6.642308e7 / t**2 + 1.2438e10 / t**3
                    - 8.621949e11 / t**4)
