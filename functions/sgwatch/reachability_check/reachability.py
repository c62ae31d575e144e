"""Reachability guard: pure logic, no AWS calls.

* Which required network paths a batch of security-group change events can affect.
* The state machine of a path: its last known reachability and the transitions that
  deserve an alert (reachable -> blocked, blocked -> restored, analysis failure, path
  gone). Steady state is silent.
* The analyzer's explanations, summarised by :mod:`sgwatch.reachability_check.analyzer`, in the alerts.
* Alert texts (SNS subject/body, Slack text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..batch import identify
from ..cloudtrail import EVENT_NAMES
from ..text import clean
from .analyzer import ExplanationSummary, endpoint_id, endpoint_kind, summarise_explanations

# CloudTrail events that cannot change what a path lets through: a new group is
# attached to nothing yet, and a description is only text.
NO_EFFECT_EVENTS = frozenset(
    {
        "CreateSecurityGroup",
        "UpdateSecurityGroupRuleDescriptionsIngress",
        "UpdateSecurityGroupRuleDescriptionsEgress",
    }
)
SG_EVENTS = frozenset(EVENT_NAMES)

_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")

# Endpoint kinds that never carry a security group themselves.
NO_GROUP_KINDS = frozenset({"igw", "vgw", "tgw", "tgw-attach", "pcx", "nat", "eigw"})
# Endpoint kinds whose security groups we resolve through their network interfaces.
INSTANCE, INTERFACE = "i", "eni"

REACHABLE, UNREACHABLE = "reachable", "unreachable"
RUNNING, SUCCEEDED, FAILED, MISSING, ERROR = "running", "succeeded", "failed", "missing", "error"

BLOCKED, RESTORED, ANALYSIS_FAILED, PATH_MISSING = "blocked", "restored", "analysis-failed", "path-missing"
ALERT_FACTS = {
    # kind: (severity, SNS event_name attribute)
    BLOCKED: ("HIGH", "ReachabilityPathBlocked"),
    RESTORED: ("INFO", "ReachabilityPathRestored"),
    ANALYSIS_FAILED: ("MEDIUM", "ReachabilityAnalysisFailed"),
    PATH_MISSING: ("MEDIUM", "ReachabilityPathMissing"),
}
MAX_EXPLANATIONS = 15


# --------------------------------------------------------------------------- events


class MalformedRecord(ValueError):
    """An SQS record whose body is not an EventBridge event."""


def changed_groups(detail: Mapping[str, Any]) -> set[str] | None:
    """Security groups whose rules a CloudTrail SG API call changed.

    An empty set means the call cannot affect any path (it failed, or it only created a
    group or edited a description); ``None`` means it cannot be determined (unknown
    event, group named only by name): every path must be checked.
    """
    name = detail.get("eventName")
    if detail.get("errorCode"):
        return set()  # the call was refused: nothing changed
    if name in NO_EFFECT_EVENTS:
        return set()
    if name not in SG_EVENTS:
        return None
    found: set[str] = set()
    params = detail.get("requestParameters")
    params = params if isinstance(params, Mapping) else {}
    modify = params.get("ModifySecurityGroupRulesRequest")
    for source in (params, modify if isinstance(modify, Mapping) else {}):
        for key in ("groupId", "GroupId"):
            value = source.get(key)
            if isinstance(value, str) and _GROUP_ID.fullmatch(value):
                found.add(value)
    return found or None


def parse_record(record: Mapping[str, Any]) -> set[str] | None:
    """Changed groups of one SQS record carrying an EventBridge event (see :func:`changed_groups`)."""
    body = record.get("body") if isinstance(record, Mapping) else None
    if not isinstance(body, str):
        raise MalformedRecord("record has no string body")
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise MalformedRecord(f"body is not JSON: {exc}") from None
    if not isinstance(event, Mapping) or not isinstance(event.get("detail"), Mapping):
        raise MalformedRecord("body is not an EventBridge event with a detail object")
    return changed_groups(event["detail"])


@dataclass
class Batch:
    """What a batch of SQS records asks for."""

    changed: set[str] | None = field(default_factory=set)  # None: every path
    events: int = 0
    failures: list[str] = field(default_factory=list)  # message ids to retry
    problems: dict[str, str] = field(default_factory=dict)


def read_batch(records: Sequence[Any]) -> Batch:
    batch = Batch()
    for number, record in enumerate(records):
        message_id, label = identify(record, number)
        try:
            groups = parse_record(record)
        except MalformedRecord as exc:
            batch.failures += [message_id] if message_id else []
            batch.problems[label] = str(exc)
            continue
        batch.events += 1
        if groups is None:
            batch.changed = None
        elif batch.changed is not None:
            batch.changed |= groups
    return batch


# --------------------------------------------------------------------------- paths


def endpoints_to_resolve(paths: Iterable[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """(instance ids, network interface ids) whose security groups decide relevance."""
    instances: set[str] = set()
    interfaces: set[str] = set()
    for path in paths:
        for key in ("Source", "Destination"):
            ident = endpoint_id(path.get(key))
            kind = endpoint_kind(ident)
            if kind == INSTANCE:
                instances.add(ident)
            elif kind == INTERFACE:
                interfaces.add(ident)
    return instances, interfaces


def groups_by_endpoint(interfaces: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Security groups per ENI id and per instance id, from DescribeNetworkInterfaces."""
    found: dict[str, set[str]] = {}
    for eni in interfaces:
        groups = {g.get("GroupId") for g in eni.get("Groups") or () if g.get("GroupId")}
        found.setdefault(eni.get("NetworkInterfaceId") or "", set()).update(groups)
        instance = (eni.get("Attachment") or {}).get("InstanceId")
        if instance:
            found.setdefault(instance, set()).update(groups)
    found.pop("", None)
    return found


