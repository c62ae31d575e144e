"""Rules as CloudTrail records carry them, and tolerant access to the records' JSON.

A request names rules as ``ipPermissions`` items (several peers each, no rule ids) or in the
legacy top-level form; a response lists the rules it created or revoked one by one, with
their ``sgr-`` ids. Both become :class:`~sgwatch.rules.Rule` values here. Keys are matched
case-insensitively and lists accepted in every shape CloudTrail uses, so nothing here raises
on an unexpected shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .rules import Rule

# --- tolerant accessors ----------------------------------------------------------------------


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def lookup(mapping: Any, *names: str) -> Any:
    """The first present key of ``names``, matched case-insensitively; None when absent."""
    if not isinstance(mapping, Mapping):
        return None
    for name in names:
        if name in mapping:
            return mapping[name]
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def listed(value: Any) -> list[Any]:
    """CloudTrail lists come as ``{"items": [...]}``, plain lists, ``{}`` or a single object."""
    if value is None or value == "" or value == {}:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if isinstance(value, Mapping):
        inner = lookup(value, "items", "item")
        if inner is not None:
            return listed(inner)
        return [value]
    return [value]


def mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in listed(value) if isinstance(v, Mapping)]


def is_egress(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# --- rules from the request and the response -------------------------------------------------


@dataclass(frozen=True)
class RuleHead:
    account_id: str
    region: str
    vpc_id: str
    group_id: str
    group_name: str

    def rule(self, direction: str, rule_id: str, protocol: Any, from_port: Any, to_port: Any,
             peer_type: str, peer: str, description: Any, group_id: str = "") -> Rule:
        return Rule(
            self.account_id, self.region, self.vpc_id, group_id or self.group_id, self.group_name, "",
            direction, rule_id, as_text(protocol), as_text(from_port), as_text(to_port), peer_type, peer,
            as_text(description),
        )


def peer_of_pair(pair: Mapping[str, Any], owner: str) -> str:
    group = as_text(lookup(pair, "groupId", "referencedGroupId") or lookup(pair, "groupName"))
    user = as_text(lookup(pair, "userId"))
    return f"{user}/{group}" if user and owner and user != owner else group


def permission_rules(head: RuleHead, direction: str, permission: Mapping[str, Any]) -> list[Rule]:
    """One rule per peer of a request ``ipPermissions`` item (no rule ids in requests)."""
    protocol = lookup(permission, "ipProtocol")
    low, high = lookup(permission, "fromPort"), lookup(permission, "toPort")
    peers: list[tuple[str, str, Any]] = []
    for r in mappings(lookup(permission, "ipRanges")):
        peers.append(("ipv4", as_text(lookup(r, "cidrIp")), lookup(r, "description")))
    for r in mappings(lookup(permission, "ipv6Ranges")):
        peers.append(("ipv6", as_text(lookup(r, "cidrIpv6")), lookup(r, "description")))
    for r in mappings(lookup(permission, "prefixListIds")):
        peers.append(("prefix-list", as_text(lookup(r, "prefixListId")), lookup(r, "description")))
    for r in mappings(lookup(permission, "groups", "userIdGroupPairs")):
        peers.append(("security-group", peer_of_pair(r, head.account_id), lookup(r, "description")))
    out = [head.rule(direction, "", protocol, low, high, kind, peer, text) for kind, peer, text in peers]
    if not out:
        out.append(head.rule(direction, "", protocol, low, high, "", "", ""))
    return out


def legacy_rules(head: RuleHead, direction: str, params: Mapping[str, Any]) -> list[Rule]:
    """The pre-2014 top-level form: ``cidrIp``/``ipProtocol``/``fromPort``/``toPort``."""
    protocol = lookup(params, "ipProtocol")
    low, high = lookup(params, "fromPort"), lookup(params, "toPort")
    cidr = lookup(params, "cidrIp")
    source_group = lookup(params, "sourceSecurityGroupName", "sourceSecurityGroupId")
    if cidr is None and source_group is None and protocol is None:
        return []
    if source_group is not None:
        owner = as_text(lookup(params, "sourceSecurityGroupOwnerId"))
        peer = f"{owner}/{as_text(source_group)}" if owner and owner != head.account_id else as_text(source_group)
        protocol_or_all = protocol if protocol is not None else "-1"
        rules = [head.rule(direction, "", protocol_or_all, low, high, "security-group", peer, "")]
        if cidr is None:
            return rules
    else:
        rules = []
    peer_type = "ipv6" if ":" in as_text(cidr) else "ipv4"
    if cidr is None:
        peer_type = ""
    rules.append(head.rule(direction, "", protocol, low, high, peer_type, as_text(cidr), ""))
    return rules


def request_rules(head: RuleHead, direction: str, params: Mapping[str, Any]) -> list[Rule]:
    rules = [r for p in mappings(lookup(params, "ipPermissions")) for r in permission_rules(head, direction, p)]
    return rules or legacy_rules(head, direction, params)


def response_rule(head: RuleHead, item: Mapping[str, Any], direction: str = "") -> Rule:
    """A rule of ``securityGroupRuleSet``/``revokedSecurityGroupRuleSet`` (rule-level API shape)."""
    egress = lookup(item, "isEgress")
    if egress is not None:
        direction = "egress" if is_egress(egress) else "ingress"
    if lookup(item, "cidrIpv4") is not None:
        peer_type, peer = "ipv4", as_text(lookup(item, "cidrIpv4"))
    elif lookup(item, "cidrIpv6") is not None:
        peer_type, peer = "ipv6", as_text(lookup(item, "cidrIpv6"))
    elif lookup(item, "prefixListId") is not None:
        peer_type, peer = "prefix-list", as_text(lookup(item, "prefixListId"))
    elif lookup(item, "referencedGroupInfo") is not None:
        owner = as_text(lookup(item, "groupOwnerId")) or head.account_id
        peer_type, peer = "security-group", peer_of_pair(lookup(item, "referencedGroupInfo"), owner)
    elif lookup(item, "referencedSecurityGroupId", "referencedGroupId") is not None:
        peer_type, peer = "security-group", as_text(lookup(item, "referencedSecurityGroupId", "referencedGroupId"))
    else:
        peer_type, peer = "", ""
    return head.rule(
        direction,
        as_text(lookup(item, "securityGroupRuleId")),
        lookup(item, "ipProtocol"),
        lookup(item, "fromPort"),
        lookup(item, "toPort"),
        peer_type,
        peer,
        lookup(item, "description"),
        as_text(lookup(item, "groupId")),
    )


def rule_ids(value: Any) -> list[str]:
    ids = []
    for item in listed(value):
        found = lookup(item, "securityGroupRuleId") if isinstance(item, Mapping) else item
        if found:
            ids.append(as_text(found))
    return ids
