"""The inventory's drift report: written beside each snapshot when states are configured, from states read once
per run; a state that cannot be read fails the pair, never an empty report."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import boto3
import pytest

from sgwatch import evidence
from sgwatch.drift import DRIFT_HEADER
from tests.unit.conftest import EVIDENCE_BUCKET
from tests.unit.test_iac_state import SECRET, block, inline_group, resource, state

ACCOUNT = "123456789012"
STATE_KEY = "net/terraform.tfstate"


@pytest.fixture
def aws(evidence_account, monkeypatch):
    for name in ("RULE_REVIEW_TAG_KEYS", "RULE_REVIEW_REGISTER_BUCKET", "RULE_REVIEW_REGISTER_KEY",
                 "JUSTIFICATION_WARNING_DAYS", "PRIVATE_PEERS_JUSTIFIED", "IAC_MANAGED_TAG_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IAC_STATE_LOCATIONS", json.dumps([{"bucket": "states", "key": STATE_KEY}]))
    boto3.client("s3").create_bucket(Bucket="states")
    yield monkeypatch


def _run() -> dict[str, Any]:
    from sg_inventory import handler

    return handler.lambda_handler({}, None)


def _declared_group(tags=None):
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] \
        if tags else []
    gid = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc, TagSpecifications=spec)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    group = inline_group(gid, ingress=[block(cidrs=["10.0.0.0/8"])],
                         egress=[block(0, 0, "-1", cidrs=["0.0.0.0/0"])],
                         arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{gid}")
    boto3.client("s3").put_object(Bucket="states", Key=STATE_KEY,
                                  Body=state(resource("aws_security_group", "web", group)))
    return ec2, gid


def _report(key) -> list[dict[str, str]]:
    body = boto3.client("s3").get_object(Bucket=EVIDENCE_BUCKET, Key=key)["Body"].read().decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert tuple(rows[0]) == DRIFT_HEADER
    return [dict(zip(DRIFT_HEADER, r, strict=True)) for r in rows[1:]]


def test_each_run_writes_the_drift_report_with_the_stamp_of_its_snapshot(aws):
    ec2, gid = _declared_group()
    (result,) = _run()["results"]
    key = result["drift_key"]
    assert key == f"security-groups/{ACCOUNT}/us-east-1/drift/{evidence.key_stem(result['snapshot_key'])}.csv"
    assert _report(key) == []  # what the state declares is what is live
    assert result["drift"] == 0
    assert boto3.client("s3").head_object(Bucket=EVIDENCE_BUCKET, Key=key)["Metadata"]["snapshot"] == \
        result["snapshot_key"]


def test_drift_names_the_state_and_address_and_a_second_run_finds_nothing_new(aws):
    ec2, gid = _declared_group()
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    (first,) = _run()["results"]
    rows = _report(first["drift_key"])
    found = {(r["GroupId"], r["Direction"], r["FromPort"], r["Peer"], r["Drift"], r["DeclaredIn"],
              r["DeclaredAddress"]) for r in rows}
    assert found == {
        (gid, "ingress", "22", "0.0.0.0/0", "unmanaged-rule", "", ""),
        (gid, "egress", "0", "0.0.0.0/0", "missing-rule", f"s3://states/{STATE_KEY}", "aws_security_group.web"),
    }
    assert first["new_drift"] == 2
    (second,) = _run()["results"]
    assert {tuple(r.values()) for r in _report(second["drift_key"])} == {tuple(r.values()) for r in rows}
    assert second["new_drift"] == 0


def test_a_tagged_group_that_no_state_declares_is_undeclared(aws):
    aws.setenv("IAC_MANAGED_TAG_KEYS", "aws:cloudformation:stack-id,ManagedBy")
    _declared_group()
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tagged = ec2.create_security_group(GroupName="clickops", Description="x", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "ManagedBy", "Value": "terraform"}]}])["GroupId"]
    ec2.create_security_group(GroupName="stack", Description="x", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "aws:cloudformation:stack-id", "Value": "arn:x"}]}])
    (result,) = _run()["results"]
    assert [(r["GroupId"], r["Drift"]) for r in _report(result["drift_key"])] == [(tagged, "undeclared-group")]


def test_a_state_that_cannot_be_read_fails_the_run_and_writes_no_drift_report(aws, caplog):
    from sg_inventory import handler

    _declared_group()
    aws.setenv("IAC_STATE_LOCATIONS", json.dumps([{"bucket": "states", "key": "missing.tfstate"}]))
    with pytest.raises(handler.InventoryFailed, match="drift report not written"):
        _run()
    listed = boto3.client("s3").list_objects_v2(Bucket=EVIDENCE_BUCKET, Prefix="security-groups/")
    kinds = {k["Key"].split("/")[3] for k in listed.get("Contents", [])}
    assert "snapshots" in kinds and "drift" not in kinds


def test_no_state_configured_no_drift_report(aws):
    aws.delenv("IAC_STATE_LOCATIONS")
    _declared_group()
    (result,) = _run()["results"]
    assert "drift_key" not in result


def test_the_state_is_read_once_per_run_for_every_region_and_its_secrets_stay_out_of_the_logs(aws, caplog):
    aws.setenv("REGIONS", "us-east-1,eu-west-1")
    _declared_group()
    calls: list[str] = []
    from sgwatch import aws as sgaws

    sgaws.central_client("s3").meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: calls.append(params["Key"]))
    results = _run()["results"]
    assert len(results) == 2 and all("drift_key" in r for r in results)
    assert calls.count(STATE_KEY) == 1
    assert "iac_state_read" in caplog.text and SECRET not in caplog.text


def test_with_the_fan_out_the_scheduled_run_reads_each_state_once_and_the_queued_pairs_read_its_extract(aws):
    from sg_inventory import handler
    from sgwatch import aws as sgaws, fanout
    from tests.unit.test_fanout import queued, sqs_event

    aws.setenv("REGIONS", "us-east-1,eu-west-1")
    url = boto3.client("sqs").create_queue(QueueName="sgwatch-work")["QueueUrl"]
    aws.setenv(fanout.WORK_QUEUE_ENV, url)
    _, gid = _declared_group()
    calls: list[str] = []
    sgaws.central_client("s3").meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: calls.append(params["Key"]))
    # When the schedule dispatches the run, then each queued pair runs in its own invocation
    handler.lambda_handler({"source": "aws.scheduler"}, None)
    assert calls == [STATE_KEY]
    listed = boto3.client("s3").list_objects_v2(Bucket=EVIDENCE_BUCKET, Prefix="security-groups/iac-declared/")
    (extract,) = [o["Key"] for o in listed["Contents"]]
    body = boto3.client("s3").get_object(Bucket=EVIDENCE_BUCKET, Key=extract)["Body"].read()
    assert gid.encode() in body and SECRET.encode() not in body  # the groups and rules only
    for message in queued(url):
        assert handler.lambda_handler(sqs_event([message]), None) == {"batchItemFailures": []}
    # Then the state was read once in all, and every pair wrote its drift report
    assert calls.count(STATE_KEY) == 1
    drift = boto3.client("s3").list_objects_v2(Bucket=EVIDENCE_BUCKET, Prefix=f"security-groups/{ACCOUNT}/")
    assert {k["Key"].split("/")[2] for k in drift["Contents"] if "/drift/" in k["Key"]} == {"us-east-1", "eu-west-1"}


def test_with_the_fan_out_a_state_that_cannot_be_read_queues_nothing(aws):
    from sg_inventory import handler
    from sgwatch import fanout
    from tests.unit.test_fanout import queued

    url = boto3.client("sqs").create_queue(QueueName="sgwatch-work")["QueueUrl"]
    aws.setenv(fanout.WORK_QUEUE_ENV, url)
    aws.setenv("IAC_STATE_LOCATIONS", json.dumps([{"bucket": "states", "key": "missing.tfstate"}]))
    with pytest.raises(Exception, match="NoSuchKey"):
        handler.lambda_handler({"source": "aws.scheduler"}, None)
    assert queued(url) == []


@pytest.fixture
def inbox(aws):
    """The alert topic, its messages read through an SQS subscription."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    aws.setenv("ALERT_TOPIC_ARN", topic)

    def messages() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in got]
    return messages


