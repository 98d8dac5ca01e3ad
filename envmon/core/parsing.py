"""What every source adapter returns, whatever the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from envmon.core.errors import InputError

_UTF8_BOM = b"\xef\xbb\xbf"

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

    `warnings` are findings about the delivery as a whole that cost no row
    (a day file lacking hours, say): every row is still loaded or refused on
    its own, and the run is marked incomplete with these words, as a failed
    batch check marks it.
    """

    frame: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    warnings: list[str] = field(default_factory=list)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030, the national superset of GBK.

    Chinese feeds arrive in either; anything else is a one-line InputError.
    """
    if data.startswith(_UTF8_BOM):
        try:
            return data[len(_UTF8_BOM):].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 after BOM at byte {exc.start}", file=name) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InputError(f"neither UTF-8 nor GB18030 text (bad byte at {exc.start})",
                         file=name) from None


def read_csv_table(text: str, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """A CSV's header and its non-blank rows with their line numbers.

    InputError for a file with no header (empty, or only separators) or no
    rows, and for what csv refuses (a cell over its 128 KiB field limit).
    """
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank line
            if header is None:
                header = cells
            else:
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise InputError(f"not a CSV table: {exc}", file=name, row=reader.line_num) from None
    if header is None:
        raise InputError("empty file", file=name)
    if not rows:
        raise InputError("no rows", file=name)
    return header, rows
