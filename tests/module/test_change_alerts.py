"""modules/sg-change-alerts applied to the emulator; the shipped zip run with the deployed settings.

The emulator cannot deliver EventBridge events to Lambda or SNS targets, so the events are fed
to the deployed handler through the harness (as EventBridge would invoke it), and the rule is
checked from what the emulator stores: its pattern (evaluated with moto's pattern engine on every
fixture and neighbour), its targets, retry policy, dead-letter queue and the queue's policy, and
the direct mode's input transformer (rendered with moto's transformer on the fixtures).
Slack is the loopback fake of tests/unit/fake_slack.py, reached through ``SLACK_API_URL``.
Exposure is checked on the network of tests/module/network.py, built in the emulator's account
and in a member account reached through its member role.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern
from pytest_terraform import terraform

from sgwatch import exposure
from tests.module.harness import (
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    received,
    role_policies,
    run_lambda,
    subscribe_inbox,
    unwatched,
)
from tests.module.network import Network, build_network
from tests.unit.fake_slack import FakeSlack

EVENTS = Path(__file__).resolve().parents[1] / "events"
FIXTURES = sorted(EVENTS.glob("*.json"))
NEIGHBOURS = sorted((EVENTS / "neighbours").glob("*.json"))
PREFIX = "security-groups/"
ACCOUNT = "123456789012"  # the emulator's account: events are re-addressed to it
MEMBER = "210987654321"  # the member account of the fixture (accounts.ids)
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/deployer"  # the fixture's approved_change_principals

terraform("change_alerts", scope="session")
deployed = deployed_fixture("change_alerts")


@pytest.fixture(scope="module")
def slack() -> Any:
    with FakeSlack(token="xoxb-test") as fake:
        yield fake


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def in_emulator(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The event addressed to the emulator's account and region, with its own eventID."""
    event = copy.deepcopy(event)
    detail = event.get("detail", event)
    detail.update(recipientAccountId=ACCOUNT, awsRegion="us-east-1", eventID=event_id)
    if "detail" in event:
        event.update(account=ACCOUNT, region="us-east-1")
    return event


def invoke(deployed: dict[str, Any], event: dict[str, Any], slack: FakeSlack | None = None) -> Any:
    overrides = {"SLACK_API_URL": slack.url} if slack else {"SLACK_CHANNEL_ID": "", "SLACK_TOKEN_SECRET_ARN": ""}
    run = run_lambda(deployed["function_name"], event, env_overrides=overrides)
    assert run.error is None, run.logs
    return run


# --- what Terraform deployed -----------------------------------------------------------------


def test_function_configuration_matches_the_contract(deployed: dict[str, Any]) -> None:
    config = deployed_configuration(deployed["function_name"])
    env = config["Environment"]["Variables"]
    assert config["Handler"] == "sg_change_alerts.handler.lambda_handler"
    assert env == {
        "ALERT_TOPIC_ARN": deployed["alert_topic_arn"],
        "EVIDENCE_BUCKET": deployed["bucket"],
        "EVIDENCE_PREFIX": PREFIX,
        "SLACK_TOKEN_SECRET_ARN": deployed["slack_secret_arn"],
        "SLACK_CHANNEL_ID": "C0123456789",
        "AUTHORIZED_PUBLIC_PORTS": "80,443",
        "APPROVED_CHANGE_PRINCIPALS": DEPLOYER,
        "IAC_MANAGED_TAG_KEYS": "aws:cloudformation:stack-id,ManagedBy",
        "RULE_REVIEW_TAG_KEYS": "{}",  # the default keys (justification, owner, ticket, expires)
        "PRIVATE_PEERS_JUSTIFIED": "false",
        "ACCOUNTS": MEMBER,
        "ACCOUNTS_FROM_ORGANIZATIONS": "false",
        "EXCLUDED_ACCOUNTS": "",
        "MEMBER_ROLE_NAME": "sgwatch-member-read",
        "MAX_WORKERS": "8",
        "REMEDIATION_MODE": "approve",
        "REMEDIATION_MIN_SEVERITY": "CRITICAL",
        "REMEDIATION_ONLY_OUT_OF_BAND": "true",
    }
    assert "xoxb" not in json.dumps(config)


