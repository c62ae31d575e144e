"""Keep as exception: the Keep dialog, the exception written once, and the notifier honouring it.

The world of tests/unit/test_remediation.py (moto, the loopback fake Slack, both functions' environments):
an alert's Keep button is clicked as Slack would send it, the dialog Slack was asked to open is submitted
back (its private metadata as the function set it), and the queued job is run from the work queue.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from remediation import handler

from sg_change_alerts import handler as notifier
from sgwatch import remediation_prompt
from sgwatch.remediation import interaction, signature
from tests.unit.test_remediation import APPROVER, CHANNEL, EVENTS, OUTSIDER, PREFIX, World, click, request, world

__all__ = ["world"]  # the fixture

KEEP = remediation_prompt.KEEP_ACTION_ID
TODAY = datetime.now(UTC).date()


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]


def open_dialog(world: World, message: dict[str, Any]) -> dict[str, Any]:
    """Click Keep on the alert; the dialog Slack was asked to open."""
    assert click(world, world.click_body(message, action_id=KEEP)) == interaction.ACCEPTED
    opened = world.slack.calls("views.open")[-1]
    view = opened.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def submission(view: dict[str, Any], reason: str = "vendor support session", expires: str | None = None,
               user: str = APPROVER) -> bytes:
    chosen = (TODAY + timedelta(days=7)).isoformat() if expires is None else expires
    payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0TEAM"},
               "view": {"id": "V1", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
                        "state": {"values": {
                            interaction.REASON_BLOCK: {interaction.REASON_ACTION: {"type": "plain_text_input",
                                                                                   "value": reason}},
                            interaction.EXPIRY_BLOCK: {interaction.EXPIRY_ACTION: {"type": "datepicker",
                                                                                   "selected_date": chosen}}}}}}
    return urlencode({"payload": json.dumps(payload)}).encode()


def keep(world: World, rule_id: str, **kwargs: Any) -> dict[str, Any]:
    """Alert, click Keep, submit the dialog, run the job: the job's batch answer."""
    view = open_dialog(world, world.alert(rule_id))
    assert click(world, submission(view, **kwargs)) == interaction.ACCEPTED
    return world.run_jobs(world.queued())


