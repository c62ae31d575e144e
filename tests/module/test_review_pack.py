"""modules/review-pack applied to the emulator next to the whole module, with Object Lock on the bucket.

The inventory's shipped zip writes real snapshots, diffs and exposure reports of a network with
an internet-reachable instance (tests/module/network.py); the change notifier's shipped zip
records a console change and an approved Terraform change with their provenance, beside a
record in the older format (no provenance) and a change no event explains; then the shipped
review_pack zip runs with its deployed environment; the sign-off CLI runs as
``make review-signoff`` runs it.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_terraform import terraform

from tests.module.harness import (
    allows,
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    role_policies,
    run_lambda,
    scheduled_function,
)
from tests.module.network import build_network
from tests.paths import FUNCTIONS

terraform("review_pack", scope="session")
deployed = deployed_fixture("review_pack")

PREFIX = "security-groups/"
ACCOUNT, REGION = "123456789012", "us-east-1"
EVENTS = Path(__file__).resolve().parents[1] / "events"
CONSOLE_EVENT = EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"
SSO_ROLE = (f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
            "AWSReservedSSO_AdministratorAccess_0123456789abcdef")
TERRAFORM_AGENT = ("APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0 "
                   "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.24.0 os/linux "
                   "lang/go#1.21.5")


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


def authorize(group_id: str, port: int) -> str:
    """Open tcp ``port`` to the world on the group; the new rule's id."""
    found = client("ec2").authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return str(found["SecurityGroupRules"][0]["SecurityGroupRuleId"])


