"""The PCI DSS 1.2.7 review pack: what changed in a period, what is risky now, what is missing.

Pure: the handler lists and reads the evidence bucket, this module decides which
objects to read (:func:`select`), builds the review from their bytes (:func:`build`)
and renders it (:func:`render_html`, :func:`render_csvs`, :func:`manifest`).

Evidence read, per account and region (``{prefix}{account}/{region}/{kind}/``):

* ``snapshots/`` — every snapshot taken in the period (coverage and integrity: the
  body is checked against the ``sha256`` recorded at write time) and the latest one
  taken before the period ends (the "current" rules);
* ``diffs/`` — every diff in the period, plus the first one after it (it closes the
  window of changes made on the last day);
* ``events/YYYY/MM/DD/`` — change-event records of the change notifier (who and when);
* ``unused/`` — the latest unused-group report before the period ends.

Missing kinds are not errors: they become "absent" gaps in the report.

Severity of current rules (ingress only; egress to the internet is the AWS default):

============  ===========================================================================
HIGH          from ``0.0.0.0/0`` or ``::/0`` to all traffic, or to a port range covering an
              administration or database port (SSH 22, RDP 3389, Telnet, SMB, SQL, ...)
HIGH          all traffic from any other public (non-private) address range
MEDIUM        any other rule open to ``0.0.0.0/0`` or ``::/0`` (e.g. HTTPS on 443)
============  ===========================================================================
"""

from __future__ import annotations

import calendar
import hashlib
import html
import ipaddress
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import __version__
from .csvio import CsvFormatError, from_csv, to_csv, unneutralise
from .diff import (
    ADDED,
    DIFF_HEADER,
    GROUP_ADDED,
    GROUP_REMOVED,
    REMOVED,
    UPDATED_CURRENT,
    UPDATED_PREVIOUS,
)
from .evidence import StoredObject, stamp_time
from .rules import SNAPSHOT_HEADER, Rule, covers_port, is_world

KINDS = ("snapshots", "diffs", "events", "unused")
REVIEWS = "reviews/"
HTML_ROW_LIMIT = 1000
DECISIONS = ("approved", "approved-with-exceptions", "rejected")

SENSITIVE_PORTS = {
    22: "SSH",
    3389: "RDP",
    23: "Telnet",
    21: "FTP",
    135: "MS RPC",
    139: "NetBIOS",
    445: "SMB",
    1433: "SQL Server",
    1521: "Oracle",
    2375: "Docker API",
    3306: "MySQL",
    5432: "PostgreSQL",
    5900: "VNC",
    6379: "Redis",
    9200: "Elasticsearch",
    11211: "Memcached",
    27017: "MongoDB",
}

CHANGES_HEADER = (
    "DetectedAt",
    "AccountId",
    "Region",
    "VpcId",
    "GroupId",
    "GroupName",
    "ChangeType",
    "Direction",
    "RuleId",
    "Before",
    "After",
    "EventTime",
    "Actor",
    "EventName",
    "EventId",
    "DiffKey",
)
RISKY_HEADER = ("Severity", "Reason", *SNAPSHOT_HEADER)
UNUSED_HEADER = (
    "AccountId",
    "Region",
    "GroupId",
    "GroupName",
    "VpcId",
    "AgeDays",
    "RuleCount",
    "DeleteCommand",
    "ReportGeneratedAt",
    "ReportKey",
)


# --------------------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    """Whole UTC days, both ends included."""

    start: date
    end: date

    @property
    def name(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def start_time(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc)

    @property
    def end_time(self) -> datetime:
        """Exclusive: midnight after the last day."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=timezone.utc)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_time <= moment < self.end_time

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_period(today: date) -> Period:
    """The six months ending the day before ``today`` (run on 1 July: 1 January - 30 June)."""
    end = today - timedelta(days=1)
    return Period(_months_before(end + timedelta(days=1), 6), end)


def parse_period(event: Mapping[str, Any] | None, today: date) -> Period:
    """``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}``, or the default six months when absent."""
    event = event if isinstance(event, Mapping) else {}
    start, end = event.get("from"), event.get("to")
    if not start and not end:
        return default_period(today)
    if not (isinstance(start, str) and isinstance(end, str)):
        raise ValueError('give both "from" and "to" as YYYY-MM-DD, or neither for the last six months')
    try:
        period = Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        raise ValueError(f'"from" and "to" must be dates as YYYY-MM-DD, got {start!r} and {end!r}') from None
    if period.end < period.start:
        raise ValueError(f'"from" ({start}) is after "to" ({end})')
    if (period.end - period.start).days > 3660:
        raise ValueError("the period is longer than ten years")
    return period


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class EvidenceKey:
    key: str
    account_id: str
    region: str
    kind: str
    time: datetime | None  # stamp time; for events, midnight of the day folder


def classify(prefix: str, key: str) -> EvidenceKey | None:
    """The account, region, kind and time of an evidence key, or None for anything else."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) < 4 or parts[2] not in KINDS or not parts[0] or not parts[1]:
        return None
    kind = parts[2]
    if kind == "events":
        if len(parts) != 7 or not parts[6].endswith(".json"):
            return None
        try:
            day = datetime(int(parts[3]), int(parts[4]), int(parts[5]), tzinfo=timezone.utc)
        except ValueError:
            return None
        return EvidenceKey(key, parts[0], parts[1], kind, day)
    moment = stamp_time(parts[-1])
    if moment is None:
        return None
    return EvidenceKey(key, parts[0], parts[1], kind, moment)


@dataclass
class ScopeKeys:
    """The evidence keys of one account/region, each list oldest first."""

    account_id: str
    region: str
    snapshots: list[EvidenceKey] = field(default_factory=list)
    diffs: list[EvidenceKey] = field(default_factory=list)
    events: list[EvidenceKey] = field(default_factory=list)
    unused: list[EvidenceKey] = field(default_factory=list)


