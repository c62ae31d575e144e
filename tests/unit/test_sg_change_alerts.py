"""The sg_change_alerts handler (the change notifier) against in-process moto (S3, SNS -> SQS, EC2, Secrets Manager).

Slack is the loopback fake Slack Web API of tests/unit/fake_slack.py (moto has no Slack).
Every alert is read back from an SQS queue subscribed to the topic, as a mail subscriber would get it.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings, strategies as st
from moto import mock_aws

from sg_change_alerts import handler
from sgwatch import notify
from sgwatch.evidence import EvidenceStore
from sgwatch.rules import flatten_rules
from sgwatch.sg_change_alerts import changes
from sgwatch.sg_inventory.record import record_snapshot
from tests.unit.fake_slack import FakeSlack

EVENTS = Path(__file__).resolve().parents[1] / "events"
REAL = Path(__file__).resolve().parents[3] / "shared" / "real-payloads" / "cloudtrail"
FIXTURES = sorted(EVENTS.glob("*.json"))
BUCKET = "evidence-bucket"
PREFIX = "security-groups/"
REAL_LOOKUP_SECONDS = changes.LOOKUP_SECONDS


class Env:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.sns = boto3.client("sns", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.ec2 = boto3.client("ec2", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        self.topic = self.sns.create_topic(Name="alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        queue_arn = attributes["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn)
        self.monkeypatch = monkeypatch
        # Lookups may start until 8 s into the alert's deadline: on a loaded test machine a cold process can use
        # that up loading service models, and a test about something else would find "not looked up". Tests of
        # the deadline set it themselves (REAL_LOOKUP_SECONDS).
        monkeypatch.setattr(changes, "LOOKUP_SECONDS", REAL_LOOKUP_SECONDS + 120)
        monkeypatch.setenv("ALERT_TOPIC_ARN", self.topic)
        monkeypatch.setenv("EVIDENCE_BUCKET", BUCKET)
        monkeypatch.setenv("EVIDENCE_PREFIX", PREFIX)
        for name in ("SLACK_TOKEN_SECRET_ARN", "SLACK_CHANNEL_ID", "SLACK_API_URL"):
            monkeypatch.delenv(name, raising=False)

    def messages(self) -> list[dict[str, Any]]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def keys(self, part: str = "") -> list[str]:
        return [k for k in EvidenceStore(BUCKET, self.s3).keys(PREFIX) if part in k]

    def record(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with mock_aws():
        yield Env(monkeypatch)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def run(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(copy.deepcopy(event), None)


# --- one alert per event, exactly once -------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_each_fixture_publishes_one_alert_with_attributes_and_records_the_event(env: Env, path: Path) -> None:
    # given a fresh deployment / when the event arrives
    event = load(path)
    result = run(event)
    # then exactly one message with the returned subject and the filterable attributes
    (message,) = env.messages()
    record = event.get("detail") or event
    assert result["published"] is True and result["event_id"] == record["eventID"]
    assert message["Subject"] == result["subject"]
    assert message["MessageAttributes"]["severity"]["Value"] == result["severity"]
    assert message["MessageAttributes"]["event_name"]["Value"] == record["eventName"]
    assert record["eventName"] in message["Message"]
    # and the event record is the marker, under the event's account/region/day
    day = record["eventTime"][:10].replace("-", "/")
    key = f"{PREFIX}111122223333/{record['awsRegion']}/events/{day}/{record['eventID']}.json"
    stored = env.record(key)
    assert stored["schema"] == 1 and stored["severity"] == result["severity"] and stored["detail"] == record


@pytest.mark.parametrize("path", FIXTURES[:3], ids=lambda p: p.stem)
def test_redelivery_publishes_nothing(env: Env, path: Path) -> None:
    event = load(path)
    first = run(event)
    env.messages()
    # when EventBridge delivers the same event again (a new envelope id, same CloudTrail eventID)
    again = copy.deepcopy(event)
    again["id"] = "another-delivery"
    second = run(again)
    assert second == {**first, "published": False}
    assert env.messages() == []


def test_without_bucket_every_delivery_publishes(env: Env) -> None:
    env.monkeypatch.delenv("EVIDENCE_BUCKET")
    event = load(FIXTURES[0])
    run(event)
    run(event)
    assert len(env.messages()) == 2
    assert env.keys() == []


def test_missing_topic_configuration_is_an_error(env: Env) -> None:
    env.monkeypatch.delenv("ALERT_TOPIC_ARN")
    with pytest.raises(ValueError, match="ALERT_TOPIC_ARN"):
        run(load(FIXTURES[0]))


def test_sns_failure_raises_leaves_no_marker_and_the_retry_publishes(env: Env) -> None:
    # given the topic cannot be reached
    event = load(EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json")
    env.monkeypatch.setenv("ALERT_TOPIC_ARN", env.topic + "-missing")
    # when the event arrives, the function fails (EventBridge retries, then the DLQ)
    with pytest.raises(ClientError):
        run(event)
    assert env.keys("/events/") == []
    # and when the retry finds the topic, the alert goes out once
    env.monkeypatch.setenv("ALERT_TOPIC_ARN", env.topic)
    assert run(event)["published"] is True
    assert len(env.messages()) == 1


# --- recorded payloads -----------------------------------------------------------------------


def real_files() -> list[Path]:
    return sorted(REAL.glob("*.json")) if REAL.is_dir() else []


@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.stem)
def test_recorded_payload_produces_a_correct_alert(env: Env, path: Path) -> None:
    event = load(path)
    record = event.get("detail") or event
    result = run(event)
    (message,) = env.messages()
    body, subject = message["Message"], message["Subject"]
    params = record.get("requestParameters") or {}
    group = params.get("groupId") or (record.get("responseElements") or {}).get("groupId") or params.get("groupName")
    assert record["eventName"] in subject and group in subject and group in body
    assert (record.get("recipientAccountId") or event.get("account")) in subject
    identity = record["userIdentity"]
    who = identity.get("userName") or identity["arn"].split("/")[1]
    assert who in body
    if identity.get("type") == "AssumedRole":
        assert f"session {identity['arn'].rsplit('/', 1)[1]}" in body
    for key in ("fromPort", "toPort"):
        for p in (params.get("ipPermissions") or {}).get("items", []) + [params]:
            if p.get(key) not in (None, 0, -1) and p.get("ipProtocol") != "-1":
                assert f"port {p[key]}" in body or f"ports {p['fromPort']}-" in body
    opens_ssh = "ssh_world" in path.name or "22_world" in path.name or "legacy_toplevel_cidr" in path.name
    if record["eventName"] == "AuthorizeSecurityGroupIngress" and opens_ssh:
        assert result["severity"] == "HIGH"
    if record.get("errorCode"):
        assert "ATTEMPTED" in body and record["errorCode"] in body and "FAILED" in subject


def test_recorded_delete_by_name_is_resolved_from_the_creation_seen_before(env: Env) -> None:
    create = REAL / "raw_CreateSecurityGroup_terraform_instance_role_tags_spotlight.json"
    delete = REAL / "raw_DeleteSecurityGroup_terraform_by_groupName_spotlight.json"
    if not (create.exists() and delete.exists()):
        pytest.skip("recorded payloads not available")
    run(load(create))
    result = run(load(delete))
    messages = env.messages()
    assert "sg-07111150655b49758" in messages[-1]["Message"]
    assert "resolved from the name bluegreen_alb_sg-20230117040516059800000001" in messages[-1]["Message"]
    assert "sg-07111150655b49758" in result["subject"]


def test_delete_by_name_is_resolved_from_the_inventory_snapshot(env: Env) -> None:
    # given an inventory snapshot that knows the default-VPC group "legacy-web"
    group = {"GroupId": "sg-0abcabcabcabcabc0", "GroupName": "legacy-web", "VpcId": "vpc-1", "Description": "d"}
    rules = flatten_rules("111122223333", "us-east-1", [group], [])
    record_snapshot(EvidenceStore(BUCKET, env.s3), PREFIX, "111122223333", "us-east-1", rules, datetime.now(UTC))
    event = {"eventName": "DeleteSecurityGroup", "eventSource": "ec2.amazonaws.com", "eventID": "del-by-name-1",
             "eventTime": "2025-03-05T10:00:00Z", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
             "userIdentity": {"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::111122223333:user/bob"},
             "requestParameters": {"groupName": "legacy-web"}, "responseElements": {"_return": True}}
    result = run(event)
    assert "sg-0abcabcabcabcabc0" in result["subject"]
    assert "inventory snapshot" in env.messages()[0]["Message"]


# --- before / after --------------------------------------------------------------------------


OWN = "123456789012"  # moto's account: the function records state only for its own account


def _own(event: dict[str, Any]) -> dict[str, Any]:
    event["account"] = event["detail"]["recipientAccountId"] = OWN
    return event


def _authorize_event(group_id: str, rule_id: str, cidr: str, event_id: str) -> dict[str, Any]:
    event = _own(load(EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"))
    detail = event["detail"]
    detail["eventID"] = event_id
    detail["requestParameters"] = {"groupId": group_id, "ipPermissions": {"items": [
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": cidr}]}}]}}
    detail["responseElements"] = {"_return": True, "securityGroupRuleSet": {"items": [
        {"groupId": group_id, "securityGroupRuleId": rule_id, "isEgress": False, "ipProtocol": "tcp",
         "fromPort": 22, "toPort": 22, "cidrIpv4": cidr}]}}
    return event


def _modify_event(group_id: str, rule_id: str, cidr: str, event_id: str) -> dict[str, Any]:
    event = _own(load(EVENTS / "ModifySecurityGroupRules_console_cidr_change.json"))
    event["detail"]["eventID"] = event_id
    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": cidr}
    update = {"SecurityGroupRuleId": rule_id, "SecurityGroupRule": rule, "tag": 1}
    event["detail"]["requestParameters"] = {
        "ModifySecurityGroupRulesRequest": {"GroupId": group_id, "SecurityGroupRule": update}
    }
    return event


def _group_with_rule(env: Env, cidr: str) -> tuple[str, str]:
    vpc = env.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group_id = env.ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    added = env.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}])
    return group_id, added["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def test_modify_after_a_previous_event_shows_before_and_after(env: Env) -> None:
    # given an authorize event processed earlier (the function recorded the group's rules)
    group_id, rule_id = _group_with_rule(env, "10.1.0.0/16")
    run(_authorize_event(group_id, rule_id, "10.1.0.0/16", "evt-authorize-1"))
    assert env.keys(f"/group-state/{group_id}/")
    env.messages()
    # when the rule is modified in place to the world
    env.ec2.modify_security_group_rules(GroupId=group_id, SecurityGroupRules=[{"SecurityGroupRuleId": rule_id,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}])
    result = run(_modify_event(group_id, rule_id, "0.0.0.0/0", "evt-modify-1"))
    # then the alert shows the rule as it was and as it is, HIGH
    (message,) = env.messages()
    assert result["severity"] == "HIGH"
    assert f"before: ingress tcp port 22 from 10.1.0.0/16 (no description) [{rule_id}]" in message["Message"]
    after = f"after:  ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) (no description) [{rule_id}]"
    assert after in message["Message"]
    record = env.record(env.keys("evt-modify-1")[0])
    change = record["changes"][0]
    assert change["before"]["peer"] == "10.1.0.0/16" and change["after"]["peer"] == "0.0.0.0/0"


def test_modify_after_an_inventory_run_shows_before_from_the_snapshot(env: Env) -> None:
    # given only an inventory snapshot (no event seen for the group yet)
    group_id, rule_id = _group_with_rule(env, "10.2.0.0/16")
    groups = env.ec2.describe_security_groups()["SecurityGroups"]
    rules = env.ec2.describe_security_group_rules()["SecurityGroupRules"]
    record_snapshot(EvidenceStore(BUCKET, env.s3), PREFIX, "123456789012", "us-east-1",
                    flatten_rules("123456789012", "us-east-1", groups, rules), datetime.now(UTC))
    event = _modify_event(group_id, rule_id, "10.3.0.0/16", "evt-modify-2")
    run(event)
    body = env.messages()[0]["Message"]
    assert "before: ingress tcp port 22 from 10.2.0.0/16" in body
    assert "after:  ingress tcp port 22 from 10.3.0.0/16" in body
    assert "previous state from security-groups/123456789012/us-east-1/snapshots/" in body


def test_a_snapshot_written_without_a_group_index_is_not_read_whole_and_the_alert_says_so(env: Env) -> None:
    # given only an inventory snapshot written before snapshots had a group index
    group_id, rule_id = _group_with_rule(env, "10.2.0.0/16")
    groups = env.ec2.describe_security_groups()["SecurityGroups"]
    rules = env.ec2.describe_security_group_rules()["SecurityGroupRules"]
    written = record_snapshot(EvidenceStore(BUCKET, env.s3), PREFIX, OWN, "us-east-1",
                              flatten_rules(OWN, "us-east-1", groups, rules), datetime.now(UTC))
    assert written.snapshot_key
    (index,) = env.keys("/snapshot-groups/")
    env.s3.delete_object(Bucket=BUCKET, Key=index)
    run(_modify_event(group_id, rule_id, "10.3.0.0/16", "evt-modify-unindexed"))
    body = env.messages()[0]["Message"]
    assert f"previous state skipped ({written.snapshot_key} has no group index" in body
    assert "10.3.0.0/16" in body  # the change itself is shown


def test_revoke_by_rule_id_shows_the_revoked_rule_from_the_recorded_state(env: Env) -> None:
    group_id, rule_id = _group_with_rule(env, "203.0.113.0/24")
    run(_authorize_event(group_id, rule_id, "203.0.113.0/24", "evt-authorize-3"))
    env.messages()
    event = _own(load(EVENTS / "RevokeSecurityGroupIngress_by_rule_id_return_only.json"))
    revoked = {"items": [{"securityGroupRuleId": rule_id}]}
    event["detail"]["requestParameters"] = {"groupId": group_id, "securityGroupRuleIds": revoked}
    run(event)
    body = env.messages()[0]["Message"]
    assert f"REMOVED: ingress tcp port 22 from 203.0.113.0/24 (no description) [{rule_id}]" in body
    record = env.record(env.keys(event["detail"]["eventID"])[0])
    assert record["changes"][0]["before"]["peer"] == "203.0.113.0/24" and record["changes"][0]["after"] is None


def test_no_state_is_recorded_for_events_of_another_account(env: Env) -> None:
    # given an event forwarded from a member account: its groups are not visible here
    group_id, rule_id = _group_with_rule(env, "10.4.0.0/16")
    event = _authorize_event(group_id, rule_id, "10.4.0.0/16", "evt-foreign-1")
    event["account"] = event["detail"]["recipientAccountId"] = "210987654321"
    run(event)
    # then it is alerted, but no (wrong, empty) group state is kept
    assert len(env.messages()) == 1
    assert env.keys("/group-state/") == []


def test_previous_state_unknown_without_any_record(env: Env) -> None:
    run(load(EVENTS / "ModifySecurityGroupRules_console_cidr_change.json"))
    assert "before: previous state unknown" in env.messages()[0]["Message"]


# --- Slack -----------------------------------------------------------------------------------


@pytest.fixture
def slack_env(env: Env) -> Iterator[tuple[Env, FakeSlack]]:
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="slack", SecretString=json.dumps({"token": "xoxb-test"}))["ARN"]
    with FakeSlack(token="xoxb-test") as fake:
        env.monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", secret)
        env.monkeypatch.setenv("SLACK_CHANNEL_ID", "C0123456")
        env.monkeypatch.setenv("SLACK_API_URL", fake.url)
        yield env, fake


def test_slack_gets_one_escaped_message_per_event(slack_env: tuple[Env, FakeSlack]) -> None:
    env, fake = slack_env
    event = load(EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json")
    event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["description"] = "<!channel> @here *x*"
    run(event)
    run(event)  # redelivery
    (post,) = fake.calls("chat.postMessage")
    text = json.dumps(post.params)
    assert post.params["channel"] == "C0123456"
    assert "sg-0a1b2c3d4e5f60718" in text and "<!channel>" not in text and "@here" not in text
    assert "xoxb-test" not in text
    assert len(env.messages()) == 1


def test_slack_failure_never_loses_the_sns_alert(slack_env: tuple[Env, FakeSlack]) -> None:
    env, fake = slack_env
    fake.fail("chat.postMessage", error="not_in_channel")
    result = run(load(FIXTURES[0]))
    assert result["published"] is True and len(env.messages()) == 1


def test_unreadable_slack_secret_never_loses_the_sns_alert(env: Env) -> None:
    env.monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    env.monkeypatch.setenv("SLACK_CHANNEL_ID", "C0123456")
    assert run(load(FIXTURES[0]))["published"] is True
    assert len(env.messages()) == 1


# --- fuzzing ---------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
KEYS = ["eventName", "eventID", "requestParameters", "responseElements", "userIdentity", "errorCode", "awsRegion",
        "eventTime", "recipientAccountId", "groupId", "ipPermissions", "items", "fromPort", "cidrIp",
        "securityGroupRuleSet", "ModifySecurityGroupRulesRequest", "SecurityGroupRule", "detail", "account"]


def _mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            del value[key]
        elif choice == 1:
            value[key] = data.draw(JSON)
        elif choice == 2 and depth < 6:
            value[key] = _mutate(value[key], data, depth + 1)
        else:
            value[data.draw(st.sampled_from(KEYS))] = data.draw(JSON)
    elif isinstance(value, list) and value:
        index = data.draw(st.integers(0, len(value) - 1))
        value[index] = _mutate(value[index], data, depth + 1) if depth < 6 else data.draw(JSON)
    else:
        value = data.draw(JSON)
    return value


EVENT_SAMPLES = [load(p) for p in FIXTURES]


def test_fuzzed_event_shapes_always_publish_and_never_crash() -> None:
    # One warm process and one emulated account for every example, as Lambda runs the handler.
    published: list[tuple[str, str]] = []
    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="alerts")["TopicArn"]
        mp.setenv("ALERT_TOPIC_ARN", topic)
        mp.delenv("EVIDENCE_BUCKET", raising=False)
        real_publish = notify.publish
        mp.setattr(notify, "publish", lambda *a, **k: published.append((a[1], a[2])) or real_publish(*a, **k))

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.data())
        def publishes_one_alert(data: st.DataObject) -> None:
            # given a real-shaped event with random parts removed or replaced (or pure noise)
            if data.draw(st.booleans()):
                event = copy.deepcopy(data.draw(st.sampled_from(EVENT_SAMPLES)))
                for _ in range(data.draw(st.integers(1, 5))):
                    event = _mutate(event, data)
            else:
                event = data.draw(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6))
            published.clear()
            # when the handler runs / then it returns and published exactly one alert
            result = handler.lambda_handler(event if isinstance(event, dict) else {"value": event}, None)
            assert result["published"] is True and len(published) == 1
            subject, body = published[0]
            assert 0 < len(notify.sns_subject(subject)) <= 100 and body

        publishes_one_alert()


# --- exposure of the changed group, looked up at alert time ----------------------------------


def _network(session: Any = None) -> Any:
    from tests.module.network import build_network

    return build_network(session)


def _world(group_id: str, event_id: str, port: int = 22, account: str = OWN) -> dict[str, Any]:
    """An AuthorizeSecurityGroupIngress of tcp ``port`` from 0.0.0.0/0 on the group, in ``account``."""
    event = _authorize_event(group_id, f"sgr-0{event_id[-8:].rjust(16, '0')}", "0.0.0.0/0", event_id)
    detail = event["detail"]
    for item in [detail["requestParameters"]["ipPermissions"]["items"][0],
                 detail["responseElements"]["securityGroupRuleSet"]["items"][0]]:
        item["fromPort"] = item["toPort"] = port
    event["account"] = detail["recipientAccountId"] = account
    return event


def _published(env: Env, result: dict[str, Any], event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the one SNS message, the event record) of an alerted event."""
    (message,) = env.messages()
    assert result["published"] is True and message["Subject"] == result["subject"]
    return message, env.record(env.keys(f"/{event_id}.json")[0])


