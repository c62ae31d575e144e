"""Weekly audit of truly unused security groups, with the reason every other group is in use.

Read-only: the function never deletes or changes a security group. Each region gets a
JSON and a CSV report under ``{prefix}{account}/{region}/unused/``; an SNS summary goes
out only when groups became unused since the previous report. A source the role may not
read (or that the region lacks) is reported as "not scanned" and, unless ALLOW_PARTIAL
is set, no group is declared unused on that incomplete evidence.

Group creation time (for GRACE_DAYS): DescribeSecurityGroups has none. It comes from a
``sgwatch:created-at``/``CreatedAt``-style tag (ISO 8601) or from the CloudTrail event
history (``LookupEvents`` for CreateSecurityGroup over the grace window: a group not found
there is older than the window); otherwise it is unknown and the grace period cannot apply.

Covers every account and region of the run (see :mod:`sgwatch.accounts`), in this run or,
with WORK_QUEUE_URL set, spread over queued runs of one pair each (see :mod:`sgwatch.fanout`).
"""

from __future__ import annotations

import contextvars
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, UnknownServiceError

from sgwatch import aws, fanout, log, notify, securityhub_sync, usage
from sgwatch.accounts import run_everywhere
from sgwatch.csvio import to_csv
from sgwatch.evidence import EvidenceStore, normalise_prefix, series_prefix, stamp

MAX_SOURCE_WORKERS = 6
PAGE_SIZE = 1000
CLOUDTRAIL_WINDOW_DAYS = 90  # LookupEvents keeps 90 days of management events

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "AuthorizationErrorException",
    "AuthFailure",
}
NOT_AVAILABLE = {
    "OptInRequired",
    "SubscriptionRequiredException",
    "UnsupportedOperation",
    "InvalidAction",
    "UnknownOperationException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


class AuditFailed(RuntimeError):
    """Some regions could not be audited; the others were written."""


def _flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key) or ()


def why_not_scanned(exc: BaseException) -> str:
    """A short, stable reason for the report and the log."""
    if isinstance(exc, (EndpointConnectionError, UnknownServiceError)):
        return f"not available in this region ({type(exc).__name__})"
    if isinstance(exc, NotImplementedError):
        return "not available (API not implemented by this endpoint)"
    code = aws.error_code(exc)
    if code in ACCESS_DENIED:
        return f"access denied ({code})"
    if code in NOT_AVAILABLE:
        return f"not available in this region ({code})"
    return f"error ({code}: {str(exc)[:200]})"


# --------------------------------------------------------------------------- sources
# Each source returns the references it found; any exception marks it "not scanned".

Source = Callable[[str, list[dict[str, Any]], usage.GroupIndex], Iterable[usage.Reference]]


