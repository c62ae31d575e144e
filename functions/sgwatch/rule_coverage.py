"""What traffic a rule admits, as a :class:`Scope`, and whether one scope holds another.

One idea used twice: a rule is *shadowed* when another rule of its group and direction covers it, and a
register entry *justifies* the rules it covers. A scope covers another when its protocol, its port
range and its peer each hold the other's: all traffic (``-1``) holds tcp, udp, icmp and every other
protocol; a tcp or udp range holds the ranges inside it; an icmp type of ``-1`` holds every type, and
a code of ``-1`` every code of its type; an address range holds the ranges inside it (exact integer
containment, IPv4 and IPv6 apart); a security group or prefix list holds only itself.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import NamedTuple

ALL = "-1"
ANY = ""  # a register field left empty: any value
_PROTOCOL_NAMES = {"all": ALL, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
PORTED = ("tcp", "udp")
_TYPED = ("icmp", "icmpv6")
ADDRESS_TYPES = ("ipv4", "ipv6")


class Scope(NamedTuple):
    protocol: str  # a name (tcp, udp, icmp, icmpv6), a number, ALL, or ANY
    low: int  # tcp/udp: first port; icmp: type; -1: all
    high: int  # tcp/udp: last port; icmp: code; -1: all
    peer_type: str  # ipv4, ipv6, prefix-list, security-group, or ANY
    peer: str
    network: tuple[int, int, int, int] | None  # an address peer: (version, first address, last address, length)


def protocol_name(protocol: str) -> str:
    """The protocol as one spelling: ``6`` is ``tcp``, ``all`` is ``-1``."""
    text = protocol.strip().lower()
    return _PROTOCOL_NAMES.get(text, text)


def _number(text: str) -> int:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else -1


@lru_cache(maxsize=65536)
def network(cidr: str) -> tuple[int, int, int, int] | None:
    """(version, first, last, prefix length) of an address range, host bits ignored; None when it is not one."""
    try:
        found = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None
    return found.version, int(found.network_address), int(found.broadcast_address), found.prefixlen


@lru_cache(maxsize=65536)
def scope(protocol: str, from_port: str, to_port: str, peer_type: str, peer: str) -> Scope:
    """The scope of a rule, or of a register entry (empty fields: any)."""
    name = protocol_name(protocol)
    low, high = _number(from_port), _number(to_port)
    if name in PORTED and (low, high) in ((-1, -1), (0, 65535)):
        low, high = 0, 65535
    return Scope(name, low, high, peer_type, peer, network(peer) if peer_type in ADDRESS_TYPES else None)


def _ports_hold(outer: Scope, inner: Scope) -> bool:
    if outer.protocol in PORTED:
        return outer.low <= inner.low and inner.high <= outer.high
    if outer.protocol in _TYPED:
        if outer.low == -1:
            return True
        return inner.low == outer.low and (outer.high == -1 or inner.high == outer.high)
    return True  # other protocols have no ports


def _peer_holds(outer: Scope, inner: Scope) -> bool:
    if outer.peer_type == ANY:
        return True
    if outer.network is not None and inner.network is not None:
        version, first, last, _ = outer.network
        return version == inner.network[0] and first <= inner.network[1] and inner.network[2] <= last
    return outer.peer_type == inner.peer_type and outer.peer == inner.peer


def covers(outer: Scope, inner: Scope) -> bool:
    """Whether every packet ``inner`` admits, ``outer`` admits too."""
    if outer.protocol not in (ALL, ANY):
        if inner.protocol != outer.protocol or not _ports_hold(outer, inner):
            return False
    return _peer_holds(outer, inner)
