"""The review pack's pure logic: period, severity, evidence selection, gaps, attribution, HTML and CSV.

The history is fabricated with the inventory's own writer (``record_snapshot``) into an
in-process moto S3 bucket, so the snapshots and diffs have exactly the shipped format.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest
from hypothesis import given, settings, strategies as st
from moto import mock_aws

from sgwatch import review
from sgwatch.csvio import neutralise
from sgwatch.evidence import EvidenceStore, series_prefix, stamp
from sgwatch.rules import Rule
from sgwatch.snapshots import record_snapshot

PREFIX = "security-groups/"
ACCOUNT = "111111111111"
REGION = "eu-west-1"
BUCKET = "evidence"
PERIOD = review.Period(date(2026, 1, 1), date(2026, 1, 7))


def rule(group: str, direction: str, rule_id: str, protocol: str, low: str, high: str, peer: str,
         description: str = "", name: str = "", peer_type: str = "ipv4") -> Rule:
    return Rule(ACCOUNT, REGION, "vpc-1", group, name or group.replace("sg-", ""), "", direction, rule_id,
                protocol, low, high, peer_type, peer, description)


def group_only(group: str, name: str) -> Rule:
    return Rule(ACCOUNT, REGION, "vpc-1", group, name, "", *("",) * 8)


WEB_HTTPS = rule("sg-web", "ingress", "sgr-1", "tcp", "443", "443", "0.0.0.0/0", "public https", "web")
WEB_EGRESS = rule("sg-web", "egress", "sgr-2", "-1", "", "", "0.0.0.0/0", "", "web")
DB_PG = rule("sg-db", "ingress", "sgr-3", "tcp", "5432", "5432", "sg-web", "from web", "db", "security-group")
DB_PG_EDITED = DB_PG._replace(description="from web tier")
# The description as the inventory stores it (snapshots hold every cell neutralised).
WEB_SSH = rule("sg-web", "ingress", "sgr-9", "tcp", "22", "22", "0.0.0.0/0", neutralise("=HYPERLINK(\"x\")"), "web")
NEW_GROUP = group_only("sg-new", "<script>alert(1)</script>")


def at(day: int, hour: int = 6) -> datetime:
    return datetime(2026, 1, day, hour, 0, tzinfo=UTC)


def put_event(store: EvidenceStore, event_id: str, when: datetime, name: str, groups: list[str],
              actor: str, changes: list[dict[str, Any]], error: str = "") -> str:
    key = f"{PREFIX}{ACCOUNT}/{REGION}/events/{when:%Y/%m/%d}/{event_id}.json"
    body = {
        "schema": 1, "event_id": event_id, "event_name": name,
        "event_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "account_id": ACCOUNT, "region": REGION,
        "group_ids": groups, "group_name": "", "actor": {"type": "AssumedRole", "display": actor},
        "source_ip": "198.51.100.7", "user_agent": "console", "error_code": error, "error_message": "",
        "severity": "HIGH", "subject": name, "changes": changes, "published_at": "", "detail": {},
    }
    store.put_new(key, json.dumps(body).encode(), "application/json")
    return key


def rule_dict(r: Rule) -> dict[str, str]:
    return {"direction": r.direction, "rule_id": r.rule_id, "protocol": r.protocol, "from_port": r.from_port,
            "to_port": r.to_port, "peer_type": r.peer_type, "peer": r.peer, "description": r.description}


def fabricate(store: EvidenceStore, with_events: bool = True, with_unused: bool = True) -> None:
    """A week with snapshots on the 1st, 2nd, 5th and 6th (3rd, 4th and 7th missing)."""
    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(2))
    # 4 Jan: alice opens SSH to the world and creates a group; both seen by the 5 Jan snapshot.
    after_5 = sorted([*base, WEB_SSH, NEW_GROUP])
    if with_events:
        put_event(store, "ev-ssh", at(4, 10), "AuthorizeSecurityGroupIngress", ["sg-web"], "alice",
                  [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}])
        put_event(store, "ev-create", at(4, 11), "CreateSecurityGroup", ["sg-new"], "alice", [])
        put_event(store, "ev-failed", at(4, 12), "AuthorizeSecurityGroupIngress", ["sg-db"], "mallory", [],
                  error="UnauthorizedOperation")
    record_snapshot(store, PREFIX, ACCOUNT, REGION, after_5, at(5))
    # 5 Jan: bob opens and closes a rule on sg-db between snapshots; someone edits a description unseen.
    if with_events:
        transient = rule("sg-db", "ingress", "sgr-7", "tcp", "8080", "8080", "203.0.113.0/24")
        put_event(store, "ev-transient", at(5, 12), "AuthorizeSecurityGroupIngress", ["sg-db"], "bob",
                  [{"action": "added", "before": None, "after": rule_dict(transient)}])
    after_6 = sorted([WEB_HTTPS, WEB_EGRESS, DB_PG_EDITED, WEB_SSH, NEW_GROUP])
    record_snapshot(store, PREFIX, ACCOUNT, REGION, after_6, at(6))
    if with_unused:
        report = {"schema": 1, "account_id": ACCOUNT, "region": REGION, "generated_at": "2026-01-06T07:00:00Z",
                  "unused": [{"group_id": "sg-new", "group_name": "@SUM(1)", "vpc_id": "vpc-1", "age_days": 2,
                              "rule_count": 0, "delete_command": "aws ec2 delete-security-group --group-id sg-new"}],
                  "in_use": {"sg-web": ["eni eni-1"]}, "not_scanned": {}}
        key = series_prefix(PREFIX, ACCOUNT, REGION, "unused") + stamp(at(6, 7)) + ".json"
        store.put_new(key, json.dumps(report).encode(), "application/json")


@pytest.fixture
def store():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield EvidenceStore(BUCKET, s3)


def run_review(store: EvidenceStore, period: review.Period = PERIOD) -> review.Review:
    selection = review.select(PREFIX, store.keys(PREFIX), period)
    objects = {k: store.get(k) for k in selection.to_read}
    return review.build(period, BUCKET, PREFIX, selection, objects, datetime(2026, 1, 8, tzinfo=UTC))


class Page(HTMLParser):
    """Sections (by id), table body rows per section, SVG elements, and anything external or scripted."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.sections: list[str] = []
        self.rows: dict[str, int] = {}
        self.text: dict[str, list[str]] = {}
        self.svgs: list[str] = []
        self.bars = 0
        self.days: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self.in_tbody = False
        self.svg_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
            self.sections.append(self.section or "")
            self.rows[self.section or ""] = 0
        if tag == "tbody":
            self.in_tbody = True
        if tag == "tr" and self.in_tbody and self.section:
            self.rows[self.section] += 1
        if tag == "svg":
            self.svgs.append(a.get("class") or "")
        if tag == "rect" and a.get("class") == "bar":
            self.bars += 1
        if tag == "rect" and (a.get("class") or "").startswith("day"):
            self.days.append(a.get("class") or "")
        if tag == "script" or any(k.startswith("on") for k in a):
            self.scripts += 1
        for name in ("src", "href"):
            if a.get(name):
                self.external.append(a[name] or "")
        if tag == "link":
            self.external.append(a.get("href") or "link")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self.in_tbody = False
        if tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.section:
            self.text.setdefault(self.section, []).append(data)

    def joined(self, section: str) -> str:
        return " ".join(self.text.get(section, []))


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    return parser


