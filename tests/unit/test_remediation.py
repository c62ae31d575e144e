"""Remediation from Slack: the interaction endpoint (function URL) and the queued revert, end to end.

The change notifier alerts a world-SSH change in moto's EC2 and posts it to the loopback fake Slack with
a Revert button; a click is built from that very button and sent to the remediation handler as Slack
would (form body, ``v0`` signature), signed or not, stale, replayed, tampered, oversized or by a
non-approver; the queued job is then run from the work queue as the event source mapping would.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws
from remediation import handler

from sg_change_alerts import handler as notifier
from sgwatch import remediation_prompt, remediation_revert as revert
from sgwatch.remediation import interaction, signature
from sgwatch.rules import Rule
from tests.unit.fake_slack import FakeSlack

EVENTS = Path(__file__).resolve().parents[1] / "events"
BUCKET = "evidence"
PREFIX = "security-groups/"
CHANNEL = "C0123456"
APPROVER = "U0APPROVER"
GROUP_MEMBER = "U0INGROUP"
OUTSIDER = "U0OUTSIDER"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ACCOUNT = "123456789012"
CONTEXT = SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sgwatch-remediation",
                          aws_request_id="req-1")


class World:
    """moto (EC2, S3, SQS, Secrets Manager), the fake Slack, and both functions' environments."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, slack: FakeSlack) -> None:
        self.slack = slack
        self.ec2 = boto3.client("ec2", region_name="us-east-1")
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="sgwatch-remediation-work")["QueueUrl"]
        token = secrets.create_secret(Name="token", SecretString="xoxb-test")["ARN"]
        self.signing = secrets.create_secret(Name="signing", SecretString=SIGNING_SECRET)["ARN"]
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.group = self.ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
        for name, value in {
            "ALERT_TOPIC_ARN": topic, "EVIDENCE_BUCKET": BUCKET, "EVIDENCE_PREFIX": PREFIX,
            "SLACK_TOKEN_SECRET_ARN": token, "SLACK_CHANNEL_ID": CHANNEL, "SLACK_API_URL": slack.url,
            "APPROVED_CHANGE_PRINCIPALS": "arn:aws:iam::*:role/terraform-pipeline",
            "REMEDIATION_MODE": "approve", "REMEDIATION_MIN_SEVERITY": "HIGH", "REMEDIATION_ONLY_OUT_OF_BAND": "true",
            "REMEDIATION_APPROVERS": f"{APPROVER},S0SECTEAM", "SLACK_SIGNING_SECRET_ARN": self.signing,
            "WORK_QUEUE_URL": self.queue,
        }.items():
            monkeypatch.setenv(name, value)

    # --- the change and its alert
    def world_ssh(self, description: str = "temporary debug access") -> str:
        answer = self.ec2.authorize_security_group_ingress(GroupId=self.group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": description}]}])
        return str(answer["SecurityGroupRules"][0]["SecurityGroupRuleId"])

    def alert(self, rule_id: str, fixture: str = "AuthorizeSecurityGroupIngress_console_sso_ssh_world") -> dict:
        text = (EVENTS / f"{fixture}.json").read_text()
        text = text.replace("111122223333", ACCOUNT).replace("sg-0a1b2c3d4e5f60718", self.group)
        text = text.replace("sgr-0123456789abcdef0", rule_id)
        notifier.lambda_handler(json.loads(text), CONTEXT)
        return self.slack.calls("chat.postMessage")[-1].params

    def rules(self) -> dict[str, dict[str, Any]]:
        found = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [self.group]}])
        return {r["SecurityGroupRuleId"]: r for r in found["SecurityGroupRules"]}

    def keys(self, part: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents") or []
        return [o["Key"] for o in listed if part in o["Key"]]

    def read(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    # --- Slack's side
    def click_body(self, message: dict[str, Any], user: str = APPROVER, channel: str = CHANNEL,
                   action_id: str = remediation_prompt.REVERT_ACTION_ID) -> bytes:
        blocks = json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]
        (actions,) = [b for b in blocks if b["type"] == "actions"]
        (button,) = [e for e in actions["elements"] if e["action_id"] == action_id]
        payload = {
            "type": "block_actions", "user": {"id": user, "username": "someone"}, "team": {"id": "T0TEAM"},
            "trigger_id": "1234567890.123456.abcdef",
            "channel": {"id": channel}, "container": {"type": "message", "message_ts": "1700000000.000100"},
            "message": {"ts": "1700000000.000100", "blocks": blocks},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": actions["block_id"],
                         "value": button["value"], "action_ts": "1700000001.000200"}],
            "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def queued(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for m in got:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return got

    def run_jobs(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        records = [{"eventSource": "aws:sqs", "messageId": m["MessageId"], "body": m["Body"]} for m in messages]
        return handler.lambda_handler({"Records": records}, CONTEXT)


def request(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None, b64: bool = False,
            signature_value: str | None = None) -> dict[str, Any]:
    """A function URL event as Lambda builds it for Slack's POST."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = signature_value if signature_value is not None else signature.expected(secret.encode(), stamp, body)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp}
    if signed:
        headers["x-slack-signature"] = signed
    return {"version": "2.0", "rawPath": "/", "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": base64.b64encode(body).decode() if b64 else body.decode(), "isBase64Encoded": b64}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws(), FakeSlack(token="xoxb-test", user_groups={"S0SECTEAM": [GROUP_MEMBER]}) as slack:
        yield World(monkeypatch, slack)


def click(world: World, body: bytes, **kwargs: Any) -> dict[str, Any]:
    return handler.lambda_handler(request(body, **kwargs), CONTEXT)


# --- the alert carries the button -------------------------------------------------------------


def test_a_qualifying_alert_carries_a_revert_button_naming_the_alert_only(world: World) -> None:
    message = world.alert(world.world_ssh())
    blocks = json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    ref = remediation_prompt.AlertRef.parse(actions["elements"][0]["value"])
    assert ref is not None and ref.account_id == ACCOUNT and ref.event_id == "db3668d1-3c4f-5b0d-9e6a-92f1304dd232"
    assert ref.day == "2025/03/04" and ref.region == "us-east-1"


def test_an_alert_below_the_policy_carries_no_button(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVED_CHANGE_PRINCIPALS", "arn:aws:iam::*:role/aws-reserved/*")  # went through control
    message = world.alert(world.world_ssh())
    assert '"actions"' not in json.dumps(message)


# --- the endpoint: who may call it ----------------------------------------------------------------


def test_a_signed_click_is_acknowledged_at_once_and_queued(world: World) -> None:
    body = world.click_body(world.alert(world.world_ssh()))
    assert click(world, body) == interaction.ACCEPTED
    assert len(world.queued()) == 1


def test_a_base64_body_is_verified_on_its_decoded_bytes(world: World) -> None:
    body = world.click_body(world.alert(world.world_ssh()))
    assert click(world, body, b64=True) == interaction.ACCEPTED


@pytest.mark.parametrize("kind", ["unsigned", "wrong_secret", "stale", "future", "tampered"])
def test_a_forged_or_stale_request_is_refused_without_echo_and_queues_nothing(world: World, kind: str) -> None:
    body = world.click_body(world.alert(world.world_ssh()))
    now = int(time.time())
    event = {
        "unsigned": lambda: request(body, signature_value=""),
        "wrong_secret": lambda: request(body, secret="not-the-secret"),
        "stale": lambda: request(body, timestamp=now - signature.WINDOW_SECONDS - 5),
        "future": lambda: request(body, timestamp=now + signature.WINDOW_SECONDS + 5),
        # signed, then changed on the way: another user id in the payload
        "tampered": lambda: {**request(body), "body": body.replace(APPROVER.encode(), OUTSIDER.encode()).decode()},
    }[kind]()
    answer = handler.lambda_handler(event, CONTEXT)
    assert answer == interaction.REFUSED and answer["body"] == "refused"
    assert world.queued() == []


def test_a_replayed_request_is_refused_once_its_window_has_passed(world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    body = world.click_body(world.alert(world.world_ssh()))
    captured = request(body)
    assert handler.lambda_handler(copy.deepcopy(captured), CONTEXT) == interaction.ACCEPTED
    later = time.time() + signature.WINDOW_SECONDS + 1
    monkeypatch.setattr(handler.time, "time", lambda: later)
    assert handler.lambda_handler(copy.deepcopy(captured), CONTEXT) == interaction.REFUSED


@pytest.mark.parametrize("b64", [False, True])
def test_an_oversized_body_is_refused_before_its_signature_is_computed(world: World, b64: bool,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"payload=" + b"x" * interaction.MAX_BODY_BYTES
    monkeypatch.setattr(signature, "signing_secret", lambda *_: pytest.fail("the secret was read"))
    answer = click(world, body, b64=b64)
    assert answer == interaction.OVERSIZED and "x" not in answer["body"]


def test_a_signed_request_that_is_not_our_button_is_refused(world: World) -> None:
    body = urlencode({"payload": json.dumps({"type": "block_actions", "actions": [
        {"action_id": "other", "block_id": "other", "value": "x"}]})}).encode()
    assert click(world, body) == interaction.NOT_A_CLICK
    assert world.queued() == []


def test_a_signed_click_copied_into_another_channel_is_refused(world: World) -> None:
    body = world.click_body(world.alert(world.world_ssh()), channel="C0ELSEWHERE")
    assert click(world, body) == interaction.NOT_A_CLICK
    assert world.queued() == []


def test_an_unreadable_signing_secret_refuses_every_request(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(SecretId=world.signing, SecretString=" ")
    body = world.click_body(world.alert(world.world_ssh()))
    assert click(world, body) == interaction.UNAVAILABLE
    assert world.queued() == []


def test_the_signing_secret_is_read_once_per_ttl(world: World) -> None:
    secrets = SimpleNamespace(calls=0)

    def get_secret_value(**_: Any) -> dict[str, str]:
        secrets.calls += 1
        return {"SecretString": json.dumps({"signing_secret": "s3cret"})}

    secrets.get_secret_value = get_secret_value  # type: ignore[attr-defined]
    assert signature.signing_secret("arn:x", secrets, now=0.0) == b"s3cret"
    assert signature.signing_secret("arn:x", secrets, now=signature.SECRET_TTL_SECONDS - 1) == b"s3cret"
    assert secrets.calls == 1
    signature.signing_secret("arn:x", secrets, now=signature.SECRET_TTL_SECONDS + 1)
    assert secrets.calls == 2


# --- the job: approver, write-once, revert exactly what the alert showed -------------------------------


def test_an_approver_click_revokes_the_added_rule_records_it_once_and_updates_the_message(world: World) -> None:
    rule_id = world.world_ssh()
    assert click(world, world.click_body(world.alert(rule_id))) == interaction.ACCEPTED
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert rule_id not in world.rules()
    (decision,) = world.keys("-revert.json")
    (outcome,) = world.keys("-revert-outcome.json")
    assert decision.startswith(f"{PREFIX}{ACCOUNT}/us-east-1/remediation/2025/03/04/db3668d1")
    assert world.read(decision)["decided_by"] == APPROVER
    (step,) = world.read(outcome)["outcomes"]
    assert step["result"] == revert.DONE and step["request_id"]
    (update,) = world.slack.calls("chat.update")
    assert f"{rule_id} in {world.group}: revoked" in update.params["text"]
    assert '"actions"' not in json.dumps(update.params["blocks"])


def test_a_member_of_an_approver_user_group_may_revert(world: World) -> None:
    rule_id = world.world_ssh()
    click(world, world.click_body(world.alert(rule_id), user=GROUP_MEMBER))
    world.run_jobs(world.queued())
    assert rule_id not in world.rules()


def test_a_non_approver_click_changes_and_records_nothing(world: World) -> None:
    rule_id = world.world_ssh()
    click(world, world.click_body(world.alert(rule_id), user=OUTSIDER))
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert rule_id in world.rules() and world.keys("/remediation/") == []
    (told,) = world.slack.calls("chat.postEphemeral")
    assert told.params["user"] == OUTSIDER and "approvers" in told.params["text"]


def test_a_second_click_does_nothing_more(world: World) -> None:
    rule_id = world.world_ssh()
    body = world.click_body(world.alert(rule_id))
    click(world, body)
    world.run_jobs(world.queued())
    # the rule is added again by hand (same content, a new id is not what the alert showed): untouched
    again = world.world_ssh()
    click(world, body)  # a second click on the same alert (a new job)
    world.run_jobs(world.queued())
    assert again in world.rules()
    assert len(world.keys("-revert.json")) == 1 and len(world.slack.calls("chat.update")) == 1
    assert "already handled" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


def test_a_redelivered_job_finishes_its_own_work(world: World) -> None:
    rule_id = world.world_ssh()
    click(world, world.click_body(world.alert(rule_id)))
    messages = world.queued()
    world.run_jobs(messages)
    assert world.run_jobs(messages) == {"batchItemFailures": []}  # the same SQS message again
    assert rule_id not in world.rules() and len(world.keys("-revert-outcome.json")) == 1


def test_a_revert_racing_a_newer_change_leaves_the_newer_rule_alone(world: World) -> None:
    rule_id = world.world_ssh()
    body = world.click_body(world.alert(rule_id))
    # someone narrows the rule after the alert, before the click is handled
    world.ec2.modify_security_group_rules(GroupId=world.group, SecurityGroupRules=[{
        "SecurityGroupRuleId": rule_id,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.0.0.0/8",
                              "Description": "temporary debug access"}}])
    click(world, body)
    world.run_jobs(world.queued())
    assert world.rules()[rule_id]["CidrIpv4"] == "10.0.0.0/8"
    (update,) = world.slack.calls("chat.update")
    assert "nothing done, rule changed since" in update.params["text"]


def test_a_button_value_naming_no_recorded_alert_does_nothing(world: World) -> None:
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    blocks = json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]
    job = interaction.parse_click(interaction.parse_payload(world.click_body(message)) or {})
    assert job is not None
    stolen = {**job.job(), "ref": job.ref.value().replace(ACCOUNT, "210987654321"), "blocks": blocks}
    sent = world.sqs.send_message(QueueUrl=world.queue, MessageBody=json.dumps(stolen))
    answer = world.run_jobs(world.queued())
    # no event record in that account's folder: nothing done, the clicker told
    assert answer == {"batchItemFailures": []} and rule_id in world.rules() and sent["MessageId"]
    assert "record is not in the evidence bucket" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


# --- the plan: never re-open, restore only what was modified ---------------------------------------


def _rule(**fields: str) -> dict[str, str]:
    base = {"group_id": "sg-1", "direction": "ingress", "rule_id": "sgr-1", "protocol": "tcp", "from_port": "22",
            "to_port": "22", "peer_type": "ipv4", "peer": "0.0.0.0/0", "description": ""}
    return {**base, **fields}


def test_a_removed_rule_is_never_re_opened() -> None:
    steps, skipped = revert.plan({"changes": [{"action": "removed", "before": _rule(), "after": None}]})
    assert steps == [] and [s.result for s in skipped] == [revert.NOT_REVERTIBLE]


def test_a_modified_rule_is_restored_to_its_previous_form(world: World) -> None:
    rule_id = world.world_ssh()
    world.ec2.modify_security_group_rules(GroupId=world.group, SecurityGroupRules=[{
        "SecurityGroupRuleId": rule_id,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"}}])
    record = {"account_id": ACCOUNT, "region": "us-east-1", "changes": [{
        "action": "modified",
        "before": _rule(group_id=world.group, rule_id=rule_id, peer="10.0.0.0/8"),
        "after": _rule(group_id=world.group, rule_id=rule_id, description="temporary debug access")}]}
    steps, _ = revert.plan(record)
    (outcome,) = revert.apply(world.ec2, ACCOUNT, "us-east-1", steps)
    assert outcome.result == revert.DONE and world.rules()[rule_id]["CidrIpv4"] == "10.0.0.0/8"


def test_a_live_rule_equals_the_shown_one_only_when_everything_matches() -> None:
    shown = Rule("a", "r", "", "sg-1", "", "", "ingress", "sgr-1", "tcp", "22", "22", "ipv4", "0.0.0.0/0", "x")
    assert revert.still_as_shown(shown, shown)
    assert not revert.still_as_shown(shown._replace(peer="10.0.0.0/8"), shown)
    assert not revert.still_as_shown(shown._replace(to_port="23"), shown)
    assert not revert.still_as_shown(shown._replace(description="y"), shown)


def test_an_alert_of_an_account_the_function_does_not_cover_is_not_reverted(world: World) -> None:
    # given an alert of another account (forwarded to the central bus), recorded by the notifier
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    (own_record,) = world.keys("/events/")
    other = "210987654321"
    record = {**world.read(own_record), "account_id": other}
    world.s3.put_object(Bucket=BUCKET, Key=own_record.replace(ACCOUNT, other), Body=json.dumps(record).encode())
    job = interaction.parse_click(interaction.parse_payload(world.click_body(message)) or {})
    assert job is not None
    # when an approver clicks Revert on it
    world.sqs.send_message(QueueUrl=world.queue, MessageBody=json.dumps(
        {**job.job(), "ref": job.ref.value().replace(ACCOUNT, other)}))
    # then nothing is decided or done, and the approver is told why
    assert world.run_jobs(world.queued()) == {"batchItemFailures": []}
    assert rule_id in world.rules() and world.keys("/remediation/") == []
    assert "not one SG Watch may revert in" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


def test_the_acknowledgement_calls_use_the_central_cache_with_one_short_attempt(world: World) -> None:
    from sgwatch import aws

    ack = handler.ack_client("sqs")
    assert ack is handler.ack_client("sqs") is aws.central_client("sqs", config=aws.ACK)
    assert ack is not aws.central_client("sqs")  # the patient client of the queued job is another one
    assert ack.meta.config.retries["total_max_attempts"] == 1
    assert ack.meta.config.connect_timeout + ack.meta.config.read_timeout <= 1.5
