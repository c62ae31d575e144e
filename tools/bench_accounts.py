#!/usr/bin/env python3
"""How long one inventory run takes over 100 accounts x 4 regions (in-process emulator),
and what the fan-out over an SQS work queue (``fan_out = true``) changes.

Each account gets 5 security groups with 3 rules in each of 4 regions. The direct run
assumes the member role in every account (once), snapshots every (account, region) pair
with MAX_WORKERS pairs at a time, and writes the evidence centrally. Wall time is reported
per worker count together with the emulator's own cost per AWS call, from which the
estimate for real AWS (where each call waits on the network) is derived.

The fan-out part times the scheduled run that only queues the pairs (for this estate and
for 10,000 pairs), then the queued runs on batches of 10, one after the other, and derives
what a given maximum concurrency covers within a day.
"""

from __future__ import annotations

import collections
import os
import statistics
import sys
import threading
import time

for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_REGION": "us-east-1"}.items():
    os.environ[key] = value
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402  (after the credentials above)
from botocore.awsrequest import AWSResponse  # noqa: E402  (after the credentials above)
from botocore.client import BaseClient  # noqa: E402  (after the credentials above)
from moto import mock_aws  # noqa: E402  (after the credentials above)

ACCOUNTS, REGIONS, GROUPS, RULES = 100, ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"], 5, 3
REAL_CALL_SECONDS = 0.25  # a typical API round trip from Lambda, incl. TLS reuse
BATCH = 10  # the work queue's event source mapping batch size
SEND_SECONDS = 0.03  # a SendMessageBatch round trip within a region
LARGE_ESTATE_ACCOUNTS = 2500  # x 4 regions = 10,000 pairs queued by one scheduled run


def populate(account_ids: list[str]) -> None:
    for account in account_ids:
        credentials = boto3.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/sgwatch-member-read", RoleSessionName="seed")["Credentials"]
        session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                        aws_secret_access_key=credentials["SecretAccessKey"],
                                        aws_session_token=credentials["SessionToken"])
        for region in REGIONS:
            ec2 = session.client("ec2", region_name=region)
            vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
            for g in range(GROUPS):
                gid = ec2.create_security_group(GroupName=f"g{g}", Description="bench", VpcId=vpc)["GroupId"]
                ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 443 + r, "ToPort": 443 + r,
                     "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
                    for r in range(RULES)])


