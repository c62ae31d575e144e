"""The section "Remediation and exceptions": what the remediation input (``remediation``) did in the period, from
the records the change notifier and the remediation function write once under
``{prefix}{account}/{region}/remediation/`` (:mod:`sgwatch.remediation.jobs`, :mod:`sgwatch.remediation_exceptions`).

- **Decisions on the period's alerts** (the records of the day folders ``YYYY/MM/DD/`` of the period, the alert's
  day, whenever the decision was taken): each revert, by whom (``auto``, the notifier at alert time, or the
  approver's Slack user id) and its outcome; each change kept as an exception (Keep) or restored as one after an
  automatic revert (Restore), by whom, until when and why.
- **Exceptions that expired in the period**: the exception index entries (``exceptions/<group id>/<expiry>-<event
  id>.json``) whose last valid day ends within the period, one row per exception.

Each row is one line of ``remediation.csv`` (:data:`HEADER`). A record that cannot be read, or is not a JSON object,
is an ``integrity`` gap of its account/region. An account/region without any record has nothing to show and no
gap: remediation is off unless the input turns it on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from ..remediation_exceptions import EXCEPTIONS
from ..remediation_prompt import KEEP, RESTORE, REVERT
from ..remediation_revert import AUTO
from .model import Gap, fmt_time, parse_time
from .period import Period
from .rows import Selected

if TYPE_CHECKING:
    from .selection import EvidenceKey

FILE = "remediation.csv"
KIND = "remediation-record"  # how the manifest names the records read
REVERTED, KEPT, RESTORED, EXPIRED = "reverted", "kept", "restored", "expired"
ACTIONS = (REVERTED, KEPT, RESTORED, EXPIRED)
HEADER = ("At", "AccountId", "Region", "Action", "By", "EventId", "Rules", "Outcome", "Expires", "Reason", "RecordKey")
_DECISIONS = {f"-{REVERT}.json": REVERTED, f"-{KEEP}.json": KEPT, f"-{RESTORE}.json": RESTORED}
_OUTCOME = f"-{REVERT}-outcome.json"


class RemediationRow(NamedTuple):
    """One line of ``remediation.csv`` (:data:`HEADER`): plain values, neutralised when written."""

    at: str  # when decided; for an expired exception, when it lapsed
    account_id: str
    region: str
    action: str  # one of ACTIONS
    by: str  # "auto" or the approver's Slack user id; for an expired exception, who kept it
    event_id: str
    rules: str
    outcome: str
    expires: str  # the last day an exception is valid (UTC)
    reason: str
    record_key: str


assert len(RemediationRow._fields) == len(HEADER)


def key_time(parts: Sequence[str]) -> datetime | None:
    """The time of a remediation key, split after the evidence prefix (account, region, ``remediation``, ...): a
    decision's day folder (midnight), or the moment an exception's index entry lapses (midnight after its expiry
    day); None for anything else."""
    try:
        if len(parts) == 6 and parts[3] + "/" == EXCEPTIONS and parts[5].endswith(".json"):
            expires = datetime.strptime(parts[5][:10], "%Y-%m-%d").replace(tzinfo=UTC)
            return expires + timedelta(days=1)
        if len(parts) == 7 and parts[6].endswith(".json"):
            return datetime(int(parts[3]), int(parts[4]), int(parts[5]), tzinfo=UTC)
    except ValueError:
        return None
    return None


def is_exception_entry(key: str) -> bool:
    return f"/{EXCEPTIONS}" in key


def reports_to_read(keys: Sequence[EvidenceKey], period: Period) -> list[EvidenceKey]:
    """The decision records of the period's day folders and the exception index entries that lapse in it."""
    return [k for k in keys if period.contains(k.time)]


def _rules(items: Any) -> str:
    found = [f"{item.get('rule_id') or 'a rule'} in {item.get('group_id') or 'a group'}"
             for item in items or () if isinstance(item, Mapping)]
    return "; ".join(found)


def _steps(outcomes: Any) -> list[Any]:
    return [o.get("step") for o in outcomes or () if isinstance(o, Mapping) and isinstance(o.get("step"), Mapping)]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _lines(doc: Mapping[str, Any]) -> str:
    lines = doc.get("lines")
    return "; ".join(str(line) for line in lines) if isinstance(lines, list) and lines else "nothing to revert"


