"""sg_inventory against in-process moto: evidence layout, baselines, failures, write-once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sgwatch import csvio, evidence, snapshots
from sgwatch.rules import SNAPSHOT_HEADER
from sgwatch.sg_inventory import record
from tests.unit.conftest import EVIDENCE_BUCKET

BUCKET = EVIDENCE_BUCKET
PREFIX = "security-groups/"


@pytest.fixture
def aws(evidence_account, monkeypatch):
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
                           "removed", "updated", "exposure_key", "exposed", "rule_review_key", "rule_findings",
                           "rule_review_groups_reviewed"}
    # and the second run's rule review reuses the first's for every group (nothing changed)
    assert second["rule_review_groups_reviewed"] == f"0 of {second['groups']}"


def test_previous_snapshot_is_found_with_one_request_however_long_the_history(aws):
    store = evidence.EvidenceStore(BUCKET)
    series = evidence.series_prefix(PREFIX, "123456789012", "us-east-1", "snapshots")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    from moto.s3.models import s3_backends

    emulated = s3_backends["123456789012"]["aws"]  # the history written straight into the emulator: quicker
    for i in range(1001):  # more than one listing page
        emulated.put_object(BUCKET, series + evidence.stamp(start + timedelta(hours=i)) + ".csv", b"x")
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

    def flaky(ec2, account_id, region, tagged=None):
        if region == "eu-west-1":
            raise RuntimeError("AuthFailure: region disabled")
        return real(ec2, account_id, region, tagged)

    monkeypatch.setattr(handler, "current_rules", flaky)
    with pytest.raises(handler.InventoryFailed, match="eu-west-1"):
        handler.lambda_handler({}, None)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any("/us-east-1/snapshots/" in k for k in keys)
    assert not any("/eu-west-1/snapshots/" in k or "/eu-west-1/diffs/" in k for k in keys)


def test_a_run_whose_describe_fails_releases_its_claim_and_the_retry_does_not_wait(aws):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)

    def throttled() -> list:
        raise RuntimeError("Throttling: rate exceeded")

    with pytest.raises(RuntimeError, match="Throttling"):
        record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", throttled, t0 + timedelta(minutes=1))
    # the retry a minute later (the work queue's) claims the same link at once and writes it
    result = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row(port="3389")],
                                       t0 + timedelta(minutes=2), sleep=lambda s: pytest.fail("nothing to wait for"))
    assert result.diff_key and result.diff.updated == 1
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=result.diff_key)["Metadata"]
    assert metadata["previous-snapshot"] == first.snapshot_key


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
    first = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    # A run claims the successor of the first snapshot and dies before writing it.
    assert record.claim_successor(store, PREFIX, "111122223333", "us-east-1", first.snapshot_key, t0)
    later = t0 + record.CLAIM_STALE + timedelta(minutes=1)
    result = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row(port="3389")], later,
                                       sleep=lambda s: pytest.fail("a stale claim is not waited for"))
    assert result.diff_key and result.diff.updated == 1  # same rule id, port 22 -> 3389
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=result.diff_key)["Metadata"]
    assert metadata["previous-snapshot"] == first.snapshot_key


def test_a_run_that_loses_the_claim_and_never_sees_the_winners_snapshot_writes_nothing(aws, caplog):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    assert record.claim_successor(store, PREFIX, "111122223333", "us-east-1", first.snapshot_key, t0)
    waits: list[float] = []
    result = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()],
                                       t0 + timedelta(seconds=5), sleep=waits.append)
    assert result.skipped and result.snapshot_key is None and result.diff_key is None
    assert waits == list(record.CLAIM_WAITS)
    assert snapshots.latest_snapshot_key(store, PREFIX, "111122223333", "us-east-1") == first.snapshot_key
    assert any('"snapshot_skipped"' in r.getMessage() for r in caplog.records)


def test_a_snapshot_always_sorts_after_the_one_it_follows_even_with_a_slow_clock(aws):
    store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
    first = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0)
    second = record.record_snapshot(store, PREFIX, "111122223333", "us-east-1", [_row()], t0 - timedelta(seconds=2))
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


# ------------------------------------------------------------------ the exposure report

OWN, MEMBER = "123456789012", "222222222222"


def _open(group_id, port, cidr="0.0.0.0/0", session=None):
    ec2 = (session or boto3).client("ec2", region_name="us-east-1")
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}])


def _exposed_network(session=None):
    """The network of tests/module/network.py with SSH open to the world on every group but the backend's."""
    from tests.module.network import build_network

    net = build_network(session)
    for group in (net.public_group_id, net.private_group_id, net.unattached_group_id):
        _open(group, 22, session=session)
    _open(net.load_balancer_group_id, 443, session=session)
    return net


