"""Remediation: Slack's interaction endpoint (a Lambda function URL) and the jobs it queues.

A function URL request (Slack, or anyone on the internet) is checked in this order, each step before
anything later is read: body size, Slack's ``v0`` signature within its 5-minute window, then the
interaction it carries. A signed Revert click, or a Keep dialog's valid submission, is queued on the
function's work queue and answered at once; a signed Keep click opens the Keep dialog (``views.open``
with the click's trigger id, which Slack accepts for 3 seconds); a submission with a missing reason or
an expiry out of range is answered with the errors to show; anything else gets a fixed refusal that
echoes nothing. A queued job (SQS) is then done by :class:`sgwatch.remediation.jobs.Job`: approver,
write-once decision, revert or exception, outcome, Slack update.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sgwatch import aws, batch, log, slack
from sgwatch.fanout import is_queue_event
from sgwatch.remediation import interaction, jobs, signature
from sgwatch.remediation.interaction import Click
from sgwatch.remediation_prompt import EXCEPTION_ACTIONS


def ack_client(service: str) -> Any:
    """The acknowledgement's calls (the signing secret, when not cached, and the queue): one attempt each, at
    most 1.5 s (:data:`sgwatch.aws.ACK_CONFIG`), so Slack gets its answer within its 3 seconds. A failure answers
    503; the person clicks again."""
    return aws.central_client(service, config=aws.ACK)


# The acknowledgement's Slack client (views.open), one attempt of at most 1.5 s: kept while the session is.
_ack_slack: dict[str, tuple[Any, Any]] = {}


def ack_slack(config: jobs.Settings) -> Any:
    session = aws.base_session()
    found = _ack_slack.get(config.slack.secret_arn)
    if found is None or found[0] is not session:
        _ack_slack.clear()
        client = slack.web_client(config.slack.secret_arn, config.slack.api_url, ack_client("secretsmanager"),
                                  timeout=1.5)
        found = _ack_slack[config.slack.secret_arn] = (session, client)
    return found[1]


def open_keep_dialog(click: Click, config: jobs.Settings) -> dict[str, Any]:
    dialog = interaction.keep_dialog(click, datetime.now(UTC).date(), config.exception_max_days)
    try:
        ack_slack(config).views_open(trigger_id=click.trigger_id, view=dialog)
    except Exception as exc:  # Slack shows the person an error and the click can be repeated
        log.error("dialog_not_opened", event_id=click.ref.event_id, error=f"{type(exc).__name__}: {str(exc)[:200]}")
        return interaction.UNAVAILABLE
    log.info("dialog_opened", event_id=click.ref.event_id, user_id=click.user_id)
    return interaction.ACCEPTED


def answer_request(event: dict[str, Any], config: jobs.Settings) -> dict[str, Any]:
    body = interaction.raw_body(event)
    if body is None:
        log.warning("request_refused", reason="oversized")
        return interaction.OVERSIZED
    timestamp = interaction.header(event, "x-slack-request-timestamp")
    given = interaction.header(event, "x-slack-signature")
    try:
        secret = signature.signing_secret(config.signing_secret_arn, ack_client("secretsmanager"))
    except signature.SigningSecretError as exc:
        log.error("request_refused", reason="no_signing_secret", error=str(exc))
        return interaction.UNAVAILABLE
    why = signature.refusal(secret, timestamp, given, body, time.time())
    if why is not None:
        log.warning("request_refused", reason=why)
        return interaction.REFUSED
    payload = interaction.parse_payload(body) or {}
    found = interaction.parse_submission(payload, datetime.now(UTC).date(), config.exception_max_days)
    if isinstance(found, dict):
        log.info("dialog_refused", fields=sorted(found))
        return interaction.form_errors(found)
    click = found or interaction.parse_click(payload)
    if click is None or click.channel_id != config.slack.channel_id:
        log.warning("request_refused", reason="not_our_interaction")
        return interaction.NOT_A_CLICK
    if click.action in EXCEPTION_ACTIONS and click.trigger_id:  # a Keep or Restore click: the dialog asks why and
        # until when; nothing queued
        return open_keep_dialog(click, config)
    try:
        sent = ack_client("sqs").send_message(QueueUrl=config.queue_url, MessageBody=json.dumps(click.job()))
    except Exception as exc:  # not queued: Slack shows the person an error and the click can be repeated
        log.error("click_not_queued", event_id=click.ref.event_id, error=aws.error_code(exc))
        return interaction.UNAVAILABLE
    log.info("click_queued", event_id=click.ref.event_id, user_id=click.user_id, message_id=sent.get("MessageId"))
    return interaction.ACCEPTED


def run_jobs(event: dict[str, Any], config: jobs.Settings, context: Any) -> dict[str, Any]:
    client = slack.Poster(config.slack).client
    failed: list[str] = []
    for number, record in enumerate(event["Records"]):
        message_id, label = batch.identify(record, number)
        try:
            click = Click.from_job(json.loads(record.get("body") or "null"))
        except ValueError:
            click = None
        if click is None or message_id is None:
            log.error("job_rejected", message_id=label)
            failed += [message_id] if message_id else []
            continue
        try:
            outcome = jobs.Job(config, click, message_id, client).run(context)
        except Exception as exc:  # delivered again, then kept in the dead-letter queue with an alarm
            log.error("job_failed", message_id=label, event_id=click.ref.event_id,
                      error=f"{type(exc).__name__}: {aws.error_code(exc)}")
            failed.append(message_id)
            continue
        log.info("job_done", message_id=label, event_id=click.ref.event_id, outcome=outcome)
    return batch.response(failed)


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = jobs.Settings.from_env()
    if interaction.is_url_request(event):
        return answer_request(event, config)
    if is_queue_event(event):
        return run_jobs(event, config, context)
    raise ValueError("neither a function URL request nor a queued job")
