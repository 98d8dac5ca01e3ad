"""What every source adapter returns, whatever the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

# Cell texts that mean "no value" in the region's feeds (compared stripped and
# lower-cased): empty, an em dash, one or two hyphens, "NA".
MISSING_TOKENS = frozenset({"", "\u2014", "-", "--", "na"})


@dataclass(frozen=True)
class Reject:
    """A piece of a delivery that could not become a canonical row.

    `line` is the 1-based line (or record) number in the delivered file,
    `field` the column or cell that failed, `value` what it held.
    """

    reason: str
    line: int | None = None
    field: str | None = None
    value: str | None = None
    raw: str | None = None


@dataclass
class ParseResult:
    """Canonical rows plus everything that was refused, with reasons.

    `window` is the closed interval [first, last] of row timestamps the
    delivery claims to cover (from its file name or request), or None when it
    makes no claim; rows outside it are quarantined by the checks.
    """

    frame: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
