"""Names that become paths: sources, datasets, formats, parts, lock names.

A source name given on the command line, in config/sources.yaml or as a DAG
parameter ends up as a directory under landing/, lake/ and quarantine/. A
name with a slash or "..", or an empty one, would write outside ENVMON_HOME
or into a directory no view reads, while the ledger says "ok". So every such
name is checked here, once, at the place it is turned into a path.
"""

from __future__ import annotations

import re

from envmon.core.errors import ConfigError

# Letters, digits, '.', '_', '-'; starting with a letter or digit (so never
# "." or ".." or a hidden file), at most 64 characters.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A lake partition value or part file comes from the data too (a province in
# an export): any text that is one path component and not hidden.
COMPONENT_RE = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,127}")
RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64"


def checked(value: object, what: str = "name") -> str:
    """`value` if it is a safe path component, else a ConfigError naming `what`."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ConfigError(f"{what} {value!r} is not allowed: use {RULE} characters")
    return value


def checked_component(value: object, what: str) -> str:
    """`value` if it is one visible path component (partition values, parts)."""
    if not isinstance(value, str) or not COMPONENT_RE.fullmatch(value):
        raise ConfigError(f"{what} {value!r} cannot be a file name in the lake (one path "
                          "component, not starting with '.', at most 128 characters)")
    return value
