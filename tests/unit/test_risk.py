"""The one risk model (sgwatch/risk.py): its verdict table, the address classes, and the same level in alerts
and the review pack."""

from __future__ import annotations

import csv
import io
import ipaddress
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch import review_pack as review, risk
from sgwatch.cloudtrail import ADDED, RuleChange, SgEvent
from sgwatch.csvio import to_csv
from sgwatch.evidence import StoredObject, series_prefix, stamp
from sgwatch.rules import SNAPSHOT_HEADER, Rule
from sgwatch.sg_change_alerts import severity

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


# ------------------------------------------------------------------ the verdict table, cell by cell

SOURCES = {
    "world": [("ipv4", "0.0.0.0/0"), ("ipv6", "::/0"), ("ipv4", "0.0.0.0/1"), ("ipv4", "12.0.0.0/8"),
              ("ipv6", "2600::/32"), ("ipv4", "208.236.235.254/0")],
    "wide public": [("ipv4", "8.8.0.0/16"), ("ipv4", "12.0.0.0/9"), ("ipv4", "8.8.0.0/23"), ("ipv6", "2600::/33"),
                    ("ipv6", "2600::/63")],
    "narrow public": [("ipv4", "8.8.8.0/24"), ("ipv4", "8.8.8.8/32"), ("ipv6", "2600::/64"), ("ipv6", "2600::1/128")],
    "internal": [("ipv4", "10.0.0.0/8"), ("ipv4", "203.0.113.0/24"), ("ipv4", "100.64.0.0/10"), ("ipv6", "fd00::/8"),
                 ("ipv6", "2001:db8::/32"), ("security-group", "sg-0123"),
                 ("security-group", "111122223333/sg-0abc"), ("prefix-list", "pl-63a5400b")],
}
SERVICES = {
    "sensitive service or all traffic": [("tcp", "22", "22"), ("6", "22", "22"), ("tcp", "3306", "3306"),
                                         ("udp", "3389", "3389"), ("17", "3000", "4000"), ("tcp", "20", "25"),
                                         ("tcp", "0", "65535"), ("-1", "", ""), ("-1", "-1", "-1"),
                                         ("tcp", "6443", "6443"), ("udp", "11211", "11211")],
    "other port": [("tcp", "8443", "8443"), ("udp", "22", "22"), ("udp", "20", "25"), ("icmp", "-1", "-1"),
                   ("icmpv6", "128", "0"), ("50", "", ""), ("tcp", "80", "81"), ("tcp", "444", "444")],
    "authorized public port only": [("tcp", "443", "443"), ("tcp", "80", "80"), ("6", "443", "443"),
                                    ("udp", "443", "443")],
}
TABLE = {  # the table: source -> (sensitive, other, authorized)
    "world": ("HIGH", "MEDIUM", "LOW"),
    "wide public": ("MEDIUM", "LOW", "LOW"),
    "narrow public": ("LOW", "LOW", "LOW"),
    "internal": ("LOW", "LOW", "LOW"),
}
CELLS = [
    pytest.param(source, column, peer, ports, TABLE[source][i], id=f"{source}|{column}|{peer[1]}|{'/'.join(ports)}")
    for source, peers in SOURCES.items()
    for i, (column, services) in enumerate(SERVICES.items())
    for peer in peers
    for ports in services
]


@pytest.mark.parametrize(("source", "column", "peer", "ports", "level"), CELLS)
def test_every_cell_of_the_ingress_verdict_table(
    source: str, column: str, peer: tuple[str, str], ports: tuple[str, str, str], level: str
) -> None:
    # Given an ingress rule from a source of the row to a service of the column
    r = rule("ingress", ports[0], ports[1], ports[2], *peer)
    # When rated, in an alert and in the review pack, then the table's level
    assert risk.rate(r).level == level
    assert alert_level(r).level == level
    assert [row["Severity"] for row in risky_rows([r])] == ([level] if level != "LOW" else [])


