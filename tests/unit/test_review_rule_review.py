"""The review pack's section "Rule review (PCI DSS 1.2.5 and 1.2.7)": the newest rule-review report of each
account/region before the period ends, written by the inventory's own writer into in-process moto S3."""

from __future__ import annotations

import boto3
import pytest

from sgwatch import review_pack as review
from sgwatch.evidence import EvidenceStore, series_prefix, stamp
from sgwatch.justification import Sources
from sgwatch.review_pack import partial, rule_findings as section
from sgwatch.review_pack.build import Reader, review_scope
from sgwatch.rule_review import Region
from sgwatch.rule_review_record import record_review
from sgwatch.rules import Rule

from .test_review import (
    ACCOUNT,
    PERIOD,
    PREFIX,
    REGION,
    WEB_SSH,
    alter,
    at,
    fabricate,
    parse,
    put_rule_review,
    read_csv,
    rule,
    run_review,
)


@pytest.fixture
def store(evidence_account: str) -> EvidenceStore:
    return EvidenceStore(evidence_account, boto3.client("s3"))


def test_findings_are_counted_by_finding_and_by_owner(store: EvidenceStore) -> None:
    # Given the 6 Jan rule review: sg-web's HTTPS reason expires on 10 Jan (web-team), sg-db's expired on
    # 31 Dec (db-team), sg-web's egress and SSH rules have none
    fabricate(store)
    built = run_review(store)
    # Then the section counts two unjustified rules, one expired and one expiring, and each owner's
    counted = section.counts(built.rule_review)
    assert dict(counted.by_finding) == {"unjustified": 2, "expired": 1, "expiring": 1, "stale": 0, "shadowed": 0,
                                        "duplicate-group": 0}
    owners = {o.owner: (o.total, dict(zip(section.FINDINGS, o.counts, strict=True)))
              for o in counted.by_owner}
    assert owners["(no owner)"][0] == 2 and owners["(no owner)"][1]["unjustified"] == 2
    assert owners["web-team"][1]["expiring"] == owners["db-team"][1]["expired"] == 1
    # and the page lists each unjustified and expired rule, the owner and the date beside it
    page = parse(review.render_html(built))
    text = page.joined("rule-review")
    assert "sgr-2" in text and "sgr-9" in text and "db-team" in text and "2025-12-31" in text
    assert "expired on 2025-12-31" in text


