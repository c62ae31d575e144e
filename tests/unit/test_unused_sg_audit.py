"""The unused_sg_audit handler against moto (in process).

One group per reason the emulator supports, the default group, a self-referencing
unused group, an exempt-tagged group, a fresh group in its grace period and two truly
unused groups: the result must match exactly. APIs moto lacks or cannot fail on demand
(AccessDenied on one source; Security Hub GetFindings/BatchUpdateFindings) go through
botocore's Stubber on a real client.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sgwatch import aws
from sgwatch.unused_sg_audit import securityhub_sync
from tests.unit.conftest import EVIDENCE_BUCKET as BUCKET
from unused_sg_audit import handler

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "security-groups/"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


class Estate:
    """A region with one group per kind of referrer, created in moto."""

    def __init__(self) -> None:
        c = lambda service: boto3.client(service, REGION)  # noqa: E731
        self.ec2 = ec2 = c("ec2")
        self.vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in ((1, "a"), (2, "b"))
        ]
        self.subnet = subnets[0]
        self.ids: dict[str, str] = {}
        for name in (
            "eni", "lt-old-version", "lc", "egress-ref", "lambda", "ecs", "ecs-task-set", "batch", "eventbridge",
            "scheduler", "codebuild", "glue", "rds", "rds-cluster", "redshift", "dms", "msk", "sagemaker", "alb",
            "clb", "efs", "referrer", "self-ref", "unused-a", "unused-b",
        ):  # fmt: skip
            self.ids[name] = self.group(name)
        self.ids["exempt"] = self.group("exempt", {"sgwatch:keep": "DR standby"})
        fresh = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        self.ids["fresh"] = self.group("fresh", {"sgwatch:created-at": fresh})
        self.ids["default"] = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        g = self.ids

        self.eni = ec2.create_network_interface(SubnetId=self.subnet, Groups=[g["eni"]])["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        lt = ec2.create_launch_template(
            LaunchTemplateName="web",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "SecurityGroupIds": [g["lt-old-version"]]},
        )["LaunchTemplate"]["LaunchTemplateId"]
        ec2.create_launch_template_version(LaunchTemplateId=lt, LaunchTemplateData={"ImageId": "ami-12c6146b"})
        self.lt = lt
        c("autoscaling").create_launch_configuration(
            LaunchConfigurationName="legacy-lc",
            ImageId="ami-12c6146b",
            InstanceType="t3.micro",
            SecurityGroups=[g["lc"]],
        )
        ec2.authorize_security_group_egress(
            GroupId=g["referrer"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": g["egress-ref"]}],
                }
            ],
        )
        ec2.authorize_security_group_ingress(
            GroupId=g["self-ref"],
            IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": g["self-ref"]}]}],
        )
        role = c("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        c("lambda").create_function(
            FunctionName="etl",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zip()},
            VpcConfig={"SubnetIds": [self.subnet], "SecurityGroupIds": [g["lambda"]]},
        )
        ecs = c("ecs")
        ecs.create_cluster(clusterName="prod")
        task = ecs.register_task_definition(
            family="api", networkMode="awsvpc", containerDefinitions=[{"name": "a", "image": "nginx", "memory": 128}]
        )
        awsvpc = {"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [g["ecs"]]}}
        ecs.create_service(
            cluster="prod", serviceName="api", taskDefinition="api", desiredCount=0, networkConfiguration=awsvpc
        )
        ecs.create_service(
            cluster="prod",
            serviceName="canary",
            taskDefinition="api",
            desiredCount=0,
            deploymentController={"type": "EXTERNAL"},
        )
        self.task_set = ecs.create_task_set(
            cluster="prod",
            service="canary",
            taskDefinition="api",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [g["ecs-task-set"]]}
            },
        )["taskSet"]["id"]
        c("batch").create_compute_environment(
            computeEnvironmentName="nightly-jobs",
            type="MANAGED",
            state="ENABLED",
            computeResources={
                "type": "FARGATE",
                "maxvCpus": 4,
                "subnets": [self.subnet],
                "securityGroupIds": [g["batch"]],
            },
            serviceRole=role,
        )
        task_arn = task["taskDefinition"]["taskDefinitionArn"]
        cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"
        ecs_parameters = {
            "TaskDefinitionArn": task_arn,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "awsvpcConfiguration": {"Subnets": [self.subnet], "SecurityGroups": [g["eventbridge"]]}
            },
        }
        events = c("events")
        events.put_rule(Name="nightly-batch", ScheduleExpression="cron(0 2 * * ? *)")
        events.put_targets(
            Rule="nightly-batch",
            Targets=[{"Id": "1", "Arn": cluster_arn, "RoleArn": role, "EcsParameters": ecs_parameters}],
        )
        c("scheduler").create_schedule(
            Name="hourly-report",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": cluster_arn,
                "RoleArn": role,
                "EcsParameters": {
                    "TaskDefinitionArn": task_arn,
                    "NetworkConfiguration": {
                        "awsvpcConfiguration": {"Subnets": [self.subnet], "SecurityGroups": [g["scheduler"]]}
                    },
                },
            },
        )
        c("codebuild").create_project(
            name="builder",
            source={"type": "S3", "location": "artifacts/source.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=role,
            vpcConfig={"vpcId": self.vpc, "subnets": [self.subnet], "securityGroupIds": [g["codebuild"]]},
        )
        c("glue").create_connection(
            ConnectionInput={
                "Name": "warehouse",
                "ConnectionType": "JDBC",
                "ConnectionProperties": {"JDBC_CONNECTION_URL": "jdbc:postgresql://db:5432/x"},
                "PhysicalConnectionRequirements": {"SubnetId": self.subnet, "SecurityGroupIdList": [g["glue"]]},
            }
        )
        rds = c("rds")
        rds.create_db_subnet_group(DBSubnetGroupName="db", DBSubnetGroupDescription="db", SubnetIds=subnets)
        rds.create_db_instance(
            DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="u",
            MasterUserPassword="password1", AllocatedStorage=20, VpcSecurityGroupIds=[g["rds"]],
            DBSubnetGroupName="db",
        )  # fmt: skip
        rds.create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="u",
            MasterUserPassword="password1",
            VpcSecurityGroupIds=[g["rds-cluster"]], DBSubnetGroupName="db",
        )  # fmt: skip
        c("redshift").create_cluster(
            ClusterIdentifier="dwh", NodeType="dc2.large", MasterUsername="u", MasterUserPassword="Password1",
            VpcSecurityGroupIds=[g["redshift"]],
        )  # fmt: skip
        c("dms").create_replication_instance(
            ReplicationInstanceIdentifier="migrate",
            ReplicationInstanceClass="dms.t3.micro",
            VpcSecurityGroupIds=[g["dms"]],
        )
        c("kafka").create_cluster_v2(
            ClusterName="stream",
            Provisioned={
                "BrokerNodeGroupInfo": {
                    "InstanceType": "kafka.t3.small",
                    "ClientSubnets": subnets,
                    "SecurityGroups": [g["msk"]],
                },
                "KafkaVersion": "3.5.1",
                "NumberOfBrokerNodes": 2,
            },
        )
        c("sagemaker").create_notebook_instance(
            NotebookInstanceName="research",
            InstanceType="ml.t3.medium",
            RoleArn=role,
            SubnetId=self.subnet,
            SecurityGroupIds=[g["sagemaker"]],
        )
        c("elbv2").create_load_balancer(Name="public", Subnets=subnets, SecurityGroups=[g["alb"]])
        c("elb").create_load_balancer(
            LoadBalancerName="legacy",
            Listeners=[{"Protocol": "http", "LoadBalancerPort": 80, "InstancePort": 80}],
            Subnets=[self.subnet],
            SecurityGroups=[g["clb"]],
        )
        efs = c("efs")
        fs = efs.create_file_system(CreationToken="shared")["FileSystemId"]
        self.mount_target = efs.create_mount_target(FileSystemId=fs, SubnetId=self.subnet, SecurityGroups=[g["efs"]])
        self.fs = fs

    def group(self, name: str, tags: dict[str, str] | None = None) -> str:
        kwargs: dict[str, Any] = {}
        if tags:
            kwargs["TagSpecifications"] = [
                {"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        return self.ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc, **kwargs)["GroupId"]

    def expected_in_use(self) -> dict[str, list[str]]:
        g = self.ids
        mt = self.mount_target
        return {
            g["eni"]: [f"network-interface {self.eni} ({self._requester(self.eni)})"],
            g["lt-old-version"]: [f"launch-template {self.lt} (version 1)"],
            g["lc"]: ["launch-configuration legacy-lc"],
            g["egress-ref"]: [f"sg-rule {g['referrer']} (egress)"],
            g["lambda"]: ["lambda-function etl"],
            g["ecs"]: ["ecs-service prod/api"],
            g["ecs-task-set"]: [f"ecs-task-set prod/canary/{self.task_set}"],
            g["batch"]: ["batch-compute-environment nightly-jobs"],
            g["eventbridge"]: ["eventbridge-target rule/nightly-batch"],
            g["scheduler"]: ["scheduler-schedule default/hourly-report"],
            g["codebuild"]: ["codebuild-project builder"],
            g["glue"]: ["glue-connection warehouse"],
            g["rds"]: ["rds-instance orders"],
            g["rds-cluster"]: ["rds-cluster ledger"],
            g["redshift"]: ["redshift-cluster dwh"],
            g["dms"]: ["dms-replication-instance migrate"],
            g["msk"]: ["msk-cluster stream"],
            g["sagemaker"]: ["sagemaker-notebook research"],
            g["alb"]: ["load-balancer public (elbv2)"],
            g["clb"]: ["load-balancer legacy (elb)"],
            # moto gives the mount target a requester-managed interface, as AWS does
            g["efs"]: sorted(
                [
                    f"efs-mount-target {mt['MountTargetId']} ({self.fs})",
                    f"network-interface {mt['NetworkInterfaceId']} ({self._requester(mt['NetworkInterfaceId'])})",
                ]
            ),
        }

    def _requester(self, eni_id: str) -> str:
        eni = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        return eni.get("RequesterId") or eni.get("InterfaceType") or eni.get("Status")


@pytest.fixture
def aws_env(evidence_account: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The evidence account, with an alert topic whose messages wait in an SQS queue."""
    sns = boto3.client("sns", REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sqs = boto3.client("sqs", REGION)
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    settings = {"EVIDENCE_PREFIX": PREFIX, "ALERT_TOPIC_ARN": topic, "REGIONS": REGION, "GRACE_DAYS": "7"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return {"s3": boto3.client("s3", REGION), "sqs": sqs, "queue": queue, "topic": topic}


def _serve(monkeypatch: pytest.MonkeyPatch, service: str, client: Any, region: str | None = None) -> None:
    """The handler's clients of ``service`` (in ``region`` only, when given) are ``client``; the others are real."""
    real_client = aws.client
    monkeypatch.setattr(
        aws,
        "client",
        lambda s, r=None: client if s == service and region in (None, r) else real_client(s, r),
    )


def messages(env: dict[str, Any]) -> list[str]:
    found = env["sqs"].receive_message(QueueUrl=env["queue"], MaxNumberOfMessages=10).get("Messages") or []
    return [m["Body"] for m in found]


def test_every_referrer_is_found_and_only_the_truly_unused_groups_are_reported(aws_env: dict[str, Any]) -> None:
    # given an estate with one group per referrer, plus default, self-referencing, exempt, fresh and two unused groups
    estate = Estate()
    # when
    result = handler.lambda_handler({}, None)
    # then
    (region,) = result["results"]
    g = estate.ids
    assert region["unused"] == sorted([g["self-ref"], g["unused-a"], g["unused-b"], g["referrer"]])
    assert region["in_use"] == estate.expected_in_use()
    assert region["not_scanned"] == {}
    report = json.loads(aws_env["s3"].get_object(Bucket=BUCKET, Key=region["report_key"])["Body"].read())
    assert report["exempt"] == [g["exempt"]]
    assert report["in_grace"] == [g["fresh"]]
    # moto, like AWS, also has a default VPC: its default group is never unused either
    defaults = estate.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"
    ]
    assert g["default"] in report["default"]
    assert report["default"] == sorted(d["GroupId"] for d in defaults)
    assert [u["group_id"] for u in report["unused"]] == region["unused"]
    assert region["report_key"].startswith(f"{PREFIX}{ACCOUNT}/{REGION}/unused/")
    csv_body = (
        aws_env["s3"]
        .get_object(Bucket=BUCKET, Key=region["report_key"][: -len(".json")] + ".csv")["Body"]
        .read()
        .decode()
    )
    assert (
        csv_body.splitlines()[0]
        == "AccountId,Region,GroupId,GroupName,VpcId,Status,AgeDays,RuleCount,Reasons,DeleteCommand"
    )
    assert len(csv_body.splitlines()) == 1 + len(estate.ec2.describe_security_groups()["SecurityGroups"])


def test_alert_only_when_groups_become_newly_unused(aws_env: dict[str, Any]) -> None:
    # given a first run that reports two unused groups
    estate = Estate()
    handler.lambda_handler({}, None)
    first = messages(aws_env)
    assert len(first) == 1 and estate.ids["unused-a"] in first[0]
    # when nothing changes, then no alert
    handler.lambda_handler({}, None)
    assert messages(aws_env) == []
    # when the Lambda function goes away, its group becomes unused and only it is announced
    boto3.client("lambda", REGION).delete_function(FunctionName="etl")
    result = handler.lambda_handler({}, None)
    assert result["results"][0]["newly_unused"] == [estate.ids["lambda"]]
    (alert,) = messages(aws_env)
    assert estate.ids["lambda"] in alert and estate.ids["unused-a"] not in alert


def _denying(service: str, operation: str, code: str) -> Any:
    """A real client whose ``operation`` fails with ``code`` (Stubber), other calls unreachable."""
    client = boto3.client(service, REGION)
    stub = Stubber(client)
    stub.add_client_error(operation, service_error_code=code, service_message="not authorized", http_status_code=403)
    stub.activate()
    return client


@pytest.mark.parametrize("allow_partial", [False, True])
def test_access_denied_source_is_not_scanned_and_blocks_unused_unless_allowed(
    aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, allow_partial: bool
) -> None:
    # given the role may not list Lambda functions
    estate = Estate()
    _serve(monkeypatch, "lambda", _denying("lambda", "list_functions", "AccessDeniedException"))
    if allow_partial:
        monkeypatch.setenv("ALLOW_PARTIAL", "true")
    # when
    (region,) = handler.lambda_handler({}, None)["results"]
    # then the source is reported, never read as "no references"
    assert region["not_scanned"] == {"lambda-functions": "access denied (AccessDeniedException)"}
    report = json.loads(aws_env["s3"].get_object(Bucket=BUCKET, Key=region["report_key"])["Body"].read())
    assert report["not_scanned"] == region["not_scanned"]
    g = estate.ids
    if allow_partial:
        assert region["unused"] == sorted([g["self-ref"], g["unused-a"], g["unused-b"], g["referrer"], g["lambda"]])
    else:
        assert region["unused"] == []
        assert sorted(report["undetermined"]) == sorted(
            [g["self-ref"], g["unused-a"], g["unused-b"], g["referrer"], g["lambda"]]
        )
        assert messages(aws_env) == []


def test_failing_region_does_not_stop_the_others(aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # given a second region whose DescribeSecurityGroups is refused
    Estate()
    monkeypatch.setenv("REGIONS", f"{REGION},eu-west-3")
    broken = boto3.client("ec2", "eu-west-3")
    stub = Stubber(broken)
    stub.add_client_error("describe_security_groups", service_error_code="UnauthorizedOperation", http_status_code=403)
    stub.activate()
    _serve(monkeypatch, "ec2", broken, "eu-west-3")
    # when / then
    with pytest.raises(handler.AuditFailed, match="eu-west-3"):
        handler.lambda_handler({}, None)
    keys = aws_env["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]
    assert {k["Key"].split("/")[2] for k in keys} == {REGION}


PRODUCT = f"arn:aws:securityhub:{REGION}::product/aws/securityhub"


def _in_use(reason: str) -> str:
    return f"{securityhub_sync.NOTE_PREFIX} In use, not unused: {reason}"


def _ec2_22(fid: str, group_id: str, status: str, note: dict[str, str] | None = None) -> dict[str, Any]:
    """An EC2.22 (unused security group) finding on a group, with a note when one was left."""
    found: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": fid,
        "ProductArn": PRODUCT,
        "GeneratorId": "security-control/EC2.22",
        "AwsAccountId": ACCOUNT,
        "CreatedAt": "2026-11-01T00:00:00Z",
        "UpdatedAt": "2026-11-01T00:00:00Z",
        "Title": "Unused EC2 security groups should be removed",
        "Description": "x",
        "Resources": [
            {"Type": "AwsEc2SecurityGroup", "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}"}
        ],
        "Compliance": {"Status": "FAILED", "SecurityControlId": "EC2.22"},
        "Workflow": {"Status": status},
    }
    if note:
        found["Note"] = {**note, "UpdatedAt": "2026-11-01T00:00:00Z"}
    return found


def _hub(
    monkeypatch: pytest.MonkeyPatch, findings: list[dict[str, Any]], updates: list[tuple[str, str, str]]
) -> Stubber:
    """Security Hub in the function's own account, answering ``findings`` and expecting exactly
    ``updates`` (finding id, workflow status, note text), in that order."""
    hub = boto3.client("securityhub", REGION)
    stub = Stubber(hub)
    stub.add_response(
        "get_findings",
        {"Findings": findings},
        {"Filters": securityhub_sync.findings_filter(ACCOUNT, REGION, ["EC2.22"]), "MaxResults": 100},
    )
    for fid, status, text in updates:
        stub.add_response(
            "batch_update_findings",
            {"ProcessedFindings": [{"Id": fid, "ProductArn": PRODUCT}], "UnprocessedFindings": []},
            {
                "FindingIdentifiers": [{"Id": fid, "ProductArn": PRODUCT}],
                "Workflow": {"Status": status},
                "Note": {"Text": text, "UpdatedBy": securityhub_sync.UPDATED_BY},
            },
        )
    stub.activate()
    real_central = aws.central_client  # Security Hub is read in the function's own account
    monkeypatch.setattr(aws, "central_client", lambda s, r=None: hub if s == "securityhub" else real_central(s, r))
    return stub


def test_security_hub_sync_suppresses_in_use_and_reopens_its_own(
    aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given findings: an in-use group (NEW), a group we suppressed that is now unused, one suppressed by a person
    estate = Estate()
    g = estate.ids
    monkeypatch.setenv("SECURITYHUB_SYNC", "true")
    ours = {"Text": _in_use("lambda-function old"), "UpdatedBy": securityhub_sync.UPDATED_BY}
    stub = _hub(
        monkeypatch,
        [
            _ec2_22("f-lt", g["lt-old-version"], "NEW"),
            _ec2_22("f-ours", g["unused-a"], "SUPPRESSED", ours),
            _ec2_22("f-theirs", g["unused-b"], "SUPPRESSED", {"Text": "kept for DR", "UpdatedBy": "alice"}),
        ],
        [
            ("f-ours", "NOTIFIED", securityhub_sync.reopen_note()),
            ("f-lt", "SUPPRESSED", _in_use(f"launch-template {estate.lt} (version 1)")),
        ],
    )
    # when
    (region,) = handler.lambda_handler({}, None)["results"]
    # then exactly those two updates were made (f-theirs untouched), and the groups are never changed
    stub.assert_no_pending_responses()
    assert region["securityhub"] == {"suppressed": 1, "reopened": 1, "failed": 0}
    assert g["unused-b"] in region["unused"]


@pytest.mark.parametrize("allow_partial", [False, True])
def test_security_hub_findings_are_never_reopened_on_incomplete_evidence(
    aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, allow_partial: bool
) -> None:
    # given the role may not list Lambda functions, and findings SG Watch suppressed earlier on groups
    # nothing it could see refers to (exempt, default, in grace, unreferenced)
    estate = Estate()
    g = estate.ids
    monkeypatch.setenv("SECURITYHUB_SYNC", "true")
    if allow_partial:
        monkeypatch.setenv("ALLOW_PARTIAL", "true")
    ours = {"Text": _in_use("lambda-function etl"), "UpdatedBy": securityhub_sync.UPDATED_BY}
    stub = _hub(
        monkeypatch,
        [_ec2_22("f-lt", g["lt-old-version"], "NEW")]
        + [_ec2_22(f"f-{name}", g[name], "SUPPRESSED", ours) for name in ("exempt", "default", "fresh", "unused-a")],
        # the one update expected: a reference seen is evidence enough to suppress
        [("f-lt", "SUPPRESSED", _in_use(f"launch-template {estate.lt} (version 1)"))],
    )
    _serve(monkeypatch, "lambda", _denying("lambda", "list_functions", "AccessDeniedException"))
    # when the audit runs
    (region,) = handler.lambda_handler({}, None)["results"]
    # then no finding is re-opened ("nothing refers to the group any more" cannot be said), only the suppression
    stub.assert_no_pending_responses()
    assert region["not_scanned"] == {"lambda-functions": "access denied (AccessDeniedException)"}
    assert region["securityhub"] == {"suppressed": 1, "reopened": 0, "failed": 0}


def test_missing_bucket_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVIDENCE_BUCKET", raising=False)
    with pytest.raises(ValueError, match="EVIDENCE_BUCKET"):
        handler.lambda_handler({}, None)


def test_audit_only_reads_security_groups(aws_env: dict[str, Any]) -> None:
    # given the estate; when the audit runs twice
    estate = Estate()
    before = estate.ec2.describe_security_groups()["SecurityGroups"]
    handler.lambda_handler({}, None)
    handler.lambda_handler({}, None)
    # then every group and rule is exactly as it was
    assert estate.ec2.describe_security_groups()["SecurityGroups"] == before


class _PeeredEc2:
    """The real moto EC2 client, plus DescribeSecurityGroupReferences (which moto lacks)
    answering with the documented response shape."""

    def __init__(self, real: Any, references: list[dict[str, str]]) -> None:
        self._real = real
        self._references = references
        self.asked: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def describe_security_group_references(self, GroupId: list[str]) -> dict[str, Any]:  # noqa: N803
        self.asked.append(GroupId)
        return {"SecurityGroupReferenceSet": [r for r in self._references if r["GroupId"] in GroupId]}


def _peer(estate: Estate) -> str:
    other = estate.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    pcx = estate.ec2.create_vpc_peering_connection(VpcId=estate.vpc, PeerVpcId=other)["VpcPeeringConnection"]
    estate.ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    return pcx["VpcPeeringConnectionId"]


def test_group_referenced_from_a_peered_vpc_is_in_use(aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # given an active peering and a peered VPC whose rules refer to unused-a
    estate = Estate()
    pcx = _peer(estate)
    ec2 = _PeeredEc2(
        aws.client("ec2", REGION),
        [{"GroupId": estate.ids["unused-a"], "ReferencingVpcId": "vpc-peer", "VpcPeeringConnectionId": pcx}],
    )
    _serve(monkeypatch, "ec2", ec2)
    # when
    (region,) = handler.lambda_handler({}, None)["results"]
    # then
    assert region["in_use"][estate.ids["unused-a"]] == [f"peered-vpc-reference vpc-peer ({pcx})"]
    assert estate.ids["unused-a"] not in region["unused"]
    assert ec2.asked and estate.ids["unused-b"] in ec2.asked[0]


def test_peering_without_the_references_api_is_not_scanned(aws_env: dict[str, Any]) -> None:
    # given an active peering, and an endpoint (moto) that does not implement DescribeSecurityGroupReferences
    estate = Estate()
    _peer(estate)
    # when
    (region,) = handler.lambda_handler({}, None)["results"]
    # then nothing is declared unused on that incomplete evidence
    assert region["not_scanned"] == {"peered-vpc-references": "not available (API not implemented by this endpoint)"}
    assert region["unused"] == []


def test_cloudtrail_creation_time_puts_a_fresh_group_in_its_grace_period(
    aws_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given CloudTrail recorded the creation of unused-a two days ago (GRACE_DAYS is 7)
    estate = Estate()
    created = datetime.now(UTC) - timedelta(days=2)
    record = {
        "eventName": "CreateSecurityGroup",
        "eventTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "responseElements": {"groupId": estate.ids["unused-a"]},
    }
    trail = boto3.client("cloudtrail", REGION)
    stub = Stubber(trail)
    stub.add_response(
        "lookup_events",
        {
            "Events": [
                {
                    "EventId": "e1",
                    "EventName": "CreateSecurityGroup",
                    "EventTime": created,
                    "CloudTrailEvent": json.dumps(record),
                }
            ]
        },
        {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateSecurityGroup"}],
            "StartTime": ANY,
            "EndTime": ANY,
        },
    )
    stub.activate()
    _serve(monkeypatch, "cloudtrail", trail)
    # when
    (region,) = handler.lambda_handler({}, None)["results"]
    # then
    stub.assert_no_pending_responses()
    report = json.loads(aws_env["s3"].get_object(Bucket=BUCKET, Key=region["report_key"])["Body"].read())
    assert estate.ids["unused-a"] in report["in_grace"]
    assert estate.ids["unused-a"] not in region["unused"]


@pytest.mark.parametrize("value", ["seven", "-1", "1.5"])
def test_bad_grace_days_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EVIDENCE_BUCKET", BUCKET)
    monkeypatch.setenv("GRACE_DAYS", value)
    with pytest.raises(ValueError, match="GRACE_DAYS"):
        handler.lambda_handler({}, None)
