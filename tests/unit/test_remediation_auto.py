"""Auto mode (``remediation.mode = "auto"``): the change notifier reverts a qualifying change at alert time.

The same world (moto, the loopback fake Slack, both functions' environments) as tests/unit/test_remediation.py,
with ``REMEDIATION_MODE=auto`` in the notifier's environment.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sg_change_alerts import handler as notifier
from sgwatch import accounts, aws, remediation_prompt, remediation_revert as revert
from sgwatch.remediation import interaction
from tests.unit.test_remediation import ACCOUNT, APPROVER, CONTEXT, EVENTS, OUTSIDER, PREFIX, World, click, world
from tests.unit.test_remediation_exceptions import blocks_of, keep, re_add, second_alert, submission

__all__ = ["world"]  # the fixture

EVENT_ID = "db3668d1-3c4f-5b0d-9e6a-92f1304dd232"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The mail bodies the notifier publishes."""
    bodies: list[str] = []
    real = notifier.notify.publish

    def publish(topic_arn: str, subject: str, body: str, *args: Any, **kwargs: Any) -> Any:
        bodies.append(body)
        return real(topic_arn, subject, body, *args, **kwargs)

    monkeypatch.setattr(notifier.notify, "publish", publish)
    return bodies


def auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "auto")


def test_auto_mode_revokes_the_added_rule_at_alert_time_says_so_and_records_it_once(
        world: World, published: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    # the rule is gone before anyone reads the alert
    assert rule_id not in world.rules()
    said = f"reverted automatically: {rule_id} in {world.group}: revoked"
    assert said in published[-1] and said in json.dumps(blocks_of(message))
    assert "sgwatch_revert" not in json.dumps(blocks_of(message))  # no Revert / Keep prompt in auto mode
    (key,) = world.keys("-revert.json")
    assert key == f"{PREFIX}{ACCOUNT}/us-east-1/remediation/2025/03/04/{EVENT_ID}-revert.json"
    evidence = world.read(key)
    assert evidence["decided_by"] == "auto" and evidence["event_id"] == EVENT_ID
    (step,) = evidence["outcomes"]
    assert step["result"] == revert.DONE and step["request_id"] and step["step"]["rule_id"] == rule_id


def test_a_redelivered_event_is_neither_reverted_nor_recorded_again(world: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    rule_id = world.world_ssh()
    world.alert(rule_id)
    posts = len(world.slack.calls("chat.postMessage"))
    world.alert(rule_id)  # EventBridge delivers the same event again
    assert len(world.slack.calls("chat.postMessage")) == posts and len(world.keys("-revert.json")) == 1


def test_an_active_exception_covering_the_change_prevents_the_automatic_revert(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = world.world_ssh()
    keep(world, rule_id)  # kept as exception while in approve mode
    auto(monkeypatch)
    again = re_add(world, rule_id)
    message = second_alert(world, again, "0f1e2d3c-0000-4000-8000-0000000000a1")
    assert again in world.rules()
    text = json.dumps(blocks_of(message))
    assert "kept as exception by U0APPROVER" in text and "reverted automatically" not in text
    assert world.keys("0f1e2d3c-0000-4000-8000-0000000000a1-revert.json") == []


def test_a_rule_changed_since_the_event_is_left_alone_and_the_alert_says_so(
        world: World, published: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    rule_id = world.world_ssh()
    # narrowed by someone before the notifier ran: the live rule is no longer what the event added
    world.ec2.modify_security_group_rules(GroupId=world.group, SecurityGroupRules=[{
        "SecurityGroupRuleId": rule_id,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.0.0.0/8",
                              "Description": "temporary debug access"}}])
    world.alert(rule_id)
    assert world.rules()[rule_id]["CidrIpv4"] == "10.0.0.0/8"
    assert f"not reverted automatically: {rule_id} in {world.group}: nothing done, rule changed since" in published[-1]
    (key,) = world.keys("-revert.json")
    assert [o["result"] for o in world.read(key)["outcomes"]] == [revert.CHANGED_SINCE]


class _RefusingEc2:
    """The real (moto) EC2 client whose revoke is refused; records whether the call ran under a deadline."""

    def __init__(self, real: Any, seen: list[Any]) -> None:
        self._real, self._seen = real, seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def revoke_security_group_ingress(self, **_: Any) -> Any:
        self._seen.append(aws._deadline.get())
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "RevokeSecurityGroupIngress")


def test_a_failed_revert_is_said_in_the_alert_and_the_evidence_and_the_alert_still_goes_out(
        world: World, published: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    rule_id = world.world_ssh()
    seen: list[Any] = []
    real_client = aws.client
    monkeypatch.setattr(aws, "client", lambda service, region=None: _RefusingEc2(real_client(service, region), seen)
                        if service == "ec2" else real_client(service, region))
    message = world.alert(rule_id)
    assert rule_id in world.rules()
    said = f"not reverted automatically: {rule_id} in {world.group}: nothing done, failed (UnauthorizedOperation)"
    assert said in published[-1] and said in json.dumps(blocks_of(message))
    (key,) = world.keys("-revert.json")
    assert [o["result"] for o in world.read(key)["outcomes"]] == [revert.FAILED]
    # the revert ran inside the pre-publish deadline (quick clients, no call ending after it)
    assert seen and all(deadline is not None for deadline in seen)


def test_an_alert_below_the_policy_is_not_reverted(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    monkeypatch.setenv("APPROVED_CHANGE_PRINCIPALS", "arn:aws:iam::*:role/aws-reserved/*")  # went through control
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    assert rule_id in world.rules() and world.keys("/remediation/") == []
    assert "reverted automatically" not in json.dumps(blocks_of(message))


def test_steps_after_a_failed_one_are_not_tried() -> None:
    shown = revert.Rule("a", "r", "", "sg-1", "", "", "ingress", "sgr-1", "tcp", "22", "22", "ipv4", "0.0.0.0/0", "")
    steps = [revert.Step(revert.REVOKE, "sg-1", "sgr-1", shown),
             revert.Step(revert.REVOKE, "sg-1", "sgr-2", shown._replace(rule_id="sgr-2"))]

    class Unreachable:
        def get_paginator(self, _: str) -> Any:
            raise ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow"}},
                              "DescribeSecurityGroupRules")

    outcomes = revert.apply_reporting(Unreachable(), "a", "r", steps)
    assert [o.result for o in outcomes] == [revert.FAILED, revert.NOT_TRIED]
    assert revert.auto_note(outcomes).startswith("not reverted automatically: sgr-1 in sg-1: nothing done, failed")


# --- Restore as exception (auto mode with Slack) ----------------------------------------------------


def restore_dialog(world: World, message: dict[str, Any], user: str = APPROVER) -> dict[str, Any]:
    """Click Restore as exception on the alert (a signed request); the dialog Slack was asked to open."""
    body = world.click_body(message, user=user, action_id=remediation_prompt.RESTORE_ACTION_ID)
    assert click(world, body) == interaction.ACCEPTED
    view = world.slack.calls("views.open")[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def world_ssh_rules(world: World) -> list[str]:
    return [rule_id for rule_id, r in world.rules().items()
            if r.get("CidrIpv4") == "0.0.0.0/0" and r.get("FromPort") == 22 and not r["IsEgress"]]


def test_an_approver_restores_an_automatically_reverted_change_as_an_exception(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    # given a world-SSH change reverted automatically, its alert carrying the Restore as exception button
    message = world.alert(world.world_ssh())
    assert world_ssh_rules(world) == []
    (actions,) = [b for b in blocks_of(message) if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [remediation_prompt.RESTORE_ACTION_ID]
    # when an approver clicks it and submits the dialog's reason and expiry (signed requests), and the job runs
    view = restore_dialog(world, message)
    assert view["title"]["text"] == "Restore as exception"
    assert click(world, submission(view)) == interaction.ACCEPTED
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    # then the rule is back as the alert showed it, the exception is recorded once and the message says so
    (restored,) = world_ssh_rules(world)
    (decision,) = world.keys(f"{EVENT_ID}-restore.json")
    assert world.read(decision)["decided_by"] == APPROVER and world.read(decision)["reason"] == "vendor support session"
    assert [k for k in world.keys("/remediation/exceptions/") if EVENT_ID in k]
    update = world.slack.calls("chat.update")[-1].params["text"]
    assert "Restored as exception" in update and ": put back" in update and "kept as exception until" in update
    # and the next alert of the same rule is kept, not reverted again
    second = second_alert(world, restored, "0f1e2d3c-0000-4000-8000-0000000000b1")
    assert world_ssh_rules(world) == [restored]
    assert "kept as exception by U0APPROVER" in json.dumps(blocks_of(second))


def test_a_non_approver_restore_puts_nothing_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    auto(monkeypatch)
    message = world.alert(world.world_ssh())
    view = restore_dialog(world, message, user=OUTSIDER)
    assert click(world, submission(view, user=OUTSIDER)) == interaction.ACCEPTED
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert world_ssh_rules(world) == [] and world.keys("-restore.json") == []
    assert "approvers" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


def test_a_restore_of_an_alert_not_reverted_automatically_does_nothing(world: World) -> None:
    # an approve-mode alert (nothing reverted) and a Restore job forged from its Revert button
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    found = interaction.parse_click(interaction.parse_payload(world.click_body(message)) or {})
    assert found is not None
    job = {**found.job(), "action": remediation_prompt.RESTORE, "reason": "x", "expires": "2999-01-01"}
    world.sqs.send_message(QueueUrl=world.queue, MessageBody=json.dumps(job))
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert rule_id in world.rules() and world.keys("-restore.json") == []
    assert "not reverted automatically" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


# --- member accounts: through their remediation role, the Revert job's code path ---------------------------

MEMBER = "210987654321"
REMEDIATION_ROLE = f"arn:aws:iam::{MEMBER}:role/sgwatch-member-remediation"


class Member:
    """A member account's group with a world-SSH rule, made through a role assumed in it (moto keeps each account's
    EC2 apart), and the notifier set up for auto mode with the account listed and its remediation role named."""

    def __init__(self, world: World, monkeypatch: pytest.MonkeyPatch, role_name: str = "sgwatch-member-remediation",
                 listed: bool = True) -> None:
        auto(monkeypatch)
        if listed:
            monkeypatch.setenv("ACCOUNTS", MEMBER)
        if role_name:
            monkeypatch.setenv("REMEDIATION_ROLE_NAME", role_name)
        self.world = world
        found = boto3.client("sts", region_name="us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{MEMBER}:role/setup", RoleSessionName="setup")["Credentials"]
        self.ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id=found["AccessKeyId"],
                                aws_secret_access_key=found["SecretAccessKey"], aws_session_token=found["SessionToken"])
        vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        self.group = self.ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
        self.rule_id = str(self.ec2.authorize_security_group_ingress(GroupId=self.group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "temporary debug access"}]}],  # as the event shows
        )["SecurityGroupRules"][0]["SecurityGroupRuleId"])

    def alert(self) -> dict[str, Any]:
        text = (EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json").read_text()
        text = text.replace("111122223333", MEMBER).replace("sg-0a1b2c3d4e5f60718", self.group)
        text = text.replace("sgr-0123456789abcdef0", self.rule_id)
        notifier.lambda_handler(json.loads(text), CONTEXT)
        return self.world.slack.calls("chat.postMessage")[-1].params

    def rules(self) -> list[str]:
        found = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [self.group]}])
        return [r["SecurityGroupRuleId"] for r in found["SecurityGroupRules"]]


