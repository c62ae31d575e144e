"""How risky is one security-group rule: the one risk model of SG Watch.

The change alerts rate each rule an event adds or modifies with :func:`rate` (and
:mod:`sgwatch.severity` turns the ratings of an event's changes into the event's level);
the review pack rates every current rule with the same function and lists those rated
``MEDIUM`` or ``HIGH`` in ``risky-rules.csv``. One rule has one level, wherever it is shown.

Levels, highest first: ``HIGH``, ``MEDIUM``, ``LOW`` (and ``INFO`` for events without changes).

=========  ==================================================================================
Level      Rule
=========  ==================================================================================
HIGH       **Ingress** from an *internet-wide* source to *all traffic* (protocol ``-1``),
           **SSH (22)** or **RDP (3389)**, including port ranges that cover 22 or 3389
           (e.g. tcp 0-65535, udp 3000-4000). Internet-wide: any ``/0`` (``0.0.0.0/0``,
           ``::/0``; also ``a.b.c.d/0``, which AWS normalises to ``0.0.0.0/0``), or a public
           range at least as large as an IPv4 ``/8`` or an IPv6 ``/16`` (``0.0.0.0/1`` +
           ``128.0.0.0/1`` is the world too).
MEDIUM     Ingress from an internet-wide source to any other port (e.g. 443, ICMP); from a
           public (non-private) but narrower range to all traffic, 22 or 3389; ingress whose
           source cannot be read (unknown shape: review it).
LOW        Ingress from private ranges (RFC 1918 ``10/8``, ``172.16/12``, ``192.168/16``;
           ``100.64/10`` CGNAT, link-local, loopback, IPv6 ``fc00::/7``, ``fe80::/10``), from
           other security groups or from prefix lists; ingress from a narrow public range to a
           port other than 22/3389; every egress rule (egress to the internet is the AWS default).
=========  ==================================================================================

A rule whose direction is unknown is rated as ingress.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .rules import Rule, covers_port
from .ruletext import protocol_text

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
INFO = "INFO"
LEVELS = (INFO, LOW, MEDIUM, HIGH)
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP"}

# Peer classes (classify_peer)
WORLD = "world"
PUBLIC = "public"
PRIVATE = "private"
GROUP = "group"
PREFIX_LIST = "prefix-list"
UNKNOWN = "unknown"

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
_BROADEST_PUBLIC = {4: 8, 6: 16}  # a public range at least this large counts as the world


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def highest(*levels: str) -> str:
    return max(levels, key=rank) if levels else INFO


def classify_peer(rule: Rule) -> str:
    """``world``, ``public``, ``private``, ``group``, ``prefix-list`` or ``unknown``."""
    if rule.peer_type == "security-group":
        return GROUP
    if rule.peer_type == "prefix-list":
        return PREFIX_LIST
    if rule.peer_type not in ("ipv4", "ipv6"):
        return UNKNOWN
    try:
        network = ipaddress.ip_network(rule.peer.strip(), strict=False)
    except ValueError:
        return UNKNOWN
    if network.prefixlen == 0:
        return WORLD
    if any(network.network_address in p and network.broadcast_address in p for p in _PRIVATE):
        return PRIVATE
    return WORLD if network.prefixlen <= _BROADEST_PUBLIC[network.version] else PUBLIC


def exposed_services(rule: Rule) -> list[str]:
    """What sensitive access the rule grants: all traffic, SSH, RDP (port ranges included)."""
    if rule.protocol in ("-1", "all"):
        return ["all traffic"]
    return [f"{name} ({port})" for port, name in SENSITIVE_PORTS.items() if covers_port(rule, port)]


@dataclass(frozen=True)
class Rating:
    """The level of one rule, why, and the class of its peer (``world``, ``public``...)."""

    level: str
    reason: str
    peer: str

    @property
    def world(self) -> bool:
        return self.peer == WORLD


def rate(rule: Rule) -> Rating:
    """The rating of a rule that exists (added, the after-state of a modify, or in a snapshot)."""
    peer = classify_peer(rule)
    if rule.direction == "egress":
        return Rating(LOW, "egress rule", peer)
    unknown_direction = "" if rule.direction else " (direction unknown, rated as ingress)"
    services = exposed_services(rule)
    source = rule.peer or "an unreadable source"
    if peer == WORLD:
        exposed = ", ".join(services) or protocol_text(rule)
        reason = f"ingress from internet-wide {source} to {exposed}{unknown_direction}"
        return Rating(HIGH if services else MEDIUM, reason, peer)
    if peer == UNKNOWN:
        return Rating(
            MEDIUM,
            f"ingress from a source we cannot read ({rule.peer_type or 'no peer'}: {source}){unknown_direction}",
            peer,
        )
    if peer == PUBLIC:
        if services:
            exposed = ", ".join(services)
            return Rating(MEDIUM, f"ingress from public range {source} to {exposed}{unknown_direction}", peer)
        return Rating(LOW, f"ingress from public range {source}", peer)
    if peer == PRIVATE:
        return Rating(LOW, f"ingress from private range {source}", peer)
    return Rating(LOW, f"ingress from {'security group' if peer == GROUP else 'prefix list'} {source}", peer)
