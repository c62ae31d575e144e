"""Security-group CloudTrail records parsed into plain data.

Accepts the EventBridge event as delivered ("AWS API Call via CloudTrail", the record
under ``detail``) or a bare CloudTrail record, for the nine security-group API calls:
create, delete, authorize/revoke ingress/egress, ``ModifySecurityGroupRules`` and the two
``UpdateSecurityGroupRuleDescriptions*`` calls. Shapes handled:

* ``ipPermissions.items[]`` with ``ipRanges``/``ipv6Ranges``/``prefixListIds``/``groups``
  (several permissions and several peers per call), and the legacy top-level form
  (``cidrIp``/``ipProtocol``/``fromPort``/``toPort`` or ``sourceSecurityGroupName``) whose
  ``ipPermissions`` is ``{}``;
* the response rule sets (``securityGroupRuleSet``, ``revokedSecurityGroupRuleSet``), which
  carry the ``sgr-`` ids and win over the request when present;
* revokes by ``securityGroupRuleIds``, ``ModifySecurityGroupRulesRequest`` (capitalised
  keys), ``securityGroupRuleDescriptions``; failed calls (``errorCode``, ``responseElements``
  null); a delete by ``groupName`` only.

Nothing here raises on shape: anything unexpected is noted in ``SgEvent.problems`` and
the event stays ``known=False`` so that the caller still sends a generic alert.

Here: the parsed event (:class:`SgEvent`, :class:`RuleChange`, :class:`Actor`), one parser per
event kind, and :func:`resolve`, which fills in each change's before-state from the group's
previous rules. How rules are read out of requests and responses is
:mod:`sgwatch.cloudtrail_rules`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .cloudtrail_rules import (
    RuleHead,
    as_text,
    lookup,
    mappings,
    permission_rules,
    request_rules,
    response_rule,
    rule_ids,
)
from .rules import Rule

Part = Mapping[str, Any]  # requestParameters or responseElements of a record

EVENT_NAMES = (
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
    "UpdateSecurityGroupRuleDescriptionsIngress",
    "UpdateSecurityGroupRuleDescriptionsEgress",
)

ADDED = "added"
REMOVED = "removed"
MODIFIED = "modified"
CREATED = "created"
DELETED = "deleted"
DESCRIPTION = "description"

RULE_FIELDS = (
    "group_id", "direction", "rule_id", "protocol", "from_port", "to_port", "peer_type", "peer", "description"
)
_GROUP_ID = re.compile(r"\bsg-[0-9a-f]{8,17}\b")


@dataclass(frozen=True)
class Actor:
    """Who made the call. For assumed roles ``principal`` is the role, ``session_name`` the session."""

    type: str = ""
    arn: str = ""
    principal: str = ""
    session_name: str = ""
    account_id: str = ""
    invoked_by: str = ""

    @property
    def display(self) -> str:
        kind = {
            "AssumedRole": "role",
            "IAMUser": "IAM user",
            "Root": "root user",
            "FederatedUser": "federated user",
            "AWSService": "AWS service",
            "IdentityCenterUser": "Identity Center user",
        }.get(self.type, self.type or "unknown identity")
        text = f"{kind} {self.principal}".strip() if self.principal else kind
        if self.session_name:
            text += f" (session {self.session_name})"
        if self.invoked_by:
            text += f" via {self.invoked_by}"
        return text

    def as_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "arn": self.arn,
            "principal": self.principal,
            "session_name": self.session_name,
            "display": self.display,
        }


@dataclass(frozen=True)
class RuleChange:
    """One rule (or group) change; ``before``/``after`` are ``None`` when absent or unknown."""

    action: str
    before: Rule | None = None
    after: Rule | None = None
    rule_id: str = ""
    before_unknown: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "before": rule_dict(self.before), "after": rule_dict(self.after)}


@dataclass
class SgEvent:
    event_id: str = ""
    event_name: str = ""
    event_time: str = ""
    event_source: str = ""
    account_id: str = ""
    region: str = ""
    group_ids: list[str] = field(default_factory=list)
    group_name: str = ""
    group_description: str = ""
    vpc_id: str = ""
    actor: Actor = field(default_factory=Actor)
    source_ip: str = ""
    user_agent: str = ""
    error_code: str = ""
    error_message: str = ""
    changes: list[RuleChange] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    known: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.error_code)

    @property
    def group_id(self) -> str:
        return self.group_ids[0] if self.group_ids else ""

    @property
    def ingress_or_egress(self) -> str:
        if self.event_name.endswith("Ingress"):
            return "ingress"
        if self.event_name.endswith("Egress"):
            return "egress"
        return ""


def rule_dict(rule: Rule | None) -> dict[str, str] | None:
    if rule is None:
        return None
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def rule_from_dict(data: Mapping[str, Any], account_id: str = "", region: str = "") -> Rule:
    values = {name: as_text(data.get(name)) for name in Rule._fields}
    values["account_id"] = values["account_id"] or account_id
    values["region"] = values["region"] or region
    return Rule(**values)


# --- the envelope ----------------------------------------------------------------------------


def unwrap(event: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(envelope, CloudTrail record) of an EventBridge event or a bare record."""
    if not isinstance(event, Mapping):
        return {}, {}
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        return dict(event), dict(detail)
    if any(k in event for k in ("eventName", "eventID", "requestParameters", "userIdentity")):
        return {}, dict(event)
    return dict(event), {}


