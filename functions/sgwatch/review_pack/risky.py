"""Which current rules the review lists as risky: those rated MEDIUM or higher, as their alerts rate them.

A rule's level is :func:`sgwatch.risk.rate` with the deployment's authorized public ports,
escalated (:func:`sgwatch.exposure.escalated`) when the newest exposure report of its account
and region shows it reachable through an internet-reachable interface at a higher level than its
own (:func:`sgwatch.exposure_report.exposed_rule_levels`; a prefix-list rule takes the report's
level, which rated the list by its widest entry). The change alerts rate a rule the same
way (:func:`sgwatch.exposure.rate_on_group`), so a rule's Severity in ``risky-rules.csv`` is
the level its alert had (or would have had) on the same group.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from .. import risk
from ..exposure import ESCALATION, escalated
from ..rules import Rule
from .model import Risky

LISTED = (risk.CRITICAL, risk.HIGH, risk.MEDIUM)
RuleKey = tuple[str, str, str, str]  # (account, region, group, rule id): exposed_rule_levels' keys


def assess(
    rule: Rule,
    exposed: Mapping[RuleKey, str] | None = None,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> Risky | None:
    """The rule's rating when it is MEDIUM or higher, else None (a group without rules is no rule)."""
    if rule.is_placeholder:
        return None
    rating = risk.rate(rule, authorized_public_ports=authorized_public_ports)
    reported = (exposed or {}).get((rule.account_id, rule.region, rule.group_id, rule.rule_id))
    if reported is not None and rating.peer == risk.PREFIX_LIST and risk.rank(reported) > risk.rank(rating.level):
        # the report rated the list by its widest entry, which the pack does not read
        rating = replace(rating, level=reported, reason=f"{rating.reason} (rated by its widest entry){ESCALATION}")
    elif reported is not None:
        rating = escalated(rating, risk.rank(reported) > risk.rank(rating.level))
    if rating.level not in LISTED:
        return None
    return Risky(rating.level, rating.reason, rule, rating.world)


def risky_rules(
    rules: Iterable[Rule],
    exposed: Mapping[RuleKey, str] | None = None,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> list[Risky]:
    """The risky rules, highest level first, then by account, region, group and rule."""
    found = (r for r in (assess(rule, exposed, authorized_public_ports) for rule in rules) if r is not None)
    return sorted(found, key=risk_order)


def risk_order(r: Risky) -> tuple[object, ...]:
    """Highest level first, then by account, region, group and rule."""
    return (-risk.rank(r.severity), r.rule.account_id, r.rule.region, r.rule.group_id, r.rule)
