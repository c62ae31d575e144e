"""modules/securityhub-report applied to the emulator; the shipped zip run with the deployed settings.

Slack is ``tests/unit/fake_slack.FakeSlack`` on loopback (the handler, in its own process,
reaches it through ``SLACK_API_URL`` passed as an environment override). Findings are
imported into the emulator's Security Hub with ``BatchImportFindings``; the emulator
ignores ``Filters``, so this proves the wiring and the client-side guard, while the query
itself is proven in tests/unit/test_securityhub_report.py against a fake that filters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pytest_terraform import terraform

from tests.module.harness import (
    LambdaRun,
    assert_least_privilege,
    client,
    deployed_fixture,
    module_outputs,
    role_policies,
    run_lambda,
    scheduled_function,
)
from tests.unit.fake_securityhub import asff
from tests.unit.fake_slack import FakeSlack

TOKEN = "xoxb-module-test"
CHANNEL = "C0REPORTS"
SG = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60001"
SG2 = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60002"
BUCKET = "arn:aws:s3:::team-data"

terraform("securityhub_report", scope="session")
deployed = deployed_fixture("securityhub_report", module_outputs)


@pytest.fixture(scope="module")
def before_token(deployed: dict[str, Any]) -> dict[str, Any]:
    """The secret as Terraform leaves it, and a run before the operator sets the token."""
    secrets = client("secretsmanager")
    arn = deployed["slack_token_secret_arn"]
    described = secrets.describe_secret(SecretId=arn)
    try:
        secrets.get_secret_value(SecretId=arn)
        value_error = None
    except ClientError as exc:
        value_error = exc.response["Error"]["Code"]
    with FakeSlack(token=TOKEN) as slack:
        run = run_lambda(deployed["function_name"], {}, env_overrides={"SLACK_API_URL": slack.url})
        requests = list(slack.requests)
    return {"described": described, "value_error": value_error, "run": run, "slack_requests": requests}


@pytest.fixture(scope="module")
def report(deployed: dict[str, Any], before_token: dict[str, Any]) -> tuple[LambdaRun, FakeSlack]:
    """The operator sets the token; Security Hub holds findings; the scheduled run happens."""
    client("secretsmanager").put_secret_value(SecretId=deployed["slack_token_secret_arn"], SecretString=TOKEN)
    hub = client("securityhub")
    try:
        hub.enable_security_hub(EnableDefaultStandards=False)
    except ClientError:
        pass
    given = [asff("EC2.19", f"{SG[:-8]}9{n:07d}", tags={"Owner": "team-a"}) for n in range(105)]
    given += [
        asff("EC2.2", SG2, severity="MEDIUM"),
        asff("PCI.EC2.2", SG2, standard="pci-dss/v/3.2.1", severity="MEDIUM"),  # same control, another standard
        asff("S3.1", BUCKET, resource_type="AwsS3Bucket", tags={"Owner": "<!channel>"}),
        asff("IAM.1", "arn:aws:iam::123456789012:policy/admin"),  # not a requested control
        asff("EC2.2", SG, workflow="SUPPRESSED"),
        asff("EC2.2", BUCKET, workflow="RESOLVED"),
        asff("EC2.19", SG2, record_state="ARCHIVED"),
    ]
    for start in range(0, len(given), 100):
        assert hub.batch_import_findings(Findings=given[start : start + 100])["FailedCount"] == 0
    slack = FakeSlack(token=TOKEN)
    with slack:
        run = run_lambda(deployed["function_name"], {}, env_overrides={"SLACK_API_URL": slack.url})
    return run, slack


def test_deployed_function_has_the_contract_environment_and_a_weekly_schedule(deployed: dict[str, Any]) -> None:
    config, schedule = scheduled_function(deployed["function_name"], "securityhub_report.handler.lambda_handler")
    assert config["Environment"]["Variables"] == {
        "SLACK_TOKEN_SECRET_ARN": deployed["slack_token_secret_arn"],
        "SLACK_CHANNEL_ID": CHANNEL,
        "CONTROL_IDS": "EC2.2,EC2.19,S3.1",
        "SEVERITIES": "",
        "OWNER_TAG_KEY": "Owner",
        "OWNER_SLACK_IDS": json.dumps({"team-a": "U0TEAMA"}, separators=(",", ":")),
        "REPORT_WHEN_EMPTY": "true",
        "ALERT_TOPIC_ARN": deployed["alert_topic_arn"],
    }
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"


def test_token_secret_is_created_empty_and_encrypted_with_the_module_key(
    deployed: dict[str, Any], before_token: dict[str, Any]
) -> None:
    assert before_token["described"]["KmsKeyId"] == deployed["kms_key_arn"]
    assert before_token["value_error"] == "ResourceNotFoundException"  # Terraform never holds the token


def test_a_run_before_the_token_is_set_fails_naming_the_secret(
    deployed: dict[str, Any], before_token: dict[str, Any]
) -> None:
    run = before_token["run"]
    assert run.error and deployed["slack_token_secret_arn"] in run.error
    assert "NoneType" not in run.error
    assert before_token["slack_requests"] == []
    published = [c for c in run.calls if c["operation"] == "Publish"]
    assert [c["params"]["TopicArn"] for c in published] == [deployed["alert_topic_arn"]]


def test_report_runs_from_the_shipped_zip_and_posts_the_csv(report: tuple[LambdaRun, FakeSlack]) -> None:
    run, slack = report
    assert run.error is None, run.logs
    assert run.result["findings"] == 107
    assert run.result["by_control"] == {"EC2.2": 1, "EC2.19": 105, "S3.1": 1}
    assert run.result["posted"] is True
    (upload,) = slack.calls("upload")
    lines = upload.body.decode().splitlines()
    assert lines[0].startswith("ResourceId,Title,ControlId,Severity,AccountId,Region,ResourceType,FindingId,"
                               "FirstObservedAt,Owner")
    assert len(lines) == 1 + 107
    (complete,) = slack.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == CHANNEL
    comment = complete.params["initial_comment"]
    assert "By control: EC2.2: 1, EC2.19: 105, S3.1: 1" in comment
    assert comment.count("<@U0TEAMA>") == 1
    assert "<!channel>" not in comment and "&lt;!channel&gt;" in comment
    pages = [c for c in run.calls if c["operation"] == "GetFindings"]
    assert len(pages) == 2 and all(c["params"]["MaxResults"] == 100 for c in pages)


def test_report_run_stays_within_the_deployed_role(deployed: dict[str, Any],
                                                   report: tuple[LambdaRun, FakeSlack]) -> None:
    run, _ = report
    assert_least_privilege(deployed["function_name"], run)


def test_role_reads_only_its_hub_its_secret_and_its_key(deployed: dict[str, Any]) -> None:
    statements = [s for p in role_policies(deployed["role_name"]) for s in p["Statement"]]
    resources = [r for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert "*" not in resources
    (findings,) = [s for s in statements if "securityhub:" in json.dumps(s["Action"])]
    assert findings["Action"] == "securityhub:GetFindings"
    assert findings["Resource"] == "arn:aws:securityhub:us-east-1:123456789012:hub/default"
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in reads] == [deployed["slack_token_secret_arn"]]
    decrypts = {json.dumps(s["Resource"]) for s in statements if "kms:Decrypt" in json.dumps(s["Action"])}
    assert decrypts == {json.dumps(deployed["kms_key_arn"])}
