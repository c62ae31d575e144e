"""One corpus of exposure verdicts, each held by the inventory's exposure report and the change alert alike.

Every case is a small region in AWS's describe shapes (interfaces, route tables, ELBv2 and Classic load
balancers with their listeners, managed prefix lists with their entries) and the rules of its groups.
The inventory reads the region (``look_up`` with every rule) and writes its rows (``exposure_rows``); the
alert reads the changed group (``look_up`` narrowed to it, as sg_change_notifier does), rates the changed
rule (``severity.rate_rule``) and says whether the group is exposed (``ExposureSection``). Both must give
the case's verdict: the severity of the rule (the report's rows of the rule, or the alert's level) and
``exposed`` (``true`` whenever the report has a row for the group).

The cases rebuild the scenarios of the exposure checks of Prowler (instance ports exposed to the internet,
public instances, internet-facing ELBv2, high-risk TCP ports), written from their described behaviour, and
the services of Security Hub control EC2.19 and CIS AWS Foundations 5.x.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from sgwatch import exposure, exposure_report, risk
from sgwatch.rules import Rule
from sgwatch.sg_change_alerts import severity
from sgwatch.sg_change_alerts.alerts import ExposureSection
from tests.unit.fake_describe import FakeDescribe

ACCOUNT, REGION = "111122223333", "eu-west-1"
ALB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"


def interface(eni_id: str, groups: Sequence[str], *, subnet: str = "subnet-public", public_ip: str = "",
              instance: str = "", description: str = "", secondary_ip: str = "") -> dict[str, Any]:
    """A DescribeNetworkInterfaces item as AWS returns it: the primary address's association at the top
    level and again under its PrivateIpAddresses entry; a secondary address's association only there."""
    primary: dict[str, Any] = {"Primary": True, "PrivateIpAddress": "10.0.1.10"}
    item: dict[str, Any] = {
        "NetworkInterfaceId": eni_id, "SubnetId": subnet, "VpcId": "vpc-1", "Status": "in-use",
        "InterfaceType": "interface", "Description": description, "PrivateIpAddress": "10.0.1.10",
        "Groups": [{"GroupId": g, "GroupName": g} for g in groups], "Ipv6Addresses": [],
        "PrivateIpAddresses": [primary],
    }
    if public_ip:
        item["Association"] = primary["Association"] = {"PublicIp": public_ip, "IpOwnerId": "amazon"}
    if secondary_ip:
        item["PrivateIpAddresses"].append({"Primary": False, "PrivateIpAddress": "10.0.1.11", "Association": {
            "PublicIp": secondary_ip, "IpOwnerId": ACCOUNT, "AllocationId": "eipalloc-1"}})
    if instance:
        item["Attachment"] = {"InstanceId": instance, "Status": "attached", "DeviceIndex": 0}
    return item


def route_table(table_id: str, subnet: str, routes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"RouteTableId": table_id, "VpcId": "vpc-1", "Routes": [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}, *routes],
        "Associations": [{"RouteTableId": table_id, "SubnetId": subnet, "Main": False,
                          "AssociationState": {"State": "associated"}}]}


TABLES = [
    route_table("rtb-public", "subnet-public", [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1",
                                                 "State": "active"}]),
    route_table("rtb-private", "subnet-private", [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1",
                                                   "State": "active"}]),
]
WEB = interface("eni-web", ["sg-web"], public_ip="198.51.100.10", instance="i-web")  # a public instance
PRIVATE = interface("eni-db", ["sg-db"], subnet="subnet-private", public_ip="198.51.100.11", instance="i-db")
ALB_NODES = [interface(f"eni-alb{n}", ["sg-alb"], public_ip=f"198.51.100.2{n}",
                       description="ELB app/web/50dc6c495c0c9188") for n in (1, 2)]
CLB_NODE = interface("eni-clb", ["sg-clb"], public_ip="198.51.100.30", description="ELB classic-web")


def alb(groups: Sequence[str] = ("sg-alb",)) -> dict[str, Any]:
    return {"LoadBalancerArn": ALB_ARN, "LoadBalancerName": "web", "Scheme": "internet-facing", "VpcId": "vpc-1",
            "Type": "application", "State": {"Code": "active"}, "SecurityGroups": list(groups),
            "IpAddressType": "ipv4"}


