"""Configuration a bureau overrides: sources, commitments, alerts, hazwaste rules.

Files live in config/ or in the directory named by ENVMON_CONFIG_DIR; a file
with its own variable (ENVMON_ALERTS_CONFIG, ENVMON_COMMITMENTS_CONFIG) is
read from the path that variable names when it is set. Every YAML file the
code reads goes through `load_yaml`.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from envmon.core.errors import ConfigError
from envmon.core.names import checked
from envmon.core.settings import CONFIG_DIR, home

CONFIG_DIR_ENV = "ENVMON_CONFIG_DIR"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser().resolve() if override else CONFIG_DIR


def config_path(name: str | Path, override_env: str | None = None) -> Path:
    """Where `name` is read from: the file `$override_env` names if that is set, else
    `name` itself if it is an absolute path, else `name` in the config directory."""
    override = os.environ.get(override_env, "").strip() if override_env else ""
    if override:
        return Path(override).expanduser().resolve()
    path = Path(name)
    return path if path.is_absolute() else config_dir() / path


def load_yaml(name: str | Path, override_env: str | None = None, *,
              what: str = "configuration file") -> dict[str, Any]:
    """The mapping in YAML file `name` (see `config_path`); an empty file is {}.

    Read with a strict safe loader (plain data only; a key given twice in a
    mapping is an error), cached per file version (path, mtime, size), and a
    fresh copy each call. A missing file, bad YAML or a top level that is not
    a mapping is one ConfigError naming the file; `what` words the missing
    case ("alert configuration").
    """
    path = config_path(name, override_env)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    stat = path.stat()
    return copy.deepcopy(_load(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _load(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (the later would win)."""


def _unique_keys_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` merges; its keys may be overridden
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # unhashable: construct_mapping reports it
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r} (first on line {first})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _unique_keys_mapping)


def domain_settings(domain: str) -> dict[str, Any]:
    settings = load_yaml("sources.yaml").get(domain)
    if not isinstance(settings, dict):
        raise ConfigError(f"{config_dir() / 'sources.yaml'}: no section {domain!r}")
    return settings


def source_settings(domain: str, name: str) -> dict[str, Any]:
    """One source's settings, with ${ENVMON_HOME} expanded."""
    sources = domain_settings(domain).get("sources") or {}
    checked(name, f"{domain} source")
    if name not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise ConfigError(f"unknown {domain} source {name!r} (configured: {known})")
    return {k: _expand(v) for k, v in (sources[name] or {}).items()}


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("${ENVMON_HOME}", str(home().root))
    return value
