#!/usr/bin/env python3
"""The review pack fanned out, at landing-zone scale: figures of its largest invocation beside the targets.

A generated estate (``--accounts`` x 4 regions, ``--days`` of history, ``--rules`` rules an
account/region, one inventory run a day through the inventory's own writer, a change and its
change-event record on every other day) sits in the emulator (moto, a server in this process).
The shipped handler then runs as Lambda runs it, each invocation kind in a fresh process of its
own talking to the server over loopback: the dispatch, the parts (one warm process taking the work
queue in batches of 10, as the event source mapping delivers them) and the merge. Per invocation:
peak RSS (VmHWM), CPU seconds, S3/SQS requests and bytes read.

The merge is then measured at 200 accounts x 4 regions directly: it reads partials, never evidence, so
800 copies of a partial a part wrote (each under its own account id) make a run of that size. The
parts' figures at that size are projected: their per account/region-day requests and CPU scale linearly.
Wall time assumes S3 answers a GET or HEAD in 30 ms and a LIST page in 60 ms
(first byte, same region: https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html
gives 100-200 ms for small objects at the tail), a part reading with its 16 threads, and the
module's default concurrency of parts.

    python tools/bench_review.py [--accounts 16] [--days 180] [--rules 300] [--functions DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench_memory import verdict  # tools/ is this script's directory

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
TARGET_ACCOUNTS, TARGET_DAYS = 200, 180
TARGETS = {"peak_mb": 300, "invocation_s": 300, "pack_minutes": 15, "html_mb": 5, "tmp_mb": 512}
# tmp_mb: Lambda's default ephemeral storage (/tmp), where the merge's tables go once past 1 MB each
CONCURRENCY = 20  # modules/review-pack's fan_out_max_concurrency default
BATCH = 10  # modules/lambda-function's work queue batch size
READ_THREADS = 16
LATENCY = {"GetObject": 0.030, "HeadObject": 0.030, "ListObjectsV2": 0.060, "PutObject": 0.050}
BUCKET, PREFIX = "bench-review", "security-groups/"

CHILD = r"""
import json, os, sys, time
import logging
logging.getLogger("sgwatch").setLevel(logging.WARNING)
import boto3
boto3.setup_default_session()
counts = {}
def count(http_response, parsed, model, **_):
    entry = counts.setdefault(model.name, [0, 0])
    entry[0] += 1
    entry[1] += int(parsed.get("ContentLength") or 0) if model.name == "GetObject" else 0
boto3.DEFAULT_SESSION.events.register("after-call", count)
from review_pack import handler
from sgwatch.review_pack import rows as spool
spooled = [0]
add = spool.Rows.add
def counted(self, rows):
    before = self.stored_bytes
    add(self, rows)
    spooled[0] += self.stored_bytes - before
spool.Rows.add = counted

def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024

mode = os.environ["BENCH_MODE"]
invocations = []
if mode == "dispatch":
    events = [json.loads(os.environ["BENCH_PERIOD"])]
else:
    sqs = boto3.client("sqs")
    queue = os.environ["WORK_QUEUE_URL"]
    events = None
result = None
while True:
    if events is not None:
        if not events:
            break
        event, messages = events.pop(), []
    else:
        found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=int(os.environ["BENCH_BATCH"]),
                                    VisibilityTimeout=600).get("Messages", [])
        bodies = [m for m in found if ("merge" in m["Body"]) == (mode == "merge")]
        for m in found:
            if m not in bodies:
                sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        if not bodies:
            break
        if mode == "merge":
            bodies = bodies[:1]
            for m in found[1:]:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        messages = bodies
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs",
                              "attributes": {"ApproximateReceiveCount": "1"}} for m in bodies]}
    before = {k: list(v) for k, v in counts.items()}
    cpu, wall = time.process_time(), time.monotonic()
    result = handler.lambda_handler(event, None)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    calls = {k: [v[0] - before.get(k, [0, 0])[0], v[1] - before.get(k, [0, 0])[1]] for k, v in counts.items()}
    calls = {k: v for k, v in calls.items() if v[0]}
    for m in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    invocations.append({"cpu": cpu, "wall": wall, "records": len(messages) or 1, "calls": calls,
                        "rss": status_mb("VmRSS")})
    if mode == "merge":
        break
