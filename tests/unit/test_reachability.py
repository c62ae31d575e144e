"""Reachability guard, pure logic (sgwatch.reachability_check.reachability): no AWS, no emulator.

Recorded payloads are read from ../shared/real-payloads (cloudtrail/ and reachability/)
when that folder exists; those tests skip otherwise.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from sgwatch.reachability_check import reachability as rc
from sgwatch.slack import escape

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "real-payloads"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def real(kind: str, name: str) -> dict:
    path = REAL / kind / name
    if not path.exists():
        pytest.skip(f"{path} not available (real payloads live outside the repository)")
    return json.loads(path.read_text())


def real_names(kind: str) -> list[str]:
    folder = REAL / kind
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else ["absent.json"]


def sqs_record(detail: dict | str, message_id: str = "m-1") -> dict:
    event = {"detail-type": "AWS API Call via CloudTrail", "detail": detail}
    body = detail if isinstance(detail, str) else json.dumps(event)
    return {"messageId": message_id, "body": body, "eventSource": "aws:sqs"}


def change(event_name: str, group_id: str) -> dict:
    """The detail of a CloudTrail SG API call naming one group."""
    return {"eventName": event_name, "requestParameters": {"groupId": group_id}}


# --------------------------------------------------------------------------- which groups changed


@pytest.mark.parametrize("name", real_names("cloudtrail"))
def test_every_recorded_cloudtrail_event_maps_to_groups_or_to_every_path(name: str) -> None:
    # given a recorded SG API call
    event = real("cloudtrail", name)
    detail = event.get("detail", event)
    # when its changed groups are read
    groups = rc.changed_groups(detail)
    # then: a group id it names, nothing for calls that change no rule of an attached group,
    # or "undeterminable" only when the call names no group id
    request = detail.get("requestParameters") or {}
    if detail.get("errorCode") or detail["eventName"] == "CreateSecurityGroup":
        assert groups == set()
    elif "groupId" in request:
        assert groups == {request["groupId"]}
    else:
        assert groups is None  # e.g. DeleteSecurityGroup by name only


def test_a_rule_referencing_another_group_changes_only_the_target_group() -> None:
    event = real("cloudtrail", "eb_AuthorizeSecurityGroupIngress_cfn_sgref_kuali_1.json")
    referenced = event["detail"]["requestParameters"]["ipPermissions"]["items"][0]["groups"]["items"][0]["groupId"]
    groups = rc.changed_groups(event["detail"])
    assert groups == {"sg-01f414f5313452cd1"}
    assert referenced not in groups


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            {
                "eventName": "ModifySecurityGroupRules",
                "requestParameters": {"ModifySecurityGroupRulesRequest": {"GroupId": "sg-0123456789abcdef0"}},
            },
            {"sg-0123456789abcdef0"},
        ),
        (
            {
                "eventName": "RevokeSecurityGroupIngress",
                "requestParameters": {
                    "groupId": "sg-0aaaaaaaaaaaaaaaa",
                    "securityGroupRuleIds": {"items": [{"securityGroupRuleId": "sgr-1"}]},
                },
            },
            {"sg-0aaaaaaaaaaaaaaaa"},
        ),
        (
            {
                "eventName": "UpdateSecurityGroupRuleDescriptionsIngress",
                "requestParameters": {"groupId": "sg-0aaaaaaaaaaaaaaaa"},
            },
            set(),
        ),
        ({"eventName": "CreateTags", "requestParameters": {"resourcesSet": {}}}, None),
        ({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": None}, None),
        ({}, None),
    ],
    ids=["modify-rules", "revoke-by-rule-id", "description-only", "unknown-event", "no-parameters", "empty"],
)
def test_changed_groups_of_request_shapes(detail: dict, expected: set | None) -> None:
    assert rc.changed_groups(detail) == expected


def test_a_burst_of_events_becomes_one_set_of_groups() -> None:
    # given ten changes to two groups and one description edit
    records = [
        sqs_record(change("AuthorizeSecurityGroupIngress", f"sg-0{'a' if i % 2 else 'b'}aaaaaaaaaaaaaaa"), f"m-{i}")
        for i in range(10)
    ] + [sqs_record(change("UpdateSecurityGroupRuleDescriptionsEgress", "sg-0cccccccccccccccc"), "m-d")]
    # when the batch is read
    batch = rc.read_batch(records)
    # then it is one union of groups, with nothing to retry
    assert batch.changed == {"sg-0aaaaaaaaaaaaaaaa", "sg-0baaaaaaaaaaaaaaa"}
    assert batch.events == 11 and batch.failures == []


def test_one_undeterminable_event_makes_the_whole_batch_check_every_path() -> None:
    records = [
        sqs_record(change("RevokeSecurityGroupEgress", "sg-0aaaaaaaaaaaaaaaa"), "m-1"),
        sqs_record({"eventName": "DeleteSecurityGroup", "requestParameters": {"groupName": "legacy"}}, "m-2"),
    ]
    assert rc.read_batch(records).changed is None


@pytest.mark.parametrize(
    "record",
    [
        {"messageId": "bad", "body": "{not json"},
        {"messageId": "bad", "body": "[1, 2]"},
        {"messageId": "bad", "body": json.dumps({"detail": "text"})},
        {"messageId": "bad"},
    ],
    ids=["not-json", "not-an-object", "detail-not-object", "no-body"],
)
def test_malformed_records_are_reported_for_retry_and_the_rest_is_read(record: dict) -> None:
    good = sqs_record(change("AuthorizeSecurityGroupEgress", "sg-0aaaaaaaaaaaaaaaa"), "good")
    batch = rc.read_batch([good, record])
    assert batch.failures == ["bad"]
    assert batch.changed == {"sg-0aaaaaaaaaaaaaaaa"}
    assert "bad" in batch.problems


# --------------------------------------------------------------------------- which paths


PATHS = {
    "nip-web": {"NetworkInsightsPathId": "nip-web", "Source": "igw-1", "Destination": "i-0web", "Protocol": "tcp"},
    "nip-db": {
        "NetworkInsightsPathId": "nip-db",
        "Source": "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0app",
        "Destination": "eni-0db",
        "Protocol": "tcp",
    },
    "nip-lb": {
        "NetworkInsightsPathId": "nip-lb",
        "Source": "i-0web",
        "Destination": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1",
    },
}
INTERFACES = [
    {
        "NetworkInterfaceId": "eni-0webprimary",
        "Attachment": {"InstanceId": "i-0web"},
        "Groups": [{"GroupId": "sg-0web"}],
    },
    {"NetworkInterfaceId": "eni-0app", "Groups": [{"GroupId": "sg-0app"}, {"GroupId": "sg-0shared"}]},
    {"NetworkInterfaceId": "eni-0db", "Groups": [{"GroupId": "sg-0db"}]},
]


def test_endpoints_to_resolve_reads_ids_and_arns() -> None:
    instances, interfaces = rc.endpoints_to_resolve(PATHS.values())
    assert instances == {"i-0web"}
    assert interfaces == {"eni-0app", "eni-0db"}


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"sg-0db"}, ["nip-db", "nip-lb"]),
        ({"sg-0web"}, ["nip-web", "nip-lb"]),
        ({"sg-0shared"}, ["nip-db", "nip-lb"]),
        ({"sg-0unrelated"}, ["nip-lb"]),
        (None, ["nip-web", "nip-db", "nip-lb", "nip-gone"]),
    ],
    ids=["db-group", "web-group", "shared-group", "unrelated-group", "undeterminable"],
)
def test_affected_paths_are_those_whose_endpoints_carry_a_changed_group(changed: set | None, expected: list) -> None:
    # nip-lb ends at a load balancer whose groups are not resolved: always checked;
    # nip-gone was not described (deleted?): always checked, so its absence is reported
    groups = rc.groups_by_endpoint(INTERFACES)
    ids = [*PATHS, "nip-gone"]
    selected = rc.affected_paths(ids, PATHS, groups, changed)
    assert selected == (expected if changed is None else [*expected, "nip-gone"])


def test_an_instance_without_interfaces_found_is_undeterminable() -> None:
    assert rc.path_groups({"Source": "igw-1", "Destination": "i-0gone"}, {}) is None
    assert rc.path_groups({"Source": "igw-1", "Destination": "i-0web"}, {"i-0web": {"sg-1"}}) == {"sg-1"}


def test_path_label_and_route() -> None:
    recorded = real("reachability", "DescribeNetworkInsightsPaths_igw_to_instance_awscli_doc.json")
    path = recorded["NetworkInsightsPaths"][0]
    assert rc.path_label("nip-0b26f224f1d131fa8", path) == "nip-0b26f224f1d131fa8"
    assert rc.describe_route(path) == "igw-0797cccdc9d73b0e5 -> i-0495d385ad28331c7 tcp"
    named = {**path, "Tags": [{"Key": "Name", "Value": "web-https"}], "DestinationPort": 443}
    assert rc.path_label("nip-1", named) == "web-https (nip-1)"
    assert rc.describe_route(named).endswith("tcp/443")


# --------------------------------------------------------------------------- explanations


def test_recorded_blocked_analysis_is_summarised_as_a_security_group_problem() -> None:
    analysis = real("reachability", "DescribeNetworkInsightsAnalyses_notfound_ENI_SG_RULES_MISMATCH_awscli_doc.json")[
        "NetworkInsightsAnalyses"
    ][0]
    outcome = rc.Outcome.from_analysis(analysis)
    assert outcome.status == "succeeded" and outcome.path_found is False
    [summary] = outcome.explanations
    assert summary.component_type == "security group"
    assert summary.component == "sg-02f0d35a850ba727f"
    assert summary.code == "ENI_SG_RULES_MISMATCH"
    assert summary.text() == (
        "security group sg-02f0d35a850ba727f (ingress, at eni-0a25edef15a6cc08c): ENI_SG_RULES_MISMATCH"
    )


@pytest.mark.parametrize(
    ("explanation", "kind", "component"),
    [
        (
            {
                "ExplanationCode": "SUBNET_ACL_RESTRICTION",
                "Acl": {"Id": "acl-1"},
                "AclRule": {"RuleNumber": 100},
                "Subnet": {"Id": "subnet-1"},
                "Vpc": {"Id": "vpc-1"},
            },
            "network ACL",
            "acl-1",
        ),
        (
            {"ExplanationCode": "NO_ROUTE_TO_DESTINATION", "RouteTable": {"Id": "rtb-1"}, "Subnet": {"Id": "subnet-1"}},
            "route table",
            "rtb-1",
        ),
        (
            {
                "ExplanationCode": "ENI_SG_RULES_MISMATCH",
                "SecurityGroups": [{"Id": "sg-1"}, {"Id": "sg-2"}],
                "NetworkInterface": {"Id": "eni-1"},
            },
            "security group",
            "sg-1, sg-2",
        ),
        (
            {"ExplanationCode": "IGW_NOT_ATTACHED", "InternetGateway": {"Id": "igw-1", "Name": "main"}},
            "internet gateway",
            "main (igw-1)",
        ),
        ({"ExplanationCode": "SOMETHING_NEW", "Component": {"Id": "rtb-9"}}, "route table", "rtb-9"),
        ({"ExplanationCode": "SOMETHING_ELSE"}, "path", ""),
    ],
    ids=["nacl", "route-table", "two-groups", "named-igw", "generic-component", "bare-code"],
)
def test_explanations_name_the_blocking_component(explanation: dict, kind: str, component: str) -> None:
    [summary] = rc.summarise_explanations([explanation])
    found = (summary.component_type, summary.component, summary.code)
    assert found == (kind, component, explanation["ExplanationCode"])


def test_identical_explanations_are_listed_once() -> None:
    explanation = {
        "ExplanationCode": "ENI_SG_RULES_MISMATCH", "SecurityGroups": [{"Id": "sg-1"}], "Direction": "egress"
    }
    assert len(rc.summarise_explanations([explanation, dict(explanation), "junk"])) == 1


# --------------------------------------------------------------------------- transitions


def record(state: str | None, fault: str | None = None) -> rc.PathRecord:
    return rc.PathRecord("nip-1", "succeeded", "2026-11-21T00:00:00.000Z", state=state, fault=fault)


REACHED = rc.Outcome("nip-1", "succeeded", "nia-2", True)
BLOCKED = rc.Outcome(
    "nip-1", "succeeded", "nia-2", False, [rc.ExplanationSummary("security group", "sg-1", "ENI_SG_RULES_MISMATCH")]
)
FAILED = rc.Outcome("nip-1", "failed", "nia-2", None, message="InternalError")
GONE = rc.Outcome("nip-1", "missing", message="InvalidNetworkInsightsPathId.NotFound")


@pytest.mark.parametrize(
    ("previous", "outcome", "alert", "state"),
    [
        (None, REACHED, None, "reachable"),
        (record("reachable"), REACHED, None, "reachable"),
        (record("reachable"), BLOCKED, "blocked", "unreachable"),
        (None, BLOCKED, "blocked", "unreachable"),
        (record("unreachable"), BLOCKED, None, "unreachable"),
        (record("unreachable"), REACHED, "restored", "reachable"),
        (record("reachable"), FAILED, "analysis-failed", "reachable"),
        (record("reachable", "failed"), FAILED, None, "reachable"),
        (record("unreachable", "failed"), REACHED, "restored", "reachable"),
        (record("reachable", "failed"), REACHED, None, "reachable"),
        (record("reachable"), GONE, "path-missing", "reachable"),
        (record("reachable", "missing"), GONE, None, "reachable"),
    ],
    ids=[
        "first-reachable-silent",
        "steady-reachable-silent",
        "reachable-to-blocked",
        "first-check-blocked",
        "steady-blocked-silent",
        "restored",
        "failure-alerts",
        "repeated-failure-silent",
        "restored-after-failure",
        "recovered-from-failure-same-state-silent",
        "missing-alerts",
        "still-missing-silent",
    ],
)
def test_alerts_only_on_transitions(previous, outcome, alert, state) -> None:
    new, kind = rc.transition(previous, outcome, NOW)
    assert kind == alert
    assert new.state == state


def test_pending_record_carries_the_last_known_state_and_round_trips() -> None:
    pending = rc.pending_record(record("unreachable", "failed"), "nip-1", ["nia-1", "nia-2"], NOW)
    back = rc.PathRecord.from_json(pending.to_json())
    assert back == pending
    found = (back.status, back.state, back.fault, back.pending)
    assert found == ("running", "unreachable", "failed", ["nia-1", "nia-2"])


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"path_id": 3}', b"not json"])
def test_unreadable_state_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        rc.PathRecord.from_json(body)


# --------------------------------------------------------------------------- alert texts


def test_blocked_alert_names_the_path_and_summarises_why() -> None:
    path = {
        "Source": "igw-1",
        "Destination": "i-0web",
        "Protocol": "tcp",
        "DestinationPort": 443,
        "Tags": [{"Key": "Name", "Value": "web-https"}],
    }
    alert = rc.format_alert("blocked", BLOCKED, path, "123456789012", "eu-west-1", record("reachable"))
    assert alert.subject == "SG Watch: Path web-https (nip-1) is now blocked"
    assert "security group sg-1: ENI_SG_RULES_MISMATCH" in alert.body
    assert "igw-1 -> i-0web tcp/443" in alert.body
    assert alert.attributes == {"severity": "HIGH", "event_name": "ReachabilityPathBlocked"}


@pytest.mark.parametrize(
    ("kind", "outcome", "words", "severity"),
    [
        ("restored", REACHED, "Path nip-1 restored", "INFO"),
        ("analysis-failed", FAILED, "Reachability analysis of path nip-1 failed", "MEDIUM"),
        ("path-missing", GONE, "Path nip-1 no longer exists", "MEDIUM"),
    ],
)
def test_other_alerts(kind: str, outcome: rc.Outcome, words: str, severity: str) -> None:
    alert = rc.format_alert(kind, outcome, None, "123456789012", "eu-west-1", record("unreachable"))
    assert alert.subject == f"SG Watch: {words}"
    assert alert.severity == severity
    if kind == "analysis-failed":
        assert "InternalError" in alert.body


def test_slack_text_makes_path_names_inert() -> None:
    path = {"Tags": [{"Key": "Name", "Value": "<!channel> @here *db*"}]}
    alert = rc.format_alert("blocked", BLOCKED, path, "123456789012", "eu-west-1", None)
    text = rc.slack_text(alert, escape)
    assert "<!channel>" not in text and "@here" not in text
    assert "first check" in alert.subject


def test_backoff_grows_and_is_capped() -> None:
    delays = rc.backoff_delays()
    seen = [next(delays) for _ in range(7)]
    assert seen == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_detail = st.fixed_dictionaries(
    {},
    optional={
        "eventName": st.sampled_from(sorted(rc.SG_EVENTS)) | st.text(max_size=20),
        "requestParameters": _json
        | st.dictionaries(st.sampled_from(["groupId", "groupName", "ModifySecurityGroupRulesRequest"]), _json),
        "errorCode": st.none() | st.text(max_size=8),
    },
)
_body = st.one_of(
    st.text(max_size=40),
    _json.map(json.dumps),
    _detail.map(lambda d: json.dumps({"detail": d})),
)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), _body), max_size=8))
def test_any_batch_is_read_without_crashing_and_only_bad_records_are_retried(items) -> None:
    records = [{"messageId": mid, "body": body} for mid, body in items]
    batch = rc.read_batch(records)
    assert set(batch.failures) <= {mid for mid, _ in items}
    assert batch.events + len(batch.failures) == len(records)
    assert batch.changed is None or all(g.startswith("sg-") for g in batch.changed)


@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x85"], ids=["LF", "CR", "LS", "NEL"])
def test_no_name_or_message_adds_a_line_to_the_alert(brk: str) -> None:
    # given a path, a blocking component and a failure message whose text was crafted to add a line
    forged = f"x{brk}Account: 999999999999"
    path = {"Source": "igw-1", "Destination": "i-0web", "Tags": [{"Key": "Name", "Value": forged}]}
    explanation = {"ExplanationCode": "IGW_NOT_ATTACHED", "InternetGateway": {"Id": "igw-1", "Name": forged}}
    blocked = rc.Outcome("nip-1", "succeeded", "nia-1", False, rc.summarise_explanations([explanation]))
    failed = rc.Outcome("nip-1", "failed", "nia-2", message=forged)
    for kind, outcome in (("blocked", blocked), ("analysis-failed", failed)):
        # when the alert is rendered for mail and for Slack
        alert = rc.format_alert(kind, outcome, path, "123456789012", "eu-west-1", record("reachable"))
        slack = rc.slack_text(alert, escape)
        # then the account line is ours alone, and the crafted text stays on its own line
        for text in (alert.body, slack):
            assert [line for line in text.splitlines() if line.lstrip(" -*`").startswith("Account:")] == [
                "Account: 123456789012"]
        assert "x Account: 999999999999" in alert.body and "\n" not in alert.subject
