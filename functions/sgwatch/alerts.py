"""Alert texts for one security-group change: SNS subject and mail body, Slack message,
and the event record kept in the evidence bucket.

Pure functions of a parsed :class:`~sgwatch.cloudtrail.SgEvent`, its resolved changes and
its :class:`~sgwatch.severity.Assessment`. Every value that comes from the event (ids, names,
descriptions, ports, protocols, peers, tags, error codes, user agents: for a failed call, whatever
the caller sent) goes through :func:`sgwatch.text.clean`, so it stays on its own line; Slack text
is then escaped with :func:`sgwatch.slack.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from . import slack
from .cloudtrail import ADDED, CREATED, DELETED, DESCRIPTION, MODIFIED, REMOVED, RuleChange, SgEvent
from .notify import SUBJECT_MAX_CHARS
from .ruletext import rule_text
from .severity import Assessment
from .text import ascii_line, clean

SLACK_BLOCK_LIMIT = 2900
_ACTION_TITLES = {
    ADDED: "ADDED",
    REMOVED: "REMOVED",
    MODIFIED: "MODIFIED",
    DESCRIPTION: "DESCRIPTION CHANGED",
    CREATED: "GROUP CREATED",
    DELETED: "GROUP DELETED",
}
UNKNOWN_BEFORE = "previous state unknown"


def _ascii(text: str) -> str:
    return ascii_line(text)


# --- rules (each written by sgwatch.ruletext.rule_text, the one rule renderer) ------------


def change_lines(change: RuleChange, attempted: bool = False) -> list[str]:
    """Lines describing one change; ``attempted`` for a failed call (nothing changed)."""
    title = _ACTION_TITLES.get(change.action, change.action.upper())
    if attempted:
        title = f"ATTEMPTED, NOT APPLIED ({title.lower()})"
    if change.action == CREATED:
        return [title]
    if change.action == DELETED:
        if change.before is not None:
            return [f"{title}, it had: {rule_text(change.before)}"]
        return [title + (f" ({UNKNOWN_BEFORE}: its rules are not known)" if change.before_unknown else "")]
    if change.action == ADDED:
        return [f"{title}: {rule_text(change.after)}" if change.after else title]
    if change.action == REMOVED and change.before is not None:
        return [f"{title}: {rule_text(change.before)}"]
    before = rule_text(change.before) if change.before is not None else UNKNOWN_BEFORE
    if change.after is not None:
        after = rule_text(change.after)
    else:
        after = "(removed)" if change.action == REMOVED else "unknown"
    head = f"{title}" + (f" {clean(change.rule_id, 40)}" if change.rule_id else "")
    return [head, f"   before: {before}", f"   after:  {after}"]


# --- facts -----------------------------------------------------------------------------------


def console_url(region: str, group_id: str) -> str:
    """The EC2 console page of the group (partition-aware)."""
    if not region or not group_id:
        return ""
    domain = "console.aws.amazon.com"
    if region.startswith("cn-"):
        domain = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        domain = "console.amazonaws-us-gov.com"
    region_q = quote(region, safe="")
    return f"https://{region_q}.{domain}/ec2/home?region={region_q}#SecurityGroup:groupId={quote(group_id, safe='')}"


def group_label(ev: SgEvent) -> str:
    ids = ", ".join(clean(group_id, 40) for group_id in ev.group_ids)
    if ids and ev.group_name:
        return f"{ids} ({clean(ev.group_name, 255)})"
    return ids or (f"name {clean(ev.group_name, 255)} (id unknown)" if ev.group_name else "unknown group")


def outcome_text(ev: SgEvent) -> str:
    if ev.failed:
        message = f": {clean(ev.error_message, 500)}" if ev.error_message else ""
        return f"ATTEMPTED - the call failed with {clean(ev.error_code, 100)}{message}; nothing was changed"
    return "succeeded"


def facts(ev: SgEvent, assessment: Assessment) -> list[tuple[str, str]]:
    """(label, value) pairs shared by mail and Slack."""
    rows = [
        ("Severity", assessment.level),
        ("Event", clean(ev.event_name, 100) or "unknown"),
        ("Outcome", outcome_text(ev)),
        ("Security group", group_label(ev)),
    ]
    if ev.vpc_id:
        rows.append(("VPC", clean(ev.vpc_id, 40)))
    if ev.group_description:
        rows.append(("Group description", clean(ev.group_description, 255)))
    if ev.tags:
        rows.append(("Tags", ", ".join(f"{clean(k, 128)}={clean(v, 256)}" for k, v in sorted(ev.tags.items()))))
    rows += [
        ("Account", clean(ev.account_id, 20) or "unknown"),
        ("Region", clean(ev.region, 30) or "unknown"),
        ("Time", clean(ev.event_time, 40) or "unknown"),
        ("Actor", clean(ev.actor.display, 500)),
    ]
    if ev.actor.arn:
        rows.append(("Actor ARN", clean(ev.actor.arn, 300)))
    rows += [
        ("Source IP", clean(ev.source_ip, 100) or "unknown"),
        ("User agent", clean(ev.user_agent, 400) or "unknown"),
    ]
    for group_id in ev.group_ids[:5]:
        url = console_url(clean(ev.region, 30), group_id)
        if url:
            rows.append(("Console", url))
    rows.append(("Event ID", clean(ev.event_id, 128)))
    return rows


# --- SNS -------------------------------------------------------------------------------------


def subject(ev: SgEvent, level: str) -> str:
    """At most 99 ASCII characters (SNS wants fewer than 100) naming the level, event, group and account."""
    event_name = _ascii(ev.event_name)[:50] or "Security group event"
    head = f"[{level}] {event_name}{' FAILED' if ev.failed else ''} "
    tail = f" in {_ascii(ev.account_id)[:20] or 'unknown account'}"
    if ev.group_ids:
        group = _ascii(ev.group_ids[0])[:40] + (f" +{len(ev.group_ids) - 1}" if len(ev.group_ids) > 1 else "")
    elif ev.group_name:
        group = "name " + _ascii(ev.group_name)
    else:
        group = "unknown group"
    room = SUBJECT_MAX_CHARS - len(head) - len(tail)
    if ev.group_ids and ev.group_name:
        name = _ascii(ev.group_name)
        if room - len(group) >= 8:
            name_room = room - len(group) - 3
            name = name if len(name) <= name_room else name[: name_room - 3] + "..."
            group = f"{group} ({name})"
    if len(group) > room:
        group = group[: max(room - 3, 0)] + "..."
    return (head + group + tail)[:SUBJECT_MAX_CHARS]


def body(ev: SgEvent, changes: Sequence[RuleChange], assessment: Assessment) -> str:
    """A plain-text mail a person reads top to bottom."""
    lines = [
        f"{assessment.level}: {clean(ev.event_name, 100) or 'security group event'} on {group_label(ev)}"
        + (" (ATTEMPTED, failed)" if ev.failed else ""),
        "",
    ]
    rows = facts(ev, assessment)
    width = max(len(label) for label, _ in rows) + 1
    lines += [f"{(label + ':').ljust(width)} {value}" for label, value in rows]
    lines += ["", "Why this severity:"]
    lines += [f" - {clean(reason, 600)}" for reason in assessment.reasons] or [" - no rule change"]
    lines += ["", f"Changes ({len(changes)}):" if changes else "Changes: none recorded in the event"]
    for number, change in enumerate(changes, start=1):
        first, *rest = change_lines(change, ev.failed)
        lines.append(f" {number}. {first}")
        lines += [f"   {line}" for line in rest]
    if ev.notes:
        lines += ["", "Notes:"] + [f" - {clean(note, 600)}" for note in ev.notes]
    if ev.problems:
        lines += ["", "This event did not have the expected shape; the raw record is in the evidence bucket:"]
        lines += [f" - {clean(problem, 600)}" for problem in ev.problems]
    lines += ["", "-- SG Watch real-time security-group change alert"]
    return "\n".join(lines) + "\n"


def attributes(ev: SgEvent, level: str) -> dict[str, str]:
    """SNS message attributes subscribers filter on."""
    return {"severity": level, "event_name": _ascii(ev.event_name)[:100] or "unknown"}


# --- Slack -----------------------------------------------------------------------------------


def slack_message(ev: SgEvent, changes: Sequence[RuleChange], assessment: Assessment) -> dict[str, Any]:
    """``chat.postMessage`` arguments (without the channel): every user text escaped."""
    title = (
        f"*{assessment.level}*: {slack.escape(clean(ev.event_name, 100) or 'security group event')} on "
        f"{slack.escape(group_label(ev))}" + (" (ATTEMPTED, failed)" if ev.failed else "")
    )
    fact_lines = []
    for label, value in facts(ev, assessment)[1:]:
        if label == "Console":
            fact_lines.append(f"*{label}:* <{value}|open the security group>")
        else:
            fact_lines.append(f"*{label}:* {slack.escape(value)}")
    change_text = []
    for number, change in enumerate(changes, start=1):
        first, *rest = change_lines(change, ev.failed)
        change_text.append(f"{number}. {slack.escape(first)}")
        change_text += [f"      {slack.escape(line.strip())}" for line in rest]
    reasons = [f"• {slack.escape(clean(reason, 600))}" for reason in assessment.reasons]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _fit(title)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _fit("\n".join(fact_lines))}},
    ]
    if change_text:
        changes_text = _fit("*Changes*\n" + "\n".join(change_text))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": changes_text}})
    if reasons:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit("\n".join(reasons))}]})
    return {"text": title, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _fit(text: str) -> str:
    if len(text) <= SLACK_BLOCK_LIMIT:
        return text
    cut = text[: SLACK_BLOCK_LIMIT - 20]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + "\n… (truncated)"


# --- the event record ------------------------------------------------------------------------


def event_record(
    ev: SgEvent,
    changes: Sequence[RuleChange],
    assessment: Assessment,
    subject_text: str,
    published_at: str,
    message_id: str = "",
    before_source: str = "",
) -> dict[str, Any]:
    """The change-log record written (once) under ``.../events/YYYY/MM/DD/<eventID>.json``."""
    return {
        "schema": 1,
        "event_id": ev.event_id,
        "event_name": ev.event_name,
        "event_time": ev.event_time,
        "account_id": ev.account_id,
        "region": ev.region,
        "group_ids": list(ev.group_ids),
        "group_name": ev.group_name,
        "actor": ev.actor.as_dict(),
        "source_ip": ev.source_ip,
        "user_agent": ev.user_agent,
        "error_code": ev.error_code,
        "error_message": ev.error_message,
        "severity": assessment.level,
        "severity_reasons": list(assessment.reasons),
        "subject": subject_text,
        "changes": [c.as_dict() for c in changes],
        "before_source": before_source,
        "published_at": published_at,
        "message_id": message_id,
        "detail": ev.detail,
    }
