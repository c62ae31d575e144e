"""The evidence outlives `terraform destroy`, upgrades and a change of evidence_destroy_protection: a deployment
holding evidence, applied with the defaults.

Terraform runs here directly (not through pytest-terraform, whose teardown destroys): the test
itself runs the `terraform destroy` a user might run, and the emulator, discarded at the end of
the session, takes the protected bucket and key with it.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from tests.iam_reference import Policy, check_policy
from tests.module.emulator import FIXTURE_PROVIDER, terraform
from tests.module.harness import allows, client, role_policies
from tests.paths import ROOT

CONFIGURATION = """\
module "sgwatch" {{
  source = "{source}"

  name_prefix               = "prot"
  enable_unused_sg_audit    = false
  enable_change_alerts      = false
  enable_review_pack        = true
  review_fan_out            = var.review_fan_out
  iac_state_locations       = var.iac_state_locations
  iac_cloudformation_drift  = var.iac_cloudformation_drift
  evidence_object_lock_mode = var.lock_mode
  evidence_object_lock_days = 1
  evidence_force_destroy    = var.force_destroy
  evidence_destroy_protection = var.protection
  rule_review                 = var.rule_review
  enable_evidence_queries     = var.evidence_queries

  evidence_delete_principal_arns = ["arn:aws:iam::123456789012:role/evidence-break-glass"]
}}

variable "lock_mode" {{
  type    = string
  default = null
}}

variable "force_destroy" {{
  type    = bool
  default = false
}}

variable "review_fan_out" {{
  type    = bool
  default = false
}}

variable "iac_state_locations" {{
  type    = any
  default = []
}}

variable "iac_cloudformation_drift" {{
  type    = bool
  default = false
}}

variable "evidence_queries" {{
  type    = bool
  default = false
}}

variable "protection" {{
  type    = bool
  default = true
}}

variable "rule_review" {{
  type    = any
  default = {{}}
}}

output "bucket" {{
  value = module.sgwatch.evidence_bucket_name
}}

