"""Configuration a bureau overrides: sources, and (later) commitments and alerts.

Files live in config/ or in the directory named by ENVMON_CONFIG_DIR.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from envmon.core.errors import ConfigError
from envmon.core.names import checked
from envmon.core.settings import CONFIG_DIR, home


def config_dir() -> Path:
    override = os.environ.get("ENVMON_CONFIG_DIR")
    return Path(override).expanduser().resolve() if override else CONFIG_DIR


def load_yaml(name: str) -> dict[str, Any]:
    path = config_dir() / name
    return _load(path, path.stat().st_mtime_ns if path.exists() else 0)


@cache
def _load(path: Path, _mtime: int) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return data


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
