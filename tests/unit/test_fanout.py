"""Fan-out over an SQS work queue: one message per (account, region), failures back to SQS.

The queue is moto's. SendMessageBatch refusals (moto never refuses an entry) use botocore's
Stubber, named in the test that needs it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sgwatch import accounts, aws, fanout
from tests.unit.conftest import EVIDENCE_BUCKET as BUCKET

OWN, MEMBER, BROKEN = "123456789012", "222222222222", "333333333333"


@pytest.fixture
def queue(evidence_account, monkeypatch) -> Any:
    url = boto3.client("sqs").create_queue(QueueName="sgwatch-work")["QueueUrl"]
    monkeypatch.setenv(fanout.WORK_QUEUE_ENV, url)
    return url


def queued(url: str) -> list[dict[str, Any]]:
    """Drain the queue as Lambda's poller does, keeping every message."""
    sqs, found = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages"):
        found += batch
    return found


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event an SQS event source mapping hands to the function."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sgwatch-work",
        "awsRegion": "us-east-1",
    } for m in messages]}


def record(body: Any, message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body),
            "eventSource": "aws:sqs"}


def batch(*pairs: tuple[str, str, str]) -> dict[str, Any]:
    """A batch of queued (account, region) pairs, each with its message id."""
    return {"Records": [record({"account_id": account, "region": region}, mid) for account, region, mid in pairs]}


def snapshot_accounts_and_regions() -> set[tuple[str, str]]:
    contents = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {(k.split("/")[1], k.split("/")[2]) for k in (o["Key"] for o in contents) if "/snapshots/" in k}


def test_a_scheduled_run_queues_one_message_per_account_and_region_and_writes_no_evidence(queue, monkeypatch):
    from sg_inventory import handler

    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER},{BROKEN}")
    monkeypatch.setenv("EXCLUDED_ACCOUNTS", BROKEN)
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1,eu-central-1")
    result = handler.lambda_handler({"source": "aws.scheduler"}, None)
    assert result["queued"] == 6 and result["accounts"] == 2
    assert result["regions"] == ["eu-central-1", "eu-west-1", "us-east-1"]
    items = [json.loads(m["Body"]) for m in queued(queue)]
    assert sorted((i["account_id"], i["region"]) for i in items) == sorted(
        (a, r) for a in (OWN, MEMBER) for r in ("us-east-1", "eu-west-1", "eu-central-1"))
    assert {i["run"] for i in items} == {result["run"]}
    assert snapshot_accounts_and_regions() == set()


def test_queued_pairs_are_each_snapshotted_by_the_runs_they_trigger(queue, monkeypatch):
    from sg_inventory import handler

    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    handler.lambda_handler({}, None)
    messages = queued(queue)
    # Two batches, as the event source mapping would deliver them with a batch size of 3 and 1
    responses = [handler.lambda_handler(sqs_event(batch), None) for batch in (messages[:3], messages[3:])]
    assert responses == [{"batchItemFailures": []}] * 2
    assert snapshot_accounts_and_regions() == {(a, r) for a in (OWN, MEMBER) for r in ("us-east-1", "eu-west-1")}


def test_only_the_failed_and_the_invalid_messages_go_back_to_the_queue(queue, monkeypatch):
    from sg_inventory import handler

    real = accounts.MemberCredentials.for_account

    def flaky(self, account_id):
        if account_id == BROKEN:
            raise RuntimeError("AccessDenied: not authorized to perform sts:AssumeRole")
        return real(self, account_id)

    monkeypatch.setattr(accounts.MemberCredentials, "for_account", flaky)
    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER},{BROKEN},444444444444")
    monkeypatch.setenv("EXCLUDED_ACCOUNTS", "444444444444")
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    event = {"Records": [
        record({"account_id": OWN, "region": "us-east-1"}, "ok-own"),
        record({"account_id": MEMBER, "region": "eu-west-1"}, "ok-member"),
        record({"account_id": MEMBER, "region": "eu-west-1"}, "ok-member-again"),  # delivered twice: one run
        record({"account_id": BROKEN, "region": "us-east-1"}, "broken-account"),
        record("{not json", "not-json"),
        record({"account_id": "555555555555", "region": "us-east-1"}, "not-listed"),
        record({"account_id": "444444444444", "region": "us-east-1"}, "excluded"),
        record({"account_id": OWN, "region": "ap-south-1"}, "region-not-covered"),
        record({"account_id": OWN, "region": "../../etc"}, "not-a-region"),
        record(["a", "list"], "not-an-object"),
    ]}
    response = handler.lambda_handler(event, None)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {"broken-account", "not-json", "not-listed", "excluded", "region-not-covered",
                      "not-a-region", "not-an-object"}
    assert snapshot_accounts_and_regions() == {(OWN, "us-east-1"), (MEMBER, "eu-west-1")}