# ------------------------------------------------------------------ period


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (date(2026, 7, 1), date(2026, 1, 1), date(2026, 6, 30)),
        (date(2027, 1, 1), date(2026, 7, 1), date(2026, 12, 31)),
        (date(2026, 8, 31), date(2026, 2, 28), date(2026, 8, 30)),
    ],
)
def test_scheduled_run_covers_the_six_months_ending_yesterday(today: date, start: date, end: date) -> None:
    # Given an empty (scheduled) event, when the period is parsed, then it is the previous six months
    period = review.parse_period({}, today)
    assert (period.start, period.end) == (start, end)


def test_on_demand_period_is_taken_from_the_event() -> None:
    period = review.parse_period({"from": "2025-03-01", "to": "2025-03-31"}, date(2026, 1, 1))
    assert period.name == "2025-03-01_2025-03-31"
    assert len(period.days()) == 31


@pytest.mark.parametrize(
    "event",
    [{"from": "2026-02-01", "to": "2026-01-01"}, {"from": "2026-01-01"}, {"from": "01/01/2026", "to": "2026-02-01"}],
)
def test_bad_periods_are_refused_with_a_clear_error(event: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="from"):
        review.parse_period(event, date(2026, 7, 1))


# ------------------------------------------------------------------ severity


@pytest.mark.parametrize(
    ("r", "severity", "words"),
    [
        (WEB_SSH, "HIGH", "SSH (22)"),
        (rule("sg-a", "ingress", "", "tcp", "3000", "4000", "::/0", peer_type="ipv6"), "HIGH", "RDP (3389)"),
        (rule("sg-a", "ingress", "", "-1", "", "", "0.0.0.0/0"), "HIGH", "all traffic"),
        # the alerts' verdicts (tests/unit/test_risk.py): a wide public range to all traffic or SSH is MEDIUM
        (rule("sg-a", "ingress", "", "-1", "", "", "8.8.0.0/16"), "MEDIUM", "public range"),
    ],
)
def test_risky_rules_are_graded(r: Rule, severity: str, words: str) -> None:
    found = review.assess(r)
    assert found is not None and found.severity == severity and words in found.reason


