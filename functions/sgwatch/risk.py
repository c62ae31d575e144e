"""How risky is one security-group rule: the one risk model of SG Watch.

The change alerts rate each rule an event adds or modifies with :func:`rate` (and
:mod:`sgwatch.severity` turns the ratings of an event's changes into the event's level);
the review pack rates every current rule with the same function and lists those rated
``MEDIUM`` or higher in ``risky-rules.csv``. One rule has one level, wherever it is shown.
:mod:`sgwatch.exposure` raises the level of a rule whose group the internet can reach
(the only way to ``CRITICAL``).

Levels, highest first: ``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW`` (and ``INFO`` for events
without changes).

**Ingress** (a rule whose direction is unknown is rated as ingress):

==========================  =====================  ==========  ============================
source \\ service            sensitive service or   other port  authorized public port only
                            all traffic
==========================  =====================  ==========  ============================
world                       HIGH                   MEDIUM      LOW
wide public                 MEDIUM                 LOW         LOW
narrow public               LOW                    LOW         LOW
internal, group, prefix     LOW                    LOW         LOW
list
source we cannot read       MEDIUM                 MEDIUM      MEDIUM
==========================  =====================  ==========  ============================

*Sensitive services* are :data:`SERVICES` (remote administration, databases and caches,
file sharing, container and cluster control planes), each a protocol and a port: SSH is
tcp 22 (udp 22 is not SSH), RDP is tcp and udp 3389. A port range or all traffic
(protocol ``-1``) covering one counts. *Authorized public ports* (``authorized_public_ports``,
by default 80 and 443 as in Security Hub control EC2.18) are tcp or udp rules whose every
port is one of them; all traffic never is.

*Sources* (:func:`address_class`): only *global* addresses are the internet. A range that
holds none of them (private, shared, loopback, link-local, documentation, benchmarking,
multicast, reserved: :data:`NOT_GLOBAL`) is **internal**. A range that holds global addresses
is **world** when it is ``/0`` or at least as wide as IPv4 ``/8`` / IPv6 ``/32``, **wide
public** when wider than ``/24`` / ``/64``, else **narrow public** (a single address is what
AWS recommends for administrative access).

**Egress** is ``LOW`` (egress to the internet is the AWS default); revokes and group
lifecycle are rated by :mod:`sgwatch.severity`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from .rules import Rule, covers_port
from .ruletext import protocol_text

CRITICAL = "CRITICAL"
HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
INFO = "INFO"
LEVELS = (INFO, LOW, MEDIUM, HIGH, CRITICAL)

# Peer classes (classify_peer, address_class)
WORLD = "world"
WIDE_PUBLIC = "wide-public"
NARROW_PUBLIC = "narrow-public"
INTERNAL = "internal"
GROUP = "group"
PREFIX_LIST = "prefix-list"
UNKNOWN = "unknown"
PUBLIC_CLASSES = (WORLD, WIDE_PUBLIC, NARROW_PUBLIC)

# The same default as Security Hub control EC2.18 (authorizedTcpPorts):
# https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
DEFAULT_AUTHORIZED_PUBLIC_PORTS = (80, 443)


class Service(NamedTuple):
    protocol: str  # tcp or udp
    port: int
    name: str
    kind: str

    @property
    def label(self) -> str:
        """``SSH (22)`` for tcp, ``RDP (udp 3389)`` for udp."""
        return f"{self.name} ({self.port})" if self.protocol == "tcp" else f"{self.name} ({self.protocol} {self.port})"


_ADMIN, _DATA, _FILES, _CONTROL = "remote administration", "database or cache", "file sharing", "control plane"
SERVICES = (
    Service("tcp", 22, "SSH", _ADMIN),
    Service("tcp", 23, "Telnet", _ADMIN),
    Service("tcp", 3389, "RDP", _ADMIN),
    Service("udp", 3389, "RDP", _ADMIN),
    Service("tcp", 5900, "VNC", _ADMIN),
    Service("tcp", 5985, "WinRM", _ADMIN),
    Service("tcp", 5986, "WinRM", _ADMIN),
    Service("tcp", 1433, "SQL Server", _DATA),
    Service("tcp", 1521, "Oracle", _DATA),
    Service("tcp", 3306, "MySQL", _DATA),
    Service("tcp", 5432, "PostgreSQL", _DATA),
    Service("tcp", 6379, "Redis", _DATA),
    Service("tcp", 9042, "Cassandra", _DATA),
    Service("tcp", 9200, "Elasticsearch", _DATA),
    Service("tcp", 11211, "Memcached", _DATA),
    Service("udp", 11211, "Memcached", _DATA),
    Service("tcp", 27017, "MongoDB", _DATA),
    Service("tcp", 21, "FTP", _FILES),
    Service("tcp", 135, "MS RPC", _FILES),
    Service("udp", 137, "NetBIOS", _FILES),
    Service("udp", 138, "NetBIOS", _FILES),
    Service("tcp", 139, "NetBIOS", _FILES),
    Service("tcp", 445, "SMB", _FILES),
    Service("tcp", 2049, "NFS", _FILES),
    Service("udp", 2049, "NFS", _FILES),
    Service("tcp", 2375, "Docker API", _CONTROL),
    Service("tcp", 2376, "Docker API", _CONTROL),
    Service("tcp", 2379, "etcd", _CONTROL),
    Service("tcp", 2380, "etcd", _CONTROL),
    Service("tcp", 6443, "Kubernetes API", _CONTROL),
    Service("tcp", 10250, "kubelet", _CONTROL),
)
SENSITIVE_PORTS = {s.port: s.name for s in SERVICES if s.protocol == "tcp"}  # tcp port -> service name
_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}
_ALL_TRAFFIC = ("-1", "all")

# Ranges without a global address (IANA IPv4 and IPv6 Special-Purpose Address Registries, entries
# not "Globally Reachable": https://www.iana.org/assignments/iana-ipv4-special-registry and
# https://www.iana.org/assignments/iana-ipv6-special-registry), plus multicast, which is never
# the source of a packet. Written out rather than taken from ipaddress's is_global, whose answer
# differs between Python releases (192.0.0.0/24 is global in 3.11.7, not in 3.13). 6to4
# (2002::/16), Teredo (2001::/32) and the well-known NAT64 prefix (64:ff9b::/96) carry any IPv4
# source: public.
NOT_GLOBAL = {
    "0.0.0.0/8": "this network",
    "10.0.0.0/8": "private",
    "100.64.0.0/10": "shared (carrier-grade NAT)",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private",
    "192.0.0.0/24": "IETF protocol assignments",
    "192.0.2.0/24": "documentation",
    "192.168.0.0/16": "private",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
    "::/128": "unspecified",
    "::1/128": "loopback",
    "::ffff:0:0/96": "IPv4-mapped",
    "64:ff9b:1::/48": "local-use translation",
    "100::/64": "discard-only",
    "2001::/23": "IETF protocol assignments",
    "2001:db8::/32": "documentation",
    "3fff::/20": "documentation",
    "5f00::/16": "segment routing",
    "fc00::/7": "unique local (private)",
    "fe80::/10": "link-local",
    "fec0::/10": "site-local (reserved)",
    "ff00::/8": "multicast",
}
# Globally reachable entries inside the ranges above (and Teredo, which carries any IPv4 source, as 6to4 does).
GLOBAL_EXCEPTIONS = (
    "2001::/32",  # Teredo
    "192.0.0.9/32",  # Port Control Protocol anycast
    "192.0.0.10/32",  # TURN anycast
    "2001:1::1/128",  # Port Control Protocol anycast
    "2001:1::2/128",  # TURN anycast
    "2001:1::3/128",  # DNS-SD service registration anycast
    "2001:3::/32",  # AMT
    "2001:4:112::/48",  # AS112-v6
    "2001:20::/28",  # ORCHIDv2
    "2001:30::/28",  # drone remote ID
)
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_BLOCKS = [ipaddress.ip_network(n) for n in NOT_GLOBAL]
# Adjacent blocks merged, so that a range they cover together lies inside one of them.
_INTERNAL_BLOCKS: dict[int, list[_Network]] = {
    4: list(ipaddress.collapse_addresses(n for n in _BLOCKS if isinstance(n, ipaddress.IPv4Network))),
    6: list(ipaddress.collapse_addresses(n for n in _BLOCKS if isinstance(n, ipaddress.IPv6Network))),
}
_EXCEPTIONS = tuple(map(ipaddress.ip_network, GLOBAL_EXCEPTIONS))
_WORLD_WIDTH = {4: 8, 6: 32}  # a public range at least this wide counts as the world
_NARROW_WIDTH = {4: 24, 6: 64}  # ...and from this prefix length on it is narrow


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


def highest(*levels: str) -> str:
    return max(levels, key=rank) if levels else INFO


def holds_global(network: _Network) -> bool:
    """Whether any address of ``network`` is global (outside :data:`NOT_GLOBAL`, or one of its exceptions)."""
    if not any(network.subnet_of(block) for block in _INTERNAL_BLOCKS[network.version]):  # type: ignore[arg-type]
        return True
    return any(network.overlaps(e) for e in _EXCEPTIONS if e.version == network.version)


@lru_cache(maxsize=65536)
def address_class(cidr: str) -> str:
    """``world``, ``wide-public``, ``narrow-public`` or ``internal`` for an address or range; ``unknown``
    when it is not one. Host bits are ignored (AWS normalises ``a.b.c.d/0`` to ``0.0.0.0/0``)."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return UNKNOWN
    if network.prefixlen == 0:
        return WORLD
    if not holds_global(network):
        return INTERNAL
    if network.prefixlen <= _WORLD_WIDTH[network.version]:
        return WORLD
    return WIDE_PUBLIC if network.prefixlen < _NARROW_WIDTH[network.version] else NARROW_PUBLIC


