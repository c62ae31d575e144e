"""Effective exposure: which security groups the internet can reach, and the rules that open them.

Pure functions over the describe responses of one region (:data:`DESCRIBE_CALLS`; the caller
pages through them, see :func:`look_up`).

- A network interface is **internet-reachable** over IPv4 when one of its private addresses has a
  public IPv4 address (``Association.PublicIp``, on the interface or on any of its
  ``PrivateIpAddresses``) and its subnet's route table (the one explicitly associated, else the
  VPC's main table) routes ``0.0.0.0/0`` to an internet gateway (``igw-``); over IPv6 when it has
  a global IPv6 address and the table routes ``::/0`` to an internet gateway (an egress-only
  gateway does not count, nor does an interface that denies internet gateway traffic). Blackhole
  routes do not count; an interface attached to nothing reaches nothing.
- A load balancer's own interfaces accept its **listener ports** only (ELBv2 ``DescribeListeners``,
  Classic listeners from ``DescribeLoadBalancers``): a rule of its group reaches the internet
  through them only for the listener ports it admits.
- A group is **exposed** when an internet-reachable interface carries it, and **exposed
  through a load balancer** when one of its ingress rules admits the security group of an
  internet-facing load balancer (ELBv2 or Classic).
- A customer-managed **prefix list** is rated by its widest entry (the entry of the highest source
  class, then the widest); an AWS-managed one is named for what it holds (:data:`AWS_MANAGED_LISTS`).
- On an exposed group, a world or wide-public ingress rule rises one level (:func:`escalate`:
  ``HIGH`` -> ``CRITICAL``, ``MEDIUM`` -> ``HIGH``), when the group is reachable over the
  rule's address family (through a load balancer's interface: when a listener port it admits
  rises). Exposure through a load balancer only is reported, not escalated.

Not evaluated: network ACLs, host firewalls, routes narrower than a default route, firewall
or appliance endpoints in the path, and load balancers without security groups (their
targets' groups admit client addresses directly). The reachability guard proves a path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import risk
from .rules import Rule, as_rules, covers_port
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
    argument: str = ""  # the request parameter naming the one resource the call reads ("" when it has none)

    def request(self, values: Sequence[str] = ()) -> dict[str, Any]:
        """Keyword arguments for ``paginate``: the largest pages, narrowed to ``values`` when given."""
        kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": self.page_size}}
        if values and self.filter_name:
            kwargs["Filters"] = [{"Name": self.filter_name, "Values": list(values)}]
        if values and self.argument:
            kwargs[self.argument] = values[0]
        return kwargs


_EC2_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_"
_ELBV2_API = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_"
_ELB_API = "https://docs.aws.amazon.com/elasticloadbalancing/2012-06-01/APIReference/API_"
NETWORK_INTERFACES = DescribeCall(
    # MaxResults 5-1000: _EC2_API + DescribeNetworkInterfaces.html
    "ec2", "DescribeNetworkInterfaces", "describe_network_interfaces", "NetworkInterfaces",
    "ec2:DescribeNetworkInterfaces", 1000, "group-id",
)
ROUTE_TABLES = DescribeCall(
    # MaxResults 5-100: _EC2_API + DescribeRouteTables.html
    "ec2", "DescribeRouteTables", "describe_route_tables", "RouteTables", "ec2:DescribeRouteTables", 100, "vpc-id",
)
LOAD_BALANCERS = DescribeCall(
    # PageSize 1-400: _ELBV2_API + DescribeLoadBalancers.html
    "elbv2", "DescribeLoadBalancers", "describe_load_balancers", "LoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancers", 400,
)
CLASSIC_LOAD_BALANCERS = DescribeCall(
    # PageSize 1-400, listeners and security groups included: _ELB_API + DescribeLoadBalancers.html
    "elb", "DescribeLoadBalancers", "describe_load_balancers", "LoadBalancerDescriptions",
    "elasticloadbalancing:DescribeLoadBalancers", 400,
)
LISTENERS = DescribeCall(
    # one load balancer a call, PageSize 1-400: _ELBV2_API + DescribeListeners.html
    "elbv2", "DescribeListeners", "describe_listeners", "Listeners", "elasticloadbalancing:DescribeListeners", 400,
    argument="LoadBalancerArn",
)
PREFIX_LISTS = DescribeCall(
    # MaxResults 1-100: _EC2_API + DescribeManagedPrefixLists.html
    "ec2", "DescribeManagedPrefixLists", "describe_managed_prefix_lists", "PrefixLists",
    "ec2:DescribeManagedPrefixLists", 100, "prefix-list-id",
)
PREFIX_LIST_ENTRIES = DescribeCall(
    # one list a call, MaxResults 1-100: _EC2_API + GetManagedPrefixListEntries.html
    "ec2", "GetManagedPrefixListEntries", "get_managed_prefix_list_entries", "Entries",
    "ec2:GetManagedPrefixListEntries", 100, argument="PrefixListId",
)
DESCRIBE_CALLS = (NETWORK_INTERFACES, ROUTE_TABLES, LOAD_BALANCERS, CLASSIC_LOAD_BALANCERS, LISTENERS, PREFIX_LISTS,
                  PREFIX_LIST_ENTRIES)
IAM_ACTIONS = tuple(dict.fromkeys(call.iam_action for call in DESCRIBE_CALLS))

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


_IP_PROTOCOLS = {  # listener protocol -> the IP protocols its port takes
    "HTTP": ("tcp",), "HTTPS": ("tcp",), "TCP": ("tcp",), "TLS": ("tcp",), "SSL": ("tcp",), "UDP": ("udp",),
    "TCP_UDP": ("tcp", "udp"), "QUIC": ("udp",), "TCP_QUIC": ("tcp", "udp"), "GENEVE": ("udp",),
}


@dataclass(frozen=True)
class Listener:
    """A port a load balancer accepts: an IP protocol (tcp or udp) and the port."""

    protocol: str
    port: int

    def __str__(self) -> str:
        return f"{self.protocol} {self.port}"

    def admitted_by(self, rule: Rule) -> bool:
        """Whether an ingress rule lets this listener's traffic in."""
        return rule.protocol in ("-1", "all") or (
            risk.ip_protocol(rule.protocol) == self.protocol and covers_port(rule, self.port))

    def part_of(self, rule: Rule) -> Rule:
        """The part of ``rule`` this listener takes: the rule narrowed to its protocol and port."""
        return rule._replace(protocol=self.protocol, from_port=str(self.port), to_port=str(self.port))


