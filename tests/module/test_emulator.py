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


def _create_schedule(name: str, token: str) -> str:
    return str(client("scheduler").create_schedule(
        Name=name, ClientToken=token, ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler"})["ScheduleArn"])


def test_a_retried_create_schedule_returns_the_schedule_it_created(emulator):
    # Given a schedule created with a client token (the SDKs send one, the same on every retry of a call)
    name = f"retried-{uuid.uuid4().hex[:12]}"
    token = uuid.uuid4().hex
    arn = _create_schedule(name, token)
    # When the call is sent again with that token, as a client that missed the answer retries it,
    # then EventBridge Scheduler answers it as the same request, as AWS does
    assert _create_schedule(name, token) == arn
    assert client("scheduler").get_schedule(Name=name)["Arn"] == arn


def test_another_create_of_an_existing_schedule_still_conflicts(emulator):
    # Given a schedule created with one client token
    name = f"taken-{uuid.uuid4().hex[:12]}"
    _create_schedule(name, uuid.uuid4().hex)
    # When another request (another token) creates the same name, then it is refused as in AWS
    with pytest.raises(ClientError) as raised:
        _create_schedule(name, uuid.uuid4().hex)
    assert raised.value.response["Error"]["Code"] == "ConflictException"
