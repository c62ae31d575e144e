"""The PCI DSS 1.2.7 review pack: one readable report per period, with hashes and a sign-off record.

Event: ``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`` (UTC days, both included) for an
on-demand run; an empty event (the schedule) covers the six months ending yesterday, where
"yesterday" is taken in ``SCHEDULE_TIMEZONE`` (the schedule's time zone, default UTC).

With ``WORK_QUEUE_URL`` set, the run is fanned out: one queued part per account/region, each
writing a small partial, then a merge that reads the partials and writes the pack (see
:mod:`sgwatch.review_pack.parts`); queue events are those parts and merges. Without it, one invocation
reads the evidence and writes the pack. Where and how a pack is written: :mod:`sgwatch.review_pack.pack`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sgwatch import fanout, log, review_pack, settings
from sgwatch.evidence import EvidenceStore
from sgwatch.review_pack import pack, parts


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
    store = EvidenceStore(bucket)
    if fanout.is_queue_event(event):
        return parts.consume(event, store, config)
    now = datetime.now(UTC)
    period = review_pack.parse_period(event, _today(now, config.schedule_timezone))

    if config.work_queue_url:
        return parts.dispatch(store, config, period, now)
    keys = parts.period_keys(store, config, period)
    selection = review_pack.select(prefix, keys, period)
    log.info("evidence_listed", period=period.name, keys=len(keys), to_read=len(selection.to_read),
             scopes=len(selection.scopes))
    objects = pack.read_all(store, selection.to_read, selection.digest_only)
    built = review_pack.build(period, bucket, prefix, selection, objects, now, config.authorized_public_ports)
    try:
        return pack.write(store, config, built)
    finally:
        built.close()