print(json.dumps({"peak": status_mb("VmHWM"), "invocations": invocations, "result": result,
                  "spooled_mb": spooled[0] / 2**20}, default=str))
"""


def rules(account: str, region: str, count: int, day: int) -> list[tuple[str, ...]]:
    """``count`` rules over count/10 groups; every other day one more world-open port on the first group."""
    from sgwatch.rules import Rule

    found = []
    for n in range(count):
        group = f"sg-{n // 10:08x}"
        port = str(1000 + n)
        found.append(Rule(account, region, "vpc-1", group, f"app-{n // 10}", "bench", "ingress", f"sgr-{n:010x}",
                          "tcp", port, port, "ipv4", f"10.{n % 250}.0.0/16", f"rule {n}"))
    if day % 2:
        found.append(Rule(account, region, "vpc-1", "sg-00000000", "app-0", "bench", "ingress", f"sgr-d{day:09x}",
                          "tcp", "22", "22", "ipv4", "0.0.0.0/0", f"day {day}"))
    return sorted(found)


def seed_scope(endpoint: str, account: str, region: str, days: int, count: int, start: date) -> None:
    import boto3

    from sgwatch.evidence import EvidenceStore
    from sgwatch.sg_inventory.record import record_snapshot

    store = EvidenceStore(BUCKET, boto3.client("s3", endpoint_url=endpoint))
    for day in range(days):
        when = datetime(start.year, start.month, start.day, 6, tzinfo=UTC) + timedelta(days=day)
        record_snapshot(store, PREFIX, account, region, rules(account, region, count, day), when)
        if day % 2:
            event = {"schema": 1, "event_id": f"ev-{account}-{region}-{day}", "event_name":
                     "AuthorizeSecurityGroupIngress", "event_time": (when - timedelta(hours=3)).strftime(
                         "%Y-%m-%dT%H:%M:%SZ"), "account_id": account, "region": region,
                     "group_ids": ["sg-00000000"], "actor": {"display": "bench"}, "changes": [
                         {"action": "added", "before": None, "after": {
                             "group_id": "sg-00000000", "direction": "ingress", "rule_id": f"sgr-d{day:09x}",
                             "protocol": "tcp", "from_port": "22", "to_port": "22", "peer_type": "ipv4",
                             "peer": "0.0.0.0/0", "description": f"day {day}"}}]}
            key = f"{PREFIX}{account}/{region}/events/{when:%Y/%m/%d}/{event['event_id']}.json"
            store.put_new(key, json.dumps(event).encode(), "application/json")


def run_child(functions: Path, endpoint: str, mode: str, queue: str, period: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORK_QUEUE"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "EVIDENCE_BUCKET": BUCKET,
        "EVIDENCE_PREFIX": PREFIX, "WORK_QUEUE_URL": queue, "PYTHONPATH": str(functions), "BENCH_MODE": mode,
        "BENCH_PERIOD": json.dumps(period), "BENCH_BATCH": str(BATCH),
    })
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=7200)
    if done.returncode:
        raise SystemExit(f"review_pack {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def requests(invocations: list[dict]) -> dict[str, list[int]]:
    total: dict[str, list[int]] = {}
    for inv in invocations:
        for name, (n, size) in inv["calls"].items():
            entry = total.setdefault(name, [0, 0])
            entry[0] += n
            entry[1] += size
    return total


def io_seconds(calls: dict[str, list[int]], threads: int) -> float:
    """Time waiting for S3 at the stated latencies, ``threads`` requests at once."""
    return sum(LATENCY.get(name, 0.030) * n for name, (n, _) in calls.items()) / threads


def pack_once(functions: Path, endpoint: str, queue: str, period: dict[str, str], scopes: int, days: int,
              number: int) -> dict:
    """Dispatch, parts and merge of one period; the figures of each."""
    figures = {"dispatch": run_child(functions, endpoint, "dispatch", queue, period)}
    figures["parts"] = run_child(functions, endpoint, "parts", queue, period)
    figures["merge"] = run_child(functions, endpoint, "merge", queue, period)
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    name = f"{period['from']}_{period['to']}" + (f"-r{number}" if number > 1 else "")
    pack = f"{PREFIX}reviews/{name}/"
    figures["html_mb"] = s3.head_object(Bucket=BUCKET, Key=pack + "report.html")["ContentLength"] / 2**20
    figures["scopes"], figures["days"] = scopes, days
    return figures


def merge_at(functions: Path, endpoint: str, queue: str, scopes: int) -> dict:
    """The merge of ``scopes`` account/regions, measured directly: the merge reads partials, never evidence, so a
    run of that size is made of copies of a partial a part wrote (its account id changed), then merged."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    runs = f"{PREFIX}reviews/runs/"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=runs)["Contents"]
    sample_key = next(o["Key"] for o in listed if "/parts/" in o["Key"])
    record_key = sample_key.split("/parts/")[0] + "/run.json"
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key)["Body"].read())
    sample = s3.get_object(Bucket=BUCKET, Key=sample_key)["Body"].read().decode()
    account, region = sample_key.rsplit("/", 2)[-2], sample_key.rsplit("/", 1)[-1].removesuffix(".json")
    run = f"{runs}scale-{scopes}/"
    pairs = [(f"{500000000000 + n // len(REGIONS):012d}", REGIONS[n % len(REGIONS)]) for n in range(scopes)]
    record["parts"] = [list(pair) for pair in pairs]
    s3.put_object(Bucket=BUCKET, Key=run + "run.json", Body=json.dumps(record).encode())

    def put(pair: tuple[str, str]) -> None:
        body = sample.replace(account, pair[0]).replace(f'"{region}"', f'"{pair[1]}"').replace(
            f"/{region}/", f"/{pair[1]}/")
        s3.put_object(Bucket=BUCKET, Key=f"{run}parts/{pair[0]}/{pair[1]}.json", Body=body.encode())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, pairs))
    def reports() -> dict[str, int]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}reviews/")
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents") or ()
                if o["Key"].endswith("/report.html")}

    before = reports()
    boto3.client("sqs", endpoint_url=endpoint).send_message(
        QueueUrl=queue, MessageBody=json.dumps({"run": run, "merge": True}))
    figures = run_child(functions, endpoint, "merge", queue, {})
    [size] = [size for key, size in reports().items() if key not in before]
    return {**figures, "html_mb": size / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=Path, default=ROOT / "functions")
    parser.add_argument("--accounts", type=int, default=16, help="accounts of the estate (4 regions each)")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--rules", type=int, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(args.functions))
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    start = date(2026, 1, 1)
    period = {"from": start.isoformat(), "to": (start + timedelta(days=args.days - 1)).isoformat()}
    small = max(1, args.accounts // 4)
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        queue = boto3.client("sqs", endpoint_url=endpoint).create_queue(QueueName="bench-review-work")["QueueUrl"]
        runs = []
        seeded = 0
        for accounts in (small, args.accounts):
            pairs = [(f"{400000000000 + a:012d}", r) for a in range(seeded, accounts) for r in REGIONS]
            began = time.monotonic()
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda p: seed_scope(endpoint, *p, args.days, args.rules, start), pairs))
            seeded = accounts
            print(f"  seeded {len(pairs)} account/regions x {args.days} days in {time.monotonic() - began:.0f} s",
                  flush=True)
            runs.append(pack_once(args.functions, endpoint, queue, period, accounts * len(REGIONS), args.days,
                                  len(runs) + 1))
        began = time.monotonic()
        at_target = merge_at(args.functions, endpoint, queue, TARGET_ACCOUNTS * len(REGIONS))
        print(f"  merged {TARGET_ACCOUNTS * len(REGIONS)} copied partials in {time.monotonic() - began:.0f} s",
              flush=True)
    finally:
        server.stop()
    report(runs, args.rules, at_target)
    return 0


