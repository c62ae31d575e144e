"""What each kind of AWS resource refers to: the unused-group audit's reference extractors.

Pure: describe/list items in (as the APIs return them), :class:`~sgwatch.unused_sg_audit.usage.Reference` s out
(group id + a reason naming the referrer). A resource whose items keep their groups in one place
is a :class:`Holder` declaration; the others are functions. :mod:`sgwatch.unused_sg_audit.sources` declares which
calls feed each of them; nothing here touches AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .usage import GroupIndex, Reference


def _each(ids: Iterable[str | None] | None, reason: str) -> Iterator[Reference]:
    for group_id in ids or ():
        if group_id:
            yield Reference(group_id, reason)


@dataclass(frozen=True)
class Holder:
    """A kind of resource whose items each name their groups in one place: an extractor declared as data.

    The reason is ``"<label> <the item's name member>"``; ``groups`` is where an item holds its
    group ids: members joined by dots, ending in ``[].<key>`` when the list holds objects.
    """

    label: str
    name: str
    groups: str

    def __call__(self, items: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
        path, _, key = self.groups.partition("[].")
        for item in items:
            found: Any = item
            for member in path.split("."):
                found = (found or {}).get(member)
            ids = [entry.get(key) for entry in found or ()] if key else found
            yield from _each(ids, f"{self.label} {item.get(self.name, '?')}")


# --------------------------------------------------------------------------- the groups themselves


def refs_from_group_rules(groups: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """Other groups' ingress and egress rules; a group referring to itself is not a use."""
    for g in groups:
        own = g["GroupId"]
        for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
            for permission in g.get(key) or ():
                for pair in permission.get("UserIdGroupPairs") or ():
                    target = pair.get("GroupId")
                    if not target or target == own:
                        continue
                    via = pair.get("VpcPeeringConnectionId")
                    detail = f"{direction}, via {via}" if via else direction
                    yield Reference(target, f"sg-rule {own} ({detail})")


# --------------------------------------------------------------------------- EC2 and Auto Scaling