output "kms_key_arn" {{
  value = module.sgwatch.kms_key_arn
}}
"""


# Plans read the applied state as it is: nothing changes the emulator behind Terraform's back, so a refresh (every
# resource read again, minutes of CPU over the file) would only add the emulator's own noise.
NO_REFRESH = ("-refresh=false",)


# Session-scoped: the input flips below are a class, which runs on a worker of its own beside the file's other tests
# (pytest-xdist --dist loadscope), with the worker's deployment; every test leaves it as it found it.
@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("protected")
    (directory / "main.tf").write_text(CONFIGURATION.format(source=os.path.relpath(ROOT, directory)))
    shutil.copy(FIXTURE_PROVIDER, directory / "provider.tf")
    for step in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        result = terraform(directory, *step)
        assert result.returncode == 0, result.stdout + result.stderr
    outputs = json.loads(terraform(directory, "output", "-json").stdout)
    deployed = {"directory": directory, **{k: v["value"] for k, v in outputs.items()}}
    # evidence written by a run
    client("s3").put_object(Bucket=deployed["bucket"], Key="security-groups/evidence.csv", Body=b"GroupId\n")
    return deployed


def test_terraform_destroy_leaves_the_evidence_readable(deployment: dict[str, Any]) -> None:
    # When a user runs terraform destroy on a deployment holding evidence
    result = terraform(deployment["directory"], "destroy", "-auto-approve", "-input=false")
    # Then the plan is refused before anything is changed...
    assert result.returncode != 0
    assert "prevent_destroy" in result.stdout + result.stderr
    # ...the key that decrypts the evidence is enabled, not pending deletion...
    key = client("kms").describe_key(KeyId=deployment["kms_key_arn"])["KeyMetadata"]
    assert (key["KeyState"], key.get("DeletionDate")) == ("Enabled", None)
    # ...and the bucket keeps its versioning, TLS-only policy and evidence
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket=deployment["bucket"])["Status"] == "Enabled"
    policy = json.loads(s3.get_bucket_policy(Bucket=deployment["bucket"])["Policy"])
    assert "DenyInsecureTransport" in {statement["Sid"] for statement in policy["Statement"]}
    assert s3.get_object(Bucket=deployment["bucket"], Key="security-groups/evidence.csv")["Body"].read() == b"GroupId\n"


def test_turning_object_lock_on_later_replaces_nothing(deployment: dict[str, Any]) -> None:
    # When Object Lock is turned on for the existing bucket
    directory = deployment["directory"]
    plan = terraform(directory, "plan", "-input=false", *NO_REFRESH, "-var", "lock_mode=GOVERNANCE", "-out=lock.plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    changes = json.loads(terraform(directory, "show", "-json", "lock.plan").stdout)["resource_changes"]
    # Then nothing is destroyed or replaced; the lock configuration is added to the bucket in place
    assert [c["address"] for c in changes if "delete" in c["change"]["actions"]] == []
    added = [c["address"] for c in changes if c["change"]["actions"] == ["create"]]
    assert added == ["module.sgwatch.module.evidence_bucket[0].aws_s3_bucket_object_lock_configuration.this[0]"]


def test_force_destroy_is_refused_with_object_lock(deployment: dict[str, Any]) -> None:
    # When a plan asks for a locked bucket that terraform may empty (force_destroy bypasses GOVERNANCE)
    plan = terraform(deployment["directory"], "plan", "-input=false", *NO_REFRESH, "-var", "lock_mode=GOVERNANCE",
                     "-var", "force_destroy=true")
    # Then it is refused with the reason
    assert plan.returncode != 0
    assert "force_destroy cannot be combined with object_lock_mode" in " ".join((plan.stdout + plan.stderr).split())


def test_the_bucket_refuses_overwrites_and_deletions(deployment: dict[str, Any]) -> None:
    # Given the bucket policy S3 enforces (the emulator does not: the document is what is checked)
    policy = json.loads(client("s3").get_bucket_policy(Bucket=deployment["bucket"])["Policy"])
    denied = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Deny"}
    # Then nobody writes an object without If-None-Match (an overwrite); multipart parts are exempt
    overwrite = denied["DenyOverwritingEvidence"]
    assert (overwrite["Action"], overwrite["Principal"]) == ("s3:PutObject", "*")
    assert overwrite["Condition"] == {
        "Null": {"s3:if-none-match": "true"},
        "Bool": {"s3:ObjectCreationOperation": "true"},
    }
    # and nobody but the named break-glass role deletes an object or a version
    delete = denied["DenyDeletingEvidence"]
    assert sorted(delete["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    assert delete["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/evidence-break-glass"}
    }


# The README's procedure for turning protection off ("Upgrades, moving evidence and deleting it"), run as written.
TURN_PROTECTION_OFF = (
    "state", "rm",
    "module.sgwatch.terraform_data.key_destroy_protection[0]",
    "module.sgwatch.module.evidence_bucket[0].terraform_data.destroy_protection[0]",
)


def _plan(directory: Any, *variables: str) -> tuple[list[str], list[str]]:
    """(addresses destroyed or replaced, addresses created) of a plan with these -var settings."""
    result = terraform(directory, "plan", "-input=false", *NO_REFRESH, *variables, "-out=flip.plan")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    changes = json.loads(terraform(directory, "show", "-json", "flip.plan").stdout)["resource_changes"]
    return ([c["address"] for c in changes if "delete" in c["change"]["actions"]],
            [c["address"] for c in changes if c["change"]["actions"] == ["create"]])


def test_fanning_the_review_pack_out_later_only_adds_its_queue(deployment: dict[str, Any]) -> None:
    # When review_fan_out is turned on over an applied deployment
    destroyed, created = _plan(deployment["directory"], "-var", "review_fan_out=true")
    # Then nothing is destroyed or replaced: the work queue, its dead-letter queue, their alarms and the event
    # source mapping are added, and the function (its environment, its role's policy) changes in place
    assert destroyed == []
    kinds = sorted({address.rsplit(".", 2)[-2].split("[")[0] for address in created})
    assert kinds == ["aws_cloudwatch_metric_alarm", "aws_lambda_event_source_mapping", "aws_sqs_queue"], created
    assert all(".module.review_pack[0]." in address for address in created), created


def _updated(directory: Any, plan: bool = True) -> list[str]:
    """The addresses updated in place by a plan without -var settings (``plan``), or by flip.plan."""
    if plan:
        _plan(directory)
    changes = json.loads(terraform(directory, "show", "-json", "flip.plan").stdout)["resource_changes"]
    return [c["address"] for c in changes if c["change"]["actions"] == ["update"]]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_flipping_destroy_protection_never_destroys_the_evidence(deployment: dict[str, Any]) -> None:
    # Runs last in this file: it ends where it began, protected.
    directory, bucket, key = deployment["directory"], deployment["bucket"], deployment["kms_key_arn"]
    # When protection is turned off without the README's procedure, the plan is refused before anything changes
    refused = terraform(directory, "plan", "-input=false", *NO_REFRESH, "-var", "protection=false")
    assert refused.returncode != 0
    assert "prevent_destroy" in refused.stdout + refused.stderr
    # When the procedure is followed, turning it off destroys and replaces nothing
    result = terraform(directory, *TURN_PROTECTION_OFF)
    assert result.returncode == 0, result.stdout + result.stderr
    destroyed, _ = _plan(directory, "-var", "protection=false")
    assert destroyed == []
    assert terraform(directory, "apply", "-input=false", "flip.plan").returncode == 0
    # When it is turned on again, only the two guards are added: the bucket and key keep their addresses
    destroyed, created = _plan(directory, "-var", "protection=true")
    assert destroyed == []
    assert sorted(created) == [
        "module.sgwatch.module.evidence_bucket[0].terraform_data.destroy_protection[0]",
        "module.sgwatch.terraform_data.key_destroy_protection[0]",
    ]
    applied = terraform(directory, "apply", "-input=false", "flip.plan")
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
    # Then the same bucket holds the evidence, under the same key, enabled
    assert client("s3").get_object(Bucket=bucket, Key="security-groups/evidence.csv")["Body"].read() == b"GroupId\n"
    assert client("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    # and a destroy, or a targeted destroy of the bucket alone, is refused again
    for target in ((), ("-target=module.sgwatch.module.evidence_bucket[0].aws_s3_bucket.this[0]",)):
        result = terraform(directory, "plan", "-destroy", "-input=false", *NO_REFRESH, *target)
        assert result.returncode != 0 and "prevent_destroy" in result.stdout + result.stderr, target


class TestInputFlips:
    """Inputs turned on (and off) over the applied deployment."""

    def test_the_rule_review_register_turned_on_and_off_changes_only_the_inventory_in_place(
            self, deployment: dict[str, Any]) -> None:
        directory = deployment["directory"]
        register = ('rule_review={register={bucket="prot-register", key="rules/register.csv"}, '
                    'justification_warning_days=30, justify_private_peers=true}')
        unchanged = _updated(directory)  # what a plan without a change updates on the emulator (scheduler policies)
        for variables in (("-var", register), ()):  # on, then off again
            # When the root input rule_review names a register (and back to the defaults) over the deployment
            destroyed, created = _plan(directory, *variables)
            # Then nothing is destroyed, replaced or created: the inventory's role's policy (the register's
            # s3:GetObject) and function (the settings in its environment; the emulator shows it updated by every
            # plan) change in place
            assert destroyed == [] and created == []
            updated = sorted(set(_updated(directory, plan=False)) - set(unchanged))
            assert updated, variables
            assert all(a.startswith("module.sgwatch.module.sg_inventory[0].") for a in updated), updated
            policy = "module.sgwatch.module.sg_inventory[0].module.function.aws_iam_role_policy.function"
            assert policy in updated, updated
            applied = terraform(directory, "apply", "-input=false", "flip.plan")
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
            # and the role may read the register exactly while it is named
            register_arn = "arn:aws:s3:::prot-register/rules/register.csv"
            granted = allows(role_policies("prot-sg-inventory"), "s3:GetObject", register_arn)
            assert granted == bool(variables)

    def test_cloudformation_drift_turned_on_and_off_changes_only_the_inventorys_environment(
            self, deployment: dict[str, Any]) -> None:
        directory = deployment["directory"]
        unchanged = _updated(directory)  # what a plan without a change updates on the emulator (the function too)
        for variables in (("-var", "iac_cloudformation_drift=true"), ()):  # on, then off again
            # When iac_cloudformation_drift is turned on (and off again) over the applied deployment
            destroyed, created = _plan(directory, *variables)
            # Then nothing is destroyed, replaced or added: the inventory function's environment changes in place (its
            # role already has the CloudFormation reads, with the inventory's other reads of modules/read-permissions)
            assert (destroyed, created) == ([], [])
            function = "module.sgwatch.module.sg_inventory[0].module.function.aws_lambda_function.this"
            updated = _updated(directory, plan=False)
            assert function in updated and set(updated) <= {*unchanged, function}, updated
            applied = terraform(directory, "apply", "-input=false", "flip.plan")
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
            environment = client("lambda").get_function_configuration(FunctionName="prot-sg-inventory")["Environment"]
            assert (environment["Variables"].get("IAC_CLOUDFORMATION_DRIFT") == "true") == bool(variables)
        assert allows(role_policies("prot-sg-inventory"), "cloudformation:DetectStackDrift",
                      "arn:aws:cloudformation:us-east-1:123456789012:stack/network/0a1b2c3d-4e5f-6789-abcd-ef0123456789")



    def test_reading_terraform_states_later_only_changes_the_inventory_in_place(
            self, deployment: dict[str, Any]) -> None:
        # When iac_state_locations is set over an applied deployment (and then left unset again: the plan of the
        # applied configuration)
        destroyed, created = _plan(deployment["directory"], "-var", 'iac_state_locations=[{bucket = "tf-states", '
                                   'key = "lz/terraform.tfstate", kms_key_arn = "arn:aws:kms:us-east-1:'
                                   '123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, {bucket = "tf-states", '
                                   'prefix = "apps/", role_arn = "arn:aws:iam::111122223333:role/state-reader"}]')
        # Then nothing is destroyed, replaced or added: the inventory's environment and its role's policy change in
        # place
        # (the schedulers' role policies are planned again on every plan against the emulator)
        assert (destroyed, created) == ([], [])
        shown = terraform(deployment["directory"], "show", "-json", "flip.plan")
        changes = json.loads(shown.stdout)["resource_changes"]
        inventory = sorted(c["address"].split(".module.function.")[-1] for c in changes
                           if c["change"]["actions"] == ["update"] and ".module.sg_inventory[0]." in c["address"]
                           and not c["address"].endswith("aws_iam_role_policy.scheduler[0]"))
        assert inventory == ["aws_iam_role_policy.function", "aws_lambda_function.this"], inventory
        destroyed, created = _plan(deployment["directory"])
        assert (destroyed, created) == ([], [])

    def test_turning_evidence_queries_on_later_only_adds_their_resources(self, deployment: dict[str, Any]) -> None:
        directory = deployment["directory"]
        # When evidence queries are turned on over an applied deployment holding evidence
        destroyed, created = _plan(directory, "-var", "evidence_queries=true")
        # Then nothing is destroyed or replaced: the tables, workgroup, named queries and policy are added, and the
        # bucket's lifecycle and policy change in place
        assert destroyed == []
        assert created and all(a.startswith("module.sgwatch.module.evidence_queries[0].") for a in created), created
        changes = json.loads(terraform(directory, "show", "-json", "flip.plan").stdout)["resource_changes"]
        updated = sorted(c["address"].rsplit(".", 1)[0] for c in changes if c["change"]["actions"] == ["update"])
        assert {"module.sgwatch.module.evidence_bucket[0].aws_s3_bucket_lifecycle_configuration",
                "module.sgwatch.module.evidence_bucket[0].aws_s3_bucket_policy"} <= set(updated), updated
        # and the query policy, known at plan, grants only running the workgroup's queries over the evidence tables
        (policy,) = [c for c in changes if c["address"].endswith("evidence_queries[0].aws_iam_policy.query")]
        document = json.loads(policy["change"]["after"]["policy"])
        assert check_policy(Policy("query policy", document)) == []
        granted = {s["Sid"]: (sorted(_list(s["Action"])), sorted(_list(s["Resource"]))) for s in document["Statement"]}
        arn = "arn:aws:s3:::prot-evidence-123456789012-us-east-1"
        kinds = ("diffs", "events", "exposure", "rule-review", "snapshots", "unused")
        reads = [f"{arn}/security-groups/*/*/{kind}/*" for kind in kinds] + [f"{arn}/prot-query-results/*"]
        assert granted["ReadEvidenceAndResults"] == (["s3:GetObject"], sorted(reads))
        assert granted["WriteResults"][1] == [f"{arn}/prot-query-results/*"]
        assert granted["RunWorkgroupQueries"][1] == ["arn:aws:athena:us-east-1:123456789012:workgroup/prot-evidence"]
        assert all(s["Effect"] == "Allow" and "*" not in _list(s["Resource"]) for s in document["Statement"])
        # (Planned here; test_complete.py applies them with examples/complete and plans them off.)
