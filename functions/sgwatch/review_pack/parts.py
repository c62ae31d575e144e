"""The review pack fanned out over the work queue: one part per account/region, then one merge.

1. **Dispatch** (the scheduled or on-demand run, with ``WORK_QUEUE_URL`` set): finds the
   account/regions of the evidence prefix (two delimited listings), writes the run record
   ``{prefix}reviews/runs/<period>-<stamp>/run.json`` write-once (the period, the time the pack is
   generated at, every expected part) and queues one message per account/region.
2. **Part** (a queued ``{"run": ..., "account_id": ..., "region": ...}``): lists that
   account/region's evidence per kind from the newest back to the period's start, reads what the
   period needs and writes its partial (:mod:`sgwatch.review_pack.partial`) write-once to
   ``parts/<account>/<region>.json`` of the run. A part that fails is returned to SQS, which
   delivers it again; on its last delivery (``WORK_MAX_RECEIVES``) it writes a *failed* partial
   instead, which the pack shows as a ``part-failed`` gap of that account/region.
   A partial that already exists (a duplicate delivery) is left as it is.
3. **Merge**: every part, after writing, counts the run's partials (S3 lists what was written
   before, so the last part to finish sees them all); the part that sees all of them queues
   ``{"run": ..., "merge": true}``. The merge claims the run write-once (``merge.json``, naming
   its SQS message: a duplicate merge message does nothing, a retry of the same message does the
   merge again), reads the partials only, assembles the review and writes the pack as a single
   run does.

4. **Deadline**: a part whose last delivery ends without a result (its invocation timed out or
   crashed) writes nothing, and its message goes to the dead-letter queue. So the dispatch also
   queues ``{"run": ..., "deadline": true}``, delayed :data:`CHECK_DELAY` seconds, which checks the
   run and queues itself again until the run is merged. :data:`RUN_DEADLINE` after the dispatch
   (longer than every part's deliveries can take), it writes a *failed* partial for each part
   still missing, a ``part-failed`` gap, and queues the merge: the pack is never left unwritten.

A re-run of the same period is a new run (its own folder and partials) and writes the next pack,
``<period>-r2``, as a second single run does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from .. import aws, batch, fanout, log, review_pack
from ..evidence import (
    DIFFS,
    DRIFT,
    EVENTS,
    EXPOSURE,
    REMEDIATION,
    REVIEWS,
    RULE_REVIEW,
    SNAPSHOTS,
    UNUSED,
    EvidenceStore,
    StoredObject,
    series_prefix,
    stamp,
    stamp_time,
)
from ..remediation_exceptions import EXCEPTIONS
from . import pack, partial, remediation
from .build import Reader, ScopeReview, assemble, past_reviews, review_scope, used_rows

RUN_RECORD = "run.json"
CHECK_DELAY = 900  # seconds between the deadline's checks of a run (SQS's longest message delay)
# When the parts still missing become gaps: five deliveries of a part take at most 7.5 hours (a visibility
# timeout of six times Lambda's longest timeout, 900 s), and 800 parts at 20 at a time at most 10 more.
RUN_DEADLINE = timedelta(hours=24)
MERGE_CLAIM = "merge.json"
PARTS = "parts/"

Pair = tuple[str, str]


class BadRun(ValueError):
    """A queued message naming no run this function dispatched, or an account/region not in it."""


# --------------------------------------------------------------------------- dispatch


def account_regions(store: EvidenceStore, prefix: str) -> list[Pair]:
    """The account/region folders of the evidence prefix (the pack folder ``reviews/`` aside)."""
    accounts = [f for f in store.folders(prefix) if f != prefix + REVIEWS]
    with ThreadPoolExecutor(max_workers=max(1, min(pack.READ_WORKERS, len(accounts)))) as pool:
        regions = list(pool.map(store.folders, accounts))
    return sorted(
        (account[len(prefix) :].rstrip("/"), region[len(account) :].rstrip("/"))
        for account, found in zip(accounts, regions, strict=True)
        for region in found
    )


def dispatch(
    store: EvidenceStore, config: review_pack.Settings, period: review_pack.Period, now: datetime
) -> dict[str, Any]:
    """Write the run record and queue one part per account/region; with none, merge at once."""
    layout = config.evidence.layout
    run = layout.review_run(f"{period.name}-{stamp(now)}")
    pairs = account_regions(store, config.evidence.prefix)
    record = {"schema": 1, "from": period.start.isoformat(), "to": period.end.isoformat(),
              "generated_at": now.isoformat(), "parts": [list(p) for p in pairs]}
    pack.put(store, run + RUN_RECORD, json.dumps(record, sort_keys=True).encode(), "application/json")
    bodies = [json.dumps({"run": run, "account_id": a, "region": r}, sort_keys=True) for a, r in pairs]
    if not bodies:
        bodies = [json.dumps({"run": run, "merge": True})]
    refused = fanout.queue(config.work_queue_url, bodies)
    summary = {"run": run, "period": period.name, "parts": len(pairs), "queued": len(bodies) - len(refused)}
    log.info("review_parts_queued", **summary)
    if refused:
        raise fanout.DispatchFailed(f"{len(refused)} of {len(bodies)} review part(s) could not be queued: "
                                    f"{'; '.join(why for _, why in refused[:5])}")
    _queue_deadline(config, run)
    return summary


def _queue_deadline(config: review_pack.Settings, run: str) -> None:
    """The run's next deadline check, :data:`CHECK_DELAY` seconds from now."""
    body = json.dumps({"run": run, "deadline": True}, sort_keys=True)
    aws.central_client("sqs").send_message(QueueUrl=config.work_queue_url, MessageBody=body, DelaySeconds=CHECK_DELAY)