@pytest.fixture
def assumed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The role ARNs the functions assume (sgwatch.accounts.assume_role, the one place)."""
    roles: list[str] = []
    real = accounts.assume_role

    def assume(account_id: str, role_arn: str, session_name: str) -> Any:
        roles.append(role_arn)
        return real(account_id, role_arn, session_name)

    monkeypatch.setattr(accounts, "assume_role", assume)
    return roles


def test_a_member_account_s_change_is_reverted_through_its_remediation_role(
        world: World, published: list[str], assumed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    member = Member(world, monkeypatch)
    message = member.alert()
    # the member's rule is gone before the alert goes out, revoked with the member's remediation role
    assert member.rule_id not in member.rules()
    assert REMEDIATION_ROLE in assumed
    said = f"reverted automatically: {member.rule_id} in {member.group}: revoked"
    assert said in published[-1] and said in json.dumps(blocks_of(message))
    (key,) = world.keys("-revert.json")
    assert key.startswith(f"{PREFIX}{MEMBER}/us-east-1/remediation/")
    (step,) = world.read(key)["outcomes"]
    assert (step["result"], step["step"]["rule_id"]) == (revert.DONE, member.rule_id)
    # and no Restore as exception button: a member's remediation role may not authorize the rule again
    assert remediation_prompt.RESTORE_ACTION_ID not in json.dumps(blocks_of(message))


def test_a_restore_of_a_member_account_s_automatic_revert_is_refused(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a member account's change reverted automatically, and a Restore click naming it (signed: a copied button)
    member = Member(world, monkeypatch)
    member.alert()
    ref = remediation_prompt.AlertRef(EVENT_ID, MEMBER, "us-east-1", "2025/03/04")
    view = restore_dialog(world, {"blocks": [remediation_prompt.restore_block(ref)]})
    assert click(world, submission(view)) == interaction.ACCEPTED
    # when the job runs, nothing is put back or recorded, and the approver is told why
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert member.rule_id not in member.rules() and not world.keys("-restore.json")
    assert "SG Watch puts rules back in its own account only" in (
        world.slack.calls("chat.postEphemeral")[-1].params["text"])


@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchEntity"])
def test_a_remediation_role_that_cannot_be_assumed_is_said_in_the_alert_and_the_alert_still_goes_out(
        world: World, published: list[str], monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    member = Member(world, monkeypatch)
    real = accounts.assume_role

    def assume(account_id: str, role_arn: str, session_name: str) -> Any:
        if role_arn == REMEDIATION_ROLE:  # the role is missing, or does not trust the notifier
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, "AssumeRole")
        return real(account_id, role_arn, session_name)

    monkeypatch.setattr(accounts, "assume_role", assume)
    message = member.alert()
    assert member.rule_id in member.rules()
    said = (f"not reverted automatically: failed: remediation role {REMEDIATION_ROLE} could not be assumed "
            f"({code} on AssumeRole); {member.rule_id} in {member.group}: nothing done, not tried")
    assert said in published[-1] and said in json.dumps(blocks_of(message))
    (key,) = world.keys("-revert.json")
    assert [o["result"] for o in world.read(key)["outcomes"]] == [revert.FAILED, revert.NOT_TRIED]


@pytest.mark.parametrize(("role_name", "listed"), [("sgwatch-member-remediation", False), ("", True)])
def test_an_account_the_notifier_may_not_revert_in_is_left_alone_and_the_alert_says_so(
        world: World, published: list[str], assumed: list[str], monkeypatch: pytest.MonkeyPatch, role_name: str,
        listed: bool) -> None:
    member = Member(world, monkeypatch, role_name, listed)
    member.alert()
    assert member.rule_id in member.rules() and REMEDIATION_ROLE not in assumed
    assert f"not reverted automatically: not reverted: account {MEMBER} is not one SG Watch may revert in" in (
        published[-1])


@pytest.mark.parametrize(("account", "expected"), [
    (ACCOUNT, True), (MEMBER, True), ("", False), ("not-an-account", False), ("999999999999", False)])
def test_a_revert_may_touch_the_own_account_and_listed_members_only(account: str, expected: bool) -> None:
    reach = accounts.Settings.from_env({"ACCOUNTS": MEMBER})
    assert revert.may_revert_in(reach, ACCOUNT, account) is expected
    organization = accounts.Settings.from_env({"ACCOUNTS_FROM_ORGANIZATIONS": "true", "EXCLUDED_ACCOUNTS": MEMBER})
    assert revert.may_revert_in(organization, ACCOUNT, account) is (account in (ACCOUNT, "999999999999"))
