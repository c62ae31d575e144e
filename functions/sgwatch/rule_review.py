"""Rule review (PCI DSS 1.2.5 and 1.2.7): which rules have a business reason, whose they are, which
reasons have lapsed and which rules do nothing.

The review of one account and region: from the snapshot's rules, their justifications
(:mod:`sgwatch.justification`) and what the region adds (:class:`Region`), one report row per finding (a
rule can have several; a rule that is justified, current and effective has none). Coverage, behind
"shadowed", is :mod:`sgwatch.rule_coverage`; the reads and the write-once report are
:mod:`sgwatch.rule_review_record`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .csvio import unneutralise
from .justification import GROUP_TAG, NONE, RULE_TAG, UNJUSTIFIED as UNJUSTIFIED_RULE, Justification, Sources, from_tags
from .rule_coverage import ADDRESS_TYPES, ALL, PORTED, Scope, covers, protocol_name, scope
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
    if expiry <= today + timedelta(days=warning_days):  # the same words every day until it expires: a stable row
        return ((EXPIRING, f"expires on {expiry.isoformat()}"),)
    return ()


def changes_on(expires: str, today: date, warning_days: int) -> date | None:
    """The first day after ``today`` on which a justification expiring on ``expires`` has other findings; None
    when that never happens (expired, or not a date)."""
    try:
        expiry = date.fromisoformat(expires.strip())
    except ValueError:
        return None
    if expiry < today:
        return None
    if expiry <= today + timedelta(days=warning_days):
        return expiry + _DAY
    return expiry - timedelta(days=warning_days)


_DAY = timedelta(days=1)


def shadowed_by(rows: Sequence[Sequence[str]]) -> dict[int, Sequence[str]]:
    """For each rule (by its index in ``rows``, snapshot rows) that another rule of its group and direction
    covers, one such rule. Of two rules covering each other, the one with the greater rule id is the shadowed one.

    A rule meets only the rules that could cover it, never every rule of its group: first the rules are put in
    buckets by group, direction and peer (a group or prefix list) or address family, with no scope computed, and a
    rule alone in its bucket is covered by none. In a bucket of one peer, an all-traffic rule covers every other
    one: the one with the least rule id shadows all the others; without one, the ranges are swept in order. In an
    address bucket, a rule meets those whose range holds its own at one of the prefix lengths the bucket uses
    (looked up by the network at that length).
    """
    by_peer: dict[tuple[str, str, str, str], list[int]] = {}
    by_family: dict[tuple[str, str, str], list[int]] = {}
    for i, r in enumerate(rows):
        direction = r[_DIRECTION]
        if not direction:
            continue
        peer_type = r[_PEER_TYPE]
        if peer_type in ADDRESS_TYPES:
            by_family.setdefault((r[_GROUP], direction, peer_type), []).append(i)
        else:
            by_peer.setdefault((r[_GROUP], direction, peer_type, r[_PEER]), []).append(i)
    found: dict[int, Sequence[str]] = {}
    for members in by_peer.values():
        if len(members) > 1:
            _one_peer(rows, members, found)
    for members in by_family.values():
        if len(members) > 1:
            _one_family(rows, members, found)
    return found


def _scopes(rows: Sequence[Sequence[str]], members: list[int]) -> list[Scope]:
    return [scope(r[_PROTOCOL], r[_FROM], r[_TO], r[_PEER_TYPE], r[_PEER]) for r in (rows[i] for i in members)]


def _one_peer(rows: Sequence[Sequence[str]], members: list[int], found: dict[int, Sequence[str]]) -> None:
    """The shadowed rules of one group, direction and peer (so coverage is the protocol's and the ports')."""
    every = [i for i in members if protocol_name(rows[i][_PROTOCOL]) == ALL]
    if every:
        first = min(every, key=lambda i: rows[i][_RULE_ID])
        for i in members:
            if i != first:
                found[i] = rows[first]
        return
    scopes = _scopes(rows, members)
    ported: dict[str, list[int]] = {}  # tcp and udp: by protocol, swept in the order of their ranges
    others: list[int] = []
    for k, s in enumerate(scopes):
        (ported.setdefault(s.protocol, []) if s.protocol in PORTED else others).append(k)
    for same in ported.values():
        same.sort(key=lambda k: (scopes[k].low, -scopes[k].high, rows[members[k]][_RULE_ID]))
        widest = same[0]  # of those swept so far, the one reaching highest (first in order among equals)
        for k in same[1:]:
            if scopes[k].high <= scopes[widest].high:
                found[members[k]] = rows[members[widest]]
            else:
                widest = k
    _pairwise(rows, members, scopes, others, range(len(members)), found)


def _one_family(rows: Sequence[Sequence[str]], members: list[int], found: dict[int, Sequence[str]]) -> None:
    """The shadowed rules of one group, direction and address family."""
    scopes = _scopes(rows, members)
    by_network: dict[tuple[int, int], list[int]] = {}  # (length, first address) -> positions in members
    plain: list[int] = []  # an address peer that is no range: held by its own peer only
    for k, s in enumerate(scopes):
        if s.network is None:
            plain.append(k)
        else:
            by_network.setdefault((s.network[3], s.network[1]), []).append(k)
    lengths = sorted({length for length, _ in by_network})
    for k, s in enumerate(scopes):
        net = s.network
        if net is None:
            candidates: Sequence[int] = [j for j in plain if scopes[j].peer == s.peer]
        elif len(lengths) == 1:
            candidates = by_network[(net[3], net[1])]
        else:
            bits = 32 if net[0] == 4 else 128
            candidates = [j for length in lengths if length <= net[3]
                          for j in by_network.get((length, net[1] >> (bits - length) << (bits - length)), ())]
        if len(candidates) > 1:
            _pairwise(rows, members, scopes, [k], candidates, found)


def _pairwise(rows: Sequence[Sequence[str]], members: list[int], scopes: list[Scope], inner: Iterable[int],
              outer: Iterable[int], found: dict[int, Sequence[str]]) -> None:
    """Each rule of ``inner`` (positions in ``members``) against the rules of ``outer`` that could cover it."""
    outer = list(outer)
    for k in inner:
        i = members[k]
        if i in found:
            continue
        for j in outer:
            if j == k or not covers(scopes[j], scopes[k]):
                continue
            if covers(scopes[k], scopes[j]) and rows[members[j]][_RULE_ID] > rows[i][_RULE_ID]:
                continue  # each covers the other: the later one is shadowed
            found[i] = rows[members[j]]
            break


def rule_sets(rows: Iterable[Sequence[str]]) -> dict[str, tuple[str, frozenset[tuple[str, ...]]]]:
    """Each group's VPC and (non-empty) rule set, protocols in one spelling: what makes two groups duplicates."""
    names: dict[str, str] = {}  # each protocol as written -> its one spelling
    sets: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    for r in rows:
        direction = r[_DIRECTION]
        if direction:
            protocol = r[_PROTOCOL]
            name = names.get(protocol)
            if name is None:
                name = names[protocol] = protocol_name(protocol)
            sets[(r[2], r[_GROUP])].add((direction, name, r[_FROM], r[_TO], r[_PEER_TYPE], r[_PEER]))
    return {group_id: (vpc_id, frozenset(keys)) for (vpc_id, group_id), keys in sets.items()}


