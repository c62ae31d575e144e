"""Reading evidence for a review and writing a finished pack: what a single run and a merge share.

Output, write-once, under ``{prefix}reviews/<from>_<to>/``: report.html, changes.csv,
current-rules.csv, risky-rules.csv, unused-groups.csv, exposure.csv, out-of-band-changes.csv,
rule-review.csv, drift.csv, remediation.csv, review-record.json (template) and manifest.json (written last: a pack
is complete when its manifest exists). When a pack of the same period already exists, the run writes
``{prefix}reviews/<from>_<to>-r2/`` (then ``-r3``...): evidence is never overwritten, so it works
with Object Lock.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import aws, log, notify, review_pack, settings, slack
from ..csvio import write_csv
from ..evidence import EvidenceStore, Layout, StoredObject
from . import notice

READ_WORKERS = aws.POOL_CONNECTIONS  # the client's pool holds a connection for each
MAX_RUNS = 50
SPOOL_MEMORY = 1 << 20  # bytes of a pack file held in memory before it goes to /tmp

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
    _put_spooled(store, key, content_type, lambda out: out.write(body))


def _post_slack(config: settings.Slack | None, text: str) -> None:
    if config is None:
        return
    try:
        slack.Poster(config).post(slack.entities(text))  # our own text (keys, counts): stays copyable
    except Exception as exc:  # Slack never loses the SNS notification
        log.error("slack_failed", error=f"{aws.error_code(exc)}: {exc}")


class _Spool:
    """A file of the pack as it is written: past :data:`SPOOL_MEMORY` bytes it goes to a temporary file
    (Lambda's /tmp), hashed and measured on the way, so no file of the pack sits in memory whole."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._sha256.update(data)
        self.size += len(data)
        return self.file.write(data)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def _put_spooled(store: EvidenceStore, key: str, content_type: str, fill: Callable[[_Spool], object]) -> _Spool:
    """Write ``key`` once from what ``fill`` writes, with its SHA-256 recorded; an existing one is an error."""
    spool = _Spool()
    with spool.file:
        fill(spool)
        spool.file.seek(0)
        if not store.put_new(key, spool.file, content_type, {"sha256": spool.sha256}):
            raise RuntimeError(f"{key} already exists; refusing to overwrite evidence")
    return spool


def _write_html(built: review_pack.Review, pack_prefix: str, out: _Spool) -> None:
    for chunk in review_pack.html_chunks(built, pack_prefix):
        out.write(chunk.encode("utf-8"))


def write(store: EvidenceStore, config: review_pack.Settings, built: review_pack.Review) -> dict[str, Any]:
    """Claim the pack folder, write every file of the pack (the manifest last, from the digests recorded
    as each file was written) and announce it."""
    pack_prefix, template = _claim_pack(store, config.evidence.layout, built)
    built.pack = pack_prefix
    outputs = {"review-record.json": (hashlib.sha256(template).hexdigest(), len(template))}
    html = _put_spooled(store, pack_prefix + "report.html", "text/html; charset=utf-8",
                        lambda out: _write_html(built, pack_prefix, out))
    outputs["report.html"] = (html.sha256, html.size)
    for name, header, rows in review_pack.tables(built):
        written = _put_spooled(store, pack_prefix + name, "text/csv", functools.partial(write_csv, header, rows))
        outputs[name] = (written.sha256, written.size)
    manifest = _put_spooled(store, pack_prefix + "manifest.json", "application/json",
                            lambda out: review_pack.write_manifest(built, pack_prefix, outputs, out))
    manifest_sha = manifest.sha256

    result = notice.result(built, pack_prefix, manifest_sha)
    log.info("pack_written", **result)
    text = notice.message(store.bucket, built, pack_prefix, manifest_sha)
    if config.topic_arn:
        attributes = {"event_name": "ReviewPack", "severity": "INFO"}
        notify.publish(config.topic_arn, notice.subject(built), text, attributes)
    _post_slack(config.slack, text)
    return result
