"""The one reader of reference tables (reference/<domain>/*.csv) for every domain.

- `reference_path(name)`: a bureau's copy at ``$ENVMON_REFERENCE_DIR/<name>``
  wins, then its copy under the file's former name (`FORMER_NAMES`: files
  moved in the layout of issue 13, which bureaus still keep under the old
  name), else the bundled ``reference/<name>``.
- `file_key(name)`: (path, mtime_ns, size), the cache key of one file version;
  domain loaders cache their validated tables by it, so an edited file is
  picked up.
- `read_table(path, columns, optional)`: all cells as stripped text, required
  and optional columns.
- Errors are ConfigError ``<file>: line <n>: <what>`` (`row_error`,
  `fail_first`).
- `with_demo_rows`: the real registry plus its demo file (air stations,
  water sections).

The domain modules keep only what their tables mean: columns and validation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from envmon.core import settings
from envmon.core.errors import ConfigError

REFERENCE_DIR_ENV = "ENVMON_REFERENCE_DIR"

# Current name -> the name a bureau's override copy may still have (read
# only when the current name is absent from ENVMON_REFERENCE_DIR).
FORMER_NAMES: dict[str, str] = {
    "common/provinces.csv": "provinces.csv",
    "common/cities.csv": "cities.csv",
    "common/county_cities.csv": "county_cities.csv",
    "air/stations.csv": "air_stations.csv",
}

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})

# (path, mtime_ns, size): the cache key of one file version.
FileKey = tuple[str, int, int]


def reference_dir() -> Path:
    """The override directory if ENVMON_REFERENCE_DIR is set, else the bundled one."""
    override = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    if not override:
        return settings.REFERENCE_DIR
    path = Path(override).expanduser()
    if not path.is_dir():
        # A typo here must not silently fall back to demo data.
        raise ConfigError(f"{REFERENCE_DIR_ENV}={override}: not a directory")
    return path


def reference_path(name: str) -> Path:
    """Path of reference file `name`: the override copy (current, then former name), else
    the bundled one."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ConfigError(f"reference file name must be relative to the reference dir: {name}")
    directory = reference_dir()
    for candidate in (relative, FORMER_NAMES.get(relative.as_posix())):
        if candidate is not None and (directory / candidate).is_file():
            return directory / candidate
    return settings.REFERENCE_DIR / relative


def path_key(path: Path | str) -> FileKey:
    """The version key of the file at `path`."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: reference file not found (set {REFERENCE_DIR_ENV} to a directory holding it)"
        ) from None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def file_key(name: str) -> FileKey:
    """The version key of reference file `name` as `reference_path` resolves it."""
    return path_key(reference_path(name))


def read_table(path: Path | str, columns: tuple[str, ...], optional: tuple[str, ...] = ()
               ) -> pd.DataFrame:
    """All cells as stripped strings; "NA" stays a string, an empty cell is "".

    Only `columns` and `optional` are kept, in that order; a missing required
    column is an error on line 1, a missing optional one is added empty.
    """
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except FileNotFoundError:
        raise ConfigError(f"{path}: reference file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{path}: not a readable UTF-8 CSV file ({detail})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    for column in optional:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame.loc[:, [*columns, *optional]].copy()
    for column in (*columns, *optional):
        frame[column] = frame[column].astype(str).str.strip()
    return frame.reset_index(drop=True)


# --- errors ----------------------------------------------------------------


def line(index: int) -> int:
    """1-based file line of data row `index` (line 1 is the header)."""
    return index + 2


def row_error(path: str, index: int, message: str) -> ConfigError:
    """The error for data row `index` of the file at `path`."""
    return ConfigError(f"{path}: line {line(index)}: {message}")


def fail_first(frame: pd.DataFrame, bad: pd.Series, path: str,
               describe: Callable[[dict], str]) -> None:
    """Raise for the first flagged row; `describe` words it from the row's cells."""
    if not bad.any():
        return
    index = int(bad.to_numpy().nonzero()[0][0])
    raise row_error(path, index, describe(frame.iloc[index].to_dict()))


def require_values(frame: pd.DataFrame, path: str, columns: tuple[str, ...]) -> None:
    for column in columns:
        fail_first(frame, frame[column] == "", path, lambda _r, c=column: f"empty {c}")


def require_unique(frame: pd.DataFrame, path: str, column: str) -> None:
    duplicated = frame[column].duplicated()
    if not duplicated.any():
        return
    index = int(duplicated.to_numpy().nonzero()[0][0])
    value = frame.at[index, column]
    first = int((frame[column] == value).to_numpy().nonzero()[0][0])
    raise row_error(path, index, f"duplicate {column} {value!r} (first on line {line(first)})")


def is_true(cells: pd.Series) -> pd.Series:
    """Text flags -> bool (true, t, yes, y, 1 in any case; anything else false)."""
    return cells.astype(str).str.strip().str.lower().isin(TRUE_WORDS)


# --- registries with a demo file -------------------------------------------


def with_demo_rows(main: pd.DataFrame, main_path: str, demo: Callable[[], pd.DataFrame],
                   demo_path: str, *, code: str, kind: str,
                   adjust: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None
                   ) -> pd.DataFrame:
    """The real registry `main`, then the rows of its demo file.

    The demo file is read (`demo()`) only when `main` has no demo rows: a
    registry written before the two were split, or a bureau's that keeps its
    demo rows itself, carries them already. Every demo row must be flagged
    demo and use a `code` not in `main`; `adjust(main, demo)` may then
    change the demo rows (names a real row owns).
    """
    if is_true(main["demo"]).any():
        return main
    extra = demo()
    fail_first(extra, ~is_true(extra["demo"]), demo_path,
               lambda r: f"{kind} {r[code]}: a demo file holds demo {kind}s only (demo = true)")
    fail_first(extra, extra[code].isin(set(main[code])), demo_path,
               lambda r: f"{kind} {r[code]} is also in {main_path}")
    if adjust is not None:
        extra = adjust(main, extra)
    return pd.concat([main, extra], ignore_index=True)
