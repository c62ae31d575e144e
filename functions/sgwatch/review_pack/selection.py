"""Which evidence objects a review reads, from one listing of the evidence prefix.

Per account and region (``{prefix}{account}/{region}/{kind}/``): every snapshot of the period
and the latest one before it ends (the "current" rules), every diff of the period plus the
first one after it (it closes the window of changes made on the last day), the change-event
records of the period (``events/YYYY/MM/DD/``), and the latest unused-group report, the latest
exposure report and the latest rule-review report before the period ends, and the drift reports
the configuration-consistency section reads (:func:`.consistency.reports_to_read`), and the remediation records
of the period (:func:`.remediation.reports_to_read`). Plus every earlier pack's
manifest and sign-off records under ``reviews/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..evidence import DIFFS, DRIFT, EVENTS, EXPOSURE, REMEDIATION, REVIEWS, RULE_REVIEW, SNAPSHOTS, UNUSED, stamp_time
from . import consistency, remediation
from .period import Period

KINDS = (SNAPSHOTS, DIFFS, EVENTS, UNUSED, EXPOSURE, RULE_REVIEW, DRIFT, REMEDIATION)  # the per-account kinds read


@dataclass(frozen=True)
class EvidenceKey:
    key: str
    account_id: str
    region: str
    kind: str
    time: datetime  # stamp time; for events, midnight of the day folder


def classify(prefix: str, key: str) -> EvidenceKey | None:
    """The account, region, kind and time of an evidence key, or None for anything else."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split("/")
    if len(parts) < 4 or parts[2] not in KINDS or not parts[0] or not parts[1]:
        return None
    kind = parts[2]
    if kind == REMEDIATION:
        moment = remediation.key_time(parts)
        return EvidenceKey(key, parts[0], parts[1], kind, moment) if moment else None
    if kind == EVENTS:
        if len(parts) != 7 or not parts[6].endswith(".json"):
            return None
        try:
            day = datetime(int(parts[3]), int(parts[4]), int(parts[5]), tzinfo=UTC)
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
    exposure: list[EvidenceKey] = field(default_factory=list)
    rule_review: list[EvidenceKey] = field(default_factory=list)
    drift: list[EvidenceKey] = field(default_factory=list)
    remediation: list[EvidenceKey] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[EvidenceKey]:
        by_kind = {SNAPSHOTS: self.snapshots, DIFFS: self.diffs, EVENTS: self.events, UNUSED: self.unused,
                   EXPOSURE: self.exposure, RULE_REVIEW: self.rule_review, DRIFT: self.drift,
                   REMEDIATION: self.remediation}
        return by_kind[kind]


@dataclass
class Selection:
    scopes: dict[tuple[str, str], ScopeKeys]
    to_read: list[str]
    current_snapshots: dict[tuple[str, str], str]
    unused_reports: dict[tuple[str, str], str]
    review_keys: list[str]
    exposure_reports: dict[tuple[str, str], str]
    rule_reviews: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def digest_only(self) -> set[str]:
        """Snapshots read only for coverage and integrity: the reader may keep a :class:`Digest`."""
        current = set(self.current_snapshots.values())
        return {
            k.key for scope in self.scopes.values() for k in scope.snapshots if k.key not in current
        } & set(self.to_read)


def is_pack_record(key: str) -> bool:
    """Whether a key under ``reviews/`` is one a review lists: an earlier pack's manifest or sign-off record."""
    return key.endswith("/manifest.json") or "/signoffs/" in key


def select(prefix: str, keys: Iterable[str], period: Period) -> Selection:
    """Which objects the review reads, from a listing of the evidence prefix."""
    scopes: dict[tuple[str, str], ScopeKeys] = {}
    review_keys: list[str] = []
    for key in keys:
        if key.startswith(prefix + REVIEWS):
            if is_pack_record(key):
                review_keys.append(key)
            continue
        found = classify(prefix, key)
        if found is None:
            continue
        scope = scopes.setdefault((found.account_id, found.region), ScopeKeys(found.account_id, found.region))
        scope.of_kind(found.kind).append(found)
    to_read: list[str] = []
    current: dict[tuple[str, str], str] = {}
    unused: dict[tuple[str, str], str] = {}
    exposure: dict[tuple[str, str], str] = {}
    rule_reviews: dict[tuple[str, str], str] = {}
    for scope_id, scope in sorted(scopes.items()):
        for kind in KINDS:
            scope.of_kind(kind).sort(key=lambda k: (k.time, k.key))
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
        for latest, reports in ((unused, scope.unused), (exposure, scope.exposure),
                                 (rule_reviews, scope.rule_review)):
            before = [k for k in reports if k.time < period.end_time]
            if before:
                latest[scope_id] = before[-1].key
                to_read.append(before[-1].key)
        to_read += [k.key for k in consistency.reports_to_read(scope.drift, period)]
        to_read += [k.key for k in remediation.reports_to_read(scope.remediation, period)]
    review_keys.sort()
    return Selection(scopes, to_read + review_keys, current, unused, review_keys, exposure, rule_reviews)
