"""The review pack's pure logic: period, severity, evidence selection, gaps, attribution, HTML and CSV.

The history is fabricated with the inventory's own writer (``record_snapshot``) into an
in-process moto S3 bucket, so the snapshots and diffs have exactly the shipped format.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import boto3
import pytest
from hypothesis import given, settings, strategies as st
from moto import mock_aws

from sgwatch import exposure, review_pack as review, risk
from sgwatch.csvio import neutralise
from sgwatch.evidence import EvidenceStore, series_prefix, stamp
from sgwatch.justification import Sources
from sgwatch.provenance import Provenance
from sgwatch.review_pack import attribution
from sgwatch.rule_review import Region
from sgwatch.rule_review_record import record_review
from sgwatch.rules import Rule
from sgwatch.sg_inventory.record import record_exposure, record_snapshot

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


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# The provenance the change notifier records (sgwatch.provenance), one per channel of the fabricated week.
CONSOLE_MANUAL = Provenance("console", "web browser, Chrome 131.0", role("AWSReservedSSO_Admin_0123"), "out-of-band",
                            True)
TERRAFORM_APPROVED = Provenance("terraform", "Terraform 1.5.7, provider 5.31.0", role("deployer"), "approved")
CLI_OUT_OF_BAND = Provenance("cli", "aws-cli 2.17.0", role("ops"), "out-of-band")


def put_event(store: EvidenceStore, event_id: str, when: datetime, name: str, groups: list[str],
              actor: str, changes: list[dict[str, Any]], error: str = "", provenance: Provenance | None = None,
              detail: dict[str, Any] | None = None, account: str = ACCOUNT, region: str = REGION) -> str:
    """A change-event record as the change notifier writes it; without ``provenance``, as older ones were."""
    key = f"{PREFIX}{account}/{region}/events/{when:%Y/%m/%d}/{event_id}.json"
    body = {
        "schema": 1, "event_id": event_id, "event_name": name,
        "event_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "account_id": account, "region": region,
        "group_ids": groups, "group_name": "", "actor": {"type": "AssumedRole", "display": actor},
        "source_ip": "198.51.100.7", "user_agent": "console", "error_code": error, "error_message": "",
        "severity": "HIGH", "subject": name, "changes": changes, "published_at": "", "detail": detail or {},
    }
    if provenance is not None:
        body["provenance"] = provenance.to_record()
    store.put_new(key, json.dumps(body).encode(), "application/json")
    return key


def internet_facing(*groups: str, instance: str = "i-web", ip: str = "198.51.100.10") -> exposure.Exposure:
    """One instance with a public IPv4 address in a subnet routed to an internet gateway, carrying ``groups``."""
    interface = {"NetworkInterfaceId": f"eni-{instance[2:]}", "Status": "in-use", "SubnetId": "subnet-public",
                 "VpcId": "vpc-1", "Association": {"PublicIp": ip}, "Attachment": {"InstanceId": instance},
                 "Groups": [{"GroupId": g} for g in groups]}
    table = {"RouteTableId": "rtb-public", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-public"}],
             "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]}
    return exposure.Exposure.of([interface], [table])


def put_exposure(store: EvidenceStore, rules: list[Rule], found: exposure.Exposure, when: datetime,
                 ports: tuple[int, ...] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS, account: str = ACCOUNT,
                 region: str = REGION) -> str:
    """The exposure report the inventory writes (its own writer) with the snapshot taken at ``when``."""
    snapshot_key = series_prefix(PREFIX, account, region, "snapshots") + stamp(when) + ".csv"
    return record_exposure(store, PREFIX, account, region, snapshot_key, rules, found, ports).key


def rule_dict(r: Rule) -> dict[str, str]:
    """A rule as the change notifier records it (``sgwatch.cloudtrail.rule_dict``)."""
    return {"group_id": r.group_id, "direction": r.direction, "rule_id": r.rule_id, "protocol": r.protocol,
            "from_port": r.from_port, "to_port": r.to_port, "peer_type": r.peer_type, "peer": r.peer,
            "description": r.description}


def put_rule_review(store: EvidenceStore, rules: list[Rule], when: datetime,
                    rule_tags: dict[str, dict[str, str]] | None = None, account: str = ACCOUNT,
                    region: str = REGION) -> str:
    """The rule-review report the inventory writes (its own writer) with the snapshot taken at ``when``."""
    snapshot_key = series_prefix(PREFIX, account, region, "snapshots") + stamp(when) + ".csv"
    return record_review(store, PREFIX, account, region, snapshot_key, rules, Sources(rule_tags=rule_tags or {}),
                         Region()).key


# sg-web's HTTPS rule has a reason expiring 4 days after the 6 Jan review; sg-db's rule one that has expired.
RULE_TAGS = {"sgr-1": {"justification": "public site", "owner": "web-team", "expires": "2026-01-10"},
             "sgr-3": {"justification": "app to db", "owner": "db-team", "ticket": "CHG-7", "expires": "2025-12-31"}}


def fabricate(store: EvidenceStore, with_events: bool = True, with_unused: bool = True,
              with_exposure: bool = True, with_rule_review: bool = True) -> None:
    """A week with snapshots on the 1st, 2nd, 5th and 6th (3rd, 4th and 7th missing).

    Exposure reports come with the 2 Jan snapshot (an older instance ``i-old``) and the 6 Jan one
    (``i-web`` with a public address carries sg-web). Provenance: alice's console changes to the
    IaC-managed sg-web are out-of-band, the group creation went through the approved Terraform
    role, bob's transient change came from the CLI, out-of-band.
    """
    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(2))
    if with_exposure:
        put_exposure(store, base, internet_facing("sg-web", instance="i-old", ip="198.51.100.99"), at(2))
    # 4 Jan: alice opens SSH to the world and creates a group; both seen by the 5 Jan snapshot.
    after_5 = sorted([*base, WEB_SSH, NEW_GROUP])
    if with_events:
        put_event(store, "ev-ssh", at(4, 10), "AuthorizeSecurityGroupIngress", ["sg-web"], "alice",
                  [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}], provenance=CONSOLE_MANUAL)
        put_event(store, "ev-create", at(4, 11), "CreateSecurityGroup", ["sg-new"], "alice", [],
                  provenance=TERRAFORM_APPROVED)
        put_event(store, "ev-failed", at(4, 12), "AuthorizeSecurityGroupIngress", ["sg-db"], "mallory", [],
                  error="UnauthorizedOperation", provenance=CLI_OUT_OF_BAND)
    record_snapshot(store, PREFIX, ACCOUNT, REGION, after_5, at(5))
    # 5 Jan: bob opens and closes a rule on sg-db between snapshots; someone edits a description unseen.
    if with_events:
        transient = rule("sg-db", "ingress", "sgr-7", "tcp", "8080", "8080", "203.0.113.0/24")
        put_event(store, "ev-transient", at(5, 12), "AuthorizeSecurityGroupIngress", ["sg-db"], "bob",
                  [{"action": "added", "before": None, "after": rule_dict(transient)}], provenance=CLI_OUT_OF_BAND)
    after_6 = sorted([WEB_HTTPS, WEB_EGRESS, DB_PG_EDITED, WEB_SSH, NEW_GROUP])
    record_snapshot(store, PREFIX, ACCOUNT, REGION, after_6, at(6))
    if with_exposure:
        put_exposure(store, after_6, internet_facing("sg-web"), at(6))
    if with_rule_review:
        put_rule_review(store, after_6, at(6), RULE_TAGS)
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


SECTIONS = ["summary", "timeline", "changes", "change-control", "exposure", "risky", "unused", "rule-review",
            "consistency", "remediation", "groups", "gaps", "reviews", "evidence"]


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
        self.anchors: list[str] = []  # links within the page
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
            if (a.get(name) or "").startswith("#"):
                self.anchors.append((a[name] or "")[1:])
            elif a.get(name):
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


def alter(store: EvidenceStore, kind: str, day: str, old: bytes, new: bytes) -> str:
    """Alter the object of ``kind`` taken on ``day`` after its write (its metadata kept); its key."""
    key = next(k for k in store.keys(PREFIX) if f"/{kind}/" in k and day in k)
    original = store.get(key)
    store.s3.put_object(Bucket=BUCKET, Key=key, Body=original.body.replace(old, new), Metadata=original.metadata)
    return key


def test_an_altered_snapshot_is_an_integrity_gap(store: EvidenceStore) -> None:
    fabricate(store)
    alter(store, "snapshots", "20260102", b"443", b"444")
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
    assert page.sections == SECTIONS
    assert page.rows["changes"] == len(built.rule_changes) == 2
    assert page.rows["risky"] == len(built.risky) == 1  # SSH open to the world (HTTPS is an authorized port)
    assert page.rows["exposure"] == len(built.exposure) == 2  # SSH and HTTPS of sg-web, on i-web
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
    assert page.anchors and set(page.anchors) <= set(page.sections)  # the account table links to its sections
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
    assert set(files) == {"changes.csv", "current-rules.csv", "risky-rules.csv", "unused-groups.csv", "exposure.csv",
                          "out-of-band-changes.csv", "rule-review.csv", "drift.csv",
                          "remediation.csv"}
    changes = read_csv(files["changes.csv"])
    assert [c["ChangeType"] for c in changes] == ["GroupAdded", "Added", "Updated"]
    ssh = changes[1]
    assert ssh["Actor"] == "alice" and ssh["EventId"] == "ev-ssh"
    assert ssh["After"] == 'ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) "=HYPERLINK("x")" [sgr-9]'
    unused = read_csv(files["unused-groups.csv"])
    assert unused[0]["GroupName"] == "'@SUM(1)"
    risky = read_csv(files["risky-rules.csv"])
    # world SSH on a group an internet-reachable instance carries: CRITICAL, as its alert
    assert risky[0]["Severity"] == "CRITICAL" and risky[0]["RuleDescription"] == "'=HYPERLINK(\"x\")"
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
    assert page.sections == SECTIONS
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


# ------------------------------------------------------------------ internet exposure (exposure reports)


def test_exposure_section_lists_the_newest_report_of_each_scope_critical_first(store: EvidenceStore) -> None:
    # Given exposure reports with the 2 Jan snapshot (i-old) and the 6 Jan one (i-web)
    fabricate(store)
    built = run_review(store)
    # Then the section holds the rows of the newest report only, CRITICAL first
    assert [(r.severity, r.rule_id, r.resource_id) for r in built.exposure] == [
        ("CRITICAL", "sgr-9", "i-web"), ("LOW", "sgr-1", "i-web")]
    page = parse(review.render_html(built))
    text = page.joined("exposure")
    assert page.rows["exposure"] == 2 and "i-old" not in text
    assert text.index("CRITICAL") < text.index("LOW")
    assert "198.51.100.10" in text and "igw-1" in text and "tcp port 22 from 0.0.0.0/0" in text
    # and the scope table says of when the exposure is
    assert "2026-01-06 06:00 UTC" in page.joined("summary")


def test_critical_rules_are_counted_among_the_headline_cards(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    assert built.totals()["critical"] == 1
    summary = parse(review.render_html(built)).joined("summary")
    assert "critical rules (exposed to the internet)" in summary


def test_risky_severity_is_the_alert_severity_of_the_same_rule_on_the_same_group(store: EvidenceStore) -> None:
    # Given current rules on an exposed group (sg-web) and an unexposed one (sg-lab), with 8443 authorized
    ports = (443, 8443)
    rules = [
        rule(group, "ingress", f"sgr-{group}-{n}", protocol, low, high, peer, peer_type=peer_type)
        for group in ("sg-web", "sg-lab")
        for n, (protocol, low, high, peer, peer_type) in enumerate([
            ("tcp", "22", "22", "0.0.0.0/0", "ipv4"),  # HIGH -> CRITICAL when exposed
            ("tcp", "8444", "8444", "0.0.0.0/0", "ipv4"),  # MEDIUM -> HIGH when exposed
            ("tcp", "22", "22", "8.8.0.0/16", "ipv4"),  # wide public SSH: MEDIUM -> HIGH
            ("tcp", "8443", "8443", "0.0.0.0/0", "ipv4"),  # authorized: LOW, even exposed
            ("tcp", "22", "22", "::/0", "ipv6"),  # the instance has no IPv6 address: not escalated
            ("tcp", "22", "22", "8.8.8.8/32", "ipv4"),  # narrow public: LOW
        ])
    ]
    found = internet_facing("sg-web")
    record_snapshot(store, PREFIX, ACCOUNT, REGION, rules, at(2))
    put_exposure(store, rules, found, at(2), ports)
    selection = review.select(PREFIX, store.keys(PREFIX), PERIOD)
    built = review.build(PERIOD, BUCKET, PREFIX, selection, {k: store.get(k) for k in selection.to_read}, at(8),
                         authorized_public_ports=ports)
    # Then each risky rule has the level the alert gives it (exposure.rate_on_group), and no other rule is listed
    alert = {r.rule_id: exposure.rate_on_group(r, found, authorized_public_ports=ports).level for r in rules}
    listed = {r.rule.rule_id: r.severity for r in built.risky}
    assert listed == {k: v for k, v in alert.items() if v in ("CRITICAL", "HIGH", "MEDIUM")}
    assert [listed[f"sgr-sg-web-{n}"] for n in range(3)] == ["CRITICAL", "HIGH", "HIGH"]
    assert [listed[f"sgr-sg-lab-{n}"] for n in range(3)] == ["HIGH", "MEDIUM", "MEDIUM"]
    assert listed["sgr-sg-web-4"] == "HIGH" and "sgr-sg-web-3" not in listed
    # and the CSV carries the same levels, CRITICAL first
    rows = read_csv(review.render_csvs(built)["risky-rules.csv"])
    assert {r["RuleId"]: r["Severity"] for r in rows} == listed and rows[0]["Severity"] == "CRITICAL"


def test_a_missing_exposure_report_is_a_gap(store: EvidenceStore) -> None:
    # Given snapshots but no exposure report at all
    fabricate(store, with_exposure=False)
    built = run_review(store)
    # Then the scope has a gap saying exposure and escalation are unknown, and the section says none was found
    [gap] = [g for g in built.gaps if g.kind == "missing-exposure"]
    assert (gap.account_id, gap.region) == (ACCOUNT, REGION) and "no exposure report" in gap.detail
    assert built.exposure == [] and built.risky[0].severity == "HIGH"  # not escalated without a report
    page = parse(review.render_html(built))
    assert "no exposure report" in page.joined("gaps")


def test_an_exposure_report_older_than_the_current_rules_is_a_gap(store: EvidenceStore) -> None:
    # Given the exposure report of the 2 Jan snapshot only, while the current rules are of 6 Jan
    fabricate(store, with_exposure=False)
    put_exposure(store, [WEB_HTTPS], internet_facing("sg-web", instance="i-old"), at(2))
    built = run_review(store)
    [gap] = [g for g in built.gaps if g.kind == "missing-exposure"]
    assert "2026-01-02 06:00 UTC" in gap.detail and "2026-01-06 06:00 UTC" in gap.detail
    # the older report is still shown: it is the newest knowledge there is
    assert [r.resource_id for r in built.exposure] == ["i-old"]


def test_an_altered_exposure_report_is_an_integrity_gap(store: EvidenceStore) -> None:
    fabricate(store)
    key = alter(store, "exposure", "20260106", b"i-web", b"i-xyz")
    built = run_review(store)
    assert any(key in g.detail for g in built.gaps if g.kind == "integrity")
    assert built.exposure == []


# ------------------------------------------------------------------ change control (PCI DSS 1.2.2)


def test_changes_are_counted_by_origin_and_change_control(store: EvidenceStore) -> None:
    # Given alice's console change, the approved Terraform group creation, bob's CLI change and a failed call
    fabricate(store)
    built = run_review(store)
    # Then each change that happened is counted once by channel and verdict; the failed call is no change
    assert built.change_control_counts() == {("console", "out-of-band"): 1, ("terraform", "approved"): 1,
                                             ("cli", "out-of-band"): 1}
    totals = built.totals()
    assert (totals["out_of_band"], totals["manual"], totals["unattributed"]) == (2, 1, 1)
    page = parse(review.render_html(built))
    assert page.joined("change-control").count("out-of-band") >= 1


def test_every_out_of_band_and_manual_change_is_listed_with_who_how_and_the_rule(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    listed = [(e.event.event_id, e.after) for e in built.out_of_band]
    assert listed == [("ev-ssh", WEB_SSH._replace(group_name="", vpc_id="", group_description="")),
                      ("ev-transient", rule("sg-db", "ingress", "sgr-7", "tcp", "8080", "8080", "203.0.113.0/24")
                       ._replace(group_name="", vpc_id="", group_description=""))]
    text = parse(review.render_html(built)).joined("change-control")
    for expected in ("2026-01-04 10:00 UTC", "alice", role("AWSReservedSSO_Admin_0123"), "console",
                     "web browser, Chrome 131.0", "manual change to an IaC-managed group", "sg-web",
                     "tcp port 22 from 0.0.0.0/0", "bob", "aws-cli 2.17.0", "tcp port 8080"):
        assert expected in text, expected
    assert "mallory" not in text and "deployer" not in text


def test_changes_no_event_explains_are_listed_as_unattributed_each_a_gap(store: EvidenceStore) -> None:
    fabricate(store)
    built = run_review(store)
    # the description edit on sg-db between the 5 and 6 Jan snapshots
    [unattributed] = built.unattributed
    assert (unattributed.group_id, unattributed.before, unattributed.after) == ("sg-db", DB_PG, DB_PG_EDITED)
    gaps = [g for g in built.gaps if g.kind == "diff-without-event"]
    assert len(gaps) == len(built.unattributed) == 1
    assert "sgr-3" in gaps[0].detail and "2026-01-05 06:00 UTC" in gaps[0].detail
    text = parse(review.render_html(built)).joined("change-control")
    assert "from web tier" in text and "unattributed" in text.lower()


def event_record(event_id: str, when: datetime, group: str, changes: list[dict[str, Any]],
                 error: str = "", name: str = "ModifySecurityGroupRules") -> review.ChangeEvent:
    body = {"event_id": event_id, "event_name": name, "event_time": when.isoformat(),
            "group_ids": [group], "actor": {"display": "carol"}, "error_code": error, "changes": changes}
    return review.ChangeEvent.from_record(f"k/{event_id}.json", json.dumps(body).encode())


SSH_ADDED = [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}]
HTTPS_ADDED = [{"action": "added", "before": None, "after": rule_dict(WEB_HTTPS)}]


@pytest.mark.parametrize(
    ("event", "explains"),
    [
        pytest.param(event_record("e", at(4), "sg-web", SSH_ADDED), True, id="same group, rule and window"),
        pytest.param(event_record("e", at(5), "sg-web", SSH_ADDED), True, id="at the later snapshot"),
        pytest.param(event_record("e", at(2) - timedelta(seconds=1), "sg-web", SSH_ADDED), False,
                     id="the second before the earlier snapshot"),
        pytest.param(event_record("e", at(1), "sg-web", SSH_ADDED), False, id="before the window"),
        pytest.param(event_record("e", at(5, 7), "sg-web", SSH_ADDED), False, id="after the window"),
        pytest.param(event_record("e", at(4), "sg-db", SSH_ADDED), False, id="another group"),
        pytest.param(event_record("e", at(4), "sg-web", HTTPS_ADDED), False, id="another rule"),
        pytest.param(event_record("e", at(4), "sg-web", []), True, id="no rule detail: its group and window"),
        pytest.param(event_record("e", at(4), "sg-web", SSH_ADDED, "UnauthorizedOperation"), False, id="failed"),
        pytest.param(event_record("e", at(4), "sg-web",
                                  [{"action": "modified", "before": {**rule_dict(WEB_SSH), "peer": "10.0.0.0/8"},
                                    "after": {"rule_id": "sgr-9", "description": "x"}}]), True, id="same rule id"),
    ],
)
def test_the_matching_rule_of_a_diff_change_and_a_change_event(event: review.ChangeEvent, explains: bool) -> None:
    # Given SSH added to sg-web between the 2 Jan and 5 Jan snapshots
    change = review.Change(at(5), at(2), ACCOUNT, REGION, "vpc-1", "sg-web", "web", "Added", None, WEB_SSH, "k")
    assert bool(attribution.explaining_events(change, [event])) is explains


CREATED = [{"action": "created", "before": None, "after": None}]


@pytest.mark.parametrize(
    ("rule", "explains"),
    [
        pytest.param(WEB_EGRESS, True, id="all traffic out to 0.0.0.0/0"),
        pytest.param(WEB_EGRESS._replace(rule_id="sgr-8", peer="::/0", peer_type="ipv6"), True,
                     id="all traffic out to ::/0"),
        pytest.param(WEB_EGRESS._replace(protocol="tcp", from_port="443", to_port="443"), False,
                     id="another egress rule"),
        pytest.param(WEB_SSH, False, id="an ingress rule"),
    ],
)
def test_the_creation_of_a_group_explains_the_egress_rule_aws_gives_every_new_group(rule: Rule,
                                                                                    explains: bool) -> None:
    # Given a group created between two snapshots, and with it the rule AWS adds to every new group (all traffic
    # out; to ::/0 too in a VPC with an IPv6 block), which its CreateSecurityGroup call does not detail
    created = event_record("e", at(4), "sg-web", CREATED, name="CreateSecurityGroup")
    change = review.Change(at(5), at(2), ACCOUNT, REGION, "vpc-1", "sg-web", "web", "Added", None, rule, "k")
    # Then that call explains the default rule, and no other rule of the group
    assert bool(attribution.explaining_events(change, [created])) is explains


MS = timedelta(milliseconds=566)  # snapshot stamps have milliseconds, CloudTrail event times whole seconds


@pytest.mark.parametrize(
    ("when", "explains"),
    [
        pytest.param(at(2), True, id="in the second of the earlier snapshot"),
        pytest.param(at(2) - timedelta(seconds=1), False, id="the second before the earlier snapshot"),
        pytest.param(at(5), True, id="in the second of the later snapshot"),
        pytest.param(at(5) + timedelta(seconds=1), False, id="the second after the later snapshot"),
    ],
)
def test_an_event_belongs_to_the_window_that_contains_its_second(when: datetime, explains: bool) -> None:
    # Given SSH added to sg-web between snapshots at 06:00:00.566 on 2 Jan and on 5 Jan
    change = review.Change(at(5) + MS, at(2) + MS, ACCOUNT, REGION, "vpc-1", "sg-web", "web", "Added", None,
                           WEB_SSH, "k")
    # When the event's second (CloudTrail's precision) overlaps the window, it explains the change
    assert bool(attribution.explaining_events(change, [event_record("e", when, "sg-web", SSH_ADDED)])) is explains


@pytest.mark.parametrize("seen_by", ["the snapshot of its second", "the next snapshot"])
def test_an_event_in_the_second_of_a_snapshot_is_no_gap_whichever_snapshot_saw_it(store: EvidenceStore,
                                                                                  seen_by: str) -> None:
    # Given SSH opened at 11:52:47 (CloudTrail) and a snapshot stamped 11:52:47.566, then one an hour later
    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    opened = datetime(2026, 1, 3, 11, 52, 47, tzinfo=UTC)
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(2))
    in_second = sorted([*base, WEB_SSH]) if seen_by == "the snapshot of its second" else base
    record_snapshot(store, PREFIX, ACCOUNT, REGION, in_second, opened + MS)
    record_snapshot(store, PREFIX, ACCOUNT, REGION, sorted([*base, WEB_SSH]), opened + timedelta(hours=1))
    put_event(store, "ev-ssh", opened, "AuthorizeSecurityGroupIngress", ["sg-web"], "alice",
              [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}], provenance=CONSOLE_MANUAL)
    built = run_review(store)
    # Then the change is attributed to the event and neither is a gap
    [change] = built.changes
    assert [e.event_id for e in change.events] == ["ev-ssh"]
    assert [g for g in built.gaps if g.kind in ("diff-without-event", "event-without-diff")] == []


def test_older_event_records_without_provenance_still_count(store: EvidenceStore) -> None:
    # Given a record written before provenance was recorded, holding its CloudTrail record, and one without it
    cloudtrail = {"eventName": "AuthorizeSecurityGroupIngress", "userAgent": "aws-cli/2.15.0 Python/3.11.6",
                  "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/dan",
                                   "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role("ops")}}}}
    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    put_event(store, "ev-old", at(1, 9), "AuthorizeSecurityGroupIngress", ["sg-web"], "dan",
              [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}], detail=cloudtrail)
    put_event(store, "ev-older", at(1, 10), "CreateSecurityGroup", ["sg-new"], "erin", [])
    record_snapshot(store, PREFIX, ACCOUNT, REGION, sorted([*base, WEB_SSH, NEW_GROUP]), at(2))
    built = run_review(store)
    # Then the channel is read from the stored CloudTrail record (the same function as the alerts'), the
    # change-control verdict is "not-recorded" (the patterns of that time are unknown), and nothing fails
    old, older = built.events
    assert (old.provenance.origin, old.provenance.detail, old.provenance.principal, old.change_control) == (
        "cli", "aws-cli 2.15.0", role("ops"), "not-recorded")
    assert (older.provenance.origin, older.change_control) == ("unknown", "not-recorded")
    assert built.change_control_counts() == {("cli", "not-recorded"): 1, ("unknown", "not-recorded"): 1}
    assert built.out_of_band == [] and not built.unattributed
    changes = read_csv(review.render_csvs(built)["changes.csv"])
    assert [(c["EventId"], c["Origin"], c["ChangeControl"]) for c in changes] == [
        ("ev-older", "unknown", "not-recorded"), ("ev-old", "cli", "not-recorded")]


def test_changes_csv_appends_origin_and_change_control_to_the_existing_columns(store: EvidenceStore) -> None:
    fabricate(store)
    files = review.render_csvs(run_review(store))
    header = files["changes.csv"].decode().splitlines()[0].split(",")
    assert header == ["DetectedAt", "AccountId", "Region", "VpcId", "GroupId", "GroupName", "ChangeType", "Direction",
                      "RuleId", "Before", "After", "EventTime", "Actor", "EventName", "EventId", "DiffKey", "Origin",
                      "OriginDetail", "ChangeControl"]
    rows = {c["EventId"] or c["ChangeType"]: c for c in read_csv(files["changes.csv"])}
    assert (rows["ev-ssh"]["Origin"], rows["ev-ssh"]["OriginDetail"], rows["ev-ssh"]["ChangeControl"]) == (
        "console", "web browser, Chrome 131.0", "out-of-band")
    assert (rows["ev-create"]["Origin"], rows["ev-create"]["ChangeControl"]) == ("terraform", "approved")
    assert (rows["Updated"]["Origin"], rows["Updated"]["ChangeControl"]) == ("", "unattributed")
    listed = read_csv(files["out-of-band-changes.csv"])
    assert [(r["EventId"], r["Origin"], r["ChangeControl"], r["ManualChange"]) for r in listed] == [
        ("ev-ssh", "console", "out-of-band", "true"), ("ev-transient", "cli", "out-of-band", "false")]


def test_provenance_text_is_escaped_in_html_and_neutralised_in_csv(store: EvidenceStore) -> None:
    # Given a record whose caller-controlled detail and principal hold markup and a formula
    hostile = Provenance("unknown", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "out-of-band")
    base = [WEB_HTTPS]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    put_event(store, "ev-x", at(1, 9), "AuthorizeSecurityGroupIngress", ["sg-web"], "<b>x</b>",
              [{"action": "added", "before": None, "after": rule_dict(WEB_SSH)}], provenance=hostile)
    record_snapshot(store, PREFIX, ACCOUNT, REGION, [*base, WEB_SSH], at(2))
    built = run_review(store)
    text = review.render_html(built)
    page = parse(text)
    assert page.scripts == 0 and page.external == [] and "<img" not in text and "<b>x</b>" not in text
    files = review.render_csvs(built)
    assert b"\n=" not in files["out-of-band-changes.csv"] and b",=" not in files["out-of-band-changes.csv"]
    assert b",=" not in files["changes.csv"]
    [row] = read_csv(files["out-of-band-changes.csv"])
    assert row["Principal"] == "'=cmd|' /C calc'!A0"


def test_settings_take_the_authorized_public_ports() -> None:
    found = review.Settings.from_env({"EVIDENCE_BUCKET": "b", "AUTHORIZED_PUBLIC_PORTS": "443, 8443,443"})
    assert found.authorized_public_ports == (443, 8443)
    assert review.Settings.from_env({"EVIDENCE_BUCKET": "b"}).authorized_public_ports == (80, 443)
    with pytest.raises(ValueError, match="AUTHORIZED_PUBLIC_PORTS"):
        review.Settings.from_env({"EVIDENCE_BUCKET": "b", "AUTHORIZED_PUBLIC_PORTS": "https"})


# ------------------------------------------------------------------ two runs of one pair at the same moment


def test_a_change_between_two_interleaved_runs_is_in_the_chain_and_the_pack_once(store: EvidenceStore) -> None:
    """Run A reads the rules and stalls; SSH is opened; run B starts; then A goes on. Whatever the order of
    describe and claim, the chain and the review pack show the one change once (no Removed, no second Added)."""
    import threading

    base = [WEB_HTTPS, WEB_EGRESS, DB_PG]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, base, at(1))
    world = {"rules": base}
    a_described, a_may_go = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def a_rules() -> list[Rule]:
        seen = list(world["rules"])
        if not a_described.is_set():  # A's first describe stalls here, before A writes anything
            a_described.set()
            assert a_may_go.wait(10)
        return seen

    def run(rules: Any, when: datetime, sleep: Any) -> None:
        try:
            record_snapshot(store, PREFIX, ACCOUNT, REGION, rules, lambda: when, sleep=sleep)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    a = threading.Thread(target=run, args=(a_rules, at(2), lambda s: None))
    a.start()
    assert a_described.wait(10)
    world["rules"] = sorted([*base, WEB_SSH])  # the change, while A stalls

    def b_waits(seconds: float) -> None:  # B waits for the run holding the claim: A goes on and ends
        a_may_go.set()
        a.join(10)

    b = threading.Thread(target=run, args=(lambda: list(world["rules"]), at(3), b_waits))
    b.start()
    b.join(10)
    a_may_go.set()
    a.join(10)
    assert not failures
    record_snapshot(store, PREFIX, ACCOUNT, REGION, list(world["rules"]), at(4))  # the next scheduled run

    diffs = [store.get(k) for k in store.keys(series_prefix(PREFIX, ACCOUNT, REGION, "diffs"))]
    lines = [line for d in diffs for line in d.body.decode().splitlines()[1:]]
    assert len(lines) == 1 and lines[0].startswith("Added,") and "sgr-9" in lines[0]
    changes = run_review(store).changes
    assert [(c.change_type, c.rule.rule_id) for c in changes] == [("Added", "sgr-9")]


def test_coverage_is_charted_only_for_the_account_regions_missing_a_day_and_at_most_fifty(
        store: EvidenceStore) -> None:
    # Given 60 account/regions with a day without a snapshot and 700 with one every day
    import dataclasses

    fabricate(store)
    built = run_review(store)
    [scope] = built.scopes
    full = {day: 1 for day in scope.coverage}
    built.scopes = [dataclasses.replace(scope, account_id=f"{n:012d}") for n in range(60)] + [
        dataclasses.replace(scope, account_id=f"{n:012d}", coverage=full) for n in range(100, 800)]
    # When the report is rendered
    page = parse(review.render_html(built))
    # Then it draws the charts of the first 50 incomplete ones and says how many are complete
    assert page.svgs.count("coverage") == review.COVERAGE_CHART_LIMIT == 50
    assert "700 of 760 account/region(s) have a snapshot on every day" in page.joined("gaps")
    assert "the first 50 of the 60 with a day without one" in page.joined("gaps")
