"""Pure classification of truly unused security groups (no AWS emulator)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from sgwatch import csvio
from sgwatch.unused_sg_audit import references, securityhub_sync, usage
from sgwatch.unused_sg_audit.audit import Settings as AuditSettings
from sgwatch.unused_sg_audit.usage import Reference

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def group(group_id: str, name: str | None = None, tags: dict[str, str] | None = None, **rules: list) -> dict:
    return {
        "GroupId": group_id,
        "GroupName": name or f"name-{group_id}",
        "VpcId": "vpc-1",
        "OwnerId": "111122223333",
        "IpPermissions": rules.get("ingress", []),
        "IpPermissionsEgress": rules.get("egress", []),
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def pair(group_id: str, **extra: str) -> dict:
    return {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id, "UserId": "111122223333", **extra}]}


def classify(groups, refs=(), not_scanned=None, **kwargs):
    return usage.classify("111122223333", "eu-west-1", groups, refs, not_scanned or {}, now=NOW, **kwargs)


# --------------------------------------------------------------------------- classification


def test_a_group_nothing_refers_to_is_unused_with_its_delete_command() -> None:
    # given a group with one ingress CIDR rule and no referrer
    g = group(
        "sg-1", ingress=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    )
    # when
    audit = classify([g])
    # then
    assert audit.unused == [
        {
            "group_id": "sg-1",
            "group_name": "name-sg-1",
            "vpc_id": "vpc-1",
            "age_days": None,
            "rule_count": 1,
            "delete_command": "aws ec2 delete-security-group --group-id sg-1 --region eu-west-1",
        }
    ]
    assert audit.in_use == {}


def test_reasons_are_sorted_and_deduplicated_per_group() -> None:
    refs = [
        Reference("sg-1", "network-interface eni-2 (amazon-rds)"),
        Reference("sg-1", "launch-template lt-1 (version 3)"),
        Reference("sg-1", "network-interface eni-2 (amazon-rds)"),
    ]
    audit = classify([group("sg-1")], refs)
    assert audit.in_use == {"sg-1": ["launch-template lt-1 (version 3)", "network-interface eni-2 (amazon-rds)"]}
    assert audit.unused == []


def test_references_to_groups_outside_the_estate_are_ignored() -> None:
    audit = classify([group("sg-1")], [Reference("sg-elsewhere", "lambda-function f")])
    assert audit.in_use == {}
    assert audit.unused_ids == ["sg-1"]


def test_default_group_is_never_unused() -> None:
    audit = classify([group("sg-d", name="default")])
    assert audit.unused == [] and audit.defaults == ["sg-d"]


def test_self_reference_is_not_use_but_another_groups_egress_is() -> None:
    # given sg-self refers to itself, sg-b refers to sg-a in its egress
    groups = [group("sg-self", ingress=[pair("sg-self")]), group("sg-a"), group("sg-b", egress=[pair("sg-a")])]
    # when
    audit = classify(groups, list(references.refs_from_group_rules(groups)))
    # then
    assert audit.in_use == {"sg-a": ["sg-rule sg-b (egress)"]}
    assert audit.unused_ids == ["sg-b", "sg-self"]


def test_peered_rule_reference_names_the_peering_connection() -> None:
    groups = [group("sg-a"), group("sg-b", ingress=[pair("sg-a", VpcPeeringConnectionId="pcx-1")])]
    assert list(references.refs_from_group_rules(groups)) == [Reference("sg-a", "sg-rule sg-b (ingress, via pcx-1)")]


@pytest.mark.parametrize("value", ["", "true", "ticket-42"])
def test_exempt_tag_keeps_a_group_out_of_unused_whatever_its_value(value: str) -> None:
    audit = classify([group("sg-1", tags={"sgwatch:keep": value})])
    assert audit.unused == [] and audit.exempt == ["sg-1"]


def test_exempt_tag_key_is_configurable() -> None:
    audit = classify(
        [group("sg-1", tags={"sgwatch:keep": "x"}), group("sg-2", tags={"team:keep": "x"})], exempt_tag_key="team:keep"
    )
    assert audit.unused_ids == ["sg-1"] and audit.exempt == ["sg-2"]


def test_group_younger_than_grace_days_is_in_grace_and_older_is_unused() -> None:
    fresh = group("sg-new", tags={"sgwatch:created-at": (NOW - timedelta(days=2)).isoformat()})
    old = group("sg-old", tags={"CreatedAt": "2026-01-01"})
    audit = classify([fresh, old], grace_days=7)
    assert audit.in_grace == ["sg-new"]
    assert audit.unused_ids == ["sg-old"]
    assert audit.unused[0]["age_days"] == (NOW - datetime(2026, 1, 1, tzinfo=UTC)).days


def test_unknown_creation_time_cannot_be_in_grace() -> None:
    audit = classify([group("sg-1")], grace_days=30)
    assert audit.unused_ids == ["sg-1"] and audit.unused[0]["age_days"] is None


def test_cloudtrail_creation_time_wins_over_missing_tag() -> None:
    audit = classify([group("sg-1")], grace_days=7, created_at={"sg-1": NOW - timedelta(hours=5)})
    assert audit.in_grace == ["sg-1"]


def test_not_scanned_source_blocks_unused_unless_allow_partial() -> None:
    groups = [group("sg-1"), group("sg-2")]
    refs = [Reference("sg-2", "glue-connection g")]
    blocked = classify(groups, refs, {"lambda-functions": "access denied (AccessDeniedException)"})
    assert blocked.unused == [] and blocked.undetermined == ["sg-1"]
    assert blocked.in_use == {"sg-2": ["glue-connection g"]}
    allowed = classify(groups, refs, {"lambda-functions": "access denied"}, allow_partial=True)
    assert allowed.unused_ids == ["sg-1"]


def test_every_group_lands_in_exactly_one_bucket() -> None:
    groups = [
        group("sg-use"),
        group("sg-def", name="default"),
        group("sg-ex", tags={"sgwatch:keep": ""}),
        group("sg-grace", tags={"created-at": NOW.isoformat()}),
        group("sg-un"),
    ]
    audit = classify(groups, [Reference("sg-use", "codebuild-project p")], grace_days=1)
    buckets = [list(audit.in_use), audit.defaults, audit.exempt, audit.in_grace, audit.unused_ids, audit.undetermined]
    assert sorted(g for b in buckets for g in b) == sorted(g["GroupId"] for g in groups)
    assert [len(b) for b in buckets] == [1, 1, 1, 1, 1, 0]


# --------------------------------------------------------------------------- sources


def test_every_launch_template_version_counts_including_names_and_interfaces() -> None:
    index = usage.GroupIndex([group("sg-named", name="web")])
    versions = [
        {"LaunchTemplateId": "lt-1", "VersionNumber": 1, "LaunchTemplateData": {"SecurityGroups": ["web"]}},
        {
            "LaunchTemplateId": "lt-1",
            "VersionNumber": 2,
            "LaunchTemplateData": {"NetworkInterfaces": [{"DeviceIndex": 0, "Groups": ["sg-nic"]}]},
        },
    ]
    assert list(references.refs_from_launch_template_versions(versions, index)) == [
        Reference("sg-named", "launch-template lt-1 (version 1)"),
        Reference("sg-nic", "launch-template lt-1 (version 2)"),
    ]


@pytest.mark.parametrize(
    ("function", "items", "expected"),
    [
        (
            references.refs_from_lambda_functions,
            [{"FunctionName": "f", "VpcConfig": {"SecurityGroupIds": ["sg-1"]}}],
            "lambda-function f",
        ),
        (
            references.refs_from_codebuild_projects,
            [{"name": "p", "vpcConfig": {"securityGroupIds": ["sg-1"]}}],
            "codebuild-project p",
        ),
        (
            references.refs_from_batch_compute_environments,
            [{"computeEnvironmentName": "ce", "computeResources": {"securityGroupIds": ["sg-1"]}}],
            "batch-compute-environment ce",
        ),
        (
            references.refs_from_glue_connections,
            [{"Name": "jdbc", "PhysicalConnectionRequirements": {"SecurityGroupIdList": ["sg-1"]}}],
            "glue-connection jdbc",
        ),
        (
            references.refs_from_elasticache_clusters,
            [{"CacheClusterId": "c", "SecurityGroups": [{"SecurityGroupId": "sg-1", "Status": "active"}]}],
            "elasticache-cluster c",
        ),
        (
            references.refs_from_scheduler_schedules,
            [
                {
                    "Name": "nightly",
                    "GroupName": "default",
                    "Target": {
                        "EcsParameters": {"NetworkConfiguration": {"awsvpcConfiguration": {"SecurityGroups": ["sg-1"]}}}
                    },
                }
            ],
            "scheduler-schedule default/nightly",
        ),
        (
            references.refs_from_msk_clusters,
            [{"ClusterName": "m", "Serverless": {"VpcConfigs": [{"SecurityGroupIds": ["sg-1"]}]}}],
            "msk-cluster m",
        ),
    ],
)
def test_service_configurations_name_the_referrer(function, items, expected: str) -> None:
    assert list(function(items)) == [Reference("sg-1", expected)]


def test_ecs_service_scaled_to_zero_and_its_task_sets_count() -> None:
    awsvpc = {"awsvpcConfiguration": {"securityGroups": ["sg-1"]}}
    services = [
        {
            "serviceName": "api",
            "desiredCount": 0,
            "networkConfiguration": awsvpc,
            "taskSets": [
                {"id": "ecs-svc/1", "networkConfiguration": {"awsvpcConfiguration": {"securityGroups": ["sg-2"]}}}
            ],
        }
    ]
    assert list(references.refs_from_ecs_services("prod", services)) == [
        Reference("sg-1", "ecs-service prod/api"),
        Reference("sg-2", "ecs-task-set prod/api/ecs-svc/1"),
    ]


@pytest.mark.parametrize(("bus", "label"), [("default", "rule/nightly-batch"), ("ops", "rule/ops/nightly-batch")])
def test_eventbridge_ecs_target_names_the_rule(bus: str, label: str) -> None:
    target = {
        "Id": "t",
        "EcsParameters": {"NetworkConfiguration": {"awsvpcConfiguration": {"SecurityGroups": ["sg-1"]}}},
    }
    plain = {"Id": "u", "Arn": "arn:aws:sns:eu-west-1:1:topic"}
    rule = {"Name": "nightly-batch", "EventBusName": bus}
    refs = list(references.refs_from_eventbridge_targets(rule, [target, plain]))
    assert refs == [Reference("sg-1", f"eventbridge-target {label}")]


def test_creation_times_from_cloudtrail_skip_failed_calls_and_keep_the_earliest() -> None:
    def event(group_id: str, when: str, error: str | None = None) -> dict:
        record = {"eventTime": when, "responseElements": {"groupId": group_id}}
        if error:
            record = {"eventTime": when, "errorCode": error, "responseElements": None}
        return {"CloudTrailEvent": json.dumps(record)}

    found = usage.creation_times_from_cloudtrail(
        [
            event("sg-1", "2026-11-20T10:00:00Z"),
            event("sg-1", "2026-11-19T10:00:00Z"),
            event("sg-2", "2026-11-20T10:00:00Z", "Client.X"),
        ]
    )
    assert found == {"sg-1": datetime(2026, 11, 19, 10, tzinfo=UTC)}


# --------------------------------------------------------------------------- reports and alerts


def test_newly_unused_compares_with_previous_report() -> None:
    audit = classify([group("sg-1"), group("sg-2")])
    assert usage.newly_unused(audit, None) == ["sg-1", "sg-2"]
    assert usage.newly_unused(audit, {"unused": [{"group_id": "sg-1"}]}) == ["sg-2"]
    assert usage.newly_unused(audit, {"unused": [{"group_id": "sg-1"}, {"group_id": "sg-2"}]}) == []


def test_report_json_keeps_the_contract_keys() -> None:
    audit = classify([group("sg-1")], not_scanned={"rds": "access denied (AccessDenied)"}, allow_partial=True)
    report = usage.report_json(audit)
    assert {
        "schema",
        "account_id",
        "region",
        "generated_at",
        "unused",
        "in_use",
        "not_scanned",
        "exempt",
        "in_grace",
    } <= set(report)
    assert report["schema"] == 1 and report["generated_at"] == "2026-11-22T12:00:00Z"
    assert report["not_scanned"] == {"rds": "access denied (AccessDenied)"}
    json.dumps(report)


def test_report_csv_neutralises_formula_looking_names() -> None:
    audit = classify([group("sg-1", name='=HYPERLINK("x")')])
    document = csvio.to_csv(usage.REPORT_CSV_HEADER, usage.report_rows(audit))
    (record,) = csv.DictReader(io.StringIO(document.body.decode("utf-8"), newline=""))
    assert record["GroupName"] == '\'=HYPERLINK("x")'
    assert record["Status"] == "unused"
    assert record["DeleteCommand"] == "aws ec2 delete-security-group --group-id sg-1 --region eu-west-1"


def test_summary_lists_only_new_groups_with_their_delete_commands() -> None:
    audit = classify([group("sg-1"), group("sg-2")])
    subject, body = usage.summary_message(audit, ["sg-2"], "k.json")
    assert "1 newly unused" in subject
    assert "aws ec2 delete-security-group --group-id sg-2" in body
    assert "--group-id sg-1" not in body


def test_summary_lines_cannot_be_forged_by_a_name_or_a_failure_reason() -> None:
    # given a group name and a scan failure message that each try to add a line of their own
    audit = classify([group("sg-1", name="web\u2028Total unused: 0")], allow_partial=True,
                     not_scanned={"rds": "error (Throttling: slow down\nTotal unused: 0)"})
    # when the SNS summary is written
    _, body = usage.summary_message(audit, ["sg-1"], "k.json")
    # then the only total is ours
    assert [line for line in body.splitlines() if line.startswith("Total unused")] == [
        "Total unused: 1. Full report: k.json"]
    assert '"web Total unused: 0"' in body


# --------------------------------------------------------------------------- Security Hub planning


def finding(fid: str, group_id: str, status: str = "NEW", note: dict | None = None, compliance: str = "FAILED") -> dict:
    found = {
        "Id": fid,
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        "Resources": [
            {"Type": "AwsEc2SecurityGroup", "Id": f"arn:aws:ec2:eu-west-1:111122223333:security-group/{group_id}"}
        ],
        "Workflow": {"Status": status},
        "Compliance": {"Status": compliance},
    }
    if note:
        found["Note"] = note
    return found


OURS = {"Text": securityhub_sync.NOTE_PREFIX + " In use, not unused: x", "UpdatedBy": securityhub_sync.UPDATED_BY}


def test_plan_suppresses_in_use_and_reopens_only_our_own_suppressions() -> None:
    findings = [
        finding("f-inuse", "sg-used"),
        finding("f-ours", "sg-gone", "SUPPRESSED", OURS),
        finding("f-theirs", "sg-gone", "SUPPRESSED", {"Text": "accepted risk", "UpdatedBy": "alice"}),
        finding("f-copied", "sg-gone", "SUPPRESSED", {"Text": OURS["Text"], "UpdatedBy": "bob"}),
        finding("f-resolved", "sg-used", "RESOLVED"),
        finding("f-passed", "sg-used", compliance="PASSED"),
        finding("f-undetermined", "sg-unknown", "SUPPRESSED", OURS),
    ]
    plan = securityhub_sync.plan_updates(findings, {"sg-used": ["lambda-function f"]}, {"sg-gone"})
    assert [(u.status, u.group_id, [i["Id"] for i in u.identifiers]) for u in plan] == [
        ("NOTIFIED", "sg-gone", ["f-ours"]),
        ("SUPPRESSED", "sg-used", ["f-inuse"]),
    ]
    assert plan[1].note == f"{securityhub_sync.NOTE_PREFIX} In use, not unused: lambda-function f"


@pytest.mark.parametrize("allow_partial", [False, True])
def test_incomplete_evidence_reopens_nothing(allow_partial: bool) -> None:
    # given findings we suppressed on groups nothing visible refers to, while one source could not be scanned
    groups = [group("sg-def", name="default"), group("sg-ex", tags={"sgwatch:keep": ""}),
              group("sg-grace", tags={"created-at": NOW.isoformat()}), group("sg-un")]
    audit = classify(groups, [], {"lambda-functions": "access denied (AccessDeniedException)"}, grace_days=7,
                     allow_partial=allow_partial)
    findings = [finding(f"f-{g['GroupId']}", g["GroupId"], "SUPPRESSED", OURS) for g in groups]
    # when the updates are planned / then none re-opens: a finding only re-opens on complete evidence
    assert audit.unreferenced == set()
    assert securityhub_sync.plan_updates(findings, audit.in_use, audit.unreferenced) == []


def test_complete_evidence_reopens_our_findings_on_every_unreferenced_group() -> None:
    groups = [group("sg-def", name="default"), group("sg-ex", tags={"sgwatch:keep": ""}), group("sg-un")]
    audit = classify(groups, [])
    findings = [finding(f"f-{g['GroupId']}", g["GroupId"], "SUPPRESSED", OURS) for g in groups]
    plan = securityhub_sync.plan_updates(findings, audit.in_use, audit.unreferenced)
    assert sorted(u.group_id for u in plan if u.status == "NOTIFIED") == ["sg-def", "sg-ex", "sg-un"]


@given(st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=40))
def test_suppress_note_always_fits_and_stays_recognisable(reasons: list[str]) -> None:
    note = securityhub_sync.suppress_note(reasons)
    assert len(note) <= securityhub_sync.NOTE_LIMIT
    assert note.startswith(securityhub_sync.NOTE_PREFIX)


def test_findings_filter_asks_only_for_configured_controls_of_this_account_and_region() -> None:
    f = securityhub_sync.findings_filter("111122223333", "eu-west-1", ["EC2.22", "EC2.2"])
    assert f["ComplianceSecurityControlId"] == [
        {"Value": "EC2.22", "Comparison": "EQUALS"},
        {"Value": "EC2.2", "Comparison": "EQUALS"},
    ]
    assert f["Region"] == [{"Value": "eu-west-1", "Comparison": "EQUALS"}]
    assert AuditSettings.from_env({"EVIDENCE_BUCKET": "b"}).control_ids == ("EC2.22",)


def test_plan_refreshes_our_note_only_when_the_reasons_changed() -> None:
    in_use = {"sg-used": ["lambda-function f"]}
    current = {"Text": securityhub_sync.suppress_note(["lambda-function f"]), "UpdatedBy": securityhub_sync.UPDATED_BY}
    stale = {"Text": securityhub_sync.suppress_note(["lambda-function old"]), "UpdatedBy": securityhub_sync.UPDATED_BY}
    theirs = {"Text": "accepted", "UpdatedBy": "alice"}
    plan = securityhub_sync.plan_updates(
        [
            finding("f-current", "sg-used", "SUPPRESSED", current),
            finding("f-stale", "sg-used", "SUPPRESSED", stale),
            finding("f-theirs", "sg-used", "SUPPRESSED", theirs),
        ],
        in_use,
        set(),
    )
    assert [(u.status, [i["Id"] for i in u.identifiers], u.note) for u in plan] == [
        ("SUPPRESSED", ["f-stale"], current["Text"])
    ]


def test_published_lambda_versions_keep_their_own_groups() -> None:
    functions = [
        {"FunctionName": "etl", "Version": "$LATEST", "VpcConfig": {"SecurityGroupIds": ["sg-new"]}},
        {"FunctionName": "etl", "Version": "3", "VpcConfig": {"SecurityGroupIds": ["sg-old"]}},
        {"FunctionName": "plain", "Version": "$LATEST"},
    ]
    assert list(references.refs_from_lambda_functions(functions)) == [
        Reference("sg-new", "lambda-function etl"),
        Reference("sg-old", "lambda-function etl:3"),
    ]


@given(
    st.lists(
        st.tuples(
            st.booleans(),  # default
            st.booleans(),  # exempt tag
            st.sampled_from([None, 1, 30]),  # age in days (None: unknown)
            st.lists(st.sampled_from(["lambda-function f", "glue-connection g"]), max_size=2),  # reasons
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
    st.booleans(),
)
def test_classification_partitions_the_estate(specs, partial_scan: bool, allow_partial: bool) -> None:
    # given any mix of groups, references and scan completeness
    groups, refs = [], []
    for i, (default, exempt, age, reasons) in enumerate(specs):
        tags = {"sgwatch:keep": ""} if exempt else {}
        if age is not None:
            tags["sgwatch:created-at"] = (NOW - timedelta(days=age)).isoformat()
        groups.append(group(f"sg-{i}", name="default" if default else None, tags=tags))
        refs += [Reference(f"sg-{i}", r) for r in reasons]
    not_scanned = {"rds": "access denied (AccessDenied)"} if partial_scan else {}
    # when
    audit = classify(groups, refs, not_scanned, grace_days=7, allow_partial=allow_partial)
    # then every group is in exactly one bucket, and unused groups are never referenced, default or exempt
    buckets = [list(audit.in_use), audit.defaults, audit.exempt, audit.in_grace, audit.unused_ids, audit.undetermined]
    assert sorted(g for b in buckets for g in b) == sorted(g["GroupId"] for g in groups)
    referenced = {r.group_id for r in refs}
    for u in audit.unused:
        assert u["group_id"] not in referenced
        assert u["group_name"] != "default"
    if partial_scan and not allow_partial:
        assert audit.unused == []
