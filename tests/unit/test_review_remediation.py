"""The review pack's section "Remediation and exceptions": the records the remediation input writes (by the remediation
function's own job and the change notifier's own writer, into in-process moto S3), read for the period in one run
and through a fanned-out part."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from sgwatch import remediation_revert as revert, review_pack, settings
from sgwatch.cloudtrail import SgEvent
from sgwatch.evidence import REMEDIATION, EvidenceStore, series_prefix
from sgwatch.remediation import jobs
from sgwatch.remediation.interaction import Click
from sgwatch.remediation_prompt import KEEP, RESTORE, REVERT, AlertRef, Policy
from sgwatch.review_pack import partial, parts, remediation as section
from sgwatch.sg_change_alerts.changes import EventRecords
from tests.unit.test_review import ACCOUNT, PERIOD, PREFIX, REGION, parse, read_csv, run_review, store

__all__ = ["store"]  # the fixture

APPROVER = "U0APPROVER"
HOSTILE_REASON = '=HYPERLINK("http://x")<script>alert(1)</script>'


def ssh(rule_id: str, group: str = "sg-web") -> dict[str, str]:
    return {"group_id": group, "rule_id": rule_id, "direction": "ingress", "protocol": "tcp", "from_port": "22",
            "to_port": "22", "peer_type": "ipv4", "peer": "0.0.0.0/0", "description": ""}


def alert_record(event_id: str, *rules: dict[str, str]) -> dict[str, Any]:
    return {"event_id": event_id, "account_id": ACCOUNT, "region": REGION,
            "changes": [{"action": "added", "after": r} for r in rules]}


def job(store: EvidenceStore, action: str, event_id: str, day: date, when: datetime, reason: str = "",
        expires: str = "") -> jobs.Job:
    """The remediation function's job of a click on the alert of ``day`` (its own evidence writers)."""
    config = jobs.Settings("arn:secret", settings.Slack("arn:token", "C1"), settings.Evidence(store.bucket, PREFIX),
                           Policy(), (APPROVER,), "https://queue")
    ref = AlertRef(event_id, ACCOUNT, REGION, day.strftime("%Y/%m/%d"))
    click = Click(action, ref, APPROVER, "C1", "1.2", [], reason=reason, expires=expires)
    return jobs.Job(config, click, f"job-{event_id}", None, store, when)


def approver_revert(store: EvidenceStore, event_id: str, day: date, when: datetime, finished: bool = True) -> None:
    steps, _ = revert.plan(alert_record(event_id, ssh("sgr-10")))
    done = job(store, REVERT, event_id, day, when)
    assert done.claim({"planned": [s.as_dict() for s in steps]}) is None
    if finished:
        done.write_outcome([revert.Outcome(steps[0], revert.DONE, request_id="req-1")])


def kept(store: EvidenceStore, action: str, event_id: str, day: date, when: datetime, expires: str,
         *rules: dict[str, str], reason: str = "vendor session") -> None:
    written, decided = job(store, action, event_id, day, when, reason, expires).record_exception(
        alert_record(event_id, *rules))
    assert written and decided is None


def auto_revert(store: EvidenceStore, event_id: str, when: datetime) -> None:
    steps, _ = revert.plan(alert_record(event_id, ssh("sgr-20")))
    outcomes = [revert.Outcome(steps[0], revert.DONE, request_id="req-2")]
    ev = SgEvent(event_id=event_id, event_time=when.isoformat(), account_id=ACCOUNT, region=REGION)
    record = revert.auto_record(event_id, ACCOUNT, REGION, when.isoformat(), outcomes)
    assert EventRecords(store, PREFIX).write_auto_revert(ev, when, record)


def fabricate(store: EvidenceStore) -> None:
    """Through the week of PERIOD (1-7 Jan 2026): an approver's revert (2 Jan), an automatic one (3 Jan), a Keep
    of two groups' rules (4 Jan) and a Restore (5 Jan); an exception kept in December that expired on 3 Jan (its
    last valid day 2 Jan), one that lapses after the period, and records of alerts before and after it."""
    approver_revert(store, "ev-approver", date(2026, 1, 2), datetime(2026, 1, 2, 9, tzinfo=UTC))
    auto_revert(store, "ev-auto", datetime(2026, 1, 3, 10, tzinfo=UTC))
    kept(store, KEEP, "ev-keep", date(2026, 1, 4), datetime(2026, 1, 4, 11, tzinfo=UTC), "2026-02-01",
         ssh("sgr-30"), ssh("sgr-31", "sg-db"), reason=HOSTILE_REASON)
    kept(store, RESTORE, "ev-restore", date(2026, 1, 5), datetime(2026, 1, 5, 12, tzinfo=UTC), "2026-01-20",
         ssh("sgr-40"))
    kept(store, KEEP, "ev-lapsed", date(2025, 12, 20), datetime(2025, 12, 20, 8, tzinfo=UTC), "2026-01-02",
         ssh("sgr-50"), ssh("sgr-51", "sg-db"), reason="migration window")
    kept(store, KEEP, "ev-later", date(2025, 12, 21), datetime(2025, 12, 21, 8, tzinfo=UTC), "2026-01-07",
         ssh("sgr-60"))
    approver_revert(store, "ev-before", date(2025, 12, 31), datetime(2025, 12, 31, 9, tzinfo=UTC))
    approver_revert(store, "ev-after", date(2026, 1, 8), datetime(2026, 1, 8, 9, tzinfo=UTC))


