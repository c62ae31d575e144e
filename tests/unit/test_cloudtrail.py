"""Parsing security-group CloudTrail events (fixtures in tests/events, recorded payloads when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgwatch import cloudtrail
from sgwatch.cloudtrail import ADDED, CREATED, DELETED, DESCRIPTION, MODIFIED, REMOVED
from sgwatch.rules import Rule

EVENTS = Path(__file__).resolve().parents[1] / "events"
REAL = Path(__file__).resolve().parents[3] / "shared" / "real-payloads" / "cloudtrail"
FIXTURES = sorted(EVENTS.glob("*.json"))


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def real_files() -> list[Path]:
    return sorted(REAL.glob("*.json")) if REAL.is_dir() else []


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_fixture_parses_as_a_known_event_with_its_name_group_and_actor(path: Path) -> None:
    # given a realistic event named <eventName>_<variant>.json
    event = json.loads(path.read_text())
    # when it is parsed
    ev = cloudtrail.parse(event)
    # then it is one of the nine events, names its group, actor, account, region and has changes
    assert ev.known, ev.problems
    assert ev.event_name == path.stem.split("_")[0]
    assert ev.group_ids or ev.group_name
    assert ev.actor.principal and ev.actor.type
    assert ev.account_id == "111122223333"
    assert ev.region in ("us-east-1", "eu-west-1")
    assert ev.changes
    assert ev.event_id == (event.get("detail") or event)["eventID"]


@pytest.mark.parametrize("path", real_files(), ids=lambda p: p.stem)
def test_every_recorded_payload_parses_as_a_known_event(path: Path) -> None:
    event = json.loads(path.read_text())
    ev = cloudtrail.parse(event)
    record = event.get("detail") or event
    assert ev.known, ev.problems
    assert ev.event_name == record["eventName"]
    assert ev.event_id == record["eventID"]
    assert ev.group_ids or ev.group_name
    assert ev.changes


def test_real_payload_folder_is_used_when_present() -> None:
    if not REAL.is_dir():
        pytest.skip("recorded payloads not available")
    assert len(real_files()) >= 10


def test_sso_console_actor_is_the_role_and_the_session_name() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json"))
    assert ev.actor.type == "AssumedRole"
    assert ev.actor.principal == "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    assert ev.actor.session_name == "alice@example.com"
    assert "alice@example.com" in ev.actor.display and "AWSReservedSSO" in ev.actor.display


def test_iam_user_actor_is_the_user_name() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_cli_iamuser_ipv6_range_covers_rdp.json"))
    assert (ev.actor.type, ev.actor.principal, ev.actor.session_name) == ("IAMUser", "bob", "")
    assert ev.actor.display == "IAM user bob"


def test_cloudformation_caller_is_shown_as_invoked_by() -> None:
    ev = cloudtrail.parse(load("CreateSecurityGroup_cloudformation_tags.json"))
    assert ev.actor.invoked_by == "cloudformation.amazonaws.com"
    assert ev.actor.display.endswith("via cloudformation.amazonaws.com")


def test_authorize_takes_rules_with_ids_from_the_response() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_cloudformation_sgref_prefixlist.json"))
    after = [c.after for c in ev.changes]
    assert [c.action for c in ev.changes] == [ADDED, ADDED]
    assert [(r.rule_id, r.peer_type, r.peer, r.from_port) for r in after] == [
        ("sgr-0aaa1111bbbb2222c", "security-group", "sg-05566778899aabbcc", "5432"),
        ("sgr-0ddd3333eeee4444f", "prefix-list", "pl-63a5400b", "443"),
    ]
    assert all(r.direction == "ingress" and r.group_id == "sg-0f9e8d7c6b5a49382" for r in after)


def test_several_permissions_and_peers_become_one_rule_each() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_terraform_private_ranges_several_permissions.json"))
    assert len(ev.changes) == 4
    assert ev.changes[-1].after.protocol == "-1"


def test_request_is_used_when_the_response_has_no_rule_set() -> None:
    # given an egress authorisation whose response only says true (as before 2021)
    event = load("AuthorizeSecurityGroupEgress_terraform_all_traffic_ipv4_ipv6.json")
    del event["detail"]["responseElements"]["securityGroupRuleSet"]
    ev = cloudtrail.parse(event)
    assert {c.after.peer for c in ev.changes} == {"0.0.0.0/0", "::/0"}
    assert {c.after.direction for c in ev.changes} == {"egress"}


def test_legacy_top_level_form_of_a_raw_record() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_raw_legacy_toplevel_cidr_rdp.json"))
    (change,) = ev.changes
    rule = change.after
    assert (rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.peer_type, rule.peer) == (
        "ingress", "tcp", "3389", "3389", "ipv4", "0.0.0.0/0")
    assert ev.group_name == "default" and not ev.group_ids


def test_legacy_source_group_name_revoke() -> None:
    ev = cloudtrail.parse(load("RevokeSecurityGroupIngress_raw_legacy_source_group_name.json"))
    (change,) = ev.changes
    assert change.action == REMOVED
    assert (change.before.peer_type, change.before.peer) == ("security-group", "lb")


def test_failed_call_keeps_the_requested_change_and_the_error() -> None:
    ev = cloudtrail.parse(load("AuthorizeSecurityGroupIngress_failed_unauthorized_ssh_world.json"))
    assert ev.failed and ev.error_code == "Client.UnauthorizedOperation"
    assert "not authorized" in ev.error_message
    assert ev.changes[0].after.peer == "0.0.0.0/0"


def test_revoke_by_rule_id_without_details_needs_the_before_state() -> None:
    ev = cloudtrail.parse(load("RevokeSecurityGroupIngress_by_rule_id_return_only.json"))
    (change,) = ev.changes
    assert (change.action, change.rule_id, change.before) == (REMOVED, "sgr-01111aaaa1111aaaa", None)


def test_revoke_with_revoked_rule_set_knows_the_rule() -> None:
    ev = cloudtrail.parse(load("RevokeSecurityGroupIngress_by_rule_id_with_revoked_set.json"))
    (change,) = ev.changes
    assert change.before.peer == "0.0.0.0/0" and change.before.rule_id == "sgr-0123456789abcdef0"


def test_modify_reads_the_capitalised_request_with_several_rules() -> None:
    ev = cloudtrail.parse(load("ModifySecurityGroupRules_cli_opens_ssh_world.json"))
    assert ev.group_ids == ["sg-0f9e8d7c6b5a49382"]
    assert [(c.action, c.rule_id) for c in ev.changes] == [
        (MODIFIED, "sgr-03333cccc3333cccc"), (MODIFIED, "sgr-02222bbbb2222bbbb")]
    first, second = (c.after for c in ev.changes)
    assert (first.protocol, first.from_port, first.peer, first.description) == ("tcp", "22", "0.0.0.0/0", "ssh")
    assert (second.peer_type, second.peer) == ("prefix-list", "pl-63a5400b")


def test_description_update_by_rule_id() -> None:
    ev = cloudtrail.parse(load("UpdateSecurityGroupRuleDescriptionsEgress_cli_by_rule_id.json"))
    (change,) = ev.changes
    assert (change.action, change.rule_id, change.after.description) == (
        DESCRIPTION, "sgr-05555eeee5555eeee", "egress to the internet via NAT")


def test_create_carries_name_vpc_description_and_tags() -> None:
    ev = cloudtrail.parse(load("CreateSecurityGroup_cloudformation_tags.json"))
    assert ev.group_ids == ["sg-05566778899aabbcc"]
    assert ev.group_name == "payments-api-AppSecurityGroup-1X2Y3Z4W5V6U"
    assert ev.vpc_id == "vpc-0123456789abcdef0"
    assert ev.tags["owner"] == "team-payments"
    assert [c.action for c in ev.changes] == [CREATED]


def test_delete_by_name_only_has_no_group_id() -> None:
    record = {"eventName": "DeleteSecurityGroup", "eventSource": "ec2.amazonaws.com", "eventID": "e1",
              "requestParameters": {"groupName": "old-web"}, "responseElements": {"_return": True}}
    ev = cloudtrail.parse(record)
    assert ev.known and ev.group_ids == [] and ev.group_name == "old-web"
    assert [c.action for c in ev.changes] == [DELETED]


PREVIOUS = [
    Rule("111122223333", "us-east-1", "", "sg-0f9e8d7c6b5a49382", "db", "", "ingress", "sgr-01111aaaa1111aaaa",
         "tcp", "443", "443", "ipv4", "10.0.0.0/8", "corp"),
    Rule("111122223333", "us-east-1", "", "sg-0f9e8d7c6b5a49382", "db", "", "ingress", "sgr-03333cccc3333cccc",
         "udp", "53", "53", "ipv4", "172.16.0.0/12", ""),
    Rule("111122223333", "us-east-1", "", "sg-0f9e8d7c6b5a49382", "db", "", "egress", "sgr-05555eeee5555eeee",
         "-1", "-1", "-1", "ipv4", "0.0.0.0/0", ""),
]


def test_resolve_fills_before_of_a_modify_from_previous_rules() -> None:
    ev = cloudtrail.parse(load("ModifySecurityGroupRules_cli_opens_ssh_world.json"))
    first, second = cloudtrail.resolve(ev, PREVIOUS)
    assert first.before == PREVIOUS[1] and not first.before_unknown
    assert first.after.direction == "ingress" and first.after.peer == "0.0.0.0/0"
    assert second.before is None and second.before_unknown


def test_resolve_revoke_by_rule_id() -> None:
    ev = cloudtrail.parse(load("RevokeSecurityGroupIngress_by_rule_id_return_only.json"))
    (change,) = cloudtrail.resolve(ev, PREVIOUS)
    assert change.before == PREVIOUS[0]


def test_resolve_description_by_rule_id_keeps_the_rule_and_changes_only_the_text() -> None:
    ev = cloudtrail.parse(load("UpdateSecurityGroupRuleDescriptionsEgress_cli_by_rule_id.json"))
    (change,) = cloudtrail.resolve(ev, PREVIOUS)
    assert change.before == PREVIOUS[2]
    assert change.after == PREVIOUS[2]._replace(description="egress to the internet via NAT")


def test_resolve_description_by_permission_matches_on_the_rule_shape() -> None:
    ev = cloudtrail.parse(load("UpdateSecurityGroupRuleDescriptionsIngress_console_by_permission.json"))
    (change,) = cloudtrail.resolve(ev, PREVIOUS)
    assert change.before == PREVIOUS[0]
    assert change.after.description == "corporate network (HQ)" and change.after.rule_id == "sgr-01111aaaa1111aaaa"


def test_resolve_delete_lists_the_rules_the_group_had() -> None:
    ev = cloudtrail.parse(load("DeleteSecurityGroup_console_sso_by_id.json"))
    changes = cloudtrail.resolve(ev, PREVIOUS)
    assert [c.before for c in changes] == PREVIOUS and {c.action for c in changes} == {DELETED}


def test_resolve_without_any_previous_state_marks_it_unknown() -> None:
    ev = cloudtrail.parse(load("ModifySecurityGroupRules_console_cidr_change.json"))
    (change,) = cloudtrail.resolve(ev, None)
    assert change.before is None and change.before_unknown


@pytest.mark.parametrize(
    "event",
    [None, [], "text", {}, {"detail": None}, {"detail": {"eventName": 3}}, {"detail": {"eventName": "Whatever"}},
     {"detail": {"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": "oops"}},
     {"detail": {"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"ipPermissions": {"items": [7]}}}},
     {"detail": {"eventName": "ModifySecurityGroupRules",
                 "requestParameters": {"ModifySecurityGroupRulesRequest": []}}}],
)
def test_unexpected_shapes_never_raise(event: object) -> None:
    ev = cloudtrail.parse(event)
    assert ev.event_id


def test_unknown_event_name_is_not_known_but_keeps_the_group_ids_it_carries() -> None:
    ev = cloudtrail.parse({"id": "abc", "detail": {"eventName": "SomethingNew", "eventID": "x-1",
                                                   "requestParameters": {"foo": {"bar": "sg-0123456789abcdef0"}}}})
    assert not ev.known and ev.event_id == "x-1"
    assert ev.group_ids == ["sg-0123456789abcdef0"]
