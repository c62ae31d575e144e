"""examples/minimal applied to the emulator; the shipped sg_inventory zip run with the deployed settings:
snapshots, diffs and the exposure report (on the network of tests/module/network.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_terraform import terraform

from tests.module.harness import assert_least_privilege, client, deployed_fixture, run_lambda, scheduled_function
from tests.module.network import BACKEND_PORT, build_network

terraform("example_minimal", scope="session")
deployed = deployed_fixture("example_minimal")


@pytest.fixture(scope="module")
def estate(deployed):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="=HYPERLINK(evil)", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                        "UserIdGroupPairs": [{"GroupId": web, "Description": "app"}]}],
    )
    return {"vpc": vpc, "web": web, "db": db}


def _rows(key: str, bucket: str) -> list[dict[str, str]]:
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


def _rule_id(group_id: str, port: int) -> str:
    rules = client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return next(r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"]
                if not r["IsEgress"] and r.get("FromPort") == port)


def test_deployed_configuration_matches_the_packaging_contract(deployed):
    name = deployed["lambda_function_names"]["sg_inventory"]
    config, schedule = scheduled_function(name, "sg_inventory.handler.lambda_handler")
    assert config["Runtime"] == "python3.13"
    assert config["Architectures"] == ["arm64"]
    assert config["Environment"]["Variables"]["EVIDENCE_BUCKET"] == deployed["evidence_bucket_name"]
    assert config["Environment"]["Variables"]["EVIDENCE_PREFIX"] == "security-groups/"
    dlq = client("sqs").get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"].startswith("arn:aws:kms:")
    assert schedule["ScheduleExpression"] == "rate(1 day)"


def test_evidence_bucket_is_hardened(deployed):
    s3, bucket = client("s3"), deployed["evidence_bucket_name"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    tls = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert lifecycle["Expiration"]["Days"] >= 400


def test_snapshot_then_diff_from_the_shipped_zip(deployed, estate):
    name = deployed["lambda_function_names"]["sg_inventory"]
    bucket = deployed["evidence_bucket_name"]

    # First run: a baseline, no diff.
    first = run_lambda(name, {})
    assert first.error is None, first.logs
    (baseline,) = first.result["results"]
    assert baseline["diff_key"] is None
    assert baseline["snapshot_key"].startswith("security-groups/123456789012/us-east-1/snapshots/")
    rows = _rows(baseline["snapshot_key"], bucket)
    db_row = next(r for r in rows if r["GroupId"] == estate["db"] and r["Direction"] == "ingress")
    assert db_row["PeerType"] == "security-group" and db_row["Peer"] == estate["web"]
    assert db_row["GroupDescription"] == "'=HYPERLINK(evil)"
    assert_least_privilege(name, first)

    # Changes: authorize, revoke, modify in place, edit a description.
    ec2 = client("ec2")
    ec2.authorize_security_group_ingress(
        GroupId=estate["web"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.revoke_security_group_ingress(GroupId=estate["db"], SecurityGroupRuleIds=[_rule_id(estate["db"], 5432)])
    ec2.update_security_group_rule_descriptions_ingress(
        GroupId=estate["web"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https from anywhere"}]}],
    )

    second = run_lambda(name, {})
    assert second.error is None, second.logs
    (result,) = second.result["results"]
    assert result["diff_key"].startswith("security-groups/123456789012/us-east-1/diffs/")
    assert (result["added"], result["removed"], result["updated"]) == (1, 1, 1)
    diff = _rows(result["diff_key"], bucket)
    kinds = sorted((r["ChangeType"], r["FromPort"]) for r in diff)
    assert kinds == [("Added", "22"), ("Removed", "5432"), ("Updated (Current)", "443"), ("Updated (Previous)", "443")]
    current = next(r for r in diff if r["ChangeType"] == "Updated (Current)")
    assert current["RuleDescription"] == "https from anywhere"
    # The baseline is still there, untouched.
    assert _rows(baseline["snapshot_key"], bucket) == rows
    assert_least_privilege(name, second)


def test_unreadable_previous_snapshot_starts_a_new_baseline(deployed, estate):
    name = deployed["lambda_function_names"]["sg_inventory"]
    bucket = deployed["evidence_bucket_name"]
    s3 = client("s3")
    # Given the newest snapshot is truncated (written by someone else, without our metadata)
    latest = s3.list_objects_v2(Bucket=bucket, Prefix="security-groups/123456789012/us-east-1/snapshots/",
                                MaxKeys=1)["Contents"][0]["Key"]
    body = s3.get_object(Bucket=bucket, Key=latest)["Body"].read()
    folder, stem = latest.rsplit("/", 1)
    inverted, rest = stem.split("-", 1)  # stamps count down: one less is a millisecond newer, and sorts first
    bogus = f"{folder}/{int(inverted) - 1:013d}-{rest}"
    assert bogus < latest
    s3.put_object(Bucket=bucket, Key=bogus, Body=body[: len(body) // 2])
    # When the inventory runs
    run = run_lambda(name, {})
    # Then it writes a new baseline, reports the problem and leaves the bad object as it was
    assert run.error is None, run.logs
    assert run.result["results"][0]["diff_key"] is None
    assert any(r.get("step") == "previous_snapshot_unusable" for r in run.log_records())
    assert s3.get_object(Bucket=bucket, Key=bogus)["Body"].read() == body[: len(body) // 2]


def test_exposure_report_from_the_shipped_zip(deployed):
    # Given a VPC with an internet gateway, public and private instances, an unattached group and an
    # internet-facing load balancer, with SSH open to the world on every instance's group and the unattached one
    net = build_network(name="inventory")
    ec2 = client("ec2")
    for group in (net.public_group_id, net.private_group_id, net.unattached_group_id):
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=net.load_balancer_group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    name, bucket = deployed["lambda_function_names"]["sg_inventory"], deployed["evidence_bucket_name"]

    # When the inventory runs from its zip
    run = run_lambda(name, {})

    # Then the exposure report has the snapshot's stamp and one row per exposed rule and resource
    assert run.error is None, run.logs
    (result,) = run.result["results"]
    assert result["exposure_key"] == result["snapshot_key"].replace("/snapshots/", "/exposure/")
    rows = [r for r in _rows(result["exposure_key"], bucket) if r["GroupId"] in {
        net.public_group_id, net.private_group_id, net.unattached_group_id, net.load_balancer_group_id,
        net.backend_group_id}]
    by_via = {r["Via"]: r for r in rows}
    assert len(rows) == len(by_via) == 2  # nothing for the private instance nor the unattached group
    instance = by_via["interface"]
    assert (instance["GroupId"], instance["FromPort"], instance["Peer"], instance["PeerClass"], instance["Severity"],
            instance["ResourceType"], instance["ResourceId"], instance["NetworkInterfaceId"], instance["PublicIp"],
            instance["SubnetId"], instance["RouteTableId"], instance["GatewayId"]) == (
        net.public_group_id, "22", "0.0.0.0/0", "world", "CRITICAL", "instance", net.public_instance_id,
        net.public_interface_id, net.public_ip, net.public_subnet_id, net.public_route_table_id,
        net.internet_gateway_id)
    balancer = by_via[f"load-balancer:{net.load_balancer_name}"]
    assert (balancer["GroupId"], balancer["FromPort"], balancer["Peer"], balancer["PeerClass"], balancer["Severity"],
            balancer["ResourceType"], balancer["ResourceId"]) == (
        net.backend_group_id, str(BACKEND_PORT), net.load_balancer_group_id, "group", "LOW", "load-balancer",
        net.load_balancer_arn.partition(":loadbalancer/")[2])
    # and every exposure read is granted to the deployed role
    assert {"DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeLoadBalancers"} <= {
        c["operation"] for c in run.calls}
    assert_least_privilege(name, run)


def test_rule_review_from_the_shipped_zip(deployed):
    # Given a VPC whose groups hold a rule justified by its tags, an unjustified one, a group whose justification
    # expires in five days, a rule shadowed by a wider one of its group, and two groups with the same rules
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    soon = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()

    def group(name, permissions, group_tags=None, rule_tags=None):
        spec = [{"ResourceType": "security-group", "Tags": group_tags}] if group_tags else []
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc, TagSpecifications=spec)
        rule_spec = [{"ResourceType": "security-group-rule", "Tags": rule_tags}] if rule_tags else []
        ec2.authorize_security_group_ingress(GroupId=gid["GroupId"], IpPermissions=permissions,
                                             TagSpecifications=rule_spec)
        return gid["GroupId"]

    def tcp(port, cidr, to_port=None):
        return {"IpProtocol": "tcp", "FromPort": port, "ToPort": to_port or port, "IpRanges": [{"CidrIp": cidr}]}

    justified = group("review-justified", [tcp(8443, "203.0.113.0/24")],
                      rule_tags=[{"Key": "justification", "Value": "partner API"}, {"Key": "owner", "Value": "api"}])
    unjustified = group("review-unjustified", [tcp(3389, "198.51.100.0/24")])
    expiring = group("review-expiring", [tcp(8080, "192.0.2.0/24")],
                     group_tags=[{"Key": "justification", "Value": "migration"}, {"Key": "owner", "Value": "ops"},
                                 {"Key": "expires", "Value": soon}])
    shadowing = group("review-shadowed", [tcp(0, "10.0.0.0/8", 65535), tcp(443, "10.1.0.0/16")],
                      group_tags=[{"Key": "justification", "Value": "internal"}])
    twins = [group(f"review-twin-{i}", [tcp(9000, "172.16.0.0/12")],
                   group_tags=[{"Key": "justification", "Value": "twins"}]) for i in (1, 2)]
    ec2.authorize_security_group_ingress(GroupId=justified, IpPermissions=[  # a group reference: the VPC's
        {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443,                # stale references are read
         "UserIdGroupPairs": [{"GroupId": twins[0]}]}],
        TagSpecifications=[{"ResourceType": "security-group-rule",
                            "Tags": [{"Key": "justification", "Value": "twin calls the API"}]}])
    name, bucket = deployed["lambda_function_names"]["sg_inventory"], deployed["evidence_bucket_name"]

    # When the inventory runs from its zip
    run = run_lambda(name, {})

    # Then the rule review, with the snapshot's stamp, has one row per finding of each rule
    assert run.error is None, run.logs
    (result,) = run.result["results"]
    assert result["rule_review_key"] == result["snapshot_key"].replace("/snapshots/", "/rule-review/")
    ours = {justified, unjustified, expiring, shadowing, *twins}
    rows = [r for r in _rows(result["rule_review_key"], bucket) if r["GroupId"] in ours and
            (r["Direction"] != "egress")]  # the default egress rule of each group has no reason here
    found = {(r["GroupId"], r["FromPort"], r["Finding"], r["JustifiedBy"], r["Owner"]) for r in rows}
    assert found == {
        (unjustified, "3389", "unjustified", "none", ""),
        (expiring, "8080", "expiring", "group-tag", "ops"),
        (shadowing, "443", "shadowed", "group-tag", ""),
        (twins[0], "", "duplicate-group", "group-tag", ""),
        (twins[1], "", "duplicate-group", "group-tag", ""),
    }
    # and the stale references of the VPC were read (one call), as every call it made, granted to the deployed role
    assert "DescribeStaleSecurityGroups" in {c["operation"] for c in run.calls}
    assert_least_privilege(name, run)
    # and the expiring justification (its group's tags hold for its ingress and default egress rule) went to the
    # alert topic in one digest, once: the next run announces nothing
    assert result["expiry_announced"] >= 2
    assert ("sns", "Publish") in {(c["service"], c["operation"]) for c in run.calls}
    again = run_lambda(name, {})
    assert again.error is None, again.logs
    assert again.result["results"][0]["expiry_announced"] == 0
    # and the next run reused this review (its state written beside the report): on the same day it reviews no
    # group again, and its report holds the same rows
    second = again.result["results"][0]
    reviewed, groups = (int(n) for n in second["rule_review_groups_reviewed"].split(" of "))
    same_day = result["snapshot_key"].rsplit("-", 1)[1][:8] == second["snapshot_key"].rsplit("-", 1)[1][:8]
    assert groups >= len(ours) and (reviewed == 0 or not same_day)
    rows_again = [r for r in _rows(second["rule_review_key"], bucket) if r["GroupId"] in ours and
                  (r["Direction"] != "egress")]
    assert rows_again == rows
    assert_least_privilege(name, again)
