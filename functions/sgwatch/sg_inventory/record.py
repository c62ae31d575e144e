"""Recording the inventory's evidence: one linear chain of snapshots and diffs per account and region (claims,
write-once objects, the group index), and the exposure report of each snapshot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from .. import cfn_drift, drift_record, exposure, log, risk, rule_review_record as rule_review, settings
from ..csvio import CsvDocument, CsvFormatError, to_csv
from ..diff import DIFF_HEADER, Diff, diff_snapshot_lines, diff_snapshots
from ..evidence import (
    CLAIMS,
    DIFFS,
    EXPOSURE,
    SNAPSHOTS,
    EvidenceStore,
    StoredObject,
    key_stem,
    put_beside_snapshot,
    series_prefix,
    stamp,
    stamp_time,
)
from ..exposure import Exposure
from ..exposure_report import EXPOSURE_HEADER, exposure_rows
from ..rules import SNAPSHOT_HEADER, Row
from ..settings import Environment
from ..snapshots import (
    GROUP_INDEX_HEADER,
    group_index_key,
    group_spans,
    latest_snapshot_key,
    parse_snapshot,
    snapshot_lines,
)


@dataclass(frozen=True)
class Settings:
    """The inventory's configuration: the evidence bucket it writes, the ports the exposure
    report rates as authorized, the rule review's tag keys, register and policy, the states the drift report reads,
    where the expiry and drift digests go (``ALERT_TOPIC_ARN`` and Slack, both optional) and, with remediation on, the
    change notifier expired exceptions are handed to (``REMEDIATION_NOTIFIER_ARN``) (its reach is
    :class:`sgwatch.accounts.Settings`, read by the fan-out and the run)."""

    evidence: settings.Evidence
    authorized_public_ports: tuple[int, ...] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS
    rule_review: rule_review.Settings = rule_review.Settings()
    topic_arn: str = ""
    slack: settings.Slack | None = None
    drift: drift_record.Settings = drift_record.Settings()
    # Remediation on: the change notifier the rules of expired exceptions go to (sgwatch.remediation_expiry).
    remediation_notifier_arn: str = ""

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        return cls(settings.Evidence.required(env, "the inventory needs an evidence bucket"),
                   settings.authorized_public_ports(env), rule_review.Settings.from_env(env),
                   settings.text(env, "ALERT_TOPIC_ARN"), settings.Slack.from_env(env),
                   drift_record.Settings.from_env(env), settings.text(env, "REMEDIATION_NOTIFIER_ARN"))


# What the inventory calls in the account it looks at (modules/read-permissions grants exactly these).
IAM_ACTIONS = ("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", *exposure.IAM_ACTIONS,
               *rule_review.IAM_ACTIONS, *cfn_drift.IAM_ACTIONS)


BASELINE_REASON = "baseline-reason"  # on a snapshot that starts a new chain after an unusable one


def _metadata_text(text: str, limit: int = 512) -> str:
    """Printable ASCII, short: S3 user metadata is ASCII and at most 2 KB in all
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html)."""
    clean = "".join(c if " " <= c <= "~" else "?" for c in text)
    return clean[:limit]


def _metadata(doc: CsvDocument) -> dict[str, str]:
    return {"rows": str(doc.rows), "sha256": doc.sha256}


@dataclass
class SnapshotResult:
    snapshot_key: str | None  # None: another run of the same pair was writing its successor
    diff_key: str | None
    rules: list[Row]
    diff: Diff | None
    previous_error: str | None = None
    skipped: str | None = None
    previous_key: str | None = None  # the snapshot this one follows
    body: bytes = b""  # the snapshot as written
    spans: list[tuple[str, int, int, str]] = field(default_factory=list)  # its group index (GROUP_INDEX_HEADER)


# One linear chain per (account, region), in one order: claim, then describe, then diff.
# A run first claims "the successor of snapshot P" (P the newest snapshot, or the baseline
# when there is none) with a conditional put; only the run holding the claim reads the rules
# and writes a snapshot and a diff against P. A run that loses waits for the winner's
# snapshot, claims the successor of that one and only then reads the rules, so two runs at
# the same moment (an SQS duplicate, a schedule overlapping a slow run) never both diff
# against P, no run writes rules read before the snapshot it follows, and every change is
# counted once.
CLAIM_STALE = timedelta(minutes=15)  # a claim older than Lambda's longest run has no live claimant
CLAIM_WAITS = (0.5, 1, 2, 4, 8, 15)  # seconds between looks for the winner's snapshot


@dataclass(frozen=True)
class Claim:
    key: str
    previous_key: str | None


def _claim_base(prefix: str, account_id: str, region: str, previous_key: str | None) -> str:
    after = key_stem(previous_key) if previous_key else "baseline"
    return f"{series_prefix(prefix, account_id, region, CLAIMS)}{after}/"


def _released(claim_key: str) -> str:
    """The key that says the run holding ``claim_key`` ended without writing the snapshot."""
    return claim_key.removesuffix(".json") + ".released.json"


def claim_successor(
    store: EvidenceStore, prefix: str, account_id: str, region: str, previous_key: str | None, now: datetime
) -> Claim | None:
    """Claim the successor of ``previous_key``; None when a live run holds that claim.

    A claim whose run ended without writing (it released the claim, or, having died, left it
    older than :data:`CLAIM_STALE` while ``previous_key`` is still the newest snapshot) is
    superseded by the next generation.
    """
    base = _claim_base(prefix, account_id, region, previous_key)
    for generation in count():
        key = f"{base}{generation}.json"
        body = json.dumps({"claimed_at": now.isoformat(), "previous_snapshot": previous_key}).encode()
        if store.put_new(key, body, "application/json"):
            return Claim(key, previous_key)
        if store.latest_key(_released(key)) == _released(key):
            continue
        held = json.loads(store.get(key).body)
        if now - datetime.fromisoformat(held["claimed_at"]) < CLAIM_STALE:
            return None
        log.warning("stale_claim_superseded", claim=key, claimed_at=held["claimed_at"])
    raise AssertionError("unreachable")


def release(store: EvidenceStore, claim: Claim, reason: str, now: datetime) -> None:
    """Say that the run holding ``claim`` ended without writing (the bucket is write-once: a claim is
    never deleted), so a retry claims the next generation at once; never raises (a claim left
    behind is superseded once stale)."""
    body = json.dumps({"released_at": now.isoformat(), "reason": reason}).encode()
    try:
        store.put_new(_released(claim.key), body, "application/json")
    except Exception as exc:
        log.warning("claim_not_released", claim=claim.key, error=f"{type(exc).__name__}: {exc}")


def _after(previous_key: str | None, now: datetime) -> datetime:
    """``now``, or just after the previous snapshot when clocks disagree: keys stay in chain order."""
    previous_time = stamp_time(previous_key) if previous_key else None
    if previous_time and now <= previous_time:
        return previous_time + timedelta(milliseconds=1)
    return now


def record_snapshot(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    rules: list[Row] | Callable[[], list[Row]],
    now: datetime | Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> SnapshotResult:
    """Write the snapshot and, when a readable previous one exists, the diff against it.

    The run first claims the successor of the newest snapshot, then reads the rules
    (``rules`` may be a callable: it is called only once the claim is held), then diffs.
    A run that loses the claim waits for the winner's snapshot and, when it appears, claims
    the successor of that one; if it never appears the run stops, logged, having read and
    written nothing. ``now`` (or the callable) is read after the rules.
    """
    read = rules if callable(rules) else (lambda: rules)
    clock = now if callable(now) else (lambda: now)
    previous_key = latest_snapshot_key(store, prefix, account_id, region)
    claim = None
    for wait in (*CLAIM_WAITS, None):
        claim = claim_successor(store, prefix, account_id, region, previous_key, clock())
        if claim or wait is None:
            break
        sleep(wait)  # the winner is writing the successor of previous_key
        previous_key = latest_snapshot_key(store, prefix, account_id, region)  # follow the winner's snapshot
    if claim is None:
        why = f"another run of this pair holds the successor of {previous_key or 'the baseline'}"
        log.warning("snapshot_skipped", account_id=account_id, region=region, reason=why)
        return SnapshotResult(None, None, [], None, skipped=why)
    try:
        rows = read()  # described only now: what the snapshot following previous_key holds
        return _write(store, prefix, account_id, region, rows, _after(previous_key, clock()), previous_key)
    except Exception as exc:
        release(store, claim, f"{type(exc).__name__}: {str(exc)[:300]}", clock())
        raise


def _write(
    store: EvidenceStore, prefix: str, account_id: str, region: str, rules: list[Row], now: datetime,
    previous_key: str | None,
) -> SnapshotResult:
    previous: StoredObject | None = None
    previous_lines: list[str] = []
    previous_error = None
    if previous_key:
        # Read errors (access, KMS, a connection that keeps breaking) fail the pair: the next run
        # diffs against the same snapshot. Only a snapshot that is verifiably not a whole one of
        # ours (truncated, altered, another shape) starts a new baseline, and the baseline says why.
        previous = store.get(previous_key)
        try:
            previous_lines = snapshot_lines(previous)
        except CsvFormatError as exc:
            previous, previous_error = None, f"{previous_key}: {exc}"
    if previous is not None and previous_key is not None and BASELINE_REASON not in previous.metadata:
        _complete_diff(store, prefix, account_id, region, previous_key, previous_lines)

    stem = stamp(now)
    snapshot = to_csv(SNAPSHOT_HEADER, rules)
    snapshot_key = series_prefix(prefix, account_id, region, SNAPSHOTS) + stem + ".csv"
    metadata = _metadata(snapshot)
    if previous_error:
        metadata[BASELINE_REASON] = _metadata_text(f"previous snapshot {previous_error}")
    if not store.put_new(snapshot_key, snapshot.body, metadata=metadata):
        raise RuntimeError(f"snapshot {snapshot_key} already exists; refusing to overwrite evidence")
    lines = snapshot.data_lines()
    spans = group_spans(snapshot, lines)
    index = to_csv(GROUP_INDEX_HEADER, spans)
    index_key = group_index_key(snapshot_key)
    index_metadata = {**_metadata(index), "snapshot": snapshot_key, "snapshot-sha256": snapshot.sha256}
    if not store.put_new(index_key, index.body, metadata=index_metadata):
        raise RuntimeError(f"group index {index_key} already exists; refusing to overwrite evidence")

    if previous is None or previous_key is None:  # previous is only read when there is a previous_key
        return SnapshotResult(snapshot_key, None, rules, None, previous_error, None, previous_key, snapshot.body, spans)
    try:
        changes = diff_snapshot_lines(previous_lines, lines)
    except CsvFormatError:  # a field with an embedded line break: compare parsed rows instead
        changes = diff_snapshots(parse_snapshot(previous.body, {}), rules)
    diff_doc = to_csv(DIFF_HEADER, changes.rows)
    diff_key = series_prefix(prefix, account_id, region, DIFFS) + stem + ".csv"
    metadata = {**_metadata(diff_doc), "previous-snapshot": previous_key, "snapshot": snapshot_key}
    if not store.put_new(diff_key, diff_doc.body, metadata=metadata):
        raise RuntimeError(f"diff {diff_key} already exists; refusing to overwrite evidence")
    return SnapshotResult(snapshot_key, diff_key, rules, changes, None, None, previous_key, snapshot.body, spans)


def _complete_diff(
    store: EvidenceStore, prefix: str, account_id: str, region: str, key: str, lines: list[str]
) -> None:
    """Write the diff of snapshot ``key`` when the run that wrote it failed before its diff: the change it
    holds is then recorded once, before the next diff is taken against it. Nothing to do when the diff
    exists, or when ``key`` is the first snapshot of its series."""
    diff_key = series_prefix(prefix, account_id, region, DIFFS) + key_stem(key) + ".csv"
    if store.latest_key(diff_key) == diff_key:
        return
    # Stamps run newest first: the snapshot before ``key`` is the next key after it.
    older_key = next(store.iter_keys(series_prefix(prefix, account_id, region, SNAPSHOTS), start_after=key), None)
    if older_key is None:
        return
    try:
        changes = diff_snapshot_lines(snapshot_lines(store.get(older_key)), lines)
    except CsvFormatError:  # the older one is not a whole snapshot of ours: key started a new baseline
        return
    diff_doc = to_csv(DIFF_HEADER, changes.rows)
    metadata = {**_metadata(diff_doc), "previous-snapshot": older_key, "snapshot": key}
    if store.put_new(diff_key, diff_doc.body, metadata=metadata):
        log.warning("diff_completed", account_id=account_id, region=region, snapshot=key, diff=diff_key,
                    reason="the run that wrote the snapshot failed before its diff")


@dataclass(frozen=True)
class ExposureResult:
    key: str
    rows: int  # 0: nothing exposed (the report holds the header only)


def record_exposure(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    snapshot_key: str,
    rules: Iterable[Row],
    found: Exposure,
    authorized_public_ports: Collection[int] = risk.DEFAULT_AUTHORIZED_PUBLIC_PORTS,
) -> ExposureResult:
    """Write the exposure report of the run that wrote ``snapshot_key`` (the same stamp), from the
    snapshot's rows and the region's exposure; header only when nothing is exposed, so that
    "nothing exposed" differs from "not looked up" (no report)."""
    rows = exposure_rows(rules, found, authorized_public_ports=authorized_public_ports)
    doc = to_csv(EXPOSURE_HEADER, rows)
    key = put_beside_snapshot(store, prefix, account_id, region, EXPOSURE, snapshot_key, doc, "exposure report")
    return ExposureResult(key, doc.rows)
