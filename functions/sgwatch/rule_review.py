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
from .justification import GROUP_TAG, NONE, RULE_TAG, UNJUSTIFIED as UNJUSTIFIED_RULE, Justification, Sources, from_tags
from .rule_coverage import Scope, covers, protocol_name, scope
from .rules import Row

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


# Snapshot columns (sgwatch.rules.SNAPSHOT_HEADER) the review reads from plain rows: the hot path.
_GROUP, _NAME, _DIRECTION, _RULE_ID, _PROTOCOL, _FROM, _TO, _PEER_TYPE, _PEER = 3, 4, 6, 7, 8, 9, 10, 11, 12


def _expiry_findings(expires: str, today: date, warning_days: int) -> tuple[tuple[str, str], ...]:
    """What a justification's expiry date says on ``today``."""
    try:
        expiry = date.fromisoformat(expires.strip()) if expires.strip() else None
    except ValueError:
        return ((EXPIRED, f"expires {expires!r} is not an ISO date (YYYY-MM-DD)"),)
    if expiry is None:
        return ()
    if expiry < today:
        return ((EXPIRED, f"expired on {expiry.isoformat()}"),)
    if expiry <= today + timedelta(days=warning_days):
        days = (expiry - today).days
        return ((EXPIRING, f"expires on {expiry.isoformat()}, in {days} day{'s' * (days != 1)}"),)
    return ()


def shadowed_by(rows: Sequence[Sequence[str]]) -> dict[int, Sequence[str]]:
    """For each rule (by its index in ``rows``, snapshot rows) that another rule of its group and direction
    covers, one such rule. Of two rules covering each other, the one with the greater rule id is the shadowed one.

    A rule meets only the rules that could cover it: those with its own peer (a group or prefix list), or,
    for an address peer, those whose range holds its own at one of the prefix lengths its group and
    direction use (looked up by the network at that length): never every rule of its group.
    """
    scopes: list[Scope | None] = [None] * len(rows)
    by_peer: dict[tuple[str, ...], list[int]] = {}
    by_network: dict[tuple[str, str, int, int, int], list[int]] = {}  # group, direction, version, length, first
    lengths: dict[tuple[str, str, int], set[int]] = {}
    for i, r in enumerate(rows):
        if not r[_DIRECTION]:
            continue
        s = scopes[i] = scope(r[_PROTOCOL], r[_FROM], r[_TO], r[_PEER_TYPE], r[_PEER])
        net = s.network
        if net is None:
            by_peer.setdefault((r[_GROUP], r[_DIRECTION], r[_PEER_TYPE], r[_PEER]), []).append(i)
        else:
            by_network.setdefault((r[_GROUP], r[_DIRECTION], net[0], net[3], net[1]), []).append(i)
            lengths.setdefault((r[_GROUP], r[_DIRECTION], net[0]), set()).add(net[3])
    found: dict[int, Sequence[str]] = {}
    for i, inner in enumerate(scopes):
        if inner is None:
            continue
        r = rows[i]
        net = inner.network
        if net is None:
            candidates: list[int] = by_peer[(r[_GROUP], r[_DIRECTION], r[_PEER_TYPE], r[_PEER])]
        else:
            held = lengths[(r[_GROUP], r[_DIRECTION], net[0])]
            if len(held) == 1:
                candidates = by_network[(r[_GROUP], r[_DIRECTION], net[0], net[3], net[1])]
            else:
                bits = 32 if net[0] == 4 else 128
                candidates = [j for length in held if length <= net[3] for j in by_network.get(
                    (r[_GROUP], r[_DIRECTION], net[0], length, net[1] >> (bits - length) << (bits - length)), ())]
        if len(candidates) < 2:
            continue
        for j in candidates:
            outer = scopes[j]
            if j == i or outer is None or not covers(outer, inner):
                continue
            if covers(inner, outer) and rows[j][_RULE_ID] > r[_RULE_ID]:
                continue  # each covers the other: the later one is shadowed
            found[i] = rows[j]
            break
    return found


