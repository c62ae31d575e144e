"""examples/complete applied to the emulator: its capabilities together, as a user deploys it."""

from __future__ import annotations

import fnmatch
import json
import re
from datetime import UTC, datetime

from moto.events.models import EventPattern
from pytest_terraform import terraform

from tests.module.harness import (
    ACCOUNT,
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    role_policies,
    run_lambda,
    unwatched,
    wildcard_actions,
)
from tests.paths import EVENTS

terraform("example_complete", scope="session", teardown=terraform.TEARDOWN_ON)
deployed = deployed_fixture("example_complete")

PREFIX = "sgw-complete"
# Describe/list calls without resource-level permissions are the only "*" resources allowed.
WILDCARD_RESOURCE_OK = re.compile(
    r"^(ec2:Describe|ec2:Get|autoscaling:Describe|lambda:List|ecs:List|events:List|scheduler:List|codebuild:List|"
    r"batch:Describe|redshift:Describe|dms:Describe|kafka:List|sagemaker:List|elasticloadbalancing:Describe|"
    r"cloudtrail:LookupEvents|organizations:ListAccounts|tiros:|xray:|ec2:Search|directconnect:Describe|"
    r"network-firewall:|elasticfilesystem:Describe|globalaccelerator:|apigateway:GET|tiros:)"
)


def _roles() -> list[str]:
    iam = client("iam")
    return [r["RoleName"] for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]
            if r["RoleName"].startswith(PREFIX)]


def test_every_enabled_capability_is_deployed(deployed):
    assert set(deployed["lambda_function_names"]) == {
        "sg_inventory", "sg_change_notifier", "unused_sg_audit", "review_pack", "securityhub_report"}
    assert deployed["slack_token_secret_arn"].startswith("arn:aws:secretsmanager:")


def test_no_role_allows_a_wildcard_action(deployed):
    roles = _roles()
    assert len(roles) >= 2 * len(deployed["lambda_function_names"]) - 1  # function roles + scheduler roles
    offenders = {role: wildcard_actions(role_policies(role)) for role in roles}
    assert {role: found for role, found in offenders.items() if found} == {}


def test_wildcard_resources_only_where_the_api_has_no_resource_level_permission(deployed):
    loose = []
    for role in _roles():
        for policy in role_policies(role):
            for statement in policy["Statement"]:
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if "*" in resources:
                    loose += [f"{role}: {a}" for a in actions if not WILDCARD_RESOURCE_OK.match(a)]
    assert loose == []


def test_functions_hold_no_secret_and_point_at_the_shared_slack_secret(deployed):
    for capability, name in deployed["lambda_function_names"].items():
        variables = deployed_configuration(name).get("Environment", {}).get("Variables", {})
        assert not any(v.startswith(("xoxb-", "xoxp-")) for v in variables.values()), capability
        if "SLACK_TOKEN_SECRET_ARN" in variables:
            assert variables["SLACK_TOKEN_SECRET_ARN"] == deployed["slack_token_secret_arn"]
    secret = client("secretsmanager").describe_secret(SecretId=deployed["slack_token_secret_arn"])
    assert secret["KmsKeyId"] in (deployed["kms_key_arn"], deployed["kms_key_arn"].split("/")[-1])


def test_every_function_has_an_encrypted_dead_letter_queue_and_alarms(deployed):
    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    for name in deployed["lambda_function_names"].values():
        queue = client("sqs").get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
        attributes = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["KmsMasterKeyId"])
        assert attributes["Attributes"]["KmsMasterKeyId"] == deployed["kms_key_arn"]
        for suffix in ("errors", "dead-letters"):
            assert alarms[f"{name}-{suffix}"]["AlarmActions"] == [deployed["alert_topic_arn"]]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_key_lets_eventbridge_and_cloudwatch_deliver_to_the_module_topic_and_queues(deployed):
    # Given the module key's policy
    policy = json.loads(client("kms").get_key_policy(KeyId=deployed["kms_key_arn"], PolicyName="default")["Policy"])
    services = [s for s in policy["Statement"] if "Service" in s["Principal"]]
    # Then no service grant carries an aws:Source* condition (unsupported for EventBridge to an encrypted
    # topic: every publish would fail) and each is scoped by the encryption context instead
    for statement in services:
        keys = [key for test in statement["Condition"].values() for key in test]
        assert not [k for k in keys if k.lower().startswith("aws:source")], statement["Sid"]
        assert [k for k in keys if k.startswith("kms:EncryptionContext:")], statement["Sid"]
    principals = {p for s in services for p in _as_list(s["Principal"]["Service"])}
    assert "sns.amazonaws.com" not in principals and "scheduler.amazonaws.com" not in principals

    def grants(service: str, context: str, arn: str) -> bool:
        return any(
            service in _as_list(s["Principal"]["Service"])
            and "kms:GenerateDataKey" in _as_list(s["Action"])
            and any(
                fnmatch.fnmatchcase(arn, pattern)
                for test in s["Condition"].values()
                for pattern in _as_list(test.get(f"kms:EncryptionContext:{context}", []))
            )
            for s in services
        )

    # and it covers the alert topic (EventBridge in direct mode, CloudWatch alarms) and every module queue
    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        assert grants(service, "aws:sns:topicArn", deployed["alert_topic_arn"]), service
    sqs = client("sqs")
    queues = sqs.list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]
    assert queues
    for url in queues:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert grants("events.amazonaws.com", "aws:sqs:arn", arn), arn


