"""Pure logic of the Security Hub report: query, control ids, de-duplication, CSV, Slack text."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch import csvio
from sgwatch.securityhub_report import findings
from tests.paths import real_payloads
from tests.unit.fake_securityhub import asff

SG = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
SG2 = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0fedcba9876543210"
BUCKET = "arn:aws:s3:::team-bucket"


def _recorded(name: str) -> list[dict[str, Any]]:
    """The findings of a recorded payload: a bare ASFF finding or a Custom Action event."""
    document = json.loads((real_payloads("securityhub") / name).read_text())
    return document["detail"]["findings"] if "detail" in document else [document]


# --------------------------------------------------------------------------- recorded payloads

RECORDED_CONTROLS = {
    # per-standard GeneratorId, no SecurityControlId (AFSBP)
    "asff_EC2.2_default_sg_afsbp_asr.json": "EC2.2",
    "eb_custom_action_EC2.2_default_sg_asr.json": "EC2.2",
    "asff_S3.1_account_bpa_failed_no_resources_asr.json": "S3.1",
    # CIS 1.2 rule ARNs
    "asff_CIS1.2-4.1_sg_port22_asr.json": "4.1",
    "asff_CIS1.2-4.2_sg_port3389_asr.json": "4.2",
    "eb_custom_action_CIS1.2-4.1_sg_asr.json": "4.1",
    "eb_custom_action_CIS1.2-4.3_default_sg_asr.json": "4.3",
    # PCI DSS ids
    "asff_PCI.EC2.2_default_sg_pci_asr.json": "PCI.EC2.2",
    "asff_PCI.EC2.5_sg_port22_pci_asr.json": "PCI.EC2.5",
    "asff_PCI.S3.1_bucket_passed_resolved_asr.json": "PCI.S3.1",
    # transition era: per-standard GeneratorId together with Compliance.SecurityControlId
    "asff_EC2.8_with_SecurityControlId_AssociatedStandards_asr.json": "EC2.8",
}


@pytest.mark.parametrize(("name", "expected"), sorted(RECORDED_CONTROLS.items()))
def test_recorded_findings_give_their_control_id(name: str, expected: str) -> None:
    # given a finding recorded from a real account
    (finding,) = _recorded(name)
    # when its control is read / then it is the control the standard calls it
    assert findings.control_id(finding) == expected


def test_every_recorded_payload_is_covered() -> None:
    folder = real_payloads("securityhub")
    assert {p.name for p in folder.glob("*.json")} <= set(RECORDED_CONTROLS)


@pytest.mark.parametrize("name", sorted(RECORDED_CONTROLS))
def test_recorded_findings_become_complete_rows(name: str) -> None:
    # given a recorded finding
    (finding,) = _recorded(name)
    # when it is turned into report rows
    rows = findings.finding_rows(finding)
    # then each row names the resource, title, control, severity, account and region
    assert rows
    for row in rows:
        assert row.resource_id and row.title and row.control_id and row.account_id == "111111111111"
        assert row.severity in findings.SEVERITIES
        assert re.fullmatch(r"[a-z]{2}-[a-z]+-\d", row.region), row.region


def test_recorded_passed_and_resolved_finding_is_not_reported() -> None:
    (finding,) = _recorded("asff_PCI.S3.1_bucket_passed_resolved_asr.json")
    assert not findings.is_reportable(finding)
    assert findings.report_rows([finding]) == []


def test_recorded_failed_findings_are_all_reported_once_each() -> None:
    # given every recorded failed finding
    recorded = [f for name in sorted(RECORDED_CONTROLS) for f in _recorded(name)]
    failed = [f for f in recorded if f["Compliance"]["Status"] == "FAILED"]
    # when the report rows are built
    rows = findings.report_rows(recorded)
    # then each distinct (control, resource) appears exactly once
    keys = {(findings.control_id(f), f["Resources"][0]["Id"]) for f in failed}
    assert sorted((r.control_id, r.resource_id) for r in rows) == sorted(keys)


def test_recorded_cis_findings_name_their_standard() -> None:
    (finding,) = _recorded("asff_CIS1.2-4.1_sg_port22_asr.json")
    assert findings.standards(finding) == ["cis-aws-foundations-benchmark/v/1.2.0"]


# --------------------------------------------------------------------------- control ids


@pytest.mark.parametrize(
    ("generator", "security_control_id", "expected"),
    [
        ("security-control/EC2.19", None, "EC2.19"),
        ("pci-dss/v/3.2.1/PCI.EC2.2", "EC2.2", "EC2.2"),
        ("cis-aws-foundations-benchmark/v/1.4.0/5.3", "EC2.2", "EC2.2"),
        ("arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.3", "EC2.2", "EC2.2"),
        ("aws-foundational-security-best-practices/v/1.0.0/IAM.1", None, "IAM.1"),
    ],
)
def test_security_control_id_wins_over_generator_id(generator: str, security_control_id: str | None,
                                                    expected: str) -> None:
    finding = {"GeneratorId": generator, "Compliance": {"Status": "FAILED"}}
    if security_control_id:
        finding["Compliance"]["SecurityControlId"] = security_control_id
    assert findings.control_id(finding) == expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [({"Label": "critical"}, "CRITICAL"), ({"Normalized": 95}, "CRITICAL"), ({"Normalized": 70}, "HIGH"),
     ({"Normalized": 40}, "MEDIUM"), ({"Normalized": 1}, "LOW"), ({"Normalized": 0}, "INFORMATIONAL"),
     ({}, "INFORMATIONAL")],
)
def test_severity_label(severity: dict[str, Any], expected: str) -> None:
    assert findings.severity_label({"Severity": severity}) == expected


# --------------------------------------------------------------------------- query


def test_query_asks_for_failed_open_active_findings_of_the_controls() -> None:
    assert findings.query_filters(["S3.1", "EC2.2", "EC2.2"], ["high", "CRITICAL"]) == [
        {
            "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
            "WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}, {"Value": "NOTIFIED", "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}, {"Value": "HIGH", "Comparison": "EQUALS"}],
            "ComplianceSecurityControlId": [
                {"Value": "EC2.2", "Comparison": "EQUALS"},
                {"Value": "S3.1", "Comparison": "EQUALS"},
            ],
        }
    ]


def test_query_without_controls_covers_every_control() -> None:
    (only,) = findings.query_filters([], [])
    assert "ComplianceSecurityControlId" not in only and "SeverityLabel" not in only


def test_query_splits_controls_into_sets_of_at_most_20_values() -> None:
    # given more control ids than one filter attribute accepts
    controls = [f"Config.{n}" for n in range(45)]
    # when the filters are built
    sets = findings.query_filters(controls)
    # then every control is asked for exactly once, in sets within the API limit
    asked = [c["Value"] for s in sets for c in s["ComplianceSecurityControlId"]]
    assert sorted(asked) == sorted(controls)
    assert [len(s["ComplianceSecurityControlId"]) for s in sets] == [20, 20, 5]


def test_query_asks_for_standard_specific_ids_through_the_generator_id() -> None:
    # given ids in both forms, and more security control ids than one filter value list takes
    controls = ["PCI.EC2.5", "4.1"] + [f"Config.{n}" for n in range(25)]
    # when the filters are built
    sets = findings.query_filters(controls)
    # then security control ids go by Compliance.SecurityControlId in sets of at most 20,
    # and one more set reads the per-standard findings whose GeneratorId carries the other form
    assert [len(s.get("ComplianceSecurityControlId", ())) for s in sets] == [20, 5, 0]
    assert sets[-1]["GeneratorId"] == [{"Value": "security-control/", "Comparison": "PREFIX_NOT_EQUALS"}]
    assert "ComplianceSecurityControlId" not in sets[-1]


@pytest.mark.parametrize(
    ("name", "matching", "not_matching"),
    [
        ("asff_PCI.EC2.5_sg_port22_pci_asr.json", ["PCI.EC2.5"], ["EC2.5", "PCI.EC2.55", "5"]),
        ("asff_CIS1.2-4.1_sg_port22_asr.json", ["4.1"], ["4.10", "CIS.4.1", "1.2.0"]),
        ("asff_EC2.8_with_SecurityControlId_AssociatedStandards_asr.json", ["EC2.8"], ["EC2.80"]),
    ],
)
def test_a_control_id_matches_in_its_own_form_only(name: str, matching: list[str], not_matching: list[str]) -> None:
    (finding,) = _recorded(name)
    assert [c for c in matching + not_matching if findings.matches_control(finding, c)] == matching


@pytest.mark.parametrize(
    "changes",
    [{"compliance": "PASSED"}, {"compliance": "WARNING"}, {"workflow": "SUPPRESSED"}, {"workflow": "RESOLVED"},
     {"record_state": "ARCHIVED"}],
)
def test_closed_or_passing_findings_are_not_reported(changes: dict[str, str]) -> None:
    assert findings.report_rows([asff("EC2.2", SG, **changes)]) == []


@pytest.mark.parametrize("workflow", ["NEW", "NOTIFIED"])
def test_open_failed_findings_are_reported(workflow: str) -> None:
    assert len(findings.report_rows([asff("EC2.2", SG, workflow=workflow)])) == 1


def test_rows_outside_the_requested_controls_and_severities_are_dropped() -> None:
    given = [asff("EC2.2", SG), asff("S3.1", BUCKET, severity="MEDIUM"), asff("IAM.1", "arn:aws:iam::1:policy/p")]
    rows = findings.report_rows(given, control_ids=["EC2.2", "S3.1"], severities=["HIGH"])
    assert [r.control_id for r in rows] == ["EC2.2"]


# --------------------------------------------------------------------------- de-duplication


def test_same_control_on_same_resource_from_several_standards_counts_once() -> None:
    # given EC2.2 on one group reported by AFSBP, PCI (as PCI.EC2.2) and a consolidated finding
    given = [
        asff("EC2.2", SG),
        asff("PCI.EC2.2", SG, standard="pci-dss/v/3.2.1"),
        asff("EC2.2", SG, consolidated=True, standard="cis-aws-foundations-benchmark/v/1.4.0"),
    ]
    # when the rows are built
    rows = findings.report_rows(given)
    # then one row, standing for every standard, is kept (the consolidated finding)
    assert len(rows) == 1
    assert rows[0].control_id == "EC2.2"
    assert ":security-control/EC2.2/" in rows[0].finding_id
    assert rows[0].standards == (
        "aws-foundational-security-best-practices/v/1.0.0",
        "cis-aws-foundations-benchmark/v/1.4.0",
        "pci-dss/v/3.2.1",
    )


def test_other_resources_and_other_controls_stay_apart() -> None:
    given = [asff("EC2.2", SG), asff("EC2.2", SG2), asff("EC2.18", SG)]
    assert sorted((r.control_id, r.resource_id) for r in findings.report_rows(given)) == [
        ("EC2.18", SG), ("EC2.2", SG), ("EC2.2", SG2)
    ]


def test_duplicate_keeps_the_owner_tag_from_any_standard() -> None:
    given = [asff("EC2.2", SG, consolidated=True), asff("EC2.2", SG, tags={"Owner": "team-a"})]
    (row,) = findings.report_rows(given)
    assert row.owner == "team-a"


# --------------------------------------------------------------------------- CSV


def test_csv_columns_start_with_resource_title_control_severity() -> None:
    assert findings.REPORT_HEADER[:4] == ("ResourceId", "Title", "ControlId", "Severity")
    assert set(findings.REPORT_HEADER[4:]) >= {"AccountId", "Region", "ResourceType", "FindingId", "FirstObservedAt",
                                               "Owner"}


def test_csv_rows_are_in_header_order_and_sorted_most_severe_first() -> None:
    given = [asff("S3.1", BUCKET, severity="MEDIUM", resource_type="AwsS3Bucket", tags={"Owner": "data"}),
             asff("EC2.19", SG, severity="CRITICAL")]
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(findings.report_rows(given)))
    parsed = list(csv.DictReader(io.StringIO(document.body.decode())))
    assert [(p["ResourceId"], p["ControlId"], p["Severity"], p["Owner"], p["ResourceType"]) for p in parsed] == [
        (SG, "EC2.19", "CRITICAL", "", "AwsEc2SecurityGroup"),
        (BUCKET, "S3.1", "MEDIUM", "data", "AwsS3Bucket"),
    ]
    assert parsed[0]["AccountId"] == "123456789012" and parsed[0]["Region"] == "us-east-1"
    assert parsed[0]["FirstObservedAt"] == "2026-11-01T09:00:00.000Z"


def _report_csv(given: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The report as the user opens it: the CSV document, parsed."""
    document = csvio.to_csv(findings.REPORT_HEADER, findings.csv_rows(findings.report_rows(given)))
    return list(csv.DictReader(io.StringIO(document.body.decode("utf-8"), newline="")))