def test_rule_review_csv_holds_every_row_of_the_report_as_written(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    [report_key] = [k for k in store.keys("") if "/rule-review/" in k]
    rows = read_csv(review.render_csvs(built)["rule-review.csv"])
    assert sorted(tuple(r.values()) for r in rows) == sorted(tuple(r.values()) for r in read_csv(
        store.get(report_key).body))
    assert {(r["RuleId"], r["Finding"], r["Owner"]) for r in rows} == {
        ("sgr-1", "expiring", "web-team"), ("sgr-2", "unjustified", ""), ("sgr-3", "expired", "db-team"),
        ("sgr-9", "unjustified", "")}


def test_the_newest_report_before_the_period_ends_is_read(store: EvidenceStore) -> None:
    # Given the 6 Jan report, an older one of 2 Jan and one of 9 Jan, after the period
    fabricate(store)
    put_rule_review(store, [rule("sg-old", "ingress", "sgr-old", "tcp", "1", "1", "10.0.0.0/8")], at(2))
    put_rule_review(store, [rule("sg-later", "ingress", "sgr-later", "tcp", "1", "1", "10.0.0.0/8")], at(9))
    built = run_review(store)
    # Then only the 6 Jan report's findings are shown, without a gap
    assert {f.rule_id for f in built.rule_review} == {"sgr-1", "sgr-2", "sgr-3", "sgr-9"}
    assert not [g for g in built.gaps if g.kind == "missing-rule-review"]
    assert any(u.kind == "rule-review-report" and "20260106" in u.key for u in built.used)


def test_a_missing_rule_review_report_is_a_gap(store: EvidenceStore) -> None:
    fabricate(store, with_rule_review=False)
    built = run_review(store)
    [gap] = [g for g in built.gaps if g.kind == "missing-rule-review"]
    assert (gap.account_id, gap.region) == (ACCOUNT, REGION) and "no rule-review report" in gap.detail
    page = parse(review.render_html(built))
    assert "no current rule review" in page.joined("gaps") and page.rows["rule-review"] == 6  # the counts only


def test_a_rule_review_older_than_the_current_rules_is_a_gap(store: EvidenceStore) -> None:
    fabricate(store, with_rule_review=False)
    put_rule_review(store, [rule("sg-old", "ingress", "sgr-old", "tcp", "1", "1", "10.0.0.0/8")], at(2))
    built = run_review(store)
    [gap] = [g for g in built.gaps if g.kind == "missing-rule-review"]
    assert "2026-01-02 06:00 UTC" in gap.detail and "2026-01-06 06:00 UTC" in gap.detail
    assert [f.rule_id for f in built.rule_review] == ["sgr-old"]  # the newest knowledge there is


def test_an_altered_rule_review_is_an_integrity_gap(store: EvidenceStore) -> None:
    fabricate(store)
    key = alter(store, "rule-review", "20260106", b"db-team", b"nobody!")
    built = run_review(store)
    assert any(key in g.detail for g in built.gaps if g.kind == "integrity")
    assert list(built.rule_review) == []


def test_stale_shadowed_rules_and_duplicate_groups_are_each_listed(store: EvidenceStore) -> None:
    # Given a report with a shadowed rule, a stale reference and two groups with the same rules
    fabricate(store, with_rule_review=False)
    wide = rule("sg-app", "ingress", "sgr-wide", "tcp", "0", "65535", "10.0.0.0/8")
    narrow = rule("sg-app", "ingress", "sgr-narrow", "tcp", "22", "22", "10.1.0.0/16")
    gone = rule("sg-app", "egress", "sgr-gone", "tcp", "443", "443", "sg-deleted", peer_type="security-group")
    twins = [rule(g, "ingress", f"sgr-{g}", "tcp", "80", "80", "10.2.0.0/16") for g in ("sg-twin1", "sg-twin2")]
    rows: list[Rule] = [wide, narrow, gone, *twins, WEB_SSH]
    facts = Region(stale={("sg-app", "egress", "sg-deleted"): "references sg-deleted, which no longer exists"})
    snapshot = series_prefix(PREFIX, ACCOUNT, REGION, "snapshots") + stamp(at(6)) + ".csv"
    record_review(store, PREFIX, ACCOUNT, REGION, snapshot, rows, Sources(), facts)
    built = run_review(store)
    # Then each finding has its own list, naming the rule (or the group) and why
    page = parse(review.render_html(built))
    text = page.joined("rule-review")
    for expected in ("sgr-narrow", "covered by sgr-wide", "sgr-gone", "which no longer exists", "sg-twin1",
                     "same rules as sg-twin2"):
        assert expected in text, expected
    counted = dict(section.counts(built.rule_review).by_finding)
    assert (counted["shadowed"], counted["stale"], counted["duplicate-group"]) == (1, 1, 2)


def test_a_fanned_out_part_hands_the_findings_to_the_merge(store: EvidenceStore) -> None:
    # Given an account/region's review, when its partial is stored and read back by the merge
    fabricate(store)
    selection = review.select(PREFIX, store.keys(PREFIX), PERIOD)
    objects = {k: store.get(k) for k in selection.to_read}
    reader = Reader(objects)
    scope = review_scope(PERIOD, selection.scopes[(ACCOUNT, REGION)], selection, reader)
    back = partial.loads(partial.dumps(partial.Partial(ACCOUNT, REGION, scope, reader.used)))
    # Then it holds the same findings
    assert back.review is not None and back.review.rule_review == scope.rule_review and len(scope.rule_review) == 4
