"""tests/module/trail.py: the CloudTrail record of a real call reads, for the change notifier's parser, as the
call: the same group, the rule ids the emulator gave, the caller the record names."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from sgwatch import cloudtrail, provenance
from tests.module.trail import BROWSER, TERRAFORM, Caller, Trail

ACCOUNT = "123456789012"
PIPELINE = Caller(f"arn:aws:iam::{ACCOUNT}:role/deploy-pipeline", "run-1", TERRAFORM)
ALICE = Caller(f"arn:aws:iam::{ACCOUNT}:role/admin", "alice@example.com", BROWSER, console=True)


@pytest.fixture
def ec2() -> Any:
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


def _group(ec2: Any) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return str(ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"])


def test_an_authorize_reads_as_the_rule_the_emulator_created(ec2):
    group = _group(ec2)
    response, event = Trail(ec2, ACCOUNT, "us-east-1").call(ALICE, "AuthorizeSecurityGroupIngress", GroupId=group,
                                                           IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22,
                                                                           "ToPort": 22,
                                                                           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ev = cloudtrail.parse(event)
    assert (ev.known, ev.problems, ev.group_ids, ev.account_id) == (True, [], [group], ACCOUNT)
    (change,) = ev.changes
    assert change.action == cloudtrail.ADDED
    assert change.rule_id == response["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    assert (change.after.protocol, change.after.from_port, change.after.peer) == ("tcp", "22", "0.0.0.0/0")
    assert (provenance.origin(event).origin, provenance.principal(event)) == ("console", ALICE.role_arn)
    assert len(ev.event_time) == len("2026-01-01T00:00:00Z")  # whole seconds, as CloudTrail


def test_a_revoke_by_rule_id_and_an_in_place_modify_name_the_rule(ec2):
    group = _group(ec2)
    trail = Trail(ec2, ACCOUNT, "us-east-1")
    created, _ = trail.call(PIPELINE, "AuthorizeSecurityGroupIngress", GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rule_id = created["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    _, modify = trail.call(PIPELINE, "ModifySecurityGroupRules", GroupId=group, SecurityGroupRules=[{
        "SecurityGroupRuleId": rule_id,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIpv4": "0.0.0.0/0"}}])
    _, revoke = trail.call(PIPELINE, "RevokeSecurityGroupIngress", GroupId=group, SecurityGroupRuleIds=[rule_id])
    for event, action in ((modify, cloudtrail.MODIFIED), (revoke, cloudtrail.REMOVED)):
        ev = cloudtrail.parse(event)
        assert (ev.known, ev.group_ids, [(c.action, c.rule_id) for c in ev.changes]) == (
            True, [group], [(action, rule_id)]), event["detail"]["requestParameters"]
    assert provenance.origin(modify).origin == "terraform" and provenance.principal(modify) == PIPELINE.role_arn


def test_a_description_edit_names_the_rule_by_its_shape(ec2):
    group = _group(ec2)
    trail = Trail(ec2, ACCOUNT, "us-east-1")
    permission = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                  "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]}
    trail.call(PIPELINE, "AuthorizeSecurityGroupIngress", GroupId=group, IpPermissions=[permission])
    permission["IpRanges"][0]["Description"] = "https (public site)"
    _, event = trail.call(PIPELINE, "UpdateSecurityGroupRuleDescriptionsIngress", GroupId=group,
                          IpPermissions=[permission])
    (change,) = cloudtrail.parse(event).changes
    assert (change.action, change.after.from_port, change.after.peer, change.after.description) == (
        cloudtrail.DESCRIPTION, "443", "0.0.0.0/0", "https (public site)")
