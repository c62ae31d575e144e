"""Record the sign-off of a review pack in the evidence bucket (PCI DSS 1.2.7).

    PYTHONPATH=functions python -m review_pack.signoff --bucket BUCKET \\
        --pack 2026-01-01_2026-06-30 --decision approved --comments "reviewed with the network team"

The reviewer is whoever the current AWS credentials belong to (STS GetCallerIdentity);
``--name`` adds a human-readable name. The record binds the decision to the pack by the
SHA-256 of the pack's manifest and is written once, never overwritten, to
``{prefix}reviews/<pack>/signoffs/<stamp>.json``. The next review pack lists it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from sgwatch import aws, review_pack
from sgwatch.evidence import EvidenceStore, Layout, normalise_prefix, stamp


def sign(
    store: EvidenceStore,
    prefix: str,
    pack: str,
    decision: str,
    comments: str,
    name: str = "",
    sts: Any | None = None,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """Write the sign-off record; return its key and content."""
    now = now or datetime.now(UTC)
    pack_prefix = Layout(prefix).review_pack(pack)
    try:
        manifest = store.get(pack_prefix + "manifest.json").body
    except Exception as exc:
        raise SystemExit(
            f"no complete review pack at s3://{store.bucket}/{pack_prefix} (manifest.json: {aws.error_code(exc)})"
        ) from None
    identity = (sts or aws.client("sts")).get_caller_identity()
    record = review_pack.signoff_record(pack_prefix, manifest, identity, decision, comments, name, now)
    key = f"{pack_prefix}signoffs/{stamp(now)}.json"
    body = (json.dumps(record, indent=2) + "\n").encode("utf-8")
    if not store.put_new(key, body, "application/json"):
        raise SystemExit(f"{key} already exists; run again")
    return key, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="evidence bucket (terraform output evidence_bucket_name)")
    parser.add_argument("--prefix", default=None, help="evidence prefix (default security-groups/)")
    parser.add_argument("--pack", required=True, help="pack folder under reviews/, e.g. 2026-01-01_2026-06-30")
    parser.add_argument("--decision", required=True, choices=review_pack.DECISIONS)
    parser.add_argument("--comments", default="", help="what was reviewed, exceptions, follow-ups")
    parser.add_argument("--name", default="", help="reviewer's name as it should appear in the report")
    args = parser.parse_args(argv)
    store = EvidenceStore(args.bucket)
    key, record = sign(store, normalise_prefix(args.prefix), args.pack, args.decision, args.comments, args.name)
    print(f"sign-off recorded: s3://{args.bucket}/{key}")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
