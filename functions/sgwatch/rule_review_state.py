"""The rule review of a run, reusing the previous run's for the groups nothing can have changed in.

Reviewing every rule is per-rule work; a scheduled run follows one that reviewed nearly the same rules. So each
report (:mod:`sgwatch.rule_review_record`) is written with a state (``rule-review-state/<stamp>.json``, the
same stamp, write-once) holding, per group: a fingerprint of everything its lines depend on (its rows' bytes in
the snapshot, its rules' and its own tags, its stale references), the digest of its rule set (what makes groups
duplicates), the groups named as its duplicates, the first day its expiry findings read differently, and where its
lines are in the report; and, for the whole run, a digest of the inputs every group depends on (tag keys, the
register's entries, the policy, the warning days, the prefix lists that exist) and the review's date.

The next run copies a group's lines from the previous report when its fingerprint, its duplicates and the run-wide
inputs are the same and its findings' day has not come; it reviews the other groups only. The report is the one a
full review writes, byte for byte. Without a usable state (the first run, another version, a report or state that
cannot be read or is not whole, a snapshot whose groups are not contiguous) every group is reviewed.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

from .csvio import CsvDocument, CsvFormatError, from_csv, to_csv, unneutralise
from .justification import Sources
from .rule_review import EXPIRED, EXPIRING, REVIEW_HEADER, Region, duplicates_of, review, rule_sets
from .rules import Row

VERSION = 1
_HEADER = to_csv(REVIEW_HEADER, []).body
LAPSED = (EXPIRED, EXPIRING)  # the findings the expiry digest announces
_FINDING = REVIEW_HEADER.index("Finding")
_RULE_ID = 7  # of a snapshot row (sgwatch.rules.SNAPSHOT_HEADER)
_MARSHAL = 2
DAMAGED = "unreadable"  # how a previous report or state that is not whole is named


@dataclass(frozen=True)
class Snapshot:
    """The snapshot reviewed: its rows, its CSV body and its group index (:func:`sgwatch.snapshots.group_spans`)."""

    rows: Sequence[Row]
    body: bytes
    spans: Sequence[tuple[str, int, int, str]]


@dataclass(frozen=True)
class Previous:
    """The previous run's report and state, as stored."""

    report: bytes
    state: Mapping[str, Any]


@dataclass
class Outcome:
    doc: CsvDocument
    state: bytes  # the state to write beside the report (JSON)
    lapsed: list[Row]  # the report's expired and expiring rows (cells as written)
    reviewed: int  # groups reviewed (the others' lines were the previous report's)
    groups: int
    why_full: str = ""  # why no group was reused ("" when some could have been)
    damaged: bool = False  # the previous report or state is not whole: a person should hear of it


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def run_inputs(sources: Sources, region: Region, warning_days: int) -> str:
    """A digest of what every group's lines depend on beyond its own rows, tags and stale references."""
    lists = None if region.prefix_lists is None else sorted(region.prefix_lists)
    return _digest(repr((VERSION, sources.keys, tuple(sources.register), sources.private_peers_justified,
                         warning_days, lists)).encode("utf-8"))


def _fingerprints(snapshot: Snapshot, sources: Sources, region: Region) -> tuple[list[str], list[int]] | None:
    """Each group's fingerprint and its number of rows, in index order; None when its rows are not contiguous.

    The tags are serialised with :mod:`marshal` (format 2: no back-references, so equal tags give equal bytes
    within a Python version; a string marked interned in one run and not in the other, or another runtime, only
    makes a group look changed, which costs a review, never a wrong line)."""
    body, spans, rows = snapshot.body, snapshot.spans, snapshot.rows
    start = body.find(b"\n") + 1
    if sum(length for _, _, length, _ in spans) != len(body) - start:
        return None
    counts = [body.count(b"\n", offset, offset + length) for _, offset, length, _ in spans]
    if sum(counts) != len(rows):
        return None  # a cell with a line break: rows and lines do not pair up
    rule_tags, group_tags = sources.rule_tags or {}, sources.group_tags or {}
    tags = list(map(rule_tags.get, map(itemgetter(_RULE_ID), rows))) if rule_tags else [None] * len(rows)
    stale: dict[str, list[tuple[tuple[str, str, str], str]]] = {}
    for key, why in region.stale.items():
        stale.setdefault(key[0], []).append((key, why))
    out, first = [], 0
    for (group_id, offset, length, _), count in zip(spans, counts, strict=True):
        found = hashlib.blake2b(body[offset:offset + length], digest_size=16)
        found.update(_serialised((group_tags.get(group_id), tags[first:first + count],
                                  sorted(stale[group_id]) if group_id in stale else None)))
        out.append(found.hexdigest())
        first += count
    return out, counts


def _serialised(value: Any) -> bytes:
    try:
        return b"m" + marshal.dumps(value, _MARSHAL)
    except ValueError:  # tags in a mapping that is not a dict
        return b"r" + repr(value).encode("utf-8")


def _rule_set_digest(vpc_and_set: tuple[str, frozenset[tuple[str, ...]]]) -> str:
    vpc_id, keys = vpc_and_set
    return _digest(repr((vpc_id, sorted(keys))).encode("utf-8"))