@pytest.mark.parametrize(
    "r",
    [
        WEB_EGRESS,  # egress to the world is the AWS default
        DB_PG,  # group reference
        rule("sg-a", "ingress", "", "-1", "", "", "10.0.0.0/8"),  # private range
        rule("sg-a", "ingress", "", "tcp", "443", "443", "8.8.8.8/32"),  # one public address, not SSH/RDP/all
        rule("sg-a", "ingress", "", "tcp", "22", "22", "203.0.113.5/32"),  # documentation range: internal
        WEB_HTTPS,  # world to an authorized public port (443)
        NEW_GROUP,  # a group without rules
    ],
)
def test_ordinary_rules_are_not_risky(r: Rule) -> None:
    assert review.assess(r) is None


# ------------------------------------------------------------------ gaps and attribution


def test_days_without_a_snapshot_are_gaps_as_ranges(store: EvidenceStore) -> None:
    # Given snapshots on 1, 2, 5 and 6 January, when the week is reviewed
    fabricate(store)
    built = run_review(store)
    # Then 3-4 January and 7 January are reported, and nothing else as missing
    missing = [(g.when, g.detail) for g in built.gaps if g.kind == "missing-snapshots"]
    assert missing == [("2026-01-03 to 2026-01-04", "no snapshot on 2 days"), ("2026-01-07", "no snapshot on 1 day")]
    assert [d for d, n in built.scopes[0].coverage.items() if not n] == [date(2026, 1, 3), date(2026, 1, 4),
                                                                         date(2026, 1, 7)]


