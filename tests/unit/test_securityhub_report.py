"""The securityhub_report handler against a fake Slack, a fake GetFindings and moto.

Slack: ``fake_slack.FakeSlack``, a real HTTP server on loopback reached through
``SLACK_API_URL``, so slack_sdk's real ``files_upload_v2`` (three requests), retry
handlers and error handling run. Security Hub: moto's ``GetFindings`` ignores ``Filters``
and its own paging choices prove nothing about ours, so the query is tested against
``fake_securityhub.FakeSecurityHub`` (loopback, applies filters and pages, selected with
``AWS_ENDPOINT_URL_SECURITYHUB``); one end-to-end test imports findings into moto's
Security Hub with ``BatchImportFindings``. Secrets Manager and SNS are moto in process.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from securityhub_report import handler
from tests.paths import real_payloads
from tests.unit.fake_securityhub import FakeSecurityHub, asff
from tests.unit.fake_slack import FakeSlack

TOKEN = "xoxb-test-token"
CHANNEL = "C0REPORTS"
ACCOUNT = "123456789012"
SG = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
SG2 = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0fedcba9876543210"
BUCKET = "arn:aws:s3:::team-bucket"
AFSBP = "aws-foundational-security-best-practices/v/1.0.0"
PCI = "pci-dss/v/3.2.1"


def _finding_id(standard: str, control: str, resource: str) -> str:
    return f"arn:aws:securityhub:us-east-1:{ACCOUNT}:subscription/{standard}/{control}/finding/{resource[-12:]}"


class Aws:
    """moto in process: the token secret and the alert topic, with a queue subscribed to it."""

    def __init__(self) -> None:
        self.secrets = boto3.client("secretsmanager", region_name="us-east-1")
        self.secret_arn = self.secrets.create_secret(Name="sgwatch/slack", SecretString=TOKEN)["ARN"]
        sns = boto3.client("sns", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.topic_arn = sns.create_topic(Name="sgwatch-alerts")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def alerts(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        yield Aws()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, users_by_email={"alice@example.com": "U0ALICE"}) as fake:
        yield fake


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, aws: Aws, slack: FakeSlack) -> dict[str, str]:
    values = {
        "SLACK_TOKEN_SECRET_ARN": aws.secret_arn,
        "SLACK_CHANNEL_ID": CHANNEL,
        "CONTROL_IDS": "EC2.2,EC2.18,EC2.19,S3.1",
        "SEVERITIES": "",
        "OWNER_TAG_KEY": "Owner",
        "OWNER_SLACK_IDS": json.dumps({"team-a": "U0TEAMA"}),
        "REPORT_WHEN_EMPTY": "true",
        "ALERT_TOPIC_ARN": aws.topic_arn,
        "SLACK_API_URL": slack.url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _securityhub(monkeypatch: pytest.MonkeyPatch, fake: FakeSecurityHub) -> FakeSecurityHub:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECURITYHUB", fake.url)
    return fake


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Iterator[FakeSecurityHub]:
    """A fake Security Hub holding the findings of the main scenario."""
    given = [
        asff("EC2.2", SG, severity="MEDIUM", tags={"Owner": "team-a"}),
        asff("PCI.EC2.2", SG, standard=PCI, severity="MEDIUM"),  # the same control, another standard
        asff("EC2.2", SG2, severity="MEDIUM", tags={"Owner": "nobody@example.com"}),
        asff("EC2.18", SG2, severity="HIGH", tags={"Owner": "team-a"}),
        asff("S3.1", BUCKET, severity="HIGH", resource_type="AwsS3Bucket", title="=cmd|' /C calc'!A0",
             tags={"Owner": "alice@example.com"}),
        asff("EC2.19", SG2, workflow="SUPPRESSED"),
        asff("EC2.19", SG, workflow="RESOLVED"),
        asff("EC2.19", BUCKET, record_state="ARCHIVED"),
        asff("EC2.19", SG, compliance="PASSED", suffix="-passed"),
        asff("IAM.1", "arn:aws:iam::123456789012:policy/admin", resource_type="AwsIamPolicy"),  # not asked for
    ]
    with FakeSecurityHub(given) as fake:
        yield _securityhub(monkeypatch, fake)


EXPECTED_CSV = (
    "ResourceId,Title,ControlId,Severity,AccountId,Region,ResourceType,FindingId,FirstObservedAt,Owner,"
    "LastObservedAt,WorkflowStatus,Standards\n"
    f"{SG2},EC2.18 test control,EC2.18,HIGH,{ACCOUNT},us-east-1,AwsEc2SecurityGroup,"
    f"{_finding_id(AFSBP, 'EC2.18', SG2)},2026-11-01T09:00:00.000Z,team-a,2026-11-20T09:00:00.000Z,NEW,{AFSBP}\n"
    f"{BUCKET},'=cmd|' /C calc'!A0,S3.1,HIGH,{ACCOUNT},us-east-1,AwsS3Bucket,"
    f"{_finding_id(AFSBP, 'S3.1', BUCKET)},2026-11-01T09:00:00.000Z,alice@example.com,2026-11-20T09:00:00.000Z,NEW,"
    f"{AFSBP}\n"
    f"{SG},EC2.2 test control,EC2.2,MEDIUM,{ACCOUNT},us-east-1,AwsEc2SecurityGroup,"
    f"{_finding_id(AFSBP, 'EC2.2', SG)},2026-11-01T09:00:00.000Z,team-a,2026-11-20T09:00:00.000Z,NEW,{AFSBP};{PCI}\n"
    f"{SG2},EC2.2 test control,EC2.2,MEDIUM,{ACCOUNT},us-east-1,AwsEc2SecurityGroup,"
    f"{_finding_id(AFSBP, 'EC2.2', SG2)},2026-11-01T09:00:00.000Z,nobody@example.com,2026-11-20T09:00:00.000Z,NEW,"
    f"{AFSBP}\n"
)

EXPECTED_COMMENT = (
    "Security Hub report: 4 failed control finding(s) open in 1 account(s), 1 region(s) "
    "(controls checked: EC2.18, EC2.19, EC2.2, S3.1).\n"
    "By severity: HIGH: 2, MEDIUM: 2\n"
    "By control: EC2.2: 2, EC2.18: 1, S3.1: 1\n"
    "No open failed findings for EC2.19.\n"
    "Owners: <@U0ALICE> <@U0TEAMA>\n"
    "Owners without a Slack user: nobody@example.com"
)


# --------------------------------------------------------------------------- the report


def test_report_uploads_the_csv_with_totals_and_owner_mentions(hub: FakeSecurityHub, slack: FakeSlack) -> None:
    # given open failed findings (one control reported by two standards) and closed ones
    # when the scheduled report runs
    result = handler.lambda_handler({}, None)
    # then the uploaded bytes are exactly the expected CSV
    (upload,) = slack.calls("upload")
    assert upload.body.decode("utf-8") == EXPECTED_CSV
    # and the file is shared to the channel with the totals and each owner mentioned once
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == CHANNEL
    assert complete.params["initial_comment"] == EXPECTED_COMMENT
    assert complete.headers["authorization"] == f"Bearer {TOKEN}"
    (file_entry,) = json.loads(complete.params["files"])
    assert file_entry["title"].startswith("Security Hub findings ")
    assert result == {
        "findings": 4,
        "by_control": {"EC2.2": 2, "EC2.18": 1, "S3.1": 1},
        "by_severity": {"HIGH": 2, "MEDIUM": 2},
        "posted": True,
        "slack_file_id": file_entry["id"],
    }


def test_email_owners_are_looked_up_once_each(hub: FakeSecurityHub, slack: FakeSlack) -> None:
    handler.lambda_handler({}, None)
    assert sorted(r.params["email"] for r in slack.calls("users.lookupByEmail")) == [
        "alice@example.com", "nobody@example.com"]


def test_query_asks_security_hub_for_failed_open_active_findings_of_the_controls(hub: FakeSecurityHub) -> None:
    handler.lambda_handler({}, None)
    (request,) = hub.requests
    assert request["MaxResults"] == 100
    assert request["Filters"] == {
        "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
        "WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}, {"Value": "NOTIFIED", "Comparison": "EQUALS"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        "ComplianceSecurityControlId": [
            {"Value": c, "Comparison": "EQUALS"} for c in ("EC2.18", "EC2.19", "EC2.2", "S3.1")
        ],
    }


def test_query_pages_to_the_end(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], slack: FakeSlack) -> None:
    # given 250 open failed findings among 320, more than two pages
    monkeypatch.setenv("CONTROL_IDS", "")
    given = [asff("EC2.19", f"{SG[:-4]}{n:04d}") for n in range(250)]
    given += [asff("EC2.19", f"{SG2[:-4]}{n:04d}", workflow="RESOLVED") for n in range(70)]
    with FakeSecurityHub(given) as fake:
        _securityhub(monkeypatch, fake)
        # when the report runs
        result = handler.lambda_handler({}, None)
    # then it read every page (100 + 100 + 50) and reported every open finding
    assert [r.get("NextToken") for r in fake.requests] == [None, "100", "200"]
    assert result["findings"] == 250
    assert slack.calls("upload")[0].body.count(b"\n") == 251


def test_more_than_20_controls_are_queried_in_several_sets(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                           slack: FakeSlack) -> None:
    # given 30 requested controls, each failing once (the API takes 20 values per attribute)
    controls = [f"Config.{n}" for n in range(30)]
    monkeypatch.setenv("CONTROL_IDS", ",".join(controls))
    with FakeSecurityHub([asff(c, SG) for c in controls]) as fake:
        _securityhub(monkeypatch, fake)
        result = handler.lambda_handler({}, None)
    # then two filter sets cover them all and each finding is reported
    assert len(fake.requests) == 2
    assert sorted(result["by_control"]) == sorted(controls)


def test_severity_filter_is_sent_and_applied(monkeypatch: pytest.MonkeyPatch, hub: FakeSecurityHub) -> None:
    monkeypatch.setenv("SEVERITIES", "high")
    result = handler.lambda_handler({}, None)
    assert hub.requests[0]["Filters"]["SeverityLabel"] == [{"Value": "HIGH", "Comparison": "EQUALS"}]
    assert result["by_severity"] == {"HIGH": 2}


def test_no_cell_of_the_uploaded_or_mailed_csv_can_start_a_formula(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                                  slack: FakeSlack, aws: Aws) -> None:
    # given a finding from a member account or a third-party integration whose fields are crafted formulas
    crafted = asff("EC2.2", "=HYPERLINK(\"http://evil\",\"x\")", region="@SUM(1)", resource_type="-2+3",
                   title="+cmd|' /C calc'!A0", tags={"Owner": "=owner"})
    crafted["Id"] = "=1+1"
    crafted["Compliance"]["AssociatedStandards"] = [{"StandardsId": "standards/@std"}]
    slack.fail("files.completeUploadExternal", status=200, error="channel_not_found")
    with FakeSecurityHub([crafted]) as fake:
        _securityhub(monkeypatch, fake)
        # when the report is uploaded (and, Slack refusing it, mailed through the alert topic)
        with pytest.raises(handler.ReportDeliveryFailed):
            handler.lambda_handler({}, None)
    uploaded = slack.calls("upload")[0].body.decode("utf-8")
    (mail,) = aws.alerts()
    mailed = mail["Message"].split("Findings (CSV):\n", 1)[1]
    # then every cell of both documents is inert in a spreadsheet
    for document in (uploaded, mailed):
        (header, record) = list(csv.reader(io.StringIO(document, newline="")))
        cells = dict(zip(header, record, strict=False))
        assert cells["ResourceId"] == "'=HYPERLINK(\"http://evil\",\"x\")"
        assert (cells["FindingId"], cells["Region"], cells["ResourceType"]) == ("'=1+1", "'@SUM(1)", "'-2+3")
        assert (cells["Title"], cells["Owner"], cells["Standards"]) == ("'+cmd|' /C calc'!A0", "'=owner", "'@std")


# --------------------------------------------------------------------------- control ids in both forms


def _recorded(name: str) -> dict[str, Any]:
    return json.loads((real_payloads("securityhub") / name).read_text())


def test_standard_specific_control_ids_find_their_findings_instead_of_an_all_clear(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], slack: FakeSlack) -> None:
    # given recorded PCI DSS and CIS 1.2 findings, which carry their control only in GeneratorId,
    # and the controls configured in that form (as a GeneratorId-based setup would have them)
    monkeypatch.setenv("CONTROL_IDS", "PCI.EC2.5,4.1")
    given = [_recorded("asff_PCI.EC2.5_sg_port22_pci_asr.json"), _recorded("asff_CIS1.2-4.1_sg_port22_asr.json")]
    with FakeSecurityHub(given) as fake:
        _securityhub(monkeypatch, fake)
        # when the report runs
        result = handler.lambda_handler({}, None)
    # then both findings are reported, not an all-clear
    assert result["findings"] == 2 and result["posted"] is True
    assert not slack.calls("chat.postMessage")
    uploaded = slack.calls("upload")[0].body.decode("utf-8")
    assert "pci-dss/v/3.2.1/PCI.EC2.5/finding/" in uploaded and "cis-aws-foundations-benchmark/v/1.2.0/4.1/" in uploaded


def test_both_forms_are_queried_and_a_finding_found_twice_counts_once(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], slack: FakeSlack) -> None:
    # given one PCI finding that carries both forms, asked for in both forms
    monkeypatch.setenv("CONTROL_IDS", "EC2.2,PCI.EC2.2")
    with FakeSecurityHub([asff("PCI.EC2.2", SG, standard=PCI)]) as fake:
        _securityhub(monkeypatch, fake)
        result = handler.lambda_handler({}, None)
    # then the security control id is asked for by Compliance.SecurityControlId, the other form through
    # GeneratorId, and the finding (returned by both queries) is reported once
    by_attribute = {next(k for k in r["Filters"] if k in ("ComplianceSecurityControlId", "GeneratorId")): r["Filters"]
                    for r in fake.requests}
    assert by_attribute["ComplianceSecurityControlId"]["ComplianceSecurityControlId"] == [
        {"Value": "EC2.2", "Comparison": "EQUALS"}]
    assert "GeneratorId" in by_attribute and len(fake.requests) == 2
    assert result["findings"] == 1
    (complete,) = slack.calls("files.completeUploadExternal")
    assert "no open failed findings" not in complete.params["initial_comment"].lower()


def test_a_configured_control_that_matched_nothing_is_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                           slack: FakeSlack) -> None:
    # given EC2.2 failing, and PCI.S3.1 (no open finding) and a mistyped id configured too
    monkeypatch.setenv("CONTROL_IDS", "EC2.2,PCI.S3.1,EC2.99")
    with FakeSecurityHub([asff("EC2.2", SG)]) as fake:
        _securityhub(monkeypatch, fake)
        handler.lambda_handler({}, None)
    # then the report says which configured ids found nothing
    (complete,) = slack.calls("files.completeUploadExternal")
    assert "No open failed findings for EC2.99, PCI.S3.1." in complete.params["initial_comment"].splitlines()


def test_an_all_clear_names_the_configured_controls_that_matched_nothing(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], slack: FakeSlack) -> None:
    monkeypatch.setenv("CONTROL_IDS", "PCI.EC2.5")
    with FakeSecurityHub([asff("PCI.EC2.5", SG, standard=PCI, workflow="RESOLVED")]) as fake:
        _securityhub(monkeypatch, fake)
        handler.lambda_handler({}, None)
    (message,) = slack.calls("chat.postMessage")
    assert "no open failed findings for PCI.EC2.5" in message.params["text"]


# --------------------------------------------------------------------------- nothing found


def test_nothing_failed_posts_a_short_all_clear(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                slack: FakeSlack) -> None:
    with FakeSecurityHub([asff("EC2.2", SG, workflow="RESOLVED")]) as fake:
        _securityhub(monkeypatch, fake)
        result = handler.lambda_handler({}, None)
    (message,) = slack.calls("chat.postMessage")
    assert message.params["channel"] == CHANNEL
    assert message.params["text"] == (
        "Security Hub report: no open failed findings for EC2.18, EC2.19, EC2.2, S3.1.")
    assert not slack.calls("upload")
    assert result == {"findings": 0, "by_control": {}, "by_severity": {}, "posted": True, "slack_file_id": None}


def test_nothing_failed_and_no_all_clear_wanted_stays_silent(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                             slack: FakeSlack) -> None:
    monkeypatch.setenv("REPORT_WHEN_EMPTY", "false")
    with FakeSecurityHub([]) as fake:
        _securityhub(monkeypatch, fake)
        result = handler.lambda_handler({}, None)
    assert slack.requests == []
    assert result["posted"] is False and result["findings"] == 0


# --------------------------------------------------------------------------- Slack faults


@pytest.mark.parametrize(
    ("method", "status", "headers"),
    [
        ("files.getUploadURLExternal", 429, {"Retry-After": "0"}),
        ("files.completeUploadExternal", 429, {"Retry-After": "0"}),
        ("files.completeUploadExternal", 503, {}),
    ],
)
def test_rate_limit_or_server_error_then_success_is_retried(hub: FakeSecurityHub, slack: FakeSlack, aws: Aws,
                                                            method: str, status: int,
                                                            headers: dict[str, str]) -> None:
    # given Slack answers the first call with 429 (or 503), then normally
    slack.fail(method, status=status, error="ratelimited", times=1, headers=headers)
    # when the report runs
    result = handler.lambda_handler({}, None)
    # then the call was retried and the report posted, no alert sent
    assert len(slack.calls(method)) == 2
    assert result["posted"] is True and result["slack_file_id"]
    assert slack.calls("upload")[0].body.decode() == EXPECTED_CSV
    assert aws.alerts() == []


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


@pytest.mark.parametrize(
    "fault",
    ["invalid_auth", "not_in_channel", "server_error", "unreachable"],
)
def test_slack_refusing_or_unreachable_falls_back_to_the_alert_topic_and_raises(
    monkeypatch: pytest.MonkeyPatch, hub: FakeSecurityHub, slack: FakeSlack, aws: Aws, fault: str
) -> None:
    # given Slack refuses the token, is not in the channel, keeps failing, or cannot be reached
    if fault == "invalid_auth":
        aws.secrets.put_secret_value(SecretId=aws.secret_arn, SecretString="xoxb-revoked")
    elif fault == "not_in_channel":
        slack.fail("files.completeUploadExternal", error="not_in_channel")
    elif fault == "server_error":
        slack.fail("files.getUploadURLExternal", status=500, error="internal_error")
    else:
        monkeypatch.setenv("SLACK_API_URL", _closed_port_url())
    # when the report runs / then it raises, so the error alarm fires
    with pytest.raises(handler.ReportDeliveryFailed) as raised:
        handler.lambda_handler({}, None)
    assert CHANNEL in str(raised.value)
    # and the summary with the findings went to the alert topic
    (alert,) = aws.alerts()
    assert alert["Subject"].startswith("SG Watch: Security Hub report not delivered to Slack")
    assert "4 failed control finding(s) open" in alert["Message"]
    assert "By control: EC2.2: 2, EC2.18: 1, S3.1: 1" in alert["Message"]
    assert EXPECTED_CSV in alert["Message"]
    if fault != "unreachable":
        assert fault in str(raised.value) or (fault == "server_error" and "500" in str(raised.value))


def test_server_errors_are_retried_before_giving_up(hub: FakeSecurityHub, slack: FakeSlack, aws: Aws) -> None:
    slack.fail("files.getUploadURLExternal", status=500, error="internal_error")
    with pytest.raises(handler.ReportDeliveryFailed):
        handler.lambda_handler({}, None)
    assert len(slack.calls("files.getUploadURLExternal")) == 3  # the call and two retries


@pytest.mark.parametrize("value", [None, "   ", '{"user": "bot"}'])
def test_missing_or_empty_token_is_a_clear_error_naming_the_secret(
    hub: FakeSecurityHub, slack: FakeSlack, aws: Aws, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    # given a secret created without a value (as the module creates it), or with an empty one
    if value is None:
        arn = aws.secrets.create_secret(Name="sgwatch/slack-unset")["ARN"]
    else:
        arn = aws.secrets.create_secret(Name="sgwatch/slack-empty", SecretString=value)["ARN"]
    monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", arn)
    # when the report runs / then the error names the secret, and nothing reached Slack
    with pytest.raises(handler.ReportDeliveryFailed, match="sgwatch/slack-") as raised:
        handler.lambda_handler({}, None)
    assert arn in str(raised.value)
    assert "NoneType" not in str(raised.value)
    assert slack.requests == []
    (alert,) = aws.alerts()
    assert arn in alert["Message"]


# --------------------------------------------------------------------------- Security Hub faults


def test_security_hub_not_enabled_is_reported_clearly(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                      slack: FakeSlack, aws: Aws) -> None:
    with FakeSecurityHub(not_enabled=True) as fake:
        _securityhub(monkeypatch, fake)
        result = handler.lambda_handler({}, None)
    assert result["posted"] is False and result["findings"] == 0
    assert "Security Hub is not enabled" in result["error"] and "us-east-1" in result["error"]
    assert slack.requests == []
    (alert,) = aws.alerts()
    assert alert["Subject"] == "SG Watch: Security Hub is not enabled"


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLACK_CHANNEL_ID", "", "SLACK_CHANNEL_ID"),
        ("SLACK_TOKEN_SECRET_ARN", "", "SLACK_TOKEN_SECRET_ARN"),
        ("OWNER_SLACK_IDS", "team-a=U1", "OWNER_SLACK_IDS"),
        ("SEVERITIES", "HIGH,SEVERE", "SEVERE"),
    ],
)
def test_bad_configuration_is_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, value: str,
                                    message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        handler.lambda_handler({}, None)


# --------------------------------------------------------------------------- moto end to end


def test_findings_imported_into_moto_are_reported(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                  slack: FakeSlack) -> None:
    """moto returns every imported finding whatever the Filters: the report must still drop closed ones."""
    # given Security Hub holding 120 open EC2.19 findings (two pages), duplicates across standards,
    # another control and suppressed / resolved / archived / passed findings
    monkeypatch.setenv("CONTROL_IDS", "EC2.2,EC2.19")
    hub = boto3.client("securityhub", region_name="us-east-1")
    hub.enable_security_hub(EnableDefaultStandards=False)
    open_ones = [asff("EC2.19", f"{SG[:-4]}{n:04d}", tags={"Owner": "team-a"}) for n in range(120)]
    given = open_ones + [
        asff("EC2.2", SG2, severity="MEDIUM"),
        asff("PCI.EC2.2", SG2, standard=PCI, severity="MEDIUM"),
        asff("EC2.2", SG2, consolidated=True, severity="MEDIUM"),
        asff("S3.1", BUCKET),
        asff("EC2.2", SG, workflow="SUPPRESSED"),
        asff("EC2.2", BUCKET, workflow="RESOLVED"),
        asff("EC2.19", SG2, record_state="ARCHIVED"),
        asff("EC2.19", BUCKET, compliance="PASSED"),
    ]
    for start in range(0, len(given), 100):
        assert hub.batch_import_findings(Findings=given[start : start + 100])["FailedCount"] == 0
    # when the report runs
    result = handler.lambda_handler({}, None)
    # then exactly the open findings of the requested controls are reported, duplicates once
    assert result["findings"] == 121
    assert result["by_control"] == {"EC2.2": 1, "EC2.19": 120}
    csv_lines = slack.calls("upload")[0].body.decode().splitlines()
    assert len(csv_lines) == 122
    (ec2_2,) = [line for line in csv_lines if ",EC2.2," in line]
    assert ":security-control/EC2.2/" in ec2_2 and ec2_2.startswith(SG2)
    comment = slack.calls("files.completeUploadExternal")[0].params["initial_comment"]
    assert comment.count("<@U0TEAMA>") == 1
