"""The review_pack handler end to end on in-process moto (S3, SNS, SQS, STS, Secrets Manager).

Slack is the loopback fake of tests/unit/fake_slack.py (moto has no Slack). The rendering
check runs the distribution's headless Chromium and skips when ``/usr/bin/chromium`` is absent
(``make test`` installs it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from review_pack import handler, signoff
from sgwatch import review
from sgwatch.evidence import EvidenceStore

from .fake_slack import FakeSlack
from .test_review import BUCKET, PERIOD, PREFIX, fabricate, parse

EVENT = {"from": "2026-01-01", "to": "2026-01-07"}
OUTPUTS = ("report.html", "changes.csv", "current-rules.csv", "risky-rules.csv", "unused-groups.csv",
           "review-record.json", "manifest.json")


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
    assert kinds == {"snapshot", "diff", "event", "unused-report"}
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
                               now=datetime(2026, 1, 9, tzinfo=timezone.utc))
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
    period = review.default_period(datetime.now(timezone.utc).date())
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


@pytest.mark.parametrize(
    ("zone", "now", "period"),
    [
        ("UTC", datetime(2026, 7, 1, 6, tzinfo=timezone.utc), "2026-01-01_2026-06-30"),
        # 06:00 on 1 July in Tokyo is 21:00 on 30 June in UTC
        ("Asia/Tokyo", datetime(2026, 6, 30, 21, tzinfo=timezone.utc), "2026-01-01_2026-06-30"),
        ("America/New_York", datetime(2026, 7, 1, 10, tzinfo=timezone.utc), "2026-01-01_2026-06-30"),
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
