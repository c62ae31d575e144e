"""The Security Hub report's I/O: its settings, the findings query, Slack delivery and the fallback.

The report's content is :mod:`sgwatch.securityhub_report.findings`; posting goes through :class:`sgwatch.slack.Poster`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import asff, aws, csvio, log, notify, settings
from ..slack import Poster
from . import findings


@dataclass(frozen=True)
class Settings:
    """The report's configuration, read once per invocation."""

    slack: settings.Slack
    control_ids: tuple[str, ...]
    severities: tuple[str, ...]
    owner_tag_key: str
    owner_slack_ids: dict[str, str]
    report_when_empty: bool
    alert_topic_arn: str

    @classmethod
    def from_env(cls, env: settings.Environment | None = None) -> Settings:
        env = settings.environment(env)
        slack = settings.Slack.required(env, "the Security Hub report needs a Slack channel and token")
        owner_ids = settings.json_object(env, "OWNER_SLACK_IDS", "owner tag value -> Slack user id")
        severities = tuple(sorted(settings.items(env, "SEVERITIES", upper=True)))
        unknown = sorted(set(severities) - set(asff.SEVERITIES))
        if unknown:
            raise settings.SettingsError(
                f"SEVERITIES has unknown labels {unknown}; use {', '.join(asff.SEVERITIES)}"
            )
        return cls(
            slack=slack,
            control_ids=tuple(sorted(settings.items(env, "CONTROL_IDS"))),
            severities=severities,
            owner_tag_key=settings.text(env, "OWNER_TAG_KEY", "Owner"),
            owner_slack_ids={str(k): str(v) for k, v in owner_ids.items()},
            report_when_empty=settings.flag(env, "REPORT_WHEN_EMPTY", default=True),
            alert_topic_arn=settings.text(env, "ALERT_TOPIC_ARN"),
        )


def fetch_findings(securityhub: Any, config: Settings) -> Iterator[dict[str, Any]]:
    """Every finding matching the query's filter sets (they overlap), page by page to the end, each once
    (de-duplicated by finding id)."""
    seen: set[str] = set()
    paginator = securityhub.get_paginator("get_findings")
    for filters in findings.query_filters(config.control_ids, config.severities):
        for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": asff.PAGE_SIZE}):
            for finding in page.get("Findings") or ():
                if finding.get("Id") in seen:
                    continue
                seen.add(finding.get("Id"))
                yield finding


def slack_error(exc: BaseException) -> str:
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
    """users.lookupByEmail, given up for the run once the app lacks the scope or the token fails; an answer
    other than a user or ``users_not_found`` raises :class:`findings.OwnerLookupFailed`."""
    disabled: list[str] = []

    def lookup(email: str) -> str | None:
        if disabled:
            raise findings.OwnerLookupFailed(disabled[0])
        from slack_sdk.errors import SlackApiError

        try:
            return str(client.users_lookupByEmail(email=email)["user"]["id"])
        except SlackApiError as exc:
            code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            if code == "users_not_found":  # Slack's answer: no user has this address
                log.warning("owner_email_not_found", error=code)
                return None
            if code in ("missing_scope", "not_allowed_token_type", "invalid_auth", "account_inactive"):
                disabled.append(code)
            log.warning("owner_email_not_looked_up", error=code)
            raise findings.OwnerLookupFailed(code) from None

    return lookup


def deliver(config: Settings, rows: list[findings.ReportRow], now: datetime, unmatched: list[str]) -> str | None:
    """Post the report; return the Slack file id (None for the short nothing-found message).

    ``unmatched``: configured control ids no finding matched, named in the report.
    """
    poster = Poster(config.slack)
    if not rows:
        poster.post(findings.empty_message(config.control_ids, config.severities))
        return None
    owners = findings.resolve_owners(rows, config.owner_slack_ids, _email_lookup(poster.client))
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(rows))
    response = poster.upload(
        content=document.body,
        filename=findings.file_name(f"{now:%Y%m%dT%H%M%SZ}"),
        title=f"Security Hub findings {now:%Y-%m-%d}",
        initial_comment=findings.report_comment(
            rows, owners, config.owner_tag_key, config.control_ids, config.severities, unmatched
        ),
    )
    file_info = response.get("file") or {}
    return file_info.get("id")


def fallback(config: Settings, rows: list[findings.ReportRow], reason: str, unmatched: list[str]) -> bool:
    """The summary (and the CSV) to the alert topic when Slack failed; whether it was published."""
    if not config.alert_topic_arn:
        log.error("fallback_unavailable", reason="ALERT_TOPIC_ARN not set")
        return False
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(rows))
    body = (
        f"The Security Hub report could not be posted to Slack channel {config.slack.channel_id}: {reason}\n\n"
        + findings.plain_summary(rows, config.control_ids, config.severities, unmatched)
        + ("\n\nFindings (CSV):\n" + document.body.decode("utf-8") if rows else "")
    )
    try:
        notify.publish(
            config.alert_topic_arn,
            f"SG Watch: Security Hub report not delivered to Slack ({reason})",
            body,
            {"capability": "securityhub_report"},
        )
    except Exception as exc:
        log.error("fallback_failed", topic_arn=config.alert_topic_arn, error=f"{aws.error_code(exc)}: {exc}")
        return False
    log.info("fallback_published", topic_arn=config.alert_topic_arn)
    return True