def cloudtrail(event_id: str, group_id: str, port: int, rule_id: str, role_arn: str, agent: str,
               from_console: bool) -> dict[str, Any]:
    """The EventBridge event of the call ``authorize`` made, as CloudTrail records it for that caller."""
    event = copy.deepcopy(json.loads(CONSOLE_EVENT.read_text()))
    detail = event["detail"]
    role_name = role_arn.rsplit("/", 1)[-1]
    issuer = {"type": "Role", "arn": role_arn, "accountId": ACCOUNT, "userName": role_name}
    detail["userIdentity"].update(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/session", accountId=ACCOUNT,
        sessionContext={**detail["userIdentity"]["sessionContext"], "sessionIssuer": issuer})
    permission = detail["requestParameters"]["ipPermissions"]["items"][0]
    permission.update(fromPort=port, toPort=port, ipRanges={"items": [{"cidrIp": "0.0.0.0/0"}]})
    detail["requestParameters"]["groupId"] = group_id
    detail["responseElements"]["securityGroupRuleSet"]["items"] = [{
        "groupOwnerId": ACCOUNT, "groupId": group_id, "securityGroupRuleId": rule_id, "isEgress": False,
        "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]
    detail.update(eventID=event_id, eventTime=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  recipientAccountId=ACCOUNT, awsRegion=REGION, userAgent=agent)
    if not from_console:
        detail.pop("sessionCredentialFromConsole")
    event.update(account=ACCOUNT, region=REGION, time=detail["eventTime"])
    return event


def notify(deployed: dict[str, Any], event: dict[str, Any]) -> None:
    """The change notifier's shipped zip handles the event (Slack off: its proxy is not reachable here)."""
    run = run_lambda(deployed["function_names"]["sg_change_notifier"], event,
                     env_overrides={"SLACK_CHANNEL_ID": "", "SLACK_TOKEN_SECRET_ARN": ""})
    assert run.error is None, run.logs


@pytest.fixture(scope="module")
def history(deployed):
    """Two inventory runs around four changes: world-open SSH on rvp-web with a change event in the older
    format; in the network, world-open SSH by hand in the console on the IaC-managed public group (an
    instance with a public address carries it), tcp 8080 to the world on the private group through the
    approved Terraform role, both recorded by the change notifier; and RDP to the world on the
    unattached group that no event records."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="rvp-web", Description="web", VpcId=vpc)["GroupId"]
    net = build_network(name="rvp")
    ec2.create_tags(Resources=[net.public_group_id, net.private_group_id],
                    Tags=[{"Key": "ManagedBy", "Value": "terraform"}])
    first = run_lambda(deployed["inventory_function_name"], {})
    assert first.error is None, first.logs
    time.sleep(1.1)  # CloudTrail times are whole seconds: every change comes after the first snapshot
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    console = authorize(net.public_group_id, 22)
    notify(deployed, cloudtrail("rvp-console-ssh", net.public_group_id, 22, console, SSO_ROLE,
                                json.loads(CONSOLE_EVENT.read_text())["detail"]["userAgent"], True))
    approved = authorize(net.private_group_id, 8080)
    notify(deployed, cloudtrail("rvp-terraform-8080", net.private_group_id, 8080, approved,
                                f"arn:aws:iam::{ACCOUNT}:role/deployer", TERRAFORM_AGENT, False))
    authorize(net.unattached_group_id, 3389)
    now = datetime.now(UTC)
    account, region = ACCOUNT, REGION
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
    return {"web": web, "day": now.date().isoformat(), "network": net}


def test_schedule_defaults_to_1_january_and_1_july(deployed):
    config, schedule = scheduled_function(deployed["review_pack_function_name"], "review_pack.handler.lambda_handler")
    variables = config["Environment"]["Variables"]
    assert variables["EVIDENCE_BUCKET"] == deployed["evidence_bucket_name"]
    assert variables["ALERT_TOPIC_ARN"] == deployed["alert_topic_arn"]
    assert variables["AUTHORIZED_PUBLIC_PORTS"] == "80,443"
    assert schedule["ScheduleExpression"] == "cron(0 6 1 1,7 ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"


def test_every_function_that_posts_to_slack_gets_all_of_slack(deployed):
    # Given Slack configured once at the root: a proxy URL and a secret under its own key
    posting = {}
    for capability, name in deployed["function_names"].items():
        variables = deployed_configuration(name)["Environment"]["Variables"]
        if "SLACK_CHANNEL_ID" in variables:
            posting[capability] = variables
    # Then every function that posts to Slack has the channel, the secret and the proxy URL...
    assert {"sg_change_notifier", "reachability_check", "review_pack", "sg_inventory"} <= set(posting)
    for capability, variables in posting.items():
        assert variables["SLACK_CHANNEL_ID"] == "C0123456789", capability
        assert variables["SLACK_TOKEN_SECRET_ARN"] == deployed["slack_token_secret_arn"], capability
        assert variables["SLACK_API_URL"] == "https://slack-proxy.example.internal/api/", capability
        # ...and may read the secret and decrypt it with the secret's key
        policies = role_policies(deployed["function_names"][capability])  # each role is named after its function
        assert allows(policies, "secretsmanager:GetSecretValue", deployed["slack_token_secret_arn"]), capability
        assert allows(policies, "kms:Decrypt", deployed["slack_kms_key_arn"]), capability


def deliver(function_name: str, queue_url: str) -> list[Any]:
    """The work queue's event source mapping, as Lambda runs it: batches of up to ten records to the
    shipped zip, the records it reports failed left for the next receive, the others deleted."""
    sqs, runs = client("sqs"), []
    for _ in range(20):
        found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                    MessageSystemAttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        if not found:
            return runs
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m["Attributes"], "eventSource": "aws:sqs"} for m in found]
        run = run_lambda(function_name, {"Records": records})
        assert run.error is None, run.logs
        assert run.result == {"batchItemFailures": []}, run.logs
        for m in found:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        runs.append(run)
    raise AssertionError("the work queue never drained")


def test_the_fanned_out_pack_matches_the_single_run_with_only_the_grants_it_uses(deployed, history):
    # Given modules/review-pack with fan_out: its event source mapping reports batch item failures
    name, bucket, queue = deployed["fanned_function_name"], deployed["evidence_bucket_name"], \
        deployed["fanned_work_queue_url"]
    config = deployed_configuration(name)
    [mapping] = client("lambda").list_event_source_mappings(FunctionName=config["FunctionArn"])["EventSourceMappings"]
    assert mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert mapping.get("ScalingConfig") == {"MaximumConcurrency": 4}
    variables = config["Environment"]["Variables"]
    assert variables["WORK_QUEUE_URL"] == queue and variables["WORK_MAX_RECEIVES"] == "5"
    # When a period is dispatched, its parts and then its merge delivered from the queue
    # (two days: the single-run test writes the pack of the one day)
    period = {"from": (date.fromisoformat(history["day"]) - timedelta(days=1)).isoformat(), "to": history["day"]}
    dispatched = run_lambda(name, period)
    assert dispatched.error is None, dispatched.logs
    assert dispatched.result["parts"] >= 1 and dispatched.result["queued"] == dispatched.result["parts"]
    work = deliver(name, queue)
    # Then one pack is written, with the CSV rows of a single run of the same evidence
    listed = client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}reviews/")["Contents"]
    fanned = f"{PREFIX}reviews/{period['from']}_{period['to']}/"
    assert [k["Key"] for k in listed if k["Key"].endswith("/manifest.json")] == [fanned + "manifest.json"]
    single = run_lambda(name, period, env_overrides={"WORK_QUEUE_URL": ""})
    assert single.error is None, single.logs
    for csv_name in ("changes.csv", "current-rules.csv", "risky-rules.csv", "exposure.csv",
                     "out-of-band-changes.csv", "rule-review.csv"):
        assert pack_csv(bucket, fanned, csv_name) == pack_csv(bucket, single.result["pack_prefix"], csv_name)
    # and every call of the dispatch, the parts and the merge is one its role allows
    for run in (dispatched, *work):
        assert_least_privilege(name, run)


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
    assert {e["kind"] for e in manifest["evidence"]} >= {"snapshot", "diff", "event", "exposure-report",
                                                         "rule-review-report"}

    # the report says who opened SSH to the world
    report = s3.get_object(Bucket=bucket, Key=result["report_key"])["Body"].read().decode()
    assert history["web"] in report and "alice (AWSReservedSSO_Admin)" in report and "SSH (22)" in report
    check_exposure_and_change_control(bucket, pack, result, report, history)
    # PCI DSS 1.2.5 and 1.2.7: the findings of the inventory's newest rule review, its untagged SSH rule unjustified
    [review_key] = [e["key"] for e in manifest["evidence"] if e["kind"] == "rule-review-report"]
    written = list(csv.DictReader(io.StringIO(s3.get_object(Bucket=bucket, Key=review_key)["Body"].read().decode())))
    listed = pack_csv(bucket, pack, "rule-review.csv")
    assert sorted(tuple(r.values()) for r in listed) == sorted(tuple(r.values()) for r in written)
    assert (history["web"], "22", "unjustified") in {(r["GroupId"], r["FromPort"], r["Finding"]) for r in listed}
    assert history["web"] in section(report, "rule-review")
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


def section(report: str, ident: str) -> str:
    """The HTML of one section of the report."""
    start = report.index(f'<section id="{ident}">')
    return report[start:report.index("</section>", start)]


def pack_csv(bucket: str, pack: str, name: str) -> list[dict[str, str]]:
    body = client("s3").get_object(Bucket=bucket, Key=pack + name)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


def check_exposure_and_change_control(bucket: str, pack: str, result: dict[str, Any], report: str,
                                      history: dict[str, Any]) -> None:
    net = history["network"]
    # Internet exposure now: the console's SSH rule on the instance with a public address, CRITICAL first,
    # and the backend group exposed through the internet-facing load balancer
    exposure = section(report, "exposure")
    assert exposure.index("CRITICAL") < exposure.index(net.backend_group_id)
    for expected in (net.public_group_id, net.public_instance_id, net.public_ip, net.public_subnet_id,
                     net.internet_gateway_id, f"load-balancer:{net.load_balancer_name}"):
        assert expected in exposure, expected
    assert net.private_group_id not in exposure and net.unattached_group_id not in exposure
    # risky-rules.csv: the alert's severity of each rule on its group
    rows = pack_csv(bucket, pack, "risky-rules.csv")
    risky = {(r["GroupId"], r["FromPort"]): r["Severity"] for r in rows}
    # The headline counts every CRITICAL rule of the account (other tests' networks share the emulated account)
    assert result["critical"] == sum(r["Severity"] == "CRITICAL" for r in rows) >= 1
    assert "critical rules (exposed to the internet)" in section(report, "summary")
    assert risky[(net.public_group_id, "22")] == "CRITICAL"
    assert risky[(net.private_group_id, "8080")] == "HIGH"  # one of Security Hub EC2.19's ports, not escalated
    assert risky[(net.unattached_group_id, "3389")] == "HIGH"
    assert risky[(history["web"], "22")] == "HIGH"

    # PCI DSS 1.2.2: each change with its channel and change-control verdict
    by_group = {c["GroupId"]: c for c in pack_csv(bucket, pack, "changes.csv") if c["ChangeType"] == "Added"}
    console, approved = by_group[net.public_group_id], by_group[net.private_group_id]
    assert (console["Origin"], console["ChangeControl"], console["EventId"]) == ("console", "out-of-band",
                                                                                  "rvp-console-ssh")
    assert console["OriginDetail"].startswith("web browser, Chrome")
    assert (approved["Origin"], approved["ChangeControl"]) == ("terraform", "approved")
    assert approved["OriginDetail"] == "Terraform 1.5.7, provider 5.31.0"
    assert (by_group[net.unattached_group_id]["ChangeControl"], by_group[net.unattached_group_id]["EventId"]) == (
        "unattributed", "")
    # the record in the older format: no provenance, so change control is not recorded
    assert (by_group[history["web"]]["Origin"], by_group[history["web"]]["ChangeControl"]) == ("unknown",
                                                                                               "not-recorded")
    [listed] = pack_csv(bucket, pack, "out-of-band-changes.csv")
    assert (listed["GroupId"], listed["Origin"], listed["Principal"], listed["ManualChange"]) == (
        net.public_group_id, "console", SSO_ROLE, "true")
    assert "tcp port 22 from 0.0.0.0/0" in listed["After"]
    control = section(report, "change-control")
    for expected in (SSO_ROLE, "manual change to an IaC-managed group", net.public_group_id, net.unattached_group_id,
                     "terraform", "not-recorded"):
        assert expected in control, expected
    assert net.unattached_group_id in section(report, "gaps")
    assert (result["out_of_band"], result["unattributed"]) == (1, 1)
