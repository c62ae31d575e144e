"""sg_inventory against in-process moto: evidence layout, baselines, failures, write-once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from sgwatch import csvio, evidence, snapshots
from sgwatch.rules import SNAPSHOT_HEADER

BUCKET = "evidence"
PREFIX = "security-groups/"


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("EVIDENCE_BUCKET", BUCKET)
        monkeypatch.delenv("EVIDENCE_PREFIX", raising=False)
        monkeypatch.delenv("REGIONS", raising=False)
        yield


def _handler():
    from sg_inventory import handler

    return handler


def _group(name="web", cidr="0.0.0.0/0", port=443, region="us-east-1"):
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                                     "IpRanges": [{"CidrIp": cidr}]}])
    return gid


def _read(key):
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(body)))


def test_first_run_is_a_baseline_then_a_diff_is_always_written(aws):
    _group()
    first = _handler().lambda_handler({}, None)
    (result,) = first["results"]
    assert first["bucket"] == BUCKET
    assert result["diff_key"] is None and result["rules"] >= 1 and result["groups"] >= 2
    assert _read(result["snapshot_key"])[0] == list(SNAPSHOT_HEADER)

    # Nothing changed: the diff is written anyway, header only ("checked, no change").
    second = _handler().lambda_handler({}, None)["results"][0]
    assert second["diff_key"].startswith(f"{PREFIX}123456789012/us-east-1/diffs/")
    assert _read(second["diff_key"]) == [["ChangeType", *SNAPSHOT_HEADER]]
    assert (second["added"], second["removed"], second["updated"]) == (0, 0, 0)
    assert set(result) == {"account_id", "region", "snapshot_key", "diff_key", "groups", "rules", "added",
                           "removed", "updated"}


def test_previous_snapshot_is_found_with_one_request_however_long_the_history(aws):
    store = evidence.EvidenceStore(BUCKET)
    series = evidence.series_prefix(PREFIX, "123456789012", "us-east-1", "snapshots")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1001):  # more than one listing page
        store.put_new(series + evidence.stamp(start + timedelta(hours=i)) + ".csv", b"x")
    newest = series + evidence.stamp(start + timedelta(hours=1000)) + ".csv"
    calls = []
    store.s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append(1))
    assert store.latest_key(series) == newest
    assert len(calls) == 1


def test_keys_encode_their_utc_time():
    now = datetime(2026, 7, 1, 12, 30, 5, 123000, tzinfo=UTC)
    key = "p/1/r/snapshots/" + evidence.stamp(now) + ".csv"
    assert "20260701T123005123Z" in key
    assert evidence.stamp_time(key) == now
    assert evidence.stamp(now) < evidence.stamp(now - timedelta(milliseconds=1))  # newest sorts first


def test_evidence_is_never_overwritten(aws):
    store = evidence.EvidenceStore(BUCKET)
    assert store.put_new("k", b"first") is True
    assert store.put_new("k", b"second") is False
    assert store.get("k").body == b"first"


@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body[: len(body) // 2],  # truncated mid-row
        lambda body: body.split(b"\n", 1)[0] + b"\n",  # truncated at a row boundary
        lambda body: body.replace(b"AccountId", b"Account"),  # another header
        lambda body: b"\xff\xfe garbage",
    ],
)
def test_unusable_previous_snapshot_gives_a_new_baseline_and_stays_untouched(aws, damage):
    _group()
    baseline = _handler().lambda_handler({}, None)["results"][0]["snapshot_key"]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=baseline)["Body"].read()
    # A newer, damaged snapshot with the metadata of the original (sorts first: newest).
    damaged_key = baseline.replace("/snapshots/", "/snapshots/0")
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=baseline)["Metadata"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=damaged_key, Body=damage(body), Metadata=metadata)

    result = _handler().lambda_handler({}, None)["results"][0]

    assert result["diff_key"] is None
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=damaged_key)["Body"].read() == damage(body)


def test_a_failing_region_does_not_stop_the_others(aws, monkeypatch):
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    handler = _handler()
    real = handler.current_rules

    def flaky(ec2, account_id, region):
        if region == "eu-west-1":
            raise RuntimeError("AuthFailure: region disabled")
        return real(ec2, account_id, region)

    monkeypatch.setattr(handler, "current_rules", flaky)
    with pytest.raises(handler.InventoryFailed, match="eu-west-1"):
        handler.lambda_handler({}, None)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any("/us-east-1/snapshots/" in k for k in keys)
    assert not any("/eu-west-1/" in k for k in keys)


def test_regions_are_each_snapshotted(aws, monkeypatch):
    monkeypatch.setenv("REGIONS", "eu-west-1, us-east-1")
    _group(region="eu-west-1")
    results = _handler().lambda_handler({}, None)["results"]
    assert sorted(r["region"] for r in results) == ["eu-west-1", "us-east-1"]


def test_missing_bucket_setting_is_a_clear_error(aws, monkeypatch):
    monkeypatch.delenv("EVIDENCE_BUCKET")
    with pytest.raises(ValueError, match="EVIDENCE_BUCKET"):
        _handler().lambda_handler({}, None)


def test_csv_round_trip_detects_truncation():
    doc = csvio.to_csv(("a", "b"), [("1", "2"), ("3", "4")])
    assert csvio.from_csv(doc.body, ("a", "b"), doc.rows, doc.sha256) == [("1", "2"), ("3", "4")]
    with pytest.raises(csvio.CsvFormatError):
        csvio.from_csv(doc.body[:-4], ("a", "b"), doc.rows)
    with pytest.raises(csvio.CsvFormatError, match="rows"):
        csvio.from_csv(b"a,b\n1,2\n", ("a", "b"), 2)


def test_describe_uses_the_maximum_page_size(aws):
    ec2 = boto3.client("ec2")
    seen = []
    ec2.meta.events.register("before-parameter-build.ec2.*", lambda params, **kw: seen.append(params.get("MaxResults")))
    snapshots.describe_groups(ec2)
    list(snapshots.describe_rules(ec2))
    assert seen == [1000, 1000]


def _row(group="sg-1", port="22"):
    return ("111122223333", "us-east-1", "vpc-1", group, "g", "d", "Ingress", "sgr-1", "tcp", port, port, "CIDR",
            "0.0.0.0/0", "")


def test_a_claim_left_by_a_run_that_died_is_superseded_once_stale(aws):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    # A run claims the successor of the first snapshot and dies before writing it.
    assert snapshots.claim_successor(store, PREFIX, "111122223333", "us-east-1", first.snapshot_key, t0)
    later = t0 + snapshots.CLAIM_STALE + timedelta(minutes=1)
    result = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row(port="3389")], later,
                                       sleep=lambda s: pytest.fail("a stale claim is not waited for"))
    assert result.diff_key and result.diff.updated == 1  # same rule id, port 22 -> 3389
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=result.diff_key)["Metadata"]
    assert metadata["previous-snapshot"] == first.snapshot_key


def test_a_run_that_loses_the_claim_and_never_sees_the_winners_snapshot_writes_nothing(aws, caplog):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    assert snapshots.claim_successor(store, PREFIX, "111122223333", "us-east-1", first.snapshot_key, t0)
    waits: list[float] = []
    result = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()],
                                       t0 + timedelta(seconds=5), sleep=waits.append)
    assert result.skipped and result.snapshot_key is None and result.diff_key is None
    assert waits == list(snapshots.CLAIM_WAITS)
    assert snapshots.latest_snapshot_key(store, PREFIX, "111122223333", "us-east-1") == first.snapshot_key
    assert any('"snapshot_skipped"' in r.getMessage() for r in caplog.records)


def test_a_snapshot_always_sorts_after_the_one_it_follows_even_with_a_slow_clock(aws):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    second = snapshots.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0 - timedelta(seconds=2))
    assert snapshots.latest_snapshot_key(store, PREFIX, "111122223333", "us-east-1") == second.snapshot_key
    assert evidence.stamp_time(second.snapshot_key) == t0 + timedelta(milliseconds=1)
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key=second.diff_key)["Metadata"]["previous-snapshot"] == \
        first.snapshot_key


def _break_snapshot_reads(monkeypatch, failures: int) -> list[str]:
    """The next ``failures`` reads of a snapshot body end in a connection reset (botocore does not retry them)."""
    from botocore.exceptions import ResponseStreamingError
    from botocore.response import StreamingBody

    real, broken = StreamingBody.read, []

    def read(self, *args, **kwargs):
        if len(broken) < failures:
            broken.append("reset")
            raise ResponseStreamingError(error=ConnectionResetError(104, "Connection reset by peer"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(StreamingBody, "read", read)
    return broken


def test_a_connection_reset_while_reading_the_previous_snapshot_is_retried_and_the_change_diffed(aws, monkeypatch):
    gid = _group(port=443)
    _handler().lambda_handler({}, None)
    boto3.client("ec2").authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    broken = _break_snapshot_reads(monkeypatch, failures=1)
    result = _handler().lambda_handler({}, None)["results"][0]
    assert broken == ["reset"]
    assert result["diff_key"] and result["added"] == 1


def test_a_previous_snapshot_that_stays_unreadable_fails_the_pair_and_never_rebaselines(aws, monkeypatch):
    _group()
    first = _handler().lambda_handler({}, None)["results"][0]["snapshot_key"]
    _break_snapshot_reads(monkeypatch, failures=100)
    with pytest.raises(_handler().InventoryFailed, match="us-east-1"):
        _handler().lambda_handler({}, None)
    snapshots_now = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
                     if "/snapshots/" in o["Key"]]
    assert snapshots_now == [first]  # no new baseline: the next run diffs against the same snapshot


def test_a_new_baseline_says_why_in_its_metadata(aws):
    _group()
    baseline = _handler().lambda_handler({}, None)["results"][0]["snapshot_key"]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=baseline)["Body"].read()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=baseline.replace("/snapshots/", "/snapshots/0"),
                                  Body=body[: len(body) // 2])
    result = _handler().lambda_handler({}, None)["results"][0]
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=result["snapshot_key"])["Metadata"]
    assert metadata["baseline-reason"].startswith("previous snapshot security-groups/")
