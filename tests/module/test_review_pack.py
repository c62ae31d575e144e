"""modules/review-pack applied to the emulator next to the whole module, with Object Lock on the bucket.

The inventory's shipped zip writes real snapshots and diffs, a change event is recorded as
the change notifier writes it, then the shipped review_pack zip runs with its deployed
environment; the sign-off CLI runs as ``make review-signoff`` runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pytest_terraform import terraform

from tests.module.harness import (
    allows,
    assert_least_privilege,
    client,
    deployed_configuration,
    role_policies,
    run_lambda,
)
from tests.paths import FUNCTIONS

terraform("review_pack", scope="session")

PREFIX = "security-groups/"


@pytest.fixture(scope="module")
def deployed(review_pack):
    return {k: v["value"] for k, v in review_pack.outputs.items()}


def empty_locked_bucket(bucket: str) -> None:
    """Remove every version (GOVERNANCE mode allows the bypass) so that destroy can proceed.

    The emulator refuses to drop the lock configuration of a non-empty bucket (AWS does not),
    and pytest-terraform destroys in the teardown hook of the last test, before fixture
    finalizers run: so the last test that writes to the bucket calls this itself.
    """
    s3 = client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"],
                             BypassGovernanceRetention=True)


@pytest.fixture(scope="module")
def history(deployed):
    """Two inventory runs around a world-open SSH rule, and the change event that explains it."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="rvp-web", Description="web", VpcId=vpc)["GroupId"]
    first = run_lambda(deployed["inventory_function_name"], {})
    assert first.error is None, first.logs
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    now = datetime.now(UTC)
    account, region = "123456789012", "us-east-1"
    event = {
        "schema": 1, "event_id": "rvp-ev-1", "event_name": "AuthorizeSecurityGroupIngress",
        "event_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "account_id": account, "region": region,
        "group_ids": [web], "group_name": "rvp-web",
        "actor": {"type": "AssumedRole", "display": "alice (AWSReservedSSO_Admin)"},
        "changes": [{"action": "added", "before": None,
                     "after": {"direction": "ingress", "rule_id": "", "protocol": "tcp", "from_port": 22,
                               "to_port": 22, "peer_type": "ipv4", "peer": "0.0.0.0/0", "description": ""}}],
    }
    client("s3").put_object(
        Bucket=deployed["evidence_bucket_name"],
        Key=f"{PREFIX}{account}/{region}/events/{now:%Y/%m/%d}/rvp-ev-1.json",
        Body=json.dumps(event).encode(),
        ChecksumAlgorithm="SHA256",
    )
    second = run_lambda(deployed["inventory_function_name"], {})
    assert second.error is None, second.logs
    return {"web": web, "day": now.date().isoformat()}


def test_schedule_defaults_to_1_january_and_1_july(deployed):
    name = deployed["review_pack_function_name"]
    config = deployed_configuration(name)
    assert config["Handler"] == "review_pack.handler.lambda_handler"
    variables = config["Environment"]["Variables"]
    assert variables["EVIDENCE_BUCKET"] == deployed["evidence_bucket_name"]
    assert variables["ALERT_TOPIC_ARN"] == deployed["alert_topic_arn"]
    schedule = client("scheduler").get_schedule(Name=name)
    assert schedule["ScheduleExpression"] == "cron(0 6 1 1,7 ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["Target"]["Arn"] == config["FunctionArn"]


def test_every_function_that_posts_to_slack_gets_all_of_slack(deployed):
    # Given Slack configured once at the root: a proxy URL and a secret under its own key
    posting = {}
    for capability, name in deployed["function_names"].items():
        variables = deployed_configuration(name)["Environment"]["Variables"]
        if "SLACK_CHANNEL_ID" in variables:
            posting[capability] = variables
    # Then every function that posts to Slack has the channel, the secret and the proxy URL...
    assert {"sg_change_notifier", "reachability_check", "review_pack"} <= set(posting)
    for capability, variables in posting.items():
        assert variables["SLACK_CHANNEL_ID"] == "C0123456789", capability
        assert variables["SLACK_TOKEN_SECRET_ARN"] == deployed["slack_token_secret_arn"], capability
        assert variables["SLACK_API_URL"] == "https://slack-proxy.example.internal/api/", capability
        # ...and may read the secret and decrypt it with the secret's key
        policies = role_policies(deployed["function_names"][capability])  # each role is named after its function
        assert allows(policies, "secretsmanager:GetSecretValue", deployed["slack_token_secret_arn"]), capability
        assert allows(policies, "kms:Decrypt", deployed["slack_kms_key_arn"]), capability


def test_pack_from_the_shipped_zip_on_an_object_lock_bucket(deployed, history):
    try:
        check_pack(deployed, history)
    finally:
        empty_locked_bucket(deployed["evidence_bucket_name"])


def check_pack(deployed, history):
    name, bucket = deployed["review_pack_function_name"], deployed["evidence_bucket_name"]
    s3 = client("s3")
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"

    run = run_lambda(name, {"from": history["day"], "to": history["day"]})
    assert run.error is None, run.logs
    result = run.result
    pack = f"{PREFIX}reviews/{history['day']}_{history['day']}/"
    assert result["report_key"] == pack + "report.html"
    assert result["changes"] >= 1 and result["accounts"] == 1

    # every produced and used object is hashed in the manifest, and the hashes hold
    manifest_body = s3.get_object(Bucket=bucket, Key=result["manifest_key"])["Body"].read()
    assert hashlib.sha256(manifest_body).hexdigest() == result["manifest_sha256"]
    manifest = json.loads(manifest_body)
    for entry in manifest["evidence"] + manifest["outputs"]:
        body = s3.get_object(Bucket=bucket, Key=entry["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["key"]
    assert {e["kind"] for e in manifest["evidence"]} >= {"snapshot", "diff", "event"}

    # the report says who opened SSH to the world
    report = s3.get_object(Bucket=bucket, Key=result["report_key"])["Body"].read().decode()
    assert history["web"] in report and "alice (AWSReservedSSO_Admin)" in report and "SSH (22)" in report
    # the pack is locked like the rest of the evidence
    head = s3.head_object(Bucket=bucket, Key=result["report_key"])
    assert head.get("ObjectLockMode") == "GOVERNANCE"

    assert any(c["service"] == "sns" and c["operation"] == "Publish" for c in run.calls)
    assert_least_privilege(name, run)

    # the sign-off CLI, as make review-signoff runs it, then a second pack of the same period
    signed = subprocess.run(
        [sys.executable, "-m", "review_pack.signoff", "--bucket", bucket, "--pack", pack.split("/")[-2],
         "--decision", "approved", "--comments", "reviewed in module test", "--name", "Module Test"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(FUNCTIONS)}, timeout=120,
    )
    assert signed.returncode == 0, signed.stderr
    again = run_lambda(name, {"from": history["day"], "to": history["day"]})
    assert again.error is None, again.logs
    assert again.result["report_key"] == f"{PREFIX}reviews/{history['day']}_{history['day']}-r2/report.html"
    second_report = s3.get_object(Bucket=bucket, Key=again.result["report_key"])["Body"].read().decode()
    assert "Module Test" in second_report and "matches pack" in second_report
    # the first pack is untouched
    assert s3.get_object(Bucket=bucket, Key=result["report_key"])["Body"].read().decode() == report
