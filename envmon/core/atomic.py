"""Write-then-rename, so a crash leaves the previous file readable."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from envmon.core.errors import ConfigError


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)`, fsync it, then rename it over `path`.

    The temporary file lives in the same directory (rename is only atomic
    within one filesystem) and starts with a dot so lake globs never see it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    # mkstemp makes the file 0600; analysts reading the views from another
    # account need it group-readable (ENVMON_FILE_MODE, default 0640).
    os.fchmod(fd, file_mode())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


TMP_SUFFIX = ".tmp"


def file_mode() -> int:
    """Permission bits of every file envmon writes (ENVMON_FILE_MODE, octal)."""
    text = os.environ.get("ENVMON_FILE_MODE", "0640")
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777 or not mode & 0o600 == 0o600:
        raise ConfigError(f"ENVMON_FILE_MODE {text!r}: give octal permission bits that let "
                          "the owner read and write, e.g. 0640 or 0644")
    return mode


@contextmanager
def file_mode_umask() -> Iterator[None]:
    """Files that other code creates meanwhile (DuckDB writing the embedded
    lakehouse's catalog and Parquet) get ENVMON_FILE_MODE too, and their
    directories the same bits plus search where read is given (0640: 0750).

    A umask is the process's: files other threads create in the meantime get
    it as well, which is no wider than what envmon writes itself.
    """
    mode = file_mode()
    directories = mode | (mode & 0o444) >> 2
    previous = os.umask(0o777 & ~directories)
    try:
        yield
    finally:
        os.umask(previous)


def orphan_temporaries(root: Path) -> list[Path]:
    """Temporary files under `root` that write_atomic left behind (a killed writer)."""
    return sorted(p for p in root.rglob(f".*{TMP_SUFFIX}") if p.is_file())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
