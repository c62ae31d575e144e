"""The change notifier's settings, what it keeps in the evidence bucket and how it reads it back,
and what it looks up of the changed group at alert time.

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

At alert time (:func:`look_at_group`) the changed group is described (its tags, for the
IaC-managed test of :mod:`sgwatch.provenance`, and its ingress rules) and its exposure looked
up (:func:`sgwatch.exposure.look_up`), in the function's own account or, for an event forwarded
from a configured member account, through that account's member role. Whatever fails there
(access denied, throttling or timeouts after the quick clients' few retries, a missing member role,
no time left within :data:`LOOKUP_SECONDS`) is said in the alert and never stops it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError, HTTPClientError

from .. import (
    accounts,
    aws,
    cloudtrail,
    exposure,
    log,
    provenance,
    remediation_prompt,
    risk,
    rule_review_record,
    settings,
)
from ..cloudtrail import ADDED, DELETED, DESCRIPTION, MODIFIED, REMOVED, SgEvent
from ..csvio import unneutralise
from ..evidence import EVENTS, GROUP_NAMES, GROUP_STATE, REMEDIATION, EvidenceStore, Layout, stamp, stamp_time
from ..exposure import Exposure
from ..justification import Sources
from ..rules import Rule, flatten_rules, permission_peers
from ..settings import Environment
from ..snapshots import describe_rules, group_ids_named, group_index, group_rows, latest_snapshot_key
from . import alerts
from .alerts import ExposureSection

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
RECORDED_GROUPS = 5  # groups of one event whose state is recorded (an event names one, rarely more)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Settings:
    """The notifier's configuration: the alert topic (required), the evidence bucket (markers and
    before-states; without it every delivery publishes), Slack (optional, beside SNS), the risk
    model's authorized public ports, change control (``APPROVED_CHANGE_PRINCIPALS``,
    ``IAC_MANAGED_TAG_KEYS``: comma-separated, as ``modules/sg-change-alerts`` sets them) and the
    member accounts whose groups it may describe (:class:`sgwatch.accounts.Settings`)."""

    topic_arn: str
    evidence: settings.Evidence | None = None
    slack: settings.Slack | None = None
    authorized_public_ports: tuple[int, ...] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS
    approved_change_principals: tuple[str, ...] = ()
    iac_managed_tag_keys: tuple[str, ...] = provenance.DEFAULT_IAC_TAG_KEYS
    reach: accounts.Settings = field(default_factory=lambda: accounts.Settings.from_env({}))
    rule_review: rule_review_record.Settings = rule_review_record.Settings()  # tag keys and policy of justification
    remediation: remediation_prompt.Policy | None = None  # which alerts carry a Revert button
    # Auto mode: the member accounts' remediation role, assumed to revert a member account's change at alert time.
    remediation_role: str = ""

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        iac_keys = settings.items(env, "IAC_MANAGED_TAG_KEYS")
        return cls(
            topic_arn=settings.required(env, "ALERT_TOPIC_ARN", "the change notifier needs the alert topic"),
            evidence=settings.Evidence.from_env(env),
            slack=settings.Slack.from_env(env),
            authorized_public_ports=settings.authorized_public_ports(env),
            approved_change_principals=settings.items(env, "APPROVED_CHANGE_PRINCIPALS"),
            iac_managed_tag_keys=iac_keys if "IAC_MANAGED_TAG_KEYS" in env else provenance.DEFAULT_IAC_TAG_KEYS,
            reach=accounts.Settings.from_env(env),
            rule_review=rule_review_record.Settings.from_env(env),
            remediation=remediation_prompt.Policy.from_env(env),
            remediation_role=settings.text(env, "REMEDIATION_ROLE_NAME"),
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
        """The stored record when this event was alerted before; None when not.

        Existence is checked with a listing of the exact key (works with a prefix-scoped
        ``s3:ListBucket``). A failure to check raises; the caller publishes (a duplicate beats a
        lost alert) and says the check was skipped.
        """
        if self.store.latest_key(key) != key:
            return None
        found = self.store.get(key)
        try:
            record = json.loads(found.body)
        except ValueError:
            record = {}
        return record if isinstance(record, dict) else {}

    def write_record(self, key: str, record: dict[str, Any], event_id: str) -> bool:
        """Write the event record once; whether it is stored (now or before). The alert is already out, so
        nothing here raises."""
        try:
            if self.store.put_new(key, _json(record), "application/json"):
                log.info("event_recorded", event_id=event_id, key=key)
            else:
                log.warning("duplicate_delivery_published", event_id=event_id, key=key)
        except Exception as exc:  # a missing record only risks one duplicate
            log.error("event_record_failed", event_id=event_id, key=key, error=aws.error_code(exc))
            return False
        return True

    def write_auto_revert(self, ev: SgEvent, now: datetime, record: dict[str, Any]) -> bool:
        """Write an automatic revert's evidence once (``.../remediation/YYYY/MM/DD/<event id>-revert.json``, the
        key of an approver's Revert decision); whether it is stored. The alert is already out: nothing raises, a
        failure is logged and the Slack message says so."""
        folder = self.layout.series(ev.account_id, ev.region, REMEDIATION)
        key = f"{folder}{event_day(ev, now)}/{ev.event_id}-revert.json"
        try:
            if self.store.put_new(key, _json(record), "application/json"):
                log.info("auto_revert_recorded", event_id=ev.event_id, key=key)
            else:
                log.warning("auto_revert_already_recorded", event_id=ev.event_id, key=key)
        except Exception as exc:
            log.error("auto_revert_record_failed", event_id=ev.event_id, key=key, error=aws.error_code(exc))
            return False
        return True

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
            index = group_index(self.store, snapshot) if snapshot else None
            if snapshot and index:
                ids = group_ids_named(index, name)
                if len(ids) == 1:
                    return ids[0], f"inventory snapshot {snapshot}"
        except Exception as exc:
            log.warning("resolve_by_name_failed", event_id=ev.event_id, error=aws.error_code(exc))
        return "", ""

    def previous_rules(self, ev: SgEvent, group_id: str) -> tuple[list[Rule] | None, str]:
        """The group's rules before this event, from the newer of its last recorded state and the
        latest inventory snapshot (only the group's rows, found through the snapshot's group index);
        ``(None, "")`` when neither knows the group. A read that fails raises, as does a snapshot
        without a group index (written before there was one; never read whole): an older record
        is not shown as the newest."""
        oldest = datetime.min.replace(tzinfo=UTC)
        candidates: list[tuple[datetime, str, str]] = []
        state_key = self.store.latest_key(self.group_state(ev, group_id))
        if state_key:
            candidates.append((stamp_time(state_key) or oldest, "state", state_key))
        snapshot_key = latest_snapshot_key(self.store, self.prefix, ev.account_id, ev.region)
        if snapshot_key:
            candidates.append((stamp_time(snapshot_key) or oldest, "snapshot", snapshot_key))
        for _, kind, key in sorted(candidates, reverse=True):
            if kind == "state":
                data = json.loads(self.store.get(key).body)
                return [cloudtrail.rule_from_dict(r, ev.account_id, ev.region) for r in data.get("rules", [])], key
            index = group_index(self.store, key)
            if index is None:
                raise LookupError(f"{key} has no group index (the next inventory run writes one)")
            rows = [_display_rule(r) for r in group_rows(self.store, key, index, group_id)]
            if rows:
                return rows, key
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


# --- at alert time: the group's tags and exposure --------------------------------------------

# The longest the calls before an alert is published may take (the duplicate check, the
# before-state, resolving a group by name, assuming a member role, describing the group, the
# exposure calls): they run in one aws.quick() block, so no call starts that could end later,
# whatever AWS does, and the alert is published after them within the function's 60 s timeout.
LOOKUP_SECONDS = 30.0
PUBLISH_RESERVE_SECONDS = 25.0  # left for publishing, the record and Slack when the deadline is near
FINISH_RESERVE_SECONDS = 3.0  # left at the end of the invocation by the calls after publishing
AFTER_PUBLISH_SECONDS = 30.0  # the longest one step after publishing may take without a Lambda context
DELETED_GROUP = "the group was deleted (AWS deletes no group in use)"


@dataclass(frozen=True)
class GroupNow:
    """The changed group as the alert finds it: its tags, and what the internet reaches of it.

    ``exposure`` is None when it was not looked up (the rules then keep their own level);
    ``section`` is what the alert says about it either way; ``notes`` are for the alert's notes.
    """

    tags: dict[str, str]
    section: ExposureSection
    exposure: Exposure | None = None
    notes: tuple[str, ...] = ()
    rule_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # of the group's rules that have tags


def _tags(items: Any) -> dict[str, str]:
    """DescribeSecurityGroups ``Tags`` as a dict."""
    return {str(t["Key"]): str(t.get("Value") or "") for t in items or () if isinstance(t, Mapping) and t.get("Key")}


def _ingress_rules(ev: SgEvent, group: Mapping[str, Any]) -> list[Rule]:
    """The group's ingress rules from its DescribeSecurityGroups item (the peers are what counts)."""
    found = []
    for permission in group.get("IpPermissions") or ():
        low, high = (str(permission.get(k, "")) for k in ("FromPort", "ToPort"))
        for peer_type, peer, description in permission_peers(permission, str(group.get("OwnerId") or "")):
            found.append(Rule(ev.account_id, ev.region, str(group.get("VpcId") or ""), str(group.get("GroupId")),
                              "", "", "ingress", "", str(permission.get("IpProtocol") or ""), low, high, peer_type,
                              peer, description))
    return found


