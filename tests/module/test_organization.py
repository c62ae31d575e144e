"""examples/organization applied to the emulator: a central security-tooling account and a member.

The central account is the emulator's default account; the member account is reached, like the
example's ``aws.member`` provider does, by assuming a role in it (moto derives the account of
the credentials from the role ARN). What the emulator cannot do, and how it is covered here:

* moto does not evaluate role trust policies, so the trust is checked as the document IAM stores;
* moto re-stamps an event forwarded to another account's bus with that bus's account, and raises
  on the central rule's Lambda target instead of invoking it. The forwarding path is therefore
  checked hop by hop with the deployed patterns and targets (moto's pattern engine), and the
  event as AWS delivers it (``account`` = the member) is fed to the shipped notifier handler.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from moto.events.models import EventPattern

from tests.iam_reference import access_level
from tests.module.harness import (
    allows,
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    received,
    role_policies,
    run_lambda,
    unwatched,
    wildcard_actions,
)
from tests.paths import DIST, EVENTS, ROOT

PREFIX = "security-groups/"
MEMBER = "222222222222"
REGIONS = ("us-east-1", "us-west-2")
# Services the central roles use in the central account only: evidence, alerts, queues, keys,
# logs, Security Hub (delegated administrator), Organizations and the role assumption itself.
CENTRAL_ONLY = ("s3:", "sns:", "sqs:", "kms:", "logs:", "securityhub:", "organizations:", "sts:")
FIXTURES = sorted(EVENTS.glob("*.json"))
NEIGHBOURS = sorted((EVENTS / "neighbours").glob("*.json"))


def _root_declares(*names: str) -> bool:
    text = "".join(p.read_text() for p in ROOT.glob("*.tf"))
    return all(f'"{name}"' in text for name in names)


if not _root_declares("create_event_bus", "member_role_name", "accounts", "function_role_arns", "event_bus_arn"):
    pytest.skip(
        "the root module does not declare the multi-account variables/outputs yet "
        "(accounts, member_role_name, create_event_bus, function_role_arns, event_bus_arn)",
        allow_module_level=True,
    )

from pytest_terraform import terraform  # noqa: E402  (imported only when the example can apply)

terraform("example_organization", scope="session")
deployed = deployed_fixture("example_organization")


def _zip_has(name: str, member: str) -> bool:
    path = DIST / f"{name}.zip"
    return path.exists() and member in zipfile.ZipFile(path).namelist()


MULTI_ACCOUNT_PYTHON = all(_zip_has(name, "sgwatch/accounts.py") for name in ("sg_inventory", "unused_sg_audit"))
needs_multi_account_python = pytest.mark.skipif(
    not MULTI_ACCOUNT_PYTHON,
    reason="the shipped sg_inventory/unused_sg_audit zips have no sgwatch/accounts.py: multi-account runs not shipped",
)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def member_session(deployed: dict[str, Any]) -> boto3.session.Session:
    """Credentials in the member account, obtained as the example's member provider obtains them."""
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{deployed['member_account_id']}:role/OrganizationAccountAccessRole",
        RoleSessionName="sgwatch-module-test",
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    assert session.client("sts").get_caller_identity()["Account"] == MEMBER
    return session


def _policies(iam: Any, role_name: str) -> list[dict[str, Any]]:
    documents = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    assert not iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    return documents


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _scoped_actions(policies: list[dict[str, Any]], account: str) -> dict[str, set[str]]:
    """action -> the resources it is allowed on, with the account id written ACCOUNT."""
    scoped: dict[str, set[str]] = {}
    for policy in policies:
        for statement in _as_list(policy["Statement"]):
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                resources = {r.replace(f":{account}:", ":ACCOUNT:") for r in _as_list(statement["Resource"])}
                scoped.setdefault(action, set()).update(resources)
    return scoped


def _central_reading_roles(deployed: dict[str, Any]) -> dict[str, str]:
    roles = deployed["function_role_arns"]
    return {k: roles[k] for k in ("sg_inventory", "unused_sg_audit") if k in roles}


def _member_event(name: str, event_id: str, region: str = "us-east-1") -> dict[str, Any]:
    """A fixture event as the central bus delivers it after forwarding from the member account."""
    event = copy.deepcopy(json.loads((EVENTS / name).read_text()))
    event.update(account=MEMBER, region=region)
    event["detail"].update(recipientAccountId=MEMBER, awsRegion=region, eventID=event_id)
    return event


