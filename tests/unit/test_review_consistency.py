"""The review pack's section "Configuration consistency (PCI DSS 1.2.8)": the drift reports of each account/region,
written by the inventory's own writer into in-process moto S3, read at the period end and through the period."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from sgwatch import review_pack as review
from sgwatch.csvio import to_csv
from sgwatch.drift import DRIFT_HEADER, DriftRow
from sgwatch.evidence import DRIFT, EvidenceStore, put_beside_snapshot, series_prefix, stamp
from sgwatch.review_pack import consistency as section, partial, parts

from .test_review import ACCOUNT, PERIOD, PREFIX, REGION, alter, at, fabricate, parse, read_csv, run_review

STATE_A = "s3://tf-state/network/terraform.tfstate"
STATE_B = "s3://tf-state/env:/prod/app/terraform.tfstate"


def row(group: str, rule_id: str, drift: str, source: str = "", address: str = "", port: str = "22",
        description: str = "", account: str = ACCOUNT) -> DriftRow:
    direction = "" if drift == "undeclared-group" else "ingress"
    ports = ("", "", "", "") if not direction else ("tcp", port, port, "10.0.0.0/8")
    return DriftRow(account, REGION, "vpc-1", group, group[3:], direction, rule_id if direction else "", *ports,
                    description, drift, source, address)


OLD = row("sg-web", "sgr-old", "unmanaged-rule")  # there before the period, resolved on 5 Jan
WIDENED = row("sg-web", "sgr-1", "changed", STATE_A, "module.web.aws_security_group.web", port="0")
BRIEF = row("sg-db", "sgr-7", "unmanaged-rule", port="8080")  # appeared on 2 Jan, resolved on 5 Jan
HOSTILE = row("sg-db", "sgr-8", "unmanaged-rule", description='=HYPERLINK("x")<script>alert(1)</script>')
GONE = row("sg-app", "", "missing-rule", STATE_B, 'aws_vpc_security_group_ingress_rule.app["https"]', port="443")
TAGGED = row("sg-tagged", "", "undeclared-group", account="222222222222")


def put_drift(store: EvidenceStore, rows: list[DriftRow], when: datetime, account: str = ACCOUNT) -> str:
    """The drift report the inventory writes (its own writer) with the snapshot taken at ``when``."""
    snapshot = series_prefix(PREFIX, account, REGION, "snapshots") + stamp(when) + ".csv"
    return put_beside_snapshot(store, PREFIX, account, REGION, DRIFT, snapshot, to_csv(DRIFT_HEADER, rows),
                               "drift report")


def fabricate_drift(store: EvidenceStore) -> None:
    """The week of :func:`tests.unit.test_review.fabricate`, each snapshot with its drift report, and one before
    the period (31 Dec) and one after it (9 Jan)."""
    fabricate(store)
    put_drift(store, [OLD], datetime(2025, 12, 31, 6, tzinfo=UTC))
    put_drift(store, [OLD], at(1))
    put_drift(store, [OLD, WIDENED, BRIEF], at(2))
    put_drift(store, [WIDENED, HOSTILE, GONE], at(5))
    put_drift(store, [WIDENED, HOSTILE, GONE], at(6))
    put_drift(store, [], at(9))


@pytest.fixture
def store(evidence_account: str) -> EvidenceStore:
    return EvidenceStore(evidence_account, boto3.client("s3"))


def at_end(built: review.Review) -> list[section.DriftFinding]:
    return [f for f in built.drift if not f.resolved_at]


def test_drift_at_the_period_end_is_the_newest_report_before_it_ends(store: EvidenceStore) -> None:
    # Given drift reports through the week, the 6 Jan one the newest before the period ends, and one of 9 Jan
    fabricate_drift(store)
    built = run_review(store)
    # Then the drift at the period end is the 6 Jan report's, each with when it was first seen
    assert {(f.group_id, f.drift, f.declared_address, f.first_seen) for f in at_end(built)} == {
        ("sg-web", "changed", "module.web.aws_security_group.web", "2026-01-02 06:00 UTC"),
        ("sg-db", "unmanaged-rule", "", "2026-01-05 06:00 UTC"),
        ("sg-app", "missing-rule", 'aws_vpc_security_group_ingress_rule.app["https"]', "2026-01-05 06:00 UTC")}
    assert not [g for g in built.gaps if g.kind == section.GAP]
    assert any(u.kind == section.KIND and "20260106" in u.key for u in built.used)


def test_drift_at_the_period_end_is_counted_by_source_and_by_account(store: EvidenceStore) -> None:
    fabricate_drift(store)
    put_drift(store, [TAGGED], at(6), account="222222222222")
    built = run_review(store)
    by_source, by_account = section.counts(built.drift)
    assert {(c.name, c.total) for c in by_source} == {(STATE_A, 1), (STATE_B, 1), (section.NO_SOURCE, 2)}
    nowhere = next(c for c in by_source if c.name == section.NO_SOURCE)
    assert dict(zip(("unmanaged-rule", "missing-rule", "changed", "undeclared-group"), nowhere.counts,
                    strict=True)) == {"unmanaged-rule": 1, "missing-rule": 0, "changed": 0, "undeclared-group": 1}
    assert {(c.name, c.total) for c in by_account} == {(ACCOUNT, 3), ("222222222222", 1)}
    # and the page shows both tables and the sources
    text = parse(review.render_html(built)).joined("consistency")
    assert STATE_A in text and STATE_B in text and "222222222222" in text and "sg-tagged" in text


def test_drift_resolved_during_the_period_is_listed_with_when_it_appeared_and_went(store: EvidenceStore) -> None:
    fabricate_drift(store)
    built = run_review(store)
    resolved = {(f.rule_id, f.first_seen, f.resolved_at) for f in built.drift if f.resolved_at}
    # sgr-old was there before the period (seen by the 31 Dec report); sgr-7 appeared and went within it
    assert resolved == {("sgr-old", "2025-12-31 06:00 UTC", "2026-01-05 06:00 UTC"),
                        ("sgr-7", "2026-01-02 06:00 UTC", "2026-01-05 06:00 UTC")}
    text = parse(review.render_html(built)).joined("consistency")
    assert "Resolved during the period" in text and "sgr-7" in text and "sgr-old" in text


def test_drift_that_comes_back_is_resolved_once_and_open_again(store: EvidenceStore) -> None:
    fabricate(store)
    put_drift(store, [BRIEF], at(1))
    put_drift(store, [], at(2))
    put_drift(store, [BRIEF], at(6))
    built = run_review(store)
    assert [(f.first_seen, f.resolved_at) for f in built.drift if f.rule_id == "sgr-7"] == [
        ("2026-01-06 06:00 UTC", ""), ("2026-01-01 06:00 UTC", "2026-01-02 06:00 UTC")]


def test_drift_csv_holds_every_row_with_its_life_in_the_period_and_neutralised_cells(store: EvidenceStore) -> None:
    fabricate_drift(store)
    built = run_review(store)
    body = review.render_csvs(built)[section.FILE]
    assert body.splitlines()[0].decode() == ",".join((*DRIFT_HEADER, "FirstSeen", "ResolvedAt"))
    rows = read_csv(body)
    assert [(r["RuleId"], r["Drift"], r["ResolvedAt"] != "") for r in rows] == [
        ("sgr-8", "unmanaged-rule", False), ("", "missing-rule", False), ("sgr-1", "changed", False),
        ("sgr-7", "unmanaged-rule", True), ("sgr-old", "unmanaged-rule", True)]
    hostile = next(r for r in rows if r["RuleId"] == "sgr-8")
    assert hostile["Description"].startswith("'=HYPERLINK")
    # and the page shows the text, never as markup
    page = review.render_html(built)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_a_missing_drift_report_where_drift_is_expected_is_a_gap(store: EvidenceStore) -> None:
    # Given drift reports through 5 Jan and none with the 6 Jan snapshot (that run could not read a source)
    fabricate(store)
    put_drift(store, [OLD], at(2))
    put_drift(store, [WIDENED], at(5))
    built = run_review(store)
    # Then the account/region has a gap naming both times, and its drift is the 5 Jan report's
    [gap] = [g for g in built.gaps if g.kind == section.GAP]
    assert (gap.account_id, gap.region) == (ACCOUNT, REGION)
    assert "2026-01-06 06:00 UTC" in gap.detail and "2026-01-05 06:00 UTC" in gap.detail
    assert [f.rule_id for f in at_end(built)] == ["sgr-1"]
    assert "no current drift report" in parse(review.render_html(built)).joined("gaps")


def test_without_drift_reports_no_drift_is_expected_and_none_shown(store: EvidenceStore) -> None:
    # Given an estate whose deployment reads no infrastructure code (no drift report ever)
    fabricate(store)
    built = run_review(store)
    assert list(built.drift) == [] and not [g for g in built.gaps if g.kind == section.GAP]
    assert "No drift at the period end" in parse(review.render_html(built)).joined("consistency")


def test_an_altered_drift_report_is_an_integrity_gap_and_resolves_nothing(store: EvidenceStore) -> None:
    fabricate_drift(store)
    key = alter(store, DRIFT, "20260105", b"sgr-8", b"sgr-X")
    built = run_review(store)
    assert any(key in g.detail for g in built.gaps if g.kind == "integrity")
    # the 5 Jan report is skipped: what the 2 Jan one held is resolved by the 6 Jan one
    assert {(f.rule_id, f.resolved_at) for f in built.drift if f.resolved_at} == {
        ("sgr-old", "2026-01-06 06:00 UTC"), ("sgr-7", "2026-01-06 06:00 UTC")}


def test_a_fanned_out_part_reads_the_drift_reports_and_hands_them_to_the_merge(store: EvidenceStore) -> None:
    # Given the part of one account/region, which lists its own evidence, and its partial stored and read back
    fabricate_drift(store)
    built = parts.build_partial(store, PREFIX, (ACCOUNT, REGION), PERIOD)
    back = partial.loads(partial.dumps(built))
    # Then the merge gets the same drift as a single run finds
    assert back.review is not None
    assert sorted(back.review.drift) == sorted(run_review(store).drift) and len(back.review.drift) == 5
    assert any(u.kind == section.KIND for u in back.used)
