"""The change alert says whether an added or modified rule is justified: a ``Justification:`` line in the mail
(and Slack) and the SNS attribute ``justified`` (``true``/``false``), from the rule's tags, its group's tags and
the policy for private and same-group peers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.unit.test_sg_change_alerts import EVENTS, Env, _attribute, _authorize_event, _own, load, run


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    for name in ("RULE_REVIEW_TAG_KEYS", "PRIVATE_PEERS_JUSTIFIED"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield Env(monkeypatch)


def _group_with(env: Env, cidr: str, rule_tags=None, group_tags=None) -> tuple[str, str]:
    vpc = env.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in group_tags.items()]}] \
        if group_tags else []
    group_id = env.ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc,
                                             TagSpecifications=spec)["GroupId"]
    rule_spec = [{"ResourceType": "security-group-rule",
                  "Tags": [{"Key": k, "Value": v} for k, v in rule_tags.items()]}] if rule_tags else []
    added = env.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}],
        TagSpecifications=rule_spec)
    return group_id, added["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def _alert(env: Env, group_id: str, rule_id: str, cidr: str) -> tuple[str, dict]:
    run(_authorize_event(group_id, rule_id, cidr, "evt-justified-1"))
    (message,) = env.messages()
    return message["Message"], message


def test_a_rule_justified_by_its_tags_says_why_and_whose(env: Env) -> None:
    group_id, rule_id = _group_with(env, "203.0.113.0/24", rule_tags={
        "justification": "bastion for vendor X", "owner": "team-ops", "ticket": "CHG-1", "expires": "2027-06-30"})
    body, message = _alert(env, group_id, rule_id, "203.0.113.0/24")
    (line,) = [x for x in body.splitlines() if x.startswith("Justification:")]
    assert "bastion for vendor X" in line and "rule-tag" in line and "team-ops" in line and "2027-06-30" in line
    assert _attribute(message, "justified") == "true"


def test_a_rule_without_a_reason_says_so(env: Env) -> None:
    group_id, rule_id = _group_with(env, "203.0.113.0/24")
    body, message = _alert(env, group_id, rule_id, "203.0.113.0/24")
    (line,) = [x for x in body.splitlines() if x.startswith("Justification:")]
    assert "none" in line and rule_id in line
    assert _attribute(message, "justified") == "false"


def test_the_groups_tags_justify_its_rules(env: Env) -> None:
    group_id, rule_id = _group_with(env, "203.0.113.0/24", group_tags={"justification": "jump hosts"})
    body, message = _alert(env, group_id, rule_id, "203.0.113.0/24")
    assert "jump hosts" in body and "group-tag" in body
    assert _attribute(message, "justified") == "true"


@pytest.mark.parametrize(("policy", "justified"), [("true", "true"), ("false", "false")])
def test_the_policy_justifies_a_private_peer_only_when_on(env: Env, policy: str, justified: str) -> None:
    env.monkeypatch.setenv("PRIVATE_PEERS_JUSTIFIED", policy)
    group_id, rule_id = _group_with(env, "10.1.0.0/16")
    _, message = _alert(env, group_id, rule_id, "10.1.0.0/16")
    assert _attribute(message, "justified") == justified


def test_the_organisations_tag_keys_are_read(env: Env) -> None:
    env.monkeypatch.setenv("RULE_REVIEW_TAG_KEYS", '{"justification": "pci:why"}')
    group_id, rule_id = _group_with(env, "203.0.113.0/24", rule_tags={"pci:why": "card data feed"})
    body, message = _alert(env, group_id, rule_id, "203.0.113.0/24")
    assert "card data feed" in body and _attribute(message, "justified") == "true"


def test_a_removal_carries_no_justification(env: Env) -> None:
    run(_own(load(EVENTS / "RevokeSecurityGroupIngress_by_rule_id_with_revoked_set.json")))
    (message,) = env.messages()
    assert "justified" not in message["MessageAttributes"]
    assert "Justification:" not in message["Message"]
