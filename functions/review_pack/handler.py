"""The PCI DSS 1.2.7 review pack: one readable report per period, with hashes and a sign-off record.

Event: ``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`` (UTC days, both included) for an
on-demand run; an empty event (the schedule) covers the six months ending yesterday, where
"yesterday" is taken in ``SCHEDULE_TIMEZONE`` (the schedule's time zone, default UTC).

Output, write-once, under ``{prefix}reviews/<from>_<to>/``: report.html, changes.csv,
current-rules.csv, risky-rules.csv, unused-groups.csv, exposure.csv, out-of-band-changes.csv,
review-record.json (template) and manifest.json (written last: a pack is complete when its
manifest exists). When a pack
of the same period already exists, the run writes ``{prefix}reviews/<from>_<to>-r2/``
(then ``-r3``...): evidence is never overwritten, so it works with Object Lock.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sgwatch import aws, log, notify, review_pack, settings, slack
from sgwatch.evidence import EvidenceStore, Layout, StoredObject
from sgwatch.review_pack import notice

READ_WORKERS = 16
MAX_RUNS = 50


def _read_all(store: EvidenceStore, keys: list[str], digest_only: set[str]) -> dict[str, Any]:
    """Every object, read concurrently; snapshots needed only for coverage are verified and
    kept as digests, so a half-year of large snapshots never sits in memory at once."""

    def read(key: str) -> tuple[str, StoredObject | review_pack.Digest | None]:
        try:
            found = store.get(key)
            return key, review_pack.digest_snapshot(found) if key in digest_only else found
        except Exception as exc:  # recorded as an integrity gap, never a silent omission
            log.warning("evidence_unreadable", key=key, error=f"{aws.error_code(exc)}: {exc}")
            return key, None

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(keys))) as pool:
        return dict(pool.map(read, keys))


def _claim_pack(store: EvidenceStore, layout: Layout, built: review_pack.Review) -> tuple[str, bytes]:
    """The pack folder, claimed by writing its review-record template write-once."""
    for run in range(1, MAX_RUNS + 1):
        name = built.period.name if run == 1 else f"{built.period.name}-r{run}"
        pack_prefix = layout.review_pack(name)
        template = review_pack.review_record_template(built, pack_prefix)
        if store.put_new(pack_prefix + "review-record.json", template, "application/json"):
            return pack_prefix, template
        log.info("pack_exists", pack=pack_prefix, action="trying the next run suffix")
    raise RuntimeError(f"{MAX_RUNS} packs already exist for {built.period.name}; refusing to write more")


def _put(store: EvidenceStore, key: str, body: bytes, content_type: str) -> None:
    digest = hashlib.sha256(body).hexdigest()
    if not store.put_new(key, body, content_type, {"sha256": digest}):
        raise RuntimeError(f"{key} already exists; refusing to overwrite evidence")


def _post_slack(config: settings.Slack | None, text: str) -> None:
    if config is None:
        return
    try:
        slack.Poster(config).post(slack.entities(text))  # our own text (keys, counts): stays copyable
    except Exception as exc:  # Slack never loses the SNS notification
        log.error("slack_failed", error=f"{aws.error_code(exc)}: {exc}")


def _today(now: datetime, zone: str | None) -> Any:
    """The date in the schedule's time zone: a run at 06:00 on 1 July in Tokyo is still 30 June in UTC."""
    if not zone or zone == "UTC":
        return now.date()
    try:
        return now.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown_time_zone", time_zone=zone, action="using UTC")
        return now.date()


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = review_pack.Settings.from_env(settings.environment())
    bucket, prefix = config.evidence.bucket, config.evidence.prefix
    now = datetime.now(UTC)
    period = review_pack.parse_period(event, _today(now, config.schedule_timezone))
    store = EvidenceStore(bucket)

    keys = store.keys(prefix)
    selection = review_pack.select(prefix, keys, period)
    log.info("evidence_listed", period=period.name, keys=len(keys), to_read=len(selection.to_read),
             scopes=len(selection.scopes))
    objects = _read_all(store, selection.to_read, selection.digest_only)
    built = review_pack.build(period, bucket, prefix, selection, objects, now, config.authorized_public_ports)

    pack_prefix, template = _claim_pack(store, config.evidence.layout, built)
    built.pack = pack_prefix
    outputs: dict[str, bytes] = {"review-record.json": template}
    outputs["report.html"] = review_pack.render_html(built, pack_prefix).encode("utf-8")
    outputs.update(review_pack.render_csvs(built))
    for name, body in outputs.items():
        if name == "review-record.json":
            continue
        content_type = "text/html; charset=utf-8" if name.endswith(".html") else "text/csv"
        _put(store, pack_prefix + name, body, content_type)
    manifest = review_pack.manifest(built, pack_prefix, outputs)
    _put(store, pack_prefix + "manifest.json", manifest, "application/json")
    manifest_sha = hashlib.sha256(manifest).hexdigest()

    result = notice.result(built, pack_prefix, manifest_sha)
    log.info("pack_written", **result)
    text = notice.message(bucket, built, pack_prefix, manifest_sha)
    if config.topic_arn:
        attributes = {"event_name": "ReviewPack", "severity": "INFO"}
        notify.publish(config.topic_arn, notice.subject(built), text, attributes)
    _post_slack(config.slack, text)
    return result
