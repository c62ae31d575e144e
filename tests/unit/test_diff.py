"""Diff of two snapshots: identities through modifications, group changes, evidence of no change."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from sgwatch.diff import DIFF_HEADER, diff_snapshots
from sgwatch.rules import Rule

HEAD = ("111122223333", "eu-west-1", "vpc-1", "sg-1", "web", "web tier")


def rule(rule_id="sgr-1", direction="ingress", protocol="tcp", low="443", high="443", peer_type="ipv4",
         peer="0.0.0.0/0", description="", group=HEAD):
    return Rule(*group, direction, rule_id, protocol, low, high, peer_type, peer, description)


def kinds(result):
    return [(row[0], row[8], row[10]) for row in result.rows]  # ChangeType, RuleId, FromPort


def test_header_is_change_type_then_snapshot_columns():
    assert len(DIFF_HEADER) == 15
    assert DIFF_HEADER[:2] == ("ChangeType", "AccountId")


def test_no_change_gives_no_rows():
    rows = [rule(), rule("sgr-2", low="22", high="22")]
    result = diff_snapshots(rows, list(rows))
    assert result.rows == [] and (result.added, result.removed, result.updated) == (0, 0, 0)


def test_in_place_modify_keeps_the_rule_identity():
    result = diff_snapshots([rule(low="443", high="443")], [rule(low="8443", high="8443")])
    assert kinds(result) == [("Updated (Previous)", "sgr-1", "443"), ("Updated (Current)", "sgr-1", "8443")]
    assert (result.added, result.removed, result.updated) == (0, 0, 1)


def test_description_edit_is_an_update_not_remove_and_add():
    result = diff_snapshots([rule(description="old")], [rule(description="new")])
    assert [r[0] for r in result.rows] == ["Updated (Previous)", "Updated (Current)"]
    assert result.rows[0][-1] == "old" and result.rows[1][-1] == "new"


def test_without_rule_ids_rules_match_on_the_natural_key():
    before = [rule(rule_id="", description="old"), rule(rule_id="", low="22", high="22")]
    after = [rule(rule_id="", description="new"), rule(rule_id="", low="3389", high="3389")]
    result = diff_snapshots(before, after)
    assert sorted(r[0] for r in result.rows) == ["Added", "Removed", "Updated (Current)", "Updated (Previous)"]


def test_old_snapshot_without_ids_matches_new_one_with_ids():
    result = diff_snapshots([rule(rule_id="")], [rule(rule_id="sgr-9")])
    assert [r[0] for r in result.rows] == ["Updated (Previous)", "Updated (Current)"]


def test_recreated_rule_with_a_new_id_is_removed_and_added():
    result = diff_snapshots([rule(rule_id="sgr-1")], [rule(rule_id="sgr-2")])
    assert sorted(r[0] for r in result.rows) == ["Added", "Removed"]


def test_ipv6_prefix_list_and_reference_rules_are_told_apart():
    before = [rule("sgr-1", peer_type="ipv6", peer="::/0"), rule("sgr-2", peer_type="prefix-list", peer="pl-1")]
    after = [rule("sgr-2", peer_type="prefix-list", peer="pl-1"),
             rule("sgr-3", peer_type="security-group", peer="999988887777/sg-9")]
    result = diff_snapshots(before, after)
    assert sorted((r[0], r[12], r[13]) for r in result.rows) == [
        ("Added", "security-group", "999988887777/sg-9"), ("Removed", "ipv6", "::/0")]


def test_groups_added_and_removed_with_their_rules():
    gone = ("111122223333", "eu-west-1", "vpc-1", "sg-0", "old", "")
    new = ("111122223333", "eu-west-1", "vpc-1", "sg-2", "new", "")
    before = [rule(), Rule(*gone, *("",) * 8)]
    after = [rule(), rule("sgr-7", group=new, protocol="-1", low="-1", high="-1", direction="egress")]
    result = diff_snapshots(before, after)
    assert sorted((r[0], r[4]) for r in result.rows) == [("Added", "sg-2"), ("GroupAdded", "sg-2"),
                                                         ("GroupRemoved", "sg-0")]
    assert (result.groups_added, result.groups_removed, result.added) == (1, 1, 1)


def test_group_rows_come_first_then_rules_sorted():
    new = ("111122223333", "eu-west-1", "vpc-1", "sg-2", "new", "")
    after = [rule("sgr-9", group=new, low="80", high="80"), rule("sgr-8", group=new, low="22", high="22")]
    result = diff_snapshots([], after)
    assert [(r[0], r[10]) for r in result.rows] == [("GroupAdded", ""), ("Added", "22"), ("Added", "80")]


ids = st.sampled_from([f"sgr-{i}" for i in range(6)] + [""])
rules = st.builds(rule, rule_id=ids, low=st.sampled_from(["22", "443", "-1"]),
                  peer=st.sampled_from(["0.0.0.0/0", "10.0.0.0/8", "::/0"]),
                  description=st.sampled_from(["", "a", "b"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(rules, max_size=6, unique_by=lambda r: r.rule_id or r), st.lists(rules, max_size=6,
       unique_by=lambda r: r.rule_id or r))
def test_counts_add_up(before, after):
    # Every previous rule is kept, updated or removed; every current rule is kept, updated or added.
    result = diff_snapshots(before, after)
    previous = sum(1 for r in result.rows if r[0] in ("Removed", "Updated (Previous)"))
    current = sum(1 for r in result.rows if r[0] in ("Added", "Updated (Current)"))
    unchanged_before = len(before) - previous
    unchanged_after = len(after) - current
    assert unchanged_before == unchanged_after
    assert result.updated == sum(1 for r in result.rows if r[0] == "Updated (Current)")


def _lines(rows):
    from sgwatch.csvio import to_csv
    from sgwatch.rules import SNAPSHOT_HEADER

    return to_csv(SNAPSHOT_HEADER, rows).data_lines()


@settings(max_examples=200, deadline=None)
@given(st.lists(rules, max_size=6, unique_by=lambda r: r.rule_id or r), st.lists(rules, max_size=6,
       unique_by=lambda r: r.rule_id or r))
def test_line_diff_equals_row_diff(before, after):
    # The fast path (compare CSV lines, parse only differing ones) gives the same evidence.
    from sgwatch.diff import diff_snapshot_lines

    assert diff_snapshot_lines(_lines(before), _lines(after)).rows == diff_snapshots(before, after).rows


def test_line_diff_handles_quoted_commas_in_descriptions():
    from sgwatch.diff import diff_snapshot_lines

    result = diff_snapshot_lines(_lines([rule(description="a, b")]), _lines([rule(description='say "hi", ok')]))
    assert [r[-1] for r in result.rows] == ["a, b", 'say "hi", ok']
