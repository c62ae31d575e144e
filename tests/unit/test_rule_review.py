"""Rule review: each finding, each justification source, and the coverage behind "shadowed"."""

from __future__ import annotations

import ipaddress
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch.csvio import CsvFormatError, from_csv, to_csv
from sgwatch.justification import Sources, TagKeys, parse_register
from sgwatch.rule_coverage import covers, scope
from sgwatch.rule_review import REVIEW_HEADER, Region, review
from sgwatch.rules import Rule

ACCOUNT, REGION = "111122223333", "eu-west-1"
TODAY = date(2026, 12, 6)
JUSTIFIED = {"justification": "web traffic", "owner": "team-web", "ticket": "CHG-1", "expires": "2027-06-30"}


def _rule(rule_id="sgr-1", group_id="sg-1", direction="ingress", protocol="tcp", from_port="443", to_port="443",
          peer_type="ipv4", peer="0.0.0.0/0", vpc_id="vpc-1", group_name="web"):
    return Rule(ACCOUNT, REGION, vpc_id, group_id, group_name, "", direction, rule_id, protocol, from_port, to_port,
                peer_type, peer, "")


def _findings(rules, sources=None, region=None, **kwargs):
    rows = review(rules, sources or Sources(group_tags={r.group_id: JUSTIFIED for r in rules}), region or Region(),
                  TODAY, **kwargs)
    return [(r[5], r[11]) for r in rows]


def _scope(protocol="tcp", from_port="443", to_port="443", peer_type="ipv4", peer="0.0.0.0/0"):
    return scope(protocol, from_port, to_port, peer_type, peer)


def test_header_is_the_contract():
    assert ",".join(REVIEW_HEADER) == (
        "AccountId,Region,VpcId,GroupId,GroupName,RuleId,Direction,Protocol,FromPort,ToPort,Peer,Finding,Detail,"
        "Justification,Owner,Ticket,Expires,JustifiedBy"
    )


# ------------------------------------------------------------------ justification sources


def test_a_rule_without_any_reason_is_unjustified():
    rows = review([_rule()], Sources(), Region(), TODAY)
    assert [(r[11], r[17]) for r in rows] == [("unjustified", "none")]


def test_rule_tags_justify_the_rule_before_its_group_tags():
    sources = Sources(rule_tags={"sgr-1": {"justification": "from rule", "owner": "a"}},
                      group_tags={"sg-1": {"justification": "from group", "owner": "b", "expires": "2026-01-01"}})
    assert review([_rule()], sources, Region(), TODAY) == []
    assert sources.justify("sg-1", "web", "ingress", "sgr-1", _scope()).source == "rule-tag"
    assert sources.justify("sg-1", "web", "ingress", "sgr-2", _scope()).source == "group-tag"


def test_group_tags_justify_every_rule_of_the_group_and_are_named_in_the_row():
    sources = Sources(group_tags={"sg-1": {**JUSTIFIED, "expires": "2026-12-01"}})
    rows = review([_rule("sgr-1"), _rule("sgr-2", from_port="80", to_port="80")], sources, Region(), TODAY)
    assert [(r[5], r[11], r[13], r[14], r[15], r[16], r[17]) for r in rows] == [
        ("sgr-1", "expired", "web traffic", "team-web", "CHG-1", "2026-12-01", "group-tag"),
        ("sgr-2", "expired", "web traffic", "team-web", "CHG-1", "2026-12-01", "group-tag"),
    ]


def test_the_organisations_own_tag_keys_are_read():
    keys = TagKeys(justification="sec:reason", owner="sec:owner", ticket="sec:ticket", expires="sec:until")
    sources = Sources(keys=keys, rule_tags={"sgr-1": {"sec:reason": "x", "sec:owner": "o", "sec:until": "2026-12-10"}})
    rows = review([_rule()], sources, Region(), TODAY)
    assert [(r[11], r[14], r[16], r[17]) for r in rows] == [("expiring", "o", "2026-12-10", "rule-tag")]
    assert review([_rule()], Sources(rule_tags={"sgr-1": {"justification": "x"}}, keys=keys), Region(), TODAY)[0][11] \
        == "unjustified"


def test_a_blank_justification_tag_is_no_reason():
    rows = review([_rule()], Sources(rule_tags={"sgr-1": {"justification": "  ", "owner": "o"}}), Region(), TODAY)
    assert [r[11] for r in rows] == ["unjustified"]


