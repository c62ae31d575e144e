"""Alert texts for one security-group change: SNS subject and mail body, Slack message, SNS
message attributes, and the event record kept in the evidence bucket.

Pure functions of a parsed :class:`~sgwatch.cloudtrail.SgEvent`, its resolved changes, its
:class:`~sgwatch.sg_change_alerts.severity.Assessment` and what the alert found out besides: the group's exposure
(:class:`ExposureSection`, the ``Exposure:`` section) and the change's provenance
(:class:`~sgwatch.provenance.Provenance`, the ``Changed via:`` line). Every value that comes from
the event or the account (ids, names, descriptions, ports, protocols, peers, tags, error codes, user
agents, interface descriptions: for a failed call, whatever the caller sent) goes through
:func:`sgwatch.text.clean`, so it stays on its own line; Slack text is then escaped with
:func:`sgwatch.slack.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .. import remediation_prompt, slack
from ..cloudtrail import ADDED, CREATED, DELETED, DESCRIPTION, MODIFIED, REMOVED, RuleChange, SgEvent
from ..csvio import unneutralise
from ..exposure import GroupExposure
from ..justification import NONE, Justification, Sources
from ..notify import SUBJECT_MAX_CHARS
from ..provenance import LABEL as CHANGED_VIA, Provenance
from ..rule_coverage import scope
from ..rules import Rule
from ..ruletext import rule_text
from ..text import ascii_line, clean
from .severity import Assessment

# Section block text: "Maximum length for the text in this field is 3000 characters."
# https://api.slack.com/reference/block-kit/blocks#section (kept below it, room for the cut marker)
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
EXPOSURE = "Exposure"
NOT_LOOKED_UP = "not looked up"
JUSTIFICATION = "Justification"


@dataclass(frozen=True)
class ExposureSection:
    """What an alert says of the changed group's exposure: the lines of its ``Exposure:`` section,
    the SNS attribute ``exposed`` and the event record's ``exposure``.

    ``exposed`` is None when it is not known (the lookup failed or was not possible); the
    attribute is then ``unknown``, so a filter policy on ``"true"`` or ``"false"`` never takes a
    guess for an answer.
    """

    lines: tuple[str, ...]
    exposed: bool | None = None
    looked_up: bool = False

    @classmethod
    def of(cls, summary: GroupExposure) -> ExposureSection:
        """A lookup's answer (:func:`sgwatch.exposure.summarise`)."""
        return cls(tuple(summary.lines()), summary.exposed, True)

    @classmethod
    def not_looked_up(cls, reason: str, exposed: bool | None = None) -> ExposureSection:
        return cls((f"{NOT_LOOKED_UP}: {clean(reason, 300)}",), exposed, False)

    def attribute(self) -> str:
        """``true``, ``false`` or ``unknown``."""
        return "unknown" if self.exposed is None else str(self.exposed).lower()

    def to_record(self) -> dict[str, Any]:
        return {"exposed": self.exposed, "looked_up": self.looked_up, "lines": list(self.lines)}


@dataclass(frozen=True)
class JustificationSection:
    """What an alert says of the reason for the rules the event adds or modifies: the ``Justification:`` line
    and the SNS attribute ``justified`` (``true`` when every such rule has a reason)."""

    justified: bool
    line: str


_SHOWN_REASONS = 3


def justification_section(added: Sequence[Rule], sources: Sources) -> JustificationSection | None:
    """The section for the rules an event adds or modifies; None when it adds or modifies none."""
    if not added:
        return None
    found = [(rule, sources.justify(rule.group_id, unneutralise(rule.group_name), rule.direction, rule.rule_id,
                                    scope(rule.protocol, rule.from_port, rule.to_port, rule.peer_type, rule.peer)))
             for rule in added]
    missing = [rule for rule, j in found if j.source == NONE]
    if missing:
        names = ", ".join(clean(r.rule_id, 40) or "a rule" for r in missing[:_SHOWN_REASONS])
        more = f" and {len(missing) - _SHOWN_REASONS} more" if len(missing) > _SHOWN_REASONS else ""
        return JustificationSection(False, f"none for {len(missing)} of {len(found)} added or modified rules "
                                           f"({names}{more}): no reason in the rule's or the group's tags")
    reasons = list(dict.fromkeys(j for _, j in found))
    shown = "; ".join(_reason(j) for j in reasons[:_SHOWN_REASONS])
    more = f"; and {len(reasons) - _SHOWN_REASONS} more" if len(reasons) > _SHOWN_REASONS else ""
    return JustificationSection(True, shown + more)


def _reason(j: Justification) -> str:
    details = [j.source] + [f"{label} {clean(value, 128)}" for label, value in
                            (("owner", j.owner), ("ticket", j.ticket), ("expires", j.expires)) if value]
    return f"{clean(j.reason, 300)} ({', '.join(details)})"


@dataclass(frozen=True)
class Alert:
    """What one alert says, whatever carries it (mail, Slack, SNS attributes, the event record): the
    parsed event, its resolved changes, its assessment, and what the alert found out besides (the
    group's exposure and the change's provenance; ``None`` when not asked)."""

    ev: SgEvent
    changes: Sequence[RuleChange]
    assessment: Assessment
    exposure: ExposureSection | None = None
    provenance: Provenance | None = None
    justification: JustificationSection | None = None


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


def facts(ev: SgEvent, assessment: Assessment, provenance: Provenance | None = None,
          justification: JustificationSection | None = None) -> list[tuple[str, str]]:
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
    if provenance is not None:
        rows.append((CHANGED_VIA, provenance.line()))
    if justification is not None:
        rows.append((JUSTIFICATION, justification.line))
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


