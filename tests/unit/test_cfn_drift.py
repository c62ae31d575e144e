"""CloudFormation drift detection read as declarations (:mod:`sgwatch.cfn_drift`), against a loopback fake of AWS's
documented Query-protocol answers (the emulator has no drift detection), and the drift it makes of live rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.endpoint
import pytest

from sgwatch import aws, cfn_drift
from sgwatch.drift import drift

from .fake_cloudformation import FakeCloudFormation, FakeStack, resource, stack_arn

ACCOUNT, REGION = "111111111111", "eu-west-1"
WEB_GROUP = {"GroupDescription": "web", "GroupName": "web", "VpcId": "vpc-1",
             "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8",
                                       "Description": "https"}],
             "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}
SSH_RULE = {"GroupId": "sg-web", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.1.0.0/16"}


def live(rule_id: str, direction: str, proto: str, low: str, high: str, peer: str, description: str = "",
         group: str = "sg-web") -> list[str]:
    """A snapshot row (:data:`sgwatch.rules.SNAPSHOT_HEADER`)."""
    return [ACCOUNT, REGION, "vpc-1", group, group[3:], "", direction, rule_id, proto, low, high, "ipv4", peer,
            description]


LIVE = [live("sgr-1", "ingress", "tcp", "443", "443", "10.0.0.0/8", "https"),
        live("sgr-2", "egress", "-1", "", "", "0.0.0.0/0"),
        live("sgr-3", "ingress", "tcp", "22", "22", "10.1.0.0/16")]


def web_stack(status: str = "IN_SYNC", ssh_status: str = "IN_SYNC", **stack: Any) -> FakeStack:
    """A stack declaring sg-web with an inline HTTPS rule and a separate SSH ingress resource."""
    return FakeStack("network", resources=[
        resource("WebGroup", cfn_drift.GROUP, "sg-web", status, WEB_GROUP),
        resource("WebSsh", cfn_drift.INGRESS, "web-ssh-1", ssh_status, SSH_RULE)], **stack)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries without sleeping between attempts (the attempts are what is counted)."""
    monkeypatch.setattr(botocore.endpoint, "time", type("NoWait", (), {"sleep": staticmethod(lambda _: None)}))


class Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def check(fake: FakeCloudFormation, wait: float = 60) -> tuple[cfn_drift.Stacks, Clock]:
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=fake.origin, aws_access_key_id="x",
                       aws_secret_access_key="x", config=aws.RETRY_CONFIG)
    clock = Clock()
    return cfn_drift.read_stacks(cfn, ACCOUNT, REGION, wait, clock.sleep, clock), clock


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[FakeCloudFormation] = []

    def start(*stacks: FakeStack, **kwargs: Any) -> FakeCloudFormation:
        fake = FakeCloudFormation(list(stacks), **kwargs).__enter__()
        servers.append(fake)
        return fake

    yield start
    for fake in servers:
        fake.__exit__(None, None, None)


def test_a_stack_in_sync_declares_its_rules_and_its_separate_ingress_is_no_drift(serve: Any) -> None:
    fake = serve(web_stack(), FakeStack("no-groups"))
    found, _ = check(fake)
    assert found.not_checked == [] and found.stack_ids == {stack_arn("network")}
    # detection asked for the security-group resources of the one stack holding them, nothing else
    [detect] = fake.actions("DetectStackDrift")
    assert {k: v for k, v in detect.items() if k.startswith("LogicalResourceIds")} == {
        "LogicalResourceIds.member.1": ["WebGroup"], "LogicalResourceIds.member.2": ["WebSsh"]}
    assert {(r.address, r.direction, r.from_port, r.peer) for r in found.declared.rules} == {
        ("WebGroup", "ingress", "443", "10.0.0.0/8"), ("WebGroup", "egress", "", "0.0.0.0/0"),
        ("WebSsh", "ingress", "22", "10.1.0.0/16")}
    # and the live group, whose SSH rule comes from the ingress resource, has no drift
    assert drift(LIVE, found.declared, ACCOUNT, REGION, {}, ()) == []
    # the calls made are the actions the read policy grants for them
    assert {f"cloudformation:{action}" for action, _ in fake.requests} == set(cfn_drift.IAM_ACTIONS)


