"""What the change notifier keeps in the evidence bucket, and how it reads it back.

Under ``{prefix}{account}/{region}/``:

* ``events/YYYY/MM/DD/<eventID>.json``: one record per alerted CloudTrail event. It is also
  the marker that makes alerts exactly-once: when it exists the event was alerted.
* ``group-state/<group-id>/<stamp>.json``: a group's rules as DescribeSecurityGroupRules
  returned them after an event, the "before" of the group's next event.
* ``group-names/<quoted name>/<stamp>.json``: name -> id of each group created, for the
  events that name a group only (a delete by ``groupName``).

Group state is recorded only for events of the function's own account: describing a group
of another account (events forwarded from a member account) would record an empty, wrong
state. The own account comes from the invocation's function ARN (see
:func:`sgwatch.aws.function_account`), never from a value kept between invocations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from . import aws, cloudtrail, log, settings
from .cloudtrail import DELETED, DESCRIPTION, MODIFIED, REMOVED, SgEvent
from .csvio import unneutralise
from .evidence import EVENTS, GROUP_NAMES, GROUP_STATE, EvidenceStore, Layout, stamp, stamp_time
from .rules import Rule, flatten_rules
from .settings import Environment
from .snapshots import describe_rules, latest_snapshot_key, read_snapshot

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
RECORDED_GROUPS = 5  # groups of one event whose state is recorded (an event names one, rarely more)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Settings:
    """The notifier's configuration: the alert topic (required), the evidence bucket (markers and
    before-states; without it every delivery publishes) and Slack (optional, beside SNS)."""

    topic_arn: str
    evidence: settings.Evidence | None = None
    slack: settings.Slack | None = None

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        return cls(
            topic_arn=settings.required(env, "ALERT_TOPIC_ARN", "the change notifier needs the alert topic"),
            evidence=settings.Evidence.from_env(env),
            slack=settings.Slack.from_env(env),
        )


def _key_part(value: str, default: str) -> str:
    cleaned = _SAFE.sub("_", value or "")[:64]
    return cleaned or default


def event_day(ev: SgEvent, now: datetime) -> str:
    """``YYYY/MM/DD`` of the event's time (UTC), else of ``now``."""
    try:
        moment = datetime.fromisoformat(ev.event_time.replace("Z", "+00:00"))
    except ValueError:
        return now.strftime("%Y/%m/%d")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y/%m/%d")


def ec2(ev: SgEvent) -> Any:
    """An EC2 client of the event's region (the function's own when the event names none)."""
    region = ev.region if REGION.fullmatch(ev.region or "") else None
    return aws.client("ec2", region)


def is_own_account(ev: SgEvent, context: Any) -> bool:
    """Whether the event happened in the function's own account (False when that is unknown)."""
    try:
        return ev.account_id == aws.function_account(context)
    except Exception as exc:
        log.warning("own_account_unknown", event_id=ev.event_id, error=aws.error_code(exc))
        return False


def needs_previous(ev: SgEvent) -> bool:
    """Whether some change can only be shown with the group's rules from before the event."""
    return any(
        c.action in (MODIFIED, DESCRIPTION, DELETED)
        or (c.action == REMOVED and (c.before is None or not c.before.rule_id))
        for c in ev.changes
    )


def _display_rule(rule: Rule) -> Rule:
    return rule._replace(description=unneutralise(rule.description), group_name=unneutralise(rule.group_name))


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, default=str).encode()


