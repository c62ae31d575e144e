"""Reading and writing snapshot and diff CSVs in the evidence bucket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import aws
from .csvio import CsvDocument, CsvFormatError, from_csv, to_csv
from .diff import DIFF_HEADER, Diff, diff_snapshots
from .evidence import EvidenceStore, series_prefix, stamp
from .rules import SNAPSHOT_HEADER, Rule, flatten_rules

PAGE_SIZE = 1000  # the maximum both describe calls accept


def describe_estate(ec2: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All groups and all rules of one region, at the maximum page size."""
    groups = [
        g
        for page in ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for g in page["SecurityGroups"]
    ]
    rules = [
        r
        for page in ec2.get_paginator("describe_security_group_rules").paginate(
            PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for r in page["SecurityGroupRules"]
    ]
    return groups, rules


def current_rules(ec2: Any, account_id: str, region: str) -> list[Rule]:
    groups, rules = describe_estate(ec2)
    return flatten_rules(account_id, region, groups, rules)


def _metadata(doc: CsvDocument) -> dict[str, str]:
    return {"rows": str(doc.rows), "sha256": doc.sha256}


def read_snapshot(store: EvidenceStore, key: str) -> list[Rule]:
    """Rows of a stored snapshot; :class:`CsvFormatError` when it is not a whole snapshot."""
    found = store.get(key)
    rows = int(found.metadata["rows"]) if found.metadata.get("rows", "").isdigit() else None
    parsed = from_csv(found.body, SNAPSHOT_HEADER, rows, found.metadata.get("sha256"))
    return [Rule._make(r) for r in parsed]


def latest_snapshot_key(store: EvidenceStore, prefix: str, account_id: str, region: str) -> str | None:
    return store.latest_key(series_prefix(prefix, account_id, region, "snapshots"))


@dataclass
class SnapshotResult:
    snapshot_key: str
    diff_key: str | None
    rules: list[Rule]
    diff: Diff | None
    previous_error: str | None = None


def record_snapshot(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    rules: list[Rule],
    now: datetime,
) -> SnapshotResult:
    """Write the snapshot and, when a readable previous one exists, the diff against it."""
    previous_key = latest_snapshot_key(store, prefix, account_id, region)
    previous: list[Rule] | None = None
    previous_error = None
    if previous_key:
        try:
            previous = read_snapshot(store, previous_key)
        except (CsvFormatError, KeyError) as exc:
            previous_error = f"{previous_key}: {exc}"
        except Exception as exc:  # unreadable (access, KMS): start a new baseline, keep the old object
            previous_error = f"{previous_key}: {aws.error_code(exc)}: {exc}"

    stem = stamp(now)
    snapshot = to_csv(SNAPSHOT_HEADER, rules)
    snapshot_key = series_prefix(prefix, account_id, region, "snapshots") + stem + ".csv"
    if not store.put_new(snapshot_key, snapshot.body, metadata=_metadata(snapshot)):
        raise RuntimeError(f"snapshot {snapshot_key} already exists; refusing to overwrite evidence")

    if previous is None:
        return SnapshotResult(snapshot_key, None, rules, None, previous_error)
    changes = diff_snapshots(previous, rules)
    diff_doc = to_csv(DIFF_HEADER, changes.rows)
    diff_key = series_prefix(prefix, account_id, region, "diffs") + stem + ".csv"
    metadata = {**_metadata(diff_doc), "previous-snapshot": previous_key, "snapshot": snapshot_key}
    if not store.put_new(diff_key, diff_doc.body, metadata=metadata):
        raise RuntimeError(f"diff {diff_key} already exists; refusing to overwrite evidence")
    return SnapshotResult(snapshot_key, diff_key, rules, changes)
