"""The partial result of one account/region: what its part of a fanned-out pack hands to the merge.

A partial is one small JSON document holding the account/region's :class:`~.build.ScopeReview`
(its scope, current rules, changes with the events that explain them, change events, exposure rows,
unused groups and gaps) and the evidence objects it used, hashed for the manifest. The merge
reads partials only, never evidence, and :func:`~.build.assemble` makes the same review from them
as :func:`~.build.build` makes from the evidence in one go.

A part that kept failing leaves a *failed* partial instead: the merge shows it as a gap of its
account/region (``part-failed``), never as an account/region without findings.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from ..exposure_report import ExposureRow
from ..provenance import Provenance
from ..rules import Rule
from .build import ScopeReview
from .consistency import DriftFinding
from .model import Change, ChangeEvent, Gap, Scope, UnusedGroup, UsedObject
from .period import Period
from .remediation import RemediationRow
from .rule_findings import ReviewFinding

SCHEMA = 1
PART_FAILED = "part-failed"  # the gap of an account/region whose part kept failing


@dataclasses.dataclass
class Partial:
    account_id: str
    region: str
    review: ScopeReview | None  # None: no evidence of the kinds a review reads (or the part failed)
    used: list[UsedObject]
    failed: str = ""  # why the part failed, after every attempt

    def scope_review(self, period: Period) -> ScopeReview | None:
        """What the merge assembles: the review, or for a failed part an account/region with nothing
        known and one ``part-failed`` gap."""
        if not self.failed:
            return self.review
        detail = f"the review of this account/region could not be built (retried, then given up): {self.failed}"
        scope = Scope(self.account_id, self.region, {day: 0 for day in period.days()}, None, None, 0, 0, 0, {})
        return ScopeReview(scope, [], [], [], [], [], [Gap(self.account_id, self.region, PART_FAILED, "", detail)])


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _rule(rule: Rule | None) -> list[str] | None:
    return list(rule) if rule is not None else None


def _parse_rule(value: list[str] | None) -> Rule | None:
    return Rule._make(value) if value is not None else None


def _event(e: ChangeEvent) -> dict[str, Any]:
    return {
        "key": e.key, "event_id": e.event_id, "event_name": e.event_name, "event_time": _time(e.event_time),
        "group_ids": e.group_ids, "group_name": e.group_name, "actor": e.actor, "source_ip": e.source_ip,
        "error_code": e.error_code, "severity": e.severity, "changes": e.changes, "account_id": e.account_id,
        "region": e.region, "provenance": dataclasses.asdict(e.provenance),
    }


def _parse_event(d: dict[str, Any]) -> ChangeEvent:
    return ChangeEvent(**{**d, "event_time": _parse_time(d["event_time"]), "provenance": Provenance(**d["provenance"])})


def _change(c: Change, index: dict[int, int]) -> dict[str, Any]:
    return {
        "detected_at": _time(c.detected_at), "window_start": _time(c.window_start), "account_id": c.account_id,
        "region": c.region, "vpc_id": c.vpc_id, "group_id": c.group_id, "group_name": c.group_name,
        "change_type": c.change_type, "before": _rule(c.before), "after": _rule(c.after), "diff_key": c.diff_key,
        "events": [index[id(e)] for e in c.events],  # the explaining events, by their place in "events"
    }


def _parse_change(d: dict[str, Any], events: list[ChangeEvent]) -> Change:
    return Change(
        **{**d, "detected_at": _parse_time(d["detected_at"]), "window_start": _parse_time(d["window_start"]),
           "before": _parse_rule(d["before"]), "after": _parse_rule(d["after"]),
           "events": [events[i] for i in d["events"]]}
    )


def _scope(s: Scope) -> dict[str, Any]:
    return {
        "account_id": s.account_id, "region": s.region,
        "coverage": [[day.isoformat(), count] for day, count in s.coverage.items()],
        "current_snapshot": s.current_snapshot, "current_taken_at": _time(s.current_taken_at), "groups": s.groups,
        "rules": s.rules, "events": s.events, "present": s.present, "exposure_taken_at": _time(s.exposure_taken_at),
    }


def _parse_scope(d: dict[str, Any]) -> Scope:
    return Scope(
        **{**d, "coverage": {date.fromisoformat(day): count for day, count in d["coverage"]},
           "current_taken_at": _parse_time(d["current_taken_at"]),
           "exposure_taken_at": _parse_time(d["exposure_taken_at"])}
    )


def dumps(partial: Partial) -> bytes:
    """The partial as stored (compact JSON)."""
    body: dict[str, Any] = {"schema": SCHEMA, "account_id": partial.account_id, "region": partial.region,
                            "used": [dataclasses.astuple(u) for u in partial.used]}
    if partial.failed:
        body["failed"] = partial.failed
    review = partial.review
    if review is not None:
        index: dict[int, int] = {}
        for number, event in enumerate(review.events):
            index.setdefault(id(event), number)
        body["review"] = {
            "scope": _scope(review.scope),
            "rules": [list(r) for r in review.rules],
            "events": [_event(e) for e in review.events],
            "changes": [_change(c, index) for c in review.changes],
            "exposure": [list(r) for r in review.exposure],
            "unused": [dataclasses.astuple(u) for u in review.unused],
            "gaps": [dataclasses.astuple(g) for g in review.gaps],
            "rule_review": [list(f) for f in review.rule_review],
            "drift": [list(f) for f in review.drift],
            "remediation": [list(r) for r in review.remediation],
        }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")


def loads(body: bytes) -> Partial:
    """A stored partial; ValueError when it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a review partial of schema {SCHEMA}")
    found = data.get("review")
    review = None
    if found is not None:
        events = [_parse_event(e) for e in found["events"]]
        review = ScopeReview(
            scope=_parse_scope(found["scope"]),
            rules=[Rule._make(r) for r in found["rules"]],
            changes=[_parse_change(c, events) for c in found["changes"]],
            events=events,
            exposure=[ExposureRow._make(r) for r in found["exposure"]],
            unused=[UnusedGroup(*u) for u in found["unused"]],
            gaps=[Gap(*g) for g in found["gaps"]],
            rule_review=[ReviewFinding._make(f) for f in found.get("rule_review", ())],
            drift=[DriftFinding._make(f) for f in found.get("drift", ())],
            remediation=[RemediationRow._make(r) for r in found.get("remediation", ())],
        )
    return Partial(str(data["account_id"]), str(data["region"]), review, [UsedObject(*u) for u in data["used"]],
                   str(data.get("failed") or ""))