def duplicates_of(sets: Mapping[str, Hashable]) -> dict[str, list[str]]:
    """For each group whose rule set (with its VPC: :func:`rule_sets`, or anything equal exactly when they are)
    is another group's, the other groups."""
    classes: dict[Hashable, list[str]] = defaultdict(list)
    for group_id, key in sets.items():
        classes[key].append(group_id)
    return {g: sorted(set(same) - {g}) for same in classes.values() if len(same) > 1 for g in same}


def duplicate_groups(rows: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """For each group whose (non-empty) rule set equals another group's in the same VPC, the other groups."""
    return duplicates_of(rule_sets(rows))


def review(
    rows: Iterable[Sequence[str]],
    sources: Sources,
    region: Region,
    today: date,
    warning_days: int = DEFAULT_WARNING_DAYS,
    duplicates: Mapping[str, list[str]] | None = None,
    until: dict[str, date] | None = None,
) -> list[Row]:
    """The report's rows (:data:`REVIEW_HEADER`) for the snapshot's rows, in snapshot order.

    ``duplicates``: the duplicate groups (:func:`duplicate_groups`) when ``rows`` are some groups of a snapshot
    only. ``until``: filled with the first day on which each group's expiry findings read differently (a group
    absent: never), see :func:`changes_on`."""
    rows = rows if isinstance(rows, list) else list(rows)
    shadowed = shadowed_by(rows)
    if duplicates is None:
        duplicates = duplicate_groups(rows)
    keys, rule_tags, group_tags = sources.keys, sources.rule_tags or {}, sources.group_tags or {}
    slow = bool(sources.register) or sources.private_peers_justified  # needs the rule's scope and group name
    by_group: dict[str, Justification | None] = {}  # a group's tags justify all its rules: read once
    expiries: dict[str, tuple[tuple[tuple[str, str], ...], date | None]] = {}
    covered: dict[int, tuple[str, str]] = {}  # the shadowed finding, by the covering rule (its row's id)
    stale, prefix_lists = region.stale, region.prefix_lists
    found: tuple[tuple[str, str], ...]
    unjustified = ((UNJUSTIFIED, "no reason in the rule's tags, its group's tags or the register"),)
    out: list[Row] = []
    append = out.append
    reported: set[str] = set()
    for i, r in enumerate(rows):
        group_id, direction = r[_GROUP], r[_DIRECTION]
        if group_id in duplicates and group_id not in reported:
            reported.add(group_id)
            same = duplicates[group_id]
            more = f" and {len(same) - _SHOWN} more" if len(same) > _SHOWN else ""
            group_j = sources.justify(group_id, unneutralise(r[_NAME]), "", "", _NO_RULE)
            append(tuple(r[:5]) + ("", "", "", "", "", "", DUPLICATE_GROUP,
                                   f"same rules as {', '.join(same[:_SHOWN])}{more}") + group_j)
        if not direction:
            continue
        tags = rule_tags.get(r[_RULE_ID])
        j = from_tags(tags, keys, RULE_TAG) if tags else None
        if j is None:
            j = by_group[group_id] if group_id in by_group else by_group.setdefault(
                group_id, from_tags(group_tags.get(group_id), keys, GROUP_TAG))
            if j is None and slow:
                j = sources.justify(group_id, unneutralise(r[_NAME]), direction, r[_RULE_ID],
                                    scope(r[_PROTOCOL], r[_FROM], r[_TO], r[_PEER_TYPE], r[_PEER]))
            if j is None or j.source == NONE:
                j = UNJUSTIFIED_RULE
        if j is UNJUSTIFIED_RULE:
            found = unjustified
        elif j.expires:
            known = expiries.get(j.expires)
            if known is None:
                known = expiries[j.expires] = (_expiry_findings(j.expires, today, warning_days),
                                               changes_on(j.expires, today, warning_days))
            found, changes = known
            if changes is not None and until is not None and changes < until.get(group_id, changes + _DAY):
                until[group_id] = changes
        else:
            found = ()
        peer_type = r[_PEER_TYPE]
        if peer_type == "security-group":
            if stale:
                why = stale.get((group_id, direction, r[_PEER].rpartition("/")[2]))
                if why is not None:
                    found = (*found, (STALE, why))
        elif peer_type == "prefix-list" and prefix_lists is not None and r[_PEER] not in prefix_lists:
            found = (*found, (STALE, f"prefix list {r[_PEER]} no longer exists"))
        o = shadowed.get(i)
        if o is not None:
            shadow = covered.get(id(o))
            if shadow is None:
                shadow = covered[id(o)] = (SHADOWED, f"covered by {o[_RULE_ID] or 'another rule'} ({o[_PROTOCOL]} "
                                                      f"{o[_FROM]}-{o[_TO]} {o[_PEER]})")
            found = (*found, shadow)
        if found:
            cells = (r[0], r[1], r[2], group_id, r[_NAME], r[_RULE_ID], direction, r[_PROTOCOL], r[_FROM],
                     r[_TO], r[_PEER])
            for finding, detail in found:
                append(cells + (finding, detail) + j)
    return out


# A group's own justification (group tags; the register and the policy need a rule): a scope no entry covers.
_NO_RULE = Scope("\x00", -1, -1, "\x00", "", None)