# --- the member role ---------------------------------------------------------------------------


def test_member_role_trusts_only_the_central_reading_functions(deployed, member_session) -> None:
    # Given the example deployed the member role with the central functions' roles
    iam = member_session.client("iam")
    role = iam.get_role(RoleName="sgwatch-member-read")["Role"]
    document = role["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    # Then its one statement lets exactly the inventory, unused-audit and change-notifier roles of
    # the central account assume it (pinned by ARN), and nobody else
    (statement,) = _as_list(document["Statement"])
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{deployed['central_account_id']}:root"}
    trusted = set(_as_list(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]))
    assert trusted == set(deployed["function_role_arns"].values())
    assert set(deployed["function_role_arns"]) == {"sg_inventory", "unused_sg_audit", "sg_change_notifier"}
    # And the caller must be in the organisation the example names
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-sgwatchtest1"}
    assert role["Arn"] == deployed["member_role_arn"] == f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read"


def test_member_role_reads_exactly_what_the_central_functions_read(deployed, member_session) -> None:
    # Given the central inventory and unused-audit role policies
    central: dict[str, set[str]] = {}
    for role_arn in _central_reading_roles(deployed).values():
        for action, resources in _scoped_actions(
            role_policies(role_arn.rsplit("/", 1)[-1]), deployed["central_account_id"]
        ).items():
            central.setdefault(action, set()).update(resources)
    expected = {a: r for a, r in central.items() if not a.startswith(CENTRAL_ONLY)}
    # When reading the member role's policy
    policies = _policies(member_session.client("iam"), "sgwatch-member-read")
    member = _scoped_actions(policies, MEMBER)
    # Then it allows the same describe/list actions, on the same resources ("*" only where the
    # central policy needs it), in the member's own account, and nothing that writes
    assert member == expected
    assert not wildcard_actions(policies)
    assert {a: access_level(a) for a in member if access_level(a) not in ("Read", "List")} == {}
    reads = {"ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces"}
    assert reads <= set(member)


# --- the forwarders ----------------------------------------------------------------------------


@pytest.fixture(
    scope="module",
    params=[("member_forwarder", "us-east-1"), ("central_secondary_forwarder", "us-west-2")],
    ids=["member-account", "central-second-region"],
)
def forwarder(request, deployed, member_session) -> dict[str, Any]:
    name, region = request.param
    session = member_session if name == "member_forwarder" else boto3.session.Session(region_name=region)
    account = MEMBER if name == "member_forwarder" else deployed["central_account_id"]
    return {
        **deployed[name],
        "region": region,
        "account": account,
        "events": session.client("events", region_name=region),
        "iam": session.client("iam", region_name=region),
        "sqs": session.client("sqs", region_name=region),
        "cloudwatch": session.client("cloudwatch", region_name=region),
    }


def test_forwarder_rule_matches_every_security_group_change_and_no_neighbour(forwarder) -> None:
    rule = forwarder["events"].describe_rule(Name=forwarder["rule_name"])
    assert rule["State"] == "ENABLED" and rule.get("EventBusName", "default") == "default"
    assert json.loads(rule["EventPattern"]) == json.loads(
        (ROOT / "modules" / "sg-change-alerts" / "event-pattern.json").read_text()
    )
    pattern = EventPattern.load(rule["EventPattern"])
    for path in FIXTURES:
        event = json.loads(path.read_text())
        if "detail" in event:
            assert pattern.matches_event(event), path.name
    for path in NEIGHBOURS:
        assert not pattern.matches_event(json.loads(path.read_text())), path.name


