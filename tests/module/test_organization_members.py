"""modules/organization-members applied to the emulator, and its templates deployed as plain stacks.

The fixture (tests/module/terraform/organization_members) creates an organisation in its own
management account with an OU holding one member account, applies the module there, and applies
modules/member-role and modules/event-forwarder with the same inputs in the default account (the
per-account path). The emulator accepts the SERVICE_MANAGED stack sets with automatic deployment
and the instances targeting the OU, resolves the OU to its member account and creates the stack of
each instance there; it does not report auto-deployment back, and has no CloudFormation model for
AWS::SQS::QueuePolicy and AWS::CloudWatch::Alarm (skipped; cfn-lint checks the whole templates,
``make cfn-lint``).

Each template is also created as a plain stack in an account outside the organisation. In both
places the IAM roles and the EventBridge rule are compared with what the Terraform modules deployed.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from pytest_terraform import terraform

from tests.module.harness import client, outputs
from tests.paths import ROOT

terraform("organization_members", scope="session")

FORWARDER_REGIONS = ["us-east-1", "us-west-2"]


@pytest.fixture(scope="module")
def deployed(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    # Requested by name, so the apply is destroyed at the end of the session, after the clean-up
    # below (pytest-terraform destroys a fixture the tests name as soon as its last test is done).
    state = request.getfixturevalue("organization_members")
    values = outputs(state)
    values["runner"] = state.terraform
    yield values
    # moto deletes stack set instances only by account, not by the OU targets Terraform destroys
    # them with: remove them by account, so the destroy of the stack sets finds them empty.
    cloudformation = _session(values["management_account"]).client("cloudformation")
    for name in values["stack_set_names"].values():
        instances = cloudformation.list_stack_instances(StackSetName=name)["Summaries"]
        cloudformation.delete_stack_instances(
            StackSetName=name, Accounts=sorted({i["Account"] for i in instances}),
            Regions=sorted({i["Region"] for i in instances}), RetainStacks=False,
        )


def _session(account: str) -> boto3.session.Session:
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="sgwatch-module-test"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


PLAIN_STACK_ACCOUNT = "444444444444"


@pytest.fixture(scope="module", params=["stack set instance", "plain stack"])
def member(request: pytest.FixtureRequest, deployed: dict[str, Any]) -> Iterator[tuple[str, boto3.session.Session]]:
    """(account, session) holding the footprint: the OU's member account, where the stack set
    instances created it, or an account outside the organisation with the templates as plain stacks."""
    if request.param == "stack set instance":
        yield deployed["member_account"], _session(deployed["member_account"])
        return
    session = _session(PLAIN_STACK_ACCOUNT)
    cloudformation = session.client("cloudformation")
    stacks = {"om-test-member-role": deployed["member_role_template"],
              "om-test-event-forwarder": deployed["event_forwarder_template"]}
    for name, template in stacks.items():
        cloudformation.create_stack(StackName=name, TemplateBody=template, Capabilities=["CAPABILITY_NAMED_IAM"])
        status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", (name, status)
    yield PLAIN_STACK_ACCOUNT, session
    for name in stacks:
        cloudformation.delete_stack(StackName=name)


def _document(value: Any) -> Any:
    """A policy document as IAM returns it, in canonical form: a one-element list is its element
    (IAM treats ``"a"`` and ``["a"]`` alike), lists are sorted."""
    if isinstance(value, str):
        text = unquote(value)
        # moto returns the inline policies of a role created by CloudFormation as a Python repr.
        value = json.loads(text) if text.startswith('{"') else ast.literal_eval(text)
    return _canonical(value)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = sorted((_canonical(v) for v in value), key=json.dumps)
        return items[0] if len(items) == 1 else items
    return value


def _inline_policies(iam: Any, role: str) -> list[dict[str, Any]]:
    return [_document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(policies: list[dict[str, Any]], account: str) -> dict[str, dict[str, Any]]:
    """Statement id -> its effect, actions and resources, the account id written ACCOUNT."""
    return {
        s["Sid"]: {
            "Effect": s["Effect"],
            "Action": sorted(_as_list(s["Action"])),
            "Resource": sorted(r.replace(f":{account}:", ":ACCOUNT:") for r in _as_list(s["Resource"])),
        }
        for p in policies for s in _as_list(p["Statement"])
    }


# --- the stack sets --------------------------------------------------------------------------------


def test_stack_sets_are_service_managed_and_reach_every_account_of_the_ou(deployed: dict[str, Any]) -> None:
    cloudformation = _session(deployed["management_account"]).client("cloudformation")
    expected = {"member_role": ["us-east-1"], "event_forwarder": FORWARDER_REGIONS}
    for kind, name in deployed["stack_set_names"].items():
        stack_set = cloudformation.describe_stack_set(StackSetName=name)["StackSet"]
        assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
        assert stack_set["Status"] == "ACTIVE"
        instances = cloudformation.list_stack_instances(StackSetName=name)["Summaries"]
        # The member role is global: one region per account, or the second stack would collide on its name.
        assert sorted((i["Account"], i["Region"]) for i in instances) == [
            (deployed["member_account"], region) for region in expected[kind]
        ], kind
        assert {i["Status"] for i in instances} == {"CURRENT"}


def test_stack_set_templates_are_the_deployed_templates(deployed: dict[str, Any]) -> None:
    cloudformation = _session(deployed["management_account"]).client("cloudformation")
    names = deployed["stack_set_names"]
    for kind in ("member_role", "event_forwarder"):
        body = cloudformation.describe_stack_set(StackSetName=names[kind])["StackSet"]["TemplateBody"]
        assert json.loads(body) == json.loads(deployed[f"{kind}_template"])


# --- the member role: same trust and grants as modules/member-role ------------------------------------


def test_member_role_trust_is_the_trust_of_modules_member_role(deployed: dict[str, Any], member: Any) -> None:
    _, session = member
    from_stack = session.client("iam").get_role(RoleName=deployed["member_role_name"])["Role"]
    from_module = client("iam").get_role(RoleName=deployed["member_role_name"])["Role"]
    trust = _document(from_stack["AssumeRolePolicyDocument"])
    assert trust == _document(from_module["AssumeRolePolicyDocument"])
    statement = trust["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-sgwatchtest1"}
    assert from_stack["MaxSessionDuration"] == from_module["MaxSessionDuration"]


def test_member_role_grants_exactly_what_modules_member_role_grants(deployed: dict[str, Any], member: Any) -> None:
    account, session = member
    role = deployed["member_role_name"]
    from_stack = _grants(_inline_policies(session.client("iam"), role), account)
    from_module = _grants(_inline_policies(client("iam"), role), "123456789012")
    assert from_stack == from_module
    # Each member's role names its own account, never the account that applied the stack set.
    text = json.dumps(_inline_policies(session.client("iam"), role))
    assert deployed["management_account"] not in text and f":{account}:" in text


def test_the_opt_in_remediation_role_is_the_same_both_ways_and_may_only_revert(deployed: dict[str, Any],
                                                                               member: Any) -> None:
    account, session = member
    role = deployed["remediation_role_arn"].rsplit("/", 1)[1]
    from_stack = session.client("iam").get_role(RoleName=role)["Role"]
    from_module = client("iam").get_role(RoleName=role)["Role"]
    trust = _document(from_stack["AssumeRolePolicyDocument"])
    assert trust == _document(from_module["AssumeRolePolicyDocument"])
    # trusted by the remediation function's role only
    assert trust["Statement"]["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": "arn:aws:iam::123456789012:role/om-test-remediation"}
    grants = _grants(_inline_policies(session.client("iam"), role), account)
    assert grants == _grants(_inline_policies(client("iam"), role), "123456789012")
    assert grants == {
        "ReadRulesBeforeReverting": {"Effect": "Allow", "Action": ["ec2:DescribeSecurityGroupRules"],
                                     "Resource": ["*"]},
        "RevokeOrRestoreRules": {
            "Effect": "Allow",
            "Action": ["ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupEgress",
                       "ec2:RevokeSecurityGroupIngress"],
            "Resource": ["arn:aws:ec2:*:ACCOUNT:security-group-rule/*", "arn:aws:ec2:*:ACCOUNT:security-group/*"]},
    }


# --- the forwarder: same pattern and target as modules/event-forwarder ---------------------------------


def _regions(kind: str) -> list[str]:
    """Where the footprint is: every forwarder region for the stack set, the plain stack's one region."""
    return FORWARDER_REGIONS if kind == "stack set instance" else ["us-east-1"]