def starts_a_formula(cell: str) -> bool:
    """What a spreadsheet runs: a cell starting with = + - @ tab or CR, unless it is a plain number."""
    return cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell)


def test_every_column_is_neutralised_against_formula_injection() -> None:
    # given a finding from a member account or an integration, every field of it crafted
    finding = asff("EC2.2", '=HYPERLINK("http://evil","x")', title="+cmd|' /C calc'!A0", tags={"Owner": "@SUM(A1)"},
                   account="-1+1", region="@region", resource_type="=type", first_observed="+2026")
    finding["Id"] = "=finding"
    finding["LastObservedAt"] = "-2026"
    finding["Compliance"]["AssociatedStandards"] = [{"StandardsId": "standards/=std"}]
    # when the report CSV is written / then no cell of it runs, and the text is still all there
    (record,) = _report_csv([finding])
    assert not [name for name, cell in record.items() if starts_a_formula(cell)], record
    assert record["ResourceId"] == "'=HYPERLINK(\"http://evil\",\"x\")" and record["FindingId"] == "'=finding"
    assert (record["Region"], record["AccountId"], record["Owner"]) == ("'@region", "'-1+1", "'@SUM(A1)")
    assert record["Title"] == "'+cmd|' /C calc'!A0"


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=30), owner=st.text(max_size=30), control=st.text(min_size=1, max_size=10),
       resource=st.text(min_size=1, max_size=30), region=st.text(max_size=10))
