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
    return LandedFile(path=target, sha256=digest, name=name, meta=info)


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