def event_identity(event: Any) -> str:
    """The de-duplication id: CloudTrail eventID, else EventBridge id, else a content digest."""
    envelope, record = unwrap(event)
    for candidate in (record.get("eventID"), envelope.get("id")):
        if isinstance(candidate, str) and re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", candidate):
            return candidate
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
    return f"sha256-{digest[:40]}"


def parse_actor(identity: Any) -> Actor:
    if not isinstance(identity, Mapping):
        return Actor()
    kind = as_text(identity.get("type"))
    arn = as_text(identity.get("arn"))
    account = as_text(identity.get("accountId"))
    invoked_by = as_text(identity.get("invokedBy"))
    principal = as_text(identity.get("userName"))
    session_name = ""
    if kind == "AssumedRole" or ":assumed-role/" in arn:
        issuer = lookup(lookup(identity, "sessionContext"), "sessionIssuer")
        parts = arn.split(":assumed-role/", 1)[1].split("/", 1) if ":assumed-role/" in arn else []
        principal = (parts[0] if parts else "") or as_text(lookup(issuer, "userName"))
        session_name = parts[1] if len(parts) > 1 else as_text(identity.get("principalId")).partition(":")[2]
    elif kind == "FederatedUser" and ":federated-user/" in arn:
        principal = principal or arn.split(":federated-user/", 1)[1]
    elif kind == "Root":
        principal = principal or account
    elif kind == "AWSService":
        principal = invoked_by or principal
        invoked_by = ""
    if not principal and arn:
        principal = arn.rsplit("/", 1)[-1]
    return Actor(kind, arn, principal, session_name, account, invoked_by)


# --- one parser per event kind ---------------------------------------------------------------