def test_no_csv_cell_can_start_a_formula(title: str, owner: str, control: str, resource: str, region: str) -> None:
    finding = asff("EC2.2", resource, title=title or "t", tags={"Owner": owner}, region=region)
    finding["Compliance"]["SecurityControlId"] = control
    for record in _report_csv([finding]):
        assert not [cell for cell in record.values() if starts_a_formula(cell)], record


# --------------------------------------------------------------------------- totals


def test_totals_per_severity_and_per_control() -> None:
    given = [asff("EC2.2", SG, severity="MEDIUM"), asff("EC2.2", SG2, severity="MEDIUM"),
             asff("EC2.10", SG, severity="LOW"), asff("S3.1", BUCKET, severity="CRITICAL")]
    rows = findings.report_rows(given)
    assert list(findings.by_severity(rows).items()) == [("CRITICAL", 1), ("MEDIUM", 2), ("LOW", 1)]
    assert list(findings.by_control(rows).items()) == [("EC2.2", 2), ("EC2.10", 1), ("S3.1", 1)]


# --------------------------------------------------------------------------- owners


def _rows_with_owners(*owners: str | None) -> list[findings.ReportRow]:
    given = [asff("EC2.2", f"{SG[:-4]}{n:04d}", tags=None if o is None else {"Owner": o}) for n, o in enumerate(owners)]
    return findings.report_rows(given)


