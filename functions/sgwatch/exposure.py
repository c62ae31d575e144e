"""Effective exposure: which security groups the internet can reach, and the rules that open them.

Pure functions over the describe responses of one region (:data:`DESCRIBE_CALLS`; the caller
pages through them, see :func:`look_up`).

- A network interface is **internet-reachable** over IPv4 when it has a public IPv4 address
  (``Association.PublicIp``) and its subnet's route table (the one explicitly associated,
  else the VPC's main table) routes ``0.0.0.0/0`` to an internet gateway (``igw-``); over
  IPv6 when it has a global IPv6 address and the table routes ``::/0`` to an internet gateway
  (an egress-only gateway does not count, nor does an interface that denies internet gateway
  traffic). Blackhole routes do not count; an interface attached to nothing reaches nothing.
- A group is **exposed** when an internet-reachable interface carries it, and **exposed
  through a load balancer** when one of its ingress rules admits the security group of an
  internet-facing load balancer.
- On an exposed group, a world or wide-public ingress rule rises one level (:func:`escalate`:
  ``HIGH`` -> ``CRITICAL``, ``MEDIUM`` -> ``HIGH``), when the group is reachable over the
  rule's address family. Exposure through a load balancer only is reported, not escalated.

Not evaluated: network ACLs, host firewalls, routes narrower than a default route, firewall
or appliance endpoints in the path, and load balancers without security groups (their
targets' groups admit client addresses directly). The reachability guard proves a path.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import risk
from .rules import Rule
from .text import clean

SUMMARY_LIMIT = 10  # exposed resources an alert lists

# ------------------------------------------------------------------ the describe calls


@dataclass(frozen=True)
class DescribeCall:
    """One paginated describe call exposure reads, with the IAM action it needs."""

    service: str  # boto3 client name
    operation: str
    paginator: str
    result_key: str
    iam_action: str
    page_size: int  # the largest page the API returns
    filter_name: str = ""  # the EC2 filter that narrows the call to some ids ("" when it has none)

    def request(self, values: Sequence[str] = ()) -> dict[str, Any]:
        """Keyword arguments for ``paginate``: the largest pages, narrowed to ``values`` when given."""
        kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": self.page_size}}
        if values and self.filter_name:
            kwargs["Filters"] = [{"Name": self.filter_name, "Values": list(values)}]
        return kwargs


NETWORK_INTERFACES = DescribeCall(
    # MaxResults 5-1000: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
    "ec2", "DescribeNetworkInterfaces", "describe_network_interfaces", "NetworkInterfaces",
    "ec2:DescribeNetworkInterfaces", 1000, "group-id",
)
ROUTE_TABLES = DescribeCall(
    # MaxResults 5-100: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
    "ec2", "DescribeRouteTables", "describe_route_tables", "RouteTables", "ec2:DescribeRouteTables", 100, "vpc-id",
)
LOAD_BALANCERS = DescribeCall(
    # PageSize 1-400:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeLoadBalancers.html
    "elbv2", "DescribeLoadBalancers", "describe_load_balancers", "LoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancers", 400,
)
DESCRIBE_CALLS = (NETWORK_INTERFACES, ROUTE_TABLES, LOAD_BALANCERS)
IAM_ACTIONS = tuple(call.iam_action for call in DESCRIBE_CALLS)

Fetch = Callable[[DescribeCall, Sequence[str]], Iterable[Mapping[str, Any]]]


def paged_fetch(client_of: Callable[[str], Any]) -> Fetch:
    """A :data:`Fetch` through boto3 paginators: ``client_of(service)`` gives the client of the
    account and region looked at; each call asks for its largest pages (:meth:`DescribeCall.request`)."""

    def fetch(call: DescribeCall, values: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        paginator = client_of(call.service).get_paginator(call.paginator)
        for page in paginator.paginate(**call.request(values)):
            yield from page.get(call.result_key) or ()

    return fetch


# ------------------------------------------------------------------ reachability


@dataclass(frozen=True)
class Path:
    """How the internet reaches an interface over one address family."""

    family: int  # 4 or 6
    address: str
    route_table_id: str
    gateway_id: str


@dataclass(frozen=True)
class ReachableInterface:
    interface_id: str
    resource_type: str  # instance, load-balancer, or the interface type (nat_gateway, lambda...)
    resource_id: str  # instance id, app/name/id of a load balancer, else the description or interface id
    description: str
    subnet_id: str
    vpc_id: str
    groups: tuple[str, ...]
    paths: tuple[Path, ...]  # IPv4 first

    def path(self, family: int | None = None) -> Path | None:
        return next((p for p in self.paths if family in (None, p.family)), None)

    @property
    def shown_as(self) -> str:
        """What an alert names: the instance id, else the interface's description, else its id."""
        return self.resource_id if self.resource_type == "instance" else self.description or self.interface_id


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    resource_id: str  # app/name/id from the ARN (as in the description of its interfaces)
    groups: tuple[str, ...]