@pytest.mark.parametrize("peer", [p for peers in SOURCES.values() for p in peers])
@pytest.mark.parametrize("ports", [p for services in SERVICES.values() for p in services])
def test_egress_is_low_whatever_it_opens(peer: tuple[str, str], ports: tuple[str, str, str]) -> None:
    assert risk.rate(rule("egress", ports[0], ports[1], ports[2], *peer)).level == "LOW"


@pytest.mark.parametrize(
    ("r", "level", "words"),
    [
        (rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/1"), "HIGH", "internet-wide 0.0.0.0/1 to SSH (22)"),
        (rule("ingress", "tcp", "3389", "3389", "ipv6", "2000::/3"), "HIGH", "RDP (3389)"),
        (rule("ingress", "udp", "3389", "3389", "ipv6", "::/0"), "HIGH", "RDP (udp 3389)"),
        (rule("ingress", "-1", "", "", "ipv4", "208.236.235.254/0"), "HIGH", "all traffic"),
        (rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/0"), "HIGH", "to MySQL (3306)"),
        (rule("ingress", "tcp", "20", "25", "ipv4", "0.0.0.0/0"), "HIGH",
         "to FTP data (20), FTP (21), SSH (22), Telnet (23), SMTP (25)"),
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "0.0.0.0/0"), "MEDIUM", "to tcp port 8443"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), "LOW", "to authorized public tcp port 443"),
        (rule("ingress", "-1", "", "", "ipv4", "8.8.0.0/16"), "MEDIUM", "wide public range 8.8.0.0/16 to all traffic"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "8.8.8.8/32"), "LOW", "narrow public range 8.8.8.8/32"),
        (rule("ingress", "tcp", "22", "22", "ipv4", "203.0.113.5/32"), "LOW", "internal range 203.0.113.5/32"),
        # a source that cannot be read is MEDIUM: review it
        (rule("ingress", "tcp", "22", "22", "ipv4", "not-a-cidr"), "MEDIUM", "cannot read"),
        (rule("ingress", "tcp", "22", "22", "", ""), "MEDIUM", "cannot read (no peer: an unreadable source)"),
        (rule("", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), "HIGH", "direction unknown, rated as ingress"),
        (rule("ingress", "-1", "", "", "ipv4", "10.0.0.0/8"), "LOW", "internal range"),
        (rule("ingress", "-1", "", "", "security-group", "sg-0123"), "LOW", "security group sg-0123"),
        (rule("ingress", "-1", "", "", "prefix-list", "pl-1"), "LOW", "prefix list pl-1"),
        (rule("egress", "-1", "", "", "ipv4", "0.0.0.0/0"), "LOW", "egress"),
    ],
)
def test_each_rule_has_one_level_and_a_reason(r: Rule, level: str, words: str) -> None:
    # Given a rule, when rated, then the table's level with a reason naming what is exposed
    rating = risk.rate(r)
    assert (rating.level, words in rating.reason) == (level, True), rating.reason


def test_critical_is_the_top_level_and_rate_never_gives_it() -> None:
    assert risk.LEVELS == ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
    assert risk.highest("HIGH", "CRITICAL", "MEDIUM") == "CRITICAL"
    assert risk.rate(rule("ingress", "-1", "", "", "ipv4", "0.0.0.0/0")).level == "HIGH"


# ------------------------------------------------------------------ the three corrections