# --------------------------------------------------------------------------- parts


class Run:
    """A run record, as the dispatch wrote it."""

    def __init__(self, run: str, body: bytes) -> None:
        data = json.loads(body)
        self.prefix = run
        self.period = review_pack.Period(date.fromisoformat(data["from"]), date.fromisoformat(data["to"]))
        self.generated_at = datetime.fromisoformat(data["generated_at"])
        self.parts: list[Pair] = [(str(a), str(r)) for a, r in data["parts"]]

    def partial_key(self, pair: Pair) -> str:
        return f"{self.prefix}{PARTS}{pair[0]}/{pair[1]}.json"


def load_run(store: EvidenceStore, config: review_pack.Settings, run: Any) -> Run:
    """The run a message names, which must be a run folder of this function's evidence prefix."""
    runs = config.evidence.layout.review_runs()
    if not isinstance(run, str) or not run.startswith(runs) or not run.endswith("/") or "/" in run[len(runs):-1]:
        raise BadRun(f"not a review run of this evidence prefix: {run!r}")
    try:
        return Run(run, store.get(run + RUN_RECORD).body)
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404"):
            raise BadRun(f"no run record under {run}") from None
        raise


def scope_keys(store: EvidenceStore, prefix: str, pair: Pair, period: review_pack.Period) -> list[str]:
    """The keys of one account/region a review of ``period`` needs, listed per kind.

    Stamped series list newest first: from the newest back to the first key older than the
    period's start (the snapshot before it; the latest report before the period ends). Events
    list by day from the period's start to the first day after it; without any there, the
    oldest record says whether the account/region has any at all.
    """
    keys: list[str] = []
    for kind in (SNAPSHOTS, DIFFS, UNUSED, EXPOSURE, RULE_REVIEW, DRIFT):
        for key in store.iter_keys(series_prefix(prefix, *pair, kind)):
            keys.append(key)
            moment = stamp_time(key)
            if moment is not None and moment < period.start_time:
                break
    series = series_prefix(prefix, *pair, EVENTS)
    found: list[str] = []
    for key in store.iter_keys(series, series + period.start.strftime("%Y/%m/%d")):
        found.append(key)
        item = review_pack.classify(prefix, key)
        if item is not None and item.time >= period.end_time:
            break
    if not found:
        oldest = store.latest_key(series)
        found = [oldest] if oldest else []
    return keys + found + remediation_keys(store, prefix, pair, period)


def remediation_keys(store: EvidenceStore, prefix: str, pair: Pair, period: review_pack.Period) -> list[str]:
    """The remediation records of the period's day folders (listed from its first day to the first key after it)
    and every exception index entry (:mod:`.remediation` keeps those that lapse in the period)."""
    series = series_prefix(prefix, *pair, REMEDIATION)
    found: list[str] = []
    for key in store.iter_keys(series, series + period.start.strftime("%Y/%m/%d")):
        item = review_pack.classify(prefix, key)
        if remediation.is_exception_entry(key) or (item is not None and item.time >= period.end_time):
            break
        found.append(key)
    return found + list(store.iter_keys(series + EXCEPTIONS))


