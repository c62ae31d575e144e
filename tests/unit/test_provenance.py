"""Change provenance (sgwatch/provenance.py): origin, principal, change control, IaC-managed groups.

Recorded payloads are read from ../shared/real-payloads/cloudtrail (see SOURCES.md there); those tests
skip when the folder is absent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch import provenance as pv
from sgwatch.provenance import Origin, Provenance
from tests.paths import EVENTS, real_payloads

TF_NEW = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.49.6 (go1.21.5; linux; amd64)"
)
TF_OLD = (
    "aws-sdk-go/1.29.7 (go1.13.7; darwin; amd64) APN/1.0 HashiCorp/1.0 Terraform/0.12.24 (+https://www.terraform.io)"
)
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
ROLE = "arn:aws:iam::111122223333:role/Deployer"


def record(user_agent: str = "", invoked_by: str = "", from_console: Any = None, **identity: Any) -> dict[str, Any]:
    """A CloudTrail record with the fields provenance reads."""
    ident: dict[str, Any] = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", **identity}
    if invoked_by:
        ident["invokedBy"] = invoked_by
    rec: dict[str, Any] = {"eventName": "AuthorizeSecurityGroupIngress", "userIdentity": ident, "userAgent": user_agent}
    if from_console is not None:
        rec["sessionCredentialFromConsole"] = from_console
    return rec


def assumed_role(role_arn: str = ROLE, session: str = "ci") -> dict[str, Any]:
    name = role_arn.rsplit("/", 1)[-1]
    account = role_arn.split(":")[4]
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role_arn, "userName": name}},
    }


# --- origin: every recorded payload, pinned one by one -------------------------------------------

REAL_ORIGINS = {
    # CloudFormation acting for a console session (invokedBy cloudformation, sessionCredentialFromConsole "true")
    "eb_AuthorizeSecurityGroupIngress_cfn_sgref_kuali_1.json": ("cloudformation", "cloudformation.amazonaws.com"),
    "eb_AuthorizeSecurityGroupIngress_cfn_sgref_kuali_2.json": ("cloudformation", "cloudformation.amazonaws.com"),
    # console IAM user of 2020 (invokedBy and userAgent signin.amazonaws.com)
    "eb_AuthorizeSecurityGroupIngress_console_port55_split_ipv4_ipv6_items_reflex.json": (
        "console", "signin.amazonaws.com"),
    "eb_CreateSecurityGroup_console_signin_ev105_reflex.json": ("console", "signin.amazonaws.com"),
    # Terraform 0.12 through the old provider: aws-sdk-go/... prefix, no provider product
    "raw_AuthorizeSecurityGroupEgress_terraform_all_traffic_description_ev105_panther.json": (
        "terraform", "Terraform 0.12.24"),
    "raw_CreateSecurityGroup_terraform_2020_ev105_panther.json": ("terraform", "Terraform 0.12.24"),
    # Terraform 1.x through the new provider; Stratus's correlation id in the agent does not change that
    "raw_AuthorizeSecurityGroupEgress_terraform_all_traffic_ipv4_ipv6_invictus.json": (
        "terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_AuthorizeSecurityGroupIngress_terraform_443_world_with_description_invictus.json": (
        "terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_CreateSecurityGroup_terraform_stratus_warmup_invictus.json": ("terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_DeleteSecurityGroup_terraform_by_groupId_invictus.json": ("terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_RevokeSecurityGroupEgress_FAILED_InvalidPermissionNotFound_ipv6_invictus.json": (
        "terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_RevokeSecurityGroupEgress_terraform_default_allow_all_ipv4_invictus.json": (
        "terraform", "Terraform 1.1.2, provider 3.76.1"),
    "raw_CreateSecurityGroup_terraform_instance_role_tags_spotlight.json": (
        "terraform", "Terraform 1.3.5, provider 4.50.0"),
    "raw_DeleteSecurityGroup_terraform_by_groupName_spotlight.json": ("terraform", "Terraform 1.3.5, provider 4.50.0"),
    # a custom Go script on aws-sdk-go v1
    "raw_AuthorizeSecurityGroupIngress_go_sdk_script_ssh_world_ev105_panther.json": (
        "sdk", "Go SDK, aws-sdk-go 1.24.1"),
    # Stratus Red Team's Go SDK clients, whose user agent it replaces with stratus-red-team_<uuid>
    "raw_AuthorizeSecurityGroupIngress_legacy_toplevel_cidr_stratus.json": ("sdk", "Go SDK, stratus-red-team"),
    "raw_AuthorizeSecurityGroupIngress_stratus_legacy_toplevel_22_world_invictus.json": (
        "sdk", "Go SDK, stratus-red-team"),
    "raw_RevokeSecurityGroupIngress_stratus_legacy_toplevel_22_world_invictus.json": (
        "sdk", "Go SDK, stratus-red-team"),
}

REAL_PRINCIPALS = {
    "eb_AuthorizeSecurityGroupIngress_cfn_sgref_kuali_1.json": "arn:aws:iam::770203350335:role/Shibboleth-InfraMgt",
    "eb_CreateSecurityGroup_console_signin_ev105_reflex.json": "arn:aws:iam::000000000000:user/test",
    "raw_CreateSecurityGroup_terraform_instance_role_tags_spotlight.json": "arn:aws:iam::999999999999:role/EC2Role",
    "raw_AuthorizeSecurityGroupIngress_go_sdk_script_ssh_world_ev105_panther.json": (
        "arn:aws:iam::112233445566:role/Operator"),
    "raw_DeleteSecurityGroup_terraform_by_groupId_invictus.json": "arn:aws:iam::123837392027:user/bert-jan",
}


def load_real(name: str) -> dict[str, Any]:
    path = real_payloads("cloudtrail") / name
    if not path.is_file():
        pytest.fail(f"pinned payload {name} is missing from {path.parent}")
    return json.loads(path.read_text())


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_ORIGINS.items()), ids=lambda v: str(v)[:60])
def test_each_recorded_payload_gets_the_origin_its_caller_really_was(name: str, expected: tuple[str, str]) -> None:
    # given a recorded CloudTrail payload whose caller SOURCES.md names
    event = load_real(name)
    # when its origin is read
    found = pv.origin(event)
    # then it is that caller, with the version found
    assert (found.origin, found.detail) == expected


def test_every_recorded_payload_is_pinned() -> None:
    # given the recorded payloads folder
    names = {p.name for p in real_payloads("cloudtrail").glob("*.json")}
    # then each one has its origin pinned above (a new recording needs a decision)
    assert names == set(REAL_ORIGINS)


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_PRINCIPALS.items()), ids=lambda v: str(v)[:60])
def test_recorded_payloads_name_the_role_behind_the_session_or_the_user(name: str, expected: str) -> None:
    assert pv.principal(load_real(name)) == expected


def test_eventbridge_event_and_bare_record_give_the_same_origin() -> None:
    # given the same record, bare and wrapped as EventBridge delivers it
    rec = record(TF_NEW)
    wrapped = {"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "detail": rec}
    # then both give the same origin and principal
    assert pv.origin(wrapped) == pv.origin(rec) == Origin("terraform", "Terraform 1.5.7, provider 5.31.0")
    assert pv.principal(wrapped) == pv.principal(rec)


# --- origin: synthetic callers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        pytest.param(record(TF_NEW), ("terraform", "Terraform 1.5.7, provider 5.31.0"), id="terraform-new-provider"),
        pytest.param(record(TF_OLD), ("terraform", "Terraform 0.12.24"), id="terraform-old-provider"),
        pytest.param(
            record("APN/1.0 HashiCorp/1.0 Terraform/1.6.0 (+https://www.terraform.io) terraform-provider-awscc/0.65.0 "
                   "(+https://registry.terraform.io/providers/hashicorp/awscc) aws-sdk-go-v2/1.24.0 os/linux"),
            ("terraform", "Terraform 1.6.0, provider awscc 0.65.0"), id="terraform-awscc-provider"),
        pytest.param(
            record("APN/1.0 Pulumi/1.0 Pulumi-Aws/6.18.2 (+https://www.pulumi.com) aws-sdk-go/1.49.0 (go1.21.4)"),
            ("pulumi", "Pulumi-Aws 6.18.2"), id="pulumi-aws"),
        pytest.param(
            record("aws-sdk-go-v2/1.7.1 os/macos lang/go/1.16.6 md/GOOS/darwin api/sts/1.6.0 APN/1.0 Pulumi/3.9.1 "
                   "PulumiAwsNative/0.0.2"),
            ("pulumi", "PulumiAwsNative 0.0.2"), id="pulumi-aws-native-after-the-go-sdk"),
        pytest.param(record(CHROME, from_console="true"), ("console", "web browser, Chrome 122.0.0.0"),
                     id="browser-on-console-credentials"),
        pytest.param(record(CHROME, from_console=True), ("console", "web browser, Chrome 122.0.0.0"),
                     id="browser-on-console-credentials-boolean"),
        pytest.param(record("console.ec2.amazonaws.com", "console.ec2.amazonaws.com"),
                     ("console", "console.ec2.amazonaws.com"), id="console-ec2"),
        pytest.param(record("signin.amazonaws.com", type="Root", arn="arn:aws:iam::111122223333:root"),
                     ("console", "signin.amazonaws.com"), id="console-root"),
        pytest.param(record("aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.9 "
                            "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 "
                            "command/ec2.authorize-security-group-ingress"),
                     ("cli", "aws-cli 2.17.0"), id="cli-v2"),
        pytest.param(record("aws-cli/1.16.312 Python/3.7.3 Linux/4.19.0 botocore/1.13.48"),
                     ("cli", "aws-cli 1.16.312"), id="cli-v1-not-botocore"),
        pytest.param(record("aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255 exec-env/CloudShell exe/x86_64.amzn.2",
                            from_console="true"),
                     ("cli", "aws-cli 2.13.5 (CloudShell)"), id="cli-cloudshell-on-console-credentials"),
        pytest.param(record("aws-sdk-dotnet-coreclr/3.7.300.0 AWSPowerShell.Common/4.1.500.0 .NET_Core/6.0 OS/Linux"),
                     ("cli", "AWS Tools for PowerShell 4.1.500.0"), id="powershell"),
        pytest.param(record("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.6 "
                            "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.0"),
                     ("sdk", "Python SDK, Boto3 1.34.0"), id="boto3"),
        pytest.param(record("Boto3/1.9.1 Python/3.7.0 Linux/4.14.77 Botocore/1.12.1"),
                     ("sdk", "Python SDK, Boto3 1.9.1"), id="boto3-old"),
        pytest.param(record("Botocore/1.31.0 ua/2.0 os/linux#6.5.0 lang/python#3.11.6"),
                     ("sdk", "Python SDK, Botocore 1.31.0"), id="botocore"),
        pytest.param(record("aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.14"),
                     ("sdk", "Go SDK, aws-sdk-go-v2 1.24.0"), id="go-v2"),
        pytest.param(record("aws-sdk-java/2.20.100 Linux/5.10.186 OpenJDK_64-Bit_Server_VM/17.0.7+7-LTS Java/17.0.7 "
                            "vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"),
                     ("sdk", "Java SDK, aws-sdk-java 2.20.100"), id="java"),
        pytest.param(record("aws-sdk-nodejs/2.1400.0 linux/v18.16.0 exec-env/AWS_Lambda_nodejs18.x"),
                     ("sdk", "JavaScript SDK, aws-sdk-nodejs 2.1400.0"), id="js-v2"),
        pytest.param(record("aws-sdk-js/3.400.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#18.17.0 api/ec2#3.400.0"),
                     ("sdk", "JavaScript SDK, aws-sdk-js 3.400.0"), id="js-v3"),
        pytest.param(record("aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/linux#5.10 md/aws-sdk-dotnet-core#3.7.300.0"),
                     ("sdk", ".NET SDK, aws-sdk-dotnet-coreclr 3.7.300.0"), id="dotnet"),
        pytest.param(record("aws-sdk-php/3.281.0 OS/Linux/5.10 lang/php/8.2.0 GuzzleHttp/7"),
                     ("sdk", "PHP SDK, aws-sdk-php 3.281.0"), id="php"),
        pytest.param(record("aws-sdk-ruby3/3.186.0 ua/2.0 api/ec2#1.400.0 os/linux md/x86_64 lang/ruby#3.2.2 "
                            "aws-sdk-ec2/1.400.0"),
                     ("sdk", "Ruby SDK, aws-sdk-ruby3 3.186.0"), id="ruby"),
        pytest.param(record("aws-sdk-rust/1.1.4 os/linux lang/rust/1.75.0"),
                     ("sdk", "Rust SDK, aws-sdk-rust 1.1.4"), id="rust"),
        pytest.param(record("autoscaling.amazonaws.com", "autoscaling.amazonaws.com",
                            **assumed_role("arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/"
                                           "AWSServiceRoleForAutoScaling", "AutoScaling")),
                     ("aws-service", "autoscaling.amazonaws.com"), id="autoscaling-service-linked-role"),
        pytest.param(record("", "elasticloadbalancing.amazonaws.com", type="AWSService", arn=None),
                     ("aws-service", "elasticloadbalancing.amazonaws.com"), id="aws-service-identity"),
        pytest.param(record("eks.amazonaws.com"), ("aws-service", "eks.amazonaws.com"), id="service-user-agent"),
        pytest.param(record(CHROME), ("unknown", CHROME), id="browser-without-console-credentials"),
        pytest.param(record("AWS Internal"), ("unknown", "AWS Internal"), id="aws-internal"),
        pytest.param(record(""), ("unknown", "no user agent"), id="no-user-agent"),
        pytest.param(record("my-script/1.0"), ("unknown", "my-script/1.0"), id="custom-agent"),
    ],
)
def test_origin_of_each_kind_of_caller_with_its_version(rec: dict[str, Any], expected: tuple[str, str]) -> None:
    found = pv.origin(rec)
    assert (found.origin, found.detail) == expected


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        pytest.param(record("cloudformation.amazonaws.com", "cloudformation.amazonaws.com", from_console="true"),
                     "cloudformation", id="cloudformation-before-console"),
        pytest.param(record(TF_NEW + " stratus-red-team_2142a106 Pulumi/3.0"), "terraform", id="terraform-first"),
        pytest.param(record("Pulumi/3.0 aws-cli/2.0.0"), "pulumi", id="pulumi-before-cli"),
        pytest.param(record("aws-cli/2.17.0", "signin.amazonaws.com"), "console", id="console-before-cli"),
        pytest.param(record("aws-cli/2.17.0 Boto3/1.0"), "cli", id="cli-before-sdk"),
        pytest.param(record("Boto3/1.34.0", "autoscaling.amazonaws.com"), "sdk", id="sdk-before-aws-service"),
    ],
)
def test_origin_checks_run_in_the_contract_order(rec: dict[str, Any], expected: str) -> None:
    assert pv.origin(rec).origin == expected


def test_the_pulumi_home_page_in_a_terraform_less_agent_is_not_taken_for_a_provider() -> None:
    found = pv.origin(record("APN/1.0 Pulumi/1.0 Pulumi-Aws/5.18.0 (+https://www.pulumi.com/) aws-sdk-go/1.44.12"))
    assert found == Origin("pulumi", "Pulumi-Aws 5.18.0")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AuthorizeSecurityGroupIngress_cloudformation_sgref_prefixlist.json", "cloudformation"),
        ("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json", "console"),
        ("AuthorizeSecurityGroupIngress_cli_iamuser_ipv6_range_covers_rdp.json", "cli"),
        ("AuthorizeSecurityGroupIngress_raw_legacy_toplevel_cidr_rdp.json", "cli"),
        ("AuthorizeSecurityGroupEgress_terraform_all_traffic_ipv4_ipv6.json", "terraform"),
    ],
)
def test_fixture_events_get_the_origin_their_name_gives(name: str, expected: str) -> None:
    assert pv.origin(json.loads((EVENTS / name).read_text())).origin == expected


def test_a_crafted_user_agent_gives_one_short_line_of_detail() -> None:
    # given a user agent with line breaks, controls and a very long version
    found = pv.origin(record("Boto3/1.2\nSeverity: LOW\x1b[2J " + "x" * 5000))
    # then the detail keeps only the version, on one line
    assert found == Origin("sdk", "Python SDK, Boto3 1.2")
    unknown = pv.origin(record("evil\r\nSeverity: LOW\u2028" + "y" * 5000))
    assert unknown.origin == "unknown"
    assert "\n" not in unknown.detail and "\r" not in unknown.detail and "\u2028" not in unknown.detail
    assert len(unknown.detail) <= pv.DETAIL_MAX_CHARS


# --- principal -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        pytest.param(assumed_role("arn:aws:iam::111122223333:role/pipeline/Deployer"),
                     "arn:aws:iam::111122223333:role/pipeline/Deployer", id="assumed-role-keeps-the-role-path"),
        pytest.param({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                      "sessionContext": {"sessionIssuer": {}}}, "arn:aws:iam::111122223333:user/alice", id="iam-user"),
        pytest.param({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}, "arn:aws:iam::111122223333:root",
                     id="root"),
        pytest.param({"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}, "autoscaling.amazonaws.com",
                     id="aws-service"),
        pytest.param({"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/R/s"},
                     "arn:aws:sts::111122223333:assumed-role/R/s", id="assumed-role-without-issuer"),
        pytest.param({"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"},
                     "AIDAEXAMPLE", id="aws-account"),
        pytest.param({"type": "IAMUser", "arn": "arn:aws:iam::1:user/a\nSeverity: LOW"},
                     "arn:aws:iam::1:user/a Severity: LOW", id="cleaned"),
        pytest.param(None, "", id="no-identity"),
    ],
)
def test_principal_is_the_role_behind_a_session_or_the_identity(identity: Any, expected: str) -> None:
    assert pv.principal({"eventName": "CreateSecurityGroup", "userIdentity": identity}) == expected


# --- change control --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal_arn", "patterns", "expected"),
    [
        pytest.param(ROLE, [ROLE], "approved", id="exact"),
        pytest.param(ROLE, ["arn:aws:iam::*:role/Deployer"], "approved", id="any-account"),
        pytest.param("arn:aws:iam::111122223333:role/pipeline/Deployer", ["arn:aws:iam::111122223333:role/*"],
                     "approved", id="star-spans-the-path"),
        pytest.param(ROLE, ["arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:role/Deploy*"], "approved",
                     id="any-pattern"),
        pytest.param(ROLE, ["*"], "approved", id="star-alone"),
        pytest.param("arn:aws:iam::111122223333:role/Deployer2", [ROLE], "out-of-band", id="no-prefix-match"),
        pytest.param("arn:aws:iam::111122223333:role/Deployer", ["role/Deployer"], "out-of-band", id="no-suffix-match"),
        pytest.param("arn:aws:iam::111122223333:role/deployer", [ROLE], "out-of-band", id="case-sensitive"),
        pytest.param("arn:aws:iam::111122223333:role/DeployerX", ["arn:aws:iam::111122223333:role/Deployer?"],
                     "out-of-band", id="question-mark-is-literal"),
        pytest.param("arn:aws:iam::111122223333:role/Deployer1", ["arn:aws:iam::111122223333:role/Deployer[0-9]"],
                     "out-of-band", id="bracket-is-literal"),
        pytest.param("arn:aws:iam::111122223333:role/Deployer[0-9]", ["arn:aws:iam::111122223333:role/Deployer[0-9]"],
                     "approved", id="bracket-matches-itself"),
        pytest.param("arn:aws:iam::111122223333Xrole/Deployer", ["arn:aws:iam::111122223333.role/Deployer"],
                     "out-of-band", id="dot-is-literal"),
        pytest.param("", ["arn:aws:iam::*:role/*"], "out-of-band", id="no-principal"),
        pytest.param(ROLE, [], "not-configured", id="empty-list"),
        pytest.param(ROLE, ["", "  "], "not-configured", id="blank-entries"),
        pytest.param(ROLE, [f" {ROLE} "], "approved", id="surrounding-spaces-ignored"),
    ],
)
def test_change_control_verdict(principal_arn: str, patterns: list[str], expected: str) -> None:
    assert pv.change_control(principal_arn, patterns) == expected


# --- IaC-managed groups and manual changes ---------------------------------------------------------

STACK_ID = "arn:aws:cloudformation:us-east-1:111122223333:stack/net/1b2c"


@pytest.mark.parametrize(
    ("tags", "keys", "expected"),
    [
        pytest.param({"aws:cloudformation:stack-id": STACK_ID}, pv.DEFAULT_IAC_TAG_KEYS, True, id="dict-stack-id"),
        pytest.param([{"Key": "aws:cloudformation:stack-id", "Value": STACK_ID}], pv.DEFAULT_IAC_TAG_KEYS, True,
                     id="ec2-list-stack-id"),
        pytest.param([{"key": "ManagedBy", "value": "terraform"}], ["ManagedBy"], True, id="cloudtrail-list-lowercase"),
        pytest.param({"ManagedBy": ""}, ["aws:cloudformation:stack-id", "ManagedBy"], True, id="any-value"),
        pytest.param([{"Key": "ManagedBy", "Value": "terraform"}], ["ManagedBy"], True, id="ec2-list-custom-key"),
        pytest.param({"aws:cloudformation:stack-id": STACK_ID}, ["ManagedBy"], True, id="stack-id-always-counts"),
        pytest.param({"ManagedBy": "terraform"}, pv.DEFAULT_IAC_TAG_KEYS, False, id="key-not-configured"),
        pytest.param({"managedby": "terraform"}, ["ManagedBy"], False, id="keys-are-case-sensitive"),
        pytest.param({"Name": "web"}, ["ManagedBy"], False, id="other-tags"),
        pytest.param([], ["ManagedBy"], False, id="empty-list"),
        pytest.param(None, ["ManagedBy"], False, id="no-tags"),
        pytest.param([{"Value": "x"}, "junk", None], ["ManagedBy"], False, id="malformed-list"),
    ],
)
def test_iac_managed_by_tag_key(tags: Any, keys: Any, expected: bool) -> None:
    assert pv.iac_managed(tags, keys) is expected


@pytest.mark.parametrize("origin", pv.ORIGINS)
@pytest.mark.parametrize("managed", [True, False])
def test_manual_change_is_a_console_cli_or_sdk_change_to_an_iac_managed_group(origin: str, managed: bool) -> None:
    assert pv.manual_change(origin, managed) is (managed and origin in ("console", "cli", "sdk"))


# --- the Provenance record -------------------------------------------------------------------------


def test_provenance_of_an_out_of_band_console_change_to_a_cloudformation_group() -> None:
    # given a console change by an unapproved role to a group CloudFormation manages
    rec = record(CHROME, from_console="true", **assumed_role("arn:aws:iam::111122223333:role/Admin", "bob"))
    # when its provenance is worked out with an approved deploy role
    prov = pv.provenance(rec, [ROLE], [{"Key": "aws:cloudformation:stack-id", "Value": STACK_ID}])
    # then it is out-of-band, manual, and every output says so
    assert prov == Provenance("console", "web browser, Chrome 122.0.0.0", "arn:aws:iam::111122223333:role/Admin",
                              "out-of-band", True)
    assert prov.to_record() == {
        "origin": "console",
        "origin_detail": "web browser, Chrome 122.0.0.0",
        "principal": "arn:aws:iam::111122223333:role/Admin",
        "change_control": "out-of-band",
        "manual_change": True,
    }
    assert prov.attributes() == {"origin": "console", "change_control": "out-of-band"}
    assert prov.line() == (
        "console (web browser, Chrome 122.0.0.0) by arn:aws:iam::111122223333:role/Admin; "
        "change control: out-of-band; WARNING: manual change to an IaC-managed group: "
        "the next apply will revert or fight it"
    )


def test_provenance_of_an_approved_terraform_change() -> None:
    prov = pv.provenance(record(TF_NEW, **assumed_role()), ["arn:aws:iam::*:role/Deployer"], {"ManagedBy": "tf"},
                         ["ManagedBy"])
    assert prov.attributes() == {"origin": "terraform", "change_control": "approved"}
    assert prov.manual_change is False
    assert prov.line() == f"terraform (Terraform 1.5.7, provider 5.31.0) by {ROLE}; change control: approved"


def test_provenance_without_approved_principals_is_not_configured() -> None:
    prov = pv.provenance(record("aws-cli/2.17.0"), [], {"ManagedBy": "tf"}, ["ManagedBy"])
    assert prov.change_control == "not-configured"
    assert prov.attributes() == {"origin": "cli", "change_control": "not-configured"}
    assert prov.line() == (
        "cli (aws-cli 2.17.0) by arn:aws:iam::111122223333:user/alice; change control: not configured; "
        f"WARNING: {pv.MANUAL_CHANGE_WARNING}"
    )


def test_line_of_a_crafted_principal_is_one_bounded_line() -> None:
    # given a principal and detail carrying line breaks and a fake fact line
    prov = Provenance("unknown", "x\nSeverity: LOW", "arn:aws:iam::1:user/a\r\nChange control: approved" + "z" * 3000,
                      "out-of-band", False)
    line = prov.line()
    assert "\n" not in line and "\r" not in line
    assert len(line) <= pv.LINE_MAX_CHARS
    assert line.endswith("change control: out-of-band")


def test_provenance_record_round_trips_and_older_records_have_none() -> None:
    prov = Provenance("sdk", "Go SDK, aws-sdk-go 1.24.1", ROLE, "approved", False)
    assert Provenance.from_record(prov.to_record()) == prov
    assert Provenance.from_record({"event_id": "x"}) is None
    assert Provenance.from_record({"origin": "telepathy"}) is None
    assert Provenance.from_record({"origin": "cli", "change_control": "maybe"}) == Provenance("cli")


# --- never raises ----------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=60),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
FIELD_VALUES = JSON | st.sampled_from([TF_NEW, TF_OLD, CHROME, "aws-cli/2.17.0", "signin.amazonaws.com", "true"])
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "eventName": JSON,
        "userAgent": FIELD_VALUES,
        "sessionCredentialFromConsole": FIELD_VALUES,
        "userIdentity": JSON | st.fixed_dictionaries({}, optional={
            "type": FIELD_VALUES, "arn": FIELD_VALUES, "invokedBy": FIELD_VALUES, "principalId": JSON,
            "sessionContext": JSON | st.fixed_dictionaries({}, optional={"sessionIssuer": JSON}),
        }),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON, RECORDS, RECORDS.map(lambda r: {"detail": r})), st.lists(st.text(max_size=20), max_size=3))
def test_provenance_never_raises_on_arbitrary_records(event: Any, patterns: list[str]) -> None:
    found = pv.origin(event)
    assert found.origin in pv.ORIGINS
    assert len(found.detail) <= pv.DETAIL_MAX_CHARS and found.detail.isprintable()
    prov = pv.provenance(event, patterns, event)
    assert prov.change_control in pv.VERDICTS
    assert all(prov.attributes().values())
    assert prov.line().isprintable() and len(prov.line()) <= pv.LINE_MAX_CHARS
