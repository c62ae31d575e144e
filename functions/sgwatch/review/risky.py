"""Which current rules the review lists as risky: those :func:`sgwatch.risk.rate` rates MEDIUM or HIGH.

The same function rates the rules of the change alerts, so a rule's Severity in
``risky-rules.csv`` is the level its alert had (or would have had).
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import risk
from ..rules import Rule
from .model import Risky

LISTED = (risk.HIGH, risk.MEDIUM)


def assess(rule: Rule) -> Risky | None:
    """The rule's rating when it is MEDIUM or HIGH, else None (a group without rules is no rule)."""
    if rule.is_placeholder:
        return None
    rating = risk.rate(rule)
    if rating.level not in LISTED:
        return None
    return Risky(rating.level, rating.reason, rule, rating.world)


def risky_rules(rules: Iterable[Rule]) -> list[Risky]:
    """The risky rules, highest level first, then by account, region, group and rule."""
    found = (r for r in map(assess, rules) if r is not None)
    return sorted(
        found,
        key=lambda r: (-risk.rank(r.severity), r.rule.account_id, r.rule.region, r.rule.group_id, r.rule),
    )
