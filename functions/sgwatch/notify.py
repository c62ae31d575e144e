"""Alert delivery: SNS (always) and Slack (optional)."""

from __future__ import annotations

import re
from typing import Any

from . import aws

SUBJECT_LIMIT = 100
BODY_LIMIT = 250_000  # SNS accepts 256 KiB; keep room for attributes


def sns_subject(text: str) -> str:
    """A subject SNS accepts: ASCII, no line breaks, at most 100 characters."""
    ascii_only = text.encode("ascii", "replace").decode("ascii")
    one_line = re.sub(r"[\x00-\x1f\x7f]+", " ", ascii_only).strip()
    if len(one_line) > SUBJECT_LIMIT:
        one_line = one_line[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return one_line or "SG Watch alert"


def publish(
    topic_arn: str,
    subject: str,
    body: str,
    attributes: dict[str, str] | None = None,
    sns: Any | None = None,
) -> str:
    """Publish one alert; return its message id. Raises when delivery fails."""
    if len(body.encode("utf-8")) > BODY_LIMIT:
        body = body.encode("utf-8")[: BODY_LIMIT - 40].decode("utf-8", "ignore") + "\n\n[message truncated]"
    response = (sns or aws.central_client("sns")).publish(
        TopicArn=topic_arn,
        Subject=sns_subject(subject),
        Message=body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items() if value
        },
    )
    return response["MessageId"]