def rows_by_event(rows: Any) -> dict[str, section.RemediationRow]:
    return {r.event_id: r for r in rows}


def test_the_period_s_reverts_keeps_restores_and_lapsed_exceptions_are_listed(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    found = rows_by_event(built.remediation)
    # Then every decision on the period's alerts and the exception that lapsed in it, and nothing else
    assert set(found) == {"ev-approver", "ev-auto", "ev-keep", "ev-restore", "ev-lapsed"}
    assert [r.action for r in built.remediation] == ["reverted", "expired", "reverted", "kept", "restored"]
    # by whom: the approver or "auto", with what was done
    assert (found["ev-approver"].by, found["ev-approver"].rules) == (APPROVER, "sgr-10 in sg-web")
    assert found["ev-approver"].outcome == "sgr-10 in sg-web: revoked"
    assert (found["ev-auto"].by, found["ev-auto"].at) == ("auto", "2026-01-03 10:00 UTC")
    assert found["ev-auto"].outcome == "reverted automatically: sgr-20 in sg-web: revoked"
    # kept and restored: until when and why
    keep = found["ev-keep"]
    assert (keep.by, keep.expires, keep.reason) == (APPROVER, "2026-02-01", HOSTILE_REASON)
    assert keep.rules == "sgr-30 in sg-web; sgr-31 in sg-db"
    assert (found["ev-restore"].action, found["ev-restore"].expires) == ("restored", "2026-01-20")
    # the exception of two groups lapsed once, at the end of its last valid day
    lapsed = found["ev-lapsed"]
    assert (lapsed.at, lapsed.by, lapsed.expires, lapsed.reason) == (
        "2026-01-03 00:00 UTC", APPROVER, "2026-01-02", "migration window")
    assert section.counts(built.remediation) == [("reverted", 2), ("kept", 1), ("restored", 1), ("expired", 1)]
    assert not [g for g in built.gaps if "remediation" in g.detail]


def test_a_revert_whose_job_has_not_finished_says_so(store: EvidenceStore) -> None:
    approver_revert(store, "ev-running", date(2026, 1, 2), datetime(2026, 1, 2, 9, tzinfo=UTC), finished=False)
    [row] = run_review(store).remediation
    assert row.outcome.startswith("no outcome recorded")


def test_the_page_shows_the_section_with_user_text_inert(store: EvidenceStore) -> None:
    fabricate(store)
    page = review_pack.render_html(run_review(store))
    text = parse(page).joined("remediation")
    assert "Remediation and exceptions" in page and "ev-auto" in text and "migration window" in text
    assert "Exceptions that expired" in text and "2026-01-02" in text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_remediation_csv_has_its_header_and_every_cell_neutralised(store: EvidenceStore) -> None:
    fabricate(store)
    body = review_pack.render_csvs(run_review(store))[section.FILE]
    assert body.splitlines()[0].decode() == ",".join(section.HEADER)
    rows = read_csv(body)
    assert len(rows) == 5
    keep = next(r for r in rows if r["EventId"] == "ev-keep")
    assert keep["Reason"].startswith("'=HYPERLINK") and keep["Action"] == "kept" and keep["By"] == APPROVER


def test_an_unreadable_record_is_an_integrity_gap(store: EvidenceStore) -> None:
    fabricate(store)
    key = series_prefix(PREFIX, ACCOUNT, REGION, REMEDIATION) + "2026/01/06/ev-broken-keep.json"
    store.put_new(key, b"{not json", "application/json")
    built = run_review(store)
    [gap] = [g for g in built.gaps if key in g.detail]
    assert (gap.kind, gap.account_id, gap.region, gap.when) == ("integrity", ACCOUNT, REGION, "2026-01-06")
    assert len(built.remediation) == 5  # the others still shown


def test_without_remediation_records_the_section_is_empty_and_no_gap(store: EvidenceStore) -> None:
    approver_revert(store, "ev-after", date(2026, 1, 8), datetime(2026, 1, 8, 9, tzinfo=UTC))
    built = run_review(store)
    assert list(built.remediation) == [] and not [g for g in built.gaps if "remediation" in g.detail]
    assert "Nothing was reverted." in parse(review_pack.render_html(built)).joined("remediation")


def test_a_fanned_out_part_lists_reads_and_hands_the_rows_to_the_merge(store: EvidenceStore) -> None:
    fabricate(store)
    built = parts.build_partial(store, PREFIX, (ACCOUNT, REGION), PERIOD)
    back = partial.loads(partial.dumps(built))
    assert back.review is not None
    assert sorted(back.review.remediation) == sorted(run_review(store).remediation)
    assert len(back.review.remediation) == 5
    # the part reads the period's records only: neither the alerts before and after it nor the later exception
    read = {u.key for u in back.used if u.kind == section.KIND}
    assert read and not [k for k in read if "ev-before" in k or "ev-after" in k or "ev-later" in k]


@pytest.mark.parametrize(("tail", "expected"), [
    (("remediation", "2026", "01", "02", "ev-revert.json"), datetime(2026, 1, 2, tzinfo=UTC)),
    (("remediation", "exceptions", "sg-1", "2026-01-02-ev.json"), datetime(2026, 1, 3, tzinfo=UTC)),
    (("remediation", "exceptions", "sg-1", "garbage.json"), None),
    (("remediation", "2026", "13", "02", "ev.json"), None),
])
def test_keys_are_timed_by_their_day_or_when_the_exception_lapses(tail: tuple[str, ...], expected: Any) -> None:
    assert section.key_time((ACCOUNT, REGION, *tail)) == expected
