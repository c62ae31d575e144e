"""The unused-group audit's sources (sgwatch.unused_sg_audit.sources): declared once, and the rest follows.

The IAM actions derived from the declarations are exactly those modules/read-permissions grants
the audit (and the inventory's, sgwatch.sg_inventory.record.IAM_ACTIONS, exactly those it grants the
inventory), and every declared call is a real operation of its service whose response holds the
declared member (botocore's own service models, no emulator).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from sgwatch import exposure
from sgwatch.sg_inventory import record
from sgwatch.unused_sg_audit import audit, references, sources
from sgwatch.unused_sg_audit.usage import Reference
from tests.paths import ROOT, hcl

READ_PERMISSIONS = ROOT / "modules" / "read-permissions" / "main.tf"
CALLS = [sources.SECURITY_GROUPS, sources.CREATED_GROUPS, *(c for s in sources.SOURCES for c in s.calls)]
_ACTION = re.compile(r'"([a-z0-9-]+:[A-Za-z0-9]+)"')
_WHEN = re.compile(r"(var\.include_\w+)\s*\?\s*(\[[^\]]*\])\s*:\s*\[\]")  # flag ? [...] : []
_WHEN_ALL = re.compile(r"^\$\{(.*)\}$")  # ${flag || flag}


def granted_actions(*, inventory: bool, audit: bool) -> set[str]:
    """Actions the read policy grants with ``include_inventory`` / ``include_unused_sg_audit`` set so:
    the conditions Terraform evaluates (each statement's ``when``, ``flag ? [...] : []``) evaluated here."""
    flags = {"var.include_inventory": inventory, "var.include_unused_sg_audit": audit}
    document = hcl(READ_PERMISSIONS)
    block = next(d['"aws_iam_policy_document"']['"read"'] for d in document["data"] if '"aws_iam_policy_document"' in d)
    assert "statement" not in block and block["dynamic"][0]['"statement"']["for_each"] == (
        "${[for s in local.statements : s if s.when]}"), "the policy is not written from local.statements"
    statements = next(d["statements"] for d in document["locals"] if "statements" in d)
    found: set[str] = set()
    for statement in statements:
        when = statement["when"]
        if when is not True:
            condition = _WHEN_ALL.match(when)
            assert condition, f"unexpected when {when}"
            terms = [t.strip() for t in condition.group(1).split("||")]
            assert all(t in flags for t in terms), f"unexpected condition {condition.group(1)}"
            if not any(flags[t] for t in terms):
                continue
        text = _WHEN.sub(lambda m: m.group(2) if flags[m.group(1)] else "[]", str(statement["actions"]))
        found |= set(_ACTION.findall(text))
    return found


def test_the_declared_actions_are_exactly_what_the_read_policy_grants_the_audit() -> None:
    assert set(sources.permissions()) == granted_actions(inventory=False, audit=True)


def test_the_inventorys_actions_are_exactly_what_the_read_policy_grants_it() -> None:
    assert set(record.IAM_ACTIONS) == granted_actions(inventory=True, audit=False)
    assert set(exposure.IAM_ACTIONS) <= set(record.IAM_ACTIONS)


def test_the_member_role_grants_both() -> None:
    both = granted_actions(inventory=True, audit=True)
    assert both == set(record.IAM_ACTIONS) | set(sources.permissions())


def test_source_names_are_unique() -> None:
    names = [s.name for s in sources.SOURCES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.service}.{c.operation}")
def test_every_declared_call_is_an_operation_whose_response_holds_the_key(call: sources.Call) -> None:
    client = boto3.client(call.service, "us-east-1")
    model = client.meta.service_model.operation_model(call.operation)
    assert hasattr(client, call.method)
    if call.key:
        assert call.key in model.output_shape.members
    if call.page_size:
        assert client.can_paginate(call.method)  # PaginationConfig only works through a paginator


def test_pages_follow_next_token_where_botocore_has_no_paginator() -> None:
    # given an operation without a paginator that answers in two pages
    asked: list[dict[str, Any]] = []
    responses = {None: {"EventBuses": [{"Name": "default"}], "NextToken": "t1"}, "t1": {"EventBuses": [{"Name": "b"}]}}

    class Client:
        def can_paginate(self, method: str) -> bool:
            return False

        def list_event_buses(self, **request: Any) -> dict[str, Any]:
            asked.append(request)
            return responses[request.get("NextToken")]

    # when / then every page is read, and the token passed back
    assert [b["Name"] for b in audit.pages(Client(), "list_event_buses", "EventBuses")] == ["default", "b"]
    assert asked == [{}, {"NextToken": "t1"}]


def test_a_call_without_key_yields_each_whole_response() -> None:
    class Client:
        def can_paginate(self, method: str) -> bool:
            return False

        def get_schedule(self, **request: Any) -> dict[str, Any]:
            return {"Name": request["Name"], "GroupName": "default"}

    assert list(audit.pages(Client(), "get_schedule", "", Name="s")) == [{"Name": "s", "GroupName": "default"}]


def test_a_holder_reads_the_groups_where_its_items_keep_them_and_names_each_item() -> None:
    # given a holder of nested group ids and one of a list of objects, and items missing them
    nested = references.Holder("codebuild-project", "name", "vpcConfig.securityGroupIds")
    listed = references.Holder("rds-instance", "DBInstanceIdentifier", "VpcSecurityGroups[].VpcSecurityGroupId")
    projects = [
        {"name": "p", "vpcConfig": {"securityGroupIds": ["sg-1", "", "sg-2"]}},
        {"name": "q", "vpcConfig": None},
        {"name": "r"},
        {"vpcConfig": {"securityGroupIds": ["sg-3"]}},
    ]
    instances = [
        {"DBInstanceIdentifier": "db",
         "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-4", "Status": "active"}, {"Status": "removing"}]},
        {"DBInstanceIdentifier": "x"},
    ]
    # then every group id is a reference naming its item, and an item without groups (or a name) is no error
    assert list(nested(projects)) == [
        Reference("sg-1", "codebuild-project p"),
        Reference("sg-2", "codebuild-project p"),
        Reference("sg-3", "codebuild-project ?"),
    ]
    assert list(listed(instances)) == [Reference("sg-4", "rds-instance db")]
