"""Drift of one account and region: live snapshot rows held against the declared rules (matching by rule id,
else by shape; see sgwatch.drift)."""

from __future__ import annotations

import pytest

from sgwatch import drift
from sgwatch.csvio import from_csv, to_csv
from sgwatch.iac_state import Declared, DeclaredGroup, DeclaredRule

ACCOUNT, REGION = "123456789012", "eu-west-1"
SOURCE = "s3://states/net.tfstate"


def live(group, rule_id, proto="tcp", low="443", high="443", peer="10.0.0.0/8", description="", direction="ingress",
         peer_type="ipv4"):
    return (ACCOUNT, REGION, "vpc-1", group, group + "-name", "d", direction, rule_id, proto, low, high, peer_type,
            peer, description)


def placeholder(group):
    return (ACCOUNT, REGION, "vpc-1", group, group + "-name", "d", "", "", "", "", "", "", "", "")


def declared(group, address, rule_id="", proto="tcp", low="443", high="443", peer="10.0.0.0/8", description="",
             direction="ingress", peer_type="ipv4"):
    return DeclaredRule(SOURCE, address, group, direction, rule_id, proto, low, high, peer_type, peer, description)


def group(group_id, address="aws_security_group.web", account=ACCOUNT, region=REGION):
    return DeclaredGroup(SOURCE, address, group_id, group_id + "-name", "vpc-1", account, region)


def run(rows, rules, groups=(), tags=None, keys=("ManagedBy",)):
    found = drift.drift(rows, Declared(list(groups), list(rules), [SOURCE]), ACCOUNT, REGION, tags or {}, keys)
    return {(r.group_id, r.rule_id, r.drift, r.declared_address) for r in found}, found


def test_no_drift_when_every_live_rule_of_a_declared_group_is_declared_as_it_is():
    rows = [live("sg-1", "sgr-a"), live("sg-1", "sgr-b", "-1", "-1", "-1", "0.0.0.0/0", direction="egress")]
    rules = [declared("sg-1", "aws_security_group.web"),
             declared("sg-1", "aws_security_group.web", proto="-1", low="0", high="0", peer="0.0.0.0/0",
                      direction="egress")]
    assert run(rows, rules, [group("sg-1")])[0] == set()


def test_a_live_rule_declared_nowhere_in_a_declared_group_is_unmanaged():
    rows = [live("sg-1", "sgr-a"), live("sg-1", "sgr-added", low="22", high="22", peer="0.0.0.0/0")]
    found, _ = run(rows, [declared("sg-1", "aws_security_group.web")], [group("sg-1")])
    assert found == {("sg-1", "sgr-added", "unmanaged-rule", "")}


def test_rules_of_groups_no_source_declares_are_not_drift():
    assert run([live("sg-other", "sgr-x")], [declared("sg-1", "a.b")], [group("sg-1")])[0] == {
        ("sg-1", "", "missing-rule", "a.b")}


def test_a_declared_rule_that_is_not_live_is_missing_with_its_address():
    rows = [placeholder("sg-1")]
    found, rows_out = run(rows, [declared("sg-1", 'module.m.aws_vpc_security_group_ingress_rule.r["x"]',
                                          rule_id="sgr-gone")])
    assert found == {("sg-1", "sgr-gone", "missing-rule", 'module.m.aws_vpc_security_group_ingress_rule.r["x"]')}
    assert rows_out[0].declared_in == SOURCE and rows_out[0].group_name == "sg-1-name"


def test_a_missing_group_is_placed_by_its_arn():
    found, _ = run([], [declared("sg-gone", "aws_security_group.gone")], [group("sg-gone", "aws_security_group.gone")])
    assert found == {("sg-gone", "", "missing-rule", "aws_security_group.gone")}
    assert run([], [declared("sg-gone", "x")], [group("sg-gone", region="us-east-1")])[0] == set()


@pytest.mark.parametrize("change", [{"low": "0", "high": "65535"}, {"peer": "0.0.0.0/0"}, {"description": "edited"}])
def test_the_same_rule_id_with_other_ports_peer_or_description_is_changed(change):
    rows = [live("sg-1", "sgr-a", **change)]
    found, out = run(rows, [declared("sg-1", "aws_vpc_security_group_ingress_rule.r", rule_id="sgr-a")])
    assert found == {("sg-1", "sgr-a", "changed", "aws_vpc_security_group_ingress_rule.r")}
    assert out[0].declared_in == SOURCE


def test_without_a_rule_id_another_description_or_other_ports_of_the_same_peer_are_changed():
    rows = [live("sg-1", "sgr-a", description="edited"), live("sg-1", "sgr-b", low="0", high="65535",
                                                               peer="10.1.0.0/16")]
    rules = [declared("sg-1", "aws_security_group.web", description="web"),
             declared("sg-1", "aws_security_group.web", peer="10.1.0.0/16")]
    found, _ = run(rows, rules, [group("sg-1")])
    assert found == {("sg-1", "sgr-a", "changed", "aws_security_group.web"),
                     ("sg-1", "sgr-b", "changed", "aws_security_group.web")}


def test_a_rule_declared_inline_and_apart_matches_once_and_is_missing_once():
    rules = [declared("sg-1", "aws_security_group.web"), declared("sg-1", "aws_security_group_rule.r")]
    assert run([live("sg-1", "sgr-a")], rules, [group("sg-1")])[0] == set()
    found, _ = run([placeholder("sg-1")], rules, [group("sg-1")])
    assert len(found) == 1 and next(iter(found))[2] == "missing-rule"


def test_referenced_groups_match_with_or_without_their_owner():
    rows = [live("sg-1", "sgr-a", peer="111122223333/sg-9", peer_type="security-group")]
    rules = [declared("sg-1", "x", peer="sg-9", peer_type="security-group")]
    assert run(rows, rules, [group("sg-1")])[0] == set()


def test_a_tagged_group_no_source_declares_is_undeclared():
    rows = [live("sg-tf", "sgr-a"), live("sg-plain", "sgr-b")]
    found, _ = run(rows, [], tags={"sg-tf": {"ManagedBy": "terraform"}, "sg-plain": {"Name": "x"}})
    assert found == {("sg-tf", "", "undeclared-group", "")}


def test_new_drift_is_what_the_previous_report_did_not_hold_read_back_from_its_csv():
    rows = [live("sg-1", "sgr-added", "-1", "-1", "-1", "=cmd", description="=1+1")]
    _, first = run(rows, [], [group("sg-1")])
    doc = to_csv(drift.DRIFT_HEADER, first)
    previous = from_csv(doc.body, drift.DRIFT_HEADER)
    assert drift.new_drift(first, previous) == []
    assert drift.new_drift(first, None) == first
    _, second = run([*rows, live("sg-1", "sgr-more", low="22", high="22")], [], [group("sg-1")])
    assert [r.rule_id for r in drift.new_drift(second, previous)] == ["sgr-more"]