def _member_session():
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/sgwatch-member-read", RoleSessionName="test")["Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"])


def _deny_in_member_accounts(monkeypatch, operation="DescribeLoadBalancers"):
    """The member accounts' role lacks the action of ``operation`` (e.g. a role deployed before it was granted)."""
    from botocore.exceptions import ClientError

    from sgwatch import aws

    real = aws.Target.client

    def client(self, service, region):
        found = real(self, service, region)

        def deny(**_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"not authorized to perform {operation}"}},
                              operation)

        found.meta.events.register_first(f"before-call.*.{operation}", deny, unique_id="deny-" + operation)
        return found

    monkeypatch.setattr(aws.Target, "client", client)


def test_each_run_writes_the_exposure_report_with_the_stamp_of_its_snapshot(aws):
    net = _exposed_network()
    result = _handler().lambda_handler({}, None)["results"][0]

    assert result["exposure_key"] == result["snapshot_key"].replace("/snapshots/", "/exposure/")
    header, *rows = _read(result["exposure_key"])
    assert ",".join(header) == (
        "AccountId,Region,GroupId,GroupName,RuleId,Protocol,FromPort,ToPort,Peer,PeerClass,Severity,ResourceType,"
        "ResourceId,NetworkInterfaceId,PublicIp,SubnetId,RouteTableId,GatewayId,Via")
    found = [dict(zip(header, r, strict=True)) for r in rows]
    shown = sorted((r["GroupId"], r["FromPort"], r["Severity"], r["ResourceType"], r["ResourceId"], r["Via"])
                   for r in found)
    assert shown == sorted([
        (net.public_group_id, "22", "CRITICAL", "instance", net.public_instance_id, "interface"),
        (net.backend_group_id, "8080", "LOW", "load-balancer", net.load_balancer_arn.partition("loadbalancer/")[2],
         f"load-balancer:{net.load_balancer_name}"),
    ])
    instance_row = next(r for r in found if r["Via"] == "interface")
    assert (instance_row["NetworkInterfaceId"], instance_row["PublicIp"], instance_row["SubnetId"],
            instance_row["RouteTableId"], instance_row["GatewayId"], instance_row["PeerClass"]) == (
        net.public_interface_id, net.public_ip, net.public_subnet_id, net.public_route_table_id,
        net.internet_gateway_id, "world")
    assert result["exposed"] == 2
    metadata = boto3.client("s3").head_object(Bucket=BUCKET, Key=result["exposure_key"])["Metadata"]
    assert metadata["snapshot"] == result["snapshot_key"] and metadata["rows"] == "2"


def test_the_severity_is_the_alert_rating_of_the_rule_on_its_group_with_the_authorized_ports(aws, monkeypatch):
    # Given port 8443 authorized and world-open on the exposed instance, next to a world-open 8444
    net = _exposed_network()
    _open(net.public_group_id, 8443)
    _open(net.public_group_id, 8444)
    monkeypatch.setenv("AUTHORIZED_PUBLIC_PORTS", "443,8443")
    result = _handler().lambda_handler({}, None)["results"][0]
    header, *rows = _read(result["exposure_key"])
    levels = {r[header.index("FromPort")]: r[header.index("Severity")] for r in rows
              if r[header.index("GroupId")] == net.public_group_id}
    # Then authorized stays LOW, another port rises MEDIUM -> HIGH, SSH HIGH -> CRITICAL
    assert levels == {"8443": "LOW", "8444": "HIGH", "22": "CRITICAL"}


def test_nothing_exposed_is_a_header_only_report(aws):
    from sgwatch.exposure_report import EXPOSURE_HEADER

    _group(port=22)  # world-open SSH on a group nothing carries
    result = _handler().lambda_handler({}, None)["results"][0]
    assert _read(result["exposure_key"]) == [list(EXPOSURE_HEADER)]
    assert result["exposed"] == 0


