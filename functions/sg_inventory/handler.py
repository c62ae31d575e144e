"""Scheduled snapshot of every security-group rule, with a diff against the previous one and
the exposure report of the same moment (which public rules the internet reaches, and how).

One order per pair (see :func:`sgwatch.sg_inventory.record.record_snapshot`): claim the successor of the
previous snapshot, then describe the rules, then diff. A run that loses the claim describes
only once it holds the claim on the successor of the winner's snapshot.

An exposure lookup that fails (a member role without the exposure reads, throttling) keeps
the snapshot and diff it follows, writes no exposure report (none means "not looked up", a
header-only one "nothing exposed") and fails the pair as any failed pair does: logged, named
in the run's error, retried from the work queue. The rule review of the same moment (see
:mod:`sgwatch.rule_review`) follows the exposure report and fails the pair the same way (a register
that cannot be read, a stale-reference lookup that keeps failing): never a review without them. The expiry
digest (:mod:`sgwatch.expiry_digest`) announces the justifications the review finds lapsed that were not announced
before; a digest that cannot be delivered fails the pair too (its rules stay unannounced: the next run tries again).
With ``IAC_STATE_LOCATIONS`` set, the drift report of the same moment (see :mod:`sgwatch.drift`) follows the rule
review: the states are read once per run by the first pair that needs them (with the fan-out, by the scheduled
invocation, which leaves what they declare under ``iac-declared/`` before it queues any pair), and a state that
cannot be read fails every pair of the run, or the whole fanned-out run (no drift report, never an empty one).
With ``IAC_CLOUDFORMATION_DRIFT`` set, each pair's stacks are read too (:mod:`sgwatch.cfn_drift`); a stack that
could not be checked fails that pair. The drift that appeared since each pair's previous report goes out in one
digest per run (per queued batch with the fan-out; see :mod:`sgwatch.drift_alert`).
With ``REMEDIATION_NOTIFIER_ARN`` set (remediation on), each pair's exceptions that expired are checked against the
snapshot last (see :mod:`sgwatch.remediation_expiry`): the rules still there are handed to the change notifier, and a
hand-over that fails fails the pair (the next run tries again).

Covers every account and region of the run (see :mod:`sgwatch.accounts`), in this run or,
with WORK_QUEUE_URL set, spread over queued runs of one pair each (see :mod:`sgwatch.fanout`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sgwatch import (
    aws,
    cfn_drift,
    drift_alert,
    drift_record,
    expiry_digest,
    exposure,
    fanout,
    iac_state,
    log,
    notify,
    remediation_expiry,
    rule_review_record as rule_review,
    settings,
    slack,
)
from sgwatch.evidence import EvidenceStore, Layout
from sgwatch.justification import Sources
from sgwatch.rule_review_state import Snapshot
from sgwatch.rules import Row, as_rules
from sgwatch.sg_inventory import record
from sgwatch.snapshots import Tagged, current_rules


class InventoryFailed(RuntimeError):
    """Some regions could not be snapshotted or their exposure looked up; the others were written."""


class ExposureNotLookedUp(RuntimeError):
    """The pair's snapshot and diff were written, its exposure report was not."""


class RuleReviewNotWritten(RuntimeError):
    """The pair's snapshot, diff and exposure report were written, its rule review was not."""


class ExpiryDigestNotDelivered(RuntimeError):
    """The pair's rule review was written, the digest of its lapsed justifications could not be delivered."""


class DriftNotWritten(RuntimeError):
    """The pair's snapshot and the reports before the drift report were written, its drift report was not."""


class ExpiredExceptionsNotAnnounced(RuntimeError):
    """The pair's reports were written; an exception that expired could not be checked or handed to the notifier."""


def hand_over(notifier_arn: str) -> Any:
    """An asynchronous invocation of the change notifier with one event (raises unless Lambda accepted it)."""
    region = notifier_arn.split(":")[3]

    def invoke(event: dict[str, Any]) -> None:
        answer = aws.central_client("lambda", region).invoke(
            FunctionName=notifier_arn, InvocationType="Event", Payload=json.dumps(event).encode("utf-8"))
        if answer.get("StatusCode") != 202:
            raise RuntimeError(f"the notifier's invocation answered {answer.get('StatusCode')}")
    return invoke


