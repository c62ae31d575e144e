"""What a revert does, read from the alert's event record, and doing it rule by rule.

Exactly what the alert showed, and only while it still holds:

* an **added** rule is revoked by its rule id (``RevokeSecurityGroupIngress``/``Egress`` with
  ``SecurityGroupRuleIds``);
* a **modified** rule is restored to its previous form (``ModifySecurityGroupRules``);
* a **removed** rule is never re-opened, and a change whose rule id or previous form the alert did
  not know is left alone (the outcome says why).

Before each step the rule is read live (``DescribeSecurityGroupRules`` of its group). When it no
longer equals what the alert showed (someone changed it since, or it is gone) nothing is done to it
and the outcome says "rule changed since" (or "already gone"): a revert never undoes a newer change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import accounts, aws, log
from .cloudtrail import rule_from_dict, rule_matches
from .csvio import unneutralise
from .rules import Rule, flatten_rules
from .snapshots import describe_rules

REVOKE = "revoke"
RESTORE = "restore"
PUT_BACK = "put back"  # an automatic revert's rule put back as the alert showed it (Restore as exception)

# Outcomes of one step
DONE = "done"
CHANGED_SINCE = "rule changed since"
ALREADY_GONE = "already gone"
NOT_REVERTIBLE = "not reverted"
FAILED = "failed"
NOT_TRIED = "not tried"

# Who decided an automatic revert (``remediation.mode = "auto"``), in its evidence record.
AUTO = "auto"


@dataclass(frozen=True)
class Step:
    """One rule to put back: ``expected`` is the rule as the alert showed it, ``restore`` its previous form."""

    kind: str  # REVOKE or RESTORE
    group_id: str
    rule_id: str
    expected: Rule
    restore: Rule | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "group_id": self.group_id, "rule_id": self.rule_id,
                "expected": _rule_record(self.expected),
                "restore": _rule_record(self.restore) if self.restore is not None else None}


@dataclass(frozen=True)
class Outcome:
    step: Step | None
    result: str  # DONE, CHANGED_SINCE, ALREADY_GONE, NOT_REVERTIBLE
    detail: str = ""
    request_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step.as_dict() if self.step else None, "result": self.result, "detail": self.detail,
                "request_id": self.request_id}

    def line(self) -> str:
        """One line for Slack and the log (ids only: no user text)."""
        if self.step is None:
            return f"{self.result}: {self.detail}"
        verb = {REVOKE: "revoked", RESTORE: "restored"}.get(self.step.kind, self.step.kind)
        what = f"{self.step.rule_id} in {self.step.group_id}"
        if self.result == DONE:
            return f"{what}: {verb}"
        return f"{what}: nothing done, {self.result}" + (f" ({self.detail})" if self.detail else "")


def _step_from(found: Any, account: str, region: str) -> Step | None:
    """A step as :meth:`Step.as_dict` stored it; None for anything else."""
    if not isinstance(found, Mapping) or found.get("kind") not in (REVOKE, RESTORE):
        return None
    expected, previous = found.get("expected"), found.get("restore")
    if not isinstance(expected, Mapping):
        return None
    return Step(str(found["kind"]), str(found.get("group_id") or ""), str(found.get("rule_id") or ""),
                rule_from_dict(expected, account, region),
                rule_from_dict(previous, account, region) if isinstance(previous, Mapping) else None)


def _rule_record(rule: Rule) -> dict[str, str]:
    return {name: getattr(rule, name) for name in ("group_id", "direction", "rule_id", "protocol", "from_port",
                                                   "to_port", "peer_type", "peer", "description")}


def plan(record: Mapping[str, Any]) -> tuple[list[Step], list[Outcome]]:
    """The steps of a revert of the alert whose event record is ``record``, and the changes it leaves (why)."""
    account, region = str(record.get("account_id") or ""), str(record.get("region") or "")
    steps: list[Step] = []
    skipped: list[Outcome] = []
    for change in record.get("changes") or ():
        if not isinstance(change, Mapping):
            continue
        action = change.get("action")
        after = change.get("after") if isinstance(change.get("after"), Mapping) else None
        before = change.get("before") if isinstance(change.get("before"), Mapping) else None
        shown = rule_from_dict(after, account, region) if after is not None else None
        if action == "added" and shown is not None and shown.rule_id and shown.group_id:
            steps.append(Step(REVOKE, shown.group_id, shown.rule_id, shown))
        elif action == "modified" and shown is not None and before is not None:
            previous = rule_from_dict(before, account, region)
            rule_id = shown.rule_id or previous.rule_id
            group_id = shown.group_id or previous.group_id
            if rule_id and group_id and previous.peer_type:
                steps.append(Step(RESTORE, group_id, rule_id, shown._replace(rule_id=rule_id, group_id=group_id),
                                  previous))
            else:
                skipped.append(Outcome(None, NOT_REVERTIBLE, "a modified rule whose id or previous form is unknown"))
        elif action == "added":
            skipped.append(Outcome(None, NOT_REVERTIBLE, "an added rule whose rule id is unknown"))
        elif action == "removed":
            skipped.append(Outcome(None, NOT_REVERTIBLE, "a removed rule is never re-opened"))
    return steps, skipped


def still_as_shown(live: Rule, shown: Rule) -> bool:
    """Whether the live rule is the one the alert showed: same direction, protocol, ports, peer and description."""
    return rule_matches(shown, live) and live.direction == shown.direction and (
        unneutralise(live.description) == unneutralise(shown.description))


def _permission(rule: Rule) -> dict[str, Any]:
    """A ``SecurityGroupRuleRequest`` putting ``rule`` back."""
    request: dict[str, Any] = {"IpProtocol": rule.protocol}
    if rule.from_port not in ("",):
        request["FromPort"] = int(rule.from_port)
    if rule.to_port not in ("",):
        request["ToPort"] = int(rule.to_port)
    peer_field = {"ipv4": "CidrIpv4", "ipv6": "CidrIpv6", "prefix-list": "PrefixListId",
                  "security-group": "ReferencedGroupId"}[rule.peer_type]
    request[peer_field] = rule.peer.rsplit("/", 1)[-1] if rule.peer_type == "security-group" else rule.peer
    if rule.description:
        request["Description"] = unneutralise(rule.description)
    return request


def _live_rules(ec2: Any, account: str, region: str, group_id: str) -> dict[str, Rule]:
    found = flatten_rules(account, region, [], describe_rules(ec2, group_id))
    return {r.rule_id: r for r in found if r.rule_id}


def _request_id(answer: Mapping[str, Any]) -> str:
    return str((answer.get("ResponseMetadata") or {}).get("RequestId") or "")


def apply(ec2: Any, account: str, region: str, steps: Sequence[Step]) -> list[Outcome]:
    """Do each step whose rule is still as the alert showed it. An AWS error raises (the job is retried: each
    step checks the live rule again, so a step done before the error is found done, never done twice)."""
    outcomes: list[Outcome] = []
    live_by_group: dict[str, dict[str, Rule]] = {}
    for step in steps:
        live_rules = live_by_group.get(step.group_id)
        if live_rules is None:
            live_rules = live_by_group[step.group_id] = _live_rules(ec2, account, region, step.group_id)
        live = live_rules.get(step.rule_id)
        if live is None:
            outcomes.append(Outcome(step, ALREADY_GONE))
            continue
        if step.kind == RESTORE and step.restore is not None and still_as_shown(live, step.restore):
            outcomes.append(Outcome(step, DONE, "already as before"))
            continue
        if not still_as_shown(live, step.expected):
            log.warning("revert_step_skipped", rule_id=step.rule_id, group_id=step.group_id, reason=CHANGED_SINCE)
            outcomes.append(Outcome(step, CHANGED_SINCE))
            continue
        if step.kind == REVOKE:
            call = ec2.revoke_security_group_egress if live.direction == "egress" else (
                ec2.revoke_security_group_ingress)
            answer = call(GroupId=step.group_id, SecurityGroupRuleIds=[step.rule_id])
        else:
            assert step.restore is not None
            restored = {"SecurityGroupRuleId": step.rule_id, "SecurityGroupRule": _permission(step.restore)}
            answer = ec2.modify_security_group_rules(GroupId=step.group_id, SecurityGroupRules=[restored])
        log.info("revert_step_done", kind=step.kind, rule_id=step.rule_id, group_id=step.group_id,
                 aws_request_id=_request_id(answer))
        outcomes.append(Outcome(step, DONE, request_id=_request_id(answer)))
    return outcomes


def may_revert_in(reach: accounts.Settings, own_account: str, account_id: str) -> bool:
    """Whether a revert may touch ``account_id``: the function's own account, or one of its member accounts."""
    if account_id == own_account:
        return True
    if not (len(account_id) == 12 and account_id.isdigit()):
        return False
    return account_id not in reach.excluded and (account_id in reach.accounts or reach.from_organizations)