@dataclass
class Selection:
    scopes: dict[tuple[str, str], ScopeKeys]
    to_read: list[str]
    current_snapshots: dict[tuple[str, str], str]
    unused_reports: dict[tuple[str, str], str]
    review_keys: list[str]

    @property
    def digest_only(self) -> set[str]:
        """Snapshots read only for coverage and integrity: the reader may keep a :class:`Digest`."""
        current = set(self.current_snapshots.values())
        return {
            k.key for scope in self.scopes.values() for k in scope.snapshots if k.key not in current
        } & set(self.to_read)


def select(prefix: str, keys: Iterable[str], period: Period) -> Selection:
    """Which objects the review reads, from a listing of the evidence prefix."""
    scopes: dict[tuple[str, str], ScopeKeys] = {}
    review_keys: list[str] = []
    for key in keys:
        if key.startswith(prefix + REVIEWS):
            if key.endswith("/manifest.json") or "/signoffs/" in key:
                review_keys.append(key)
            continue
        found = classify(prefix, key)
        if found is None:
            continue
        scope = scopes.setdefault((found.account_id, found.region), ScopeKeys(found.account_id, found.region))
        getattr(scope, found.kind).append(found)
    to_read: list[str] = []
    current: dict[tuple[str, str], str] = {}
    unused: dict[tuple[str, str], str] = {}
    for scope_id, scope in sorted(scopes.items()):
        for kind in KINDS:
            getattr(scope, kind).sort(key=lambda k: (k.time, k.key))
        to_read += [k.key for k in scope.snapshots if period.contains(k.time)]
        before_end = [k for k in scope.snapshots if k.time < period.end_time]
        if before_end:
            current[scope_id] = before_end[-1].key
            if before_end[-1].key not in to_read:
                to_read.append(before_end[-1].key)
        to_read += [k.key for k in scope.diffs if period.contains(k.time)]
        after = [k for k in scope.diffs if k.time >= period.end_time]
        if after:
            to_read.append(after[0].key)
        to_read += [k.key for k in scope.events if period.contains(k.time)]
        reports = [k for k in scope.unused if k.time < period.end_time]
        if reports:
            unused[scope_id] = reports[-1].key
            to_read.append(reports[-1].key)
    review_keys.sort()
    return Selection(scopes, to_read + review_keys, current, unused, review_keys)


# --------------------------------------------------------------------------- model


@dataclass
class ChangeEvent:
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
        return self.after or self.before  # type: ignore[return-value]

    @property
    def who(self) -> str:
        return ", ".join(dict.fromkeys(e.actor for e in self.events if e.actor))

    @property
    def when(self) -> datetime | None:
        times = [e.event_time for e in self.events if e.event_time]
        return min(times) if times else None


@dataclass(frozen=True)
class Gap:
    account_id: str
    region: str
    kind: str  # missing-snapshots, event-without-diff, diff-without-event, integrity, new-baseline, absent
    when: str
    detail: str


@dataclass(frozen=True)
class Risky:
    severity: str
    reason: str
    rule: Rule


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


@dataclass(frozen=True)
class UsedObject:
    key: str
    kind: str
    sha256: str
    size: int


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
        _read_csv(obj, SNAPSHOT_HEADER)
        problem = None
    except CsvFormatError as exc:
        problem = str(exc)
    return Digest(obj.key, _sha(obj.body), len(obj.body), problem)


@dataclass
class PastReview:
    pack: str  # the pack folder name, e.g. 2026-01-01_2026-06-30 or ...-r2
    manifest_key: str | None
    manifest_sha256: str | None
    signoffs: list[dict[str, Any]] = field(default_factory=list)


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
            "world_open": sum(1 for r in self.risky if is_world(r.rule.peer)),
            "high": sum(1 for r in self.risky if r.severity == "HIGH"),
            "unused": len(self.unused),
            "gaps": len(self.gaps),
            "attributed": sum(1 for c in self.rule_changes if c.events),
        }


# --------------------------------------------------------------------------- severity


def _port_names(rule: Rule) -> list[str]:
    return [f"{name} ({port})" for port, name in SENSITIVE_PORTS.items() if covers_port(rule, port)]


def _is_public(peer: str) -> bool:
    try:
        network = ipaddress.ip_network(peer, strict=False)
    except ValueError:
        return False
    return network.is_global


def assess(rule: Rule) -> Risky | None:
    """HIGH / MEDIUM for risky ingress rules (table in the module docstring), else None."""
    if rule.direction != "ingress" or rule.peer_type not in ("ipv4", "ipv6"):
        return None
    all_traffic = rule.protocol in ("-1", "all")
    if is_world(rule.peer):
        if all_traffic:
            return Risky("HIGH", "all traffic open to the internet", rule)
        names = _port_names(rule)
        if names:
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            return Risky("HIGH", f"open to the internet on {shown}", rule)
        return Risky("MEDIUM", f"open to the internet on {describe_ports(rule)}", rule)
    if all_traffic and _is_public(rule.peer):
        return Risky("HIGH", f"all traffic from the public range {rule.peer}", rule)
    return None


_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "all"}


def describe_ports(rule: Rule) -> str:
    protocol = _PROTOCOLS.get(rule.protocol, rule.protocol)
    if protocol in ("all", ""):
        return "all traffic"
    if protocol in ("icmp", "icmpv6"):
        if rule.from_port in ("", "-1"):
            return f"{protocol} (all types)"
        code = "" if rule.to_port in ("", "-1") else f" code {rule.to_port}"
        return f"{protocol} type {rule.from_port}{code}"
    if rule.from_port in ("", "-1") or (rule.from_port == "0" and rule.to_port == "65535"):
        return f"{protocol} (all ports)"
    if rule.from_port == rule.to_port:
        return f"{protocol} {rule.from_port}"
    return f"{protocol} {rule.from_port}-{rule.to_port}"


