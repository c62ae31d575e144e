"""How bad is a security-group change? The severity table.

Levels, highest first: ``HIGH``, ``MEDIUM``, ``LOW``, ``INFO``. An event takes the highest
level of its changes. SNS carries the level as the message attribute ``severity`` so
subscribers can filter (for example: page only on ``HIGH``).

=========  ==================================================================================
Level      When
=========  ==================================================================================
HIGH       An **ingress** rule is added or modified so that an *internet-wide* source reaches
           *all traffic* (protocol ``-1``), **SSH (22)** or **RDP (3389)**, including port
           ranges that cover 22 or 3389 (e.g. tcp 0-65535, udp 3000-4000).
           Internet-wide: any ``/0`` (``0.0.0.0/0``, ``::/0``; also ``a.b.c.d/0``, which AWS
           normalises to ``0.0.0.0/0``), or a public range at least as large as an IPv4 ``/8``
           or an IPv6 ``/16`` (``0.0.0.0/1`` + ``128.0.0.0/1`` is the world too).
MEDIUM     An ingress rule opens an internet-wide source to any other port (e.g. 443, ICMP);
           a public (non-private) but narrower range to all traffic, 22 or 3389; an ingress
           rule whose source or direction cannot be read (unknown shape: review it);
           an event we could not parse (generic alert); a **failed** call whose change would
           have been HIGH or MEDIUM when it failed for lack of permission
           (``*UnauthorizedOperation``, ``AccessDenied*``): someone tried.
LOW        Ingress from private ranges (RFC 1918 ``10/8``, ``172.16/12``, ``192.168/16``;
           ``100.64/10`` CGNAT, link-local, loopback, IPv6 ``fc00::/7``, ``fe80::/10``), from
           other security groups or from prefix lists; ingress from a narrow public range to a
           port other than 22/3389; every egress rule; revokes; group creation and deletion;
           description-only updates; other failed calls.
INFO       Nothing changed and nothing was attempted that matters (an event without changes).
=========  ==================================================================================
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .cloudtrail import ADDED, CREATED, DELETED, DESCRIPTION, MODIFIED, REMOVED, SgEvent
from .rules import Rule, covers_port

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
INFO = "INFO"
LEVELS = (INFO, LOW, MEDIUM, HIGH)
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP"}

_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
_ACCESS_DENIED = ("unauthorizedoperation", "accessdenied")


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def highest(*levels: str) -> str:
    return max(levels, key=rank) if levels else INFO


@dataclass
class Assessment:
    level: str = INFO
    reasons: list[str] = field(default_factory=list)

    def raise_to(self, level: str, reason: str) -> None:
        if rank(level) > rank(self.level):
            self.level = level
        if reason not in self.reasons:
            self.reasons.append(reason)


def classify_peer(rule: Rule) -> str:
    """``world``, ``public``, ``private``, ``group``, ``prefix-list`` or ``unknown``."""
    if rule.peer_type == "security-group":
        return "group"
    if rule.peer_type == "prefix-list":
        return "prefix-list"
    if rule.peer_type not in ("ipv4", "ipv6"):
        return "unknown"
    try:
        network = ipaddress.ip_network(rule.peer.strip(), strict=False)
    except ValueError:
        return "unknown"
    if network.prefixlen == 0:
        return "world"
    if any(network.version == p.version and network.subnet_of(p) for p in _PRIVATE):  # type: ignore[arg-type]
        return "private"
    broad = 8 if network.version == 4 else 16
    return "world" if network.prefixlen <= broad else "public"


def exposed_services(rule: Rule) -> list[str]:
    """What sensitive access the rule grants: all traffic, SSH, RDP (port ranges included)."""
    if rule.protocol in ("-1", "all"):
        return ["all traffic"]
    return [f"{name} ({port})" for port, name in SENSITIVE_PORTS.items() if covers_port(rule, port)]


def rate_rule(rule: Rule) -> tuple[str, str]:
    """(level, reason) for a rule that now exists (added, or the after-state of a modify)."""
    peer = classify_peer(rule)
    direction = rule.direction or "ingress"
    unknown_direction = "" if rule.direction else " (direction unknown, rated as ingress)"
    if direction == "egress":
        return LOW, "egress rule"
    services = exposed_services(rule)
    source = rule.peer or "an unreadable source"
    if peer == "world":
        if services:
            return HIGH, f"ingress from internet-wide {source} to {', '.join(services)}{unknown_direction}"
        return MEDIUM, f"ingress from internet-wide {source}{unknown_direction}"
    if peer == "unknown":
        return MEDIUM, f"ingress from a source we cannot read ({rule.peer_type or 'no peer'}: {source}){unknown_direction}"
    if peer == "public":
        if services:
            return MEDIUM, f"ingress from public range {source} to {', '.join(services)}{unknown_direction}"
        return LOW, f"ingress from public range {source}"
    if peer == "private":
        return LOW, f"ingress from private range {source}"
    return LOW, f"ingress from {'security group' if peer == 'group' else 'prefix list'} {source}"


def assess(ev: SgEvent) -> Assessment:
    """The severity of one event, with a reason per contributing change."""
    result = Assessment()
    if not ev.known:
        result.raise_to(MEDIUM, "unrecognised event: " + ("; ".join(ev.problems) or "unknown shape"))
    would = Assessment()
    for change in ev.changes:
        if change.action in (ADDED, MODIFIED) and change.after is not None:
            level, reason = rate_rule(change.after)
            would.raise_to(level, reason)
        elif change.action in (ADDED, MODIFIED):
            would.raise_to(MEDIUM, f"{change.action} rule {change.rule_id or ''} with unreadable content".replace("  ", " "))
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