def _attribute(message: dict[str, Any], name: str) -> str:
    return str(message["MessageAttributes"][name]["Value"])


def test_world_ssh_on_a_group_of_an_internet_reachable_instance_is_critical(env: Env) -> None:
    # given a group carried by an instance with a public IP in a subnet routed to an internet gateway
    net = _network()
    # when world SSH is added to it
    result = run(_world(net.public_group_id, "evt-exposed-1"))
    # then the alert is CRITICAL, says why, and names the instance the internet reaches
    message, record = _published(env, result, "evt-exposed-1")
    assert result["severity"] == "CRITICAL" and _attribute(message, "severity") == "CRITICAL"
    assert _attribute(message, "exposed") == "true"
    line = f"{net.public_instance_id} {net.public_interface_id} {net.public_ip} {net.public_subnet_id} " \
           f"{net.internet_gateway_id}"
    assert f"\nExposure: {line}\n" in message["Message"]
    assert "on a group attached to an internet-reachable interface" in message["Message"]
    assert record["exposure"] == {"exposed": True, "looked_up": True, "lines": [line]}
    assert record["severity"] == "CRITICAL"


def test_the_same_rule_on_an_unattached_group_stays_high(env: Env) -> None:
    net = _network()
    result = run(_world(net.unattached_group_id, "evt-unattached-1"))
    message, record = _published(env, result, "evt-unattached-1")
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "false"
    assert "\nExposure: not attached to any internet-reachable interface\n" in message["Message"]
    assert record["exposure"] == {"exposed": False, "looked_up": True,
                                  "lines": ["not attached to any internet-reachable interface"]}