def classify_peer(rule: Rule) -> str:
    """The class of the rule's peer: an :func:`address_class`, ``group``, ``prefix-list`` or ``unknown``."""
    if rule.peer_type == "security-group":
        return GROUP
    if rule.peer_type == "prefix-list":
        return PREFIX_LIST
    if rule.peer_type not in ("ipv4", "ipv6"):
        return UNKNOWN
    return address_class(rule.peer)


@lru_cache(maxsize=4096)
def _services(protocol: str, from_port: str, to_port: str) -> tuple[str, ...]:
    if protocol in _ALL_TRAFFIC:
        return ("all traffic",)
    family = _PROTOCOLS.get(protocol)
    if family is None:
        return ()
    probe = Rule("", "", "", "", "", "", "", "", protocol, from_port, to_port, "", "", "")
    covered = sorted((s.port, s.label) for s in SERVICES if s.protocol == family and covers_port(probe, s.port))
    return tuple(label for _, label in covered)


def exposed_services(rule: Rule) -> list[str]:
    """The sensitive access a rule grants: ``all traffic`` or the :data:`SERVICES` its protocol and ports cover."""
    return list(_services(rule.protocol, rule.from_port, rule.to_port))


def only_authorized_ports(
    rule: Rule, authorized_public_ports: Collection[int] = DEFAULT_AUTHORIZED_PUBLIC_PORTS
) -> bool:
    """Whether every port the rule admits is an authorized public port (tcp or udp only)."""
    if rule.protocol not in _PROTOCOLS:
        return False
    try:
        low, high = int(rule.from_port), int(rule.to_port)
    except ValueError:
        return False
    if low < 0 or high < low or high - low >= len(authorized_public_ports):
        return False
    return all(port in authorized_public_ports for port in range(low, high + 1))


