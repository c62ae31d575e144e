"""Handlers run as Lambda runs them: one warm process, invocation after invocation, many accounts.

Member accounts are reached through ``sts:AssumeRole``; moto maps the returned credentials to
the target account. Nothing in this file resets module state between invocations: what one
invocation leaves behind is exactly what the next one gets, as in a warm Lambda container.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import threading
from collections import Counter
from typing import Any

import boto3
import botocore.client
import pytest

from sgwatch import accounts, aws, fanout
from tests.unit.conftest import EVIDENCE_BUCKET as BUCKET
from tests.unit.test_fanout import queued, sqs_event

MEMBERS = [f"{500000000000 + i:012d}" for i in range(20)]


@pytest.fixture
def estate(evidence_account) -> dict[str, set[str]]:
    """Each member account holds two groups of its own; returns account -> its group ids."""
    groups = {}
    for account in MEMBERS:
        ec2 = member_client(account, "ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        groups[account] = {
            ec2.create_security_group(GroupName=f"{account}-{i}", Description="x", VpcId=vpc)["GroupId"]
            for i in range(2)
        } | {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "default"}
    return groups


def member_client(account: str, service: str) -> Any:
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{accounts.DEFAULT_MEMBER_ROLE}", RoleSessionName="seed")["Credentials"]
    return boto3.client(service, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def body(key: str) -> str:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def groups_in_snapshot(key: str) -> set[str]:
    return {row["GroupId"] for row in csv.DictReader(io.StringIO(body(key)))}


def keys(kind: str) -> list[str]:
    paginator = boto3.client("s3").get_paginator("list_objects_v2")
    return [o["Key"] for page in paginator.paginate(Bucket=BUCKET) for o in page.get("Contents", [])
            if f"/{kind}/" in o["Key"]]


def live_clients() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, botocore.client.BaseClient))


def test_queued_batches_of_one_pair_each_label_every_snapshot_with_its_own_account(estate, monkeypatch):
    from sg_inventory import handler

    url = boto3.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv(fanout.WORK_QUEUE_ENV, url)
    monkeypatch.setenv("ACCOUNTS", ",".join(MEMBERS))
    for _ in range(2):  # two scheduled rounds, each pair in its own queued invocation
        assert handler.lambda_handler({}, None)["queued"] == len(MEMBERS)
        for message in queued(url):
            assert handler.lambda_handler(sqs_event([message]), None) == {"batchItemFailures": []}
    snapshots = keys("snapshots")
    assert len(snapshots) == 2 * len(MEMBERS)
    wrong = [k for k in snapshots if groups_in_snapshot(k) != estate[k.split("/")[1]]]
    assert wrong == []


def test_the_unused_audit_reports_each_account_on_its_own_groups_across_warm_batches(estate, monkeypatch):
    from unused_sg_audit import handler

    url = boto3.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv(fanout.WORK_QUEUE_ENV, url)
    monkeypatch.setenv("ACCOUNTS", ",".join(MEMBERS))
    handler.lambda_handler({}, None)
    for message in queued(url):
        assert handler.lambda_handler(sqs_event([message]), None) == {"batchItemFailures": []}
    reports = [k for k in keys("unused") if k.endswith(".json")]
    assert len(reports) == len(MEMBERS)
    for key in reports:
        report = json.loads(body(key))
        named = {g["group_id"] for g in report["unused"]} | set(report["in_use"]) | {
            g for section in ("exempt", "in_grace", "default", "undetermined") for g in report[section]}
        assert named and named <= estate[key.split("/")[1]], key


def test_nothing_a_run_reads_in_member_accounts_outlives_the_run(estate, monkeypatch):
    """Adding accounts adds credentials, not clients and models that stay in memory."""
    from sg_inventory import handler

    url = boto3.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv(fanout.WORK_QUEUE_ENV, url)
    monkeypatch.setenv("ACCOUNTS", ",".join(MEMBERS))
    handler.lambda_handler({}, None)
    messages = queued(url)
    after: list[int] = []
    for i in range(0, len(messages), 5):  # four warm batches of five new accounts
        assert handler.lambda_handler(sqs_event(messages[i:i + 5]), None) == {"batchItemFailures": []}
        after.append(live_clients())
    assert after == [after[0]] * len(after), after

    monkeypatch.delenv(fanout.WORK_QUEUE_ENV)
    handler.lambda_handler({}, None)  # one direct run over all twenty accounts
    assert live_clients() == after[0]


def organization_states(monkeypatch, states: dict[str, str]) -> None:
    """ListAccounts as AWS answers it today: ``State`` (``Status`` is retired and may be absent)."""
    def answer(parsed, **_):
        for account in parsed.get("Accounts", []):
            if account["Id"] in states:
                account["State"] = states[account["Id"]]
                account.pop("Status", None)

    aws.central_client("organizations").meta.events.register("after-call.organizations.ListAccounts", answer)


def test_only_active_organisation_accounts_are_read_and_the_others_are_counted_not_failed(estate, monkeypatch, caplog):
    from sg_inventory import handler

    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = [org.create_account(AccountName=f"a{i}", Email=f"a{i}@example.com")["CreateAccountStatus"]["AccountId"]
               for i in range(5)]
    # Status (retired) still says ACTIVE where it is present; State is what counts.
    org_states = {created[0]: "SUSPENDED", created[1]: "PENDING_CLOSURE", created[2]: "CLOSED", created[3]: "ACTIVE"}
    organization_states(monkeypatch, org_states)
    monkeypatch.setenv("ACCOUNTS_FROM_ORGANIZATIONS", "true")
    real = accounts.assume_role

    def only_active(*args, **kwargs):
        assert args[0] not in created[:3], f"assumed a role in {args[0]}, which is not ACTIVE"
        return real(*args, **kwargs)

    monkeypatch.setattr(accounts, "assume_role", only_active)
    result = handler.lambda_handler({}, None)
    assert result["skipped_accounts"] == 3
    done = {r["account_id"] for r in result["results"]}
    assert created[3] in done and created[4] in done and not done & set(created[:3])
    skipped = [json.loads(r.getMessage()) for r in caplog.records if '"account_skipped"' in r.getMessage()]
    assert sorted((s["account_id"], s["state"]) for s in skipped) == sorted(
        (a, s) for a, s in org_states.items() if s != "ACTIVE")


def test_two_runs_of_one_pair_at_the_same_moment_count_each_change_once(estate, monkeypatch):
    from sg_inventory import handler
    from sgwatch.evidence import EvidenceStore

    account = MEMBERS[0]
    monkeypatch.setenv("ACCOUNTS", account)
    handler.lambda_handler({}, None)  # the previous snapshot both runs will find
    group = sorted(estate[account])[0]
    member_client(account, "ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    # Both runs read the previous snapshot before either writes anything.
    barrier, waited, real_put = threading.Barrier(2, timeout=30), set(), EvidenceStore.put_new

    def interleaved(self, *args, **kwargs):
        me = threading.get_ident()
        if me not in waited:
            waited.add(me)
            barrier.wait()
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(EvidenceStore, "put_new", interleaved)
    results, errors = [], []

    def run():
        try:
            results.append(handler.lambda_handler({}, None))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []

    diffs = keys("diffs")
    previous = [boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["Metadata"]["previous-snapshot"] for k in diffs]
    assert len(previous) == len(set(previous)), "two diffs against the same previous snapshot"
    added = Counter(row["GroupId"] for k in diffs for row in csv.DictReader(io.StringIO(body(k)))
                    if row["ChangeType"] == "Added" and row["FromPort"] == "22")
    assert added == {group: 1}