def test_forwarder_targets_the_central_bus_with_retries_and_a_dead_letter_queue(deployed, forwarder) -> None:
    (target,) = forwarder["events"].list_targets_by_rule(Rule=forwarder["rule_name"])["Targets"]
    assert target["Arn"] == deployed["event_bus_arn"]
    assert target["RoleArn"] == forwarder["role_arn"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"]["Arn"] == forwarder["dead_letter_queue_arn"]
    # The dead-letter queue is encrypted and accepts only this rule's undeliverable events
    attributes = forwarder["sqs"].get_queue_attributes(
        QueueUrl=forwarder["dead_letter_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    # (SSE-SQS: EventBridge cannot write to a queue encrypted with the AWS managed key alias/aws/sqs)
    assert attributes["SqsManagedSseEnabled"] == "true" and "KmsMasterKeyId" not in attributes
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": forwarder["rule_arn"]}}


def _undelivered_alarms(cloudwatch, names: list[str]) -> dict[str, dict[str, Any]]:
    alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    return {a["MetricName"]: a for a in alarms}


def test_forwarder_alarms_on_events_the_central_bus_did_not_take(forwarder) -> None:
    # Given the forwarder's alarms (one on its dead-letter queue, one on events not even written there)
    alarms = _undelivered_alarms(forwarder["cloudwatch"], list(forwarder["alarm_names"].values()))
    waiting, failed = alarms["ApproximateNumberOfMessagesVisible"], alarms["FailedInvocations"]
    queue_name = forwarder["dead_letter_queue_url"].rsplit("/", 1)[-1]
    # Then the first fires on one event in that queue, the second on one delivery of that rule failed for good
    assert (waiting["Namespace"], waiting["Dimensions"]) == ("AWS/SQS", [{"Name": "QueueName", "Value": queue_name}])
    assert (failed["Namespace"], failed["Dimensions"]) == (
        "AWS/Events",
        [{"Name": "RuleName", "Value": forwarder["rule_name"]}],
    )
    for alarm in (waiting, failed):
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1.0, "GreaterThanOrEqualToThreshold")
        assert forwarder["account"] in alarm["AlarmDescription"]
        # the example passes no topic for these (a landing zone passes its notification topic)
        assert alarm["AlarmActions"] == []


def test_home_region_forwarder_alarms_notify_the_alert_topic(deployed) -> None:
    # Given the root module's own forwarder (central account, home region)
    rule_name = deployed["member_forwarder"]["rule_name"]  # the same name in every account and region
    names = [f"{rule_name}-{suffix}" for suffix in ("dead-letters", "failed-deliveries")]
    alarms = _undelivered_alarms(client("cloudwatch"), names)
    # Then both alarms exist and notify the module's alert topic
    assert sorted(alarms) == ["ApproximateNumberOfMessagesVisible", "FailedInvocations"]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [deployed["alert_topic_arn"]]


def test_every_dead_letter_queue_and_rule_raises_an_alarm(deployed, member_session) -> None:
    # Given the central account (both regions) and the member account
    prefix = deployed["member_forwarder"]["rule_name"].split("-sg-changes")[0]
    places = [(None, "us-east-1"), (None, "us-west-2"), (member_session, "us-east-1")]
    # Then nothing is left unwatched anywhere: a lost event or unit of work always raises an alarm
    assert [gap for session, region in places for gap in unwatched(prefix, session, region)] == []


def test_forwarder_role_may_only_put_events_on_the_central_bus(deployed, forwarder) -> None:
    role_name = forwarder["role_arn"].rsplit("/", 1)[-1]
    assert forwarder["region"] in role_name  # one role per region: IAM names are global
    trust = forwarder["iam"].get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": forwarder["account"]}
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": forwarder["rule_arn"]}
    (policy,) = _policies(forwarder["iam"], role_name)
    (allowed,) = _as_list(policy["Statement"])
    assert (allowed["Effect"], allowed["Action"], allowed["Resource"]) == (
        "Allow",
        "events:PutEvents",
        deployed["event_bus_arn"],
    )


def test_central_bus_accepts_the_member_account(deployed) -> None:
    bus_name = deployed["event_bus_arn"].rsplit("/", 1)[-1]
    policy = json.loads(client("events").describe_event_bus(Name=bus_name)["Policy"])
    allowing = [
        s
        for s in _as_list(policy["Statement"])
        if s["Effect"] == "Allow" and "events:PutEvents" in _as_list(s["Action"])
    ]
    # by account id or by organisation (the example passes both)
    assert allowing and (MEMBER in json.dumps(allowing) or "o-sgwatchtest1" in json.dumps(allowing))
    assert "*" not in [s.get("Principal") for s in allowing if "Condition" not in s]


# --- a full round ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def estate(member_session) -> dict[str, str]:
    """One security group per account, each with a rule the other account does not have."""
    groups = {}
    for account, ec2, port in (
        (MEMBER, member_session.client("ec2", region_name="us-east-1"), 2222),
        ("central", client("ec2"), 4444),
    ):
        vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
        group = ec2.create_security_group(GroupName=f"org-{port}", Description="org test", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
            ],
        )
        groups[account] = group
    return groups


def _latest_rows(bucket: str, account: str, region: str) -> list[dict[str, str]]:
    s3 = client("s3")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}{account}/{region}/snapshots/").get("Contents", [])
    assert listing, f"no snapshot for {account}/{region}"
    key = min(o["Key"] for o in listing)  # evidence.stamp sorts newest first
    return list(csv.DictReader(io.StringIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())))