class EventRecords:
    """The notifier's objects in one evidence bucket."""

    def __init__(self, store: EvidenceStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.layout = Layout(prefix)

    # --- the event record (the exactly-once marker) ---------------------------------------

    def marker_key(self, ev: SgEvent, now: datetime) -> str:
        account = _key_part(ev.account_id, "unknown-account")
        region = _key_part(ev.region, "unknown-region")
        return f"{self.layout.series(account, region, EVENTS)}{event_day(ev, now)}/{ev.event_id}.json"

    def already_alerted(self, key: str) -> dict[str, Any] | None:
        """The stored record when this event was alerted before; None when not (or unknown).

        Existence is checked with a listing of the exact key (works with a prefix-scoped
        ``s3:ListBucket``); a failure to check publishes: a duplicate beats a lost alert.
        """
        try:
            if self.store.latest_key(key) != key:
                return None
            found = self.store.get(key)
        except ClientError as exc:
            log.warning("marker_unreadable", key=key, error=aws.error_code(exc))
            return None
        try:
            record = json.loads(found.body)
        except ValueError:
            record = {}
        return record if isinstance(record, dict) else {}

    def write_record(self, key: str, record: dict[str, Any], event_id: str) -> None:
        """Write the event record once; the alert is already out, so nothing here raises."""
        try:
            if self.store.put_new(key, _json(record), "application/json"):
                log.info("event_recorded", event_id=event_id, key=key)
            else:
                log.warning("duplicate_delivery_published", event_id=event_id, key=key)
        except Exception as exc:  # a missing record only risks one duplicate
            log.error("event_record_failed", event_id=event_id, key=key, error=aws.error_code(exc))

    # --- the group: its id (by name) and its previous rules --------------------------------

    def name_index(self, ev: SgEvent, name: str) -> str:
        return self.layout.series(ev.account_id, ev.region, GROUP_NAMES) + quote(name, safe="") + "/"

    def group_state(self, ev: SgEvent, group_id: str) -> str:
        return self.layout.series(ev.account_id, ev.region, GROUP_STATE) + group_id + "/"

    def resolve_group_id(self, ev: SgEvent) -> tuple[str, str]:
        """The id of the group the event names, from the name index of earlier creations,
        else the latest inventory snapshot; ``("", "")`` when neither knows it."""
        name = ev.group_name
        try:
            key = self.store.latest_key(self.name_index(ev, name))
            if key:
                data = json.loads(self.store.get(key).body)
                if data.get("group_id"):
                    return str(data["group_id"]), f"name index {key}"
            snapshot = latest_snapshot_key(self.store, self.prefix, ev.account_id, ev.region)
            if snapshot:
                rows = read_snapshot(self.store, snapshot)
                ids = sorted({r.group_id for r in rows if unneutralise(r.group_name) == name})
                if len(ids) == 1:
                    return ids[0], f"inventory snapshot {snapshot}"
        except Exception as exc:
            log.warning("resolve_by_name_failed", event_id=ev.event_id, error=aws.error_code(exc))
        return "", ""

    def previous_rules(self, ev: SgEvent, group_id: str) -> tuple[list[Rule] | None, str]:
        """The group's rules before this event, from the newer of its last recorded state and the
        latest inventory snapshot; ``(None, "")`` when neither knows the group."""
        oldest = datetime.min.replace(tzinfo=UTC)
        candidates: list[tuple[datetime, str, str]] = []
        state_key = self.store.latest_key(self.group_state(ev, group_id))
        if state_key:
            candidates.append((stamp_time(state_key) or oldest, "state", state_key))
        snapshot_key = latest_snapshot_key(self.store, self.prefix, ev.account_id, ev.region)
        if snapshot_key:
            candidates.append((stamp_time(snapshot_key) or oldest, "snapshot", snapshot_key))
        for _, kind, key in sorted(candidates, reverse=True):
            try:
                if kind == "state":
                    data = json.loads(self.store.get(key).body)
                    return [cloudtrail.rule_from_dict(r, ev.account_id, ev.region) for r in data.get("rules", [])], key
                rows = [_display_rule(r) for r in read_snapshot(self.store, key) if r.group_id == group_id]
                if rows:
                    return rows, key
            except Exception as exc:
                log.warning("previous_state_unreadable", key=key, error=aws.error_code(exc))
        return None, ""

    # --- after the alert: what the next events need ----------------------------------------

    def record_group_state(self, ev: SgEvent, group_id: str, now: datetime) -> str | None:
        """Describe the group's rules now and keep them as the next event's before-state."""
        group = {"GroupId": group_id, "GroupName": ev.group_name, "VpcId": ev.vpc_id}
        described = describe_rules(ec2(ev), group_id)
        rows = [_display_rule(r) for r in flatten_rules(ev.account_id, ev.region, [group], described) if r.direction]
        document = {
            "schema": 1,
            "group_id": group_id,
            "group_name": ev.group_name,
            "vpc_id": ev.vpc_id,
            "recorded_at": now.isoformat(),
            "after_event_id": ev.event_id,
            "rules": [cloudtrail.rule_dict(r) for r in rows],
        }
        key = self.group_state(ev, group_id) + stamp(now) + ".json"
        return key if self.store.put_new(key, _json(document), "application/json") else None

    def record_name(self, ev: SgEvent, now: datetime) -> None:
        document = {"group_id": ev.group_id, "group_name": ev.group_name, "vpc_id": ev.vpc_id, "event_id": ev.event_id}
        key = self.name_index(ev, ev.group_name) + stamp(now) + ".json"
        self.store.put_new(key, _json(document), "application/json")

    def record_after(self, ev: SgEvent, now: datetime, context: Any) -> None:
        """Keep the group's rules (and, for a creation, its name) for the next events; never raises."""
        if ev.failed or not ev.known or not ev.account_id or not REGION.fullmatch(ev.region or ""):
            return
        try:
            if ev.event_name == "CreateSecurityGroup" and ev.group_name and ev.group_id:
                self.record_name(ev, now)  # from the event itself: valid for any account
            if ev.event_name == "DeleteSecurityGroup":
                return
            if not is_own_account(ev, context):
                log.info("group_state_skipped", event_id=ev.event_id, reason="event of another account")
                return
            for group_id in ev.group_ids[:RECORDED_GROUPS]:
                state = self.record_group_state(ev, group_id, now)
                log.info("group_state_recorded", event_id=ev.event_id, group_id=group_id, key=state)
        except Exception as exc:
            log.warning("group_state_failed", event_id=ev.event_id, error=aws.error_code(exc))


def describe_group_id(ev: SgEvent) -> str:
    """The id of the group the event names, live (DescribeSecurityGroups by name); "" unless unique."""
    try:
        found = ec2(ev).describe_security_groups(Filters=[{"Name": "group-name", "Values": [ev.group_name]}])
        ids = sorted({g["GroupId"] for g in found.get("SecurityGroups", [])})
        return ids[0] if len(ids) == 1 else ""
    except Exception as exc:
        log.warning("resolve_by_name_describe_failed", event_id=ev.event_id, error=aws.error_code(exc))
        return ""


def resolve_group_id(ev: SgEvent, records: EventRecords | None, own: bool) -> tuple[str, str]:
    """Find the id of a group named in the event when the event has no id (e.g. delete by name):
    live (own account only), else the name index of earlier creations, else the latest snapshot."""
    live = describe_group_id(ev) if own else ""
    if live:
        return live, "live DescribeSecurityGroups"
    return records.resolve_group_id(ev) if records is not None else ("", "")