def test_deployed_pattern_matches_every_fixture_and_no_neighbour(deployed: dict[str, Any]) -> None:
    for name in ("rule_name", "direct_rule_name"):
        pattern = EventPattern.load(client("events").describe_rule(Name=deployed[name])["EventPattern"])
        for path in FIXTURES:
            event = json.loads(path.read_text())
            event = event if "detail" in event else {"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail",
                                                     "detail": event}
            assert pattern.matches_event(event), path.name
        for path in NEIGHBOURS:
            assert not pattern.matches_event(json.loads(path.read_text())), path.name


def test_rule_targets_the_function_with_retries_and_a_dead_letter_queue(deployed: dict[str, Any]) -> None:
    (target,) = client("events").list_targets_by_rule(Rule=deployed["rule_name"])["Targets"]
    assert target["Arn"] == deployed["function_arn"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"]["Arn"] == deployed["dead_letter_queue_arn"]
    policy = json.loads(client("lambda").get_policy(FunctionName=deployed["function_name"])["Policy"])
    (statement,) = [s for s in policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == deployed["rule_arn"]


@pytest.mark.parametrize(("queue", "rule"), [("dead_letter_queue_url", "rule_arn"),
                                            ("direct_dead_letter_queue_url", "direct_rule_arn")])
def test_dead_letter_queue_accepts_only_this_rule(deployed: dict[str, Any], queue: str, rule: str) -> None:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=deployed[queue], AttributeNames=["Policy", "KmsMasterKeyId"]
    )
    (statement,) = json.loads(attributes["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == deployed[rule]
    assert attributes["Attributes"]["KmsMasterKeyId"]


def render(template: str, paths: dict[str, str], event: dict[str, Any]) -> str:
    """EventBridge's JSON-template semantics (moto's transformer inserts strings unquoted): every
    placeholder takes the JSON value at its path; a path that is absent gives null."""
    for name, path in paths.items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        template = template.replace(f"<{name}>", json.dumps(value))
    return template


def test_direct_mode_sends_a_readable_json_document_to_the_topic(deployed: dict[str, Any]) -> None:
    assert deployed.get("direct_function_name") is None
    (target,) = client("events").list_targets_by_rule(Rule=deployed["direct_rule_name"])["Targets"]
    assert target["Arn"] == deployed["alert_topic_arn"]
    assert target["DeadLetterConfig"]["Arn"] == deployed["direct_dead_letter_queue_arn"]
    transformer = target["InputTransformer"]
    for path in FIXTURES[:8]:
        event = json.loads(path.read_text())
        if "detail" not in event:
            continue
        document = json.loads(render(transformer["InputTemplate"], transformer["InputPathsMap"], event))
        assert document["event"] == event["detail"]["eventName"]
        assert document["actor"] == event["detail"]["userIdentity"]["arn"]
        assert event["detail"]["eventID"] == document["event_id"]


def test_role_has_no_wildcard_actions(deployed: dict[str, Any]) -> None:
    role = deployed_configuration(deployed["function_name"])["Role"].rsplit("/", 1)[-1]
    for policy in role_policies(role):
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a]
            if statement["Resource"] == "*" or statement["Resource"] == ["*"]:
                assert all(a.startswith("ec2:Describe") or a in exposure.IAM_ACTIONS for a in actions)


# --- events through the shipped handler ------------------------------------------------------


def test_each_event_reaches_the_topic_once_and_redelivery_yields_nothing(
    deployed: dict[str, Any], inbox: str, slack: FakeSlack
) -> None:
    names = [
        "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json",
        "AuthorizeSecurityGroupIngress_failed_unauthorized_ssh_world.json",
        "CreateSecurityGroup_cloudformation_tags.json",
    ]
    expected = []
    for number, name in enumerate(names):
        event = in_emulator(load(name), f"module-test-{number}")
        run = invoke(deployed, event, slack)
        assert run.result["published"] is True
        assert_least_privilege(deployed["function_name"], run)
        expected.append((run.result["subject"], run.result["severity"], event["detail"]["eventName"]))
    messages = received(inbox)
    assert sorted(
        (m["Subject"], m["MessageAttributes"]["severity"]["Value"], m["MessageAttributes"]["event_name"]["Value"])
        for m in messages
    ) == sorted(expected)
    assert expected[0][1] == "HIGH" and "ATTEMPTED" in next(m["Message"] for m in messages if "FAILED" in m["Subject"])
    assert len(slack.calls("chat.postMessage")) == len(names)

    # when EventBridge delivers the same events again
    for number, name in enumerate(names):
        again = in_emulator(load(name), f"module-test-{number}")
        again["id"] = f"redelivery-{number}"
        run = invoke(deployed, again, slack)
        assert run.result["published"] is False
    assert received(inbox) == []
    assert len(slack.calls("chat.postMessage")) == len(names)

    # and every event left its record in the evidence bucket
    keys = [o["Key"] for o in client("s3").list_objects_v2(Bucket=deployed["bucket"], Prefix=PREFIX)["Contents"]]
    for number in range(len(names)):
        assert any(k.endswith(f"/events/2025/03/04/module-test-{number}.json") for k in keys)


def _group_with_rule(cidr: str) -> tuple[str, str]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=f"web-{cidr.replace('/', '-')}", Description="web", VpcId=vpc)[
        "GroupId"
    ]
    rule = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}],
    )["SecurityGroupRules"][0]
    return group, rule["SecurityGroupRuleId"]