def scan_network_interfaces(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    ec2 = aws.client("ec2", region)
    enis = _pages(ec2, "describe_network_interfaces", "NetworkInterfaces", PaginationConfig={"PageSize": PAGE_SIZE})
    return list(usage.refs_from_network_interfaces(enis))


def scan_launch_templates(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    ec2 = aws.client("ec2", region)
    refs: list[usage.Reference] = []
    for template in _pages(ec2, "describe_launch_templates", "LaunchTemplates", PaginationConfig={"PageSize": 200}):
        versions = _pages(
            ec2,
            "describe_launch_template_versions",
            "LaunchTemplateVersions",
            LaunchTemplateId=template["LaunchTemplateId"],
            PaginationConfig={"PageSize": 200},
        )
        refs += usage.refs_from_launch_template_versions(versions, index)
    return refs


def scan_launch_configurations(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    asg = aws.client("autoscaling", region)
    configurations = _pages(
        asg, "describe_launch_configurations", "LaunchConfigurations", PaginationConfig={"PageSize": 100}
    )
    return list(usage.refs_from_launch_configurations(configurations, index))


def scan_peered_vpc_references(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    """Only asked when a peering connection or transit-gateway VPC attachment exists: nothing else can refer."""
    ec2 = aws.client("ec2", region)
    peerings = list(
        _pages(
            ec2,
            "describe_vpc_peering_connections",
            "VpcPeeringConnections",
            Filters=[{"Name": "status-code", "Values": ["active"]}],
        )
    )
    attachments = list(
        _pages(
            ec2,
            "describe_transit_gateway_vpc_attachments",
            "TransitGatewayVpcAttachments",
            Filters=[{"Name": "state", "Values": ["available"]}],
        )
    )
    if not peerings and not attachments:
        return []
    ids = [g["GroupId"] for g in groups if g.get("VpcId")]
    refs: list[usage.Reference] = []
    for i in range(0, len(ids), 100):
        found = ec2.describe_security_group_references(GroupId=ids[i : i + 100])
        refs += usage.refs_from_security_group_references(found.get("SecurityGroupReferenceSet") or ())
    return refs


def scan_lambda_functions(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    functions = _pages(aws.client("lambda", region), "list_functions", "Functions", FunctionVersion="ALL")
    return list(usage.refs_from_lambda_functions(functions))


def scan_ecs_services(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    ecs = aws.client("ecs", region)
    refs: list[usage.Reference] = []
    for cluster_arn in _pages(ecs, "list_clusters", "clusterArns"):
        cluster = cluster_arn.rsplit("/", 1)[-1]
        arns = list(_pages(ecs, "list_services", "serviceArns", cluster=cluster_arn))
        for i in range(0, len(arns), 10):  # DescribeServices takes at most 10 services
            services = ecs.describe_services(cluster=cluster_arn, services=arns[i : i + 10]).get("services") or []
            refs += usage.refs_from_ecs_services(cluster, services)
    return refs


def scan_eventbridge_targets(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    events = aws.client("events", region)
    buses: list[str] = []
    token = None
    while True:  # ListEventBuses has no paginator
        page = events.list_event_buses(**({"NextToken": token} if token else {}))
        buses += [b["Name"] for b in page.get("EventBuses") or ()]
        token = page.get("NextToken")
        if not token:
            break
    refs: list[usage.Reference] = []
    for bus in buses:
        for rule in _pages(events, "list_rules", "Rules", EventBusName=bus):
            rule = {**rule, "EventBusName": rule.get("EventBusName") or bus}
            targets = _pages(events, "list_targets_by_rule", "Targets", Rule=rule["Name"], EventBusName=bus)
            refs += usage.refs_from_eventbridge_targets(rule, targets)
    return refs


def scan_scheduler_schedules(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    scheduler = aws.client("scheduler", region)
    refs: list[usage.Reference] = []
    for summary in _pages(scheduler, "list_schedules", "Schedules"):
        target_arn = (summary.get("Target") or {}).get("Arn", "")
        if target_arn and ":ecs:" not in target_arn:
            continue  # only ECS RunTask targets carry a network configuration
        schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName") or "default")
        refs += usage.refs_from_scheduler_schedules([schedule])
    return refs


def scan_codebuild_projects(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    codebuild = aws.client("codebuild", region)
    names = list(_pages(codebuild, "list_projects", "projects"))
    refs: list[usage.Reference] = []
    for i in range(0, len(names), 100):  # BatchGetProjects takes at most 100 names
        projects = codebuild.batch_get_projects(names=names[i : i + 100]).get("projects") or []
        refs += usage.refs_from_codebuild_projects(projects)
    return refs


def scan_batch_compute_environments(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    environments = _pages(aws.client("batch", region), "describe_compute_environments", "computeEnvironments")
    return list(usage.refs_from_batch_compute_environments(environments))


def scan_glue_connections(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    connections = _pages(aws.client("glue", region), "get_connections", "ConnectionList", HidePassword=True)
    return list(usage.refs_from_glue_connections(connections))


def scan_rds(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    rds = aws.client("rds", region)
    refs = list(usage.refs_from_rds_instances(_pages(rds, "describe_db_instances", "DBInstances")))
    refs += usage.refs_from_rds_clusters(_pages(rds, "describe_db_clusters", "DBClusters"))
    return refs


def scan_elasticache(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    clusters = _pages(aws.client("elasticache", region), "describe_cache_clusters", "CacheClusters")
    return list(usage.refs_from_elasticache_clusters(clusters))


def scan_redshift(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    return list(
        usage.refs_from_redshift_clusters(_pages(aws.client("redshift", region), "describe_clusters", "Clusters"))
    )


def scan_dms(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    instances = _pages(aws.client("dms", region), "describe_replication_instances", "ReplicationInstances")
    return list(usage.refs_from_dms_replication_instances(instances))


def scan_msk(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    return list(
        usage.refs_from_msk_clusters(_pages(aws.client("kafka", region), "list_clusters_v2", "ClusterInfoList"))
    )


def scan_sagemaker_notebooks(
    region: str, groups: list[dict[str, Any]], index: usage.GroupIndex
) -> list[usage.Reference]:
    sagemaker = aws.client("sagemaker", region)
    notebooks = [
        sagemaker.describe_notebook_instance(NotebookInstanceName=n["NotebookInstanceName"])
        for n in _pages(sagemaker, "list_notebook_instances", "NotebookInstances")
    ]
    return list(usage.refs_from_sagemaker_notebooks(notebooks))


def scan_load_balancers(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    refs = list(
        usage.refs_from_load_balancers(
            "elbv2", _pages(aws.client("elbv2", region), "describe_load_balancers", "LoadBalancers")
        )
    )
    refs += usage.refs_from_load_balancers(
        "elb", _pages(aws.client("elb", region), "describe_load_balancers", "LoadBalancerDescriptions")
    )
    return refs


def scan_efs_mount_targets(region: str, groups: list[dict[str, Any]], index: usage.GroupIndex) -> list[usage.Reference]:
    efs = aws.client("efs", region)
    refs: list[usage.Reference] = []
    for fs in _pages(efs, "describe_file_systems", "FileSystems"):
        for mt in _pages(efs, "describe_mount_targets", "MountTargets", FileSystemId=fs["FileSystemId"]):
            found = efs.describe_mount_target_security_groups(MountTargetId=mt["MountTargetId"])
            refs += usage.refs_from_efs_mount_target(
                fs["FileSystemId"], mt["MountTargetId"], found.get("SecurityGroups") or []
            )
    return refs


# Name -> scanner. Names appear in "not_scanned" and in the README list of sources.
SOURCES: dict[str, Source] = {
    "network-interfaces": scan_network_interfaces,
    "launch-templates": scan_launch_templates,
    "launch-configurations": scan_launch_configurations,
    "peered-vpc-references": scan_peered_vpc_references,
    "lambda-functions": scan_lambda_functions,
    "ecs-services": scan_ecs_services,
    "eventbridge-targets": scan_eventbridge_targets,
    "scheduler-schedules": scan_scheduler_schedules,
    "codebuild-projects": scan_codebuild_projects,
    "batch-compute-environments": scan_batch_compute_environments,
    "glue-connections": scan_glue_connections,
    "rds": scan_rds,
    "elasticache": scan_elasticache,
    "redshift": scan_redshift,
    "dms": scan_dms,
    "msk": scan_msk,
    "sagemaker-notebooks": scan_sagemaker_notebooks,
    "load-balancers": scan_load_balancers,
    "efs-mount-targets": scan_efs_mount_targets,
}


def scan_sources(
    account_id: str, region: str, groups: list[dict[str, Any]]
) -> tuple[list[usage.Reference], dict[str, str]]:
    """References from every source (group rules included); sources that failed are "not scanned"."""
    index = usage.GroupIndex(groups)
    references = list(usage.refs_from_group_rules(groups))
    not_scanned: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=MAX_SOURCE_WORKERS) as pool:
        futures = {
            name: pool.submit(contextvars.copy_context().run, scan, region, groups, index)
            for name, scan in SOURCES.items()
        }
        for name, future in futures.items():
            try:
                found = list(future.result())
            except Exception as exc:  # reported, never treated as "no references"
                not_scanned[name] = why_not_scanned(exc)
                log.warning(
                    "source_not_scanned", account_id=account_id, region=region, source=name, reason=not_scanned[name]
                )
                continue
            references += found
    return references, not_scanned


def creation_times(account_id: str, region: str, now: datetime, grace_days: int) -> dict[str, datetime]:
    """CreateSecurityGroup events of the grace window from CloudTrail; {} when unavailable."""
    if grace_days <= 0:
        return {}
    start = now - timedelta(days=min(grace_days, CLOUDTRAIL_WINDOW_DAYS))
    try:
        events = _pages(
            aws.client("cloudtrail", region),
            "lookup_events",
            "Events",
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateSecurityGroup"}],
            StartTime=start,
            EndTime=now,
        )
        return usage.creation_times_from_cloudtrail(events)
    except Exception as exc:
        log.warning(
            "creation_times_unavailable",
            account_id=account_id,
            region=region,
            reason=why_not_scanned(exc),
            effect="only groups with a creation-time tag can be inside the grace period",
        )
        return {}


# --------------------------------------------------------------------------- per region


def _previous_report(store: EvidenceStore, key: str | None, account_id: str, region: str) -> dict[str, Any] | None:
    if not key:
        return None
    try:
        found = json.loads(store.get(key).body)
        return found if isinstance(found, dict) else None
    except Exception as exc:
        log.error(
            "previous_report_unusable",
            account_id=account_id,
            region=region,
            key=key,
            error=f"{aws.error_code(exc)}: {exc}",
        )
        return None


def sync_securityhub(account_id: str, region: str, audit: usage.Audit, control_ids: list[str]) -> dict[str, int]:
    hub = aws.central_client("securityhub", region)
    findings = _pages(
        hub,
        "get_findings",
        "Findings",
        Filters=securityhub_sync.findings_filter(account_id, region, control_ids),
        PaginationConfig={"PageSize": 100},
    )
    updates = securityhub_sync.plan_updates(findings, audit.in_use, audit.unreferenced)
    counts = {"suppressed": 0, "reopened": 0, "failed": 0}
    for update in updates:
        response = hub.batch_update_findings(**securityhub_sync.batch_update_request(update))
        failed = response.get("UnprocessedFindings") or []
        done = len(update.identifiers) - len(failed)
        counts["suppressed" if update.status == "SUPPRESSED" else "reopened"] += done
        counts["failed"] += len(failed)
        log.info(
            "securityhub_updated",
            account_id=account_id,
            region=region,
            group_id=update.group_id,
            status=update.status,
            findings=done,
            unprocessed=len(failed),
        )
    if counts["failed"]:
        raise RuntimeError(f"Security Hub left {counts['failed']} finding update(s) unprocessed")
    return counts


def audit_region(
    store: EvidenceStore, prefix: str, account_id: str, region: str, settings: dict[str, Any]
) -> dict[str, Any]:
    now = datetime.now(UTC)
    ec2 = aws.client("ec2", region)
    groups = list(_pages(ec2, "describe_security_groups", "SecurityGroups", PaginationConfig={"PageSize": PAGE_SIZE}))
    references, not_scanned = scan_sources(account_id, region, groups)
    audit = usage.classify(
        account_id,
        region,
        groups,
        references,
        not_scanned,
        now=now,
        exempt_tag_key=settings["exempt_tag_key"],
        grace_days=settings["grace_days"],
        created_at=creation_times(account_id, region, now, settings["grace_days"]),
        allow_partial=settings["allow_partial"],
    )

    series = series_prefix(prefix, account_id, region, "unused")
    previous_key = store.latest_key(series)  # read before writing this run's report
    if previous_key and previous_key.endswith(".csv"):  # same stem; ".csv" lists before ".json"
        previous_key = previous_key[: -len(".csv")] + ".json"
    previous = _previous_report(store, previous_key, account_id, region)

    stem = series + stamp(now)
    json_key, csv_key = stem + ".json", stem + ".csv"
    # Alert before writing: if delivery fails, nothing is written and the next run alerts again.
    new_ids = usage.newly_unused(audit, previous) if audit.unused else []
    if new_ids and settings["topic_arn"]:
        subject, message = usage.summary_message(audit, new_ids, json_key)
        notify.publish(
            settings["topic_arn"],
            subject,
            message,
            {"account_id": account_id, "region": region, "kind": "unused-security-groups"},
        )
    body = json.dumps(usage.report_json(audit), indent=2, sort_keys=False).encode("utf-8")
    metadata = {"previous-report": previous_key or ""}
    if not store.put_new(json_key, body, content_type="application/json", metadata=metadata):
        raise RuntimeError(f"report {json_key} already exists; refusing to overwrite evidence")
    doc = to_csv(usage.REPORT_CSV_HEADER, usage.report_rows(audit))
    if not store.put_new(csv_key, doc.body, metadata={"rows": str(doc.rows), "sha256": doc.sha256, "report": json_key}):
        raise RuntimeError(f"report {csv_key} already exists; refusing to overwrite evidence")

    result: dict[str, Any] = {
        "account_id": account_id,
        "region": region,
        "unused": audit.unused_ids,
        "in_use": audit.in_use,
        "report_key": json_key,
        "csv_key": csv_key,
        "newly_unused": new_ids,
        "not_scanned": audit.not_scanned,
    }
    log.info(
        "audit_written",
        account_id=account_id,
        region=region,
        report_key=json_key,
        groups=len(groups),
        unused=len(audit.unused),
        in_use=len(audit.in_use),
        newly_unused=new_ids,
        not_scanned=audit.not_scanned,
        undetermined=len(audit.undetermined),
    )

    if settings["securityhub_sync"]:
        try:
            result["securityhub"] = sync_securityhub(account_id, region, audit, settings["control_ids"])
        except ClientError as exc:
            if aws.error_code(exc) != "InvalidAccessException":  # Security Hub not enabled here
                raise
            log.warning("securityhub_not_enabled", account_id=account_id, region=region, error=str(exc))
            result["securityhub"] = {"error": "Security Hub is not enabled in this region"}
    return result


def settings_from_env() -> dict[str, Any]:
    grace = (os.environ.get("GRACE_DAYS") or "0").strip()
    if not grace.isdigit():
        raise ValueError(f"GRACE_DAYS must be a whole number of days, got {grace!r}")
    return {
        "exempt_tag_key": (os.environ.get("EXEMPT_TAG_KEY") or usage.DEFAULT_EXEMPT_TAG_KEY).strip(),
        "grace_days": int(grace),
        "allow_partial": _flag("ALLOW_PARTIAL"),
        "securityhub_sync": _flag("SECURITYHUB_SYNC"),
        "control_ids": securityhub_sync.controls_from_env(os.environ.get("SECURITYHUB_CONTROL_IDS")),
        "topic_arn": os.environ.get("ALERT_TOPIC_ARN") or "",
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = os.environ.get("EVIDENCE_BUCKET")
    if not bucket:
        raise ValueError("EVIDENCE_BUCKET is not set: the audit needs an evidence bucket")
    prefix = normalise_prefix(os.environ.get("EVIDENCE_PREFIX"))
    settings = settings_from_env()
    store = EvidenceStore(bucket, aws.central_client("s3"))
    def work(account_id: str, region: str) -> dict[str, Any]:
        return audit_region(store, prefix, account_id, region, settings)

    queued = fanout.handle(event, work)
    if queued is not None:
        return queued  # the pairs were queued, or a queued batch of them was processed
    outcome = run_everywhere(work)
    if outcome.failures:
        raise AuditFailed(outcome.error_message("unused-group audit"))
    return {"results": outcome.results, "skipped_accounts": outcome.skipped_accounts}
