"""The review_pack handler end to end on in-process moto (S3, SNS, SQS, STS, Secrets Manager).

Slack is the loopback fake of tests/unit/fake_slack.py (moto has no Slack). The rendering
checks run the distribution's headless Chromium and skip when ``/usr/bin/chromium`` is absent
(``make test`` installs it); the layout check drives it over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: no port, no network).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from review_pack import handler, signoff
from sgwatch import review_pack as review
from sgwatch.evidence import EvidenceStore, series_prefix, stamp
from sgwatch.provenance import Provenance
from sgwatch.review_pack import parts
from sgwatch.rules import Rule
from sgwatch.sg_inventory.record import record_snapshot

from .fake_slack import FakeSlack
from .test_review import (
    ACCOUNT,
    BUCKET,
    PERIOD,
    PREFIX,
    REGION,
    SECTIONS,
    WEB_EGRESS,
    WEB_HTTPS,
    WEB_SSH,
    at,
    fabricate,
    internet_facing,
    parse,
    put_event,
    put_exposure,
    rule,
    rule_dict,
)

EVENT = {"from": "2026-01-01", "to": "2026-01-07"}
OUTPUTS = ("report.html", "changes.csv", "current-rules.csv", "risky-rules.csv", "unused-groups.csv", "exposure.csv",
           "out-of-band-changes.csv", "rule-review.csv", "drift.csv", "remediation.csv", "review-record.json",
           "manifest.json")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "false"})
        monkeypatch.setenv("EVIDENCE_BUCKET", BUCKET)
        monkeypatch.setenv("EVIDENCE_PREFIX", PREFIX)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
        store = EvidenceStore(BUCKET, s3)
        fabricate(store)
        yield {"s3": s3, "sqs": sqs, "queue": queue, "store": store}


def messages(env: dict[str, Any]) -> list[dict[str, Any]]:
    found = env["sqs"].receive_message(QueueUrl=env["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def test_pack_is_written_under_the_period_with_every_file(aws: dict[str, Any]) -> None:
    # Given a fabricated week of evidence, when the pack is built on demand
    result = handler.lambda_handler(EVENT, None)
    # Then every file lands under reviews/<period>/ and the result summarises it
    pack = f"{PREFIX}reviews/{PERIOD.name}/"
    assert result["report_key"] == pack + "report.html" and result["manifest_key"] == pack + "manifest.json"
    assert {k[len(pack):] for k in aws["store"].keys(pack)} == set(OUTPUTS)
    assert (result["accounts"], result["changes"], result["period"]) == (1, 2, PERIOD.name)
    assert result["gaps"] >= 4
    head = aws["s3"].head_object(Bucket=BUCKET, Key=result["report_key"])
    assert head["ContentType"].startswith("text/html")


def test_pack_files_spooled_to_disk_are_written_whole(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a pack written with its files held in memory
    first = handler.lambda_handler(EVENT, None)
    # When the same evidence is packed again with every file spilled to /tmp past its first bytes
    monkeypatch.setattr(review.pack, "SPOOL_MEMORY", 16)
    second = handler.lambda_handler(EVENT, None)
    # Then every CSV is the same document, and the manifest's hashes and sizes are those of the stored files
    store = aws["store"]
    for name in OUTPUTS:
        if name.endswith(".csv"):
            assert store.get(second["pack_prefix"] + name).body == store.get(first["pack_prefix"] + name).body, name
    manifest = json.loads(store.get(second["manifest_key"]).body)
    for entry in manifest["outputs"]:
        stored = store.get(entry["key"])
        assert (hashlib.sha256(stored.body).hexdigest(), len(stored.body)) == (entry["sha256"], entry["size"])
        if not entry["key"].endswith("/review-record.json"):  # the template claims the folder, unhashed
            assert stored.metadata["sha256"] == entry["sha256"], entry["key"]


def test_manifest_hashes_match_every_object_it_names(aws: dict[str, Any]) -> None:
    result = handler.lambda_handler(EVENT, None)
    body = aws["store"].get(result["manifest_key"]).body
    manifest = json.loads(body)
    assert hashlib.sha256(body).hexdigest() == result["manifest_sha256"]
    assert manifest["period"] == {"from": "2026-01-01", "to": "2026-01-07"}
    assert manifest["generator_version"] and manifest["generator"] == "sgwatch review_pack"
    # every evidence object read and every file produced, each hash verified against the bucket
    named = manifest["evidence"] + manifest["outputs"]
    for entry in named:
        stored = aws["store"].get(entry["key"]).body
        assert hashlib.sha256(stored).hexdigest() == entry["sha256"], entry["key"]
        assert len(stored) == entry["size"]
    kinds = {e["kind"] for e in manifest["evidence"]}
    assert kinds == {"snapshot", "diff", "event", "unused-report", "exposure-report", "rule-review-report"}
    produced = {o["key"].rsplit("/", 1)[-1] for o in manifest["outputs"]}
    assert produced == set(OUTPUTS) - {"manifest.json"}


def test_a_second_run_for_the_same_period_never_overwrites(aws: dict[str, Any]) -> None:
    first = handler.lambda_handler(EVENT, None)
    before = aws["store"].get(first["report_key"]).body
    second = handler.lambda_handler(EVENT, None)
    assert second["report_key"] == f"{PREFIX}reviews/{PERIOD.name}-r2/report.html"
    assert aws["store"].get(first["report_key"]).body == before


def test_the_next_pack_shows_the_signoff(aws: dict[str, Any]) -> None:
    # Given a pack signed off by the reviewer whose credentials are in use
    first = handler.lambda_handler(EVENT, None)
    key, record = signoff.sign(aws["store"], PREFIX, PERIOD.name, "approved-with-exceptions",
                               "SSH on sg-web accepted until <b>March</b>", "Jane Auditor",
                               now=datetime(2026, 1, 9, tzinfo=UTC))
    assert key.startswith(f"{PREFIX}reviews/{PERIOD.name}/signoffs/")
    assert record["manifest_sha256"] == first["manifest_sha256"]
    assert record["reviewer"]["arn"].startswith("arn:aws:")
    # When the next period's pack is built
    nxt = handler.lambda_handler({"from": "2026-01-08", "to": "2026-01-14"}, None)
    page = parse(aws["store"].get(nxt["report_key"]).body.decode())
    # Then its sign-off section lists the decision, the reviewer and a verified binding to the pack
    text = page.joined("reviews")
    assert page.rows["reviews"] == 1
    assert "approved-with-exceptions" in text and "Jane Auditor" in text and "matches pack" in text
    assert "<b>March</b>" in text  # shown as text, not markup
    manifest = json.loads(aws["store"].get(nxt["manifest_key"]).body)
    assert key in {e["key"] for e in manifest["evidence"]}


def test_signoff_refuses_a_pack_that_does_not_exist(aws: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="no complete review pack"):
        signoff.sign(aws["store"], PREFIX, "2020-01-01_2020-06-30", "approved", "")


def test_the_alert_topic_gets_the_pack_location(aws: dict[str, Any]) -> None:
    result = handler.lambda_handler(EVENT, None)
    [message] = messages(aws)
    assert f"s3://{BUCKET}/{result['report_key']}" in message["Message"]
    assert result["manifest_sha256"] in message["Message"]
    assert message["Subject"].startswith("SG Watch review pack 2026-01-01 to 2026-01-07")


def test_slack_gets_the_same_location_when_configured(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    arn = secrets.create_secret(Name="slack", SecretString='{"token": "xoxb-test"}')["ARN"]
    with FakeSlack(token="xoxb-test") as slack:
        monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", arn)
        monkeypatch.setenv("SLACK_CHANNEL_ID", "C123")
        monkeypatch.setenv("SLACK_API_URL", slack.url)
        result = handler.lambda_handler(EVENT, None)
        posts = [r for r in slack.requests if r.method == "chat.postMessage"]
    assert len(posts) == 1 and posts[0].params["channel"] == "C123"
    assert result["report_key"] in posts[0].params["text"]


def test_scheduled_event_covers_the_previous_six_months(aws: dict[str, Any]) -> None:
    result = handler.lambda_handler({}, None)
    period = review.default_period(datetime.now(UTC).date())
    assert result["period"] == period.name


def test_a_bad_event_is_refused_before_anything_is_written(aws: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        handler.lambda_handler({"from": "2026-02-01", "to": "2026-01-01"}, None)
    assert not aws["store"].keys(f"{PREFIX}reviews/")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium_without_console_errors(aws: dict[str, Any], tmp_path: Path) -> None:
    result = handler.lambda_handler(EVENT, None)
    page = tmp_path / "report.html"
    page.write_bytes(aws["store"].get(result["report_key"]).body)
    shot = tmp_path / "report.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    run = subprocess.run([*common, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    rendered = parse(dom.stdout)
    assert rendered.sections[:3] == ["summary", "timeline", "changes"] and rendered.bars == 3


# A laptop window, and A4 portrait less Chromium's default print margins (0.4 in each side).
LAYOUTS = [pytest.param(1300, "screen", id="1300px-window"), pytest.param(717, "print", id="a4-print")]
LONG_NAME = "payments-platform-production-eu-west-1-application-load-balancer-ingress-from-partner-networks"
LONG_DESCRIPTION = ("temporary access for the vendor's support engineers during incident INC-2026-0001234, approved by "
                    "the change advisory board; remove after the incident is closed (CHG-0042424242)")
LONG_ACTOR = "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice.longname@example.com"


LONG_PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/" \
    "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
LONG_DETAIL = "web browser, Chrome 131.0.6778.86 on a console session federated through the identity provider"
LONG_RESOURCE = "app/payments-platform-production-public-alb/50dc6c495c0c9188"


def wide_history(store: EvidenceStore) -> dict[str, str]:
    """Two days of realistic worst-case values: long group names and descriptions, IPv6 peers, SSO actors,
    long principals and user-agent details, an exposure report with long resource ids."""
    group = "sg-0123456789abcdef0"
    before = [rule(group, "ingress", f"sgr-0123456789abcd{i:03d}", "tcp", "443", "443",
                   "2001:db8:1234:5678:9abc:def0:1234:5678/128", LONG_DESCRIPTION, LONG_NAME, "ipv6") for i in range(6)]
    record_snapshot(store, PREFIX, ACCOUNT, REGION, before, at(8))
    manual = Provenance("console", LONG_DETAIL, LONG_PRINCIPAL, "out-of-band", True)
    put_event(store, "ev-wide", at(8, 9), "ModifySecurityGroupRules", [group], LONG_ACTOR, [], provenance=manual)
    after = [r._replace(from_port="22", to_port="22") for r in before]
    world = rule(group, "ingress", "sgr-0fedcba9876543210", "-1", "", "", "0.0.0.0/0", LONG_DESCRIPTION, LONG_NAME)
    after.append(world)
    # an out-of-band change listed with its rule before and after, the longest there are
    put_event(store, "ev-wide-2", at(8, 10), "ModifySecurityGroupRules", [group], LONG_ACTOR,
              [{"action": "modified", "before": rule_dict(before[0]), "after": rule_dict(after[0])}], provenance=manual)
    record_snapshot(store, PREFIX, ACCOUNT, REGION, sorted(after), at(9))
    found = internet_facing(group, instance="i-0123456789abcdef0", ip="203.0.113.254")
    put_exposure(store, sorted(after), found, at(9))
    return {"from": "2026-01-08", "to": "2026-01-09"}


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4 of the child)."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60) -> None:
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def wire() -> None:
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "about:blank"],
            pass_fds=tuple(sorted({3, 4, to_child, from_child})), preexec_fn=wire,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self._pending, self._deadline = b"", 0, [], time.monotonic() + timeout

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._recv_fd], [], [], max(self._deadline - time.monotonic(), 0))
            chunk = os.read(self._recv_fd, 1 << 16) if ready else b""
            assert chunk, "Chromium did not answer in time"
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        while True:
            found = self._message()
            if found.get("id") == self._id:
                assert "error" not in found, found
                return found.get("result", {})
            self._pending.append(found)

    def wait_for(self, method: str, session: str) -> None:
        while not any(m.get("method") == method and m.get("sessionId") == session for m in self._pending):
            self._pending.append(self._message())

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._send_fd)
            os.close(self._recv_fd)


OVERFLOW = """[...document.querySelectorAll('html, .scroll')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => (el.closest('section') || {id: 'page'}).id + `: ${el.scrollWidth}px of ${el.clientWidth}px`)"""


def horizontal_overflow(page: Path, width: int, media: str) -> list[str]:
    """What scrolls sideways: the page, or any table's scroll box, at ``width`` CSS pixels in ``media``."""
    with tempfile.TemporaryDirectory() as profile:
        browser = DevTools(CHROMIUM or "chromium", Path(profile))
        try:
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            browser.call("Page.enable", session)
            browser.call("Emulation.setDeviceMetricsOverride", session, width=width, height=1000, deviceScaleFactor=1,
                         mobile=False)
            browser.call("Emulation.setEmulatedMedia", session, media=media)
            browser.call("Page.navigate", session, url=page.as_uri())
            browser.wait_for("Page.loadEventFired", session)
            result = browser.call("Runtime.evaluate", session, expression=OVERFLOW, returnByValue=True)
            return result["result"]["value"]
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
@pytest.mark.parametrize(("width", "media"), LAYOUTS)
def test_report_fits_a_laptop_window_and_a_printed_page(aws: dict[str, Any], tmp_path: Path, width: int,
                                                        media: str) -> None:
    # Given the fabricated week and two more days with realistic worst-case values
    reports = [handler.lambda_handler(EVENT, None), handler.lambda_handler(wide_history(aws["store"]), None)]
    wide = parse(aws["store"].get(reports[1]["report_key"]).body.decode())
    assert wide.sections == SECTIONS
    assert LONG_ACTOR in wide.joined("changes") and LONG_NAME in wide.joined("risky")
    assert LONG_PRINCIPAL in wide.joined("change-control") and LONG_DETAIL in wide.joined("change-control")
    assert wide.rows["exposure"] >= 1 and LONG_NAME in wide.joined("exposure")
    for number, result in enumerate(reports):
        page = tmp_path / f"report-{number}.html"
        page.write_bytes(aws["store"].get(result["report_key"]).body)
        # When each report is laid out at that width in that medium, then nothing scrolls sideways
        assert horizontal_overflow(page, width, media) == [], result["report_key"]


