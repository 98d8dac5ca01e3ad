"""What the registry imports share: the report, reading a published list, writing a file."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from envmon.core.atomic import write_atomic
from envmon.core.errors import ConfigError, InputError
from envmon.core.parsing import decode_text

_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class Report:
    """What an import read, kept, skipped and wrote: printed one line per finding."""

    kind: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    kept: int = 0
    written: Path | None = None
    duplicates: list[str] = field(default_factory=list)
    outside: Counter = field(default_factory=Counter)  # name outside the region -> rows
    refused: list[str] = field(default_factory=list)  # rows that could not be read
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.kind}: read {self.rows_read} row(s) from {', '.join(self.files)}"]
        out.append(f"kept {self.kept}" + (f", written to {self.written}" if self.written
                                           else " (dry run: nothing written)"))
        if self.duplicates:
            out.append(f"duplicated: {len(self.duplicates)} row(s) dropped, the first kept:")
            out += [f"  {line}" for line in self.duplicates]
        if self.outside:
            names = ", ".join(f"{name} {count}" for name, count in
                              sorted(self.outside.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(f"outside the region (skipped): {sum(self.outside.values())} row(s) in "
                       f"{len(self.outside)} place(s): {names}")
        if self.refused:
            out.append(f"refused: {len(self.refused)} row(s):")
            out += [f"  {line}" for line in self.refused]
        out += self.notes
        return out


def read_text(path: Path, data: bytes | None = None) -> tuple[str, str]:
    """(text, encoding name): UTF-8 with or without BOM, else GB18030."""
    data = path.read_bytes() if data is None else data
    text = decode_text(data, str(path))
    if data.startswith(_UTF8_BOM):
        return text, "UTF-8 with BOM"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return text, "GB18030"
    return text, "UTF-8"


def read_header(rows, path: Path, headers: dict[str, str], required: tuple[str, ...]
                ) -> dict[int, str]:
    """Position -> field of the first non-empty row, which must be the published header."""
    for cells in rows:
        if any(cell.strip() for cell in cells):
            return header_columns([cell.strip().lstrip("\ufeff") for cell in cells], path,
                                  headers, required)
    raise InputError("empty file: no header row", file=str(path))


def header_columns(cells: list[str], path: Path, headers: dict[str, str],
                   required: tuple[str, ...]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for position, cell in enumerate(cells):
        key = headers.get(cell)
        if key is None:
            continue  # a column envmon does not read (or the empty one after a trailing comma)
        if key in columns.values():
            raise InputError(f"column {cell!r} appears twice in the header", file=str(path),
                             row=1, field=cell)
        columns[position] = key
    missing = [k for k in required if k not in columns.values()]
    if missing:
        wanted = {v: k for k, v in reversed(list(headers.items()))}
        raise InputError(f"header lacks {', '.join(wanted[m] for m in missing)} (the "
                         f"published header is {','.join(dict.fromkeys(wanted.values()))})",
                         file=str(path), row=1)
    return columns


def row_fields(cells: list[str], columns: dict[int, str], line: int, report: Report
               ) -> dict[str, str] | None:
    """The row's fields, or None (reported) when it is too short for them."""
    needed = max(columns) + 1
    if len(cells) < needed:
        report.refused.append(f"line {line}: {len(cells)} field(s), the header needs {needed}: "
                              f"{','.join(cells)[:80]}")
        return None
    return {key: cells[i] for i, key in columns.items()}


def csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def install(target: Path, data: bytes, check) -> None:
    """Write `target` atomically, after the registry loader accepted the new bytes."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        try:
            check(tmp)
        except ConfigError as exc:
            raise ConfigError(f"the imported registry does not load, nothing replaced: "
                              f"{exc}") from None

    write_atomic(target, write)
