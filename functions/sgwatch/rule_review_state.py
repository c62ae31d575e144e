"""The rule review of a run, reusing the previous run's for the groups nothing can have changed in.

Reviewing every rule is per-rule work; a scheduled run follows one that reviewed nearly the same rules. So each
report (:mod:`sgwatch.rule_review_record`) is written with a state (``rule-review-state/<stamp>.json``, the
same stamp, write-once) holding, per group: a fingerprint of everything its lines depend on (its rows' bytes in
the snapshot, its rules' and its own tags, its stale references), the digest of its rule set (what makes groups
duplicates), the groups named as its duplicates, the first day its expiry findings read differently, and where its
lines are in the report; and, for the whole run, a digest of the inputs every group depends on (tag keys, the
register's entries, the policy, the warning days, the prefix lists that exist) and the review's date. The state
keeps one column per field (the group ids in report order, their fingerprints as one hex string, their rule-set
digests, their bytes and rows in the report; the few groups with lapsed rows, a findings' day or duplicates by
id), so it is written and read without a Python object per group and field; its columns are checked against each
other and against the report before a line is copied.

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
from itertools import accumulate, chain
from operator import itemgetter
from typing import Any

from .csvio import CsvDocument, CsvFormatError, from_csv, to_csv, unneutralise
from .justification import Sources
from .rule_review import EXPIRED, EXPIRING, REVIEW_HEADER, Region, duplicates_of, review, rule_sets
from .rules import Row

VERSION = 2
_DIGEST = 16  # bytes of a group's fingerprint kept in the state
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


def _fingerprints(snapshot: Snapshot, sources: Sources, region: Region) -> tuple[list[bytes], list[int]] | None:
    """Each group's fingerprint (:data:`_DIGEST` bytes) and its number of rows, in index order; None when its rows
    are not contiguous.

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
    view, sha256 = memoryview(body), hashlib.sha256
    out, first = [], 0
    for (group_id, offset, length, _), count in zip(spans, counts, strict=True):
        found = sha256(view[offset:offset + length])
        found.update(_serialised((group_tags.get(group_id), tags[first:first + count],
                                  sorted(stale[group_id]) if group_id in stale else None)))
        out.append(found.digest()[:_DIGEST])
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


@dataclass(frozen=True)
class _Stored:
    """The previous run's state, its columns checked against each other and against its report."""

    report: bytes
    index: dict[str, int]  # group id -> its position in the columns
    prints: bytes
    sets: list[str]
    offsets: list[int]  # where each group's lines are in the report
    lengths: list[int]
    lines: list[int]  # report rows of each group
    lapsed: frozenset[str]  # the groups with expired or expiring lines
    changes: dict[str, str]  # group id -> the first day its expiry findings read differently
    duplicates: dict[str, str]  # group id -> the groups named as its duplicates


def _usable(previous: Previous | None, inputs: str, today: date) -> _Stored | str:
    """The previous state and report, or why there are none to reuse."""
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
        return _columns(state, previous.report)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"{DAMAGED}: previous state is not whole ({type(exc).__name__}: {exc})"