def test_exposure_through_a_load_balancer_is_reported_not_escalated(env: Env) -> None:
    # given a group whose ingress admits an internet-facing load balancer's group
    net = _network()
    result = run(_world(net.backend_group_id, "evt-behind-lb-1"))
    message, record = _published(env, result, "evt-behind-lb-1")
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "true"
    assert record["exposure"]["lines"] == ["not attached to any internet-reachable interface",
                                           f"through internet-facing load balancer {net.load_balancer_name}"]


@pytest.mark.parametrize(("ports", "group", "level"), [
    (None, "unattached_group_id", "MEDIUM"),
    ("8443", "unattached_group_id", "LOW"),
    ("8443", "public_group_id", "LOW"),
    ("80,443", "public_group_id", "HIGH"),
])
def test_authorized_public_ports_come_from_the_environment(env: Env, ports: str | None, group: str, level: str) -> None:
    if ports is not None:
        env.monkeypatch.setenv("AUTHORIZED_PUBLIC_PORTS", ports)
    net = _network()
    assert run(_world(getattr(net, group), "evt-port-8443", port=8443))["severity"] == level


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def _refuse(monkeypatch: pytest.MonkeyPatch, operation: str, code: str, calls: list[str] | None = None) -> None:
    """Every client's ``operation`` is answered by AWS with the error ``code`` (HTTP 400 for throttling, which
    botocore retries, else 403)."""
    from botocore.awsrequest import AWSResponse

    from sgwatch import aws

    status = 400 if code == "Throttling" else 403
    error = f"<Error><Type>Sender</Type><Code>{code}</Code><Message>refused {operation}</Message></Error>"

    def answer(request: Any, event_name: str, **_: Any) -> AWSResponse:
        if calls is not None:
            calls.append(operation)
        if event_name.split(".")[1] == "ec2":
            body = f"<Response><Errors>{error}</Errors><RequestID>r</RequestID></Response>"
        else:
            body = f"<ErrorResponse>{error}<RequestId>r</RequestId></ErrorResponse>"
        return AWSResponse(request.url, status, {}, _Raw(body.encode()))

    def with_refusal(build: Any) -> Any:
        def client(*args: Any, **kwargs: Any) -> Any:
            found = build(*args, **kwargs)
            found.meta.events.register_first(f"before-send.*.{operation}", answer, unique_id=f"refuse-{operation}")
            return found
        return client

    monkeypatch.setattr(aws, "central_client", with_refusal(aws.central_client))
    monkeypatch.setattr(aws.Target, "client", with_refusal(aws.Target.client))