def test_udp_22_is_not_ssh() -> None:
    rating = risk.rate(rule("ingress", "udp", "22", "22", "ipv4", "0.0.0.0/0"))
    assert (rating.level, rating.reason) == ("MEDIUM", "ingress from internet-wide 0.0.0.0/0 to udp port 22")
    assert risk.exposed_services(rule("ingress", "udp", "22", "22", "ipv4", "0.0.0.0/0")) == []
    assert risk.exposed_services(rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0")) == ["SSH (22)"]


def test_rdp_is_tcp_and_udp() -> None:
    assert risk.exposed_services(rule("ingress", "tcp", "3389", "3389", "ipv4", "0.0.0.0/0")) == ["RDP (3389)"]
    assert risk.exposed_services(rule("ingress", "udp", "3389", "3389", "ipv4", "0.0.0.0/0")) == ["RDP (udp 3389)"]


@pytest.mark.parametrize("peer", ["203.0.113.0/24", "203.0.113.5/32", "192.0.2.0/24", "198.51.100.7/32"])
def test_documentation_ranges_are_internal(peer: str) -> None:
    r = rule("ingress", "tcp", "22", "22", "ipv4", peer)
    assert (risk.classify_peer(r), risk.rate(r).level, alert_level(r).level) == ("internal", "LOW", "LOW")


def test_mysql_from_0_0_0_0_slash_0_and_slash_1_has_one_verdict_in_the_alert_and_the_pack() -> None:
    # Given MySQL open to the world written two ways (the alert and the pack used to disagree on both)
    world = rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/0", "sgr-1")
    half = rule("ingress", "tcp", "3306", "3306", "ipv4", "0.0.0.0/1", "sgr-2")
    # When an event adds each and a snapshot holds both, then each is HIGH in both places, with the alert's reason
    assert alert_level(world).level == alert_level(half).level == "HIGH"
    rows = {row["RuleId"]: (row["Severity"], row["Reason"]) for row in risky_rows([world, half])}
    assert rows == {"sgr-1": ("HIGH", alert_level(world).reasons[0]), "sgr-2": ("HIGH", alert_level(half).reasons[0])}


# ------------------------------------------------------------------ services and authorized ports


def test_the_sensitive_services_table() -> None:
    # the review pack's 17 ports are all there (as tcp), each kind of service is present, no duplicates
    assert {22, 3389, 23, 21, 135, 139, 445, 1433, 1521, 2375, 3306, 5432, 5900, 6379, 9200, 11211, 27017} <= {
        s.port for s in risk.SERVICES if s.protocol == "tcp"}
    assert {s.kind for s in risk.SERVICES} == {"remote administration", "database or cache", "file sharing",
                                               "control plane", "mail", "directory and authentication",
                                               "development or console web server"}
    assert len({(s.protocol, s.port) for s in risk.SERVICES}) == len(risk.SERVICES)
    assert {s.protocol for s in risk.SERVICES if s.port == 22} == {"tcp"}
    assert {s.protocol for s in risk.SERVICES if s.port == 3389} == {"tcp", "udp"}
    assert risk.SENSITIVE_PORTS[22] == "SSH" and 137 not in risk.SENSITIVE_PORTS  # tcp ports only


# Security Hub control EC2.19's high-risk ports (its page, SOURCES["EC2.19"]), and the CIS AWS Foundations
# Benchmark 5.x remote administration ports (Security Hub EC2.53/EC2.54: SOURCES["CIS 5.x"])
EC2_19 = {20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080,
          8088, 8888, 9200, 9300}
CIS_5 = {22, 3389}


def test_every_service_names_the_pages_it_comes_from_and_the_controls_ports_are_all_there() -> None:
    assert all(s.sources and set(s.sources) <= set(risk.SOURCES) for s in risk.SERVICES)
    assert all(url.startswith("https://") for url in risk.SOURCES.values())
    assert {s.port for s in risk.SERVICES if s.protocol == "tcp" and "EC2.19" in s.sources} == EC2_19
    assert {s.port for s in risk.SERVICES if s.protocol == "tcp" and "CIS 5.x" in s.sources} == CIS_5


@pytest.mark.parametrize(
    ("protocol", "low", "high", "services"),
    [
        ("tcp", "3300", "3400", ["MySQL (3306)", "RDP (3389)"]),
        ("udp", "3300", "3400", ["RDP (udp 3389)"]),
        ("tcp", "137", "138", []),
        ("udp", "135", "139", ["NetBIOS (udp 137)", "NetBIOS (udp 138)"]),
        ("all", "", "", ["all traffic"]),
        ("icmp", "-1", "-1", []),
        ("tcp", "x", "y", [s.label for s in sorted(risk.SERVICES) if s.protocol == "tcp"]),  # unreadable: all
    ],
)
def test_services_are_protocol_aware_and_ranges_count(protocol: str, low: str, high: str, services: list[str]) -> None:
    assert risk.exposed_services(rule("ingress", protocol, low, high, "ipv4", "0.0.0.0/0")) == services


@pytest.mark.parametrize(
    ("r", "ports", "level"),
    [
        (rule("ingress", "tcp", "8443", "8443", "ipv4", "0.0.0.0/0"), (8443,), "LOW"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), (8443,), "MEDIUM"),
        (rule("ingress", "tcp", "80", "81", "ipv4", "0.0.0.0/0"), (80, 81), "LOW"),
        (rule("ingress", "tcp", "80", "82", "ipv4", "0.0.0.0/0"), (80, 81), "MEDIUM"),
        # the user authorizes a sensitive port (a bastion): expected, not a finding
        (rule("ingress", "tcp", "22", "22", "ipv4", "0.0.0.0/0"), (22,), "LOW"),
        (rule("ingress", "-1", "", "", "ipv4", "0.0.0.0/0"), tuple(range(65536)), "HIGH"),
        (rule("ingress", "icmp", "-1", "-1", "ipv4", "0.0.0.0/0"), (80, 443), "MEDIUM"),
        (rule("ingress", "tcp", "443", "443", "ipv4", "0.0.0.0/0"), (), "MEDIUM"),
        (rule("ingress", "tcp", "6443", "6443", "ipv4", "8.8.0.0/16"), (443,), "MEDIUM"),
        (rule("ingress", "tcp", "6443", "6443", "ipv4", "8.8.0.0/16"), (6443,), "LOW"),
    ],
)
def test_authorized_public_ports(r: Rule, ports: tuple[int, ...], level: str) -> None:
    assert risk.rate(r, authorized_public_ports=ports).level == level