def exposure_lines(section: ExposureSection) -> list[str]:
    """The ``Exposure:`` section of the mail: one line, or a heading and one line per item."""
    if len(section.lines) == 1:
        return [f"{EXPOSURE}: {section.lines[0]}"]
    return [f"{EXPOSURE}:"] + [f" - {line}" for line in section.lines]


def body(alert: Alert) -> str:
    """A plain-text mail a person reads top to bottom."""
    ev, changes, assessment, exposure = alert.ev, alert.changes, alert.assessment, alert.exposure
    lines = [
        f"{assessment.level}: {clean(ev.event_name, 100) or 'security group event'} on {group_label(ev)}"
        + (" (ATTEMPTED, failed)" if ev.failed else ""),
        "",
    ]
    rows = facts(ev, assessment, alert.provenance, alert.justification)
    width = max(len(label) for label, _ in rows) + 1
    lines += [f"{(label + ':').ljust(width)} {value}" for label, value in rows]
    if exposure is not None:
        lines += ["", *exposure_lines(exposure)]
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


def attributes(alert: Alert) -> dict[str, str]:
    """SNS message attributes subscribers filter on: ``severity``, ``event_name``, and with the
    lookups ``exposed`` (``true``/``false``/``unknown``), ``origin`` and ``change_control``, and for an event that
    adds or modifies rules ``justified`` (``true``/``false``)."""
    found = {"severity": alert.assessment.level, "event_name": _ascii(alert.ev.event_name)[:100] or "unknown"}
    if alert.exposure is not None:
        found["exposed"] = alert.exposure.attribute()
    if alert.provenance is not None:
        found.update(alert.provenance.attributes())
    if alert.justification is not None:
        found["justified"] = str(alert.justification.justified).lower()
    return found


# --- Slack -----------------------------------------------------------------------------------


def slack_message(alert: Alert) -> dict[str, Any]:
    """``chat.postMessage`` arguments (without the channel): every user text escaped."""
    ev, changes, assessment, exposure = alert.ev, alert.changes, alert.assessment, alert.exposure
    title = (
        f"*{assessment.level}*: {slack.escape(clean(ev.event_name, 100) or 'security group event')} on "
        f"{slack.escape(group_label(ev))}" + (" (ATTEMPTED, failed)" if ev.failed else "")
    )
    fact_lines = []
    for label, value in facts(ev, assessment, alert.provenance, alert.justification)[1:]:
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
    if exposure is not None:
        shown = [slack.escape(line) for line in exposure.lines]
        exposure_text = f"*{EXPOSURE}:* {shown[0]}" if len(shown) == 1 else "\n".join([f"*{EXPOSURE}*"] + [
            f"• {line}" for line in shown])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(exposure_text)}})
    if change_text:
        changes_text = _fit("*Changes*\n" + "\n".join(change_text))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": changes_text}})
    if reasons:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit("\n".join(reasons))}]})
    return {"text": title, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def qualifies(alert: Alert, policy: remediation_prompt.Policy) -> bool:
    """Whether the alert qualifies for remediation under ``policy``."""
    change_control = alert.provenance.change_control if alert.provenance is not None else ""
    return policy.qualifies(alert.assessment.level, change_control, alert.ev.failed, [c.action for c in alert.changes])


def note_block(note: str) -> dict[str, Any]:
    """A context block of the Slack message with one note (user-controlled parts made inert)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(slack.escape(clean(note, 600)))}]}


def revert_block(alert: Alert, policy: remediation_prompt.Policy, day: str) -> dict[str, Any] | None:
    """The Revert and Keep buttons of an alert that qualifies under ``policy`` (``day``: the folder of its event
    record); None for any other alert."""
    if not qualifies(alert, policy):
        return None
    ref = _alert_ref(alert, day)
    return remediation_prompt.actions_block(ref) if ref is not None else None


def restore_block(alert: Alert, day: str) -> dict[str, Any] | None:
    """Auto mode: the Restore as exception button of an automatically reverted alert."""
    ref = _alert_ref(alert, day)
    return remediation_prompt.restore_block(ref) if ref is not None else None


def _alert_ref(alert: Alert, day: str) -> remediation_prompt.AlertRef | None:
    """What a button names; None unless the remediation function can find the alert again (ids of the shapes it
    accepts): such an alert gets no button."""
    ev = alert.ev
    ref = remediation_prompt.AlertRef(ev.event_id, ev.account_id, ev.region, day)
    return ref if remediation_prompt.AlertRef.parse(ref.value()) == ref else None


def _fit(text: str) -> str:
    if len(text) <= SLACK_BLOCK_LIMIT:
        return text
    cut = text[: SLACK_BLOCK_LIMIT - 20]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + "\n… (truncated)"


# --- the event record ------------------------------------------------------------------------


def event_record(
    alert: Alert, subject_text: str, published_at: str, message_id: str = "", before_source: str = ""
) -> dict[str, Any]:
    """The change-log record written (once) under ``.../events/YYYY/MM/DD/<eventID>.json``.

    ``provenance`` is :meth:`Provenance.to_record` (read back with :meth:`Provenance.from_record`),
    ``exposure`` is :meth:`ExposureSection.to_record`; both are absent from records of alerts that
    had neither.
    """
    ev, assessment = alert.ev, alert.assessment
    record: dict[str, Any] = {
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
        "changes": [c.as_dict() for c in alert.changes],
        "before_source": before_source,
        "published_at": published_at,
        "message_id": message_id,
        "detail": ev.detail,
    }
    if alert.provenance is not None:
        record["provenance"] = alert.provenance.to_record()
    if alert.exposure is not None:
        record["exposure"] = alert.exposure.to_record()
    return record
