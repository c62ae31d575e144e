"""The review pack function's configuration, read once per invocation from its environment."""

from __future__ import annotations

from dataclasses import dataclass

from .. import risk, settings
from ..settings import Environment


@dataclass(frozen=True)
class Settings:
    """``EVIDENCE_BUCKET``/``EVIDENCE_PREFIX`` (read and written, required), ``SCHEDULE_TIMEZONE``
    (the schedule's time zone: which day is "yesterday"; empty means UTC), ``ALERT_TOPIC_ARN``
    and Slack (both optional: where the finished pack is announced), and ``AUTHORIZED_PUBLIC_PORTS``
    (:func:`sgwatch.settings.authorized_public_ports`: the current rules are rated as the alerts rate them)."""

    evidence: settings.Evidence
    schedule_timezone: str = ""
    topic_arn: str = ""
    slack: settings.Slack | None = None
    authorized_public_ports: tuple[int, ...] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        why = "the review pack reads and writes the evidence bucket"
        return cls(
            evidence=settings.Evidence.required(env, why),
            schedule_timezone=settings.text(env, "SCHEDULE_TIMEZONE"),
            topic_arn=settings.text(env, "ALERT_TOPIC_ARN"),
            slack=settings.Slack.from_env(env),
            authorized_public_ports=settings.authorized_public_ports(env),
        )
