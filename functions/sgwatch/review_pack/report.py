"""The pack's ``report.html``: one self-contained page rendered from ``templates/report.html``.

Jinja2 with autoescaping: every value from the evidence (names, descriptions, actors, keys)
is escaped by the template engine, never by hand. Jinja2 and MarkupSafe are vendored into
the review_pack zip (``functions/review_pack/requirements.txt``); they are imported on first
render, so the records and the sign-off CLI need neither.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..csvio import unneutralise
from ..diff import GROUP_ADDED
from ..exposure_report import ExposureRow
from ..provenance import ORIGINS, OUT_OF_BAND, VERDICTS
from ..ruletext import rule_text
from . import charts, consistency, remediation, rule_findings
from .model import NOT_RECORDED, Review, Scope, exposure_rule, fmt_time
from .records import DECISIONS, signoff_command
from .rows import chain
from .tables import rule_cell

if TYPE_CHECKING:
    import jinja2

# Rows of each table the page shows: the top findings (the CSV files hold every row). With the scope table and
# the coverage charts, the page of 800 account/regions stays under 5 MB (tools/bench_review.py measures it).
HTML_ROW_LIMIT = 250
# Coverage charts drawn: those of the account/regions with a day without a snapshot, the first ones only (a
# chart of 180 days is about 30 KB; every missing day is a gap in the table and in the manifest's totals).
COVERAGE_CHART_LIMIT = 50
GAP_LABELS = {
    "missing-snapshots": "days without a snapshot",
    "event-without-diff": "event without a snapshot diff",
    "diff-without-event": "unattributed change (no change event)",
    "integrity": "unreadable or altered evidence",
    "new-baseline": "diff chain restarted",
    "absent": "evidence kind absent",
    "missing-exposure": "no current exposure report",
    rule_findings.GAP: rule_findings.GAP_LABEL,
    consistency.GAP: consistency.GAP_LABEL,
}
CHANGE_CONTROL_COLUMNS = (*VERDICTS, NOT_RECORDED)


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment, made on first use (HTML autoescaping on, undefined names an error)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__ or "sgwatch.review_pack", "templates"),  # also from a zip on sys.path
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(time=fmt_time, rule=rule_cell, plain=unneutralise)
    return env


def _covered(scope: Scope) -> int:
    return sum(1 for count in scope.coverage.values() if count)


def _cards(review: Review) -> list[tuple[int, str, str]]:
    """(number, label, tone) of each summary card."""
    t = review.totals()
    regions = f"accounts ({t['regions']} account-region{'s' if t['regions'] != 1 else ''})"
    return [
        (t["accounts"], regions, ""),
        (t["changes"], "rule changes", ""),
        (t["attributed"], "changes with who/when", "good" if t["attributed"] == t["changes"] else "warn"),
        (t["groups_created"], "groups created", ""),
        (t["groups_deleted"], "groups deleted", ""),
        (t["out_of_band"], "out-of-band changes", "bad" if t["out_of_band"] else "good"),
        (t["critical"], "critical rules (exposed to the internet)", "bad" if t["critical"] else "good"),
        (t["world_open"], "rules open to the internet", "bad" if t["world_open"] else "good"),
        (t["high"], "high-severity rules", "bad" if t["high"] else "good"),
        (t["unused"], "unused groups", "warn" if t["unused"] else "good"),
        (t["gaps"], "evidence gaps", "bad" if t["gaps"] else "good"),
    ]


@dataclass(frozen=True)
class ControlRow:
    origin: str
    counts: list[int]  # per :data:`CHANGE_CONTROL_COLUMNS`
    total: int


def _control_rows(review: Review) -> list[ControlRow]:
    """The changes made, by origin (rows, in :data:`sgwatch.provenance.ORIGINS` order) and change control."""
    counts = review.change_control_counts()
    rows = [
        ControlRow(origin, found, sum(found))
        for origin in ORIGINS
        if (found := [counts.get((origin, verdict), 0) for verdict in CHANGE_CONTROL_COLUMNS]) and sum(found)
    ]
    if rows:
        columns = [sum(r.counts[i] for r in rows) for i in range(len(CHANGE_CONTROL_COLUMNS))]
        rows.append(ControlRow("total", columns, sum(columns)))
    return rows


def _exposed_rule(review: Review) -> Callable[[ExposureRow], str]:
    """The rule of an exposure-report row as written everywhere: the current rule of the same id
    (with its description), else what the row holds; for the rows the page shows."""
    shown = {(row.account_id, row.region, row.group_id, row.rule_id) for row in review.exposure[:HTML_ROW_LIMIT]}
    current = {key: r for r in review.current_rules if (key := (r.account_id, r.region, r.group_id, r.rule_id))
               in shown and r.rule_id}

    def text(row: ExposureRow) -> str:
        found = current.get((row.account_id, row.region, row.group_id, row.rule_id))
        return rule_cell(found) if found else rule_text(exposure_rule(row))

    return text


def render_html(review: Review, pack_prefix: str = "") -> str:
    return "".join(html_chunks(review, pack_prefix))


def html_chunks(review: Review, pack_prefix: str = "") -> Iterator[str]:
    """The page, piece by piece as the template renders it (a writer need not hold it whole)."""
    used = Counter(u.kind for u in review.used)
    incomplete = [s for s in review.scopes if _covered(s) < len(s.coverage)]
    context: dict[str, Any] = {
        "review": review,
        "version": __version__,
        "pack_prefix": pack_prefix,
        "signoff_command": signoff_command(pack_prefix or review.period.name),
        "decisions": ", ".join(DECISIONS),
        "limit": HTML_ROW_LIMIT,
        "cards": _cards(review),
        "covered": _covered,
        "incomplete": incomplete,
        "chart_limit": COVERAGE_CHART_LIMIT,
        "colours": charts.COLOURS,
        "timeline": charts.timeline(review),
        "coverage": charts.coverage,
        "group_changes": chain(review.groups_created, review.groups_deleted),
        "scope_counts": review.scope_counts(),
        "group_added": GROUP_ADDED,
        "gap_labels": GAP_LABELS,
        "gap_counts": sorted(Counter(g.kind for g in review.gaps).items()),
        "used_kinds": ", ".join(f"{n} {k}" for k, n in sorted(used.items())) or "none",
        "control_header": ("Origin", *CHANGE_CONTROL_COLUMNS, "Total"),
        "control_rows": _control_rows(review),
        "out_of_band_verdict": OUT_OF_BAND,
        "exposed_rule": _exposed_rule(review),
        **rule_findings.context(review.rule_review),
        **consistency.context(review.drift),
        **remediation.context(review.remediation),
    }
    return environment().get_template("report.html").generate(context)