def _modify(group: str, rule_id: str, cidr: str, event_id: str) -> dict[str, Any]:
    client("ec2").modify_security_group_rules(
        GroupId=group,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": rule_id,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": cidr},
            }
        ],
    )
    event = in_emulator(load("ModifySecurityGroupRules_console_cidr_change.json"), event_id)
    event["detail"]["requestParameters"] = {
        "ModifySecurityGroupRulesRequest": {
            "GroupId": group,
            "SecurityGroupRule": {
                "SecurityGroupRuleId": rule_id,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": cidr},
                "tag": 1,
            },
        }
    }
    return event


def test_modify_after_a_previous_event_shows_before_and_after(deployed: dict[str, Any], inbox: str) -> None:
    # given a rule whose authorisation the function already processed
    group, rule_id = _group_with_rule("10.9.1.0/24")
    authorize = in_emulator(load("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"), "module-authorize-1")
    authorize["detail"]["requestParameters"]["groupId"] = group
    authorize["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0].update(
        groupId=group, securityGroupRuleId=rule_id, cidrIpv4="10.9.1.0/24"
    )
    invoke(deployed, authorize)
    received(inbox)
    # when it is modified in place to the whole internet
    run = invoke(deployed, _modify(group, rule_id, "0.0.0.0/0", "module-modify-1"))
    assert_least_privilege(deployed["function_name"], run)
    # then exactly one alert, HIGH, showing the rule as it was and as it is
    (message,) = received(inbox)
    assert message["MessageAttributes"]["severity"]["Value"] == "HIGH"
    assert f"before: ingress tcp port 22 from 10.9.1.0/24 (no description) [{rule_id}]" in message["Message"]
    assert (
        f"after:  ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) (no description) [{rule_id}]"
        in message["Message"]
    )


def test_modify_after_an_inventory_run_shows_before_from_the_snapshot(deployed: dict[str, Any], inbox: str) -> None:
    from sgwatch.evidence import EvidenceStore
    from sgwatch.rules import flatten_rules
    from sgwatch.sg_inventory.record import record_snapshot

    # given an inventory snapshot taken while the rule allowed 10.9.2.0/24
    group, rule_id = _group_with_rule("10.9.2.0/24")
    ec2 = client("ec2")
    rows = flatten_rules(
        ACCOUNT,
        "us-east-1",
        ec2.describe_security_groups()["SecurityGroups"],
        ec2.describe_security_group_rules()["SecurityGroupRules"],
    )
    record_snapshot(
        EvidenceStore(deployed["bucket"], client("s3")), PREFIX, ACCOUNT, "us-east-1", rows, datetime.now(UTC)
    )
    # when the rule is modified
    invoke(deployed, _modify(group, rule_id, "10.9.3.0/24", "module-modify-2"))
    # then the alert shows the snapshot's rule as the before-state
    (message,) = received(inbox)
    assert "before: ingress tcp port 22 from 10.9.2.0/24" in message["Message"]
    assert "after:  ingress tcp port 22 from 10.9.3.0/24" in message["Message"]
    assert "/snapshots/" in message["Message"]


@pytest.mark.parametrize("prefix", ["ca-test", "ca-direct"])
def test_every_undelivered_change_raises_an_alarm(deployed: dict[str, Any], prefix: str) -> None:
    # Given either mode deployed: an event its rule cannot deliver, or one kept in a dead-letter queue,
    # is an alert nobody received. Then a CloudWatch alarm watches every such place.
    assert unwatched(prefix) == []


# --- exposure and provenance -----------------------------------------------------------------


