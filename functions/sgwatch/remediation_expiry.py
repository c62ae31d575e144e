"""Exceptions that expire: the kept rules alerted again, once, when their exception has expired.

The inventory run of each account and region (with remediation on: ``REMEDIATION_NOTIFIER_ARN`` names the change
notifier) lists the pair's exception index (:mod:`sgwatch.remediation_exceptions`) once and keeps the entries whose
expiry is past (the last valid day before today, UTC). Each one not announced before is checked against the rules
of the snapshot the run just took: the rules it covers (same rule id, or the same shape) that are still there are
handed to the change notifier as a new qualifying change, by an asynchronous invocation of an event the notifier
recognises (source :data:`SOURCE`): the notifier's normal path applies (approve mode: the alert with the Revert and
Keep buttons; auto mode: the revert). The alert says why it is raised (:func:`reason`), and its change is out of
change control: the exception that let it stay has expired.

What was announced is written once, per group the exception covers (the index has an entry per group):
``{prefix}{account}/{region}/remediation/expired/<group id>/<exception event id>.json`` (which rules were handed
over, or that none is left), only after the hand-over succeeded, so a hand-over that fails is tried again by the
next run; a second run, a redelivered queued pair or an overlapping schedule finds it and announces nothing again
(and the notifier's own exactly-once record of the event id it is handed is the second guard). A listing, a read or
a hand-over that fails is raised to the run, which fails the pair and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import log
from .evidence import REMEDIATION, EvidenceStore, Layout
from .provenance import OUT_OF_BAND, UNKNOWN, Provenance
from .remediation_exceptions import EXCEPTIONS, KeptException
from .rules import Rule
from .text import clean

SOURCE = "sgwatch.exception-expired"
DETAIL_TYPE = "SG Watch exception expired"
EXPIRED = "expired/"
# The lambda:InvokeFunction of the notifier (granted on exactly that function when remediation is on).
IAM_ACTIONS = ("lambda:InvokeFunction",)
_ID_PREFIX = "exception-expired-"


def notice_key(layout: Layout, account_id: str, region: str, group_id: str, event_id: str) -> str:
    return f"{layout.series(account_id, region, REMEDIATION)}{EXPIRED}{group_id}/{event_id}.json"


def reason(kept_by: str, expires: str, reason_text: str = "") -> str:
    """Why the alert is raised, as the mail, Slack and the evidence say it."""
    why = f"; its reason was: {clean(reason_text, 300)}" if reason_text else ""
    return f"exception kept by {clean(kept_by, 200) or 'an approver'} until {clean(expires, 20)} (UTC) has expired{why}"


@dataclass(frozen=True)
class Expired:
    """One index entry whose exception has expired."""

    key: str
    group_id: str
    kept: KeptException


@dataclass
class Outcome:
    handed_over: list[str] = field(default_factory=list)  # exception event ids whose live rules were handed over
    gone: list[str] = field(default_factory=list)  # exception event ids none of whose rules is left


def expired(store: EvidenceStore, layout: Layout, account_id: str, region: str, today: date) -> list[Expired]:
    """The index entries of the pair whose exception expired before ``today`` and that were not announced: one
    listing of the index and one of the notices, and one read of each entry that is left. Errors raise."""
    series = layout.series(account_id, region, REMEDIATION)
    announced = {k[len(series) + len(EXPIRED):] for k in store.iter_keys(f"{series}{EXPIRED}")}
    found: list[Expired] = []
    for key in store.iter_keys(f"{series}{EXCEPTIONS}"):
        group_id, _, name = key[len(series) + len(EXCEPTIONS):].partition("/")
        stem = name.removesuffix(".json")
        expires, event_id = stem[:10], stem[11:]  # "<YYYY-MM-DD>-<event id>"
        if not event_id or expires >= today.isoformat() or f"{group_id}/{event_id}.json" in announced:
            continue  # still valid (or not an entry), or announced before: not read
        kept = KeptException.from_document(json.loads(store.get(key).body))
        if kept is not None and kept.event_id and not kept.valid_on(today):
            found.append(Expired(key, group_id, kept))
    return found


def live_rules(kept: KeptException, rows: Iterable[Rule]) -> list[Rule]:
    """The rules of the snapshot the exception covers (the same rule id, or the same shape)."""
    return [row for row in rows if not row.is_placeholder and kept.covers(row)]


def hand_over_event(item: Expired, rules: Sequence[Rule], account_id: str, region: str,
                    now: datetime) -> dict[str, Any]:
    """The event the notifier is handed: an EventBridge-shaped event of :data:`SOURCE` whose detail is the
    CloudTrail record of an authorisation adding ``rules`` (one direction's; see :func:`hand_overs`)."""
    direction = rules[0].direction
    items = [_rule_item(rule) for rule in rules]
    event_id = f"{_ID_PREFIX}{item.kept.event_id}-{item.group_id}{'-egress' if direction == 'egress' else ''}"[:128]
    when = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": event_id,
        "source": SOURCE,
        "detail-type": DETAIL_TYPE,
        "account": account_id,
        "region": region,
        "time": when,
        "detail": {
            "eventVersion": "1.09",
            "eventID": event_id,
            "eventTime": when,
            "eventSource": "ec2.amazonaws.com",
            "eventName": "AuthorizeSecurityGroupEgress" if direction == "egress" else "AuthorizeSecurityGroupIngress",
            "awsRegion": region,
            "recipientAccountId": account_id,
            "userIdentity": {"type": "SG Watch", "userName": "exception expiry", "accountId": account_id},
            "userAgent": SOURCE,
            "requestParameters": {"groupId": item.group_id},
            "responseElements": {"_return": True, "securityGroupRuleSet": {"items": items}},
            "sgwatch": {"exception_event_id": item.kept.event_id, "kept_by": item.kept.kept_by,
                        "expires": item.kept.expires, "reason": item.kept.reason},
        },
    }


