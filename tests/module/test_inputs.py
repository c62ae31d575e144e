"""Inputs a user gets wrong are refused at `terraform validate`, with a message that says what to do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT


def _ids(count: int, start: int = 100000000000) -> str:
    return f'[for i in range({count}) : format("%012d", {start} + i)]'


def validate(tmp_path: Path, arguments: str) -> subprocess.CompletedProcess[str]:
    source = os.path.relpath(ROOT, tmp_path)
    (tmp_path / "main.tf").write_text(f'module "sgwatch" {{\n  source = "{source}"\n{arguments}\n}}\n')
    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    init = subprocess.run(["terraform", "init", "-backend=false", "-input=false", "-no-color"], **run)
    assert init.returncode == 0, init.stdout + init.stderr
    return subprocess.run(["terraform", "validate", "-no-color"], **run)


@pytest.mark.parametrize("arguments, message", [
    (f"accounts = {_ids(201)}", "use accounts_from_organizations = true"),
    (f"excluded_accounts = {_ids(51)}", "excluded_accounts lists more than 50 ids"),
    ("fan_out_max_concurrency = 1", "fan_out_max_concurrency must be between 2 and 1000"),
    ('accounts = ["12345"]', "accounts must be 12-digit AWS account ids"),
])
def test_a_bad_input_is_refused_with_its_reason(tmp_path, arguments, message) -> None:
    result = validate(tmp_path, arguments)
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split())


def test_the_largest_accepted_estate_settings_validate(tmp_path) -> None:
    arguments = f"accounts = {_ids(200)}\nexcluded_accounts = {_ids(50, 300000000000)}\nfan_out = true\nfan_out_max_concurrency = 1000"
    result = validate(tmp_path, arguments)
    assert result.returncode == 0, result.stdout + result.stderr
