"""The inventory's rule review: a write-once report beside each snapshot, from the rules' and groups' tags,
the register (read once per run) and DescribeStaleSecurityGroups (a loopback fake in AWS's documented shape:
the emulator lacks the operation)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from sgwatch import evidence, exposure, rule_review_record as review_record
from sgwatch.evidence import EvidenceStore
from sgwatch.justification import Sources
from sgwatch.rule_review import REVIEW_HEADER, Region, review
from tests.unit.conftest import EVIDENCE_BUCKET
from tests.unit.fake_ec2_query import FakeEc2Server

ACCOUNT = "123456789012"


@pytest.fixture
def aws(evidence_account, monkeypatch):
    monkeypatch.delenv("REGIONS", raising=False)
    for name in ("RULE_REVIEW_TAG_KEYS", "RULE_REVIEW_REGISTER_BUCKET", "RULE_REVIEW_REGISTER_KEY",
                 "JUSTIFICATION_WARNING_DAYS", "PRIVATE_PEERS_JUSTIFIED"):
        monkeypatch.delenv(name, raising=False)
    yield


def _run() -> dict[str, Any]:
    from sg_inventory import handler

    return handler.lambda_handler({}, None)


def _group(name, port=443, cidr="0.0.0.0/0", group_tags=None, rule_tags=None, region="us-east-1"):
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in group_tags.items()]}] \
        if group_tags else []
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc, TagSpecifications=spec)["GroupId"]
    rule_spec = [{"ResourceType": "security-group-rule",
                  "Tags": [{"Key": k, "Value": v} for k, v in rule_tags.items()]}] if rule_tags else []
    ec2.authorize_security_group_ingress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                                     "IpRanges": [{"CidrIp": cidr}]}], TagSpecifications=rule_spec)
    return gid


def _report(key) -> list[dict[str, str]]:
    body = boto3.client("s3").get_object(Bucket=EVIDENCE_BUCKET, Key=key)["Body"].read().decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert tuple(rows[0]) == REVIEW_HEADER
    return [dict(zip(REVIEW_HEADER, r, strict=True)) for r in rows[1:]]


def test_each_run_writes_the_rule_review_with_the_stamp_of_its_snapshot(aws):
    untagged = _group("untagged", port=22)
    by_rule = _group("by-rule", port=80, rule_tags={"justification": "public web", "owner": "team-web"})
    by_group = _group("by-group", port=443, group_tags={"justification": "partner feed", "owner": "team-feed",
                                                        "expires": "2000-01-01"})
    (result,) = _run()["results"]
    key = result["rule_review_key"]
    assert key == f"security-groups/{ACCOUNT}/us-east-1/rule-review/{evidence.key_stem(result['snapshot_key'])}.csv"
    rows = _report(key)
    found = {(r["GroupId"], r["Finding"], r["JustifiedBy"], r["Owner"]) for r in rows}
    assert (untagged, "unjustified", "none", "") in found
    assert (by_group, "expired", "group-tag", "team-feed") in found
    assert (by_group, "unjustified", "none", "") not in found  # the group's tags hold for its egress rule too
    assert (by_rule, "unjustified", "none", "") in found  # its egress rule, which the rule tags do not name
    assert not [r for r in rows if r["GroupId"] == by_rule and r["Direction"] == "ingress"]
    assert result["rule_findings"] == len(rows)
    head = boto3.client("s3").head_object(Bucket=EVIDENCE_BUCKET, Key=key)
    assert head["Metadata"]["snapshot"] == result["snapshot_key"]


def test_the_organisations_tag_keys_are_read(aws, monkeypatch):
    monkeypatch.setenv("RULE_REVIEW_TAG_KEYS", '{"justification": "sec:why", "owner": "sec:who"}')
    gid = _group("tagged", port=22, rule_tags={"sec:why": "vendor access", "sec:who": "team-x"})
    other = _group("default-keys", port=80, rule_tags={"justification": "not our key"})
    rows = [r for r in _report(_run()["results"][0]["rule_review_key"]) if r["Direction"] == "ingress"]
    assert not [r for r in rows if r["GroupId"] == gid]
    assert [r["Finding"] for r in rows if r["GroupId"] == other] == ["unjustified"]


REGISTER = (b"GroupId,GroupName,Direction,Protocol,FromPort,ToPort,Peer,Justification,Owner,Ticket,Expires\n"
            b",registered-*,ingress,tcp,443,443,,in the register,team-reg,CHG-9,\n")


def _register(monkeypatch, body=REGISTER):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="register")
    s3.put_object(Bucket="register", Key="rules/register.csv", Body=body)
    monkeypatch.setenv("RULE_REVIEW_REGISTER_BUCKET", "register")
    monkeypatch.setenv("RULE_REVIEW_REGISTER_KEY", "rules/register.csv")


def test_the_register_justifies_what_it_matches_and_is_read_once_per_run(aws, monkeypatch):
    _register(monkeypatch)
    monkeypatch.setenv("REGIONS", "us-east-1,eu-west-1")
    registered = [_group("registered-a", region=region) for region in ("us-east-1", "eu-west-1")]
    reads = []
    boto3.setup_default_session()  # the function's clients come from the process's session: count on all of them
    boto3.DEFAULT_SESSION.events.register(
        "before-parameter-build.s3.GetObject",
        lambda params, **_: reads.append(params["Key"]) if params["Bucket"] == "register" else None)
    results = _run()["results"]
    assert len(results) == 2 and reads == ["rules/register.csv"]
    for result, gid in zip(sorted(results, key=lambda r: r["region"] != "us-east-1"), registered, strict=True):
        rows = _report(result["rule_review_key"])
        assert not [r for r in rows if r["GroupId"] == gid and r["Direction"] == "ingress"]


def test_a_register_that_is_not_a_register_fails_each_pair_loudly_after_its_snapshot(aws, monkeypatch):
    _register(monkeypatch, b"Group,Why\nsg-1,x\n")
    _group("registered-a")
    with pytest.raises(RuntimeError, match="rule review not written.*unexpected header"):
        _run()
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=EVIDENCE_BUCKET)["Contents"]]
    assert any("/snapshots/" in k for k in keys) and not any("/rule-review/" in k for k in keys)


def test_the_rule_review_is_never_overwritten(aws):
    from sgwatch.justification import Sources

    store = EvidenceStore(EVIDENCE_BUCKET)
    snapshot_key = f"p/{ACCOUNT}/r/snapshots/{evidence.stamp(datetime.now(UTC))}.csv"
    review_record.record_review(store, "p/", ACCOUNT, "r", snapshot_key, [], Sources(), Region())
    with pytest.raises(RuntimeError, match="refusing to overwrite"):
        review_record.record_review(store, "p/", ACCOUNT, "r", snapshot_key, [], Sources(), Region())


# ------------------------------------------------------------------ DescribeStaleSecurityGroups


class FakeStale:
    """DescribeStaleSecurityGroups as documented: one VPC a call (VpcId required), MaxResults 5-255, NextToken."""

    def __init__(self, by_vpc: dict[str, list[dict[str, Any]]]) -> None:
        self.by_vpc = by_vpc
        self.calls: list[dict[str, list[str]]] = []

    def handle(self, action: str, params: dict[str, list[str]]) -> tuple[int, Any]:
        self.calls.append(params)
        assert action == "DescribeStaleSecurityGroups"
        size = int(params["MaxResults"][0])
        assert 5 <= size <= 255
        start = int(params.get("NextToken", ["0"])[0])
        groups = self.by_vpc.get(params["VpcId"][0], [])
        page: dict[str, Any] = {"StaleSecurityGroupSet": groups[start:start + size]}
        if start + size < len(groups):
            page["NextToken"] = str(start + size)
        return 200, page


def _stale_group(group_id, referenced, peering="pcx-1", egress=False):
    pair = {"GroupId": referenced, "UserId": "444455556666", "VpcId": "vpc-peer", "PeeringStatus": "deleted",
            "VpcPeeringConnectionId": peering}
    permission = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [pair]}
    return {"GroupId": group_id, "GroupName": group_id, "Description": "", "VpcId": "vpc-1",
            "StaleIpPermissions": [] if egress else [permission],
            "StaleIpPermissionsEgress": [permission] if egress else []}


def test_stale_references_are_read_with_one_paged_call_per_vpc_at_the_largest_page():
    groups = [_stale_group(f"sg-{i:03d}", "sg-gone") for i in range(300)] + [_stale_group("sg-e", "sg-x", egress=True)]
    fake = FakeStale({"vpc-1": groups, "vpc-2": []})
    with FakeEc2Server(fake) as server:
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.url)
        found = review_record.stale_references(ec2, ["vpc-1", "vpc-2"])
    assert [(c["VpcId"][0], c["MaxResults"][0], "NextToken" in c) for c in fake.calls] == [
        ("vpc-1", "255", False), ("vpc-1", "255", True), ("vpc-2", "255", False)]
    assert len(found) == 301
    assert found[("sg-000", "ingress", "sg-gone")] == \
        "references sg-gone of 444455556666 across peering pcx-1 (deleted)"
    assert ("sg-e", "egress", "sg-x") in found


def test_the_stale_reference_becomes_a_stale_finding_and_prefix_lists_are_read_only_when_named(aws):
    fake = FakeStale({"vpc-1": [_stale_group("sg-1", "sg-gone")]})
    rows = [(ACCOUNT, "r", "vpc-1", "sg-1", "g", "", "ingress", "sgr-1", "tcp", "22", "22", "security-group",
             "444455556666/sg-gone", "")]
    fetched = []

    def fetch(call, values):
        fetched.append(call.operation)
        return []

    with FakeEc2Server(fake) as server:
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.url)
        facts = review_record.region_facts(ec2, fetch, rows)
        assert facts.prefix_lists is None and fetched == []
        facts_pl = review_record.region_facts(ec2, fetch, [rows[0][:11] + ("prefix-list", "pl-1", "")])
    assert facts_pl.prefix_lists == frozenset() and fetched == [exposure.PREFIX_LISTS.operation]
    assert [c["VpcId"][0] for c in fake.calls] == ["vpc-1"]  # no call for a VPC without group references
    import datetime


    (row,) = review(rows, Sources(rule_tags={"sgr-1": {"justification": "x"}}), facts, datetime.date(2026, 1, 1))
    assert (row[11], row[12]) == ("stale", "references sg-gone of 444455556666 across peering pcx-1 (deleted)")


def test_a_throttled_stale_lookup_is_retried_then_raised():
    class Throttling(FakeStale):
        def handle(self, action, params):
            self.calls.append(params)
            return 400, ("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message>"
                         "</Error></Errors><RequestID>x</RequestID></Response>")

    fake = Throttling({})
    from botocore.config import Config
    from botocore.exceptions import ClientError

    with FakeEc2Server(fake) as server:
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.url,
                           config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
        with pytest.raises(ClientError, match="RequestLimitExceeded"):
            review_record.stale_references(ec2, ["vpc-1"])
    assert len(fake.calls) == 3


def test_the_settings_refuse_unknown_tag_keys_and_half_a_register():
    from sgwatch.settings import SettingsError

    with pytest.raises(SettingsError, match="RULE_REVIEW_TAG_KEYS"):
        review_record.Settings.from_env({"RULE_REVIEW_TAG_KEYS": '{"reason": "x"}'})
    with pytest.raises(SettingsError, match="set together"):
        review_record.Settings.from_env({"RULE_REVIEW_REGISTER_BUCKET": "b"})
    found = review_record.Settings.from_env({"RULE_REVIEW_TAG_KEYS": '{"owner": "team"}',
                                             "JUSTIFICATION_WARNING_DAYS": "30", "PRIVATE_PEERS_JUSTIFIED": "true"})
    assert (found.keys.owner, found.keys.justification, found.warning_days, found.private_peers_justified) == (
        "team", "justification", 30, True)
