"""Rule review (PCI DSS 1.2.5 and 1.2.7): which rules have a business reason, whose they are, which
reasons have lapsed and which rules do nothing.

The review of one account and region: from the snapshot's rules, their justifications
(:mod:`sgwatch.justification`) and what the region adds (:class:`Region`), one report row per finding (a
rule can have several; a rule that is justified, current and effective has none). Coverage, behind
"shadowed", is :mod:`sgwatch.rule_coverage`; the reads and the write-once report are
:mod:`sgwatch.rule_review_record`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .csvio import unneutralise
from .justification import NONE, Justification, Sources
from .rule_coverage import Scope, covers, protocol_name, scope
from .rules import Row, Rule, as_rules

REVIEW_HEADER = (
    "AccountId", "Region", "VpcId", "GroupId", "GroupName", "RuleId", "Direction", "Protocol", "FromPort", "ToPort",
    "Peer", "Finding", "Detail", "Justification", "Owner", "Ticket", "Expires", "JustifiedBy",
)
UNJUSTIFIED = "unjustified"
EXPIRED = "expired"
EXPIRING = "expiring"
STALE = "stale"
SHADOWED = "shadowed"
DUPLICATE_GROUP = "duplicate-group"
FINDINGS = (UNJUSTIFIED, EXPIRED, EXPIRING, STALE, SHADOWED, DUPLICATE_GROUP)
DEFAULT_WARNING_DAYS = 14
_SHOWN = 10  # groups named in a duplicate-group detail


@dataclass(frozen=True)
class Region:
    """What the region says beyond the snapshot: stale references (DescribeStaleSecurityGroups: by group,
    direction and referenced group id, why) and the prefix lists that exist (None: not looked up)."""

    stale: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    prefix_lists: frozenset[str] | None = None


def _rule_findings(
    rule: Rule, justification: Justification, region: Region, today: date, warning_days: int
) -> list[tuple[str, str]]:
    found = []
    if justification.source == NONE:
        found.append((UNJUSTIFIED, "no reason in the rule's tags, its group's tags or the register"))
    else:
        try:
            expiry = justification.expiry()
        except ValueError:
            found.append((EXPIRED, f"expires {justification.expires!r} is not an ISO date (YYYY-MM-DD)"))
        else:
            if expiry is not None and expiry < today:
                found.append((EXPIRED, f"expired on {expiry.isoformat()}"))
            elif expiry is not None and expiry <= today + timedelta(days=warning_days):
                days = (expiry - today).days
                found.append((EXPIRING, f"expires on {expiry.isoformat()}, in {days} day{'s' * (days != 1)}"))
    if rule.peer_type == "security-group":
        why = region.stale.get((rule.group_id, rule.direction, rule.peer.rpartition("/")[2]))
        if why is not None:
            found.append((STALE, why))
    elif rule.peer_type == "prefix-list" and region.prefix_lists is not None and rule.peer not in region.prefix_lists:
        found.append((STALE, f"prefix list {rule.peer} no longer exists"))
    return found


def shadowed_by(rules: Sequence[Rule]) -> dict[int, Rule]:
    """For each rule (by its index in ``rules``) that another rule of its group and direction covers,
    one such rule. Of two rules covering each other, the one with the greater rule id is the shadowed one.

    Address peers are indexed by the network holding them at each prefix length the bucket uses, so a
    rule meets only the rules whose peer holds its own, not every rule of its group.
    """
    buckets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, rule in enumerate(rules):
        if rule.direction:
            buckets[(rule.group_id, rule.direction)].append(i)
    scopes = [scope(r.protocol, r.from_port, r.to_port, r.peer_type, r.peer) for r in rules]
    found: dict[int, Rule] = {}
    for members in buckets.values():
        if len(members) < 2:
            continue
        by_peer: dict[tuple[str, str], list[int]] = defaultdict(list)
        by_network: dict[tuple[int, int, int], list[int]] = defaultdict(list)  # (version, length, first)
        lengths: dict[int, set[int]] = defaultdict(set)
        for i in members:
            net = scopes[i].network
            if net is None:
                by_peer[(rules[i].peer_type, rules[i].peer)].append(i)
            else:
                length = _length(net)
                by_network[(net[0], length, net[1])].append(i)
                lengths[net[0]].add(length)
        for i in members:
            inner = scopes[i]
            net = inner.network
            if net is None:
                candidates: Iterable[int] = by_peer[(rules[i].peer_type, rules[i].peer)]
            else:
                bits = 32 if net[0] == 4 else 128
                candidates = [j for length in lengths[net[0]] if length <= _length(net)
                              for j in by_network.get((net[0], length, net[1] >> (bits - length) << (bits - length)
                                                       if length else 0), ())]
            for j in candidates:
                if j == i or not covers(scopes[j], inner):
                    continue
                if covers(inner, scopes[j]) and rules[j].rule_id > rules[i].rule_id:
                    continue  # each covers the other: the later one is shadowed
                found[i] = rules[j]
                break
    return found


def _length(net: tuple[int, int, int]) -> int:
    version, first, last = net
    return (32 if version == 4 else 128) - (last - first).bit_length()


def _rule_key(rule: Rule) -> tuple[str, ...]:
    return (rule.direction, protocol_name(rule.protocol), rule.from_port, rule.to_port, rule.peer_type, rule.peer)


def duplicate_groups(rules: Iterable[Rule]) -> dict[str, list[str]]:
    """For each group whose (non-empty) rule set equals another group's in the same VPC, the other groups."""
    sets: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    for rule in rules:
        if rule.direction:
            sets[(rule.vpc_id, rule.group_id)].add(_rule_key(rule))
    classes: dict[tuple[str, frozenset[tuple[str, ...]]], list[str]] = defaultdict(list)
    for (vpc_id, group_id), keys in sets.items():
        classes[(vpc_id, frozenset(keys))].append(group_id)
    return {g: sorted(set(same) - {g}) for same in classes.values() if len(same) > 1 for g in same}


