"""The section "Rule review (PCI DSS 1.2.5 and 1.2.7)": the findings of the newest rule-review report of
each account/region before the period ends (:mod:`sgwatch.rule_review`, which the inventory writes beside
each snapshot), counted by finding and by owner, each unjustified, expired, stale and shadowed rule and each
duplicate group listed, and every row in ``rule-review.csv``. An account/region without a report, or whose
newest one is older than its current rules, has a ``missing-rule-review`` gap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..csvio import CsvFormatError
from ..evidence import stamp_time
from ..rule_review import DUPLICATE_GROUP, EXPIRED, FINDINGS, REVIEW_HEADER, SHADOWED, STALE, UNJUSTIFIED
from .model import Gap, fmt_time, read_csv
from .rows import Selected

FILE = "rule-review.csv"
GAP = "missing-rule-review"
GAP_LABEL = "no current rule review"
KIND = "rule-review-report"  # how the manifest names the reports read
LISTED = (UNJUSTIFIED, EXPIRED, STALE, SHADOWED, DUPLICATE_GROUP)  # the findings the section lists one by one
NO_OWNER = "(no owner)"


class ReviewFinding(NamedTuple):
    """One row of a rule-review report (:data:`sgwatch.rule_review.REVIEW_HEADER`), cells as stored."""

    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str
    rule_id: str
    direction: str
    protocol: str
    from_port: str
    to_port: str
    peer: str
    finding: str
    detail: str
    justification: str
    owner: str
    ticket: str
    expires: str
    justified_by: str


assert len(ReviewFinding._fields) == len(REVIEW_HEADER)


def findings_now(
    account_id: str, region: str, report_key: str | None, current_taken: datetime | None, body: Any,
) -> tuple[list[ReviewFinding], list[Gap]]:
    """The rows of the newest rule-review report before the period ends (``body``: the object read, None when
    the read failed). None, or one older than the current rules, is a :data:`GAP`; an unreadable or
    altered one an integrity gap."""
    if not report_key:
        detail = ("no rule-review report before the end of the period (the inventory ran before it wrote them, or "
                  "its rule review failed): which rules are justified, current and effective is unknown")
        return [], [Gap(account_id, region, GAP, "", detail)]
    taken = stamp_time(report_key)
    gaps: list[Gap] = []
    if taken and current_taken and taken < current_taken:
        gaps.append(Gap(account_id, region, GAP, fmt_time(current_taken),
                        f"no rule-review report of the current rules of {fmt_time(current_taken)}: the newest, "
                        f"{report_key}, is of {fmt_time(taken)}; its findings are as of then"))
    try:
        if body is None:
            raise CsvFormatError("could not be read")
        return [ReviewFinding._make(r) for r in read_csv(body, REVIEW_HEADER)], gaps
    except CsvFormatError as exc:
        return [], [*gaps, Gap(account_id, region, "integrity", fmt_time(taken),
                               f"rule-review report {report_key} is not intact: {exc}")]


def order(f: ReviewFinding) -> tuple[Any, ...]:
    """Finding by finding (in :data:`sgwatch.rule_review.FINDINGS` order), then by account, region, group, rule."""
    return (FINDINGS.index(f.finding) if f.finding in FINDINGS else len(FINDINGS), f.account_id, f.region,
            f.group_id, f.rule_id, f)


@dataclass(frozen=True)
class OwnerRow:
    owner: str
    counts: list[int]  # per finding, in FINDINGS order
    total: int


@dataclass(frozen=True)
class Counts:
    by_finding: list[tuple[str, int]]  # every finding, in FINDINGS order
    by_owner: list[OwnerRow]  # owners with the most findings first; a rule without an owner under NO_OWNER

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_finding)


def counts(rows: Iterable[ReviewFinding]) -> Counts:
    """How many of each finding, in all and per owner (one pass over the rows)."""
    pairs = Counter((r.owner or NO_OWNER, r.finding) for r in rows)
    by_finding = Counter[str]()
    owners: dict[str, Counter[str]] = {}
    for (owner, finding), n in pairs.items():
        by_finding[finding] += n
        owners.setdefault(owner, Counter())[finding] += n
    found = [OwnerRow(owner, [c[f] for f in FINDINGS], sum(c.values())) for owner, c in owners.items()]
    found.sort(key=lambda o: (-o.total, o.owner == NO_OWNER, o.owner))
    return Counts([(f, by_finding[f]) for f in FINDINGS], found)


def listed(rows: Sequence[ReviewFinding], finding: str) -> Selected[ReviewFinding]:
    """The rows of one finding, read again from ``rows`` on each use."""
    return Selected(rows, lambda r: (r,) if r.finding == finding else ())


def context(rows: Sequence[ReviewFinding]) -> dict[str, Any]:
    """What ``templates/rule_review.html`` shows."""
    return {"rule_review_counts": counts(rows), "rule_review_owner_header": ("Owner", *FINDINGS, "Total"),
            "rule_review_listed": [(f, listed(rows, f)) for f in LISTED], "rule_review_csv": FILE}
