"""The review's data model, and how each kind of evidence reads back into it.

Snapshots and diffs read back as :class:`~sgwatch.rules.Rule` rows (the inventory's own
type), change-event records as :class:`ChangeEvent` (the keys :func:`sgwatch.alerts.event_record`
writes), unused-group reports as :class:`UnusedGroup` (the keys of
:func:`sgwatch.usage.report_json`), sign-off records as :class:`~.records.SignOff` (the type
that writes them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..csvio import CsvFormatError, from_csv, unneutralise
from ..diff import ADDED, DIFF_HEADER, GROUP_ADDED, GROUP_REMOVED, REMOVED, UPDATED_CURRENT, UPDATED_PREVIOUS
from ..evidence import StoredObject
from ..risk import HIGH
from ..rules import SNAPSHOT_HEADER, Rule
from .period import Period
from .records import SignOff, sha256


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fmt_time(moment: datetime | None) -> str:
    """How the review shows a time: ``2026-01-04 10:00 UTC`` (empty for none)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def read_csv(obj: StoredObject, header: Sequence[str]) -> list[tuple[str, ...]]:
    """The rows of a CSV evidence object, checked against the row count and digest recorded at write time."""
    rows = obj.metadata.get("rows", "")
    return from_csv(obj.body, header, int(rows) if rows.isdigit() else None, obj.metadata.get("sha256") or None)


# --------------------------------------------------------------------------- evidence read back


@dataclass
class ChangeEvent:
    """A change-event record of the change notifier (:func:`sgwatch.alerts.event_record`)."""

    key: str
    event_id: str
    event_name: str
    event_time: datetime | None
    group_ids: list[str]
    group_name: str
    actor: str
    source_ip: str
    error_code: str
    severity: str
    changes: list[dict[str, Any]]

    @classmethod
    def from_record(cls, key: str, body: bytes) -> ChangeEvent:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        found = data.get("actor")
        actor: dict[str, Any] = found if isinstance(found, dict) else {}
        display = actor.get("display") or actor.get("arn") or actor.get("principal") or ""
        return cls(
            key=key,
            event_id=str(data.get("event_id") or key.rsplit("/", 1)[-1][:-5]),
            event_name=str(data.get("event_name") or ""),
            event_time=parse_time(data.get("event_time")),
            group_ids=[str(g) for g in data.get("group_ids") or () if g],
            group_name=str(data.get("group_name") or ""),
            actor=str(display),
            source_ip=str(data.get("source_ip") or ""),
            error_code=str(data.get("error_code") or ""),
            severity=str(data.get("severity") or ""),
            changes=[c for c in data.get("changes") or () if isinstance(c, dict)],
        )


@dataclass(frozen=True)
class UnusedGroup:
    account_id: str
    region: str
    group_id: str
    group_name: str
    vpc_id: str
    age_days: str
    rule_count: str
    delete_command: str
    generated_at: str
    report_key: str

    @classmethod
    def from_report(cls, account_id: str, region: str, report_key: str, body: bytes,
                    written_at: str) -> list[UnusedGroup]:
        """The groups of an unused-group report (:func:`sgwatch.usage.report_json`)."""
        report = json.loads(body)
        generated = str(report.get("generated_at") or written_at)
        return [
            cls(
                account_id, region, str(g.get("group_id") or ""), str(g.get("group_name") or ""),
                str(g.get("vpc_id") or ""), "" if g.get("age_days") is None else str(g.get("age_days")),
                "" if g.get("rule_count") is None else str(g.get("rule_count")),
                str(g.get("delete_command") or ""), generated, report_key,
            )
            for g in report.get("unused") or ()
        ]


@dataclass(frozen=True)
class Digest:
    """What the review keeps of a snapshot read only for coverage: its hash and whether it is intact."""

    key: str
    sha256: str
    size: int
    problem: str | None


def digest_snapshot(obj: StoredObject) -> Digest:
    """Verify a snapshot (header, row count and digest recorded at write time) and forget its body."""
    try:
        read_csv(obj, SNAPSHOT_HEADER)
        problem = None
    except CsvFormatError as exc:
        problem = str(exc)
    return Digest(obj.key, sha256(obj.body), len(obj.body), problem)


# --------------------------------------------------------------------------- the review


