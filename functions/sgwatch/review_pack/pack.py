"""Reading evidence for a review and writing a finished pack: what a single run and a merge share.

Output, write-once, under ``{prefix}reviews/<from>_<to>/``: report.html, changes.csv,
current-rules.csv, risky-rules.csv, unused-groups.csv, exposure.csv, out-of-band-changes.csv,
review-record.json (template) and manifest.json (written last: a pack is complete when its
manifest exists). When a pack of the same period already exists, the run writes
``{prefix}reviews/<from>_<to>-r2/`` (then ``-r3``...): evidence is never overwritten, so it works
with Object Lock.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import aws, log, notify, review_pack, settings, slack
from ..evidence import EvidenceStore, Layout, StoredObject
from . import notice

READ_WORKERS = aws.POOL_CONNECTIONS  # the client's pool holds a connection for each
MAX_RUNS = 50

Read = StoredObject | review_pack.Digest | None


def _read(store: EvidenceStore, key: str, digest_only: bool) -> Read:
    """The object; for a snapshot read only for coverage, its digest, from S3's own checksum where
    S3 proves the object is the one written (no download), else from the body."""
    if digest_only:
        proven = store.recorded_sha256(key)
        if proven is not None:
            return review_pack.Digest(key, proven[0], proven[1], None)
    found = store.get(key)
    return review_pack.digest_snapshot(found) if digest_only else found


def read_all(store: EvidenceStore, keys: list[str], digest_only: set[str]) -> dict[str, Read]:
    """Every object, read concurrently; snapshots needed only for coverage are verified and
    kept as digests, so a half-year of large snapshots never sits in memory at once."""

    def read(key: str) -> tuple[str, Read]:
        try:
            return key, _read(store, key, key in digest_only)
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


def put(store: EvidenceStore, key: str, body: bytes, content_type: str) -> None:
    """Write ``key`` once, with the SHA-256 of its body recorded; an existing one is an error."""
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


def write(store: EvidenceStore, config: review_pack.Settings, built: review_pack.Review) -> dict[str, Any]:
    """Claim the pack folder, write every file of the pack (the manifest last) and announce it."""
    pack_prefix, template = _claim_pack(store, config.evidence.layout, built)
    built.pack = pack_prefix
    outputs: dict[str, bytes] = {"review-record.json": template}
    outputs["report.html"] = review_pack.render_html(built, pack_prefix).encode("utf-8")
    outputs.update(review_pack.render_csvs(built))
    for name, body in outputs.items():
        if name == "review-record.json":
            continue
        content_type = "text/html; charset=utf-8" if name.endswith(".html") else "text/csv"
        put(store, pack_prefix + name, body, content_type)
    manifest = review_pack.manifest(built, pack_prefix, outputs)
    put(store, pack_prefix + "manifest.json", manifest, "application/json")
    manifest_sha = hashlib.sha256(manifest).hexdigest()

    result = notice.result(built, pack_prefix, manifest_sha)
    log.info("pack_written", **result)
    text = notice.message(store.bucket, built, pack_prefix, manifest_sha)
    if config.topic_arn:
        attributes = {"event_name": "ReviewPack", "severity": "INFO"}
        notify.publish(config.topic_arn, notice.subject(built), text, attributes)
    _post_slack(config.slack, text)
    return result