_DEFAULT_ROUTES = {4: ("DestinationCidrBlock", "0.0.0.0/0"), 6: ("DestinationIpv6CidrBlock", "::/0")}
_GONE = ("disassociating", "disassociated", "failed")


def _internet_gateways(table: Mapping[str, Any]) -> dict[int, str]:
    """The internet gateway each family's default route of a route table leads to."""
    found: dict[int, str] = {}
    for route in table.get("Routes") or ():
        gateway = route.get("GatewayId") or ""
        if not gateway.startswith("igw-") or route.get("State", "active") != "active":
            continue
        for family, (key, destination) in _DEFAULT_ROUTES.items():
            if route.get(key) == destination:
                found.setdefault(family, gateway)
    return found


class _Routes:
    """The route table of each subnet: its explicit association, else its VPC's main table."""

    def __init__(self, route_tables: Iterable[Mapping[str, Any]]) -> None:
        self.by_subnet: dict[str, tuple[str, dict[int, str]]] = {}
        self.main: dict[str, tuple[str, dict[int, str]]] = {}
        for table in route_tables:
            entry = (table.get("RouteTableId") or "", _internet_gateways(table))
            for association in table.get("Associations") or ():
                if (association.get("AssociationState") or {}).get("State") in _GONE:
                    continue
                if association.get("SubnetId"):
                    self.by_subnet[association["SubnetId"]] = entry
                if association.get("Main"):
                    self.main[table.get("VpcId") or ""] = entry

    def of(self, subnet_id: str, vpc_id: str) -> tuple[str, dict[int, str]] | None:
        return self.by_subnet.get(subnet_id) or self.main.get(vpc_id)


def _addresses(interface: Mapping[str, Any]) -> dict[int, str]:
    """The first public IPv4 and the first global IPv6 address of an interface."""
    found: dict[int, str] = {}
    association = interface.get("Association")
    if association and association.get("PublicIp"):
        found[4] = association["PublicIp"]
    listed = interface.get("Ipv6Addresses")
    if (listed or interface.get("Ipv6Address")) and not interface.get("DenyAllIgwTraffic"):  # most have none
        candidates = [interface.get("Ipv6Address"), *(a.get("Ipv6Address") for a in listed or ())]
        ipv6 = next((a for a in candidates if a and risk.address_class(a) in risk.PUBLIC_CLASSES), None)
        if ipv6:
            found[6] = ipv6
    return found


def _resource(interface: Mapping[str, Any]) -> tuple[str, str]:
    instance = (interface.get("Attachment") or {}).get("InstanceId")
    if instance:
        return "instance", instance
    description = interface.get("Description") or ""
    if description.startswith("ELB "):  # ELB app/name/id, ELB net/name/id, ELB name (Classic)
        return "load-balancer", description[4:]
    kind = interface.get("InterfaceType") or "interface"
    resource_type = "network-interface" if kind == "interface" else kind
    return resource_type, description or interface.get("NetworkInterfaceId", "")


