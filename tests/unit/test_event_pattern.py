"""The EventBridge pattern of the change-alert rule matches every fixture and no neighbour.

Matching uses moto's EventBridge pattern engine (``moto.events.models.EventPattern``), the one
the emulator routes events with; moto has no TestEventPattern API. The module test checks the
pattern of the *deployed* rule the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from moto.events.models import EventPattern

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
REAL = ROOT.parent / "shared" / "real-payloads" / "cloudtrail"
PATTERN_FILE = ROOT / "modules" / "sg-change-alerts" / "event-pattern.json"
FIXTURES = sorted(EVENTS.glob("*.json"))
NEIGHBOURS = sorted((EVENTS / "neighbours").glob("*.json"))


def pattern() -> EventPattern:
    return EventPattern.load(PATTERN_FILE.read_text())


def as_eventbridge(event: dict) -> dict:
    """Raw CloudTrail records wrapped the way EventBridge delivers them."""
    if "detail" in event:
        return event
    return {"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
            "account": event.get("recipientAccountId", "111122223333"), "time": event["eventTime"],
            "region": event["awsRegion"], "resources": [], "detail": event}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_pattern_matches_every_security_group_change(path: Path) -> None:
    assert pattern().matches_event(as_eventbridge(json.loads(path.read_text())))


@pytest.mark.parametrize("path", sorted(REAL.glob("*.json")) if REAL.is_dir() else [], ids=lambda p: p.stem)
def test_pattern_matches_every_recorded_payload(path: Path) -> None:
    assert pattern().matches_event(as_eventbridge(json.loads(path.read_text())))


@pytest.mark.parametrize("path", NEIGHBOURS, ids=lambda p: p.stem)
def test_pattern_ignores_neighbours(path: Path) -> None:
    assert not pattern().matches_event(json.loads(path.read_text()))


def test_neighbours_cover_describe_tags_and_another_source() -> None:
    names = {p.stem.split("_")[0] for p in NEIGHBOURS}
    assert {"DescribeSecurityGroups", "CreateTags"} <= names
    assert any(json.loads(p.read_text())["source"] != "aws.ec2" for p in NEIGHBOURS)


def test_pattern_lists_exactly_the_nine_calls_the_parser_knows() -> None:
    from sgwatch.cloudtrail import EVENT_NAMES

    declared = json.loads(PATTERN_FILE.read_text())["detail"]["eventName"]
    assert sorted(declared) == sorted(EVENT_NAMES)


def test_root_reads_the_pattern_file() -> None:
    # One pattern for the alerts, the reachability guard and the root's forwarder: no second list to drift.
    text = (ROOT / "main.tf").read_text()
    assert re.search(r'file\("\$\{path\.module\}/modules/sg-change-alerts/event-pattern\.json"\)', text)
    assert "UpdateSecurityGroupRuleDescriptionsEgress" not in text
