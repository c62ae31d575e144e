"""The severity of an event (sgwatch/severity.py) over the rule table of sgwatch/risk.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgwatch import cloudtrail, exposure
from sgwatch.cloudtrail import ADDED, MODIFIED, RuleChange, SgEvent
from sgwatch.rules import Rule
from sgwatch.sg_change_alerts import severity

EVENTS = Path(__file__).resolve().parents[1] / "events"
REAL = Path(__file__).resolve().parents[3] / "shared" / "real-payloads" / "cloudtrail"


def rule(direction: str, protocol: str, low: str, high: str, peer_type: str, peer: str) -> Rule:
    return Rule("111122223333", "us-east-1", "", "sg-1", "", "", direction, "", protocol, low, high, peer_type, peer,
                "")


@pytest.mark.parametrize(
    ("added", "level"),
    [
        (rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "tcp", "3389", "3389", "ipv6", "::/0"), "HIGH"),
        (rule("ingress", "-1", "", "", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "6", "0", "65535", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "tcp", "20", "25", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "udp", "3000", "4000", "ipv6", "::/0"), "HIGH"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "208.236.235.254/0"), "HIGH"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "128.0.0.0/1"), "HIGH"),
        (rule("ingress", "tcp", "22", "22", "ipv6", "2000::/3"), "HIGH"),
        (rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/1"), "HIGH"),
        (rule("ingress", "udp", "3389", "3389", "ipv6", "::/0"), "HIGH"),
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "0.0.0.0/0"), "MEDIUM"),
        (rule("ingress", "udp", "22", "22", "ipv4", "0.0.0.0/0"), "MEDIUM"),  # udp 22 is not SSH
        (rule("ingress", "icmp", "-1", "-1", "ipv4", "0.0.0.0/0"), "MEDIUM"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "8.8.0.0/16"), "MEDIUM"),
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "8.8.0.0/16"), "LOW"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), "LOW"),  # an authorized public port
        (rule("ingress", "tcp", "22", "22", "ipv4", "8.8.8.8/32"), "LOW"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "203.0.113.0/24"), "LOW"),  # documentation range: internal
        (rule("ingress", "tcp", "22", "22", "ipv4", "not-a-cidr"), "MEDIUM"),
        (rule("", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), "HIGH"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "203.0.113.0/24"), "LOW"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "10.0.0.0/8"), "LOW"),
        (rule("ingress", "-1", "-1", "-1", "ipv4", "100.64.0.0/10"), "LOW"),
        (rule("ingress", "tcp", "3389", "3389", "ipv6", "fd00::/8"), "LOW"),
        (rule("ingress", "-1", "", "", "security-group", "sg-0123"), "LOW"),
        (rule("ingress", "tcp", "22", "22", "prefix-list", "pl-63a5400b"), "LOW"),
        (rule("egress", "-1", "-1", "-1", "ipv4", "0.0.0.0/0"), "LOW"),
    ],
)
def test_table(added: Rule, level: str) -> None:
    # given a successful event adding one rule / when assessed / then the table's level
    ev = SgEvent(event_name="AuthorizeSecurityGroupIngress", known=True, changes=[RuleChange(ADDED, after=added)])
    assert severity.assess(ev).level == level


def test_private_looking_half_of_the_internet_is_not_private() -> None:
    # 0.0.0.0/1 starts and ends in reserved space but holds half of the public internet
    assert severity.classify_peer(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/1")) == "world"


def test_a_denied_attempt_at_a_world_open_authorized_port_is_low() -> None:
    # 443 to the world is expected (LOW), so a denied attempt at it is a failed call like any other
    ev = SgEvent(known=True, error_code="Client.UnauthorizedOperation",
                 changes=[RuleChange(ADDED, after=rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"))])
    assert severity.assess(ev).level == "LOW"


def test_the_highest_change_wins_and_every_reason_is_kept() -> None:
    ev = SgEvent(known=True, changes=[
        RuleChange(ADDED, after=rule("ingress", "tcp", "443", "443", "ipv4", "10.0.0.0/8")),
        RuleChange(MODIFIED, after=rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0")),
    ])
    result = severity.assess(ev)
    assert result.level == "HIGH" and len(result.reasons) == 2


def test_failed_call_is_low_and_says_nothing_changed() -> None:
    ev = SgEvent(known=True, error_code="Client.InvalidPermission.Duplicate",
                 changes=[RuleChange(ADDED, after=rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"))])
    result = severity.assess(ev)
    assert result.level == "LOW" and "nothing changed" in result.reasons[0]


def test_denied_attempt_at_a_high_change_is_medium() -> None:
    path = EVENTS / "AuthorizeSecurityGroupIngress_failed_unauthorized_ssh_world.json"
    ev = cloudtrail.parse(json.loads(path.read_text()))
    result = severity.assess(ev)
    assert result.level == "MEDIUM" and "denied attempt" in result.reasons[0]


def test_unknown_event_is_medium() -> None:
    assert severity.assess(cloudtrail.parse({"detail": {"eventName": "X"}})).level == "MEDIUM"


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json", "HIGH"),
        ("AuthorizeSecurityGroupIngress_cli_iamuser_ipv6_range_covers_rdp.json", "HIGH"),
        ("AuthorizeSecurityGroupIngress_raw_legacy_toplevel_cidr_rdp.json", "HIGH"),
        ("ModifySecurityGroupRules_cli_opens_ssh_world.json", "HIGH"),
        ("AuthorizeSecurityGroupIngress_cloudformation_sgref_prefixlist.json", "LOW"),
        ("AuthorizeSecurityGroupIngress_terraform_private_ranges_several_permissions.json", "LOW"),
        ("AuthorizeSecurityGroupEgress_terraform_all_traffic_ipv4_ipv6.json", "LOW"),
        ("RevokeSecurityGroupIngress_by_rule_id_with_revoked_set.json", "LOW"),
        ("CreateSecurityGroup_cloudformation_tags.json", "LOW"),
        ("DeleteSecurityGroup_failed_dependency_violation.json", "LOW"),
    ],
)
def test_fixture_levels(name: str, level: str) -> None:
    ev = cloudtrail.parse(json.loads((EVENTS / name).read_text()))
    assert severity.assess(ev).level == level


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("raw_AuthorizeSecurityGroupIngress_go_sdk_script_ssh_world_ev105_panther.json", "HIGH"),
        ("raw_AuthorizeSecurityGroupIngress_legacy_toplevel_cidr_stratus.json", "HIGH"),
        ("raw_AuthorizeSecurityGroupIngress_stratus_legacy_toplevel_22_world_invictus.json", "HIGH"),
        ("raw_AuthorizeSecurityGroupIngress_terraform_443_world_with_description_invictus.json", "LOW"),
        ("eb_AuthorizeSecurityGroupIngress_cfn_sgref_kuali_1.json", "LOW"),
        ("raw_RevokeSecurityGroupEgress_FAILED_InvalidPermissionNotFound_ipv6_invictus.json", "LOW"),
    ],
)
def test_recorded_payload_levels(name: str, level: str) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip("recorded payloads not available")
    assert severity.assess(cloudtrail.parse(json.loads(path.read_text()))).level == level


# --- authorized public ports, CRITICAL and escalation by exposure ----------------------------


def test_critical_is_a_level_above_high() -> None:
    assert severity.CRITICAL == "CRITICAL" and "CRITICAL" in severity.__all__
    assert severity.LEVELS[-1] == severity.CRITICAL
    assert severity.rank(severity.CRITICAL) > severity.rank(severity.HIGH)
    assert severity.highest(severity.HIGH, severity.CRITICAL, severity.MEDIUM) == severity.CRITICAL


def added(*rules: Rule, error_code: str = "") -> SgEvent:
    return SgEvent(event_name="AuthorizeSecurityGroupIngress", known=True, error_code=error_code,
                   changes=[RuleChange(ADDED, after=r) for r in rules])


@pytest.mark.parametrize(("ports", "level"), [((80, 443), "MEDIUM"), ((8443,), "LOW"), ((), "MEDIUM")])
def test_world_ingress_to_an_authorized_port_is_low(ports: tuple[int, ...], level: str) -> None:
    ev = added(rule("ingress", "tcp", "8443", "8443", "ipv4", "0.0.0.0/0"))
    assert severity.assess(ev, authorized_public_ports=ports).level == level


def test_port_443_is_no_longer_authorized_when_the_list_leaves_it_out() -> None:
    ev = added(rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"))
    assert severity.assess(ev).level == "LOW"
    assert severity.assess(ev, authorized_public_ports=()).level == "MEDIUM"


def exposed(group_id: str = "sg-1", *, ipv6: bool = False) -> exposure.Exposure:
    """sg-1 on an instance with a public IPv4 address (and a global IPv6 one) in a subnet routed to an IGW."""
    interface: dict[str, object] = {
        "NetworkInterfaceId": "eni-1", "Status": "in-use", "SubnetId": "subnet-1", "VpcId": "vpc-1",
        "Attachment": {"InstanceId": "i-1"}, "Association": {"PublicIp": "54.0.0.1"}, "Groups": [{"GroupId": group_id}],
    }
    routes: list[dict[str, str]] = [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]
    if ipv6:
        interface["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f18::1"}]
        routes.append({"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1", "State": "active"})
    table = {"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Routes": routes, "Associations": [{"SubnetId": "subnet-1"}]}
    return exposure.Exposure.of([interface], [table])


@pytest.mark.parametrize(
    ("added_rule", "level"),
    [
        (rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), "CRITICAL"),  # HIGH -> CRITICAL
        (rule("ingress", "-1", "", "", "ipv4", "0.0.0.0/0"), "CRITICAL"),
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "0.0.0.0/0"), "HIGH"),  # MEDIUM -> HIGH
        (rule("ingress", "tcp", "22", "22", "ipv4", "8.8.0.0/16"), "HIGH"),  # wide public MEDIUM -> HIGH
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "8.8.0.0/16"), "LOW"),  # LOW stays LOW
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), "LOW"),  # authorized port stays LOW
        (rule("ingress", "tcp", "22", "22", "ipv4", "8.8.8.8/32"), "LOW"),  # narrow public is not escalated
        (rule("ingress", "tcp", "22", "22", "ipv6", "::/0"), "HIGH"),  # reachable over IPv4 only
        (rule("egress", "-1", "-1", "-1", "ipv4", "0.0.0.0/0"), "LOW"),
    ],
)
def test_a_rule_on_an_exposed_group_rises_one_level(added_rule: Rule, level: str) -> None:
    ev = added(added_rule)
    assert severity.assess(ev, exposed()).level == level
    assert severity.assess(ev, exposure.Exposure()).level == severity.assess(ev).level  # not exposed: unchanged


def test_the_escalation_says_why() -> None:
    result = severity.assess(added(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0")), exposed())
    assert result.level == "CRITICAL"
    assert result.reasons == ["ingress from internet-wide 0.0.0.0/0 to SSH (22), on a group attached to an "
                              "internet-reachable interface"]


def test_ipv6_ingress_rises_when_the_group_is_reachable_over_ipv6() -> None:
    assert severity.assess(added(rule("ingress", "tcp", "22", "22", "ipv6", "::/0")), exposed(ipv6=True)).level == (
        "CRITICAL")


def test_exposure_of_another_group_does_not_escalate() -> None:
    assert severity.assess(added(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0")), exposed("sg-2")).level == (
        "HIGH")


def test_exposure_only_through_a_load_balancer_is_not_escalated() -> None:
    balancer = {"LoadBalancerName": "web", "Scheme": "internet-facing", "SecurityGroups": ["sg-lb"],
                "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"}
    behind = exposure.Exposure.of([], [], [balancer])
    ev = added(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), rule("ingress", "tcp", "8080", "8080",
                                                                             "security-group", "sg-lb"))
    assert severity.assess(ev, behind).level == "HIGH"


def test_a_denied_attempt_on_an_exposed_group_stays_medium() -> None:
    ev = added(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), error_code="Client.UnauthorizedOperation")
    result = severity.assess(ev, exposed())
    assert result.level == "MEDIUM" and "denied attempt" in result.reasons[0]


def test_an_escalated_modify_is_critical() -> None:
    ev = SgEvent(known=True, changes=[RuleChange(MODIFIED, after=rule("ingress", "tcp", "3389", "3389", "ipv4",
                                                                       "0.0.0.0/0"))])
    assert severity.assess(ev, exposed()).level == "CRITICAL"