def report(runs: list[dict], rules: int, at_target: dict) -> None:
    low, high = runs
    scopes, days = high["scopes"], high["days"]
    parts = high["parts"]["invocations"]
    part_calls = requests(parts)
    scope_days = scopes * days
    print(f"review pack fanned out: {scopes} account/regions x {days} days, {rules} rules each "
          f"(largest invocation of each kind)")
    for kind, figures in (("dispatch", high["dispatch"]), ("part batch", high["parts"]), ("merge", high["merge"])):
        largest = max(figures["invocations"], key=lambda inv: inv["cpu"])
        print(f"  {kind:<11} peak RSS       {verdict(figures['peak'], TARGETS['peak_mb'], 'MB')}")
        print(f"  {kind:<11} CPU            {verdict(largest['cpu'], TARGETS['invocation_s'], 's')}"
              f"  ({largest['records']} record(s), wall {largest['wall']:.1f} s on the emulator)")
    total = sum(n for n, _ in part_calls.values())
    read = sum(size for _, size in part_calls.values())
    print(f"  parts: requests per account/region-day {total / scope_days:.2f} "
          f"({', '.join(f'{k} {v[0]}' for k, v in sorted(part_calls.items()))}); "
          f"bytes read per account/region-day {read / scope_days / 1024:.1f} KiB")
    print(f"  HTML of the pack           {verdict(high['html_mb'], TARGETS['html_mb'], 'MB')}")
    for run in (low, high):
        print(f"  merge peak RSS at {run['scopes']:>4} account/regions "
              f"{verdict(run['merge']['peak'], TARGETS['peak_mb'], 'MB')}")
        print(f"  merge /tmp at {run['scopes']:>4} account/regions     "
              f"{verdict(run['merge']['spooled_mb'], TARGETS['tmp_mb'], 'MB')}")

    # projection to 200 x 4 x 180
    target = TARGET_ACCOUNTS * len(REGIONS)
    factor = TARGET_DAYS / days
    per_part_cpu = sum(inv["cpu"] for inv in parts) / scopes * factor
    per_part_io = io_seconds(part_calls, READ_THREADS) / scopes * factor
    batch_s = BATCH * (per_part_cpu + per_part_io)
    target_merge = max(at_target["invocations"], key=lambda inv: inv["cpu"])
    merge_cpu = target_merge["cpu"]
    merge_io = io_seconds(target_merge["calls"], READ_THREADS)
    wall_min = (math.ceil(target / BATCH / CONCURRENCY) * batch_s + merge_cpu + merge_io) / 60
    print(f"projection to {TARGET_ACCOUNTS} accounts x {len(REGIONS)} regions x {TARGET_DAYS} days "
          f"(S3 GET/HEAD {LATENCY['GetObject'] * 1000:.0f} ms, LIST {LATENCY['ListObjectsV2'] * 1000:.0f} ms, "
          f"{READ_THREADS} threads a part, {CONCURRENCY} parts at once, batches of {BATCH})")
    print(f"  part batch time            {verdict(batch_s, TARGETS['invocation_s'], 's')}")
    print(f"  part peak RSS              {verdict(high['parts']['peak'], TARGETS['peak_mb'], 'MB')}"
          "  (independent of the estate: one account/region at a time)")
    print(f"  merge peak RSS             {verdict(at_target['peak'], TARGETS['peak_mb'], 'MB')}"
          f"  (measured: {target} copies of a {days}-day partial merged)")
    print(f"  merge /tmp                 {verdict(at_target['spooled_mb'], TARGETS['tmp_mb'], 'MB')}  (measured)")
    print(f"  merge time                 {verdict(merge_cpu + merge_io, TARGETS['invocation_s'], 's')}"
          f"  (measured CPU {merge_cpu:.1f} s, S3 at the stated latencies)")
    print(f"  whole pack, wall           {verdict(wall_min, TARGETS['pack_minutes'], 'min')}")
    print(f"  HTML                       {verdict(at_target['html_mb'], TARGETS['html_mb'], 'MB')}  (measured)")
    print(f"  requests {total / scope_days * target * TARGET_DAYS:,.0f}, read "
          f"{read / scope_days * target * TARGET_DAYS / 2**30:.1f} GiB")


if __name__ == "__main__":
    sys.exit(main())
