"""The rule model: one row per security-group rule and peer.

Every field is a string, exactly as it appears in the snapshot CSV, so a snapshot
read back from S3 compares equal to one just flattened from the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from .csvio import FORMULA_TRIGGERS, neutralise

SNAPSHOT_HEADER = (
    "AccountId",
    "Region",
    "VpcId",
    "GroupId",
    "GroupName",
    "GroupDescription",
    "Direction",
    "RuleId",
    "Protocol",
    "FromPort",
    "ToPort",
    "PeerType",
    "Peer",
    "RuleDescription",
)

WORLD = ("0.0.0.0/0", "::/0")


class Rule(NamedTuple):
    """One snapshot row. A group without rules has empty rule fields."""

    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str
    group_description: str
    direction: str
    rule_id: str
    protocol: str
    from_port: str
    to_port: str
    peer_type: str
    peer: str
    description: str

    @property
    def is_placeholder(self) -> bool:
        return not self.direction


def _port(value: Any) -> str:
    return "" if value is None else str(value)


def _referenced_peer(pair: Mapping[str, Any], owner_id: str) -> str:
    group_id = pair.get("GroupId") or pair.get("GroupName") or ""
    user_id = pair.get("UserId") or ""
    if user_id and owner_id and user_id != owner_id:
        return f"{user_id}/{group_id}"
    return group_id


def _group_columns(account_id: str, region: str, group: Mapping[str, Any]) -> tuple[str, str, str, str, str, str]:
    return (
        account_id,
        region,
        group.get("VpcId") or "",
        group.get("GroupId") or "",
        neutralise(group.get("GroupName")),
        neutralise(group.get("Description")),
    )


def placeholder(account_id: str, region: str, group: Mapping[str, Any]) -> Rule:
    """The single row of a group that has no rules."""
    return Rule(*_group_columns(account_id, region, group), "", "", "", "", "", "", "", "")


Row = tuple[str, ...]


def flatten_rule_rows(
    account_id: str,
    region: str,
    groups: Iterable[Mapping[str, Any]],
    rules: Iterable[Mapping[str, Any]],
) -> list[Row]:
    """Snapshot rows (plain tuples, the inventory's hot path) from DescribeSecurityGroups
    (group facts) and DescribeSecurityGroupRules.

    Every group appears, with a placeholder row when it has no rules. The result is
    sorted, so the same estate always gives the same rows in the same order.
    ``rules`` may be a generator (pages as they arrive): only the rows are kept.
    """
    columns = {g["GroupId"]: _group_columns(account_id, region, g) for g in groups}
    rows: list[Row] = []
    append = rows.append
    triggers = FORMULA_TRIGGERS
    # One pair of port strings per distinct (from, to): fewer objects, less memory.
    ports: dict[tuple[Any, Any], tuple[str, str]] = {}
    for r in rules:
        get = r.get
        group_id = r["GroupId"]
        head = columns.get(group_id)
        if head is None:  # a rule of a group created between the two calls
            head = columns[group_id] = (account_id, region, "", group_id, "", "")
        peer = get("CidrIpv4")
        if peer is not None:
            peer_type = "ipv4"
        elif (peer := get("CidrIpv6")) is not None:
            peer_type = "ipv6"
        elif (peer := get("PrefixListId")) is not None:
            peer_type = "prefix-list"
        else:
            peer_type = "security-group"
            peer = _referenced_peer(get("ReferencedGroupInfo") or {}, get("GroupOwnerId") or account_id)
        key = (get("FromPort"), get("ToPort"))
        port_texts = ports.get(key)
        if port_texts is None:
            port_texts = ports[key] = (_port(key[0]), _port(key[1]))
        description = get("Description") or ""
        if description.startswith(triggers):  # the test of neutralise(), inlined on the hot path
            description = neutralise(description)
        append(
            head
            + ("egress" if get("IsEgress") else "ingress", get("SecurityGroupRuleId") or "", get("IpProtocol") or "")
            + port_texts
            + (peer_type, peer, description)
        )
    seen = {row[3] for row in rows}
    for group_id, head in columns.items():
        if group_id not in seen:
            append(head + _EMPTY_RULE)
    rows.sort()
    return rows


def flatten_rules(
    account_id: str,
    region: str,
    groups: Iterable[Mapping[str, Any]],
    rules: Iterable[Mapping[str, Any]],
) -> list[Rule]:
    """:func:`flatten_rule_rows` as typed :class:`Rule` values."""
    return as_rules(flatten_rule_rows(account_id, region, groups, rules))


_EMPTY_RULE = ("",) * 8


def as_rules(rows: Iterable[Sequence[str]]) -> list[Rule]:
    """Typed rows from plain sequences (e.g. parsed CSV) without per-row validation cost."""
    new = tuple.__new__
    return [new(Rule, r) for r in rows]


def permission_peers(permission: Mapping[str, Any], owner_id: str = "") -> Iterator[tuple[str, str, str]]:
    """(peer type, peer, description) for each peer of an ``IpPermissions`` item."""
    for r in permission.get("IpRanges") or ():
        yield "ipv4", r.get("CidrIp", ""), r.get("Description") or ""
    for r in permission.get("Ipv6Ranges") or ():
        yield "ipv6", r.get("CidrIpv6", ""), r.get("Description") or ""
    for r in permission.get("PrefixListIds") or ():
        yield "prefix-list", r.get("PrefixListId", ""), r.get("Description") or ""
    for r in permission.get("UserIdGroupPairs") or ():
        yield "security-group", _referenced_peer(r, owner_id), r.get("Description") or ""


def is_world(peer: str) -> bool:
    return peer in WORLD


def covers_port(rule: Rule, port: int) -> bool:
    """Whether the rule admits ``port`` (all-traffic rules admit every port)."""
    if rule.protocol in ("-1", "all"):
        return True
    if rule.protocol not in ("tcp", "6", "udp", "17"):
        return False
    try:
        low, high = int(rule.from_port), int(rule.to_port)
    except ValueError:
        return True
    if low == -1:
        return True
    return low <= port <= high
