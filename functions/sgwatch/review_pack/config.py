"""The review pack function's configuration, read once per invocation from its environment."""

from __future__ import annotations

from dataclasses import dataclass

from .. import risk, settings
from ..settings import Environment

DEFAULT_PART_ATTEMPTS = 5  # the work queue's maxReceiveCount (modules/lambda-function)


@dataclass(frozen=True)
class Settings:
    """``EVIDENCE_BUCKET``/``EVIDENCE_PREFIX`` (read and written, required), ``SCHEDULE_TIMEZONE``
    (the schedule's time zone: which day is "yesterday"; empty means UTC), ``ALERT_TOPIC_ARN``
    and Slack (both optional: where the finished pack is announced), and ``AUTHORIZED_PUBLIC_PORTS``
    (:func:`sgwatch.settings.authorized_public_ports`: the current rules are rated as the alerts rate them).
    ``WORK_QUEUE_URL`` fans the pack out, one part per account/region (see ``functions/review_pack/parts.py``);
    ``WORK_MAX_RECEIVES`` is the queue's receive count after which a part that still fails is a gap."""

    evidence: settings.Evidence
    schedule_timezone: str = ""
    topic_arn: str = ""
    slack: settings.Slack | None = None
    authorized_public_ports: tuple[int, ...] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS
    work_queue_url: str = ""
    part_attempts: int = DEFAULT_PART_ATTEMPTS

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
            work_queue_url=settings.text(env, "WORK_QUEUE_URL"),
            part_attempts=settings.integer(env, "WORK_MAX_RECEIVES", DEFAULT_PART_ATTEMPTS, minimum=1),
        )