REGISTER = (
    b"GroupId,GroupName,Direction,Protocol,FromPort,ToPort,Peer,Justification,Owner,Ticket,Expires\n"
    b",web-*,ingress,tcp,0,1023,10.0.0.0/8,internal web,team-web,CHG-7,2027-01-01\n"
    b"sg-9,,,,,,,all of sg-9,team-nine,,\n"
)


@pytest.mark.parametrize(
    ("rule", "source"),
    [
        (_rule(group_name="web-prod", peer="10.1.0.0/16", from_port="443", to_port="443"), "register"),
        (_rule(group_name="web-prod", peer="10.1.0.0/16", from_port="80", to_port="1024"), "none"),  # wider ports
        (_rule(group_name="web-prod", peer="11.0.0.0/16"), "none"),  # outside the range
        (_rule(group_name="web-prod", peer="10.1.0.0/16", direction="egress"), "none"),
        (_rule(group_name="web-prod", peer="10.1.0.0/16", protocol="-1", from_port="-1", to_port="-1"), "none"),
        (_rule(group_name="app-prod", peer="10.1.0.0/16"), "none"),  # the name pattern
        (_rule(group_id="sg-9", protocol="-1", from_port="-1", to_port="-1", peer_type="security-group",
               peer="sg-3"), "register"),
    ],
)
def test_the_register_matches_group_direction_protocol_ports_and_peer(rule, source):
    sources = Sources(register=parse_register(REGISTER))
    rule_scope = scope(rule.protocol, rule.from_port, rule.to_port, rule.peer_type, rule.peer)
    found = sources.justify(rule.group_id, rule.group_name, rule.direction, rule.rule_id, rule_scope)
    assert found.source == source
    if source == "register":
        assert found.owner in ("team-web", "team-nine")


def test_the_register_is_read_after_the_tags():
    sources = Sources(register=parse_register(REGISTER), group_tags={"sg-9": {"justification": "tagged"}})
    assert sources.justify("sg-9", "x", "ingress", "sgr-1", _scope()).source == "group-tag"


def test_a_register_written_by_a_spreadsheet_is_read():
    body = b"\xef\xbb\xbf" + REGISTER.replace(b"\n", b"\r\n").rstrip(b"\r\n")
    assert len(parse_register(body)) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",,,,,,,reason,,,", "neither GroupId nor GroupName"),
        ("sg-1,,,,,,,,,,", "no Justification"),
        ("sg-1,,inbound,,,,,r,,,", "not ingress or egress"),
        ("sg-1,,,,,,10.0.0.300/8,r,,,", "not an address range"),
    ],
)
def test_a_register_entry_that_cannot_be_matched_is_refused_with_its_line(line, message):
    body = REGISTER.decode().splitlines()[0] + "\n" + line + "\n"
    with pytest.raises(CsvFormatError, match=f"line 2: .*{message}"):
        parse_register(body.encode())


def test_a_register_with_another_header_is_refused():
    with pytest.raises(CsvFormatError):
        parse_register(b"GroupId,Reason\nsg-1,x\n")


@pytest.mark.parametrize(
    ("rule", "justified"),
    [
        (_rule(peer="10.0.0.0/8"), True),
        (_rule(peer_type="ipv6", peer="fd00::/8"), True),
        (_rule(peer="10.0.0.0/7"), False),  # holds public addresses
        (_rule(peer="0.0.0.0/0"), False),
        (_rule(peer_type="security-group", peer="sg-1"), True),  # its own group
        (_rule(peer_type="security-group", peer="sg-2"), False),
        (_rule(peer_type="prefix-list", peer="pl-1"), False),
    ],
)
def test_the_policy_justifies_private_and_same_group_peers_only_when_on(rule, justified):
    on = review([rule], Sources(private_peers_justified=True), Region(), TODAY)
    assert [r[11] for r in on] == ([] if justified else ["unjustified"])
    assert [r[11] for r in review([rule], Sources(), Region(), TODAY)] == ["unjustified"]


# ------------------------------------------------------------------ expiry


@pytest.mark.parametrize(
    ("expires", "finding"),
    [
        ("2026-12-05", "expired"),
        ("2026-12-06", "expiring"),  # the last day it holds
        ("2026-12-20", "expiring"),  # 14 days ahead
        ("2026-12-21", None),
        ("", None),  # no date: it does not lapse
        ("next year", "expired"),  # not a date: cannot be shown current
    ],
)
def test_expiry_against_the_warning_days(expires, finding):
    rows = review([_rule()], Sources(rule_tags={"sgr-1": {"justification": "x", "expires": expires}}), Region(),
                  TODAY, warning_days=14)
    assert [r[11] for r in rows] == ([finding] if finding else [])


