"""The expiry digest: the justifications of an account and region that have expired or expire within the warning
days (the rule review's ``expired`` and ``expiring`` findings), announced in one message per run and account-region
(SNS, and Slack when configured) naming each rule, its owner and the date - each of them once, not again every day.

What was announced is remembered write-once in the evidence bucket, under
``{prefix}{account}/{region}/expiry-notices/``:

- ``announced/<rule id>/<finding>-<date>.json``, one per rule, finding and expiry date, written once the digest was
  delivered: a rule announced as expiring is announced again when it has expired, or when its date changes;
- ``claims/<digest id>/<attempt>.json``: which run announces a digest (its id: the SHA-256 of the names of the rules
  it announces). The conditional put (``If-None-Match``) decides: of two runs with the same rules to announce, the
  one whose claim is written announces, the other does nothing. A claim whose delivery failed gets
  ``<attempt>.failed.json`` and the next run claims the next attempt, so a failed delivery is never recorded as
  announced; a claim left by a run that died before it finished is taken over once it is :data:`CLAIM_TIMEOUT` old.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import log, slack
from .evidence import EXPIRY_NOTICES, EvidenceStore, series_prefix
from .rule_review import EXPIRED, EXPIRING
from .text import clean

# A run holds its claim while it delivers: longer than the longest Lambda invocation (900 s).
CLAIM_TIMEOUT = timedelta(minutes=20)
SHOWN = 100  # rules a message names; the rest are counted (the rule-review report lists every one)
_FINDING, _DETAIL, _JUSTIFICATION, _OWNER, _TICKET, _EXPIRES = 11, 12, 13, 14, 15, 16  # in REVIEW_HEADER


@dataclass(frozen=True)
class Lapse:
    """One rule whose justification has expired or expires soon."""

    group_id: str
    group_name: str
    rule_id: str
    rule: str  # direction, protocol, ports and peer
    finding: str  # EXPIRED or EXPIRING
    detail: str
    reason: str
    owner: str
    ticket: str
    expires: str

    @property
    def name(self) -> str:
        """Its announced record's name: the rule, the finding and the date (a date that is not one, hashed)."""
        try:
            when = date.fromisoformat(self.expires.strip()).isoformat()
        except ValueError:
            when = "x" + hashlib.sha256(self.expires.encode("utf-8")).hexdigest()[:16]
        return f"{self.rule_id or self.group_id}/{self.finding}-{when}"


def lapses(rows: Iterable[Sequence[str]]) -> list[Lapse]:
    """The expired and expiring findings of rule-review rows (:data:`sgwatch.rule_review.REVIEW_HEADER`)."""
    return [
        Lapse(r[3], r[4], r[5], " ".join(c for c in (r[6], r[7], f"{r[8]}-{r[9]}" if r[8] or r[9] else "", r[10]) if c),
              r[_FINDING], r[_DETAIL], r[_JUSTIFICATION], r[_OWNER], r[_TICKET], r[_EXPIRES])
        for r in rows if r[_FINDING] in (EXPIRED, EXPIRING)
    ]


@dataclass(frozen=True)
class Digest:
    """What one message announces."""

    account_id: str
    region: str
    lapses: list[Lapse]
    report_key: str  # the rule-review report that lists them

    @property
    def expired(self) -> int:
        return sum(1 for x in self.lapses if x.finding == EXPIRED)

    @property
    def subject(self) -> str:
        n, expired = len(self.lapses), self.expired
        what = "expired" if expired == n else "expiring" if not expired else "expired or expiring"
        return f"SG Watch: {n} rule justification{'s' * (n != 1)} {what} in {self.account_id} {self.region}"

    def lines(self, escape: Callable[[str], str]) -> list[str]:
        """One line per rule (``escape``: what makes user-controlled text inert where the line goes)."""
        out = []
        for x in self.lapses[:SHOWN]:
            who = escape(clean(x.owner, 200)) if x.owner else "no owner"
            ticket = f", ticket {escape(clean(x.ticket, 200))}" if x.ticket else ""
            out.append(f"- {x.rule_id} in {x.group_id} ({escape(clean(x.group_name, 255))}) {escape(clean(x.rule))}: "
                       f"{escape(clean(x.detail))}; owner {who}{ticket}; reason: {escape(clean(x.reason))}")
        if len(self.lapses) > SHOWN:
            out.append(f"... and {len(self.lapses) - SHOWN} more")
        return out

    def body(self, escape: Callable[[str], str] = lambda s: s) -> str:
        return "\n".join([
            f"Rule justifications that have expired or expire within the warning days in account {self.account_id}, "
            f"region {self.region} (each announced once):", "", *self.lines(escape), "",
            f"Every finding: {self.report_key}",
        ])


