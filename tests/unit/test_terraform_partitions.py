"""The Terraform works in every partition: no ARN or regional service name is written for aws alone.

ARNs start ``arn:${partition}`` and regional service principals and endpoints end in the
partition's DNS suffix (``data.aws_partition``: ``amazonaws.com``, ``amazonaws.com.cn`` in
China), so the module deploys unchanged in GovCloud and China.

Global service principals (``"events.amazonaws.com"``, ``"lambda.amazonaws.com"``) and the
CloudTrail event sources matched in event patterns (``"ec2.amazonaws.com"``) are the same
in every partition (the China and GovCloud documentation writes them so), and stay as they
are. A region-qualified principal such as CloudWatch Logs' ``logs.<region>.<dns suffix>``
does not. Validation blocks (which accept ``arn:aws[a-z-]*:``, and quote examples),
descriptions and comments are text, not configuration, and are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT, hcl

TEXT_ONLY = {"validation", "description"}
# A quoted service name in the standard global format, no region in it: the same in every partition.
GLOBAL_SERVICE_NAME = re.compile(r'"(?:[a-z0-9-]+\.)*[a-z0-9-]+\.amazonaws\.com"')
REGION = re.compile(r"\b[a-z]{2}(?:-[a-z]+)+-\d+\b")


def terraform_files() -> list[Path]:
    """The root module's and every submodule's .tf files (not the tests' nor the examples')."""
    return sorted(ROOT.glob("*.tf")) + sorted((ROOT / "modules").glob("*/*.tf"))


def strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(location, text) of every string in a parsed file, outside validation blocks and descriptions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_ONLY or key.startswith("__"):  # __comments__, __is_block__: the parser's
                continue
            yield key, where
            yield from strings(value, f"{where}.{key.strip(chr(34))}")
    elif isinstance(node, list):
        for item in node:
            yield from strings(item, where)
    elif isinstance(node, str):
        yield node, where


def partition_bound(text: str) -> list[str]:
    """What in ``text`` only works in the aws partition."""
    found = []
    if "arn:aws:" in text:
        found.append("arn:aws:")
    rest = text
    for name in GLOBAL_SERVICE_NAME.findall(text):
        if not REGION.search(name):
            rest = rest.replace(name, "")
    if "amazonaws.com" in rest:
        found.append("amazonaws.com")
    return found


def findings(path: Path) -> list[str]:
    parsed = hcl(path)
    relative = path.relative_to(ROOT)
    return [f"{relative} {where}: {hit} in {text!r}" for text, where in strings(parsed, "")
            for hit in partition_bound(text)]


@pytest.mark.parametrize("path", terraform_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_terraform_file_writes_an_arn_or_a_regional_name_for_the_aws_partition_only(path: Path) -> None:
    assert findings(path) == []