def _world_ssh(
    group_id: str, event_id: str, account: str = ACCOUNT, session: Any = None, port: int = 22
) -> dict[str, Any]:
    """tcp ``port`` (SSH) from 0.0.0.0/0 added to the group in the emulator, and the CloudTrail event that says so."""
    ec2 = (session or boto3.session.Session()).client("ec2", region_name="us-east-1")
    rule = ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    event = in_emulator(load("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"), event_id)
    detail = event["detail"]
    detail["requestParameters"]["groupId"] = group_id
    detail["requestParameters"]["ipPermissions"]["items"][0].update(fromPort=port, toPort=port)
    detail["responseElements"]["securityGroupRuleSet"]["items"][0].update(
        groupId=group_id, securityGroupRuleId=rule, fromPort=port, toPort=port)
    event["account"] = detail["recipientAccountId"] = account
    return event


def _as_created(event: dict[str, Any]) -> str:
    """The event of :func:`_world_ssh` saying what the emulator created (no description, unlike the fixture's);
    the added rule's id."""
    (added,) = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    added.pop("description")
    event["detail"]["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"][0].pop("description")
    return str(added["securityGroupRuleId"])


def _event_id(message: dict[str, Any]) -> str:
    """The CloudTrail event id a mail names on its ``Event ID:`` line."""
    (line,) = [x for x in message["Message"].splitlines() if x.startswith("Event ID:")]
    return line.split(":", 1)[1].strip()


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["Value"] for k, v in message["MessageAttributes"].items()}


def _record(deployed: dict[str, Any], event_id: str) -> dict[str, Any]:
    s3 = client("s3")
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=deployed["bucket"], Prefix=PREFIX)["Contents"]
              if o["Key"].endswith(f"/events/2025/03/04/{event_id}.json")]
    return dict(json.loads(s3.get_object(Bucket=deployed["bucket"], Key=key)["Body"].read()))


def _exposure_line(net: Network) -> str:
    return (f"{net.public_instance_id} {net.public_interface_id} {net.public_ip} {net.public_subnet_id} "
            f"{net.internet_gateway_id}")


def test_world_ssh_is_critical_on_an_internet_reachable_group_and_high_on_an_unattached_one(
    deployed: dict[str, Any], inbox: str
) -> None:
    # given a VPC with an internet gateway, a public subnet routed to it and an instance with a public IP
    net = build_network(name="ca")
    received(inbox)
    # when world SSH is added to the instance's group, and to a group attached to nothing
    exposed = invoke(deployed, _world_ssh(net.public_group_id, "module-exposed-1"))
    unattached = invoke(deployed, _world_ssh(net.unattached_group_id, "module-unattached-1"))
    # then the first is CRITICAL and exposed, naming the instance; the second HIGH and not exposed
    assert (exposed.result["severity"], unattached.result["severity"]) == ("CRITICAL", "HIGH")
    by_subject = {m["Subject"]: m for m in received(inbox)}
    first, second = by_subject[exposed.result["subject"]], by_subject[unattached.result["subject"]]
    assert (_attributes(first)["severity"], _attributes(first)["exposed"]) == ("CRITICAL", "true")
    assert (_attributes(second)["severity"], _attributes(second)["exposed"]) == ("HIGH", "false")
    assert f"\nExposure: {_exposure_line(net)}\n" in first["Message"]
    assert "\nExposure: not attached to any internet-reachable interface\n" in second["Message"]
    assert _record(deployed, "module-exposed-1")["exposure"] == {
        "exposed": True, "looked_up": True, "lines": [_exposure_line(net)]}
    # and the role allowed every describe call the lookups made
    assert {"DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeLoadBalancers"} <= {
        c["operation"] for c in exposed.calls}
    for run in (exposed, unattached):
        assert_least_privilege(deployed["function_name"], run)


def test_a_member_accounts_group_is_looked_up_through_its_member_role(deployed: dict[str, Any], inbox: str) -> None:
    # given the exposed network in the member account the module was given
    sts = client("sts")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read",
                                  RoleSessionName="network-builder")["Credentials"]
    member = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                   aws_secret_access_key=credentials["SecretAccessKey"],
                                   aws_session_token=credentials["SessionToken"])
    net = build_network(member, name="member")
    received(inbox)
    # when the member's event, forwarded to the central bus, reaches the function
    run = invoke(deployed, _world_ssh(net.public_group_id, "module-member-1", MEMBER, member))
    # then the function assumed the member role and found the instance
    assert [c["params"]["RoleArn"] for c in run.calls if c["operation"] == "AssumeRole"] == [
        f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read"]
    (message,) = received(inbox)
    assert _attributes(message)["severity"] == "CRITICAL" and net.public_instance_id in message["Message"]
    assert_least_privilege(deployed["function_name"], run)


def _by(event: dict[str, Any], role: str, user_agent: str) -> dict[str, Any]:
    detail = event["detail"]
    name = role.rsplit("/", 1)[1]
    detail["userIdentity"] = {
        "type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/session", "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": ACCOUNT, "userName": name}}}
    detail["userAgent"] = user_agent
    detail.pop("sessionCredentialFromConsole", None)
    return event