@pytest.mark.parametrize("body, reason", [
    ("{not json", "not JSON"),
    ('"a string"', "not a JSON object"),
    ('{"account_id": "12345", "region": "us-east-1"}', "not an AWS account id"),
    ('{"account_id": 123456789012, "region": "us-east-1"}', "not an AWS account id"),
    ('{"account_id": "123456789012"}', "not an AWS region"),
    ('{"account_id": "123456789012", "region": "us-west-2"}', "not in REGIONS"),
    ('{"account_id": "999999999999", "region": "us-east-1"}', "not in ACCOUNTS"),
    ('{"account_id": "444444444444", "region": "us-east-1"}', "EXCLUDED_ACCOUNTS"),
])
def test_a_bad_message_gets_a_clear_reason(body, reason):
    with pytest.raises(fanout.BadWorkItem, match=reason):
        fanout.parse_work_item(body, {OWN, MEMBER}, {"444444444444"}, {"us-east-1"})


def join_organisation(count: int) -> list[str]:
    """An organisation (moto's) run from the own account, with ``count`` new member accounts; their ids."""
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    return [org.create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")["CreateAccountStatus"]["AccountId"]
            for i in range(count)]


def calls_to(service: str) -> list[str]:
    """Operations the code under test calls on its own account's ``service`` client, in order."""
    calls: list[str] = []
    aws.central_client(service).meta.events.register(
        f"before-call.{service}.*", lambda model, **kw: calls.append(model.name))
    return calls


def test_with_the_organisation_a_queued_account_outside_it_is_refused_and_never_assumed(queue, monkeypatch, caplog):
    from sg_inventory import handler

    # Given a run over the organisation, and a batch naming one of its accounts and one outside it
    [member] = join_organisation(1)
    assumed: list[str] = []
    aws.central_client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **kw: assumed.append(params["RoleArn"]))
    monkeypatch.setenv("ACCOUNTS_FROM_ORGANIZATIONS", "true")
    # When a batch naming both is processed
    response = handler.lambda_handler(batch((member, "us-east-1", "member"), (BROKEN, "us-east-1", "outsider")), None)
    # Then the outsider goes back to the queue (and so to its dead-letter queue) and no role is assumed in it
    assert response == {"batchItemFailures": [{"itemIdentifier": "outsider"}]}
    assert snapshot_accounts_and_regions() == {(member, "us-east-1")}
    assert [arn for arn in assumed if BROKEN in arn] == []
    rejected = [json.loads(r.getMessage()) for r in caplog.records if '"work_item_rejected"' in r.getMessage()]
    assert [(r["message_id"], r["error"]) for r in rejected] == [
        ("outsider", f"account {BROKEN} is not in ACCOUNTS nor among the organisation's ACTIVE accounts")]


def test_with_the_organisation_an_account_no_longer_active_is_refused(queue, monkeypatch):
    from sg_inventory import handler

    # Given an organisation account suspended after the scheduled run queued its pair
    member, suspended = join_organisation(2)
    aws.central_client("organizations").meta.events.register(
        "after-call.organizations.ListAccounts",
        lambda parsed, **kw: [a.update(State="SUSPENDED") for a in parsed["Accounts"] if a["Id"] == suspended])
    monkeypatch.setenv("ACCOUNTS_FROM_ORGANIZATIONS", "true")
    # When a batch naming both is processed
    response = handler.lambda_handler(
        batch((member, "us-east-1", "member"), (suspended, "us-east-1", "suspended")), None)
    # Then only the ACTIVE account is read
    assert response == {"batchItemFailures": [{"itemIdentifier": "suspended"}]}
    assert snapshot_accounts_and_regions() == {(member, "us-east-1")}