def _added(ev: SgEvent) -> list[Rule]:
    """The rules the event adds, or a modify leaves."""
    return [c.after for c in ev.changes if c.action in (ADDED, MODIFIED) and c.after is not None]


def _describe(ev: SgEvent, group_id: str) -> tuple[dict[str, str], list[Rule], str]:
    """The group's tags and ingress rules now; the event's own (request tags, added rules) and a
    note when it cannot be described."""
    added = _added(ev)
    try:
        found = aws.client("ec2", ev.region).describe_security_groups(GroupIds=[group_id]).get("SecurityGroups", [])
    except ClientError as exc:
        log.warning("group_not_described", event_id=ev.event_id, group_id=group_id, error=aws.error_code(exc))
        return dict(ev.tags), added, f"the group could not be described ({aws.error_code(exc)}): its tags are not known"
    group: Mapping[str, Any] = next((g for g in found if g.get("GroupId") == group_id), {})
    return {**ev.tags, **_tags(group.get("Tags"))}, _ingress_rules(ev, group) or added, ""


def _rule_tags(ev: SgEvent, group_id: str) -> tuple[dict[str, dict[str, str]], str]:
    """The tags of the group's rules (by rule id) when the event adds or modifies one (what justifies it), and
    a note when they cannot be read."""
    if not _added(ev):
        return {}, ""
    try:
        described = describe_rules(aws.client("ec2", ev.region), group_id)
        return {str(r.get("SecurityGroupRuleId")): _tags(r.get("Tags")) for r in described if r.get("Tags")}, ""
    except ClientError as exc:
        log.warning("rule_tags_not_read", event_id=ev.event_id, group_id=group_id, error=aws.error_code(exc))
        return {}, f"the rules' tags could not be read ({aws.error_code(exc)}): only the group's justify them"