def listener(port: int, protocol: str = "HTTPS") -> dict[str, Any]:
    return {"ListenerArn": f"{ALB_ARN.replace(':loadbalancer/', ':listener/')}/{port:016x}",
            "LoadBalancerArn": ALB_ARN, "Port": port, "Protocol": protocol}


def classic(scheme: str = "internet-facing") -> dict[str, Any]:
    """An elb DescribeLoadBalancers item (LoadBalancerDescriptions) in a VPC."""
    return {"LoadBalancerName": "classic-web", "DNSName": "classic-web-1.eu-west-1.elb.amazonaws.com",
            "Scheme": scheme, "VPCId": "vpc-1", "Subnets": ["subnet-public"], "SecurityGroups": ["sg-clb"],
            "SourceSecurityGroup": {"OwnerAlias": ACCOUNT, "GroupName": "classic-web-sg"},
            "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80,
                                                   "InstanceProtocol": "HTTP", "InstancePort": 8080},
                                      "PolicyNames": []}]}


def prefix_list(pl_id: str, name: str, owner: str = ACCOUNT, family: str = "IPv4") -> dict[str, Any]:
    return {"PrefixListId": pl_id, "AddressFamily": family, "State": "create-complete", "PrefixListName": name,
            "PrefixListArn": f"arn:aws:ec2:{REGION}:{owner}:prefix-list/{pl_id}", "OwnerId": owner,
            "MaxEntries": 10, "Version": 1}


PREFIX_LISTS = [prefix_list("pl-open", "everyone"), prefix_list("pl-office", "office"),
                prefix_list("pl-0cf", "com.amazonaws.global.cloudfront.origin-facing", owner="AWS")]
ENTRIES = {"pl-open": [{"Cidr": "0.0.0.0/0", "Description": "temporary"}],
           "pl-office": [{"Cidr": "10.0.0.0/8"}, {"Cidr": "8.8.8.8/32", "Description": "office"}],
           "pl-0cf": [{"Cidr": "13.32.0.0/15"}]}


def rule(group: str, protocol: str, port: int | str, peer: str = "0.0.0.0/0", peer_type: str = "") -> Rule:
    low = high = str(port)
    if "-" in str(port)[1:]:
        low, high = str(port).split("-")
    peer_type = peer_type or ("prefix-list" if peer.startswith("pl-") else "security-group"
                              if peer.startswith("sg-") else "ipv6" if ":" in peer else "ipv4")
    return Rule(ACCOUNT, REGION, "vpc-1", group, group, "", "ingress", f"sgr-{group}-{protocol}-{port}-{peer}",
                protocol, low, high, peer_type, peer, "")


@dataclass(frozen=True)
class Case:
    """A region, the rule of interest (the one an alert is about) and the verdict both must give."""

    changed: Rule
    severity: str  # the rule's level in the report's rows and the alert
    exposed: str  # the alert's ``exposed`` attribute
    via: tuple[str, ...] = ()  # the report's rows of the rule (``Via``); () = none
    interfaces: Sequence[Mapping[str, Any]] = (WEB, PRIVATE)
    balancers: Sequence[Mapping[str, Any]] = ()
    classic: Sequence[Mapping[str, Any]] = ()
    listeners: Sequence[Mapping[str, Any]] = (listener(443),)
    others: Sequence[Rule] = ()  # the other rules of the region
    words: str = ""  # in the alert's reason
    items: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"DescribeNetworkInterfaces": list(self.interfaces), "DescribeRouteTables": TABLES,
                "DescribeLoadBalancers": list(self.balancers), "DescribeListeners": {ALB_ARN: list(self.listeners)},
                "DescribeManagedPrefixLists": PREFIX_LISTS, "GetManagedPrefixListEntries": ENTRIES,
                "LoadBalancerDescriptions": list(self.classic), **self.items}


@dataclass(frozen=True)
class Verdicts:
    report: list[exposure_report.ExposureRow]  # the rows of the changed rule
    group_rows: int
    alert_level: str
    alert_reason: str
    exposed: str


