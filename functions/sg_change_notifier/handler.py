"""Real-time alert for one security-group CloudTrail event (delivered by EventBridge).

Steps: parse -> already alerted? -> resolve the group (by name when the event has no id)
-> previous state of the group -> severity and texts -> SNS publish (the only step allowed
to fail the invocation) -> write the event record -> Slack (best effort) -> record the
group's current rules for the next event.

Exactly once. EventBridge delivers at least once. The event record under
``{prefix}{account}/{region}/events/YYYY/MM/DD/<eventID>.json`` is the marker: when it exists
the event was alerted and nothing is published. It is written with a conditional put
*after* a successful publish, never before, so a failed publish can never leave a marker
behind that would swallow the retry (the bucket is write-once: a "pending" marker could
not be taken back). The price: two deliveries of the same event processed concurrently,
both before either wrote its marker, both publish. EventBridge redeliveries are retries
after a failure or timeout, so this is rare; the second writer sees the conditional put
fail and logs ``duplicate_delivery_published``. Without ``EVIDENCE_BUCKET`` there is no
marker and every delivery publishes.

Before-state. After each event the group's current rules (DescribeSecurityGroupRules) are
recorded under ``.../group-state/<group-id>/<stamp>.json``; the next event on that group
reads the newest of that and the latest inventory snapshot.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from sgwatch import alerts, aws, cloudtrail, log, notify, severity, slack
from sgwatch.cloudtrail import DELETED, DESCRIPTION, MODIFIED, REMOVED, SgEvent
from sgwatch.csvio import unneutralise
from sgwatch.evidence import EvidenceStore, normalise_prefix, series_prefix, stamp, stamp_time
from sgwatch.rules import Rule, flatten_rules
from sgwatch.snapshots import latest_snapshot_key, read_snapshot

PAGE_SIZE = 1000
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _key_part(value: str, default: str) -> str:
    cleaned = _SAFE.sub("_", value or "")[:64]
    return cleaned or default


def event_day(ev: SgEvent, now: datetime) -> str:
    try:
        moment = datetime.fromisoformat(ev.event_time.replace("Z", "+00:00"))
    except ValueError:
        return now.strftime("%Y/%m/%d")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y/%m/%d")


def marker_key(prefix: str, ev: SgEvent, now: datetime) -> str:
    account = _key_part(ev.account_id, "unknown-account")
    region = _key_part(ev.region, "unknown-region")
    return f"{series_prefix(prefix, account, region, 'events')}{event_day(ev, now)}/{ev.event_id}.json"


def already_alerted(store: EvidenceStore, key: str) -> dict[str, Any] | None:
    """The stored record when this event was alerted before; None when not (or unknown).

    Existence is checked with a listing of the exact key (works with a prefix-scoped
    ``s3:ListBucket``); a failure to check publishes: a duplicate beats a lost alert.
    """
    try:
        if store.latest_key(key) != key:
            return None
        found = store.get(key)
    except ClientError as exc:
        log.warning("marker_unreadable", key=key, error=aws.error_code(exc))
        return None
    try:
        record = json.loads(found.body)
    except ValueError:
        record = {}
    return record if isinstance(record, dict) else {}


# --- the group: its id (by name) and its previous rules ---------------------------------------


def _ec2(ev: SgEvent) -> Any:
    region = ev.region if _REGION.fullmatch(ev.region or "") else None
    return aws.client("ec2", region)


def resolve_group_id(ev: SgEvent, store: EvidenceStore | None, prefix: str, own: bool) -> tuple[str, str]:
    """Find the id of a group named in the event when the event has no id (e.g. delete by name):
    live (own account only), else the name index of earlier creations, else the latest snapshot."""
    name = ev.group_name
    try:
        found = _ec2(ev).describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}]) if own else {}
        ids = sorted({g["GroupId"] for g in found.get("SecurityGroups", [])})
        if len(ids) == 1:
            return ids[0], "live DescribeSecurityGroups"
    except Exception as exc:
        log.warning("resolve_by_name_describe_failed", event_id=ev.event_id, error=aws.error_code(exc))
    if store is None:
        return "", ""
    try:
        key = store.latest_key(name_index_prefix(prefix, ev, name))
        if key:
            data = json.loads(store.get(key).body)
            if data.get("group_id"):
                return str(data["group_id"]), f"name index {key}"
        snapshot = latest_snapshot_key(store, prefix, ev.account_id, ev.region)
        if snapshot:
            ids = sorted({r.group_id for r in read_snapshot(store, snapshot) if unneutralise(r.group_name) == name})
            if len(ids) == 1:
                return ids[0], f"inventory snapshot {snapshot}"
    except Exception as exc:
        log.warning("resolve_by_name_failed", event_id=ev.event_id, error=aws.error_code(exc))
    return "", ""


def name_index_prefix(prefix: str, ev: SgEvent, name: str) -> str:
    return series_prefix(prefix, ev.account_id, ev.region, "group-names") + quote(name, safe="") + "/"


def group_state_prefix(prefix: str, ev: SgEvent, group_id: str) -> str:
    return series_prefix(prefix, ev.account_id, ev.region, "group-state") + group_id + "/"


def _display_rule(rule: Rule) -> Rule:
    return rule._replace(description=unneutralise(rule.description), group_name=unneutralise(rule.group_name))


def previous_rules(store: EvidenceStore, prefix: str, ev: SgEvent, group_id: str) -> tuple[list[Rule] | None, str]:
    """The group's rules before this event, from the newer of its last recorded state and the
    latest inventory snapshot; ``(None, "")`` when neither knows the group."""
    candidates: list[tuple[datetime, str, str]] = []
    state_key = store.latest_key(group_state_prefix(prefix, ev, group_id))
    if state_key:
        candidates.append((stamp_time(state_key) or datetime.min.replace(tzinfo=UTC), "state", state_key))
    snapshot_key = latest_snapshot_key(store, prefix, ev.account_id, ev.region)
    if snapshot_key:
        candidates.append((stamp_time(snapshot_key) or datetime.min.replace(tzinfo=UTC), "snapshot", snapshot_key))
    for _, kind, key in sorted(candidates, reverse=True):
        try:
            if kind == "state":
                data = json.loads(store.get(key).body)
                rules = [cloudtrail.rule_from_dict(r, ev.account_id, ev.region) for r in data.get("rules", [])]
                return rules, key
            rows = [_display_rule(r) for r in read_snapshot(store, key) if r.group_id == group_id]
            if rows:
                return rows, key
        except Exception as exc:
            log.warning("previous_state_unreadable", key=key, error=aws.error_code(exc))
    return None, ""


def _needs_previous(ev: SgEvent) -> bool:
    return any(
        c.action in (MODIFIED, DESCRIPTION, DELETED) or (c.action == REMOVED and (c.before is None or not c.before.rule_id))
        for c in ev.changes
    )


def record_group_state(store: EvidenceStore, prefix: str, ev: SgEvent, group_id: str, now: datetime) -> str | None:
    """Describe the group's rules now and keep them as the next event's before-state."""
    ec2 = _ec2(ev)
    rules = [
        r
        for page in ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [group_id]}], PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for r in page["SecurityGroupRules"]
    ]
    group = {"GroupId": group_id, "GroupName": ev.group_name, "VpcId": ev.vpc_id}
    rows = [_display_rule(r) for r in flatten_rules(ev.account_id, ev.region, [group], rules) if r.direction]
    document = {
        "schema": 1,
        "group_id": group_id,
        "group_name": ev.group_name,
        "vpc_id": ev.vpc_id,
        "recorded_at": now.isoformat(),
        "after_event_id": ev.event_id,
        "rules": [cloudtrail.rule_dict(r) for r in rows],
    }
    key = group_state_prefix(prefix, ev, group_id) + stamp(now) + ".json"
    if store.put_new(key, json.dumps(document, sort_keys=True).encode(), "application/json"):
        return key
    return None


def record_name(store: EvidenceStore, prefix: str, ev: SgEvent, now: datetime) -> None:
    document = {"group_id": ev.group_id, "group_name": ev.group_name, "vpc_id": ev.vpc_id, "event_id": ev.event_id}
    key = name_index_prefix(prefix, ev, ev.group_name) + stamp(now) + ".json"
    store.put_new(key, json.dumps(document, sort_keys=True).encode(), "application/json")


# --- delivery ---------------------------------------------------------------------------------


def post_to_slack(message: dict[str, Any], event_id: str) -> bool:
    secret_arn = os.environ.get("SLACK_TOKEN_SECRET_ARN")
    channel = os.environ.get("SLACK_CHANNEL_ID")
    if not (secret_arn and channel):
        return False
    try:
        client = slack.web_client(secret_arn, os.environ.get("SLACK_API_URL") or None)
        client.chat_postMessage(channel=channel, **message)
    except Exception as exc:  # Slack is a convenience: the SNS alert is already out
        log.error("slack_failed", event_id=event_id, error=f"{type(exc).__name__}: {str(exc)[:300]}")
        return False
    log.info("slack_posted", event_id=event_id, channel=channel)
    return True


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    topic_arn = os.environ.get("ALERT_TOPIC_ARN")
    if not topic_arn:
        raise ValueError("ALERT_TOPIC_ARN is not set: the change notifier needs the alert topic")
    bucket = os.environ.get("EVIDENCE_BUCKET") or ""
    prefix = normalise_prefix(os.environ.get("EVIDENCE_PREFIX"))
    store = EvidenceStore(bucket) if bucket else None
    now = _utcnow()

    ev = cloudtrail.parse(event)
    log.info("event_parsed", event_id=ev.event_id, event_name=ev.event_name, group_ids=ev.group_ids,
             known=ev.known, failed=ev.failed, problems=ev.problems)

    key = marker_key(prefix, ev, now)
    if store is not None:
        earlier = already_alerted(store, key)
        if earlier is not None:
            log.info("duplicate_delivery_skipped", event_id=ev.event_id, record=key)
            return {"event_id": ev.event_id, "published": False, "severity": earlier.get("severity"),
                    "subject": earlier.get("subject")}

    if not ev.group_ids and ev.group_name and ev.account_id and ev.region:
        group_id, source = resolve_group_id(ev, store, prefix, _is_own(ev, context))
        if group_id:
            ev.group_ids.append(group_id)
            ev.notes.append(f"group id {group_id} resolved from the name {ev.group_name} ({source})")

    previous: list[Rule] | None = None
    before_source = ""
    if store is not None and ev.group_id and ev.known and _needs_previous(ev):
        try:
            previous, before_source = previous_rules(store, prefix, ev, ev.group_id)
        except Exception as exc:
            log.warning("previous_state_failed", event_id=ev.event_id, error=aws.error_code(exc))
    changes = cloudtrail.resolve(ev, previous)
    if before_source:
        ev.notes.append(f"previous state from {before_source}")

    assessment = severity.assess(ev)
    subject = notify.sns_subject(alerts.subject(ev, assessment.level))
    message_id = notify.publish(topic_arn, subject, alerts.body(ev, changes, assessment),
                                alerts.attributes(ev, assessment.level))
    log.info("alert_published", event_id=ev.event_id, severity=assessment.level, message_id=message_id,
             group_ids=ev.group_ids)

    if store is not None:  # the marker first: a slow Slack or a timeout must not cause a second SNS alert
        record = alerts.event_record(ev, changes, assessment, subject, _utcnow().isoformat(), message_id, before_source)
        try:
            if store.put_new(key, json.dumps(record, sort_keys=True, default=str).encode(), "application/json"):
                log.info("event_recorded", event_id=ev.event_id, key=key)
            else:
                log.warning("duplicate_delivery_published", event_id=ev.event_id, key=key)
        except Exception as exc:  # the alert is out; a missing record only risks one duplicate
            log.error("event_record_failed", event_id=ev.event_id, key=key, error=aws.error_code(exc))

    post_to_slack(alerts.slack_message(ev, changes, assessment), ev.event_id)

    if store is not None:
        _record(store, prefix, ev, now, context)
    return {"event_id": ev.event_id, "published": True, "severity": assessment.level, "subject": subject}


_OWN_ACCOUNT: list[str] = []


def own_account(context: Any) -> str:
    """The function's account: from the invocation ARN, else STS (once per container)."""
    arn = str(getattr(context, "invoked_function_arn", "") or "")
    if arn.count(":") >= 4:
        return arn.split(":")[4]
    if not _OWN_ACCOUNT:
        _OWN_ACCOUNT.append(aws.account_id())
    return _OWN_ACCOUNT[0]