@pytest.mark.parametrize(
    ("zone", "now", "period"),
    [
        ("UTC", datetime(2026, 7, 1, 6, tzinfo=UTC), "2026-01-01_2026-06-30"),
        # 06:00 on 1 July in Tokyo is 21:00 on 30 June in UTC
        ("Asia/Tokyo", datetime(2026, 6, 30, 21, tzinfo=UTC), "2026-01-01_2026-06-30"),
        ("America/New_York", datetime(2026, 7, 1, 10, tzinfo=UTC), "2026-01-01_2026-06-30"),
    ],
)
def test_the_scheduled_period_follows_the_schedule_time_zone(zone: str, now: datetime, period: str) -> None:
    assert review.default_period(handler._today(now, zone)).name == period


def test_an_altered_snapshot_is_reported_and_hashed_as_found(aws: dict[str, Any]) -> None:
    # Given a snapshot altered after it was written (its recorded digest no longer matches)
    store = aws["store"]
    key = next(k for k in store.keys(PREFIX) if "/snapshots/" in k and "20260102" in k)
    original = store.get(key)
    altered = original.body.replace(b"443", b"444")
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=altered, Metadata=original.metadata)
    # When the pack is built
    result = handler.lambda_handler(EVENT, None)
    # Then the report names it as an integrity gap and the manifest holds the hash of what was read
    page = parse(store.get(result["report_key"]).body.decode())
    assert key in page.joined("gaps") and "not intact" in page.joined("gaps")
    manifest = json.loads(store.get(result["manifest_key"]).body)
    [entry] = [e for e in manifest["evidence"] if e["key"] == key]
    assert entry["sha256"] == hashlib.sha256(altered).hexdigest()