@pytest.fixture(scope="module")
def kind(member: tuple[str, Any], deployed: dict[str, Any]) -> str:
    return "stack set instance" if member[0] == deployed["member_account"] else "plain stack"


def test_forwarding_rule_matches_what_modules_event_forwarder_matches(
    deployed: dict[str, Any], member: Any, kind: str
) -> None:
    _, session = member
    for region in _regions(kind):
        rule = session.client("events", region_name=region).describe_rule(Name=deployed["forwarder_rule_name"])
        pattern = json.loads(rule["EventPattern"])
        assert pattern == json.loads(deployed["forwarder_event_pattern"]), region
        assert pattern == json.loads((ROOT / "modules" / "sg-change-alerts" / "event-pattern.json").read_text())
        assert rule["State"] == "ENABLED"


def test_forwarding_rule_targets_the_central_bus_with_retries_and_a_dead_letter_queue(
    deployed: dict[str, Any], member: Any, kind: str
) -> None:
    account, session = member
    name = deployed["forwarder_rule_name"]
    reference = client("events").list_targets_by_rule(Rule=name)["Targets"]
    for region in _regions(kind):
        targets = session.client("events", region_name=region).list_targets_by_rule(Rule=name)["Targets"]
        assert [t["Id"] for t in targets] == [t["Id"] for t in reference] == ["sgwatch-central-bus"]
        assert targets[0]["Arn"] == reference[0]["Arn"] == deployed["central_event_bus_arn"]
        assert targets[0]["RetryPolicy"] == reference[0]["RetryPolicy"]
        # IAM is global: one forwarding role per region, named as modules/event-forwarder names it.
        assert targets[0]["RoleArn"] == f"arn:aws:iam::{account}:role/om-test-sg-forward-{region}"
        assert targets[0]["DeadLetterConfig"]["Arn"] == f"arn:aws:sqs:{region}:{account}:{name}-dlq"


