"""The pack's records: the review-record template, the manifest, and sign-off records.

A sign-off is written by :func:`signoff_record` and read back by the next pack through the
same :class:`SignOff` type; it binds the decision to the pack by the SHA-256 of its manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..csvio import Sink

if TYPE_CHECKING:
    from .model import Review

DECISIONS = ("approved", "approved-with-exceptions", "rejected")


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class SignOff:
    """One sign-off record (``reviews/<pack>/signoffs/<stamp>.json``)."""

    pack: str
    period: Any  # the manifest's period object, copied as found
    manifest_key: str
    manifest_sha256: str
    reviewer_name: str
    reviewer_arn: Any
    reviewer_user_id: Any
    reviewer_account: Any
    date: str
    signed_at: str
    decision: str
    comments: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "pack": self.pack,
            "period": self.period,
            "manifest_key": self.manifest_key,
            "manifest_sha256": self.manifest_sha256,
            "reviewer": {
                "name": self.reviewer_name,
                "arn": self.reviewer_arn,
                "user_id": self.reviewer_user_id,
                "account": self.reviewer_account,
            },
            "date": self.date,
            "signed_at": self.signed_at,
            "decision": self.decision,
            "comments": self.comments,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignOff:
        """A stored record, leniently: a hand-edited one still lists, with what it holds."""
        found = data.get("reviewer")
        reviewer: Mapping[str, Any] = found if isinstance(found, dict) else {}
        return cls(
            pack=_text(data.get("pack")),
            period=data.get("period"),
            manifest_key=_text(data.get("manifest_key")),
            manifest_sha256=_text(data.get("manifest_sha256")),
            reviewer_name=str(reviewer.get("name") or ""),
            reviewer_arn=reviewer.get("arn"),
            reviewer_user_id=reviewer.get("user_id"),
            reviewer_account=reviewer.get("account"),
            date=str(data.get("date") or ""),
            signed_at=str(data.get("signed_at") or ""),
            decision=str(data.get("decision") or ""),
            comments=str(data.get("comments") or ""),
        )


def signoff_record(
    pack_prefix: str,
    manifest_body: bytes,
    identity: Mapping[str, Any],
    decision: str,
    comments: str,
    reviewer_name: str,
    now: datetime,
) -> dict[str, Any]:
    """The completed review record, bound to the pack by the manifest's SHA-256."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    data = json.loads(manifest_body)
    now = now.astimezone(UTC)
    return SignOff(
        pack=pack_prefix,
        period=data.get("period"),
        manifest_key=pack_prefix + "manifest.json",
        manifest_sha256=sha256(manifest_body),
        reviewer_name=reviewer_name or str(identity.get("Arn", "")).rsplit("/", 1)[-1],
        reviewer_arn=identity.get("Arn"),
        reviewer_user_id=identity.get("UserId"),
        reviewer_account=identity.get("Account"),
        date=now.date().isoformat(),
        signed_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        decision=decision,
        comments=comments,
    ).as_dict()


def signoff_command(pack_prefix: str) -> str:
    """How to sign a pack off (``make review-signoff``), for its folder."""
    return f"make review-signoff PACK={pack_prefix.rstrip('/').rsplit('/', 1)[-1]}"


def review_record_template(review: Review, pack_prefix: str) -> bytes:
    record = {
        "schema": 1,
        "period": {"from": review.period.start.isoformat(), "to": review.period.end.isoformat()},
        "pack": pack_prefix,
        "manifest_key": pack_prefix + "manifest.json",
        "reviewer": None,
        "date": None,
        "decision": None,
        "allowed_decisions": list(DECISIONS),
        "comments": "",
        "how_to_sign": (
            f"{signoff_command(pack_prefix)} DECISION=approved "
            "COMMENTS='...' (writes signoffs/<stamp>.json next to this file with your identity from STS)"
        ),
    }
    return (json.dumps(record, indent=2) + "\n").encode("utf-8")


def manifest(review: Review, pack_prefix: str, outputs: Mapping[str, bytes]) -> bytes:
    """The manifest (see :func:`write_manifest`) as one document."""
    buffer = io.BytesIO()
    write_manifest(review, pack_prefix, {name: (sha256(body), len(body)) for name, body in outputs.items()}, buffer)
    return buffer.getvalue()


def _write_list(out: Sink, entries: Iterable[dict[str, Any]]) -> None:
    """A list of objects as ``json.dumps(..., indent=2)`` writes it at the second level, one object at a time."""
    first = True
    for entry in entries:
        out.write(b"[\n" if first else b",\n")
        out.write(textwrap.indent(json.dumps(entry, indent=2), "    ").encode("utf-8"))
        first = False
    out.write(b"[]" if first else b"\n  ]")


def write_manifest(review: Review, pack_prefix: str, outputs: Mapping[str, tuple[str, int]], out: Sink) -> None:
    """SHA-256 of every evidence object read and every file produced (the manifest excepted), given as
    file name -> (SHA-256, size); written entry by entry, the bytes ``json.dumps(document, indent=2)`` writes."""
    head = {
        "schema": 1,
        "generator": "sgwatch review_pack",
        "generator_version": __version__,
        "generated_at": review.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "period": {"from": review.period.start.isoformat(), "to": review.period.end.isoformat()},
        "bucket": review.bucket,
        "pack": pack_prefix,
        "totals": review.totals(),
    }
    out.write(json.dumps(head, indent=2).removesuffix("\n}").encode("utf-8"))
    out.write(b',\n  "evidence": ')
    _write_list(out, ({"key": u.key, "kind": u.kind, "sha256": u.sha256, "size": u.size}
                      for u in review.used))
    out.write(b',\n  "outputs": ')
    _write_list(out, ({"key": pack_prefix + name, "sha256": digest, "size": size}
                      for name, (digest, size) in sorted(outputs.items())))
    out.write(b"\n}\n")
