"""Exceptions that expire: the inventory hands a kept rule whose exception expired to the change notifier, once.

The world of tests/unit/test_remediation.py (moto, the loopback fake Slack, the functions' environments). An
exception is kept through the Keep dialog as an approver keeps it; its index entry is then moved to an expiry in the
past (the entry the Keep job wrote, with yesterday's date), as it stands once the days have passed. The inventory
runs with ``REMEDIATION_NOTIFIER_ARN``; its asynchronous invocation of the notifier is replaced by a direct call of
the notifier's handler with the same event (what Lambda does with an accepted asynchronous invocation).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from sg_change_alerts import handler as notifier
from sg_inventory import handler as inventory
from sgwatch import aws, remediation_expiry
from sgwatch.evidence import EvidenceStore, Layout
from sgwatch.rules import as_rules
from sgwatch.snapshots import Tagged, current_rules
from tests.unit.test_remediation import ACCOUNT, BUCKET, CONTEXT, PREFIX, World, click, world
from tests.unit.test_remediation_auto import published
from tests.unit.test_remediation_exceptions import blocks_of, keep

__all__ = ["published", "world"]  # the fixtures

NOTIFIER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sgwatch-sg-change-notifier"
TODAY = datetime.now(UTC).date()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


def kept_until(world: World, rule_id: str, expires: str) -> dict[str, Any]:
    """Keep ``rule_id`` as exception through the dialog, then give its index entry the expiry ``expires``."""
    keep(world, rule_id)
    (key,) = world.keys("/remediation/exceptions/")
    document = world.read(key)
    world.s3.delete_object(Bucket=BUCKET, Key=key)
    document["expires"] = expires
    stem = key.rsplit("/", 1)[1][len("YYYY-MM-DD"):]
    world.s3.put_object(Bucket=BUCKET, Key=f"{key.rsplit('/', 1)[0]}/{expires}{stem}", Body=json.dumps(document))
    return document


@pytest.fixture
def handed(world: World, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events the inventory hands over; each is run through the notifier as Lambda would run it."""
    events: list[dict[str, Any]] = []

    def hand_over(arn: str) -> Any:
        assert arn == NOTIFIER

        def invoke(event: dict[str, Any]) -> None:
            events.append(json.loads(json.dumps(event)))
            notifier.lambda_handler(events[-1], CONTEXT)
        return invoke

    monkeypatch.setattr(inventory, "hand_over", hand_over)
    monkeypatch.setenv("REMEDIATION_NOTIFIER_ARN", NOTIFIER)
    monkeypatch.setenv("REGIONS", "us-east-1")
    return events


