"""Which security groups are truly unused, and why the others are in use.

Pure logic: :mod:`sgwatch.unused_sg_audit.audit` reads the sources declared in :mod:`sgwatch.unused_sg_audit.sources`,
whose extractors (:mod:`sgwatch.unused_sg_audit.references`) turn each source's items into
:class:`Reference` s (group id + a reason naming the referrer), and :func:`classify`
decides. Nothing here touches AWS.

A group is *in use* when anything refers to it: a network interface (including
requester-managed ones), any launch template version, a launch configuration,
another group's ingress or egress rule (a self-reference does not count), a
peered VPC, or a service that keeps the group in its configuration while idle
(Lambda, ECS services and task sets, EventBridge rule and Scheduler targets with
ECS network configuration, CodeBuild, Batch, Glue, RDS, ElastiCache, Redshift, DMS,
MSK, SageMaker notebooks, load balancers, EFS mount targets).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..rules import permission_peers
from ..text import clean

SCHEMA = 1
DEFAULT_EXEMPT_TAG_KEY = "sgwatch:keep"
# Tags some teams (or their IaC) set with a group's creation time, ISO 8601.
CREATED_AT_TAG_KEYS = ("sgwatch:created-at", "createdat", "created-at", "created_at", "creationdate", "creation-date")

REPORT_CSV_HEADER = (
    "AccountId",
    "Region",
    "GroupId",
    "GroupName",
    "VpcId",
    "Status",
    "AgeDays",
    "RuleCount",
    "Reasons",
    "DeleteCommand",
)

UNUSED = "unused"
IN_USE = "in-use"
EXEMPT = "exempt"
IN_GRACE = "in-grace"
DEFAULT = "default"
UNDETERMINED = "undetermined"


class Reference(NamedTuple):
    """``group_id`` is used by the referrer named in ``reason``."""

    group_id: str
    reason: str


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupFacts:
    group_id: str
    group_name: str
    vpc_id: str
    rule_count: int
    tags: Mapping[str, str]

    @property
    def is_default(self) -> bool:
        # Every VPC's default group is named "default"; no other group may take that name.
        return self.group_name == "default"


def group_facts(group: Mapping[str, Any]) -> GroupFacts:
    owner = group.get("OwnerId") or ""
    rules = sum(
        1
        for key in ("IpPermissions", "IpPermissionsEgress")
        for permission in group.get(key) or ()
        for _ in permission_peers(permission, owner)
    )
    return GroupFacts(
        group_id=group["GroupId"],
        group_name=group.get("GroupName") or "",
        vpc_id=group.get("VpcId") or "",
        rule_count=rules,
        tags={t.get("Key", ""): t.get("Value", "") for t in group.get("Tags") or ()},
    )


class GroupIndex:
    """Resolves group ids and names (launch templates/configurations may use names)."""

    def __init__(self, groups: Iterable[Mapping[str, Any]]) -> None:
        self.by_name: dict[str, list[str]] = {}
        for g in groups:
            self.by_name.setdefault(g.get("GroupName") or "", []).append(g["GroupId"])

    def resolve(self, token: str) -> list[str]:
        if token.startswith("sg-"):
            return [token]
        # A name is only meaningful in the default VPC; when several VPCs hold a group of
        # that name, all of them are counted as used (never declare unused on a guess).
        return sorted(self.by_name.get(token, ()))


# --------------------------------------------------------------------------- creation times


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from an ISO 8601 string (date or date-time) or a datetime."""
    if isinstance(value, datetime):
        found = value
    else:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            found = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC)


def creation_time_from_tags(tags: Mapping[str, str]) -> datetime | None:
    for key, value in tags.items():
        if key.lower() in CREATED_AT_TAG_KEYS:
            found = parse_time(value)
            if found:
                return found
    return None


def creation_times_from_cloudtrail(events: Iterable[Mapping[str, Any]]) -> dict[str, datetime]:
    """``group id -> creation time`` from CloudTrail ``LookupEvents`` results for CreateSecurityGroup."""
    found: dict[str, datetime] = {}
    for event in events:
        try:
            record = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            continue
        if record.get("errorCode"):
            continue
        group_id = (record.get("responseElements") or {}).get("groupId")
        when = parse_time(record.get("eventTime")) or parse_time(event.get("EventTime"))
        if group_id and when and (group_id not in found or when < found[group_id]):
            found[group_id] = when
    return found


# --------------------------------------------------------------------------- classification


@dataclass
class Audit:
    account_id: str
    region: str
    generated_at: datetime
    unused: list[dict[str, Any]] = field(default_factory=list)
    in_use: dict[str, list[str]] = field(default_factory=dict)
    not_scanned: dict[str, str] = field(default_factory=dict)
    exempt: list[str] = field(default_factory=list)
    in_grace: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    undetermined: list[str] = field(default_factory=list)
    facts: dict[str, GroupFacts] = field(default_factory=dict)
    ages: dict[str, int | None] = field(default_factory=dict)

    @property
    def unused_ids(self) -> list[str]:
        return [u["group_id"] for u in self.unused]

    @property
    def unreferenced(self) -> set[str]:
        """Groups nothing refers to, said only on complete evidence: none while any source was not scanned.

        This is what re-opens a Security Hub finding with "nothing refers to the group any
        more", so ALLOW_PARTIAL (which only lets the report name unused groups) does not
        widen it: incomplete evidence changes nothing.
        """
        if self.not_scanned:
            return set()
        return set(self.unused_ids) | set(self.exempt) | set(self.in_grace) | set(self.defaults)


