"""Security Hub findings: query filters, control ids, de-duplication, CSV and Slack text.

Pure functions over plain ASFF dicts (as returned by ``GetFindings``); the handler in
``functions/securityhub_report`` does the I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .rules import neutralise
from .slack import escape, mention

# Security Hub accepts at most 20 values per filter attribute.
MAX_FILTER_VALUES = 20
PAGE_SIZE = 100

COMPLIANCE_STATUS = "FAILED"
WORKFLOW_STATUSES = ("NEW", "NOTIFIED")
RECORD_STATE = "ACTIVE"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")

REPORT_HEADER = (
    "ResourceId",
    "Title",
    "ControlId",
    "Severity",
    "AccountId",
    "Region",
    "ResourceType",
    "FindingId",
    "FirstObservedAt",
    "Owner",
    "LastObservedAt",
    "WorkflowStatus",
    "Standards",
)

# Mentions and list entries kept in one Slack comment; the CSV always has everything.
MAX_MENTIONS = 50
MAX_LISTED = 25

_DIGITS = re.compile(r"([0-9]+)")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}")


# --------------------------------------------------------------------------- query


def parse_list(value: str | None, upper: bool = False) -> list[str]:
    """A comma-separated environment value as a sorted list without blanks or duplicates."""
    items = {v.strip() for v in (value or "").split(",") if v.strip()}
    return sorted(v.upper() for v in items) if upper else sorted(items)


def _equals(values: Iterable[str]) -> list[dict[str, str]]:
    return [{"Value": v, "Comparison": "EQUALS"} for v in values]


def query_filters(control_ids: Sequence[str] = (), severities: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``GetFindings`` filter sets: failed, open (NEW/NOTIFIED), active findings.

    One filter set per chunk of at most 20 control ids (the API's limit per attribute);
    no control id means every control. Severities are an optional second restriction.
    A control filter matches ``Compliance.SecurityControlId``, which every control finding
    has carried since 2023; older per-standard findings without it are matched only when
    no control id is given.
    """
    base: dict[str, Any] = {
        "ComplianceStatus": _equals([COMPLIANCE_STATUS]),
        "WorkflowStatus": _equals(WORKFLOW_STATUSES),
        "RecordState": _equals([RECORD_STATE]),
    }
    if severities:
        base["SeverityLabel"] = _equals(sorted({s.upper() for s in severities}))
    controls = sorted(set(control_ids))
    if not controls:
        return [base]
    return [
        {**base, "ComplianceSecurityControlId": _equals(controls[i : i + MAX_FILTER_VALUES])}
        for i in range(0, len(controls), MAX_FILTER_VALUES)
    ]


# --------------------------------------------------------------------------- finding fields


def control_id(finding: Mapping[str, Any]) -> str:
    """The control a finding is about.

    ``Compliance.SecurityControlId`` when present (consolidated control findings, and
    every per-standard finding since 2023); otherwise the last segment of ``GeneratorId``:
    ``aws-foundational-security-best-practices/v/1.0.0/EC2.2`` -> ``EC2.2``,
    ``pci-dss/v/3.2.1/PCI.EC2.2`` -> ``PCI.EC2.2``,
    ``arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.1`` -> ``4.1``,
    ``security-control/EC2.2`` -> ``EC2.2``.
    """
    compliance = finding.get("Compliance") or {}
    security_control = str(compliance.get("SecurityControlId") or "").strip()
    if security_control:
        return security_control
    generator = str(finding.get("GeneratorId") or "").strip().rstrip("/")
    return generator.rsplit("/", 1)[-1]


def workflow_status(finding: Mapping[str, Any]) -> str:
    status = (finding.get("Workflow") or {}).get("Status")
    return str(status or finding.get("WorkflowState") or "")


