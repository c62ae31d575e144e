#!/usr/bin/env python3
"""Peak memory of the inventory and the unused-group audit over many member accounts.

The emulator (moto) runs as a server in this process; every measured run is a fresh
Python process that imports the handler, as a Lambda container does, and talks to the
server over loopback, so the figures are the function's own memory, not the emulator's.
Member accounts are reached through ``sts:AssumeRole`` exactly as in AWS.

  inventory, direct        one run over N member accounts, one region (peak RSS)
  inventory, queued        ten warm batches of 10 new accounts each in one process
                           (RSS after each batch)
  audit, direct            one unused-group audit over N member accounts (peak RSS)
  slope                    MB per extra account between a small and a large direct run
  alert, member account    the change notifier alerting on revokes by rule id in a member account
                           whose inventory snapshot holds 100k rules (no recorded group state:
                           the rule as it was comes from the inventory): peak RSS, and CPU of one
                           warm alert (median of the warm invocations)

    python tools/bench_memory.py [--functions DIR]   (DIR: another checkout's functions/)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"inventory_direct": 300, "inventory_queued": 320, "audit_direct": 400, "slope": 2.0, "alert_peak": 128,
           "alert_cpu_ms": 50}
INVENTORY_ACCOUNTS, AUDIT_ACCOUNTS, SMALL = 50, 20, 5
BATCHES, BATCH = 10, 10
MEMORY_SIZE = {"sg_inventory": 512, "unused_sg_audit": 512, "sg_change_alerts": 256}  # the modules' defaults
ALERTS = 8  # revokes alerted by one notifier process: the first is cold, the others warm

CHILD = r"""
import json, os, sys
import logging
logging.getLogger("sgwatch").setLevel(logging.WARNING)
import importlib
handler = importlib.import_module(os.environ["BENCH_HANDLER"] + ".handler")

def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024

def rss_mb():
    return status_mb("VmRSS")

after = []
batches = json.loads(os.environ.get("BENCH_BATCHES") or "[]")
if batches:
    for n, accounts in enumerate(batches):
        records = [{"messageId": f"{n}-{a}", "eventSource": "aws:sqs",
                    "body": json.dumps({"account_id": a, "region": "us-east-1", "run": "bench"})} for a in accounts]
        answer = handler.lambda_handler({"Records": records}, None)
        assert answer == {"batchItemFailures": []}, answer
        after.append(rss_mb())
else:
    result = handler.lambda_handler({}, None)
    assert len(result["results"]) == len(os.environ["ACCOUNTS"].split(",")), result
# VmHWM: this process's peak since exec (getrusage's ru_maxrss would carry the forking parent's peak).
print(json.dumps({"peak": status_mb("VmHWM"), "after": after}))
"""


ALERT_CHILD = r"""
import json, os, statistics, time
import logging
logging.getLogger("sgwatch").setLevel(logging.WARNING)
from sg_change_alerts import handler

def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024

class Context:  # what Lambda passes: the function's ARN (its account) and the time left
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-sg-change-notifier"

    def __init__(self):
        self.deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)

template = json.loads(os.environ["BENCH_EVENT"])
cpu = []
for n in range(int(os.environ["BENCH_ALERTS"])):
    event = json.loads(json.dumps(template).replace("BENCH-EVENT-ID", f"bench-revoke-{n}"))
    start = time.process_time()
    answer = handler.lambda_handler(event, Context())
    cpu.append(time.process_time() - start)
    assert answer["published"] is True, answer
print(json.dumps({"peak": status_mb("VmHWM"), "cold_ms": cpu[0] * 1000,
                  "warm_ms": statistics.median(cpu[1:]) * 1000}))
"""


def member_client(endpoint: str, account: str, service: str) -> object:
    """A client of ``account`` through its member role, as the functions reach it."""
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/sgwatch-member-read",
                            RoleSessionName="seed")["Credentials"]
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def alert_in_a_large_account(functions: Path, endpoint: str, account: str) -> dict:
    """The notifier's figures for revokes in ``account``, whose latest snapshot holds the bench estate
    (tools/bench.py: 10k groups, 100k rules) and the revoked rule's group."""
    import bench  # the inventory bench's estate (tools/ is on the path: this file's directory)
    import boto3

    from sgwatch.evidence import EvidenceStore
    from sgwatch.rules import flatten_rule_rows
    from sgwatch.sg_inventory.record import record_snapshot

    ec2 = member_client(endpoint, account, "ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group_id = ec2.create_security_group(GroupName="web", Description="bench", VpcId=vpc)["GroupId"]
    added = ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rule_id = added["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    groups = [{**g, "OwnerId": account} for g in bench.groups()]
    groups += ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    rules = [*bench.rules(), *ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]]
    rows = flatten_rule_rows(account, "us-east-1", groups, rules)
    store = EvidenceStore("bench-evidence", boto3.client("s3", endpoint_url=endpoint))
    record_snapshot(store, "security-groups/", account, "us-east-1", rows, datetime.now(UTC))
    ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[rule_id])
    topic = boto3.client("sns", endpoint_url=endpoint).create_topic(Name="bench-alerts")["TopicArn"]
    event = json.loads((ROOT / "tests" / "events" / "RevokeSecurityGroupIngress_by_rule_id_return_only.json")
                       .read_text().replace("111122223333", account))
    detail = event["detail"]
    detail["eventID"] = "BENCH-EVENT-ID"
    detail["requestParameters"] = {"groupId": group_id, "securityGroupRuleIds": {"items": [
        {"securityGroupRuleId": rule_id}]}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORK_QUEUE"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "EVIDENCE_BUCKET": "bench-evidence",
        "ALERT_TOPIC_ARN": topic, "ACCOUNTS": account, "PYTHONPATH": str(functions),
        "BENCH_EVENT": json.dumps(event), "BENCH_ALERTS": str(ALERTS),
    })
    done = subprocess.run([sys.executable, "-c", ALERT_CHILD], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"sg_change_alerts run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def seed(endpoint: str, accounts: list[str]) -> None:
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint)
    for account in accounts:
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/sgwatch-member-read", RoleSessionName="seed")
        creds = c["Credentials"]
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        for g in range(3):
            gid = ec2.create_security_group(GroupName=f"g{g}", Description="bench", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])