def _look(ev: SgEvent, group_id: str, credentials: aws.Credentials | None) -> GroupNow:
    with aws.target_account(credentials, keep=True):  # one event at a time: a few accounts' clients, reused
        tags, rules, note = _describe(ev, group_id)
        rule_tags, tags_note = _rule_tags(ev, group_id)
        fetch = exposure.paged_fetch(lambda service: aws.client(service, ev.region))
        found = exposure.look_up(fetch, group_id, [*rules, *_added(ev)])  # the rules say which lists to read
    # Without the group's rules, which internet-facing load balancers its ingress admits is not known.
    unknown = [f"{note.partition(':')[0]}: which internet-facing load balancers its ingress admits"] if note else []
    summary = exposure.summarise(group_id, found, rules, unknown=unknown)
    notes = tuple(n for n in (note, tags_note) if n)
    return GroupNow(tags, ExposureSection.of(summary), found, notes, rule_tags)


def justification_of(ev: SgEvent, config: Settings, group: GroupNow) -> alerts.JustificationSection | None:
    """Whether the rules the event adds or modifies are justified: by their tags, their group's, or the policy
    (the register is the inventory's rule review's: an alert does not read it)."""
    reviewing = config.rule_review
    sources = Sources(reviewing.keys, group.rule_tags, {ev.group_id: group.tags}, (),
                      reviewing.private_peers_justified)
    return alerts.justification_section(_added(ev), sources)


def seconds_left(context: Any, reserve: float, cap: float | None = None) -> float:
    """Seconds the next calls may take: the invocation's remaining time less ``reserve``, at most
    ``cap`` (default :data:`LOOKUP_SECONDS`; that without a Lambda context)."""
    cap = LOOKUP_SECONDS if cap is None else cap
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return cap
    return min(cap, float(remaining()) / 1000 - reserve)