def test_changes_carry_who_and_when_from_the_change_events(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    ssh = next(c for c in built.rule_changes if c.after == WEB_SSH)
    assert (ssh.who, ssh.when, ssh.detected_at) == ("alice", at(4, 10), at(5))
    created = built.groups_created
    assert [(c.group_id, c.who) for c in created] == [("sg-new", "alice")]
    edited = next(c for c in built.rule_changes if c.change_type == "Updated")
    assert (edited.before, edited.after, edited.who) == (DB_PG, DB_PG_EDITED, "")


def test_events_and_diffs_that_do_not_match_are_gaps(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    without_diff = [g.detail for g in built.gaps if g.kind == "event-without-diff"]
    without_event = [g.detail for g in built.gaps if g.kind == "diff-without-event"]
    # bob's transient change never reached a snapshot; mallory's failed call is not a change at all
    assert len(without_diff) == 1 and "bob" in without_diff[0] and "sg-db" in without_diff[0]
    # the description edit on sg-db has no change event
    assert len(without_event) == 1 and without_event[0].startswith("sg-db")


def test_missing_kinds_are_reported_as_absent_not_failures(store: EvidenceStore) -> None:
    # Given a history with neither change events nor unused reports
    fabricate(store, with_events=False, with_unused=False)
    built = run_review(store)
    absent = [g.detail for g in built.gaps if g.kind == "absent"]
    assert any("change-event" in d for d in absent) and any("unused-group report" in d for d in absent)
    # Then changes are still listed, with an unknown author, and no per-change event gaps pile up
    assert built.rule_changes and all(not c.who for c in built.rule_changes)
    assert not [g for g in built.gaps if g.kind == "diff-without-event"]


def test_an_altered_snapshot_is_an_integrity_gap(store: EvidenceStore) -> None:
    fabricate(store)
    key = next(k for k in store.keys(PREFIX) if "/snapshots/" in k and "20260102" in k)
    original = store.get(key)
    store.s3.put_object(Bucket=BUCKET, Key=key, Body=original.body.replace(b"443", b"444"),
                        Metadata=original.metadata)
    built = run_review(store)
    assert [g.when for g in built.gaps if g.kind == "integrity"] == ["2026-01-02 06:00 UTC"]
    # and a day whose only snapshot is altered is not covered
    assert any(g.when == "2026-01-02 to 2026-01-04" for g in built.gaps if g.kind == "missing-snapshots")


def test_current_rules_come_from_the_last_snapshot_before_the_period_ends(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store, review.Period(date(2026, 1, 1), date(2026, 1, 2)))
    assert WEB_SSH not in built.current_rules and DB_PG in built.current_rules
    assert not built.changes


# ------------------------------------------------------------------ HTML


def test_report_has_every_section_and_one_row_per_item(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    page = parse(review.render_html(built, PREFIX + "reviews/" + PERIOD.name + "/"))
    assert page.sections == ["summary", "timeline", "changes", "risky", "unused", "groups", "gaps", "reviews",
                             "evidence"]
    assert page.rows["changes"] == len(built.rule_changes) == 2
    assert page.rows["risky"] == len(built.risky) == 1  # SSH open to the world (HTTPS is an authorized port)
    assert page.rows["unused"] == 1
    assert page.rows["groups"] == 1
    assert page.rows["gaps"] == len(built.gaps)
    assert "alice" in page.joined("changes") and "2026-01-04 10:00 UTC" in page.joined("changes")


def test_report_chart_is_inline_svg_with_one_bar_per_change_kind_and_day(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    page = parse(review.render_html(built))
    assert "timeline" in page.svgs and page.svgs.count("coverage") == 1
    # 5 Jan: added + groups; 6 Jan: updated
    assert page.bars == 3
    assert page.days.count("day missing") == 3 and len(page.days) == 7


def test_report_is_self_contained_and_escapes_user_text(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    text = review.render_html(built)
    page = parse(text)
    assert page.scripts == 0 and page.external == []
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_a_period_without_evidence_renders_empty_states() -> None:
    selection = review.select(PREFIX, [], PERIOD)
    built = review.build(PERIOD, BUCKET, PREFIX, selection, {}, datetime(2026, 1, 8, tzinfo=UTC))
    page = parse(review.render_html(built))
    assert page.rows["changes"] == 0 and "No rule changed" in page.joined("changes")
    assert "svg" not in page.svgs[1:] and page.bars == 0


# ------------------------------------------------------------------ CSV


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_csvs_hold_the_tables_with_free_text_neutralised(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    files = review.render_csvs(built)
    assert set(files) == {"changes.csv", "current-rules.csv", "risky-rules.csv", "unused-groups.csv"}
    changes = read_csv(files["changes.csv"])
    assert [c["ChangeType"] for c in changes] == ["GroupAdded", "Added", "Updated"]
    ssh = changes[1]
    assert ssh["Actor"] == "alice" and ssh["EventId"] == "ev-ssh"
    assert ssh["After"] == 'ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) "=HYPERLINK("x")" [sgr-9]'
    unused = read_csv(files["unused-groups.csv"])
    assert unused[0]["GroupName"] == "'@SUM(1)"
    risky = read_csv(files["risky-rules.csv"])
    assert risky[0]["Severity"] == "HIGH" and risky[0]["RuleDescription"] == "'=HYPERLINK(\"x\")"
    assert len(read_csv(files["current-rules.csv"])) == 5


def test_signoff_record_is_bound_to_the_manifest_hash() -> None:
    body = b'{"period": {"from": "2026-01-01", "to": "2026-06-30"}}\n'
    record = review.signoff_record("p/reviews/x/", body, {"Arn": "arn:aws:sts::1:assumed-role/Auditor/jane",
                                                          "UserId": "AROA:jane", "Account": "1"},
                                   "approved", "ok", "", datetime(2026, 7, 2, tzinfo=UTC))
    assert record["reviewer"]["name"] == "jane" and record["date"] == "2026-07-02"
    assert len(record["manifest_sha256"]) == 64
    with pytest.raises(ValueError, match="decision"):
        review.signoff_record("p/", body, {}, "lgtm", "", "", datetime(2026, 7, 2, tzinfo=UTC))


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=40), description=st.text(max_size=40))
def test_no_user_text_can_change_the_page_structure(name: str, description: str) -> None:
    # Given a group name and rule description of any characters, open to the world and changed
    r = rule("sg-x", "ingress", "sgr-x", "tcp", "22", "22", "0.0.0.0/0", description, name)
    change = review.Change(at(2), at(1), ACCOUNT, REGION, "vpc-1", "sg-x", name, "Added", None, r, "k")
    selection = review.select(PREFIX, [], PERIOD)
    built = review.build(PERIOD, BUCKET, PREFIX, selection, {}, at(8))
    built.changes, built.current_rules, built.risky = [change], [r], [review.assess(r)]
    # When rendered, then the sections, rows and absence of markup are as for any harmless name
    page = parse(review.render_html(built))
    assert page.sections == ["summary", "timeline", "changes", "risky", "unused", "groups", "gaps", "reviews",
                             "evidence"]
    assert page.rows["changes"] == 1 and page.rows["risky"] == 1
    assert page.scripts == 0 and page.external == []


def test_a_new_baseline_in_the_middle_of_the_chain_is_a_gap(store):
    """Changes between an unusable snapshot and the next baseline are in no diff: the pack says so."""
    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    second = record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(2))
    # The 2 Jan snapshot was damaged: the 3 Jan run starts a new baseline after it.
    body = store.get(second.snapshot_key).body
    store.s3.put_object(Bucket=BUCKET, Key=second.snapshot_key, Body=body[: len(body) // 2],
                        Metadata=store.get(second.snapshot_key).metadata)
    third = record_snapshot(store, PREFIX, ACCOUNT, REGION, [*base, WEB_SSH], at(3))
    assert third.diff_key is None and third.previous_error
    found = run_review(store)
    rebaselines = [g for g in found.gaps if g.kind == "new-baseline"]
    assert len(rebaselines) == 1 and third.snapshot_key in rebaselines[0].detail
    assert second.snapshot_key in rebaselines[0].detail
