"""Where a rule's business reason is kept: tags on the rule, else tags on its group (for all its rules),
else an entry of the register (a CSV object in S3), else, when the policy is on, its peer (a private
address range or its own group); otherwise it has none."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from . import risk
from .csvio import CsvFormatError, from_csv
from .rule_coverage import ADDRESS_TYPES, ANY, Scope, covers, scope

RULE_TAG = "rule-tag"
GROUP_TAG = "group-tag"
REGISTER = "register"
POLICY = "policy"
NONE = "none"
SOURCES = (RULE_TAG, GROUP_TAG, REGISTER, POLICY, NONE)

Tags = Mapping[str, str]


@dataclass(frozen=True)
class TagKeys:
    """The tag keys (and register columns' meaning) of an organisation's own scheme."""

    justification: str = "justification"
    owner: str = "owner"
    ticket: str = "ticket"
    expires: str = "expires"


class Justification(NamedTuple):
    """A rule's reason, as the report's last five columns."""

    reason: str
    owner: str
    ticket: str
    expires: str  # an ISO date as written, or ""
    source: str  # one of SOURCES


UNJUSTIFIED = Justification("", "", "", "", NONE)


def from_tags(tags: Tags | None, keys: TagKeys, source: str) -> Justification | None:
    """The justification the tags hold; None without a (non-blank) justification tag."""
    reason = tags.get(keys.justification) if tags else None
    if not reason or not (reason := reason.strip()):
        return None
    assert tags is not None
    get = tags.get
    return Justification(reason, get(keys.owner, "").strip(), get(keys.ticket, "").strip(),
                         get(keys.expires, "").strip(), source)


# ------------------------------------------------------------------ the register

REGISTER_HEADER = (
    "GroupId", "GroupName", "Direction", "Protocol", "FromPort", "ToPort", "Peer",
    "Justification", "Owner", "Ticket", "Expires",
)


@dataclass(frozen=True)
class Entry:
    group_id: str
    group_name: str  # a pattern (``*`` and ``?``), matched against the whole name
    direction: str
    scope: Scope
    justification: Justification

    def matches(self, group_id: str, group_name: str, direction: str, rule: Scope) -> bool:
        if self.group_id and self.group_id != group_id:
            return False
        if self.group_name and not fnmatch.fnmatchcase(group_name, self.group_name):
            return False
        if self.direction and self.direction != direction:
            return False
        return covers(self.scope, rule)


def _peer_type(peer: str) -> str:
    if not peer:
        return ANY
    if peer.startswith("pl-"):
        return "prefix-list"
    if "sg-" in peer:
        return "security-group"
    return "ipv6" if ":" in peer else "ipv4"


def parse_register(body: bytes) -> list[Entry]:
    """The register's entries, in order (the first that matches a rule justifies it).

    Header exactly :data:`REGISTER_HEADER`; each entry names a group by id or by name pattern (or both)
    and has a justification; Direction is empty, ``ingress`` or ``egress``; an empty Protocol, ports
    or Peer matches any; an address Peer matches the ranges inside it. :class:`CsvFormatError` names
    the first line that is not an entry.
    """
    text = body.decode("utf-8-sig", errors="strict") if body else ""
    if text and not text.endswith("\n"):
        text += "\n"
    entries = []
    for line, row in enumerate(from_csv(text.encode("utf-8"), REGISTER_HEADER), start=2):
        group_id, group_name, direction, protocol, from_port, to_port, peer, reason, owner, ticket, expires = (
            cell.strip() for cell in row)
        if not (group_id or group_name):
            raise CsvFormatError(f"register line {line}: neither GroupId nor GroupName")
        if not reason:
            raise CsvFormatError(f"register line {line}: no Justification")
        if direction not in ("", "ingress", "egress"):
            raise CsvFormatError(f"register line {line}: Direction {direction!r} is not ingress or egress")
        peer_type = _peer_type(peer)
        entry_scope = scope(protocol or ANY, from_port, to_port, peer_type, peer)
        if peer_type in ADDRESS_TYPES and entry_scope.network is None:
            raise CsvFormatError(f"register line {line}: Peer {peer!r} is not an address range")
        entries.append(Entry(group_id, group_name, direction, entry_scope,
                             Justification(reason, owner, ticket, expires, REGISTER)))
    return entries


# ------------------------------------------------------------------ one rule


@dataclass(frozen=True)
class Sources:
    """Everything that can justify a rule in one account and region."""

    keys: TagKeys = TagKeys()
    rule_tags: Mapping[str, Tags] | None = None  # by rule id
    group_tags: Mapping[str, Tags] | None = None  # by group id
    register: Sequence[Entry] = ()
    private_peers_justified: bool = False  # the policy: a private or same-group peer needs no reason

    def justify(self, group_id: str, group_name: str, direction: str, rule_id: str, rule: Scope) -> Justification:
        found = from_tags((self.rule_tags or {}).get(rule_id), self.keys, RULE_TAG)
        if found is None:
            found = from_tags((self.group_tags or {}).get(group_id), self.keys, GROUP_TAG)
        if found is None:
            found = next((e.justification for e in self.register if e.matches(group_id, group_name, direction, rule)),
                         None)
        if found is None and self.private_peers_justified:
            found = _by_policy(group_id, rule)
        return found or UNJUSTIFIED


def _by_policy(group_id: str, rule: Scope) -> Justification | None:
    if rule.peer_type in ADDRESS_TYPES and risk.address_class(rule.peer) == risk.INTERNAL:
        return Justification("private peer", "", "", "", POLICY)
    if rule.peer_type == "security-group" and rule.peer == group_id:
        return Justification("same group", "", "", "", POLICY)
    return None