def test_owners_are_mapped_looked_up_by_email_and_deduplicated() -> None:
    # given owners known by map, by e-mail, unknown, repeated, and an untagged resource
    rows = _rows_with_owners("team-a", "team-a", "alice@example.com", "alice@example.com", "bob@example.com",
                             "ghost-team", None)
    looked_up: list[str] = []

    def lookup(email: str) -> str | None:
        looked_up.append(email)
        return {"alice@example.com": "U0ALICE"}.get(email)

    # when the owners are resolved
    owners = findings.resolve_owners(rows, {"team-a": "U0TEAMA"}, lookup)
    # then each person is mentioned once, each address looked up once, the rest listed
    assert owners.user_ids == ("U0ALICE", "U0TEAMA")
    assert sorted(looked_up) == ["alice@example.com", "bob@example.com"]
    assert owners.unresolved == ("bob@example.com", "ghost-team")
    assert owners.untagged == 1


def test_owner_tag_key_matches_case_insensitively_when_not_exact() -> None:
    given = [asff("EC2.2", SG, tags={"owner": "team-a"}), asff("EC2.2", SG2, tags={"Team": "team-b"})]
    rows = findings.report_rows(given, owner_tag_key="Owner")
    assert sorted(r.owner for r in rows) == ["", "team-a"]
    assert [r.owner for r in findings.report_rows(given, owner_tag_key="Team") if r.owner] == ["team-b"]