def test_the_authorized_public_ports_of_the_deployment_rate_the_current_rules(
        aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the deployment authorizes SSH to the world (AUTHORIZED_PUBLIC_PORTS, as modules/review-pack sets it)
    monkeypatch.setenv("AUTHORIZED_PUBLIC_PORTS", "22,443")
    result = handler.lambda_handler(EVENT, None)
    # Then the world-open SSH rule is not risky, as its alert would not be
    assert result["risky"] == 0
    rows = aws["store"].get(result["report_key"].replace("report.html", "risky-rules.csv")).body.decode()
    assert rows.strip().count("\n") == 0


def test_the_result_and_notification_count_critical_out_of_band_and_unattributed_changes(
        aws: dict[str, Any]) -> None:
    result = handler.lambda_handler(EVENT, None)
    assert (result["critical"], result["out_of_band"], result["unattributed"]) == (1, 2, 1)
    [message] = messages(aws)
    assert "critical (internet-exposed): 1" in message["Message"]
    assert "Out-of-band changes: 2" in message["Message"] and "unattributed: 1" in message["Message"]


# --------------------------------------------------------------------------- the fanned-out pack

OTHER = "222222222222"
THIRD = "333333333333"


def other_scope(store: EvidenceStore, account: str, region: str, events: bool) -> None:
    """A second history: a snapshot before the period, a change on the 3rd (with its event when
    ``events``), an exposure report, an event outside the period and a snapshot after it."""
    def mine(r: Rule) -> Rule:
        return r._replace(account_id=account, region=region)

    base = [mine(r) for r in (WEB_HTTPS, WEB_EGRESS)]
    opened = sorted([*base, mine(WEB_SSH)])
    record_snapshot(store, PREFIX, account, region, base, datetime(2025, 12, 30, 6, tzinfo=UTC))
    record_snapshot(store, PREFIX, account, region, base, at(2))
    if events:
        put_event(store, f"ev-{account}-{region}", at(3, 9), "AuthorizeSecurityGroupIngress", ["sg-web"], "carol",
                  [{"action": "added", "before": None, "after": rule_dict(mine(WEB_SSH))}], account=account,
                  region=region)
        put_event(store, f"ev-old-{account}", datetime(2025, 12, 20, 9, tzinfo=UTC), "RevokeSecurityGroupIngress",
                  ["sg-web"], "carol", [], account=account, region=region)
    record_snapshot(store, PREFIX, account, region, opened, at(3))
    put_exposure(store, opened, internet_facing("sg-web"), at(3), account=account, region=region)
    record_snapshot(store, PREFIX, account, region, base, at(9))  # after the period: closes its last window


@pytest.fixture
def estate(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Three accounts, four account/regions with evidence, one folder without any a review reads; a work queue."""
    store = aws["store"]
    other_scope(store, OTHER, "eu-west-1", events=True)
    other_scope(store, OTHER, "us-east-1", events=False)
    other_scope(store, THIRD, "eu-west-1", events=True)
    store.put_new(f"{PREFIX}{THIRD}/ap-south-1/claims/x.json", b"{}", "application/json")
    work = aws["sqs"].create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("WORK_QUEUE_URL", work)
    return {**aws, "work": work}


def oracle(store: EvidenceStore) -> review.Review:
    """Today's single-invocation review of the same evidence."""
    selection = review.select(PREFIX, store.keys(PREFIX), PERIOD)
    objects = {k: store.get(k) for k in selection.to_read}
    return review.build(PERIOD, BUCKET, PREFIX, selection, objects, datetime(2026, 1, 8, tzinfo=UTC))


class Lambda:
    """The event source mapping as Lambda runs it: batches of up to ten records, one warm process,
    the records a batch reports failed delivered again (their receive count grows), the others deleted."""

    def __init__(self, sqs: Any, queue: str) -> None:
        self.sqs, self.queue, self.results = sqs, queue, []

    def receive(self) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                         MessageSystemAttributeNames=["ApproximateReceiveCount"])
        return found.get("Messages", [])

    @staticmethod
    def records(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": {"ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]},
             "eventSource": "aws:sqs"} for m in messages]}

    def settle(self, messages: list[dict[str, Any]], response: dict[str, Any]) -> None:
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def drain(self, duplicate_first: bool = False, limit: int = 50) -> None:
        for _ in range(limit):
            messages = self.receive()
            if not messages:
                return
            event = self.records(messages)
            if duplicate_first:  # the same batch delivered twice at the same moment
                duplicate_first = False
                with ThreadPoolExecutor(max_workers=2) as pool:
                    first, second = pool.map(lambda e: handler.lambda_handler(e, None), [event, event])
                failed = {f["itemIdentifier"] for r in (first, second) for f in r["batchItemFailures"]}
                response = {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
            else:
                response = handler.lambda_handler(event, None)
            self.settle(messages, response)
        raise AssertionError("the queue never drained")


def fail_once(monkeypatch: pytest.MonkeyPatch, pair: tuple[str, str], times: int = 1) -> list[int]:
    calls = [0]
    real = parts.build_partial

    def flaky(store: EvidenceStore, prefix: str, found: tuple[str, str], period: review.Period) -> Any:
        if found == pair and calls[0] < times:
            calls[0] += 1
            raise TimeoutError("read timed out")
        return real(store, prefix, found, period)

    monkeypatch.setattr(parts, "build_partial", flaky)
    return calls


def packs(store: EvidenceStore) -> list[str]:
    return sorted(k for k in store.keys(f"{PREFIX}reviews/") if k.endswith("/manifest.json") and "/runs/" not in k)


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_the_fanned_out_pack_has_the_sections_and_csv_rows_of_the_single_run(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a multi-account bucket, today's single-invocation review of it, and one part that fails once
    store = estate["store"]
    expected = oracle(store)
    calls = fail_once(monkeypatch, (OTHER, "us-east-1"))
    # When the run is dispatched and Lambda delivers the queue (a duplicated batch included) to one warm process
    dispatched = handler.lambda_handler(EVENT, None)
    assert dispatched["parts"] == 5  # four account/regions with evidence, one folder without
    Lambda(estate["sqs"], estate["work"]).drain(duplicate_first=True)
    # Then exactly one pack is written, with the same CSV rows and sections as the single run
    assert calls == [1]
    [manifest_key] = packs(store)
    pack_prefix = manifest_key.rsplit("/", 1)[0] + "/"
    assert pack_prefix == f"{PREFIX}reviews/{PERIOD.name}/"
    for name, body in review.render_csvs(expected).items():
        assert csv_rows(store.get(pack_prefix + name).body) == csv_rows(body), name
    page = parse(store.get(pack_prefix + "report.html").body.decode())
    single = parse(review.render_html(expected, pack_prefix))
    assert page.sections == single.sections == SECTIONS
    assert page.rows == single.rows
    for section in ("changes", "change-control", "exposure", "risky", "unused", "groups", "gaps"):
        assert page.joined(section) == single.joined(section), section
    assert {a for a, _ in ((s.account_id, s.region) for s in expected.scopes)} == {ACCOUNT, OTHER, THIRD}
    # and the manifest hashes the same evidence objects the single run read
    manifest = json.loads(store.get(manifest_key).body)
    assert sorted((e["key"], e["sha256"]) for e in manifest["evidence"]) == \
        sorted((u.key, u.sha256) for u in expected.used)


def test_a_part_that_keeps_failing_is_a_gap_of_its_account_region_in_the_pack(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one account/region whose part fails on every delivery
    store = estate["store"]
    fail_once(monkeypatch, (THIRD, "eu-west-1"), times=99)
    # When the queue is delivered until SQS stops retrying it (WORK_MAX_RECEIVES)
    monkeypatch.setenv("WORK_MAX_RECEIVES", "3")
    handler.lambda_handler(EVENT, None)
    Lambda(estate["sqs"], estate["work"]).drain()
    # Then the pack is written, and says that account/region could not be reviewed
    [manifest_key] = packs(store)
    page = parse(store.get(manifest_key.replace("manifest.json", "report.html")).body.decode())
    assert "part-failed" in page.joined("gaps") and "read timed out" in page.joined("gaps")
    assert THIRD in page.joined("gaps")


def test_a_re_run_of_the_same_period_writes_the_next_pack_from_its_own_parts(estate: dict[str, Any]) -> None:
    store = estate["store"]
    for _ in range(2):
        handler.lambda_handler(EVENT, None)
        Lambda(estate["sqs"], estate["work"]).drain()
    first, second = f"{PREFIX}reviews/{PERIOD.name}/manifest.json", f"{PREFIX}reviews/{PERIOD.name}-r2/manifest.json"
    assert packs(store) == sorted([first, second])
    changes = [store.get(k.replace("manifest.json", "changes.csv")).body for k in (first, second)]
    assert changes[0] == changes[1]


def test_a_duplicate_merge_message_writes_nothing(estate: dict[str, Any]) -> None:
    store = estate["store"]
    handler.lambda_handler(EVENT, None)
    Lambda(estate["sqs"], estate["work"]).drain()
    [run_prefix] = {k.split("/runs/")[1].split("/")[0] for k in store.keys(f"{PREFIX}reviews/runs/")}
    before = store.keys(PREFIX)
    body = json.dumps({"run": f"{PREFIX}reviews/runs/{run_prefix}/", "merge": True})
    response = handler.lambda_handler(
        {"Records": [{"messageId": "another", "body": body, "eventSource": "aws:sqs", "attributes": {}}]}, None)
    assert response == {"batchItemFailures": []}
    assert store.keys(PREFIX) == before


@pytest.mark.parametrize("body", [
    json.dumps({"run": f"{PREFIX}reviews/runs/nope/", "account_id": ACCOUNT, "region": REGION}),
    json.dumps({"run": "elsewhere/", "merge": True}),
    "not json",
])
def test_a_queued_message_of_no_run_is_refused_and_kept_for_the_dead_letter_queue(
        estate: dict[str, Any], body: str) -> None:
    event = {"Records": [{"messageId": "m1", "body": body, "eventSource": "aws:sqs", "attributes": {}}]}
    assert handler.lambda_handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert packs(estate["store"]) == []


def test_a_partial_the_merge_cannot_read_is_read_again_not_a_gap(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a merge whose first read of one partial fails (after botocore's retries)
    store = estate["store"]
    real, failures = parts.pack.read_all, []

    def flaky(store: EvidenceStore, keys: list[str], digest_only: set[str]) -> dict[str, Any]:
        found = real(store, keys, digest_only)
        partials = [k for k in keys if "/parts/" in k]
        if partials and not failures:
            failures.append(partials[0])
            found[partials[0]] = None
        return found

    monkeypatch.setattr(parts.pack, "read_all", flaky)
    handler.lambda_handler(EVENT, None)
    Lambda(estate["sqs"], estate["work"]).drain()
    # Then SQS delivers the merge again and the pack has no gap for it
    assert failures
    [manifest_key] = packs(store)
    page = parse(store.get(manifest_key.replace("manifest.json", "report.html")).body.decode())
    assert "part-failed" not in page.joined("gaps") and "unusable" not in page.joined("gaps")


def test_a_single_run_lists_each_account_region_from_the_period_start_never_the_whole_history(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given half a year of older snapshots in one account/region, and a single run (no work queue)
    store = estate["store"]
    monkeypatch.delenv("WORK_QUEUE_URL")
    history = {f"{series_prefix(PREFIX, OTHER, 'eu-west-1', kind)}{stamp(datetime(2025, 6, day, 6, tzinfo=UTC))}.csv"
               for kind in ("snapshots", "diffs") for day in range(1, 29)}
    for key in history:
        store.put_new(key, b"older evidence", "text/csv")
    expected = oracle(store)
    listed: list[str] = []
    real = EvidenceStore.iter_keys

    def spy(self: EvidenceStore, prefix: str, start_after: str = "") -> Any:
        assert prefix != PREFIX, "the whole evidence prefix was listed"
        for key in real(self, prefix, start_after):
            listed.append(key)
            yield key

    monkeypatch.setattr(EvidenceStore, "iter_keys", spy)
    # When the pack of the period is built
    result = handler.lambda_handler(EVENT, None)
    # Then of the older history, at most the newest of each series was listed (where its listing stops),
    # and the pack is the one the whole listing gives
    newest = {min(k for k in history if f"/{kind}/" in k) for kind in ("snapshots", "diffs")}  # inverted stamps
    assert listed and history & set(listed) <= newest
    assert result["changes"] == expected.totals()["changes"] and result["gaps"] == expected.totals()["gaps"]
    assert result["evidence_objects"] == len(expected.used)


def queued(estate: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message the work queue holds now, delayed ones included (its attributes count those)."""
    attributes = estate["sqs"].get_queue_attributes(QueueUrl=estate["work"], AttributeNames=["All"])["Attributes"]
    return [{"visible": int(attributes["ApproximateNumberOfMessages"]),
             "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"])}]


def test_a_part_whose_last_delivery_ends_without_a_result_is_a_gap_once_the_run_deadline_passes(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a fanned-out run whose part of THIRD/eu-west-1 timed out on every delivery (SQS moved it to the
    # dead-letter queue: nothing was written for it), the other parts delivered as Lambda would
    store, sqs, work = estate["store"], estate["sqs"], estate["work"]
    dispatched = handler.lambda_handler(EVENT, None)
    assert queued(estate) == [{"visible": 5, "delayed": 1}]  # the parts, and the run's deadline check
    lost = [m for m in sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10)["Messages"]
            if json.loads(m["Body"]).get("account_id") == THIRD and json.loads(m["Body"])["region"] == "eu-west-1"]
    for message in lost:
        sqs.delete_message(QueueUrl=work, ReceiptHandle=message["ReceiptHandle"])
    for message in sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10).get("Messages", []):
        sqs.change_message_visibility(QueueUrl=work, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    Lambda(sqs, work).drain()
    assert len(lost) == 1 and packs(store) == []
    run = parts.load_run(store, review.Settings.from_env(), dispatched["run"])
    # When the deadline check comes before the deadline, it waits and checks again later
    assert parts.check_deadline(store, review.Settings.from_env(), run, run.generated_at) == "waiting"
    assert packs(store) == []
    # When it comes after the deadline, the missing part becomes a gap and the pack is merged
    late = run.generated_at + parts.RUN_DEADLINE
    assert parts.check_deadline(store, review.Settings.from_env(), run, late) == "given-up"
    Lambda(sqs, work).drain()
    [manifest_key] = packs(store)
    page = parse(store.get(manifest_key.replace("manifest.json", "report.html")).body.decode())
    assert "part-failed" in page.joined("gaps") and "deadline" in page.joined("gaps") and THIRD in page.joined("gaps")
    # And the checks end once the run is merged
    assert parts.check_deadline(store, review.Settings.from_env(), run, late) == "merged"


def test_the_deadline_check_of_a_run_merged_in_time_stops_and_changes_nothing(estate: dict[str, Any]) -> None:
    store = estate["store"]
    dispatched = handler.lambda_handler(EVENT, None)
    Lambda(estate["sqs"], estate["work"]).drain()
    before = store.keys(PREFIX)
    body = json.dumps({"run": dispatched["run"], "deadline": True})
    event = {"Records": [{"messageId": "check", "body": body, "eventSource": "aws:sqs", "attributes": {}}]}
    assert handler.lambda_handler(event, None) == {"batchItemFailures": []}
    assert store.keys(PREFIX) == before and queued(estate) == [{"visible": 0, "delayed": 1}]  # the first check only
