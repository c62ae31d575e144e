"""The exposure report the inventory writes each run: ``{prefix}{account}/{region}/exposure/<stamp>.csv``.

One row per public-source ingress rule and internet-reachable interface carrying its group, and one
per ingress rule admitting an internet-facing load balancer's group (see :mod:`sgwatch.exposure`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

from . import risk
from .exposure import Exposure, through
from .rules import Rule, as_rules

EXPOSURE_HEADER = (
    "AccountId",
    "Region",
    "GroupId",
    "GroupName",
    "RuleId",
    "Protocol",
    "FromPort",
    "ToPort",
    "Peer",
    "PeerClass",
    "Severity",
    "ResourceType",
    "ResourceId",
    "NetworkInterfaceId",
    "PublicIp",
    "SubnetId",
    "RouteTableId",
    "GatewayId",
    "Via",
)
VIA_INTERFACE = "interface"
VIA_LOAD_BALANCER = "load-balancer:"  # + the load balancer's name


class ExposureRow(NamedTuple):
    """One row of the exposure report (:data:`EXPOSURE_HEADER`, in that order)."""

    account_id: str
    region: str
    group_id: str
    group_name: str
    rule_id: str
    protocol: str
    from_port: str
    to_port: str
    peer: str
    peer_class: str
    severity: str
    resource_type: str
    resource_id: str
    network_interface_id: str
    public_ip: str
    subnet_id: str
    route_table_id: str
    gateway_id: str
    via: str


_GROUP, _DIRECTION, _PEER_TYPE, _PEER = (Rule._fields.index(f) for f in ("group_id", "direction", "peer_type", "peer"))
_NOT_INGRESS = ("", "egress")  # "": a group without rules


def candidates(rows: Iterable[Sequence[str]], exposure: Exposure) -> list[Rule]:
    """The ingress rules (of snapshot rows or :class:`Rule` values) something may expose: address and
    prefix-list rules of a group an internet-reachable interface carries, and rules admitting an
    internet-facing load balancer's group. A plain look at a few columns: most rules of a region are
    left out before any is typed or rated."""
    by_group, balancers = exposure.by_group, exposure.balancers
    return as_rules(
        r for r in rows
        if r[_DIRECTION] not in _NOT_INGRESS and (
            (r[_PEER_TYPE] in ("ipv4", "ipv6", "prefix-list") and r[_GROUP] in by_group)
            or (r[_PEER_TYPE] == "security-group" and r[_PEER].rpartition("/")[2] in balancers)
        )
    )


def exposure_rows(
    rules: Iterable[Sequence[str]],
    exposure: Exposure,
    *,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> list[ExposureRow]:
    """The exposure report of one region (``rules``: :class:`Rule` values or snapshot rows), highest severity first.

    One row per public-source ingress rule (a customer-managed prefix list by its widest entry) and
    internet-reachable interface carrying its group that lets it through (a load balancer's interface
    when the rule admits one of its listeners): ``Via`` ``interface``, the rule's alert severity
    through that interface (:func:`sgwatch.exposure.through`). And one per ingress rule admitting
    the security group of an internet-facing load balancer and that balancer (``Via``
    ``load-balancer:<name>``, not escalated).
    """
    rows: list[ExposureRow] = []
    for rule in candidates(rules, exposure):
        resolved, source = exposure.resolved(rule)
        peer_class = risk.classify_peer(resolved)
        if peer_class in risk.PUBLIC_CLASSES:
            rating = risk.rate(resolved, authorized_public_ports=authorized_public_ports, source=source)
            for reach in exposure.reaches(resolved):
                if reach.load_balancer is not None and not reach.listeners:
                    continue  # the load balancer does not take what the rule admits
                interface, path = reach.interface, reach.path
                level = through(rating, resolved, reach, authorized_public_ports).level
                rows.append(ExposureRow._make((
                    *_rule_columns(rule, peer_class, level), interface.resource_type, interface.resource_id,
                    interface.interface_id, path.address, interface.subnet_id, path.route_table_id, path.gateway_id,
                    VIA_INTERFACE,
                )))
        elif peer_class == risk.GROUP:
            balancers = exposure.balancers_admitted(rule)
            if not balancers:
                continue
            level = risk.rate(rule, authorized_public_ports=authorized_public_ports).level
            for lb in balancers:
                rows.append(ExposureRow._make((
                    *_rule_columns(rule, peer_class, level), "load-balancer", lb.resource_id, "", "", "", "", "",
                    VIA_LOAD_BALANCER + lb.name,
                )))
    rows.sort(key=lambda r: (-risk.rank(r.severity), r.account_id, r.region, r.group_id, r.rule_id, r.via, r))
    return rows


def _rule_columns(rule: Rule, peer_class: str, level: str) -> tuple[str, ...]:
    return (rule.account_id, rule.region, rule.group_id, rule.group_name, rule.rule_id, rule.protocol, rule.from_port,
            rule.to_port, rule.peer, peer_class, level)


def exposed_rule_levels(rows: Iterable[Sequence[str]]) -> dict[tuple[str, str, str, str], str]:
    """(account, region, group, rule id) -> the highest ``Severity`` of the rows showing the rule reachable through
    an interface: the review pack gives a rule of a snapshot its alert severity from them."""
    found: dict[tuple[str, str, str, str], str] = {}
    for r in map(tuple, rows):
        if r[18] == VIA_INTERFACE:
            key = (r[0], r[1], r[2], r[4])
            found[key] = risk.highest(found.get(key, risk.INFO), r[10])
    return found