def test_the_warning_days_are_an_input():
    sources = Sources(rule_tags={"sgr-1": {"justification": "x", "expires": "2026-12-30"}})
    assert review([_rule()], sources, Region(), TODAY, warning_days=30)[0][11] == "expiring"
    assert review([_rule()], sources, Region(), TODAY, warning_days=14) == []


# ------------------------------------------------------------------ stale


def test_a_reference_describe_stale_security_groups_names_is_stale():
    rules = [_rule("sgr-1", peer_type="security-group", peer="444455556666/sg-gone"),
             _rule("sgr-2", peer_type="security-group", peer="sg-live"),
             _rule("sgr-3", direction="egress", peer_type="security-group", peer="sg-gone")]
    region = Region(stale={("sg-1", "ingress", "sg-gone"): "references sg-gone (peering pcx-1 deleted)"})
    rows = review(rules, Sources(group_tags={"sg-1": JUSTIFIED}), region, TODAY)
    assert [(r[5], r[11], r[12]) for r in rows] == [("sgr-1", "stale", "references sg-gone (peering pcx-1 deleted)")]


def test_a_prefix_list_that_no_longer_exists_is_stale():
    rules = [_rule("sgr-1", peer_type="prefix-list", peer="pl-gone"), _rule("sgr-2", peer_type="prefix-list",
                                                                            peer="pl-live", from_port="80")]
    assert _findings(rules, region=Region(prefix_lists=frozenset({"pl-live"}))) == [("sgr-1", "stale")]
    assert _findings(rules, region=Region(prefix_lists=None)) == []  # not looked up: not claimed


# ------------------------------------------------------------------ shadowed


@pytest.mark.parametrize(
    ("wide", "narrow"),
    [
        (_rule("sgr-1", peer="0.0.0.0/0"), _rule("sgr-2", peer="0.0.0.0/1")),
        (_rule("sgr-1", peer="0.0.0.0/0"), _rule("sgr-2", peer="128.0.0.0/1")),
        (_rule("sgr-1", peer="10.0.0.0/8"), _rule("sgr-2", peer="10.255.255.255/32")),
        (_rule("sgr-1", peer_type="ipv6", peer="::/0"), _rule("sgr-2", peer_type="ipv6", peer="2001:db8::/32")),
        (_rule("sgr-1", peer_type="ipv6", peer="2001:db8::/32"), _rule("sgr-2", peer_type="ipv6",
                                                                        peer="2001:db8:ffff::/48")),
        (_rule("sgr-1", from_port="0", to_port="65535"), _rule("sgr-2", from_port="22", to_port="22")),
        (_rule("sgr-1", from_port="1000", to_port="2000"), _rule("sgr-2", from_port="1000", to_port="2000",
                                                                  peer="10.0.0.0/8")),
        (_rule("sgr-1", protocol="-1", from_port="-1", to_port="-1"), _rule("sgr-2")),  # all traffic holds tcp
        (_rule("sgr-1", protocol="-1", from_port="-1", to_port="-1"), _rule("sgr-2", protocol="udp", from_port="53",
                                                                            to_port="53")),
        (_rule("sgr-1", protocol="-1", from_port="-1", to_port="-1"), _rule("sgr-2", protocol="icmp", from_port="8",
                                                                            to_port="0")),
        (_rule("sgr-1", protocol="icmp", from_port="-1", to_port="-1"), _rule("sgr-2", protocol="icmp", from_port="8",
                                                                              to_port="0")),
        (_rule("sgr-1", protocol="icmp", from_port="3", to_port="-1"), _rule("sgr-2", protocol="icmp", from_port="3",
                                                                             to_port="4")),
        (_rule("sgr-1", protocol="6", from_port="0", to_port="65535"), _rule("sgr-2")),  # 6 is tcp
        (_rule("sgr-1", peer_type="security-group", peer="sg-2", from_port="0", to_port="65535"),
         _rule("sgr-2", peer_type="security-group", peer="sg-2")),
        (_rule("sgr-1", peer_type="prefix-list", peer="pl-1", from_port="0", to_port="65535"),
         _rule("sgr-2", peer_type="prefix-list", peer="pl-1")),
    ],
)
def test_a_rule_covered_by_another_of_its_group_and_direction_is_shadowed(wide, narrow):
    assert _findings([wide, narrow]) == [("sgr-2", "shadowed")]
    assert "sgr-1" in review([wide, narrow], Sources(group_tags={"sg-1": JUSTIFIED}), Region(), TODAY)[0][12]