def credentials(role_name: str, own_account: str, account_id: str, region: str) -> aws.Credentials | None:
    """What a revert in ``account_id`` runs with, for the Revert job and the automatic revert alike: None (the
    function's own credentials) in its own account, else the member account's remediation role ``role_name``, the
    one role a revert assumes. A role that cannot be assumed raises."""
    if account_id == own_account:
        return None
    partition = aws.base_session().get_partition_for_region(region)
    return accounts.MemberCredentials(own_account, role_name, partition).for_account(account_id)


def role_arn(role_name: str, account_id: str, region: str) -> str:
    return f"arn:{aws.base_session().get_partition_for_region(region)}:iam::{account_id}:role/{role_name}"


def error_outcome(exc: BaseException) -> Outcome:
    return Outcome(None, FAILED, aws.error_code(exc))


def apply_reporting(ec2: Any, account: str, region: str, steps: Sequence[Step]) -> list[Outcome]:
    """:func:`apply` for a revert nobody retries (the notifier's, at alert time): a step whose call fails is an
    outcome saying why, and the steps after it are not tried. Nothing raises."""
    outcomes: list[Outcome] = []
    for index, step in enumerate(steps):
        try:
            outcomes += apply(ec2, account, region, [step])
        except Exception as exc:  # said in the alert and the evidence
            log.warning("revert_step_failed", rule_id=step.rule_id, group_id=step.group_id, error=aws.error_code(exc))
            outcomes.append(Outcome(step, FAILED, aws.error_code(exc)))
            outcomes += [Outcome(later, NOT_TRIED) for later in steps[index + 1:]]
            break
    return outcomes


