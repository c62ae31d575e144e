"""The rules CloudFormation stacks declare, from CloudFormation's own drift detection (PCI DSS 1.2.8).

For each stack of an account and region that holds ``AWS::EC2::SecurityGroup``, ``...SecurityGroupIngress`` or
``...SecurityGroupEgress`` resources, one ``DetectStackDrift`` on those resources (asynchronous: every stack's
detection is started, then each is polled with ``DescribeStackDriftDetectionStatus`` until it completes or the
wait ends), then ``DescribeStackResourceDrifts``. ``DetectStackDrift`` was chosen over ``DetectStackResourceDrift``
per resource: one call per stack rather than per group and rule resource, on an API whose quota the stack's owners
share.

What the detection returns is read as *declarations*, not as the verdict: a resource's ``ExpectedProperties`` (the
template's values with its parameters resolved) become :class:`~sgwatch.iac_state.DeclaredRule` rows with
``source`` the stack ARN and ``address`` the logical id, and :func:`sgwatch.drift.drift` holds the live rules
against them as against a Terraform state. So a group whose rules come from separate ``SecurityGroupIngress``
resources is not drift, as CloudFormation's ``MODIFIED`` on the group alone would say; a ``MODIFIED`` rule is
``changed`` (or ``unmanaged-rule`` and ``missing-rule`` for an inline rule whose peer was changed); a rule in a
stack's group that no resource declares is ``unmanaged-rule``. A ``DELETED`` resource has no expected properties:
its group (for a group resource) is placed as declared, so its declared rules cannot be listed; the resource is a
``missing-rule`` row of its own (:func:`deleted_rows`).

Never a quiet "no drift": a stack in progress (``*_IN_PROGRESS``), a detection that failed or did not complete in
the wait, and a resource CloudFormation reports ``NOT_CHECKED`` or ``UNKNOWN`` are :attr:`Stacks.not_checked`,
which the caller reports as a failed part of the run. Throttling is retried by botocore's standard retries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .drift import MISSING, DriftRow
from .iac_state import Declared, DeclaredGroup, DeclaredRule, protocol

GROUP, INGRESS, EGRESS = "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"
TYPES = (GROUP, INGRESS, EGRESS)
IAM_ACTIONS = ("cloudformation:ListStacks", "cloudformation:ListStackResources", "cloudformation:DetectStackDrift",
               "cloudformation:DescribeStackDriftDetectionStatus", "cloudformation:DescribeStackResourceDrifts")
STACK_TAG = "aws:cloudformation:stack-id"  # the tag CloudFormation puts on what a stack creates
# Every stack status but the deleted ones (ListStacks lists those for 90 days).
LIVE_STATUSES = (
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
)
DEFAULT_WAIT = 120.0  # seconds every detection of one account and region may take together
POLL_EVERY = 5.0  # seconds between status checks
_PEERS = (("CidrIp", "ipv4"), ("CidrIpv6", "ipv6"), ("SourcePrefixListId", "prefix-list"),
          ("DestinationPrefixListId", "prefix-list"), ("SourceSecurityGroupId", "security-group"),
          ("DestinationSecurityGroupId", "security-group"))
# What EC2 gives a group whose template declares no egress rule (CloudFormation leaves it in place).
_DEFAULT_EGRESS = {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}


class NotChecked(RuntimeError):
    """A stack's security-group resources could not be checked: the pair's drift is unknown."""


@dataclass
class Stacks:
    """What the stacks of one account and region declare."""

    declared: Declared = field(default_factory=Declared)
    deleted: list[DriftRow] = field(default_factory=list)  # a missing-rule row per DELETED resource
    not_checked: list[str] = field(default_factory=list)  # "<stack ARN>: why", each a failed part of the run
    stack_ids: set[str] = field(default_factory=set)  # the stacks whose drift was read


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _rules(stack: str, logical: str, group_id: str, direction: str, entry: Mapping[str, Any]) -> list[DeclaredRule]:
    """The rule of one ingress/egress entry (a group's list item, or a rule resource's properties)."""
    for name, kind in _PEERS:
        if entry.get(name):
            peer_type, peer = kind, _text(entry[name])
            break
    else:
        return []
    proto = protocol(entry.get("IpProtocol"))
    low, high = ("", "") if proto == "-1" else (_text(entry.get("FromPort")), _text(entry.get("ToPort")))
    return [DeclaredRule(stack, logical, group_id, direction, "", proto, low, high, peer_type, peer,
                         _text(entry.get("Description")))]


def declared_of(resource: Mapping[str, Any]) -> tuple[list[DeclaredGroup], list[DeclaredRule]]:
    """The groups and rules one checked resource (a ``StackResourceDrift``) declares, from its expected
    properties."""
    stack, logical = _text(resource.get("StackId")), _text(resource.get("LogicalResourceId"))
    kind, physical = resource.get("ResourceType"), _text(resource.get("PhysicalResourceId"))
    expected = json.loads(resource.get("ExpectedProperties") or "{}")
    if kind == GROUP:
        parts = stack.split(":")
        group = DeclaredGroup(stack, logical, physical, _text(expected.get("GroupName")), _text(expected.get("VpcId")),
                              parts[4] if len(parts) > 5 else "", parts[3] if len(parts) > 5 else "")
        rules = [r for e in expected.get("SecurityGroupIngress") or () for r in _rules(stack, logical, physical,
                                                                                        "ingress", e)]
        egress = expected.get("SecurityGroupEgress") or ([_DEFAULT_EGRESS] if expected.get("VpcId") else [])
        rules += [r for e in egress for r in _rules(stack, logical, physical, "egress", e)]
        return [group], rules
    direction = "ingress" if kind == INGRESS else "egress"
    return [], _rules(stack, logical, _text(expected.get("GroupId")), direction, expected)


def deleted_rows(resource: Mapping[str, Any], account_id: str, region: str) -> DriftRow:
    """A ``DELETED`` resource: its expected properties are not returned, so the row names the resource only."""
    group = _text(resource.get("PhysicalResourceId")) if resource.get("ResourceType") == GROUP else ""
    direction = {INGRESS: "ingress", EGRESS: "egress"}.get(_text(resource.get("ResourceType")), "")
    return DriftRow(account_id, region, "", group, "", direction, "", "", "", "", "", "", MISSING,
                    _text(resource.get("StackId")), _text(resource.get("LogicalResourceId")))


def _pages(call: Callable[..., Mapping[str, Any]], key: str, **params: Any) -> Iterator[Mapping[str, Any]]:
    """The items of an operation without a boto3 paginator, page by page (``NextToken``)."""
    while True:
        page = call(**params)
        yield from page.get(key) or ()
        if not page.get("NextToken"):
            return
        params["NextToken"] = page["NextToken"]


def stacks_with_groups(cfn: Any) -> Iterator[tuple[Mapping[str, Any], list[str]]]:
    """Each live stack holding security-group resources, and their logical ids."""
    for page in cfn.get_paginator("list_stacks").paginate(StackStatusFilter=list(LIVE_STATUSES)):
        for stack in page.get("StackSummaries") or ():
            logical = [r["LogicalResourceId"]
                       for p in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"])
                       for r in p.get("StackResourceSummaries") or () if r.get("ResourceType") in TYPES]
            if logical:
                yield stack, logical


def read_stacks(
    cfn: Any, account_id: str, region: str, wait: float = DEFAULT_WAIT,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
) -> Stacks:
    """Detect the drift of every stack's security-group resources (all started, then polled) and read what
    they declare; what could not be checked is in :attr:`Stacks.not_checked`."""
    found = Stacks()
    started: list[tuple[str, str, set[str]]] = []  # stack id, detection id, logical ids
    for stack, logical in stacks_with_groups(cfn):
        stack_id, status = stack["StackId"], _text(stack.get("StackStatus"))
        if status.endswith("_IN_PROGRESS"):
            found.not_checked.append(f"{stack_id}: not checked, the stack is {status}")
            continue
        detection = cfn.detect_stack_drift(StackName=stack_id, LogicalResourceIds=logical)
        started.append((stack_id, detection["StackDriftDetectionId"], set(logical)))
    deadline = clock() + wait
    for stack_id, detection_id, wanted in started:
        while True:
            status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
            state = status.get("DetectionStatus")
            if state != "DETECTION_IN_PROGRESS":
                break
            if clock() >= deadline:
                break
            sleep(POLL_EVERY)
        if state == "DETECTION_IN_PROGRESS":
            found.not_checked.append(f"{stack_id}: not checked, its drift detection did not complete in {wait:.0f} s")
            continue
        if state != "DETECTION_COMPLETE":
            why = _text(status.get("DetectionStatusReason")) or _text(state)
            found.not_checked.append(f"{stack_id}: not checked, drift detection failed ({why})")
            continue
        _read_drifts(cfn, stack_id, wanted, account_id, region, found)
    return found


def _read_drifts(cfn: Any, stack_id: str, logical: set[str], account_id: str, region: str, found: Stacks) -> None:
    checked = 0
    for resource in _pages(cfn.describe_stack_resource_drifts, "StackResourceDrifts", StackName=stack_id):
        if resource.get("LogicalResourceId") not in logical or resource.get("ResourceType") not in TYPES:
            continue
        checked += 1
        state = resource.get("StackResourceDriftStatus")
        if state in ("IN_SYNC", "MODIFIED"):
            groups, rules = declared_of(resource)
            found.declared.groups += groups
            found.declared.rules += rules
        elif state == "DELETED":
            found.deleted.append(deleted_rows(resource, account_id, region))
            if resource.get("ResourceType") == GROUP and resource.get("PhysicalResourceId"):
                found.declared.groups.append(DeclaredGroup(stack_id, resource["LogicalResourceId"],
                                                           resource["PhysicalResourceId"], "", "", "", ""))
        else:
            found.not_checked.append(f"{stack_id}: {resource.get('LogicalResourceId')} not checked ({state})")
    if checked < len(logical):
        found.not_checked.append(f"{stack_id}: {len(logical) - checked} resource(s) without a drift result")
    found.declared.sources.append(stack_id)
    found.stack_ids.add(stack_id)