def run_inventory() -> dict[str, Any]:
    """One scheduled inventory run (without the remediation function's work queue: the inventory has none)."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("WORK_QUEUE_URL")
        (result,) = inventory.lambda_handler({}, None)["results"]
    return result


def notices(world: World) -> list[str]:
    return world.keys("/remediation/expired/")


def test_an_expired_exception_whose_rule_is_still_there_is_alerted_again_with_the_buttons_once(
        world: World, handed: list[dict[str, Any]], published: list[str]) -> None:
    rule_id = world.world_ssh()
    kept = kept_until(world, rule_id, YESTERDAY)
    posts = len(world.slack.calls("chat.postMessage"))
    result = run_inventory()
    assert result["expired_exceptions_handed_over"] == 1
    (event,) = handed
    assert event["source"] == remediation_expiry.SOURCE
    # the notifier's normal path: a new alert of the rule, with the Revert and Keep buttons, saying why
    assert len(world.slack.calls("chat.postMessage")) == posts + 1
    message = world.slack.calls("chat.postMessage")[-1].params
    text = json.dumps(blocks_of(message))
    why = f"exception kept by {kept['kept_by']} until {YESTERDAY} (UTC) has expired"
    assert why in text and why in published[-1] and rule_id in published[-1]
    assert "sgwatch_revert" in text and "sgwatch_keep" in text  # not suppressed by the expired exception
    assert "change control: out-of-band" in published[-1]
    (notice,) = notices(world)
    assert notice == (f"{PREFIX}{ACCOUNT}/us-east-1/remediation/expired/{world.group}/{kept['event_id']}.json")
    assert world.read(notice)["rules"] == [rule_id]


def test_the_alert_of_an_expired_exception_is_reverted_with_one_click(
        world: World, handed: list[dict[str, Any]]) -> None:
    rule_id = world.world_ssh()
    kept_until(world, rule_id, YESTERDAY)
    run_inventory()
    message = world.slack.calls("chat.postMessage")[-1].params
    assert click(world, world.click_body(message))["statusCode"] == 200
    world.run_jobs(world.queued())
    assert rule_id not in world.rules()


def test_in_auto_mode_the_rule_of_an_expired_exception_is_reverted(
        world: World, handed: list[dict[str, Any]], published: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = world.world_ssh()
    kept_until(world, rule_id, YESTERDAY)
    monkeypatch.setenv("REMEDIATION_MODE", "auto")
    run_inventory()
    assert rule_id not in world.rules()
    assert f"reverted automatically: {rule_id} in {world.group}: revoked" in published[-1]
    assert "has expired" in published[-1]


def test_an_expired_exception_whose_rule_is_gone_is_noticed_and_alerts_nothing(
        world: World, handed: list[dict[str, Any]]) -> None:
    rule_id = world.world_ssh()
    kept = kept_until(world, rule_id, YESTERDAY)
    world.ec2.revoke_security_group_ingress(GroupId=world.group, SecurityGroupRuleIds=[rule_id])
    posts = len(world.slack.calls("chat.postMessage"))
    result = run_inventory()
    assert handed == [] and len(world.slack.calls("chat.postMessage")) == posts
    assert result["expired_exceptions_gone"] == 1
    (notice,) = notices(world)
    assert notice.endswith(f"/{kept['event_id']}.json")
    assert world.read(notice)["outcome"] == "no covered rule is left" and world.read(notice)["rules"] == []


def test_an_exception_valid_today_is_not_handed_over(world: World, handed: list[dict[str, Any]]) -> None:
    kept_until(world, world.world_ssh(), TODAY.isoformat())  # its last valid day
    result = run_inventory()
    assert handed == [] and notices(world) == []
    assert (result["expired_exceptions_handed_over"], result["expired_exceptions_gone"]) == (0, 0)


def test_a_second_run_at_the_same_moment_hands_over_nothing_again(world: World, handed: list[dict[str, Any]]) -> None:
    kept_until(world, world.world_ssh(), YESTERDAY)
    store = EvidenceStore(BUCKET)
    now = datetime.now(UTC)
    rows = as_rules(current_rules(aws.client("ec2", "us-east-1"), ACCOUNT, "us-east-1", Tagged()))
    calls: list[dict[str, Any]] = []
    first = remediation_expiry.check(store, Layout(PREFIX), ACCOUNT, "us-east-1", rows, now, calls.append)
    (notice,) = notices(world)
    written = world.read(notice)
    second = remediation_expiry.check(store, Layout(PREFIX), ACCOUNT, "us-east-1", rows, now, calls.append)
    assert len(first.handed_over) == 1 and (second.handed_over, second.gone) == ([], [])
    assert len(calls) == 1 and notices(world) == [notice] and world.read(notice) == written


def test_a_failed_hand_over_fails_the_pair_writes_no_notice_and_the_next_run_hands_it_over(
        world: World, handed: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = world.world_ssh()
    kept_until(world, rule_id, YESTERDAY)
    working = inventory.hand_over

    def refused(arn: str) -> Any:
        def invoke(event: dict[str, Any]) -> None:
            raise RuntimeError("TooManyRequestsException: Rate exceeded")
        return invoke

    monkeypatch.setattr(inventory, "hand_over", refused)
    with pytest.raises(inventory.InventoryFailed, match="expired exceptions not announced"):
        run_inventory()
    assert notices(world) == [] and handed == []
    monkeypatch.setattr(inventory, "hand_over", working)
    assert run_inventory()["expired_exceptions_handed_over"] == 1
    assert len(handed) == 1 and len(notices(world)) == 1


def test_an_unreadable_exception_index_fails_the_pair(world: World, handed: list[dict[str, Any]]) -> None:
    rule_id = world.world_ssh()
    kept_until(world, rule_id, YESTERDAY)
    (key,) = world.keys("/remediation/exceptions/")
    world.s3.put_object(Bucket=BUCKET, Key=key.replace(".json", "-x.json"), Body=b"{not json")
    with pytest.raises(inventory.InventoryFailed, match="expired exceptions not announced"):
        run_inventory()


@pytest.mark.parametrize(("status", "accepted"), [(202, True), (200, False)])
def test_the_hand_over_is_an_asynchronous_invocation_of_the_notifier(
        world: World, status: int, accepted: bool) -> None:
    client = aws.central_client("lambda", "us-east-1")
    event = {"source": remediation_expiry.SOURCE, "detail": {}}
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": status}, {
            "FunctionName": NOTIFIER, "InvocationType": "Event", "Payload": json.dumps(event).encode()})
        if accepted:
            inventory.hand_over(NOTIFIER)(event)
        else:
            with pytest.raises(RuntimeError, match="answered 200"):
                inventory.hand_over(NOTIFIER)(event)
        stub.assert_no_pending_responses()


def test_an_event_of_another_source_announces_no_expiry() -> None:
    assert remediation_expiry.announced({"source": "aws.ec2", "detail": {"sgwatch": {"kept_by": "U1"}}}) is None