def _parse_create(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    ev.group_description = as_text(lookup(params, "groupDescription"))
    for spec in mappings(lookup(params, "tagSpecificationSet", "tagSpecifications")):
        for tag in mappings(lookup(spec, "tags", "tag")):
            ev.tags[as_text(lookup(tag, "key"))] = as_text(lookup(tag, "value"))
    ev.changes.append(RuleChange(CREATED))


def _parse_delete(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    ev.changes.append(RuleChange(DELETED))


def _parse_authorize(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    direction = ev.ingress_or_egress
    created = [response_rule(head, item, direction) for item in mappings(lookup(response, "securityGroupRuleSet"))]
    for rule in created or request_rules(head, direction, params):
        ev.changes.append(RuleChange(ADDED, after=rule, rule_id=rule.rule_id))


def _parse_revoke(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    direction = ev.ingress_or_egress
    revoked_set = mappings(lookup(response, "revokedSecurityGroupRuleSet"))
    revoked = [response_rule(head, item, direction) for item in revoked_set]
    if revoked:
        ev.changes.extend(RuleChange(REMOVED, before=rule, rule_id=rule.rule_id) for rule in revoked)
    else:
        for rule_id in rule_ids(lookup(params, "securityGroupRuleIds", "securityGroupRuleId")):
            ev.changes.append(RuleChange(REMOVED, rule_id=rule_id))
        for rule in request_rules(head, direction, params):
            ev.changes.append(RuleChange(REMOVED, before=rule))
    unknown_set = mappings(lookup(response, "unknownIpPermissionSet"))
    unknown = [r for p in unknown_set for r in permission_rules(head, direction, p)]
    if unknown:
        ev.notes.append(f"{len(unknown)} requested rule(s) matched no existing rule; nothing was removed for them")


def _parse_modify(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    request = lookup(params, "ModifySecurityGroupRulesRequest")
    request = request if isinstance(request, Mapping) else params
    group_id = as_text(lookup(request, "GroupId"))
    if group_id and group_id not in ev.group_ids:
        ev.group_ids.insert(0, group_id)
        head = replace(head, group_id=group_id)
    for update in mappings(lookup(request, "SecurityGroupRule", "SecurityGroupRules")):
        rule_id = as_text(lookup(update, "SecurityGroupRuleId"))
        spec = lookup(update, "SecurityGroupRule")
        after = None
        if isinstance(spec, Mapping):
            after = response_rule(head, spec)._replace(rule_id=rule_id)
        ev.changes.append(RuleChange(MODIFIED, after=after, rule_id=rule_id))


def _parse_descriptions(ev: SgEvent, head: RuleHead, params: Part, response: Part) -> None:
    direction = ev.ingress_or_egress
    for item in mappings(lookup(params, "securityGroupRuleDescriptions", "securityGroupRuleDescription")):
        rule_id = as_text(lookup(item, "securityGroupRuleId"))
        after = head.rule(direction, rule_id, "", "", "", "", "", lookup(item, "description"))
        ev.changes.append(RuleChange(DESCRIPTION, after=after, rule_id=rule_id))
    for rule in request_rules(head, direction, params):
        ev.changes.append(RuleChange(DESCRIPTION, after=rule))


_PARSERS = {
    "CreateSecurityGroup": _parse_create,
    "DeleteSecurityGroup": _parse_delete,
    "AuthorizeSecurityGroupIngress": _parse_authorize,
    "AuthorizeSecurityGroupEgress": _parse_authorize,
    "RevokeSecurityGroupIngress": _parse_revoke,
    "RevokeSecurityGroupEgress": _parse_revoke,
    "ModifySecurityGroupRules": _parse_modify,
    "UpdateSecurityGroupRuleDescriptionsIngress": _parse_descriptions,
    "UpdateSecurityGroupRuleDescriptionsEgress": _parse_descriptions,
}


def parse(event: Any) -> SgEvent:
    """The event as an :class:`SgEvent`; never raises on shape."""
    envelope, record = unwrap(event)
    ev = SgEvent(event_id=event_identity(event), detail=record or (dict(event) if isinstance(event, Mapping) else {}))
    try:
        _fill(ev, envelope, record)
    except Exception as exc:  # a shape we did not foresee: keep what we have, alert generically
        ev.known = False
        ev.problems.append(f"unexpected event shape ({type(exc).__name__}: {exc})")
    if not ev.group_ids:
        ev.group_ids = _scan_group_ids(record or event)
    return ev


def _fill(ev: SgEvent, envelope: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    if not record:
        ev.problems.append("no CloudTrail record in the event")
    ev.event_name = as_text(record.get("eventName")) or as_text(envelope.get("detail-type"))
    ev.event_time = as_text(record.get("eventTime")) or as_text(envelope.get("time"))
    ev.event_source = as_text(record.get("eventSource")) or as_text(envelope.get("source"))
    ev.account_id = (
        as_text(record.get("recipientAccountId")) or as_text(envelope.get("account"))
        or as_text(lookup(record.get("userIdentity"), "accountId"))
    )
    ev.region = as_text(record.get("awsRegion")) or as_text(envelope.get("region"))
    ev.actor = parse_actor(record.get("userIdentity"))
    ev.source_ip = as_text(record.get("sourceIPAddress"))
    ev.user_agent = as_text(record.get("userAgent"))
    ev.error_code = as_text(record.get("errorCode"))
    ev.error_message = as_text(record.get("errorMessage"))

    params = record.get("requestParameters")
    response = record.get("responseElements")
    params = params if isinstance(params, Mapping) else {}
    response = response if isinstance(response, Mapping) else {}
    for source in (params, response):
        group_id = as_text(lookup(source, "groupId"))
        if group_id and group_id not in ev.group_ids:
            ev.group_ids.append(group_id)
    ev.group_name = as_text(lookup(params, "groupName"))
    ev.vpc_id = as_text(lookup(params, "vpcId"))

    parser = _PARSERS.get(ev.event_name)
    if parser is None:
        ev.problems.append(f"unexpected event name {ev.event_name or '(none)'}")
        return
    if ev.event_source and ev.event_source != "ec2.amazonaws.com":
        ev.problems.append(f"unexpected event source {ev.event_source}")
    head = RuleHead(ev.account_id, ev.region, ev.vpc_id, ev.group_id, ev.group_name)
    parser(ev, head, params, response)
    ev.known = not ev.problems


def _scan_group_ids(value: Any) -> list[str]:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return sorted(set(_GROUP_ID.findall(text)))[:20]


# --- filling in the before-state -------------------------------------------------------------


def _same_ports(a: Rule, b: Rule) -> bool:
    """Requests for all-traffic rules say ports 0/0 or nothing; the rule says -1/-1."""
    if a.protocol == "-1" and b.protocol == "-1":
        return True
    return (a.from_port, a.to_port) == (b.from_port, b.to_port)


def rule_matches(request: Rule, stored: Rule) -> bool:
    return (
        (not request.direction or not stored.direction or request.direction == stored.direction)
        and request.protocol == stored.protocol
        and _same_ports(request, stored)
        and request.peer_type == stored.peer_type
        and request.peer == stored.peer
    )


def resolve(ev: SgEvent, previous: Iterable[Rule] | None) -> list[RuleChange]:
    """Changes with ``before`` filled from the group's previous rules where the event lacks it.

    ``previous`` is ``None`` when no previous state exists at all; then the changes that
    need it are marked ``before_unknown``.
    """
    known = None if previous is None else [r for r in previous if r.direction]
    by_id = {r.rule_id: r for r in known or () if r.rule_id}
    out: list[RuleChange] = []
    for change in ev.changes:
        if change.action == DELETED:
            if known:
                out.extend(RuleChange(DELETED, before=r, rule_id=r.rule_id) for r in known)
            else:
                out.append(replace(change, before_unknown=known is None))
            continue
        needs_before = change.action in (REMOVED, MODIFIED, DESCRIPTION)
        if not needs_before:
            out.append(change)
            continue
        before = change.before
        if before is None and change.rule_id:
            before = by_id.get(change.rule_id)
        probe = change.before or change.after
        if before is None and probe is not None and not change.rule_id and known:
            before = next((r for r in known if rule_matches(probe, r)), None)
        elif before is not None and not before.rule_id and known:
            stored = next((r for r in known if rule_matches(before, r)), None)
            if stored is not None:
                before = before._replace(rule_id=stored.rule_id)
        after = change.after
        if change.action == DESCRIPTION and before is not None and after is not None:
            after = before._replace(description=after.description)
        elif change.action == MODIFIED and before is not None and after is not None and not after.direction:
            after = after._replace(direction=before.direction)
        out.append(RuleChange(change.action, before, after, change.rule_id or (before.rule_id if before else ""),
                              before_unknown=before is None))
    return out
