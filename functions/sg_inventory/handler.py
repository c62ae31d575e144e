"""Scheduled snapshot of every security-group rule, with a diff against the previous one."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from sgwatch import aws, log
from sgwatch.evidence import EvidenceStore, normalise_prefix
from sgwatch.snapshots import current_rules, record_snapshot

MAX_REGION_WORKERS = 8


class InventoryFailed(RuntimeError):
    """Some regions could not be snapshotted; the others were written."""


def snapshot_region(store: EvidenceStore, prefix: str, account_id: str, region: str) -> dict[str, Any]:
    rules = current_rules(aws.client("ec2", region), account_id, region)
    result = record_snapshot(store, prefix, account_id, region, rules, datetime.now(timezone.utc))
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
        "groups": len({r.group_id for r in rules}),
        "rules": sum(1 for r in rules if r.direction),
        "added": result.diff.added if result.diff else 0,
        "removed": result.diff.removed if result.diff else 0,
        "updated": result.diff.updated if result.diff else 0,
    }
    log.info("snapshot_written", **summary)
    return summary


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = os.environ.get("EVIDENCE_BUCKET")
    if not bucket:
        raise ValueError("EVIDENCE_BUCKET is not set: the inventory needs an evidence bucket")
    prefix = normalise_prefix(os.environ.get("EVIDENCE_PREFIX"))
    regions = aws.regions_from_env(os.environ.get("REGIONS"))
    store = EvidenceStore(bucket)
    account_id = aws.account_id()

    results: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(MAX_REGION_WORKERS, len(regions))) as pool:
        futures = {r: pool.submit(snapshot_region, store, prefix, account_id, r) for r in regions}
        for region, future in futures.items():
            try:
                results.append(future.result())
            except Exception as exc:
                failures[region] = f"{aws.error_code(exc)}: {exc}"
                log.error("region_failed", account_id=account_id, region=region, error=failures[region])
    if failures:
        raise InventoryFailed(
            f"inventory failed in {len(failures)} of {len(regions)} region(s): "
            + "; ".join(f"{region} ({why})" for region, why in sorted(failures.items()))
        )
    return {"bucket": bucket, "results": results}
