"""The expiry digest: lapsed justifications announced once per run and account-region, each rule once, remembered
write-once in the evidence bucket (in-process moto S3, whose conditional puts decide as S3's do)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from sgwatch import expiry_digest
from sgwatch.evidence import EvidenceStore
from sgwatch.rule_review import REVIEW_HEADER
from tests.unit.conftest import EVIDENCE_BUCKET

PREFIX, ACCOUNT, REGION = "security-groups/", "123456789012", "eu-west-1"
REPORT = f"{PREFIX}{ACCOUNT}/{REGION}/rule-review/20260106T060000000Z.csv"


def finding(rule_id: str, found: str, expires: str, owner: str = "team-web", group: str = "sg-web") -> tuple[str, ...]:
    detail = f"expired on {expires}" if found == "expired" else f"expires on {expires}"
    row = (ACCOUNT, REGION, "vpc-1", group, "web", rule_id, "ingress", "tcp", "443", "443", "0.0.0.0/0", found,
           detail, "public site", owner, "CHG-1", expires, "rule-tag")
    assert len(row) == len(REVIEW_HEADER)
    return row


UNJUSTIFIED = (ACCOUNT, REGION, "vpc-1", "sg-db", "db", "sgr-u", "ingress", "tcp", "22", "22", "10.0.0.0/8",
               "unjustified", "no reason", "", "", "", "", "none")
EXPIRED = finding("sgr-1", "expired", "2025-12-31")
EXPIRING = finding("sgr-2", "expiring", "2026-01-10", owner="team-db")


class Deliveries:
    """The deliver callable: every digest it was given; ``fail`` makes the next one raise, ``during`` runs
    (once) while a delivery is under way."""

    def __init__(self) -> None:
        self.digests: list[expiry_digest.Digest] = []
        self.fail = False
        self.during: Any = None

    def __call__(self, digest: expiry_digest.Digest) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("SNS endpoint unreachable")
        during, self.during = self.during, None
        if during:
            during()
        self.digests.append(digest)

    def rules(self) -> list[list[str]]:
        return [[x.rule_id for x in d.lapses] for d in self.digests]


@pytest.fixture
def store(evidence_account: str) -> EvidenceStore:
    return EvidenceStore(evidence_account, boto3.client("s3"))


def announce(store: EvidenceStore, rows: Sequence[Sequence[str]], deliver: Deliveries,
             now: datetime | None = None) -> expiry_digest.Outcome:
    moment = now or datetime.now(UTC)
    return expiry_digest.announce(store, PREFIX, ACCOUNT, REGION, rows, REPORT, deliver, lambda: moment)


def test_the_first_run_announces_every_lapsed_justification_in_one_digest(store: EvidenceStore) -> None:
    deliver = Deliveries()
    outcome = announce(store, [UNJUSTIFIED, EXPIRED, EXPIRING], deliver)
    assert deliver.rules() == [["sgr-1", "sgr-2"]] and outcome.announced == 2
    [digest] = deliver.digests
    body = digest.body()
    assert "sgr-1" in body and "team-web" in body and "expired on 2025-12-31" in body
    assert "sgr-2" in body and "team-db" in body and "2026-01-10" in body and REPORT in body
    assert "sgr-u" not in body
    assert digest.subject == f"SG Watch: 2 rule justifications expired or expiring in {ACCOUNT} {REGION}"


def test_a_second_run_with_the_same_findings_announces_nothing(store: EvidenceStore) -> None:
    deliver = Deliveries()
    announce(store, [EXPIRED, EXPIRING], deliver)
    outcome = announce(store, [EXPIRED, EXPIRING], deliver)
    assert len(deliver.digests) == 1 and outcome.announced == 0


def test_a_new_expiring_rule_is_announced_alone(store: EvidenceStore) -> None:
    deliver = Deliveries()
    announce(store, [EXPIRED, EXPIRING], deliver)
    newcomer = finding("sgr-3", "expiring", "2026-01-12", owner="team-new")
    announce(store, [EXPIRED, EXPIRING, newcomer], deliver)
    assert deliver.rules() == [["sgr-1", "sgr-2"], ["sgr-3"]]


def test_an_expiring_rule_is_announced_again_once_it_has_expired_or_its_date_changes(store: EvidenceStore) -> None:
    deliver = Deliveries()
    announce(store, [EXPIRING], deliver)
    announce(store, [finding("sgr-2", "expired", "2026-01-10", owner="team-db")], deliver)
    announce(store, [finding("sgr-2", "expiring", "2026-02-01", owner="team-db")], deliver)
    announce(store, [finding("sgr-2", "expiring", "2026-02-01", owner="team-db")], deliver)
    assert deliver.rules() == [["sgr-2"], ["sgr-2"], ["sgr-2"]]


def test_a_duplicate_run_while_the_first_delivers_announces_nothing(store: EvidenceStore) -> None:
    # Given a run delivering its digest, when a duplicate run of the same pair reviews the same findings meanwhile
    deliver, duplicate = Deliveries(), Deliveries()
    outcomes = []
    deliver.during = lambda: outcomes.append(announce(store, [EXPIRED, EXPIRING], duplicate))
    announce(store, [EXPIRED, EXPIRING], deliver)
    # Then only the first announces: the duplicate finds its claim
    assert len(deliver.digests) == 1 and duplicate.digests == [] and outcomes[0].announced == 0


def test_two_runs_racing_for_the_same_digest_announce_it_once(store: EvidenceStore,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two runs that both list no claim, then both put theirs at the same moment
    barrier = threading.Barrier(2, timeout=10)
    real = EvidenceStore.put_new

    def put_new(self: EvidenceStore, key: str, *args: Any, **kwargs: Any) -> bool:
        if "/claims/" in key and not key.endswith(".failed.json"):
            barrier.wait()
        return real(self, key, *args, **kwargs)

    monkeypatch.setattr(EvidenceStore, "put_new", put_new)
    deliveries = [Deliveries(), Deliveries()]
    threads = [threading.Thread(target=announce, args=(EvidenceStore(EVIDENCE_BUCKET, boto3.client("s3")),
                                                       [EXPIRED, EXPIRING], d)) for d in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then the conditional put lets exactly one of them announce
    assert sorted(len(d.digests) for d in deliveries) == [0, 1]


def test_a_failed_delivery_is_not_recorded_as_announced(store: EvidenceStore) -> None:
    # Given a delivery that fails
    deliver = Deliveries()
    deliver.fail = True
    with pytest.raises(ConnectionError):
        announce(store, [EXPIRED, EXPIRING], deliver)
    assert not [k for k in store.keys(PREFIX) if "/announced/" in k]
    # Then the next run (a retry moments later) announces the same rules, once
    announce(store, [EXPIRED, EXPIRING], deliver)
    announce(store, [EXPIRED, EXPIRING], deliver)
    assert deliver.rules() == [["sgr-1", "sgr-2"]]


def test_a_claim_left_by_a_run_that_died_is_taken_over_once_it_is_old(store: EvidenceStore) -> None:
    # Given a run that claimed the digest and died before delivering it (no failure marker, no records)
    start = datetime(2026, 1, 6, 6, tzinfo=UTC)
    died = Deliveries()

    def die() -> None:
        raise SystemExit("the invocation timed out")

    died.during = die
    with pytest.raises(SystemExit):
        announce(store, [EXPIRED], died, start)
    assert not [k for k in store.keys(PREFIX) if k.endswith(".failed.json")]
    deliver = Deliveries()
    # When another run comes while the claim is recent, it leaves it; once it is older than a run can last, it announces
    assert announce(store, [EXPIRED], deliver, start + timedelta(minutes=5)).announced == 0
    claims = [k for k in store.keys(PREFIX) if "/claims/" in k]
    assert announce(store, [EXPIRED], deliver, datetime.now(UTC) + expiry_digest.CLAIM_TIMEOUT * 2).announced == 1
    assert deliver.rules() == [["sgr-1"]] and len([k for k in store.keys(PREFIX) if "/claims/" in k]) == \
        len(claims) + 1


def test_the_records_are_write_once_objects_under_expiry_notices(store: EvidenceStore) -> None:
    announce(store, [EXPIRED, EXPIRING], Deliveries())
    keys = [k for k in store.keys(PREFIX)]
    base = f"{PREFIX}{ACCOUNT}/{REGION}/expiry-notices/"
    assert all(k.startswith(base) for k in keys)
    assert {k for k in keys if "/announced/" in k} == {base + "announced/sgr-1/expired-2025-12-31.json",
                                                       base + "announced/sgr-2/expiring-2026-01-10.json"}
    [claim] = [k for k in keys if "/claims/" in k]
    assert json.loads(store.get(claim).body) == {"rules": 2}


def test_the_digest_goes_to_sns_and_slack_with_user_text_made_inert() -> None:
    # Given a rule whose owner tag tries to start a line of its own and to notify the whole Slack channel
    sent: list[tuple[str, ...]] = []
    posted: list[str] = []
    crafted = finding("sgr-9", "expired", "2025-12-31", owner="<!channel> *boss*\nSeverity: LOW")
    deliver = expiry_digest.deliverer("arn:aws:sns:eu-west-1:123456789012:alerts", object(),
                                      lambda *args: sent.append(args), lambda _, text: posted.append(text))
    assert deliver is not None
    deliver(expiry_digest.Digest(ACCOUNT, REGION, expiry_digest.lapses([crafted]), REPORT))
    [(topic, subject, body, attributes)] = sent
    assert attributes == {"event_name": "JustificationExpiry", "severity": "MEDIUM"}
    assert "\nSeverity: LOW" not in body and "Severity: LOW" in body  # one line per rule
    [text] = posted
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "*boss*" not in text


def test_without_a_topic_or_slack_there_is_no_digest() -> None:
    assert expiry_digest.deliverer("", None, print, print) is None


def test_the_inventory_announces_an_expiring_rule_once_over_two_runs(evidence_account: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the inventory with an alert topic, and a rule whose reason expires in three days
    from sg_inventory import handler

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    for name in ("REGIONS", "SLACK_TOKEN_SECRET_ARN", "SLACK_CHANNEL_ID", "RULE_REVIEW_TAG_KEYS",
                 "JUSTIFICATION_WARNING_DAYS", "RULE_REVIEW_REGISTER_BUCKET", "RULE_REVIEW_REGISTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="partner", Description="partner", VpcId=vpc)["GroupId"]
    expires = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    tags = {"justification": "partner feed", "owner": "team-feed", "expires": expires}
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443,
                                       "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}],
        TagSpecifications=[{"ResourceType": "security-group-rule",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    # When the inventory runs twice
    first, second = handler.lambda_handler({}, None), handler.lambda_handler({}, None)
    # Then one digest names the rule, its owner and its date; the second run announces nothing
    assert first["results"][0]["expiry_announced"] == 1 and second["results"][0]["expiry_announced"] == 0
    found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    [message] = [json.loads(m["Body"]) for m in found]
    assert "team-feed" in message["Message"] and expires in message["Message"] and group in message["Message"]
    assert message["MessageAttributes"]["event_name"]["Value"] == "JustificationExpiry"