def before_publish(context: Any) -> AbstractContextManager[None]:
    """The one deadline of every call before an alert is published (an :func:`sgwatch.aws.quick` block)."""
    return aws.quick(max(seconds_left(context, PUBLISH_RESERVE_SECONDS), 0.0))


def after_publish(context: Any) -> AbstractContextManager[None]:
    """A deadline for the evidence writes after publishing: they end before the function's timeout,
    which would have the event retried and alerted again."""
    return aws.quick(max(seconds_left(context, FINISH_RESERVE_SECONDS, AFTER_PUBLISH_SECONDS), 0.0))


def reason(exc: Exception) -> str:
    """What an alert says of a call that failed: the AWS error and call, or the timeout and endpoint."""
    if isinstance(exc, ClientError):
        return f"{aws.error_code(exc)} on {exc.operation_name}"
    if isinstance(exc, LookupError):  # ours: it says what is missing
        return str(exc)
    # a timeout of the block, or a connection that timed out or failed (it names the endpoint)
    return str(exc) if isinstance(exc, (TimeoutError, HTTPClientError)) else aws.error_code(exc)


# The process's member-role credentials, of the session that assumed them (each account's kept
# until shortly before it expires): a warm alert in a member account assumes no role.
_MEMBER_ROLES: dict[tuple[str, str, str], tuple[Any, accounts.MemberCredentials]] = {}


def _member_roles(own_account: str, role_name: str, partition: str) -> accounts.MemberCredentials:
    key, session = (own_account, role_name, partition), aws.base_session()
    found = _MEMBER_ROLES.get(key)
    if found is None or found[0] is not session:
        _MEMBER_ROLES.clear()  # one function, one configuration and session: a new one replaces the old
        found = _MEMBER_ROLES[key] = (session, accounts.MemberCredentials(own_account, role_name, partition))
    return found[1]


def _member_credentials(ev: SgEvent, reach: accounts.Settings, context: Any) -> aws.Credentials | None:
    """The member role's credentials for an event of a configured member account; raises LookupError
    (with what the alert says) for any other account or a role not assumed."""
    account = ev.account_id
    configured = account in reach.accounts or reach.from_organizations
    if not (len(account) == 12 and account.isdigit()) or account in reach.excluded or not configured:
        raise LookupError(f"account {account or '(none)'} is neither this function's account nor one of its "
                          "member accounts")
    partition = aws.base_session().get_partition_for_region(ev.region)
    member = _member_roles(aws.function_account(context), reach.member_role, partition)
    try:
        return member.for_account(account)
    except ClientError as exc:
        role = f"arn:{partition}:iam::{account}:role/{reach.member_role}"
        raise LookupError(f"member role {role} could not be assumed ({aws.error_code(exc)})") from exc


def look_at_group(ev: SgEvent, reach: accounts.Settings, context: Any) -> GroupNow:
    """The changed group's tags and exposure now; never raises (what went wrong is in ``section``)."""
    group_id = ev.group_id
    if not group_id:
        return GroupNow(dict(ev.tags), ExposureSection.not_looked_up("the event names no security group id"))
    if ev.event_name == "DeleteSecurityGroup" and not ev.failed:
        return GroupNow(dict(ev.tags), ExposureSection.not_looked_up(DELETED_GROUP, exposed=False))
    if not REGION.fullmatch(ev.region or ""):
        return GroupNow(dict(ev.tags), ExposureSection.not_looked_up("the event names no AWS region"))
    own = is_own_account(ev, context)
    try:
        with before_publish(context):  # the handler's deadline (nested, the earlier holds), also when called alone
            found = _look(ev, group_id, None if own else _member_credentials(ev, reach, context))
    except Exception as exc:  # whatever the lookup met, the alert goes out and says so
        why = reason(exc)
        log.warning("exposure_not_looked_up", event_id=ev.event_id, group_id=group_id, account_id=ev.account_id,
                    reason=why)
        return GroupNow(dict(ev.tags), ExposureSection.not_looked_up(why))
    ev.notes.extend(found.notes)
    log.info("exposure_looked_up", event_id=ev.event_id, group_id=group_id, exposed=found.section.exposed,
             interfaces=len(found.exposure.reachable(group_id)) if found.exposure else 0)
    return found


def provenance_of(ev: SgEvent, config: Settings, tags: Mapping[str, str]) -> provenance.Provenance:
    """The change's provenance with the notifier's change-control settings and the group's tags."""
    return provenance.provenance(ev.detail, config.approved_change_principals, tags, config.iac_managed_tag_keys)