def duplicate_groups(rows: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """For each group whose (non-empty) rule set equals another group's in the same VPC, the other groups."""
    sets: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    for r in rows:
        if r[_DIRECTION]:
            sets[(r[2], r[_GROUP])].add((r[_DIRECTION], protocol_name(r[_PROTOCOL]), *r[_FROM:_PEER + 1]))
    classes: dict[tuple[str, frozenset[tuple[str, ...]]], list[str]] = defaultdict(list)
    for (vpc_id, group_id), keys in sets.items():
        classes[(vpc_id, frozenset(keys))].append(group_id)
    return {g: sorted(set(same) - {g}) for same in classes.values() if len(same) > 1 for g in same}


def review(
    rows: Iterable[Sequence[str]],
    sources: Sources,
    region: Region,
    today: date,
    warning_days: int = DEFAULT_WARNING_DAYS,
) -> list[Row]:
    """The report's rows (:data:`REVIEW_HEADER`) for the snapshot's rows, in snapshot order."""
    rows = rows if isinstance(rows, list) else list(rows)
    shadowed = shadowed_by(rows)
    duplicates = duplicate_groups(rows)
    keys, rule_tags, group_tags = sources.keys, sources.rule_tags or {}, sources.group_tags or {}
    slow = bool(sources.register) or sources.private_peers_justified  # needs the rule's scope and group name
    by_group: dict[str, Justification | None] = {}  # a group's tags justify all its rules: read once
    expiries: dict[str, tuple[tuple[str, str], ...]] = {}
    stale, prefix_lists = region.stale, region.prefix_lists
    found: tuple[tuple[str, str], ...]
    unjustified = ((UNJUSTIFIED, "no reason in the rule's tags, its group's tags or the register"),)
    out: list[Row] = []
    append = out.append
    reported: set[str] = set()
    for i, r in enumerate(rows):
        group_id = r[_GROUP]
        if group_id in duplicates and group_id not in reported:
            reported.add(group_id)
            same = duplicates[group_id]
            more = f" and {len(same) - _SHOWN} more" if len(same) > _SHOWN else ""
            group_j = sources.justify(group_id, unneutralise(r[_NAME]), "", "", _NO_RULE)
            append(tuple(r[:5]) + ("", "", "", "", "", "", DUPLICATE_GROUP,
                                   f"same rules as {', '.join(same[:_SHOWN])}{more}") + group_j)
        if not r[_DIRECTION]:
            continue
        tags = rule_tags.get(r[_RULE_ID])
        j = from_tags(tags, keys, RULE_TAG) if tags else None
        if j is None:
            if group_id in by_group:
                j = by_group[group_id]
            else:
                j = by_group[group_id] = from_tags(group_tags.get(group_id), keys, GROUP_TAG)
        if j is None and slow:
            j = sources.justify(group_id, unneutralise(r[_NAME]), r[_DIRECTION], r[_RULE_ID],
                                scope(r[_PROTOCOL], r[_FROM], r[_TO], r[_PEER_TYPE], r[_PEER]))
        if j is None or j.source == NONE:
            j, found = UNJUSTIFIED_RULE, unjustified
        elif j.expires:
            known = expiries.get(j.expires)
            if known is None:
                known = expiries[j.expires] = _expiry_findings(j.expires, today, warning_days)
            found = known
        else:
            found = ()
        peer_type = r[_PEER_TYPE]
        if peer_type == "security-group" and stale:
            why = stale.get((group_id, r[_DIRECTION], r[_PEER].rpartition("/")[2]))
            if why is not None:
                found = (*found, (STALE, why))
        elif peer_type == "prefix-list" and prefix_lists is not None and r[_PEER] not in prefix_lists:
            found = (*found, (STALE, f"prefix list {r[_PEER]} no longer exists"))
        if i in shadowed:
            o = shadowed[i]
            found = (*found, (SHADOWED, f"covered by {o[_RULE_ID] or 'another rule'} ({o[_PROTOCOL]} "
                                        f"{o[_FROM]}-{o[_TO]} {o[_PEER]})"))
        if found:
            cells = (r[0], r[1], r[2], group_id, r[_NAME], r[_RULE_ID], r[_DIRECTION], r[_PROTOCOL], r[_FROM],
                     r[_TO], r[_PEER])
            for finding, detail in found:
                append(cells + (finding, detail) + j)
    return out


# A group's own justification (group tags; the register and the policy need a rule): a scope no entry covers.
_NO_RULE = Scope("\x00", -1, -1, "\x00", "", None)
