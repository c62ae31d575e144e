"""Each capability's settings, read from the environment per invocation, and the own account.

A warm Lambda container runs many invocations: nothing read from the environment or from
the invocation may stay behind for the next one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from moto import mock_aws

from sgwatch import accounts, aws, review_pack as review, settings
from sgwatch.cloudtrail import SgEvent
from sgwatch.sg_change_alerts import changes
from sgwatch.sg_inventory import record

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def context(account: str) -> SimpleNamespace:
    return SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:us-east-1:{account}:function:sgwatch-changes")


def test_the_own_account_follows_each_invocation_never_the_first() -> None:
    # given two invocations of one warm process with different function ARNs
    # then each sees its own account (nothing was kept from the first)
    assert aws.function_account(context("111111111111")) == "111111111111"
    assert aws.function_account(context("222222222222")) == "222222222222"


def test_without_a_function_arn_the_own_account_comes_from_sts() -> None:
    with mock_aws():
        assert aws.function_account(None) == "123456789012"
        assert aws.function_account(SimpleNamespace(invoked_function_arn="")) == "123456789012"


def test_an_event_of_another_account_is_not_the_own_account() -> None:
    ev = SgEvent(event_id="e-1", account_id="111111111111")
    assert changes.is_own_account(ev, context("111111111111"))
    assert not changes.is_own_account(ev, context("222222222222"))


def test_an_unknown_own_account_counts_as_another_account(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> tuple[str, str]:
        raise RuntimeError("no credentials")

    monkeypatch.setattr(aws, "own_identity", broken)
    assert not changes.is_own_account(SgEvent(event_id="e-2", account_id="111111111111"), None)


def test_notifier_settings() -> None:
    env = {"ALERT_TOPIC_ARN": f" {TOPIC} ", "EVIDENCE_BUCKET": "b", "EVIDENCE_PREFIX": "sg",
           "SLACK_TOKEN_SECRET_ARN": "arn:secret", "SLACK_CHANNEL_ID": "C1"}
    found = changes.Settings.from_env(env)
    assert found.topic_arn == TOPIC
    assert found.evidence == settings.Evidence("b", "sg/")
    assert found.slack == settings.Slack("arn:secret", "C1")
    assert changes.Settings.from_env({"ALERT_TOPIC_ARN": TOPIC}) == changes.Settings(TOPIC)


def test_notifier_settings_need_the_topic() -> None:
    with pytest.raises(settings.SettingsError, match="ALERT_TOPIC_ARN is not set"):
        changes.Settings.from_env({"EVIDENCE_BUCKET": "b"})


def test_inventory_and_review_settings_need_the_bucket() -> None:
    with pytest.raises(settings.SettingsError, match="EVIDENCE_BUCKET is not set: the inventory"):
        record.Settings.from_env({})
    with pytest.raises(settings.SettingsError, match="EVIDENCE_BUCKET is not set: the review pack"):
        review.Settings.from_env({"ALERT_TOPIC_ARN": TOPIC})
    found = review.Settings.from_env({"EVIDENCE_BUCKET": "b", "SCHEDULE_TIMEZONE": "Asia/Tokyo"})
    assert (found.evidence.prefix, found.schedule_timezone, found.topic_arn, found.slack) == (
        "security-groups/", "Asia/Tokyo", "", None)


def test_reach_settings_parse_lists_flags_and_numbers_once() -> None:
    found = accounts.Settings.from_env({
        "ACCOUNTS": "222222222222, 333333333333,,222222222222", "ACCOUNTS_FROM_ORGANIZATIONS": " True ",
        "EXCLUDED_ACCOUNTS": "333333333333", "REGIONS": "eu-west-1, us-east-1,eu-west-1", "MAX_WORKERS": "3",
    })
    assert found == accounts.Settings(("222222222222", "333333333333"), True, ("333333333333",),
                                      accounts.DEFAULT_MEMBER_ROLE, 3, ("eu-west-1", "us-east-1"))
    assert accounts.Settings.from_env({}).regions == (aws.own_region(),)


@pytest.mark.parametrize(("name", "value"), [("ACCOUNTS_FROM_ORGANIZATIONS", "maybe"), ("MAX_WORKERS", "0"),
                                             ("MAX_WORKERS", "many")])
def test_a_bad_reach_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(settings.SettingsError, match=name):
        accounts.Settings.from_env({name: value})


@pytest.mark.parametrize(("env", "ports"), [
    ({}, (80, 443)),  # unset (a deployment that predates the variable): the default
    ({"AUTHORIZED_PUBLIC_PORTS": ""}, ()),  # authorized_public_ports = []: none
    ({"AUTHORIZED_PUBLIC_PORTS": "443, 8443,443"}, (443, 8443)),
    ({"AUTHORIZED_PUBLIC_PORTS": "0,65535"}, (0, 65535)),
])
def test_authorized_public_ports_from_the_environment(env: dict[str, str], ports: tuple[int, ...]) -> None:
    assert settings.authorized_public_ports(env) == ports
    # and every function that rates rules reads them the same way
    env = {**env, "ALERT_TOPIC_ARN": TOPIC, "EVIDENCE_BUCKET": "b"}
    for config in (changes.Settings, record.Settings, review.Settings):
        assert config.from_env(env).authorized_public_ports == ports


@pytest.mark.parametrize("value", ["80,http", "-1", "65536", "4.5"])
def test_an_authorized_public_port_that_is_no_port_is_a_clear_error(value: str) -> None:
    with pytest.raises(settings.SettingsError, match="AUTHORIZED_PUBLIC_PORTS"):
        settings.authorized_public_ports({"AUTHORIZED_PUBLIC_PORTS": value})