def delete_command(group_id: str, region: str) -> str:
    return f"aws ec2 delete-security-group --group-id {group_id} --region {region}"


def age_days(created: datetime | None, now: datetime) -> int | None:
    if created is None:
        return None
    return max(0, int((now - created).total_seconds() // 86400))


def classify(
    account_id: str,
    region: str,
    groups: Iterable[Mapping[str, Any]],
    references: Iterable[Reference],
    not_scanned: Mapping[str, str],
    *,
    now: datetime,
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY,
    grace_days: int = 0,
    created_at: Mapping[str, datetime] | None = None,
    allow_partial: bool = False,
) -> Audit:
    """Sort every group into exactly one of: in use, unused, exempt, in grace, default, undetermined.

    A group with no reference is only declared unused when every source was scanned,
    or ``allow_partial`` accepts incomplete evidence; otherwise it is *undetermined*.
    """
    facts = {f.group_id: f for f in map(group_facts, groups)}
    reasons: dict[str, set[str]] = {}
    for ref in references:
        if ref.group_id in facts:  # references to other accounts' or deleted groups are not ours to judge
            reasons.setdefault(ref.group_id, set()).add(ref.reason)

    audit = Audit(account_id, region, now, not_scanned=dict(sorted(not_scanned.items())), facts=facts)
    created_at = created_at or {}
    complete = not not_scanned or allow_partial
    for group_id in sorted(facts):
        f = facts[group_id]
        created = created_at.get(group_id) or creation_time_from_tags(f.tags)
        age = age_days(created, now)
        audit.ages[group_id] = age
        if group_id in reasons:
            audit.in_use[group_id] = sorted(reasons[group_id])
        elif f.is_default:
            audit.defaults.append(group_id)
        elif exempt_tag_key and exempt_tag_key in f.tags:
            audit.exempt.append(group_id)
        elif created is not None and grace_days > 0 and (now - created).total_seconds() < grace_days * 86400:
            audit.in_grace.append(group_id)
        elif not complete:
            audit.undetermined.append(group_id)
        else:
            audit.unused.append(
                {
                    "group_id": group_id,
                    "group_name": f.group_name,
                    "vpc_id": f.vpc_id,
                    "age_days": age,
                    "rule_count": f.rule_count,
                    "delete_command": delete_command(group_id, region),
                }
            )
    return audit


def newly_unused(audit: Audit, previous_report: Mapping[str, Any] | None) -> list[str]:
    """Groups unused now that the previous report did not list as unused (all of them on a first run)."""
    before = {u.get("group_id") for u in (previous_report or {}).get("unused") or () if isinstance(u, Mapping)}
    return sorted(set(audit.unused_ids) - before)


# --------------------------------------------------------------------------- reports


def report_json(audit: Audit) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "account_id": audit.account_id,
        "region": audit.region,
        "generated_at": audit.generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "unused": audit.unused,
        "in_use": audit.in_use,
        "not_scanned": audit.not_scanned,
        "exempt": audit.exempt,
        "in_grace": audit.in_grace,
        "default": audit.defaults,
        "undetermined": audit.undetermined,
    }


def report_rows(audit: Audit) -> list[tuple[str, ...]]:
    """One CSV row per group (plain values: csvio.to_csv neutralises every cell)."""
    status: dict[str, str] = {}
    for group_id in audit.in_use:
        status[group_id] = IN_USE
    for label, ids in (
        (UNUSED, audit.unused_ids),
        (EXEMPT, audit.exempt),
        (IN_GRACE, audit.in_grace),
        (DEFAULT, audit.defaults),
        (UNDETERMINED, audit.undetermined),
    ):
        for group_id in ids:
            status[group_id] = label
    rows: list[tuple[str, ...]] = []
    for group_id in sorted(audit.facts):
        f = audit.facts[group_id]
        age = audit.ages.get(group_id)
        rows.append(
            (
                audit.account_id,
                audit.region,
                group_id,
                f.group_name,
                f.vpc_id,
                status[group_id],
                "" if age is None else str(age),
                str(f.rule_count),
                "; ".join(audit.in_use.get(group_id, ())),
                delete_command(group_id, audit.region) if status[group_id] == UNUSED else "",
            )
        )
    return rows


def summary_message(audit: Audit, new_ids: Sequence[str], report_key: str) -> tuple[str, str]:
    """SNS subject and body for groups that became unused since the previous run."""
    subject = f"SG Watch: {len(new_ids)} newly unused security group(s) in {audit.account_id} {audit.region}"
    by_id = {u["group_id"]: u for u in audit.unused}
    lines = [
        f"{len(new_ids)} security group(s) in account {audit.account_id}, region {audit.region} "
        "became unused since the previous audit (nothing refers to them any more).",
        "SG Watch never deletes a group; review and delete by hand:",
        "",
    ]
    for group_id in new_ids:
        u = by_id[group_id]
        age = "unknown age" if u["age_days"] is None else f"{u['age_days']} days old"
        name = clean(u["group_name"], 255)
        lines.append(f"- {group_id} \"{name}\" in {u['vpc_id'] or 'no VPC'} ({age}, {u['rule_count']} rules)")
        lines.append(f"    {u['delete_command']}")
    lines += ["", f"Total unused: {len(audit.unused)}. Full report: {report_key}"]
    if audit.not_scanned:
        lines.append("Not scanned: " + "; ".join(f"{k} ({clean(v, 300)})" for k, v in audit.not_scanned.items()))
    return subject, "\n".join(lines)