def test_approved_and_out_of_band_changes_to_an_iac_managed_group(deployed: dict[str, Any], inbox: str) -> None:
    # given a group Terraform manages (tag ManagedBy), and a pager subscribed with a filter policy on out-of-band
    # changes and CRITICAL alerts (as examples/complete/out_of_band_alerts.tf subscribes an address)
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(
        GroupName="iac-web", Description="managed by Terraform", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "ManagedBy", "Value": "terraform"}]}],
    )["GroupId"]
    pager = subscribe_inbox(deployed["alert_topic_arn"], "ca-test-pager",
                            {"$or": [{"change_control": ["out-of-band"]}, {"severity": ["CRITICAL"]}]})
    received(inbox)
    # when the pipeline's role changes it through Terraform, and another role by hand in the console
    terraform = "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"
    invoke(deployed, _by(_world_ssh(group, "module-approved-1"), DEPLOYER, terraform))
    console = invoke(deployed, _by(_world_ssh(group, "module-by-hand-1", port=3389),
                                   f"arn:aws:iam::{ACCOUNT}:role/ops", "console.ec2.amazonaws.com"))
    # then the alerts carry origin and change control, and the records keep them
    by_event = {_event_id(m): _attributes(m) for m in received(inbox)}
    assert {k: by_event["module-approved-1"][k] for k in ("origin", "change_control")} == {
        "origin": "terraform", "change_control": "approved"}
    assert {k: by_event["module-by-hand-1"][k] for k in ("origin", "change_control")} == {
        "origin": "console", "change_control": "out-of-band"}
    assert _record(deployed, "module-approved-1")["provenance"] == {
        "origin": "terraform", "origin_detail": "Terraform 1.5.7, provider 5.31.0", "principal": DEPLOYER,
        "change_control": "approved", "manual_change": False}
    assert _record(deployed, "module-by-hand-1")["provenance"] == {
        "origin": "console", "origin_detail": "console.ec2.amazonaws.com",
        "principal": f"arn:aws:iam::{ACCOUNT}:role/ops", "change_control": "out-of-band", "manual_change": True}
    # and only the out-of-band change reached the pager
    assert [_event_id(m) for m in received(pager)] == ["module-by-hand-1"]
    assert_least_privilege(deployed["function_name"], console)


# --- remediation: the Revert button, Slack's signed click through the function URL's handler, the queued job ---

SIGNING_SECRET = "module-test-signing-secret"


def _signed_click(message: dict[str, Any], secret: str = SIGNING_SECRET, user: str = "U0APPROVER",
                  action_id: str = "sgwatch_revert") -> dict[str, Any]:
    """The function URL event Slack's click on the message's Revert (or Keep) button becomes (form body, v0
    signature)."""
    blocks = json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    (button,) = [e for e in actions["elements"] if e["action_id"] == action_id]
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": "C0123456789"},
               "trigger_id": "1700000001.123.abc", "container": {"type": "message", "message_ts": "1700000000.000100"},
               "message": {"ts": "1700000000.000100", "blocks": blocks},
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": actions["block_id"],
                            "value": button["value"]}]}
    return _signed(payload, secret)


def _signed(payload: dict[str, Any], secret: str = SIGNING_SECRET) -> dict[str, Any]:
    """The function URL event of an interaction payload as Slack posts it (form body, v0 signature)."""
    import hashlib
    import hmac
    import time
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"version": "2.0", "rawPath": "/", "isBase64Encoded": False, "body": body,
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "headers": {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp,
                        "x-slack-signature": signature}}


def _queued_jobs(deployed: dict[str, Any]) -> dict[str, Any]:
    messages = client("sqs").receive_message(QueueUrl=deployed["remediation_work_queue_url"],
                                             MaxNumberOfMessages=10)["Messages"]
    return {"Records": [{"eventSource": "aws:sqs", "messageId": m["MessageId"], "body": m["Body"],
                         "receiptHandle": m["ReceiptHandle"]} for m in messages]}