def verdicts(case: Case) -> Verdicts:
    rules = [case.changed, *case.others]
    # the inventory: the whole region, every rule
    region = exposure.look_up(FakeDescribe(case.describe()), rules=rules)
    rows = exposure_report.exposure_rows(rules, region)
    # the alert: the changed group, its rules
    group = case.changed.group_id
    own = [r for r in rules if r.group_id == group]
    found = exposure.look_up(FakeDescribe(case.describe()), group, rules=own)
    level, reason = severity.rate_rule(case.changed, found)
    section = ExposureSection.of(exposure.summarise(group, found, own))
    return Verdicts([r for r in rows if r.rule_id == case.changed.rule_id],
                    sum(1 for r in rows if r.group_id == group), level, reason, section.attribute())


def check(case: Case) -> Verdicts:
    found = verdicts(case)
    # the case's verdict
    assert (found.alert_level, found.exposed) == (case.severity, case.exposed)
    assert sorted(r.via for r in found.report) == sorted(case.via)
    assert case.words in found.alert_reason
    # and the report agrees with the alert
    if found.report:
        assert max((r.severity for r in found.report), key=risk.rank) == found.alert_level
    if found.group_rows:
        assert found.exposed == "true"
    return found


# ------------------------------------------------------------------ 1. the services the model knows

# (port, service) of Prowler's instance-port checks and Security Hub EC2.19 that the model did not know
NEW_SERVICES = [(20, "FTP data"), (25, "SMTP"), (110, "POP3"), (143, "IMAP"), (389, "LDAP"), (636, "LDAPS"),
                (88, "Kerberos"), (464, "Kerberos password"), (749, "Kerberos admin"), (750, "Kerberos IV"),
                (1434, "SQL Server Browser"), (2483, "Oracle"), (2484, "Oracle"), (7000, "Cassandra"),
                (7001, "Cassandra"), (7199, "Cassandra"), (9160, "Cassandra"), (9092, "Kafka"),
                (9300, "Elasticsearch"), (5601, "Kibana"), (27018, "MongoDB"), (3000, "development web server"),
                (4333, "mSQL admin web"), (5000, "development web server"), (5500, "development web server"),
                (8080, "alternate HTTP"), (8088, "alternate HTTP"), (8888, "alternate HTTP")]
KNOWN_SERVICES = [(22, "SSH"), (23, "Telnet"), (21, "FTP"), (3389, "RDP"), (1433, "SQL Server"), (1521, "Oracle"),
                  (3306, "MySQL"), (5432, "PostgreSQL"), (6379, "Redis"), (9042, "Cassandra"), (9200, "Elasticsearch"),
                  (11211, "Memcached"), (27017, "MongoDB"), (139, "NetBIOS"), (445, "SMB")]


@pytest.mark.parametrize(("port", "name"), NEW_SERVICES + KNOWN_SERVICES)
def test_a_world_open_service_on_an_internet_reachable_instance_is_critical(port: int, name: str) -> None:
    check(Case(rule("sg-web", "tcp", port), "CRITICAL", "true", ("interface",), words=f"{name} ({port})"))


@pytest.mark.parametrize(("port", "name"), NEW_SERVICES)
def test_the_same_service_without_a_route_to_the_internet_is_high(port: int, name: str) -> None:
    check(Case(rule("sg-db", "tcp", port), "HIGH", "false", words=f"{name} ({port})"))


@pytest.mark.parametrize(("r", "level", "exposed", "via"), [
    # services are protocol-aware: udp 22 is not SSH, udp 1434 is the SQL Server Browser
    (rule("sg-web", "udp", 22), "HIGH", "true", ("interface",)),
    (rule("sg-web", "udp", 1434), "CRITICAL", "true", ("interface",)),
    # a source split in halves is still the world; a wide public range rises a level, a narrow one does not
    (rule("sg-web", "tcp", 22, "0.0.0.0/1"), "CRITICAL", "true", ("interface",)),
    (rule("sg-web", "tcp", 22, "8.8.0.0/16"), "HIGH", "true", ("interface",)),
    (rule("sg-web", "tcp", 22, "8.8.8.8/32"), "LOW", "true", ("interface",)),
    # an authorized public port, the whole range, all traffic
    (rule("sg-web", "tcp", 443), "LOW", "true", ("interface",)),
    (rule("sg-web", "tcp", "0-65535"), "CRITICAL", "true", ("interface",)),
    (rule("sg-web", "-1", ""), "CRITICAL", "true", ("interface",)),
    # IPv6 from anywhere on an instance without an IPv6 address: not reachable over IPv6
    (rule("sg-web", "tcp", 22, "::/0"), "HIGH", "true", ()),
    # a public address behind a NAT gateway's route, and a group nothing carries
    (rule("sg-db", "tcp", 22), "HIGH", "false", ()),
    (rule("sg-none", "tcp", 22), "HIGH", "false", ()),
], ids=lambda v: v.rule_id if isinstance(v, Rule) else None)
def test_instance_exposure(r: Rule, level: str, exposed: str, via: tuple[str, ...]) -> None:
    check(Case(r, level, exposed, via))


