"""Effective exposure (sgwatch/exposure.py): reachable interfaces, exposed groups, escalation, report, summary.

The describe items are shaped as EC2 DescribeNetworkInterfaces / DescribeRouteTables and ELBv2
DescribeLoadBalancers return them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from hypothesis import given, strategies as st

from sgwatch import exposure, exposure_report, risk
from sgwatch.csvio import from_csv, to_csv
from sgwatch.exposure import Exposure, escalate
from sgwatch.exposure_report import EXPOSURE_HEADER
from sgwatch.rules import Rule
from tests.iam_reference import check_statement
from tests.unit.fake_describe import FakeDescribe

ACCOUNT, REGION = "111122223333", "eu-west-1"
LB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"


def eni(eni_id: str, subnet: str, groups: Sequence[str], *, vpc: str = "vpc-1", public_ip: str = "",
        ipv6: Sequence[str] = (), instance: str = "", description: str = "", status: str = "in-use",
        interface_type: str = "interface", deny_igw: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "NetworkInterfaceId": eni_id, "SubnetId": subnet, "VpcId": vpc, "Status": status,
        "InterfaceType": interface_type, "Description": description, "PrivateIpAddress": "10.0.1.10",
        "Groups": [{"GroupId": g, "GroupName": g.replace("sg-", "")} for g in groups],
        "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": False} for a in ipv6],
    }
    if public_ip:
        item["Association"] = {"PublicIp": public_ip, "IpOwnerId": "amazon", "PublicDnsName": ""}
    if instance:
        item["Attachment"] = {"InstanceId": instance, "Status": "attached", "DeviceIndex": 0}
    if deny_igw:
        item["DenyAllIgwTraffic"] = True
    return item


def table(table_id: str, vpc: str, routes: Sequence[Mapping[str, Any]], subnets: Sequence[str] = (),
          main: bool = False) -> dict[str, Any]:
    associations: list[dict[str, Any]] = [
        {"RouteTableAssociationId": f"rtbassoc-{s}", "RouteTableId": table_id, "SubnetId": s, "Main": False,
         "AssociationState": {"State": "associated"}} for s in subnets
    ]
    if main:
        associations.append({"RouteTableAssociationId": f"rtbassoc-main-{vpc}", "RouteTableId": table_id,
                             "Main": True, "AssociationState": {"State": "associated"}})
    local = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable",
             "State": "active"}
    return {"RouteTableId": table_id, "VpcId": vpc, "Associations": associations, "Routes": [local, *routes]}


def v4(gateway: str, state: str = "active") -> dict[str, Any]:
    return {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": gateway, "Origin": "CreateRoute", "State": state}


def v6(gateway: str = "", egress_only: str = "") -> dict[str, Any]:
    route: dict[str, Any] = {"DestinationIpv6CidrBlock": "::/0", "Origin": "CreateRoute", "State": "active"}
    if gateway:
        route["GatewayId"] = gateway
    if egress_only:
        route["EgressOnlyInternetGatewayId"] = egress_only
    return route


def lb(name: str, groups: Sequence[str], scheme: str = "internet-facing") -> dict[str, Any]:
    return {"LoadBalancerArn": LB_ARN.replace("/web/", f"/{name}/"), "LoadBalancerName": name, "Scheme": scheme,
            "VpcId": "vpc-1", "Type": "application", "State": {"Code": "active"}, "SecurityGroups": list(groups),
            "IpAddressType": "ipv4"}


def rule(group: str, protocol: str, low: str, high: str, peer: str, peer_type: str = "ipv4", rule_id: str = "",
         direction: str = "ingress", name: str = "") -> Rule:
    return Rule(ACCOUNT, REGION, "vpc-1", group, name or group.replace("sg-", ""), "", direction,
                rule_id or f"sgr-{group}-{low}-{peer}", protocol, low, high, peer_type, peer, "")


# A VPC with an internet gateway: a public subnet (explicit table to igw-1, both families), a private subnet
# (explicitly associated, default route to a NAT gateway), subnets that fall back to the main table (no
# default route), an IPv6 subnet behind an egress-only gateway, and a subnet whose igw route is a blackhole.
# A second VPC whose main table routes to its internet gateway.
TABLES = [
    table("rtb-main", "vpc-1", [], main=True),
    table("rtb-public", "vpc-1", [v4("igw-1"), v6("igw-1")], ["subnet-public"]),
    table("rtb-private", "vpc-1", [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}],
          ["subnet-private"]),
    table("rtb-eigw", "vpc-1", [v4("igw-1", "blackhole"), v6(egress_only="eigw-1")], ["subnet-eigw"]),
    table("rtb-v6", "vpc-1", [v6("igw-1")], ["subnet-v6"]),
    table("rtb-main2", "vpc-2", [v4("igw-2")], main=True),
    table("rtb-closed2", "vpc-2", [], ["subnet-closed2"]),
]


def exposure_of(*interfaces: Mapping[str, Any], balancers: Iterable[Mapping[str, Any]] = ()) -> Exposure:
    return Exposure.of(interfaces, TABLES, balancers)


# ------------------------------------------------------------------ which interfaces are reachable


@pytest.mark.parametrize(
    ("interface", "paths"),
    [
        # public IPv4 in a subnet explicitly routed to the internet gateway
        (eni("eni-1", "subnet-public", ["sg-web"], public_ip="198.51.100.10", instance="i-1"),
         [(4, "198.51.100.10", "rtb-public", "igw-1")]),
        # the same without a public address
        (eni("eni-2", "subnet-public", ["sg-web"], instance="i-2"), []),
        # a public address in a private subnet (explicit table, default route to NAT)
        (eni("eni-3", "subnet-private", ["sg-web"], public_ip="198.51.100.11"), []),
        # no explicit association: the VPC's main table decides (vpc-1: no default route; vpc-2: igw-2)
        (eni("eni-4", "subnet-implicit", ["sg-web"], public_ip="198.51.100.12"), []),
        (eni("eni-5", "subnet-implicit2", ["sg-web"], vpc="vpc-2", public_ip="198.51.100.13"),
         [(4, "198.51.100.13", "rtb-main2", "igw-2")]),
        # an explicit association wins over a main table that routes to the internet
        (eni("eni-6", "subnet-closed2", ["sg-web"], vpc="vpc-2", public_ip="198.51.100.14"), []),
        # IPv6 only: a global address and ::/0 to the internet gateway
        (eni("eni-7", "subnet-v6", ["sg-web"], ipv6=["2600:1f18::7"]), [(6, "2600:1f18::7", "rtb-v6", "igw-1")]),
        # both families
        (eni("eni-8", "subnet-public", ["sg-web"], public_ip="198.51.100.15", ipv6=["2600:1f18::8"]),
         [(4, "198.51.100.15", "rtb-public", "igw-1"), (6, "2600:1f18::8", "rtb-public", "igw-1")]),
        # an egress-only gateway does not count, nor does a blackhole route to an internet gateway
        (eni("eni-9", "subnet-eigw", ["sg-web"], public_ip="198.51.100.16", ipv6=["2600:1f18::9"]), []),
        # an IPv6 address that is not global, and an interface that drops internet gateway traffic
        (eni("eni-10", "subnet-public", ["sg-web"], ipv6=["fd00::10"]), []),
        (eni("eni-11", "subnet-public", ["sg-web"], ipv6=["2600:1f18::11"], deny_igw=True), []),
        # attached to nothing: nothing behind the address
        (eni("eni-12", "subnet-public", ["sg-web"], public_ip="198.51.100.17", status="available"), []),
        # a subnet whose route table is unknown
        (eni("eni-13", "subnet-x", ["sg-web"], vpc="vpc-9", public_ip="198.51.100.18"), []),
    ],
)
def test_reachable_interfaces(interface: dict[str, Any], paths: list[tuple[int, str, str, str]]) -> None:
    found = exposure.reachable_interfaces([interface], TABLES)
    assert [(p.family, p.address, p.route_table_id, p.gateway_id) for i in found for p in i.paths] == paths


def test_a_disassociated_subnet_falls_back_to_the_main_table() -> None:
    tables = [table("rtb-main", "vpc-1", [v4("igw-1")], main=True), table("rtb-old", "vpc-1", [], ["subnet-a"])]
    tables[1]["Associations"][0]["AssociationState"] = {"State": "disassociated"}
    found = exposure.reachable_interfaces([eni("eni-1", "subnet-a", ["sg-1"], public_ip="198.51.100.1")], tables)
    assert [p.route_table_id for i in found for p in i.paths] == ["rtb-main"]


@pytest.mark.parametrize(
    ("interface", "kind", "resource", "shown"),
    [
        (eni("eni-1", "subnet-public", [], public_ip="198.51.100.1", instance="i-0abc", description="primary"),
         "instance", "i-0abc", "i-0abc"),
        (eni("eni-2", "subnet-public", [], public_ip="198.51.100.2", description="ELB app/web/50dc6c495c0c9188"),
         "load-balancer", "app/web/50dc6c495c0c9188", "ELB app/web/50dc6c495c0c9188"),
        (eni("eni-3", "subnet-public", [], public_ip="198.51.100.3", description="Interface for NAT Gateway nat-1",
             interface_type="natGateway"), "natGateway", "Interface for NAT Gateway nat-1",
         "Interface for NAT Gateway nat-1"),
        (eni("eni-4", "subnet-public", [], public_ip="198.51.100.4"), "network-interface", "eni-4", "eni-4"),
    ],
)
def test_what_an_interface_belongs_to(interface: dict[str, Any], kind: str, resource: str, shown: str) -> None:
    [found] = exposure.reachable_interfaces([interface], TABLES)
    assert (found.resource_type, found.resource_id, found.shown_as) == (kind, resource, shown)


# ------------------------------------------------------------------ exposed groups and load balancers


def estate() -> Exposure:
    return exposure_of(
        eni("eni-web", "subnet-public", ["sg-web", "sg-shared"], public_ip="198.51.100.10", instance="i-web"),
        eni("eni-app", "subnet-private", ["sg-app", "sg-shared"], instance="i-app"),
        eni("eni-v6", "subnet-v6", ["sg-v6"], ipv6=["2600:1f18::7"], instance="i-v6"),
        eni("eni-alb", "subnet-public", ["sg-alb"], public_ip="198.51.100.20",
            description="ELB app/web/50dc6c495c0c9188"),
        balancers=[lb("web", ["sg-alb"]), lb("inside", ["sg-internal-lb"], scheme="internal")],
    )


def test_a_group_is_exposed_when_a_reachable_interface_carries_it() -> None:
    found = estate()
    assert sorted(found.by_group) == ["sg-alb", "sg-shared", "sg-v6", "sg-web"]
    assert found.exposed_directly("sg-web") and found.exposed_directly("sg-shared")
    assert not found.exposed_directly("sg-app") and not found.exposed_directly("sg-unattached")
    # per address family: the IPv6-only instance is not reachable over IPv4
    assert found.exposed_directly("sg-v6", 6) and not found.exposed_directly("sg-v6", 4)


def test_a_group_is_exposed_through_an_internet_facing_load_balancer_its_ingress_admits() -> None:
    found = estate()
    from_alb = rule("sg-app", "tcp", "8080", "8080", "sg-alb", "security-group")
    cross_account = rule("sg-app", "tcp", "8080", "8080", f"{ACCOUNT}/sg-alb", "security-group")
    from_internal_lb = rule("sg-app", "tcp", "8080", "8080", "sg-internal-lb", "security-group")
    egress_to_alb = rule("sg-app", "tcp", "8080", "8080", "sg-alb", "security-group", direction="egress")
    assert [b.name for b in found.balancers_admitted(from_alb)] == ["web"]
    assert [b.name for b in found.balancers_admitted(cross_account)] == ["web"]
    assert found.balancers_admitted(from_internal_lb) == [] and found.balancers_admitted(egress_to_alb) == []
    # and the balancer's own group is exposed directly, through its interfaces
    assert [i.resource_id for i in found.reachable("sg-alb")] == ["app/web/50dc6c495c0c9188"]


def test_a_load_balancer_without_security_groups_exposes_no_group_by_reference() -> None:
    found = exposure_of(balancers=[lb("nlb", [])])
    assert found.balancers == {}


# ------------------------------------------------------------------ escalation


@pytest.mark.parametrize(
    ("level", "peer_class", "exposed_directly", "result"),
    [
        ("HIGH", "world", True, "CRITICAL"),
        ("MEDIUM", "world", True, "HIGH"),
        ("MEDIUM", "wide-public", True, "HIGH"),
        ("LOW", "world", True, "LOW"),  # an authorized public port
        ("LOW", "wide-public", True, "LOW"),
        ("LOW", "narrow-public", True, "LOW"),
        ("LOW", "internal", True, "LOW"),
        ("LOW", "group", True, "LOW"),
        ("MEDIUM", "unknown", True, "MEDIUM"),
        ("HIGH", "world", False, "HIGH"),
        ("MEDIUM", "wide-public", False, "MEDIUM"),
    ],
)
def test_escalate(level: str, peer_class: str, exposed_directly: bool, result: str) -> None:
    assert escalate(level, peer_class, exposed_directly) == result


@given(level=st.sampled_from(risk.LEVELS[:-1]), peer_class=st.sampled_from(
    [risk.WORLD, risk.WIDE_PUBLIC, risk.NARROW_PUBLIC, risk.INTERNAL, risk.GROUP, risk.PREFIX_LIST, risk.UNKNOWN]),
    exposed_directly=st.booleans())
def test_escalation_rises_at_most_one_level_and_only_on_exposed_groups(level: str, peer_class: str,
                                                                       exposed_directly: bool) -> None:
    result = escalate(level, peer_class, exposed_directly)
    assert risk.rank(result) - risk.rank(level) in ((0, 1) if exposed_directly else (0,))


@pytest.mark.parametrize(
    ("r", "level"),
    [
        (rule("sg-web", "tcp", "22", "22", "0.0.0.0/0"), "CRITICAL"),
        (rule("sg-web", "tcp", "3306", "3306", "0.0.0.0/0"), "CRITICAL"),
        (rule("sg-web", "tcp", "3306", "3306", "0.0.0.0/1"), "CRITICAL"),
        (rule("sg-web", "tcp", "8443", "8443", "0.0.0.0/0"), "HIGH"),
        (rule("sg-web", "tcp", "22", "22", "8.8.0.0/16"), "HIGH"),
        (rule("sg-web", "tcp", "443", "443", "0.0.0.0/0"), "LOW"),
        (rule("sg-web", "tcp", "22", "22", "8.8.8.8/32"), "LOW"),
        (rule("sg-web", "tcp", "22", "22", "10.0.0.0/8"), "LOW"),
        (rule("sg-web", "tcp", "22", "22", "0.0.0.0/0", direction="egress"), "LOW"),
        # not exposed: the rule's own level
        (rule("sg-app", "tcp", "22", "22", "0.0.0.0/0"), "HIGH"),
        (rule("sg-unattached", "tcp", "22", "22", "0.0.0.0/0"), "HIGH"),
        # exposed only through a load balancer: reported, not escalated
        (rule("sg-app", "tcp", "8443", "8443", "0.0.0.0/0"), "MEDIUM"),
        # IPv6-only reachable: the IPv6 rule rises, the IPv4 one does not
        (rule("sg-v6", "tcp", "22", "22", "::/0", "ipv6"), "CRITICAL"),
        (rule("sg-v6", "tcp", "22", "22", "0.0.0.0/0"), "HIGH"),
    ],
)
def test_rate_on_group(r: Rule, level: str) -> None:
    rating = exposure.rate_on_group(r, estate())
    assert rating.level == level
    raised = risk.rank(level) > risk.rank(risk.rate(r).level)
    assert ("internet-reachable interface" in rating.reason) is raised


def test_without_exposure_a_rule_keeps_its_own_rating_and_authorized_ports_pass_through() -> None:
    r = rule("sg-web", "tcp", "8443", "8443", "0.0.0.0/0")
    assert exposure.rate_on_group(r, None) == risk.rate(r)
    assert exposure.rate_on_group(r, estate(), authorized_public_ports=(8443,)).level == "LOW"
    assert exposure.rate_on_group(r, estate()).level == "HIGH"


# ------------------------------------------------------------------ the exposure report


RULES = [
    rule("sg-web", "tcp", "22", "22", "0.0.0.0/0", rule_id="sgr-ssh"),
    rule("sg-web", "tcp", "443", "443", "0.0.0.0/0", rule_id="sgr-https"),
    rule("sg-web", "tcp", "22", "22", "10.0.0.0/8", rule_id="sgr-private"),
    rule("sg-web", "tcp", "3306", "3306", "0.0.0.0/1", rule_id="sgr-mysql-half"),
    rule("sg-web", "-1", "", "", "0.0.0.0/0", rule_id="sgr-egress", direction="egress"),
    rule("sg-app", "tcp", "8080", "8080", "sg-alb", "security-group", rule_id="sgr-from-alb"),
    rule("sg-app", "tcp", "22", "22", "0.0.0.0/0", rule_id="sgr-app-ssh"),
    rule("sg-alb", "tcp", "443", "443", "0.0.0.0/0", rule_id="sgr-alb-https", name="=HYPERLINK(\"x\")"),
    rule("sg-v6", "tcp", "22", "22", "::/0", "ipv6", rule_id="sgr-v6-ssh"),
    rule("sg-v6", "tcp", "22", "22", "0.0.0.0/0", rule_id="sgr-v6-ssh4"),
    rule("sg-unattached", "tcp", "22", "22", "0.0.0.0/0", rule_id="sgr-lonely"),
    Rule(ACCOUNT, REGION, "vpc-1", "sg-empty", "empty", "", "", "", "", "", "", "", "", ""),
]


def test_exposure_rows() -> None:
    rows = exposure_report.exposure_rows(RULES, estate())
    assert [(r.rule_id, r.severity, r.peer_class, r.resource_type, r.resource_id, r.network_interface_id,
             r.public_ip, r.subnet_id, r.route_table_id, r.gateway_id, r.via) for r in rows] == [
        ("sgr-v6-ssh", "CRITICAL", "world", "instance", "i-v6", "eni-v6", "2600:1f18::7", "subnet-v6", "rtb-v6",
         "igw-1", "interface"),
        ("sgr-mysql-half", "CRITICAL", "world", "instance", "i-web", "eni-web", "198.51.100.10", "subnet-public",
         "rtb-public", "igw-1", "interface"),
        ("sgr-ssh", "CRITICAL", "world", "instance", "i-web", "eni-web", "198.51.100.10", "subnet-public",
         "rtb-public", "igw-1", "interface"),
        ("sgr-alb-https", "LOW", "world", "load-balancer", "app/web/50dc6c495c0c9188", "eni-alb", "198.51.100.20",
         "subnet-public", "rtb-public", "igw-1", "interface"),
        ("sgr-from-alb", "LOW", "group", "load-balancer", "app/web/50dc6c495c0c9188", "", "", "", "", "",
         "load-balancer:web"),
        ("sgr-https", "LOW", "world", "instance", "i-web", "eni-web", "198.51.100.10", "subnet-public",
         "rtb-public", "igw-1", "interface"),
    ]


def test_the_exposure_csv_has_the_contract_header_and_neutralised_cells() -> None:
    assert ",".join(EXPOSURE_HEADER) == (
        "AccountId,Region,GroupId,GroupName,RuleId,Protocol,FromPort,ToPort,Peer,PeerClass,Severity,ResourceType,"
        "ResourceId,NetworkInterfaceId,PublicIp,SubnetId,RouteTableId,GatewayId,Via")
    assert exposure_report.ExposureRow._fields == tuple(
xform_name(h) for h in EXPOSURE_HEADER)
    rows = exposure_report.exposure_rows(RULES, estate())
    doc = to_csv(EXPOSURE_HEADER, rows)
    back = from_csv(doc.body, EXPOSURE_HEADER, doc.rows, doc.sha256)
    assert len(back) == len(rows) == 6
    assert [r[3] for r in back if r[4] == "sgr-alb-https"] == ["'=HYPERLINK(\"x\")"]
    assert b'\n=' not in doc.body and b',=' not in doc.body


def test_the_review_pack_gets_the_alert_severity_back_from_the_report() -> None:
    # Given the report of a region, read back as the review pack reads it
    found = estate()
    doc = to_csv(EXPOSURE_HEADER, exposure_report.exposure_rows(RULES, found))
    levels = exposure_report.exposed_rule_levels(from_csv(doc.body, EXPOSURE_HEADER))
    # When the pack rates each current rule, then it is the alert's rating of the rule on its group
    for r in RULES:
        if r.is_placeholder:
            continue
        key = (r.account_id, r.region, r.group_id, r.rule_id)
        assert exposure.escalated(risk.rate(r), key in levels) == exposure.rate_on_group(r, found), r.rule_id


def test_an_unexposed_region_has_an_empty_report() -> None:
    assert exposure_report.exposure_rows(RULES, Exposure()) == []


# ------------------------------------------------------------------ the alert's summary


def test_summary_of_an_exposed_group() -> None:
    summary = exposure.summarise("sg-web", estate(), RULES)
    assert summary.exposed and summary.exposed_directly and summary.interfaces == 1
    assert summary.lines() == ["i-web eni-web 198.51.100.10 subnet-public igw-1"]


def test_summary_of_a_group_exposed_only_through_a_load_balancer() -> None:
    summary = exposure.summarise("sg-app", estate(), RULES)
    assert summary.exposed and not summary.exposed_directly
    assert summary.lines() == ["not attached to any internet-reachable interface",
                               "through internet-facing load balancer web"]


def test_summary_of_an_unexposed_group() -> None:
    summary = exposure.summarise("sg-unattached", estate(), RULES)
    assert not summary.exposed and summary.lines() == ["not attached to any internet-reachable interface"]


def test_summary_lists_ten_resources_instances_first_and_counts_the_rest() -> None:
    interfaces = [eni(f"eni-{n:02}", "subnet-public", ["sg-fleet"], public_ip=f"198.51.100.{n}",
                      instance=f"i-{n:02}" if n % 2 else "", description=f"worker\n{n}") for n in range(1, 15)]
    summary = exposure.summarise("sg-fleet", exposure_of(*interfaces))
    assert summary.interfaces == 14 and len(summary.resources) == 10
    assert [r.resource for r in summary.resources[:7]] == [f"i-{n:02}" for n in range(1, 15, 2)]
    # one line per resource: a description cannot add lines of its own to an alert
    assert summary.lines()[7] == "worker 10 eni-10 198.51.100.10 subnet-public igw-1"
    assert summary.lines()[-1] == "and 4 more internet-reachable interfaces"


# ------------------------------------------------------------------ the describe calls


def test_each_describe_call_asks_for_the_largest_page_its_api_allows() -> None:
    session = botocore.session.get_session()
    for call in exposure.DESCRIBE_CALLS:
        model = session.get_service_model(call.service)
        operation = model.operation_model(call.operation)
        size = operation.input_shape.members["PageSize" if call.service in ("elbv2", "elb") else "MaxResults"]
        assert call.page_size == size.metadata["max"], call.operation
        assert call.result_key in operation.output_shape.members
        assert call.paginator == xform_name(call.operation)
        assert session.get_paginator_model(call.service).get_paginator(call.operation)


def test_the_iam_actions_exist_and_the_describe_calls_take_no_resource_arns() -> None:
    assert exposure.IAM_ACTIONS == ("ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables",
                                    "elasticloadbalancing:DescribeLoadBalancers",
                                    "elasticloadbalancing:DescribeListeners", "ec2:DescribeManagedPrefixLists",
                                    "ec2:GetManagedPrefixListEntries")
    # every describe call is on "*"; a prefix list's entries are read on prefix-list ARNs (any account: a list
    # can be shared with this one)
    entries = "ec2:GetManagedPrefixListEntries"
    described = [a for a in exposure.IAM_ACTIONS if a != entries]
    assert check_statement("exposure", {"Effect": "Allow", "Action": described, "Resource": "*"}) == []
    assert check_statement("exposure", {"Effect": "Allow", "Action": [entries],
                                        "Resource": "arn:aws:ec2:*:*:prefix-list/*"}) == []
    assert check_statement("exposure", {"Effect": "Allow", "Action": [entries], "Resource": "*"}) != []


def test_look_up_for_an_alert_reads_the_group_and_its_vpcs_only() -> None:
    fetch = FakeDescribe({
        "DescribeNetworkInterfaces": [eni("eni-web", "subnet-public", ["sg-web"], public_ip="198.51.100.10",
                                          instance="i-web"),
                                      eni("eni-private", "subnet-private", ["sg-web"], vpc="vpc-3")],
        "DescribeRouteTables": TABLES,
        "DescribeLoadBalancers": [lb("web", ["sg-alb"])],
    })
    found = exposure.look_up(fetch, "sg-web")
    assert found.exposed_directly("sg-web") and "sg-alb" in found.balancers
    assert fetch.calls == [
        ("DescribeNetworkInterfaces", ("sg-web",), {"PaginationConfig": {"PageSize": 1000},
                                                    "Filters": [{"Name": "group-id", "Values": ["sg-web"]}]}),
        ("DescribeRouteTables", ("vpc-1",), {"PaginationConfig": {"PageSize": 100},
                                             "Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]}),
        ("DescribeLoadBalancers", (), {"PaginationConfig": {"PageSize": 400}}),
        ("DescribeLoadBalancers", (), {"PaginationConfig": {"PageSize": 400}}),  # Classic
    ]


def test_look_up_for_a_region_reads_everything_once_and_skips_route_tables_without_public_addresses() -> None:
    fetch = FakeDescribe({"DescribeNetworkInterfaces": [eni("eni-1", "subnet-private", ["sg-1"])],
                       "DescribeRouteTables": TABLES, "DescribeLoadBalancers": []})
    found = exposure.look_up(fetch)
    assert found.by_group == {}
    assert [(op, values) for op, values, _ in fetch.calls] == [("DescribeNetworkInterfaces", ()),
                                                               ("DescribeLoadBalancers", ()),
                                                               ("DescribeLoadBalancers", ())]


def test_paged_fetch_reads_every_page_at_the_largest_size_through_the_paginators() -> None:
    # Given a region whose interfaces take two pages and whose load balancers take one
    import boto3
    from botocore.stub import Stubber

    clients = {s: boto3.client(s, region_name=REGION) for s in ("ec2", "elbv2")}
    filters = [{"Name": "group-id", "Values": ["sg-web"]}]
    with Stubber(clients["ec2"]) as ec2, Stubber(clients["elbv2"]) as elbv2:
        ec2.add_response("describe_network_interfaces",
                         {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}], "NextToken": "t1"},
                         {"MaxResults": 1000, "Filters": filters})
        ec2.add_response("describe_network_interfaces", {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-2"}]},
                         {"MaxResults": 1000, "Filters": filters, "NextToken": "t1"})
        elbv2.add_response("describe_load_balancers", {"LoadBalancers": []}, {"PageSize": 400})
        fetch = exposure.paged_fetch(clients.__getitem__)
        # When each call is read, then every item comes back, asked for at the call's largest page size
        found = [i["NetworkInterfaceId"] for i in fetch(exposure.NETWORK_INTERFACES, ["sg-web"])]
        assert found == ["eni-1", "eni-2"]
        assert list(fetch(exposure.LOAD_BALANCERS, [])) == []
        ec2.assert_no_pending_responses()
        elbv2.assert_no_pending_responses()


def test_an_elastic_ip_on_a_secondary_private_address_counts_as_aws_reports_it() -> None:
    # Given DescribeNetworkInterfaces answering in AWS's documented shape (the Stubber holds the answer to the
    # EC2 API model): an instance's interface whose primary address has no public IP and whose secondary
    # address has an Elastic IP, reported under PrivateIpAddresses[].Association only
    import boto3
    from botocore.stub import Stubber

    clients = {s: boto3.client(s, region_name=REGION) for s in ("ec2", "elbv2", "elb")}
    item = {
        "NetworkInterfaceId": "eni-2nd", "SubnetId": "subnet-public", "VpcId": "vpc-1", "Status": "in-use",
        "InterfaceType": "interface", "Description": "", "PrivateIpAddress": "10.0.1.10",
        "Attachment": {"InstanceId": "i-2nd", "Status": "attached", "DeviceIndex": 0},
        "Groups": [{"GroupId": "sg-2nd", "GroupName": "second"}], "Ipv6Addresses": [],
        "PrivateIpAddresses": [
            {"Primary": True, "PrivateIpAddress": "10.0.1.10"},
            {"Primary": False, "PrivateIpAddress": "10.0.1.11",
             "Association": {"PublicIp": "198.51.100.200", "IpOwnerId": ACCOUNT, "AllocationId": "eipalloc-1",
                             "AssociationId": "eipassoc-1"}},
        ],
    }
    with Stubber(clients["ec2"]) as ec2, Stubber(clients["elbv2"]) as elbv2, Stubber(clients["elb"]) as elb:
        ec2.add_response("describe_network_interfaces", {"NetworkInterfaces": [item]},
                         {"MaxResults": 1000, "Filters": [{"Name": "group-id", "Values": ["sg-2nd"]}]})
        ec2.add_response("describe_route_tables", {"RouteTables": TABLES},
                         {"MaxResults": 100, "Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]})
        elbv2.add_response("describe_load_balancers", {"LoadBalancers": []}, {"PageSize": 400})
        elb.add_response("describe_load_balancers", {"LoadBalancerDescriptions": []}, {"PageSize": 400})
        # When the alert looks the group up, then the secondary address is what the internet reaches
        found = exposure.look_up(exposure.paged_fetch(clients.__getitem__), "sg-2nd")
        assert [(i.resource_id, i.path().address) for i in found.reachable("sg-2nd")] == [("i-2nd", "198.51.100.200")]
        assert exposure.rate_on_group(rule("sg-2nd", "tcp", "22", "22", "0.0.0.0/0"), found).level == "CRITICAL"
