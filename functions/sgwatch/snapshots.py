"""Snapshots as the evidence holds them and as they are read back: the live rules of one region, a stored
snapshot verified whole, and the group index that lets a reader fetch one group's rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import aws
from .aws import EC2_PAGE_SIZE
from .csvio import CsvDocument, CsvFormatError, data_lines, from_csv, to_csv, unneutralise, verify
from .evidence import (
    SNAPSHOT_GROUPS,
    SNAPSHOTS,
    EvidenceStore,
    StoredObject,
    series_prefix,
)
from .rules import SNAPSHOT_HEADER, Row, Rule, as_rules, flatten_rule_rows


def describe_groups(ec2: Any) -> list[dict[str, Any]]:
    """All groups of one region, at the maximum page size."""
    paginator = ec2.get_paginator("describe_security_groups")
    pages = paginator.paginate(PaginationConfig={"PageSize": EC2_PAGE_SIZE})
    return [g for page in pages for g in page["SecurityGroups"]]


def describe_rules(ec2: Any, group_id: str | None = None) -> Iterator[dict[str, Any]]:
    """All rules of one region (or of one group), page by page (a page is dropped once flattened)."""
    paginator = ec2.get_paginator("describe_security_group_rules")
    scope = {"Filters": [{"Name": "group-id", "Values": [group_id]}]} if group_id else {}
    for page in paginator.paginate(**scope, PaginationConfig={"PageSize": EC2_PAGE_SIZE}):
        yield from page["SecurityGroupRules"]


@dataclass
class Tagged:
    """The tags of the rules and groups described (by id, only those that have tags): the snapshot does not
    hold them, the rule review reads them."""

    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    groups: dict[str, dict[str, str]] = field(default_factory=dict)


def _keeping_tags(items: Iterable[Mapping[str, Any]], id_key: str, into: dict[str, dict[str, str]]
                  ) -> Iterator[Mapping[str, Any]]:
    for item in items:
        tags = item.get("Tags")
        if tags:
            into[item.get(id_key) or ""] = {t.get("Key", ""): t.get("Value", "") for t in tags}
        yield item


def current_rules(ec2: Any, account_id: str, region: str, tagged: Tagged | None = None) -> list[Row]:
    """Snapshot rows of one account and region, straight from the describe pages; with ``tagged``, the
    rules' and groups' tags are kept there as the pages go by (no further call)."""
    groups: Iterable[Mapping[str, Any]] = describe_groups(ec2)
    rules: Iterable[Mapping[str, Any]] = describe_rules(ec2)
    if tagged is not None:
        groups = list(_keeping_tags(groups, "GroupId", tagged.groups))
        rules = _keeping_tags(rules, "SecurityGroupRuleId", tagged.rules)
    return flatten_rule_rows(account_id, region, groups, rules)


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
    return store.latest_key(series_prefix(prefix, account_id, region, SNAPSHOTS))


# Where each group's rows are in a snapshot, written beside it (``snapshot-groups/<stamp>.csv``), so
# that a reader of one group (the change notifier's before-state, a group named without its id) reads
# the index (about 50 bytes a group) and that group's bytes, never the whole snapshot.
GROUP_INDEX_HEADER = ("GroupId", "Offset", "Length", "GroupName")


def group_spans(doc: CsvDocument, lines: list[str]) -> list[tuple[str, int, int, str]]:
    """Each group's span of ``doc`` from its data ``lines`` (:data:`GROUP_INDEX_HEADER` rows): contiguous
    in a sorted snapshot (rows sort by account, region, VPC, group); in an unsorted one, from its first
    row to its last."""
    offset = doc.body.index(b"\n") + 1
    spans: dict[str, list[Any]] = {}
    for line in lines:
        size = (len(line) if line.isascii() else len(line.encode("utf-8"))) + 1
        group_id = line.split(",", 4)[3]
        found = spans.get(group_id)
        if found is None:
            spans[group_id] = [offset, size, next(csv.reader([line]))[4]]
        else:
            found[1] = offset + size - found[0]
        offset += size
    if offset != len(doc.body):
        raise AssertionError(f"group spans cover {offset} bytes of {len(doc.body)}")
    return [(group_id, start, size, name) for group_id, (start, size, name) in spans.items()]


def group_index_key(snapshot_key: str) -> str:
    """``.../snapshot-groups/<stamp>.csv`` of ``.../snapshots/<stamp>.csv``."""
    series, _, name = snapshot_key.rpartition(f"/{SNAPSHOTS}/")
    return f"{series}/{SNAPSHOT_GROUPS}/{name}"


def group_index(store: EvidenceStore, snapshot_key: str) -> StoredObject | None:
    """The group index written with the snapshot; None for a snapshot written without one."""
    try:
        return store.get(group_index_key(snapshot_key))
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise


def group_ids_named(index: StoredObject, name: str) -> list[str]:
    """The ids of the groups of the index's snapshot whose name is ``name``."""
    rows = from_csv(index.body, GROUP_INDEX_HEADER)
    return sorted(r[0] for r in rows if unneutralise(r[3]) == name)


def group_rows(store: EvidenceStore, snapshot_key: str, index: StoredObject, group_id: str) -> list[Rule]:
    """The rows of one group of a snapshot (one ranged read); [] when the snapshot does not hold it.

    The index line is found without parsing the index. The span is read from the object whose digest
    the index names and must parse to whole rows, among them the group's (only them in a sorted
    snapshot): anything else raises :class:`CsvFormatError`.
    """
    at = index.body.find(f"\n{group_id},".encode())
    if at < 0:
        return []
    _, offset, length, _ = index.body[at + 1:index.body.index(b"\n", at + 1)].decode().split(",", 3)
    found = store.get_range(snapshot_key, int(offset), int(length))
    if found.metadata.get("sha256") != index.metadata.get("snapshot-sha256"):
        raise CsvFormatError(f"{snapshot_key} is not the snapshot its group index describes")
    rows = as_rules(from_csv(to_csv(SNAPSHOT_HEADER, []).body + found.body, SNAPSHOT_HEADER))
    ours = [r for r in rows if r.group_id == group_id]
    if not ours:
        raise CsvFormatError(f"{snapshot_key}: bytes {offset}+{length} are not the rows of {group_id}")
    return ours


