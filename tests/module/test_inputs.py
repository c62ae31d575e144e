"""Inputs a user gets wrong are refused at `terraform validate`, with a message that says what to do: the root's own
inputs by the root, the inputs it hands on by the module that uses them (called on its own here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT


def _ids(count: int, start: int = 100000000000) -> str:
    return f'[for i in range({count}) : format("%012d", {start} + i)]'


def validate(tmp_path: Path, arguments: str) -> subprocess.CompletedProcess[str]:
    source = os.path.relpath(ROOT, tmp_path)
    return _validate(tmp_path, f'module "sgwatch" {{\n  source = "{source}"\n{arguments}\n}}\n')


def _validate(tmp_path: Path, configuration: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "main.tf").write_text(configuration)
    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    init = subprocess.run(["terraform", "init", "-backend=false", "-input=false", "-no-color"], **run)
    assert init.returncode == 0, init.stdout + init.stderr
    return subprocess.run(["terraform", "validate", "-no-color"], **run)


# The inputs the root module checks itself (those it hands on to a capability module are checked there, at plan,
# and only when the capability is on: test_the_submodules_refuse_the_inputs_the_root_hands_on).
@pytest.mark.parametrize(
    "arguments, message",
    [
        ('name_prefix = "SgWatch"', "name_prefix must be 2-24 characters of lower-case letters"),
        ('event_bus_source_accounts = ["12345"]', "event_bus_source_accounts must be 12-digit AWS account ids"),
        ('organization_id = "org-1"', "organization_id must look like o-abcdefghij"),
        ('evidence_prefix = "security-groups"', "evidence_prefix must be empty or end with '/'"),
    ],
)
def test_a_bad_input_is_refused_with_its_reason(tmp_path, arguments, message) -> None:
    result = validate(tmp_path, arguments)
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split())


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(
            f"accounts = {_ids(200)}\nexcluded_accounts = {_ids(50, 300000000000)}\n"
            "fan_out = true\nfan_out_max_concurrency = 1000",
            id="the largest estate settings",
        ),
        pytest.param(
            'slack = { api_url = "https://proxy.internal:8443/api/" }\nunused_sg_grace_days = 90\n'
            'evidence_object_lock_days = 1\nreachability_schedule_expression = "at(2030-01-01T00:00:00)"',
            id="the boundaries of the validated inputs",
        ),
        pytest.param(
            'slack_channel_id = "C0123456789"\ncreate_slack_token_secret = true\n'
            'slack_api_url = "https://proxy.internal:8443/api/"\nreport_timezone = "Europe/Paris"',
            id="the deprecated slack inputs",
        ),
    ],
)
def test_accepted_inputs_validate(tmp_path, arguments) -> None:
    result = validate(tmp_path, arguments)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_submodules_refuse_the_inputs_the_root_hands_on(tmp_path) -> None:
    # given each submodule that validates an input the root hands on unchecked, called directly (as a landing
    # zone may) with a bad value; the capability modules hand slack, schedules and accounts to lambda-function
    modules = os.path.relpath(ROOT / "modules", tmp_path)
    settings = (
        'lambda_settings = { runtime = "python3.12", architecture = "arm64", log_retention_days = 30, '
        'kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k" }'
    )
    topic = 'alert_topic_arn = "arn:aws:sns:us-east-1:111122223333:t"'
    evidence = 'evidence = { bucket_name = "e", bucket_arn = "arn:aws:s3:::e", prefix = "" }'
    function = (
        'name_prefix = "f"\ncapability = "review-pack"\nfunction_key = "review_pack"\ndescription = "d"\n'
        f'{settings.replace("lambda_settings", "settings")}\npolicy_json = "{{}}"\n'
        'slack = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:s", '
        'channel_id = "C0123456789", api_url = "http://slack.example/api/" }\n'
        'schedule = { expression = "every day" }\n'
        'accounts = { ids = ["12345"] }\n'
        'authorized_public_ports = [70000]'
    )
    calls = {
        "lambda-function": function,
        "unused-sg-audit": f'name_prefix = "c"\n{settings}\n{topic}\n{evidence}\ngrace_days = 120',
        "evidence-bucket": (
            'bucket_name = "e"\nkms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k"\nobject_lock_days = 0'
        ),
        "sg-change-alerts": (
            f'name_prefix = "r"\n{settings}\n{topic}\n{evidence}\nremediation = {{ approvers = ["alice"] }}'
        ),
    }
    configuration = "".join(
        f'module "{name.replace("-", "_")}" {{\n  source = "{modules}/{name}"\n{body}\n}}\n'
        for name, body in calls.items()
    )
    # when the configuration is validated
    result = _validate(tmp_path, configuration)
    # then each is refused with its reason
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    for message in (
        "slack.api_url must be an https:// URL",
        "grace_days must be a whole number of days from 0 to 90",
        "object_lock_days must be a whole number of days, at least 1",
        "schedule.expression must be rate(N minutes|hours|days), cron(...) or at(...)",
        "accounts.ids and accounts.excluded must be 12-digit AWS account ids",
        "authorized_public_ports must hold whole port numbers from 0 to 65535",
        "remediation.approvers must be Slack user ids",
    ):
        assert message in output, output
