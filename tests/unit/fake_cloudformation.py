"""A fake CloudFormation drift detection on loopback (the emulator has none), answering the Query protocol as AWS
documents it: ``ListStacks`` and ``ListStackResources`` paged with ``NextToken``, ``DetectStackDrift`` returning a
detection id, ``DescribeStackDriftDetectionStatus`` going through the statuses a stack's detection is given,
``DescribeStackResourceDrifts`` paged, and ``Throttling`` errors (HTTP 400, ``ErrorResponse``) for the first calls
of an action when asked. Every request is recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

import boto3

from tests.unit.loopback import LoopbackServer

XMLNS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def _xml(shape: Any, value: Any) -> str:
    """Query-protocol XML of ``value`` for a botocore output shape (lists as ``member`` items)."""
    if shape.type_name == "structure":
        return "".join(f"<{name}>{_xml(member, value[name])}</{name}>" for name, member in shape.members.items()
                       if value.get(name) is not None)
    if shape.type_name == "list":
        return "".join(f"<member>{_xml(shape.member, v)}</member>" for v in value)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    return xml_escape(str(value))


def stack_arn(name: str, account: str = "111111111111", region: str = "eu-west-1") -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@dataclass
class FakeStack:
    name: str
    status: str = "CREATE_COMPLETE"
    resources: list[dict[str, Any]] = field(default_factory=list)  # StackResourceDrift items (ExpectedProperties
    # as a dict), each also listed by ListStackResources
    detection: list[str] = field(default_factory=lambda: ["DETECTION_COMPLETE"])  # statuses, the last repeated
    reason: str = ""

    @property
    def arn(self) -> str:
        return stack_arn(self.name)


def resource(logical: str, kind: str, physical: str, status: str, expected: dict[str, Any] | None = None,
             actual: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"LogicalResourceId": logical, "ResourceType": kind, "PhysicalResourceId": physical,
            "StackResourceDriftStatus": status, "ExpectedProperties": expected, "ActualProperties": actual}


class FakeCloudFormation(LoopbackServer):
    content_type = "text/xml"
    page_size = 1  # small pages: every listing is paged

    def __init__(self, stacks: list[FakeStack], throttle: dict[str, int] | None = None) -> None:
        self.stacks = {s.arn: s for s in stacks}
        self.throttle = dict(throttle or {})
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.detections: dict[str, tuple[FakeStack, list[str]]] = {}
        self.model = boto3.session.Session().client("cloudformation", region_name="eu-west-1").meta.service_model
        super().__init__()

    def actions(self, action: str) -> list[dict[str, list[str]]]:
        return [params for name, params in self.requests if name == action]

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        params = parse_qs(body.decode())
        action = params["Action"][0]
        self.requests.append((action, params))
        if self.throttle.get(action):
            self.throttle[action] -= 1
            return 400, {}, (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
                             "<Message>Rate exceeded</Message></Error><RequestId>fake</RequestId></ErrorResponse>")
        result = getattr(self, action)(params)
        shape = self.model.operation_model(action).output_shape
        return 200, {}, (f'<{action}Response xmlns="{XMLNS}"><{action}Result>{_xml(shape, result)}</{action}Result>'
                         f"<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></{action}Response>")

    def _page(self, items: list[Any], key: str, params: dict[str, list[str]]) -> dict[str, Any]:
        start = int(params.get("NextToken", ["0"])[0])
        end = start + self.page_size
        return {key: items[start:end], "NextToken": str(end) if end < len(items) else None}

    def ListStacks(self, params: dict[str, list[str]]) -> dict[str, Any]:  # noqa: N802 (the action's name)
        wanted = {v for k, vs in params.items() if k.startswith("StackStatusFilter.member.") for v in vs}
        items = [{"StackId": s.arn, "StackName": s.name, "StackStatus": s.status,
                  "CreationTime": "2026-01-01T00:00:00Z"} for s in self.stacks.values() if s.status in wanted]
        return self._page(items, "StackSummaries", params)

    def ListStackResources(self, params: dict[str, list[str]]) -> dict[str, Any]:  # noqa: N802
        stack = self.stacks[params["StackName"][0]]
        items = [{"LogicalResourceId": r["LogicalResourceId"], "PhysicalResourceId": r["PhysicalResourceId"],
                  "ResourceType": r["ResourceType"], "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                  "ResourceStatus": "CREATE_COMPLETE"} for r in stack.resources]
        items.append({"LogicalResourceId": "Bucket", "PhysicalResourceId": "a-bucket",
                      "ResourceType": "AWS::S3::Bucket", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                      "ResourceStatus": "CREATE_COMPLETE"})
        return self._page(items, "StackResourceSummaries", params)

    def DetectStackDrift(self, params: dict[str, list[str]]) -> dict[str, Any]:  # noqa: N802
        stack = self.stacks[params["StackName"][0]]
        detection = f"det-{len(self.detections)}"
        self.detections[detection] = (stack, list(stack.detection))
        return {"StackDriftDetectionId": detection}

    def DescribeStackDriftDetectionStatus(self, params: dict[str, list[str]]) -> dict[str, Any]:  # noqa: N802
        detection = params["StackDriftDetectionId"][0]
        stack, statuses = self.detections[detection]
        state = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        drift = "DRIFTED" if any(r["StackResourceDriftStatus"] != "IN_SYNC" for r in stack.resources) else "IN_SYNC"
        return {"StackId": stack.arn, "StackDriftDetectionId": detection, "DetectionStatus": state,
                "DetectionStatusReason": stack.reason or None,
                "StackDriftStatus": drift if state == "DETECTION_COMPLETE" else None,
                "Timestamp": "2026-01-06T06:00:00Z"}

    def DescribeStackResourceDrifts(self, params: dict[str, list[str]]) -> dict[str, Any]:  # noqa: N802
        stack = self.stacks[params["StackName"][0]]
        items = [{**{k: v for k, v in r.items() if k not in ("ExpectedProperties", "ActualProperties")},
                  "StackId": stack.arn, "Timestamp": "2026-01-06T06:00:00Z",
                  **{k: json.dumps(r[k]) for k in ("ExpectedProperties", "ActualProperties") if r.get(k) is not None}}
                 for r in stack.resources]
        return self._page(items, "StackResourceDrifts", params)
