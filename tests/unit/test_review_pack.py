"""The review_pack handler end to end on in-process moto (S3, SNS, SQS, STS, Secrets Manager).

Slack is the loopback fake of tests/unit/fake_slack.py (moto has no Slack). The rendering
checks run the distribution's headless Chromium and skip when ``/usr/bin/chromium`` is absent
(``make test`` installs it); the layout check drives it over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: no port, no network).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from review_pack import handler, signoff
from sgwatch import review_pack as review
from sgwatch.evidence import EvidenceStore
from sgwatch.provenance import Provenance
from sgwatch.sg_inventory.record import record_snapshot

from .fake_slack import FakeSlack
from .test_review import (
    ACCOUNT,
    BUCKET,
    PERIOD,
    PREFIX,
    REGION,
    SECTIONS,
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
           "out-of-band-changes.csv", "review-record.json", "manifest.json")


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
    assert kinds == {"snapshot", "diff", "event", "unused-report", "exposure-report"}
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
