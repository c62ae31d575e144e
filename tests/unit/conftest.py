"""Unit tests: pure logic and in-process moto. Never reaches any network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.moto_launcher import answer_describe_stale_security_groups

answer_describe_stale_security_groups()

EVIDENCE_BUCKET = "evidence"
# What the capability modules may set for member accounts and the fan-out (modules/lambda-function).
ACCOUNT_SETTINGS = ("ACCOUNTS", "ACCOUNTS_FROM_ORGANIZATIONS", "EXCLUDED_ACCOUNTS", "REGIONS", "MEMBER_ROLE_NAME",
                    "MAX_WORKERS", "WORK_QUEUE_URL")
# What the handlers read beside the evidence bucket and have a default for: a test sets the ones it means.
OPTIONAL_SETTINGS = ("EVIDENCE_PREFIX", "ALERT_TOPIC_ARN", "GRACE_DAYS", "EXEMPT_TAG_KEY", "ALLOW_PARTIAL",
                     "SECURITYHUB_SYNC", "SECURITYHUB_CONTROL_IDS")


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # Each test is a new Lambda process: a new default session, whose credentials and region
    # are the ones set above. Within a test nothing is reset between invocations.
    import boto3

    boto3.DEFAULT_SESSION = None


@pytest.fixture
def evidence_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The own account (moto, in process) with an empty evidence bucket, EVIDENCE_BUCKET naming it, and no
    other setting: one account, one region, every default, unless a test says otherwise. Yields the bucket name."""
    import boto3

    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=EVIDENCE_BUCKET)
        for name in (*ACCOUNT_SETTINGS, *OPTIONAL_SETTINGS):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("EVIDENCE_BUCKET", EVIDENCE_BUCKET)
        yield EVIDENCE_BUCKET