def announce_expired(store: EvidenceStore, config: record.Settings, account_id: str, region: str,
                     rows: list[Row]) -> dict[str, Any]:
    """The pair's exceptions that expired, checked against the snapshot ``rows`` (see
    :mod:`sgwatch.remediation_expiry`); a failure fails the pair."""
    try:
        found = remediation_expiry.check(store, Layout(config.evidence.prefix), account_id, region, as_rules(rows),
                                         datetime.now(UTC), hand_over(config.remediation_notifier_arn))
    except Exception as exc:
        why = f"{aws.error_code(exc) or type(exc).__name__}: {exc}"
        log.error("expired_exceptions_not_announced", account_id=account_id, region=region, error=why,
                  action="reports written; the next run hands the expired exceptions over again")
        raise ExpiredExceptionsNotAnnounced(f"expired exceptions not announced ({why})") from exc
    return {"expired_exceptions_handed_over": len(found.handed_over), "expired_exceptions_gone": len(found.gone)}


def look_up_exposure(
    region: str, rules: Sequence[Sequence[str]], authorized_public_ports: Collection[int]
) -> exposure.Exposure:
    """The exposure of the region in the account being looked at (``rules``: its snapshot rows, which say
    which listeners and prefix lists to read): a few describe pages, not per rule."""
    fetch = exposure.paged_fetch(lambda service: aws.client(service, region))
    return exposure.look_up(fetch, rules=rules, authorized_public_ports=authorized_public_ports)


def snapshot_region(
    store: EvidenceStore, config: record.Settings, account_id: str, region: str,
    register: rule_review.RegisterOnce | None = None,
    states: iac_state.DeclaredOnce | None = None,
    digest: drift_alert.Digest | None = None,
) -> dict[str, Any]:
    prefix = config.evidence.prefix
    tagged = Tagged()

    def rules() -> list[Row]:
        return current_rules(aws.client("ec2", region), account_id, region, tagged)

    # The rules are read once this run holds the claim on the next snapshot of the pair.
    result = record.record_snapshot(store, prefix, account_id, region, rules, lambda: datetime.now(UTC))
    if result.skipped:
        return {"account_id": account_id, "region": region, "skipped": result.skipped}
    if result.previous_error:
        log.error(
            "previous_snapshot_unusable",
            account_id=account_id,
            region=region,
            error=result.previous_error,
            action="new baseline written; previous object left untouched",
        )
    summary = {
        "account_id": account_id,
        "region": region,
        "snapshot_key": result.snapshot_key,
        "diff_key": result.diff_key,
        "groups": len({r[3] for r in result.rules}),  # GroupId
        "rules": sum(1 for r in result.rules if r[6]),  # Direction (empty on a group without rules)
        "added": result.diff.added if result.diff else 0,
        "removed": result.diff.removed if result.diff else 0,
        "updated": result.diff.updated if result.diff else 0,
    }
    log.info("snapshot_written", **summary)
    assert result.snapshot_key is not None  # a run that was not skipped wrote it
    try:
        found = look_up_exposure(region, result.rules, config.authorized_public_ports)
    except Exception as exc:
        why = f"{aws.error_code(exc)}: {exc}"
        log.error("exposure_not_looked_up", account_id=account_id, region=region, error=why,
                  snapshot_key=result.snapshot_key, diff_key=result.diff_key,
                  action="snapshot and diff written; no exposure report for this run")
        written = " and ".join(k for k in (result.snapshot_key, result.diff_key) if k)
        raise ExposureNotLookedUp(f"exposure not looked up ({why}); {written} written") from exc
    report = record.record_exposure(store, prefix, account_id, region, result.snapshot_key, result.rules, found,
                             config.authorized_public_ports)
    summary.update(exposure_key=report.key, exposed=report.rows)
    log.info("exposure_written", account_id=account_id, region=region, exposure_key=report.key, exposed=report.rows)
    reviewing = config.rule_review
    try:
        facts = rule_review.region_facts(aws.client("ec2", region),
                                         exposure.paged_fetch(lambda service: aws.client(service, region)),
                                         result.rules)
        sources = Sources(reviewing.keys, tagged.rules, tagged.groups,
                          register.entries() if register else [], reviewing.private_peers_justified)
        reviewed = rule_review.record_review(store, prefix, account_id, region, result.snapshot_key, result.rules,
                                             sources, facts, reviewing.warning_days,
                                             Snapshot(result.rules, result.body, result.spans), result.previous_key)
    except Exception as exc:
        why = f"{aws.error_code(exc) or type(exc).__name__}: {exc}"
        log.error("rule_review_not_written", account_id=account_id, region=region, error=why,
                  snapshot_key=result.snapshot_key, action="snapshot, diff and exposure report written")
        raise RuleReviewNotWritten(f"rule review not written ({why}); {result.snapshot_key} written") from exc
    summary.update(rule_review_key=reviewed.key, rule_findings=reviewed.rows,
                   rule_review_groups_reviewed=f"{reviewed.reviewed} of {reviewed.groups}")
    if reviewed.unreadable:  # a full review: said in the result, the log and the state written
        summary.update(rule_review_notes=reviewed.unreadable)
    log.info("rule_review_written", account_id=account_id, region=region, rule_review_key=reviewed.key,
             findings=reviewed.rows)
    deliver = expiry_digest.deliverer(config.topic_arn, config.slack, notify.publish,
                                      lambda where, text: slack.Poster(where).post(text))
    if deliver is not None:
        try:
            expiring = expiry_digest.announce(store, prefix, account_id, region, reviewed.found, reviewed.key,
                                              deliver)
        except Exception as exc:
            why = f"{aws.error_code(exc) or type(exc).__name__}: {exc}"
            log.error("expiry_digest_not_delivered", account_id=account_id, region=region, error=why,
                      rule_review_key=reviewed.key, action="rule review written; the next run announces them")
            raise ExpiryDigestNotDelivered(f"expiry digest not delivered ({why}); {reviewed.key} written") from exc
        summary.update(expiry_announced=expiring.announced)
    if states is not None and config.drift.enabled:
        summary.update(record_drift(store, config, account_id, region, result.snapshot_key, result.rules, tagged,
                                    states, digest))
    if config.remediation_notifier_arn:
        summary.update(announce_expired(store, config, account_id, region, result.rules))
    return summary


