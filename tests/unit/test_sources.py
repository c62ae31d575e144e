"""The unused-group audit's sources (sgwatch.sources): declared once, and the rest follows.

The IAM actions derived from the declarations are exactly those modules/read-permissions grants
the audit, and every declared call is a real operation of its service whose response holds the
declared member (botocore's own service models, no emulator).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import hcl2
import pytest

from sgwatch import audit, sources
from tests.paths import ROOT

READ_PERMISSIONS = ROOT / "modules" / "read-permissions" / "main.tf"
CALLS = [sources.SECURITY_GROUPS, sources.CREATED_GROUPS, *(c for s in sources.SOURCES for c in s.calls)]
_ACTION = re.compile(r'"([a-z0-9-]+:[A-Za-z0-9]+)"')
_INVENTORY_ONLY = re.compile(r"var\.include_inventory\s*\?\s*\[[^\]]*\]\s*:\s*\[\]")


def audit_actions_in_terraform() -> set[str]:
    """Actions the read policy grants whenever the audit is included: its own statements, and the
    unconditional actions of the statements it shares with the inventory."""
    document = next(
        d['"aws_iam_policy_document"']['"read"']
        for d in hcl2.load(READ_PERMISSIONS.open())["data"]
        if '"aws_iam_policy_document"' in d
    )
    found: set[str] = set()
    for statement in document.get("statement", ()):
        found |= set(_ACTION.findall(_INVENTORY_ONLY.sub("", str(statement["actions"]))))
    for dynamic in document.get("dynamic", ()):
        block = dynamic['"statement"']
        if "include_unused_sg_audit" in block["for_each"]:
            for content in block["content"]:
                found |= set(_ACTION.findall(str(content["actions"])))
    return found


def test_the_declared_actions_are_exactly_what_the_read_policy_grants_the_audit() -> None:
    assert set(sources.permissions()) == audit_actions_in_terraform()


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