@pytest.mark.parametrize(("operation", "code"), [
    ("DescribeNetworkInterfaces", "UnauthorizedOperation"),
    ("DescribeRouteTables", "AccessDenied"),
    ("DescribeLoadBalancers", "AccessDenied"),
])
def test_a_refused_lookup_says_so_and_the_alert_still_goes_out(env: Env, operation: str, code: str) -> None:
    net = _network()
    _refuse(env.monkeypatch, operation, code)
    result = run(_world(net.public_group_id, "evt-refused-1"))
    message, record = _published(env, result, "evt-refused-1")
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "unknown"
    assert f"\nExposure: not looked up: {code} on {operation}\n" in message["Message"]
    assert record["exposure"] == {"exposed": None, "looked_up": False,
                                  "lines": [f"not looked up: {code} on {operation}"]}


def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries without sleeping between attempts (the attempts are what is counted)."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", type("NoWait", (), {"sleep": staticmethod(lambda _: None)}))


def test_throttling_after_the_quick_retries_says_so_and_the_alert_goes_out(env: Env) -> None:
    from sgwatch import aws

    net = _network()
    calls: list[str] = []
    _refuse(env.monkeypatch, "DescribeNetworkInterfaces", "Throttling", calls)
    _no_backoff(env.monkeypatch)
    result = run(_world(net.public_group_id, "evt-throttled-1"))
    message, _ = _published(env, result, "evt-throttled-1")
    # retried by botocore, as often as the alert-time clients allow, then given up
    assert len(calls) == aws.QUICK_CONFIG.retries["total_max_attempts"] == 3
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "unknown"
    assert "\nExposure: not looked up: Throttling on DescribeNetworkInterfaces\n" in message["Message"]