def auto_note(outcomes: Sequence[Outcome]) -> str:
    """What an alert says of its automatic revert: what was done to each rule, and what was not and why."""
    lines = "; ".join(o.line() for o in outcomes) or "nothing to revert"
    done = [o.result == DONE for o in outcomes]
    if done and all(done):
        return f"reverted automatically: {lines}"
    if any(done):
        return f"reverted automatically in part: {lines}"
    return f"not reverted automatically: {lines}"


def auto_record(event_id: str, account: str, region: str, at: str, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The evidence of an automatic revert (``.../remediation/YYYY/MM/DD/<event id>-revert.json``, written once):
    the decision (by :data:`AUTO`) and its outcome in one record."""
    return {"schema": 1, "action": "revert", "event_id": event_id, "account_id": account, "region": region,
            "decided_by": AUTO, "decided_at": at, "outcomes": [o.as_dict() for o in outcomes],
            "lines": [o.line() for o in outcomes], "note": auto_note(outcomes)}


def done_steps(record: Mapping[str, Any]) -> list[Step]:
    """The steps an automatic revert's evidence record (:func:`auto_record`) says were done."""
    account, region = str(record.get("account_id") or ""), str(record.get("region") or "")
    found = []
    for outcome in record.get("outcomes") or ():
        if isinstance(outcome, Mapping) and outcome.get("result") == DONE:
            step = _step_from(outcome.get("step"), account, region)
            if step is not None and step.group_id:
                found.append(step)
    return found


def _ip_permission(rule: Rule) -> dict[str, Any]:
    """An ``IpPermission`` authorizing ``rule`` again."""
    request = _permission(rule)
    permission: dict[str, Any] = {k: request[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in request}
    peer: dict[str, Any] = {}
    if "Description" in request:
        peer["Description"] = request["Description"]
    if rule.peer_type == "ipv4":
        permission["IpRanges"] = [{"CidrIp": request["CidrIpv4"], **peer}]
    elif rule.peer_type == "ipv6":
        permission["Ipv6Ranges"] = [{"CidrIpv6": request["CidrIpv6"], **peer}]
    elif rule.peer_type == "prefix-list":
        permission["PrefixListIds"] = [{"PrefixListId": request["PrefixListId"], **peer}]
    else:
        permission["UserIdGroupPairs"] = [{"GroupId": request["ReferencedGroupId"], **peer}]
    return permission


def put_back(ec2: Any, account: str, region: str, steps: Sequence[Step]) -> list[Outcome]:
    """Undo an automatic revert's done steps (Restore as exception): a revoked rule is authorized again as the
    alert showed it, unless a live rule of the group already is; a restored rule is modified back to the alert's
    form while it is still as the revert left it. An AWS error raises (the job is retried: each step checks the
    live rules again)."""
    outcomes: list[Outcome] = []
    for step in steps:
        live_rules = _live_rules(ec2, account, region, step.group_id)
        back = Step(PUT_BACK, step.group_id, step.rule_id, step.expected)
        if any(still_as_shown(live, step.expected) for live in live_rules.values()):
            outcomes.append(Outcome(back, DONE, "already as the alert showed it"))
            continue
        if step.kind == REVOKE:
            call = ec2.authorize_security_group_egress if step.expected.direction == "egress" else (
                ec2.authorize_security_group_ingress)
            answer = call(GroupId=step.group_id, IpPermissions=[_ip_permission(step.expected)])
        else:
            live = live_rules.get(step.rule_id)
            if live is None or step.restore is None or not still_as_shown(live, step.restore):
                outcomes.append(Outcome(back, CHANGED_SINCE))
                continue
            wanted = {"SecurityGroupRuleId": step.rule_id, "SecurityGroupRule": _permission(step.expected)}
            answer = ec2.modify_security_group_rules(GroupId=step.group_id, SecurityGroupRules=[wanted])
        log.info("put_back_step_done", rule_id=step.rule_id, group_id=step.group_id,
                 aws_request_id=_request_id(answer))
        outcomes.append(Outcome(back, DONE, request_id=_request_id(answer)))
    return outcomes
