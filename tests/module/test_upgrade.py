"""An upgrade keeps a user's deployment in place: configurations applied from the last release (1.0.0),
then planned with this code.

The release is read from the repository's history (``git archive``), applied to the emulator with the
settings a real user keeps evidence with (no force_destroy), and the same configuration is then planned
against the current module. Nothing may be destroyed or replaced: not the evidence
bucket, not the key, not a function, a role or a queue (``moved`` blocks carry renamed addresses).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.module.emulator import FIXTURE_PROVIDER, prepare_example, terraform
from tests.paths import ROOT

# The release users have: the commit whose CHANGELOG's top release is 1.0.0 (its Unreleased section empty).
RELEASE = "ab03eff"

# A landing-zone configuration no example has: fan-out, the reachability guard, the central bus, direct
# change alerts, and the evidence applied without destroy protection, then turned on with the upgrade
# (1.0.0 gave the unprotected bucket and key other addresses). Inputs of 1.0.0 only.
LANDING_ZONE = """\
variable "protection" {{
  type    = bool
  default = false
}}

module "sgwatch" {{
  source = "{source}"

  name_prefix                 = "sgw-lz"
  evidence_destroy_protection = var.protection
  enable_unused_sg_audit      = false
  enable_review_pack          = false
  fan_out                     = true
  create_event_bus            = true
  organization_id             = "o-sgwatchtest1"
  change_alerts_mode          = "direct"
  enable_reachability_check   = true
  reachability_path_ids       = ["nip-0123456789abcdef0"]
}}
"""


def _git(*arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _git("cat-file", "-e", f"{RELEASE}^{{commit}}").returncode != 0:
        pytest.skip(f"release {RELEASE} is not in this clone's history (shallow clone)")
    archive = _git("archive", "--format=tar", RELEASE)
    assert archive.returncode == 0, archive.stderr
    tree = tmp_path_factory.mktemp("release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _landing_zone(root: Path, directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "main.tf").write_text(LANDING_ZONE.format(source=os.path.relpath(root, directory)))
    shutil.copy(FIXTURE_PROVIDER, directory / "provider.tf")
    return directory


def _example(name: str, **variables: str) -> Any:
    return lambda root, directory: prepare_example(name, directory, variables, root=root)


# Each configuration: how to lay it out from a module tree, the -var settings of the upgrade plan, and the
# resource addresses those settings add (so the plan shows the flip happened). Every name differs from the
# fixtures' (test_organization.py applies examples/organization to the same emulator).
CONFIGURATIONS: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "examples/complete, remediation turned on": (
        _example("complete", name_prefix="sgw-upgrade", slack_channel_id="C0123456789"),
        ("-var", 'remediation_approvers=["U0APPROVER"]'),
        ("module.sgwatch.module.remediation[0].aws_lambda_function_url.interactions",)),
    "examples/organization": (
        _example("organization", name_prefix="sgw-uporg", member_account_id="222222222222",
                 organization_id="o-sgwatchtest1", member_role_name="sgw-uporg-member-read"), (), ()),
    "fan-out, reachability, central bus, direct alerts, protection turned on": (
        _landing_zone, ("-var", "protection=true"), ("module.sgwatch.terraform_data.key_destroy_protection[0]",)),
}


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_upgrading_from_the_release_destroys_nothing(release: Path, tmp_path: Path, configuration: str) -> None:
    lay_out, upgrade_variables, added = CONFIGURATIONS[configuration]
    # Given the configuration applied with release 1.0.0, the way a user keeping evidence applies it
    old = lay_out(release, tmp_path / "old")
    for step in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        result = terraform(old, *step)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    # When the same configuration and state are planned with this code
    new = lay_out(ROOT, tmp_path / "new")
    (new / "terraform.tfstate").write_bytes((old / "terraform.tfstate").read_bytes())
    for step in (("init", "-input=false"), ("plan", "-input=false", *upgrade_variables, "-out=upgrade.plan")):
        result = terraform(new, *step)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    changes = json.loads(terraform(new, "show", "-json", "upgrade.plan").stdout)["resource_changes"]
    # Then nothing the user has is destroyed or replaced
    destroyed = [c["address"] for c in changes if "delete" in c["change"]["actions"]]
    assert destroyed == []
    # and what the settings turn on is added
    created = {c["address"] for c in changes if c["change"]["actions"] == ["create"]}
    assert {a for a in added if not any(c.startswith(a) for c in created)} == set(), sorted(created)
    if configuration == "examples/complete, remediation turned on":
        # and the inventory, handing expired exceptions to the notifier from now on, is changed in place
        (inventory,) = [c for c in changes if c["address"] ==
                        "module.sgwatch.module.sg_inventory[0].module.function.aws_lambda_function.this"]
        assert inventory["change"]["actions"] == ["update"]
        variables = inventory["change"]["after"]["environment"][0]["variables"]
        assert variables["REMEDIATION_NOTIFIER_ARN"].endswith(":function:sgw-upgrade-sg-change-notifier")
