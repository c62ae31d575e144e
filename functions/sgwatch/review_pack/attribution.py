"""Who and when: the change events that explain each diff change, and the gaps between the two.

A diff records what changed between two snapshots; a change-event record (written by the
change notifier) records who changed what, when and through which channel. Each diff change
takes the events that explain it (:func:`explaining_events`: same group, same rule, inside the
window between the two snapshots). A change no event explains is **unattributed**: a gap in
the change record (PCI DSS 1.2.2), each one listed. An event no diff shows is a gap too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..diff import ADDED, GROUP_ADDED, GROUP_REMOVED
from ..rules import Rule
from .model import Change, ChangeEvent, Gap, fmt_time
from .period import Period
from .selection import ScopeKeys
from .tables import rule_cell

Window = tuple[datetime | None, datetime, str]  # what one diff covers: (previous snapshot, its snapshot], diff key


def in_window(event_time: datetime, start: datetime | None, end: datetime) -> bool:
    """Whether an event belongs to the window ``(start, end]`` between two snapshots, at CloudTrail's precision.

    CloudTrail event times have whole seconds, snapshot stamps milliseconds: the event happened
    somewhere in its second, so it belongs to each window that contains part of that second. An
    event in the same second as a snapshot belongs to the windows on both sides of it (the snapshot
    may or may not have seen it); the diff that shows its rule takes it.
    """
    second = event_time.replace(microsecond=0)
    return second <= end and (start is None or second + timedelta(seconds=1) > start)


def same_rule(change: Mapping[str, Any], rule: Rule | None) -> bool:
    """Whether a change of an event record (its before or after) is ``rule``: same id, or same shape."""
    if rule is None:
        return False
    for side in ("before", "after"):
        found = change.get(side)
        if not isinstance(found, dict):
            continue
        if found.get("rule_id") and rule.rule_id and str(found.get("rule_id")) == rule.rule_id:
            return True
        fields = ("direction", "protocol", "from_port", "to_port", "peer")
        ours = (rule.direction, rule.protocol, rule.from_port, rule.to_port, rule.peer)
        theirs = tuple("" if found.get(f) is None else str(found.get(f)) for f in fields)
        if theirs == ours:
            return True
    return False


def is_default_egress(rule: Rule | None) -> bool:
    """The rule AWS gives every new group, which its CreateSecurityGroup call does not detail: all traffic
    out to 0.0.0.0/0, and to ::/0 in a VPC with an IPv6 block (Amazon VPC user guide, "Security group rules":
    a new security group starts with an outbound rule that allows all outbound traffic)."""
    return (rule is not None and rule.direction == "egress" and rule.protocol == "-1"
            and rule.peer in ("0.0.0.0/0", "::/0"))


def explaining_events(change: Change, events: list[ChangeEvent]) -> list[ChangeEvent]:
    """The change events that explain one diff change. The matching rule, all of it:

    * **group**: the event names the change's group id (``group_ids``);
    * **time window**: the event happened after the snapshot before the diff and no later than the
      snapshot whose diff shows the change, at CloudTrail's precision: its second overlaps
      ``(window_start, detected_at]`` (:func:`in_window`; the first diff of a chain has no start);
    * **success**: the call did not fail (a failed call changed nothing);
    * **rule**: a created group takes ``CreateSecurityGroup``, a deleted one
      ``DeleteSecurityGroup``; a rule change takes the events that detail it, before or after
      (:func:`same_rule`: the same rule id, or the same direction, protocol, ports and peer).
      When no event details it, an event of the group and window that details no rule at all
      (the notifier could not tell which rules it touched) explains it; one that details other
      rules never does. The rule AWS gives every new group (:func:`is_default_egress`) added in the
      window also takes its group's ``CreateSecurityGroup``.

    A change without any explaining event is unattributed.
    """
    candidates = [
        e
        for e in events
        if change.group_id in e.group_ids
        and not e.error_code
        and e.event_time is not None
        and in_window(e.event_time, change.window_start, change.detected_at)
    ]
    if change.change_type == GROUP_ADDED:
        exact = [e for e in candidates if e.event_name == "CreateSecurityGroup"]
    elif change.change_type == GROUP_REMOVED:
        exact = [e for e in candidates if e.event_name == "DeleteSecurityGroup"]
    else:
        created_with_it = change.change_type == ADDED and is_default_egress(change.after)
        exact = [
            e for e in candidates if any(same_rule(c, change.before) or same_rule(c, change.after) for c in e.changes)
            or (created_with_it and e.event_name == "CreateSecurityGroup")
        ]
    # An event that details other rules does not explain this one; one without details may.
    return exact or [e for e in candidates if not e.changes]


def _what(change: Change) -> str:
    """``Added ingress tcp port 22 ...`` (the rule after, else before), or the group change alone."""
    rule = rule_cell(change.after) or rule_cell(change.before)
    return f"{change.change_type} {rule}" if rule else change.change_type


def match(
    period: Period, keys: ScopeKeys, changes: list[Change], windows: list[Window], events: list[ChangeEvent]
) -> tuple[list[Change], list[Gap]]:
    """The changes with their events, and a gap for each change or event the other record lacks."""
    gaps: list[Gap] = []
    for change in changes:
        change.events = explaining_events(change, events)
    if keys.events:  # without any event record, one "absent" gap says it for every change
        for change in changes:
            if not change.events:
                gaps.append(Gap(
                    keys.account_id, keys.region, "diff-without-event", fmt_time(change.detected_at),
                    f"{change.group_id} {change.group_name}: {_what(change)} seen between "
                    f"{fmt_time(change.window_start) or 'the first snapshot'} and {fmt_time(change.detected_at)} "
                    "with no change event of this group and rule in between (made while alerts were off, "
                    "or the event was lost)",
                ))
    explained = {id(e) for c in changes for e in c.events}
    snapshot_times = [k.time for k in keys.snapshots]
    for event in events:
        if event.error_code or event.event_time is None or not period.contains(event.event_time):
            continue
        if id(event) in explained:
            continue
        moment = event.event_time
        window = next((w for w in windows if in_window(moment, w[0], w[1])), None)
        label = f"{event.event_name} {', '.join(event.group_ids) or '(no group id)'} by {event.actor or 'unknown'}"
        if window is None:
            later = [t for t in snapshot_times if t >= moment]
            reason = f"the snapshot of {fmt_time(later[0])} has no diff" if later else "no snapshot was taken after it"
        else:
            reason = (
                f"the diff of {fmt_time(window[1])} shows no such change "
                "(undone before the next snapshot, or the snapshot missed it)"
            )
        gaps.append(Gap(keys.account_id, keys.region, "event-without-diff", fmt_time(moment), f"{label}: {reason}"))
    return changes, gaps