# ------------------------------------------------------------------ address classes

# Every special-purpose range. The classes are a table of our own (risk.NOT_GLOBAL), not ipaddress's is_global,
# whose answer moves between Python releases: 3.11.7 calls 192.0.0.0/24, multicast and 2002::/16 global and
# 100.64.0.0/10, 198.18.0.0/15, 240.0.0.0/4 and 2001:db8::/32 not.
SPECIAL = [
    ("0.0.0.0/8", "internal"), ("10.0.0.0/8", "internal"), ("100.64.0.0/10", "internal"),
    ("127.0.0.0/8", "internal"), ("169.254.0.0/16", "internal"), ("172.16.0.0/12", "internal"),
    ("192.0.0.0/29", "internal"), ("192.0.0.170/31", "internal"), ("192.0.2.0/24", "internal"),
    ("192.168.0.0/16", "internal"), ("198.18.0.0/15", "internal"), ("198.51.100.0/24", "internal"),
    ("203.0.113.0/24", "internal"), ("224.0.0.0/4", "internal"), ("240.0.0.0/4", "internal"),
    ("255.255.255.255/32", "internal"), ("224.0.0.0/3", "internal"),
    # 192.0.0.0/24 holds two globally reachable anycast addresses (3.11.7 calls all of it global)
    ("192.0.0.0/24", "narrow-public"), ("192.0.0.9/32", "narrow-public"), ("192.0.0.10/32", "narrow-public"),
    ("192.0.0.8/32", "internal"),
    ("::/128", "internal"), ("::1/128", "internal"), ("::ffff:0:0/96", "internal"), ("64:ff9b:1::/48", "internal"),
    ("100::/64", "internal"), ("2001:2::/48", "internal"), ("2001:10::/28", "internal"), ("2001:db8::/32", "internal"),
    ("3fff::/20", "internal"), ("5f00::/16", "internal"), ("fc00::/7", "internal"), ("fd12:3456::/32", "internal"),
    ("fe80::/10", "internal"), ("fec0::/10", "internal"), ("ff00::/8", "internal"),
    ("2001:1::1/128", "narrow-public"), ("2001:3::/32", "world"), ("2001:4:112::/48", "wide-public"),
    ("2001:20::/28", "world"), ("2001::/23", "world"),  # holds the globally reachable assignments above
    # carry any IPv4 source: public
    ("2002::/16", "world"), ("2001::/32", "world"), ("64:ff9b::/96", "narrow-public"),
    # hold global addresses although they start or end in special space
    ("0.0.0.0/1", "world"), ("128.0.0.0/1", "world"), ("10.0.0.0/7", "world"), ("::/1", "world"),
    ("2000::/3", "world"), ("8.8.8.8", "narrow-public"), ("2600::1", "narrow-public"),
]