def measure(functions: Path, endpoint: str, handler: str, accounts: list[str], batches=None, queue="") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORK_QUEUE"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "EVIDENCE_BUCKET": "bench-evidence",
        "ACCOUNTS": ",".join(accounts), "REGIONS": "us-east-1", "MAX_WORKERS": "8",
        "PYTHONPATH": str(functions), "BENCH_HANDLER": handler, "BENCH_BATCHES": json.dumps(batches or []),
    })
    if queue:
        env["WORK_QUEUE_URL"] = queue
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(f"{handler} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(value: float, target: float, unit: str = "MB") -> str:
    outcome = "ok" if value <= target else "OVER"
    return f"{value:6.1f} {unit}  target <= {target:g} {unit}  ratio {value / target:.2f}  {outcome}"


def direct_runs(functions: Path, endpoint: str, function: str, label: str, accounts: list[str], target: str) -> bool:
    """Peak RSS of a direct run over ``accounts`` and its slope per account from SMALL; True when over a target."""
    small = measure(functions, endpoint, function, accounts[:SMALL])["peak"]
    large = measure(functions, endpoint, function, accounts)["peak"]
    slope = (large - small) / (len(accounts) - SMALL)
    print(f"  {label}, direct run, {len(accounts)} member accounts:".ljust(53)
          + f"{verdict(large, TARGETS[target])}  (memory_size {MEMORY_SIZE[function]})")
    print(f"  {label}, slope {SMALL} -> {len(accounts)} accounts:".ljust(53)
          + verdict(slope, TARGETS["slope"], "MB/account"))
    return large > TARGETS[target] or slope > TARGETS["slope"]


def alert_figures(functions: Path, endpoint: str) -> bool:
    """Print the notifier's figures beside their targets; True when over one."""
    import bench

    alert = alert_in_a_large_account(functions, endpoint, "399999999999")
    print(f"  alert, revoke in a member account of {bench.RULES:,} rules:".ljust(53)
          + f"{verdict(alert['peak'], TARGETS['alert_peak'])}  (memory_size {MEMORY_SIZE['sg_change_alerts']})")
    print("  alert, CPU of one warm alert:".ljust(53) + verdict(alert["warm_ms"], TARGETS["alert_cpu_ms"], "ms")
          + f"  (cold: {alert['cold_ms']:.0f} ms)")
    return bool(alert["peak"] > TARGETS["alert_peak"] or alert["warm_ms"] > TARGETS["alert_cpu_ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=Path, default=ROOT / "functions")
    parser.add_argument("--alert-only", action="store_true", help="only the change notifier's figures")
    args = parser.parse_args()
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would bury the figures
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench-evidence")
        print(f"peak RSS of one function process (emulator at {endpoint}, one region, 3 groups an account)")
        failed = alert_figures(args.functions, endpoint)
        if args.alert_only:
            return 1 if failed else 0
        members = [f"{300000000000 + i:012d}" for i in range(INVENTORY_ACCOUNTS + BATCHES * BATCH)]
        seed(endpoint, members)
        direct, queued = members[:INVENTORY_ACCOUNTS], members[INVENTORY_ACCOUNTS:]

        failed |= direct_runs(args.functions, endpoint, "sg_inventory", "inventory", direct, "inventory_direct")

        batches = [queued[i:i + BATCH] for i in range(0, len(queued), BATCH)]
        queue = f"{endpoint}/123456789012/bench"
        warm = measure(args.functions, endpoint, "sg_inventory", members, batches, queue=queue)
        print(f"  inventory, {BATCHES} warm batches of {BATCH} new accounts, RSS after each: "
              + " ".join(f"{m:.0f}" for m in warm["after"]))
        print(f"  inventory, RSS after the tenth batch:              "
              f"{verdict(warm['after'][-1], TARGETS['inventory_queued'])}")
        failed |= warm["after"][-1] > TARGETS["inventory_queued"]

        failed |= direct_runs(
            args.functions, endpoint, "unused_sg_audit", "unused audit", direct[:AUDIT_ACCOUNTS], "audit_direct")
    finally:
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