def pack_records(store: EvidenceStore, config: review_pack.Settings) -> list[str]:
    """The manifests and sign-off records of the earlier packs."""
    return [k for k in store.iter_keys(config.evidence.layout.reviews()) if review_pack.is_pack_record(k)]


def period_keys(store: EvidenceStore, config: review_pack.Settings, period: review_pack.Period) -> list[str]:
    """The keys a single run's review of ``period`` needs: per account/region as a part lists them
    (never the whole history), and the earlier packs' records."""
    prefix = config.evidence.prefix
    pairs = account_regions(store, prefix)
    with ThreadPoolExecutor(max_workers=max(1, min(pack.READ_WORKERS, len(pairs)))) as pool:
        found = pool.map(lambda pair: scope_keys(store, prefix, pair, period), pairs)
        return [key for keys in found for key in keys] + pack_records(store, config)


def build_partial(store: EvidenceStore, prefix: str, pair: Pair, period: review_pack.Period) -> partial.Partial:
    """The partial of one account/region: read what the period needs of it, review it."""
    selection = review_pack.select(prefix, scope_keys(store, prefix, pair, period), period)
    reader = Reader(pack.read_all(store, selection.to_read, selection.digest_only))
    keys = selection.scopes.get(pair)
    review = review_scope(period, keys, selection, reader) if keys else None
    return partial.Partial(pair[0], pair[1], review, reader.used)


def _exists(store: EvidenceStore, key: str) -> bool:
    try:
        store.s3.head_object(Bucket=store.bucket, Key=key)
    except ClientError as exc:
        if aws.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def run_part(store: EvidenceStore, config: review_pack.Settings, run: Run, pair: Pair, last_attempt: bool) -> None:
    """Write the partial of ``pair`` (a failed one on the last attempt), then queue the merge when it
    completes the run."""
    key = run.partial_key(pair)
    if _exists(store, key):
        log.info("review_part_exists", run=run.prefix, account_id=pair[0], region=pair[1])
    else:
        try:
            body = partial.dumps(build_partial(store, config.evidence.prefix, pair, run.period))
        except Exception as exc:
            if not last_attempt:
                raise
            error = f"{aws.error_code(exc)}: {exc}"
            log.error("review_part_given_up", run=run.prefix, account_id=pair[0], region=pair[1], error=error)
            body = partial.dumps(partial.Partial(pair[0], pair[1], None, [], error))
        if not store.put_new(key, body, "application/json"):
            log.info("review_part_exists", run=run.prefix, account_id=pair[0], region=pair[1])
    written = sum(1 for _ in store.iter_keys(run.prefix + PARTS))
    log.info("review_part_done", run=run.prefix, account_id=pair[0], region=pair[1], written=written,
             expected=len(run.parts))
    if written >= len(run.parts):
        _queue_merge(config, run)


def _queue_merge(config: review_pack.Settings, run: Run) -> None:
    refused = fanout.queue(config.work_queue_url, [json.dumps({"run": run.prefix, "merge": True})])
    if refused:
        raise fanout.DispatchFailed(f"the merge of {run.prefix} could not be queued: {refused[0][1]}")


def check_deadline(store: EvidenceStore, config: review_pack.Settings, run: Run, now: datetime) -> str:
    """What the run's deadline check found: ``merged``; ``waiting`` (checked again later); ``given-up`` (the parts
    still missing written as failed partials) or ``complete``, the merge queued either way; or ``abandoned``."""
    if _exists(store, run.prefix + MERGE_CLAIM):
        return "merged"
    if now > run.generated_at + 2 * RUN_DEADLINE:  # its merge keeps failing: the dead-letter queue's alarm has fired
        log.error("review_run_abandoned", run=run.prefix, error="not merged two deadlines after its dispatch")
        return "abandoned"
    written = set(store.iter_keys(run.prefix + PARTS))
    missing = [pair for pair in run.parts if run.partial_key(pair) not in written]
    if missing and now < run.generated_at + RUN_DEADLINE:
        log.info("review_run_waiting", run=run.prefix, missing=len(missing), expected=len(run.parts))
        _queue_deadline(config, run.prefix)
        return "waiting"
    for pair in missing:
        error = (f"no result by the run's deadline, {RUN_DEADLINE} after it was dispatched: the part's last delivery "
                 "ended without one (a timeout or crash: see the function's log and the work dead-letter queue)")
        log.error("review_part_given_up", run=run.prefix, account_id=pair[0], region=pair[1], error=error)
        store.put_new(run.partial_key(pair), partial.dumps(partial.Partial(pair[0], pair[1], None, [], error)),
                      "application/json")  # a part that finishes meanwhile keeps its own
    _queue_merge(config, run)
    _queue_deadline(config, run.prefix)  # sees the merge claimed, or queues it again
    return "given-up" if missing else "complete"


