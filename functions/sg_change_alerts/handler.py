"""Real-time alert for one security-group CloudTrail event (delivered by EventBridge).

Steps: parse -> already alerted? -> resolve the group (by name when the event has no id)
-> previous state of the group -> the group now: its tags and exposure (never fails the alert)
-> provenance, severity and texts -> in remediation auto mode, the revert of a qualifying change
not covered by an exception (:func:`_auto_revert`; its outcome is in the alert) -> SNS publish
(the only step allowed to fail the invocation) -> write the event record (and an automatic
revert's evidence) -> Slack (best effort) -> record the group's current rules for the next event.

Every call before the publish runs under one deadline (:func:`sgwatch.sg_change_alerts.changes.before_publish`)
and fails open: a duplicate check or a before-state that cannot be read in time is skipped,
and the alert says so. The evidence writes after it end before the function's timeout
(:func:`sgwatch.sg_change_alerts.changes.after_publish`): a timed-out invocation would be retried and alerted again.

Exactly once. EventBridge delivers at least once. The event record (see
:mod:`sgwatch.sg_change_alerts.changes`) is the marker: when it exists the event was alerted and nothing is
published. It is written with a conditional put *after* a successful publish, never before,
so a failed publish can never leave a marker behind that would swallow the retry (the bucket
is write-once: a "pending" marker could not be taken back). The price: two deliveries of the
same event processed concurrently, both before either wrote its marker, both publish.
EventBridge redeliveries are retries after a failure or timeout, so this is rare; the second
writer sees the conditional put fail and logs ``duplicate_delivery_published``. Without
``EVIDENCE_BUCKET`` there is no marker and every delivery publishes.

Before-state. After each event the group's current rules are recorded; the next event on
that group reads the newest of that and the latest inventory snapshot.

Expired exceptions. The inventory hands over the rules of an exception that expired as an event of its own source
(:mod:`sgwatch.remediation_expiry`): a CloudTrail-shaped authorisation of those rules, alerted as any other, whose
alert says whose exception expired and whose change is out of change control.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sgwatch import (
    aws,
    cloudtrail,
    log,
    notify,
    remediation_exceptions,
    remediation_expiry,
    remediation_prompt,
    remediation_revert,
    settings,
    slack,
)
from sgwatch.cloudtrail import SgEvent
from sgwatch.evidence import EvidenceStore
from sgwatch.rules import Rule
from sgwatch.sg_change_alerts import alerts, changes, severity


def _utcnow() -> datetime:
    return datetime.now(UTC)


def post_to_slack(config: settings.Slack | None, message: dict[str, Any], event_id: str) -> bool:
    """Post the alert to Slack when configured; a failure is logged, never raised (SNS has it)."""
    if config is None:
        return False
    try:
        slack.Poster(config).post(**message)
    except Exception as exc:  # Slack is a convenience: the SNS alert is already out
        log.error("slack_failed", event_id=event_id, error=f"{type(exc).__name__}: {str(exc)[:300]}")
        return False
    log.info("slack_posted", event_id=event_id, channel=config.channel_id)
    return True


def _already_alerted(records: changes.EventRecords | None, key: str, ev: SgEvent) -> dict[str, Any] | None:
    """The record of an earlier alert of this event; None (publish) when there is none or the check fails."""
    if records is None:
        return None
    try:
        return records.already_alerted(key)
    except Exception as exc:  # a duplicate beats a lost alert
        why = changes.reason(exc)
        log.warning("duplicate_check_skipped", event_id=ev.event_id, record=key, error=why)
        ev.notes.append(f"duplicate check skipped ({why}): if this event was alerted before, this alert repeats it")
        return None


def _previous(records: changes.EventRecords | None, ev: SgEvent) -> tuple[list[Rule] | None, str]:
    if records is None or not (ev.group_id and ev.known and changes.needs_previous(ev)):
        return None, ""
    try:
        return records.previous_rules(ev, ev.group_id)
    except Exception as exc:  # the alert goes out without the rules as they were
        why = changes.reason(exc)
        log.warning("previous_state_skipped", event_id=ev.event_id, error=why)
        ev.notes.append(f"previous state skipped ({why}): the rules as they were before the event are not shown")
        return None, ""


def _exception_note(records: changes.EventRecords | None, alert: alerts.Alert,
                    policy: remediation_prompt.Policy | None, now: datetime) -> tuple[str, bool]:
    """What the alert says of the exceptions covering its change, and whether the remediation prompt is shown:
    no prompt while an exception covers every rule it would revert; a failed lookup shows it and says so."""
    if records is None or policy is None or not alerts.qualifies(alert, policy):
        return "", True
    ev = alert.ev
    try:
        found = remediation_exceptions.active(records.store, records.layout, ev.account_id, ev.region, ev.group_ids,
                                              now.date())
    except Exception as exc:  # the alert goes out with the prompt
        why = changes.reason(exc)
        log.warning("exception_lookup_failed", event_id=ev.event_id, error=why)
        return (f"exception lookup failed ({why}): the remediation prompt is shown, whether or not an exception "
                "covers this change"), True
    kept = remediation_exceptions.covering(found, remediation_exceptions.revertible_rules(alert.changes))
    if kept is None:
        return "", True
    log.info("exception_covers", event_id=ev.event_id, kept_event_id=kept.event_id, expires=kept.expires)
    return (f"kept as exception by {kept.kept_by} until {kept.expires} (UTC), no remediation prompt; "
            f"reason: {kept.reason}"), False


def _own_account(context: Any) -> str:
    """The function's own account; empty when it is unknown (the revert is then not tried: the alert says so)."""
    try:
        return aws.function_account(context)
    except Exception:  # is_own_account logged it
        return ""


