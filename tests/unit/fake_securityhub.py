"""A fake Security Hub ``GetFindings`` on loopback, and an ASFF finding builder.

moto's ``GetFindings`` ignores ``Filters`` and pages however it likes, so it cannot show
that the report asks for the right findings. This server can: it applies ``StringFilter``
comparisons the way Security Hub documents them (positive comparisons on one attribute
are ORed, negative ones ANDed, attributes ANDed), rejects more than 20 values per
attribute and ``MaxResults`` above 100 as the real API does, pages with ``NextToken``, and
records each request. ``not_enabled=True`` answers like a region where Security Hub is off.
"""

from __future__ import annotations

import json
from typing import Any

from tests.unit.loopback import LoopbackServer

# Filter attribute -> path in the finding.
FIELDS = {
    "ComplianceStatus": ("Compliance", "Status"),
    "ComplianceSecurityControlId": ("Compliance", "SecurityControlId"),
    "WorkflowStatus": ("Workflow", "Status"),
    "RecordState": ("RecordState",),
    "SeverityLabel": ("Severity", "Label"),
    "AwsAccountId": ("AwsAccountId",),
    "GeneratorId": ("GeneratorId",),
    "Region": ("Region",),
}
POSITIVE = {"EQUALS": lambda v, f: v == f, "PREFIX": lambda v, f: v.startswith(f), "CONTAINS": lambda v, f: f in v}
NEGATIVE = {
    "NOT_EQUALS": lambda v, f: v != f,
    "PREFIX_NOT_EQUALS": lambda v, f: not v.startswith(f),
    "NOT_CONTAINS": lambda v, f: f not in v,
}


def _value(finding: dict[str, Any], path: tuple[str, ...]) -> str:
    node: Any = finding
    for part in path:
        node = (node or {}).get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def matches(finding: dict[str, Any], filters: dict[str, list[dict[str, str]]]) -> bool:
    for attribute, conditions in filters.items():
        value = _value(finding, FIELDS[attribute])
        positive = [c for c in conditions if c["Comparison"] in POSITIVE]
        negative = [c for c in conditions if c["Comparison"] in NEGATIVE]
        if positive and not any(POSITIVE[c["Comparison"]](value, c["Value"]) for c in positive):
            return False
        if not all(NEGATIVE[c["Comparison"]](value, c["Value"]) for c in negative):
            return False
    return True


class FakeSecurityHub(LoopbackServer):
    def __init__(self, findings: list[dict[str, Any]] | None = None, not_enabled: bool = False) -> None:
        self.findings = list(findings or [])
        self.not_enabled = not_enabled
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    @property
    def url(self) -> str:
        return self.origin

    def get_findings(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.not_enabled:
            return 401, {"Code": "InvalidAccessException",
                         "Message": "Account 123456789012 is not subscribed to AWS Security Hub"}
        filters = body.get("Filters") or {}
        for attribute, conditions in filters.items():
            if attribute not in FIELDS:
                return 400, {"Code": "InvalidInputException", "Message": f"fake does not know filter {attribute}"}
            if len(conditions) > 20:
                return 400, {"Code": "InvalidInputException", "Message": f"too many values for {attribute}"}
        size = int(body.get("MaxResults") or 100)
        if not 1 <= size <= 100:
            return 400, {"Code": "InvalidInputException", "Message": "MaxResults must be between 1 and 100"}
        selected = [f for f in self.findings if matches(f, filters)]
        start = int(body.get("NextToken") or 0)
        page = selected[start : start + size]
        response: dict[str, Any] = {"Findings": page}
        if start + size < len(selected):
            response["NextToken"] = str(start + size)
        return 200, response

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        request = json.loads(body or b"{}")
        if path.rstrip("/") != "/findings":
            return 404, {"x-amzn-ErrorType": "NotFound"}, {"Code": "NotFound", "Message": path}
        self.requests.append(request)
        status, payload = self.get_findings(request)
        return status, {"x-amzn-ErrorType": payload["Code"]} if status >= 400 else {}, payload


def asff(
    control: str,
    resource_id: str,
    *,
    standard: str = "aws-foundational-security-best-practices/v/1.0.0",
    consolidated: bool = False,
    severity: str = "HIGH",
    compliance: str = "FAILED",
    workflow: str = "NEW",
    record_state: str = "ACTIVE",
    tags: dict[str, str] | None = None,
    account: str = "123456789012",
    region: str = "us-east-1",
    resource_type: str = "AwsEc2SecurityGroup",
    title: str | None = None,
    with_security_control_id: bool = True,
    first_observed: str = "2026-11-01T09:00:00.000Z",
    suffix: str = "",
) -> dict[str, Any]:
    """A control finding shaped as Security Hub emits it (per-standard or consolidated)."""
    if consolidated:
        generator = f"security-control/{control}"
        finding_id = (
            f"arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{resource_id[-12:]}{suffix}"
        )
    else:
        generator = f"{standard}/{control}"
        finding_id = (
            f"arn:aws:securityhub:{region}:{account}:subscription/{standard}/{control}"
            f"/finding/{resource_id[-12:]}{suffix}"
        )
    compliance_block: dict[str, Any] = {"Status": compliance}
    if with_security_control_id:
        compliance_block["SecurityControlId"] = control.removeprefix("PCI.")
        compliance_block["AssociatedStandards"] = [{"StandardsId": f"standards/{standard}"}]
    resource: dict[str, Any] = {"Type": resource_type, "Id": resource_id, "Partition": "aws", "Region": region}
    if tags is not None:
        resource["Tags"] = tags
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": f"arn:aws:securityhub:{region}::product/aws/securityhub",
        "GeneratorId": generator,
        "AwsAccountId": account,
        "Region": region,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "FirstObservedAt": first_observed,
        "LastObservedAt": "2026-11-20T09:00:00.000Z",
        "CreatedAt": first_observed,
        "UpdatedAt": "2026-11-20T09:00:00.000Z",
        "Severity": {"Label": severity, "Original": severity},
        "Title": title or f"{control} test control",
        "Description": f"{control} failed",
        "Compliance": compliance_block,
        "Workflow": {"Status": workflow},
        "WorkflowState": workflow,
        "RecordState": record_state,
        "Resources": [resource],
    }
