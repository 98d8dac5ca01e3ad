"""Errors a user can act on: one line naming the file, row and field."""

from __future__ import annotations


class EnvmonError(Exception):
    """Base for errors that are reported to the user without a traceback."""


class InputError(EnvmonError):
    """A delivered file cannot be read as its declared format."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        # One line, always: messages quote library errors that may hold newlines.
        self.detail = " ".join(str(message).split())
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field!r}")
        return (": ".join([", ".join(where), self.detail]) if where else self.detail)


class SourceError(EnvmonError):
    """A remote source failed (HTTP error, rate limit exhausted, short delivery)."""


class ConfigError(EnvmonError):
    """Configuration or reference data is missing or inconsistent."""