def _is_own(ev: SgEvent, context: Any) -> bool:
    try:
        return ev.account_id == own_account(context)
    except Exception as exc:
        log.warning("own_account_unknown", event_id=ev.event_id, error=aws.error_code(exc))
        return False


def _record(store: EvidenceStore, prefix: str, ev: SgEvent, now: datetime, context: Any) -> None:
    """Keep the group's rules (and, for a creation, its name) for the next events.

    Only for events of the function's own account: describing a group of another account
    (events forwarded from a member account) would record an empty, wrong state.
    """
    if ev.failed or not ev.known or not ev.account_id or not _REGION.fullmatch(ev.region or ""):
        return
    try:
        if ev.event_name == "CreateSecurityGroup" and ev.group_name and ev.group_id:
            record_name(store, prefix, ev, now)  # from the event itself: valid for any account
        if ev.event_name == "DeleteSecurityGroup":
            return
        if not _is_own(ev, context):
            log.info("group_state_skipped", event_id=ev.event_id, reason="event of another account")
            return
        for group_id in ev.group_ids[:5]:
            state = record_group_state(store, prefix, ev, group_id, now)
            log.info("group_state_recorded", event_id=ev.event_id, group_id=group_id, key=state)
    except Exception as exc:
        log.warning("group_state_failed", event_id=ev.event_id, error=aws.error_code(exc))
