"""The fault matrix's engine: one warm process per function, running the function's shipped zip.

    python -m tests.faults.engine FUNCTION RESULT_FILE

The process puts the zip first on sys.path (as tests/module/lambda_runner.py does: the source tree is
taken off it), runs moto in process and the fake Slack and Security Hub of tests/unit on loopback. For
each scenario of tests/faults/scenarios.py it

1. sets the scenario up once (a fresh emulator), makes its change and runs it clean, recording every
   AWS call the function makes (a botocore ``before-call`` hook: service, operation and the call's
   ordinal among that operation's calls) and every Slack Web API call (through the fake Slack);
2. for every recorded call site and every fault kind that applies to it, takes the bucket back to the
   objects the recorded run found, makes a new change of the same kind, runs the scenario with that one
   fault injected on every attempt of that call (``before-send``: botocore's own retries run, without
   their back-off sleeps, and the fault outlasts them; the same request made again by the code's own
   retry fails the same way), classifies the outcome, checks the evidence bucket, then runs the scenario
   once more clean (the next scheduled run, or Lambda's retry of the same event) and checks that the
   evidence recovered.

The handler module is imported once and never reset: each run is the next invocation of one warm
Lambda process. Every AWS call is held to tests/contract.py; a breach fails the row. The rows go to
RESULT_FILE as JSON for tests/faults/test_matrix.py.
"""

from __future__ import annotations

import gzip
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "functions"
DIST = SOURCE / "dist"
OWN_ACCOUNT = "123456789012"
REGION = "us-east-1"

# --- fault kinds ----------------------------------------------------------------------------------

# (HTTP status, error code by protocol family) of the faults answered as an AWS error.
AWS_FAULTS = {
    "throttling": (400, {"ec2": "RequestLimitExceeded", "rest-xml": "SlowDown", "": "ThrottlingException"}),
    "access_denied": (403, {"ec2": "UnauthorizedOperation", "json": "AccessDeniedException",
                            "rest-json": "AccessDeniedException", "": "AccessDenied"}),
    "server_error": (500, {"json": "InternalFailure", "rest-json": "InternalFailure", "": "InternalError"}),
}
AWS_KINDS = (*AWS_FAULTS, "read_timeout")
OBJECT_READS = {("s3", "GetObject")}  # calls whose body can arrive truncated
SLACK_FAULTS = {  # kind -> (HTTP status, Slack error, headers) of the fake Slack; "timeout" is raised client-side
    "rate_limited": (429, "ratelimited", {"Retry-After": "0"}),
    "invalid_auth": (200, "invalid_auth", {}),
    "server_error": (500, None, {}),
}
SLACK_KINDS = (*SLACK_FAULTS, "timeout")
# Words an outcome names a fault by, beside the failed call's operation (or Slack method) and its error code.
FAULT_WORDS = {
    "read_timeout": ("timeout", "timed out"),
    "truncated_body": ("incompleteread", "truncated", "incomplete"),
    "timeout": ("timeout", "timed out"),
    "rate_limited": ("ratelimited", "rate limit", "429"),
    "invalid_auth": ("invalid_auth",),
    "server_error": ("internal", "500"),
}


INVISIBLE = {0x200B: None, 0x2060: None}


def fault_code(kind: str, protocol: str) -> str:
    codes = AWS_FAULTS[kind][1]
    return codes.get(protocol) or codes[""]


@dataclass(frozen=True)
class Site:
    """One call site: an AWS operation's n-th call in a scenario (service "slack": a Web API method)."""

    service: str
    operation: str
    ordinal: int

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}#{self.ordinal}"


# --- the botocore hooks ---------------------------------------------------------------------------