def test_each_role_writes_only_its_own_kinds_of_evidence(deployed):
    # Given every role of the deployment and the object writes its policies allow
    bucket = f"arn:aws:s3:::{deployed['evidence_bucket_name']}/security-groups/"
    writes = {}
    for role in _roles():
        resources = [
            r
            for p in role_policies(role)
            for s in p["Statement"]
            if s["Effect"] == "Allow" and "s3:PutObject" in _as_list(s["Action"])
            for r in _as_list(s["Resource"])
        ]
        if resources:
            writes[role.removeprefix(f"{PREFIX}-")] = sorted(r.removeprefix(bucket) for r in resources)
    # Then each writes its own key kinds, and only the review pack writes under reviews/
    assert writes == {
        "sg-inventory": ["*/claims/*", "*/diffs/*", "*/drift/*", "*/expiry-notices/*", "*/exposure/*",
                         "*/rule-review-state/*", "*/rule-review/*", "*/snapshot-groups/*", "*/snapshots/*",
                         "iac-declared/*"],
        "sg-change-notifier": ["*/events/*", "*/group-names/*", "*/group-state/*"],
        "unused-sg-audit": ["*/unused/*"],
        "review-pack": ["reviews/*"],
    }


def test_disabling_or_deleting_the_key_alerts_through_a_topic_the_key_does_not_encrypt(deployed):
    # Given the key guard rule and a CloudTrail record of each call, as EventBridge delivers it
    events = client("events")
    rule = events.describe_rule(Name=f"{PREFIX}-key-guard")
    pattern = EventPattern.load(rule["EventPattern"])

    def call(name: str, key: str) -> dict:
        return {
            "source": "aws.kms",
            "detail-type": "AWS API Call via CloudTrail",
            "account": ACCOUNT,
            "region": "us-east-1",
            "detail": {"eventSource": "kms.amazonaws.com", "eventName": name, "requestParameters": {"keyId": key}},
        }

    key_arn = deployed["kms_key_arn"]
    key_id, other = key_arn.rsplit("/", 1)[-1], key_arn.rsplit("/", 1)[0] + "/another-key"
    # Then scheduling the deletion of the module key, or disabling it, by ARN or by id, is caught...
    for key in (key_arn, key_id):
        assert pattern.matches_event(call("ScheduleKeyDeletion", key)) and pattern.matches_event(
            call("DisableKey", key)
        )
    # ...other keys and other calls are not
    assert not pattern.matches_event(call("ScheduleKeyDeletion", other))
    assert not pattern.matches_event(call("EnableKey", key_arn))
    # and the alert goes to a topic that still works while the key is unusable
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == deployed["key_guard_topic_arn"]
    attributes = client("sns").get_topic_attributes(TopicArn=target["Arn"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes


def test_every_dead_letter_queue_and_rule_raises_an_alarm(deployed):
    assert unwatched(PREFIX) == []


def test_a_full_round_from_the_shipped_zips(deployed):
    functions = deployed["lambda_function_names"]
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]

    inventory = run_lambda(functions["sg_inventory"], {})
    assert inventory.error is None, inventory.logs
    assert_least_privilege(functions["sg_inventory"], inventory)

    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    event = json.loads((EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json").read_text())
    detail = event["detail"]
    detail["requestParameters"]["groupId"] = web
    event["account"] = detail["recipientAccountId"] = ACCOUNT
    now = datetime.now(UTC)
    event["time"] = detail["eventTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    alert = run_lambda(functions["sg_change_notifier"], event)
    assert alert.error is None, alert.logs
    assert alert.result["published"] is True and alert.result["severity"] == "HIGH"
    assert_least_privilege(functions["sg_change_notifier"], alert)

    second = run_lambda(functions["sg_inventory"], {})
    assert second.result["results"][0]["added"] == 1

    audit = run_lambda(functions["unused_sg_audit"], {})
    assert audit.error is None, audit.logs
    assert web in audit.result["results"][0]["unused"]
    assert_least_privilege(functions["unused_sg_audit"], audit)

    day = now.date().isoformat()
    pack = run_lambda(functions["review_pack"], {"from": day, "to": day})
    assert pack.error is None, pack.logs
    assert_least_privilege(functions["review_pack"], pack)
    report = client("s3").get_object(Bucket=deployed["evidence_bucket_name"], Key=pack.result["report_key"])
    html = report["Body"].read()
    assert web.encode() in html and b"alice@example.com" in html


def test_scheduled_runs_are_not_retried_whole_and_alerts_are_retried(deployed):
    """A failed scheduled run re-runs no healthy pair and repeats no mail; an alert is retried (idempotent)."""
    retries = {
        capability: client("lambda").get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"]
        for capability, name in deployed["lambda_function_names"].items()
    }
    assert retries == {
        "sg_inventory": 0,
        "unused_sg_audit": 0,
        "review_pack": 0,
        "securityhub_report": 0,
        "sg_change_notifier": 2,
    }