def refs_from_network_interfaces(interfaces: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """All interfaces, requester-managed ones included (RDS, ELB, endpoints, EKS...)."""
    for eni in interfaces:
        instance = (eni.get("Attachment") or {}).get("InstanceId")
        if instance:
            detail = f"instance {instance}"
        else:
            detail = eni.get("RequesterId") or eni.get("InterfaceType") or eni.get("Status") or ""
        reason = f"network-interface {eni.get('NetworkInterfaceId', '?')}" + (f" ({detail})" if detail else "")
        yield from _each((g.get("GroupId") for g in eni.get("Groups") or ()), reason)


def refs_from_launch_template_versions(versions: Iterable[Mapping[str, Any]], index: GroupIndex) -> Iterator[Reference]:
    """Every version counts: an Auto Scaling group may pin an old one, and it can be launched any time."""
    for v in versions:
        data = v.get("LaunchTemplateData") or {}
        reason = f"launch-template {v.get('LaunchTemplateId', '?')} (version {v.get('VersionNumber', '?')})"
        tokens: list[str] = list(data.get("SecurityGroupIds") or ())
        tokens += data.get("SecurityGroups") or ()
        for nic in data.get("NetworkInterfaces") or ():
            tokens += nic.get("Groups") or ()
        for token in tokens:
            yield from _each(index.resolve(token), reason)


def refs_from_launch_configurations(
    configurations: Iterable[Mapping[str, Any]], index: GroupIndex
) -> Iterator[Reference]:
    for lc in configurations:
        reason = f"launch-configuration {lc.get('LaunchConfigurationName', '?')}"
        for token in lc.get("SecurityGroups") or ():
            yield from _each(index.resolve(token), reason)


def refs_from_security_group_references(references: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """DescribeSecurityGroupReferences: groups referenced from a peered VPC or through a transit gateway."""
    for r in references:
        link = r.get("VpcPeeringConnectionId") or r.get("TransitGatewayId") or ""
        reason = f"peered-vpc-reference {r.get('ReferencingVpcId', '?')}" + (f" ({link})" if link else "")
        yield from _each([r.get("GroupId")], reason)


# --------------------------------------------------------------------------- compute and scheduling


def refs_from_lambda_functions(functions: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """ListFunctions(FunctionVersion=ALL): a published version keeps the VPC config it was published with."""
    for f in functions:
        ids = (f.get("VpcConfig") or {}).get("SecurityGroupIds")
        version = f.get("Version") or "$LATEST"
        name = f.get("FunctionName", "?") + ("" if version == "$LATEST" else f":{version}")
        yield from _each(ids, f"lambda-function {name}")


def _awsvpc_groups(network_configuration: Mapping[str, Any] | None) -> list[str]:
    config = (network_configuration or {}).get("awsvpcConfiguration") or {}
    return list(config.get("securityGroups") or config.get("SecurityGroups") or ())


def refs_from_ecs_services(cluster: str, services: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """Services (even scaled to zero) and their task sets (external/CodeDeploy deployments)."""
    for s in services:
        name = f"{cluster}/{s.get('serviceName', '?')}"
        yield from _each(_awsvpc_groups(s.get("networkConfiguration")), f"ecs-service {name}")
        for ts in s.get("taskSets") or ():
            reason = f"ecs-task-set {name}/{ts.get('id', '?')}"
            yield from _each(_awsvpc_groups(ts.get("networkConfiguration")), reason)


def _ecs_target_groups(target: Mapping[str, Any]) -> list[str]:
    ecs = target.get("EcsParameters") or {}
    config = (ecs.get("NetworkConfiguration") or {}).get("awsvpcConfiguration") or {}
    return list(config.get("SecurityGroups") or ())


def rule_label(rule: Mapping[str, Any]) -> str:
    """``rule/<name>`` on the default bus, ``rule/<bus>/<name>`` otherwise (as in the rule ARN)."""
    bus = rule.get("EventBusName") or "default"
    name = rule.get("Name", "?")
    return f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"


def refs_from_eventbridge_targets(rule: Mapping[str, Any], targets: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """Scheduled ECS tasks run by EventBridge rules (no ENI exists between runs)."""
    for t in targets:
        yield from _each(_ecs_target_groups(t), f"eventbridge-target {rule_label(rule)}")


def refs_from_scheduler_schedules(schedules: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """EventBridge Scheduler schedules (GetSchedule) whose target runs an ECS task."""
    for s in schedules:
        reason = f"scheduler-schedule {s.get('GroupName') or 'default'}/{s.get('Name', '?')}"
        yield from _each(_ecs_target_groups(s.get("Target") or {}), reason)


# CodeBuild projects, Batch compute environments, Glue connections, SageMaker notebook instances
# (DescribeNotebookInstance: a stopped notebook has no ENI but keeps its groups).
refs_from_codebuild_projects = Holder("codebuild-project", "name", "vpcConfig.securityGroupIds")
refs_from_batch_compute_environments = Holder(
    "batch-compute-environment", "computeEnvironmentName", "computeResources.securityGroupIds"
)
refs_from_glue_connections = Holder("glue-connection", "Name", "PhysicalConnectionRequirements.SecurityGroupIdList")
refs_from_sagemaker_notebooks = Holder("sagemaker-notebook", "NotebookInstanceName", "SecurityGroups")


# --------------------------------------------------------------------------- data stores and networking


# RDS, Aurora, DocumentDB and Neptune instances (stopped ones included) and clusters (which hold
# groups even with no instance, and so no ENI), ElastiCache clusters, Redshift clusters (paused
# ones included), DMS replication instances.
_VPC_GROUPS = "VpcSecurityGroups[].VpcSecurityGroupId"
refs_from_rds_instances = Holder("rds-instance", "DBInstanceIdentifier", _VPC_GROUPS)
refs_from_rds_clusters = Holder("rds-cluster", "DBClusterIdentifier", _VPC_GROUPS)
refs_from_elasticache_clusters = Holder("elasticache-cluster", "CacheClusterId", "SecurityGroups[].SecurityGroupId")
refs_from_redshift_clusters = Holder("redshift-cluster", "ClusterIdentifier", _VPC_GROUPS)
refs_from_dms_replication_instances = Holder("dms-replication-instance", "ReplicationInstanceIdentifier", _VPC_GROUPS)


def refs_from_msk_clusters(clusters: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    for c in clusters:
        reason = f"msk-cluster {c.get('ClusterName', '?')}"
        broker = (c.get("Provisioned") or {}).get("BrokerNodeGroupInfo") or c.get("BrokerNodeGroupInfo") or {}
        yield from _each(broker.get("SecurityGroups"), reason)
        for vpc in (c.get("Serverless") or {}).get("VpcConfigs") or ():
            yield from _each(vpc.get("SecurityGroupIds"), reason)


def refs_from_load_balancers(kind: str, balancers: Iterable[Mapping[str, Any]]) -> Iterator[Reference]:
    """``kind`` is ``elbv2`` (application/network/gateway) or ``elb`` (classic)."""
    for lb in balancers:
        yield from _each(lb.get("SecurityGroups"), f"load-balancer {lb.get('LoadBalancerName', '?')} ({kind})")


def refs_from_efs_mount_target(file_system_id: str, mount_target_id: str, groups: Sequence[str]) -> Iterator[Reference]:
    yield from _each(groups, f"efs-mount-target {mount_target_id} ({file_system_id})")
