"""The scenarios of the fault matrix: per function, a few representative runs on the emulator.

A scenario has a set-up (resources, earlier clean invocations: the state a run finds, made once), a
step (the change each run is about: a new rule, a new event; made before every run), the run itself
(one or more invocations: a scheduled run and the queued work it fans out to), and the checks of what a
fault may not do to the evidence: ``after_fault`` (right after the faulted run) and ``recovered`` (after
the next clean run of the same scenario: no lost change, no duplicate). ``degraded`` checks the
degradation a call declared optional in sgwatch/faults.py causes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.faults.engine import OWN_ACCOUNT, REGION, Run, Site, World

MEMBER = "222222222222"
BUCKET = "evidence"
PREFIX = "security-groups/"
EVENTS = Path(__file__).resolve().parents[1] / "events"

Check = Callable[..., list[str]]


def _none(*_: Any) -> list[str]:
    return []


@dataclass
class Scenario:
    name: str
    setup: Callable[[World], None]
    step: Callable[[World], None]
    run: Callable[[World, Run], None]
    after_fault: Check = _none
    recovered: Check = _none
    degraded: Check = _none
    reports: Callable[[Run], bool] = lambda run: False  # says what it could not do in its own words


@dataclass
class Function:
    handler: str
    scenarios: list[Scenario]
    securityhub: Callable[[], list[dict[str, Any]]] | None = None
    notes: list[str] = field(default_factory=list)


# --- shared helpers -----------------------------------------------------------------------------------


def env(**values: str) -> None:
    import os

    os.environ.update(values)


def groups(world: World, account: str, count: int = 2) -> list[str]:
    ec2 = world.client("ec2") if account == OWN_ACCOUNT else world.member_client(account, "ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    return [ec2.create_security_group(GroupName=f"g{account[-3:]}-{i}", Description="x", VpcId=vpc)["GroupId"]
            for i in range(count)]


def work_queue(world: World) -> str:
    url = str(world.client("sqs").create_queue(QueueName="sgwatch-work")["QueueUrl"])
    env(WORK_QUEUE_URL=url)
    return url


def queued(world: World, url: str) -> list[dict[str, Any]]:
    sqs, found = world.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages"):
        found += got
    return found


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": f"arn:aws:sqs:{REGION}:{OWN_ACCOUNT}:sgwatch-work",
        "awsRegion": REGION,
    } for m in messages]}


def fan_out(world: World, run: Run, event: dict[str, Any], url: str) -> None:
    """The scheduled invocation, then one queued invocation per batch of the work it queued, until the queue
    is empty (a part may queue a merge). Each batch is then deleted, as the event source mapping deletes what
    succeeded; a batch item failure is left to the queue's redrive (not run again, nor seen by a later run)."""
    world.invoke(event, run)
    sqs = world.client("sqs")
    while messages := queued(world, url):
        for i in range(0, len(messages), 10):
            batch = messages[i:i + 10]
            world.invoke(sqs_event(batch), run)
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])


def evidence(world: World, part: str) -> dict[str, bytes]:
    return {k.split("/", 1)[1]: v for k, v in world.objects().items() if k.startswith(f"{BUCKET}/") and part in k}


# --- sg_inventory -------------------------------------------------------------------------------------

INVENTORY_GROUPS: dict[str, list[str]] = {}
STEPS = {"port": 1000}


def inventory_setup(fanned_out: bool) -> Callable[[World], None]:
    def setup(world: World) -> None:
        world.bucket(BUCKET)
        env(EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX, ACCOUNTS=f"{OWN_ACCOUNT},{MEMBER}", MAX_WORKERS="1",
            ALERT_TOPIC_ARN=world.topic())
        INVENTORY_GROUPS[OWN_ACCOUNT] = groups(world, OWN_ACCOUNT)
        INVENTORY_GROUPS[MEMBER] = groups(world, MEMBER)
        iac_state(world, INVENTORY_GROUPS[MEMBER][0])
        # remediation on: each run lists the pairs' exception index and its notices (see expired_exception)
        env(REMEDIATION_NOTIFIER_ARN=f"arn:aws:lambda:{REGION}:{OWN_ACCOUNT}:function:sgwatch-sg-change-notifier")
        PREVIOUS_OF.clear()
        STEPS["port"] = 1000
        prelude = Run()
        if fanned_out:
            fan_out(world, prelude, {"source": "aws.scheduler"}, work_queue(world))
        else:
            world.invoke({}, prelude)
        assert not prelude.errors, prelude.errors
    return setup