def _paused_mapping(name: str) -> dict[str, Any]:
    """The deployed event source mapping, paused: moto would otherwise invoke the function itself
    (in Docker) for each message sent; the test delivers the batches instead, as Lambda's poller does."""
    lam = client("lambda")
    arn = deployed_configuration(name)["FunctionArn"]  # the emulator matches the ARN Terraform gave, not the name
    (mapping,) = lam.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    return mapping


def _drain(queue_url: str) -> list[dict[str, Any]]:
    sqs, found = client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
        "Messages"
    ):
        found += batch
    return found


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event the event source mapping hands to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def _fan_out_round(deployed: dict[str, Any], capability: str, extra: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The scheduled run from the shipped zip, then the queued batches it produced."""
    name = deployed["lambda_function_names"][capability]
    queue_url = deployed["fan_out_queues"][capability]["work_queue_url"]
    mapping = _paused_mapping(name)
    dispatch = run_lambda(name, {})
    assert dispatch.error is None, dispatch.logs
    messages = _drain(queue_url) + list(extra)
    batches = [
        run_lambda(name, _sqs_event(messages[i : i + mapping["BatchSize"]], mapping["EventSourceArn"]))
        for i in range(0, len(messages), mapping["BatchSize"])
    ]
    for batch in batches:
        assert batch.error is None, batch.logs
    return {
        "name": name,
        "mapping": mapping,
        "dispatch": dispatch,
        "messages": messages,
        "batches": batches,
        "failed": {f["itemIdentifier"] for b in batches for f in b.result["batchItemFailures"]},
    }


def _member_reads(run: Any) -> set[str]:
    # (calls are named by signing name: elb/elbv2 -> elasticloadbalancing, efs -> elasticfilesystem)
    return {f"{c['service']}:{c['operation']}" for c in run.calls if not f"{c['service']}:".startswith(CENTRAL_ONLY)}


@pytest.mark.parametrize("capability", ["sg_inventory", "unused_sg_audit"])
def test_fan_out_queue_and_mapping_are_encrypted_bounded_and_allowed(deployed, capability) -> None:
    name = deployed["lambda_function_names"][capability]
    queues = deployed["fan_out_queues"][capability]
    config = deployed_configuration(name)
    assert config["Environment"]["Variables"]["WORK_QUEUE_URL"] == queues["work_queue_url"]
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queues["work_queue_url"], AttributeNames=["All"])["Attributes"]
    dead = sqs.get_queue_attributes(QueueUrl=queues["work_dead_letter_queue_url"], AttributeNames=["All"])["Attributes"]
    key_arn = config["KMSKeyArn"]
    # Both queues use the module key; a run's visibility is six times the function timeout
    for queue in (attributes, dead):
        assert client("kms").describe_key(KeyId=queue["KmsMasterKeyId"])["KeyMetadata"]["Arn"] == key_arn
    assert int(attributes["VisibilityTimeout"]) == 6 * config["Timeout"]
    # Nothing expires unseen: 14 days of retention, and the backlog alarm fires after one
    assert attributes["MessageRetentionPeriod"] == dead["MessageRetentionPeriod"] == "1209600"
    # A pair failing five times moves to the dead-letter queue
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead["QueueArn"], "maxReceiveCount": 5}
    # Alarms to the alert topic: a pair kept in the dead-letter queue, a backlog older than a day
    alarms = {
        a["AlarmName"]: a for a in client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{name}-work-")["MetricAlarms"]
    }
    dead_letters, backlog = alarms[f"{name}-work-dead-letters"], alarms[f"{name}-work-backlog"]
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": dead["QueueArn"].rsplit(":", 1)[1]}]
    assert (dead_letters["MetricName"], dead_letters["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 1)
    assert backlog["Dimensions"] == [{"Name": "QueueName", "Value": attributes["QueueArn"].rsplit(":", 1)[1]}]
    assert (backlog["MetricName"], backlog["Threshold"]) == ("ApproximateAgeOfOldestMessage", 86400)
    assert dead_letters["AlarmActions"] == backlog["AlarmActions"] == [deployed["alert_topic_arn"]]
    # The mapping reports partial batch failures, in batches of 10, at most 5 runs at once
    (mapping,) = client("lambda").list_event_source_mappings(FunctionName=config["FunctionArn"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == attributes["QueueArn"] and mapping["BatchSize"] == 10
    assert mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert mapping.get("ScalingConfig") == {"MaximumConcurrency": 5}
    # And the role lets the mapping receive and delete on this queue and decrypt: what Lambda's
    # poller does with the function's role in AWS (the emulator checks none of it)
    policies = role_policies(config["Role"].rsplit("/", 1)[-1])
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"):
        assert allows(policies, action, attributes["QueueArn"]), action
        assert not allows(policies, action, dead["QueueArn"]), action  # kept for a redrive, untouched
    assert allows(policies, "kms:Decrypt", key_arn)


def test_every_environment_holds_the_largest_account_lists_accepted(deployed) -> None:
    # Lambda limits a function's environment to 4 KB; modules/lambda-function accepts up to 200 accounts
    # and 50 exclusions, so the deployed settings plus lists that long must still fit.
    for name in deployed["lambda_function_names"].values():
        env = deployed_configuration(name)["Environment"]["Variables"]
        if "ACCOUNTS" in env:
            env = {**env, "ACCOUNTS": ",".join(["1" * 12] * 200), "EXCLUDED_ACCOUNTS": ",".join(["2" * 12] * 50)}
        size = len(json.dumps(env, separators=(",", ":")))
        assert size <= 4096, (name, size)


@needs_multi_account_python
def test_inventory_fans_out_one_queued_run_per_account_and_region_through_the_member_roles(
    deployed, member_session, estate
):
    name = deployed["lambda_function_names"]["sg_inventory"]
    env = deployed_configuration(name)["Environment"]["Variables"]
    assert set(env["ACCOUNTS"].split(",")) == {MEMBER, deployed["central_account_id"]}
    assert env["MEMBER_ROLE_NAME"] == "sgwatch-member-read"
    # A message naming an account the inventory does not cover, as anyone able to send to the queue could
    stray = {
        "MessageId": "stray-1",
        "ReceiptHandle": "r",
        "MD5OfBody": "-",
        "Body": json.dumps({"account_id": "999999999999", "region": "us-east-1", "run": "x"}),
    }
    # When the scheduled run and then the queued runs execute from the shipped zip
    round_ = _fan_out_round(deployed, "sg_inventory", [stray])
    # Then the scheduled run queued exactly one message per account and region, and wrote no evidence
    pairs = sorted(
        (json.loads(m["Body"])["account_id"], json.loads(m["Body"])["region"]) for m in round_["messages"][:-1]
    )
    assert pairs == sorted((a, r) for a in (MEMBER, deployed["central_account_id"]) for r in REGIONS)
    assert round_["dispatch"].result["queued"] == 4
    assert not [c for c in round_["dispatch"].calls if c["service"] in ("s3", "ec2")]
    # And only the stray message went back to the queue, with its reason in the log
    assert round_["failed"] == {"stray-1"}
    assert any(
        r.get("step") == "work_item_rejected" and "not in ACCOUNTS" in r.get("error", "")
        for b in round_["batches"]
        for r in b.log_records()
    )
    # And a snapshot per account and region, each with that account's groups
    bucket = deployed["evidence_bucket_name"]
    for account in (MEMBER, deployed["central_account_id"]):
        for region in REGIONS:
            _latest_rows(bucket, account, region)
    member_groups = {r["GroupId"] for r in _latest_rows(bucket, MEMBER, "us-east-1")}
    central_groups = {r["GroupId"] for r in _latest_rows(bucket, deployed["central_account_id"], "us-east-1")}
    assert estate[MEMBER] in member_groups and estate[MEMBER] not in central_groups
    assert estate["central"] in central_groups and estate["central"] not in member_groups
    # And the member was reached through the member role, allowed by both the central role and
    # (for every read made) the member role; the scheduled run was allowed to queue
    member_allowed = _scoped_actions(_policies(member_session.client("iam"), "sgwatch-member-read"), MEMBER)
    for run in (round_["dispatch"], *round_["batches"]):
        assert_least_privilege(name, run)
    assumed = [
        c["params"]["RoleArn"]
        for b in round_["batches"]
        for c in b.calls
        if (c["service"], c["operation"]) == ("sts", "AssumeRole")
    ]
    assert f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read" in assumed
    reads = set().union(*(_member_reads(b) for b in round_["batches"]))
    assert reads and reads <= set(member_allowed)


@needs_multi_account_python
def test_unused_audit_fans_out_and_reports_on_the_member_account(deployed, member_session, estate):
    round_ = _fan_out_round(deployed, "unused_sg_audit")
    assert round_["dispatch"].result["queued"] == 4 and round_["failed"] == set()
    keys = [
        o["Key"]
        for o in client("s3")
        .list_objects_v2(Bucket=deployed["evidence_bucket_name"], Prefix=f"{PREFIX}{MEMBER}/us-east-1/unused/")
        .get("Contents", [])
    ]
    assert keys, [b.logs for b in round_["batches"]]
    member_allowed = _scoped_actions(_policies(member_session.client("iam"), "sgwatch-member-read"), MEMBER)
    reads = set().union(*(_member_reads(b) for b in round_["batches"]))
    assert reads <= set(member_allowed), sorted(reads - set(member_allowed))
    for run in (round_["dispatch"], *round_["batches"]):
        assert_least_privilege(round_["name"], run)


def test_a_change_in_the_member_reaches_the_central_notifier_with_its_account(deployed, member_session, inbox) -> None:
    names = deployed["lambda_function_names"]
    if "sg_change_notifier" not in names:
        pytest.skip("the change alerts (sg_change_notifier) are not deployed by the root module yet")
    event = _member_event("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json", "org-test-member-1")
    # Given hop 1: the member's forwarder matches the change and targets the central bus
    member_events = member_session.client("events")
    member_rule = member_events.describe_rule(Name=deployed["member_forwarder"]["rule_name"])
    assert EventPattern.load(member_rule["EventPattern"]).matches_event(event)
    (target,) = member_events.list_targets_by_rule(Rule=member_rule["Name"])["Targets"]
    assert target["Arn"] == deployed["event_bus_arn"]
    # And hop 2: a rule on the central bus sends it to the notifier
    bus_name = deployed["event_bus_arn"].rsplit("/", 1)[-1]
    notifier_arn = deployed_configuration(names["sg_change_notifier"])["FunctionArn"]
    events = client("events")
    routes = [
        r["Name"]
        for r in events.list_rules(EventBusName=bus_name)["Rules"]
        if r.get("EventPattern")
        and EventPattern.load(r["EventPattern"]).matches_event(event)
        and notifier_arn
        in [t["Arn"] for t in events.list_targets_by_rule(Rule=r["Name"], EventBusName=bus_name)["Targets"]]
    ]
    assert routes, f"no rule on {bus_name} sends the forwarded event to the notifier"

    # When the central bus delivers the forwarded event to the shipped notifier
    run = run_lambda(names["sg_change_notifier"], event)

    # Then one alert goes out, naming the member account, and its record is filed under it
    assert run.error is None, run.logs
    assert run.result["published"] is True
    (alert,) = [m for m in received(inbox) if m.get("Subject") == run.result["subject"]]
    assert MEMBER in alert["Subject"] and MEMBER in alert["Message"]
    keys = [
        o["Key"]
        for o in client("s3")
        .list_objects_v2(Bucket=deployed["evidence_bucket_name"], Prefix=f"{PREFIX}{MEMBER}/us-east-1/events/")
        .get("Contents", [])
    ]
    assert any(k.endswith("/org-test-member-1.json") for k in keys), keys
    assert_least_privilege(names["sg_change_notifier"], run)
