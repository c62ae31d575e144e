"""The calls whose failure a run may survive without saying so: each with the degradation it causes.

Every other AWS or Slack call a function makes either succeeds, or its failure fails the invocation
(Lambda's retry, the dead-letter queue or the error alarm take over), or the run says what it could
not do where a person or the next run sees it (a batch item failure, an evidence gap, "not looked up"
in an alert, a failed part in the run's result). The fault matrix (tests/faults) injects a failure at
every call of every function and holds each outcome to this: a quiet success is a test failure unless
the call is declared here, and then the matrix checks that the declared degradation is what happened.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Optional:
    """A call of ``function`` that may fail quietly: ``degradation`` (a key of :data:`DEGRADATIONS`) is what is lost."""

    function: str
    service: str  # botocore service name, or "slack" for a Slack Web API method
    operation: str  # the API operation or Slack method
    degradation: str


# What each degradation means; the fault matrix checks that the one a call declares is what happened.
DEGRADATIONS = {
    "no_slack_copy": "the alert is published to SNS; its Slack copy is not posted (logged as slack_failed)",
    "evidence_after_publish": "the alert is published; a record written after it is not (logged as "
                              "event_record_failed or group_state_failed): without the event record a redelivery "
                              "of the same event alerts again (a duplicate, never a lost alert); without the group's "
                              "state the next event on the group takes its before-state from the latest inventory "
                              "snapshot",
    "path_described_by_id": "the reachability alert names the path by its id, without its Name tag, source and "
                            "destination (logged as paths_not_described); every path is analysed as usual",
}

# Each step after the change notifier's SNS publish is best effort: the alert is already out.
OPTIONAL: tuple[Optional, ...] = (
    Optional("sg_change_alerts", "secretsmanager", "GetSecretValue", "no_slack_copy"),
    Optional("sg_change_alerts", "slack", "chat.postMessage", "no_slack_copy"),
    Optional("sg_change_alerts", "s3", "PutObject", "evidence_after_publish"),
    Optional("sg_change_alerts", "ec2", "DescribeSecurityGroupRules", "evidence_after_publish"),
    # The path's description only names it in the alert; the analysis needs its id alone.
    Optional("reachability_check", "ec2", "DescribeNetworkInsightsPaths", "path_described_by_id"),
)


def optional(function: str, service: str, operation: str) -> Optional | None:
    """The declaration of a call of ``function`` whose failure is allowed to be quiet, else None."""
    for entry in OPTIONAL:
        if (entry.function, entry.service, entry.operation) == (function, service, operation):
            return entry
    return None
