"""Settings of the unused-group audit, the Security Hub report and the reachability check.

Each is read from the environment once per invocation through sgwatch.settings; a bad value
fails with a message naming its variable, never a silent default.
"""

from __future__ import annotations

import pytest

from sgwatch import settings
from sgwatch.reachability_check import reachability_run
from sgwatch.securityhub_report import findings_report
from sgwatch.unused_sg_audit import audit

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
SLACK = {"SLACK_TOKEN_SECRET_ARN": "arn:secret", "SLACK_CHANNEL_ID": "C1"}


def test_audit_settings() -> None:
    found = audit.Settings.from_env({
        "EVIDENCE_BUCKET": "b", "EVIDENCE_PREFIX": "sg", "GRACE_DAYS": " 7 ", "ALLOW_PARTIAL": "Yes",
        "SECURITYHUB_SYNC": "on", "SECURITYHUB_CONTROL_IDS": "EC2.22, EC2.2,,EC2.22", "ALERT_TOPIC_ARN": TOPIC,
    })
    assert found == audit.Settings(settings.Evidence("b", "sg/"), "sgwatch:keep", 7, True, True, ("EC2.22", "EC2.2"),
                                   TOPIC)
    defaults = audit.Settings.from_env({"EVIDENCE_BUCKET": "b", "EXEMPT_TAG_KEY": " keep "})
    assert (defaults.exempt_tag_key, defaults.grace_days, defaults.allow_partial, defaults.securityhub_sync,
            defaults.control_ids, defaults.topic_arn) == ("keep", 0, False, False, ("EC2.22",), "")


@pytest.mark.parametrize(("name", "value"), [("EVIDENCE_BUCKET", ""), ("GRACE_DAYS", "-1"), ("ALLOW_PARTIAL", "maybe"),
                                             ("SECURITYHUB_SYNC", "2")])
def test_a_bad_audit_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(settings.SettingsError, match=name):
        audit.Settings.from_env({"EVIDENCE_BUCKET": "b", name: value})


def test_report_settings_sort_lists_and_default_to_reporting_when_empty() -> None:
    found = findings_report.Settings.from_env({
        **SLACK, "CONTROL_IDS": "S3.1, EC2.2,,S3.1", "SEVERITIES": "high,critical", "OWNER_SLACK_IDS": '{"a": "U1"}',
    })
    assert (found.slack, found.control_ids, found.severities, found.owner_slack_ids) == (
        settings.Slack("arn:secret", "C1"), ("EC2.2", "S3.1"), ("CRITICAL", "HIGH"), {"a": "U1"})
    assert (found.owner_tag_key, found.report_when_empty, found.alert_topic_arn) == ("Owner", True, "")
    assert not findings_report.Settings.from_env({**SLACK, "REPORT_WHEN_EMPTY": "off"}).report_when_empty


@pytest.mark.parametrize(("name", "value"), [("REPORT_WHEN_EMPTY", "sometimes"), ("OWNER_SLACK_IDS", "[1]"),
                                             ("SEVERITIES", "LOUD"), ("SLACK_CHANNEL_ID", "")])
def test_a_bad_report_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(settings.SettingsError, match=name):
        findings_report.Settings.from_env({**SLACK, name: value})


def test_check_settings_keep_the_path_order_and_take_slack_only_when_complete() -> None:
    env = {"EVIDENCE_BUCKET": "b", "ALERT_TOPIC_ARN": TOPIC, "PATH_IDS": "nip-2, nip-1,,nip-2"}
    found = reachability_run.Settings.from_env({**env, **SLACK})
    assert found == reachability_run.Settings(settings.Evidence("b", "security-groups/"), TOPIC, ("nip-2", "nip-1"),
                                              settings.Slack("arn:secret", "C1"))
    assert reachability_run.Settings.from_env({**env, "SLACK_CHANNEL_ID": "C1"}).slack is None


@pytest.mark.parametrize("name", ["EVIDENCE_BUCKET", "ALERT_TOPIC_ARN"])
def test_the_check_needs_its_bucket_and_topic(name: str) -> None:
    env = {"EVIDENCE_BUCKET": "b", "ALERT_TOPIC_ARN": TOPIC, name: ""}
    with pytest.raises(settings.SettingsError, match=f"{name} is not set"):
        reachability_run.Settings.from_env(env)