def reachable_interfaces(
    network_interfaces: Iterable[Mapping[str, Any]], route_tables: Iterable[Mapping[str, Any]]
) -> list[ReachableInterface]:
    """The internet-reachable interfaces among DescribeNetworkInterfaces items (see the module's rules)."""
    routes = _Routes(route_tables)
    found: list[ReachableInterface] = []
    for interface in network_interfaces:
        if interface.get("Status") == "available":  # attached to nothing
            continue
        addresses = _addresses(interface)
        if not addresses:
            continue
        subnet, vpc = interface.get("SubnetId") or "", interface.get("VpcId") or ""
        table = routes.of(subnet, vpc)
        if table is None:
            continue
        table_id, gateways = table
        paths = tuple(Path(f, addresses[f], table_id, gateways[f]) for f in (4, 6) if f in addresses and f in gateways)
        if paths:
            kind, resource_id = _resource(interface)
            found.append(ReachableInterface(
                interface.get("NetworkInterfaceId") or "", kind, resource_id, interface.get("Description") or "",
                subnet, vpc, tuple(g.get("GroupId") or "" for g in interface.get("Groups") or ()), paths,
            ))
    return found


def internet_facing_load_balancers(load_balancers: Iterable[Mapping[str, Any]]) -> list[LoadBalancer]:
    """The internet-facing load balancers among ELBv2 DescribeLoadBalancers items, with their security groups."""
    found = []
    for lb in load_balancers:
        if lb.get("Scheme") != "internet-facing" or not lb.get("SecurityGroups"):
            continue
        name = lb.get("LoadBalancerName") or ""
        arn = lb.get("LoadBalancerArn") or ""
        resource_id = arn.partition(":loadbalancer/")[2] or name
        found.append(LoadBalancer(name, resource_id, tuple(lb["SecurityGroups"])))
    return found


@dataclass
class Exposure:
    """What the internet reaches in one region: reachable interfaces and internet-facing load balancers."""

    by_group: dict[str, list[ReachableInterface]] = field(default_factory=dict)
    balancers: dict[str, list[LoadBalancer]] = field(default_factory=dict)  # by the balancer's security group

    @classmethod
    def of(
        cls,
        network_interfaces: Iterable[Mapping[str, Any]],
        route_tables: Iterable[Mapping[str, Any]],
        load_balancers: Iterable[Mapping[str, Any]] = (),
    ) -> Exposure:
        """From the items of the three :data:`DESCRIBE_CALLS` of one region."""
        exposure = cls()
        for interface in reachable_interfaces(network_interfaces, route_tables):
            for group in dict.fromkeys(interface.groups):
                exposure.by_group.setdefault(group, []).append(interface)
        for lb in internet_facing_load_balancers(load_balancers):
            for group in lb.groups:
                exposure.balancers.setdefault(group, []).append(lb)
        return exposure

    def reachable(self, group_id: str, family: int | None = None) -> list[ReachableInterface]:
        """The internet-reachable interfaces carrying the group (over ``family`` when given)."""
        return [i for i in self.by_group.get(group_id, ()) if i.path(family)]

    def exposed_directly(self, group_id: str, family: int | None = None) -> bool:
        return any(i.path(family) for i in self.by_group.get(group_id, ()))

    def balancers_admitted(self, rule: Rule) -> list[LoadBalancer]:
        """The internet-facing load balancers whose security group an ingress rule admits."""
        if rule.peer_type != "security-group" or rule.direction == "egress":
            return []
        return self.balancers.get(rule.peer.rpartition("/")[2], [])


def look_up(fetch: Fetch, group_id: str = "") -> Exposure:
    """The exposure of one region through ``fetch(call, filter_values)`` (which pages through the call).

    With ``group_id`` (an alert), only the interfaces carrying that group and the route tables
    of their VPCs are read; otherwise (the inventory) the whole region. Route tables are not
    read at all when no interface has a public address.
    """
    interfaces = [i for i in fetch(NETWORK_INTERFACES, [group_id] if group_id else []) if _addresses(i)]
    vpcs = sorted({i.get("VpcId") or "" for i in interfaces} - {""}) if group_id else []
    tables = list(fetch(ROUTE_TABLES, vpcs)) if interfaces else []
    return Exposure.of(interfaces, tables, fetch(LOAD_BALANCERS, []))