def test_a_read_timeout_after_the_quick_retries_says_so_and_the_alert_goes_out(env: Env) -> None:
    from botocore.exceptions import ReadTimeoutError

    from sgwatch import aws

    net = _network()
    attempts: list[str] = []

    def no_answer(request: Any, **_: Any) -> None:
        attempts.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    def timing_out(build: Any) -> Any:
        def client(*args: Any, **kwargs: Any) -> Any:
            found = build(*args, **kwargs)
            found.meta.events.register_first("before-send.ec2.DescribeNetworkInterfaces", no_answer,
                                             unique_id="no-answer")
            return found
        return client

    env.monkeypatch.setattr(aws, "central_client", timing_out(aws.central_client))
    _no_backoff(env.monkeypatch)
    result = run(_world(net.public_group_id, "evt-read-timeout-1"))
    message, record = _published(env, result, "evt-read-timeout-1")
    assert len(attempts) == 3
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "unknown"
    reason = f'Read timeout on endpoint URL: "{attempts[0]}"'
    assert f"\nExposure: not looked up: {reason}\n" in message["Message"]
    assert record["exposure"] == {"exposed": None, "looked_up": False, "lines": [f"not looked up: {reason}"]}


def test_one_alert_time_call_ends_well_within_the_lookup_deadline() -> None:
    from sgwatch import aws

    config = aws.QUICK_CONFIG
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard"
    # every attempt waits out its connect and read timeouts; before retry n standard mode waits at most
    # 2**(n-1) s, plus at most 5 s when the answer asks for more (x-amz-retry-after)
    backoff = sum(2 ** (n - 1) + 5 for n in range(1, attempts))
    worst = attempts * (config.connect_timeout + config.read_timeout) + backoff
    assert worst == aws.worst_call_seconds() == 22
    assert worst <= changes.LOOKUP_SECONDS - 8  # calls may still start 8 s into the lookup
    # and the lookup and the publishing reserve fit in the function's 60 s timeout
    assert changes.LOOKUP_SECONDS + changes.PUBLISH_RESERVE_SECONDS < 60


def test_a_quick_block_starts_no_call_that_could_end_after_its_deadline(env: Env) -> None:
    import time

    from sgwatch import aws

    sent: list[str] = []
    with aws.quick(aws.worst_call_seconds() + 5):
        ec2 = aws.client("ec2", "us-east-1")
        ec2.meta.events.register("before-send.ec2.*", lambda request, **_: sent.append(request.url))
        ec2.describe_security_groups()  # starts in time
        with pytest.MonkeyPatch.context() as later:
            later.setattr(time, "monotonic", lambda real=time.monotonic: real() + 6)
            with pytest.raises(TimeoutError, match=f"no answer within {aws.worst_call_seconds() + 5:g} s"):
                ec2.describe_security_groups()  # would start 6 s in: it could end after the deadline
    assert len(sent) == 1
    # outside the block the same client calls as any other
    ec2.describe_security_groups()
    assert len(sent) == 2


