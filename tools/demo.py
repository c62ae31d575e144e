#!/usr/bin/env python3
"""SG Watch end to end on a local AWS emulator: no AWS account, nothing leaves this machine.

Starts moto_server on loopback, applies examples/complete to it, creates security
groups, runs the inventory from the shipped zip, changes rules (authorize, revoke,
modify in place, edit a description), runs it again and prints the diff, shows the
alert for a world-open SSH rule, builds a review pack, then destroys everything and
stops the emulator.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.module import emulator
from tests.module.emulator import Emulator, prepare_example, write_cli_config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "demo"


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def terraform(args: list[str], cwd: Path) -> str:
    proc = emulator.terraform(cwd, *args)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"terraform {args[0]} failed")
    return proc.stdout


def show_csv(body: str, limit: int = 12) -> None:
    rows = list(csv.reader(io.StringIO(body)))
    widths = [min(24, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    for row in rows[: limit + 1]:
        print("  " + "  ".join(cell[:24].ljust(w) for cell, w in zip(row, widths, strict=False)))
    if len(rows) > limit + 1:
        print(f"  ... {len(rows) - limit - 1} more rows")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sgwatch-demo-"))
    step("Starting the local AWS emulator (moto_server on loopback)")
    moto = Emulator(work / "moto.log")
    os.environ.update(moto.environment())
    os.environ["TF_CLI_CONFIG_FILE"] = str(write_cli_config(work))
    print(f"  {moto.url}")
    example = prepare_example("complete", work, {"evidence_force_destroy": True, "name_prefix": "sgwatch-demo"})
    applied = False
    try:
        step("terraform apply examples/complete (against the emulator)")
        terraform(["init", "-input=false"], example)
        terraform(["apply", "-input=false", "-auto-approve"], example)
        applied = True
        outputs = {k: v["value"] for k, v in json.loads(terraform(["output", "-json"], example)).items()}
        functions, bucket = outputs["lambda_function_names"], outputs["evidence_bucket_name"]
        print(f"  evidence bucket: {bucket}")
        for capability, name in sorted(functions.items()):
            print(f"  function {capability:22} {name}")

        from tests.module import harness

        ec2, s3 = harness.client("ec2"), harness.client("s3")
        step("Creating security groups")
        vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
        web = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc)["GroupId"]
        db = ec2.create_security_group(GroupName="db", Description="database tier", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "http"}]},
        ])
        ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "UserIdGroupPairs": [{"GroupId": web, "Description": "app"}]},
        ])
        print(f"  {web} (web), {db} (db) in {vpc}")

        step("Inventory run 1: baseline snapshot (the shipped zip, with the deployed environment)")
        (result,) = run(harness, functions["sg_inventory"])["results"]
        print(f"  {result['snapshot_key']}  ({result['groups']} groups, {result['rules']} rules, no diff yet)")

        step("Changing rules: authorize 22/tcp from 0.0.0.0/0, revoke, modify in place, edit a description")
        both = [{"Name": "group-id", "Values": [web, db]}]
        rules = ec2.describe_security_group_rules(Filters=both)["SecurityGroupRules"]
        http = next(r for r in rules if r["GroupId"] == web and r.get("FromPort") == 80)
        db_rule = next(r for r in rules if r["GroupId"] == db and not r["IsEgress"])
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ec2.revoke_security_group_ingress(GroupId=db, SecurityGroupRuleIds=[db_rule["SecurityGroupRuleId"]])
        ec2.modify_security_group_rules(GroupId=web, SecurityGroupRules=[{
            "SecurityGroupRuleId": http["SecurityGroupRuleId"],
            "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIpv4": "0.0.0.0/0",
                                  "Description": "http moved to 8080"}}])
        ec2.update_security_group_rule_descriptions_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https (public site)"}]}])

        if "sg_change_notifier" in functions:
            step("Change alert for the world-open SSH rule (CloudTrail event through the notifier)")
            show_ssh_alert(harness, functions["sg_change_notifier"], outputs["alert_topic_arn"], web)

        step("Inventory run 2: snapshot and diff against run 1")
        (result,) = run(harness, functions["sg_inventory"])["results"]
        print(f"  snapshot: {result['snapshot_key']}")
        print(f"  diff:     {result['diff_key']}  (added {result['added']}, removed {result['removed']}, "
              f"updated {result['updated']})")
        diff = s3.get_object(Bucket=bucket, Key=result["diff_key"])["Body"].read().decode()
        show_csv("\n".join(",".join(r[i] for i in (0, 4, 7, 8, 9, 10, 11, 13, 14))
                           for r in csv.reader(io.StringIO(diff))))

        if "unused_sg_audit" in functions:
            step("Unused-group audit")
            for found in run(harness, functions["unused_sg_audit"])["results"]:
                print(f"  unused: {', '.join(found['unused']) or 'none'}")
                for group_id, reasons in sorted(found["in_use"].items()):
                    print(f"  in use: {group_id}: {'; '.join(reasons)}")

        if "review_pack" in functions:
            step("Review pack (PCI DSS 1.2.7) built from this run's evidence")
            show_review_pack(harness, functions["review_pack"], bucket)

        step("Evidence in the bucket")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                print(f"  {item['Key']}")
    finally:
        if applied:
            step("terraform destroy")
            terraform(["destroy", "-input=false", "-auto-approve"], example)
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
        print("  emulator stopped")
    return 0


def run(harness, function_name: str, event: dict | None = None) -> dict:
    """The result of a deployed function run from its shipped zip; its logs end the demo if it failed."""
    outcome = harness.run_lambda(function_name, event or {})
    if outcome.error:
        raise SystemExit(outcome.logs)
    return outcome.result


def show_ssh_alert(harness, function_name: str, topic_arn: str, group_id: str) -> None:
    queue = harness.subscribe_inbox(topic_arn, "demo-alerts")
    fixture = ROOT / "tests" / "events" / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"
    event = json.loads(fixture.read_text())
    detail = event["detail"]
    detail["requestParameters"]["groupId"] = group_id
    for item in (detail.get("responseElements") or {}).get("securityGroupRuleSet", {}).get("items", []):
        item["groupId"] = group_id
    event["account"] = detail["recipientAccountId"] = harness.ACCOUNT
    now = datetime.now(UTC)
    detail["eventID"] = "demo-" + now.strftime("%H%M%S%f")
    event["time"] = detail["eventTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run(harness, function_name, event)
    print(f"  severity {result['severity']}: {result['subject']}")
    for body in harness.received(queue):
        print("  " + body["Message"].replace("\n", "\n  "))


def show_review_pack(harness, function_name: str, bucket: str) -> None:
    today = datetime.now(UTC).date().isoformat()
    key = run(harness, function_name, {"from": today, "to": today})["report_key"]
    OUT.mkdir(parents=True, exist_ok=True)
    local = OUT / "report.html"
    local.write_bytes(harness.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    print(f"  s3://{bucket}/{key}")
    print(f"  copied to {local.relative_to(ROOT)}: open it in a browser")


if __name__ == "__main__":
    sys.exit(main())
