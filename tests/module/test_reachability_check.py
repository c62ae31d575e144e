"""modules/reachability-check applied to the emulator; the shipped zip run with the deployed settings.

The emulator has no Reachability Analyzer API: the EC2 calls go to the loopback fake of
tests/unit/test_reachability_handler.py (``FakeEc2``), which the handler, in its own
process, reaches through ``AWS_ENDPOINT_URL_EC2`` passed as an environment override.
S3 (SSE-KMS evidence), SNS (KMS topic), KMS, STS, IAM, SQS, EventBridge, Scheduler and
Lambda are the emulator's.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_terraform import terraform

from tests.module.harness import (
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    module_outputs,
    received,
    role_policies,
    run_lambda,
    scheduled_function,
    unwatched,
)
from tests.unit.test_reachability_handler import FakeEc2, FakeEc2Server

WEB, DB = "nip-0b26f224f1d131fa8", "nip-0123456789abcdef0"
BLOCKED = {
    "Status": "succeeded",
    "NetworkPathFound": False,
    "Explanations": [
        {
            "Direction": "ingress",
            "ExplanationCode": "ENI_SG_RULES_MISMATCH",
            "NetworkInterface": {"Id": "eni-0a25edef15a6cc08c"},
            "SecurityGroups": [{"Id": "sg-02f0d35a850ba727f"}],
        }
    ],
}

terraform("reachability_check", scope="session")
deployed = deployed_fixture("reachability_check", module_outputs)


def path(path_id: str, name: str) -> dict[str, Any]:
    return {
        "NetworkInsightsPathId": path_id,
        "Source": "igw-0797cccdc9d73b0e5",
        "Destination": f"i-0{name}",
        "Protocol": "tcp",
        "DestinationPort": 443,
        "Tags": [{"Key": "Name", "Value": name}],
    }


def test_deployed_configuration_matches_the_contract(deployed: dict[str, Any]) -> None:
    config, schedule = scheduled_function(deployed["function_name"], "reachability_check.handler.lambda_handler")
    env = config["Environment"]["Variables"]
    assert env["PATH_IDS"].split(",") == [WEB, DB] == deployed["path_ids"]
    assert env["ALERT_TOPIC_ARN"] == deployed["alert_topic_arn"]
    assert (env["EVIDENCE_BUCKET"], env["EVIDENCE_PREFIX"]) == (deployed["bucket"], "security-groups/")
    assert not any(k.startswith("SLACK_") for k in env)
    assert schedule["ScheduleExpression"] == "rate(6 hours)"


def test_changes_are_debounced_through_an_encrypted_queue(deployed: dict[str, Any]) -> None:
    sqs = client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=deployed["queue_url"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=deployed["dlq_url"], AttributeNames=["All"])["Attributes"]
    key = deployed["kms_key_arn"]
    assert queue["KmsMasterKeyId"] == key and dlq["KmsMasterKeyId"] == key
    assert json.loads(queue["RedrivePolicy"])["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(queue["VisibilityTimeout"]) >= 6 * deployed_configuration(deployed["function_name"])["Timeout"]
    # only the rule may send, to the queue and to its DLQ
    for attributes in (queue, dlq):
        [statement] = json.loads(attributes["Policy"])["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": deployed["rule_arn"]}}
    [mapping] = client("lambda").list_event_source_mappings(EventSourceArn=deployed["queue_arn"])["EventSourceMappings"]
    assert mapping["FunctionArn"] == deployed_configuration(deployed["function_name"])["FunctionArn"]
    assert mapping["MaximumBatchingWindowInSeconds"] == 120
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    [alarm] = client("cloudwatch").describe_alarms(AlarmNames=["rc-test-reachability-events-dead-letters"])[
        "MetricAlarms"
    ]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "rc-test-reachability-events-dlq"}]
    assert alarm["AlarmActions"] == [deployed["alert_topic_arn"]]


def test_the_rule_sends_the_given_pattern_from_this_account_and_region_only(deployed: dict[str, Any]) -> None:
    # Given the pattern passed in: the rule adds the account and region whose paths are checked, so a
    # change forwarded from another account or region never costs an analysis here
    events = client("events")
    rule = events.describe_rule(Name=deployed["rule_name"], EventBusName="default")
    given = json.loads(deployed["given_event_pattern"])
    assert json.loads(rule["EventPattern"]) == {**given, "account": ["123456789012"], "region": ["us-east-1"]}
    [target] = events.list_targets_by_rule(Rule=deployed["rule_name"])["Targets"]
    assert target["Arn"] == deployed["queue_arn"]
    assert target["DeadLetterConfig"]["Arn"].endswith(":rc-test-reachability-events-dlq")
    # Which events the pattern matches is tested with the pattern itself (change alerts);
    # the emulator does not evaluate TestEventPattern.


def test_every_undelivered_change_raises_an_alarm(deployed: dict[str, Any]) -> None:
    assert unwatched("rc-test") == []


def test_role_is_least_privilege(deployed: dict[str, Any]) -> None:
    statements = [s for p in role_policies(deployed["role_name"]) for s in p["Statement"]]
    start = next(s for s in statements if "ec2:StartNetworkInsightsAnalysis" in s["Action"])
    resources = start["Resource"] if isinstance(start["Resource"], list) else [start["Resource"]]
    assert sorted(r.rsplit("/", 1)[-1] for r in resources if "network-insights-path/" in r) == sorted([WEB, DB])
    assert all(":network-insights-" in r for r in resources)
    assert not [
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if "*" in a
    ]


def test_blocked_then_steady_from_the_shipped_zip(deployed: dict[str, Any], inbox: str) -> None:
    name = deployed["function_name"]
    fake = FakeEc2(
        paths={WEB: path(WEB, "web"), DB: path(DB, "db")},
        verdicts={WEB: BLOCKED, DB: {"Status": "succeeded", "NetworkPathFound": True}},
    )
    with FakeEc2Server(fake) as server:
        # a scheduled run: every path is analysed; the blocked one alerts
        first = run_lambda(name, {"source": "sgwatch.schedule"}, env_overrides={"AWS_ENDPOINT_URL_EC2": server.url})
        assert first.error is None, first.logs
        assert first.result["alerts"] == 1
        assert sorted((a["path_id"], a["path_found"]) for a in first.result["analyses"]) == [(DB, True), (WEB, False)]
        [alert] = received(inbox)
        assert alert["Subject"] == f"SG Watch: Path web ({WEB}) is blocked (first check)"
        assert (
            "security group sg-02f0d35a850ba727f (ingress, at eni-0a25edef15a6cc08c): ENI_SG_RULES_MISMATCH"
            in alert["Message"]
        )
        assert alert["MessageAttributes"]["severity"]["Value"] == "HIGH"
        assert_least_privilege(name, first)
        # the state is evidence under the documented layout
        keys = [
            o["Key"]
            for o in client("s3").list_objects_v2(Bucket=deployed["bucket"], Prefix="security-groups/")["Contents"]
        ]
        assert {k.split("/")[4] for k in keys} == {WEB, DB}
        assert all(k.startswith("security-groups/123456789012/us-east-1/reachability/") for k in keys)

        # an SQS batch: a malformed record and a change that affects no path
        batch = {
            "Records": [
                {"messageId": "bad", "body": "{oops", "eventSource": "aws:sqs"},
                {
                    "messageId": "ok",
                    "eventSource": "aws:sqs",
                    "body": json.dumps(
                        {
                            "account": "123456789012",
                            "region": "us-east-1",
                            "detail": {
                                "eventName": "UpdateSecurityGroupRuleDescriptionsIngress",
                                "requestParameters": {"groupId": "sg-0aaaaaaaaaaaaaaa1"},
                            },
                        }
                    ),
                },
            ]
        }
        started = len(fake.starts())
        second = run_lambda(name, batch, env_overrides={"AWS_ENDPOINT_URL_EC2": server.url})
        assert second.error is None, second.logs
        assert second.result == {"analyses": [], "alerts": 0, "batchItemFailures": [{"itemIdentifier": "bad"}]}
        assert len(fake.starts()) == started

        # the next scheduled run finds the same states: steady, silent
        third = run_lambda(name, {}, env_overrides={"AWS_ENDPOINT_URL_EC2": server.url})
        assert third.error is None, third.logs
        assert third.result["alerts"] == 0 and received(inbox) == []
        assert_least_privilege(name, third)