def test_a_lookup_without_the_time_for_one_call_is_not_made_and_the_alert_goes_out(env: Env) -> None:
    from sgwatch import aws

    net = _network()
    calls: list[str] = []
    _refuse(env.monkeypatch, "DescribeNetworkInterfaces", "Throttling", calls)
    env.monkeypatch.setattr(changes, "LOOKUP_SECONDS", aws.worst_call_seconds() - 0.5)
    # Lambda's context names the function (and so its account): no call is needed for that
    context = type("Context", (), {"invoked_function_arn": f"arn:aws:lambda:us-east-1:{OWN}:function:alerts"})()
    result = handler.lambda_handler(_world(net.public_group_id, "evt-slow-1"), context)
    message, _ = _published(env, result, "evt-slow-1")
    assert calls == [] and result["severity"] == "HIGH"
    timeout = f"no answer within {aws.worst_call_seconds() - 0.5:g} s"
    assert f"\nExposure: not looked up: {timeout}\n" in message["Message"]
    # the duplicate check is a call before publishing too: skipped, and said
    assert f"duplicate check skipped ({timeout})" in message["Message"]


def test_an_evidence_bucket_that_never_answers_holds_no_alert_back(env: Env) -> None:
    """S3 accepts the connection and never answers: the duplicate check and the before-state are given up
    within the alert's deadline, the alert goes out and says what was skipped, and the invocation ends
    within the function's timeout (a timed-out invocation would be retried: a second alert)."""
    import threading
    import time

    from sgwatch import notify
    from tests.unit.loopback import Unanswering

    env.monkeypatch.setattr(changes, "LOOKUP_SECONDS", REAL_LOOKUP_SECONDS)
    published: list[float] = []
    real_publish = notify.publish
    env.monkeypatch.setattr(notify, "publish", lambda *a, **k: published.append(time.monotonic()) or real_publish(
        *a, **k))
    _no_backoff(env.monkeypatch)
    event = load(EVENTS / "ModifySecurityGroupRules_console_cidr_change.json")  # needs the rules as they were
    outcome: list[dict[str, Any]] = []
    with Unanswering() as s3:
        env.monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.origin)
        start = time.monotonic()
        invocation = threading.Thread(target=lambda: outcome.append(run(event)), daemon=True)
        invocation.start()
        invocation.join(60)  # the function's timeout
        ended = time.monotonic() - start
        assert s3.connections >= 1  # the bucket was asked, and never answered
    assert published and published[0] - start <= changes.LOOKUP_SECONDS
    assert not invocation.is_alive() and ended < 60 and outcome[0]["published"] is True
    body = env.messages()[0]["Message"]
    assert "duplicate check skipped" in body and "previous state skipped" in body


MEMBER = "210987654321"


def _member_session() -> Any:
    role = f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read"
    sts = boto3.client("sts", region_name="us-east-1")
    found = sts.assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    return boto3.session.Session(aws_access_key_id=found["AccessKeyId"], aws_secret_access_key=found["SecretAccessKey"],
                                 aws_session_token=found["SessionToken"])


def test_a_member_accounts_group_is_looked_up_through_the_member_role(env: Env) -> None:
    # given a configured member account whose exposed group is changed
    env.monkeypatch.setenv("ACCOUNTS", MEMBER)
    env.monkeypatch.setenv("MEMBER_ROLE_NAME", "sgwatch-member-read")
    net = _network(_member_session())
    assumed: list[str] = []
    from sgwatch import accounts

    real = accounts.assume_role
    env.monkeypatch.setattr(accounts, "assume_role", lambda account, role, session: assumed.append(role) or real(
        account, role, session))
    # when its forwarded event arrives
    result = run(_world(net.public_group_id, "evt-member-1", account=MEMBER))
    # then the group is described in the member account, through its role
    message, _ = _published(env, result, "evt-member-1")
    assert assumed == [f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read"]
    assert result["severity"] == "CRITICAL" and _attribute(message, "exposed") == "true"
    assert net.public_instance_id in message["Message"]


def test_a_revoke_in_a_member_account_reads_only_the_changed_groups_rows(env: Env) -> None:
    """The rule as it was comes from the inventory's snapshot of the member account, but only the changed
    group's rows are read: the alert's cost does not grow with the account (a whole 100k-rule snapshot is
    about 250 MB in a 256 MB function)."""
    from sgwatch import aws

    env.monkeypatch.setenv("ACCOUNTS", MEMBER)
    member = _member_session().client("ec2", region_name="us-east-1")
    vpc = member.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group_ids = [member.create_security_group(GroupName=f"g{n}", Description="d", VpcId=vpc)["GroupId"]
                 for n in range(3)]
    for n, group_id in enumerate(group_ids):
        member.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": f"198.51.100.{n}/32"}]}])
    groups = member.describe_security_groups()["SecurityGroups"]
    rules = member.describe_security_group_rules()["SecurityGroupRules"]
    record_snapshot(EvidenceStore(BUCKET, env.s3), PREFIX, MEMBER, "us-east-1",
                    flatten_rules(MEMBER, "us-east-1", groups, rules), datetime.now(UTC))
    group_id = group_ids[1]
    rule_id = next(r["SecurityGroupRuleId"] for r in rules if r["GroupId"] == group_id and not r["IsEgress"])
    member.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[rule_id])
    reads: list[tuple[str, str]] = []

    def watched(build: Any) -> Any:
        def client(*args: Any, **kwargs: Any) -> Any:
            found = build(*args, **kwargs)
            if found.meta.service_model.service_name == "s3":
                found.meta.events.register("before-call.s3.GetObject", lambda params, **_: reads.append(
                    (params["url_path"], params["headers"].get("Range", ""))), unique_id="watched")
            return found
        return client

    env.monkeypatch.setattr(aws, "central_client", watched(aws.central_client))
    event = load(EVENTS / "RevokeSecurityGroupIngress_by_rule_id_return_only.json")
    event["account"] = event["detail"]["recipientAccountId"] = MEMBER
    event["detail"]["requestParameters"] = {"groupId": group_id,
                                            "securityGroupRuleIds": {"items": [{"securityGroupRuleId": rule_id}]}}
    run(event)
    body = env.messages()[0]["Message"]
    # the alert shows the revoked rule as the snapshot has it
    assert f"REMOVED: ingress tcp port 22 from 198.51.100.1/32 (no description) [{rule_id}]" in body
    # and no read of the snapshot object is a whole one
    snapshot_reads = [(path, span) for path, span in reads if "/snapshots/" in path]
    assert snapshot_reads and all(span for _, span in snapshot_reads), reads


