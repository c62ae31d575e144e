"""What a Security Hub finding says: its control, severity, workflow, standards and tags.

Pure functions over one finding in the AWS Security Finding Format (ASFF, as ``GetFindings``
returns it); :mod:`sgwatch.securityhub_report.findings` builds the report from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# GetFindings returns at most 100 findings per page:
# https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_GetFindings.html
PAGE_SIZE = 100
# A security control id (what Compliance.SecurityControlId holds, and the consolidated findings'
# GeneratorId "security-control/<id>"): a service and a number, "EC2.2", "APIGateway.5".
# Anything else ("PCI.EC2.5", CIS "4.1") is a standard-specific id, found only at the end of the
# GeneratorId of per-standard findings ("pci-dss/v/3.2.1/PCI.EC2.5").
_SECURITY_CONTROL_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*\.[0-9]+")
CONSOLIDATED_GENERATOR_PREFIX = "security-control/"

COMPLIANCE_STATUS = "FAILED"
WORKFLOW_STATUSES = ("NEW", "NOTIFIED")
RECORD_STATE = "ACTIVE"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")


def is_security_control_id(control: str) -> bool:
    return bool(_SECURITY_CONTROL_ID.fullmatch(control))


def control_id(finding: Mapping[str, Any]) -> str:
    """The control a finding is about.

    ``Compliance.SecurityControlId`` when present (consolidated control findings, and
    every per-standard finding since 2023); otherwise the last segment of ``GeneratorId``:
    ``aws-foundational-security-best-practices/v/1.0.0/EC2.2`` -> ``EC2.2``,
    ``pci-dss/v/3.2.1/PCI.EC2.2`` -> ``PCI.EC2.2``,
    ``arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.1`` -> ``4.1``,
    ``security-control/EC2.2`` -> ``EC2.2``.
    """
    compliance = finding.get("Compliance") or {}
    security_control = str(compliance.get("SecurityControlId") or "").strip()
    if security_control:
        return security_control
    return generator_control(finding)


def generator_control(finding: Mapping[str, Any]) -> str:
    """The last segment of ``GeneratorId``: the control as the reporting standard names it."""
    generator = str(finding.get("GeneratorId") or "").strip().rstrip("/")
    return generator.rsplit("/", 1)[-1]


def matches_control(finding: Mapping[str, Any], control: str) -> bool:
    """A security control id matches :func:`control_id`; any other id the end of ``GeneratorId``."""
    if is_security_control_id(control):
        return control_id(finding) == control
    return generator_control(finding) == control


def workflow_status(finding: Mapping[str, Any]) -> str:
    status = (finding.get("Workflow") or {}).get("Status")
    return str(status or finding.get("WorkflowState") or "")


def severity_label(finding: Mapping[str, Any]) -> str:
    """``Severity.Label``, else derived from ``Normalized`` as Security Hub does."""
    severity = finding.get("Severity") or {}
    label = str(severity.get("Label") or "").upper()
    if label in SEVERITIES:
        return label
    raw: Any = severity.get("Normalized")
    try:
        normalized = int(raw)
    except (TypeError, ValueError):
        return "INFORMATIONAL"
    if normalized >= 90:
        return "CRITICAL"
    if normalized >= 70:
        return "HIGH"
    if normalized >= 40:
        return "MEDIUM"
    if normalized >= 1:
        return "LOW"
    return "INFORMATIONAL"


def standards(finding: Mapping[str, Any]) -> list[str]:
    """Standards that reported the finding (``AssociatedStandards``, else the GeneratorId's)."""
    compliance = finding.get("Compliance") or {}
    found = [str(s.get("StandardsId") or "") for s in compliance.get("AssociatedStandards") or ()]
    found = [s.removeprefix("standards/") for s in found if s]
    if found:
        return found
    generator = str(finding.get("GeneratorId") or "")
    if generator.startswith("security-control/") or "/" not in generator:
        return []
    if generator.startswith("arn:"):
        match = re.search(r"ruleset/(.+)/rule/", generator)
        return [match.group(1)] if match else []
    return [generator.rsplit("/", 1)[0]]


def is_reportable(
    finding: Mapping[str, Any], control_ids: Sequence[str] = (), severities: Sequence[str] = ()
) -> bool:
    """The query's conditions, checked again on each finding returned."""
    if (finding.get("Compliance") or {}).get("Status") != COMPLIANCE_STATUS:
        return False
    if workflow_status(finding) not in WORKFLOW_STATUSES:
        return False
    if finding.get("RecordState") != RECORD_STATE:
        return False
    if control_ids and not any(matches_control(finding, c) for c in control_ids):
        return False
    if severities and severity_label(finding) not in {s.upper() for s in severities}:
        return False
    return True


def tag_value(tags: Mapping[str, Any] | None, key: str) -> str:
    """A tag's value; the key matched exactly, else case-insensitively."""
    if not tags or not key:
        return ""
    if key in tags:
        return str(tags[key] or "").strip()
    lowered = key.lower()
    for k, v in tags.items():
        if str(k).lower() == lowered:
            return str(v or "").strip()
    return ""