def test_new_drift_goes_out_in_one_digest_per_run_with_the_address_to_fix_and_never_again(aws, inbox):
    aws.setenv("REGIONS", "us-east-1,eu-west-1")
    ec2, gid = _declared_group()
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    west = boto3.client("ec2", region_name="eu-west-1")
    vpc = west.describe_vpcs()["Vpcs"][0]["VpcId"]
    tagged = west.create_security_group(GroupName="clickops", Description="x", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "ManagedBy", "Value": "me"}]}])["GroupId"]
    aws.setenv("IAC_MANAGED_TAG_KEYS", "ManagedBy")
    _run()
    (digest,) = inbox()
    assert digest["Subject"] == "SG Watch: 2 new IaC drift(s) in 2 account/region(s)"
    assert f"missing-rule: {gid} (web) egress -1" in digest["Message"]
    assert f"aws_security_group.web in s3://states/{STATE_KEY}" in digest["Message"]
    assert f"undeclared-group: {tagged} (clickops)" in digest["Message"]
    _run()
    assert inbox() == []  # the same drift, reported again, announced once


def test_a_digest_sns_refuses_fails_the_run_after_every_report_is_written(aws, inbox):
    from sg_inventory import handler

    ec2, gid = _declared_group()
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    aws.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:gone")
    with pytest.raises(Exception, match="NotFound|does not exist"):
        handler.lambda_handler({}, None)
    listed = boto3.client("s3").list_objects_v2(Bucket=EVIDENCE_BUCKET, Prefix="security-groups/")
    assert any("/drift/" in o["Key"] for o in listed["Contents"])