def iac_state(world: World, group_id: str) -> None:
    """A Terraform state declaring one rule of the group (the drift report reads it once per run), CloudFormation
    drift on (each pair lists its stacks; the emulator's accounts hold none), and the alert topic of the drift
    digest."""
    states = world.bucket("iac-states")
    rule = {"type": "ingress", "security_group_id": group_id, "from_port": 443, "to_port": 443, "protocol": "tcp",
            "cidr_blocks": ["10.0.0.0/8"], "description": "declared"}
    state = {"version": 4, "resources": [{"mode": "managed", "type": "aws_security_group_rule", "name": "https",
                                          "instances": [{"attributes": rule}]}]}
    world.client("s3").put_object(Bucket=states, Key="lz/terraform.tfstate", Body=json.dumps(state).encode())
    # each step's new port is new drift: a digest every run
    env(IAC_STATE_LOCATIONS=json.dumps([{"bucket": states, "key": "lz/terraform.tfstate"}]),
        IAC_CLOUDFORMATION_DRIFT="true", ALERT_TOPIC_ARN=world.topic())


def inventory_step(world: World) -> None:
    """A new world-open port on a member account's group (the last one closed): the change the next run must
    record once; its reason expires today, so the next run's expiry digest announces it."""
    ec2 = world.member_client(MEMBER, "ec2")
    if STEPS["port"] > 1000:
        ec2.revoke_security_group_ingress(GroupId=INVENTORY_GROUPS[MEMBER][0], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": STEPS["port"], "ToPort": STEPS["port"],
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    STEPS["port"] += 1
    reason = {"justification": "fault matrix", "owner": "team-faults", "expires": datetime.now(UTC).date().isoformat()}
    ec2.authorize_security_group_ingress(GroupId=INVENTORY_GROUPS[MEMBER][0], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": STEPS["port"], "ToPort": STEPS["port"],
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], TagSpecifications=[
        {"ResourceType": "security-group-rule", "Tags": [{"Key": k, "Value": v} for k, v in reason.items()]}])
    expired_exception(world, STEPS["port"])


def expired_exception(world: World, step: int) -> None:
    """An exception of the member's second group that expired yesterday, its rule gone since: the next run reads
    its index entry and writes its notice (the emulator runs no function: a hand-over is tested in the unit tests)."""
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    group, event_id = INVENTORY_GROUPS[MEMBER][1], f"kept-{step}"
    rule = {"group_id": group, "rule_id": f"sgr-0gone{step:012d}", "direction": "ingress", "protocol": "tcp",
            "from_port": "22", "to_port": "22", "peer_type": "ipv4", "peer": "0.0.0.0/0"}
    kept = {"schema": 1, "action": "keep", "event_id": event_id, "kept_by": "U0APPROVER", "reason": "fault matrix",
            "expires": yesterday, "rules": [rule]}
    world.client("s3").put_object(Bucket=BUCKET, Key=f"{PREFIX}{MEMBER}/{REGION}/remediation/exceptions/{group}/"
                                                     f"{yesterday}-{event_id}.json", Body=json.dumps(kept).encode())


def inventory_run(fanned_out: bool) -> Callable[[World, Run], None]:
    def run(world: World, out: Run) -> None:
        if fanned_out:
            import os

            fan_out(world, out, {"source": "aws.scheduler"}, os.environ["WORK_QUEUE_URL"])
        else:
            world.invoke({}, out)
    return run


PREVIOUS_OF: dict[str, str] = {}  # each diff of the member account -> the snapshot it is against


def _diffs(world: World, *runs: Run) -> dict[str, list[dict[str, str]]]:
    """The member account's diffs the runs wrote: their rows (their previous snapshots go to PREVIOUS_OF)."""
    s3, found = world.client("s3"), {}
    for run in runs:
        for name, data in run.written.items():
            bucket, key = name.split("/", 1)
            if key.startswith(f"{PREFIX}{MEMBER}/") and "/diffs/" in key:
                PREVIOUS_OF[key] = s3.head_object(Bucket=bucket, Key=key)["Metadata"].get("previous-snapshot", "")
                found[key] = list(csv.DictReader(io.StringIO(data.decode())))
    return found


def inventory_chain(world: World, run: Run, *_: Any) -> list[str]:
    """Linear: no two diffs of the member account against the same previous snapshot."""
    new = _diffs(world, run)
    there = {name.split("/", 1)[1] for name in world.etags()}
    previous = [p for key, p in PREVIOUS_OF.items() if key in there]
    return [f"two diffs against {PREVIOUS_OF[k]}" for k in new if previous.count(PREVIOUS_OF[k]) > 1]