@pytest.mark.parametrize(("cidr", "cls"), SPECIAL)
def test_special_purpose_ranges(cidr: str, cls: str) -> None:
    assert risk.address_class(cidr) == cls


@pytest.mark.parametrize(
    ("cidr", "cls"),
    [("8.0.0.0/8", "world"), ("8.0.0.0/9", "wide-public"), ("8.8.0.0/23", "wide-public"),
     ("8.8.8.0/24", "narrow-public"), ("8.8.8.8/32", "narrow-public"),
     ("2600::/32", "world"), ("2600::/33", "wide-public"), ("2600::/63", "wide-public"),
     ("2600::/64", "narrow-public"), ("2600::1/128", "narrow-public"), ("::/0", "world"), ("0.0.0.0/0", "world"),
     ("a.b.c.d/8", "unknown"), ("", "unknown")],
)
def test_address_class_widths(cidr: str, cls: str) -> None:
    assert risk.address_class(cidr) == cls


@pytest.mark.parametrize(
    ("peer_type", "peer", "world"),
    [("ipv4", "0.0.0.0/0", True), ("ipv4", "0.0.0.0/1", True), ("ipv4", "12.0.0.0/8", True),
     ("ipv4", "12.0.0.0/9", False), ("ipv6", "2000::/16", True), ("ipv6", "2600::/32", True),
     ("ipv6", "2600::/33", False), ("ipv4", "10.0.0.0/8", False), ("security-group", "sg-1", False)],
)
def test_world_is_any_global_range_of_slash_8_or_slash_32_or_wider(peer_type: str, peer: str, world: bool) -> None:
    assert risk.rate(rule("ingress", "tcp", "443", "443", peer_type, peer)).world is world


_ORDER = ["internal", "narrow-public", "wide-public", "world"]


@settings(max_examples=300, deadline=None)
@given(address=st.ip_addresses(), a=st.integers(0, 128), b=st.integers(0, 128))
def test_a_wider_range_is_never_less_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address, a: int,
                                            b: int) -> None:
    # Given two ranges around one address, the wider containing the narrower
    top = 32 if address.version == 4 else 128
    wide, narrow = sorted((min(a, top), min(b, top)))
    # Then the wider one's class is at least as public
    wide_class = risk.address_class(f"{address}/{wide}")
    narrow_class = risk.address_class(f"{address}/{narrow}")
    assert _ORDER.index(wide_class) >= _ORDER.index(narrow_class)


@settings(max_examples=300, deadline=None)
@given(address=st.one_of(st.ip_addresses(), st.sampled_from([
    ipaddress.ip_address(a) for a in ("192.0.0.9", "192.0.0.11", "2001:1::3", "2001:3::1", "2001:2::1", "240.0.0.1",
                                      "224.0.0.1", "100.127.255.255", "fec0::1", "2002::1")
])))
def test_a_single_address_is_internal_exactly_when_a_special_range_holds_it_and_no_exception_does(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    special = any(address in ipaddress.ip_network(n) for n in risk.NOT_GLOBAL)
    excepted = any(address in ipaddress.ip_network(n) for n in risk.GLOBAL_EXCEPTIONS)
    assert risk.address_class(str(address)) == ("internal" if special and not excepted else "narrow-public")


# ------------------------------------------------------------------ the same level everywhere, for any rule

_PORTS = st.sampled_from(["", "-1", "0", "1", "20", "22", "25", "80", "443", "1024", "3000", "3306", "3389", "4000",
                          "65535"])
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