def test_digest_lines_are_one_line_each_whatever_a_state_or_a_name_holds():
    from sgwatch.drift import DriftRow
    from sgwatch.drift_alert import Digest, line

    row = DriftRow(ACCOUNT, "us-east-1", "vpc-1", "sg-1", "web\nSeverity: LOW", "ingress", "", "tcp", "22", "22",
                   "10.0.0.0/8", "", "changed", "s3://b/k", 'aws_security_group.x["a\nFixed: yes"]')
    assert "\n" not in line(row)
    digest = Digest()
    digest.add(ACCOUNT, "us-east-1", "k", [row])
    _, body = digest.message()
    assert "\nSeverity: LOW" not in body and "\nFixed: yes" not in body


def test_slack_gets_the_digest_escaped_beside_sns(aws, inbox):
    from tests.unit.fake_slack import FakeSlack

    secret = boto3.client("secretsmanager").create_secret(Name="slack", SecretString=json.dumps(
        {"token": "xoxb-test"}))["ARN"]
    ec2, gid = _declared_group()
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[  # missing: the digest names its address
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    held = json.loads(boto3.client("s3").get_object(Bucket="states", Key=STATE_KEY)["Body"].read())
    held["resources"][-1]["name"] = "<!channel>"  # a state is user-controlled text too
    boto3.client("s3").put_object(Bucket="states", Key=STATE_KEY, Body=json.dumps(held).encode())
    with FakeSlack(token="xoxb-test") as fake:
        aws.setenv("SLACK_TOKEN_SECRET_ARN", secret)
        aws.setenv("SLACK_CHANNEL_ID", "C0123456")
        aws.setenv("SLACK_API_URL", fake.url)
        _run()
        (post,) = fake.calls("chat.postMessage")
    assert "group.&lt;!channel&gt;" in post.params["text"] and "<!channel>" not in post.params["text"]
    assert len(inbox()) == 1


# --------------------------------------------------------------------------- CloudFormation drift


def _stacks(monkeypatch: pytest.MonkeyPatch, found: Any) -> list[tuple[str, str]]:
    """The pairs' stacks as :func:`sgwatch.cfn_drift.read_stacks` reads them (on a loopback fake of CloudFormation
    in tests/unit/test_cfn_drift.py: the emulator has no drift detection); the pairs it was asked for."""
    from sgwatch import cfn_drift

    asked: list[tuple[str, str]] = []

    def read_stacks(cfn: Any, account_id: str, region: str, *args: Any) -> cfn_drift.Stacks:
        asked.append((account_id, region))
        return found(account_id, region)

    monkeypatch.setattr(cfn_drift, "read_stacks", read_stacks)
    return asked


def _stack_group(tags: dict[str, str] | None = None) -> tuple[Any, str, str]:
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}]
    gid = ec2.create_security_group(GroupName="cfn-web", Description="web", VpcId=vpc,
                                    TagSpecifications=spec if tags else [])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    return ec2, gid, vpc