# ------------------------------------------------------------------ escalation


def family(rule: Rule) -> int | None:
    """4 or 6 for an address peer, else None."""
    return {"ipv4": 4, "ipv6": 6}.get(rule.peer_type)


def escalate(level: str, peer_class: str, exposed_directly: bool) -> str:
    """The level of a rule on its group: one level up for world or wide-public ingress on an exposed group."""
    if not exposed_directly or peer_class not in (risk.WORLD, risk.WIDE_PUBLIC):
        return level
    return {risk.HIGH: risk.CRITICAL, risk.MEDIUM: risk.HIGH}.get(level, level)


def escalated(rating: risk.Rating, exposed_directly: bool) -> risk.Rating:
    """``rating`` after :func:`escalate`, its reason saying why when the level rose."""
    level = escalate(rating.level, rating.peer, exposed_directly)
    if level == rating.level:
        return rating
    reason = f"{rating.reason}, on a group attached to an internet-reachable interface"
    return replace(rating, level=level, reason=reason)


def rate_on_group(
    rule: Rule,
    exposure: Exposure | None,
    *,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> risk.Rating:
    """The rating of a rule on its group (:func:`sgwatch.risk.rate`, escalated); without exposure, the rule's own."""
    rating = risk.rate(rule, authorized_public_ports=authorized_public_ports)
    return escalated(rating, exposure is not None and exposure.exposed_directly(rule.group_id, family(rule)))


# ------------------------------------------------------------------ the alert's summary


@dataclass(frozen=True)
class ExposedResource:
    resource: str  # instance id or interface description
    interface_id: str
    public_ip: str
    subnet_id: str
    gateway_id: str


@dataclass(frozen=True)
class GroupExposure:
    """What an alert says of a group's exposure: up to :data:`SUMMARY_LIMIT` resources, and load balancers."""

    group_id: str
    resources: tuple[ExposedResource, ...]
    interfaces: int  # every internet-reachable interface carrying the group
    load_balancers: tuple[str, ...]  # names of internet-facing load balancers the group's ingress admits

    @property
    def exposed_directly(self) -> bool:
        return self.interfaces > 0

    @property
    def exposed(self) -> bool:
        """Exposed directly or through a load balancer (the SNS attribute ``exposed``)."""
        return self.exposed_directly or bool(self.load_balancers)

    def lines(self) -> list[str]:
        """One line per resource (each value through :func:`sgwatch.text.clean`), then the load balancers."""
        lines = [
            " ".join(clean(v, 200) for v in (r.resource, r.interface_id, r.public_ip, r.subnet_id, r.gateway_id) if v)
            for r in self.resources
        ]
        if not self.exposed_directly:
            lines.append("not attached to any internet-reachable interface")
        elif self.interfaces > len(self.resources):
            lines.append(f"and {self.interfaces - len(self.resources)} more internet-reachable interfaces")
        lines.extend(f"through internet-facing load balancer {clean(name, 64)}" for name in self.load_balancers)
        return lines


def summarise(
    group_id: str, exposure: Exposure, rules: Iterable[Rule] = (), limit: int = SUMMARY_LIMIT
) -> GroupExposure:
    """The exposure of one group; ``rules`` (the group's rules) find the load balancers its ingress admits."""
    interfaces = sorted(
        exposure.reachable(group_id), key=lambda i: (i.resource_type != "instance", i.resource_id, i.interface_id)
    )
    resources = []
    for interface in interfaces[:limit]:
        path = interface.path()
        assert path is not None
        resources.append(ExposedResource(
            interface.shown_as, interface.interface_id, path.address, interface.subnet_id, path.gateway_id
        ))
    names = dict.fromkeys(lb.name for r in rules if r.group_id == group_id for lb in exposure.balancers_admitted(r))
    return GroupExposure(group_id, tuple(resources), len(interfaces), tuple(sorted(names)))