def test_forwarding_role_may_only_put_events_on_the_central_bus(
    deployed: dict[str, Any], member: Any, kind: str
) -> None:
    account, session = member
    iam = session.client("iam")
    reference_role = deployed["forwarder_role_arn"].rsplit("/", 1)[-1]
    reference = _document(client("iam").get_role(RoleName=reference_role)["Role"]["AssumeRolePolicyDocument"])
    for region in _regions(kind):
        role = f"om-test-sg-forward-{region}"
        # Only events:PutEvents on the central bus (of the central account, as in the reference).
        assert _inline_policies(iam, role) == _inline_policies(client("iam"), reference_role)
        trust = _document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
        # The trust of modules/event-forwarder, for this account and region.
        expected = json.dumps(reference).replace("123456789012", account).replace(":us-east-1:", f":{region}:")
        assert trust == json.loads(expected)


def test_dead_letter_queue_is_encrypted(deployed: dict[str, Any], member: Any, kind: str) -> None:
    _, session = member
    for region in _regions(kind):
        sqs = session.client("sqs", region_name=region)
        url = sqs.get_queue_url(QueueName=f"{deployed['forwarder_rule_name']}-dlq")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["SqsManagedSseEnabled"] == "true"


# --- the lifecycle of the targeted OUs ---------------------------------------------------------------


def _planned(runner: Any, ous: list[str]) -> dict[str, Any]:
    """Address -> planned change of the applied fixture, planned with the stack sets targeting ``ous``."""
    # As pytest-terraform runs it: the configuration in module_dir, .terraform in work_dir.
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["terraform", *arguments], cwd=runner.module_dir, capture_output=True, text=True,
                              env={**os.environ, "TF_DATA_DIR": runner.work_dir}, timeout=600)

    plan = str(Path(runner.work_dir) / "ous.plan")
    result = run("plan", "-input=false", "-no-color", "-refresh=false", f"-state={runner.state_path}",
                 "-var", f"stack_set_ous={json.dumps(ous)}", f"-out={plan}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return {c["address"]: c["change"] for c in json.loads(run("show", "-json", plan).stdout)["resource_changes"]
            if c["change"]["actions"] != ["no-op"] and c["mode"] == "managed"}


def _other_changes(changes: dict[str, Any]) -> dict[str, list[str]]:
    """Address -> actions of every change that is not a plain create or delete (a replace, an update), but for
    in-place updates of the stack sets: the emulator reports back less of a stack set than it was given."""
    stack_sets = "module.organization_members.aws_cloudformation_stack_set.this["
    return {address: change["actions"] for address, change in changes.items()
            if change["actions"] not in (["create"], ["delete"])
            and not (address.startswith(stack_sets) and change["actions"] == ["update"])}


def _instances(changes: dict[str, Any], action: str) -> set[str]:
    prefix = "module.organization_members.aws_cloudformation_stack_set_instance.per_ou["
    return {address.removeprefix(prefix).rstrip("]").strip('"').rsplit("/", 1)[0]
            for address, change in changes.items() if address.startswith(prefix) and change["actions"] == [action]}


def test_adding_an_ou_only_creates_its_stacks(deployed: dict[str, Any]) -> None:
    # When a second OU is added to an applied deployment
    changes = _planned(deployed["runner"], ["workloads", "platform"])
    # Then the plan creates that OU's instances, one per stack set and region, and changes nothing else
    expected = {"member-role/us-east-1", "event-forwarder/us-east-1", "event-forwarder/us-west-2"}
    assert _instances(changes, "create") == expected
    assert _other_changes(changes) == {}
    assert [address for address, change in changes.items() if change["actions"] == ["delete"]] == []


def test_removing_an_ou_only_removes_its_stacks_and_keeps_them_when_asked(deployed: dict[str, Any]) -> None:
    # When the first OU is removed and the second kept
    changes = _planned(deployed["runner"], ["platform"])
    # Then only the first OU's instances are deleted, with their stacks retained
    # (retain_stacks_on_account_removal), the second OU's created, and nothing replaced or updated
    deleted = {a: c for a, c in changes.items() if c["actions"] == ["delete"]}
    assert _instances(changes, "delete") == _instances(changes, "create") == {
        "member-role/us-east-1", "event-forwarder/us-east-1", "event-forwarder/us-west-2"}
    assert all(change["before"]["retain_stack"] for change in deleted.values())
    assert _other_changes(changes) == {}
    assert all(address.startswith("module.organization_members.aws_cloudformation_stack_set_instance.per_ou[")
               for address in deleted)