def _listeners(protocol: Any, port: Any) -> list[Listener]:
    if not isinstance(port, int):
        return []
    return [Listener(p, port) for p in _IP_PROTOCOLS.get(str(protocol or "").upper(), ("tcp",))]


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    resource_id: str  # app/name/id from an ELBv2 ARN, the name of a Classic one (as in its interfaces' description)
    groups: tuple[str, ...]
    arn: str = ""  # "" for a Classic load balancer
    internet_facing: bool = True
    listeners: tuple[Listener, ...] | None = None  # None: not read

    def listening(self) -> str:
        return ", ".join(map(str, self.listeners or ())) or "no port"


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
    """The first public IPv4 address (of any private address: AWS gives each its own association) and the
    first global IPv6 address of an interface."""
    found: dict[int, str] = {}
    associations = [interface.get("Association"), *(a.get("Association") for a in interface.get("PrivateIpAddresses")
                                                     or ())]
    public = next((a["PublicIp"] for a in associations if a and a.get("PublicIp")), None)
    if public:
        found[4] = public
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


def load_balancers_of(
    load_balancers: Iterable[Mapping[str, Any]], classic_load_balancers: Iterable[Mapping[str, Any]] = ()
) -> list[LoadBalancer]:
    """ELBv2 DescribeLoadBalancers items (listeners not read yet) and Classic ones (elb
    DescribeLoadBalancers ``LoadBalancerDescriptions``, with their listeners)."""
    found = []
    for lb in load_balancers:
        name, arn = lb.get("LoadBalancerName") or "", lb.get("LoadBalancerArn") or ""
        found.append(LoadBalancer(name, arn.partition(":loadbalancer/")[2] or name, tuple(lb.get("SecurityGroups")
                                  or ()), arn, lb.get("Scheme") == "internet-facing"))
    for lb in classic_load_balancers:
        listeners = [item for d in lb.get("ListenerDescriptions") or ()
                     for item in _listeners((d.get("Listener") or {}).get("Protocol"),
                                            (d.get("Listener") or {}).get("LoadBalancerPort"))]
        name = lb.get("LoadBalancerName") or ""
        found.append(LoadBalancer(name, name, tuple(lb.get("SecurityGroups") or ()), "",
                                  lb.get("Scheme") == "internet-facing", tuple(listeners)))
    return found


