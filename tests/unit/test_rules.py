"""The rule model: flattening describe responses into snapshot rows."""

from __future__ import annotations

import json

import pytest

from sgwatch.rules import SNAPSHOT_HEADER, Rule, covers_port, flatten_rules, neutralise, permission_peers
from tests.paths import real_payloads

ACCOUNT, REGION = "111122223333", "eu-west-1"
GROUP = {"GroupId": "sg-1", "GroupName": "web", "Description": "web tier", "VpcId": "vpc-1", "OwnerId": ACCOUNT}


def _rule(**overrides):
    rule = {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "GroupOwnerId": ACCOUNT, "IsEgress": False,
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "0.0.0.0/0"}
    rule.update(overrides)
    return rule


def test_header_is_the_contract():
    assert ",".join(SNAPSHOT_HEADER) == (
        "AccountId,Region,VpcId,GroupId,GroupName,GroupDescription,Direction,RuleId,Protocol,FromPort,ToPort,"
        "PeerType,Peer,RuleDescription"
    )
    assert len(Rule._fields) == len(SNAPSHOT_HEADER)


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ({"CidrIpv4": "10.0.0.0/8"}, ("ipv4", "10.0.0.0/8")),
        ({"CidrIpv4": None, "CidrIpv6": "::/0"}, ("ipv6", "::/0")),
        ({"CidrIpv4": None, "PrefixListId": "pl-63a5400b"}, ("prefix-list", "pl-63a5400b")),
        ({"CidrIpv4": None, "ReferencedGroupInfo": {"GroupId": "sg-2", "UserId": ACCOUNT}}, ("security-group", "sg-2")),
        (
            {"CidrIpv4": None, "ReferencedGroupInfo": {"GroupId": "sg-9", "UserId": "999988887777"}},
            ("security-group", "999988887777/sg-9"),
        ),
    ],
)
def test_each_peer_type(peer, expected):
    rule = {k: v for k, v in _rule(**peer).items() if v is not None}
    (row,) = flatten_rules(ACCOUNT, REGION, [GROUP], [rule])
    assert (row.peer_type, row.peer) == expected


def test_all_traffic_and_icmp_keep_the_values_aws_reports():
    rows = flatten_rules(
        ACCOUNT, REGION, [GROUP],
        [_rule(SecurityGroupRuleId="sgr-a", IpProtocol="-1", FromPort=-1, ToPort=-1, IsEgress=True),
         _rule(SecurityGroupRuleId="sgr-b", IpProtocol="icmp", FromPort=8, ToPort=-1)],
    )
    assert [(r.direction, r.protocol, r.from_port, r.to_port) for r in rows] == [
        ("egress", "-1", "-1", "-1"), ("ingress", "icmp", "8", "-1")]


def test_group_without_rules_has_one_row_with_empty_rule_columns():
    (row,) = flatten_rules(ACCOUNT, REGION, [GROUP], [])
    assert row[:6] == (ACCOUNT, REGION, "vpc-1", "sg-1", "web", "web tier")
    assert row[6:] == ("",) * 8


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_looking_text_is_neutralised(text):
    group = dict(GROUP, GroupName=text, Description=text)
    (row,) = flatten_rules(ACCOUNT, REGION, [group], [_rule(Description=text)])
    assert row.group_name == row.group_description == row.description == "'" + text
    assert neutralise("plain text") == "plain text"


def test_a_plain_number_is_text_no_spreadsheet_runs_and_stays_as_it_is():
    group = dict(GROUP, GroupName="-2", Description="+5")
    (row,) = flatten_rules(ACCOUNT, REGION, [group], [_rule(Description="-1.5")])
    assert (row.group_name, row.group_description, row.description) == ("-2", "+5", "-1.5")


def test_ports_stay_numeric_even_when_negative():
    (row,) = flatten_rules(ACCOUNT, REGION, [GROUP], [_rule(IpProtocol="-1", FromPort=-1, ToPort=-1)])
    assert (row.from_port, row.to_port) == ("-1", "-1")


def test_rows_are_deterministic_whatever_the_api_order():
    rules = [_rule(SecurityGroupRuleId=f"sgr-{i}", FromPort=i, ToPort=i) for i in range(20)]
    groups = [GROUP, dict(GROUP, GroupId="sg-0", GroupName="empty")]
    assert flatten_rules(ACCOUNT, REGION, groups, rules) == flatten_rules(ACCOUNT, REGION, groups[::-1], rules[::-1])


def test_several_cidrs_in_one_permission_become_one_peer_each():
    permission = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16"}],
                  "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "v6"}]}
    assert list(permission_peers(permission, ACCOUNT)) == [
        ("ipv4", "10.0.0.0/8", ""), ("ipv4", "192.168.0.0/16", ""), ("ipv6", "::/0", "v6")]


@pytest.mark.parametrize(("protocol", "low", "high", "port", "expected"), [
    ("tcp", "0", "65535", 22, True), ("tcp", "20", "21", 22, False), ("-1", "-1", "-1", 3389, True),
    ("udp", "3389", "3389", 3389, True), ("icmp", "-1", "-1", 22, False), ("6", "22", "22", 22, True),
])
def test_covers_port(protocol, low, high, port, expected):
    rule = Rule(ACCOUNT, REGION, "", "sg-1", "", "", "ingress", "", protocol, low, high, "ipv4", "0.0.0.0/0", "")
    assert covers_port(rule, port) is expected


def test_rule_api_reference_rows_from_aws_documentation():
    folder = real_payloads("describe")
    response = json.loads((folder / "DescribeSecurityGroupRules_by_group_awscli_doc.json").read_text())
    rules = response["SecurityGroupRules"]
    rows = flatten_rules(ACCOUNT, REGION, [], rules)
    assert len(rows) == len(rules)
    by_id = {r.rule_id: r for r in rows}
    for rule in rules:
        row = by_id[rule["SecurityGroupRuleId"]]
        assert row.direction == ("egress" if rule["IsEgress"] else "ingress")
        assert row.protocol == rule["IpProtocol"]
        if "ReferencedGroupInfo" in rule:
            assert row.peer_type == "security-group" and row.peer.endswith(rule["ReferencedGroupInfo"]["GroupId"])
        if "CidrIpv6" in rule:
            assert (row.peer_type, row.peer) == ("ipv6", rule["CidrIpv6"])


@pytest.mark.parametrize("name", [
    "DescribeSecurityGroups_42groups_selfref_world_c7n.json",
    "DescribeSecurityGroups_19groups_mixed_c7n.json",
    "DescribeSecurityGroups_prefixlist_ingress_c7n.json",
    "DescribeSecurityGroups_cross_ref_userid_group_pairs_c7n.json",
])
def test_recorded_estates_give_one_peer_per_listed_peer(name):
    groups = json.loads((real_payloads("describe") / name).read_text())["SecurityGroups"]
    permissions = [(g, p) for g in groups for key in ("IpPermissions", "IpPermissionsEgress") for p in g.get(key) or ()]
    found = [peer for g, p in permissions for peer in permission_peers(p, g.get("OwnerId") or ACCOUNT)]
    kinds = ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs")
    listed = sum(len(p.get(k) or ()) for _, p in permissions for k in kinds)
    assert len(found) == listed
    assert all(peer_type in ("ipv4", "ipv6", "prefix-list", "security-group") for peer_type, _, _ in found)
    assert all(peer for _, peer, _ in found)