def inventory_recovered(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """After the faulted run and a clean one, the rule added before them is in exactly one diff, and the exception
    that expired before them is noticed."""
    group, port = INVENTORY_GROUPS[MEMBER][0], str(STEPS["port"])
    diffs = _diffs(world, run, clean)
    added = sum(1 for rows in diffs.values() for r in rows
                if r.get("GroupId") == group and r.get("ChangeType") == "Added" and r.get("FromPort") == port)
    found = [] if added == 1 else [f"the change was recorded {added} times"]
    notice = f"{BUCKET}/{PREFIX}{MEMBER}/{REGION}/remediation/expired/{INVENTORY_GROUPS[MEMBER][1]}/kept-{port}.json"
    return found + ([] if notice in world.objects() else ["the expired exception was not noticed"])


# --- sg_change_alerts ---------------------------------------------------------------------------------


def authorize_event(group_id: str, event_id: str, account: str, port: int) -> dict[str, Any]:
    event = json.loads((EVENTS / "AuthorizeSecurityGroupIngress_console_sso_ssh_world.json").read_text())
    detail = event["detail"]
    event["account"] = detail["recipientAccountId"] = account
    detail["eventID"] = event_id
    detail["requestParameters"] = {"groupId": group_id, "ipPermissions": {"items": [
        {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}
    detail["responseElements"] = {"_return": True, "securityGroupRuleSet": {"items": [
        {"groupId": group_id, "securityGroupRuleId": f"sgr-0{event_id[-8:].rjust(16, '0')}", "isEgress": False,
         "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}}
    return event


ALERT_EVENTS: dict[str, Any] = {}


def alerts_setup(account: str) -> Callable[[World], None]:
    def setup(world: World) -> None:
        from tests.module.network import build_network

        world.bucket(BUCKET)
        env(ALERT_TOPIC_ARN=world.topic(), EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX,
            SLACK_TOKEN_SECRET_ARN=world.slack_secret(), SLACK_CHANNEL_ID="C0ALERTS", SLACK_API_URL=world.slack.url)
        session = world.boto
        if account == OWN_ACCOUNT:  # remediation on: the alert looks up the group's exceptions before publishing
            env(REMEDIATION_MODE="approve", REMEDIATION_MIN_SEVERITY="LOW", REMEDIATION_ONLY_OUT_OF_BAND="false")
        else:
            env(ACCOUNTS=account, MEMBER_ROLE_NAME="sgwatch-member-read")
            creds = world.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/sgwatch-member-read",
                                                    RoleSessionName="seed")["Credentials"]
            import boto3

            session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], region_name=REGION,
                                            aws_secret_access_key=creds["SecretAccessKey"],
                                            aws_session_token=creds["SessionToken"])
        net = build_network(session)
        prelude = Run()  # an earlier event on the group: its recorded rules are the next alert's "before"
        world.invoke(authorize_event(net.public_group_id, "evt-00000001", account, 80), prelude)
        assert not prelude.errors and world.drain_alerts(), prelude.errors
        ALERT_EVENTS.update(account=account, group=net.public_group_id, n=1, session=session)
    return setup


def auto_setup(world: World) -> None:
    """The own account's scenario with remediation in auto mode: the notifier reverts before publishing."""
    alerts_setup(OWN_ACCOUNT)(world)
    env(REMEDIATION_MODE="auto")


def member_auto_setup(world: World) -> None:
    """The member account's scenario with remediation in auto mode: the notifier reverts through the member's
    remediation role before publishing."""
    alerts_setup(MEMBER)(world)
    env(REMEDIATION_MODE="auto", REMEDIATION_MIN_SEVERITY="LOW", REMEDIATION_ONLY_OUT_OF_BAND="false",
        REMEDIATION_ROLE_NAME="sgwatch-member-remediation")


def auto_step(world: World) -> None:
    """The next change: a world-open port really added to the group (the revert revokes it by its rule id)."""
    alerts_step(world)
    port, group = 1000 + ALERT_EVENTS["n"], ALERT_EVENTS["group"]
    ec2 = ALERT_EVENTS["session"].client("ec2", region_name=REGION)  # the group's account
    rule = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    (added,) = ALERT_EVENTS["event"]["detail"]["responseElements"]["securityGroupRuleSet"]["items"]
    added["securityGroupRuleId"] = rule


def alerts_step(world: World) -> None:
    """The next change event: a new event id and port on the same group."""
    ALERT_EVENTS["n"] += 1
    n = ALERT_EVENTS["n"]
    ALERT_EVENTS["event"] = authorize_event(ALERT_EVENTS["group"], f"evt-{n:08d}", ALERT_EVENTS["account"], 1000 + n)


def alerts_run(world: World, out: Run) -> None:
    world.invoke(ALERT_EVENTS["event"], out)


def alert_survived(world: World, run: Run, clean: Run, baseline: Run) -> list[str]:
    """Never a dropped event: the faulted delivery published, or it raised and its retry (the clean run) did;
    and a delivery whose record was written is not alerted twice."""
    problems = []
    if not run.alerts and not (run.raised and clean.alerts):
        problems.append("the event was never alerted")
    recorded = any(k.endswith(f"/{ALERT_EVENTS['event']['detail']['eventID']}.json") for k in run.written)
    if run.alerts and clean.alerts and recorded:
        problems.append("alerted twice although the first alert was recorded")
    return problems


# --- unused_sg_audit ----------------------------------------------------------------------------------

AUDIT: dict[str, Any] = {"n": 0}


def audit_setup(fanned_out: bool) -> Callable[[World], None]:
    def setup(world: World) -> None:
        world.bucket(BUCKET)
        # The member account alone: its pair reads every source through the member role, as each pair does.
        env(EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX, ACCOUNTS=MEMBER, MAX_WORKERS="1",
            ALERT_TOPIC_ARN=world.topic())
        groups(world, MEMBER, 1)
        AUDIT.pop("group", None)  # made in the emulator before this one
        prelude = Run()
        if fanned_out:
            fan_out(world, prelude, {"source": "aws.scheduler"}, work_queue(world))
        else:
            world.invoke({}, prelude)
        assert not prelude.errors, prelude.errors
        world.drain_alerts()
    return setup


def audit_step(world: World) -> None:
    """A new group in the member account, attached to nothing: the next report must name it. The previous
    step's group goes first, so every run finds as many groups as the recorded one did."""
    AUDIT["n"] += 1
    ec2 = world.member_client(MEMBER, "ec2")
    if "group" in AUDIT:
        ec2.delete_security_group(GroupId=AUDIT.pop("group"))
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    AUDIT["group"] = ec2.create_security_group(GroupName=f"new-{AUDIT['n']}", Description="x", VpcId=vpc)["GroupId"]


def audit_run(fanned_out: bool) -> Callable[[World, Run], None]:
    def run(world: World, out: Run) -> None:
        if fanned_out:
            import os

            fan_out(world, out, {"source": "aws.scheduler"}, os.environ["WORK_QUEUE_URL"])
        else:
            world.invoke({}, out)
    return run


def audit_recovered(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """The member account's report of the faulted run or of the clean one after it names the new group."""
    member = f"{BUCKET}/{PREFIX}{MEMBER}/"
    reports = [json.loads(data) for r in (run, clean) for name, data in r.written.items()
               if name.startswith(member) and "/unused/" in name and name.endswith(".json")]
    named = any(AUDIT["group"] in json.dumps(report) for report in reports)
    return [] if named else ["no report names the new group"]


# --- securityhub_report -------------------------------------------------------------------------------

SG_ARN = f"arn:aws:ec2:{REGION}:{OWN_ACCOUNT}:security-group/sg-0123456789abcdef0"


def hub_findings() -> list[dict[str, Any]]:
    from tests.unit.fake_securityhub import asff

    return [asff("EC2.2", SG_ARN, severity="MEDIUM", tags={"Owner": "alice@example.com"}),
            asff("EC2.18", SG_ARN, severity="HIGH", tags={"Owner": "team-a"})]


def report_setup(world: World) -> None:
    env(SLACK_TOKEN_SECRET_ARN=world.slack_secret(), SLACK_CHANNEL_ID="C0REPORTS", CONTROL_IDS="EC2.2,EC2.18",
        OWNER_TAG_KEY="Owner", OWNER_SLACK_IDS=json.dumps({"team-a": "U0TEAMA"}), REPORT_WHEN_EMPTY="true",
        ALERT_TOPIC_ARN=world.topic(), SLACK_API_URL=world.slack.url)


def report_run(world: World, out: Run) -> None:
    world.invoke({}, out)


def report_delivered(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """The next scheduled report reaches Slack."""
    done = [s for s in clean.slack if s["method"] == "files.completeUploadExternal"]
    return [] if done else ["the clean run uploaded no report"]


def alert_degraded(world: World, run: Run, baseline: Run, degradation: str) -> list[str]:
    """The degradation sgwatch/faults.py declares for a call after the publish, and nothing worse."""
    if len(run.alerts) != 1:
        return [f"{len(run.alerts)} alerts published"]
    event_id = ALERT_EVENTS["event"]["detail"]["eventID"]
    record = any(k.endswith(f"/{event_id}.json") for k in run.written)
    state = any("/group-state/" in k for k in run.written)
    if degradation == "no_slack_copy":
        return ["a Slack copy was posted"] if any(s["method"] == "chat.postMessage" for s in run.slack) else []
    if degradation == "evidence_after_publish":
        return [] if not (record and state) else ["the event record and the group state were both written"]
    return [f"unknown degradation {degradation}"]


# --- reachability_check -------------------------------------------------------------------------------

REACH: dict[str, Any] = {}


def reach_setup(world: World) -> None:
    """The paths of tests/unit/test_reachability_handler.py, served by its fake EC2 (moto has no Reachability
    Analyzer); S3, SNS and Secrets Manager are moto's."""
    import os

    from tests.unit.test_reachability_handler import REACHABLE, FakeEc2, FakeEc2Server, path

    if "server" not in REACH:
        REACH["fake"] = FakeEc2()
        REACH["server"] = FakeEc2Server(REACH["fake"]).__enter__()  # for the life of the process
    fake = REACH["fake"]
    fake.paths = {"nip-0web": path("nip-0web", "igw-0797cccdc9d73b0e5", "i-0web", "web-https"),
                  "nip-0db": path("nip-0db", "eni-0app", "eni-0db", "app-to-db")}
    fake.interfaces = [{"NetworkInterfaceId": "eni-0web", "Attachment": {"InstanceId": "i-0web"},
                        "Groups": [{"GroupId": "sg-0aaaaaaaaaaaaaaa1", "GroupName": "web"}]}]
    fake.verdicts = {"nip-0web": dict(REACHABLE), "nip-0db": dict(REACHABLE)}
    world.bucket(BUCKET)
    env(PATH_IDS="nip-0web,nip-0db", ALERT_TOPIC_ARN=world.topic(), EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX,
        AWS_ENDPOINT_URL_EC2=REACH["server"].url)
    os.environ["AWS_ENDPOINT_URL_EC2"] = REACH["server"].url
    prelude = Run()
    world.invoke({}, prelude)
    assert not prelude.errors, prelude.errors
    world.drain_alerts()


def reach_step(world: World) -> None:
    """The web path turns unreachable (each run starts from the evidence of the set-up: reachable): a transition
    the next runs must alert."""
    REACH["fake"].verdicts["nip-0web"] = {"Status": "succeeded", "NetworkPathFound": False}


def reach_run(world: World, out: Run) -> None:
    world.invoke({}, out)


def reach_recovered(world: World, run: Run, clean: Run, baseline: Run) -> list[str]:
    """The transition is alerted, by the faulted run or by the clean run after it, and a run that succeeded is
    not alerted again (Lambda's retry of a failed run may repeat an alert it had published)."""
    subjects = [a["Subject"] for a in run.alerts if "nip-0web" in json.dumps(a)]
    again = [a["Subject"] for a in clean.alerts if a["Subject"] in subjects]
    problems = [] if subjects or clean.alerts else ["the transition was never alerted"]
    return problems + ([f"alerted again: {again}"] if again and not run.raised else [])


def reach_reports(run: Run) -> bool:
    """A path whose analysis could not finish is in the run's result as not succeeded (checked again next run)."""
    return any(a.get("status") != "succeeded" for r in run.results if isinstance(r, dict)
               for a in r.get("analyses") or ())


def reach_degraded(world: World, run: Run, baseline: Run, degradation: str) -> list[str]:
    if degradation != "path_described_by_id":
        return [f"unknown degradation {degradation}"]
    named = [a for a in run.alerts if "nip-0web" in json.dumps(a)]
    return [] if named else ["the transition was not alerted"]


# --- review_pack ----------------------------------------------------------------------------------------


def inventory_in_process() -> Any:
    """The inventory's handler from its own shipped zip, in this process: it writes the evidence the review pack
    reads. The zips share the core of sgwatch; the inventory's own package joins the review pack's sgwatch."""
    import sys

    import sgwatch
    from tests.faults.engine import DIST

    shipped = str(DIST / "sg_inventory.zip")
    if shipped not in sys.path:
        sys.path.append(shipped)
        sgwatch.__path__.append(f"{shipped}/sgwatch")
    from sg_inventory import handler

    return handler.lambda_handler


def pack_setup(fanned_out: bool) -> Callable[[World], None]:
    def setup(world: World) -> None:
        from tests.faults.engine import Context

        world.bucket(BUCKET)
        env(EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX, ALERT_TOPIC_ARN=world.topic())
        group = groups(world, OWN_ACCOUNT, 1)[0]
        inventory = inventory_in_process()
        inventory({}, Context("sg_inventory", 60))
        world.client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        inventory({}, Context("sg_inventory", 60))
        remediation_records(world)
        if fanned_out:
            work_queue(world)
    return setup


def remediation_records(world: World) -> None:
    """A Keep decision of today and its exception's index entry, lapsing today (the section "Remediation and
    exceptions" lists and reads both)."""
    today = datetime.now(UTC).date()
    yesterday = datetime.fromordinal(today.toordinal() - 1).date()
    folder = f"{PREFIX}{OWN_ACCOUNT}/{REGION}/remediation/"
    document = {"schema": 1, "action": "keep", "event_id": "ev-fault", "decided_by": "U0APPROVER",
                "decided_at": datetime.now(UTC).isoformat(), "kept_by": "U0APPROVER", "reason": "fault matrix",
                "expires": yesterday.isoformat(), "rules": [{"group_id": "sg-1", "rule_id": "sgr-1"}]}
    for key in (f"{folder}{today.strftime('%Y/%m/%d')}/ev-fault-keep.json",
                f"{folder}exceptions/sg-1/{yesterday.isoformat()}-ev-fault.json"):
        world.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())


def pack_event() -> dict[str, Any]:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    return {"from": today, "to": today}


def pack_run(world: World, out: Run) -> None:
    import os

    if os.environ.get("WORK_QUEUE_URL"):
        fan_out(world, out, pack_event(), os.environ["WORK_QUEUE_URL"])
    else:
        world.invoke(pack_event(), out)


def pack_recovered(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """The pack of the period is written whole: by the faulted run, or by the clean run after it."""
    done = [k for r in (run, clean) for k in r.written if "/reviews/" in k and k.endswith("manifest.json")]
    return [] if done else ["no pack was written"]


# --- remediation --------------------------------------------------------------------------------------

REMEDIATION: dict[str, Any] = {"n": 0}
SIGNING_SECRET = "fault-matrix-signing-secret"


def remediation_setup(world: World) -> None:
    world.bucket(BUCKET)
    ec2 = world.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="remediated", Description="x", VpcId=vpc)["GroupId"]
    signing = world.client("secretsmanager").create_secret(Name="signing-0", SecretString=SIGNING_SECRET)["ARN"]
    world.slack.user_groups["S0SECTEAM"] = ["U0APPROVER"]  # the approver through a user group: that call too
    env(EVIDENCE_BUCKET=BUCKET, EVIDENCE_PREFIX=PREFIX, SLACK_TOKEN_SECRET_ARN=world.slack_secret(),
        SLACK_CHANNEL_ID="C0ALERTS", SLACK_API_URL=world.slack.url, REMEDIATION_MODE="approve",
        REMEDIATION_APPROVERS="S0SECTEAM", SLACK_SIGNING_SECRET_ARN=signing)
    REMEDIATION.update(group=group, queue=work_queue(world), n=0)


def remediation_step(world: World) -> None:
    """A new world-open rule, its alert's event record, and the click on its Revert button."""
    from sgwatch.remediation_prompt import AlertRef

    REMEDIATION["n"] += 1
    n, group = REMEDIATION["n"], REMEDIATION["group"]
    rule = world.client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 2000 + n, "ToPort": 2000 + n,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    event_id = f"evt-{n:08d}"
    after = {"group_id": group, "direction": "ingress", "rule_id": rule, "protocol": "tcp", "from_port": str(2000 + n),
             "to_port": str(2000 + n), "peer_type": "ipv4", "peer": "0.0.0.0/0", "description": ""}
    record = {"schema": 1, "event_id": event_id, "account_id": OWN_ACCOUNT, "region": REGION, "severity": "CRITICAL",
              "error_code": "", "provenance": {"origin": "console", "change_control": "out-of-band"},
              "changes": [{"action": "added", "before": None, "after": after}]}
    key = f"{PREFIX}{OWN_ACCOUNT}/{REGION}/events/2026/12/01/{event_id}.json"
    world.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record).encode())
    ref = AlertRef(event_id, OWN_ACCOUNT, REGION, "2026/12/01")
    REMEDIATION.update(rule=rule, event_id=event_id, job={
        "action": "revert", "ref": ref.value(), "user_id": "U0APPROVER", "channel_id": "C0ALERTS",
        "message_ts": f"1700000000.{n:06d}", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]})


def remediation_job_run(world: World, out: Run) -> None:
    """The queued job, as the event source mapping delivers it (the same message on a retry)."""
    record = {"eventSource": "aws:sqs", "messageId": f"msg-{REMEDIATION['n']}", "body": json.dumps(REMEDIATION["job"])}
    world.invoke({"Records": [record]}, out)


def remediation_reverted(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """The rule is gone after the retry, and the decision was written once."""
    rules = world.client("ec2").describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [REMEDIATION["group"]]}])["SecurityGroupRules"]
    revoked = all(r["SecurityGroupRuleId"] != REMEDIATION["rule"] for r in rules)
    problems = [] if revoked else ["the rule was not revoked"]
    decisions = list(world.objects(f"{REMEDIATION['event_id']}-revert.json"))
    return problems + ([] if len(decisions) == 1 else [f"{len(decisions)} decisions written"])


def remediation_keep_step(world: World) -> None:
    """A new world-open rule, its alert's event record, and the Keep dialog's submission for it."""
    import datetime

    remediation_step(world)
    expires = (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=7)).isoformat()
    REMEDIATION["job"] = {**REMEDIATION["job"], "action": "keep", "reason": "vendor session", "expires": expires}