def severity_label(finding: Mapping[str, Any]) -> str:
    """``Severity.Label``, else derived from ``Normalized`` as Security Hub does."""
    severity = finding.get("Severity") or {}
    label = str(severity.get("Label") or "").upper()
    if label in SEVERITIES:
        return label
    try:
        normalized = int(severity.get("Normalized"))
    except (TypeError, ValueError):
        return "INFORMATIONAL"
    if normalized >= 90:
        return "CRITICAL"
    if normalized >= 70:
        return "HIGH"
    if normalized >= 40:
        return "MEDIUM"
    if normalized >= 1:
        return "LOW"
    return "INFORMATIONAL"


def standards(finding: Mapping[str, Any]) -> list[str]:
    """Standards that reported the finding (``AssociatedStandards``, else the GeneratorId's)."""
    compliance = finding.get("Compliance") or {}
    found = [str(s.get("StandardsId") or "") for s in compliance.get("AssociatedStandards") or ()]
    found = [s.removeprefix("standards/") for s in found if s]
    if found:
        return found
    generator = str(finding.get("GeneratorId") or "")
    if generator.startswith("security-control/") or "/" not in generator:
        return []
    if generator.startswith("arn:"):
        match = re.search(r"ruleset/(.+)/rule/", generator)
        return [match.group(1)] if match else []
    return [generator.rsplit("/", 1)[0]]


def is_reportable(
    finding: Mapping[str, Any], control_ids: Sequence[str] = (), severities: Sequence[str] = ()
) -> bool:
    """The query's conditions, checked again on each finding returned."""
    if (finding.get("Compliance") or {}).get("Status") != COMPLIANCE_STATUS:
        return False
    if workflow_status(finding) not in WORKFLOW_STATUSES:
        return False
    if finding.get("RecordState") != RECORD_STATE:
        return False
    if control_ids and control_id(finding) not in control_ids:
        return False
    if severities and severity_label(finding) not in {s.upper() for s in severities}:
        return False
    return True