def _rule_item(rule: Rule) -> dict[str, Any]:
    found: dict[str, Any] = {"groupId": rule.group_id, "securityGroupRuleId": rule.rule_id,
                             "isEgress": rule.direction == "egress", "ipProtocol": rule.protocol,
                             "description": rule.description}
    for name, value in (("fromPort", rule.from_port), ("toPort", rule.to_port)):
        if value not in ("", None):
            found[name] = int(value)
    peer_field = {"ipv4": "cidrIpv4", "ipv6": "cidrIpv6", "prefix-list": "prefixListId"}.get(rule.peer_type)
    if peer_field:
        found[peer_field] = rule.peer
    elif rule.peer_type == "security-group":
        owner, _, group = rule.peer.rpartition("/")
        found["referencedGroupInfo"] = {"groupId": group, **({"userId": owner} if owner else {})}
    return found


def hand_overs(item: Expired, rules: Sequence[Rule], account_id: str, region: str,
               now: datetime) -> list[dict[str, Any]]:
    """One event per direction (a CloudTrail authorisation adds rules of one direction)."""
    directions = list(dict.fromkeys(rule.direction for rule in rules))
    return [hand_over_event(item, [r for r in rules if r.direction == d], account_id, region, now)
            for d in directions]


def check(store: EvidenceStore, layout: Layout, account_id: str, region: str, rows: Iterable[Rule],
          now: datetime, hand_over: Callable[[dict[str, Any]], None]) -> Outcome:
    """Announce the pair's exceptions that expired (see the module's docstring); ``hand_over`` raises when the
    notifier was not handed the event. The first failure raises once the others were tried."""
    outcome = Outcome()
    snapshot = list(rows)
    failures: list[str] = []
    for item in expired(store, layout, account_id, region, now.date()):
        live = live_rules(item.kept, snapshot)
        try:
            for event in hand_overs(item, live, account_id, region, now):
                hand_over(event)
        except Exception as exc:  # said by the run: the pair fails, the next run hands it over again
            failures.append(f"{item.kept.event_id}: {type(exc).__name__}: {str(exc)[:300]}")
            log.error("expired_exception_not_handed_over", account_id=account_id, region=region,
                      exception_event_id=item.kept.event_id, error=failures[-1])
            continue
        notice = {"exception_event_id": item.kept.event_id, "group_id": item.group_id, "kept_by": item.kept.kept_by,
                  "expires": item.kept.expires, "reason": item.kept.reason, "noticed_at": now.isoformat(),
                  "rules": [rule.rule_id for rule in live],
                  "outcome": "handed over to the change notifier" if live else "no covered rule is left"}
        store.put_new(notice_key(layout, account_id, region, item.group_id, item.kept.event_id),
                      json.dumps(notice, sort_keys=True).encode("utf-8"), "application/json")
        (outcome.handed_over if live else outcome.gone).append(item.kept.event_id)
        log.info("expired_exception_announced", account_id=account_id, region=region,
                 exception_event_id=item.kept.event_id, rules=len(live))
    if failures:
        raise HandOverFailed("; ".join(failures[:5]))
    return outcome


class HandOverFailed(RuntimeError):
    """The notifier could not be handed an expired exception's rules (none of those is noticed)."""


# --- the notifier's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Announced:
    """What the notifier knows of an event it was handed: whose exception expired, when."""

    kept_by: str
    expires: str
    reason: str

    def line(self) -> str:
        return reason(self.kept_by, self.expires, self.reason)

    def provenance(self) -> Provenance:
        """The change is out of change control: the exception that let the rule stay has expired."""
        return Provenance(UNKNOWN, "the exception that kept the rule has expired", "", OUT_OF_BAND)


def announced(event: Any) -> Announced | None:
    """The expiry an event of :data:`SOURCE` announces; None for any other event."""
    if not isinstance(event, Mapping) or event.get("source") != SOURCE:
        return None
    detail = event.get("detail")
    found = detail.get("sgwatch") if isinstance(detail, Mapping) else None
    if not isinstance(found, Mapping):
        return None
    return Announced(str(found.get("kept_by") or ""), str(found.get("expires") or ""), str(found.get("reason") or ""))