def describe_rule(rule: Rule | None) -> str:
    """``tcp 22 from 0.0.0.0/0 "admin"`` — human text of one rule (display, not neutralised)."""
    if rule is None or rule.is_placeholder:
        return ""
    way = "from" if rule.direction == "ingress" else "to"
    text = f"{rule.direction} {describe_ports(rule)} {way} {rule.peer}"
    description = unneutralise(rule.description)
    return f'{text} "{description}"' if description else text


# --------------------------------------------------------------------------- build


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _load_event(key: str, body: bytes) -> ChangeEvent:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    actor = data.get("actor") if isinstance(data.get("actor"), dict) else {}
    display = actor.get("display") or actor.get("arn") or actor.get("principal") or ""
    changes = [c for c in data.get("changes") or () if isinstance(c, dict)]
    return ChangeEvent(
        key=key,
        event_id=str(data.get("event_id") or key.rsplit("/", 1)[-1][:-5]),
        event_name=str(data.get("event_name") or ""),
        event_time=_parse_time(data.get("event_time")),
        group_ids=[str(g) for g in data.get("group_ids") or () if g],
        group_name=str(data.get("group_name") or ""),
        actor=str(display),
        source_ip=str(data.get("source_ip") or ""),
        error_code=str(data.get("error_code") or ""),
        severity=str(data.get("severity") or ""),
        changes=changes,
    )


def _read_csv(obj: StoredObject, header: Sequence[str]) -> list[list[str]]:
    rows = obj.metadata.get("rows", "")
    return from_csv(obj.body, header, int(rows) if rows.isdigit() else None, obj.metadata.get("sha256") or None)


def _changes_of_diff(obj: StoredObject, window_start: datetime | None, detected: datetime) -> list[Change]:
    out: list[Change] = []
    previous: Rule | None = None
    for row in _read_csv(obj, DIFF_HEADER):
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


def _same_rule(change: Mapping[str, Any], rule: Rule | None) -> bool:
    if rule is None:
        return False
    for side in ("before", "after"):
        found = change.get(side)
        if not isinstance(found, dict):
            continue
        if found.get("rule_id") and rule.rule_id and str(found.get("rule_id")) == rule.rule_id:
            return True
        fields = ("direction", "protocol", "from_port", "to_port", "peer")
        ours = (rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.peer)
        theirs = tuple("" if found.get(f) is None else str(found.get(f)) for f in fields)
        if theirs == ours:
            return True
    return False


def _attribute(change: Change, events: list[ChangeEvent]) -> list[ChangeEvent]:
    """The change events that explain one diff change (same group, inside the diff's window)."""
    candidates = [
        e
        for e in events
        if change.group_id in e.group_ids
        and not e.error_code
        and e.event_time is not None
        and e.event_time <= change.detected_at
        and (change.window_start is None or e.event_time > change.window_start)
    ]
    if change.change_type == GROUP_ADDED:
        exact = [e for e in candidates if e.event_name == "CreateSecurityGroup"]
    elif change.change_type == GROUP_REMOVED:
        exact = [e for e in candidates if e.event_name == "DeleteSecurityGroup"]
    else:
        exact = [e for e in candidates if any(_same_rule(c, change.before) or _same_rule(c, change.after) for c in e.changes)]
    # An event that details other rules does not explain this one; one without details may.
    return exact or [e for e in candidates if not e.changes]


