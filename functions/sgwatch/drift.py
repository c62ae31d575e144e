"""Configuration consistency (PCI DSS 1.2.8): the live rules of one account and region held against the rules
the infrastructure code declares (:mod:`sgwatch.iac_state`).

A declared rule matches a live rule of the same group and direction

1. by rule id, where the source records one (``aws_vpc_security_group_*_rule``, a single-peer
   ``aws_security_group_rule``): the same id is the same rule; any other protocol, ports, peer or
   description is ``changed``;
2. else by shape: the same protocol, ports (ignored for all traffic) and peer; another description is
   ``changed``;
3. else, a live rule left over with the same protocol and peer but other ports is that rule ``changed``.

What is left is ``unmanaged-rule`` (live, in a declared group, declared nowhere) and ``missing-rule``
(declared, not live). A live group that carries one of the IaC tag keys and that no source declares is an
``undeclared-group``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from .csvio import neutralise, unneutralise
from .iac_state import Declared, DeclaredGroup, DeclaredRule, protocol
from .rules import Rule, as_rules

DRIFT_HEADER = (
    "AccountId",
    "Region",
    "VpcId",
    "GroupId",
    "GroupName",
    "Direction",
    "RuleId",
    "Protocol",
    "FromPort",
    "ToPort",
    "Peer",
    "Description",
    "Drift",
    "DeclaredIn",
    "DeclaredAddress",
)
UNMANAGED, MISSING, CHANGED, UNDECLARED_GROUP = "unmanaged-rule", "missing-rule", "changed", "undeclared-group"
DRIFTS = (UNMANAGED, MISSING, CHANGED, UNDECLARED_GROUP)


class DriftRow(NamedTuple):
    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str
    direction: str
    rule_id: str
    protocol: str
    from_port: str
    to_port: str
    peer: str
    description: str
    drift: str
    declared_in: str
    declared_address: str

    @property
    def identity(self) -> tuple[str, ...]:
        """What makes the row the same drift in the next report (the live rule's id, else the declared shape)."""
        return tuple(neutralise(c) for c in (  # as a report read back holds it
            self.account_id, self.region, self.group_id, self.drift, self.direction, self.rule_id, self.protocol,
            self.from_port, self.to_port, self.peer, self.declared_address))


def _peer(peer_type: str, peer: str) -> str:
    """A referenced group by its id (``owner/sg-1`` and ``sg-1`` alike)."""
    return peer.rpartition("/")[2] if peer_type == "security-group" else peer


def _ports(proto: str, low: str, high: str) -> tuple[str, str]:
    return ("", "") if proto == "-1" else (low, high)


def _live_shape(r: Rule) -> tuple[str, ...]:
    proto = protocol(r.protocol)
    return (r.group_id, r.direction, proto, *_ports(proto, r.from_port, r.to_port), r.peer_type,
            _peer(r.peer_type, r.peer))


def _declared_shape(d: DeclaredRule) -> tuple[str, ...]:
    return (d.group_id, d.direction, d.protocol, *_ports(d.protocol, d.from_port, d.to_port), d.peer_type,
            _peer(d.peer_type, d.peer))


def _loose(shape: tuple[str, ...]) -> tuple[str, ...]:
    """The shape without its ports: the same rule widened or narrowed."""
    return (*shape[:3], *shape[5:])


def _same(live: Rule, declared: DeclaredRule) -> bool:
    return _live_shape(live) == _declared_shape(declared) and unneutralise(live.description) == declared.description


def _live_row(r: Rule, drift: str, declared: DeclaredRule | None = None) -> DriftRow:
    return DriftRow(r.account_id, r.region, r.vpc_id, r.group_id, r.group_name, r.direction, r.rule_id, r.protocol,
                    r.from_port, r.to_port, r.peer, r.description, drift,
                    declared.source if declared else "", declared.address if declared else "")


def _missing_row(account_id: str, region: str, d: DeclaredRule, vpc_id: str, name: str) -> DriftRow:
    return DriftRow(account_id, region, vpc_id, d.group_id, name, d.direction, d.rule_id, d.protocol, d.from_port,
                    d.to_port, d.peer, d.description, MISSING, d.source, d.address)


def in_pair(declared: Declared, account_id: str, region: str, live_groups: Collection[str]) -> Declared:
    """What ``declared`` says of one account and region: the groups and rules of its live groups, and the
    groups whose ARN places them there (a declared group that is gone)."""
    groups = [g for g in declared.groups
              if g.group_id in live_groups or (g.account_id, g.region) == (account_id, region)]
    ids = sorted(set(live_groups) | {g.group_id for g in groups})
    return Declared(groups, declared.rules_of(ids), declared.sources)


def drift(
    rows: Iterable[Sequence[str]],
    declared: Declared,
    account_id: str,
    region: str,
    group_tags: Mapping[str, Mapping[str, str]],
    iac_tag_keys: Collection[str],
) -> list[DriftRow]:
    """The drift of one account and region: ``rows`` its snapshot rows, ``declared`` what every source read
    declares (only the pair's part is looked at), ``group_tags`` the live groups' tags."""
    live = as_rules(rows)
    groups = {r.group_id: r for r in live}
    mine = in_pair(declared, account_id, region, groups)
    declared_groups = {g.group_id: g for g in mine.groups}
    for d in mine.rules:  # a group only its rule resources declare
        declared_groups.setdefault(d.group_id, DeclaredGroup(d.source, d.address, d.group_id, "", "", "", ""))
    found: list[DriftRow] = []

    live_rules = [r for r in live if not r.is_placeholder and r.group_id in declared_groups]
    by_id = {r.rule_id: r for r in live_rules if r.rule_id}
    matched: set[str] = set()  # live rule ids
    unmatched: list[DeclaredRule] = []
    for d in sorted(mine.rules, key=lambda d: (d.group_id, d.address, _declared_shape(d))):
        hit = by_id.get(d.rule_id) if d.rule_id else None
        if hit is not None and hit.group_id == d.group_id and hit.direction == d.direction:
            if not _same(hit, d) and hit.rule_id not in matched:
                found.append(_live_row(hit, CHANGED, d))
            matched.add(hit.rule_id)
        else:
            unmatched.append(d)

    by_shape: dict[tuple[str, ...], list[Rule]] = defaultdict(list)
    for r in live_rules:
        by_shape[_live_shape(r)].append(r)
    left: list[DeclaredRule] = []
    for d in unmatched:
        candidates = by_shape.get(_declared_shape(d)) or []
        hit = next((r for r in candidates if unneutralise(r.description) == d.description), None)
        if hit is None:
            hit = next((r for r in candidates if r.rule_id not in matched), None)
            if hit is not None and hit.rule_id not in matched:
                found.append(_live_row(hit, CHANGED, d))  # the same rule, another description
        if hit is None:
            left.append(d)
        else:
            matched.add(hit.rule_id)

    loose: dict[tuple[str, ...], list[Rule]] = defaultdict(list)
    for r in live_rules:
        if r.rule_id not in matched:
            loose[_loose(_live_shape(r))].append(r)
    missing: dict[tuple[str, ...], DeclaredRule] = {}
    for d in left:
        candidates = loose.get(_loose(_declared_shape(d))) or []
        hit = next((r for r in candidates if r.rule_id not in matched), None)
        if hit is not None:
            found.append(_live_row(hit, CHANGED, d))  # other ports
            matched.add(hit.rule_id)
        else:
            missing.setdefault(_declared_shape(d), d)  # a rule declared twice (inline and apart) is one rule

    for r in live_rules:
        if r.rule_id not in matched:
            found.append(_live_row(r, UNMANAGED))
    for d in missing.values():
        group = groups.get(d.group_id)
        known = declared_groups.get(d.group_id)
        found.append(_missing_row(account_id, region, d, group.vpc_id if group else (known.vpc_id if known else ""),
                                  group.group_name if group else (known.group_name if known else "")))

    keys = tuple(iac_tag_keys)
    for group_id, r in groups.items():
        tags = group_tags.get(group_id) or {}
        if group_id not in declared_groups and any(k in tags for k in keys):
            found.append(DriftRow(r.account_id, r.region, r.vpc_id, group_id, r.group_name, "", "", "", "", "", "",
                                  "", UNDECLARED_GROUP, "", ""))
    found.sort(key=lambda row: (row.group_id, row.drift, row.direction, row.rule_id, row))
    return found


def new_drift(current: Iterable[DriftRow], previous: Iterable[Sequence[str]] | None) -> list[DriftRow]:
    """The rows of ``current`` that the previous report (its rows, None when there is none) did not hold."""
    seen = {DriftRow._make(r).identity for r in previous or ()}
    return [r for r in current if r.identity not in seen]
