"""The evidence kinds the code writes are the kinds Terraform lets each function write.

``modules/lambda-function`` grants ``s3:PutObject`` on ``<prefix><key>`` for each key of the
``evidence.write`` list in each capability's ``main.tf`` (``"*/snapshots/*"``, ``"reviews/*"``,
or a local holding such a key). A kind the code writes without a grant fails with AccessDenied on AWS only; a
grant no code uses is access nobody needs. The .tf files are read as text, nothing is run.
"""

from __future__ import annotations

import re

import pytest

from sgwatch import evidence
from sgwatch.evidence import Layout
from tests.paths import ROOT

MODULES = ROOT / "modules"
_WRITE = re.compile(r"\bwrite\s*=\s*\[([^\]]*)\]")
_KEY = re.compile(r'"([^"]*)"|\blocal\.(\w+)')
# The kind, and at most one folder below it (remediation/expired/: the inventory's notices of expired exceptions).
_KIND = re.compile(r"(?:^|/)([a-z][a-z0-9-]*)/(?:[a-z][a-z0-9-]*/)?\*$")


def _local(text: str, name: str) -> str:
    found = re.search(rf"^\s*{name}\s*=\s*\"([^\"]*)\"", text, re.MULTILINE)
    assert found, f"local.{name} is not a plain string"
    return found.group(1)


def granted_kinds() -> dict[str, set[str]]:
    """Module name -> the evidence kinds its function may write."""
    grants: dict[str, set[str]] = {}
    for path in sorted(MODULES.glob("*/main.tf")):
        text = path.read_text()
        for listed in _WRITE.findall(text):
            for literal, local in _KEY.findall(listed):
                key = literal or _local(text, local)
                kind = _KIND.search(key)
                assert kind, f"{path.relative_to(ROOT)}: cannot tell the evidence kind of {key!r}"
                grants.setdefault(path.parent.name, set()).add(kind.group(1))
    return grants


ALL_GRANTED = set().union(*granted_kinds().values())
REVIEWS = evidence.REVIEWS.strip("/")
IAC_DECLARED = evidence.IAC_DECLARED.strip("/")  # at the top of the prefix, as reviews/


def test_the_modules_grant_evidence_writes_at_all() -> None:
    assert {"sg-inventory", "sg-change-alerts", "review-pack"} <= set(granted_kinds())


@pytest.mark.parametrize("kind", evidence.KINDS)
def test_every_kind_the_code_writes_is_granted(kind: str) -> None:
    assert kind in ALL_GRANTED


def test_every_granted_kind_is_one_the_code_knows() -> None:
    assert ALL_GRANTED - {REVIEWS, IAC_DECLARED} <= set(evidence.KINDS)


def test_review_packs_are_written_where_the_review_pack_module_grants() -> None:
    assert granted_kinds()["review-pack"] == {REVIEWS}
    assert Layout("p/").review_pack("2026-01-01_2026-06-30").startswith(f"p/{REVIEWS}/")


@pytest.mark.parametrize(("module", "kinds"), [
    ("sg-inventory", {evidence.SNAPSHOTS, evidence.SNAPSHOT_GROUPS, evidence.DIFFS, evidence.CLAIMS,
                      evidence.EXPOSURE, evidence.RULE_REVIEW, evidence.RULE_REVIEW_STATE, evidence.EXPIRY_NOTICES,
                      evidence.DRIFT, IAC_DECLARED,
                      evidence.REMEDIATION}),  # remediation/expired/ only: the notices of expired exceptions
    # remediation: an automatic revert's record, granted in auto mode only
    ("sg-change-alerts", {evidence.EVENTS, evidence.GROUP_STATE, evidence.GROUP_NAMES, evidence.REMEDIATION}),
])
def test_each_function_may_write_exactly_its_own_kinds(module: str, kinds: set[str]) -> None:
    assert granted_kinds()[module] == kinds


def test_kinds_are_path_segments() -> None:
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", k) for k in evidence.KINDS)
    assert len(set(evidence.KINDS)) == len(evidence.KINDS)
