"""An upgrade keeps a user's deployment in place: examples/complete applied from an earlier release,
then planned with this code.

The earlier release is read from the repository's history (``git archive``), applied to the emulator
with the settings a real user keeps evidence with (no force_destroy), and the same configuration is
then planned against the current module. Nothing may be destroyed or replaced: not the evidence
bucket, not the key, not a function, a role or a queue (``moved`` blocks carry renamed addresses).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.module.emulator import prepare_example, terraform
from tests.paths import ROOT

# The last release of the module before the addresses of the evidence bucket and the key changed.
RELEASE = "f384a48"


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


def test_upgrading_examples_complete_destroys_nothing(release: Path, tmp_path: Path) -> None:
    # Given examples/complete of the earlier release, applied the way a user keeping evidence applies it
    variables = {"name_prefix": "sgw-upgrade", "slack_channel_id": "C0123456789"}
    old = prepare_example("complete", tmp_path / "old", variables, root=release)
    for step in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        result = terraform(old, *step)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    # When the same configuration and state are planned with this code
    new = prepare_example("complete", tmp_path / "new", variables)
    (new / "terraform.tfstate").write_bytes((old / "terraform.tfstate").read_bytes())
    for step in (("init", "-input=false"), ("plan", "-input=false", "-out=upgrade.plan")):
        result = terraform(new, *step)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    changes = json.loads(terraform(new, "show", "-json", "upgrade.plan").stdout)["resource_changes"]
    # Then nothing the user has is destroyed or replaced...
    destroyed = [c["address"] for c in changes if "delete" in c["change"]["actions"]]
    assert destroyed == []
    # ...while the plan did bring this code's additions to that state (the key guard)
    created = {c["address"] for c in changes if c["change"]["actions"] == ["create"]}
    assert "module.sgwatch.module.key_guard_rule[0].aws_cloudwatch_event_rule.this" in created