def record_drift(
    store: EvidenceStore, config: record.Settings, account_id: str, region: str, snapshot_key: str,
    rows: list[Row], tagged: Tagged, states: iac_state.DeclaredOnce, digest: drift_alert.Digest | None = None,
) -> dict[str, Any]:
    try:
        stacks = None
        if config.drift.cloudformation:
            stacks = cfn_drift.read_stacks(aws.client("cloudformation", region), account_id, region)
            if stacks.not_checked:
                raise cfn_drift.NotChecked("; ".join(stacks.not_checked[:5]))
        declared = states.declared() if config.drift.locations else iac_state.Declared()
        found = drift_record.record_drift(store, config.evidence.prefix, account_id, region, snapshot_key, rows,
                                          declared, tagged.groups, config.drift, stacks)
    except Exception as exc:
        why = f"{aws.error_code(exc) or type(exc).__name__}: {exc}"
        log.error("drift_not_written", account_id=account_id, region=region, error=why, snapshot_key=snapshot_key,
                  action="snapshot, diff, exposure report and rule review written")
        raise DriftNotWritten(f"drift report not written ({why}); {snapshot_key} written") from exc
    log.info("drift_written", account_id=account_id, region=region, drift_key=found.key, drift=found.rows,
             new_drift=len(found.new))
    if digest is not None:
        digest.add(account_id, region, found.key, found.new)
    return {"drift_key": found.key, "drift": found.rows, "new_drift": len(found.new)}


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = settings.environment()
    config = record.Settings.from_env(env)
    store = EvidenceStore(config.evidence.bucket, aws.central_client("s3"))
    register = rule_review.RegisterOnce(config.rule_review.register, lambda: aws.central_client("s3"))
    prefix, locations = config.evidence.prefix, config.drift.locations
    states = iac_state.states_once(locations, lambda: aws.central_client("s3"))
    if fanout.is_queue_event(event):  # a queued batch: the states as the scheduled invocation read them
        states = iac_state.DeclaredOnce(lambda: drift_record.read_declared(store, prefix))

    def prepare() -> None:
        if locations:
            drift_record.publish_declared(store, prefix, states.declared(), datetime.now(UTC))

    digest, digests_to = drift_alert.Digest(), drift_alert.Settings(config.topic_arn, config.slack)

    def work(account_id: str, region: str) -> dict[str, Any]:
        return snapshot_region(store, config, account_id, region, register, states, digest)

    try:
        outcome = fanout.run(event, work, env, InventoryFailed, "inventory", {"bucket": store.bucket}, prepare)
    except Exception:
        try:  # the drift the pairs that succeeded found is announced all the same
            digest.send(digests_to)
        except Exception as exc:
            log.error("drift_digest_not_published", error=f"{aws.error_code(exc)}: {str(exc)[:300]}")
        raise
    digest.send(digests_to)  # a digest SNS refuses fails the run: its error alarm fires
    return outcome