def internet_facing_load_balancers(load_balancers: Iterable[Mapping[str, Any]]) -> list[LoadBalancer]:
    """The internet-facing load balancers among ELBv2 DescribeLoadBalancers items that have security groups."""
    return [lb for lb in load_balancers_of(load_balancers) if lb.internet_facing and lb.groups]


# ------------------------------------------------------------------ prefix lists

# What an AWS-managed prefix list holds, by its name after com.amazonaws.<region or global>. (and ipv6.):
# https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html
AWS_MANAGED_LISTS = {
    "cloudfront.origin-facing": "CloudFront's origin-facing servers: public by design, any internet client of a "
                                "distribution reaches the origin through them",
    "s3": "Amazon S3's addresses",
    "s3express": "Amazon S3 Express One Zone's addresses",
    "dynamodb": "Amazon DynamoDB's addresses",
    "ec2-instance-connect": "EC2 Instance Connect's service addresses",
    "route53-healthchecks": "Route 53 health checkers",
    "vpc-lattice": "VPC Lattice's addresses",
    "groundstation": "AWS Ground Station's addresses",
}


@dataclass(frozen=True)
class PrefixList:
    """A managed prefix list (DescribeManagedPrefixLists) and, customer-managed, its entries."""

    prefix_list_id: str
    name: str
    aws_managed: bool
    family: int  # 4 or 6
    widest: str = ""  # the entry of the highest source class (world first), the widest of them; "" without entries

    @classmethod
    def of(cls, item: Mapping[str, Any], entries: Iterable[Mapping[str, Any]] = ()) -> PrefixList:
        order = (risk.INTERNAL, risk.UNKNOWN, risk.NARROW_PUBLIC, risk.WIDE_PUBLIC, risk.WORLD)
        widest = max((e.get("Cidr") or "" for e in entries),
                     key=lambda c: (order.index(risk.address_class(c)), -_prefix_length(c)), default="")
        return cls(item.get("PrefixListId") or "", item.get("PrefixListName") or "", item.get("OwnerId") == "AWS",
                   6 if item.get("AddressFamily") == "IPv6" else 4, widest)

    def what(self) -> str:
        """How an alert names an AWS-managed list: its name and what it holds."""
        parts = self.name.split(".", 3)
        service = parts[3].removeprefix("ipv6.") if len(parts) == 4 and parts[:2] == ["com", "amazonaws"] else ""
        return f"AWS-managed {self.name}: {AWS_MANAGED_LISTS.get(service, 'addresses of an AWS service')}"


def _prefix_length(cidr: str) -> int:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen
    except ValueError:
        return 128


# ------------------------------------------------------------------ what the internet reaches


@dataclass(frozen=True)
class Reach:
    """How the internet reaches a rule's group through one interface."""

    interface: ReachableInterface
    path: Path
    load_balancer: LoadBalancer | None = None  # the interface is this load balancer's (its listeners read)
    listeners: tuple[Listener, ...] = ()  # ... and these of its listeners the rule admits


