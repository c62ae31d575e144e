"""The reachability check of one invocation: EC2 calls, the paths' state, alerts.

The paths live in the function's own account and region; their state objects are the
``reachability`` series of the evidence bucket, one sub-folder per path. The decisions
(which paths a batch affects, transitions, alert texts) are :mod:`sgwatch.reachability_check.reachability`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .. import aws, log, notify, settings
from ..batch import response
from ..evidence import REACHABILITY, EvidenceStore, Layout, stamp
from ..slack import Poster, escape
from . import reachability as rc

MAX_WORKERS = 8
# Time kept back for writing state and sending alerts after the last poll.
RESERVE_MILLIS = 20_000
THROTTLING = {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"}
PATH_NOT_FOUND = "InvalidNetworkInsightsPathId.NotFound"
ANALYSIS_NOT_FOUND = "InvalidNetworkInsightsAnalysisId.NotFound"


class ReachabilityCheckFailed(RuntimeError):
    """Some paths could not be checked or alerted; the rest were."""


def _origin(record: Any) -> tuple[Any, Any] | None:
    """``(account, region)`` of the EventBridge event an SQS record carries; None when it carries none."""
    body = record.get("body") if isinstance(record, Mapping) else None
    try:
        event = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None
    if not isinstance(event, Mapping) or not isinstance(event.get("detail"), Mapping):
        return None  # malformed: rc.read_batch reports it
    return event.get("account"), event.get("region")


def _remaining_millis(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return float(getter()) if callable(getter) else 300_000.0


# --------------------------------------------------------------------------- EC2


def describe_paths(ec2: Any, path_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Described paths by id; ids EC2 does not know are simply absent."""
    if not path_ids:
        return {}
    try:
        pages = ec2.get_paginator("describe_network_insights_paths").paginate(NetworkInsightsPathIds=path_ids)
        return {p["NetworkInsightsPathId"]: p for page in pages for p in page.get("NetworkInsightsPaths", ())}
    except ClientError as exc:
        if aws.error_code(exc) != PATH_NOT_FOUND or len(path_ids) == 1:
            if aws.error_code(exc) == PATH_NOT_FOUND:
                return {}
            raise
    found: dict[str, dict[str, Any]] = {}
    for path_id in path_ids:  # one of them is gone: find which, one at a time
        found.update(describe_paths(ec2, [path_id]))
    return found