@pytest.mark.parametrize(("accounts", "reason"), [
    ("", f"account {MEMBER} is neither this function's account nor one of its member accounts"),
    (MEMBER, f"member role arn:aws:iam::{MEMBER}:role/sgwatch-member-read could not be assumed (AccessDenied)"),
], ids=["account-not-configured", "member-role-missing"])
def test_a_member_account_that_cannot_be_read_says_so_and_the_alert_still_goes_out(
    env: Env, accounts: str, reason: str
) -> None:
    env.monkeypatch.setenv("ACCOUNTS", accounts)
    net = _network(_member_session())
    _refuse(env.monkeypatch, "AssumeRole", "AccessDenied")  # the role's trust policy does not name this function
    result = run(_world(net.public_group_id, "evt-member-2", account=MEMBER))
    message, record = _published(env, result, "evt-member-2")
    assert result["severity"] == "HIGH" and _attribute(message, "exposed") == "unknown"
    assert f"\nExposure: not looked up: {reason}\n" in message["Message"]
    assert record["exposure"] == {"exposed": None, "looked_up": False, "lines": [f"not looked up: {reason}"]}


def test_a_deleted_group_is_attached_to_nothing(env: Env) -> None:
    run(load(EVENTS / "DeleteSecurityGroup_console_sso_by_id.json"))
    (message,) = env.messages()
    assert _attribute(message, "exposed") == "false"
    assert "\nExposure: not looked up: the group was deleted (AWS deletes no group in use)\n" in message["Message"]


def test_an_event_without_a_region_is_not_looked_up(env: Env) -> None:
    net = _network()
    event = _world(net.public_group_id, "evt-no-region-1")
    event["region"] = event["detail"]["awsRegion"] = "moon-1"
    run(event)
    (message,) = env.messages()
    assert "\nExposure: not looked up: the event names no AWS region\n" in message["Message"]


# --- provenance ------------------------------------------------------------------------------


DEPLOYER = f"arn:aws:iam::{OWN}:role/deployer"


def _as(event: dict[str, Any], role: str, user_agent: str) -> dict[str, Any]:
    """The event made by an assumed-role session of ``role`` with ``user_agent``."""
    detail = event["detail"]
    detail["userIdentity"] = {
        "type": "AssumedRole", "arn": f"arn:aws:sts::{OWN}:assumed-role/{role.rsplit('/', 1)[1]}/s",
        "accountId": OWN, "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": OWN,
                                                               "userName": role.rsplit("/", 1)[1]}}}
    detail["userAgent"] = user_agent
    detail.pop("sessionCredentialFromConsole", None)
    return event


def _iac_group(env: Env) -> str:
    vpc = env.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return str(env.ec2.create_security_group(
        GroupName="iac", Description="iac", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "ManagedBy", "Value": "terraform"}]}],
    )["GroupId"])


def test_change_control_and_manual_changes_to_an_iac_managed_group(env: Env) -> None:
    # given change control configured and a group managed by Terraform (tag ManagedBy)
    env.monkeypatch.setenv("APPROVED_CHANGE_PRINCIPALS", f"arn:aws:iam::{OWN}:role/deploy*")
    env.monkeypatch.setenv("IAC_MANAGED_TAG_KEYS", "aws:cloudformation:stack-id,ManagedBy")
    group = _iac_group(env)
    terraform = "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"
    # when the pipeline's role changes it, then someone else by hand with the CLI
    approved, approved_record = _published(env, run(_as(_world(group, "evt-approved-1", port=443), DEPLOYER,
                                                         terraform)), "evt-approved-1")
    cli = "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.9"
    manual, manual_record = _published(env, run(_as(_world(group, "evt-manual-1"), f"arn:aws:iam::{OWN}:role/ops",
                                                     cli)), "evt-manual-1")
    # then each alert and record says through which channel, by whom, and whether change control knew
    assert (_attribute(approved, "origin"), _attribute(approved, "change_control")) == ("terraform", "approved")
    assert (_attribute(manual, "origin"), _attribute(manual, "change_control")) == ("cli", "out-of-band")
    assert approved_record["provenance"] == {"origin": "terraform", "origin_detail": "Terraform 1.5.7, provider 5.31.0",
                                             "principal": DEPLOYER, "change_control": "approved",
                                             "manual_change": False}
    assert manual_record["provenance"] == {"origin": "cli", "origin_detail": "aws-cli 2.17.0",
                                           "principal": f"arn:aws:iam::{OWN}:role/ops",
                                           "change_control": "out-of-band", "manual_change": True}
    (line,) = [x for x in manual["Message"].splitlines() if x.startswith("Changed via:")]
    assert line.endswith(f"cli (aws-cli 2.17.0) by arn:aws:iam::{OWN}:role/ops; change control: out-of-band; "
                         "WARNING: manual change to an IaC-managed group: the next apply will revert or fight it")
    # and provenance leaves the severity alone
    assert _attribute(manual, "severity") == "HIGH"