def _live_rule_ids(group_id: str, session: Any = None) -> set[str]:
    ec2 = (session or boto3.session.Session()).client("ec2", region_name="us-east-1")
    found = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return {r["SecurityGroupRuleId"] for r in found["SecurityGroupRules"]}


def test_the_interaction_endpoint_is_a_public_url_whose_secret_is_never_deployed(deployed: dict[str, Any]) -> None:
    name = deployed["remediation_function_name"]
    url = client("lambda").get_function_url_config(FunctionName=name)
    assert url["AuthType"] == "NONE" and url["FunctionUrl"] == deployed["remediation_interaction_url"]
    policy = json.loads(client("lambda").get_policy(FunctionName=name)["Policy"])
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "ca-test-remediation-url"]
    assert statement["Action"] == "lambda:InvokeFunctionUrl" and statement["Principal"] == "*"
    env = deployed_configuration(name)["Environment"]["Variables"]
    assert env["SLACK_SIGNING_SECRET_ARN"] == deployed["remediation_signing_secret_arn"]
    assert env["REMEDIATION_APPROVERS"] == "U0APPROVER" and env["MEMBER_ROLE_NAME"] == "sgwatch-member-remediation"
    role = deployed_configuration(name)["Role"].rsplit("/", 1)[-1]
    assumable = [r for p in role_policies(role) for s in p["Statement"] if "sts:AssumeRole" in str(s["Action"])
                 for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert assumable == [f"arn:aws:iam::{MEMBER}:role/sgwatch-member-remediation"]


@pytest.mark.parametrize("where", ["own account", "member account"])
def test_an_approver_reverts_a_world_ssh_change_from_slack(deployed: dict[str, Any], slack: FakeSlack,
                                                           where: str) -> None:
    # given the app's signing secret set out of band, and an exposed group in the account
    client("secretsmanager").put_secret_value(SecretId=deployed["remediation_signing_secret_arn"],
                                              SecretString=SIGNING_SECRET)
    session, account = None, ACCOUNT
    if where == "member account":
        credentials = client("sts").assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read",
                                                RoleSessionName="network-builder")["Credentials"]
        session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                        aws_secret_access_key=credentials["SecretAccessKey"],
                                        aws_session_token=credentials["SessionToken"])
        account = MEMBER
    net = build_network(session, name=f"rv{account[-3:]}")
    # when someone opens SSH to the world on it, out of band, and the notifier alerts with a Revert button
    event = _world_ssh(net.public_group_id, f"module-revert-{account}", account, session)
    rule_id = _as_created(event)
    alert = invoke(deployed, event, slack)
    assert alert.result["severity"] == "CRITICAL"
    message = slack.calls("chat.postMessage")[-1].params
    # and an approver clicks Revert: Slack's signed request reaches the function URL's handler
    name, overrides = deployed["remediation_function_name"], {"SLACK_API_URL": slack.url}
    answer = run_lambda(name, _signed_click(message), env_overrides=overrides)
    assert answer.error is None and answer.result["statusCode"] == 200, answer.logs
    assert_least_privilege(name, answer)
    # and the queued job runs
    job = run_lambda(name, _queued_jobs(deployed), env_overrides=overrides)
    assert job.error is None and job.result == {"batchItemFailures": []}, job.logs
    assert_least_privilege(name, job)
    # then the rule is gone, the decision and the outcome are recorded once, and the message says what was done
    assert rule_id not in _live_rule_ids(net.public_group_id, session)
    assumed = [c["params"]["RoleArn"] for c in job.calls if c["operation"] == "AssumeRole"]
    assert assumed == ([] if account == ACCOUNT else [f"arn:aws:iam::{MEMBER}:role/sgwatch-member-remediation"])
    keys = [o["Key"] for o in client("s3").list_objects_v2(
        Bucket=deployed["bucket"], Prefix=f"{PREFIX}{account}/us-east-1/remediation/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys if f"module-revert-{account}" in k) == [
        f"module-revert-{account}-revert-outcome.json", f"module-revert-{account}-revert.json"]
    update = slack.calls("chat.update")[-1].params
    assert f"{rule_id} in {net.public_group_id}: revoked" in update["text"]
    # and a second click on the same alert does nothing more
    again = run_lambda(name, _signed_click(message), env_overrides=overrides)
    assert again.result["statusCode"] == 200
    run_lambda(name, _queued_jobs(deployed), env_overrides=overrides)
    assert "already handled" in slack.calls("chat.postEphemeral")[-1].params["text"]


def test_an_approver_keeps_a_world_ssh_change_as_an_exception_and_its_next_alert_has_no_buttons(
        deployed: dict[str, Any], slack: FakeSlack) -> None:
    # given the signing secret set, and a world-SSH change alerted with its buttons
    client("secretsmanager").put_secret_value(SecretId=deployed["remediation_signing_secret_arn"],
                                              SecretString=SIGNING_SECRET)
    net = build_network(None, name="keep")
    event = _world_ssh(net.public_group_id, "module-keep-1")
    rule_id = event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["securityGroupRuleId"]
    invoke(deployed, event, slack)
    message = slack.calls("chat.postMessage")[-1].params
    name, overrides = deployed["remediation_function_name"], {"SLACK_API_URL": slack.url}
    # when an approver clicks Keep as exception: the dialog opens
    opened = run_lambda(name, _signed_click(message, action_id="sgwatch_keep"), env_overrides=overrides)
    assert opened.error is None and opened.result["statusCode"] == 200, opened.logs
    view = slack.calls("views.open")[-1].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    # and submits it with a reason and an expiry within exception_max_days
    expires = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    submitted = run_lambda(name, _signed({
        "type": "view_submission", "user": {"id": "U0APPROVER"},
        "view": {"callback_id": view["callback_id"], "private_metadata": view["private_metadata"], "state": {
            "values": {"sgwatch_reason": {"reason": {"type": "plain_text_input", "value": "vendor session"}},
                       "sgwatch_expiry": {"expiry": {"type": "datepicker", "selected_date": expires}}}}}}),
        env_overrides=overrides)
    assert submitted.error is None and submitted.result["statusCode"] == 200, submitted.logs
    job = run_lambda(name, _queued_jobs(deployed), env_overrides=overrides)
    assert job.error is None and job.result == {"batchItemFailures": []}, job.logs
    assert_least_privilege(name, job)
    # then the rule stays, the exception is recorded once with its index entry, and the message says so
    assert rule_id in _live_rule_ids(net.public_group_id)
    keys = [o["Key"] for o in client("s3").list_objects_v2(
        Bucket=deployed["bucket"], Prefix=f"{PREFIX}{ACCOUNT}/us-east-1/remediation/")["Contents"]]
    assert [k for k in keys if "module-keep-1" in k and k.endswith("-keep.json")]
    assert [k for k in keys if k.endswith(f"/exceptions/{net.public_group_id}/{expires}-module-keep-1.json")]
    assert "Kept as exception" in slack.calls("chat.update")[-1].params["text"]
    # and the same rule added again is alerted without buttons, saying it is kept
    boto3.client("ec2", region_name="us-east-1").revoke_security_group_ingress(
        GroupId=net.public_group_id, SecurityGroupRuleIds=[rule_id])
    again = invoke(deployed, _world_ssh(net.public_group_id, "module-keep-2"), slack)
    assert_least_privilege(deployed["function_name"], again)
    blocks = json.dumps(slack.calls("chat.postMessage")[-1].params["blocks"])
    assert '"actions"' not in blocks and "kept as exception by U0APPROVER until" in blocks


def test_a_request_without_slacks_signature_is_refused_and_queues_nothing(deployed: dict[str, Any],
                                                                         slack: FakeSlack) -> None:
    client("secretsmanager").put_secret_value(SecretId=deployed["remediation_signing_secret_arn"],
                                              SecretString=SIGNING_SECRET)
    message = {"blocks": [{"type": "actions", "block_id": "sgwatch_remediation", "elements": [
        {"type": "button", "action_id": "sgwatch_revert", "value": "{}"}]}]}
    forged = _signed_click(message, secret="guessed")
    answer = run_lambda(deployed["remediation_function_name"], forged, env_overrides={"SLACK_API_URL": slack.url})
    assert answer.result == {"statusCode": 401, "headers": {"content-type": "text/plain"}, "body": "refused"}
    assert "Messages" not in client("sqs").receive_message(QueueUrl=deployed["remediation_work_queue_url"])


def test_in_auto_mode_without_slack_the_notifier_reverts_a_world_ssh_change_at_alert_time(
        deployed: dict[str, Any], inbox: str) -> None:
    # given the notifier deployed with remediation = { mode = "auto" } and no Slack, and an exposed group
    name = deployed["auto_function_name"]
    env = deployed_configuration(name)["Environment"]["Variables"]
    assert env["REMEDIATION_MODE"] == "auto" and "SLACK_CHANNEL_ID" not in env
    net = build_network(None, name="auto")
    # when someone opens SSH to the world on it, out of band, and the notifier runs on the event
    event = _world_ssh(net.public_group_id, "module-auto-1")
    rule_id = _as_created(event)
    alert = run_lambda(name, event)
    assert alert.error is None and alert.result["severity"] == "CRITICAL", alert.logs
    # then, with only the calls its role grants, the rule is gone before the alert is out, and the mail says so
    assert_least_privilege(name, alert)
    assert rule_id not in _live_rule_ids(net.public_group_id)
    (mail,) = [m for m in received(inbox) if _event_id(m) == "module-auto-1"]
    assert f"reverted automatically: {rule_id} in {net.public_group_id}: revoked" in mail["Message"]
    # and the outcome is recorded once, decided by "auto"
    s3 = client("s3")
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=deployed["bucket"],
                                                   Prefix=f"{PREFIX}{ACCOUNT}/us-east-1/remediation/")["Contents"]
              if o["Key"].endswith("/module-auto-1-revert.json")]
    record = json.loads(s3.get_object(Bucket=deployed["bucket"], Key=key)["Body"].read())
    assert record["decided_by"] == "auto" and [o["result"] for o in record["outcomes"]] == ["done"]