def test_a_drifted_rule_is_changed_and_an_undeclared_one_unmanaged_with_the_stack_and_logical_id(serve: Any) -> None:
    # Given CloudFormation reports the SSH resource MODIFIED (widened by hand) and a rule added to the group
    fake = serve(web_stack(ssh_status="MODIFIED"))
    found, _ = check(fake)
    widened = [*LIVE[:2], live("sgr-3", "ingress", "tcp", "22", "2222", "10.1.0.0/16"),
               live("sgr-4", "ingress", "tcp", "3389", "3389", "0.0.0.0/0")]
    rows = {(r.rule_id, r.drift, r.declared_in, r.declared_address)
            for r in drift(widened, found.declared, ACCOUNT, REGION, {}, ())}
    assert rows == {("sgr-3", "changed", stack_arn("network"), "WebSsh"), ("sgr-4", "unmanaged-rule", "", "")}


def test_a_deleted_resource_is_a_missing_rule_of_the_stack(serve: Any) -> None:
    fake = serve(web_stack(ssh_status="DELETED"))
    fake.stacks[stack_arn("network")].resources[1]["ExpectedProperties"] = None  # AWS returns none for DELETED
    found, _ = check(fake)
    assert [(r.drift, r.direction, r.declared_in, r.declared_address) for r in found.deleted] == [
        ("missing-rule", "ingress", stack_arn("network"), "WebSsh")]
    assert found.not_checked == []


@pytest.mark.parametrize("status", ["NOT_CHECKED", "UNKNOWN"])
def test_a_resource_cloudformation_could_not_check_is_not_checked(serve: Any, status: str) -> None:
    found, _ = check(serve(web_stack(ssh_status=status)))
    assert found.not_checked == [f"{stack_arn('network')}: WebSsh not checked ({status})"]


def test_a_failed_detection_is_not_checked_with_its_reason(serve: Any) -> None:
    fake = serve(web_stack(detection=["DETECTION_IN_PROGRESS", "DETECTION_FAILED"], reason="Failed to detect drift"))
    found, _ = check(fake)
    assert found.not_checked == [f"{stack_arn('network')}: not checked, drift detection failed "
                                 "(Failed to detect drift)"]
    assert found.declared.rules == [] and fake.actions("DescribeStackResourceDrifts") == []


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_a_stack_in_progress_is_not_checked_and_not_detected(serve: Any, status: str) -> None:
    fake = serve(FakeStack("network", status=status, resources=web_stack().resources))
    found, _ = check(fake)
    assert found.not_checked == [f"{stack_arn('network')}: not checked, the stack is {status}"]
    assert fake.actions("DetectStackDrift") == []


def test_a_detection_still_running_at_the_end_of_the_wait_is_not_checked(serve: Any) -> None:
    fake = serve(web_stack(detection=["DETECTION_IN_PROGRESS"]))
    found, clock = check(fake, wait=30)
    assert found.not_checked == [f"{stack_arn('network')}: not checked, its drift detection did not complete in 30 s"]
    # polled every few seconds until the wait ended, never longer
    assert sum(clock.slept) <= 30 + cfn_drift.POLL_EVERY and len(fake.actions("DescribeStackDriftDetectionStatus")) > 1


def test_a_detection_that_completes_within_the_wait_is_read(serve: Any) -> None:
    fake = serve(web_stack(detection=["DETECTION_IN_PROGRESS", "DETECTION_IN_PROGRESS", "DETECTION_COMPLETE"]))
    found, clock = check(fake)
    assert found.not_checked == [] and len(found.declared.rules) == 3 and clock.slept == [cfn_drift.POLL_EVERY] * 2


def test_throttling_is_retried_then_read(serve: Any) -> None:
    fake = serve(web_stack(), throttle={"DetectStackDrift": 2, "DescribeStackResourceDrifts": 1, "ListStacks": 1})
    found, _ = check(fake)
    assert found.not_checked == [] and len(found.declared.rules) == 3
    assert len(fake.actions("DetectStackDrift")) == 3 and len(fake.actions("DescribeStackResourceDrifts")) == 3


def test_a_group_without_declared_egress_keeps_the_default_egress_rule_as_declared(serve: Any) -> None:
    fake = serve(FakeStack("network", resources=[resource("WebGroup", cfn_drift.GROUP, "sg-web", "IN_SYNC",
                                                          {**WEB_GROUP, "SecurityGroupEgress": None})]))
    found, _ = check(fake)
    assert drift(LIVE[:2], found.declared, ACCOUNT, REGION, {}, ()) == []
