"""examples/complete applied to the emulator: its capabilities together, as a user deploys it."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from moto.events.models import EventPattern
from pytest_terraform import terraform

from tests import athena_tables
from tests.module.harness import (
    ACCOUNT,
    assert_least_privilege,
    client,
    deployed_configuration,
    deployed_fixture,
    role_policies,
    run_lambda,
    unwatched,
    wildcard_actions,
)
from tests.module.network import build_network
from tests.paths import EVENTS, ROOT

terraform("example_complete", scope="session", teardown=terraform.TEARDOWN_ON)
deployed = deployed_fixture("example_complete")

PREFIX = "sgw-complete"
# Describe/list calls without resource-level permissions are the only "*" resources allowed.
WILDCARD_RESOURCE_OK = re.compile(
    r"^(ec2:Describe|ec2:Get|autoscaling:Describe|lambda:List|ecs:List|events:List|scheduler:List|codebuild:List|"
    r"batch:Describe|redshift:Describe|dms:Describe|kafka:List|sagemaker:List|elasticloadbalancing:Describe|"
    r"cloudtrail:LookupEvents|organizations:ListAccounts|tiros:|xray:|ec2:Search|directconnect:Describe|"
    r"network-firewall:|elasticfilesystem:Describe|globalaccelerator:|apigateway:GET|tiros:|"
    r"cloudformation:ListStacks$|cloudformation:DescribeStackDriftDetectionStatus$)"
)


def _roles() -> list[str]:
    iam = client("iam")
    return [r["RoleName"] for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]
            if r["RoleName"].startswith(PREFIX)]


def test_every_enabled_capability_is_deployed(deployed):
    assert set(deployed["lambda_function_names"]) == {
        "sg_inventory", "sg_change_notifier", "unused_sg_audit", "review_pack", "securityhub_report"}
    assert deployed["slack_token_secret_arn"].startswith("arn:aws:secretsmanager:")


def test_no_role_allows_a_wildcard_action(deployed):
    roles = _roles()
    assert len(roles) >= 2 * len(deployed["lambda_function_names"]) - 1  # function roles + scheduler roles
    offenders = {role: wildcard_actions(role_policies(role)) for role in roles}
    assert {role: found for role, found in offenders.items() if found} == {}


def test_wildcard_resources_only_where_the_api_has_no_resource_level_permission(deployed):
    loose = []
    for role in _roles():
        for policy in role_policies(role):
            for statement in policy["Statement"]:
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if "*" in resources:
                    loose += [f"{role}: {a}" for a in actions if not WILDCARD_RESOURCE_OK.match(a)]
    assert loose == []


def test_functions_hold_no_secret_and_point_at_the_shared_slack_secret(deployed):
    for capability, name in deployed["lambda_function_names"].items():
        variables = deployed_configuration(name).get("Environment", {}).get("Variables", {})
        assert not any(v.startswith(("xoxb-", "xoxp-")) for v in variables.values()), capability
        if "SLACK_TOKEN_SECRET_ARN" in variables:
            assert variables["SLACK_TOKEN_SECRET_ARN"] == deployed["slack_token_secret_arn"]
    secret = client("secretsmanager").describe_secret(SecretId=deployed["slack_token_secret_arn"])
    assert secret["KmsKeyId"] in (deployed["kms_key_arn"], deployed["kms_key_arn"].split("/")[-1])


def test_every_function_has_an_encrypted_dead_letter_queue_and_alarms(deployed):
    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    for name in deployed["lambda_function_names"].values():
        queue = client("sqs").get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
        attributes = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["KmsMasterKeyId"])
        assert attributes["Attributes"]["KmsMasterKeyId"] == deployed["kms_key_arn"]
        for suffix in ("errors", "dead-letters"):
            assert alarms[f"{name}-{suffix}"]["AlarmActions"] == [deployed["alert_topic_arn"]]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_key_lets_eventbridge_and_cloudwatch_deliver_to_the_module_topic_and_queues(deployed):
    # Given the module key's policy
    policy = json.loads(client("kms").get_key_policy(KeyId=deployed["kms_key_arn"], PolicyName="default")["Policy"])
    services = [s for s in policy["Statement"] if "Service" in s["Principal"]]
    # Then no service grant carries an aws:Source* condition (unsupported for EventBridge to an encrypted
    # topic: every publish would fail) and each is scoped by the encryption context instead
    for statement in services:
        keys = [key for test in statement["Condition"].values() for key in test]
        assert not [k for k in keys if k.lower().startswith("aws:source")], statement["Sid"]
        assert [k for k in keys if k.startswith("kms:EncryptionContext:")], statement["Sid"]
    principals = {p for s in services for p in _as_list(s["Principal"]["Service"])}
    assert "sns.amazonaws.com" not in principals and "scheduler.amazonaws.com" not in principals

    def grants(service: str, context: str, arn: str) -> bool:
        return any(
            service in _as_list(s["Principal"]["Service"])
            and "kms:GenerateDataKey" in _as_list(s["Action"])
            and any(
                fnmatch.fnmatchcase(arn, pattern)
                for test in s["Condition"].values()
                for pattern in _as_list(test.get(f"kms:EncryptionContext:{context}", []))
            )
            for s in services
        )

    # and it covers the alert topic (EventBridge in direct mode, CloudWatch alarms) and every module queue
    for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
        assert grants(service, "aws:sns:topicArn", deployed["alert_topic_arn"]), service
    sqs = client("sqs")
    queues = sqs.list_queues(QueueNamePrefix=PREFIX)["QueueUrls"]
    assert queues
    for url in queues:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert grants("events.amazonaws.com", "aws:sqs:arn", arn), arn


def test_each_role_writes_only_its_own_kinds_of_evidence(deployed):
    # Given every role of the deployment and the object writes its policies allow
    bucket = f"arn:aws:s3:::{deployed['evidence_bucket_name']}/security-groups/"
    writes = {}
    for role in _roles():
        resources = [
            r
            for p in role_policies(role)
            for s in p["Statement"]
            if s["Effect"] == "Allow" and "s3:PutObject" in _as_list(s["Action"])
            for r in _as_list(s["Resource"])
        ]
        if resources:
            writes[role.removeprefix(f"{PREFIX}-")] = sorted(r.removeprefix(bucket) for r in resources)
    # Then each writes its own key kinds, and only the review pack writes under reviews/
    assert writes == {
        "sg-inventory": ["*/claims/*", "*/diffs/*", "*/drift/*", "*/expiry-notices/*", "*/exposure/*",
                         "*/rule-review-state/*", "*/rule-review/*", "*/snapshot-groups/*", "*/snapshots/*",
                         "iac-declared/*"],
        "sg-change-notifier": ["*/events/*", "*/group-names/*", "*/group-state/*"],
        "unused-sg-audit": ["*/unused/*"],
        "review-pack": ["reviews/*"],
    }


def test_disabling_or_deleting_the_key_alerts_through_a_topic_the_key_does_not_encrypt(deployed):
    # Given the key guard rule and a CloudTrail record of each call, as EventBridge delivers it
    events = client("events")
    rule = events.describe_rule(Name=f"{PREFIX}-key-guard")
    pattern = EventPattern.load(rule["EventPattern"])

    def call(name: str, key: str) -> dict:
        return {
            "source": "aws.kms",
            "detail-type": "AWS API Call via CloudTrail",
            "account": ACCOUNT,
            "region": "us-east-1",
            "detail": {"eventSource": "kms.amazonaws.com", "eventName": name, "requestParameters": {"keyId": key}},
        }

    key_arn = deployed["kms_key_arn"]
    key_id, other = key_arn.rsplit("/", 1)[-1], key_arn.rsplit("/", 1)[0] + "/another-key"
    # Then scheduling the deletion of the module key, or disabling it, by ARN or by id, is caught...
    for key in (key_arn, key_id):
        assert pattern.matches_event(call("ScheduleKeyDeletion", key)) and pattern.matches_event(
            call("DisableKey", key)
        )
    # ...other keys and other calls are not
    assert not pattern.matches_event(call("ScheduleKeyDeletion", other))
    assert not pattern.matches_event(call("EnableKey", key_arn))
    # and the alert goes to a topic that still works while the key is unusable
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == deployed["key_guard_topic_arn"]
    attributes = client("sns").get_topic_attributes(TopicArn=target["Arn"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes


def test_every_dead_letter_queue_and_rule_raises_an_alarm(deployed):
    assert unwatched(PREFIX) == []


def _alert_event(group_id: str, when: datetime) -> dict:
    """A console change opening SSH to the world on ``group_id``, as EventBridge delivers it, at ``when``."""
    event = json.loads((EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json").read_text())
    detail = event["detail"]
    detail["requestParameters"]["groupId"] = group_id
    detail["eventID"] = str(uuid.uuid4())
    event["account"] = detail["recipientAccountId"] = ACCOUNT
    event["time"] = detail["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


@pytest.fixture(scope="module")
def full_round(deployed):
    """An inventory, a console change opening SSH to the world on a new group "web" and its alert, a second
    inventory, the unused-group audit and the review pack, run from the shipped zips in that order."""
    functions = deployed["lambda_function_names"]
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    runs = {"inventory": run_lambda(functions["sg_inventory"], {})}
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    now = datetime.now(UTC)
    runs["alert"] = run_lambda(functions["sg_change_notifier"], _alert_event(web, now))
    runs["second"] = run_lambda(functions["sg_inventory"], {})
    runs["audit"] = run_lambda(functions["unused_sg_audit"], {})
    day = now.date().isoformat()
    runs["pack"] = run_lambda(functions["review_pack"], {"from": day, "to": day})
    return {"web": web, "now": now, "runs": runs}


def test_a_full_round_from_the_shipped_zips(deployed, full_round):
    functions, runs, web = deployed["lambda_function_names"], full_round["runs"], full_round["web"]
    inventory = runs["inventory"]
    assert inventory.error is None, inventory.logs
    assert_least_privilege(functions["sg_inventory"], inventory)

    alert = runs["alert"]
    assert alert.error is None, alert.logs
    assert alert.result["published"] is True and alert.result["severity"] == "HIGH"
    assert_least_privilege(functions["sg_change_notifier"], alert)

    assert runs["second"].result["results"][0]["added"] == 1

    audit = runs["audit"]
    assert audit.error is None, audit.logs
    assert web in audit.result["results"][0]["unused"]
    assert_least_privilege(functions["unused_sg_audit"], audit)

    pack = runs["pack"]
    assert pack.error is None, pack.logs
    assert_least_privilege(functions["review_pack"], pack)
    report = client("s3").get_object(Bucket=deployed["evidence_bucket_name"], Key=pack.result["report_key"])
    html = report["Body"].read()
    assert web.encode() in html and b"alice@example.com" in html


# --- evidence queries: the deployed tables and named queries over the evidence the shipped zips wrote ---------

QUERY_MODULE = ROOT / "modules" / "evidence-queries"
TABLES = json.loads((QUERY_MODULE / "tables.json").read_text())
QUERIES = {p.stem: p.read_text() for p in sorted((QUERY_MODULE / "queries").glob("*.sql"))}
REGION = "us-east-1"


def _glue_tables(deployed) -> dict:
    database = deployed["evidence_query_workgroup"]["database"]
    pages = client("glue").get_paginator("get_tables").paginate(DatabaseName=database)
    return {table["Name"]: table for page in pages for table in page["TableList"]}


def _named_queries(deployed) -> dict:
    athena = client("athena")
    ids = athena.list_named_queries(WorkGroup=deployed["evidence_query_workgroup"]["workgroup"])["NamedQueryIds"]
    found = [athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids]
    return {q["Name"].removeprefix(f"{PREFIX}-"): q for q in found}


def test_the_evidence_tables_and_named_queries_are_deployed_as_declared(deployed):
    tables, bucket = _glue_tables(deployed), deployed["evidence_bucket_name"]
    # Then there is one table per declared evidence kind, with the declared columns in order
    assert sorted(tables) == sorted(TABLES)
    for name, spec in TABLES.items():
        table = tables[name]
        columns = [{"name": c["Name"], "type": c["Type"]} for c in table["StorageDescriptor"]["Columns"]]
        assert columns == spec["columns"], name
        dated = "${part_day}" in spec["location"]
        assert [k["Name"] for k in table["PartitionKeys"]] == ["part_account", "part_region"] + dated * ["part_day"]
        # projected (never crawled) under the evidence prefix of the bucket
        parameters = table["Parameters"]
        assert parameters["projection.enabled"] == "true" and parameters["classification"] == spec["format"]
        assert parameters["storage.location.template"] == f"s3://{bucket}/security-groups/{spec['location']}"
    # and each named query is saved in the workgroup, over the evidence database, as written
    database = deployed["evidence_query_workgroup"]["database"]
    assert {name: (q["Database"], q["QueryString"]) for name, q in _named_queries(deployed).items()} == {
        name: (database, text) for name, text in QUERIES.items()}
    # and the workgroup enforces encrypted results under their own prefix and the bytes-scanned limit
    workgroup = client("athena").get_work_group(WorkGroup=deployed["evidence_query_workgroup"]["workgroup"])
    configuration = workgroup["WorkGroup"]["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert configuration["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/{PREFIX}-query-results/"
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS", "KmsKey": deployed["kms_key_arn"]}


def _projected_values(parameters: dict, column: str, default: str) -> list[str]:
    if parameters.get(f"projection.{column}.type") == "enum":
        return parameters[f"projection.{column}.values"].split(",")
    return [default]  # injected: the query names it


@pytest.fixture(scope="module")
def queried(deployed, full_round, tmp_path_factory):
    """After the full round: an internet-facing instance whose group opens SSH to the world and a console change
    to a group carrying an IaC tag (its alert and a third inventory, from the shipped zips); then the deployed
    tables as Athena reads them over the bucket, loaded into DuckDB for the deployed named queries."""
    functions, bucket = deployed["lambda_function_names"], deployed["evidence_bucket_name"]
    ec2 = client("ec2")
    network = build_network(name="queries")
    world_ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=network.public_group_id, IpPermissions=world_ssh)
    iac = ec2.create_security_group(
        GroupName="iac-managed", Description="iac", VpcId=network.vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "ManagedBy", "Value": "terraform"}]}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=iac, IpPermissions=world_ssh)
    alert = run_lambda(functions["sg_change_notifier"], _alert_event(iac, datetime.now(UTC)))
    assert alert.error is None and alert.result["published"] is True, alert.logs
    inventory = run_lambda(functions["sg_inventory"], {})
    assert inventory.error is None, inventory.logs

    s3 = client("s3")
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                  for o in page.get("Contents", []))
    glue = _glue_tables(deployed)
    tables = {name: {"location": t["Parameters"]["storage.location.template"].removeprefix(f"s3://{bucket}/"),
                     "format": t["Parameters"]["classification"],
                     "columns": [{"name": c["Name"], "type": c["Type"]} for c in t["StorageDescriptor"]["Columns"]]}
              for name, t in glue.items()}
    parameters = glue["snapshots"]["Parameters"]
    partitions = [(a, r) for a in _projected_values(parameters, "part_account", ACCOUNT)
                  for r in _projected_values(parameters, "part_region", REGION)]
    today, day_format = datetime.now(UTC).date(), glue["events"]["Parameters"]["projection.part_day.format"]
    day_format = day_format.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")  # Java's, as strftime's
    days = [(today - timedelta(days=n)).strftime(day_format) for n in (1, 0)]  # sample part_day values
    connection, read = athena_tables.load(
        tables, partitions, days, bucket, lambda prefix: [k for k in keys if k.startswith(prefix)],
        lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), tmp_path_factory.mktemp("athena"))
    return {"connection": connection, "read": read, "keys": keys, "tables": tables, "network": network, "iac": iac,
            "alert": alert, "web": full_round["web"], "queries": _named_queries(deployed), "days": days}


def test_projected_locations_hold_every_object_the_shipped_zips_wrote_of_each_table(queried):
    # Given every key the inventory, the change notifier and the audit wrote
    keys, tables = queried["keys"], queried["tables"]
    for name, spec in tables.items():
        kind = spec["location"].split("/")[3]  # security-groups/${part_account}/${part_region}/<kind>/...
        written = {k for k in keys if k.split("/")[3:4] == [kind] and (spec["format"] != "csv" or k.endswith(".csv"))}
        # Then what partition projection finds at the locations of the account-region (and day) is all of them
        assert queried["read"].get(name, set()) == written, name
    # and the round wrote evidence of every table
    assert sorted(queried["read"]) == sorted(tables)


def _run(queried, name, *parameters):
    return queried["connection"].execute(queried["queries"][name]["QueryString"], list(parameters)).fetchall()


def test_each_named_query_returns_its_rows_over_the_evidence_the_shipped_zips_wrote(queried):
    web, public, iac = queried["web"], queried["network"].public_group_id, queried["iac"]
    yesterday, today = queried["days"]
    # world-open rules now: the SSH rules opened on the three groups, in the latest snapshot
    rows = _run(queried, "world_open_rules_now")
    assert all(r[10] in ("0.0.0.0/0", "::/0") for r in rows)
    assert sorted((r[3], r[5], r[7], r[8], r[9]) for r in rows if r[3] in (web, public, iac) and r[5] == "ingress") == \
        sorted((group, "ingress", "tcp", "22", "22") for group in (web, public, iac))
    # CRITICAL exposure now: SSH from the world to the internet-facing instance, through its public address
    rows = [r for r in _run(queried, "critical_exposure_now") if r[2] in (web, public, iac)]
    network = queried["network"]
    assert [(r[0], r[2], r[7], r[10], r[12]) for r in rows] == [
        (ACCOUNT, public, "22", network.public_instance_id, network.public_ip)]
    # changes by origin and change control: the two console changes, with no change control configured
    assert _run(queried, "changes_by_origin", yesterday, today) == [(ACCOUNT, "console", "not-configured", 2)]
    # the manual change to the IaC-managed group, and not the one to "web"
    rows = _run(queried, "manual_changes_to_iac_groups", yesterday, today)
    assert [(r[1], r[2], r[3], r[6]) for r in rows] == [(ACCOUNT, REGION, iac, "console")]
    # no group has been unused for 90 days on a deployment whose first audit ran today
    assert _run(queried, "unused_for_90_days") == []
    # the account-region has snapshots today, none yesterday
    first = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert _run(queried, "evidence_gaps", first, 2) == [(ACCOUNT, REGION, first)]


def test_turning_evidence_queries_off_destroys_only_their_resources(example_complete):
    # When the applied example is planned with the queries off
    runner = example_complete.terraform
    result = subprocess.run(
        ["terraform", "plan", "-no-color", "-input=false", "-refresh=false", f"-state={runner.state_path}",
         "-var", "enable_evidence_queries=false", "-out=queries-off.plan"],
        cwd=runner.module_dir, env={**os.environ, "TF_DATA_DIR": runner.work_dir, "TF_IN_AUTOMATION": "1"},
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    shown = subprocess.run(["terraform", "show", "-json", "queries-off.plan"], cwd=runner.module_dir,
                           env={**os.environ, "TF_DATA_DIR": runner.work_dir}, capture_output=True, text=True)
    changes = json.loads(shown.stdout)["resource_changes"]
    # Then only the tables, workgroup, named queries and query policy go; nothing else is destroyed or replaced
    destroyed = [c["address"] for c in changes if "delete" in c["change"]["actions"]]
    assert destroyed and all(a.startswith("module.sgwatch.module.evidence_queries[0].") for a in destroyed), destroyed
    assert [c["address"] for c in changes if c["change"]["actions"] == ["create"]] == []


def test_scheduled_runs_are_not_retried_whole_and_alerts_are_retried(deployed):
    """A failed scheduled run re-runs no healthy pair and repeats no mail; an alert is retried (idempotent)."""
    retries = {
        capability: client("lambda").get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"]
        for capability, name in deployed["lambda_function_names"].items()
    }
    assert retries == {
        "sg_inventory": 0,
        "unused_sg_audit": 0,
        "review_pack": 0,
        "securityhub_report": 0,
        "sg_change_notifier": 2,
    }