def second_alert(world: World, rule_id: str, event_id: str, port: int = 22) -> dict[str, Any]:
    """Another CloudTrail event adding ``rule_id`` (world-open ``port``, SSH by default): its Slack message."""
    text = (EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json").read_text()
    text = text.replace('"fromPort": 22', f'"fromPort": {port}').replace('"toPort": 22', f'"toPort": {port}')
    text = text.replace("db3668d1-3c4f-5b0d-9e6a-92f1304dd232", event_id)
    text = text.replace("111122223333", "123456789012").replace("sg-0a1b2c3d4e5f60718", world.group)
    text = text.replace("sgr-0123456789abcdef0", rule_id)
    notifier.lambda_handler(json.loads(text), handler_context())
    return world.slack.calls("chat.postMessage")[-1].params


def handler_context() -> Any:
    from tests.unit.test_remediation import CONTEXT
    return CONTEXT


def re_add(world: World, rule_id: str) -> str:
    """The same world-SSH rule removed and added again by hand (a new rule id)."""
    world.ec2.revoke_security_group_ingress(GroupId=world.group, SecurityGroupRuleIds=[rule_id])
    return world.world_ssh()


# --- the button and the dialog -------------------------------------------------------------------


def test_a_qualifying_alert_offers_keep_as_exception_beside_revert(world: World) -> None:
    (actions,) = [b for b in blocks_of(world.alert(world.world_ssh())) if b["type"] == "actions"]
    revert_button, keep_button = actions["elements"]
    assert keep_button["action_id"] == KEEP and keep_button["value"] == revert_button["value"]


def test_a_signed_keep_click_opens_the_dialog_and_queues_nothing(world: World) -> None:
    view = open_dialog(world, world.alert(world.world_ssh()))
    assert world.slack.calls("views.open")[-1].params["trigger_id"] == "1234567890.123456.abcdef"
    assert view["callback_id"] == remediation_prompt.KEEP_CALLBACK_ID
    last = (TODAY + timedelta(days=30)).isoformat()
    assert view["blocks"][1]["element"]["initial_date"] == last and last in view["blocks"][1]["hint"]["text"]
    assert world.queued() == [] and world.keys("/remediation/") == []


def test_a_keep_click_slack_cannot_take_in_time_is_answered_unavailable(world: World) -> None:
    world.slack.fail("views.open", status=500, times=1)
    answer = click(world, world.click_body(world.alert(world.world_ssh()), action_id=KEEP))
    assert answer == interaction.UNAVAILABLE and len(world.slack.calls("views.open")) == 1  # one attempt
    assert world.queued() == []


@pytest.mark.parametrize("kind", ["unsigned", "stale", "tampered"])
def test_a_forged_or_stale_submission_is_refused_and_queues_nothing(world: World, kind: str) -> None:
    body = submission(open_dialog(world, world.alert(world.world_ssh())))
    event = {
        "unsigned": lambda: request(body, signature_value=""),
        "stale": lambda: request(body, timestamp=int(time.time()) - signature.WINDOW_SECONDS - 5),
        "tampered": lambda: {**request(body), "body": body.replace(APPROVER.encode(), OUTSIDER.encode()).decode()},
    }[kind]()
    assert handler.lambda_handler(event, handler_context()) == interaction.REFUSED
    assert world.queued() == []


@pytest.mark.parametrize(("reason", "expires", "field"), [
    ("why", (TODAY - timedelta(days=1)).isoformat(), interaction.EXPIRY_BLOCK),
    ("why", (TODAY + timedelta(days=31)).isoformat(), interaction.EXPIRY_BLOCK),
    ("why", "", interaction.EXPIRY_BLOCK),
    ("why", "2026-02-30", interaction.EXPIRY_BLOCK),
    ("   ", None, interaction.REASON_BLOCK),
])
def test_a_submission_out_of_range_is_answered_with_a_clear_error_and_queues_nothing(
        world: World, reason: str, expires: str | None, field: str) -> None:
    body = submission(open_dialog(world, world.alert(world.world_ssh())), reason=reason, expires=expires)
    answer = click(world, body)
    shown = json.loads(answer["body"])
    assert answer["statusCode"] == 200 and shown["response_action"] == "errors" and list(shown["errors"]) == [field]
    assert (expires or "2026-02-30") not in shown["errors"][field] or expires == ""
    assert world.queued() == []


# --- the job: approver, write-once exception, message ---------------------------------------------


def test_an_approver_keeps_the_change_recorded_once_with_who_why_until_when_and_the_rule(world: World) -> None:
    rule_id = world.world_ssh()
    expires = (TODAY + timedelta(days=7)).isoformat()
    assert keep(world, rule_id, reason="vendor <!channel> *session*") == {"batchItemFailures": []}
    assert rule_id in world.rules()  # kept, not reverted
    (decision,) = world.keys("-keep.json")
    assert decision.startswith(f"{PREFIX}123456789012/us-east-1/remediation/2025/03/04/db3668d1")
    (index,) = world.keys("/remediation/exceptions/")
    assert index.endswith(f"/exceptions/{world.group}/{expires}-db3668d1-3c4f-5b0d-9e6a-92f1304dd232.json")
    kept = world.read(decision)
    assert (kept["decided_by"], kept["kept_by"], kept["expires"]) == (APPROVER, APPROVER, expires)
    assert kept["reason"] == "vendor <!channel> *session*"
    (rule,) = kept["rules"]
    assert rule["rule_id"] == rule_id and (rule["protocol"], rule["from_port"], rule["peer"]) == ("tcp", "22",
                                                                                                   "0.0.0.0/0")
    (update,) = world.slack.calls("chat.update")
    assert "Kept as exception" in update.params["text"] and f"kept until {expires}" in update.params["text"]
    assert "<!channel>" not in update.params["text"] and "&lt;!channel&gt;" in update.params["text"]
    assert '"actions"' not in json.dumps(update.params["blocks"])
    assert "Changes" in json.dumps(update.params["blocks"])  # the alert's blocks stay


def test_a_non_approver_submission_keeps_nothing(world: World) -> None:
    rule_id = world.world_ssh()
    keep(world, rule_id, user=OUTSIDER)
    assert world.keys("/remediation/") == [] and world.slack.calls("chat.update") == []
    assert "approvers" in world.slack.calls("chat.postEphemeral")[-1].params["text"]


def test_a_kept_alert_cannot_be_reverted_nor_kept_again(world: World) -> None:
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    view = open_dialog(world, message)
    click(world, submission(view))
    world.run_jobs(world.queued())
    click(world, world.click_body(message))  # Revert on the same alert
    click(world, submission(view, reason="again"))
    world.run_jobs(world.queued())
    assert rule_id in world.rules() and world.keys("-revert.json") == [] and len(world.keys("-keep.json")) == 1
    told = [c.params["text"] for c in world.slack.calls("chat.postEphemeral")]
    assert told == ["This alert was already handled; nothing more was done."] * 2


def test_a_reverted_alert_cannot_be_kept(world: World) -> None:
    rule_id = world.world_ssh()
    message = world.alert(rule_id)
    click(world, world.click_body(message))
    world.run_jobs(world.queued())
    view = open_dialog(world, message)
    click(world, submission(view))
    world.run_jobs(world.queued())
    assert world.keys("-keep.json") == [] and world.keys("/exceptions/") == []


# --- the notifier honours a valid exception --------------------------------------------------------


def test_while_the_exception_is_valid_the_same_rule_raises_no_prompt(world: World) -> None:
    rule_id = world.world_ssh()
    keep(world, rule_id)
    again = re_add(world, rule_id)
    message = second_alert(world, again, "0f1e2d3c-0000-4000-8000-000000000001")
    text = json.dumps(blocks_of(message))
    assert '"actions"' not in text
    assert "kept as exception by U0APPROVER until" in text and "vendor support session" in text


def test_an_exception_of_another_rule_does_not_hide_the_prompt(world: World) -> None:
    keep(world, world.world_ssh())
    other = world.ec2.authorize_security_group_ingress(GroupId=world.group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    message = second_alert(world, other, "0f1e2d3c-0000-4000-8000-000000000002", port=3389)
    assert '"actions"' in json.dumps(blocks_of(message))


def test_an_expired_exception_prompts_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = world.world_ssh()
    keep(world, rule_id, expires=(TODAY + timedelta(days=2)).isoformat())
    later = datetime.combine(TODAY + timedelta(days=3), datetime.min.time(), UTC)
    monkeypatch.setattr(notifier, "_utcnow", lambda: later)
    message = second_alert(world, re_add(world, rule_id), "0f1e2d3c-0000-4000-8000-000000000003")
    text = json.dumps(blocks_of(message))
    assert '"actions"' in text and "kept as exception" not in text


def test_a_failed_exception_lookup_keeps_the_prompt_and_says_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = world.world_ssh()
    keep(world, rule_id)

    def refused(*_: Any, **__: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    monkeypatch.setattr(notifier.remediation_exceptions, "active", refused)
    message = second_alert(world, re_add(world, rule_id), "0f1e2d3c-0000-4000-8000-000000000004")
    text = json.dumps(blocks_of(message))
    assert '"actions"' in text and "exception lookup failed (AccessDenied on ListObjectsV2)" in text


def test_the_dialog_is_bounded_by_slacks_metadata_limit() -> None:
    ref = remediation_prompt.AlertRef("e1", "123456789012", "us-east-1", "2025/03/04")
    huge = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{n} " + "x" * 2900}} for n in range(40)]
    small = interaction.Click("keep", ref, APPROVER, CHANNEL, "1.2", huge[:1], trigger_id="t")
    big = interaction.Click("keep", ref, APPROVER, CHANNEL, "1.2", [{"type": "section", "text": {
        "type": "mrkdwn", "text": str(datetime.now()) * 300 + str(time.time_ns())}}] + huge, trigger_id="t")
    for one in (small, big):
        view = interaction.keep_dialog(one, date(2026, 1, 1), 30)
        assert len(view["private_metadata"]) <= interaction.MAX_METADATA
