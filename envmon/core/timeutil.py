"""Beijing time. Every feed in the region reports UTC+8 with no daylight saving."""

from __future__ import annotations

from zoneinfo import ZoneInfo

BEIJING_TZ_NAME = "Asia/Shanghai"
BEIJING = ZoneInfo(BEIJING_TZ_NAME)