def remediation_restore_step(world: World) -> None:
    """A new world-open rule reverted automatically (revoked, its auto-mode evidence written as the notifier
    writes it), and the Restore as exception dialog's submission for it."""
    from sgwatch import remediation_revert

    remediation_keep_step(world)
    group, rule, event_id = REMEDIATION["group"], REMEDIATION["rule"], REMEDIATION["event_id"]
    ec2 = world.client("ec2")
    (live,) = [r for r in ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])[
        "SecurityGroupRules"] if r["SecurityGroupRuleId"] == rule]
    ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=[rule])
    record = json.loads(world.client("s3").get_object(
        Bucket=BUCKET, Key=f"{PREFIX}{OWN_ACCOUNT}/{REGION}/events/2026/12/01/{event_id}.json")["Body"].read())
    steps, _ = remediation_revert.plan(record)
    done = [remediation_revert.Outcome(step, remediation_revert.DONE) for step in steps]
    evidence = remediation_revert.auto_record(event_id, OWN_ACCOUNT, REGION, "2026-12-01T00:00:00+00:00", done)
    world.client("s3").put_object(Bucket=BUCKET, Key=f"{PREFIX}{OWN_ACCOUNT}/{REGION}/remediation/2026/12/01/"
                                  f"{event_id}-revert.json", Body=json.dumps(evidence).encode())
    REMEDIATION.update(port=live["FromPort"], job={**REMEDIATION["job"], "action": "restore"})