@dataclass
class Exposure:
    """What the internet reaches in one region: reachable interfaces, load balancers (internet-facing ones by
    their security groups) and the prefix lists its rules name."""

    by_group: dict[str, list[ReachableInterface]] = field(default_factory=dict)
    balancers: dict[str, list[LoadBalancer]] = field(default_factory=dict)  # by the balancer's security group
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)  # by resource id
    prefix_lists: dict[str, PrefixList] = field(default_factory=dict)  # read once per lookup

    @classmethod
    def of(
        cls,
        network_interfaces: Iterable[Mapping[str, Any]],
        route_tables: Iterable[Mapping[str, Any]],
        load_balancers: Iterable[Mapping[str, Any]] = (),
        classic_load_balancers: Iterable[Mapping[str, Any]] = (),
    ) -> Exposure:
        """From the items of the region-wide :data:`DESCRIBE_CALLS` of one region."""
        exposure = cls()
        for interface in reachable_interfaces(network_interfaces, route_tables):
            for group in dict.fromkeys(interface.groups):
                exposure.by_group.setdefault(group, []).append(interface)
        for lb in load_balancers_of(load_balancers, classic_load_balancers):
            exposure.load_balancers[lb.resource_id] = lb
            for group in lb.groups if lb.internet_facing else ():
                exposure.balancers.setdefault(group, []).append(lb)
        return exposure

    def reachable(self, group_id: str, family: int | None = None) -> list[ReachableInterface]:
        """The internet-reachable interfaces carrying the group (over ``family`` when given)."""
        return [i for i in self.by_group.get(group_id, ()) if i.path(family)]

    def exposed_directly(self, group_id: str, family: int | None = None) -> bool:
        return any(i.path(family) for i in self.by_group.get(group_id, ()))

    def load_balancer_of(self, interface: ReachableInterface) -> LoadBalancer | None:
        """The load balancer whose interface it is, when its listeners are known."""
        if interface.resource_type != "load-balancer":
            return None
        lb = self.load_balancers.get(interface.resource_id)
        return lb if lb is not None and lb.listeners is not None else None

    def reaches(self, rule: Rule) -> list[Reach]:
        """How the internet reaches an ingress rule's group over the rule's family: every reachable interface
        carrying it, a load balancer's with the listeners the rule admits (none: not through it)."""
        found = []
        for interface in self.reachable(rule.group_id, family(rule)):
            path = interface.path(family(rule))
            assert path is not None
            lb = self.load_balancer_of(interface)
            listeners = tuple(item for item in lb.listeners or () if item.admitted_by(rule)) if lb else ()
            found.append(Reach(interface, path, lb, listeners))
        return found

    def balancers_admitted(self, rule: Rule) -> list[LoadBalancer]:
        """The internet-facing load balancers whose security group an ingress rule admits."""
        if rule.peer_type != "security-group" or rule.direction == "egress":
            return []
        return self.balancers.get(rule.peer.rpartition("/")[2], [])

    def resolved(self, rule: Rule) -> tuple[Rule, str]:
        """The rule as rated, and how its reason names the source: a customer-managed prefix list becomes its
        widest entry; an AWS-managed one is named for what it holds."""
        listed = self.prefix_lists.get(rule.peer) if rule.peer_type == "prefix-list" else None
        if listed is None:
            return rule, ""
        if listed.aws_managed:
            return rule, f"{rule.peer} ({listed.what()})"
        if not listed.widest:
            return rule, f"{rule.peer} (an empty customer-managed list)"
        shown = f"{listed.widest} (widest entry of {rule.peer} {listed.name})"
        return rule._replace(peer_type=f"ipv{listed.family}", peer=listed.widest), shown


# Snapshot columns look_up reads from the rules it is given (snapshot rows or Rule values)
_GROUP, _DIRECTION, _PEER_TYPE, _PEER = (Rule._fields.index(f) for f in ("group_id", "direction", "peer_type", "peer"))
_SOURCES = ("ipv4", "ipv6", "prefix-list")


