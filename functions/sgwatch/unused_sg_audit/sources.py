"""Where a security group can be referenced: every source the unused-group audit reads, declared once.

A :class:`Source` is one record: its name (as reported under "not scanned"), the API calls it
makes (service, operation, the response member holding the items) and its walk, which turns
the items into :class:`~sgwatch.unused_sg_audit.usage.Reference` s (group id + a reason naming the referrer).
The IAM actions the audit needs follow from the same records (:func:`permissions`), so adding
a source is one declaration here plus its action in ``modules/read-permissions`` (a unit test
holds the two together).

The extractors (:mod:`sgwatch.unused_sg_audit.references`) are pure: describe/list items in, references out.
A walk receives one fetcher per declared call, in declaration order, and nothing else, so a
source cannot make a call it does not declare. :mod:`sgwatch.unused_sg_audit.audit` runs them against AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore import xform_name

from ..aws import EC2_PAGE_SIZE
from .references import (
    refs_from_batch_compute_environments,
    refs_from_codebuild_projects,
    refs_from_dms_replication_instances,
    refs_from_ecs_services,
    refs_from_efs_mount_target,
    refs_from_elasticache_clusters,
    refs_from_eventbridge_targets,
    refs_from_glue_connections,
    refs_from_lambda_functions,
    refs_from_launch_configurations,
    refs_from_launch_template_versions,
    refs_from_load_balancers,
    refs_from_msk_clusters,
    refs_from_network_interfaces,
    refs_from_rds_clusters,
    refs_from_rds_instances,
    refs_from_redshift_clusters,
    refs_from_sagemaker_notebooks,
    refs_from_scheduler_schedules,
    refs_from_security_group_references,
)
from .usage import GroupIndex, Reference

# IAM service prefixes that differ from the boto3 client name.
IAM_PREFIXES = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing", "efs": "elasticfilesystem"}


@dataclass(frozen=True)
class Call:
    """One API operation: ``operation`` as the API reference and IAM name it, ``key`` the response
    member holding the items (empty: the response itself is the one item), ``params`` fixed request
    parameters and ``page_size`` the paginator's page size."""

    service: str
    operation: str
    key: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    page_size: int | None = None

    @property
    def method(self) -> str:
        return str(xform_name(self.operation))

    @property
    def action(self) -> str:
        return f"{IAM_PREFIXES.get(self.service, self.service)}:{self.operation}"


Fetch = Callable[..., Iterator[Any]]  # the items of one declared call; keyword arguments are request parameters
Extract = Callable[[Iterable[Any]], Iterable[Reference]]


@dataclass(frozen=True)
class Scope:
    """What a walk may know besides its calls: the region's groups, as described."""

    groups: Sequence[Mapping[str, Any]]
    index: GroupIndex


@dataclass(frozen=True)
class Source:
    name: str
    calls: tuple[Call, ...]
    walk: Callable[..., Iterable[Reference]]  # (scope, one Fetch per call) -> references


def listings(name: str, *listed: tuple[Call, Extract]) -> Source:
    """A source made of independent listings: every item of each call through its extractor."""

    def walk(scope: Scope, *fetches: Fetch) -> Iterator[Reference]:
        for (_, extract), items in zip(listed, fetches, strict=True):
            yield from extract(items())

    return Source(name, tuple(call for call, _ in listed), walk)


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


def _filter(name: str, value: str) -> dict[str, Any]:
    return {"Filters": [{"Name": name, "Values": [value]}]}


# --------------------------------------------------------------------------- walks
# Sources that chain calls (list, then describe each) or batch them.


def _launch_templates(scope: Scope, templates: Fetch, versions: Fetch) -> Iterator[Reference]:
    for template in templates():
        found = versions(LaunchTemplateId=template["LaunchTemplateId"])
        yield from refs_from_launch_template_versions(found, scope.index)


def _launch_configurations(scope: Scope, configurations: Fetch) -> Iterable[Reference]:
    return refs_from_launch_configurations(configurations(), scope.index)


