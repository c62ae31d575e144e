"""Diff of two snapshots.

A rule keeps its identity through an in-place modification (same ``sgr-`` id) and
through a description edit: both come out as an ``Updated (Previous)`` /
``Updated (Current)`` pair. Rules are matched on the rule id when both rows carry
one, otherwise on the natural key (group, direction, protocol, ports, peer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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


def _group_row(rule: Rule) -> Rule:
    return Rule(*rule[:6], *("",) * 8)


def diff_snapshots(previous: Iterable[Rule], current: Iterable[Rule]) -> Diff:
    prev_groups: dict[str, Rule] = {}
    cur_groups: dict[str, Rule] = {}
    prev_by_id: dict[str, Rule] = {}
    cur_by_id: dict[str, Rule] = {}
    prev_plain: list[Rule] = []
    cur_plain: list[Rule] = []
    for rows, groups, by_id, plain in (
        (previous, prev_groups, prev_by_id, prev_plain),
        (current, cur_groups, cur_by_id, cur_plain),
    ):
        for r in rows:
            gid = r[3]
            if gid not in groups:
                groups[gid] = r
            if not r[6]:
                continue
            if r[7]:
                by_id[r[7]] = r
            else:
                plain.append(r)

    out = Diff()
    changes: list[tuple[tuple[str, ...], int, str, Rule]] = []

    for gid, r in cur_groups.items():
        if gid not in prev_groups:
            changes.append((r[:4], 0, GROUP_ADDED, _group_row(r)))
            out.groups_added += 1
    for gid, r in prev_groups.items():
        if gid not in cur_groups:
            changes.append((r[:4], 0, GROUP_REMOVED, _group_row(r)))
            out.groups_removed += 1

    def updated(before: Rule, after: Rule) -> None:
        changes.append((after[:4] + after[6:], 1, UPDATED_PREVIOUS, before))
        changes.append((after[:4] + after[6:], 2, UPDATED_CURRENT, after))
        out.updated += 1

    for rule_id, before in prev_by_id.items():
        after = cur_by_id.pop(rule_id, None)
        if after is None:
            prev_plain.append(before)
        elif after != before:
            updated(before, after)
    cur_plain.extend(cur_by_id.values())

    if prev_plain or cur_plain:
        waiting: dict[tuple[str, ...], list[Rule]] = {}
        for before in prev_plain:
            waiting.setdefault(before.natural_key(), []).append(before)
        for after in cur_plain:
            candidates = waiting.get(after.natural_key())
            match = None
            if candidates:
                # Rows that both carry (different) rule ids are different rules.
                for i, before in enumerate(candidates):
                    if not (before[7] and after[7]):
                        match = candidates.pop(i)
                        break
            if match is None:
                changes.append((after[:4] + after[6:], 3, ADDED, after))
                out.added += 1
            elif match != after:
                updated(match, after)
        for left in waiting.values():
            for before in left:
                changes.append((before[:4] + before[6:], 3, REMOVED, before))
                out.removed += 1

    changes.sort(key=lambda c: (c[0], c[1], c[2]))
    out.rows = [(kind, *rule) for _, _, kind, rule in changes]
    return out