def tag_value(tags: Mapping[str, Any] | None, key: str) -> str:
    """A tag's value; the key matched exactly, else case-insensitively."""
    if not tags or not key:
        return ""
    if key in tags:
        return str(tags[key] or "").strip()
    lowered = key.lower()
    for k, v in tags.items():
        if str(k).lower() == lowered:
            return str(v or "").strip()
    return ""


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class ReportRow:
    """One failed control on one resource."""

    resource_id: str
    title: str
    control_id: str
    severity: str
    account_id: str
    region: str
    resource_type: str
    finding_id: str
    first_observed_at: str
    owner: str
    last_observed_at: str
    workflow_status: str
    standards: tuple[str, ...]

    def csv_row(self) -> tuple[str, ...]:
        return (
            self.resource_id,
            neutralise(self.title),
            neutralise(self.control_id),
            self.severity,
            self.account_id,
            self.region,
            neutralise(self.resource_type),
            self.finding_id,
            self.first_observed_at,
            neutralise(self.owner),
            self.last_observed_at,
            self.workflow_status,
            neutralise(";".join(self.standards)),
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity: the same control on the same resource, whichever standard reported it.

        Resource ARNs already name the account (and region where there is one), so a
        global resource reported from several regions counts once as well; findings
        without a resource are kept apart per region.
        """
        region = "" if self.resource_id else self.region
        return (self.account_id, self.control_id, self.resource_id, region)


def _arn_region(arn: Any) -> str:
    parts = str(arn or "").split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


def _region(finding: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    """The resource's region; older findings carry it only inside ARNs."""
    return str(
        resource.get("Region")
        or finding.get("Region")
        or _arn_region(resource.get("Id"))
        or _arn_region(finding.get("Id"))
        or _arn_region(finding.get("ProductArn"))
    )


def finding_rows(finding: Mapping[str, Any], owner_tag_key: str = "Owner") -> list[ReportRow]:
    """One row per resource of the finding (a finding without resources still gives one)."""
    common = {
        "title": str(finding.get("Title") or ""),
        "control_id": control_id(finding),
        "severity": severity_label(finding),
        "account_id": str(finding.get("AwsAccountId") or ""),
        "finding_id": str(finding.get("Id") or ""),
        "first_observed_at": str(finding.get("FirstObservedAt") or finding.get("CreatedAt") or ""),
        "last_observed_at": str(finding.get("LastObservedAt") or finding.get("UpdatedAt") or ""),
        "workflow_status": workflow_status(finding),
        "standards": tuple(standards(finding)),
    }
    resources = finding.get("Resources") or [{}]
    return [
        ReportRow(
            resource_id=str(r.get("Id") or ""),
            region=_region(finding, r),
            resource_type=str(r.get("Type") or ""),
            owner=tag_value(r.get("Tags"), owner_tag_key),
            **common,
        )
        for r in resources
    ]


_RANK = {label: rank for rank, label in enumerate(SEVERITIES)}


def _preference(row: ReportRow) -> tuple[Any, ...]:
    """Which duplicate stands for the group: most severe, then a consolidated finding, then oldest."""
    return (
        _RANK.get(row.severity, len(SEVERITIES)),
        ":security-control/" not in row.finding_id,
        row.first_observed_at or "~",
        row.finding_id,
    )


def report_rows(
    findings: Iterable[Mapping[str, Any]],
    owner_tag_key: str = "Owner",
    control_ids: Sequence[str] = (),
    severities: Sequence[str] = (),
) -> list[ReportRow]:
    """Reportable rows, one per (account, control, resource), in a stable order.

    Duplicates across standards merge: the kept row lists every standard that reported
    it, and an owner tag found on any of them.
    """
    groups: dict[tuple[str, str, str, str], list[ReportRow]] = {}
    for finding in findings:
        if not is_reportable(finding, control_ids, severities):
            continue
        for row in finding_rows(finding, owner_tag_key):
            groups.setdefault(row.key, []).append(row)
    merged = []
    for rows in groups.values():
        best = min(rows, key=_preference)
        all_standards = tuple(sorted({s for r in rows for s in r.standards}))
        owner = best.owner or next((r.owner for r in rows if r.owner), "")
        merged.append(replace(best, standards=all_standards, owner=owner))
    merged.sort(key=lambda r: (_RANK.get(r.severity, 99), r.control_id, r.account_id, r.region, r.resource_id))
    return merged


def csv_rows(rows: Iterable[ReportRow]) -> list[tuple[str, ...]]:
    return [r.csv_row() for r in rows]


# --------------------------------------------------------------------------- totals


def _ordered(counter: Counter[str], order: Sequence[str] = ()) -> dict[str, int]:
    rank = {k: i for i, k in enumerate(order)}
    return {k: counter[k] for k in sorted(counter, key=lambda k: (rank.get(k, len(rank)), k))}


def by_severity(rows: Iterable[ReportRow]) -> dict[str, int]:
    """Counts per severity, most severe first."""
    return _ordered(Counter(r.severity for r in rows), SEVERITIES)


def by_control(rows: Iterable[ReportRow]) -> dict[str, int]:
    """Counts per control id, in control id order (``EC2.2`` before ``EC2.10``)."""
    counter = Counter(r.control_id for r in rows)
    return {k: counter[k] for k in sorted(counter, key=_natural)}


def _natural(text: str) -> list[Any]:
    return [(0, int(part), "") if _DIGITS.fullmatch(part) else (1, 0, part) for part in _DIGITS.split(text)]


# --------------------------------------------------------------------------- owners


def is_email(value: str) -> bool:
    return bool(_EMAIL.fullmatch(value or ""))


@dataclass(frozen=True)
class Owners:
    """Slack users to mention, and owner tag values that could not be mapped to one."""

    user_ids: tuple[str, ...]
    unresolved: tuple[str, ...]
    untagged: int


def resolve_owners(
    rows: Iterable[ReportRow],
    slack_ids: Mapping[str, str],
    lookup_email: Callable[[str], str | None] | None = None,
) -> Owners:
    """Map owner tag values to Slack user ids: through ``slack_ids``, else by e-mail lookup.

    ``lookup_email`` returns a user id or None; it is called once per distinct address.
    Values that are neither mapped nor found stay unresolved (listed as text, not mentioned).
    """
    users: list[str] = []
    unresolved: list[str] = []
    untagged = 0
    cache: dict[str, str | None] = {}
    for row in rows:
        value = row.owner
        if not value:
            untagged += 1
            continue
        if value not in cache:
            user = slack_ids.get(value)
            if not user and lookup_email and is_email(value):
                user = lookup_email(value)
            cache[value] = user if user and _is_user_id(user) else None
        user = cache[value]
        if user:
            if user not in users:
                users.append(user)
        elif value not in unresolved:
            unresolved.append(value)
    return Owners(tuple(sorted(users)), tuple(sorted(unresolved)), untagged)


def _is_user_id(value: str) -> bool:
    try:
        mention(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- Slack text


def _totals_line(label: str, totals: Mapping[str, int], limit: int = MAX_LISTED) -> str:
    items = list(totals.items())
    text = ", ".join(f"{escape(k)}: {v}" for k, v in items[:limit])
    if len(items) > limit:
        text += f", and {len(items) - limit} more (see the CSV)"
    return f"{label}: {text}"


def _scope(control_ids: Sequence[str], severities: Sequence[str]) -> str:
    controls = ", ".join(escape(c) for c in control_ids) if control_ids else "all controls"
    scope = f"controls checked: {controls}"
    if severities:
        scope += f"; severities: {', '.join(escape(s) for s in severities)}"
    return scope


def report_comment(
    rows: Sequence[ReportRow],
    owners: Owners,
    owner_tag_key: str,
    control_ids: Sequence[str] = (),
    severities: Sequence[str] = (),
) -> str:
    """The initial comment of the uploaded CSV: totals per severity and control, and owners."""
    accounts = sorted({r.account_id for r in rows if r.account_id})
    regions = sorted({r.region for r in rows if r.region})
    lines = [
        f"Security Hub report: {len(rows)} failed control finding(s) open "
        f"in {len(accounts)} account(s), {len(regions)} region(s) ({_scope(control_ids, severities)}).",
        _totals_line("By severity", by_severity(rows)),
        _totals_line("By control", by_control(rows)),
    ]
    if owners.user_ids:
        shown = " ".join(mention(u) for u in owners.user_ids[:MAX_MENTIONS])
        extra = len(owners.user_ids) - MAX_MENTIONS
        lines.append(f"Owners: {shown}" + (f" and {extra} more (see the CSV)" if extra > 0 else ""))
    if owners.unresolved:
        listed = ", ".join(escape(v) for v in owners.unresolved[:MAX_LISTED])
        extra = len(owners.unresolved) - MAX_LISTED
        lines.append(
            f"Owners without a Slack user: {listed}" + (f", and {extra} more" if extra > 0 else "")
        )
    if owners.untagged:
        lines.append(f"Resources without an {escape(owner_tag_key)} tag: {owners.untagged}")
    return "\n".join(lines)


def empty_message(control_ids: Sequence[str] = (), severities: Sequence[str] = ()) -> str:
    """The short all-clear posted when nothing failed."""
    return f"Security Hub report: no open failed findings ({_scope(control_ids, severities)})."


def plain_summary(rows: Sequence[ReportRow], control_ids: Sequence[str] = (), severities: Sequence[str] = ()) -> str:
    """A text summary for the alert topic (e-mail), without Slack markup."""
    controls = ", ".join(control_ids) if control_ids else "all controls"
    lines = [f"{len(rows)} failed control finding(s) open; controls checked: {controls}"]
    if severities:
        lines.append("Severities: " + ", ".join(severities))
    lines.append("By severity: " + ", ".join(f"{k}: {v}" for k, v in by_severity(rows).items()))
    lines.append("By control: " + ", ".join(f"{k}: {v}" for k, v in by_control(rows).items()))
    return "\n".join(lines)


def file_name(now_stamp: str) -> str:
    return f"securityhub-findings-{now_stamp}.csv"
