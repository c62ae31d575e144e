"""Spread one run over an SQS work queue: one message per (account, region) pair.

An estate too large for one 15-minute run is shared out among many runs of the same
function. With ``WORK_QUEUE_URL`` set, the scheduled invocation only lists the pairs
(:func:`sgwatch.accounts.planned_pairs`) and queues one message for each. The queue's
event source mapping then invokes the function with batches of those messages, and each
pair is processed as in a direct run. A pair that fails is returned to SQS as a batch
item failure, so the queue retries only that pair. After ``maxReceiveCount`` attempts
it moves to the queue's dead-letter queue, which has an alarm. No pair is dropped.

Message body::

    {"account_id": "123456789012", "region": "eu-west-1", "run": "2026-11-22T06:00:00+00:00"}

A message is checked against the function's own settings before any work, and before any
role is assumed: a 12-digit account that is not excluded and is one of the run's accounts
(on ``ACCOUNTS``, or with ``ACCOUNTS_FROM_ORGANIZATIONS`` an ACTIVE account of the
organisation, listed once per batch), and a region of ``REGIONS``. Anyone able to send to
the queue can therefore not make the function read an account outside the organisation.
A message that fails the check is never processed and is never dropped either: it is
reported as failed and ends in the dead-letter queue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from . import accounts, aws, batch, log, settings
from .settings import Environment

WORK_QUEUE_ENV = "WORK_QUEUE_URL"
SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries
SEND_ATTEMPTS = 2  # entries SQS refused are sent once more before the run fails
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

Work = Callable[[str, str], dict[str, Any]]


class DispatchFailed(RuntimeError):
    """Some pairs could not be queued; the others were."""


class BadWorkItem(ValueError):
    """A queue message that is not a pair this function covers."""


def is_queue_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    if not records:
        return False
    return all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


def handle(
    event: Any, work: Work, env: Environment | None = None, prepare: Callable[[], None] | None = None
) -> dict[str, Any] | None:
    """Queue the pairs or process a batch of them; ``None`` when the run is a direct one. ``prepare`` runs once
    before the pairs are queued (what every queued pair of the run reads); when it raises, nothing is queued."""
    env = settings.environment(env)
    if is_queue_event(event):
        return consume(event, work, env)
    queue_url = settings.text(env, WORK_QUEUE_ENV)
    if queue_url:
        if prepare is not None:
            prepare()
        return dispatch(queue_url, env)
    return None


def run(
    event: Any,
    work: Work,
    env: Environment,
    failed: Callable[[str], Exception],
    what: str,
    summary: Mapping[str, Any] | None = None,
    prepare: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The whole run of a function that covers every account and region: queue the pairs or process a
    queued batch (:func:`handle`), else do every pair here. A direct run raises ``failed`` with a
    message naming the pairs that failed (``what`` is the function's work, e.g. ``inventory``) once
    the others are done, and returns ``summary`` with the results and the skipped accounts."""
    queued = handle(event, work, env, prepare)
    if queued is not None:
        return queued
    outcome = accounts.run_everywhere(work, env)
    if outcome.failures:
        raise failed(outcome.error_message(what))
    return {**(summary or {}), "results": outcome.results, "skipped_accounts": outcome.skipped_accounts}


# --------------------------------------------------------------------------- dispatch


def work_item(account_id: str, region: str, run: str) -> str:
    return json.dumps({"account_id": account_id, "region": region, "run": run}, sort_keys=True)


def _send(sqs: Any, queue_url: str, bodies: list[str]) -> list[tuple[str, str]]:
    """Send up to 10 bodies; return (body, reason) for each that SQS did not take."""
    refused: list[tuple[str, str]] = []
    for attempt in range(SEND_ATTEMPTS):
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
            )
        except Exception as exc:  # the whole batch; botocore already retried throttling
            return [(b, f"{aws.error_code(exc)}: {exc}") for b in bodies]
        refused = [
            (bodies[int(f["Id"])], f"{f.get('Code')}: {f.get('Message', '')}") for f in response.get("Failed") or ()
        ]
        if not refused or attempt + 1 == SEND_ATTEMPTS:
            return refused
        bodies = [b for b, _ in refused]
    return refused