def _decision(key: str, action: str, doc: Mapping[str, Any], outcome: str) -> RemediationRow:
    return RemediationRow(fmt_time(parse_time(doc.get("decided_at"))), _text(doc.get("account_id")),
                          _text(doc.get("region")), action, _text(doc.get("decided_by")), _text(doc.get("event_id")),
                          _rules(doc.get("rules")), outcome, _text(doc.get("expires")), _text(doc.get("reason")), key)


def findings(
    account_id: str, region: str, keys: Sequence[EvidenceKey], period: Period, read: Callable[[str], Any],
) -> tuple[list[RemediationRow], list[Gap]]:
    """The rows of one account/region. ``keys`` its remediation keys; ``read(key)`` the object read (None when the
    read failed)."""
    wanted = reports_to_read(keys, period)
    gaps: list[Gap] = []
    docs: dict[str, Mapping[str, Any]] = {}
    for k in wanted:
        obj = read(k.key)
        try:
            if obj is None:
                raise ValueError("could not be read")
            doc = json.loads(obj.body)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            gaps.append(Gap(account_id, region, "integrity", k.time.date().isoformat(),
                            f"remediation record {k.key} is not usable: {exc}"))
            continue
        docs[k.key] = {"account_id": account_id, "region": region, **doc}
    rows: list[RemediationRow] = []
    lapsed: set[str] = set()
    for k in wanted:
        doc = docs.get(k.key)
        if doc is None:
            continue
        if is_exception_entry(k.key):  # one entry per group an exception covers: one row per exception
            event_id = _text(doc.get("event_id"))
            if event_id in lapsed:
                continue
            lapsed.add(event_id)
            rows.append(RemediationRow(fmt_time(k.time), account_id, region, EXPIRED, _text(doc.get("kept_by")),
                                       event_id, _rules(doc.get("rules")), f"expired after {_text(doc.get('expires'))}",
                                       _text(doc.get("expires")), _text(doc.get("reason")), k.key))
            continue
        name = k.key.rsplit("/", 1)[-1]
        if name.endswith(_OUTCOME):
            continue  # shown with its decision
        action = next((a for suffix, a in _DECISIONS.items() if name.endswith(suffix)), None)
        if action == REVERTED and doc.get("decided_by") == AUTO:
            rows.append(_decision(k.key, action, {**doc, "rules": _steps(doc.get("outcomes"))},
                                  _text(doc.get("note")) or _lines(doc)))
        elif action == REVERTED:
            outcome_key = k.key[: -len(".json")] + "-outcome.json"
            found = docs.get(outcome_key)
            outcome = (_lines(found) if found is not None else
                       "outcome record not usable (see the gaps)" if any(o.key == outcome_key for o in wanted) else
                       "no outcome recorded (the revert job has not finished)")
            rows.append(_decision(k.key, action, {**doc, "rules": doc.get("planned")}, outcome))
        elif action is not None:
            rows.append(_decision(k.key, action, doc, f"{action} as exception until {_text(doc.get('expires'))}"))
    return rows, gaps


def order(r: RemediationRow) -> tuple[Any, ...]:
    """By time, then account, region, action (in :data:`ACTIONS` order) and event."""
    return (r.at, r.account_id, r.region, ACTIONS.index(r.action) if r.action in ACTIONS else len(ACTIONS),
            r.event_id, r)


def counts(rows: Iterable[RemediationRow]) -> list[tuple[str, int]]:
    """How many of each action (every action, in :data:`ACTIONS` order)."""
    found = Counter(r.action for r in rows)
    return [(a, found[a]) for a in ACTIONS]


def listed(rows: Sequence[RemediationRow], *actions: str) -> Selected[RemediationRow]:
    """The rows of these actions, read again from ``rows`` on each use."""
    return Selected(rows, lambda r: (r,) if r.action in actions else ())


def context(rows: Sequence[RemediationRow]) -> dict[str, Any]:
    """What ``templates/remediation.html`` shows."""
    return {"remediation_counts": counts(rows), "remediation_reverted": listed(rows, REVERTED),
            "remediation_kept": listed(rows, KEPT, RESTORED), "remediation_expired": listed(rows, EXPIRED),
            "remediation_csv": FILE}
