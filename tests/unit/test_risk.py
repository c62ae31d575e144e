"""The one risk model (sgwatch/risk.py): its table, and the same level in alerts and the review pack."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch import review, risk, severity
from sgwatch.cloudtrail import ADDED, RuleChange, SgEvent
from sgwatch.csvio import to_csv
from sgwatch.evidence import StoredObject, series_prefix, stamp
from sgwatch.rules import SNAPSHOT_HEADER, Rule

ACCOUNT, REGION, PREFIX = "111122223333", "eu-west-1", "security-groups/"
PERIOD = review.Period(date(2026, 1, 1), date(2026, 1, 7))


def rule(direction: str, protocol: str, low: str, high: str, peer_type: str, peer: str, rule_id: str = "") -> Rule:
    return Rule(ACCOUNT, REGION, "vpc-1", "sg-1", "web", "", direction, rule_id, protocol, low, high, peer_type, peer,
                "")


def alert_level(r: Rule) -> severity.Assessment:
    """What the change notifier rates an event that adds ``r``."""
    event = SgEvent(event_name="AuthorizeSecurityGroupIngress", known=True, changes=[RuleChange(ADDED, after=r)])
    return severity.assess(event)


def risky_rows(current: list[Rule]) -> list[dict[str, str]]:
    """risky-rules.csv of a pack built from one snapshot holding ``current``, as the handler builds it."""
    doc = to_csv(SNAPSHOT_HEADER, current)
    taken, now = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)
    key = series_prefix(PREFIX, ACCOUNT, REGION, "snapshots") + stamp(taken) + ".csv"
    snapshot = StoredObject(key, doc.body, {"rows": str(doc.rows), "sha256": doc.sha256})
    selection = review.select(PREFIX, [key], PERIOD)
    built = review.build(PERIOD, "evidence", PREFIX, selection, {key: snapshot}, now)
    return list(csv.DictReader(io.StringIO(review.render_csvs(built)["risky-rules.csv"].decode())))


# ------------------------------------------------------------------ the table, where the two models disagreed


@pytest.mark.parametrize(
    ("r", "level", "words"),
    [
        # a public range of /8 or wider is the world (the review pack matched only /0 exactly)
        (rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/1"), "HIGH", "internet-wide 0.0.0.0/1 to SSH (22)"),
        (rule("ingress", "tcp", "3389", "3389", "ipv6", "2000::/3"), "HIGH", "RDP (3389)"),
        (rule("ingress", "-1", "", "", "ipv4", "208.236.235.254/0"), "HIGH", "all traffic"),
        # only all traffic, SSH and RDP make world access HIGH (the pack had 17 "sensitive" ports)
        (rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/0"), "MEDIUM", "to tcp port 3306"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), "MEDIUM", "to tcp port 443"),
        # a narrower public range to all traffic, SSH or RDP is MEDIUM (the pack: HIGH for all traffic, nothing for SSH)
        (rule("ingress", "-1", "", "", "ipv4", "8.8.0.0/16"), "MEDIUM", "public range 8.8.0.0/16 to all traffic"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "203.0.113.5/32"), "MEDIUM", "public range 203.0.113.5/32 to SSH"),
        # a source that cannot be read is MEDIUM: review it (the pack ignored it)
        (rule("ingress", "tcp", "22", "22", "ipv4", "not-a-cidr"), "MEDIUM", "cannot read"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "203.0.113.0/24"), "LOW", "public range"),
        (rule("ingress", "-1", "", "", "ipv4", "10.0.0.0/8"), "LOW", "private range"),
        (rule("ingress", "-1", "", "", "security-group", "sg-0123"), "LOW", "security group sg-0123"),
        (rule("egress", "-1", "", "", "ipv4", "0.0.0.0/0"), "LOW", "egress"),
    ],
)
def test_each_rule_has_one_level_and_a_reason(r: Rule, level: str, words: str) -> None:
    # Given a rule, when rated, then the table's level with a reason naming what is exposed
    rating = risk.rate(r)
    assert (rating.level, words in rating.reason) == (level, True), rating.reason


@pytest.mark.parametrize(
    ("peer_type", "peer", "world"),
    [("ipv4", "0.0.0.0/0", True), ("ipv4", "0.0.0.0/1", True), ("ipv4", "12.0.0.0/8", True),
     ("ipv4", "12.0.0.0/9", False), ("ipv6", "2000::/16", True), ("ipv6", "2000::/17", False),
     ("ipv4", "10.0.0.0/8", False), ("security-group", "sg-1", False)],
)
def test_world_is_any_public_range_of_slash_8_or_wider(peer_type: str, peer: str, world: bool) -> None:
    assert risk.rate(rule("ingress", "tcp", "443", "443", peer_type, peer)).world is world


def test_the_review_pack_lists_what_the_alert_rated_medium_or_high_with_the_same_level() -> None:
    # Given the two examples of the drift: SSH from 0.0.0.0/1 (HIGH alert, absent from the pack) and
    # MySQL from 0.0.0.0/0 (MEDIUM alert, HIGH in the pack)
    ssh = rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/1", "sgr-1")
    mysql = rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/0", "sgr-2")
    # When both are in the current snapshot, then the pack rates each as its alert did
    rows = {row["RuleId"]: (row["Severity"], row["Reason"]) for row in risky_rows([ssh, mysql])}
    assert rows == {"sgr-1": ("HIGH", alert_level(ssh).reasons[0]), "sgr-2": ("MEDIUM", alert_level(mysql).reasons[0])}


# ------------------------------------------------------------------ the same level everywhere, for any rule

_PORTS = st.sampled_from(["", "-1", "0", "1", "20", "22", "25", "443", "1024", "3000", "3306", "3389", "4000", "65535"])
_IPV4 = st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 32))
_IPV6 = st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128))
_PEERS = st.one_of(
    st.tuples(st.just("ipv4"), st.one_of(_IPV4, st.sampled_from(["0.0.0.0/0", "0.0.0.0/1", "10.0.0.0/8", "bad"]))),
    st.tuples(st.just("ipv6"), st.one_of(_IPV6, st.sampled_from(["::/0", "2000::/3", "fd00::/8"]))),
    st.tuples(st.just("security-group"), st.sampled_from(["sg-0123", "111122223333/sg-0abc"])),
    st.tuples(st.just("prefix-list"), st.just("pl-63a5400b")),
)
_RULES = st.builds(
    lambda direction, protocol, ports, peer: rule(direction, protocol, *sorted(ports, key=lambda p: int(p or 0)),
                                                  *peer),
    st.sampled_from(["ingress", "egress"]),
    st.sampled_from(["-1", "tcp", "udp", "6", "17", "icmp", "icmpv6", "50"]),
    st.tuples(_PORTS, _PORTS),
    _PEERS,
)


@settings(max_examples=200, deadline=None)
@given(r=_RULES)
def test_risky_rules_csv_severity_is_the_alert_severity_of_the_same_rule(r: Rule) -> None:
    # Given any rule, when an event adds it (alert) and when a snapshot holds it (review pack)
    alert = alert_level(r)
    rows = risky_rows([r])
    # Then the pack lists it exactly when the alert is MEDIUM or HIGH, with the alert's level and reason
    if alert.level in ("HIGH", "MEDIUM"):
        assert [(row["Severity"], row["Reason"]) for row in rows] == [(alert.level, alert.reasons[0])]
    else:
        assert rows == []