def _peered_vpc_references(
    scope: Scope, peerings: Fetch, attachments: Fetch, references: Fetch
) -> Iterator[Reference]:
    """Asked only when an active peering or transit-gateway VPC attachment exists: nothing else can refer."""
    linked = list(peerings()) + list(attachments())
    if not linked:
        return
    for ids in _chunks([g["GroupId"] for g in scope.groups if g.get("VpcId")], 100):
        yield from refs_from_security_group_references(references(GroupId=ids))


def _ecs_services(scope: Scope, clusters: Fetch, services: Fetch, described: Fetch) -> Iterator[Reference]:
    for cluster_arn in clusters():
        arns = list(services(cluster=cluster_arn))
        # DescribeServices takes at most 10 services:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
        for chunk in _chunks(arns, 10):
            found = described(cluster=cluster_arn, services=chunk)
            yield from refs_from_ecs_services(cluster_arn.rsplit("/", 1)[-1], found)


def _eventbridge_targets(scope: Scope, buses: Fetch, rules: Fetch, targets: Fetch) -> Iterator[Reference]:
    for bus in [b["Name"] for b in buses()]:
        for rule in rules(EventBusName=bus):
            rule = {**rule, "EventBusName": rule.get("EventBusName") or bus}
            yield from refs_from_eventbridge_targets(rule, targets(Rule=rule["Name"], EventBusName=bus))


def _scheduler_schedules(scope: Scope, summaries: Fetch, schedule: Fetch) -> Iterator[Reference]:
    for summary in summaries():
        target_arn = (summary.get("Target") or {}).get("Arn", "")
        if target_arn and ":ecs:" not in target_arn:
            continue  # only ECS RunTask targets carry a network configuration
        yield from refs_from_scheduler_schedules(
            schedule(Name=summary["Name"], GroupName=summary.get("GroupName") or "default")
        )


def _codebuild_projects(scope: Scope, names: Fetch, projects: Fetch) -> Iterator[Reference]:
    # BatchGetProjects takes at most 100 names:
    # https://docs.aws.amazon.com/codebuild/latest/APIReference/API_BatchGetProjects.html
    for chunk in _chunks(list(names()), 100):
        yield from refs_from_codebuild_projects(projects(names=chunk))


def _sagemaker_notebooks(scope: Scope, notebooks: Fetch, notebook: Fetch) -> Iterator[Reference]:
    for summary in notebooks():
        yield from refs_from_sagemaker_notebooks(notebook(NotebookInstanceName=summary["NotebookInstanceName"]))


def _efs_mount_targets(
    scope: Scope, file_systems: Fetch, mount_targets: Fetch, groups: Fetch
) -> Iterator[Reference]:
    for fs in file_systems():
        for mt in mount_targets(FileSystemId=fs["FileSystemId"]):
            found = list(groups(MountTargetId=mt["MountTargetId"]))
            yield from refs_from_efs_mount_target(fs["FileSystemId"], mt["MountTargetId"], found)


# --------------------------------------------------------------------------- the declarations

