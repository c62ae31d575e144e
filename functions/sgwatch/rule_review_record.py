"""The rule review's reads and its report (see :mod:`sgwatch.rule_review`): the stale references of each
VPC (DescribeStaleSecurityGroups), the prefix lists that exist, the register (read once per run) and the
write-once report
``{prefix}{account}/{region}/rule-review/<stamp>.csv`` with the stamp of the snapshot it reviews, and beside it
the state the next run's review reuses (``rule-review-state/<stamp>.json``)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws, exposure, log, settings
from .csvio import CsvFormatError, to_csv
from .evidence import (
    RULE_REVIEW,
    RULE_REVIEW_STATE,
    EvidenceStore,
    key_stem,
    put_beside_snapshot,
    series_prefix,
    stamp_time,
)
from .justification import Entry, Sources, TagKeys, parse_register
from .rule_review import DEFAULT_WARNING_DAYS, Region
from .rule_review_state import Previous, Snapshot, parse_state, review_incrementally
from .rules import SNAPSHOT_HEADER, Row
from .settings import Environment
from .snapshots import group_spans

# MaxResults 5-255: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeStaleSecurityGroups.html
STALE_PAGE_SIZE = 255
# What the review calls in the account it looks at (modules/read-permissions grants it); the prefix lists are
# read with the exposure's DescribeManagedPrefixLists.
IAM_ACTIONS = ("ec2:DescribeStaleSecurityGroups",)


@dataclass(frozen=True)
class Register:
    """Where the register is (an S3 object the function reads with its own role)."""

    bucket: str
    key: str


@dataclass(frozen=True)
class Settings:
    """``RULE_REVIEW_TAG_KEYS`` (a JSON object: justification, owner, ticket, expires),
    ``RULE_REVIEW_REGISTER_BUCKET`` / ``RULE_REVIEW_REGISTER_KEY``, ``JUSTIFICATION_WARNING_DAYS``
    and ``PRIVATE_PEERS_JUSTIFIED``."""

    keys: TagKeys = TagKeys()
    register: Register | None = None
    warning_days: int = DEFAULT_WARNING_DAYS
    private_peers_justified: bool = False

    @classmethod
    def from_env(cls, env: Environment) -> Settings:
        given = settings.json_object(env, "RULE_REVIEW_TAG_KEYS", "tag keys")
        names = TagKeys.__dataclass_fields__
        unknown = sorted(set(given) - set(names))
        if unknown or not all(isinstance(v, str) and v.strip() for v in given.values()):
            raise settings.SettingsError(f"RULE_REVIEW_TAG_KEYS must map {', '.join(names)} to non-empty keys")
        bucket, key = settings.text(env, "RULE_REVIEW_REGISTER_BUCKET"), settings.text(env, "RULE_REVIEW_REGISTER_KEY")
        if bool(bucket) != bool(key):
            raise settings.SettingsError("RULE_REVIEW_REGISTER_BUCKET and RULE_REVIEW_REGISTER_KEY are set together")
        return cls(
            keys=TagKeys(**{k: v.strip() for k, v in given.items()}),
            register=Register(bucket, key) if bucket else None,
            warning_days=settings.integer(env, "JUSTIFICATION_WARNING_DAYS", DEFAULT_WARNING_DAYS, minimum=0),
            private_peers_justified=settings.flag(env, "PRIVATE_PEERS_JUSTIFIED"),
        )


class RegisterOnce:
    """The register's entries, read at most once per run by whichever of the run's pairs (threads) needs it
    first (a failed read fails every pair with the same error: never an empty register in its place)."""

    def __init__(self, where: Register | None, s3: Callable[[], Any]) -> None:
        self.where = where
        self._s3 = s3
        self._lock = threading.Lock()
        self._entries: list[Entry] | None = None
        self._error: Exception | None = None

    def entries(self) -> list[Entry]:
        if self.where is None:
            return []
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._entries is None:
                try:
                    found = self._s3().get_object(Bucket=self.where.bucket, Key=self.where.key)
                    self._entries = parse_register(found["Body"].read())
                except Exception as exc:
                    self._error = exc
                    raise
                log.info("register_read", bucket=self.where.bucket, key=self.where.key, entries=len(self._entries),
                         version_id=found.get("VersionId") or "")
            return self._entries


def stale_references(ec2: Any, vpc_ids: Iterable[str]) -> dict[tuple[str, str, str], str]:
    """The stale references of each VPC, by (group id, direction, referenced group id): one
    DescribeStaleSecurityGroups (paged) per VPC."""
    paginator = ec2.get_paginator("describe_stale_security_groups")
    found: dict[tuple[str, str, str], str] = {}
    for vpc_id in vpc_ids:
        for page in paginator.paginate(VpcId=vpc_id, PaginationConfig={"PageSize": STALE_PAGE_SIZE}):
            for group in page.get("StaleSecurityGroupSet") or ():
                for direction, name in (("ingress", "StaleIpPermissions"), ("egress", "StaleIpPermissionsEgress")):
                    for permission in group.get(name) or ():
                        for pair in permission.get("UserIdGroupPairs") or ():
                            referenced = pair.get("GroupId") or pair.get("GroupName") or ""
                            found[(group.get("GroupId") or "", direction, referenced)] = _stale_detail(pair)
    return found


def _stale_detail(pair: Mapping[str, Any]) -> str:
    referenced = pair.get("GroupId") or pair.get("GroupName") or "a group"
    owner = f" of {pair['UserId']}" if pair.get("UserId") else ""
    peering = pair.get("VpcPeeringConnectionId")
    if peering:
        return f"references {referenced}{owner} across peering {peering} ({pair.get('PeeringStatus') or 'gone'})"
    return f"references {referenced}{owner}, which no longer exists"


def region_facts(ec2: Any, fetch: exposure.Fetch, rows: Sequence[Sequence[str]]) -> Region:
    """What the region adds to the snapshot: stale references of the VPCs whose rules reference a group,
    and the prefix lists visible to the account (read only when a rule names one)."""
    vpcs = sorted({r[2] for r in rows if r[11] == "security-group" and r[2]})
    named = any(r[11] == "prefix-list" for r in rows)
    prefix_lists = frozenset(i.get("PrefixListId") or "" for i in fetch(exposure.PREFIX_LISTS, [])) if named else None
    return Region(stale=stale_references(ec2, vpcs) if vpcs else {}, prefix_lists=prefix_lists)


@dataclass(frozen=True)
class ReviewResult:
    key: str
    rows: int  # 0: nothing found (the report holds the header only)
    found: Sequence[Sequence[str]] = ()  # the report's expired and expiring rows (REVIEW_HEADER)
    reviewed: int = 0  # groups reviewed; the others' lines are the previous report's
    groups: int = 0
    unreadable: str = ""  # the previous state or report could not be read: every group was reviewed


def state_key(prefix: str, account_id: str, region: str, snapshot_key: str) -> str:
    """``{prefix}{account}/{region}/rule-review-state/<stamp>.json``: the state of the review of ``snapshot_key``."""
    return series_prefix(prefix, account_id, region, RULE_REVIEW_STATE) + key_stem(snapshot_key) + ".json"


def read_previous(store: EvidenceStore, prefix: str, account_id: str, region: str,
                  previous_key: str | None) -> tuple[Previous | None, str]:
    """The review state and report of the snapshot ``previous_key``; None (and why, when it is an error a person
    should see) when there are none to reuse: the review is then a full one, never a failed one."""
    if not previous_key:
        return None, ""
    where = state_key(prefix, account_id, region, previous_key)
    try:
        stored = store.get(where)
        if hashlib.sha256(stored.body).hexdigest() != stored.metadata.get("sha256"):
            raise CsvFormatError("state digest differs from the one recorded at write time (truncated or altered)")
        state = parse_state(stored.body)
        report = store.get(series_prefix(prefix, account_id, region, RULE_REVIEW) + key_stem(previous_key) + ".csv")
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404"):
            return None, ""  # the previous run wrote no review (or none with a state)
        why = f"{aws.error_code(exc)}: {exc}"
    except (BotoCoreError, OSError, CsvFormatError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    else:
        return Previous(report.body, state), ""
    log.error("rule_review_state_unreadable", key=where, error=why, action="every group reviewed")
    return None, f"previous rule review state unreadable ({why[:300]}): every group reviewed"


def record_review(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    snapshot_key: str,
    rows: Sequence[Row],
    sources: Sources,
    facts: Region,
    warning_days: int = DEFAULT_WARNING_DAYS,
    snapshot: Snapshot | None = None,
    previous_key: str | None = None,
) -> ReviewResult:
    """Write the rule review of the snapshot ``snapshot_key`` (its stamp; expiry measured on its UTC date) and its
    state, reusing the review of ``previous_key`` (see :mod:`sgwatch.rule_review_state`). ``snapshot``: the
    snapshot's body and group index (made from ``rows`` when not given)."""
    taken = stamp_time(snapshot_key) or datetime.now(UTC)
    if snapshot is None:
        doc = to_csv(SNAPSHOT_HEADER, rows)
        snapshot = Snapshot(rows, doc.body, group_spans(doc, doc.data_lines()))
    previous, unreadable = read_previous(store, prefix, account_id, region, previous_key)
    done = review_incrementally(snapshot, sources, facts, taken.date(), warning_days, previous, unreadable)
    key = put_beside_snapshot(store, prefix, account_id, region, RULE_REVIEW, snapshot_key, done.doc, "rule review")
    log.info("rule_review_reused", account_id=account_id, region=region, reviewed=done.reviewed, groups=done.groups,
             full_because=done.why_full)
    if done.damaged:
        log.error("rule_review_state_unreadable", key=state_key(prefix, account_id, region, previous_key or ""),
                  error=done.why_full, action="every group reviewed")
        unreadable = f"previous rule review {done.why_full}: every group reviewed"
    if done.state:  # a write that fails fails the pair (after its report): retried, never a quiet full review next
        where = state_key(prefix, account_id, region, snapshot_key)
        metadata = {"sha256": hashlib.sha256(done.state).hexdigest(), "report-sha256": done.doc.sha256}
        try:
            written = store.put_new(where, done.state, "application/json", metadata)
        except Exception as exc:
            why = f"{aws.error_code(exc) or type(exc).__name__}: {str(exc)[:300]}"
            raise RuntimeError(f"rule review {key} written, its state {where} not ({why})") from exc
        if not written:
            raise RuntimeError(f"rule review state {where} already exists; refusing to overwrite evidence")
    return ReviewResult(key, done.doc.rows, done.lapsed, done.reviewed, done.groups, unreadable)