def _row(rule: Rule, finding: str, detail: str, justification: Justification) -> Row:
    j = justification
    return (rule.account_id, rule.region, rule.vpc_id, rule.group_id, rule.group_name, rule.rule_id, rule.direction,
            rule.protocol, rule.from_port, rule.to_port, rule.peer, finding, detail,
            j.reason, j.owner, j.ticket, j.expires, j.source)


def review(
    rows: Iterable[Sequence[str]],
    sources: Sources,
    region: Region,
    today: date,
    warning_days: int = DEFAULT_WARNING_DAYS,
) -> list[Row]:
    """The report's rows (:data:`REVIEW_HEADER`) for the snapshot's rows, in snapshot order."""
    rules = as_rules(rows)
    shadowed = shadowed_by(rules)
    duplicates = duplicate_groups(rules)
    out: list[Row] = []
    reported_groups: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.group_id in duplicates and rule.group_id not in reported_groups:
            reported_groups.add(rule.group_id)
            same = duplicates[rule.group_id]
            more = f" and {len(same) - _SHOWN} more" if len(same) > _SHOWN else ""
            group_j = sources.justify(rule.group_id, unneutralise(rule.group_name), "", "", _NO_RULE)
            blank = rule._replace(rule_id="", direction="", protocol="", from_port="", to_port="", peer="")
            out.append(_row(blank, DUPLICATE_GROUP, f"same rules as {', '.join(same[:_SHOWN])}{more}", group_j))
        if rule.is_placeholder:
            continue
        rule_scope = scope(rule.protocol, rule.from_port, rule.to_port, rule.peer_type, rule.peer)
        justification = sources.justify(rule.group_id, unneutralise(rule.group_name), rule.direction, rule.rule_id,
                                        rule_scope)
        found = _rule_findings(rule, justification, region, today, warning_days)
        if i in shadowed:
            other = shadowed[i]
            found.append((SHADOWED, f"covered by {other.rule_id or 'another rule'} ({other.protocol} "
                                    f"{other.from_port}-{other.to_port} {other.peer})"))
        out.extend(_row(rule, finding, detail, justification) for finding, detail in found)
    return out


# A group's own justification (group tags; the register and the policy need a rule): a scope no entry covers.
_NO_RULE = Scope("\x00", -1, -1, "\x00", "", None)
