"""Reading a function's configuration from its environment: the one parser of every value.

Each capability declares a frozen ``Settings`` dataclass with a ``from_env(env)`` class method
built from the readers below, so a flag, a list or a number means the same in every function
and a bad value fails the invocation with a message naming the variable (never a silent
default). The environment is set by ``modules/lambda-function``; nothing here is a secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .evidence import Layout, normalise_prefix
from .risk import DEFAULT_AUTHORIZED_PUBLIC_PORTS

Environment = Mapping[str, str]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot use."""


def environment(env: Environment | None = None) -> Environment:
    """``env`` or a snapshot of the process environment (read at call time, never cached)."""
    return dict(os.environ) if env is None else env


def text(env: Environment, name: str, default: str = "") -> str:
    return (env.get(name) or default).strip()


def required(env: Environment, name: str, why: str) -> str:
    value = text(env, name)
    if not value:
        raise SettingsError(f"{name} is not set: {why}")
    return value


def flag(env: Environment, name: str, default: bool = False) -> bool:
    value = env.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False if value else default
    raise SettingsError(f"{name}={value!r} is not a boolean: use true or false")


def items(env: Environment, name: str, *, upper: bool = False) -> tuple[str, ...]:
    """A comma-separated list: blanks dropped, duplicates removed, order kept."""
    values = (v.strip() for v in (env.get(name) or "").split(","))
    return tuple(dict.fromkeys(v.upper() if upper else v for v in values if v))


def integer(
    env: Environment, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = text(env, name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else minimum
        high = "" if maximum is None else maximum
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value


def ports(env: Environment, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated port numbers (0-65535), sorted, each once. Unset: ``default``; set but empty:
    none (the modules write a Terraform list ``[]`` as an empty value)."""
    if env.get(name) is None:
        return default
    found = set()
    for item in items(env, name):
        if not item.isdigit() or int(item) > 65535:
            raise SettingsError(f"{name}={item!r} is not a port number (0-65535)")
        found.add(int(item))
    return tuple(sorted(found))


def authorized_public_ports(env: Environment) -> tuple[int, ...]:
    """``AUTHORIZED_PUBLIC_PORTS``, as the modules set it from the root's ``authorized_public_ports``:
    the ports the risk model (:mod:`sgwatch.risk`) rates as authorized, by default its own."""
    return ports(env, "AUTHORIZED_PUBLIC_PORTS", DEFAULT_AUTHORIZED_PUBLIC_PORTS)


def json_object(env: Environment, name: str, what: str) -> dict[str, Any]:
    raw = text(env, name) or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        raise SettingsError(f"{name} is not JSON: expected an object of {what}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object of {what}")
    return value


@dataclass(frozen=True)
class Evidence:
    """Where the evidence bucket is: ``EVIDENCE_BUCKET`` and ``EVIDENCE_PREFIX``."""

    bucket: str
    prefix: str

    @classmethod
    def from_env(cls, env: Environment) -> Evidence | None:
        """The bucket when it is configured (optional for the function), else None."""
        bucket = text(env, "EVIDENCE_BUCKET")
        if not bucket:
            return None
        return cls(bucket=bucket, prefix=normalise_prefix(env.get("EVIDENCE_PREFIX")))

    @classmethod
    def required(cls, env: Environment, why: str) -> Evidence:
        """:meth:`from_env` for a function that cannot run without the bucket."""
        return cls(bucket=required(env, "EVIDENCE_BUCKET", why), prefix=normalise_prefix(env.get("EVIDENCE_PREFIX")))

    @property
    def layout(self) -> Layout:
        return Layout(self.prefix)


@dataclass(frozen=True)
class Slack:
    """The Slack channel and the Secrets Manager secret holding the bot token (never the token).

    ``SLACK_TOKEN_SECRET_ARN``, ``SLACK_CHANNEL_ID`` and, for proxies and tests, ``SLACK_API_URL``.
    """

    secret_arn: str
    channel_id: str
    api_url: str | None = None

    @classmethod
    def from_env(cls, env: Environment) -> Slack | None:
        """The channel when both the secret and the channel are configured, else None."""
        secret, channel = text(env, "SLACK_TOKEN_SECRET_ARN"), text(env, "SLACK_CHANNEL_ID")
        if not (secret and channel):
            return None
        return cls(secret_arn=secret, channel_id=channel, api_url=text(env, "SLACK_API_URL") or None)

    @classmethod
    def required(cls, env: Environment, why: str) -> Slack:
        """:meth:`from_env` for a function whose delivery is Slack: a missing variable is named."""
        names = ("SLACK_TOKEN_SECRET_ARN", "SLACK_CHANNEL_ID")
        missing = [n for n in names if not text(env, n)]
        if missing:
            raise SettingsError(f"{' and '.join(missing)} not set: {why}")
        found = cls.from_env(env)
        assert found is not None
        return found