# ------------------------------------------------------------------ 2. load balancers accept their listeners only


ALB = {"interfaces": (WEB, *ALB_NODES), "balancers": (alb(),)}


@pytest.mark.parametrize(("r", "level", "via", "words"), [
    # what the listener does not take never reaches the group through the load balancer
    (rule("sg-alb", "tcp", 22), "HIGH", (), "not reachable through load balancer web, which listens on tcp 443"),
    (rule("sg-alb", "-1", ""), "HIGH", ("interface", "interface"), "all traffic"),
    (rule("sg-alb", "tcp", "0-65535"), "HIGH", ("interface", "interface"), ""),
    # the listener's own port: reachable, an authorized public port
    (rule("sg-alb", "tcp", 443), "LOW", ("interface", "interface"), ""),
], ids=lambda v: v.rule_id if isinstance(v, Rule) else None)
def test_a_load_balancers_group_is_reachable_on_its_listener_ports_only(r: Rule, level: str, via: tuple[str, ...],
                                                                         words: str) -> None:
    check(Case(r, level, "true", via, words=words, **ALB))


def test_a_listener_on_a_sensitive_port_makes_it_critical() -> None:
    check(Case(rule("sg-alb", "-1", ""), "CRITICAL", "true", ("interface", "interface"),
               listeners=(listener(443), listener(8080, "HTTP")), **ALB))


def test_a_backend_admitting_an_internet_facing_alb_is_exposed_through_it() -> None:
    check(Case(rule("sg-app", "tcp", 8080, "sg-alb"), "LOW", "true", ("load-balancer:web",), **ALB))


def test_the_listeners_are_read_for_the_load_balancers_whose_interfaces_matter_only() -> None:
    def listener_calls(rules: Sequence[Rule], group_id: str = "") -> list[tuple[str, ...]]:
        fetch = FakeDescribe(Case(rules[0], "", "", **ALB).describe())
        exposure.look_up(fetch, group_id, rules=rules)
        return [values for op, values, _ in fetch.calls if op == "DescribeListeners"]

    # a rule above LOW on the load balancer's group: its listeners decide
    assert listener_calls([rule("sg-alb", "tcp", 22)]) == [(ALB_ARN,)]
    # no rule of its group, or only authorized public ports (LOW through any listener): not read by the inventory
    assert listener_calls([rule("sg-web", "tcp", 22)]) == []
    assert listener_calls([rule("sg-alb", "tcp", 443), rule("sg-alb", "tcp", 80)]) == []
    # an alert on its group reads them (one group, one call)
    assert listener_calls([rule("sg-alb", "tcp", 443)], "sg-alb") == [(ALB_ARN,)]


# ------------------------------------------------------------------ 3. prefix lists


@pytest.mark.parametrize(("r", "level", "exposed", "via", "words"), [
    # a customer-managed list is rated by its widest entry
    (rule("sg-web", "tcp", 22, "pl-open"), "CRITICAL", "true", ("interface",), "0.0.0.0/0 (widest entry of pl-open"),
    (rule("sg-db", "tcp", 22, "pl-open"), "HIGH", "false", (), "widest entry of pl-open"),
    (rule("sg-web", "tcp", 22, "pl-office"), "LOW", "true", ("interface",), "8.8.8.8/32 (widest entry"),
    # an AWS-managed list is named for what it is
    (rule("sg-web", "tcp", 443, "pl-0cf"), "LOW", "true", (), "CloudFront's origin-facing servers"),
], ids=lambda v: v.rule_id if isinstance(v, Rule) else None)
def test_a_prefix_list_is_rated_by_what_it_holds(r: Rule, level: str, exposed: str, via: tuple[str, ...],
                                                 words: str) -> None:
    check(Case(r, level, exposed, via, words=words))


