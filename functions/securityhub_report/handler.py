"""Scheduled report of open failed Security Hub control findings, uploaded to Slack as CSV."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sgwatch import aws, csvio, findings, log, notify, slack

NOT_ENABLED_CODES = ("InvalidAccessException",)


class ReportDeliveryFailed(RuntimeError):
    """The report could not be delivered to Slack (a summary went to the alert topic)."""


@dataclass(frozen=True)
class Settings:
    secret_arn: str
    channel_id: str
    control_ids: list[str]
    severities: list[str]
    owner_tag_key: str
    owner_slack_ids: dict[str, str]
    report_when_empty: bool
    alert_topic_arn: str
    slack_api_url: str

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        missing = [name for name in ("SLACK_TOKEN_SECRET_ARN", "SLACK_CHANNEL_ID") if not env.get(name)]
        if missing:
            raise ValueError(f"{' and '.join(missing)} not set: the Security Hub report needs a Slack channel and token")
        try:
            owner_ids = json.loads(env.get("OWNER_SLACK_IDS") or "{}")
        except ValueError:
            raise ValueError("OWNER_SLACK_IDS is not JSON: expected an object of owner tag value -> Slack user id") from None
        if not isinstance(owner_ids, dict):
            raise ValueError("OWNER_SLACK_IDS must be a JSON object of owner tag value -> Slack user id")
        severities = findings.parse_list(env.get("SEVERITIES"), upper=True)
        unknown = sorted(set(severities) - set(findings.SEVERITIES))
        if unknown:
            raise ValueError(f"SEVERITIES has unknown labels {unknown}; use {', '.join(findings.SEVERITIES)}")
        return cls(
            secret_arn=env["SLACK_TOKEN_SECRET_ARN"],
            channel_id=env["SLACK_CHANNEL_ID"],
            control_ids=findings.parse_list(env.get("CONTROL_IDS")),
            severities=severities,
            owner_tag_key=env.get("OWNER_TAG_KEY") or "Owner",
            owner_slack_ids={str(k): str(v) for k, v in owner_ids.items()},
            report_when_empty=(env.get("REPORT_WHEN_EMPTY") or "true").strip().lower() in ("1", "true", "yes"),
            alert_topic_arn=env.get("ALERT_TOPIC_ARN") or "",
            slack_api_url=env.get("SLACK_API_URL") or "",
        )


def fetch_findings(securityhub: Any, settings: Settings) -> Iterator[dict[str, Any]]:
    """Every finding matching the query's filter sets (they overlap), page by page to the end, each once
    (de-duplicated by finding id)."""
    seen: set[str] = set()
    paginator = securityhub.get_paginator("get_findings")
    for filters in findings.query_filters(settings.control_ids, settings.severities):
        pages = paginator.paginate(Filters=filters, PaginationConfig={"PageSize": findings.PAGE_SIZE})
        for page in pages:
            for finding in page.get("Findings") or ():
                if finding.get("Id") in seen:
                    continue
                seen.add(finding.get("Id"))
                yield finding


def _slack_error(exc: BaseException) -> str:
    """A short reason for a Slack failure (the API error code when there is one)."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            code = response.get("error")
        except Exception:
            code = None
        status = getattr(response, "status_code", None)
        return f"{code or 'error'} (HTTP {status})" if status else str(code or exc)
    return f"{type(exc).__name__}: {exc}"


def _email_lookup(client: Any) -> Callable[[str], str | None]:
    """users.lookupByEmail, given up for the run once the app lacks the scope or the token fails."""
    disabled: list[str] = []

    def lookup(email: str) -> str | None:
        if disabled:
            return None
        from slack_sdk.errors import SlackApiError

        try:
            return client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            code = exc.response.get("error")
            if code in ("missing_scope", "not_allowed_token_type", "invalid_auth", "account_inactive"):
                disabled.append(code)
            log.warning("owner_email_not_found", error=code)
            return None

    return lookup