# --------------------------------------------------------------------------- merge


def _partials(store: EvidenceStore, run: Run) -> Iterator[partial.Partial]:
    """The run's partials in account/region order, read a window of :data:`pack.READ_WORKERS` at a time:
    the stored bodies of one window only are in memory at once."""
    for start in range(0, len(run.parts), pack.READ_WORKERS):
        pairs = run.parts[start : start + pack.READ_WORKERS]
        keys = [run.partial_key(pair) for pair in pairs]
        found = pack.read_all(store, keys, set())
        unread = [key for key in keys if not isinstance(found.get(key), StoredObject)]
        if unread:  # a read that failed (after botocore's retries): the whole merge is delivered again
            raise RuntimeError(f"{len(unread)} partial(s) of {run.prefix} could not be read, e.g. {unread[0]}")
        for pair, key in zip(pairs, keys, strict=True):
            obj = found.pop(key)
            try:
                assert isinstance(obj, StoredObject)
                item = partial.loads(obj.body)
            except (ValueError, KeyError, TypeError) as exc:  # a gap of its own, never a silent omission
                item = partial.Partial(pair[0], pair[1], None, [], f"partial {key} unusable: {exc}")
            yield item


def merge(store: EvidenceStore, config: review_pack.Settings, run: Run, message_id: str) -> dict[str, Any] | None:
    """Assemble the pack from the run's partials and write it; None when another merge holds the run."""
    claim = run.prefix + MERGE_CLAIM
    if not store.put_new(claim, json.dumps({"message_id": message_id}).encode(), "application/json"):
        holder = json.loads(store.get(claim).body).get("message_id")
        if holder != message_id:
            log.info("review_merge_duplicate", run=run.prefix, merged_by=holder)
            return None
        log.info("review_merge_retried", run=run.prefix)
    review_keys = pack_records(store, config)
    reader = Reader(pack.read_all(store, review_keys, set()))
    past, _ = past_reviews(review_keys, reader)
    used = used_rows()

    def reviews() -> Iterator[ScopeReview]:  # one partial at a time; its evidence objects go with it
        for item in _partials(store, run):
            used.add(item.used)
            review = item.scope_review(run.period)
            if review is not None:
                yield review

    built = assemble(run.period, store.bucket, config.evidence.prefix, reviews(), past, used, run.generated_at,
                     config.authorized_public_ports)
    used.add(reader.used)
    try:
        return pack.write(store, config, built)
    finally:
        built.close()


def consume(event: dict[str, Any], store: EvidenceStore, config: review_pack.Settings) -> dict[str, Any]:
    """A batch of queued parts and merges; the failed ones go back to SQS as batch item failures."""
    failed: list[str] = []
    for number, record in enumerate(event["Records"]):
        message_id, label = batch.identify(record, number)
        try:
            if message_id is None:
                raise BadRun("no SQS message id: not a record SQS delivered")
            item = json.loads(record.get("body") or "")
            if not isinstance(item, dict):
                raise BadRun("not a JSON object")
            run = load_run(store, config, item.get("run"))
            if item.get("merge") is True:
                merge(store, config, run, message_id)
                continue
            if item.get("deadline") is True:
                check_deadline(store, config, run, datetime.now(UTC))
                continue
            pair = (item.get("account_id"), item.get("region"))
            if pair not in run.parts:
                raise BadRun(f"{pair} is not a part of {run.prefix}")
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
            run_part(store, config, run, (str(pair[0]), str(pair[1])), receives >= config.part_attempts)
        except Exception as exc:  # this record only: the others of the batch go on
            log.error("review_work_failed", message_id=label, error=f"{aws.error_code(exc)}: {exc}")
            failed += [message_id] if message_id else []
    return batch.response(failed)
