"""modules/unused-sg-audit applied to the emulator; the shipped unused_sg_audit zip run with the deployed settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_terraform import terraform

from tests.module.harness import (
    assert_least_privilege,
    client,
    deployed_fixture,
    role_policies,
    run_lambda,
    scheduled_function,
)

terraform("unused_sg_audit", scope="session")
deployed = deployed_fixture("unused_sg_audit")

PREFIX = "security-groups/123456789012/us-east-1/unused/"


@pytest.fixture(scope="module")
def estate(deployed):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.55.0.0/16")["Vpc"]["VpcId"]

    def group(name: str, tags: dict[str, str] | None = None) -> str:
        extra = {}
        if tags:
            extra["TagSpecifications"] = [
                {"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        return ec2.create_security_group(GroupName=f"usa-{name}", Description=name, VpcId=vpc, **extra)["GroupId"]

    ids = {name: group(name) for name in ("template", "db", "app", "orphan")}
    ids["keep"] = group("keep", {"sgwatch:keep": "yes"})
    ids["fresh"] = group("fresh", {"sgwatch:created-at": (datetime.now(UTC) - timedelta(days=1)).isoformat()})
    template = ec2.create_launch_template(
        LaunchTemplateName="usa-web",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "SecurityGroupIds": [ids["template"]]},
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.authorize_security_group_egress(
        GroupId=ids["app"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": ids["db"]}]}
        ],
    )
    return {"ids": ids, "template": template, "vpc": vpc}


def test_deployed_configuration_matches_the_contract(deployed):
    config, schedule = scheduled_function(deployed["function_name"], "unused_sg_audit.handler.lambda_handler")
    env = config["Environment"]["Variables"]
    assert env["EVIDENCE_BUCKET"] == deployed["evidence_bucket_name"]
    assert env["ALERT_TOPIC_ARN"] == deployed["alert_topic_arn"]
    assert (env["EXEMPT_TAG_KEY"], env["GRACE_DAYS"], env["SECURITYHUB_SYNC"], env["ALLOW_PARTIAL"]) == (
        "sgwatch:keep",
        "3",
        "false",
        "false",
    )
    assert env["SECURITYHUB_CONTROL_IDS"] == "EC2.22"
    assert schedule["ScheduleExpression"] == "rate(7 days)"


def test_read_only_policy_without_security_hub_when_sync_is_off(deployed):
    text = json.dumps(role_policies(deployed["role_name"]))
    assert "securityhub:" not in text
    for forbidden in ("ec2:DeleteSecurityGroup", "ec2:Revoke", "ec2:Authorize", "ec2:Modify"):
        assert forbidden not in text


def test_audit_from_the_shipped_zip(deployed, estate):
    name = deployed["function_name"]
    bucket = deployed["evidence_bucket_name"]
    ids = estate["ids"]

    first = run_lambda(name, {})
    assert first.error is None, first.logs
    (result,) = first.result["results"]
    assert result["not_scanned"] == {}, result["not_scanned"]
    assert result["in_use"][ids["template"]] == [f"launch-template {estate['template']} (version 1)"]
    assert result["in_use"][ids["db"]] == [f"sg-rule {ids['app']} (egress)"]
    mine = set(ids.values())
    assert sorted(set(result["unused"]) & mine) == sorted([ids["app"], ids["orphan"]])
    assert result["report_key"].startswith(PREFIX)

    report = json.loads(client("s3").get_object(Bucket=bucket, Key=result["report_key"])["Body"].read())
    assert ids["keep"] in report["exempt"] and ids["fresh"] in report["in_grace"]
    orphan = next(u for u in report["unused"] if u["group_id"] == ids["orphan"])
    assert orphan["delete_command"] == f"aws ec2 delete-security-group --group-id {ids['orphan']} --region us-east-1"
    csv_key = result["report_key"][: -len(".json")] + ".csv"
    assert client("s3").get_object(Bucket=bucket, Key=csv_key)["Body"].read().startswith(b"AccountId,Region,GroupId")
    publishes = [c for c in first.calls if (c["service"], c["operation"]) == ("sns", "Publish")]
    assert len(publishes) == 1 and ids["orphan"] in publishes[0]["params"]["Message"]
    assert_least_privilege(name, first)

    # A second run with nothing changed writes a new report but sends no alert.
    second = run_lambda(name, {})
    assert second.error is None, second.logs
    assert second.result["results"][0]["report_key"] != result["report_key"]
    assert not [c for c in second.calls if (c["service"], c["operation"]) == ("sns", "Publish")]
    assert_least_privilege(name, second)
