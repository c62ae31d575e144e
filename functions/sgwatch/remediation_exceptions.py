"""Exceptions: a qualifying change an approver chose to keep, until a date.

Shared by the remediation function (its Keep job writes them) and the change notifier (it looks them up
before offering the remediation prompt), so it lives beside :mod:`sgwatch.remediation_prompt`.

An exception is written once, by the remediation function's Keep job, in two places of the evidence
bucket (both conditional puts, never overwritten):

* the decision, beside the alert's other decisions:
  ``{prefix}{account}/{region}/remediation/YYYY/MM/DD/<event id>-keep.json``;
* one index entry per security group it covers, so that the change notifier finds the exceptions of a
  group with one listing: ``{prefix}{account}/{region}/remediation/exceptions/<group id>/<expiry>-<event id>.json``
  (``<expiry>`` is ``YYYY-MM-DD``, so the keys sort by expiry and a listing that starts after today's
  date returns only exceptions still valid).

Both hold the same document: who kept it, when, the reason, the expiry (the last day it is valid, UTC)
and the rules it covers (each rule's id and its shape: direction, protocol, ports, peer). A later alert
of the same group is covered when each rule it added or modified is one of those rules: the same rule
id, or the same shape (the rule removed and added again).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .cloudtrail import rule_from_dict, rule_matches
from .evidence import REMEDIATION, EvidenceStore, Layout
from .remediation_prompt import KEEP
from .rules import Rule

__all__ = ["KEEP", "KeptException", "active", "covered_rules", "covering", "index_key", "revertible_rules"]

EXCEPTIONS = "exceptions/"
# A group's index entries read by the notifier: at most this many still-valid exceptions (one listing page).
MAX_LISTED = 50
_SHAPE = ("direction", "protocol", "from_port", "to_port", "peer_type", "peer")


def group_prefix(layout: Layout, account_id: str, region: str, group_id: str) -> str:
    return f"{layout.series(account_id, region, REMEDIATION)}{EXCEPTIONS}{group_id}/"


def index_key(layout: Layout, account_id: str, region: str, group_id: str, expires: str, event_id: str) -> str:
    return f"{group_prefix(layout, account_id, region, group_id)}{expires}-{event_id}.json"


def covered_rules(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The rules an exception of this event record covers: each added or modified rule as the alert showed it."""
    found: list[dict[str, str]] = []
    for change in record.get("changes") or ():
        if not isinstance(change, Mapping) or change.get("action") not in ("added", "modified"):
            continue
        after = change.get("after")
        if not isinstance(after, Mapping):
            continue
        rule = rule_from_dict(after)
        if rule.group_id:
            found.append({"group_id": rule.group_id, "rule_id": rule.rule_id,
                          **{name: getattr(rule, name) for name in _SHAPE}})
    return found


@dataclass(frozen=True)
class KeptException:
    """An exception as stored (see the module's docstring)."""

    event_id: str
    kept_by: str
    reason: str
    expires: str  # YYYY-MM-DD, the last day it is valid
    rules: tuple[Mapping[str, str], ...]

    @classmethod
    def from_document(cls, document: Any) -> KeptException | None:
        if not isinstance(document, Mapping):
            return None
        rules = document.get("rules")
        if not isinstance(rules, list):
            return None
        return cls(str(document.get("event_id") or ""), str(document.get("kept_by") or ""),
                   str(document.get("reason") or ""), str(document.get("expires") or ""),
                   tuple(r for r in rules if isinstance(r, Mapping)))

    def valid_on(self, day: date) -> bool:
        return self.expires >= day.isoformat()

    def covers(self, rule: Rule) -> bool:
        for kept in self.rules:
            if kept.get("group_id") != rule.group_id:
                continue
            if rule.rule_id and kept.get("rule_id") == rule.rule_id:
                return True
            if rule_matches(rule_from_dict(kept), rule):
                return True
        return False


def revertible_rules(changes: Iterable[Any]) -> list[Rule]:
    """The rules of an alert's changes that a revert would touch (added or modified, as they are now)."""
    found: list[Rule] = []
    for change in changes:
        if getattr(change, "action", None) in ("added", "modified") and getattr(change, "after", None) is not None:
            rule = change.after
            found.append(rule._replace(rule_id=rule.rule_id or getattr(change, "rule_id", "")))
    return found


def active(store: EvidenceStore, layout: Layout, account_id: str, region: str, group_ids: Sequence[str],
           today: date) -> list[KeptException]:
    """The exceptions of these groups still valid ``today``: one listing of each group's index (the keys after
    today's date, at most :data:`MAX_LISTED`) and one read of each. Errors raise: the caller says so."""
    found: list[KeptException] = []
    for group_id in dict.fromkeys(group_ids):
        prefix = group_prefix(layout, account_id, region, group_id)
        # "<expiry>-" sorts after "<yesterday>-..." and after "<today>" only when expiry >= today.
        listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix, StartAfter=f"{prefix}{today.isoformat()}",
                                          MaxKeys=MAX_LISTED)
        for item in listed.get("Contents") or ():
            kept = KeptException.from_document(json.loads(store.get(item["Key"]).body))
            if kept is not None and kept.valid_on(today):
                found.append(kept)
    return found


def covering(exceptions: Sequence[KeptException], rules: Sequence[Rule]) -> KeptException | None:
    """The exception covering every one of ``rules`` (None when any rule is not covered, or there is none)."""
    if not rules:
        return None
    for kept in exceptions:
        if all(kept.covers(rule) for rule in rules):
            return kept
    return None
