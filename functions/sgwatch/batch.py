"""SQS partial batch responses: a function fed by a queue hands back only the records it could not process.

The event source mappings report batch item failures (``ReportBatchItemFailures``): SQS deletes the
batch's other records and delivers the returned ones again, to the dead-letter queue once the queue's
``maxReceiveCount`` is reached. An identifier SQS did not give (empty, or no ``messageId``) would fail the
whole batch (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), so a record
without one is only reported, under its place in the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def identify(record: Any, number: int) -> tuple[str | None, str]:
    """The record's SQS message id (None when it has none) and the label its log lines use."""
    message_id = record.get("messageId") if isinstance(record, Mapping) else None
    if not isinstance(message_id, str) or not message_id:
        return None, f"#{number}"
    return message_id, message_id


def response(failed: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """What the handler returns: the message ids to deliver again, each once, in the order given."""
    return {"batchItemFailures": [{"itemIdentifier": m} for m in dict.fromkeys(failed)]}