@dataclass(frozen=True)
class Rating:
    """The level of one rule, why, and the class of its peer (``world``, ``wide-public``...)."""

    level: str
    reason: str
    peer: str

    @property
    def world(self) -> bool:
        return self.peer == WORLD


def rate(rule: Rule, *, authorized_public_ports: Collection[int] = DEFAULT_AUTHORIZED_PUBLIC_PORTS) -> Rating:
    """The rating of a rule that exists (added, the after-state of a modify, or in a snapshot)."""
    peer = classify_peer(rule)
    if rule.direction == "egress":
        return Rating(LOW, "egress rule", peer)
    unknown_direction = "" if rule.direction else " (direction unknown, rated as ingress)"
    source = rule.peer or "an unreadable source"
    if peer == UNKNOWN:
        reason = f"ingress from a source we cannot read ({rule.peer_type or 'no peer'}: {source})"
        return Rating(MEDIUM, reason + unknown_direction, peer)
    if peer in (WORLD, WIDE_PUBLIC):
        where = f"internet-wide {source}" if peer == WORLD else f"wide public range {source}"
        if only_authorized_ports(rule, authorized_public_ports):
            reason = f"ingress from {where} to authorized public {protocol_text(rule)}"
            return Rating(LOW, reason + unknown_direction, peer)
        services = exposed_services(rule)
        if peer == WORLD:
            reason = f"ingress from {where} to {', '.join(services) or protocol_text(rule)}"
            return Rating(HIGH if services else MEDIUM, reason + unknown_direction, peer)
        if services:
            return Rating(MEDIUM, f"ingress from {where} to {', '.join(services)}{unknown_direction}", peer)
        return Rating(LOW, f"ingress from {where}", peer)
    if peer == NARROW_PUBLIC:
        return Rating(LOW, f"ingress from narrow public range {source}", peer)
    if peer == INTERNAL:
        return Rating(LOW, f"ingress from internal range {source}", peer)
    return Rating(LOW, f"ingress from {'security group' if peer == GROUP else 'prefix list'} {source}", peer)
