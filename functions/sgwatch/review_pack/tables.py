"""The pack's CSV files: changes, current rules, risky rules, unused groups, exposure and
out-of-band changes.

:func:`sgwatch.csvio.to_csv` neutralises every cell against formula injection; the rows
hold plain values. Rules are written by :func:`rule_cell` (the one rule renderer).
``changes.csv`` only ever gains columns at the end, so the positions users rely on stay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..csvio import to_csv, unneutralise
from ..exposure_report import EXPOSURE_HEADER
from ..rule_review import REVIEW_HEADER
from ..rules import SNAPSHOT_HEADER, Rule
from ..ruletext import rule_text
from . import consistency, remediation
from .model import Review

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
    "Origin",
    "OriginDetail",
    "ChangeControl",
)
OUT_OF_BAND_HEADER = (
    "EventTime",
    "AccountId",
    "Region",
    "GroupId",
    "EventName",
    "Actor",
    "Principal",
    "Origin",
    "OriginDetail",
    "ChangeControl",
    "ManualChange",
    "Before",
    "After",
    "EventId",
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
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def rule_cell(rule: Rule | None) -> str:
    """A snapshot rule as :func:`sgwatch.ruletext.rule_text` writes it; empty for none or a group without rules."""
    if rule is None or rule.is_placeholder:
        return ""
    return rule_text(rule._replace(description=unneutralise(rule.description)))


def _change_rows(review: Review) -> Iterable[tuple[str, ...]]:
    for c in review.changes:
        rule = c.rule
        events = c.events
        yield (
            c.detected_at.strftime(_ISO),
            c.account_id,
            c.region,
            c.vpc_id,
            c.group_id,
            c.group_name,
            c.change_type,
            rule.direction,
            rule.rule_id,
            rule_cell(c.before),
            rule_cell(c.after),
            " ".join(e.event_time.strftime(_ISO) for e in events if e.event_time),
            c.who,
            " ".join(dict.fromkeys(e.event_name for e in events)),
            " ".join(e.event_id for e in events),
            c.diff_key,
            c.origin,
            c.origin_detail,
            c.change_control,
        )


def _out_of_band_rows(review: Review) -> Iterable[tuple[str, ...]]:
    for item in review.out_of_band:
        e, p = item.event, item.event.provenance
        yield (
            e.event_time.strftime(_ISO) if e.event_time else "",
            e.account_id,
            e.region,
            item.group_id,
            e.event_name,
            e.actor,
            p.principal,
            p.origin,
            p.detail,
            p.change_control,
            "true" if p.manual_change else "false",
            rule_cell(item.before),
            rule_cell(item.after),
            e.event_id,
        )


def tables(review: Review) -> list[tuple[str, Sequence[str], Iterable[Sequence[str]]]]:
    """(file name, header, rows) of each CSV file: changes.csv, current-rules.csv, risky-rules.csv,
    unused-groups.csv, exposure.csv (the rows of the newest exposure reports, as read),
    out-of-band-changes.csv (the 1.2.2 section's list), rule-review.csv (the rows of the newest rule-review
    reports), drift.csv (:mod:`.consistency`) and remediation.csv (:mod:`.remediation`). The rows are generated
    as they are written."""
    return [
        ("changes.csv", CHANGES_HEADER, _change_rows(review)),
        ("current-rules.csv", SNAPSHOT_HEADER, review.current_rules),
        ("risky-rules.csv", RISKY_HEADER, ((r.severity, r.reason, *r.rule) for r in review.risky)),
        ("unused-groups.csv", UNUSED_HEADER, (dataclasses.astuple(u) for u in review.unused)),
        ("exposure.csv", EXPOSURE_HEADER, review.exposure),
        ("out-of-band-changes.csv", OUT_OF_BAND_HEADER, _out_of_band_rows(review)),
        ("rule-review.csv", REVIEW_HEADER, review.rule_review),
        (consistency.FILE, consistency.HEADER, review.drift),
        (remediation.FILE, remediation.HEADER, review.remediation),
    ]


def render_csvs(review: Review) -> dict[str, bytes]:
    """Every CSV file of the pack (see :func:`tables`), each as one document."""
    return {name: to_csv(header, rows).body for name, header, rows in tables(review)}
