"""reachability_check handler against a loopback fake of the EC2 calls moto lacks.

The emulator has no VPC Reachability Analyzer API, so EC2 is served by ``FakeEc2``: a small
HTTP server on 127.0.0.1 speaking the EC2 Query protocol (XML rendered from botocore's
own output shapes) for DescribeNetworkInsightsPaths, DescribeNetworkInterfaces,
StartNetworkInsightsAnalysis and DescribeNetworkInsightsAnalyses. The function reaches
it through ``AWS_ENDPOINT_URL_EC2``, with its real boto3 client, so botocore's retries
(throttling) are exercised for real. S3, SNS, SQS, STS and Secrets Manager are moto in
process. Time is a fake clock: the handler's sleeps advance the remaining time of the
fake Lambda context (nothing here waits for or measures real time).
Recorded response shapes come from ../shared/real-payloads/reachability (tests that need
them skip when it is absent).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.fake_ec2_query import FakeEc2Server
from tests.unit.fake_slack import FakeSlack

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "real-payloads" / "reachability"
ACCOUNT = "123456789012"
PREFIX = "security-groups/"
WEB_GROUP, DB_GROUP, OTHER_GROUP = "sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2", "sg-0ccccccccccccccc3"


def real(name: str) -> dict[str, Any]:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not available (real payloads live outside the repository)")
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- the fake EC2


@dataclass
class FakeEc2:
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # path id -> finished analysis fields
    polls_before_done: int = 0
    throttle_starts: int = 0
    start_errors: dict[str, str] = field(default_factory=dict)  # path id -> error code
    # StartNetworkInsightsAnalysis response shape (the tests use the recorded one)
    running: dict[str, Any] = field(
        default_factory=lambda: {
            "NetworkInsightsAnalysisId": "nia-0",
            "NetworkInsightsAnalysisArn": "arn:aws:ec2:us-east-1:123456789012:network-insights-analysis/nia-0",
            "NetworkInsightsPathId": "nip-0",
            "StartDate": "2021-01-20T22:58:37.495Z",
            "Status": "running",
        }
    )
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def starts(self) -> list[str]:
        return [p["NetworkInsightsPathId"][0] for a, p in self.calls if a == "StartNetworkInsightsAnalysis"]

    def finish_all(self) -> None:
        for analysis in self.analyses.values():
            analysis["polls_left"] = 0

    def handle(self, action: str, params: dict[str, list[str]]) -> tuple[int, dict[str, Any] | str]:
        with self.lock:
            self.calls.append((action, params))
            return getattr(self, action)(params)

    @staticmethod
    def _listed(params: dict[str, list[str]], name: str) -> list[str]:
        keys = sorted((k for k in params if k.startswith(name + ".")), key=lambda k: int(k.rsplit(".", 1)[1]))
        return [params[k][0] for k in keys]

    @staticmethod
    def _error(code: str, status: int = 400) -> tuple[int, str]:
        return status, (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{code} (fake)</Message></Error></Errors>"
            "<RequestID>fake</RequestID></Response>"
        )

    def DescribeNetworkInsightsPaths(self, params):  # noqa: N802 - EC2 action names
        ids = self._listed(params, "NetworkInsightsPathId")
        if any(i not in self.paths for i in ids):
            return self._error("InvalidNetworkInsightsPathId.NotFound")
        return 200, {"NetworkInsightsPaths": [self.paths[i] for i in ids]}

    def DescribeNetworkInterfaces(self, params):  # noqa: N802
        name, values = params["Filter.1.Name"][0], set(self._listed(params, "Filter.1.Value"))
        if name == "attachment.instance-id":
            found = [e for e in self.interfaces if (e.get("Attachment") or {}).get("InstanceId") in values]
        else:
            found = [e for e in self.interfaces if e["NetworkInterfaceId"] in values]
        return 200, {"NetworkInterfaces": found}

    def StartNetworkInsightsAnalysis(self, params):  # noqa: N802
        if self.throttle_starts:
            self.throttle_starts -= 1
            return self._error("RequestLimitExceeded", 503)
        path_id = params["NetworkInsightsPathId"][0]
        if path_id in self.start_errors:
            return self._error(self.start_errors[path_id], 403)
        if path_id not in self.paths:
            return self._error("InvalidNetworkInsightsPathId.NotFound")
        template = self.running
        analysis_id = f"nia-{len(self.analyses) + 1:017x}"
        running = {**template, "NetworkInsightsAnalysisId": analysis_id, "NetworkInsightsPathId": path_id}
        arn_prefix = template["NetworkInsightsAnalysisArn"].rsplit("/", 1)[0]
        running["NetworkInsightsAnalysisArn"] = f"{arn_prefix}/{analysis_id}"
        self.analyses[analysis_id] = {"running": running, "polls_left": self.polls_before_done, "path_id": path_id}
        return 200, {"NetworkInsightsAnalysis": running}

    def DescribeNetworkInsightsAnalyses(self, params):  # noqa: N802
        ids = self._listed(params, "NetworkInsightsAnalysisId")
        if any(i not in self.analyses for i in ids):
            return self._error("InvalidNetworkInsightsAnalysisId.NotFound")
        out = []
        for analysis_id in ids:
            entry = self.analyses[analysis_id]
            if entry["polls_left"] > 0:
                entry["polls_left"] -= 1
                out.append(entry["running"])
            else:
                out.append({**entry["running"], **self.verdicts[entry["path_id"]]})
        return 200, {"NetworkInsightsAnalyses": out}


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch):
    fake = FakeEc2()
    fake.running = real("StartNetworkInsightsAnalysis_running_awscli_doc.json")["NetworkInsightsAnalysis"]
    with FakeEc2Server(fake) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", server.url)
        yield fake


# --------------------------------------------------------------------------- the account


@dataclass
class Clock:
    """Fake Lambda context: remaining time shrinks only when the handler sleeps."""

    left_millis: float = 280_000
    sleeps: list[float] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> float:
        return self.left_millis

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.left_millis -= seconds * 1000


@dataclass
class Account:
    ec2: FakeEc2
    queue_url: str
    bucket: str = "evidence"

    def invoke(self, event: dict[str, Any] | None = None, clock: Clock | None = None) -> dict[str, Any]:
        from reachability_check import handler

        clock = clock or Clock()
        return handler.run(event if event is not None else {}, clock, sleep=clock.sleep)

    def alerts(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        found = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return found
            for m in got:
                found.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def states(self, path_id: str) -> list[dict[str, Any]]:
        """State objects of a path, newest first."""
        s3 = boto3.client("s3", region_name="us-east-1")
        prefix = f"{PREFIX}{ACCOUNT}/us-east-1/reachability/{path_id}/"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])]
        return [json.loads(s3.get_object(Bucket=self.bucket, Key=k)["Body"].read()) for k in keys]


def path(path_id: str, source: str, destination: str, name: str) -> dict[str, Any]:
    shape = real("DescribeNetworkInsightsPaths_igw_to_instance_awscli_doc.json")["NetworkInsightsPaths"][0]
    return {
        **shape,
        "NetworkInsightsPathId": path_id,
        "Source": source,
        "Destination": destination,
        "DestinationPort": 443,
        "Tags": [{"Key": "Name", "Value": name}],
    }


REACHABLE = {"Status": "succeeded", "NetworkPathFound": True}


@pytest.fixture
def account(ec2: FakeEc2, monkeypatch: pytest.MonkeyPatch):
    ec2.paths = {
        "nip-0web": path("nip-0web", "igw-0797cccdc9d73b0e5", "i-0web", "web-https"),
        "nip-0db": path("nip-0db", "eni-0app", "eni-0db", "app-to-db"),
    }
    ec2.interfaces = [
        {
            "NetworkInterfaceId": "eni-0web",
            "Attachment": {"InstanceId": "i-0web"},
            "Groups": [{"GroupId": WEB_GROUP, "GroupName": "web"}],
        },
        {"NetworkInterfaceId": "eni-0app", "Groups": [{"GroupId": OTHER_GROUP, "GroupName": "app"}]},
        {"NetworkInterfaceId": "eni-0db", "Groups": [{"GroupId": DB_GROUP, "GroupName": "db"}]},
    ]
    ec2.verdicts = {"nip-0web": dict(REACHABLE), "nip-0db": dict(REACHABLE)}
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="evidence")
        sns = boto3.client("sns", region_name="us-east-1")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        for name, value in {
            "PATH_IDS": "nip-0web,nip-0db",
            "ALERT_TOPIC_ARN": topic,
            "EVIDENCE_BUCKET": "evidence",
            "EVIDENCE_PREFIX": PREFIX,
        }.items():
            monkeypatch.setenv(name, value)
        yield Account(ec2, queue_url)


def blocked_verdict() -> dict[str, Any]:
    recorded = real("DescribeNetworkInsightsAnalyses_notfound_ENI_SG_RULES_MISMATCH_awscli_doc.json")
    analysis = recorded["NetworkInsightsAnalyses"][0]
    return {k: analysis[k] for k in ("Status", "NetworkPathFound", "Explanations")}


def sg_event(
    group_id: str, name: str = "RevokeSecurityGroupIngress", account: str = ACCOUNT, region: str = "us-east-1"
) -> dict[str, Any]:
    """A CloudTrail SG call as EventBridge delivers it (``account``/``region``: where the call was made)."""
    return {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": account,
        "region": region,
        "resources": [],
        "detail": {"eventSource": "ec2.amazonaws.com", "eventName": name, "requestParameters": {"groupId": group_id}},
    }


def by_name_event(account: str, region: str = "us-east-1") -> dict[str, Any]:
    """A change naming its group only by name (default VPC): it cannot be attributed, so it selects every path."""
    event = sg_event(WEB_GROUP, "AuthorizeSecurityGroupIngress", account, region)
    event["detail"]["requestParameters"] = {"groupName": "web"}
    return event


def sqs_batch(*bodies: Any) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m-{i}", "body": b if isinstance(b, str) else json.dumps(b), "eventSource": "aws:sqs"}
            for i, b in enumerate(bodies)
        ]
    }


# --------------------------------------------------------------------------- tests


def test_first_check_of_reachable_paths_records_state_and_sends_nothing(account: Account) -> None:
    # when a scheduled run checks both paths for the first time
    result = account.invoke()
    # then each path was analysed once, found reachable, recorded, and nobody was alerted
    assert result["alerts"] == 0
    assert sorted((a["path_id"], a["status"], a["path_found"]) for a in result["analyses"]) == [
        ("nip-0db", "succeeded", True),
        ("nip-0web", "succeeded", True),
    ]
    assert all(a["analysis_id"].startswith("nia-") for a in result["analyses"])
    assert "batchItemFailures" not in result
    assert account.alerts() == []
    [state] = account.states("nip-0web")
    assert (state["state"], state["status"], state["pending"]) == ("reachable", "succeeded", [])


def test_a_path_that_becomes_blocked_alerts_once_with_the_explanations(account: Account) -> None:
    # given a path known to be reachable
    account.invoke()
    # when a change blocks it, and a later run finds it still blocked
    account.ec2.verdicts["nip-0web"] = blocked_verdict()
    first = account.invoke()
    first_alerts = account.alerts()
    again = account.invoke()
    # then exactly one alert, naming the path and summarising why, with filterable attributes
    assert first["alerts"] == 1 and again["alerts"] == 0
    [alert] = first_alerts
    assert alert["Subject"] == "SG Watch: Path web-https (nip-0web) is now blocked"
    explanation = "security group sg-02f0d35a850ba727f (ingress, at eni-0a25edef15a6cc08c): ENI_SG_RULES_MISMATCH"
    assert explanation in alert["Message"]
    assert "igw-0797cccdc9d73b0e5 -> i-0web tcp/443" in alert["Message"]
    assert alert["MessageAttributes"]["severity"]["Value"] == "HIGH"
    assert alert["MessageAttributes"]["event_name"]["Value"] == "ReachabilityPathBlocked"
    assert account.alerts() == []
    assert account.states("nip-0web")[0]["state"] == "unreachable"
    assert account.states("nip-0web")[0]["explanations"][0]["code"] == "ENI_SG_RULES_MISMATCH"


def test_a_blocked_path_that_works_again_is_restored(account: Account) -> None:
    account.ec2.verdicts["nip-0db"] = blocked_verdict()
    account.invoke()
    account.alerts()
    account.ec2.verdicts["nip-0db"] = dict(REACHABLE)
    result = account.invoke()
    [alert] = account.alerts()
    assert result["alerts"] == 1
    assert alert["Subject"] == "SG Watch: Path app-to-db (nip-0db) restored"
    assert alert["MessageAttributes"]["event_name"]["Value"] == "ReachabilityPathRestored"


def test_a_failed_analysis_alerts_with_the_reason_once(account: Account) -> None:
    account.ec2.verdicts["nip-0web"] = {"Status": "failed", "StatusMessage": "Internal error, please retry"}
    result = account.invoke()
    account.invoke()
    alerts = account.alerts()
    assert [a["status"] for a in result["analyses"] if a["path_id"] == "nip-0web"] == ["failed"]
    assert [a["Subject"] for a in alerts] == ["SG Watch: Reachability analysis of path web-https (nip-0web) failed"]
    assert "Internal error, please retry" in alerts[0]["Message"]


def test_analyses_unfinished_when_time_runs_out_are_collected_by_the_next_invocation(account: Account) -> None:
    # given analyses that stay running longer than the invocation has time
    account.ec2.polls_before_done = 1_000
    account.ec2.verdicts["nip-0web"] = blocked_verdict()
    clock = Clock(left_millis=60_000)
    # when the scheduled run polls until its time runs short
    result = account.invoke(clock=clock)
    # then it backed off, stopped with time to spare, and recorded both analyses as pending, silently
    assert clock.sleeps == [2.0, 4.0, 8.0, 16.0]
    assert clock.left_millis >= 20_000
    assert {(a["path_id"], a["status"], a["path_found"]) for a in result["analyses"]} == {
        ("nip-0web", "running", None),
        ("nip-0db", "running", None),
    }
    assert result["alerts"] == 0 and account.alerts() == []
    pending = account.states("nip-0web")[0]
    assert pending["status"] == "running" and pending["pending"] == [
        a["analysis_id"] for a in result["analyses"] if a["path_id"] == "nip-0web"
    ]
    # when the analyses finish and the next invocation is a batch that affects no path
    account.ec2.finish_all()
    started_before = len(account.ec2.starts())
    later = account.invoke(sqs_batch(sg_event(WEB_GROUP, "UpdateSecurityGroupRuleDescriptionsIngress")))
    # then it collects the earlier results without starting (or paying for) new analyses
    assert len(account.ec2.starts()) == started_before
    assert {(a["path_id"], a["analysis_id"], a["status"]) for a in later["analyses"]} == {
        (a["path_id"], a["analysis_id"], "succeeded") for a in result["analyses"]
    }
    [alert] = account.alerts()
    assert "web-https (nip-0web) is blocked (first check)" in alert["Subject"]
    assert account.states("nip-0web")[0]["pending"] == []


def test_a_burst_of_events_costs_one_analysis_per_affected_path(account: Account) -> None:
    # given twelve changes to the web instance's group in one batching window
    names = ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"] * 6
    batch = sqs_batch(*[sg_event(WEB_GROUP, n) for n in names])
    # when the batch is processed
    result = account.invoke(batch)
    # then the web path is analysed once and the database path (other groups) not at all
    assert account.ec2.starts() == ["nip-0web"]
    assert [a["path_id"] for a in result["analyses"]] == ["nip-0web"]
    assert result["batchItemFailures"] == []


@pytest.mark.parametrize("group", [DB_GROUP, OTHER_GROUP], ids=["destination-eni", "source-eni"])
def test_a_change_to_either_end_of_a_path_selects_it(account: Account, group: str) -> None:
    account.invoke(sqs_batch(sg_event(group)))
    assert account.ec2.starts() == ["nip-0db"]


@pytest.mark.parametrize(
    "account_id, region", [("999999999999", "us-east-1"), (ACCOUNT, "eu-west-1")], ids=["other-account", "other-region"]
)
def test_a_change_from_another_account_or_region_is_ignored_and_costs_no_analysis(
    account: Account, caplog: pytest.LogCaptureFixture, account_id: str, region: str
) -> None:
    # given a change forwarded to the bus from an account or region whose paths this function does
    # not check, which could not be attributed to a group (were it its own, every path would be analysed)
    batch = sqs_batch(by_name_event(account_id, region))
    # when the batch is processed
    result = account.invoke(batch)
    # then nothing is analysed, the record is consumed (not retried) and the reason is logged
    assert account.ec2.starts() == []
    assert result == {"analyses": [], "alerts": 0, "batchItemFailures": []}
    ignored = [json.loads(r.getMessage()) for r in caplog.records if '"event_ignored"' in r.getMessage()]
    assert [(i["message_id"], i["account"], i["region"]) for i in ignored] == [("m-0", account_id, region)]


def test_a_foreign_change_does_not_widen_the_paths_its_own_batch_selects(account: Account) -> None:
    # given one change of the web path's group here, and an unattributable change in another account
    batch = sqs_batch(sg_event(WEB_GROUP), by_name_event("999999999999"))
    # when the batch is processed
    result = account.invoke(batch)
    # then only the web path is analysed
    assert account.ec2.starts() == ["nip-0web"]
    assert result["batchItemFailures"] == []


@pytest.mark.parametrize("event", [{}, sqs_batch(sg_event(WEB_GROUP))], ids=["scheduled", "sqs"])
def test_a_path_that_no_longer_exists_alerts_once_and_the_others_continue(
    account: Account, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]
) -> None:
    monkeypatch.setenv("PATH_IDS", "nip-0gone,nip-0web")
    result = account.invoke(event)
    again = account.invoke(event)
    alerts = account.alerts()
    checked = {(a["path_id"], a["status"]) for a in result["analyses"]}
    assert checked == {("nip-0gone", "missing"), ("nip-0web", "succeeded")}
    assert [a["Subject"] for a in alerts] == ["SG Watch: Path nip-0gone no longer exists"]
    assert again["alerts"] == 0
    assert account.states("nip-0web")[0]["state"] == "reachable"


def test_throttled_starts_are_retried(account: Account) -> None:
    account.ec2.throttle_starts = 2
    result = account.invoke()
    assert sorted(a["status"] for a in result["analyses"]) == ["succeeded", "succeeded"]
    assert len(account.ec2.starts()) == 4  # two throttled attempts, then one start per path


def test_malformed_records_are_reported_as_batch_item_failures_and_the_rest_is_processed(account: Account) -> None:
    batch = sqs_batch("{not json", sg_event(WEB_GROUP), json.dumps({"no": "detail"}))
    result = account.invoke(batch)
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-2"}]
    assert [a["path_id"] for a in result["analyses"]] == ["nip-0web"]


def test_a_slack_failure_never_loses_the_sns_alert(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:missing")
    monkeypatch.setenv("SLACK_CHANNEL_ID", "C0123456")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    account.ec2.verdicts["nip-0db"] = blocked_verdict()
    result = account.invoke()
    assert result["alerts"] == 1
    assert [a["MessageAttributes"]["event_name"]["Value"] for a in account.alerts()] == ["ReachabilityPathBlocked"]


def test_an_analysis_that_cannot_start_alerts_and_the_other_path_is_checked(account: Account) -> None:
    account.ec2.start_errors["nip-0db"] = "UnauthorizedOperation"
    result = account.invoke()
    [alert] = account.alerts()
    checked = {(a["path_id"], a["status"]) for a in result["analyses"]}
    assert checked == {("nip-0db", "error"), ("nip-0web", "succeeded")}
    assert alert["Subject"] == "SG Watch: Reachability analysis of path app-to-db (nip-0db) failed"
    assert "UnauthorizedOperation" in alert["Message"]


def test_slack_receives_the_alert_with_user_text_made_inert(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="slack", SecretString=json.dumps({"token": "xoxb-reach"})
    )["ARN"]
    account.ec2.paths["nip-0db"]["Tags"] = [{"Key": "Name", "Value": "<!channel> db"}]
    account.ec2.verdicts["nip-0db"] = blocked_verdict()
    with FakeSlack(token="xoxb-reach") as slack:
        monkeypatch.setenv("SLACK_TOKEN_SECRET_ARN", secret)
        monkeypatch.setenv("SLACK_CHANNEL_ID", "C0NET")
        monkeypatch.setenv("SLACK_API_URL", slack.url)
        result = account.invoke()
        [post] = slack.calls("chat.postMessage")
    assert result["alerts"] == 1 and len(account.alerts()) == 1
    text = post.params["text"]
    visible = text.replace("\u200b", "").replace("\u2060", "")  # zero-width guards are invisible
    assert post.params["channel"] == "C0NET"
    assert "is blocked" in visible and "ENI_SG_RULES_MISMATCH" in visible
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