class CallCounter:
    """The AWS calls every client makes while counting (each operation once per request, retries aside)."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._original = BaseClient._make_api_call

    def __enter__(self) -> CallCounter:
        counter, original = self, self._original

        def counted(client: BaseClient, operation: str, params: dict) -> dict:
            with counter._lock:
                counter.calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]


def main() -> int:
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="bench-evidence")
        account_ids = [f"{100000000000 + i:012d}" for i in range(ACCOUNTS)]
        start = time.monotonic()
        populate(account_ids)
        elapsed = time.monotonic() - start
        print(f"seeded {ACCOUNTS} accounts x {len(REGIONS)} regions x {GROUPS} groups in {elapsed:.0f} s")
        os.environ.update({"EVIDENCE_BUCKET": "bench-evidence", "ACCOUNTS": ",".join(account_ids),
                           "REGIONS": ",".join(REGIONS)})
        import logging

        from sg_inventory import handler
        from sgwatch import aws

        logging.getLogger("sgwatch").setLevel(logging.WARNING)  # one log line per pair would swamp the figures

        pairs = ACCOUNTS * len(REGIONS)
        for workers in (8, 16):
            os.environ["MAX_WORKERS"] = str(workers)
            with CallCounter() as counter:
                start = time.monotonic()
                result = handler.lambda_handler({}, None)
                elapsed = time.monotonic() - start
            assert len(result["results"]) == pairs
            per_pair = elapsed * workers / pairs
            print(f"MAX_WORKERS={workers:2}: {pairs} pairs in {elapsed:.1f} s wall "
                  f"({per_pair:.2f} s per pair per worker on the emulator)")
        # The calls of the last direct run: one AssumeRole per account, the rest per (account, region) pair.
        assume_roles = counter.calls.pop("sts:AssumeRole", 0)
        per_pair = sum(counter.calls.values()) / pairs
        print(f"AWS calls per pair: {per_pair:.1f} (" + ", ".join(
            f"{name} {n / pairs:.2g}" for name, n in counter.calls.most_common()) + f"), plus {assume_roles} "
            f"AssumeRole for {ACCOUNTS} accounts")
        real_pair = (per_pair + assume_roles / pairs) * REAL_CALL_SECONDS
        for workers in (8, 16, 32):
            ceiling = int(840 / real_pair * workers)  # 14 of Lambda's 15 minutes
            print(f"estimate on AWS at {REAL_CALL_SECONDS * 1000:.0f} ms per call, MAX_WORKERS={workers}: "
                  f"{pairs} pairs in ~{pairs / workers * real_pair:.0f} s; ceiling of one run ~{ceiling} pairs")
        fan_out(handler, aws, account_ids, per_pair * REAL_CALL_SECONDS)
    return 0


def sqs_event(messages: list[dict]) -> dict:
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "eventSource": "aws:sqs"} for m in messages]}


def drain(sqs, url: str) -> list[dict]:
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3600).get("Messages"):
        found += batch
    return found


def fan_out(handler, aws, account_ids: list[str], real_pair: float) -> None:
    """``real_pair``: the network wait of one pair's calls on AWS, its member role already assumed."""
    print("fan-out (fan_out = true): the scheduled run queues the pairs, queued runs take batches of 10")
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="bench-work")["QueueUrl"]
    os.environ.update({"WORK_QUEUE_URL": url, "MAX_WORKERS": "8"})
    pairs = len(account_ids) * len(REGIONS)

    start = time.monotonic()
    queued = handler.lambda_handler({}, None)["queued"]
    print(f"  scheduled run: queued {queued} pairs in {time.monotonic() - start:.2f} s")
    messages = drain(sqs, url)
    assert len(messages) == pairs, len(messages)

    seconds = []
    for i in range(0, len(messages), BATCH):
        start = time.monotonic()
        response = handler.lambda_handler(sqs_event(messages[i:i + BATCH]), None)
        seconds.append(time.monotonic() - start)
        assert response == {"batchItemFailures": []}, response
    print(f"  queued runs: {len(seconds)} batches of {BATCH}, median {statistics.median(seconds):.2f} s, "
          f"max {max(seconds):.2f} s, {sum(seconds):.1f} s back to back on the emulator")

    # 10,000 pairs: the emulator's queue costs O(messages) per message sent, so here SQS answers from
    # a botocore before-call hook (no request is made) and the figure is the scheduled run's own cost.
    large = [f"{200000000000 + i:012d}" for i in range(LARGE_ESTATE_ACCOUNTS)]
    os.environ["ACCOUNTS"] = ",".join(large)
    sent: list[int] = []

    def entries(params, context, **_):
        context["bench_ids"], context["bench_url"] = [e["Id"] for e in params["Entries"]], params["QueueUrl"]

    def answer(context, **_):
        sent.append(len(context["bench_ids"]))
        sent_ok = [{"Id": i, "MessageId": i, "MD5OfMessageBody": "-"} for i in context["bench_ids"]]
        return AWSResponse(context["bench_url"], 200, {}, None), {"Successful": sent_ok, "Failed": []}

    events = aws.central_client("sqs").meta.events
    events.register("before-parameter-build.sqs.SendMessageBatch", entries)
    events.register("before-call.sqs.SendMessageBatch", answer)
    start = time.monotonic()
    queued = handler.lambda_handler({}, None)["queued"]
    elapsed = time.monotonic() - start
    assert sum(sent) == queued == LARGE_ESTATE_ACCOUNTS * len(REGIONS)
    print(f"  scheduled run: {queued} pairs ({LARGE_ESTATE_ACCOUNTS} accounts) in {len(sent)} SendMessageBatch "
          f"calls, {elapsed:.2f} s of its own; on AWS at {SEND_SECONDS * 1000:.0f} ms a call with 8 workers "
          f"~{elapsed + len(sent) * SEND_SECONDS / 8:.0f} s")

    # On AWS: a batch assumes up to 10 roles and runs its pairs MAX_WORKERS at a time.
    batch_seconds = BATCH * REAL_CALL_SECONDS + -(-BATCH // 8) * real_pair
    estate = LARGE_ESTATE_ACCOUNTS * len(REGIONS)
    for concurrency in (5, 20, 100):
        minutes = estate / BATCH * batch_seconds / concurrency / 60
        per_day = int(86400 / batch_seconds * BATCH * concurrency)
        print(f"  estimate on AWS: ~{batch_seconds:.1f} s a batch; max_concurrency={concurrency}: {estate} pairs "
              f"in ~{minutes:.0f} min, ~{per_day // 1000}k pairs a day")


if __name__ == "__main__":
    sys.exit(main())