@dataclass
class Change:
    detected_at: datetime
    window_start: datetime | None
    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str
    change_type: str  # Added, Removed, Updated, GroupAdded, GroupRemoved
    before: Rule | None
    after: Rule | None
    diff_key: str
    events: list[ChangeEvent] = field(default_factory=list)

    @property
    def rule(self) -> Rule:
        found = self.after or self.before
        if found is None:
            raise ValueError(f"change in {self.diff_key} has neither a before nor an after rule")
        return found

    @property
    def who(self) -> str:
        return ", ".join(dict.fromkeys(e.actor for e in self.events if e.actor))

    @property
    def when(self) -> datetime | None:
        times = [e.event_time for e in self.events if e.event_time]
        return min(times) if times else None


def changes_of_diff(obj: StoredObject, window_start: datetime | None, detected: datetime) -> list[Change]:
    """The changes a diff object records (an update is its previous and current row)."""
    out: list[Change] = []
    previous: Rule | None = None
    for row in read_csv(obj, DIFF_HEADER):
        kind, rule = row[0], Rule._make(row[1:])
        if kind == UPDATED_PREVIOUS:
            previous = rule
            continue
        before = after = None
        label = kind
        if kind == UPDATED_CURRENT:
            before, after, label = previous, rule, "Updated"
        elif kind in (ADDED, GROUP_ADDED):
            after = rule
        elif kind in (REMOVED, GROUP_REMOVED):
            before = rule
        else:
            continue
        previous = None
        out.append(
            Change(detected, window_start, rule.account_id, rule.region, rule.vpc_id, rule.group_id,
                   unneutralise(rule.group_name), label, before, after, obj.key)
        )
    return out


@dataclass(frozen=True)
class Gap:
    account_id: str
    region: str
    kind: str  # missing-snapshots, event-without-diff, diff-without-event, integrity, new-baseline, absent
    when: str
    detail: str


@dataclass(frozen=True)
class Risky:
    """A current rule rated MEDIUM or HIGH by :func:`sgwatch.risk.rate` (see :mod:`.risky`)."""

    severity: str
    reason: str
    rule: Rule
    world: bool  # open to an internet-wide range


@dataclass(frozen=True)
class UsedObject:
    key: str
    kind: str
    sha256: str
    size: int


@dataclass
class PastReview:
    pack: str  # the pack folder name, e.g. 2026-01-01_2026-06-30 or ...-r2
    manifest_key: str | None
    manifest_sha256: str | None
    signoffs: list[SignOff] = field(default_factory=list)

    def verified(self, signoff: SignOff) -> bool:
        """Whether the sign-off is bound to this pack's manifest as it is now."""
        return bool(self.manifest_sha256) and signoff.manifest_sha256 == self.manifest_sha256


@dataclass
class Scope:
    account_id: str
    region: str
    coverage: dict[date, int]  # snapshots per day of the period
    current_snapshot: str | None
    current_taken_at: datetime | None
    groups: int
    rules: int
    events: int
    present: dict[str, bool]


@dataclass
class Review:
    period: Period
    bucket: str
    prefix: str
    generated_at: datetime
    scopes: list[Scope]
    changes: list[Change]
    current_rules: list[Rule]
    risky: list[Risky]
    unused: list[UnusedGroup]
    gaps: list[Gap]
    past_reviews: list[PastReview]
    used: list[UsedObject]
    pack: str = ""  # the pack folder, set once claimed

    @property
    def rule_changes(self) -> list[Change]:
        return [c for c in self.changes if c.change_type not in (GROUP_ADDED, GROUP_REMOVED)]

    @property
    def groups_created(self) -> list[Change]:
        return [c for c in self.changes if c.change_type == GROUP_ADDED]

    @property
    def groups_deleted(self) -> list[Change]:
        return [c for c in self.changes if c.change_type == GROUP_REMOVED]

    @property
    def accounts(self) -> int:
        return len({s.account_id for s in self.scopes})

    def totals(self) -> dict[str, int]:
        return {
            "accounts": self.accounts,
            "regions": len(self.scopes),
            "changes": len(self.rule_changes),
            "groups_created": len(self.groups_created),
            "groups_deleted": len(self.groups_deleted),
            "world_open": sum(1 for r in self.risky if r.world),
            "high": sum(1 for r in self.risky if r.severity == HIGH),
            "unused": len(self.unused),
            "gaps": len(self.gaps),
            "attributed": sum(1 for c in self.rule_changes if c.events),
        }
