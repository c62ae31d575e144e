"""How bad is a security-group change event? Its changes rated by :mod:`sgwatch.risk`, on their group.

Levels, highest first: ``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW``, ``INFO``. An event takes the
highest level of its changes. SNS carries the level as the message attribute ``severity`` so
subscribers can filter (for example: page only on ``CRITICAL``).

=========  ==================================================================================
Level      When
=========  ==================================================================================
rule's     A rule is added or modified: the level :func:`sgwatch.risk.rate` gives the rule as it
level      now is, with the ``authorized_public_ports`` setting (the table is in
           :mod:`sgwatch.risk`; the review pack uses the same one), then raised one level by
           :func:`sgwatch.exposure.escalate` when the alert found the group attached to an
           internet-reachable interface (world or wide-public ingress: ``HIGH`` -> ``CRITICAL``,
           ``MEDIUM`` -> ``HIGH``). Exposure only through a load balancer is reported, not
           escalated; without an exposure lookup the rule keeps its own level.
MEDIUM     An added or modified rule whose content cannot be read; an event we could not parse
           (generic alert); a **failed** call whose change would have been CRITICAL, HIGH or
           MEDIUM when it failed for lack of permission (``*UnauthorizedOperation``,
           ``AccessDenied*``): someone tried.
LOW        Revokes; group creation and deletion; description-only updates; other failed calls.
INFO       Nothing changed and nothing was attempted that matters (an event without changes).
=========  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ..cloudtrail import ADDED, CREATED, DELETED, DESCRIPTION, MODIFIED, REMOVED, SgEvent
from ..exposure import Exposure, rate_on_group
from ..risk import (
    CRITICAL,
    DEFAULT_AUTHORIZED_PUBLIC_PORTS,
    HIGH,
    INFO,
    LEVELS,
    LOW,
    MEDIUM,
    SENSITIVE_PORTS,
    classify_peer,
    exposed_services,
    highest,
    rank,
)
from ..rules import Rule

__all__ = [
    "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "LEVELS", "SENSITIVE_PORTS", "Assessment", "assess",
    "classify_peer", "exposed_services", "highest", "rank", "rate_rule",
]
_ACCESS_DENIED = ("unauthorizedoperation", "accessdenied")


@dataclass
class Assessment:
    level: str = INFO
    reasons: list[str] = field(default_factory=list)

    def raise_to(self, level: str, reason: str) -> None:
        if rank(level) > rank(self.level):
            self.level = level
        if reason not in self.reasons:
            self.reasons.append(reason)


def rate_rule(
    rule: Rule,
    exposure: Exposure | None = None,
    *,
    authorized_public_ports: Collection[int] = DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> tuple[str, str]:
    """(level, reason) for a rule that now exists on its group: :func:`sgwatch.exposure.rate_on_group`."""
    rating = rate_on_group(rule, exposure, authorized_public_ports=authorized_public_ports)
    return rating.level, rating.reason


def assess(
    ev: SgEvent,
    exposure: Exposure | None = None,
    *,
    authorized_public_ports: Collection[int] = DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> Assessment:
    """The severity of one event, with a reason per contributing change.

    ``exposure`` is what the internet reaches in the event's region (at least of its group),
    ``None`` when it was not looked up.
    """
    result = Assessment()
    if not ev.known:
        result.raise_to(MEDIUM, "unrecognised event: " + ("; ".join(ev.problems) or "unknown shape"))
    would = Assessment()
    for change in ev.changes:
        if change.action in (ADDED, MODIFIED) and change.after is not None:
            level, reason = rate_rule(change.after, exposure, authorized_public_ports=authorized_public_ports)
            would.raise_to(level, reason)
        elif change.action in (ADDED, MODIFIED):
            what = f"{change.action} rule {change.rule_id}" if change.rule_id else f"{change.action} rule"
            would.raise_to(MEDIUM, f"{what} with unreadable content")
        elif change.action == REMOVED:
            would.raise_to(LOW, "rule removed")
        elif change.action == DESCRIPTION:
            would.raise_to(LOW, "description updated")
        elif change.action == CREATED:
            would.raise_to(LOW, "security group created")
        elif change.action == DELETED:
            would.raise_to(LOW, "security group deleted")
    if not ev.failed:
        result.reasons.extend(r for r in would.reasons if r not in result.reasons)
        result.level = highest(result.level, would.level)
        return result
    denied = any(marker in ev.error_code.lower() for marker in _ACCESS_DENIED)
    if denied and rank(would.level) >= rank(MEDIUM):
        result.raise_to(MEDIUM, f"denied attempt ({ev.error_code}) at: " + "; ".join(would.reasons))
    else:
        result.raise_to(LOW, f"failed call ({ev.error_code}); nothing changed")
    return result
