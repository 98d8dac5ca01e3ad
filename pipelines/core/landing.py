"""Landing: every received byte, kept as received, named by its sha256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.core.atomic import write_bytes_atomic
from pipelines.core.settings import home


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


def land_file(path: Path, *, domain: str, source: str) -> LandedFile:
    """Copy a local file into landing."""
    return land_bytes(path.read_bytes(), domain=domain, source=source, name=path.name,
                      meta={"origin": str(path.resolve())})
