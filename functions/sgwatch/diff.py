"""Diff of two snapshots.

A rule keeps its identity through an in-place modification (same ``sgr-`` id) and
through a description edit: both come out as an ``Updated (Previous)`` /
``Updated (Current)`` pair. Rules are matched on the rule id when both rows carry
one, otherwise on the natural key (group, direction, protocol, ports, peer).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from .csvio import CsvFormatError
from .rules import SNAPSHOT_HEADER, Rule

DIFF_HEADER = ("ChangeType", *SNAPSHOT_HEADER)

ADDED = "Added"
REMOVED = "Removed"
UPDATED_PREVIOUS = "Updated (Previous)"
UPDATED_CURRENT = "Updated (Current)"
GROUP_ADDED = "GroupAdded"
GROUP_REMOVED = "GroupRemoved"


@dataclass
class Diff:
    rows: list[tuple[str, ...]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    updated: int = 0
    groups_added: int = 0
    groups_removed: int = 0


def _group_row(rule: Sequence[str]) -> Rule:
    return Rule._make((*rule[:6], *("",) * 8))


def natural_key(row: Sequence[str]) -> tuple[str, ...]:
    """Identity of a rule when no rule id is available on both sides."""
    return (row[0], row[1], row[3], row[6], row[8], row[9], row[10], row[11], row[12])


def diff_snapshots(previous: Iterable[Sequence[str]], current: Iterable[Sequence[str]]) -> Diff:
    """Diff two snapshots given as rows; identical rows cost one set lookup."""
    previous = [tuple(r) for r in previous] if not isinstance(previous, list) else previous
    current = [tuple(r) for r in current] if not isinstance(current, list) else current
    prev_set, cur_set = set(previous), set(current)
    group_id = itemgetter(3)
    return _diff_changed(
        sorted(prev_set - cur_set),
        sorted(cur_set - prev_set),
        set(map(group_id, previous)),
        set(map(group_id, current)),
    )


def diff_snapshot_lines(previous_lines: Sequence[str], current_lines: Sequence[str]) -> Diff:
    """Diff two snapshots given as the data lines of CSVs written by :func:`sgwatch.csvio.to_csv`.

    Only lines that differ are parsed, so a run pays for the changes, not the estate.
    The first four columns are AWS ids (never quoted), which gives the group of a line
    without parsing it. Raises :class:`sgwatch.csvio.CsvFormatError` when a differing
    line is not a whole row.
    """
    prev_set, cur_set = set(previous_lines), set(current_lines)
    width = len(DIFF_HEADER) - 1
    gone, new = (_parse_lines(sorted(lines), width) for lines in (prev_set - cur_set, cur_set - prev_set))

    def groups(lines: Iterable[str]) -> set[str]:
        return {line.split(",", 4)[3] for line in lines}

    return _diff_changed(gone, new, groups(prev_set), groups(cur_set))


def _parse_lines(lines: list[str], width: int) -> list[tuple[str, ...]]:
    rows = [tuple(r) for r in csv.reader(lines)]
    if any(len(r) != width for r in rows):
        raise CsvFormatError("a snapshot line is not a whole row")
    return rows


def _diff_changed(
    gone: Sequence[Sequence[str]],
    new: Sequence[Sequence[str]],
    prev_groups: set[str],
    cur_groups: set[str],
) -> Diff:
    """Match the rows found only in the previous (``gone``) or current (``new``) snapshot."""
    out = Diff()
    changes: list[tuple[tuple[str, ...], int, str, Sequence[str]]] = []

    def rule_order(row: Sequence[str]) -> tuple[str, ...]:
        return (*row[:4], *row[6:])

    for rows, others, kind in ((new, prev_groups, GROUP_ADDED), (gone, cur_groups, GROUP_REMOVED)):
        reported: set[str] = set()
        for r in rows:
            gid = r[3]
            if gid not in others and gid not in reported:
                reported.add(gid)
                changes.append((tuple(r[:4]), 0, kind, _group_row(r)))
    out.groups_added = sum(1 for c in changes if c[2] == GROUP_ADDED)
    out.groups_removed = len(changes) - out.groups_added

    def updated(before: Sequence[str], after: Sequence[str]) -> None:
        changes.append((rule_order(after), 1, UPDATED_PREVIOUS, before))
        changes.append((rule_order(after), 2, UPDATED_CURRENT, after))
        out.updated += 1

    # First by rule id, then by natural key where at least one side has no id.
    after_by_id = {r[7]: r for r in new if r[6] and r[7]}
    left_before: list[Sequence[str]] = []
    for before in gone:
        if not before[6]:
            continue
        after = after_by_id.pop(before[7], None) if before[7] else None
        if after is None:
            left_before.append(before)
        else:
            updated(before, after)
    matched_ids = {r[7] for r in new if r[6] and r[7]} - set(after_by_id)
    left_after = [r for r in new if r[6] and not (r[7] and r[7] in matched_ids)]

    waiting: dict[tuple[str, ...], list[Sequence[str]]] = {}
    for before in left_before:
        waiting.setdefault(natural_key(before), []).append(before)
    for after in left_after:
        candidates = waiting.get(natural_key(after))
        match = None
        if candidates:
            # Rows that both carry (different) rule ids are different rules.
            for i, before in enumerate(candidates):
                if not (before[7] and after[7]):
                    match = candidates.pop(i)
                    break
        if match is None:
            changes.append((rule_order(after), 3, ADDED, after))
            out.added += 1
        else:
            updated(match, after)
    for left in waiting.values():
        for before in left:
            changes.append((rule_order(before), 3, REMOVED, before))
            out.removed += 1

    changes.sort(key=lambda c: (c[0], c[1], c[2]))
    out.rows = [(kind, *rule) for _, _, kind, rule in changes]
    return out
