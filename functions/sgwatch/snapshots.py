"""Reading and writing snapshot and diff CSVs in the evidence bucket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterator
from typing import Any

from . import aws
from .csvio import CsvDocument, CsvFormatError, data_lines, from_csv, to_csv, verify
from .diff import DIFF_HEADER, Diff, diff_snapshot_lines, diff_snapshots
from .evidence import EvidenceStore, StoredObject, series_prefix, stamp
from .rules import SNAPSHOT_HEADER, Row, Rule, as_rules, flatten_rule_rows

PAGE_SIZE = 1000  # the maximum both describe calls accept


def describe_groups(ec2: Any) -> list[dict[str, Any]]:
    """All groups of one region, at the maximum page size."""
    paginator = ec2.get_paginator("describe_security_groups")
    return [g for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}) for g in page["SecurityGroups"]]


def describe_rules(ec2: Any) -> Iterator[dict[str, Any]]:
    """All rules of one region, page by page (a page is dropped once flattened)."""
    paginator = ec2.get_paginator("describe_security_group_rules")
    for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["SecurityGroupRules"]


def current_rules(ec2: Any, account_id: str, region: str) -> list[Row]:
    """Snapshot rows of one account and region, straight from the describe pages."""
    return flatten_rule_rows(account_id, region, describe_groups(ec2), describe_rules(ec2))


def _metadata(doc: CsvDocument) -> dict[str, str]:
    return {"rows": str(doc.rows), "sha256": doc.sha256}


def parse_snapshot(body: bytes, metadata: dict[str, str]) -> list[tuple[str, ...]]:
    """Rows of a snapshot as plain tuples; :class:`CsvFormatError` when it is not a whole snapshot.

    The row count and digest recorded at write time (object metadata) catch a
    truncation that falls on a line boundary.
    """
    rows = int(metadata["rows"]) if metadata.get("rows", "").isdigit() else None
    return from_csv(body, SNAPSHOT_HEADER, rows, metadata.get("sha256"))


def snapshot_lines(found: StoredObject) -> list[str]:
    """Data lines of a stored snapshot, verified to be the whole document that was written.

    With the row count and digest recorded at write time the check is one hash;
    an object without them is parsed in full.
    """
    rows, sha256 = found.metadata.get("rows", ""), found.metadata.get("sha256")
    if rows.isdigit() and sha256:
        verify(found.body, SNAPSHOT_HEADER, int(rows), sha256)
    else:
        from_csv(found.body, SNAPSHOT_HEADER)
    return data_lines(found.body)


def read_snapshot(store: EvidenceStore, key: str) -> list[Rule]:
    """Typed rows of a stored snapshot."""
    found = store.get(key)
    return as_rules(parse_snapshot(found.body, found.metadata))


def latest_snapshot_key(store: EvidenceStore, prefix: str, account_id: str, region: str) -> str | None:
    return store.latest_key(series_prefix(prefix, account_id, region, "snapshots"))


@dataclass
class SnapshotResult:
    snapshot_key: str
    diff_key: str | None
    rules: list[Row]
    diff: Diff | None
    previous_error: str | None = None


def record_snapshot(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    rules: list[Row],
    now: datetime,
) -> SnapshotResult:
    """Write the snapshot and, when a readable previous one exists, the diff against it."""
    previous_key = latest_snapshot_key(store, prefix, account_id, region)
    previous: StoredObject | None = None
    previous_lines: list[str] = []
    previous_error = None
    if previous_key:
        try:
            previous = store.get(previous_key)
            previous_lines = snapshot_lines(previous)
        except CsvFormatError as exc:
            previous, previous_error = None, f"{previous_key}: {exc}"
        except Exception as exc:  # unreadable (access, KMS): start a new baseline, keep the old object
            previous, previous_error = None, f"{previous_key}: {aws.error_code(exc)}: {exc}"

    stem = stamp(now)
    snapshot = to_csv(SNAPSHOT_HEADER, rules)
    snapshot_key = series_prefix(prefix, account_id, region, "snapshots") + stem + ".csv"
    if not store.put_new(snapshot_key, snapshot.body, metadata=_metadata(snapshot)):
        raise RuntimeError(f"snapshot {snapshot_key} already exists; refusing to overwrite evidence")

    if previous is None:
        return SnapshotResult(snapshot_key, None, rules, None, previous_error)
    try:
        changes = diff_snapshot_lines(previous_lines, snapshot.data_lines())
    except CsvFormatError:  # a field with an embedded line break: compare parsed rows instead
        changes = diff_snapshots(parse_snapshot(previous.body, {}), rules)
    diff_doc = to_csv(DIFF_HEADER, changes.rows)
    diff_key = series_prefix(prefix, account_id, region, "diffs") + stem + ".csv"
    metadata = {**_metadata(diff_doc), "previous-snapshot": previous_key, "snapshot": snapshot_key}
    if not store.put_new(diff_key, diff_doc.body, metadata=metadata):
        raise RuntimeError(f"diff {diff_key} already exists; refusing to overwrite evidence")
    return SnapshotResult(snapshot_key, diff_key, rules, changes)