def test_in_auto_mode_the_notifier_reverts_a_member_accounts_change_through_its_remediation_role(
        deployed: dict[str, Any], inbox: str) -> None:
    # given the auto-mode notifier with the member account, allowed to assume its read and remediation roles only
    name = deployed["auto_function_name"]
    assert deployed_configuration(name)["Environment"]["Variables"]["REMEDIATION_ROLE_NAME"] == (
        "sgwatch-member-remediation")
    role = deployed_configuration(name)["Role"].rsplit("/", 1)[-1]
    assumable = sorted(r for p in role_policies(role) for s in p["Statement"] if "sts:AssumeRole" in str(s["Action"])
                       for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    assert assumable == [f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read",
                         f"arn:aws:iam::{MEMBER}:role/sgwatch-member-remediation"]
    # and an exposed group in the member account
    credentials = client("sts").assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read",
                                            RoleSessionName="network-builder")["Credentials"]
    session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
    net = build_network(session, name="automember")
    # when someone opens SSH to the world on it, out of band, and the notifier runs on the forwarded event
    event = _world_ssh(net.public_group_id, "module-auto-member-1", MEMBER, session)
    rule_id = _as_created(event)
    alert = run_lambda(name, event)
    assert alert.error is None and alert.result["severity"] == "CRITICAL", alert.logs
    # then, with only the calls its role grants, the member's rule is gone through its remediation role
    assert_least_privilege(name, alert)
    assert rule_id not in _live_rule_ids(net.public_group_id, session)
    assert f"arn:aws:iam::{MEMBER}:role/sgwatch-member-remediation" in [
        c["params"]["RoleArn"] for c in alert.calls if c["operation"] == "AssumeRole"]
    (mail,) = [m for m in received(inbox) if _event_id(m) == "module-auto-member-1"]
    assert f"reverted automatically: {rule_id} in {net.public_group_id}: revoked" in mail["Message"]