def _usable(previous: Previous | None, inputs: str, today: date) -> tuple[Mapping[str, Any], bytes] | str:
    """The previous state's groups and report, or why there are none to reuse."""
    if previous is None:
        return "no previous rule review state"
    state = previous.state
    if state.get("version") != VERSION:
        return f"previous state has version {state.get('version')!r}, not {VERSION}"
    if state.get("inputs") != inputs:
        return "tag keys, register, policy, warning days or prefix lists changed"
    try:
        if date.fromisoformat(state["date"]) > today:
            return "previous review is dated after this one"
        if hashlib.sha256(previous.report).hexdigest() != state["sha256"]:  # the report this state describes
            return f"{DAMAGED}: previous report is not the one its state describes (truncated or altered)"
    except (KeyError, TypeError, ValueError) as exc:
        return f"{DAMAGED}: previous state is not whole ({exc})"
    groups = state.get("groups")
    return (groups, previous.report) if isinstance(groups, dict) else "previous state has no groups"


def review_incrementally(
    snapshot: Snapshot, sources: Sources, region: Region, today: date, warning_days: int,
    previous: Previous | None, previous_error: str = "",
) -> Outcome:
    """The report of ``snapshot`` (what :func:`sgwatch.rule_review.review` finds, as CSV) and its state.
    ``previous_error``: why the previous report and state could not be read (kept in the state, which says why
    its review was a full one)."""
    inputs = run_inputs(sources, region, warning_days)
    fingerprinted = _fingerprints(snapshot, sources, region)
    if fingerprinted is None:  # not contiguous: every group at once, no state to reuse next time
        found = review(list(snapshot.rows), sources, region, today, warning_days)
        doc = to_csv(REVIEW_HEADER, found)
        return Outcome(doc, b"", _lapsed_rows(found), len(snapshot.spans), len(snapshot.spans),
                       "the snapshot's groups are not contiguous")
    prints, counts = fingerprinted
    usable = _usable(previous, inputs, today)
    old_groups, old_report = usable if isinstance(usable, tuple) else ({}, b"")
    why_full = previous_error or (usable if isinstance(usable, str) else "")
    spans, rows = snapshot.spans, snapshot.rows

    # Which groups keep their lines (fingerprint and day), then the duplicate classes from every group's rule set.
    kept: dict[str, list[Any]] = {}
    sets: dict[str, str] = {}
    firsts = []
    first = 0
    todo: list[int] = []
    for k, (group_id, _, _, _) in enumerate(spans):
        firsts.append(first)
        old = old_groups.get(group_id)
        if old is not None and old[0] == prints[k] and (not old[3] or today.isoformat() < old[3]):
            kept[group_id] = old
            if old[1]:
                sets[group_id] = old[1]
        else:
            todo.append(k)
        first += counts[k]
    todo_rows = [r for k in todo for r in rows[firsts[k]:firsts[k] + counts[k]]]
    for group_id, vpc_and_set in rule_sets(todo_rows).items():
        sets[group_id] = _rule_set_digest(vpc_and_set)
    duplicates = duplicates_of(sets)
    for group_id, old in list(kept.items()):
        if old[2] != _names(duplicates.get(group_id)):
            del kept[group_id]  # a duplicate appeared or went: review it too
    todo = [k for k, (group_id, _, _, _) in enumerate(spans) if group_id not in kept]
    todo_rows = [r for k in todo for r in rows[firsts[k]:firsts[k] + counts[k]]]

    until: dict[str, date] = {}
    found = review(todo_rows, sources, region, today, warning_days, duplicates, until)
    fresh = to_csv(REVIEW_HEADER, found)
    records = fresh.data_lines()
    by_group: dict[str, list[int]] = {}  # group id -> [first record, records]
    for n, r in enumerate(found):
        at = by_group.get(r[3])
        if at is None:
            by_group[r[3]] = [n, 1]
        else:
            at[1] += 1

    parts = [_HEADER]
    offset, total = len(_HEADER), 0
    groups: dict[str, list[Any]] = {}
    lapsed: list[Row] = []
    for k, (group_id, _, _, _) in enumerate(spans):
        old = kept.get(group_id)
        if old is not None:
            part, n, changes, has_lapsed = old_report[old[4]:old[4] + old[5]], old[6], old[3], old[7]
            if has_lapsed:
                lapsed += [tuple(map(unneutralise, r)) for r in from_csv(_HEADER + part, REVIEW_HEADER)
                           if r[_FINDING] in LAPSED]
        else:
            at = by_group.get(group_id)
            n = at[1] if at else 0
            part = "".join(f"{line}\n" for line in records[at[0]:at[0] + n]).encode("utf-8") if at else b""
            mine = [r for r in found[at[0]:at[0] + n] if r[_FINDING] in LAPSED] if at else []
            lapsed += mine
            has_lapsed = bool(mine)
            changes = until[group_id].isoformat() if group_id in until else ""
        groups[group_id] = [prints[k], sets.get(group_id, ""), _names(duplicates.get(group_id)), changes,
                            offset, len(part), n, has_lapsed]
        parts.append(part)
        offset += len(part)
        total += n
    body = b"".join(parts)
    doc = CsvDocument(body, total, hashlib.sha256(body).hexdigest())
    state = {"version": VERSION, "inputs": inputs, "date": today.isoformat(), "rows": doc.rows,
             "sha256": doc.sha256, "full_because": why_full, "groups": groups}
    return Outcome(doc, json.dumps(state, separators=(",", ":")).encode("utf-8"), lapsed, len(todo), len(spans),
                   why_full, why_full.startswith(DAMAGED))


def _names(same: list[str] | None) -> str:
    return ",".join(same) if same else ""


def _lapsed_rows(found: Sequence[Row]) -> list[Row]:
    return [r for r in found if r[_FINDING] in LAPSED]


def parse_state(body: bytes) -> Mapping[str, Any]:
    """A stored state; :class:`CsvFormatError` when it is not a JSON object."""
    try:
        state = json.loads(body)
    except ValueError as exc:
        raise CsvFormatError(f"state is not JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise CsvFormatError("state is not a JSON object")
    return state

