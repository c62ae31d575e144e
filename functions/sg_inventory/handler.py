"""Scheduled snapshot of every security-group rule, with a diff against the previous one.

Covers every account and region of the run (see :mod:`sgwatch.accounts`), in this run or,
with WORK_QUEUE_URL set, spread over queued runs of one pair each (see :mod:`sgwatch.fanout`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sgwatch import aws, fanout, log, settings, snapshots
from sgwatch.accounts import run_everywhere
from sgwatch.evidence import EvidenceStore
from sgwatch.snapshots import current_rules, record_snapshot


class InventoryFailed(RuntimeError):
    """Some regions could not be snapshotted; the others were written."""


def snapshot_region(store: EvidenceStore, prefix: str, account_id: str, region: str) -> dict[str, Any]:
    def rules() -> list:
        return current_rules(aws.client("ec2", region), account_id, region)

    # The rules are read once this run holds the claim on the next snapshot of the pair.
    result = record_snapshot(store, prefix, account_id, region, rules, lambda: datetime.now(UTC))
    if result.skipped:
        return {"account_id": account_id, "region": region, "skipped": result.skipped}
    if result.previous_error:
        log.error(
            "previous_snapshot_unusable",
            account_id=account_id,
            region=region,
            error=result.previous_error,
            action="new baseline written; previous object left untouched",
        )
    summary = {
        "account_id": account_id,
        "region": region,
        "snapshot_key": result.snapshot_key,
        "diff_key": result.diff_key,
        "groups": len({r[3] for r in result.rules}),  # GroupId
        "rules": sum(1 for r in result.rules if r[6]),  # Direction (empty on a group without rules)
        "added": result.diff.added if result.diff else 0,
        "removed": result.diff.removed if result.diff else 0,
        "updated": result.diff.updated if result.diff else 0,
    }
    log.info("snapshot_written", **summary)
    return summary


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = settings.environment()
    config = snapshots.Settings.from_env(env)
    store = EvidenceStore(config.evidence.bucket, aws.central_client("s3"))

    def work(account_id: str, region: str) -> dict[str, Any]:
        return snapshot_region(store, config.evidence.prefix, account_id, region)

    queued = fanout.handle(event, work, env)
    if queued is not None:
        return queued  # the pairs were queued, or a queued batch of them was processed
    outcome = run_everywhere(work, env)
    if outcome.failures:
        raise InventoryFailed(outcome.error_message("inventory"))
    return {"bucket": store.bucket, "results": outcome.results, "skipped_accounts": outcome.skipped_accounts}