def test_remediation_mode_approve_to_auto_changes_the_functions_in_place(change_alerts: Any) -> None:
    # When the applied deployment (approve mode) is planned with remediation.mode = "auto"
    runner = change_alerts.terraform
    env = {**os.environ, "TF_DATA_DIR": runner.work_dir, "TF_IN_AUTOMATION": "1"}
    plan = str(Path(runner.work_dir) / "auto.plan")
    result = subprocess.run(["terraform", "plan", "-no-color", "-input=false", "-refresh=false",
                             f"-state={runner.state_path}", "-var", "remediation_mode=auto", f"-out={plan}"],
                            cwd=runner.module_dir, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    shown = subprocess.run(["terraform", "show", "-json", plan], cwd=runner.module_dir, env=env,
                           capture_output=True, text=True, timeout=600)
    changes = {c["address"]: c["change"]["actions"] for c in json.loads(shown.stdout)["resource_changes"]
               if c["change"]["actions"] != ["no-op"]}
    # Then nothing is destroyed, replaced or added: the notifier's role policy (the revoke and modify calls, the
    # remediation folder) and both functions' environments change in place
    assert all(actions == ["update"] for actions in changes.values()), changes
    notifier = "module.change_alerts.module.function[0]"
    assert {f"{notifier}.aws_iam_role_policy.function", f"{notifier}.aws_lambda_function.this"} <= set(changes), changes
