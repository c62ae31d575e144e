"""The AWS/Slack contract of tests/contract.py: each limit fires, and the hook reaches every client.

Tests that call an emulated API over a limit on purpose carry ``aws_contract_breach_expected``:
the breach still reaches the code as AWS's refusal, but does not fail the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests import contract
from tests.paths import TESTS
from tests.unit.fake_slack import FakeSlack

KB256 = 262_144
RUNNER = TESTS / "module" / "lambda_runner.py"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def rules(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    return [b.rule for b in contract.check_call(service, operation, params)]


# --- each limit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("subject", "ok"), [
    ("x" * 99, True),
    ("x" * 100, False),  # "less than 100 characters"
    ("two\nlines", False),
    ("caf\u00e9", False),
    ("bell\x07", False),
    (None, True),
])
def test_sns_subject(subject: str | None, ok: bool) -> None:
    assert (rules("sns", "Publish", {"Message": "m", "Subject": subject}) == []) is ok


def test_sns_message_size_counts_the_attributes() -> None:
    attributes = {"severity": {"DataType": "String", "StringValue": "HIGH"}}
    room = KB256 - len("severity") - len("String") - len("HIGH")
    assert rules("sns", "Publish", {"Message": "x" * room, "MessageAttributes": attributes}) == []
    assert rules("sns", "Publish", {"Message": "x" * (room + 1), "MessageAttributes": attributes})


def test_sns_message_size_is_in_utf8_bytes() -> None:
    assert rules("sns", "Publish", {"Message": "\u00e9" * (KB256 // 2 + 1)})


@pytest.mark.parametrize("data_type", ["String", "String.Array", "Number", "Binary"])
def test_sns_attribute_types_accepted(data_type: str) -> None:
    assert rules("sns", "Publish", {"Message": "m", "MessageAttributes": {"a": {"DataType": data_type}}}) == []


@pytest.mark.parametrize("data_type", ["string", "Number.int", "Boolean", None])
def test_sns_attribute_types_refused(data_type: str | None) -> None:
    assert rules("sns", "Publish", {"Message": "m", "MessageAttributes": {"a": {"DataType": data_type}}})


def test_sqs_message_and_batch_limits() -> None:
    assert rules("sqs", "SendMessage", {"MessageBody": "x" * KB256}) == []
    assert rules("sqs", "SendMessage", {"MessageBody": "x" * (KB256 + 1)})
    ten = [{"Id": str(i), "MessageBody": "x"} for i in range(10)]
    assert rules("sqs", "SendMessageBatch", {"Entries": ten}) == []
    assert rules("sqs", "SendMessageBatch", {"Entries": ten + [{"Id": "10", "MessageBody": "x"}]})
    halves = [{"Id": str(i), "MessageBody": "x" * (KB256 // 2)} for i in range(3)]
    assert "batch at most 262,144 bytes in total" in rules("sqs", "SendMessageBatch", {"Entries": halves})


def test_put_events_limits() -> None:
    entry = {"Source": "sgwatch", "DetailType": "t", "Detail": "{}"}
    assert rules("events", "PutEvents", {"Entries": [entry] * 10}) == []
    assert rules("events", "PutEvents", {"Entries": [entry] * 11})
    big = {**entry, "Detail": "x" * (KB256 - 1 - 14 - len("sgwatch") - len("t")), "Time": 0}
    assert contract.put_events_entry_size(big) == KB256 - 1
    assert rules("events", "PutEvents", {"Entries": [big]}) == []
    assert rules("events", "PutEvents", {"Entries": [{**big, "Detail": big["Detail"] + "x"}]})


def test_s3_user_metadata_at_most_2_kb() -> None:
    assert rules("s3", "PutObject", {"Metadata": {"k": "v" * 2047}}) == []
    assert rules("s3", "PutObject", {"Metadata": {"k": "v" * 2048}})


def test_security_hub_filters() -> None:
    values = [{"Value": f"EC2.{i}", "Comparison": "EQUALS"} for i in range(21)]
    assert rules("securityhub", "GetFindings", {"Filters": {"ComplianceSecurityControlId": values[:20]}}) == []
    assert rules("securityhub", "GetFindings", {"Filters": {"ComplianceSecurityControlId": values}})
    eleven = {f"Attribute{i}": values[:1] for i in range(11)}
    assert rules("securityhub", "GetFindings", {"Filters": eleven})


def test_security_hub_batch_update() -> None:
    ids = [{"Id": str(i), "ProductArn": "p"} for i in range(101)]
    assert rules("securityhub", "BatchUpdateFindings", {"FindingIdentifiers": ids[:100]}) == []
    assert rules("securityhub", "BatchUpdateFindings", {"FindingIdentifiers": ids})
    note = {"Text": "n" * 513, "UpdatedBy": "sgwatch"}
    assert rules("securityhub", "BatchUpdateFindings", {"FindingIdentifiers": ids[:1], "Note": note})


def test_lambda_environment_at_most_4_kb() -> None:
    fits = {"A": "x" * (4096 - len('{"A":""}'))}
    assert contract.lambda_environment_breaches("lambda:f", fits) == []
    assert contract.lambda_environment_breaches("lambda:f", {"A": fits["A"] + "x"})
    assert rules("lambda", "CreateFunction", {"Environment": {"Variables": {"A": fits["A"] + "x"}}})


def test_service_model_maximums_botocore_leaves_unchecked() -> None:
    breaches = contract.check_call("securityhub", "GetFindings", {"MaxResults": 101},
                                   boto3.client("securityhub", "us-east-1").meta.service_model
                                   .operation_model("GetFindings").input_shape)
    assert [b.rule for b in breaches] == ["GetFindings.MaxResults at most 100 (service model)"]


# --- the hook reaches every client ----------------------------------------------------------------


@pytest.mark.aws_contract_breach_expected
def test_a_breach_is_refused_like_aws_and_recorded(aws: None) -> None:
    # Given a topic in the emulator, which accepts any subject
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="t")["TopicArn"]
    # When publishing with a 100-character subject
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=topic, Message="m", Subject="x" * 100)
    # Then the caller sees AWS's refusal, and the test would fail on the recorded breach
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    assert isinstance(refused.value, contract.ContractBreach)
    assert [b.where for b in contract.RECORDER.drain()] == ["sns:Publish"]


@pytest.mark.aws_contract_breach_expected
def test_clients_of_any_session_are_checked(aws: None) -> None:
    # A client made from a fresh boto3 session, as code under test does, is checked too
    sqs = boto3.session.Session(region_name="us-east-1").client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(contract.ContractBreach):
        sqs.send_message(QueueUrl=url, MessageBody="x" * (KB256 + 1))
    assert contract.RECORDER.drain()


def test_calls_within_the_limits_pass_untouched(aws: None) -> None:
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.publish(TopicArn=topic, Message="m", Subject="x" * 99,
                MessageAttributes={"severity": {"DataType": "String", "StringValue": "HIGH"}})
    assert contract.RECORDER.drain() == []


# --- the fake Slack API -----------------------------------------------------------------------------


def _post(slack: FakeSlack, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(slack.url + "chat.postMessage", data=json.dumps(body).encode(), headers={
        "authorization": f"Bearer {slack.token}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_slack_post_within_the_limits_is_accepted() -> None:
    with FakeSlack() as slack:
        answer = _post(slack, {"channel": "C1", "text": "t" * 40_000, "blocks": [_section("s" * 3000)] * 50})
    assert answer["ok"] is True and "response_metadata" not in answer
    assert contract.RECORDER.drain() == []


@pytest.mark.aws_contract_breach_expected
@pytest.mark.parametrize(("body", "error"), [
    ({"text": "t" * 40_001}, None),  # posted truncated, with a warning
    ({"text": "t", "blocks": [_section("s")] * 51}, "invalid_blocks"),
    ({"text": "t", "blocks": [_section("s" * 3001)]}, "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]},
     "invalid_blocks"),
])
def test_slack_post_beyond_the_limits_is_answered_like_slack_and_recorded(body: dict[str, Any],
                                                                          error: str | None) -> None:
    with FakeSlack() as slack:
        answer = _post(slack, {"channel": "C1", **body})
    if error:
        assert answer == {"ok": False, "error": error}
    else:
        assert answer["ok"] is True and answer["response_metadata"]["warnings"] == ["message_truncated"]
    assert [b.where for b in contract.RECORDER.drain()] == ["slack:chat.postMessage"]


# --- inside the Lambda runner's subprocess ------------------------------------------------------


def test_the_lambda_runner_hands_back_the_breaches_of_the_code_it_runs(tmp_path: Any) -> None:
    # Given a zipped handler that publishes with a 100-character subject (to an endpoint that
    # is never reached: the contract refuses the call before anything is sent)
    package = tmp_path / "probe.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("probe.py", (
            "import boto3\n"
            "def handler(event, context):\n"
            "    sns = boto3.client('sns', region_name='us-east-1', endpoint_url='http://127.0.0.1:9')\n"
            "    sns.publish(TopicArn='arn:aws:sns:us-east-1:123456789012:t', Message='m', Subject='x' * 100)\n"
        ))
    result = tmp_path / "result.json"
    # When the runner runs it, as the module tests run the shipped zips
    subprocess.run([sys.executable, str(RUNNER), str(package), "probe.handler", str(result)], input="{}", text=True,
                   capture_output=True, timeout=120, check=True,
                   env={"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"})
    # Then the handler saw AWS's refusal and the result file carries the breach for the harness
    outcome = json.loads(result.read_text())
    assert outcome["error"].startswith("ContractBreach: An error occurred (InvalidParameter)")
    [breach] = [contract.Breach(**b) for b in outcome["contract_breaches"]]
    assert breach.where == "sns:Publish" and breach.rule == "Subject must be shorter than 100 characters"


def _state(rule_bus: str, alarm_dimensions: dict[str, str]) -> dict:
    def resource(kind: str, attributes: dict) -> dict:
        return {"mode": "managed", "type": kind, "instances": [{"attributes": attributes}]}

    return {"resources": [
        resource("aws_cloudwatch_event_rule", {"name": "sgw-sg-changes", "event_bus_name": rule_bus}),
        resource("aws_cloudwatch_metric_alarm", {"namespace": "AWS/Events", "metric_name": "FailedInvocations",
                                                 "dimensions": alarm_dimensions}),
    ]}


@pytest.mark.parametrize(("bus", "dimensions", "breaches"), [
    ("default", {"RuleName": "sgw-sg-changes"}, 0),
    ("sgw-security-groups", {"RuleName": "sgw-sg-changes", "EventBusName": "sgw-security-groups"}, 0),
    # the metric of a custom bus's rule named by RuleName alone is the default bus's: never any data
    ("sgw-security-groups", {"RuleName": "sgw-sg-changes"}, 1),
    ("arn:aws:events:us-east-1:123456789012:event-bus/sgw-security-groups",
     {"RuleName": "sgw-sg-changes", "EventBusName": "sgw-security-groups"}, 0),
    ("default", {"RuleName": "another-rule"}, 1),
])
def test_a_rules_failed_deliveries_alarm_watches_the_metric_of_its_bus(bus, dimensions, breaches) -> None:
    assert len(contract.event_rule_alarm_breaches(_state(bus, dimensions))) == breaches