def queue(queue_url: str, bodies: list[str], workers: int = 8) -> list[tuple[str, str]]:
    """Send every body to the queue, ten to a request, ``workers`` requests at once; return
    (body, reason) for each that SQS did not take."""
    chunks = [bodies[i : i + SQS_BATCH] for i in range(0, len(bodies), SQS_BATCH)]
    if not chunks:
        return []
    sqs = aws.central_client("sqs")
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(chunks)))) as pool:
        return [item for result in pool.map(lambda chunk: _send(sqs, queue_url, chunk), chunks) for item in result]


def dispatch(queue_url: str, env: Environment | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Queue one message per (account, region) pair of the run."""
    reach = accounts.Settings.from_env(env)
    run = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    plan = accounts.planned_pairs(reach)
    pairs = plan.pairs
    bodies = [work_item(a, r, run) for a, r in pairs]
    refused = queue(queue_url, bodies, reach.workers)
    summary = {
        "queued": len(pairs) - len(refused),
        "accounts": len({a for a, _ in pairs}),
        "regions": sorted({r for _, r in pairs}),
        "skipped_accounts": plan.skipped_accounts,
        "run": run,
    }
    log.info("work_queued", queue_url=queue_url, **summary)
    if refused:
        failures = {(json.loads(b)["account_id"], json.loads(b)["region"]): why for b, why in refused}
        for (account_id, region), why in sorted(failures.items()):
            log.error("work_not_queued", account_id=account_id, region=region, error=why)
        listed = accounts.pair_listing(failures)
        raise DispatchFailed(f"{len(refused)} of {len(pairs)} account/region pair(s) could not be queued: {listed}")
    return summary


# --------------------------------------------------------------------------- consume


def parse_work_item(
    body: str, allowed_accounts: set[str], excluded: set[str], regions: set[str], accounts_source: str = "ACCOUNTS"
) -> tuple[str, str]:
    """The (account, region) pair of a queued message, or :class:`BadWorkItem` naming why it is refused.

    ``accounts_source`` says where ``allowed_accounts`` come from, for the reason.
    """
    try:
        item = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadWorkItem(f"not JSON ({exc})") from None
    if not isinstance(item, dict):
        raise BadWorkItem("not a JSON object")
    account_id, region = item.get("account_id"), item.get("region")
    if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
        raise BadWorkItem(f"account_id is not an AWS account id: {account_id!r}")
    if not (isinstance(region, str) and REGION.match(region)):
        raise BadWorkItem(f"region is not an AWS region: {region!r}")
    if account_id in excluded:
        raise BadWorkItem(f"account {account_id} is in EXCLUDED_ACCOUNTS")
    if account_id not in allowed_accounts:
        raise BadWorkItem(f"account {account_id} is not in {accounts_source}")
    if region not in regions:
        raise BadWorkItem(f"region {region} is not in REGIONS")
    return account_id, region


def consume(event: dict[str, Any], work: Work, env: Environment | None = None) -> dict[str, Any]:
    """Process a batch of queued pairs; the failed ones go back to SQS as batch item failures."""
    reach = accounts.Settings.from_env(env)
    identity = aws.own_identity()
    # The run's accounts, known once for the whole batch (never once per message): the fixed
    # list, and with the organisation its ACTIVE accounts as Organizations lists them now.
    allowed = set(accounts.select_accounts(identity[0], reach, report_skipped=False).accounts)
    source = "ACCOUNTS"
    if reach.from_organizations:
        source = "ACCOUNTS nor among the organisation's ACTIVE accounts"
    excluded = set(reach.excluded)
    regions = set(reach.regions)

    items: dict[str, tuple[str, str]] = {}
    failed: list[str] = []
    for number, record in enumerate(event["Records"]):
        message_id, label = batch.identify(record, number)
        try:
            pair = parse_work_item(record.get("body"), allowed, excluded, regions, source)
            if message_id is None:
                raise BadWorkItem("no SQS message id: not a record SQS delivered")
            items[message_id] = pair
        except BadWorkItem as exc:
            log.error("work_item_rejected", message_id=label, error=str(exc))
            failed += [message_id] if message_id else []

    outcome = accounts.run_everywhere(work, reach, pairs=sorted(set(items.values())), identity=identity)
    failed += [message_id for message_id, pair in items.items() if pair in outcome.failures]
    log.info("work_done", received=len(event["Records"]), succeeded=len(outcome.results), failed=len(failed))
    return batch.response(failed)