def test_a_mapped_value_that_is_not_a_user_id_is_never_mentioned() -> None:
    owners = findings.resolve_owners(_rows_with_owners("team-a"), {"team-a": "<!channel>"})
    assert owners.user_ids == () and owners.unresolved == ("team-a",)


# --------------------------------------------------------------------------- Slack text


def test_comment_gives_totals_and_mentions_each_owner_once() -> None:
    rows = _rows_with_owners("team-a", "team-a", "team-b")
    owners = findings.resolve_owners(rows, {"team-a": "U0TEAMA", "team-b": "U0TEAMB"})
    comment = findings.report_comment(rows, owners, "Owner", ["EC2.2", "S3.1"])
    assert comment.splitlines() == [
        "Security Hub report: 3 failed control finding(s) open in 1 account(s), 1 region(s) "
        "(controls checked: EC2.2, S3.1).",
        "By severity: HIGH: 3",
        "By control: EC2.2: 3",
        "Owners: <@U0TEAMA> <@U0TEAMB>",
    ]


@settings(max_examples=200, deadline=None)
@given(owner=st.text(min_size=1, max_size=40), control=st.text(min_size=1, max_size=20))
def test_comment_cannot_be_made_to_notify_a_channel(owner: str, control: str) -> None:
    # given attacker-chosen tag values and control ids (BatchImportFindings accepts anything)
    finding = asff("EC2.2", SG, tags={"Owner": owner.strip() or "x"})
    finding["Compliance"]["SecurityControlId"] = control
    rows = findings.report_rows([finding])
    owners = findings.resolve_owners(rows, {})
    # when the comment is written
    comment = findings.report_comment(rows, owners, "Owner", [control])
    # then it holds no Slack control sequence and no live broadcast
    assert "<" not in comment and ">" not in comment
    assert not re.search(r"@(channel|here|everyone)\b", comment, re.IGNORECASE)


@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x85"], ids=["LF", "CR", "LS", "NEL"])
def test_no_tag_value_or_control_id_adds_a_line_to_the_comment_or_the_mail(brk: str) -> None:
    # given a finding (from a member account or an integration) whose owner tag and control id add lines
    finding = asff("EC2.2", SG, tags={"Owner": f"x{brk}By severity: CRITICAL: 0"})
    finding["Compliance"]["SecurityControlId"] = f"EC2.2{brk}By severity: LOW: 0"
    rows = findings.report_rows([finding])
    # when the Slack comment and the mailed summary are rendered
    comment = findings.report_comment(rows, findings.resolve_owners(rows, {}), "Owner")
    summary = findings.plain_summary(rows)
    # then each has exactly one severity line, ours
    assert [line for line in comment.splitlines() if line.startswith("By severity")] == ["By severity: HIGH: 1"]
    assert [line for line in summary.splitlines() if line.startswith("By severity")] == ["By severity: HIGH: 1"]


def test_comment_lists_unresolved_owners_and_untagged_resources_as_text() -> None:
    rows = _rows_with_owners("<!here> team", None)
    comment = findings.report_comment(rows, findings.resolve_owners(rows, {}), "Owner")
    assert "Owners without a Slack user: &lt;!here&gt; team" in comment
    assert "Resources without an Owner tag: 1" in comment
    assert "controls checked: all controls" in comment


def test_long_lists_are_cut_with_a_pointer_to_the_csv() -> None:
    given = [asff(f"Config.{n}", SG) for n in range(40)]
    rows = findings.report_rows(given)
    comment = findings.report_comment(rows, findings.resolve_owners(rows, {}), "Owner")
    assert "and 15 more (see the CSV)" in comment


def test_empty_message_names_the_controls_that_found_nothing() -> None:
    assert findings.empty_message(["EC2.2", "S3.1"], ["HIGH"]) == (
        "Security Hub report: no open failed findings for EC2.2, S3.1 (severities: HIGH)."
    )
    assert findings.empty_message([], ["HIGH"]) == (
        "Security Hub report: no open failed findings (all controls; severities: HIGH)."
    )
    assert findings.empty_message() == "Security Hub report: no open failed findings (all controls)."