class Injector:
    """Counts the calls the function makes and answers the chosen one with a fault, on every attempt."""

    def __init__(self) -> None:
        self.active = False
        self.calls: list[Site] = []
        self.protocols: dict[str, str] = {}
        self.target: Site | None = None
        self.kind = ""
        self.attempts = 0
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._armed = threading.local()

    def start(self, target: Site | None = None, kind: str = "") -> None:
        with self._lock:
            self.calls, self._counts, self.target, self.kind, self.attempts = [], {}, target, kind, 0
            self.sticky: tuple[Any, ...] | None = None
            self.active = True

    def stop(self) -> None:
        self.active = False
        self._armed.kind = None

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self._armed.kind = None
        if not self.active:
            return
        service = model.service_model.service_name
        with self._lock:
            n = self._counts.get((service, model.name), 0) + 1
            self._counts[(service, model.name)] = n
            site = Site(service, model.name, n)
            self.calls.append(site)
            self.protocols[service] = model.service_model.protocol
        request = (service, model.name, params.get("url_path"), repr(params.get("query_string")),
                   repr(params.get("body")))
        if site == self.target:
            self._armed.kind = self.kind
            self.sticky = request
        elif request == self.sticky:  # the same request again (the code's own retry): it fails the same way
            self._armed.kind = self.kind
            with self._lock:
                self.calls.pop()  # not another call site: the faulted one, retried

    def harness_call(self, **_: Any) -> None:
        self._armed.kind = None

    def before_send(self, request: Any, **_: Any) -> Any:
        kind = getattr(self._armed, "kind", None)
        if not self.active or kind is None or kind == "truncated_body":
            return None
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError

        with self._lock:
            self.attempts += 1
        if kind == "read_timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        assert self.target is not None
        protocol = self.protocols[self.target.service]
        status, code = AWS_FAULTS[kind][0], fault_code(kind, protocol)
        message = f"injected {kind} on {self.target.operation}"
        headers: dict[str, str] = {}
        if protocol == "ec2":
            body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                    "<RequestID>fault</RequestID></Response>")
        elif protocol in ("query", "rest-xml"):
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    "</Error><RequestId>fault</RequestId></ErrorResponse>")
            if protocol == "rest-xml":
                body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
        else:
            body = json.dumps({"__type": code, "message": message, "Message": message})
            headers = {"x-amzn-ErrorType": code, "x-amzn-query-error": f"{code};Sender",
                       "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Raw(body.encode()))

    def after_get_object(self, parsed: dict[str, Any], **_: Any) -> None:
        if getattr(self._armed, "kind", None) != "truncated_body" or "Body" not in parsed:
            return
        from botocore.response import StreamingBody

        data = parsed["Body"].read()
        with self._lock:
            self.attempts += 1
        parsed["Body"] = StreamingBody(io.BytesIO(data[: len(data) // 2]), len(data))

    def faulting(self) -> bool:
        """This thread's call is answered with a fault (moto in process must then not carry it out)."""
        return self.active and getattr(self._armed, "kind", None) not in (None, "truncated_body")

    def install(self, harness: Any) -> None:
        """Hook every client the function builds (not those of ``harness``, the scenarios' botocore session)."""
        import botocore.retries.standard
        import botocore.session
        from moto.core.botocore_stubber import BotocoreStubber

        # The retries run as botocore makes them, only without waiting between them.
        botocore.retries.standard.ExponentialBackoff.delay_amount = lambda self, context: 0  # type: ignore
        original = botocore.session.Session.create_client
        injector = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            if session is harness:  # the scenario's own call between two invocations is never a faulted one
                client.meta.events.register_first("before-call", injector.harness_call)
                return client
            client.meta.events.register_first("before-call", injector.before_call)
            client.meta.events.register_first("before-send", injector.before_send)
            client.meta.events.register("after-call.s3.GetObject", injector.after_get_object)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        stub = BotocoreStubber.__call__

        def moto_unless_faulted(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            return None if injector.faulting() else stub(stubber, *args, **kwargs)

        BotocoreStubber.__call__ = moto_unless_faulted  # type: ignore[method-assign]


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


# --- what a run leaves behind -----------------------------------------------------------------------


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(json.loads(record.getMessage()))
        except ValueError:
            self.lines.append({"level": record.levelname, "step": record.getMessage()})


@dataclass
class Run:
    """One invocation sequence of a scenario and what it left: results, errors, alerts, Slack posts, objects."""

    results: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)
    written: dict[str, bytes] = field(default_factory=dict)  # objects new or changed in the run
    changed: list[str] = field(default_factory=list)  # objects that were there before and are no longer the same
    calls: list[Site] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def raised(self) -> bool:
        return bool(self.errors)

    @property
    def batch_failures(self) -> int:
        return sum(len(r.get("batchItemFailures") or ()) for r in self.results if isinstance(r, dict))

    def durable_text(self) -> str:
        """What a person or the next run sees: results, alerts, Slack posts and the objects written."""
        parts = [json.dumps(self.results, default=str, sort_keys=True, ensure_ascii=False)]
        parts += [json.dumps(a, default=str, sort_keys=True, ensure_ascii=False) for a in self.alerts]
        parts += [json.dumps(s, default=str, sort_keys=True, ensure_ascii=False) for s in self.slack]
        parts += [_text(data) for data in self.written.values()]
        return "\n".join(parts).lower().translate(INVISIBLE)  # Slack escaping adds zero-width characters

    def logged_warnings(self) -> list[dict[str, Any]]:
        return [line for line in self.logs if line.get("level") in ("WARNING", "ERROR")]


def _text(data: bytes) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return ""
    return data.decode("utf-8", "replace")


def parse_problem(key: str, data: bytes) -> str | None:
    """Why an object is not whole (JSON, CSV, gzip, HTML), else None."""
    try:
        if key.endswith(".gz") or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
            key = key[:-3]
        text = data.decode("utf-8")
        if key.endswith(".json"):
            json.loads(text)
        elif key.endswith(".jsonl"):
            for line in text.splitlines():
                json.loads(line)
        elif key.endswith(".html") and "</html>" not in text.lower():
            return "HTML without its end"
    except (ValueError, OSError, EOFError) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


# --- the world a scenario runs in -------------------------------------------------------------------


class World:
    """The emulator, the fakes and the function's warm module; shared by every run of the process."""

    def __init__(self, function: str, handler: str) -> None:
        import boto3

        self.function = function
        self.handler_name = handler
        self.boto = boto3.session.Session(region_name=REGION)  # the scenarios' own clients, never the function's
        self.injector = Injector()
        self.logs = LogCapture()
        self.slack: Any = None
        self.hub: Any = None
        self.env_base = dict(os.environ)
        self.module: Any = None
        self.buckets: list[str] = []
        self.topic_queue: str | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}

    def client(self, service: str, region: str = REGION) -> Any:
        key = (OWN_ACCOUNT, service, region)
        if key not in self._clients:
            self._clients[key] = self.boto.client(service, region_name=region)
        return self._clients[key]

    def member_client(self, account: str, service: str, region: str = REGION) -> Any:
        key = (account, service, region)
        if key not in self._clients:
            creds = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed",
                                                   RoleSessionName="seed")["Credentials"]
            self._clients[key] = self.boto.client(
                service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
        return self._clients[key]

    # -- set-up helpers shared by the scenarios
    def bucket(self, name: str) -> str:
        self.client("s3").create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def topic(self) -> str:
        sns, sqs = self.client("sns"), self.client("sqs")
        arn = sns.create_topic(Name="sgwatch-alerts")["TopicArn"]
        url = sqs.create_queue(QueueName="alerts-seen")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        self.topic_queue = url
        return arn

    def slack_secret(self) -> str:
        return str(self.client("secretsmanager").create_secret(Name="sgwatch/slack",
                                                               SecretString=self.slack.token)["ARN"])

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[OWN_ACCOUNT]["aws"]

    def etags(self) -> dict[str, str]:
        """Every object of the scenario's buckets and its ETag (read in moto: no listing calls to parse)."""
        buckets = self._s3().buckets
        return {f"{b}/{k}": v.etag for b in self.buckets for k, v in list(buckets[b].keys.items())}

    def read(self, name: str) -> bytes:
        bucket, key = name.split("/", 1)
        return bytes(self._s3().buckets[bucket].keys[key].value)

    def rewind(self, kept: dict[str, str]) -> None:
        """Take the objects a row added out of the buckets: the next row starts from the scenario's state."""
        for name in set(self.etags()) - set(kept):
            bucket, key = name.split("/", 1)
            self._s3().delete_object(bucket, key)

    def objects(self, part: str = "") -> dict[str, bytes]:
        return {name: self.read(name) for name in self.etags() if part in name}

    def drain_alerts(self) -> list[dict[str, Any]]:
        if not self.topic_queue:
            return []
        sqs, out = self.client("sqs"), []
        while got := sqs.receive_message(QueueUrl=self.topic_queue, MaxNumberOfMessages=10).get("Messages", []):
            for m in got:
                body = json.loads(m["Body"])
                out.append({"Subject": body.get("Subject"), "Message": body.get("Message"),
                            "MessageAttributes": body.get("MessageAttributes")})
                sqs.delete_message(QueueUrl=self.topic_queue, ReceiptHandle=m["ReceiptHandle"])
        return out

    def reset(self) -> None:
        """A fresh emulator and the process environment of the start, for the next scenario."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self._clients.clear()  # member credentials of the old emulator
        self.buckets, self.topic_queue = [], None
        if self.slack is not None:
            with self.slack._lock:
                self.slack.requests.clear()
                self.slack.uploads.clear()
                self.slack.faults.clear()
        os.environ.clear()
        os.environ.update(self.env_base)

    # -- running the function
    def handler(self) -> Callable[[dict[str, Any], Any], Any]:
        if self.module is None:
            module_name, _ = self.handler_name.rsplit(".", 1)
            self.module = importlib.import_module(module_name)
            zip_path = sys.path[0]
            for loaded in (self.module, sys.modules.get("sgwatch")):
                if loaded is None or not str(getattr(loaded, "__file__", "")).startswith(zip_path):
                    raise RuntimeError(f"{module_name} was not loaded from {zip_path}")
            sgwatch_logger = logging.getLogger("sgwatch")
            for h in list(sgwatch_logger.handlers):
                sgwatch_logger.removeHandler(h)
            sgwatch_logger.addHandler(self.logs)
        return getattr(self.module, self.handler_name.rsplit(".", 1)[1])  # type: ignore[no-any-return]

    def invoke(self, event: dict[str, Any], run: Run, timeout_s: float = 300) -> Any:
        """One invocation; an exception is what Lambda reports (the error alarm, retry, DLQ), recorded in ``run``."""
        handler, context = self.handler(), Context(self.function, timeout_s)
        extra = {"sleep": context.sleep} if self.handler_name.endswith(".run") else {}  # a clock of its own
        try:
            result = handler(json.loads(json.dumps(event)), context, **extra)
        except Exception as exc:
            run.errors.append(f"{type(exc).__name__}: {exc}"[:500])
            return None
        run.results.append(result)
        return result


class Context:
    def __init__(self, function: str, timeout_s: float) -> None:
        self.function_name = function
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{OWN_ACCOUNT}:function:{function}"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 256
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def sleep(self, seconds: float) -> None:
        """A wait that takes no time: it only brings the invocation's timeout closer."""
        self._deadline -= seconds


@contextmanager
def recorded(world: World, target: Site | None = None, kind: str = "") -> Iterator[Run]:
    """A run of the function: its calls counted (and one faulted), its logs, alerts, posts and objects kept."""
    before = world.etags()
    slack_before = len(world.slack.requests) if world.slack is not None else 0
    world.logs.lines = []
    run = Run()
    started = time.monotonic()
    if world.slack is not None and target is not None and target.service == "slack":
        _arm_slack(world, target, kind)
    world.injector.start(target if target is not None and target.service != "slack" else None, kind)
    try:
        yield run
    finally:
        world.injector.stop()
        _disarm_slack(world)
        run.seconds = time.monotonic() - started
        run.calls = list(world.injector.calls)
        if world.slack is not None:
            posted = world.slack.requests[slack_before:]
            counts: dict[str, int] = {}
            for request in posted:
                counts[request.method] = counts.get(request.method, 0) + 1
                run.calls.append(Site("slack", request.method, counts[request.method]))
            run.slack = [{"method": r.method, "params": {k: v for k, v in r.params.items() if k != "token"}}
                         for r in posted if r.method in ("chat.postMessage", "files.completeUploadExternal")
                         and not getattr(r, "faulted", False)]
        run.logs = list(world.logs.lines)
        run.alerts = world.drain_alerts()
        after = world.etags()
        run.written = {k: world.read(k) for k, tag in after.items() if before.get(k) != tag}
        run.changed = sorted(k for k in before if after.get(k) != before[k])


# --- Slack faults -----------------------------------------------------------------------------------

_slack_state: dict[str, Any] = {}


def _arm_slack(world: World, target: Site, kind: str) -> None:
    """Fault the Slack method from its ``ordinal``-th request on (its retries are requests of the same method)."""
    fake = world.slack
    seen = {"n": 0}
    original = type(fake)._next_fault

    def next_fault(self: Any, method: str) -> Any:
        if method == target.operation:
            seen["n"] += 1
            if seen["n"] >= target.ordinal and kind in SLACK_FAULTS:
                from tests.unit.fake_slack import Fault

                world.injector.attempts += 1
                self.requests[-1].faulted = True  # the request being answered: not a delivered post
                status, error, headers = SLACK_FAULTS[kind]
                return Fault(status, error, None, dict(headers))
        return original(self, method)

    fake._next_fault = next_fault.__get__(fake)
    if kind == "timeout":  # raised where slack_sdk opens its connections: API calls and file uploads alike
        from slack_sdk.web import base_client, internal_utils

        real = base_client.urlopen

        def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
            path = request.full_url.split("?", 1)[0].rstrip("/")
            method = "upload" if "/upload/" in path else path.rsplit("/", 1)[-1]
            if method == target.operation:
                seen["n"] += 1
                if seen["n"] >= target.ordinal:
                    world.injector.attempts += 1
                    raise TimeoutError("The read operation timed out")
            return real(request, *args, **kwargs)

        base_client.urlopen = internal_utils.urlopen = urlopen  # type: ignore[attr-defined]
        _slack_state["real"] = real


def _disarm_slack(world: World) -> None:
    if world.slack is not None and "_next_fault" in vars(world.slack):
        del world.slack._next_fault
    real = _slack_state.pop("real", None)
    if real is not None:
        from slack_sdk.web import base_client, internal_utils

        base_client.urlopen = internal_utils.urlopen = real  # type: ignore[attr-defined]


# --- the matrix -------------------------------------------------------------------------------------


def kinds_for(site: Site) -> tuple[str, ...]:
    if site.service == "slack":
        return SLACK_KINDS if site.operation != "upload" else ("server_error", "timeout")  # no token, no rate limit
    extra = ("truncated_body",) if (site.service, site.operation) in OBJECT_READS else ()
    return (*AWS_KINDS, *extra)


# What a run says of work it could not do (an evidence gap, a lookup not made), whatever the fault.
COULD_NOT = ("could not", "not looked up", "not scanned", "unreadable")


def names_fault(run: Run, baseline: Run, site: Site, kind: str, protocol: str) -> bool:
    """The run's durable output names the fault (its call, its error, work it could not do) more often than the
    clean run's did."""
    words = [site.operation.lower(), *FAULT_WORDS.get(kind, ()), *COULD_NOT]
    if kind in AWS_FAULTS:
        words.append(fault_code(kind, protocol).lower())
    text, clean = run.durable_text(), baseline.durable_text()
    return any(text.count(w) > clean.count(w) for w in words)


def classify(run: Run, baseline: Run, site: Site, kind: str, protocol: str) -> str:
    if run.raised:
        return "raised"
    if run.batch_failures > baseline.batch_failures or names_fault(run, baseline, site, kind, protocol):
        return "reported"
    return "silent"


def matrix(function: str, only: str | None = None) -> dict[str, Any]:
    import moto  # noqa: F401  (before any session: its stubber joins botocore's built-in handlers)

    from tests import botocore_sharing, moto_caches
    from tests.faults import scenarios

    botocore_sharing.share()
    moto_caches.install()

    spec = scenarios.FUNCTIONS[function]
    world = World(function, spec.handler)
    world.injector.install(world.boto._session)
    contract = _install_contract()
    rows: list[dict[str, Any]] = []
    with _services(world, spec):
        for scenario in spec.scenarios:
            if only and scenario.name != only:
                continue
            started = time.monotonic()
            world.reset()
            scenario.setup(world)
            kept = world.etags()  # each faulted run starts from the objects the recorded run found
            scenario.step(world)
            with recorded(world) as baseline:
                scenario.run(world, baseline)
            breaches = [str(b) for b in contract.drain()]
            if baseline.raised or breaches or baseline.batch_failures:
                raise RuntimeError(f"{scenario.name}: the clean run failed: {baseline.errors} {breaches}")
            protocols = dict(world.injector.protocols)
            world.rewind(kept)
            if os.environ.get("FAULTS_PROGRESS"):
                print(f"set-up and clean run {time.monotonic() - started:.2f}s", file=sys.stderr, flush=True)
            for site in dict.fromkeys(baseline.calls):
                for kind in kinds_for(site):
                    started = time.monotonic()
                    rows.append(_row(world, contract, scenario, baseline, site, kind, protocols.get(site.service, "")))
                    world.rewind(kept)
                    if os.environ.get("FAULTS_PROGRESS"):
                        r = rows[-1]
                        print(f"{time.monotonic() - started:6.2f}s {r['seconds']:6.2f}s {r['site']} {kind} "
                              f"{r['outcome']}", file=sys.stderr, flush=True)
    return {"function": function, "rows": rows, "cpu_seconds": round(time.process_time(), 1)}


def _row(world: World, contract: Any, scenario: Any, baseline: Run, site: Site, kind: str,
         protocol: str) -> dict[str, Any]:
    from sgwatch import faults as declared

    scenario.step(world)
    with recorded(world, site, kind) as run:
        scenario.run(world, run)
    reached = world.injector.attempts > 0
    outcome = classify(run, baseline, site, kind, protocol)
    if outcome == "silent" and scenario.reports(run):
        outcome = "reported"
    problems = [f"overwritten: {k}" for k in run.changed]
    problems += [f"partial: {k}: {why}" for k, data in run.written.items() if (why := parse_problem(k, data))]
    problems += scenario.after_fault(world, run, baseline)
    optional = declared.optional(world.function, site.service, site.operation)
    degradation_problems: list[str] = []
    if outcome == "silent" and optional is not None:
        degradation_problems = scenario.degraded(world, run, baseline, optional.degradation)
        outcome = "optional" if not degradation_problems else "silent"
    with recorded(world) as clean:
        scenario.run(world, clean)
    problems += [f"clean re-run raised: {e}" for e in clean.errors]
    problems += scenario.recovered(world, run, clean, baseline)
    breaches = [str(b) for b in contract.drain()]
    return {
        "scenario": scenario.name, "site": str(site), "service": site.service, "operation": site.operation,
        "ordinal": site.ordinal, "kind": kind, "outcome": outcome, "reached": reached,
        "attempts": world.injector.attempts, "errors": run.errors, "problems": problems,
        "degradation_problems": degradation_problems, "contract_breaches": breaches,
        "warnings": [f"{w.get('step')}: {str(w.get('error') or '')[:120]}" for w in run.logged_warnings()][:5],
        "seconds": round(run.seconds + clean.seconds, 3),
        "result": json.dumps(run.results, default=str)[:300],
    }


def _install_contract() -> Any:
    from tests import contract

    recorder = contract.Recorder()
    contract.install(recorder)
    contract.RECORDER = recorder  # the fake Slack records its breaches there
    return recorder


@contextmanager
def _services(world: World, spec: Any) -> Iterator[None]:
    """moto in process for AWS, the fake Slack (and, for the report, the fake Security Hub) on loopback."""
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": world.function,
    })
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    from moto import mock_aws

    from tests.unit.fake_slack import FakeSlack

    try:  # slack_sdk's retries run as it makes them, only without waiting between them (zips that vendor it)
        import types

        from slack_sdk.http_retry import builtin_handlers, handler

        for module in (builtin_handlers, handler):
            module.time = types.SimpleNamespace(sleep=lambda seconds: None)  # type: ignore[attr-defined]
    except ImportError:
        pass
    with mock_aws(), FakeSlack(token="xoxb-faults", users_by_email={"alice@example.com": "U0ALICE"}) as slack:
        world.slack = slack
        if spec.securityhub is not None:
            from tests.unit.fake_securityhub import FakeSecurityHub

            with FakeSecurityHub(spec.securityhub()) as hub:
                world.hub = hub
                os.environ["AWS_ENDPOINT_URL_SECURITYHUB"] = hub.url
                world.env_base = dict(os.environ)
                yield
        else:
            world.env_base = dict(os.environ)
            yield


def main() -> int:
    function, result_file = sys.argv[1:3]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    zip_path = str(DIST / f"{function}.zip")
    sys.path[:] = [zip_path, *(p for p in sys.path if not p or Path(p).resolve() != SOURCE)]
    try:
        outcome = matrix(function, only)
    except Exception:
        outcome = {"function": function, "rows": [], "error": traceback.format_exc()}
    Path(result_file).write_text(json.dumps(outcome, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
