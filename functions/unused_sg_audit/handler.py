"""Weekly audit of truly unused security groups, with the reason every other group is in use.

Read-only: the function never deletes or changes a security group. Each region gets a
JSON and a CSV report under ``{prefix}{account}/{region}/unused/``; an SNS summary goes
out only when groups became unused since the previous report. A source the role may not
read (or that the region lacks) is reported as "not scanned" and, unless ALLOW_PARTIAL
is set, no group is declared unused on that incomplete evidence. The sources, their calls
and the IAM actions they need are declared once, in :mod:`sgwatch.unused_sg_audit.sources`; the audit of
one region is :mod:`sgwatch.unused_sg_audit.audit`.

Group creation time (for GRACE_DAYS): DescribeSecurityGroups has none. It comes from a
``sgwatch:created-at``/``CreatedAt``-style tag (ISO 8601) or from the CloudTrail event
history (``LookupEvents`` for CreateSecurityGroup over the grace window: a group not found
there is older than the window); otherwise it is unknown and the grace period cannot apply.

Covers every account and region of the run (see :mod:`sgwatch.accounts`), in this run or,
with WORK_QUEUE_URL set, spread over queued runs of one pair each (see :mod:`sgwatch.fanout`).
"""

from __future__ import annotations

from typing import Any

from sgwatch import aws, fanout, log, settings
from sgwatch.evidence import EvidenceStore
from sgwatch.unused_sg_audit.audit import Settings, audit_region


class AuditFailed(RuntimeError):
    """Some regions could not be audited; the others were written."""


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = settings.environment()
    config = Settings.from_env(env)
    store = EvidenceStore(config.evidence.bucket, aws.central_client("s3"))

    def work(account_id: str, region: str) -> dict[str, Any]:
        return audit_region(store, config, account_id, region)

    return fanout.run(event, work, env, AuditFailed, "unused-group audit")
