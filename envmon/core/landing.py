"""Landing: every received byte, kept as received, named by its sha256."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from envmon.core import lake_tables
from envmon.core.atomic import write_bytes_atomic
from envmon.core.errors import InputError
from envmon.core.names import checked
from envmon.core.settings import home


@dataclass(frozen=True)
class LandedFile:
    """A delivery kept in landing. `name` is the name it arrived under."""

    path: Path
    sha256: str
    name: str
    meta: dict
    domain: str = ""
    source: str = ""

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def land_bytes(data: bytes, *, domain: str, source: str, name: str, meta: dict | None = None
               ) -> LandedFile:
    """Keep `data` under landing/<domain>/<source>/<sha256><suffix>.

    Landing is immutable: bytes already there are not rewritten, so a
    re-delivery of identical bytes is recognised and a corrected one sits
    beside the original.
    """
    checked(domain, "domain"), checked(source, "source")
    digest = hashlib.sha256(data).hexdigest()
    suffix = "".join(Path(name).suffixes)[-16:]
    target = home().landing / domain / source / f"{digest}{suffix}"
    sidecar = target.with_name(f"{digest}.meta.json")
    info = {"name": name, "sha256": digest, "bytes": len(data),
            "received_at": datetime.now(UTC).isoformat(), **(meta or {})}
    if not target.exists():
        write_bytes_atomic(target, data)
    if not sidecar.exists():
        write_bytes_atomic(sidecar, json.dumps(info, ensure_ascii=False, indent=1).encode())
    else:
        info = json.loads(sidecar.read_text())
    return LandedFile(path=target, sha256=digest, name=name, meta=info, domain=domain,
                      source=source)


# Landing on the lakehouse (ENVMON_STORAGE=lakehouse): every delivery's bytes
# once per domain and source, whichever host received them.
LANDING_TABLE = "landing"
LANDING_SCHEMA = pa.schema([
    ("domain", pa.string()),
    ("source", pa.string()),
    ("sha256", pa.string()),
    ("name", pa.string()),
    ("bytes", pa.binary()),
    ("meta", pa.string()),  # the sidecar's JSON: name, size, received_at, origin, ...
    ("received_at", pa.timestamp("us", tz="UTC")),
])


def prepare_lakehouse_landing() -> None:
    """Create the landing table (outside a transaction: see lake_tables.ensure_table)."""
    lake_tables.ensure_table(LANDING_TABLE, LANDING_SCHEMA, inline=False)


def keep_in_lakehouse(landed: list[LandedFile]) -> None:
    """The deliveries' bytes in the landing table, those it lacks, as part of
    the transaction in progress: a load keeps its bytes in the commit that
    records it (envmon.core.ingest), so a host's local landing directory is
    a working copy, not the only one. prepare_lakehouse_landing() first."""
    if not landed:
        return
    have = set(lake_tables.select(
        LANDING_TABLE, "SELECT domain, source, sha256 FROM {table} WHERE sha256 IN ("
        + ", ".join("?" for _ in landed) + ")", [f.sha256 for f in landed]))
    rows = []
    for f in landed:
        if (f.domain, f.source, f.sha256) in have:
            continue
        have.add((f.domain, f.source, f.sha256))
        rows.append({"domain": f.domain, "source": f.source, "sha256": f.sha256,
                     "name": f.name, "bytes": f.read_bytes(),
                     "meta": json.dumps(f.meta, ensure_ascii=False),
                     "received_at": datetime.fromisoformat(f.meta["received_at"])})
    if rows:
        lake_tables.append(LANDING_TABLE, pa.Table.from_pylist(rows, schema=LANDING_SCHEMA))


def land_file(path: Path, *, domain: str, source: str, follow_symlinks: bool = False
              ) -> LandedFile:
    """Copy a local file into landing.

    A symbolic link is refused unless `follow_symlinks`: a link dropped among
    deliveries (to /etc/passwd, say) must not be copied into landing and
    quoted in the ledger. Refused when opened, not checked beforehand, so
    the link cannot be swapped in between.
    """
    return land_bytes(read_delivery(path, follow_symlinks=follow_symlinks), domain=domain,
                      source=source, name=path.name, meta={"origin": str(path.absolute())})


def read_delivery(path: Path, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of a delivered file; InputError for a link, directory or missing file."""
    flags = os.O_RDONLY | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise InputError("no such file", file=str(path)) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("is a symbolic link; envmon loads regular files only (pass "
                             "--follow-symlinks to load what it points to)", file=str(path)
                             ) from exc
        raise
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise InputError("is a directory; give the files in it" if stat.S_ISDIR(kind)
                         else "is not a regular file", file=str(path))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