@pytest.mark.parametrize(
    "rules",
    [
        [_rule("sgr-1", peer="0.0.0.0/1"), _rule("sgr-2", peer="128.0.0.0/1"), _rule("sgr-3", peer="0.0.0.0/0",
                                                                                      from_port="80", to_port="80")],
        [_rule("sgr-1", peer="10.0.0.0/9"), _rule("sgr-2", peer="10.0.0.0/8", from_port="0", to_port="100")],
        [_rule("sgr-1", peer="0.0.0.0/0"), _rule("sgr-2", peer_type="ipv6", peer="::/0")],  # families apart
        [_rule("sgr-1", from_port="0", to_port="442"), _rule("sgr-2", from_port="400", to_port="500")],
        [_rule("sgr-1"), _rule("sgr-2", protocol="-1", from_port="-1", to_port="-1", peer="10.0.0.0/8")],
        [_rule("sgr-1", protocol="tcp", from_port="0", to_port="65535"), _rule("sgr-2", protocol="udp", from_port="53",
                                                                                to_port="53")],
        [_rule("sgr-1", protocol="icmp", from_port="3", to_port="-1"), _rule("sgr-2", protocol="icmp", from_port="8",
                                                                             to_port="0")],
        [_rule("sgr-1", peer_type="security-group", peer="sg-2"), _rule("sgr-2", peer_type="security-group",
                                                                        peer="sg-3")],
        [_rule("sgr-1", peer_type="prefix-list", peer="pl-1"), _rule("sgr-2", peer="10.0.0.0/8")],
        [_rule("sgr-1", direction="egress"), _rule("sgr-2", peer="10.0.0.0/8")],  # other direction
        [_rule("sgr-1"), _rule("sgr-2", group_id="sg-2", peer="10.0.0.0/8")],  # other group
    ],
)
def test_a_rule_not_wholly_covered_by_one_other_rule_is_not_shadowed(rules):
    assert _findings(rules) == []  # the /0 holds neither split half and no half holds the /0


def test_of_two_rules_covering_each_other_only_one_is_shadowed():
    rules = [_rule("sgr-2", peer="10.0.0.1/8"), _rule("sgr-1", peer="10.0.0.0/8")]  # host bits ignored
    assert _findings(rules) == [("sgr-2", "shadowed")]


def _cidr(version):
    bits, kind = (32, ipaddress.IPv4Network) if version == 4 else (128, ipaddress.IPv6Network)
    return st.tuples(st.integers(0, 2**bits - 1), st.integers(0, bits)).map(lambda t: str(kind(t, strict=False)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([4, 6]).flatmap(lambda v: st.tuples(_cidr(v), _cidr(v))),
       st.tuples(st.integers(0, 65535), st.integers(0, 65535)), st.tuples(st.integers(0, 65535), st.integers(0, 65535)))
def test_coverage_agrees_with_ipaddress_and_port_arithmetic(peers, outer_ports, inner_ports):
    outer_net, inner_net = (ipaddress.ip_network(p) for p in peers)
    peer_type = f"ipv{outer_net.version}"
    (a, b), (c, d) = sorted(outer_ports), sorted(inner_ports)
    outer = scope("tcp", str(a), str(b), peer_type, str(outer_net))
    inner = scope("tcp", str(c), str(d), peer_type, str(inner_net))
    assert covers(outer, inner) == (inner_net.subnet_of(outer_net) and a <= c and d <= b)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "0.0.0.0/0", "11.0.0.0/8",
                                           "10.1.2.3/32"]),
                          st.sampled_from([("0", "65535"), ("443", "443"), ("400", "500"), ("-1", "-1")]),
                          st.sampled_from(["tcp", "udp", "-1"])), min_size=1, max_size=8, unique=True))
def test_shadowed_is_the_pairwise_definition(specs):
    rules = [_rule(f"sgr-{i}", peer=p, from_port=f, to_port=t, protocol=proto) for i, (p, (f, t), proto) in
             enumerate(specs)]
    scopes = [scope(r.protocol, r.from_port, r.to_port, r.peer_type, r.peer) for r in rules]
    expected = []
    for i, rule in enumerate(rules):
        if any(j != i and covers(scopes[j], scopes[i]) and not (covers(scopes[i], scopes[j])
                                                                 and rules[j].rule_id > rule.rule_id)
               for j in range(len(rules))):
            expected.append((rule.rule_id, "shadowed"))
    assert _findings(rules) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([("security-group", "sg-2"), ("security-group", "sg-3"),
                                           ("prefix-list", "pl-1"), ("ipv4", "10.0.0.0/8"), ("ipv4", "10.1.0.0/16")]),
                          st.sampled_from([("0", "65535"), ("443", "443"), ("400", "500"), ("-1", "-1"), ("8", "0")]),
                          st.sampled_from(["tcp", "udp", "-1", "icmp", "50"]),
                          st.sampled_from(["sgr-a", "sgr-b", "sgr-c", "sgr-d", "sgr-e"])),
                min_size=1, max_size=12))
