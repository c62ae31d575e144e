"""Alert texts: SNS subject and mail body, Slack message, event record."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sgwatch import cloudtrail, exposure, notify, provenance, slack
from sgwatch.cloudtrail import DELETED, RuleChange, SgEvent
from sgwatch.provenance import Provenance
from sgwatch.rules import Rule
from sgwatch.sg_change_alerts import alerts, severity
from sgwatch.sg_change_alerts.severity import Assessment
from tests.paths import REAL_PAYLOADS
from tests.unit.test_provenance import REAL_ORIGINS

EVENTS = Path(__file__).resolve().parents[1] / "events"
FIXTURES = sorted(EVENTS.glob("*.json"))
REAL = REAL_PAYLOADS / "cloudtrail"


def render(name: str, previous: list[Rule] | None = None) -> tuple[cloudtrail.SgEvent, str, str]:
    ev = cloudtrail.parse(json.loads((EVENTS / name).read_text()))
    changes = cloudtrail.resolve(ev, previous)
    result = severity.assess(ev)
    return ev, alerts.subject(ev, result.level), alerts.body(alerts.Alert(ev, changes, result))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_subject_is_short_ascii_one_line_naming_event_group_and_account(path: Path) -> None:
    ev, subject, _ = render(path.name)
    assert len(subject) < 100 and subject.isascii() and "\n" not in subject
    assert ev.event_name in subject and "111122223333" in subject
    assert (ev.group_ids[0] if ev.group_ids else ev.group_name) in subject


def test_subject_keeps_group_and_account_when_the_name_is_long() -> None:
    ev = SgEvent(event_name="UpdateSecurityGroupRuleDescriptionsIngress", account_id="111122223333",
                 group_ids=["sg-0123456789abcdef0"], group_name="ünïcode\nname-" + "x" * 200, error_code="Client.X")
    subject = alerts.subject(ev, "MEDIUM")
    assert len(subject) < 100 and subject.isascii() and "\n" not in subject
    assert "sg-0123456789abcdef0" in subject and subject.endswith("in 111122223333") and "FAILED" in subject


def test_subject_of_a_terraform_generated_group_name_is_one_sns_accepts() -> None:
    # given CreateSecurityGroup by Terraform with a long generated name: the subject used to be exactly
    # 100 characters, which SNS Publish refuses (it must be shorter than 100)
    ev = SgEvent(event_name="CreateSecurityGroup", account_id="999999999999", group_ids=["sg-07111150655b49758"],
                 group_name="bluegreen_alb_sg-20230117040516059800000001", known=True)
    # when the subject is built and made ready for SNS
    subject = alerts.subject(ev, "LOW")
    # then it is shorter than 100 characters as it is, and still names the group and the account
    assert len(subject) < 100 and notify.sns_subject(subject) == subject
    assert "sg-07111150655b49758 (bluegreen_alb_sg-" in subject and subject.endswith(" in 999999999999")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_body_lists_the_facts_a_reader_needs(path: Path) -> None:
    ev, _, body = render(path.name)
    for fact in (ev.event_name, ev.account_id, ev.region, ev.event_time, ev.actor.principal, ev.source_ip, ev.event_id):
        assert fact in body
    assert ev.user_agent[:60] in body
    if ev.group_ids:
        assert f"#SecurityGroup:groupId={ev.group_ids[0]}" in body


def test_body_of_world_ssh_shows_rule_description_and_session() -> None:
    _, _, body = render("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json")
    assert (
        'ADDED: ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) "temporary debug access" [sgr-0123456789abcdef0]'
        in body
    )
    assert "session alice@example.com" in body
    assert body.startswith("HIGH:")


def test_body_shows_group_references_prefix_lists_and_ipv6() -> None:
    _, _, body = render("AuthorizeSecurityGroupIngress_cloudformation_sgref_prefixlist.json")
    assert "from security group sg-05566778899aabbcc" in body and "from prefix list pl-63a5400b" in body
    _, _, body = render("AuthorizeSecurityGroupIngress_cli_iamuser_ipv6_range_covers_rdp.json")
    assert "tcp ports 3000-4000 from ::/0 (any IPv6 address)" in body


def test_body_of_a_failed_call_says_attempted_with_the_error() -> None:
    _, subject, body = render("AuthorizeSecurityGroupIngress_failed_unauthorized_ssh_world.json")
    assert "FAILED" in subject
    assert "ATTEMPTED - the call failed with Client.UnauthorizedOperation" in body
    assert "ATTEMPTED, NOT APPLIED" in body


def test_body_shows_before_and_after_of_a_modify() -> None:
    previous = [Rule("111122223333", "us-east-1", "", "sg-0f9e8d7c6b5a49382", "", "", "ingress",
                     "sgr-02222bbbb2222bbbb", "tcp", "443", "443", "ipv4", "192.168.0.0/16", "vpn")]
    _, _, body = render("ModifySecurityGroupRules_console_cidr_change.json", previous)
    assert 'before: ingress tcp port 443 from 192.168.0.0/16 "vpn" [sgr-02222bbbb2222bbbb]' in body
    assert 'after:  ingress tcp port 443 from 192.168.64.0/18 "vpn (new range)" [sgr-02222bbbb2222bbbb]' in body


def test_body_says_previous_state_unknown_only_without_any_state() -> None:
    _, _, body = render("ModifySecurityGroupRules_console_cidr_change.json", None)
    assert "before: previous state unknown" in body


def test_body_lines_cannot_be_forged_by_user_text() -> None:
    ev = SgEvent(event_name="CreateSecurityGroup", group_ids=["sg-1"], group_name="x\nSeverity: LOW", known=True)
    body = alerts.body(alerts.Alert(ev, [], severity.assess(ev)))
    assert [line for line in body.splitlines() if line.startswith("Severity")] == ["Severity:       INFO"]


FORGED = "Severity:  INFO (benign change approved by CAB-1234)"
BREAKS = {"LF": "\n", "CR": "\r", "LS": "\u2028", "NEL": "\x85", "RS": "\x1e"}


def _crafted(field: str, value: str) -> tuple[SgEvent, list[cloudtrail.RuleChange]]:
    """A failed AuthorizeSecurityGroupIngress whose caller put ``value`` into ``field``."""
    rule = {"protocol": "tcp", "from_port": "22", "to_port": "22", "peer": "0.0.0.0/0", "rule_id": "sgr-1",
            "description": "ops"}
    group_ids, error_code = ["sg-0123456789abcdef0"], "Client.UnauthorizedOperation"
    if field in rule:
        rule[field] = value
    elif field == "group_id":
        group_ids = [value]
    elif field == "error_code":
        error_code = value
    after = Rule("111122223333", "us-east-1", "", group_ids[0], "", "", "ingress", rule["rule_id"], rule["protocol"],
                 rule["from_port"], rule["to_port"], "ipv4", rule["peer"], rule["description"])
    changes = [cloudtrail.RuleChange("added", after=after)]
    if field == "rule_id_only":  # a description update named by rule id alone
        changes.append(cloudtrail.RuleChange("description", after=Rule(*("",) * 7, value, *("",) * 6)))
    ev = SgEvent(event_name="AuthorizeSecurityGroupIngress", account_id="111122223333", region="us-east-1",
                 group_ids=group_ids, group_name="web", error_code=error_code, known=True, changes=changes)
    return ev, changes


@pytest.mark.parametrize("brk", BREAKS.values(), ids=BREAKS.keys())
@pytest.mark.parametrize(
    "field", ["group_id", "error_code", "from_port", "to_port", "protocol", "peer", "rule_id", "rule_id_only"]
)
def test_no_user_value_adds_a_line_to_the_mail_or_the_slack_message(field: str, brk: str) -> None:
    # given a failed call whose caller crafted one value to add a line of its own
    ev, changes = _crafted(field, f"x{brk}{FORGED}")
    assessment = severity.assess(ev)
    # when the mail and the Slack message are rendered
    mail = alerts.body(alerts.Alert(ev, changes, assessment))
    message = alerts.slack_message(alerts.Alert(ev, changes, assessment))
    slack_lines = [line for block in message["blocks"]
                   for text in [block.get("text", {}).get("text", "")] + [e["text"] for e in block.get("elements", [])]
                   for line in text.splitlines()]
    # then the only severity line a reader sees is ours, and the crafted text stays inside its own line
    assert [line for line in mail.splitlines() if line.lstrip(" -•*0123456789.").startswith("Severity")] == [
        f"Severity:       {assessment.level}"]
    assert not [line for line in slack_lines if line.lstrip(" -•*0123456789.").startswith("Severity")]
    assert "x severity:" in mail.lower()  # shown (cut to its field's length), not dropped


def test_deleted_group_lists_what_it_had() -> None:
    had = Rule("1", "r", "", "sg-1", "", "", "ingress", "sgr-1", "tcp", "22", "22", "ipv4", "10.0.0.0/8", "")
    lines = alerts.change_lines(RuleChange(DELETED, before=had))
    assert lines == ["GROUP DELETED, it had: ingress tcp port 22 from 10.0.0.0/8 (no description) [sgr-1]"]


@pytest.mark.parametrize(
    ("region", "domain"),
    [("us-east-1", "us-east-1.console.aws.amazon.com"), ("cn-north-1", "cn-north-1.console.amazonaws.cn"),
     ("us-gov-west-1", "us-gov-west-1.console.amazonaws-us-gov.com")],
)
def test_console_link_per_partition(region: str, domain: str) -> None:
    assert alerts.console_url(region, "sg-1") == f"https://{domain}/ec2/home?region={region}#SecurityGroup:groupId=sg-1"


def test_attributes_carry_severity_and_event_name() -> None:
    ev, _, _ = render("AuthorizeSecurityGroupIngress_console_sso_ssh_world.json")
    found = alerts.attributes(alerts.Alert(ev, [], Assessment("HIGH")))
    assert found == {"severity": "HIGH", "event_name": "AuthorizeSecurityGroupIngress"}


def test_slack_message_escapes_user_text() -> None:
    # given a group name and description crafted to ping everyone and break formatting
    nasty = Rule("1", "r", "", "sg-1", "", "", "ingress", "sgr-1", "tcp", "22", "22", "ipv4", "0.0.0.0/0",
                 "<!channel> @here *bold* <@U123ABC>")
    ev = SgEvent(event_name="AuthorizeSecurityGroupIngress", group_ids=["sg-1"], group_name="@channel <http://evil|x>",
                 known=True, account_id="1", region="us-east-1", changes=[cloudtrail.RuleChange("added", after=nasty)])
    message = alerts.slack_message(alerts.Alert(ev, ev.changes, severity.assess(ev)))
    text = json.dumps(message)
    assert "<!channel>" not in text and "<@U123ABC>" not in text and "<http://evil" not in text
    assert not re.search(r"(?<!\\u2060)@here\b", json.dumps(message, ensure_ascii=False).replace("@\u2060", ""))
    assert "@\u2060channel" in json.dumps(message, ensure_ascii=False)
    # and the console link is a real Slack link
    assert "<https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:groupId=sg-1|" in text


def test_slack_blocks_stay_within_limits_for_huge_events() -> None:
    changes = [cloudtrail.RuleChange("added", after=Rule("1", "r", "", "sg-1", "", "", "ingress", f"sgr-{i}", "tcp",
                                                          str(i), str(i), "ipv4", "10.0.0.0/8", "d" * 200))
               for i in range(300)]
    ev = SgEvent(event_name="AuthorizeSecurityGroupIngress", group_ids=["sg-1"], known=True, changes=changes)
    message = alerts.slack_message(alerts.Alert(ev, changes, severity.assess(ev)))
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])


def test_event_record_keeps_the_contract_keys() -> None:
    ev = cloudtrail.parse(json.loads((EVENTS / "ModifySecurityGroupRules_console_cidr_change.json").read_text()))
    changes = cloudtrail.resolve(ev, None)
    record = alerts.event_record(alerts.Alert(ev, changes, severity.assess(ev)), "subj", "2025-03-04T11:10:05+00:00")
    for key in ("schema", "event_id", "event_name", "event_time", "account_id", "region", "group_ids", "group_name",
                "actor", "source_ip", "user_agent", "error_code", "error_message", "severity", "subject", "changes",
                "published_at", "detail"):
        assert key in record
    assert set(record["actor"]) == {"type", "arn", "principal", "session_name", "display"}
    assert record["changes"] == [{"action": "modified", "before": None, "after": {
        "group_id": "sg-0f9e8d7c6b5a49382", "direction": "", "rule_id": "sgr-02222bbbb2222bbbb", "protocol": "tcp",
        "from_port": "443", "to_port": "443", "peer_type": "ipv4", "peer": "192.168.64.0/18",
        "description": "vpn (new range)"}}]
    json.dumps(record)


# --- exposure and provenance -----------------------------------------------------------------


def _interface(number: int, description: str = "") -> dict[str, Any]:
    return {"NetworkInterfaceId": f"eni-{number:04d}", "Status": "in-use", "SubnetId": "subnet-1", "VpcId": "vpc-1",
            "Attachment": {"InstanceId": f"i-{number:04d}"} if not description else {}, "Description": description,
            "Association": {"PublicIp": f"54.0.0.{number}"}, "Groups": [{"GroupId": "sg-0123456789abcdef0"}]}


ROUTES = [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-1"}],
           "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]}]


def _section(*interfaces: dict[str, Any]) -> alerts.ExposureSection:
    found = exposure.Exposure.of(list(interfaces), ROUTES)
    return alerts.ExposureSection.of(exposure.summarise("sg-0123456789abcdef0", found))


def _world_ssh() -> tuple[SgEvent, list[RuleChange]]:
    ev, changes = _crafted("rule_id", "sgr-1")
    return replace(ev, error_code=""), changes


def test_exposure_section_lists_the_exposed_resources() -> None:
    ev, changes = _world_ssh()
    section = _section(_interface(1))
    body = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), exposure=section))
    assert "Exposure: i-0001 eni-0001 54.0.0.1 subnet-1 igw-1\n" in body
    assert section.exposed is True and section.looked_up is True and section.attribute() == "true"


def test_exposure_section_of_many_resources_shows_ten_and_counts_the_rest() -> None:
    ev, changes = _world_ssh()
    section = _section(*(_interface(n) for n in range(1, 14)))
    lines = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), exposure=section)).splitlines()
    start = lines.index("Exposure:")
    shown = [f" - i-{n:04d} eni-{n:04d} 54.0.0.{n} subnet-1 igw-1" for n in range(1, 11)]
    assert lines[start + 1:start + 12] == [*shown, " - and 3 more internet-reachable interfaces"]


def test_exposure_section_of_an_unattached_group() -> None:
    ev, changes = _world_ssh()
    section = _section()
    body = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), exposure=section))
    assert "Exposure: not attached to any internet-reachable interface\n" in body
    assert section.exposed is False and section.attribute() == "false"


def test_a_lookup_that_failed_says_so_and_its_attribute_is_unknown() -> None:
    ev, changes = _world_ssh()
    section = alerts.ExposureSection.not_looked_up("AccessDenied on DescribeNetworkInterfaces\nSeverity: LOW")
    body = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), exposure=section))
    assert "Exposure: not looked up: AccessDenied on DescribeNetworkInterfaces Severity: LOW\n" in body
    assert section.exposed is None and section.looked_up is False and section.attribute() == "unknown"
    assert alerts.attributes(alerts.Alert(ev, changes, Assessment("HIGH"), section))["exposed"] == "unknown"


def test_an_interface_description_cannot_add_a_line_or_ping_slack() -> None:
    ev, changes = _world_ssh()
    section = _section(_interface(7, f"<!channel> *x*\n{FORGED}"))
    mail = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), exposure=section))
    assert [line for line in mail.splitlines() if line.startswith("Severity")] == ["Severity:       HIGH"]
    message = alerts.slack_message(alerts.Alert(ev, changes, severity.assess(ev), exposure=section))
    text = json.dumps(message)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    (block,) = [b for b in message["blocks"] if "Exposure" in b.get("text", {}).get("text", "")]
    assert block["text"]["text"].startswith("*Exposure:* &lt;!channel&gt;")
    assert "\n" not in block["text"]["text"]


def _provenance(**kwargs: Any) -> Provenance:
    return Provenance(**{"origin": "console", "detail": "signin.amazonaws.com",
                         "principal": "arn:aws:iam::111122223333:role/ops", "change_control": "out-of-band", **kwargs})


def test_changed_via_line_in_mail_and_slack() -> None:
    ev, changes = _world_ssh()
    prov = _provenance(manual_change=True)
    mail = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), provenance=prov))
    (line,) = [line for line in mail.splitlines() if line.startswith("Changed via:")]
    assert line.split(":", 1)[1].strip() == prov.line()
    assert "WARNING: manual change to an IaC-managed group" in line
    message = alerts.slack_message(alerts.Alert(ev, changes, severity.assess(ev), provenance=prov))
    assert f"*Changed via:* {slack.escape(prov.line())}" in message["blocks"][1]["text"]["text"]


def test_attributes_carry_exposure_and_provenance() -> None:
    ev, _ = _world_ssh()
    attributes = alerts.attributes(alerts.Alert(ev, [], Assessment("CRITICAL"), _section(_interface(1)),
                                                _provenance(change_control="approved", origin="terraform")))
    assert attributes == {"severity": "CRITICAL", "event_name": "AuthorizeSecurityGroupIngress", "exposed": "true",
                          "origin": "terraform", "change_control": "approved"}


def test_event_record_keeps_provenance_and_exposure() -> None:
    ev, changes = _world_ssh()
    prov = _provenance()
    record = alerts.event_record(alerts.Alert(ev, changes, severity.assess(ev), _section(_interface(1)), prov), "subj",
                                 "2025-03-04T11:10:05+00:00")
    assert record["provenance"] == prov.to_record() and Provenance.from_record(record["provenance"]) == prov
    assert record["exposure"] == {"exposed": True, "looked_up": True,
                                  "lines": ["i-0001 eni-0001 54.0.0.1 subnet-1 igw-1"]}
    failed = alerts.event_record(alerts.Alert(ev, changes, severity.assess(ev), alerts.ExposureSection.not_looked_up(
        "Throttling on DescribeRouteTables")), "subj", "now")
    assert failed["exposure"] == {"exposed": None, "looked_up": False,
                                  "lines": ["not looked up: Throttling on DescribeRouteTables"]}
    json.dumps(record)


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*.json")) if REAL.is_dir() else [])
def test_changed_via_line_of_each_recorded_payload(name: str) -> None:
    event = json.loads((REAL / name).read_text())
    ev = cloudtrail.parse(event)
    prov = provenance.provenance(event, ["arn:aws:iam::*:role/Shibboleth-InfraMgt"])
    changes = cloudtrail.resolve(ev, None)
    mail = alerts.body(alerts.Alert(ev, changes, severity.assess(ev), provenance=prov))
    (line,) = [line for line in mail.splitlines() if line.startswith("Changed via:")]
    expected_origin, expected_detail = REAL_ORIGINS[name]
    assert line.split(":", 1)[1].strip().startswith(f"{expected_origin} ({expected_detail}) by ")
    assert line.endswith("change control: approved" if "kuali" in name else "change control: out-of-band")
    assert alerts.attributes(alerts.Alert(ev, [], Assessment("LOW"), provenance=prov))["origin"] == expected_origin
