"""config/alerts.yaml: alert rules, delivery channels and the retry policy.

A rule is SQL over warehouse views, run on a read-only connection, whose
rows are the breaches: `subject`, `period` (together with the rule id they
key the alert), and optionally `value`, `detail`, `subject_name` and
`ongoing` (false when the rule can see that the condition has ended).
Thresholds are rule `params`, referenced in the SQL as `$name`; `$now` (the
evaluation instant, TIMESTAMPTZ) is always available.

Secrets are never in the file: a channel names the environment variable (or
the Airflow connection) that holds them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envmon.core.errors import ConfigError

SEVERITIES = ("info", "warning", "high", "critical")
CHANNEL_TYPES = ("email", "webhook")
EMAIL_SECURITY = ("none", "starttls", "ssl")
# Output columns a rule's SQL may return; subject and period are required.
RULE_COLUMNS = ("subject", "period", "value", "detail", "subject_name", "ongoing")
RESERVED_PARAMS = ("now",)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    sql: str
    severity: str
    recipients: tuple[str, ...]
    requires: tuple[str, ...]
    title_zh: str = ""
    standard: str = ""
    unit: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def sql_params(self, now: Any) -> dict[str, Any]:
        """The parameters the SQL references (DuckDB refuses unused ones)."""
        values = {**self.params, "now": now}
        wanted = set(_PARAM.findall(self.sql))
        missing = sorted(wanted - set(values))
        if missing:
            raise ConfigError(f"alert rule {self.id!r}: SQL uses ${missing[0]}, which is not in "
                              "its params")
        return {name: values[name] for name in wanted}


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    enabled: bool
    settings: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def secret(self, key_env: str) -> str | None:
        """The secret held by the environment variable named in `key_env`, if any."""
        variable = self.settings.get(key_env)
        return os.environ.get(variable) if variable else None


@dataclass(frozen=True)
class RetryPolicy:
    """Outbox retry policy: wait initial * factor^(attempts-1), at most max, between tries."""

    backoff_initial_s: float = 60.0
    backoff_factor: float = 2.0
    backoff_max_s: float = 6 * 3600.0
    timeout_s: float = 10.0

    def backoff(self, attempts: int) -> float:
        return min(self.backoff_initial_s * self.backoff_factor ** max(attempts - 1, 0),
                   self.backoff_max_s)


@dataclass(frozen=True)
class AlertsConfig:
    rules: dict[str, Rule]
    channels: dict[str, Channel]
    operators: tuple[str, ...]
    delivery: RetryPolicy
    source: str = "alerts.yaml"
    message_id_domain: str = "envmon.invalid"


CONFIG_ENV = "ENVMON_ALERTS_CONFIG"
FILE_NAME = "alerts.yaml"


def config_path() -> Path:
    """ENVMON_ALERTS_CONFIG, else alerts.yaml in the config directory."""
    from envmon.core.config import config_path as find

    return find(FILE_NAME, CONFIG_ENV)


def load_config(path: Path | None = None) -> AlertsConfig:
    from envmon.core.config import load_yaml

    path = path or config_path()
    return parse_config(load_yaml(path.resolve(), what="alert configuration"), source=str(path))


def parse_config(data: dict[str, Any], *, source: str = "alerts.yaml") -> AlertsConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    _only(data, {"channels", "operators", "delivery", "rules", "message_id_domain"}, source)
    channels = {name: _channel(name, spec, source)
                for name, spec in (data.get("channels") or {}).items()}
    operators = tuple(data.get("operators") or ())
    for name in operators:
        if name not in channels:
            raise ConfigError(f"{source}: operators names unknown channel {name!r}")
    rules = {rule_id: _rule(rule_id, spec, channels, source)
             for rule_id, spec in (data.get("rules") or {}).items()}
    return AlertsConfig(rules=rules, channels=channels, operators=operators,
                        delivery=_delivery(data.get("delivery") or {}, source), source=source,
                        message_id_domain=str(data.get("message_id_domain") or "envmon.invalid"))


def _rule(rule_id: str, spec: Any, channels: dict[str, Channel], source: str) -> Rule:
    where = f"{source}: rule {rule_id!r}"
    if not _RULE_ID.match(str(rule_id)):
        raise ConfigError(f"{where}: ids are lower-case letters, digits and underscores")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping")
    _only(spec, {"title", "title_zh", "standard", "severity", "recipients", "requires", "sql",
                 "params", "unit", "enabled"}, where)
    for key in ("title", "sql", "severity", "requires"):
        if not spec.get(key):
            raise ConfigError(f"{where}: {key} is required")
    if spec["severity"] not in SEVERITIES:
        raise ConfigError(f"{where}: severity {spec['severity']!r} is not one of "
                          f"{', '.join(SEVERITIES)}")
    recipients = tuple(spec.get("recipients") or ())
    for name in recipients:
        if name not in channels:
            raise ConfigError(f"{where}: recipient {name!r} is not a configured channel")
    params = dict(spec.get("params") or {})
    for name in params:
        if name in RESERVED_PARAMS:
            raise ConfigError(f"{where}: param ${name} is reserved (set by the engine)")
    rule = Rule(id=rule_id, title=str(spec["title"]), sql=str(spec["sql"]),
                severity=spec["severity"], recipients=recipients,
                requires=tuple(spec["requires"]), title_zh=str(spec.get("title_zh") or ""),
                standard=" ".join(str(spec.get("standard") or "").split()),
                unit=str(spec.get("unit") or ""), params=params,
                enabled=bool(spec.get("enabled", True)))
    rule.sql_params(None)  # every $name the SQL uses must be a param
    return rule


def _channel(name: str, spec: Any, source: str) -> Channel:
    where = f"{source}: channel {name!r}"
    if not isinstance(spec, dict) or spec.get("type") not in CHANNEL_TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(CHANNEL_TYPES)}")
    settings = {k: v for k, v in spec.items() if k not in ("type", "enabled")}
    for key in settings:
        if key in ("password", "secret", "token") or key.endswith(("_password", "_secret")):
            raise ConfigError(f"{where}: secrets never go in the file; name the environment "
                              f"variable instead ({key}_env)")
    if spec["type"] == "email":
        _only(settings, {"host", "port", "security", "username", "password_env",
                         "airflow_conn_id", "from", "to", "ca_file"}, where)
        _email_security(settings, where)
        if not settings.get("from") or not settings.get("to"):
            raise ConfigError(f"{where}: from and to are required")
        if not settings.get("host") and not settings.get("airflow_conn_id"):
            raise ConfigError(f"{where}: host (or airflow_conn_id) is required")
    else:
        _only(settings, {"url", "secret_env", "headers"}, where)
        if not settings.get("url") or not settings.get("secret_env"):
            raise ConfigError(f"{where}: url and secret_env are required (webhooks are signed)")
    return Channel(name=name, type=spec["type"], enabled=bool(spec.get("enabled", True)),
                   settings=settings)


def _email_security(settings: dict[str, Any], where: str) -> None:
    security = settings.get("security", "starttls")
    if security not in EMAIL_SECURITY:
        raise ConfigError(f"{where}: security must be one of {', '.join(EMAIL_SECURITY)}")
    if security != "none":
        return
    # SMTP AUTH over a plain connection sends the password readable by anyone
    # on the path. (A login from an Airflow connection is checked by the sender.)
    if settings.get("username"):
        raise ConfigError(f"{where}: security: none with username would send the SMTP "
                          "password in clear; use security: starttls or ssl")
    if settings.get("ca_file"):
        raise ConfigError(f"{where}: ca_file is used only with security: starttls or ssl")


def _delivery(spec: dict[str, Any], source: str) -> RetryPolicy:
    _only(spec, {"backoff_initial_seconds", "backoff_factor", "backoff_max_seconds",
                 "timeout_seconds"}, f"{source}: delivery")
    try:
        policy = RetryPolicy(
            backoff_initial_s=float(spec.get("backoff_initial_seconds", 60)),
            backoff_factor=float(spec.get("backoff_factor", 2)),
            backoff_max_s=float(spec.get("backoff_max_seconds", 6 * 3600)),
            timeout_s=float(spec.get("timeout_seconds", 10)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: delivery: {exc}") from exc
    if policy.backoff_initial_s <= 0 or policy.backoff_factor < 1 or policy.timeout_s <= 0:
        raise ConfigError(f"{source}: delivery: backoff and timeout must be positive, "
                          "factor >= 1")
    return policy


def _only(spec: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: "
                          f"{', '.join(sorted(allowed))})")
