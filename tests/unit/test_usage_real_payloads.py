"""Classification against recorded describe responses of real estates.

The payloads live in ``../shared/real-payloads/`` (cloud-custodian placebo recordings and
Security Hub findings, see SOURCES.md there); the tests skip when that folder is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sgwatch.unused_sg_audit import references, securityhub_sync, usage

PAYLOADS = Path(__file__).resolve().parents[2] / ".." / "shared" / "real-payloads"
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    path = PAYLOADS / name
    if not path.exists():
        pytest.skip(f"real payload {name} not available")
    return json.loads(path.read_text())


def audit_of(groups: list[dict[str, Any]], *sources: Any) -> usage.Audit:
    refs = list(references.refs_from_group_rules(groups))
    for source in sources:
        refs += source
    return usage.classify("644160558196", "us-east-1", groups, refs, {}, now=NOW)


def test_group_used_only_by_a_launch_template_is_in_use() -> None:
    # given a group no interface uses, referenced by version 4 of a launch template
    groups = load("describe/lt_DescribeSecurityGroups_c7n.json")["SecurityGroups"]
    versions = load("describe/lt_DescribeLaunchTemplateVersions_c7n.json")["LaunchTemplateVersions"]
    # when
    audit = audit_of(groups, references.refs_from_launch_template_versions(versions, usage.GroupIndex(groups)))
    # then
    assert audit.in_use == {"sg-02ec691909b2a4753": ["launch-template lt-0877401c93c294001 (version 4)"]}
    assert audit.unused == []


def test_old_launch_template_versions_still_hold_their_groups() -> None:
    versions = load("describe/DescribeLaunchTemplateVersions_3sgs_c7n.json")["LaunchTemplateVersions"]
    refs = sorted(set(references.refs_from_launch_template_versions(versions, usage.GroupIndex([]))))
    assert refs == [
        usage.Reference("sg-015ed77d59ea1c12f", "launch-template lt-00b3b2755218e3fdd (version 1)"),
        usage.Reference("sg-015ed77d59ea1c12f", "launch-template lt-00b3b2755218e3fdd (version 2)"),
        usage.Reference("sg-034c1e48ec56c8bcb", "launch-template lt-00b3b2755218e3fdd (version 3)"),
        usage.Reference("sg-0b090df1c1f95bc13", "launch-template lt-00b3b2755218e3fdd (version 3)"),
        usage.Reference("sg-0b090df1c1f95bc13", "launch-template lt-00b3b2755218e3fdd (version 4)"),
    ]


def test_launch_configurations_mark_their_groups_and_dangling_references_are_ignored() -> None:
    groups = load("describe/lc_DescribeSecurityGroups_10groups_c7n.json")["SecurityGroups"]
    configurations = load("describe/lc_DescribeLaunchConfigurations_5sgs_c7n.json")["LaunchConfigurations"]
    audit = audit_of(groups, references.refs_from_launch_configurations(configurations, usage.GroupIndex(groups)))
    assert audit.in_use == {
        "sg-6c7fa917": ["launch-configuration c7n-launchconfig-01"],
        "sg-c63712b4": ["launch-configuration dev-cluster"],
    }
    assert "sg-c63712b4" not in audit.unused_ids
    assert sorted(audit.defaults) == ["sg-4b9ada34"]  # sg-6c7fa917 is a default group too, but in use


def test_group_referenced_only_from_another_groups_egress_is_in_use() -> None:
    groups = load("describe/DescribeSecurityGroups_cross_ref_userid_group_pairs_c7n.json")["SecurityGroups"]
    audit = audit_of(groups)
    assert audit.in_use == {"sg-01ba3c57af54ef22c": ["sg-rule sg-073c8f4fb3b58731d (egress)"]}
    assert audit.unused_ids == ["sg-073c8f4fb3b58731d"]
    # the self-referencing default groups are neither in use nor unused
    assert sorted(audit.defaults) == ["sg-0574847ed3b27389b", "sg-0d1564b340cac910f"]


def test_requester_managed_interfaces_of_rds_and_elb_keep_their_group_in_use() -> None:
    groups = load("describe/unused_DescribeSecurityGroups_c7n.json")["SecurityGroups"]
    enis = load("describe/unused_DescribeNetworkInterfaces_c7n.json")["NetworkInterfaces"]
    lcs = load("describe/unused_DescribeLaunchConfigurations_empty_c7n.json")["LaunchConfigurations"]
    peers = load("describe/unused_DescribeSecurityGroupReferences_empty_c7n.json")["SecurityGroupReferenceSet"]
    audit = audit_of(
        groups,
        references.refs_from_network_interfaces(enis),
        references.refs_from_launch_configurations(lcs, usage.GroupIndex(groups)),
        references.refs_from_security_group_references(peers),
    )
    assert audit.in_use == {
        "sg-f9cc4d9f": [
            "network-interface eni-042ea05b (760845874091)",
            "network-interface eni-794e5a04 (amazon-rds)",
            "network-interface eni-c57041b8 (amazon-rds)",
        ]
    }
    assert audit.unused_ids == ["sg-f6a42890"]
    assert audit.defaults == ["sg-13de8f75"]


def test_endpoint_branch_and_lambda_interfaces_count_as_use() -> None:
    groups = load("describe/used_DescribeSecurityGroups_c7n.json")["SecurityGroups"]
    enis = load("describe/used_DescribeNetworkInterfaces_c7n.json")["NetworkInterfaces"]
    audit = audit_of(groups, references.refs_from_network_interfaces(enis))
    assert audit.in_use["sg-0a2cb503a229c31c1"] == [
        "network-interface eni-04b74850b90891a7c (644160558196)",
        "network-interface eni-05f8e0f783bfe84f0 (01234567890)",
    ]
    assert audit.in_use["sg-1c8a186c"] == [
        "network-interface eni-0c779745aaa5e430d (AROAIYDDMMXM3QFS5LEKZ:deploy-lambda)"
    ]
    assert "network-interface eni-caa070b4 (instance i-017cf4e2a33b853fe)" in audit.in_use["sg-f9cc4d9f"]
    assert audit.unused_ids == ["sg-6bfe7312", "sg-f6a42890"]


def test_stale_peering_reference_does_not_make_the_referring_group_used() -> None:
    # given a group whose only rule refers to a group across a peering connection
    groups = load("describe/stale_DescribeSecurityGroups_c7n.json")["SecurityGroups"]
    stale = load("describe/DescribeStaleSecurityGroups_peering_c7n.json")["StaleSecurityGroupSet"]
    assert stale[0]["GroupId"] == "sg-dd8134ac"
    # when
    refs = list(references.refs_from_group_rules(groups))
    audit = audit_of(groups)
    # then the reference is attributed to the peer group, named with the peering, and the referrer is unused
    assert refs == [usage.Reference("sg-e9843198", "sg-rule sg-dd8134ac (ingress, via pcx-0a5e2a63)")]
    assert audit.unused_ids == ["sg-dd8134ac"]
    assert audit.in_use == {}


@pytest.mark.parametrize(
    ("name", "group_id"),
    [
        ("securityhub/asff_EC2.2_default_sg_afsbp_asr.json", "sg-1234123f"),
        ("securityhub/asff_PCI.EC2.5_sg_port22_pci_asr.json", "sg-8ff7e2c6"),
    ],
)
def test_security_hub_findings_are_matched_to_their_group(name: str, group_id: str) -> None:
    found = load(name)
    assert securityhub_sync.finding_group_id(found) == group_id
    plan = securityhub_sync.plan_updates([found], {group_id: ["lambda-function f"]}, set())
    assert [(u.status, u.identifiers[0]["Id"]) for u in plan] == [("SUPPRESSED", found["Id"])]


def test_cloudtrail_create_security_group_record_gives_the_creation_time() -> None:
    record = load("cloudtrail/raw_CreateSecurityGroup_terraform_stratus_warmup_invictus.json")
    # LookupEvents returns each record as a JSON string in CloudTrailEvent
    found = usage.creation_times_from_cloudtrail([{"CloudTrailEvent": json.dumps(record)}])
    assert found == {"sg-04cfb7a4712d75b00": datetime(2023, 7, 10, 12, 10, 1, tzinfo=UTC)}
