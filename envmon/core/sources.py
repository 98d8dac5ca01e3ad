"""Where a configured source's files come from: one fetch for every domain.

A source in config/sources.yaml (envmon.core.config.source_settings) gets
its files one of these ways, whatever its domain:

- `generator: module:function`: a program writes the delivery into
  `directory` first (the demo sources: envmon.demo.sources), then it is read
  as a directory source. Being the demo is this setting, nothing else: a
  source's name decides nothing.
- `url_template`: GET the URL with the day filled in ({date:%Y%m%d}).
- `directory` (+ a file name per day, or `pattern`): files dropped there.

A domain's paged API (the water release, OpenAQ) is fetched by its own
module; what it lands goes through the same landing and ingest as these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from envmon.core import refs
from envmon.core.errors import ConfigError, SourceError
from envmon.core.landing import LandedFile, land_bytes, land_file

DEFAULT_SEED = 2026


@dataclass(frozen=True)
class Format:
    """A delivery format of a domain (its sources package's FORMATS).

    `parse` has the domain's own signature (what its deliveries need: an
    hour label, a fetch time, an export time); `daily_name` is the file name
    of one day's delivery for the daily fetch (daily_file), None for a
    format that is not delivered a file a day.
    """

    what: str  # one line, shown by `envmon ingest <domain> --help`
    parse: Callable[..., Any]
    daily_name: str | None = None  # e.g. "china_sites_{date:%Y%m%d}.csv"


def generate(cfg: dict, at: date | datetime) -> list[Path]:
    """Run the source's generator for `at` (a day or a fetch time); [] without one.

    The generator is `generate(directory, at, seed) -> [written paths]`,
    named in the configuration, so nothing here imports the demo.
    """
    spec = cfg.get("generator")
    if not spec:
        return []
    try:
        writer = refs.resolve(str(spec))
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"generator {spec!r}: not a module:function ({exc})") from None
    return writer(Path(_directory(cfg)), at, int(cfg.get("seed", DEFAULT_SEED)))


def daily_file(domain: str, source: str, cfg: dict, name: str, day: date) -> LandedFile:
    """The day's delivery `name` (a file name fixed by its format), landed.

    A generator writes the day's file only when it is not there yet, so a
    rerun reads the same bytes and is recognised as already loaded.
    """
    if cfg.get("generator"):
        if not (Path(_directory(cfg)) / name).exists():
            generate(cfg, day)
    elif cfg.get("url_template"):
        from envmon.core import http

        url = str(cfg["url_template"]).format(date=day)
        response = http.get(url)
        return land_bytes(response.content, domain=domain, source=source, name=name,
                          meta={"url": url, "fetched_at": datetime.now(UTC).isoformat()})
    if cfg.get("directory"):
        path = Path(cfg["directory"]) / name
        if not path.exists():
            raise SourceError(f"{path}: not delivered yet")
        return land_file(path, domain=domain, source=source)
    raise ConfigError(f"{domain} source {source!r} has neither url_template nor directory")


def directory_files(cfg: dict) -> list[Path]:
    """Every file in the source's directory matching `pattern`, in name order."""
    directory = Path(_directory(cfg))
    pattern = cfg.get("pattern") or "*"
    files = sorted(directory.glob(pattern)) if directory.is_dir() else []
    files = [f for f in files if f.is_file() and not f.name.endswith(".meta.json")]
    if not files:
        raise SourceError(f"{directory}: nothing delivered matching {pattern}")
    return files


def preferred_rows(frame: pd.DataFrame, domain: str, keys: Sequence[str]) -> pd.DataFrame:
    """One row per key where sources overlap: the first in the domain's
    `source_priority` wins, then sources not listed, by name (stable)."""
    if frame.empty:
        return frame
    from envmon.core.config import domain_settings

    priority = domain_settings(domain).get("source_priority") or []
    rank = {name: i for i, name in enumerate(priority)}
    ranked = frame.assign(_rank=frame["source"].map(rank).fillna(len(rank)))
    ranked = ranked.sort_values([*keys, "_rank", "source"], kind="stable")
    return ranked.drop_duplicates(list(keys)).drop(columns=["_rank", "_part"], errors="ignore")


def _directory(cfg: dict) -> str:
    if not cfg.get("directory"):
        raise ConfigError("a source with a generator or a pattern needs a directory")
    return str(cfg["directory"])