def _day_ranges(days: list[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _fmt_time(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def build(
    period: Period,
    bucket: str,
    prefix: str,
    selection: Selection,
    objects: Mapping[str, StoredObject | Digest | None],
    generated_at: datetime,
) -> Review:
    """The review of ``period`` from the objects read (None: the read failed; a :class:`Digest`
    for snapshots in :attr:`Selection.digest_only`)."""
    used: dict[str, UsedObject] = {}
    gaps: list[Gap] = []
    changes: list[Change] = []
    current_rules: list[Rule] = []
    unused: list[UnusedGroup] = []
    scopes: list[Scope] = []
    wanted = set(selection.to_read)

    def use(key: str, kind: str) -> Any:
        obj = objects.get(key)
        if isinstance(obj, Digest):
            used[key] = UsedObject(key, kind, obj.sha256, obj.size)
        elif obj is not None:
            used[key] = UsedObject(key, kind, _sha(obj.body), len(obj.body))
        return obj

    for (account, region), keys in sorted(selection.scopes.items()):
        gap = lambda kind, when, detail: gaps.append(Gap(account, region, kind, when, detail))  # noqa: E731
        present = {kind: bool(getattr(keys, kind)) for kind in KINDS}

        # Snapshots: coverage per day and integrity of each one read.
        coverage = {day: 0 for day in period.days()}
        for k in keys.snapshots:
            if not period.contains(k.time):
                continue
            obj = use(k.key, "snapshot")
            if obj is None:
                gap("integrity", _fmt_time(k.time), f"snapshot {k.key} could not be read")
                continue
            problem = (obj if isinstance(obj, Digest) else digest_snapshot(obj)).problem
            if problem:
                gap("integrity", _fmt_time(k.time), f"snapshot {k.key} is not intact: {problem}")
                continue
            coverage[k.time.date()] += 1  # type: ignore[union-attr]
        missing = [day for day, count in coverage.items() if not count]
        for first, last in _day_ranges(missing):
            days = (last - first).days + 1
            when = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
            gap("missing-snapshots", when, f"no snapshot on {days} day{'s' if days > 1 else ''}")

        # Current rules: the latest snapshot taken before the period ends.
        current_key = selection.current_snapshots.get((account, region))
        current_taken = stamp_time(current_key) if current_key else None
        scope_rules: list[Rule] = []
        if current_key:
            obj = use(current_key, "snapshot")
            try:
                if obj is None:
                    raise CsvFormatError("could not be read")
                scope_rules = [Rule._make(r) for r in _read_csv(obj, SNAPSHOT_HEADER)]
            except CsvFormatError as exc:
                scope_rules = []
                if not period.contains(current_taken):
                    gap("integrity", _fmt_time(current_taken), f"snapshot {current_key} is not intact: {exc}")
        else:
            gap("absent", "", "no snapshot before the end of the period: current rules unknown")
        current_rules += scope_rules

        # Change events of the period.
        events: list[ChangeEvent] = []
        for k in keys.events:
            if not period.contains(k.time):
                continue
            obj = use(k.key, "event")
            if obj is None:
                gap("integrity", k.time.date().isoformat(), f"change event {k.key} could not be read")  # type: ignore[union-attr]
                continue
            try:
                events.append(_load_event(k.key, obj.body))
            except ValueError as exc:
                gap("integrity", k.time.date().isoformat(), f"change event {k.key} is not valid JSON: {exc}")  # type: ignore[union-attr]
        events.sort(key=lambda e: (e.event_time or datetime.min.replace(tzinfo=timezone.utc), e.event_id))
        if not present["events"]:
            gap("absent", "", "no change-event records at all (change alerts not enabled?): who made each change is unknown")

        # A snapshot after the first one without a diff of its own started a new baseline (the one
        # before it was unusable): what changed in between is in no diff.
        diff_stems = {k.key.rsplit("/", 1)[-1] for k in keys.diffs}
        for before, k in zip(keys.snapshots, keys.snapshots[1:]):
            if period.contains(k.time) and k.key.rsplit("/", 1)[-1] not in diff_stems:
                gap("new-baseline", _fmt_time(k.time),
                    f"snapshot {k.key} starts a new baseline after {before.key}: changes between them are in no diff")

        # Diffs: each one covers (previous snapshot, its snapshot].
        snapshot_times = [k.time for k in keys.snapshots]
        diff_windows: list[tuple[datetime | None, datetime, set[str], str]] = []
        scope_changes: list[Change] = []
        for k in keys.diffs:
            if k.key not in wanted:
                continue
            obj = use(k.key, "diff")
            previous_key = obj.metadata.get("previous-snapshot") if obj else None
            window_start = stamp_time(previous_key) if previous_key else None
            if window_start is None:
                earlier = [t for t in snapshot_times if t < k.time]  # type: ignore[operator]
                window_start = earlier[-1] if earlier else None
            if obj is None:
                gap("integrity", _fmt_time(k.time), f"diff {k.key} could not be read")
                continue
            try:
                found = _changes_of_diff(obj, window_start, k.time)  # type: ignore[arg-type]
            except CsvFormatError as exc:
                gap("integrity", _fmt_time(k.time), f"diff {k.key} is not intact: {exc}")
                continue
            diff_windows.append((window_start, k.time, {c.group_id for c in found}, k.key))  # type: ignore[arg-type]
            if period.contains(k.time):
                scope_changes += found
        for change in scope_changes:
            change.events = _attribute(change, events)

        # Gaps between the two records of change: events vs diffs.
        if present["events"]:
            unexplained: dict[tuple[str, str], list[Change]] = defaultdict(list)
            for change in scope_changes:
                if not change.events:
                    unexplained[(change.diff_key, change.group_id)].append(change)
            for (_, group_id), items in unexplained.items():
                first = items[0]
                gap(
                    "diff-without-event",
                    _fmt_time(first.detected_at),
                    f"{group_id} {first.group_name}: {len(items)} change(s) seen between "
                    f"{_fmt_time(first.window_start) or 'the first snapshot'} and {_fmt_time(first.detected_at)} "
                    "with no change event (made while alerts were off, or the event was lost)",
                )
        explained = {id(e) for c in scope_changes for e in c.events}
        for event in events:
            if event.error_code or not period.contains(event.event_time) or id(event) in explained:
                continue
            window = next(
                (w for w in diff_windows if (w[0] is None or w[0] < event.event_time) and event.event_time <= w[1]),  # type: ignore[operator]
                None,
            )
            label = f"{event.event_name} {', '.join(event.group_ids) or '(no group id)'} by {event.actor or 'unknown'}"
            if window is None:
                later = [t for t in snapshot_times if t >= event.event_time]  # type: ignore[operator]
                reason = (
                    "no snapshot was taken after it"
                    if not later
                    else f"the snapshot of {_fmt_time(later[0])} has no diff"
                )
            else:
                reason = (
                    f"the diff of {_fmt_time(window[1])} shows no such change "
                    "(undone before the next snapshot, or the snapshot missed it)"
                )
            gap("event-without-diff", _fmt_time(event.event_time), f"{label}: {reason}")

        # Unused groups: the latest report before the period ends.
        report_key = selection.unused_reports.get((account, region))
        if report_key:
            obj = use(report_key, "unused-report")
            try:
                if obj is None:
                    raise ValueError("could not be read")
                report = json.loads(obj.body)
                generated = str(report.get("generated_at") or _fmt_time(stamp_time(report_key)))
                for g in report.get("unused") or ():
                    unused.append(
                        UnusedGroup(
                            account, region, str(g.get("group_id") or ""), str(g.get("group_name") or ""),
                            str(g.get("vpc_id") or ""), "" if g.get("age_days") is None else str(g.get("age_days")),
                            "" if g.get("rule_count") is None else str(g.get("rule_count")),
                            str(g.get("delete_command") or ""), generated, report_key,
                        )
                    )
            except (ValueError, AttributeError, TypeError) as exc:
                gap("integrity", "", f"unused-group report {report_key} unusable: {exc}")
        elif not present["unused"]:
            gap("absent", "", "no unused-group report (unused audit not enabled?)")

        changes += scope_changes
        scopes.append(
            Scope(
                account, region, coverage, current_key, current_taken,
                len({r.group_id for r in scope_rules}), sum(1 for r in scope_rules if r.direction),
                len(events), present,
            )
        )

    risky = sorted(
        (found for found in map(assess, current_rules) if found),
        key=lambda r: (r.severity != "HIGH", r.rule.account_id, r.rule.region, r.rule.group_id, r.rule),
    )
    changes.sort(key=lambda c: (c.detected_at, c.account_id, c.region, c.group_id, c.change_type))
    past = _past_reviews(selection.review_keys, objects, use)
    return Review(period, bucket, prefix, generated_at, scopes, changes, current_rules, risky, unused, gaps, past,
                  list(used.values()))


def _past_reviews(keys: list[str], objects: Mapping[str, Any], use: Any) -> list[PastReview]:
    packs: dict[str, PastReview] = {}
    for key in keys:
        pack = key.split(REVIEWS, 1)[1].split("/", 1)[0]
        entry = packs.setdefault(pack, PastReview(pack, None, None))
        obj = use(key, "signoff" if "/signoffs/" in key else "review-manifest")
        if obj is None:
            continue
        if key.endswith("/manifest.json"):
            entry.manifest_key, entry.manifest_sha256 = key, _sha(obj.body)
        else:
            try:
                record = json.loads(obj.body)
            except ValueError:
                continue
            if isinstance(record, dict):
                entry.signoffs.append(record)
    for entry in packs.values():
        for record in entry.signoffs:
            record["_verified"] = bool(entry.manifest_sha256) and record.get("manifest_sha256") == entry.manifest_sha256
    return [packs[p] for p in sorted(packs)]


# --------------------------------------------------------------------------- CSV
# to_csv neutralises every cell against formula injection; the rows hold plain values.


def _change_rows(review: Review) -> Iterable[tuple[str, ...]]:
    for c in review.changes:
        rule = c.rule
        events = c.events
        yield (
            c.detected_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            c.account_id,
            c.region,
            c.vpc_id,
            c.group_id,
            c.group_name,
            c.change_type,
            rule.direction,
            rule.rule_id,
            describe_rule(c.before),
            describe_rule(c.after),
            " ".join(e.event_time.strftime("%Y-%m-%dT%H:%M:%SZ") for e in events if e.event_time),
            c.who,
            " ".join(dict.fromkeys(e.event_name for e in events)),
            " ".join(e.event_id for e in events),
            c.diff_key,
        )


def render_csvs(review: Review) -> dict[str, bytes]:
    """changes.csv, current-rules.csv, risky-rules.csv and unused-groups.csv."""
    return {
        "changes.csv": to_csv(CHANGES_HEADER, _change_rows(review)).body,
        "current-rules.csv": to_csv(SNAPSHOT_HEADER, review.current_rules).body,
        "risky-rules.csv": to_csv(RISKY_HEADER, [(r.severity, r.reason, *r.rule) for r in review.risky]).body,
        "unused-groups.csv": to_csv(
            UNUSED_HEADER,
            [
                (u.account_id, u.region, u.group_id, u.group_name, u.vpc_id, u.age_days, u.rule_count,
                 u.delete_command, u.generated_at, u.report_key)
                for u in review.unused
            ],
        ).body,
    }


# --------------------------------------------------------------------------- records


def review_record_template(review: Review, pack_prefix: str) -> bytes:
    record = {
        "schema": 1,
        "period": {"from": review.period.start.isoformat(), "to": review.period.end.isoformat()},
        "pack": pack_prefix,
        "manifest_key": pack_prefix + "manifest.json",
        "reviewer": None,
        "date": None,
        "decision": None,
        "allowed_decisions": list(DECISIONS),
        "comments": "",
        "how_to_sign": (
            f"make review-signoff PACK={pack_prefix.rstrip('/').rsplit('/', 1)[-1]} DECISION=approved "
            "COMMENTS='...' (writes signoffs/<stamp>.json next to this file with your identity from STS)"
        ),
    }
    return (json.dumps(record, indent=2) + "\n").encode("utf-8")


def manifest(review: Review, pack_prefix: str, outputs: Mapping[str, bytes]) -> bytes:
    """SHA-256 of every evidence object read and every file produced (the manifest excepted)."""
    document = {
        "schema": 1,
        "generator": "sgwatch review_pack",
        "generator_version": __version__,
        "generated_at": review.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "period": {"from": review.period.start.isoformat(), "to": review.period.end.isoformat()},
        "bucket": review.bucket,
        "pack": pack_prefix,
        "totals": review.totals(),
        "evidence": [
            {"key": u.key, "kind": u.kind, "sha256": u.sha256, "size": u.size}
            for u in sorted(review.used, key=lambda u: u.key)
        ],
        "outputs": [
            {"key": pack_prefix + name, "sha256": _sha(body), "size": len(body)}
            for name, body in sorted(outputs.items())
        ],
    }
    return (json.dumps(document, indent=2, sort_keys=False) + "\n").encode("utf-8")


def signoff_record(
    pack_prefix: str,
    manifest_body: bytes,
    identity: Mapping[str, Any],
    decision: str,
    comments: str,
    reviewer_name: str,
    now: datetime,
) -> dict[str, Any]:
    """The completed review record, bound to the pack by the manifest's SHA-256."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    data = json.loads(manifest_body)
    return {
        "schema": 1,
        "pack": pack_prefix,
        "period": data.get("period"),
        "manifest_key": pack_prefix + "manifest.json",
        "manifest_sha256": _sha(manifest_body),
        "reviewer": {
            "name": reviewer_name or str(identity.get("Arn", "")).rsplit("/", 1)[-1],
            "arn": identity.get("Arn"),
            "user_id": identity.get("UserId"),
            "account": identity.get("Account"),
        },
        "date": now.astimezone(timezone.utc).date().isoformat(),
        "signed_at": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision": decision,
        "comments": comments,
    }


# --------------------------------------------------------------------------- HTML

e = html.escape

COLOURS = {"Added": "#2f9e6b", "Removed": "#d64545", "Updated": "#e0a020", "Groups": "#4a6fd1"}

CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#243b53}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:linear-gradient(120deg,#102a43,#334e68);color:#fff;padding:28px 40px 24px}
header h1{margin:0 0 4px;font-size:26px;font-weight:600}
header p{margin:2px 0;color:#d9e2ec}
main{max-width:1280px;margin:0 auto;padding:24px 40px 60px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 22px;box-shadow:0 1px 2px rgba(16,42,67,.05)}
h2{margin:0 0 12px;font-size:19px;color:var(--accent)}
h2 .count{font-weight:400;color:var(--muted);font-size:15px}
h3{font-size:15px;margin:16px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:14px}
.card{border-radius:10px;padding:14px 16px;background:#f0f4f8;border-left:5px solid #829ab1}
.card .n{font-size:30px;font-weight:700;line-height:1.1}
.card .l{color:var(--muted);font-size:13px}
.card.good{border-color:#2f9e6b}.card.warn{border-color:#e0a020}.card.bad{border-color:#d64545}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;background:#f0f4f8;color:#334e68;font-weight:600;padding:7px 8px;border-bottom:2px solid #d9e2ec;position:sticky;top:0}
td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
tr:nth-child(even) td{background:#fafbfc}
td.nw{white-space:nowrap}
td.mono,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:11px;font-weight:700;color:#fff;white-space:nowrap}
.HIGH,.Removed,.GroupRemoved,.bad-b{background:#d64545}.MEDIUM,.Updated{background:#e0a020}
.Added,.GroupAdded,.ok-b{background:#2f9e6b}.info-b{background:#627d98}
.before{color:#9b2c2c;text-decoration:line-through;text-decoration-color:rgba(155,44,44,.4)}
.after{color:#276749}
.muted{color:var(--muted)}
.empty{color:var(--muted);font-style:italic;padding:8px 0}
.legend span{display:inline-block;margin-right:16px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:6px}
.note{background:#fffbea;border:1px solid #f7d070;border-radius:6px;padding:8px 12px;margin:10px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:20px}
svg text{font-family:inherit}
@media print{body{background:#fff}header{background:#102a43;-webkit-print-color-adjust:exact;print-color-adjust:exact}
section{break-inside:avoid-page;box-shadow:none}.scroll{max-height:none;overflow:visible}}
"""


def _cell(value: Any, cls: str = "") -> str:
    attr = f' class="{e(cls)}"' if cls else ""
    return f"<td{attr}>{e(str(value))}</td>"


def _table(header: Sequence[str], rows: list[str], empty: str, total: int | None = None, csv: str = "") -> str:
    if not rows:
        return f'<p class="empty">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    note = ""
    if total is not None and total > len(rows):
        note = f'<p class="note">Showing the first {len(rows)} of {total} rows; all of them are in {e(csv)}.</p>'
    return f'{note}<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {e(cls)}">{e(text)}</span>'


def _buckets(period: Period) -> tuple[int, list[date]]:
    days = (period.end - period.start).days + 1
    size = 1 if days <= 45 else 7
    return size, [period.start + timedelta(days=i) for i in range(0, days, size)]


def timeline_svg(review: Review) -> str:
    """Stacked bars of changes per day (short periods) or week, with month labels."""
    size, starts = _buckets(review.period)
    series = ("Added", "Removed", "Updated", "Groups")
    counts = [dict.fromkeys(series, 0) for _ in starts]
    for c in review.changes:
        index = min((c.detected_at.date() - review.period.start).days // size, len(starts) - 1)
        if index < 0:
            continue
        kind = "Groups" if c.change_type in (GROUP_ADDED, GROUP_REMOVED) else c.change_type
        counts[index][kind] += 1
    width, height, left, bottom, top = 1000, 240, 44, 34, 12
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max([sum(c.values()) for c in counts] + [1])
    step = max(1, -(-peak // 4))
    ceiling = step * 4
    bar_w = plot_w / len(starts)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="timeline-title" class="timeline">',
        f'<title id="timeline-title">Security group changes per {"day" if size == 1 else "week"}, '
        f'{e(review.period.start.isoformat())} to {e(review.period.end.isoformat())}</title>',
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#616e7c">{step * i}</text>')
    for i, (start, count) in enumerate(zip(starts, counts)):
        x = left + i * bar_w
        y = top + plot_h
        end = min(start + timedelta(days=size - 1), review.period.end)
        label = start.isoformat() if size == 1 else f"{start.isoformat()} to {end.isoformat()}"
        for kind in series:
            if not count[kind]:
                continue
            h = plot_h * count[kind] / ceiling
            y -= h
            parts.append(
                f'<rect class="bar" x="{x + bar_w * 0.15:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[kind]}" rx="2"><title>{e(label)}: {count[kind]} {e(kind.lower())}</title></rect>'
            )
    seen_months: set[tuple[int, int]] = set()
    for i, start in enumerate(starts):
        if size == 1 and (i % 7):
            continue
        month = (start.year, start.month)
        if size == 7 and month in seen_months:
            continue
        seen_months.add(month)
        text = start.strftime("%d %b") if size == 1 else start.strftime("%b %Y")
        x = left + i * bar_w
        parts.append(f'<text x="{x + 2:.1f}" y="{height - 12}" font-size="11" fill="#616e7c">{e(text)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 12}" y2="{top + plot_h}" stroke="#9aa5b1"/>')
    parts.append("</svg>")
    return "".join(parts)


def coverage_svg(scope: Scope) -> str:
    """One square per day: green with a snapshot, red without."""
    days = sorted(scope.coverage)
    cell, gap = 11, 2
    weeks = -(-len(days) // 7) or 1
    width, height = weeks * (cell + gap) + 4, 7 * (cell + gap) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" class="coverage"><title>Snapshot coverage of {e(scope.account_id)} {e(scope.region)}</title>'
    ]
    for i, day in enumerate(days):
        x, y = 2 + (i // 7) * (cell + gap), 2 + (i % 7) * (cell + gap)
        count = scope.coverage[day]
        colour = "#2f9e6b" if count else "#d64545"
        tip = f"{day.isoformat()}: {count} snapshot{'s' if count != 1 else ''}"
        parts.append(
            f'<rect class="day{" missing" if not count else ""}" x="{x}" y="{y}" width="{cell}" height="{cell}" rx="2" '
            f'fill="{colour}"><title>{e(tip)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _section(ident: str, title: str, body: str, count: int | None = None) -> str:
    suffix = f' <span class="count">({count})</span>' if count is not None else ""
    return f'<section id="{e(ident)}"><h2>{e(title)}{suffix}</h2>{body}</section>'


def _rule_cells(change: Change) -> str:
    before, after = describe_rule(change.before), describe_rule(change.after)
    if change.change_type in (GROUP_ADDED, GROUP_REMOVED):
        before = after = ""
    return f'<td class="mono before">{e(before)}</td><td class="mono after">{e(after)}</td>'


def render_html(review: Review, pack_prefix: str = "") -> str:
    t = review.totals()
    period = review.period
    title = f"Security group review {period.start.isoformat()} to {period.end.isoformat()}"

    def card(n: int, label: str, tone: str) -> str:
        return f'<div class="card {tone}"><div class="n">{n}</div><div class="l">{e(label)}</div></div>'

    cards = "".join(
        [
            card(t["accounts"], f"accounts ({t['regions']} account-region{'s' if t['regions'] != 1 else ''})", ""),
            card(t["changes"], "rule changes", ""),
            card(t["attributed"], "changes with who/when", "good" if t["attributed"] == t["changes"] else "warn"),
            card(t["groups_created"], "groups created", ""),
            card(t["groups_deleted"], "groups deleted", ""),
            card(t["world_open"], "rules open to the internet", "bad" if t["world_open"] else "good"),
            card(t["high"], "high-severity rules", "bad" if t["high"] else "good"),
            card(t["unused"], "unused groups", "warn" if t["unused"] else "good"),
            card(t["gaps"], "evidence gaps", "bad" if t["gaps"] else "good"),
        ]
    )
    scope_rows = [
        "<tr>"
        + _cell(s.account_id, "mono")
        + _cell(s.region)
        + _cell(s.groups)
        + _cell(s.rules)
        + _cell(sum(1 for v in s.coverage.values() if v))
        + _cell(len(s.coverage))
        + _cell(s.events)
        + _cell(_fmt_time(s.current_taken_at) or "none")
        + "</tr>"
        for s in review.scopes
    ]
    summary = (
        f'<div class="cards">{cards}</div><h3>Scope</h3>'
        + _table(
            ("Account", "Region", "Groups now", "Rules now", "Days with a snapshot", "Days in period",
             "Change events", "Current rules as of"),
            scope_rows,
            "No evidence at all was found under this prefix for the period.",
        )
    )
    legend = "".join(f'<span><i style="background:{c}"></i>{e(k)}</span>' for k, c in COLOURS.items())
    timeline = f'<div class="legend">{legend}</div>{timeline_svg(review)}'

    rule_changes = review.rule_changes
    change_rows = [
        "<tr>"
        + _cell(_fmt_time(c.detected_at), "nw")
        + _cell(_fmt_time(c.when) or "unknown", "nw")
        + _cell(c.who or "unknown")
        + f'<td class="mono nw">{e(c.account_id)}<br>{e(c.region)}</td>'
        + f'<td class="mono nw">{e(c.group_id)}<br><span class="muted">{e(c.group_name)}</span></td>'
        + f"<td>{_badge(c.change_type, c.change_type)}</td>"
        + _rule_cells(c)
        + "</tr>"
        for c in rule_changes[:HTML_ROW_LIMIT]
    ]
    changes_html = (
        '<p class="muted">Detected: the snapshot whose diff shows the change. When and who: from the change-event '
        "records in the same window. Before is struck through; after is green.</p>"
        + _table(
            ("Detected", "When", "Who", "Account / region", "Group", "Change", "Before", "After"),
            change_rows,
            "No rule changed in this period.",
            len(rule_changes),
            "changes.csv",
        )
    )
    risky_rows = [
        "<tr>"
        + f"<td>{_badge(r.severity, r.severity)}</td>"
        + _cell(r.reason)
        + f'<td class="mono nw">{e(r.rule.account_id)}<br>{e(r.rule.region)}</td>'
        + f'<td class="mono nw">{e(r.rule.group_id)}<br><span class="muted">{e(unneutralise(r.rule.group_name))}</span></td>'
        + _cell(describe_rule(r.rule), "mono")
        + _cell(r.rule.rule_id, "mono")
        + "</tr>"
        for r in review.risky[:HTML_ROW_LIMIT]
    ]
    risky_html = _table(
        ("Severity", "Why", "Account / region", "Group", "Rule", "Rule id"),
        risky_rows,
        "No rule is open to the internet and no other high-severity rule was found in the current snapshots.",
        len(review.risky),
        "risky-rules.csv",
    )
    unused_rows = [
        "<tr>"
        + _cell(f"{u.account_id} {u.region}", "mono")
        + f'<td class="mono">{e(u.group_id)}<br><span class="muted">{e(u.group_name)}</span></td>'
        + _cell(u.vpc_id, "mono")
        + _cell(u.age_days)
        + _cell(u.rule_count)
        + _cell(u.generated_at)
        + "</tr>"
        for u in review.unused[:HTML_ROW_LIMIT]
    ]
    unused_html = _table(
        ("Account / region", "Group", "VPC", "Age (days)", "Rules", "Report of"),
        unused_rows,
        "No unused group was reported.",
        len(review.unused),
        "unused-groups.csv",
    )
    group_rows = [
        "<tr>"
        + _cell(_fmt_time(c.detected_at))
        + f"<td>{_badge('created' if c.change_type == GROUP_ADDED else 'deleted', c.change_type)}</td>"
        + _cell(f"{c.account_id} {c.region}", "mono")
        + f'<td class="mono">{e(c.group_id)}<br><span class="muted">{e(c.group_name)}</span></td>'
        + _cell(c.vpc_id, "mono")
        + _cell(c.who or "unknown")
        + _cell(_fmt_time(c.when) or "unknown")
        + "</tr>"
        for c in (review.groups_created + review.groups_deleted)
    ]
    groups_html = _table(
        ("Detected", "Change", "Account / region", "Group", "VPC", "Who", "When"),
        group_rows,
        "No group was created or deleted in this period.",
    )
    gap_labels = {
        "missing-snapshots": "days without a snapshot",
        "event-without-diff": "event without a snapshot diff",
        "diff-without-event": "diff without a change event",
        "integrity": "unreadable or altered evidence",
        "new-baseline": "diff chain restarted",
        "absent": "evidence kind absent",
    }
    gap_rows = [
        "<tr>"
        + f'<td class="mono nw">{e(g.account_id)}<br>{e(g.region)}</td>'
        + f"<td>{_badge(gap_labels.get(g.kind, g.kind), 'bad-b' if g.kind != 'absent' else 'info-b')}</td>"
        + _cell(g.when)
        + _cell(g.detail)
        + "</tr>"
        for g in review.gaps[:HTML_ROW_LIMIT]
    ]
    coverage = "".join(
        f'<div class="cov"><h3>Snapshot coverage: <span class="mono">{e(s.account_id)} {e(s.region)}</span> '
        f'<span class="muted">{sum(1 for v in s.coverage.values() if v)} of {len(s.coverage)} days</span></h3>'
        f'{coverage_svg(s)}<div class="legend"><span><i style="background:#2f9e6b"></i>snapshot taken</span>'
        f'<span><i style="background:#d64545"></i>no snapshot</span></div></div>'
        for s in review.scopes
    )
    by_kind: dict[str, int] = defaultdict(int)
    for g in review.gaps:
        by_kind[g.kind] += 1
    chips = "".join(
        f'<span>{_badge(str(n), "bad-b" if k != "absent" else "info-b")} {e(gap_labels.get(k, k))}</span>'
        for k, n in sorted(by_kind.items())
    )
    gaps_html = (f'<p class="legend">{chips}</p>' if chips else "") + _table(
        ("Account / region", "Gap", "When", "Detail"),
        gap_rows,
        "No gap: a snapshot on every day, and every change event matches a snapshot diff.",
        len(review.gaps),
        "manifest.json totals",
    ) + coverage

    review_rows = []
    for past in review.past_reviews:
        if not past.signoffs:
            review_rows.append(
                "<tr>" + _cell(past.pack, "mono") + f"<td>{_badge('not signed off', 'bad-b')}</td>"
                + _cell("") + _cell("") + _cell("") + _cell("") + "</tr>"
            )
        for record in past.signoffs:
            reviewer = record.get("reviewer") if isinstance(record.get("reviewer"), dict) else {}
            decision = str(record.get("decision") or "")
            review_rows.append(
                "<tr>"
                + _cell(past.pack, "mono")
                + f"<td>{_badge(decision or 'unknown', 'ok-b' if decision.startswith('approved') else 'bad-b')}</td>"
                + f'<td>{e(str(reviewer.get("name") or ""))}<br><span class="muted mono">{e(str(reviewer.get("arn") or ""))}</span></td>'
                + _cell(record.get("signed_at") or record.get("date") or "")
                + _cell(record.get("comments") or "")
                + f"<td>{_badge('matches pack' if record.get('_verified') else 'does not match pack', 'ok-b' if record.get('_verified') else 'bad-b')}</td>"
                + "</tr>"
            )
    pack_name = pack_prefix.rstrip("/").rsplit("/", 1)[-1] if pack_prefix else period.name
    reviews_html = _table(
        ("Pack", "Decision", "Reviewer", "Signed at", "Comments", "Manifest hash"),
        review_rows,
        "No earlier review pack was found in the bucket.",
    ) + (
        f'<h3>Signing off this review</h3><p>After reviewing, record the decision (reviewer identity from STS, '
        f"bound to this pack by the SHA-256 of its manifest):</p>"
        f'<p class="mono">make review-signoff PACK={e(pack_name)} DECISION=approved COMMENTS="..."</p>'
        f'<p class="muted">Decisions: {e(", ".join(DECISIONS))}. The next pack lists the record.</p>'
    )
    kinds: dict[str, int] = defaultdict(int)
    for u in review.used:
        kinds[u.kind] += 1
    evidence_html = (
        f"<p>Built from {len(review.used)} evidence object(s) of s3://{e(review.bucket)}/{e(review.prefix)} "
        f"({e(', '.join(f'{n} {k}' for k, n in sorted(kinds.items())) or 'none')}). "
        f"<span class=\"mono\">manifest.json</span> holds the SHA-256 of each of them and of every file of this pack; "
        "the CSV files next to this page hold the full tables.</p>"
        f'<p class="mono">{e(pack_prefix)}</p>'
    )
    body = "".join(
        [
            _section("summary", "Summary", summary),
            _section("timeline", "Changes over time (rules and groups)", timeline, len(review.changes)),
            _section("changes", "Rule changes", changes_html, len(rule_changes)),
            _section("risky", "Open to the internet and high-severity rules (current)", risky_html, len(review.risky)),
            _section("unused", "Unused groups", unused_html, len(review.unused)),
            _section("groups", "Groups created and deleted", groups_html, len(group_rows)),
            _section("gaps", "Gaps in the evidence", gaps_html, len(review.gaps)),
            _section("reviews", "Review sign-off", reviews_html, len(review.past_reviews)),
            _section("evidence", "Evidence and integrity", evidence_html),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Security group review</h1>"
        f"<p>PCI DSS 4.0 requirement 1.2.7: review of network security control configurations</p>"
        f"<p><strong>{e(period.start.strftime('%d %B %Y'))} to {e(period.end.strftime('%d %B %Y'))}</strong> "
        f"&middot; generated {e(_fmt_time(review.generated_at))} &middot; SG Watch {e(__version__)}</p></header>"
        f"<main>{body}<footer>Generated by SG Watch {e(__version__)} from s3://{e(review.bucket)}/{e(review.prefix)}"
        "</footer></main></body></html>\n"
    )
