"""Build the review of a period from the evidence objects read, one step per kind of evidence.

Each step takes the keys of one account/region and returns what it found and the gaps it
saw (``(items, gaps)``); :func:`build` runs them per scope in the order the report lists the
gaps, then rates the current rules (:mod:`.risky`, escalated where the exposure reports show
them reachable) and lists the earlier packs.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import risk
from ..csvio import CsvFormatError
from ..evidence import REVIEWS, StoredObject, stamp_time
from ..exposure_report import EXPOSURE_HEADER, ExposureRow, exposed_rule_levels
from ..rules import SNAPSHOT_HEADER, Rule
from . import attribution, consistency, remediation, rule_findings
from .attribution import Window
from .model import (
    Change,
    ChangeEvent,
    Digest,
    Gap,
    PastReview,
    Review,
    Scope,
    UnusedGroup,
    UsedObject,
    changes_of_diff,
    digest_snapshot,
    fmt_time,
    read_csv,
)
from .period import Period
from .records import SignOff, sha256
from .risky import risk_order, risky_rules
from .rows import Rows
from .selection import KINDS, ScopeKeys, Selection


class Reader:
    """The objects read (None: the read failed); each one used is hashed for the manifest."""

    def __init__(self, objects: Mapping[str, StoredObject | Digest | None]) -> None:
        self._objects = objects
        self._used: dict[str, UsedObject] = {}

    def use(self, key: str, kind: str) -> StoredObject | Digest | None:
        obj = self._objects.get(key)
        if isinstance(obj, Digest):
            self._used[key] = UsedObject(key, kind, obj.sha256, obj.size)
        elif obj is not None:
            self._used[key] = UsedObject(key, kind, sha256(obj.body), len(obj.body))
        return obj

    def body(self, key: str, kind: str) -> StoredObject | None:
        """An object whose content the review needs (a digest does not do)."""
        obj = self.use(key, kind)
        return obj if isinstance(obj, StoredObject) else None

    @property
    def used(self) -> list[UsedObject]:
        return list(self._used.values())


def _gap(keys: ScopeKeys, kind: str, when: str, detail: str) -> Gap:
    return Gap(keys.account_id, keys.region, kind, when, detail)


def _day_ranges(days: list[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def snapshot_coverage(period: Period, keys: ScopeKeys, reader: Reader) -> tuple[dict[date, int], list[Gap]]:
    """Intact snapshots per day of the period; unreadable or altered ones and days without one are gaps."""
    gaps: list[Gap] = []
    coverage = {day: 0 for day in period.days()}
    for k in keys.snapshots:
        if not period.contains(k.time):
            continue
        obj = reader.use(k.key, "snapshot")
        if obj is None:
            gaps.append(_gap(keys, "integrity", fmt_time(k.time), f"snapshot {k.key} could not be read"))
            continue
        problem = (obj if isinstance(obj, Digest) else digest_snapshot(obj)).problem
        if problem:
            gaps.append(_gap(keys, "integrity", fmt_time(k.time), f"snapshot {k.key} is not intact: {problem}"))
            continue
        coverage[k.time.date()] += 1
    missing = [day for day, count in coverage.items() if not count]
    for first, last in _day_ranges(missing):
        days = (last - first).days + 1
        when = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        gaps.append(_gap(keys, "missing-snapshots", when, f"no snapshot on {days} day{'s' if days > 1 else ''}"))
    return coverage, gaps


def current_rules(
    period: Period, keys: ScopeKeys, current_key: str | None, reader: Reader
) -> tuple[list[Rule], list[Gap]]:
    """The rules of the latest snapshot taken before the period ends."""
    if not current_key:
        return [], [_gap(keys, "absent", "", "no snapshot before the end of the period: current rules unknown")]
    taken = stamp_time(current_key)
    obj = reader.body(current_key, "snapshot")
    try:
        if obj is None:
            raise CsvFormatError("could not be read")
        return [Rule._make(r) for r in read_csv(obj, SNAPSHOT_HEADER)], []
    except CsvFormatError as exc:
        if period.contains(taken):  # already a coverage gap
            return [], []
        return [], [_gap(keys, "integrity", fmt_time(taken), f"snapshot {current_key} is not intact: {exc}")]


def change_events(period: Period, keys: ScopeKeys, reader: Reader) -> tuple[list[ChangeEvent], list[Gap]]:
    """The change-event records of the period, oldest first."""
    gaps: list[Gap] = []
    events: list[ChangeEvent] = []
    for k in keys.events:
        if not period.contains(k.time):
            continue
        obj = reader.body(k.key, "event")
        day = k.time.date().isoformat()
        if obj is None:
            gaps.append(_gap(keys, "integrity", day, f"change event {k.key} could not be read"))
            continue
        try:
            event = ChangeEvent.from_record(k.key, obj.body)
        except ValueError as exc:
            gaps.append(_gap(keys, "integrity", day, f"change event {k.key} is not valid JSON: {exc}"))
            continue
        event.account_id, event.region = event.account_id or keys.account_id, event.region or keys.region
        events.append(event)
    events.sort(key=lambda e: (e.event_time or datetime.min.replace(tzinfo=UTC), e.event_id))
    if not keys.events:
        unknown = "no change-event records at all (change alerts not enabled?): who made each change is unknown"
        gaps.append(_gap(keys, "absent", "", unknown))
    return events, gaps


@dataclass
class Diffs:
    changes: list[Change]  # the changes of the diffs taken in the period
    windows: list[Window]  # what each diff read covers, the one after the period included


def diff_changes(period: Period, keys: ScopeKeys, wanted: set[str], reader: Reader) -> tuple[Diffs, list[Gap]]:
    """The changes the diffs record; a snapshot without a diff of its own started a new baseline."""
    gaps: list[Gap] = []
    # The snapshot before a new baseline was unusable: what changed in between is in no diff.
    diff_stems = {k.key.rsplit("/", 1)[-1] for k in keys.diffs}
    for before, k in zip(keys.snapshots, keys.snapshots[1:], strict=False):
        if period.contains(k.time) and k.key.rsplit("/", 1)[-1] not in diff_stems:
            detail = f"snapshot {k.key} starts a new baseline after {before.key}: changes between them are in no diff"
            gaps.append(_gap(keys, "new-baseline", fmt_time(k.time), detail))
    snapshot_times = [k.time for k in keys.snapshots]
    found = Diffs([], [])
    for k in keys.diffs:  # each one covers (previous snapshot, its snapshot]
        if k.key not in wanted:
            continue
        obj = reader.body(k.key, "diff")
        previous_key = obj.metadata.get("previous-snapshot") if obj else None
        window_start = stamp_time(previous_key) if previous_key else None
        if window_start is None:
            earlier = [t for t in snapshot_times if t < k.time]
            window_start = earlier[-1] if earlier else None
        if obj is None:
            gaps.append(_gap(keys, "integrity", fmt_time(k.time), f"diff {k.key} could not be read"))
            continue
        try:
            changes = changes_of_diff(obj, window_start, k.time)
        except CsvFormatError as exc:
            gaps.append(_gap(keys, "integrity", fmt_time(k.time), f"diff {k.key} is not intact: {exc}"))
            continue
        found.windows.append((window_start, k.time, k.key))
        if period.contains(k.time):
            found.changes += changes
    return found, gaps


def unused_groups(keys: ScopeKeys, report_key: str | None, reader: Reader) -> tuple[list[UnusedGroup], list[Gap]]:
    """The groups of the latest unused-group report before the period ends."""
    if not report_key:
        absent = [] if keys.unused else [_gap(keys, "absent", "", "no unused-group report (unused audit not enabled?)")]
        return [], absent
    obj = reader.body(report_key, "unused-report")
    try:
        if obj is None:
            raise ValueError("could not be read")
        written = fmt_time(stamp_time(report_key))
        return UnusedGroup.from_report(keys.account_id, keys.region, report_key, obj.body, written), []
    except (ValueError, AttributeError, TypeError) as exc:
        return [], [_gap(keys, "integrity", "", f"unused-group report {report_key} unusable: {exc}")]


def exposure_now(
    keys: ScopeKeys, report_key: str | None, current_taken: datetime | None, reader: Reader
) -> tuple[list[ExposureRow], list[Gap]]:
    """The rows of the newest exposure report before the period ends.

    None, or one older than the current rules, is a ``missing-exposure`` gap: what the internet
    reaches is unknown (or dated), and the current rules are not (or as then) escalated.
    """
    if not report_key:
        why = "the inventory ran before it wrote exposure reports, or its exposure look-up failed"
        detail = f"no exposure report before the end of the period ({why}): internet exposure unknown, " \
                 "rule severities not escalated"
        return [], [_gap(keys, "missing-exposure", "", detail)]
    taken = stamp_time(report_key)
    gaps: list[Gap] = []
    if taken and current_taken and taken < current_taken:
        gaps.append(_gap(keys, "missing-exposure", fmt_time(current_taken),
                         f"no exposure report with the current rules of {fmt_time(current_taken)}: "
                         f"the newest, {report_key}, is of {fmt_time(taken)}; exposure and escalation as of then"))
    obj = reader.body(report_key, "exposure-report")
    try:
        if obj is None:
            raise CsvFormatError("could not be read")
        return [ExposureRow._make(r) for r in read_csv(obj, EXPOSURE_HEADER)], gaps
    except CsvFormatError as exc:
        return [], [*gaps, _gap(keys, "integrity", fmt_time(taken), f"exposure report {report_key} is not intact: "
                                                                      f"{exc}")]


def past_reviews(keys: list[str], reader: Reader) -> tuple[list[PastReview], list[Gap]]:
    """Earlier packs under ``reviews/``: their manifest hash and sign-off records."""
    packs: dict[str, PastReview] = {}
    for key in keys:
        pack = key.split(REVIEWS, 1)[1].split("/", 1)[0]
        entry = packs.setdefault(pack, PastReview(pack, None, None))
        obj = reader.body(key, "signoff" if "/signoffs/" in key else "review-manifest")
        if obj is None:
            continue
        if key.endswith("/manifest.json"):
            entry.manifest_key, entry.manifest_sha256 = key, sha256(obj.body)
            continue
        try:
            record = json.loads(obj.body)
        except ValueError:
            continue
        if isinstance(record, dict):
            entry.signoffs.append(SignOff.from_dict(record))
    return [packs[p] for p in sorted(packs)], []


@dataclass
class ScopeReview:
    scope: Scope
    rules: list[Rule]
    changes: list[Change]
    events: list[ChangeEvent]
    exposure: list[ExposureRow]
    unused: list[UnusedGroup]
    gaps: list[Gap]
    rule_review: list[rule_findings.ReviewFinding] = field(default_factory=list)
    drift: list[consistency.DriftFinding] = field(default_factory=list)
    remediation: list[remediation.RemediationRow] = field(default_factory=list)


def review_scope(period: Period, keys: ScopeKeys, selection: Selection, reader: Reader) -> ScopeReview:
    """Every step for one account/region, its gaps in the order the report lists them."""
    scope_id = (keys.account_id, keys.region)
    gaps: list[Gap] = []
    coverage, found = snapshot_coverage(period, keys, reader)
    gaps += found
    current_key = selection.current_snapshots.get(scope_id)
    rules, found = current_rules(period, keys, current_key, reader)
    gaps += found
    current_taken = stamp_time(current_key) if current_key else None
    exposure_key = selection.exposure_reports.get(scope_id)
    exposure, found = exposure_now(keys, exposure_key, current_taken, reader)
    gaps += found
    events, found = change_events(period, keys, reader)
    gaps += found
    diffs, found = diff_changes(period, keys, set(selection.to_read), reader)
    gaps += found
    changes, found = attribution.match(period, keys, diffs.changes, diffs.windows, events)
    gaps += found
    unused, found = unused_groups(keys, selection.unused_reports.get(scope_id), reader)
    gaps += found
    review_key = selection.rule_reviews.get(scope_id)
    reviewed, found = rule_findings.findings_now(
        keys.account_id, keys.region, review_key, current_taken,
        reader.body(review_key, rule_findings.KIND) if review_key else None)
    gaps += found
    drift, found = consistency.findings(keys.account_id, keys.region, keys.drift, period, current_taken,
                                        lambda key: reader.body(key, consistency.KIND))
    gaps += found
    remediated, found = remediation.findings(keys.account_id, keys.region, keys.remediation, period,
                                             lambda key: reader.body(key, remediation.KIND))
    gaps += found
    scope = Scope(
        keys.account_id, keys.region, coverage, current_key, current_taken,
        len({r.group_id for r in rules}), sum(1 for r in rules if r.direction), len(events),
        {kind: bool(keys.of_kind(kind)) for kind in KINDS}, stamp_time(exposure_key) if exposure_key else None,
    )
    return ScopeReview(scope, rules, changes, events, exposure, unused, gaps, reviewed, drift, remediated)


def build(
    period: Period,
    bucket: str,
    prefix: str,
    selection: Selection,
    objects: Mapping[str, StoredObject | Digest | None],
    generated_at: datetime,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> Review:
    """The review of ``period`` from the objects read (None: the read failed; a :class:`Digest`
    for snapshots in :attr:`Selection.digest_only`), rating rules with the deployment's
    ``authorized_public_ports``."""
    reader = Reader(objects)
    parts = [review_scope(period, keys, selection, reader) for _, keys in sorted(selection.scopes.items())]
    past, _ = past_reviews(selection.review_keys, reader)
    return assemble(period, bucket, prefix, parts, past, used_rows(reader.used), generated_at, authorized_public_ports)


def _change_order(c: Change) -> tuple[Any, ...]:
    return (c.detected_at, c.account_id, c.region, c.group_id, c.change_type)


def _event_order(e: ChangeEvent) -> tuple[Any, ...]:
    return (e.event_time or datetime.min.replace(tzinfo=UTC), e.account_id, e.region, e.event_id)


def _exposure_order(r: ExposureRow) -> tuple[Any, ...]:
    return (-risk.rank(r.severity), r.account_id, r.region, r.group_id, r.rule_id, r.via, r)


def _used_order(u: UsedObject) -> str:
    return u.key


def used_rows(objects: Iterable[UsedObject] = ()) -> Rows[UsedObject]:
    """The evidence objects a review used, in key order (the manifest's)."""
    return Rows(_used_order, objects)


def assemble(
    period: Period,
    bucket: str,
    prefix: str,
    parts: Iterable[ScopeReview],
    past: list[PastReview],
    used: Rows[UsedObject],
    generated_at: datetime,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> Review:
    """The review from the reviews of its account/regions (in account/region order, taken one at a time)
    and the earlier packs, with the evidence objects ``used`` (:func:`used_rows`; a merge adds each
    partial's as it reads it). Every table is kept in :class:`~.rows.Rows`: an account/region's rows are
    sorted and stored as it comes, so of the whole estate only the scopes stay in memory."""
    scopes: list[Scope] = []
    changes, events, exposure = Rows(_change_order), Rows(_event_order), Rows(_exposure_order)
    current, risky, unused, gaps = Rows[Rule](), Rows(risk_order), Rows[UnusedGroup](), Rows[Gap]()
    rule_review, drift = Rows(rule_findings.order), Rows(consistency.order)
    remediated = Rows(remediation.order)
    for part in parts:
        scopes.append(part.scope)
        changes.add(part.changes)
        current.add(part.rules)
        risky.add(risky_rules(part.rules, exposed_rule_levels(part.exposure), authorized_public_ports))
        unused.add(part.unused)
        gaps.add(part.gaps)
        events.add(part.events)
        exposure.add(part.exposure)
        rule_review.add(part.rule_review)
        drift.add(part.drift)
        remediated.add(part.remediation)
    return Review(period, bucket, prefix, generated_at, scopes=scopes, changes=changes, current_rules=current,
                  risky=risky, unused=unused, gaps=gaps, past_reviews=past, used=used, events=events,
                  exposure=exposure, rule_review=rule_review, drift=drift, remediation=remediated)