STACK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/network/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def _declared_by_stack(gid: str, vpc: str, deleted: bool = False) -> Any:
    from sgwatch import cfn_drift

    group = {"StackId": STACK, "LogicalResourceId": "WebGroup", "ResourceType": cfn_drift.GROUP,
             "PhysicalResourceId": gid, "ExpectedProperties": json.dumps({
                 "GroupDescription": "web", "VpcId": vpc, "SecurityGroupIngress": [
                     {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}]})}
    found = cfn_drift.Stacks(stack_ids={STACK})
    found.declared.groups, found.declared.rules = cfn_drift.declared_of(group)
    if deleted:
        found.deleted.append(cfn_drift.deleted_rows({"StackId": STACK, "LogicalResourceId": "WebSsh",
                                                     "ResourceType": cfn_drift.INGRESS}, ACCOUNT, "us-east-1"))
    return found


def test_with_cloudformation_drift_the_stacks_declare_rules_beside_the_states(aws):
    # Given CloudFormation drift on, no state, and a stack declaring a group into which SSH was added by hand
    aws.delenv("IAC_STATE_LOCATIONS")
    aws.setenv("IAC_CLOUDFORMATION_DRIFT", "true")
    ec2, gid, vpc = _stack_group({"aws:cloudformation:stack-id": STACK})
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    asked = _stacks(aws, lambda account, region: _declared_by_stack(gid, vpc, deleted=True))
    (result,) = _run()["results"]
    # Then the drift report holds the hand-made rule and the stack's deleted rule resource, with the stack ARN
    assert asked == [(ACCOUNT, "us-east-1")]
    rows = [(r["GroupId"], r["FromPort"], r["Drift"], r["DeclaredIn"], r["DeclaredAddress"])
            for r in _report(result["drift_key"])]
    assert rows == [("", "", "missing-rule", STACK, "WebSsh"), (gid, "22", "unmanaged-rule", "", "")]


def test_a_group_a_read_stack_created_is_not_undeclared_and_one_of_a_stack_not_read_is(aws):
    aws.delenv("IAC_STATE_LOCATIONS")
    aws.setenv("IAC_CLOUDFORMATION_DRIFT", "true")
    aws.setenv("IAC_MANAGED_TAG_KEYS", "aws:cloudformation:stack-id")
    # the stack's template declares no rule: its one group is tagged by it, another by a stack since deleted
    from sgwatch import cfn_drift

    _, gid, _ = _stack_group({"aws:cloudformation:stack-id": STACK})
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    orphan = ec2.create_security_group(GroupName="orphan", Description="x", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "aws:cloudformation:stack-id",
                                                     "Value": STACK.replace("network", "gone")}]}])["GroupId"]
    _stacks(aws, lambda account, region: cfn_drift.Stacks(stack_ids={STACK}))
    (result,) = _run()["results"]
    assert [(r["GroupId"], r["Drift"]) for r in _report(result["drift_key"])] == [(orphan, "undeclared-group")]
    assert gid != orphan


def test_a_stack_that_could_not_be_checked_fails_the_pair_and_writes_no_drift_report(aws):
    from sg_inventory import handler
    from sgwatch import cfn_drift

    aws.delenv("IAC_STATE_LOCATIONS")
    aws.setenv("IAC_CLOUDFORMATION_DRIFT", "true")
    _stack_group()
    _stacks(aws, lambda account, region: cfn_drift.Stacks(
        not_checked=[f"{STACK}: not checked, the stack is UPDATE_IN_PROGRESS"]))
    with pytest.raises(handler.InventoryFailed, match="drift report not written .*UPDATE_IN_PROGRESS"):
        _run()
    listed = boto3.client("s3").list_objects_v2(Bucket=EVIDENCE_BUCKET, Prefix="security-groups/")
    kinds = {k["Key"].split("/")[3] for k in listed.get("Contents", [])}
    assert "snapshots" in kinds and "drift" not in kinds


def test_without_cloudformation_drift_no_stack_is_read(aws):
    asked = _stacks(aws, lambda account, region: None)
    _declared_group()
    (result,) = _run()["results"]
    assert "drift_key" in result and asked == []