def test_a_group_that_cannot_be_described_is_still_looked_up_and_the_alert_says_so(env: Env) -> None:
    env.monkeypatch.setenv("IAC_MANAGED_TAG_KEYS", "ManagedBy")
    group = _iac_group(env)
    _refuse(env.monkeypatch, "DescribeSecurityGroups", "UnauthorizedOperation")
    message, record = _published(env, run(_as(_world(group, "evt-undescribed-1"), f"arn:aws:iam::{OWN}:role/ops",
                                              "console.ec2.amazonaws.com")), "evt-undescribed-1")
    assert " - the group could not be described (UnauthorizedOperation): its tags are not known" in message["Message"]
    # its rules are not known either, so neither is whether a load balancer it admits exposes it
    assert record["exposure"]["looked_up"] is True and _attribute(message, "exposed") == "unknown"
    assert record["provenance"]["manual_change"] is False  # its tags are not known


def test_a_group_behind_a_load_balancer_that_cannot_be_described_is_not_said_to_be_unexposed(env: Env) -> None:
    # given a group whose ingress admits an internet-facing load balancer, and DescribeSecurityGroups throttled
    net = _network()
    _no_backoff(env.monkeypatch)
    _refuse(env.monkeypatch, "DescribeSecurityGroups", "Throttling")
    # when a rule is added to it
    message, record = _published(env, run(_world(net.backend_group_id, "evt-throttled-1")), "evt-throttled-1")
    # then the alert does not say "not exposed": it says the verdict is unknown, and which part failed
    assert _attribute(message, "exposed") == "unknown" and record["exposure"]["exposed"] is None
    assert record["exposure"]["lines"] == [
        "not attached to any internet-reachable interface",
        "unknown: the group could not be described (Throttling): which internet-facing load balancers its ingress "
        "admits"]


def test_a_creation_is_iac_managed_by_the_tags_of_its_request(env: Env) -> None:
    # given a group created by hand in the console with a ManagedBy tag (a member account's event, not looked up)
    env.monkeypatch.setenv("IAC_MANAGED_TAG_KEYS", "ManagedBy")
    event = load(EVENTS / "CreateSecurityGroup_cloudformation_tags.json")
    detail = event["detail"]
    detail["requestParameters"]["tagSpecificationSet"] = {"items": [{"resourceType": "security-group", "tags": [
        {"key": "ManagedBy", "value": "terraform"}]}]}
    detail["userIdentity"].pop("invokedBy", None)
    detail["userAgent"] = "console.ec2.amazonaws.com"
    run(event)
    (message,) = env.messages()
    record = env.record(env.keys(f"/{detail['eventID']}.json")[0])
    assert record["provenance"]["origin"] == "console" and record["provenance"]["manual_change"] is True
    assert _attribute(message, "change_control") == "not-configured"


@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.stem)
def test_recorded_payload_says_through_which_channel_it_came(env: Env, path: Path) -> None:
    from sgwatch import provenance

    event = load(path)
    run(event)
    (message,) = env.messages()
    expected = provenance.provenance(event)
    assert _attribute(message, "origin") == expected.origin != "unknown"
    assert _attribute(message, "change_control") == "not-configured"
    (line,) = [x for x in message["Message"].splitlines() if x.startswith("Changed via:")]
    assert line.split(":", 1)[1].strip() == expected.line()


# --- settings and permissions ----------------------------------------------------------------


def test_settings_default_to_the_terraform_defaults() -> None:

    found = changes.Settings.from_env({"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"})
    assert found.authorized_public_ports == (80, 443)
    assert found.approved_change_principals == ()
    assert found.iac_managed_tag_keys == ("aws:cloudformation:stack-id",)
    assert found.reach.accounts == () and found.reach.member_role == "sgwatch-member-read"


def test_settings_read_what_terraform_sets() -> None:

    found = changes.Settings.from_env({
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "AUTHORIZED_PUBLIC_PORTS": "443,8443",
        "APPROVED_CHANGE_PRINCIPALS": "arn:aws:iam::*:role/deployer, arn:aws:iam::1:user/ci",
        "IAC_MANAGED_TAG_KEYS": "aws:cloudformation:stack-id,ManagedBy", "ACCOUNTS": f"{MEMBER},111122223333",
        "EXCLUDED_ACCOUNTS": "111122223333", "MEMBER_ROLE_NAME": "reader",
    })
    assert found.authorized_public_ports == (443, 8443)
    assert found.approved_change_principals == ("arn:aws:iam::*:role/deployer", "arn:aws:iam::1:user/ci")
    assert found.iac_managed_tag_keys == ("aws:cloudformation:stack-id", "ManagedBy")
    assert found.reach.accounts == (MEMBER, "111122223333") and found.reach.excluded == ("111122223333",)
    assert found.reach.member_role == "reader"


def test_the_notifiers_role_grants_exactly_the_calls_its_code_makes() -> None:
    from sgwatch import exposure
    from tests.paths import ROOT, hcl

    document = next(d['"aws_iam_policy_document"']['"function"']
                    for d in hcl(ROOT / "modules" / "sg-change-alerts" / "main.tf")["data"]
                    if '"function"' in d.get('"aws_iam_policy_document"', {}))
    granted = {a.strip('"') for s in document["statement"] for a in s["actions"]}
    assert granted == {"sns:Publish", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
                       *exposure.IAM_ACTIONS}
