#!/usr/bin/env python3
"""SG Watch end to end on a local AWS emulator: no AWS account, nothing leaves this machine.

Starts moto_server on loopback and builds a small estate in it: a VPC routed to an internet
gateway, an instance with a public address, security groups Terraform manages. Applies
examples/complete to it (progress lines while Terraform works), runs the inventory from the
shipped zip (the baseline), then changes rules as an approved deployment pipeline and once by
hand in the console. The emulator has no CloudTrail: each call becomes the record CloudTrail
would deliver for it (tests/module/trail.py: the real rule ids, account and group), and the
change notifier's shipped zip alerts on each one. The inventory runs again (the diff), then
the unused-group audit, and the review pack is built from this run's evidence. Everything is
destroyed and the emulator stopped at the end.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.module import emulator
from tests.module.emulator import Emulator, prepare_example, write_cli_config
from tests.module.trail import BROWSER, TERRAFORM, Caller, Trail

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "demo"
ACCOUNT, REGION = "123456789012", "us-east-1"
PIPELINE = Caller(f"arn:aws:iam::{ACCOUNT}:role/deploy-pipeline", "pipeline-run-1842", TERRAFORM)
ALICE = Caller(f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_"
               "0123456789abcdef", "alice@example.com", BROWSER, console=True)
PROGRESS_EVERY_S = 5
DONE = re.compile(r": (Creation|Destruction|Modifications) complete after")
PLANNED = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
STARTED = time.monotonic()


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m  ({time.monotonic() - STARTED:.0f} s)", flush=True)


def terraform(args: list[str], cwd: Path) -> str:
    proc = emulator.terraform(cwd, *args)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"terraform {args[0]} failed")
    return proc.stdout


def terraform_with_progress(command: str, cwd: Path) -> None:
    """``terraform <command> -auto-approve``, with a line every few seconds: elapsed time, resources done."""
    proc = subprocess.Popen(
        ["terraform", command, "-input=false", "-auto-approve", "-no-color"], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TF_IN_AUTOMATION": "1"},
    )
    lines: list[str] = []
    done, planned = [0], [0]

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            done[0] += bool(DONE.search(line))
            plan = PLANNED.match(line)
            if plan:
                planned[0] = sum(int(n) for n in plan.groups())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    while reader.is_alive():
        reader.join(PROGRESS_EVERY_S)
        if reader.is_alive():
            state = f"{done[0]} of {planned[0]} resources done" if planned[0] else "planning"
            print(f"  {command}: {time.monotonic() - started:4.0f} s, {state}", flush=True)
    if proc.wait() != 0:
        sys.stderr.write("".join(lines[-60:]))
        raise SystemExit(f"terraform {command} failed")
    print(f"  {command}: finished in {time.monotonic() - started:.0f} s, {done[0]} resources", flush=True)


def show_csv(body: str, columns: list[str], limit: int = 12) -> None:
    rows = list(csv.DictReader(io.StringIO(body)))
    table = [columns] + [[row[c] for c in columns] for row in rows]
    widths = [min(26, max(len(r[i]) for r in table)) for i in range(len(columns))]
    for row in table[: limit + 1]:
        print("  " + "  ".join(cell[:26].ljust(w) for cell, w in zip(row, widths, strict=True)))
    if len(table) > limit + 1:
        print(f"  ... {len(table) - limit - 1} more rows")


def build_estate() -> Any:
    """The account before SG Watch is deployed: tests/module/network.py's network, two groups tagged as
    Terraform's, and rules the changes below revoke and edit."""
    from tests.module import harness
    from tests.module.network import build_network

    net = build_network(name="demo")
    ec2 = harness.client("ec2")
    ec2.create_tags(Resources=[net.public_group_id, net.private_group_id],
                    Tags=[{"Key": "ManagedBy", "Value": "terraform"}])
    ec2.authorize_security_group_ingress(GroupId=net.public_group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": name}]} for port, name in ((80, "http"), (443, "https"))])
    print(f"  VPC {net.vpc_id}: internet gateway {net.internet_gateway_id}, public subnet {net.public_subnet_id}")
    print(f"  instance {net.public_instance_id} with public address {net.public_ip} carries {net.public_group_id}")
    print(f"  groups tagged ManagedBy=terraform: {net.public_group_id} (80 and 443 open to the world), "
          f"{net.private_group_id}")
    return net


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sgwatch-demo-"))
    step("Starting the local AWS emulator (moto_server on loopback)")
    moto = Emulator(work / "moto.log")
    os.environ.update(moto.environment())
    os.environ["TF_CLI_CONFIG_FILE"] = str(write_cli_config(work))
    print(f"  {moto.url}")
    example = prepare_example("complete", work, {
        "evidence_force_destroy": True, "name_prefix": "sgwatch-demo",
        "approved_change_principals": [PIPELINE.role_arn]})
    applied = False
    try:
        from tests.module import harness

        step("The account before SG Watch: a network, an instance with a public address, security groups")
        net = build_estate()

        step("terraform apply examples/complete (against the emulator)")
        terraform(["init", "-input=false"], example)
        applied = True
        terraform_with_progress("apply", example)
        outputs = {k: v["value"] for k, v in json.loads(terraform(["output", "-json"], example)).items()}
        functions, bucket = outputs["lambda_function_names"], outputs["evidence_bucket_name"]
        print(f"  evidence bucket: {bucket}")
        print(f"  approved_change_principals: {PIPELINE.role_arn}")
        for capability, name in sorted(functions.items()):
            print(f"  function {capability:22} {name}")

        s3 = harness.client("s3")
        step("Inventory run 1: the baseline snapshot (the shipped zip, with the deployed environment)")
        (result,) = run(harness, functions["sg_inventory"])["results"]
        print(f"  {result['snapshot_key']}  ({result['groups']} groups, {result['rules']} rules, no diff yet)")
        baseline = s3.get_object(Bucket=bucket, Key=result["snapshot_key"])["Body"].read().decode()
        show_csv(baseline, ["GroupId", "GroupName", "Direction", "RuleId", "Protocol", "FromPort", "Peer",
                            "RuleDescription"], limit=20)

        step("Changes, each alerted by the change notifier (shipped zip) from its CloudTrail record")
        print("  (the emulator has no CloudTrail: the demo writes the record CloudTrail delivers for each call)")
        console_alert = make_changes(harness, net, functions["sg_change_notifier"], outputs["alert_topic_arn"])

        step("The alert for the console change: world-open SSH on the instance's group")
        print("  " + console_alert.replace("\n", "\n  "))

        step("Inventory run 2: snapshot and diff against the baseline")
        (result,) = run(harness, functions["sg_inventory"])["results"]
        print(f"  snapshot: {result['snapshot_key']}")
        print(f"  diff:     {result['diff_key']}  (added {result['added']}, removed {result['removed']}, "
              f"updated {result['updated']})")
        diff = s3.get_object(Bucket=bucket, Key=result["diff_key"])["Body"].read().decode()
        show_csv(diff, ["ChangeType", "GroupId", "GroupName", "RuleId", "Protocol", "FromPort", "Peer",
                        "RuleDescription"])

        if "unused_sg_audit" in functions:
            step("Unused-group audit")
            for found in run(harness, functions["unused_sg_audit"])["results"]:
                print(f"  unused: {', '.join(found['unused']) or 'none'}")
                for group_id, reasons in sorted(found["in_use"].items()):
                    print(f"  in use: {group_id}: {'; '.join(reasons)}")

        step("Review pack (PCI DSS 1.2.7) built from this run's evidence")
        show_review_pack(harness, functions["review_pack"], bucket, outputs["alert_topic_arn"])
    finally:
        if applied:
            step("terraform destroy")
            terraform_with_progress("destroy", example)
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
        print("  emulator stopped")
        print(f"\nThe demo took {time.monotonic() - STARTED:.0f} s.")
    return 0


def run(harness: Any, function_name: str, event: dict[str, Any] | None = None) -> Any:
    """The result of a deployed function run from its shipped zip; its logs end the demo if it failed."""
    outcome = harness.run_lambda(function_name, event or {})
    if outcome.error:
        raise SystemExit(outcome.logs)
    return outcome.result


def make_changes(harness: Any, net: Any, notifier: str, topic_arn: str) -> str:
    """The pipeline's changes and alice's console change, each call's record through the notifier; the
    text of the alert on alice's change."""
    ec2 = harness.client("ec2")
    queue = harness.subscribe_inbox(topic_arn, "demo-alerts")
    trail = Trail(ec2, ACCOUNT, REGION)
    rules = ec2.describe_security_group_rules(Filters=[
        {"Name": "group-id", "Values": [net.public_group_id, net.private_group_id, net.backend_group_id]}],
    )["SecurityGroupRules"]
    http = next(r for r in rules if r["GroupId"] == net.public_group_id and r.get("FromPort") == 80)
    backend = next(r for r in rules if r["GroupId"] == net.backend_group_id and not r["IsEgress"])
    changes: list[tuple[str, Caller, str, dict[str, Any]]] = [
        ("authorize 5432/tcp from the public group on the private one", PIPELINE, "AuthorizeSecurityGroupIngress", {
            "GroupId": net.private_group_id, "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                 "UserIdGroupPairs": [{"GroupId": net.public_group_id, "Description": "app servers"}]}]}),
        ("revoke 80/tcp (by rule id)", PIPELINE, "RevokeSecurityGroupIngress", {
            "GroupId": net.public_group_id, "SecurityGroupRuleIds": [http["SecurityGroupRuleId"]]}),
        ("modify the backend rule in place: 8080 -> 8443", PIPELINE, "ModifySecurityGroupRules", {
            "GroupId": net.backend_group_id, "SecurityGroupRules": [{
                "SecurityGroupRuleId": backend["SecurityGroupRuleId"],
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443,
                                      "ReferencedGroupId": net.load_balancer_group_id,
                                      "Description": "from the load balancer (TLS)"}}]}),
        ("edit the description of the 443/tcp rule", PIPELINE, "UpdateSecurityGroupRuleDescriptionsIngress", {
            "GroupId": net.public_group_id, "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https (public site)"}]}]}),
        ("authorize 22/tcp from the world, by hand in the console", ALICE, "AuthorizeSecurityGroupIngress", {
            "GroupId": net.public_group_id, "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
    ]
    console_alert = ""
    for label, caller, operation, params in changes:
        _, event = trail.call(caller, operation, **params)
        run(harness, notifier, event)
        (alert,) = harness.received(queue)  # the one alert this record raised
        attributes = {k: v["Value"] for k, v in alert["MessageAttributes"].items()}
        who = "alice (console)" if caller.console else "pipeline (Terraform)"
        print(f"  {who:21} {label}")
        print(f"  {'':21} -> {attributes['severity']}, via {attributes['origin']}, change control "
              f"{attributes['change_control']}: {alert['Subject']}")
        if caller is ALICE:
            console_alert = alert["Message"]
    return console_alert


def show_review_pack(harness: Any, function_name: str, bucket: str, topic_arn: str) -> None:
    queue = harness.subscribe_inbox(topic_arn, "demo-review")
    today = datetime.now(UTC).date().isoformat()
    result = run(harness, function_name, {"from": today, "to": today})
    (notice,) = harness.received(queue)
    print("  " + notice["Message"].replace("\n", "\n  "))
    s3 = harness.client("s3")
    report = s3.get_object(Bucket=bucket, Key=result["report_key"])["Body"].read()
    if result["gaps"]:
        print("\n  Evidence gaps (the report's section):")
        gaps = report.decode().split('<section id="gaps">', 1)[1].split("</section>", 1)[0]
        for line in html.unescape(re.sub(r"<[^>]+>", " ", gaps.replace("</tr>", "\n"))).splitlines():
            if line.strip():
                print("  - " + " ".join(line.split()))
    changes = s3.get_object(Bucket=bucket, Key=result["pack_prefix"] + "changes.csv")["Body"].read().decode()
    print("\n  changes.csv:")
    show_csv(changes, ["ChangeType", "GroupName", "EventName", "Actor", "Origin", "ChangeControl"])
    OUT.mkdir(parents=True, exist_ok=True)
    local = OUT / "report.html"
    local.write_bytes(report)
    print(f"\n  s3://{bucket}/{result['report_key']}")
    print(f"  copied to {local.relative_to(ROOT)}: open it in a browser")
    print(f"  CRITICAL rules: {result['critical']}; rule changes: {result['changes']}; out-of-band: "
          f"{result['out_of_band']}; unattributed: {result['unattributed']}; evidence gaps: {result['gaps']}")


if __name__ == "__main__":
    sys.exit(main())