def path_groups(path: Mapping[str, Any], groups: Mapping[str, set[str]]) -> set[str] | None:
    """Groups carried by the path's source and destination; ``None`` when unknown."""
    carried: set[str] = set()
    for key in ("Source", "Destination"):
        ident = endpoint_id(path.get(key))
        kind = endpoint_kind(ident)
        if kind in NO_GROUP_KINDS:
            continue
        if kind in (INSTANCE, INTERFACE) and ident in groups:
            carried |= groups[ident]
            continue
        return None  # no destination, an IP, a load balancer, an endpoint we cannot resolve...
    return carried


def affected_paths(
    path_ids: Sequence[str],
    described: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, set[str]],
    changed: set[str] | None,
) -> list[str]:
    """Paths to re-check, in configuration order.

    ``changed`` None (undeterminable events, scheduled run) selects every path; a
    path that was not described or whose endpoints' groups are unknown is always
    selected, because skipping it could hide a blocked path.
    """
    if changed is None:
        return list(path_ids)
    selected = []
    for path_id in path_ids:
        path = described.get(path_id)
        carried = path_groups(path, groups) if path is not None else None
        if carried is None or carried & changed:
            selected.append(path_id)
    return selected


def path_label(path_id: str, path: Mapping[str, Any] | None) -> str:
    """``name (nip-...)`` when the path has a Name tag, else the id (one clean line: tags are user text)."""
    for tag in (path or {}).get("Tags") or ():
        if tag.get("Key") == "Name" and tag.get("Value"):
            return clean(f"{tag['Value']} ({path_id})", 300)
    return clean(path_id, 100)


def describe_route(path: Mapping[str, Any] | None) -> str:
    """``igw-1 -> i-2 tcp/443`` from a described path (empty when unknown)."""
    if not path:
        return ""
    source = path.get("Source") or path.get("SourceIp") or "?"
    destination = path.get("Destination") or path.get("DestinationIp") or "?"
    route = f"{endpoint_id(source)} -> {endpoint_id(destination)}"
    if path.get("Protocol"):
        route += f" {path['Protocol']}"
        if path.get("DestinationPort") is not None:
            route += f"/{path['DestinationPort']}"
    return route


# --------------------------------------------------------------------------- state


@dataclass
class PathRecord:
    """One state object of a path in the evidence bucket (write-once, newest wins).

    ``state`` is the last known reachability (``reachable``/``unreachable``/None), carried
    across failures and unfinished analyses; ``fault`` is a standing failure condition
    (``failed``/``missing``) so it alerts once, not on every run; ``pending`` lists
    analyses started but not yet collected, oldest first.
    """

    path_id: str
    status: str
    checked_at: str
    state: str | None = None
    fault: str | None = None
    analysis_id: str | None = None
    path_found: bool | None = None
    pending: list[str] = field(default_factory=list)
    explanations: list[dict[str, str]] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, body: bytes) -> PathRecord:
        data = json.loads(body)
        if not isinstance(data, Mapping) or not isinstance(data.get("path_id"), str):
            raise ValueError("not a reachability state record")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known.setdefault("status", "")
        known.setdefault("checked_at", "")
        known["pending"] = [str(p) for p in known.get("pending") or ()]
        known["explanations"] = [dict(e) for e in known.get("explanations") or () if isinstance(e, Mapping)]
        return cls(**known)


@dataclass
class Outcome:
    """What one analysis (or the attempt to run one) produced."""

    path_id: str
    status: str  # succeeded | failed | missing | error
    analysis_id: str | None = None
    path_found: bool | None = None
    explanations: list[ExplanationSummary] = field(default_factory=list)
    message: str = ""

    @classmethod
    def from_analysis(cls, analysis: Mapping[str, Any]) -> Outcome:
        status = str(analysis.get("Status") or FAILED)
        found = analysis.get("NetworkPathFound")
        return cls(
            path_id=str(analysis.get("NetworkInsightsPathId") or ""),
            status=status,
            analysis_id=analysis.get("NetworkInsightsAnalysisId"),
            path_found=bool(found) if status == SUCCEEDED and found is not None else None,
            explanations=summarise_explanations(analysis.get("Explanations")) if status == SUCCEEDED else [],
            message=str(analysis.get("StatusMessage") or analysis.get("WarningMessage") or ""),
        )


