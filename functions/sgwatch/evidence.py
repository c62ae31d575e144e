"""The evidence bucket: key layout and write-once objects.

Time-series objects are keyed ``<inverted-millis>-<UTC timestamp>`` so that S3's
ascending listing returns the newest first: finding the latest object is one
``ListObjectsV2`` call with ``MaxKeys=1`` however long the history.
Nothing is ever overwritten (conditional puts) or deleted.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from . import aws, log

if TYPE_CHECKING:
    from .csvio import CsvDocument

DEFAULT_PREFIX = "security-groups/"
READ_ATTEMPTS = 3  # reads of one object's body before the error is raised
_INVERT = 10**13
_STAMP = re.compile(r"(\d{13})-(\d{8}T\d{6}\d{3}Z)")


def normalise_prefix(prefix: str | None, default: str = DEFAULT_PREFIX) -> str:
    prefix = default if prefix is None else prefix
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def stamp(now: datetime) -> str:
    """Sortable newest-first key stem for ``now`` (UTC, millisecond precision)."""
    now = now.astimezone(UTC)
    millis = int(now.timestamp() * 1000)
    return f"{_INVERT - millis:013d}-{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z"


def key_stem(key: str) -> str:
    """The stem of a series object's key (``.../snapshots/<stamp>.csv`` -> ``<stamp>``): the objects
    one run writes in several series share it."""
    return key.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def stamp_time(key: str) -> datetime | None:
    """The UTC time encoded in a key made with :func:`stamp`."""
    found = _STAMP.search(key)
    if not found:
        return None
    return datetime.fromtimestamp((_INVERT - int(found.group(1))) / 1000, tz=UTC)


# Every kind of key SG Watch writes under ``{prefix}{account}/{region}/``; the Terraform
# modules grant each function s3:PutObject on its own kinds only (tests check the names agree).
SNAPSHOTS = "snapshots"  # sg_inventory: one CSV of every rule per run
DIFFS = "diffs"  # sg_inventory: what changed since the previous snapshot
CLAIMS = "claims"  # sg_inventory: which run extends which snapshot (linear chain)
EXPOSURE = "exposure"  # sg_inventory: internet-reachable interfaces per public rule
SNAPSHOT_GROUPS = "snapshot-groups"  # sg_inventory: where each group's rows are in the snapshot of the same stamp
RULE_REVIEW = "rule-review"  # sg_inventory: each rule's justification findings, for the snapshot of the same stamp
RULE_REVIEW_STATE = "rule-review-state"  # sg_inventory: what the next run's rule review reuses of that report
EXPIRY_NOTICES = "expiry-notices"  # sg_inventory: which lapsed justifications the expiry digest announced
DRIFT = "drift"  # sg_inventory: live rules against the infrastructure code declaring them, same stamp
EVENTS = "events"  # change alerts: one record per CloudTrail event (also the idempotency marker)
GROUP_STATE = "group-state"  # change alerts: a group's rules after an event (the next "before")
GROUP_NAMES = "group-names"  # change alerts: group name -> id, for events that name a group only
UNUSED = "unused"  # unused-group audit reports
REACHABILITY = "reachability"  # reachability guard results, per path
REMEDIATION = "remediation"  # remediation: each decision and its outcome, once per alert and action
KINDS = (SNAPSHOTS, DIFFS, CLAIMS, EXPOSURE, SNAPSHOT_GROUPS, RULE_REVIEW, RULE_REVIEW_STATE, EXPIRY_NOTICES, DRIFT,
         EVENTS, GROUP_STATE, GROUP_NAMES, UNUSED, REACHABILITY, REMEDIATION)
REVIEWS = "reviews/"  # review packs, at the top of the prefix: {prefix}reviews/<period>/
REVIEW_RUNS = "runs/"  # fanned-out pack runs: {prefix}reviews/runs/<period>-<stamp>/
IAC_DECLARED = "iac-declared/"  # sg_inventory with fan_out: the rules the states declare, {prefix}iac-declared/<stamp>


@dataclass(frozen=True)
class Layout:
    """Where every evidence object lives: the one owner of key shapes.

    ``{prefix}{account}/{region}/{kind}/...`` for per-account series and
    ``{prefix}reviews/<pack>/`` for review packs.
    """

    prefix: str

    def series(self, account_id: str, region: str, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown evidence kind {kind!r}")
        return f"{self.prefix}{account_id}/{region}/{kind}/"

    def reviews(self) -> str:
        return f"{self.prefix}{REVIEWS}"

    def review_pack(self, name: str) -> str:
        return f"{self.prefix}{REVIEWS}{name.strip('/')}/"

    def iac_declared(self) -> str:
        """Where a fanned-out inventory run leaves the rules its states declare, for its queued pairs."""
        return f"{self.prefix}{IAC_DECLARED}"

    def review_runs(self) -> str:
        return f"{self.prefix}{REVIEWS}{REVIEW_RUNS}"

    def review_run(self, name: str) -> str:
        """The working folder of one fanned-out pack run: its run record, partials and merge claim."""
        return f"{self.review_runs()}{name.strip('/')}/"


def series_prefix(prefix: str, account_id: str, region: str, kind: str) -> str:
    """``{prefix}{account}/{region}/{kind}/``: :meth:`Layout.series` for callers holding a prefix."""
    return Layout(prefix).series(account_id, region, kind)


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    metadata: dict[str, str]


class EvidenceStore:
    """Write-once access to one bucket."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        """The client given, else the function's own (a quick one inside an :func:`sgwatch.aws.quick` block)."""
        return self._s3 if self._s3 is not None else aws.central_client("s3")

    def _conditional_put_args(self) -> dict[str, str]:
        """``IfNoneMatch`` as a parameter, or as a header where the runtime's botocore predates it."""
        members = self.s3.meta.service_model.operation_model("PutObject").input_shape.members
        if "IfNoneMatch" in members:
            return {"IfNoneMatch": "*"}
        if not getattr(self.s3.meta, "_sgwatch_if_none_match", False):
            self.s3.meta.events.register(
                "before-sign.s3.PutObject", lambda request, **_: request.headers.__setitem__("If-None-Match", "*")
            )
            self.s3.meta._sgwatch_if_none_match = True
        return {}

    def put_new(
        self,
        key: str,
        body: bytes | IO[bytes],
        content_type: str = "text/csv",
        metadata: dict[str, str] | None = None,
    ) -> bool:
        """Create ``key`` (``body`` bytes, or a seekable file read from where it stands); return False, writing
        nothing, when it already exists."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=metadata or {},
                # Object Lock buckets require a checksum; older botocore does not add one by itself.
                ChecksumAlgorithm="SHA256",
                **self._conditional_put_args(),
            )
        except ClientError as exc:
            if aws.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def latest_key(self, series: str) -> str | None:
        """Newest object of a series written with :func:`stamp` keys: one request."""
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=series, MaxKeys=1)
        contents = page.get("Contents") or []
        return contents[0]["Key"] if contents else None

    def get(self, key: str) -> StoredObject:
        """The object, read whole. A connection that breaks while the body streams is read
        again (botocore retries the request, not the body); an error that persists is raised."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            found = self.s3.get_object(Bucket=self.bucket, Key=key)
            try:
                body = found["Body"].read()
            except (BotoCoreError, HTTPError, OSError) as exc:
                if attempt == READ_ATTEMPTS:
                    raise
                log.warning("evidence_read_retried", key=key, attempt=attempt, error=str(exc))
                time.sleep(0.2 * attempt)  # a broken connection, not throttling: brief
                continue
            return StoredObject(key, body, dict(found.get("Metadata") or {}))
        raise AssertionError("unreachable")

    def get_range(self, key: str, offset: int, length: int) -> StoredObject:
        """``length`` bytes of the object from ``offset`` (one ranged GET), with its metadata."""
        found = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}")
        body = found["Body"].read()
        if len(body) != length:
            raise ValueError(f"{key}: {len(body)} bytes at {offset}, {length} expected")
        return StoredObject(key, body, dict(found.get("Metadata") or {}))

    def keys(self, prefix: str) -> list[str]:
        return list(self.iter_keys(prefix))

    def iter_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """The keys under ``prefix`` in S3's (ascending) order, after ``start_after``: a page is
        requested only when the caller reads on, so a caller that stops early lists no further."""
        paginator = self.s3.get_paginator("list_objects_v2")
        extra = {"StartAfter": start_after} if start_after else {}
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **extra):
            for found in page.get("Contents") or ():
                yield found["Key"]

    def folders(self, prefix: str) -> list[str]:
        """The "folders" right under ``prefix`` (``{prefix}<name>/``), from a delimited listing."""
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes") or ()]

    def recorded_sha256(self, key: str) -> tuple[str, int] | None:
        """The object's SHA-256 (hex) and size, when S3 proves it is the one recorded at write time
        (``sha256`` metadata) without a download: the SHA-256 checksum S3 keeps of a whole-object
        upload equals it. None when S3 cannot prove it (no checksum, a multipart one, a difference):
        the caller downloads the object and sees for itself."""
        found = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        recorded = (found.get("Metadata") or {}).get("sha256", "")
        checksum = found.get("ChecksumSHA256") or ""
        if not recorded or not checksum or "-" in checksum:
            return None
        try:
            held = base64.b64decode(checksum, validate=True).hex()
        except ValueError:
            return None
        return (held, int(found["ContentLength"])) if held == recorded else None


def put_beside_snapshot(
    store: EvidenceStore, prefix: str, account_id: str, region: str, kind: str, snapshot_key: str,
    doc: CsvDocument, what: str,
) -> str:
    """Write a report of ``kind`` for the snapshot ``snapshot_key`` (the same stamp) write-once, with its row
    count, digest and snapshot recorded; an existing one is an error (``what`` names it). Its key."""
    key = series_prefix(prefix, account_id, region, kind) + key_stem(snapshot_key) + ".csv"
    metadata = {"rows": str(doc.rows), "sha256": doc.sha256, "snapshot": snapshot_key}
    if not store.put_new(key, doc.body, metadata=metadata):
        raise RuntimeError(f"{what} {key} already exists; refusing to overwrite evidence")
    return key