@dataclass(frozen=True)
class Outcome:
    announced: int  # rules named in the message this run delivered (0: none)
    pending: int  # rules not announced before this run
    claim: str  # the claim this run wrote, or the one it found


def _listing(store: EvidenceStore, prefix: str) -> dict[str, datetime]:
    """Key -> LastModified under ``prefix``."""
    found: dict[str, datetime] = {}
    for page in store.s3.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix):
        for item in page.get("Contents") or ():
            found[item["Key"]] = item["LastModified"]
    return found


def _attempt(claims: dict[str, datetime], folder: str, now: datetime) -> tuple[int, str]:
    """The attempt this run may claim (0: none, another run holds the digest) and the latest claim's key."""
    numbers = sorted(int(k[len(folder):-5]) for k in claims if k[len(folder):-5].isdigit() and k.endswith(".json"))
    if not numbers:
        return 1, ""
    latest = numbers[-1]
    key = f"{folder}{latest}.json"
    failed = f"{folder}{latest}.failed.json" in claims
    if failed or now - claims[key] > CLAIM_TIMEOUT:
        return latest + 1, key
    return 0, key


def announce(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    rows: Iterable[Sequence[str]],
    report_key: str,
    deliver: Callable[[Digest], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Announce the lapsed justifications of ``rows`` not announced before, in one message (``deliver``
    raises when it fails), and remember them. See the module's docstring for the records."""
    found = lapses(rows)
    if not found:
        return Outcome(0, 0, "")
    base = series_prefix(prefix, account_id, region, EXPIRY_NOTICES)
    done = {k[len(base) + len("announced/"):-5] for k in _listing(store, base + "announced/")}
    pending = sorted((x for x in found if x.name not in done), key=lambda x: x.name)
    if not pending:
        return Outcome(0, 0, "")
    digest_id = hashlib.sha256("\n".join(x.name for x in pending).encode("utf-8")).hexdigest()[:32]
    folder = f"{base}claims/{digest_id}/"
    attempt, latest = _attempt(_listing(store, folder), folder, now())
    claim = f"{folder}{attempt}.json"
    if not attempt or not store.put_new(claim, json.dumps({"rules": len(pending)}).encode(), "application/json"):
        log.info("expiry_digest_claimed_elsewhere", account_id=account_id, region=region,
                 claim=latest if not attempt else claim, rules=len(pending))
        return Outcome(0, len(pending), latest if not attempt else claim)
    try:
        deliver(Digest(account_id, region, pending, report_key))
    except Exception as exc:
        store.put_new(f"{folder}{attempt}.failed.json", json.dumps({"error": str(exc)[:500]}).encode(),
                      "application/json")
        raise
    for x in pending:
        store.put_new(f"{base}announced/{x.name}.json", json.dumps({"claim": claim}).encode(), "application/json")
    log.info("expiry_digest_announced", account_id=account_id, region=region, claim=claim, rules=len(pending))
    return Outcome(len(pending), len(pending), claim)


def deliverer(topic_arn: str, slack_config: Any, publish: Callable[..., Any], post: Callable[[Any, str], Any]
              ) -> Callable[[Digest], None] | None:
    """How a digest is delivered: SNS (the mail lines cleaned), and Slack when configured (user text escaped;
    a failed post is logged, the SNS message stands; with Slack alone it raises). None without either."""
    if not topic_arn and slack_config is None:
        return None

    def deliver(digest: Digest) -> None:
        if topic_arn:
            severity = "MEDIUM" if digest.expired else "LOW"
            publish(topic_arn, digest.subject, digest.body(),
                    {"event_name": "JustificationExpiry", "severity": severity})
        if slack_config is not None:
            text = f"*{slack.entities(digest.subject)}*\n{digest.body(slack.escape)}"
            try:
                post(slack_config, text)
            except Exception as exc:
                if not topic_arn:
                    raise
                log.error("slack_failed", error=f"{type(exc).__name__}: {exc}")

    return deliver