def describe_endpoint_groups(ec2: Any, paths: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    instances, interfaces = rc.endpoints_to_resolve(paths)
    found: list[dict[str, Any]] = []
    paginator = ec2.get_paginator("describe_network_interfaces")
    for name, values in (("attachment.instance-id", instances), ("network-interface-id", interfaces)):
        if values:
            for page in paginator.paginate(Filters=[{"Name": name, "Values": sorted(values)}]):
                found.extend(page.get("NetworkInterfaces", ()))
    return rc.groups_by_endpoint(found)


def describe_analyses(ec2: Any, analysis_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """Analyses by id; None for one EC2 no longer knows. Throttling leaves ids out."""
    if not analysis_ids:
        return {}
    try:
        pages = ec2.get_paginator("describe_network_insights_analyses").paginate(
            NetworkInsightsAnalysisIds=analysis_ids
        )
        return {a["NetworkInsightsAnalysisId"]: a for page in pages for a in page.get("NetworkInsightsAnalyses", ())}
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in THROTTLING:
            log.warning("describe_analyses_throttled", analysis_ids=analysis_ids)
            return {}
        if code != ANALYSIS_NOT_FOUND:
            raise
        if len(analysis_ids) == 1:
            return {analysis_ids[0]: None}
    merged: dict[str, dict[str, Any] | None] = {}
    for analysis_id in analysis_ids:
        merged.update(describe_analyses(ec2, [analysis_id]))
    return merged


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Settings:
    """The check's configuration, read once per invocation."""

    evidence: settings.Evidence
    topic_arn: str
    path_ids: tuple[str, ...]
    slack: settings.Slack | None  # Slack is optional, beside the SNS alert

    @classmethod
    def from_env(cls, env: settings.Environment | None = None) -> Settings:
        env = settings.environment(env)
        return cls(
            evidence=settings.Evidence.required(env, "the check keeps the state of each path there"),
            topic_arn=settings.required(env, "ALERT_TOPIC_ARN", "the check alerts through the alert topic"),
            path_ids=settings.items(env, "PATH_IDS"),
            slack=settings.Slack.from_env(env),
        )


class Run:
    """One invocation: the paths to check, their analyses, state and alerts."""

    def __init__(self, config: Settings, context: Any, sleep: Callable[[float], None]) -> None:
        self.context = context
        self.sleep = sleep
        self.topic = config.topic_arn
        self.path_ids = list(config.path_ids)
        self.layout = Layout(config.evidence.prefix)
        self.region = aws.own_region()
        self.store = EvidenceStore(config.evidence.bucket)
        self.ec2 = aws.client("ec2")
        self.account_id = aws.function_account(context)
        self.slack = Poster(config.slack) if config.slack else None
        self.described: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, str] = {}
        self.alerts = 0
        self.results: list[dict[str, Any]] = []

    # -- state ---------------------------------------------------------------

    def series(self, path_id: str) -> str:
        return self.layout.series(self.account_id, self.region, REACHABILITY) + f"{path_id}/"

    def load_state(self, path_id: str) -> rc.PathRecord | None:
        key = self.store.latest_key(self.series(path_id))
        if key is None:
            return None
        try:
            return rc.PathRecord.from_json(self.store.get(key).body)
        except ValueError as exc:
            log.error("state_unreadable", path_id=path_id, key=key, error=str(exc), action="treated as first check")
            return None

    def save_state(self, record: rc.PathRecord) -> None:
        now = datetime.now(UTC)
        for _ in range(3):  # two writes in the same millisecond: take the next stamp
            key = self.series(record.path_id) + stamp(now) + ".json"
            if self.store.put_new(key, record.to_json(), content_type="application/json"):
                log.info("state_written", path_id=record.path_id, key=key, status=record.status, state=record.state)
                return
            time.sleep(0.002)
            now = datetime.now(UTC)
        raise RuntimeError(f"could not write a new state object for {record.path_id}")

    # -- analyses ------------------------------------------------------------

    def start(self, path_id: str) -> rc.Outcome | str | None:
        """The new analysis id, an outcome when it cannot start, None when throttled."""
        try:
            response = self.ec2.start_network_insights_analysis(NetworkInsightsPathId=path_id)
        except ClientError as exc:
            code = aws.error_code(exc)
            if code == PATH_NOT_FOUND:
                return rc.Outcome(path_id, rc.MISSING, message=f"{code}: {exc}")
            if code in THROTTLING:  # still throttled after the client's retries: the invocation
                self.errors[path_id] = f"{code}: {exc}"  # fails at the end and SQS/the schedule retries
                log.error("analysis_not_started", path_id=path_id, error=self.errors[path_id])
                return None
            return rc.Outcome(path_id, rc.ERROR, message=f"{code}: {exc}")
        analysis = response["NetworkInsightsAnalysis"]
        log.info("analysis_started", path_id=path_id, analysis_id=analysis["NetworkInsightsAnalysisId"])
        return str(analysis["NetworkInsightsAnalysisId"])

    def poll(self, waiting: dict[str, str]) -> dict[str, dict[str, Any] | None]:
        """Poll ``{analysis_id: path_id}`` with backoff until done or time runs short."""
        finished: dict[str, dict[str, Any] | None] = {}
        delays = rc.backoff_delays()
        first = True
        while waiting:
            if not first:
                delay = next(delays)
                if _remaining_millis(self.context) - delay * 1000 < RESERVE_MILLIS:
                    break
                self.sleep(delay)
            first = False
            for analysis_id, analysis in describe_analyses(self.ec2, sorted(waiting)).items():
                if analysis is None or analysis.get("Status") != rc.RUNNING:
                    finished[analysis_id] = analysis
                    waiting.pop(analysis_id, None)
        return finished

    # -- per path ------------------------------------------------------------

    def settle(
        self,
        path_id: str,
        previous: rc.PathRecord | None,
        analyses: list[str],
        outcome: rc.Outcome | None,
        finished: Mapping[str, dict[str, Any] | None],
    ) -> None:
        """Apply finished analyses in start order, then record what is still running."""
        record = previous
        remaining = list(analyses)
        try:
            while remaining and remaining[0] in finished:
                analysis_id = remaining.pop(0)
                analysis = finished[analysis_id]
                if analysis is None:
                    log.warning("analysis_vanished", path_id=path_id, analysis_id=analysis_id)
                    continue
                found = rc.Outcome.from_analysis(analysis)
                found.path_id = path_id
                record = self.apply(record, found)
            if outcome is not None:
                record = self.apply(record, outcome)
            if remaining:
                self.save_state(rc.pending_record(record, path_id, remaining, datetime.now(UTC)))
                for analysis_id in remaining:
                    self.results.append(
                        {"path_id": path_id, "analysis_id": analysis_id, "status": rc.RUNNING, "path_found": None}
                    )
                log.info("analyses_pending", path_id=path_id, analysis_ids=remaining)
        except Exception as exc:
            self.errors[path_id] = f"{aws.error_code(exc)}: {exc}"
            log.error("path_failed", path_id=path_id, error=self.errors[path_id])

    def apply(self, previous: rc.PathRecord | None, outcome: rc.Outcome) -> rc.PathRecord:
        record, kind = rc.transition(previous, outcome, datetime.now(UTC))
        self.results.append(
            {
                "path_id": outcome.path_id,
                "analysis_id": outcome.analysis_id,
                "status": outcome.status,
                "path_found": outcome.path_found,
            }
        )
        log.info(
            "path_checked",
            path_id=outcome.path_id,
            analysis_id=outcome.analysis_id,
            status=outcome.status,
            path_found=outcome.path_found,
            state=record.state,
            alert=kind,
        )
        if kind:
            alert = rc.format_alert(
                kind, outcome, self.described.get(outcome.path_id), self.account_id, self.region, previous
            )
            self.send(alert)  # before the state: a lost alert is retried, a duplicate is tolerable
        self.save_state(record)
        return record

    def send(self, alert: rc.Alert) -> None:
        message_id = notify.publish(self.topic, alert.subject, alert.body, alert.attributes)
        self.alerts += 1
        log.info("alert_published", path_id=alert.path_id, kind=alert.kind, message_id=message_id)
        if self.slack is not None:
            try:
                self.slack.post(rc.slack_text(alert, escape))
            except Exception as exc:  # Slack is best effort: the SNS alert is already out
                log.error("slack_failed", path_id=alert.path_id, error=f"{aws.error_code(exc)}: {exc}")

    # -- the invocation --------------------------------------------------------

    def describe(self, path_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Described paths; on an API error none (every path then counts as affected)."""
        try:
            return describe_paths(self.ec2, path_ids)
        except ClientError as exc:
            log.warning("paths_not_described", error=f"{aws.error_code(exc)}: {exc}")
            return {}

    def own_records(self, records: list[Any]) -> list[Any]:
        """Records whose event happened in this account and region (malformed ones too, to be reported)."""
        kept = []
        for number, record in enumerate(records):
            origin = _origin(record)
            if origin is None or origin == (self.account_id, self.region):
                kept.append(record)
                continue
            message_id = record.get("messageId") if isinstance(record, Mapping) else None
            log.warning(
                "event_ignored",
                message_id=str(message_id or f"#{number}"),
                account=origin[0],
                region=origin[1],
                reason=f"the paths are in {self.account_id}/{self.region}: a change elsewhere cannot affect them",
            )
        return kept

    def targets(self, event: Mapping[str, Any]) -> tuple[list[str], rc.Batch | None]:
        records = event.get("Records") if isinstance(event, Mapping) else None
        if not isinstance(records, list):
            self.described = self.describe(self.path_ids)
            log.info("scheduled_run", paths=len(self.path_ids))
            return list(self.path_ids), None
        batch = rc.read_batch(self.own_records(records))
        for ident, problem in batch.problems.items():
            log.error("malformed_record", message_id=ident, error=problem, action="reported as a batch item failure")
        if not batch.events:
            return [], batch
        if batch.changed is not None and not batch.changed:
            log.info("batch_without_effect", events=batch.events)
            return [], batch
        self.described = self.describe(self.path_ids)
        groups: dict[str, set[str]] = {}
        if batch.changed is not None:
            try:
                groups = describe_endpoint_groups(self.ec2, self.described.values())
            except ClientError as exc:  # cannot tell which paths: check them all
                log.warning("endpoint_groups_unknown", error=f"{aws.error_code(exc)}: {exc}")
                batch.changed = None
        selected = rc.affected_paths(self.path_ids, self.described, groups, batch.changed)
        log.info(
            "batch_read",
            events=batch.events,
            changed_groups=sorted(batch.changed) if batch.changed is not None else "undeterminable",
            affected_paths=selected,
        )
        return selected, batch

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        selected, batch = self.targets(event)
        with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
            previous = dict(zip(self.path_ids, pool.map(self.load_state, self.path_ids), strict=False))
            # Analyses left running by an earlier invocation are collected first.
            analyses = {p: list(r.pending) if r else [] for p, r in previous.items()}
            started = dict(zip(selected, pool.map(self.start, selected), strict=False))
        outcomes: dict[str, rc.Outcome] = {}
        for path_id, value in started.items():
            if isinstance(value, rc.Outcome):
                outcomes[path_id] = value
            elif value:
                analyses[path_id].append(value)
        busy = [p for p in self.path_ids if analyses[p] or p in outcomes]
        if busy and not self.described:  # names and routes for the alerts
            self.described = self.describe(busy)
        waiting = {a: p for p, ids in analyses.items() for a in ids}
        finished = self.poll(dict(waiting)) if waiting else {}
        for path_id in busy:
            self.settle(path_id, previous[path_id], analyses[path_id], outcomes.get(path_id), finished)
        result: dict[str, Any] = {"analyses": self.results, "alerts": self.alerts}
        if batch is not None:
            result.update(response(batch.failures))
        if self.errors:
            raise ReachabilityCheckFailed(
                f"{len(self.errors)} path(s) could not be checked or alerted: "
                + "; ".join(f"{p} ({why})" for p, why in sorted(self.errors.items()))
            )
        return result