def test_shadowed_is_the_pairwise_definition_for_every_kind_of_peer(specs):
    # Rules to the same group or prefix list, in any order of their ids (several may share one), all traffic among them
    rules = [_rule(f"{rid}{i % 3}", peer_type=pt, peer=p, from_port=f, to_port=t, protocol=proto)
             for i, ((pt, p), (f, t), proto, rid) in enumerate(specs)]
    rules = list({r.rule_id: r for r in rules}.values())  # rule ids are unique in a snapshot
    scopes = [scope(r.protocol, r.from_port, r.to_port, r.peer_type, r.peer) for r in rules]
    expected = []
    for i, rule in enumerate(rules):
        if any(j != i and covers(scopes[j], scopes[i]) and not (covers(scopes[i], scopes[j])
                                                                 and rules[j].rule_id > rule.rule_id)
               for j in range(len(rules))):
            expected.append((rule.rule_id, "shadowed"))
    found = review(rules, Sources(group_tags={"sg-1": JUSTIFIED}), Region(), TODAY)
    assert [(r[5], r[11]) for r in found] == expected
    for row in found:  # each names a rule that covers it
        outer = next(r for r in rules if f"covered by {r.rule_id} " in row[12])
        inner = next(r for r in rules if r.rule_id == row[5])
        assert covers(scope(outer.protocol, outer.from_port, outer.to_port, outer.peer_type, outer.peer),
                      scope(inner.protocol, inner.from_port, inner.to_port, inner.peer_type, inner.peer))


# ------------------------------------------------------------------ duplicate groups


def test_groups_with_equal_rule_sets_in_one_vpc_are_duplicates():
    rules = [_rule("sgr-1", group_id="sg-1"), _rule("sgr-2", group_id="sg-2", protocol="6"),
             _rule("sgr-3", group_id="sg-3", vpc_id="vpc-2"), _rule("sgr-4", group_id="sg-4", from_port="80"),
             Rule(ACCOUNT, REGION, "vpc-1", "sg-5", "empty", "", "", "", "", "", "", "", "", ""),
             Rule(ACCOUNT, REGION, "vpc-1", "sg-6", "empty", "", "", "", "", "", "", "", "", "")]
    rows = review(rules, Sources(group_tags={g: JUSTIFIED for g in ("sg-1", "sg-2", "sg-3", "sg-4")}), Region(),
                  TODAY)
    assert [(r[3], r[5], r[11], r[12], r[17]) for r in rows] == [
        ("sg-1", "", "duplicate-group", "same rules as sg-2", "group-tag"),
        ("sg-2", "", "duplicate-group", "same rules as sg-1", "group-tag"),
    ]


# ------------------------------------------------------------------ the report


def test_a_rule_has_one_row_per_finding_and_every_cell_is_neutralised():
    rules = [_rule("sgr-1", group_name="'=cmd", peer="0.0.0.0/0", from_port="0", to_port="65535"),
             _rule("sgr-2", group_name="'=cmd", peer="10.0.0.0/8")]
    sources = Sources(rule_tags={"sgr-2": {"justification": "=HYPERLINK(\"x\")", "owner": "@team",
                                           "expires": "2026-12-01"}})
    rows = review(rules, sources, Region(), TODAY)
    assert [(r[5], r[11]) for r in rows] == [("sgr-1", "unjustified"), ("sgr-2", "expired"), ("sgr-2", "shadowed")]
    parsed = from_csv(to_csv(REVIEW_HEADER, rows).body, REVIEW_HEADER)
    assert parsed[1][13] == "'=HYPERLINK(\"x\")" and parsed[1][14] == "'@team" and parsed[0][4] == "'=cmd"


def test_nothing_found_is_a_header_only_report():
    assert to_csv(REVIEW_HEADER, _findings_rows()).body == (",".join(REVIEW_HEADER) + "\n").encode()


def _findings_rows():
    return review([_rule()], Sources(rule_tags={"sgr-1": JUSTIFIED}), Region(), TODAY)
