"""Many accounts and regions: assumed-role sessions, organisation listing, failures kept apart."""

from __future__ import annotations

from datetime import UTC

import boto3
import pytest

from sgwatch import accounts, aws
from tests.unit.conftest import EVIDENCE_BUCKET as BUCKET

OWN, MEMBER = "123456789012", "222222222222"


@pytest.fixture
def env(evidence_account, monkeypatch):
    return monkeypatch


def member_session(account=MEMBER):
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{accounts.DEFAULT_MEMBER_ROLE}", RoleSessionName="test")["Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"])


def make_group(sess, name):
    ec2 = sess.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]


def test_default_is_the_own_account_only(env):
    assert accounts.account_ids(OWN, {}) == [OWN]


def test_listed_accounts_minus_exclusions(env):
    env = {"ACCOUNTS": f"{MEMBER}, 333333333333,{OWN}", "EXCLUDED_ACCOUNTS": "333333333333"}
    chosen = accounts.account_ids(OWN, env)
    assert chosen == [OWN, MEMBER]


def test_bad_account_id_is_a_clear_error(env):
    with pytest.raises(ValueError, match="not an AWS account id"):
        accounts.account_ids(OWN, {"ACCOUNTS": "12345"})


def test_organisation_accounts_are_listed_to_the_end(env):
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = []
    for i in range(25):  # more than one page
        status = org.create_account(AccountName=f"a{i}", Email=f"a{i}@example.com")["CreateAccountStatus"]
        created.append(status["AccountId"])
    listed = accounts.account_ids(OWN, {"ACCOUNTS_FROM_ORGANIZATIONS": "true", "EXCLUDED_ACCOUNTS": created[0]})
    assert set(created[1:]) <= set(listed) and created[0] not in listed


def test_inventory_reads_each_account_through_its_role_and_writes_centrally(env):
    from sg_inventory import handler

    own_group = make_group(boto3.session.Session(), "own")
    member_group = make_group(member_session(), "member")
    env.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    result = handler.lambda_handler({}, None)
    by_account = {r["account_id"]: r for r in result["results"]}
    assert set(by_account) == {OWN, MEMBER}
    s3 = boto3.client("s3")
    member_body = s3.get_object(Bucket=BUCKET, Key=by_account[MEMBER]["snapshot_key"])["Body"].read().decode()
    own_body = s3.get_object(Bucket=BUCKET, Key=by_account[OWN]["snapshot_key"])["Body"].read().decode()
    assert by_account[MEMBER]["snapshot_key"].startswith(f"security-groups/{MEMBER}/us-east-1/snapshots/")
    assert member_group in member_body and own_group not in member_body
    assert own_group in own_body and member_group not in own_body


def test_one_broken_account_does_not_stop_the_others(env):
    from sg_inventory import handler

    real = accounts.MemberCredentials.for_account

    def flaky(self, account_id):
        if account_id == "333333333333":
            raise RuntimeError("AccessDenied: not authorized to perform sts:AssumeRole")
        return real(self, account_id)

    env.setattr(accounts.MemberCredentials, "for_account", flaky)
    env.setenv("ACCOUNTS", f"{OWN},{MEMBER},333333333333")
    env.setenv("REGIONS", "us-east-1,eu-west-1")
    with pytest.raises(handler.InventoryFailed) as raised:
        handler.lambda_handler({}, None)
    message = str(raised.value)
    assert "333333333333/us-east-1" in message and "333333333333/eu-west-1" in message
    assert "2 of 6" in message
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert {k.split("/")[1] for k in keys} == {OWN, MEMBER}
    assert {k.split("/")[2] for k in keys} == {"us-east-1", "eu-west-1"}


def test_role_is_assumed_once_per_account_whatever_the_regions(env):
    calls = []
    sts = aws.central_client("sts")
    sts.meta.events.register("before-call.sts.AssumeRole", lambda **kw: calls.append(1))
    env.setenv("ACCOUNTS", f"{OWN},{MEMBER}")
    env.setenv("REGIONS", "us-east-1,eu-west-1,eu-central-1,ap-southeast-2")
    outcome = accounts.run_everywhere(
        lambda a, r: {"account_id": aws.client("sts").get_caller_identity()["Account"], "region": r}
    )
    assert not outcome.failures and len(outcome.results) == 8
    # The work ran in the account it was given.
    assert sorted({r["account_id"] for r in outcome.results}) == [OWN, MEMBER]
    assert len(calls) == 1


def test_member_credentials_are_renewed_before_any_client_could_outlive_them(env, monkeypatch):
    from datetime import datetime, timedelta

    now = [datetime(2026, 11, 1, 6, tzinfo=UTC)]
    calls: list[str] = []

    def assume(account_id, role_arn, session_name):
        calls.append(account_id)
        return aws.Credentials(account_id, role_arn, "AKIA", "secret", "token", now[0] + timedelta(hours=1))

    monkeypatch.setattr(accounts, "assume_role", assume)
    credentials = accounts.MemberCredentials(OWN, "sgwatch-member-read", clock=lambda: now[0])
    assert credentials.for_account(OWN) is None  # the own account needs no role
    first = credentials.for_account(MEMBER)
    now[0] += timedelta(minutes=44)  # 16 minutes left: longer than any run
    assert credentials.for_account(MEMBER) is first
    now[0] += timedelta(minutes=2)  # 14 minutes left: a 15-minute run could outlive them
    assert credentials.for_account(MEMBER) is not first
    assert calls == [MEMBER, MEMBER]
