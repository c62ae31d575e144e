"""The emulator launcher evaluates TLS conditions like AWS, without weakening any policy."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.module.harness import client


def _bucket_with_policy(condition_value: str) -> str:
    s3 = client("s3")
    name = f"tls-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyByTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": condition_value}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def test_tls_only_policy_lets_tls_requests_through(emulator):
    # Given the usual TLS-only policy (deny when SecureTransport is false)
    bucket = _bucket_with_policy("false")
    # When a request arrives (AWS endpoints are TLS-only)
    client("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    # Then it is allowed
    assert client("s3").get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_deny_if_secure_statement_still_denies(emulator):
    # Given a statement that denies TLS requests
    bucket = _bucket_with_policy("true")
    # When a request arrives, then the emulator denies it as AWS would
    with pytest.raises(ClientError) as raised:
        client("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