def _columns(state: Mapping[str, Any], report: bytes) -> _Stored:
    """The state's per-group columns; ValueError or TypeError when they do not describe ``report``."""
    groups, sets, lengths, lines = state["groups"], state["sets"], state["lengths"], state["lines"]
    n = len(groups)
    if not all(isinstance(column, list) and len(column) == n for column in (groups, sets, lengths, lines)):
        raise ValueError("its columns are not lists of one length")
    index = dict(zip(groups, range(n), strict=True))
    prints = bytes.fromhex(state["prints"])
    if len(index) != n or len(prints) != n * _DIGEST:
        raise ValueError("a group twice, or not one fingerprint a group")
    if not (all(type(g) is str for g in groups) and all(type(s) is str for s in sets)
            and all(type(v) is int and v >= 0 for v in chain(lengths, lines))):
        raise TypeError("a group, rule set, length or line count of another type")
    offsets = list(accumulate(lengths, initial=len(_HEADER)))
    if not report.startswith(_HEADER) or offsets.pop() != len(report) or sum(lines) != state["rows"]:
        raise ValueError("its lengths or line counts are not those of its report")
    lapsed, changes, duplicates = frozenset(state["lapsed"]), dict(state["changes"]), dict(state["duplicates"])
    if not all(type(v) is str for v in chain(changes.values(), duplicates.values())):
        raise TypeError("a day or a duplicates' list that is not text")
    return _Stored(report, index, prints, sets, offsets, lengths, lines, lapsed, changes, duplicates)


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
    old = usable if isinstance(usable, _Stored) else None
    why_full = previous_error or (usable if isinstance(usable, str) else "")
    rows = snapshot.rows
    ids = [group_id for group_id, _, _, _ in snapshot.spans]
    firsts = list(accumulate(counts, initial=0))

    # Which groups keep their lines (fingerprint and day: current position -> stored position), then the duplicate
    # classes from every group's rule set (the stored one of a kept group).
    kept: dict[int, int] = {}
    sets: dict[str, str] = {}
    if old is not None:
        day, index, stored, changes = today.isoformat(), old.index, old.prints, old.changes
        for k, group_id in enumerate(ids):
            j = index.get(group_id)
            if j is not None and stored[j * _DIGEST:(j + 1) * _DIGEST] == prints[k] and (
                    group_id not in changes or day < changes[group_id]):
                kept[k] = j
                if old.sets[j]:
                    sets[group_id] = old.sets[j]
    for group_id, vpc_and_set in rule_sets(_rows_of(rows, firsts, kept, len(ids))).items():
        sets[group_id] = _rule_set_digest(vpc_and_set)
    duplicates = duplicates_of(sets)
    if old is not None:  # a kept group a duplicate appeared for or went from: reviewed too
        position = dict(zip(ids, range(len(ids)), strict=True))
        for group_id in set(duplicates).union(old.duplicates):
            k = position.get(group_id, -1)
            if k in kept and old.duplicates.get(group_id, "") != _names(duplicates.get(group_id)):
                del kept[k]

    until: dict[str, date] = {}
    found = review(_rows_of(rows, firsts, kept, len(ids)), sources, region, today, warning_days, duplicates, until)
    records = to_csv(REVIEW_HEADER, found).data_lines()
    by_group: dict[str, list[int]] = {}  # group id -> [first record, records]
    fresh_lapsed: dict[str, list[Row]] = {}
    for n, r in enumerate(found):
        at = by_group.get(r[3])
        if at is None:
            by_group[r[3]] = [n, 1]
        else:
            at[1] += 1
        if r[_FINDING] in LAPSED:
            fresh_lapsed.setdefault(r[3], []).append(r)

    parts = [_HEADER]
    lengths, lines, lapsed_groups, changed_on = [], [], [], {}
    kept_lapsed: list[tuple[int, int]] = []  # (position, stored position) of kept groups with lapsed lines
    total = 0
    for k, group_id in enumerate(ids):
        j = kept.get(k)
        if j is not None:
            assert old is not None
            offset = old.offsets[j]
            part, n, change = old.report[offset:offset + old.lengths[j]], old.lines[j], old.changes.get(group_id)
            if group_id in old.lapsed:
                kept_lapsed.append((k, j))
                lapsed_groups.append(group_id)
        else:
            at = by_group.get(group_id)
            n = at[1] if at else 0
            part = "".join(f"{line}\n" for line in records[at[0]:at[0] + n]).encode("utf-8") if at else b""
            change = until[group_id].isoformat() if group_id in until else None
            if group_id in fresh_lapsed:
                lapsed_groups.append(group_id)
        if change:
            changed_on[group_id] = change
        parts.append(part)
        lengths.append(len(part))
        lines.append(n)
        total += n
    body = b"".join(parts)
    doc = CsvDocument(body, total, hashlib.sha256(body).hexdigest())
    state = {"version": VERSION, "inputs": inputs, "date": today.isoformat(), "rows": doc.rows,
             "sha256": doc.sha256, "full_because": why_full, "groups": ids, "prints": b"".join(prints).hex(),
             "sets": [sets.get(group_id, "") for group_id in ids], "lengths": lengths, "lines": lines,
             "lapsed": lapsed_groups, "changes": changed_on,
             "duplicates": {group_id: _names(same) for group_id, same in duplicates.items()}}
    lapsed = _in_order(ids, fresh_lapsed, _stored_lapsed(old, kept_lapsed, ids))
    return Outcome(doc, json.dumps(state, separators=(",", ":")).encode("utf-8"), lapsed,
                   len(ids) - len(kept), len(ids), why_full, why_full.startswith(DAMAGED))


def _rows_of(rows: Sequence[Row], firsts: list[int], kept: Mapping[int, int], groups: int) -> list[Row]:
    """The rows of the groups not kept, in snapshot order."""
    return list(chain.from_iterable(rows[firsts[k]:firsts[k + 1]] for k in range(groups) if k not in kept))


def _stored_lapsed(old: _Stored | None, kept_lapsed: list[tuple[int, int]], ids: list[str]) -> dict[str, list[Row]]:
    """The expired and expiring rows of the kept groups that have some, from the stored report: only the lines
    that can be one (those holding ``,expir``) are parsed, all at once; a group whose lines are not one record
    each (a cell holding a line break) is parsed whole."""
    if old is None or not kept_lapsed:
        return {}
    out: dict[str, list[Row]] = {}
    lines: list[bytes] = []
    owners: list[str] = []  # the group of each line in ``lines``
    for k, j in kept_lapsed:
        part = old.report[old.offsets[j]:old.offsets[j] + old.lengths[j]]
        split = part.split(b"\n")
        if len(split) - 1 == old.lines[j]:
            mine = [line for line in split[:-1] if b",expir" in line]
            lines += mine
            owners += [ids[k]] * len(mine)
        else:
            out[ids[k]] = [_unneutralised(r) for r in from_csv(_HEADER + part, REVIEW_HEADER)
                           if r[_FINDING] in LAPSED]
    if lines:
        parsed = from_csv(_HEADER + b"\n".join(lines) + b"\n", REVIEW_HEADER)
        for group_id, r in zip(owners, parsed, strict=True):
            if r[_FINDING] in LAPSED:
                out.setdefault(group_id, []).append(_unneutralised(r))
    return out


def _unneutralised(row: tuple[str, ...]) -> Row:
    """The row's cells as the review found them (:func:`sgwatch.csvio.unneutralise`; only a row with a cell
    starting with a quote can differ)."""
    return tuple(map(unneutralise, row)) if "\x00'" in "\x00" + "\x00".join(row) else row


def _in_order(ids: list[str], *found: Mapping[str, list[Row]]) -> list[Row]:
    """The rows of each group, groups in snapshot order."""
    out: list[Row] = []
    for group_id in ids:
        for rows in found:
            if group_id in rows:
                out += rows[group_id]
    return out


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