def deliver(
    settings: Settings, rows: list[findings.ReportRow], now: datetime, unmatched: list[str] | None = None
) -> str | None:
    """Post the report; return the Slack file id (None for the short nothing-found message).

    ``unmatched``: configured control ids no finding matched, named in the report.
    """
    client = slack.web_client(settings.secret_arn, settings.slack_api_url or None)
    if not rows:
        client.chat_postMessage(
            channel=settings.channel_id,
            text=findings.empty_message(settings.control_ids, settings.severities),
            unfurl_links=False,
            unfurl_media=False,
        )
        return None
    owners = findings.resolve_owners(rows, settings.owner_slack_ids, _email_lookup(client))
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(rows))
    response = client.files_upload_v2(
        channel=settings.channel_id,
        content=document.body,
        filename=findings.file_name(f"{now:%Y%m%dT%H%M%SZ}"),
        title=f"Security Hub findings {now:%Y-%m-%d}",
        initial_comment=findings.report_comment(
            rows, owners, settings.owner_tag_key, settings.control_ids, settings.severities, unmatched or ()
        ),
    )
    file_info = response.get("file") or {}
    return file_info.get("id")


def _fallback(settings: Settings, rows: list[findings.ReportRow], reason: str, unmatched: list[str]) -> bool:
    if not settings.alert_topic_arn:
        log.error("fallback_unavailable", reason="ALERT_TOPIC_ARN not set")
        return False
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(rows))
    body = (
        f"The Security Hub report could not be posted to Slack channel {settings.channel_id}: {reason}\n\n"
        + findings.plain_summary(rows, settings.control_ids, settings.severities, unmatched)
        + ("\n\nFindings (CSV):\n" + document.body.decode("utf-8") if rows else "")
    )
    try:
        notify.publish(
            settings.alert_topic_arn,
            f"SG Watch: Security Hub report not delivered to Slack ({reason})",
            body,
            {"capability": "securityhub_report"},
        )
    except Exception as exc:
        log.error("fallback_failed", topic_arn=settings.alert_topic_arn, error=f"{aws.error_code(exc)}: {exc}")
        return False
    log.info("fallback_published", topic_arn=settings.alert_topic_arn)
    return True


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = Settings.from_env()
    region = aws.own_region()
    try:
        raw = list(fetch_findings(aws.client("securityhub"), settings))
    except ClientError as exc:
        if aws.error_code(exc) not in NOT_ENABLED_CODES:
            raise
        message = (
            f"Security Hub is not enabled (or this account is not subscribed) in {region}: "
            f"nothing to report. Enable Security Hub or disable the report. ({exc})"
        )
        log.error("securityhub_not_enabled", region=region, error=aws.error_code(exc))
        if settings.alert_topic_arn:
            notify.publish(settings.alert_topic_arn, "SG Watch: Security Hub is not enabled", message)
        return {
            "findings": 0, "by_control": {}, "by_severity": {}, "posted": False, "slack_file_id": None,
            "error": message,
        }

    rows = findings.report_rows(raw, settings.owner_tag_key, settings.control_ids, settings.severities)
    unmatched = findings.unmatched_controls(raw, settings.control_ids, settings.severities)
    result: dict[str, Any] = {
        "findings": len(rows),
        "by_control": findings.by_control(rows),
        "by_severity": findings.by_severity(rows),
        "posted": False,
        "slack_file_id": None,
    }
    log.info("findings_collected", region=region, returned=len(raw), controls_without_findings=unmatched,
             **{k: result[k] for k in ("findings", "by_severity")})
    if not rows and not settings.report_when_empty:
        log.info("nothing_to_report", region=region)
        return result

    try:
        result["slack_file_id"] = deliver(settings, rows, datetime.now(UTC), unmatched)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, slack.SlackConfigError) else _slack_error(exc)
        log.error("slack_delivery_failed", channel=settings.channel_id, error=reason)
        published = _fallback(settings, rows, reason, unmatched)
        raise ReportDeliveryFailed(
            f"Security Hub report not delivered to Slack channel {settings.channel_id}: {reason}"
            + ("; summary published to the alert topic" if published else "")
        ) from exc
    result["posted"] = True
    log.info("report_posted", channel=settings.channel_id, file_id=result["slack_file_id"], findings=len(rows))
    return result