def test_exposure_costs_one_call_per_describe_operation_per_region_whatever_the_rules(aws, monkeypatch):
    net = _exposed_network()
    for port in range(1000, 1040):  # many public rules on an exposed group
        _open(net.public_group_id, port)
    calls: list[str] = []
    from sgwatch import aws as sgaws

    real = sgaws.central_client

    def counting(service, region=None):
        found = real(service, region)
        found.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name),
                                   unique_id="count-calls")
        return found

    monkeypatch.setattr(sgaws, "central_client", counting)
    _handler().lambda_handler({}, None)
    exposure_calls = [c for c in calls if c.startswith("Describe") and "SecurityGroup" not in c]
    assert sorted(exposure_calls) == [  # ELBv2's and Classic's DescribeLoadBalancers
        "DescribeLoadBalancers", "DescribeLoadBalancers", "DescribeNetworkInterfaces", "DescribeRouteTables"]


def test_the_exposure_report_is_never_overwritten(aws):
    from sgwatch.exposure import Exposure

    store = evidence.EvidenceStore(BUCKET)
    snapshot_key = evidence.series_prefix(PREFIX, OWN, "us-east-1", "snapshots") + evidence.stamp(
        datetime(2026, 11, 1, 6, tzinfo=UTC)) + ".csv"
    first = record.record_exposure(store, PREFIX, OWN, "us-east-1", snapshot_key, [], Exposure())
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=first.key)["Body"].read()
    with pytest.raises(RuntimeError, match="refusing to overwrite"):
        record.record_exposure(store, PREFIX, OWN, "us-east-1", snapshot_key, [_row()], Exposure())
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=first.key)["Body"].read() == body


def test_member_accounts_are_looked_up_through_their_role_and_reported_under_their_prefix(aws, monkeypatch):
    own = _exposed_network()
    member = _exposed_network(_member_session())
    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    results = {r["account_id"]: r for r in _handler().lambda_handler({}, None)["results"]}
    assert results[MEMBER]["exposure_key"].startswith(f"{PREFIX}{MEMBER}/us-east-1/exposure/")
    member_rows = _read(results[MEMBER]["exposure_key"])[1:]
    own_rows = _read(results[OWN]["exposure_key"])[1:]
    assert {r[2] for r in member_rows} == {member.public_group_id, member.backend_group_id}
    assert {r[2] for r in own_rows} == {own.public_group_id, own.backend_group_id}
    assert {r[0] for r in member_rows} == {MEMBER}


def test_an_exposure_lookup_that_fails_keeps_the_snapshot_and_diff_and_fails_the_pair_loudly(aws, monkeypatch,
                                                                                                caplog):
    # Given a member account whose role may not describe load balancers
    _exposed_network()
    _exposed_network(_member_session())
    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    _handler().lambda_handler({}, None)  # a baseline for both
    _deny_in_member_accounts(monkeypatch)
    caplog.clear()

    # When the inventory runs
    with pytest.raises(_handler().InventoryFailed) as raised:
        _handler().lambda_handler({}, None)

    # Then the run fails naming the member pair and the gap; the member's snapshot and diff are written,
    # and no exposure report pretends nothing is exposed; the own account is complete
    message = str(raised.value)
    assert "1 of 2" in message and f"{MEMBER}/us-east-1" in message and "exposure not looked up" in message
    assert "AccessDenied" in message
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    member_keys = [k for k in keys if k.startswith(f"{PREFIX}{MEMBER}/")]
    assert sum("/snapshots/" in k for k in member_keys) == 2 and sum("/diffs/" in k for k in member_keys) == 1
    assert sum("/exposure/" in k for k in member_keys) == 1  # the baseline run's only
    own_keys = [k for k in keys if k.startswith(f"{PREFIX}{OWN}/")]
    assert sum("/exposure/" in k for k in own_keys) == 2
    logged = [r.getMessage() for r in caplog.records if '"exposure_not_looked_up"' in r.getMessage()]
    assert len(logged) == 1 and MEMBER in logged[0] and "/diffs/" in logged[0] and "AccessDenied" in logged[0]


def test_a_queued_pair_whose_exposure_fails_goes_back_to_the_queue_with_its_snapshot_written(aws, monkeypatch):
    _exposed_network(_member_session())
    monkeypatch.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    _deny_in_member_accounts(monkeypatch, "DescribeNetworkInterfaces")
    event = {"Records": [
        {"messageId": account, "body": f'{{"account_id": "{account}", "region": "us-east-1"}}',
         "eventSource": "aws:sqs"} for account in (OWN, MEMBER)]}
    outcome = _handler().lambda_handler(event, None)
    assert outcome == {"batchItemFailures": [{"itemIdentifier": MEMBER}]}
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(k.startswith(f"{PREFIX}{MEMBER}/us-east-1/snapshots/") for k in keys)
    assert not any(k.startswith(f"{PREFIX}{MEMBER}/us-east-1/exposure/") for k in keys)
