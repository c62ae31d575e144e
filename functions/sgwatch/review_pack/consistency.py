"""The section "Configuration consistency (PCI DSS 1.2.8)": the drift reports the inventory writes beside each
snapshot (:mod:`sgwatch.drift_record`), read per account/region.

- **At the period end**: the rows of the newest drift report before the period ends, counted by source
  (``DeclaredIn``) and by account, each one listed.
- **Resolved during the period**: drift a report held and a later report of the period no longer held,
  found by reading the period's reports oldest first, the newest one before the period starts included
  (drift older than the period). Only the drift open at that point is held, never a report's history.

Each row of ``drift.csv`` is a drift report's row with when it was first seen (the first report read that held
it) and when it was resolved (empty: still there at the period end). An account/region whose evidence holds
drift reports (its deployment reads infrastructure code) but whose newest one before the period ends is older
than its current rules has a ``missing-drift`` gap: a run that could not read a source wrote none. An
account/region without any drift report before the period ends has no drift evidence to expect (neither
``iac_state_locations`` nor ``iac_cloudformation_drift``), and no gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ..csvio import CsvFormatError
from ..drift import DRIFT_HEADER, DRIFTS, DriftRow
from .model import Gap, fmt_time, read_csv
from .period import Period
from .rows import Selected

if TYPE_CHECKING:
    from .selection import EvidenceKey

FILE = "drift.csv"
HEADER = (*DRIFT_HEADER, "FirstSeen", "ResolvedAt")
GAP = "missing-drift"
GAP_LABEL = "no current drift report"
KIND = "drift-report"  # how the manifest names the reports read
NO_SOURCE = "(declared nowhere)"


class DriftFinding(NamedTuple):
    """A drift report's row (:data:`sgwatch.drift.DRIFT_HEADER`, cells as stored) and its life in the period."""

    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str
    direction: str
    rule_id: str
    protocol: str
    from_port: str
    to_port: str
    peer: str
    description: str
    drift: str
    declared_in: str
    declared_address: str
    first_seen: str
    resolved_at: str  # empty: still there at the period end


assert DriftFinding._fields[: len(DriftRow._fields)] == DriftRow._fields and len(DriftFinding._fields) == len(HEADER)


def _finding(row: DriftRow, first_seen: datetime | None, resolved: datetime | None = None) -> DriftFinding:
    return DriftFinding(*row, fmt_time(first_seen), fmt_time(resolved))


def reports_to_read(reports: Sequence[EvidenceKey], period: Period) -> list[EvidenceKey]:
    """The drift reports (oldest first) the section reads: the newest before the period starts, and the period's."""
    before = [k for k in reports if k.time < period.start_time]
    return before[-1:] + [k for k in reports if period.contains(k.time)]


def findings(
    account_id: str, region: str, reports: Sequence[EvidenceKey], period: Period, current_taken: datetime | None,
    read: Any,
) -> tuple[list[DriftFinding], list[Gap]]:
    """The drift of one account/region at the period end and resolved during it. ``reports`` its drift reports,
    oldest first; ``read(key)`` the object read (None when the read failed)."""
    wanted = reports_to_read(reports, period)
    if not wanted:
        return [], []
    gaps: list[Gap] = []
    open_: dict[tuple[str, ...], tuple[DriftRow, datetime | None]] = {}
    resolved: list[DriftFinding] = []
    newest: datetime | None = None
    for report in wanted:
        key, moment = report.key, report.time
        obj = read(key)
        try:
            if obj is None:
                raise CsvFormatError("could not be read")
            rows = {r.identity: r for r in map(DriftRow._make, read_csv(obj, DRIFT_HEADER))}
        except CsvFormatError as exc:
            gaps.append(Gap(account_id, region, "integrity", fmt_time(moment),
                            f"drift report {key} is not intact: {exc}"))
            continue
        for identity in [i for i in open_ if i not in rows]:
            row, seen = open_.pop(identity)
            resolved.append(_finding(row, seen, moment))
        for identity, row in rows.items():
            open_[identity] = (row, open_[identity][1] if identity in open_ else moment)
        newest = moment
    if newest and current_taken and newest < current_taken:
        gaps.append(Gap(account_id, region, GAP, fmt_time(current_taken),
                        f"no drift report of the current rules of {fmt_time(current_taken)}: the newest is of "
                        f"{fmt_time(newest)} (a run that could not read a source writes none); drift as of then"))
    return [_finding(row, seen) for row, seen in open_.values()] + resolved, gaps


def order(f: DriftFinding) -> tuple[Any, ...]:
    """Open drift first, then resolved; each by drift kind (in :data:`sgwatch.drift.DRIFTS` order), account,
    region, group, rule."""
    return (bool(f.resolved_at), DRIFTS.index(f.drift) if f.drift in DRIFTS else len(DRIFTS), f.account_id,
            f.region, f.group_id, f.direction, f.rule_id, f)


@dataclass(frozen=True)
class CountRow:
    name: str  # a source (DeclaredIn) or an account
    counts: list[int]  # per drift kind, in DRIFTS order
    total: int


def _rows(pairs: Counter[tuple[str, str]]) -> list[CountRow]:
    names: dict[str, Counter[str]] = {}
    for (name, kind), n in pairs.items():
        names.setdefault(name, Counter())[kind] += n
    found = [CountRow(name, [c[k] for k in DRIFTS], sum(c.values())) for name, c in names.items()]
    return sorted(found, key=lambda r: (-r.total, r.name))


def counts(rows: Iterable[DriftFinding]) -> tuple[list[CountRow], list[CountRow]]:
    """The drift at the period end by source and by account (one pass over the rows)."""
    by_source, by_account = Counter[tuple[str, str]](), Counter[tuple[str, str]]()
    for r in rows:
        if not r.resolved_at:
            by_source[(r.declared_in or NO_SOURCE, r.drift)] += 1
            by_account[(r.account_id, r.drift)] += 1
    return _rows(by_source), _rows(by_account)


def context(rows: Sequence[DriftFinding]) -> dict[str, Any]:
    """What ``templates/consistency.html`` shows."""
    by_source, by_account = counts(rows)
    return {"drift_by_source": by_source, "drift_by_account": by_account,
            "drift_source_header": ("Declared in", *DRIFTS, "Total"),
            "drift_account_header": ("Account", *DRIFTS, "Total"),
            "drift_open": Selected(rows, lambda r: () if r.resolved_at else (r,)),
            "drift_resolved": Selected(rows, lambda r: (r,) if r.resolved_at else ()), "drift_csv": FILE}
