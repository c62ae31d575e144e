"""Scheduled report of open failed Security Hub control findings, uploaded to Slack as CSV.

The configuration is :class:`sgwatch.securityhub_report.findings_report.Settings`; the report's content is
:mod:`sgwatch.securityhub_report.findings`. When Slack refuses the report, a summary goes to the alert topic and
the invocation fails, so the error alarm fires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sgwatch import aws, log, notify, slack
from sgwatch.securityhub_report import findings
from sgwatch.securityhub_report.findings_report import Settings, deliver, fallback, fetch_findings, slack_error

NOT_ENABLED_CODES = ("InvalidAccessException",)


class ReportDeliveryFailed(RuntimeError):
    """The report could not be delivered to Slack (a summary went to the alert topic)."""


def not_enabled(config: Settings, region: str, exc: ClientError) -> dict[str, Any]:
    message = (
        f"Security Hub is not enabled (or this account is not subscribed) in {region}: "
        f"nothing to report. Enable Security Hub or disable the report. ({exc})"
    )
    log.error("securityhub_not_enabled", region=region, error=aws.error_code(exc))
    if config.alert_topic_arn:
        notify.publish(config.alert_topic_arn, "SG Watch: Security Hub is not enabled", message)
    return {
        "findings": 0, "by_control": {}, "by_severity": {}, "posted": False, "slack_file_id": None, "error": message,
    }


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = Settings.from_env()
    region = aws.own_region()
    try:
        raw = list(fetch_findings(aws.client("securityhub"), config))
    except ClientError as exc:
        if aws.error_code(exc) not in NOT_ENABLED_CODES:
            raise
        return not_enabled(config, region, exc)

    rows = findings.report_rows(raw, config.owner_tag_key, config.control_ids, config.severities)
    unmatched = findings.unmatched_controls(raw, config.control_ids, config.severities)
    result: dict[str, Any] = {
        "findings": len(rows),
        "by_control": findings.by_control(rows),
        "by_severity": findings.by_severity(rows),
        "posted": False,
        "slack_file_id": None,
    }
    log.info("findings_collected", region=region, returned=len(raw), controls_without_findings=unmatched,
             **{k: result[k] for k in ("findings", "by_severity")})
    if not rows and not config.report_when_empty:
        log.info("nothing_to_report", region=region)
        return result

    channel = config.slack.channel_id
    try:
        result["slack_file_id"] = deliver(config, rows, datetime.now(UTC), unmatched)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, slack.SlackConfigError) else slack_error(exc)
        log.error("slack_delivery_failed", channel=channel, error=reason)
        published = fallback(config, rows, reason, unmatched)
        raise ReportDeliveryFailed(
            f"Security Hub report not delivered to Slack channel {channel}: {reason}"
            + ("; summary published to the alert topic" if published else "")
        ) from exc
    result["posted"] = True
    log.info("report_posted", channel=channel, file_id=result["slack_file_id"], findings=len(rows))
    return result