def look_up(
    fetch: Fetch,
    group_id: str = "",
    rules: Iterable[Sequence[str]] = (),
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> Exposure:
    """The exposure of one region through ``fetch(call, filter_values)`` (which pages through the call).

    With ``group_id`` (an alert), only the interfaces carrying that group and the route tables
    of their VPCs are read; otherwise (the inventory) the whole region. Route tables are not
    read at all when no interface has a public address. ``rules`` (the region's, or the group's
    for an alert) say what else is read, once: the prefix lists that address or prefix-list ingress
    rules name (of exposed groups; for an alert, of the group), with the entries of the
    customer-managed ones; then the listeners of the ELBv2 load balancers whose reachable
    interfaces carry a group with such a rule (for the inventory, one rated above LOW with
    ``authorized_public_ports``: a typical load balancer's group, open on its authorized public
    ports only, is LOW whatever it listens on, and needs no call).
    """
    interfaces = [i for i in fetch(NETWORK_INTERFACES, [group_id] if group_id else []) if _addresses(i)]
    vpcs = sorted({i.get("VpcId") or "" for i in interfaces} - {""}) if group_id else []
    tables = list(fetch(ROUTE_TABLES, vpcs)) if interfaces else []
    exposure = Exposure.of(interfaces, tables, fetch(LOAD_BALANCERS, []), fetch(CLASSIC_LOAD_BALANCERS, []))
    sourced = [r for r in rules if r[_DIRECTION] not in ("", "egress") and r[_PEER_TYPE] in _SOURCES
               and (r[_GROUP] == group_id if group_id else r[_GROUP] in exposure.by_group)]
    named = sorted({r[_PEER] for r in sourced if r[_PEER_TYPE] == "prefix-list"})
    for item in fetch(PREFIX_LISTS, named) if named else ():
        entries = () if item.get("OwnerId") == "AWS" else fetch(PREFIX_LIST_ENTRIES, [item.get("PrefixListId") or ""])
        listed = PrefixList.of(item, entries)
        exposure.prefix_lists[listed.prefix_list_id] = listed
    # A load balancer's listeners matter only to a rule its interfaces could carry above LOW (an alert: any rule).
    balanced = {g for g, carriers in exposure.by_group.items() if any(i.resource_type == "load-balancer"
                                                                      for i in carriers)}
    groups = {r.group_id for r in as_rules(r for r in sourced if r[_GROUP] in balanced)
              if group_id or _above_low(exposure.resolved(r)[0], authorized_public_ports)}
    for lb in list(exposure.load_balancers.values()):
        carried = any(i.resource_type == "load-balancer" and i.resource_id == lb.resource_id
                      for g in groups for i in exposure.by_group.get(g, ()))
        if lb.arn and lb.listeners is None and carried:
            items = fetch(LISTENERS, [lb.arn])
            lb = replace(lb, listeners=tuple(x for i in items for x in _listeners(i.get("Protocol"), i.get("Port"))))
            exposure.load_balancers[lb.resource_id] = lb
    return exposure


def _above_low(rule: Rule, authorized_public_ports: Collection[int]) -> bool:
    return risk.rank(risk.rate(rule, authorized_public_ports=authorized_public_ports).level) > risk.rank(risk.LOW)


# ------------------------------------------------------------------ escalation

ESCALATION = ", on a group attached to an internet-reachable interface"


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
    return replace(rating, level=level, reason=rating.reason + ESCALATION)


def through(rating: risk.Rating, rule: Rule, reach: Reach,
            authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS) -> risk.Rating:
    """The rating of a (resolved) rule reached through one interface: escalated; through a load balancer's
    interface, escalated when a listener port the rule admits is (the listener's part rated on its own)."""
    if reach.load_balancer is None:
        return escalated(rating, True)
    parts = (risk.rate(item.part_of(rule), authorized_public_ports=authorized_public_ports)
             for item in reach.listeners)
    if any(risk.rank(escalate(p.level, p.peer, True)) > risk.rank(rating.level) for p in parts):
        return escalated(rating, True)
    return rating


def rate_on_group(
    rule: Rule,
    exposure: Exposure | None,
    *,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> risk.Rating:
    """The rating of a rule on its group (:func:`sgwatch.risk.rate` of the rule, its prefix list resolved,
    escalated where the internet reaches it); without exposure, the rule's own."""
    if exposure is None:
        return risk.rate(rule, authorized_public_ports=authorized_public_ports)
    resolved, source = exposure.resolved(rule)
    rating = risk.rate(resolved, authorized_public_ports=authorized_public_ports, source=source)
    if rule.direction == "egress" or rating.peer not in risk.PUBLIC_CLASSES:
        return rating
    reaches = exposure.reaches(resolved)
    best = max((through(rating, resolved, r, authorized_public_ports) for r in reaches),
               key=lambda r: risk.rank(r.level), default=rating)
    closed = [r.load_balancer for r in reaches if r.load_balancer is not None and not r.listeners]
    if best.level == rating.level and closed and len(closed) == len(reaches):
        names = ", ".join(dict.fromkeys(f"{lb.name}, which listens on {lb.listening()}" for lb in closed))
        return replace(rating, reason=f"{rating.reason}; not reachable through load balancer {names}")
    return best


# ------------------------------------------------------------------ the alert's summary


@dataclass(frozen=True)
class ExposedResource:
    resource: str  # instance id or interface description
    interface_id: str
    public_ip: str
    subnet_id: str
    gateway_id: str
    listeners: str = ""  # a load balancer's interface: the ports it accepts


@dataclass(frozen=True)
class GroupExposure:
    """What an alert says of a group's exposure: up to :data:`SUMMARY_LIMIT` resources, and load balancers.

    ``unknown`` names each part of the lookup that could not be made (the verdict is then ``None``
    unless an interface already shows the group exposed)."""

    group_id: str
    resources: tuple[ExposedResource, ...]
    interfaces: int  # every internet-reachable interface carrying the group
    load_balancers: tuple[str, ...]  # names of internet-facing load balancers the group's ingress admits
    unknown: tuple[str, ...] = ()

    @property
    def exposed_directly(self) -> bool:
        return self.interfaces > 0

    @property
    def exposed(self) -> bool | None:
        """Exposed directly or through a load balancer (the SNS attribute ``exposed``); None when not known."""
        if self.exposed_directly or self.load_balancers:
            return True
        return None if self.unknown else False

    def lines(self) -> list[str]:
        """One line per resource (each value through :func:`sgwatch.text.clean`), then the load balancers."""
        lines = []
        for r in self.resources:
            line = " ".join(clean(v, 200) for v in (r.resource, r.interface_id, r.public_ip, r.subnet_id, r.gateway_id)
                            if v)
            lines.append(f"{line} (listening on {clean(r.listeners, 200)} only)" if r.listeners else line)
        if not self.exposed_directly:
            lines.append("not attached to any internet-reachable interface")
        elif self.interfaces > len(self.resources):
            lines.append(f"and {self.interfaces - len(self.resources)} more internet-reachable interfaces")
        lines.extend(f"through internet-facing load balancer {clean(name, 64)}" for name in self.load_balancers)
        lines.extend(f"unknown: {clean(part, 300)}" for part in self.unknown)
        return lines


def summarise(
    group_id: str, exposure: Exposure, rules: Iterable[Rule] = (), limit: int = SUMMARY_LIMIT,
    unknown: Sequence[str] = (),
) -> GroupExposure:
    """The exposure of one group; ``rules`` (the group's rules) find the load balancers its ingress admits;
    ``unknown``: the parts of the lookup that failed."""
    interfaces = sorted(
        exposure.reachable(group_id), key=lambda i: (i.resource_type != "instance", i.resource_id, i.interface_id)
    )
    resources = []
    for interface in interfaces[:limit]:
        path = interface.path()
        assert path is not None
        lb = exposure.load_balancer_of(interface)
        resources.append(ExposedResource(interface.shown_as, interface.interface_id, path.address, interface.subnet_id,
                                         path.gateway_id, lb.listening() if lb else ""))
    names = dict.fromkeys(lb.name for r in rules if r.group_id == group_id for lb in exposure.balancers_admitted(r))
    return GroupExposure(group_id, tuple(resources), len(interfaces), tuple(sorted(names)), tuple(unknown))
