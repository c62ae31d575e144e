"""The unused-group audit of one account and region: read every declared source, classify, report.

Read-only: nothing here deletes or changes a security group. The sources are the records of
:mod:`sgwatch.unused_sg_audit.sources`; each runs in a worker of its own, and one that fails (access denied,
not offered in the region, an error) is reported as "not scanned" with a short reason, never
read as "no references". The report is a JSON and a CSV object under the ``unused`` series of
the evidence bucket; an SNS summary goes out only when groups became unused since the previous
report, and Security Hub findings are suppressed or re-opened when SECURITYHUB_SYNC is set.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, UnknownServiceError

from .. import asff, aws, log, notify, settings
from ..csvio import to_csv
from ..evidence import UNUSED, EvidenceStore, Layout, stamp
from . import securityhub_sync, usage
from .references import refs_from_group_rules
from .sources import CREATED_GROUPS, SECURITY_GROUPS, SOURCES, Call, Fetch, Scope, Source

MAX_SOURCE_WORKERS = 6
# LookupEvents keeps 90 days of management events:
# https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
CLOUDTRAIL_WINDOW_DAYS = 90

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "AuthorizationErrorException",
    "AuthFailure",
}
NOT_AVAILABLE = {
    "OptInRequired",
    "SubscriptionRequiredException",
    "UnsupportedOperation",
    "InvalidAction",
    "UnknownOperationException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


@dataclass(frozen=True)
class Settings:
    """The audit's configuration, read once per invocation."""

    evidence: settings.Evidence
    exempt_tag_key: str
    grace_days: int
    allow_partial: bool
    securityhub_sync: bool
    control_ids: tuple[str, ...]
    topic_arn: str

    @classmethod
    def from_env(cls, env: settings.Environment | None = None) -> Settings:
        env = settings.environment(env)
        return cls(
            evidence=settings.Evidence.required(env, "the audit needs an evidence bucket"),
            exempt_tag_key=settings.text(env, "EXEMPT_TAG_KEY", usage.DEFAULT_EXEMPT_TAG_KEY),
            grace_days=settings.integer(env, "GRACE_DAYS", 0, minimum=0),
            allow_partial=settings.flag(env, "ALLOW_PARTIAL"),
            securityhub_sync=settings.flag(env, "SECURITYHUB_SYNC"),
            control_ids=settings.items(env, "SECURITYHUB_CONTROL_IDS") or securityhub_sync.DEFAULT_CONTROL_IDS,
            topic_arn=settings.text(env, "ALERT_TOPIC_ARN"),
        )


def why_not_scanned(exc: BaseException) -> str:
    """A short, stable reason for the report and the log."""
    if isinstance(exc, (EndpointConnectionError, UnknownServiceError)):
        return f"not available in this region ({type(exc).__name__})"
    if isinstance(exc, NotImplementedError):
        return "not available (API not implemented by this endpoint)"
    code = aws.error_code(exc)
    if code in ACCESS_DENIED:
        return f"access denied ({code})"
    if code in NOT_AVAILABLE:
        return f"not available in this region ({code})"
    return f"error ({code}: {str(exc)[:200]})"


# --------------------------------------------------------------------------- reading


def pages(client: Any, method: str, key: str, **request: Any) -> Iterator[Any]:
    """The items under ``key`` of every response (``key`` empty: the responses themselves), through
    botocore's paginator, or by following ``NextToken`` where botocore has none."""
    if client.can_paginate(method):
        responses: Any = client.get_paginator(method).paginate(**request)
    else:
        responses = _token_pages(getattr(client, method), request)
    for response in responses:
        yield from (response.get(key) or ()) if key else (response,)


def _token_pages(operation: Any, request: dict[str, Any]) -> Iterator[Any]:
    token = None
    while True:
        response = operation(**request, **({"NextToken": token} if token else {}))
        yield response
        token = response.get("NextToken")
        if not token:
            return


def fetcher(call: Call, region: str) -> Fetch:
    """The items of ``call`` in ``region`` of the account being looked at."""

    def fetch(**params: Any) -> Iterator[Any]:
        request = {**call.params, **params}
        if call.page_size:
            request["PaginationConfig"] = {"PageSize": call.page_size}
        yield from pages(aws.client(call.service, region), call.method, call.key, **request)

    return fetch


def _read(source: Source, region: str, scope: Scope) -> list[usage.Reference]:
    return list(source.walk(scope, *(fetcher(call, region) for call in source.calls)))


def scan_sources(
    account_id: str, region: str, groups: list[dict[str, Any]]
) -> tuple[list[usage.Reference], dict[str, str]]:
    """References from every source (group rules included); sources that failed are "not scanned"."""
    scope = Scope(groups, usage.GroupIndex(groups))
    references = list(refs_from_group_rules(groups))
    not_scanned: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=MAX_SOURCE_WORKERS) as pool:
        futures = {
            source.name: pool.submit(contextvars.copy_context().run, _read, source, region, scope)
            for source in SOURCES
        }
        for name, future in futures.items():
            try:
                found = future.result()
            except Exception as exc:  # reported, never treated as "no references"
                not_scanned[name] = why_not_scanned(exc)
                log.warning(
                    "source_not_scanned", account_id=account_id, region=region, source=name, reason=not_scanned[name]
                )
                continue
            references += found
    return references, not_scanned