def _auto_revert(alert: alerts.Alert, config: changes.Settings,
                 context: Any) -> list[remediation_revert.Outcome] | None:
    """In auto mode, revert a qualifying change now (the Revert job's steps, each only while the live rule is
    as the alert shows it), in the function's own account or, through its remediation role, in a member account
    (:func:`sgwatch.remediation_revert.credentials`, as the Revert job); None when there is nothing to do. Runs in
    the pre-publish block: every call is bounded, and a failure is an outcome the alert shows."""
    policy = config.remediation
    if policy is None or policy.mode != remediation_prompt.AUTO or not alerts.qualifies(alert, policy):
        return None
    ev = alert.ev
    steps, skipped = remediation_revert.plan(alerts.event_record(alert, "", ""))
    own = ev.account_id if changes.is_own_account(ev, context) else _own_account(context)
    if not own or not remediation_revert.may_revert_in(config.reach, own, ev.account_id) or (
            ev.account_id != own and not config.remediation_role):
        return [remediation_revert.Outcome(None, remediation_revert.NOT_REVERTIBLE,
                                           f"account {ev.account_id} is not one SG Watch may revert in")] + skipped
    try:
        credentials = remediation_revert.credentials(config.remediation_role, own, ev.account_id, ev.region)
    except Exception as exc:  # said in the alert and the evidence: the role is missing or refuses this function
        role = remediation_revert.role_arn(config.remediation_role, ev.account_id, ev.region)
        log.warning("auto_revert_role_failed", event_id=ev.event_id, role=role, error=changes.reason(exc))
        return [remediation_revert.Outcome(None, remediation_revert.FAILED,
                                           f"remediation role {role} could not be assumed ({changes.reason(exc)})"),
                *(remediation_revert.Outcome(step, remediation_revert.NOT_TRIED) for step in steps)] + skipped
    with aws.target_account(credentials):
        outcomes = remediation_revert.apply_reporting(aws.client("ec2", ev.region), ev.account_id, ev.region,
                                                      steps)
    log.info("auto_revert", event_id=ev.event_id, steps=len(steps),
             done=sum(o.result == remediation_revert.DONE for o in outcomes))
    return outcomes + skipped


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = changes.Settings.from_env(settings.environment())
    records = None
    if config.evidence is not None:
        records = changes.EventRecords(EvidenceStore(config.evidence.bucket), config.evidence.prefix)
    now = _utcnow()

    ev = cloudtrail.parse(event)
    expiry = remediation_expiry.announced(event)  # the inventory hands over a rule whose exception expired
    if expiry is not None:
        ev.notes.append(expiry.line())
    log.info("event_parsed", event_id=ev.event_id, event_name=ev.event_name, group_ids=ev.group_ids,
             known=ev.known, failed=ev.failed, problems=ev.problems)

    key = records.marker_key(ev, now) if records is not None else ""
    with changes.before_publish(context):
        earlier = _already_alerted(records, key, ev)
        if earlier is not None:
            log.info("duplicate_delivery_skipped", event_id=ev.event_id, record=key)
            return {"event_id": ev.event_id, "published": False, "severity": earlier.get("severity"),
                    "subject": earlier.get("subject")}

        if not ev.group_ids and ev.group_name and ev.account_id and ev.region:
            own = changes.is_own_account(ev, context)
            group_id, source = changes.resolve_group_id(ev, records, own)
            if group_id:
                ev.group_ids.append(group_id)
                ev.notes.append(f"group id {group_id} resolved from the name {ev.group_name} ({source})")

        previous, before_source = _previous(records, ev)
        resolved = cloudtrail.resolve(ev, previous)
        if before_source:
            ev.notes.append(f"previous state from {before_source}")

        group = changes.look_at_group(ev, config.reach, context)
    assessment = severity.assess(ev, group.exposure, authorized_public_ports=config.authorized_public_ports)
    provenance = expiry.provenance() if expiry is not None else changes.provenance_of(ev, config, group.tags)
    alert = alerts.Alert(ev, resolved, assessment, group.section, provenance,
                         changes.justification_of(ev, config, group))
    with changes.before_publish(context):
        exception_note, prompt = _exception_note(records, alert, config.remediation, now)
        reverted = _auto_revert(alert, config, context) if prompt else None
    if exception_note:
        ev.notes.append(exception_note)
    if reverted is not None:
        ev.notes.append(remediation_revert.auto_note(reverted))
    subject = notify.sns_subject(alerts.subject(ev, assessment.level))
    attributes = alerts.attributes(alert)
    message_id = notify.publish(config.topic_arn, subject, alerts.body(alert), attributes)
    log.info("alert_published", event_id=ev.event_id, message_id=message_id, group_ids=ev.group_ids, **attributes)

    stored, auto_record_note = False, ""
    if records is not None:  # the marker first: a slow Slack or a timeout must not cause a second SNS alert
        record = alerts.event_record(alert, subject, _utcnow().isoformat(), message_id, before_source)
        with changes.after_publish(context):
            stored = records.write_record(key, record, ev.event_id)
            if reverted is not None and not records.write_auto_revert(ev, now, remediation_revert.auto_record(
                    ev.event_id, ev.account_id, ev.region, _utcnow().isoformat(), reverted)):
                auto_record_note = "the automatic revert's evidence record could not be written (see the log)"

    message = alerts.slack_message(alert)
    if expiry is not None:
        message["blocks"].append(alerts.note_block(expiry.line()))
    if exception_note:
        message["blocks"].append(alerts.note_block(exception_note))
    if reverted is not None:
        message["blocks"].append(alerts.note_block(remediation_revert.auto_note(reverted)))
    if auto_record_note:
        message["blocks"].append(alerts.note_block(auto_record_note))
    if stored and prompt and config.remediation is not None and config.remediation.mode == remediation_prompt.APPROVE:
        # The buttons name the stored record, which the remediation function reads to know what to revert.
        button = alerts.revert_block(alert, config.remediation, changes.event_day(ev, now))
        if button is not None:
            message["blocks"].append(button)
    if stored and reverted and not auto_record_note and any(o.result == remediation_revert.DONE for o in reverted) and (
            changes.is_own_account(ev, context)):
        # Approvers may put the reverted rules back and keep them as an exception (the remediation function; in the
        # own account only: a member's remediation role may not authorize rules).
        button = alerts.restore_block(alert, changes.event_day(ev, now))
        if button is not None:
            message["blocks"].append(button)
    post_to_slack(config.slack, message, ev.event_id)

    if records is not None:
        with changes.after_publish(context):
            records.record_after(ev, now, context)
    return {"event_id": ev.event_id, "published": True, "severity": assessment.level, "subject": subject}
