"""The review's data model, and how each kind of evidence reads back into it.

Snapshots and diffs read back as :class:`~sgwatch.rules.Rule` rows (the inventory's own
type), exposure reports as :class:`~sgwatch.exposure_report.ExposureRow` (the same),
change-event records as :class:`ChangeEvent` (the keys :func:`sgwatch.sg_change_alerts.alerts.event_record`
writes, their provenance through :meth:`sgwatch.provenance.Provenance.from_record`),
unused-group reports as :class:`UnusedGroup` (the keys of :func:`sgwatch.unused_sg_audit.usage.report_json`),
sign-off records as :class:`~.records.SignOff` (the type that writes them).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .. import provenance
from ..cloudtrail import rule_from_dict
from ..csvio import CsvFormatError, from_csv, unneutralise
from ..diff import ADDED, DIFF_HEADER, GROUP_ADDED, GROUP_REMOVED, REMOVED, UPDATED_CURRENT, UPDATED_PREVIOUS
from ..evidence import StoredObject
from ..exposure_report import ExposureRow
from ..provenance import OUT_OF_BAND, Provenance
from ..risk import CRITICAL, GROUP, HIGH
from ..rules import SNAPSHOT_HEADER, Rule
from .period import Period
from .records import SignOff, sha256
from .rows import Rows, Selected


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

NOT_RECORDED = "not-recorded"  # the change control of an event recorded before provenance was
UNATTRIBUTED = "unattributed"  # the change control of a diff change no change event explains


def _provenance(data: dict[str, Any], actor: dict[str, Any]) -> Provenance:
    """The provenance a record carries; for an older record without it, what its stored CloudTrail
    record tells (:func:`sgwatch.provenance.origin` and :func:`~sgwatch.provenance.principal`, as
    the alerts derive them) with the change control :data:`NOT_RECORDED`."""
    found = Provenance.from_record(data.get("provenance"))
    if found is not None:
        return found
    detail = data.get("detail")
    record = detail if isinstance(detail, dict) and detail else {"userAgent": str(data.get("user_agent") or "")}
    origin = provenance.origin(record)
    who = provenance.principal(record) or str(actor.get("arn") or "")
    return Provenance(origin.origin, origin.detail, who, NOT_RECORDED)


@dataclass
class ChangeEvent:
    """A change-event record of the change notifier (:func:`sgwatch.sg_change_alerts.alerts.event_record`).

    ``provenance`` is the record's own; a record written before provenance was recorded gets the
    origin and principal of the CloudTrail record it stores and the change control
    :data:`NOT_RECORDED` (which principals were approved then is not known).
    """

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
    account_id: str = ""
    region: str = ""
    provenance: Provenance = field(default_factory=lambda: Provenance(change_control=NOT_RECORDED))

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
            account_id=str(data.get("account_id") or ""),
            region=str(data.get("region") or ""),
            provenance=_provenance(data, actor),
        )

    @property
    def change_control(self) -> str:
        return self.provenance.change_control

    @property
    def listed(self) -> bool:
        """Whether the 1.2.2 section lists it: out of band, or a manual change to an IaC-managed group."""
        return self.change_control == OUT_OF_BAND or self.provenance.manual_change

    def rule_changes(self) -> list[EventChange]:
        """One item per rule change the record details (one without rules for an event that details none)."""
        group = self.group_ids[0] if self.group_ids else ""

        def side(found: Any) -> Rule | None:
            if not isinstance(found, dict):
                return None
            rule = rule_from_dict(found, self.account_id, self.region)
            return rule if rule.group_id else rule._replace(group_id=group)

        items = [EventChange(self, side(c.get("before")), side(c.get("after"))) for c in self.changes]
        return items or [EventChange(self, None, None)]


@dataclass(frozen=True)
class EventChange:
    """One rule change of a change event: the rule before and after (None when absent or unknown)."""

    event: ChangeEvent
    before: Rule | None
    after: Rule | None

    @property
    def group_id(self) -> str:
        rule = self.after or self.before
        return rule.group_id if rule else ", ".join(self.event.group_ids)


def exposure_rule(row: ExposureRow) -> Rule:
    """The ingress rule of an exposure-report row, for :func:`sgwatch.ruletext.rule_text`."""
    if row.peer_class == GROUP:
        peer_type = "security-group"
    else:
        peer_type = "ipv6" if ":" in row.peer else "ipv4"
    return Rule(row.account_id, row.region, "", row.group_id, row.group_name, "", "ingress", row.rule_id,
                row.protocol, row.from_port, row.to_port, peer_type, row.peer, "")


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
        """The groups of an unused-group report (:func:`sgwatch.unused_sg_audit.usage.report_json`)."""
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

    @property
    def origin(self) -> str:
        return " ".join(dict.fromkeys(e.provenance.origin for e in self.events))

    @property
    def origin_detail(self) -> str:
        return "; ".join(dict.fromkeys(e.provenance.detail for e in self.events if e.provenance.detail))

    @property
    def change_control(self) -> str:
        """The verdicts of its events, or :data:`UNATTRIBUTED` when no event explains it."""
        return " ".join(dict.fromkeys(e.change_control for e in self.events)) or UNATTRIBUTED


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
    # missing-snapshots, event-without-diff, diff-without-event, integrity, new-baseline, absent, missing-exposure
    kind: str
    when: str
    detail: str


@dataclass(frozen=True)
class Risky:
    """A current rule rated MEDIUM or higher, as its alert rates it (see :mod:`.risky`)."""

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
    exposure_taken_at: datetime | None = None  # of the exposure report the review shows


@dataclass
class Review:
    """The review of a period. The tables are sequences read by iterating (:class:`~.rows.Rows` when
    assembled: the rows are in a temporary file); the derived ones (:attr:`rule_changes`...) are views
    of them, read again on each use."""

    period: Period
    bucket: str
    prefix: str
    generated_at: datetime
    scopes: list[Scope]
    changes: Sequence[Change]  # in detection order
    current_rules: Sequence[Rule]  # in account/region order
    risky: Sequence[Risky]  # highest level first
    unused: Sequence[UnusedGroup]
    gaps: Sequence[Gap]
    past_reviews: list[PastReview]
    used: Sequence[UsedObject]  # in key order
    pack: str = ""  # the pack folder, set once claimed
    events: Sequence[ChangeEvent] = field(default_factory=list)  # the change-event records read, oldest first
    exposure: Sequence[ExposureRow] = field(default_factory=list)  # the newest exposure reports, highest level first
    rule_review: Sequence[Any] = field(default_factory=list)  # rule_findings.ReviewFinding, by finding
    drift: Sequence[Any] = field(default_factory=list)  # consistency.DriftFinding, open then resolved
    remediation: Sequence[Any] = field(default_factory=list)  # remediation.RemediationRow, by time

    def _changes(self, keep: Callable[[Change], bool]) -> Sequence[Change]:
        return Selected(self.changes, lambda c: (c,) if keep(c) else ())

    @property
    def rule_changes(self) -> Sequence[Change]:
        return self._changes(lambda c: c.change_type not in (GROUP_ADDED, GROUP_REMOVED))

    @property
    def groups_created(self) -> Sequence[Change]:
        return self._changes(lambda c: c.change_type == GROUP_ADDED)

    @property
    def groups_deleted(self) -> Sequence[Change]:
        return self._changes(lambda c: c.change_type == GROUP_REMOVED)

    @property
    def accounts(self) -> int:
        return len({s.account_id for s in self.scopes})

    @property
    def changes_made(self) -> Sequence[ChangeEvent]:
        """The changes the change events record in the period (a failed call changed nothing)."""
        return Selected(self.events, lambda e: (e,) if not e.error_code and e.event_time
                        and self.period.contains(e.event_time) else ())

    def change_control_counts(self) -> dict[tuple[str, str], int]:
        """(origin, change control) -> how many of :attr:`changes_made`."""
        return dict(Counter((e.provenance.origin, e.change_control) for e in self.changes_made))

    @property
    def out_of_band(self) -> Sequence[EventChange]:
        """Every rule change of an out-of-band change or a manual change to an IaC-managed group."""
        return Selected(self.changes_made, lambda e: e.rule_changes() if e.listed else ())

    @property
    def unattributed(self) -> Sequence[Change]:
        """The diff changes no change event explains (see :mod:`.attribution`)."""
        return self._changes(lambda c: not c.events)

    def scope_counts(self) -> dict[tuple[str, str], Counter[str]]:
        """Per account/region, what the summary's account table counts: rule changes, out-of-band changes,
        unattributed changes, risky and critical rules, unused groups and gaps."""
        counts: dict[tuple[str, str], Counter[str]] = {(s.account_id, s.region): Counter() for s in self.scopes}

        def count(what: str, rows: Iterable[Any], where: Callable[[Any], tuple[str, str]]) -> None:
            for row in rows:
                counts.setdefault(where(row), Counter())[what] += 1

        count("changes", self.rule_changes, lambda c: (c.account_id, c.region))
        count("unattributed", self.unattributed, lambda c: (c.account_id, c.region))
        count("out_of_band", (e for e in self.changes_made if e.change_control == OUT_OF_BAND),
              lambda e: (e.account_id, e.region))
        count("risky", self.risky, lambda r: (r.rule.account_id, r.rule.region))
        count("critical", (r for r in self.risky if r.severity == CRITICAL),
              lambda r: (r.rule.account_id, r.rule.region))
        count("unused", self.unused, lambda u: (u.account_id, u.region))
        count("gaps", self.gaps, lambda g: (g.account_id, g.region))
        return counts

    def totals(self) -> dict[str, int]:
        made = Counter((e.change_control == OUT_OF_BAND, e.provenance.manual_change) for e in self.changes_made)
        rule_changes = self.rule_changes
        return {
            "accounts": self.accounts,
            "regions": len(self.scopes),
            "changes": len(rule_changes),
            "groups_created": len(self.groups_created),
            "groups_deleted": len(self.groups_deleted),
            "world_open": sum(1 for r in self.risky if r.world),
            "critical": sum(1 for r in self.risky if r.severity == CRITICAL),
            "high": sum(1 for r in self.risky if r.severity == HIGH),
            "unused": len(self.unused),
            "gaps": len(self.gaps),
            "attributed": sum(1 for c in rule_changes if c.events),
            "out_of_band": sum(n for (oob, _), n in made.items() if oob),
            "manual": sum(n for (_, manual), n in made.items() if manual),
            "unattributed": len(self.unattributed),
        }

    def close(self) -> None:
        """Remove the temporary files of its tables."""
        for table in (self.changes, self.current_rules, self.risky, self.unused, self.gaps, self.used, self.events,
                      self.exposure, self.rule_review, self.drift, self.remediation):
            if isinstance(table, Rows):
                table.close()