def creation_times(account_id: str, region: str, now: datetime, grace_days: int) -> dict[str, datetime]:
    """CreateSecurityGroup events of the grace window from CloudTrail; {} when unavailable."""
    if grace_days <= 0:
        return {}
    start = now - timedelta(days=min(grace_days, CLOUDTRAIL_WINDOW_DAYS))
    try:
        events = fetcher(CREATED_GROUPS, region)(StartTime=start, EndTime=now)
        return usage.creation_times_from_cloudtrail(events)
    except Exception as exc:
        log.warning(
            "creation_times_unavailable",
            account_id=account_id,
            region=region,
            reason=why_not_scanned(exc),
            effect="only groups with a creation-time tag can be inside the grace period",
        )
        return {}


# --------------------------------------------------------------------------- per region


def _previous_report(store: EvidenceStore, key: str | None, account_id: str, region: str) -> dict[str, Any] | None:
    """The previous report; None when there is none or it is not JSON (logged). A failed read raises: without
    the previous report every unused group would be announced as newly unused."""
    if not key:
        return None
    body = store.get(key).body
    try:
        found = json.loads(body)
        return found if isinstance(found, dict) else None
    except ValueError as exc:
        log.error(
            "previous_report_unusable",
            account_id=account_id,
            region=region,
            key=key,
            error=f"{aws.error_code(exc)}: {exc}",
        )
        return None


def sync_securityhub(
    account_id: str, region: str, audit: usage.Audit, control_ids: tuple[str, ...]
) -> dict[str, int]:
    hub = aws.central_client("securityhub", region)
    findings = pages(
        hub,
        "get_findings",
        "Findings",
        Filters=securityhub_sync.findings_filter(account_id, region, control_ids),
        PaginationConfig={"PageSize": asff.PAGE_SIZE},
    )
    updates = securityhub_sync.plan_updates(findings, audit.in_use, audit.unreferenced)
    counts = {"suppressed": 0, "reopened": 0, "failed": 0}
    for update in updates:
        response = hub.batch_update_findings(**securityhub_sync.batch_update_request(update))
        failed = response.get("UnprocessedFindings") or []
        done = len(update.identifiers) - len(failed)
        counts["suppressed" if update.status == "SUPPRESSED" else "reopened"] += done
        counts["failed"] += len(failed)
        log.info(
            "securityhub_updated",
            account_id=account_id,
            region=region,
            group_id=update.group_id,
            status=update.status,
            findings=done,
            unprocessed=len(failed),
        )
    if counts["failed"]:
        raise RuntimeError(f"Security Hub left {counts['failed']} finding update(s) unprocessed")
    return counts


def audit_region(store: EvidenceStore, config: Settings, account_id: str, region: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    groups = list(fetcher(SECURITY_GROUPS, region)())
    references, not_scanned = scan_sources(account_id, region, groups)
    audit = usage.classify(
        account_id,
        region,
        groups,
        references,
        not_scanned,
        now=now,
        exempt_tag_key=config.exempt_tag_key,
        grace_days=config.grace_days,
        created_at=creation_times(account_id, region, now, config.grace_days),
        allow_partial=config.allow_partial,
    )

    series = Layout(config.evidence.prefix).series(account_id, region, UNUSED)
    previous_key = store.latest_key(series)  # read before writing this run's report
    if previous_key and previous_key.endswith(".csv"):  # same stem; ".csv" lists before ".json"
        previous_key = previous_key[: -len(".csv")] + ".json"
    previous = _previous_report(store, previous_key, account_id, region)

    stem = series + stamp(now)
    json_key, csv_key = stem + ".json", stem + ".csv"
    # Alert before writing: if delivery fails, nothing is written and the next run alerts again.
    new_ids = usage.newly_unused(audit, previous) if audit.unused else []
    if new_ids and config.topic_arn:
        subject, message = usage.summary_message(audit, new_ids, json_key)
        notify.publish(
            config.topic_arn,
            subject,
            message,
            {"account_id": account_id, "region": region, "kind": "unused-security-groups"},
        )
    body = json.dumps(usage.report_json(audit), indent=2, sort_keys=False).encode("utf-8")
    metadata = {"previous-report": previous_key or ""}
    if not store.put_new(json_key, body, content_type="application/json", metadata=metadata):
        raise RuntimeError(f"report {json_key} already exists; refusing to overwrite evidence")
    doc = to_csv(usage.REPORT_CSV_HEADER, usage.report_rows(audit))
    if not store.put_new(csv_key, doc.body, metadata={"rows": str(doc.rows), "sha256": doc.sha256, "report": json_key}):
        raise RuntimeError(f"report {csv_key} already exists; refusing to overwrite evidence")

    result: dict[str, Any] = {
        "account_id": account_id,
        "region": region,
        "unused": audit.unused_ids,
        "in_use": audit.in_use,
        "report_key": json_key,
        "csv_key": csv_key,
        "newly_unused": new_ids,
        "not_scanned": audit.not_scanned,
    }
    log.info(
        "audit_written",
        account_id=account_id,
        region=region,
        report_key=json_key,
        groups=len(groups),
        unused=len(audit.unused),
        in_use=len(audit.in_use),
        newly_unused=new_ids,
        not_scanned=audit.not_scanned,
        undetermined=len(audit.undetermined),
    )

    if config.securityhub_sync:
        try:
            result["securityhub"] = sync_securityhub(account_id, region, audit, config.control_ids)
        except ClientError as exc:
            if aws.error_code(exc) != "InvalidAccessException":  # Security Hub not enabled here
                raise
            log.warning("securityhub_not_enabled", account_id=account_id, region=region, error=str(exc))
            result["securityhub"] = {"error": "Security Hub is not enabled in this region"}
    return result