# The audit's own calls: the groups of the region, and when they were created (for GRACE_DAYS).
SECURITY_GROUPS = Call("ec2", "DescribeSecurityGroups", "SecurityGroups", page_size=EC2_PAGE_SIZE)
CREATED_GROUPS = Call(
    "cloudtrail",
    "LookupEvents",
    "Events",
    {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateSecurityGroup"}]},
)

# Names appear in "not_scanned" and in the README list of sources.
SOURCES: tuple[Source, ...] = (
    listings(
        "network-interfaces",
        (
            Call("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces", page_size=EC2_PAGE_SIZE),
            refs_from_network_interfaces,
        ),
    ),
    Source(
        "launch-templates",
        # Both accept MaxResults 1..200:
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html
        (
            Call("ec2", "DescribeLaunchTemplates", "LaunchTemplates", page_size=200),
            Call("ec2", "DescribeLaunchTemplateVersions", "LaunchTemplateVersions", page_size=200),
        ),
        _launch_templates,
    ),
    Source(
        "launch-configurations",
        # MaxRecords is at most 100:
        # https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeLaunchConfigurations.html
        (Call("autoscaling", "DescribeLaunchConfigurations", "LaunchConfigurations", page_size=100),),
        _launch_configurations,
    ),
    Source(
        "peered-vpc-references",
        (
            Call("ec2", "DescribeVpcPeeringConnections", "VpcPeeringConnections", _filter("status-code", "active")),
            Call(
                "ec2",
                "DescribeTransitGatewayVpcAttachments",
                "TransitGatewayVpcAttachments",
                _filter("state", "available"),
            ),
            Call("ec2", "DescribeSecurityGroupReferences", "SecurityGroupReferenceSet"),
        ),
        _peered_vpc_references,
    ),
    listings(
        "lambda-functions",
        (Call("lambda", "ListFunctions", "Functions", {"FunctionVersion": "ALL"}), refs_from_lambda_functions),
    ),
    Source(
        "ecs-services",
        (
            Call("ecs", "ListClusters", "clusterArns"),
            Call("ecs", "ListServices", "serviceArns"),
            Call("ecs", "DescribeServices", "services"),
        ),
        _ecs_services,
    ),
    Source(
        "eventbridge-targets",
        (
            Call("events", "ListEventBuses", "EventBuses"),
            Call("events", "ListRules", "Rules"),
            Call("events", "ListTargetsByRule", "Targets"),
        ),
        _eventbridge_targets,
    ),
    Source(
        "scheduler-schedules",
        (Call("scheduler", "ListSchedules", "Schedules"), Call("scheduler", "GetSchedule")),
        _scheduler_schedules,
    ),
    Source(
        "codebuild-projects",
        (Call("codebuild", "ListProjects", "projects"), Call("codebuild", "BatchGetProjects", "projects")),
        _codebuild_projects,
    ),
    listings(
        "batch-compute-environments",
        (Call("batch", "DescribeComputeEnvironments", "computeEnvironments"), refs_from_batch_compute_environments),
    ),
    listings(
        "glue-connections",
        (Call("glue", "GetConnections", "ConnectionList", {"HidePassword": True}), refs_from_glue_connections),
    ),
    listings(
        "rds",
        (Call("rds", "DescribeDBInstances", "DBInstances"), refs_from_rds_instances),
        (Call("rds", "DescribeDBClusters", "DBClusters"), refs_from_rds_clusters),
    ),
    listings(
        "elasticache",
        (Call("elasticache", "DescribeCacheClusters", "CacheClusters"), refs_from_elasticache_clusters),
    ),
    listings("redshift", (Call("redshift", "DescribeClusters", "Clusters"), refs_from_redshift_clusters)),
    listings(
        "dms",
        (Call("dms", "DescribeReplicationInstances", "ReplicationInstances"), refs_from_dms_replication_instances),
    ),
    listings("msk", (Call("kafka", "ListClustersV2", "ClusterInfoList"), refs_from_msk_clusters)),
    Source(
        "sagemaker-notebooks",
        (
            Call("sagemaker", "ListNotebookInstances", "NotebookInstances"),
            Call("sagemaker", "DescribeNotebookInstance"),
        ),
        _sagemaker_notebooks,
    ),
    listings(
        "load-balancers",
        (Call("elbv2", "DescribeLoadBalancers", "LoadBalancers"), partial(refs_from_load_balancers, "elbv2")),
        (Call("elb", "DescribeLoadBalancers", "LoadBalancerDescriptions"), partial(refs_from_load_balancers, "elb")),
    ),
    Source(
        "efs-mount-targets",
        (
            Call("efs", "DescribeFileSystems", "FileSystems"),
            Call("efs", "DescribeMountTargets", "MountTargets"),
            Call("efs", "DescribeMountTargetSecurityGroups", "SecurityGroups"),
        ),
        _efs_mount_targets,
    ),
)


def permissions() -> list[str]:
    """Every IAM action the audit needs in the account it looks at: its own calls and every source's."""
    calls = [SECURITY_GROUPS, CREATED_GROUPS, *(call for source in SOURCES for call in source.calls)]
    return sorted({call.action for call in calls})
