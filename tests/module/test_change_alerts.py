"""modules/sg-change-alerts applied to the emulator; the shipped zip run with the deployed settings.

The emulator cannot deliver EventBridge events to Lambda or SNS targets, so the events are fed
to the deployed handler through the harness (as EventBridge would invoke it), and the rule is
checked from what the emulator stores: its pattern (evaluated with moto's pattern engine on every
fixture and neighbour), its targets, retry policy, dead-letter queue and the queue's policy, and
the direct mode's input transformer (rendered with moto's transformer on the fixtures).
Slack is the loopback fake of tests/unit/fake_slack.py, reached through ``SLACK_API_URL``.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern
from pytest_terraform import terraform

from tests.module.harness import (
    assert_least_privilege,
    client,
    deployed_configuration,
    role_policies,
    run_lambda,
    unwatched,
)
from tests.unit.fake_slack import FakeSlack

EVENTS = Path(__file__).resolve().parents[1] / "events"
FIXTURES = sorted(EVENTS.glob("*.json"))
NEIGHBOURS = sorted((EVENTS / "neighbours").glob("*.json"))
PREFIX = "security-groups/"
ACCOUNT = "123456789012"  # the emulator's account: events are re-addressed to it

terraform("change_alerts", scope="session")


@pytest.fixture(scope="module")
def deployed(change_alerts: Any) -> dict[str, Any]:
    return {k: v["value"] for k, v in change_alerts.outputs.items()}


@pytest.fixture(scope="module")
def inbox(deployed: dict[str, Any]) -> str:
    """An SQS queue subscribed to the alert topic: what a mail subscriber receives."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="ca-test-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns").subscribe(TopicArn=deployed["alert_topic_arn"], Protocol="sqs", Endpoint=arn)
    received(url)
    return url


@pytest.fixture(scope="module")
def slack() -> Any:
    with FakeSlack(token="xoxb-test") as fake:
        yield fake


def received(url: str) -> list[dict[str, Any]]:
    sqs, found = client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for m in got:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


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
    assert config["Handler"] == "sg_change_notifier.handler.lambda_handler"
    assert env == {
        "ALERT_TOPIC_ARN": deployed["alert_topic_arn"],
        "EVIDENCE_BUCKET": deployed["bucket"],
        "EVIDENCE_PREFIX": PREFIX,
        "SLACK_TOKEN_SECRET_ARN": deployed["slack_secret_arn"],
        "SLACK_CHANNEL_ID": "C0123456789",
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
                assert all(a.startswith("ec2:Describe") for a in actions)


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
    from sgwatch.snapshots import record_snapshot

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
