"""Alert delivery over SNS: every alert is published to the alert topic (Slack is :mod:`sgwatch.slack`)."""

from __future__ import annotations

from typing import Any

from . import aws
from .text import ascii_line

# SNS Publish, Subject: ASCII text that begins with a letter, number or punctuation mark, with no
# line breaks or control characters, and *fewer than* 100 characters (a subject of exactly 100 is
# refused and the alert ends in the dead-letter queue). The service model now says "UTF-8 text";
# we keep to ASCII, which every version of the constraint and every mail client accepts.
# https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
SUBJECT_MAX_CHARS = 99
BODY_LIMIT = 250_000  # SNS accepts 256 KiB; keep room for attributes


def sns_subject(text: str) -> str:
    """A subject SNS accepts: one line of printable ASCII, at most 99 characters, never empty.

    ``ascii_line`` strips leading spaces, so the first character is a letter, digit or
    punctuation mark (everything else printable in ASCII is one of those).
    """
    return ascii_line(text, SUBJECT_MAX_CHARS) or "SG Watch alert"


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
    return str(response["MessageId"])