def iso(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pending_record(previous: PathRecord | None, path_id: str, pending: list[str], now: datetime) -> PathRecord:
    """Analyses still running when time ran out; the last known state is carried."""
    return PathRecord(
        path_id=path_id,
        status=RUNNING,
        checked_at=iso(now),
        state=previous.state if previous else None,
        fault=previous.fault if previous else None,
        analysis_id=pending[-1] if pending else None,
        pending=list(pending),
    )


def transition(previous: PathRecord | None, outcome: Outcome, now: datetime) -> tuple[PathRecord, str | None]:
    """The new record of a path and the alert kind its outcome deserves (None: silent).

    * succeeded, no path: blocked, unless it already was (a path blocked at its first
      check alerts too: a required path that never worked is worth knowing);
    * succeeded, path found: restored when it was blocked; silent otherwise;
    * failed/error or missing path: alert once when the condition starts.
    """
    before_state = previous.state if previous else None
    before_fault = previous.fault if previous else None
    record = PathRecord(
        path_id=outcome.path_id,
        status=outcome.status,
        checked_at=iso(now),
        state=before_state,
        analysis_id=outcome.analysis_id,
        path_found=outcome.path_found,
        explanations=[asdict(e) for e in outcome.explanations],
        message=outcome.message,
    )
    if outcome.status == SUCCEEDED and outcome.path_found is not None:
        record.state = REACHABLE if outcome.path_found else UNREACHABLE
        if record.state == UNREACHABLE and before_state != UNREACHABLE:
            return record, BLOCKED
        if record.state == REACHABLE and before_state == UNREACHABLE:
            return record, RESTORED
        return record, None
    record.fault = MISSING if outcome.status == MISSING else FAILED
    if record.fault != before_fault:
        return record, PATH_MISSING if record.fault == MISSING else ANALYSIS_FAILED
    return record, None


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    kind: str
    path_id: str
    subject: str
    body: str
    severity: str
    event_name: str

    @property
    def attributes(self) -> dict[str, str]:
        return {"severity": self.severity, "event_name": self.event_name}


def format_alert(
    kind: str,
    outcome: Outcome,
    path: Mapping[str, Any] | None,
    account_id: str,
    region: str,
    previous: PathRecord | None = None,
) -> Alert:
    label = path_label(outcome.path_id, path)
    severity, event_name = ALERT_FACTS[kind]
    headline = {
        BLOCKED: f"Path {label} is now blocked",
        RESTORED: f"Path {label} restored",
        ANALYSIS_FAILED: f"Reachability analysis of path {label} failed",
        PATH_MISSING: f"Path {label} no longer exists",
    }[kind]
    if kind == BLOCKED and (previous is None or previous.state is None):
        headline = f"Path {label} is blocked (first check)"
    lines = [headline, ""]
    lines.append(f"Path: {outcome.path_id}")
    route = clean(describe_route(path), 300)
    if route:
        lines.append(f"Route: {route}")
    lines.append(f"Account: {account_id}")
    lines.append(f"Region: {region}")
    if outcome.analysis_id:
        lines.append(f"Analysis: {outcome.analysis_id}")
    if previous and previous.state:
        lines.append(f"Previous state: {previous.state} (checked {previous.checked_at})")
    if kind == BLOCKED:
        lines += ["", "Why (VPC Reachability Analyzer explanations):"]
        shown = outcome.explanations[:MAX_EXPLANATIONS]
        lines += [f"  - {clean(e.text(), 600)}" for e in shown] or ["  - no explanation returned"]
        if len(outcome.explanations) > len(shown):
            lines.append(f"  ... and {len(outcome.explanations) - len(shown)} more")
    elif kind == ANALYSIS_FAILED:
        lines += ["", f"Status: {clean(outcome.status, 40)}", f"Reason: {clean(outcome.message, 1000) or 'not given'}"]
    elif kind == PATH_MISSING:
        lines += [
            "",
            "The path is listed in PATH_IDS but EC2 does not know it any more; it is skipped until it exists"
            " again. Remove it from reachability_path_ids or recreate it.",
        ]
    lines += [
        "",
        f"Console: https://{region}.console.aws.amazon.com/networkinsights/home?region={region}#NetworkPathAnalysis",
    ]
    return Alert(kind, outcome.path_id, f"SG Watch: {headline}", "\n".join(lines) + "\n", severity, event_name)


def slack_text(alert: Alert, escape: Any) -> str:
    """The alert for Slack: headline in bold, the rest verbatim but escaped (user text is inert)."""
    head, _, rest = alert.body.partition("\n")
    return f"*{escape(head)}*\n```{escape(rest.strip())}```"


def backoff_delays(first: float = 2.0, factor: float = 2.0, cap: float = 20.0) -> Iterator[float]:
    """2, 4, 8, 16, 20, 20, ... seconds between polls."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * factor)