def test_with_the_organisation_a_batch_lists_it_once_not_once_per_message(queue, monkeypatch):
    from sg_inventory import handler

    # Given a batch of six pairs over three organisation accounts, and one excluded account
    members = join_organisation(3)
    calls = calls_to("organizations")
    monkeypatch.setenv("ACCOUNTS_FROM_ORGANIZATIONS", "true")
    monkeypatch.setenv("EXCLUDED_ACCOUNTS", members[2])
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    # When the batch is processed
    response = handler.lambda_handler(
        batch(*[(a, r, f"{a}-{r}") for a in members for r in ("us-east-1", "eu-west-1")]), None)
    # Then the organisation was listed once for the whole batch, and the excluded account refused
    assert calls == ["ListAccounts"]
    assert response == {"batchItemFailures": [{"itemIdentifier": f"{members[2]}-{r}"}
                                              for r in ("us-east-1", "eu-west-1")]}
    assert snapshot_accounts_and_regions() == {(a, r) for a in members[:2] for r in ("us-east-1", "eu-west-1")}


def test_the_unused_audit_fans_out_the_same_way(queue, monkeypatch):
    from unused_sg_audit import handler

    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    monkeypatch.setenv("REGIONS", "us-east-1")
    for name in ("ALERT_TOPIC_ARN", "SECURITYHUB_SYNC", "ALLOW_PARTIAL", "GRACE_DAYS", "EXEMPT_TAG_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert handler.lambda_handler({}, None)["queued"] == 2
    response = handler.lambda_handler(sqs_event(queued(queue)), None)
    assert response == {"batchItemFailures": []}
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert {k.split("/")[1] for k in keys if "/unused/" in k} == {OWN, MEMBER}


def test_without_a_queue_the_run_is_direct(queue, monkeypatch):
    from sg_inventory import handler

    monkeypatch.delenv(fanout.WORK_QUEUE_ENV)
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    result = handler.lambda_handler({}, None)
    assert len(result["results"]) == 2 and queued(queue) == []
    assert snapshot_accounts_and_regions() == {(OWN, "us-east-1"), (OWN, "eu-west-1")}


def test_a_refused_entry_is_sent_again_once_then_the_run_fails_naming_it(queue, monkeypatch):
    # SendMessageBatch answers are stubbed (botocore Stubber): moto never refuses an entry.
    monkeypatch.setenv("ACCOUNTS", ",".join(f"1000000000{i:02d}" for i in range(6)))
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    monkeypatch.setenv("MAX_WORKERS", "1")  # batches in order, as the stubbed answers are
    sqs = aws.central_client("sqs")
    refusal = {"SenderFault": False, "Code": "InternalError", "Message": "try again"}
    with Stubber(sqs) as stub:
        # batch 1 (10 pairs): entry 3 refused, then taken when sent again
        stub.add_response("send_message_batch", {"Successful": [], "Failed": [{"Id": "3", **refusal}]})
        stub.add_response("send_message_batch", {"Successful": [], "Failed": []})
        # batch 2 (2 pairs): entry 1 refused twice
        stub.add_response("send_message_batch", {"Successful": [], "Failed": [{"Id": "1", **refusal}]})
        stub.add_response("send_message_batch", {"Successful": [], "Failed": [{"Id": "0", **refusal}]})
        with pytest.raises(fanout.DispatchFailed) as raised:
            fanout.dispatch(queue)
        stub.assert_no_pending_responses()
    assert str(raised.value) == (
        "1 of 12 account/region pair(s) could not be queued: 100000000005/us-east-1 (InternalError: try again)")


def test_a_batch_the_queue_rejects_whole_is_reported_with_its_pairs(queue, monkeypatch):
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    refused = rf"2 of 2 .*{OWN}/eu-west-1 \(AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(fanout.DispatchFailed, match=refused):
        fanout.dispatch(queue.replace("sgwatch-work", "gone"))


def test_only_sqs_events_are_batches():
    assert fanout.is_queue_event({"Records": [{"eventSource": "aws:sqs"}]})
    assert not fanout.is_queue_event({"Records": [{"eventSource": "aws:s3"}]})
    assert not fanout.is_queue_event({"Records": []})
    assert not fanout.is_queue_event({"source": "aws.scheduler"})
    assert not fanout.is_queue_event(None)


def test_an_estate_wide_failure_names_twenty_pairs_and_logs_every_one(queue, monkeypatch, caplog):
    monkeypatch.setenv("ACCOUNTS", ",".join(f"1000000000{i:02d}" for i in range(30)))
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    with pytest.raises(fanout.DispatchFailed) as raised:
        fanout.dispatch(queue.replace("sgwatch-work", "gone"))
    message = str(raised.value)
    assert message.startswith("60 of 60 account/region pair(s) could not be queued: 100000000000/eu-west-1 (")
    assert message.count("NonExistentQueue:") == 20 and message.endswith("; and 40 more (see the log)")
    logged = [json.loads(r.getMessage()) for r in caplog.records if '"work_not_queued"' in r.getMessage()]
    assert len(logged) == 60 and {(r["account_id"], r["region"]) for r in logged} == {
        (f"1000000000{i:02d}", r) for i in range(30) for r in ("us-east-1", "eu-west-1")}


def test_a_batch_asks_for_its_own_identity_once(queue, monkeypatch):
    from sg_inventory import handler

    calls: list[str] = []
    aws.central_client("sts").meta.events.register(
        "before-call.sts.GetCallerIdentity", lambda **kw: calls.append("GetCallerIdentity"))
    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    event = batch((OWN, "us-east-1", "own"), (MEMBER, "us-east-1", "member"))
    assert handler.lambda_handler(event, None) == {"batchItemFailures": []}
    assert calls == ["GetCallerIdentity"]


class _WorkFailed(RuntimeError):
    pass


def test_one_run_queues_processes_a_batch_or_does_every_pair_and_names_the_failed_ones(queue, monkeypatch):
    # given a function's work of one pair, which fails in eu-west-1
    monkeypatch.setenv("ACCOUNTS", OWN)
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")

    def work(account_id: str, region: str) -> dict[str, Any]:
        if region == "eu-west-1":
            raise ValueError("no such region here")
        return {"account_id": account_id, "region": region}

    # when it is scheduled with the work queue, then the pairs are queued and nothing is done yet
    env = dict(os.environ)
    assert fanout.run({}, work, env, _WorkFailed, "the work")["queued"] == 2
    # when the queue delivers them, then only the failed pair goes back to the queue
    messages = queued(queue)
    failed = fanout.run(sqs_event(messages), work, env, _WorkFailed, "the work")["batchItemFailures"]
    assert failed == [{"itemIdentifier": m["MessageId"]} for m in messages if "eu-west-1" in m["Body"]]
    # when it runs directly (no queue), then the other pairs are done and the run fails naming the failed one
    del env[fanout.WORK_QUEUE_ENV]
    with pytest.raises(_WorkFailed) as raised:
        fanout.run({}, work, env, _WorkFailed, "the work", {"bucket": BUCKET})
    assert str(raised.value) == (f"the work failed for 1 of 2 account/region pair(s): {OWN}/eu-west-1 "
                                 "(ValueError: no such region here)")
    # and a direct run without failures returns the summary, the results and the skipped accounts
    assert fanout.run({}, work, {**env, "REGIONS": "us-east-1"}, _WorkFailed, "the work", {"bucket": BUCKET}) == {
        "bucket": BUCKET, "results": [{"account_id": OWN, "region": "us-east-1"}], "skipped_accounts": 0}
