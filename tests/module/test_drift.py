"""Configuration consistency on the emulator: modules/sg-inventory with iac_state_locations applied, a landing zone
declaring groups in the four Terraform styles applied with its state in an emulated S3 backend, rules changed out
of band, and the shipped sg_inventory zip finding exactly those drifts with their addresses, announced once; the
shipped review_pack zip showing them in its section "Configuration consistency (PCI DSS 1.2.8)". With remediation on
(the change notifier's ARN), the same zip checking the exceptions that expired."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_terraform import terraform as terraform_fixture

from tests.module.emulator import terraform
from tests.module.harness import (
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    module_outputs,
    received,
    role_policies,
    run_lambda,
    subscribe_inbox,
)

terraform_fixture("drift", scope="session")
deployed = deployed_fixture("drift", module_outputs)

STATE_KEY = "landing-zone/terraform.tfstate"
SOURCE = "s3://drift-test-states/" + STATE_KEY

LANDING_ZONE = """
terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "{key}"
    region                      = "us-east-1"
    endpoints                   = {{ s3 = "{endpoint}" }}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    skip_s3_checksum            = true
  }}
}}

resource "aws_vpc" "lz" {{
  cidr_block = "10.60.0.0/16"
}}

resource "aws_security_group" "inline" {{
  name   = "lz-inline"
  vpc_id = aws_vpc.lz.id
  tags   = {{ ManagedBy = "terraform" }}

  ingress {{
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}

  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}

module "app" {{
  source = "./app"
  vpc_id = aws_vpc.lz.id
}}

resource "aws_vpc_security_group_ingress_rule" "api" {{
  for_each = {{ internal = "10.2.0.0/16" }}

  security_group_id = module.app.group_id
  ip_protocol       = "tcp"
  from_port         = 8443
  to_port           = 8443
  cidr_ipv4         = each.value
  description       = "api"
}}

resource "aws_vpc_security_group_egress_rule" "db" {{
  security_group_id = module.app.group_id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.3.0.0/16"
}}

output "vpc_id" {{
  value = aws_vpc.lz.id
}}

output "inline" {{
  value = aws_security_group.inline.id
}}

output "app" {{
  value = module.app.group_id
}}

output "ssh_rule" {{
  value = module.app.ssh_rule_id
}}

output "db_rule" {{
  value = aws_vpc_security_group_egress_rule.db.id
}}
"""

APP_MODULE = """
variable "vpc_id" {
  type = string
}

resource "aws_security_group" "app" {
  name   = "lz-app"
  vpc_id = var.vpc_id
  tags   = { ManagedBy = "terraform" }
}

resource "aws_security_group_rule" "ssh" {
  count = 1

  type              = "ingress"
  security_group_id = aws_security_group.app.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["10.1.0.0/16"]
  description       = "bastion"
}

output "group_id" {
  value = aws_security_group.app.id
}

output "ssh_rule_id" {
  value = aws_security_group_rule.ssh[0].security_group_rule_id
}
"""


@pytest.fixture(scope="module")
def landing_zone(deployed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory: Path = tmp_path_factory.mktemp("landing-zone")
    (directory / "main.tf").write_text(LANDING_ZONE.format(
        bucket=deployed["states_bucket"], key=STATE_KEY, endpoint=os.environ["AWS_ENDPOINT_URL"]))
    (directory / "app").mkdir()
    (directory / "app" / "main.tf").write_text(APP_MODULE)
    shutil.copy(Path(__file__).parent / "terraform" / "provider.tf", directory / "provider.tf")
    for step in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        result = terraform(directory, *step)
        assert result.returncode == 0, result.stdout + result.stderr
    import json

    outputs = json.loads(terraform(directory, "output", "-json").stdout)
    return {k: v["value"] for k, v in outputs.items()}


def _csv(key: str, bucket: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode())))


def _rows(key: str, bucket: str, vpc_id: str) -> list[dict[str, str]]:
    return [r for r in _csv(key, bucket) if r["VpcId"] == vpc_id]


def test_out_of_band_changes_are_found_with_their_addresses_and_announced_once(deployed, landing_zone):
    # Given the landing zone as its state declares it, then changed out of band: a rule added, one removed,
    # one widened, one description edited, and a group tagged as managed that no code declares
    ec2, lz = client("ec2"), landing_zone
    ec2.authorize_security_group_ingress(GroupId=lz["inline"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.revoke_security_group_egress(GroupId=lz["app"], SecurityGroupRuleIds=[lz["db_rule"]])
    ec2.modify_security_group_rules(GroupId=lz["app"], SecurityGroupRules=[{
        "SecurityGroupRuleId": lz["ssh_rule"], "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 2222, "CidrIpv4": "10.1.0.0/16",
            "Description": "bastion"}}])
    ec2.update_security_group_rule_descriptions_ingress(GroupId=lz["inline"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "edited by hand"}]}])
    clickops = ec2.create_security_group(GroupName="lz-clickops", Description="x", VpcId=lz["vpc_id"],
                                         TagSpecifications=[{"ResourceType": "security-group",
                                                             "Tags": [{"Key": "ManagedBy", "Value": "me"}]}])
    name, bucket = deployed["function_name"], deployed["bucket"]
    inbox = subscribe_inbox(deployed["alert_topic_arn"], "drift-test-inbox")

    # When the inventory runs from its zip
    run = run_lambda(name, {})

    # Then its drift report, with the snapshot's stamp, holds exactly those drifts, with their addresses
    assert run.error is None, run.logs
    (result,) = run.result["results"]
    assert result["drift_key"] == result["snapshot_key"].replace("/snapshots/", "/drift/")
    rows = _rows(result["drift_key"], bucket, lz["vpc_id"])
    found = {(r["GroupId"], r["Direction"], r["FromPort"], r["ToPort"], r["Drift"], r["DeclaredIn"],
              r["DeclaredAddress"]) for r in rows}
    assert found == {
        (lz["inline"], "ingress", "3389", "3389", "unmanaged-rule", "", ""),
        (lz["app"], "egress", "5432", "5432", "missing-rule", SOURCE, "aws_vpc_security_group_egress_rule.db"),
        (lz["app"], "ingress", "22", "2222", "changed", SOURCE, "module.app.aws_security_group_rule.ssh[0]"),
        (lz["inline"], "ingress", "443", "443", "changed", SOURCE, "aws_security_group.inline"),
        (clickops["GroupId"], "", "", "", "undeclared-group", "", ""),
    }
    assert result["new_drift"] >= len(found)
    # and one digest announces them, naming the address to fix
    (digest,) = received(inbox)
    assert "module.app.aws_security_group_rule.ssh[0]" in digest["Message"]
    assert f"unmanaged-rule: {lz['inline']} (lz-inline) ingress tcp 3389" in digest["Message"]
    # and the state was read (its bucket's key decrypting it) with what the deployed role grants, no more
    assert_least_privilege(name, run)

    # When it runs again with nothing changed, it reports the same drift and nothing new
    again = run_lambda(name, {})
    assert again.error is None, again.logs
    (second,) = again.result["results"]
    assert second["drift_key"] != result["drift_key"]
    assert _rows(second["drift_key"], bucket, lz["vpc_id"]) == rows
    assert second["new_drift"] == 0 and received(inbox) == []


def test_the_review_pack_shows_the_drift_at_the_period_end_and_what_was_resolved(deployed, landing_zone):
    # Given a rule added by hand, seen by one inventory run, then removed before the next run
    ec2, lz, bucket = client("ec2"), landing_zone, deployed["bucket"]
    temporary = {"IpProtocol": "tcp", "FromPort": 3390, "ToPort": 3390, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}
    ec2.authorize_security_group_ingress(GroupId=lz["inline"], IpPermissions=[temporary])
    seen = run_lambda(deployed["function_name"], {})
    ec2.revoke_security_group_ingress(GroupId=lz["inline"], IpPermissions=[temporary])
    gone = run_lambda(deployed["function_name"], {})
    assert seen.error is None and gone.error is None, seen.logs + gone.logs
    (newest,) = gone.result["results"]

    # When the review pack runs for today from its zip
    today = datetime.now(UTC).date().isoformat()
    name = deployed["review_pack_function_name"]
    run = run_lambda(name, {"from": today, "to": today})

    # Then drift.csv holds the newest drift report's rows as the drift at the period end, the rule resolved
    assert run.error is None, run.logs
    pack = run.result["report_key"].rsplit("/", 1)[0] + "/"
    s3 = client("s3")
    rows = _csv(pack + "drift.csv", bucket)
    at_end = sorted(tuple((k, v) for k, v in r.items() if k not in ("FirstSeen", "ResolvedAt"))
                    for r in rows if not r["ResolvedAt"])
    assert at_end and at_end == sorted(tuple(r.items()) for r in _csv(newest["drift_key"], bucket))
    resolved = [(r["GroupId"], r["FromPort"], r["Drift"]) for r in rows if r["ResolvedAt"]]
    assert resolved == [(lz["inline"], "3390", "unmanaged-rule")]
    # and the report's section shows it, without a drift gap, the reports read with what the role grants
    report = s3.get_object(Bucket=bucket, Key=run.result["report_key"])["Body"].read().decode()
    start = report.index('<section id="consistency">')
    shown = report[start:report.index("</section>", start)]
    assert "Resolved during the period" in shown and "3390" in shown and SOURCE in shown
    assert "no current drift report" not in report
    assert_least_privilege(name, run)


NOTIFIER = "arn:aws:lambda:us-east-1:123456789012:function:drift-test-sg-change-notifier"


def test_an_expired_exception_is_handed_to_the_notifier_with_only_what_the_role_grants(deployed, landing_zone):
    # Given the inventory deployed with remediation on (and the landing zone its drift report reads): it may invoke
    # the notifier and no other function
    name, bucket = deployed["function_name"], deployed["bucket"]
    config = deployed_configuration(name)
    assert config["Environment"]["Variables"]["REMEDIATION_NOTIFIER_ARN"] == NOTIFIER
    granted = [s for p in role_policies(config["Role"].rsplit("/", 1)[-1]) for s in p["Statement"]
               if any(str(a).startswith("lambda:") for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                              else s["Action"]))]
    assert [(s["Action"], s["Resource"]) for s in granted] in ([("lambda:InvokeFunction", NOTIFIER)],
                                                               [(["lambda:InvokeFunction"], [NOTIFIER])])
    # and a world-SSH rule kept as an exception that expired yesterday
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="kept-ssh", Description="x", VpcId=vpc)["GroupId"]
    rule_id = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    first = run_lambda(name, {})
    assert first.error is None, first.logs
    series = first.result["results"][0]["snapshot_key"].split("/snapshots/")[0] + "/remediation/"
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    kept = {"schema": 1, "action": "keep", "event_id": "module-kept-1", "kept_by": "U0APPROVER",
            "reason": "vendor session", "expires": yesterday,
            "rules": [{"group_id": group, "rule_id": rule_id, "direction": "ingress", "protocol": "tcp",
                       "from_port": "22", "to_port": "22", "peer_type": "ipv4", "peer": "0.0.0.0/0"}]}
    client("s3").put_object(Bucket=bucket, Key=f"{series}exceptions/{group}/{yesterday}-module-kept-1.json",
                            Body=json.dumps(kept).encode())

    # When the inventory runs and the notifier cannot be handed the rule (the emulator runs no function)
    failed = run_lambda(name, {})
    # Then the run fails and says why, with only the calls its role grants, and nothing is noticed
    assert failed.error is not None and "expired exceptions not announced" in failed.error
    assert_least_privilege(name, failed)
    notices = f"{series}expired/"
    assert "Contents" not in client("s3").list_objects_v2(Bucket=bucket, Prefix=notices)

    # When the rule is gone before the next run, that run notices the exception once, alerting nothing
    ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=[rule_id])
    noticed = run_lambda(name, {})
    assert noticed.error is None, noticed.logs
    assert noticed.result["results"][0]["expired_exceptions_gone"] == 1
    assert_least_privilege(name, noticed)
    (key,) = [o["Key"] for o in client("s3").list_objects_v2(Bucket=bucket, Prefix=notices)["Contents"]]
    assert key == f"{notices}{group}/module-kept-1.json"
    again = run_lambda(name, {})
    assert again.error is None and again.result["results"][0]["expired_exceptions_gone"] == 0
