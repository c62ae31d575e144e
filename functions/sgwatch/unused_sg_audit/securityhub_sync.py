"""Security Hub suppression that re-opens itself.

For findings of the configured controls (default ``EC2.22``, "unused security groups
should be removed") on a group that is in use elsewhere, the workflow is set to
``SUPPRESSED`` with a note giving the reasons. A finding this function suppressed
earlier goes back to ``NOTIFIED`` once nothing refers to the group any more.
"Ours" is recognised by the note's ``UpdatedBy`` marker *and* text prefix; findings
suppressed by anyone else (or whose note someone else edited since) are never touched.
When the reasons of a group we suppressed change, our note is refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UPDATED_BY = "sgwatch-unused-sg-audit"
NOTE_PREFIX = "[sgwatch unused-sg-audit]"
# BatchUpdateFindings takes at most 512 characters of note text and 100 finding identifiers per call:
# https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html
NOTE_LIMIT = 512
BATCH_LIMIT = 100
DEFAULT_CONTROL_IDS = ("EC2.22",)  # SECURITYHUB_CONTROL_IDS when unset


@dataclass(frozen=True)
class FindingUpdate:
    status: str  # SUPPRESSED or NOTIFIED
    note: str
    group_id: str
    identifiers: tuple[dict[str, str], ...]


def findings_filter(account_id: str, region: str, control_ids: Sequence[str]) -> dict[str, Any]:
    """GetFindings filters: active findings of the controls on security groups of one account and region."""
    return {
        "ComplianceSecurityControlId": [{"Value": c, "Comparison": "EQUALS"} for c in control_ids],
        "AwsAccountId": [{"Value": account_id, "Comparison": "EQUALS"}],
        "Region": [{"Value": region, "Comparison": "EQUALS"}],
        "ResourceType": [{"Value": "AwsEc2SecurityGroup", "Comparison": "EQUALS"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }


def finding_group_id(finding: Mapping[str, Any]) -> str | None:
    """The security group a finding is about (from its details, else the resource ARN)."""
    for resource in finding.get("Resources") or ():
        if resource.get("Type") != "AwsEc2SecurityGroup":
            continue
        details = ((resource.get("Details") or {}).get("AwsEc2SecurityGroup") or {}).get("GroupId")
        if details:
            return str(details)
        tail = str(resource.get("Id") or "").rsplit("/", 1)[-1]
        if tail.startswith("sg-"):
            return tail
    return None


def is_ours(finding: Mapping[str, Any]) -> bool:
    note = finding.get("Note") or {}
    return note.get("UpdatedBy") == UPDATED_BY and str(note.get("Text") or "").startswith(NOTE_PREFIX)


def _clip(text: str) -> str:
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 3] + "..."


def suppress_note(reasons: Sequence[str]) -> str:
    shown: list[str] = []
    prefix = f"{NOTE_PREFIX} In use, not unused: "
    for i, reason in enumerate(reasons):
        rest = len(reasons) - i - 1
        candidate = prefix + "; ".join([*shown, reason]) + (f" (+{rest} more)" if rest else "")
        if len(candidate) > NOTE_LIMIT and shown:
            break
        shown.append(reason)
    more = len(reasons) - len(shown)
    return _clip(prefix + "; ".join(shown) + (f" (+{more} more)" if more else ""))


def reopen_note() -> str:
    return (
        f"{NOTE_PREFIX} Re-opened: this function had suppressed the finding because the group was in use; "
        "nothing refers to the group any more, so the finding applies again."
    )


def _workflow(finding: Mapping[str, Any]) -> str:
    return str((finding.get("Workflow") or {}).get("Status") or finding.get("WorkflowState") or "NEW")


def plan_updates(
    findings: Iterable[Mapping[str, Any]],
    in_use: Mapping[str, Sequence[str]],
    unreferenced: set[str],
) -> list[FindingUpdate]:
    """What to change, one update per (status, note) and group.

    ``in_use``: group id -> reasons. ``unreferenced``: groups nothing refers to, judged
    on complete evidence (a group whose evidence is incomplete is left alone).
    """
    grouped: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for finding in findings:
        group_id = finding_group_id(finding)
        if not group_id:
            continue
        compliance = (finding.get("Compliance") or {}).get("Status")
        if compliance and compliance != "FAILED":
            continue
        identifier = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}
        status = _workflow(finding)
        if group_id in in_use and (status in ("NEW", "NOTIFIED") or (status == "SUPPRESSED" and is_ours(finding))):
            note = suppress_note(list(in_use[group_id]))
            if status == "SUPPRESSED" and (finding.get("Note") or {}).get("Text") == note:
                continue  # ours, reasons unchanged
            # NEW/NOTIFIED: suppress. Ours already: refresh the note when the reasons changed.
            grouped.setdefault(("SUPPRESSED", note, group_id), []).append(identifier)
        elif status == "SUPPRESSED" and is_ours(finding) and group_id in unreferenced:
            grouped.setdefault(("NOTIFIED", reopen_note(), group_id), []).append(identifier)
    return [
        FindingUpdate(status, note, group_id, tuple(ids[i : i + BATCH_LIMIT]))
        for (status, note, group_id), ids in sorted(grouped.items())
        for i in range(0, len(ids), BATCH_LIMIT)
    ]


def batch_update_request(update: FindingUpdate) -> dict[str, Any]:
    return {
        "FindingIdentifiers": list(update.identifiers),
        "Workflow": {"Status": update.status},
        "Note": {"Text": update.note, "UpdatedBy": UPDATED_BY},
    }