def remediation_restored(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """After the retry the rule is back once and the restore decision was written once."""
    rules = world.client("ec2").describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [REMEDIATION["group"]]}])["SecurityGroupRules"]
    back = [r for r in rules if r.get("FromPort") == REMEDIATION["port"] and r.get("CidrIpv4") == "0.0.0.0/0"]
    problems = [] if len(back) == 1 else [f"the rule is there {len(back)} times"]
    decisions = list(world.objects(f"{REMEDIATION['event_id']}-restore.json"))
    return problems + ([] if len(decisions) == 1 else [f"{len(decisions)} decisions written"])


def remediation_kept(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    """The exception is written once, with its group's index entry, and the rule is left as it is."""
    decisions = list(world.objects(f"{REMEDIATION['event_id']}-keep.json"))
    index = [k for k in world.objects(f"/exceptions/{REMEDIATION['group']}/") if REMEDIATION["event_id"] in k]
    return ([] if len(decisions) == 1 else [f"{len(decisions)} exceptions written"]) + (
        [] if index else ["no index entry"])


def remediation_url_step(world: World) -> None:
    """A click signed with a signing secret the process has not read yet (a new secret: its read is a call)."""
    import time
    import urllib.parse

    from sgwatch.remediation import signature

    remediation_step(world)
    arn = world.client("secretsmanager").create_secret(Name=f"signing-{REMEDIATION['n']}",
                                                       SecretString=SIGNING_SECRET)["ARN"]
    env(SLACK_SIGNING_SECRET_ARN=arn)
    job = REMEDIATION["job"]
    payload = {"type": "block_actions", "user": {"id": job["user_id"]}, "channel": {"id": job["channel_id"]},
               "container": {"message_ts": job["message_ts"]}, "message": {"blocks": job["blocks"]},
               "actions": [{"action_id": "sgwatch_revert", "block_id": "sgwatch_remediation", "value": job["ref"]}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    REMEDIATION["request"] = {
        "requestContext": {"http": {"method": "POST"}}, "isBase64Encoded": False, "body": body,
        "headers": {"x-slack-request-timestamp": stamp,
                    "x-slack-signature": signature.expected(SIGNING_SECRET.encode(), stamp, body.encode())}}


def remediation_url_run(world: World, out: Run) -> None:
    world.invoke(REMEDIATION["request"], out)


def remediation_url_answered(run: Run) -> bool:
    """A request the function could not take is answered 503: Slack shows the person an error, who clicks again."""
    return any(isinstance(r, dict) and r.get("statusCode") == 503 for r in run.results)


def remediation_queued(world: World, run: Run, clean: Run, *_: Any) -> list[str]:
    got = queued(world, REMEDIATION["queue"])
    return [] if got else ["the retried click was not queued"]


FUNCTIONS: dict[str, Function] = {
    "sg_inventory": Function("sg_inventory.handler.lambda_handler", [
        Scenario("direct run over the own and a member account", inventory_setup(False), inventory_step,
                 inventory_run(False), inventory_chain, inventory_recovered),
        Scenario("fan-out: scheduled dispatch, then the queued pairs", inventory_setup(True), inventory_step,
                 inventory_run(True), inventory_chain, inventory_recovered),
    ]),
    "sg_change_alerts": Function("sg_change_alerts.handler.lambda_handler", [
        Scenario("a world-open port on an exposed group of the own account", alerts_setup(OWN_ACCOUNT),
                 alerts_step, alerts_run, recovered=alert_survived, degraded=alert_degraded),
        Scenario("a world-open port on an exposed group of a member account", alerts_setup(MEMBER),
                 alerts_step, alerts_run, recovered=alert_survived, degraded=alert_degraded),
        Scenario("remediation auto mode: a world-open port reverted before the alert", auto_setup, auto_step,
                 alerts_run, recovered=alert_survived, degraded=alert_degraded),
        Scenario("remediation auto mode in a member account: reverted through its remediation role",
                 member_auto_setup, auto_step, alerts_run, recovered=alert_survived, degraded=alert_degraded),
    ]),
    "unused_sg_audit": Function("unused_sg_audit.handler.lambda_handler", [
        Scenario("direct run over a member account", audit_setup(False), audit_step, audit_run(False),
                 recovered=audit_recovered),
        Scenario("fan-out: scheduled dispatch, then the queued pairs", audit_setup(True), audit_step,
                 audit_run(True), recovered=audit_recovered),
    ]),
    "securityhub_report": Function("securityhub_report.handler.lambda_handler", [
        Scenario("open failed findings reported to Slack", report_setup, _none, report_run,
                 recovered=report_delivered),
    ], securityhub=hub_findings),
    # handler.run: lambda_handler with the waits between polls taken on the invocation's clock, not slept
    "reachability_check": Function("reachability_check.handler.run", [
        Scenario("a required path turns unreachable, then reachable again", reach_setup, reach_step, reach_run,
                 recovered=reach_recovered, degraded=reach_degraded, reports=reach_reports),
    ]),
    "remediation": Function("remediation.handler.lambda_handler", [
        Scenario("an approver's Revert click, queued, then its job", remediation_setup, remediation_step,
                 remediation_job_run, recovered=remediation_reverted),
        Scenario("an approver's Keep as exception, queued, then its job", remediation_setup, remediation_keep_step,
                 remediation_job_run, recovered=remediation_kept),
        Scenario("auto mode: an approver's Restore as exception, queued, then its job", remediation_setup,
                 remediation_restore_step, remediation_job_run, recovered=remediation_restored),
        Scenario("Slack's signed request: verified, acknowledged and queued", remediation_setup,
                 remediation_url_step, remediation_url_run, recovered=remediation_queued,
                 reports=remediation_url_answered),
    ]),
    "review_pack": Function("review_pack.handler.lambda_handler", [
        Scenario("the pack of a period, in one run", pack_setup(False), _none, pack_run, recovered=pack_recovered),
        Scenario("the pack of a period, fanned out: parts, then the merge", pack_setup(True), _none, pack_run,
                 recovered=pack_recovered),
    ]),
}


def site_of(row: dict[str, Any]) -> Site:
    return Site(row["service"], row["operation"], row["ordinal"])
