"""What the review pack says when a pack is written: the handler's result, the SNS subject and text."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .model import Review
from .records import signoff_command


def result(built: Review, pack_prefix: str, manifest_sha256: str) -> dict[str, Any]:
    """The handler's return value (and its log line): where the pack is and what it holds."""
    totals = built.totals()
    return {
        "period": built.period.name,
        "pack_prefix": pack_prefix,
        "report_key": pack_prefix + "report.html",
        "manifest_key": pack_prefix + "manifest.json",
        "manifest_sha256": manifest_sha256,
        "accounts": totals["accounts"],
        "regions": totals["regions"],
        "changes": totals["changes"],
        "out_of_band": totals["out_of_band"],
        "unattributed": totals["unattributed"],
        "risky": len(built.risky),
        "critical": totals["critical"],
        "unused": totals["unused"],
        "gaps": totals["gaps"],
        "evidence_objects": len(built.used),
    }


def subject(built: Review) -> str:
    totals = built.totals()
    period = built.period
    return f"SG Watch review pack {period.start} to {period.end}: {totals['changes']} changes, {totals['gaps']} gaps"


def message(bucket: str, built: Review, pack_prefix: str, manifest_sha256: str) -> str:
    """The notification: where the report and manifest are, the totals, and how to sign off."""
    t = built.totals()
    console = f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket)}?prefix={quote(pack_prefix)}"
    return "\n".join(
        [
            f"The security group review pack for {built.period.start} to {built.period.end} is ready (PCI DSS 1.2.7).",
            "",
            f"Report:   s3://{bucket}/{pack_prefix}report.html",
            f"Manifest: s3://{bucket}/{pack_prefix}manifest.json (SHA-256 {manifest_sha256})",
            f"Console:  {console}",
            "",
            f"Accounts: {t['accounts']}, account-regions: {t['regions']}",
            f"Rule changes: {t['changes']} ({t['attributed']} with who/when); "
            f"groups created: {t['groups_created']}, deleted: {t['groups_deleted']}",
            f"Out-of-band changes: {t['out_of_band']}; manual changes to IaC-managed groups: {t['manual']}; "
            f"unattributed: {t['unattributed']} (PCI DSS 1.2.2)",
            f"Rules open to the internet: {t['world_open']}; critical (internet-exposed): {t['critical']}; "
            f"high severity: {t['high']}",
            f"Unused groups: {t['unused']}",
            f"Evidence gaps: {t['gaps']}",
            "",
            f"Review it, then record the decision: {signoff_command(pack_prefix)} DECISION=approved COMMENTS='...'",
        ]
    )
