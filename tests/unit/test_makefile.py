"""The Makefile as the README presents it: every target named is listed by `make help`, and
`make review-signoff` says which of its inputs are missing instead of running with a bad one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make not installed")


def make(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MAKE), "--no-print-directory", "-s", "-C", str(cwd), *arguments],
                          capture_output=True, text=True, timeout=120)


def help_targets() -> set[str]:
    """The targets `make help` lists: the first word after "make" on each line."""
    return set(re.findall(r"^make\s+([a-z][a-z0-9-]*)", make("help").stdout, flags=re.M))


def phony_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    (declared,) = re.findall(r"^\.PHONY:(.*)$", makefile, flags=re.M)
    return set(declared.split())


def test_every_make_target_the_readme_names_is_in_make_help():
    named = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", (ROOT / "README.md").read_text()))
    assert named, "the README names no make target"
    assert named - help_targets() == set()


def test_make_help_lists_every_target_of_the_makefile():
    assert phony_targets() - help_targets() == set()


def test_review_signoff_names_every_missing_input(tmp_path):
    # Given no PACK, no DECISION, no BUCKET and a Terraform directory without state (no evidence_bucket_name)
    run = make("review-signoff", f"TF_DIR={tmp_path}", "PACK=", "DECISION=", "BUCKET=")
    # Then it stops before signing anything and names each missing input
    assert run.returncode != 0
    for name in ("PACK", "DECISION", "BUCKET"):
        assert name in run.stderr, run.stderr
    assert str(tmp_path) in run.stderr  # where it looked for the bucket
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr + run.stdout