def test_prefix_lists_are_read_once_per_lookup_and_only_when_a_rule_of_an_exposed_group_names_one() -> None:
    rules = [rule("sg-web", "tcp", 22, "pl-open"), rule("sg-web", "tcp", 23, "pl-open"),
             rule("sg-db", "tcp", 22, "pl-office"), rule("sg-web", "tcp", 443, "pl-0cf")]
    fetch = FakeDescribe(Case(rules[0], "", "").describe())
    exposure.look_up(fetch, rules=rules)
    assert [(op, values) for op, values, _ in fetch.calls if "PrefixList" in op] == [
        ("DescribeManagedPrefixLists", ("pl-0cf", "pl-open")), ("GetManagedPrefixListEntries", ("pl-open",))]
    fetch = FakeDescribe(Case(rules[0], "", "").describe())
    exposure.look_up(fetch, rules=[rule("sg-web", "tcp", 22, "10.0.0.0/8")])
    assert not [op for op in fetch.operations() if "PrefixList" in op]


# ------------------------------------------------------------------ 4. Classic Load Balancers


def test_a_backend_admitting_an_internet_facing_classic_load_balancer_is_exposed_through_it() -> None:
    check(Case(rule("sg-app", "tcp", 8080, "sg-clb"), "LOW", "true", ("load-balancer:classic-web",),
               classic=(classic(),)))


def test_an_internal_classic_load_balancer_exposes_nothing() -> None:
    check(Case(rule("sg-app", "tcp", 8080, "sg-clb"), "LOW", "false", classic=(classic("internal"),)))


def test_a_classic_load_balancers_group_is_reachable_on_its_listener_ports_only() -> None:
    nodes = {"interfaces": (CLB_NODE,), "classic": (classic(),)}
    check(Case(rule("sg-clb", "tcp", 22), "HIGH", "true", words="listens on tcp 80", **nodes))
    check(Case(rule("sg-clb", "tcp", 80), "LOW", "true", ("interface",), **nodes))


# ------------------------------------------------------------------ 6. every private address counts


def test_an_elastic_ip_on_a_secondary_private_address_makes_the_interface_reachable() -> None:
    secondary = interface("eni-2nd", ["sg-2nd"], instance="i-2nd", secondary_ip="203.0.113.200")
    found = check(Case(rule("sg-2nd", "tcp", 22), "CRITICAL", "true", ("interface",), interfaces=(secondary,)))
    assert [r.public_ip for r in found.report] == ["203.0.113.200"]


# ------------------------------------------------------------------ 5. a part that cannot be read is never a verdict


@pytest.mark.parametrize(("operation", "rules", "group_id"), [
    ("DescribeListeners", [rule("sg-alb", "tcp", 22)], ""),
    ("DescribeListeners", [rule("sg-alb", "tcp", 443)], "sg-alb"),
    ("DescribeManagedPrefixLists", [rule("sg-web", "tcp", 22, "pl-open")], ""),
    ("GetManagedPrefixListEntries", [rule("sg-web", "tcp", 22, "pl-open")], "sg-web"),
    ("DescribeLoadBalancers", [rule("sg-app", "tcp", 8080, "sg-clb")], "sg-app"),
])
def test_a_part_that_cannot_be_read_fails_the_lookup(operation: str, rules: list[Rule], group_id: str) -> None:
    # Given one of the calls refused, when the region or a group is looked up, then the lookup fails (the inventory
    # writes no report for the pair, the alert says "Exposure: not looked up: <code> on <operation>", exposed
    # unknown) rather than giving a verdict without that part
    from botocore.exceptions import ClientError

    items = Case(rules[0], "", "", **ALB).describe()
    with pytest.raises(ClientError) as refused:
        exposure.look_up(FakeDescribe(items, failing={operation: "Throttling"}), group_id, rules=rules)
    assert refused.value.operation_name == operation
