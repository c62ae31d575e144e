"""Run deployed functions from the shipped zips and check their IAM policies.

``run_lambda`` reads the deployed configuration back from the emulator, so the test
proves that the Terraform (handler string, environment) and the Python agree; the
run's AWS contract breaches (tests/contract.py), and a deployed environment beyond
Lambda's 4 KB, fail the test.
``assert_least_privilege`` proves the other half that the emulator cannot: every call
the function made, and the KMS calls its S3/SNS/SQS/Secrets Manager calls imply in
real AWS, is allowed by the deployed role policy.
"""

from __future__ import annotations

import atexit
import fnmatch
import inspect
import json
import os
import select
import subprocess
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from tests import contract
from tests.paths import DIST

RUNNER = Path(__file__).resolve().parent / "lambda_runner.py"
ACCOUNT = "123456789012"


def client(service: str, region: str = "us-east-1") -> Any:
    return boto3.session.Session().client(service, region_name=region)


def outputs(applied: Any) -> dict[str, Any]:
    """The output values of an applied configuration (a pytest-terraform fixture)."""
    return {k: v["value"] for k, v in applied.outputs.items()}


def module_outputs(applied: Any) -> dict[str, Any]:
    """A capability module applied on its own (tests/module/terraform/<name>): the module's outputs, with
    the module key, alert topic and evidence bucket that ../support handed it."""
    values = outputs(applied)
    support = values["support"]
    return {
        **values["module"],
        "kms_key_arn": support["kms_key_arn"],
        "alert_topic_arn": support["alert_topic_arn"],
        "bucket": (support["evidence"] or {}).get("bucket_name"),
        **{name: value for name, value in values.items() if name not in ("module", "support")},
    }


def deployed_fixture(applied: str, read: Callable[[Any], dict[str, Any]] = outputs) -> Any:
    """The module fixture ``deployed`` of a test file: ``read`` (``outputs``, or ``module_outputs`` for a
    capability module applied with ../support) of the pytest-terraform fixture named ``applied``.

    The fixture takes ``applied`` as an argument (its signature names it), so pytest-terraform, which
    destroys an apply once the last test whose fixtures name it is done, sees the tests that use it.
    """

    def deployed(**fixtures: Any) -> dict[str, Any]:
        return read(fixtures[applied])

    deployed.__signature__ = inspect.Signature([inspect.Parameter(applied, inspect.Parameter.KEYWORD_ONLY)])
    return pytest.fixture(scope="module", name="deployed")(deployed)


def scheduled_function(function_name: str, handler: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployed configuration of a function run on a schedule, which must run ``handler``, and its
    EventBridge Scheduler schedule (named after the function), which must invoke that function."""
    config = deployed_configuration(function_name)
    assert config["Handler"] == handler
    schedule = client("scheduler").get_schedule(Name=function_name)
    assert schedule["Target"]["Arn"] == config["FunctionArn"]
    return config, schedule


def subscribe_inbox(topic_arn: str, queue_name: str, filter_policy: dict[str, Any] | None = None) -> str:
    """The URL of a new SQS queue subscribed to ``topic_arn``: what a mail subscriber receives, or only what
    ``filter_policy`` (on message attributes) lets through."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {}
    if filter_policy:
        attributes = {"FilterPolicyScope": "MessageAttributes", "FilterPolicy": json.dumps(filter_policy)}
    client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def received(url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (SNS envelopes, JSON-decoded), deleted once read."""
    sqs, found = client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for m in got:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@dataclass
class LambdaRun:
    function_name: str
    result: Any
    error: str | None
    logs: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    contract_breaches: list[contract.Breach] = field(default_factory=list)

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.logs.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                records.append(parsed)
        return records


class WarmProcesses:
    """One warm Lambda process (tests/module/lambda_runner.py --warm) per zip, handler and environment, as Lambda
    keeps one per function version and configuration: an invocation finds what the ones before it left. The
    least recently used is shut down beyond :attr:`KEPT`, as Lambda reclaims idle environments."""

    KEPT = 6

    def __init__(self) -> None:
        self._processes: OrderedDict[tuple[Any, ...], subprocess.Popen[str]] = OrderedDict()
        atexit.register(self.close)

    def invoke(self, zip_path: Path, handler: str, env: dict[str, str], event: Any,
               timeout_s: float) -> tuple[dict[str, Any], str]:
        key = (str(zip_path), handler, tuple(sorted(env.items())))
        process = self._processes.pop(key, None)
        if process is None or process.poll() is not None:
            process = subprocess.Popen([sys.executable, str(RUNNER), str(zip_path), handler, "--warm"], env=env,
                                       text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT)
        self._processes[key] = process
        while len(self._processes) > self.KEPT:
            self._stop(self._processes.popitem(last=False)[1])
        assert process.stdin is not None and process.stdout is not None
        with tempfile.TemporaryDirectory() as tmp:
            result_file, log_file = Path(tmp) / "result.json", Path(tmp) / "log.txt"
            process.stdin.write(json.dumps({"event": event, "result_file": str(result_file),
                                            "log_file": str(log_file), "timeout_s": timeout_s}) + "\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 900)
            answer = process.stdout.readline() if ready else ""
            logs = log_file.read_text() if log_file.exists() else ""
            if answer != "done\n" or not result_file.exists():
                process.kill()
                del self._processes[key]
                raise AssertionError(f"runner crashed or hung:\n{logs}\n{answer}{process.stdout.read()}")
            outcome: dict[str, Any] = json.loads(result_file.read_text())
            return outcome, logs

    @staticmethod
    def _stop(process: subprocess.Popen[str]) -> None:
        if process.stdin is not None:
            process.stdin.close()  # the runner's loop ends with its stdin
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    def close(self) -> None:
        while self._processes:
            self._stop(self._processes.popitem()[1])


WARM = WarmProcesses()


def deployed_configuration(function_name: str, region: str = "us-east-1") -> dict[str, Any]:
    return client("lambda", region).get_function_configuration(FunctionName=function_name)


def run_lambda(
    function_name: str,
    event: dict[str, Any] | None = None,
    env_overrides: dict[str, str] | None = None,
    region: str = "us-east-1",
    timeout_s: float | None = None,
) -> LambdaRun:
    """Run the deployed function's handler from its shipped zip with its deployed environment."""
    config = deployed_configuration(function_name, region)
    contract.RECORDER.add(contract.lambda_environment_breaches(
        f"lambda:{function_name}", (config.get("Environment") or {}).get("Variables")))
    handler = config["Handler"]
    zip_path = DIST / f"{handler.split('.')[0]}.zip"
    assert zip_path.exists(), f"{zip_path} missing: run make package"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        **(config.get("Environment") or {}).get("Variables", {}),
        **(env_overrides or {}),
    }
    outcome, logs = WARM.invoke(zip_path, handler, env, event or {}, timeout_s or config.get("Timeout", 300))
    breaches = [contract.Breach(**b) for b in outcome.get("contract_breaches", [])]
    contract.RECORDER.add(breaches)  # fails the test at the end of its phase (tests/conftest.py)
    return LambdaRun(function_name, outcome["result"], outcome["error"], logs, outcome["calls"], breaches)


# --- least privilege -------------------------------------------------------------------------

# Operations whose IAM action is not "<service>:<Operation>".
ACTION_NAMES = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
# Calls that need no permission at all.
UNAUTHORISED_OK = {("sts", "GetCallerIdentity")}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def role_policies(role_name: str) -> list[dict[str, Any]]:
    iam = client("iam")
    documents = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        document = version["PolicyVersion"]["Document"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    return documents


def allows(policies: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Identity-policy evaluation without conditions: an explicit Deny wins, else any Allow."""
    allowed = False
    for policy in policies:
        for s in _statements(policy):
            actions = [a.lower() for a in _as_list(s.get("Action", []))]
            if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
                continue
            if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(s.get("Resource", []))):
                continue
            if s.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def _key_arn(key_id: str | None, region: str) -> str | None:
    if not key_id:
        return None
    return client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def _queue_arn(url: str, region: str) -> str:
    parts = url.rstrip("/").split("/")
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


def required_permissions(call: dict[str, Any], region: str = "us-east-1") -> list[tuple[str, str]]:
    """(action, resource) pairs the call needs in real AWS, KMS included."""
    service, operation, params = call["service"], call["operation"], call["params"]
    if (service, operation) in UNAUTHORISED_OK:
        return []
    action = ACTION_NAMES.get((service, operation), f"{service}:{operation}")
    needed: list[tuple[str, str]] = []
    if service == "s3":
        bucket = params.get("Bucket", "")
        key = params.get("Key")
        resource = f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"
        needed.append((action, resource))
        if operation in ("PutObject", "GetObject", "HeadObject", "CreateMultipartUpload"):
            try:
                rules = client("s3", region).get_bucket_encryption(Bucket=bucket)[
                    "ServerSideEncryptionConfiguration"]["Rules"]
                key_id = rules[0]["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID")
            except Exception:
                key_id = None
            key_arn = _key_arn(key_id, region)
            if key_arn:
                needed.append(("kms:GenerateDataKey" if operation in ("PutObject", "CreateMultipartUpload")
                               else "kms:Decrypt", key_arn))
    elif service == "sns" and operation == "Publish":
        topic = params.get("TopicArn", "")
        needed.append((action, topic))
        attributes = client("sns", region).get_topic_attributes(TopicArn=topic)["Attributes"]
        key_arn = _key_arn(attributes.get("KmsMasterKeyId"), region)
        if key_arn:
            needed += [("kms:GenerateDataKey", key_arn), ("kms:Decrypt", key_arn)]
    elif service == "secretsmanager":
        secret = params.get("SecretId", "")
        needed.append((action, secret if secret.startswith("arn:") else "*"))
        described = client("secretsmanager", region).describe_secret(SecretId=secret)
        key_arn = _key_arn(described.get("KmsKeyId"), region)
        if key_arn:
            needed.append(("kms:Decrypt", key_arn))
    elif service == "sqs" and "QueueUrl" in params:
        queue = params["QueueUrl"]
        needed.append((action, _queue_arn(queue, region)))
        attributes = client("sqs", region).get_queue_attributes(QueueUrl=queue, AttributeNames=["KmsMasterKeyId"])
        key_arn = _key_arn(attributes.get("Attributes", {}).get("KmsMasterKeyId"), region)
        if key_arn and operation.startswith("SendMessage"):
            # A producer to an SSE-KMS queue needs both (SQS developer guide, key management).
            needed += [("kms:GenerateDataKey", key_arn), ("kms:Decrypt", key_arn)]
        elif key_arn and operation == "ReceiveMessage":
            needed.append(("kms:Decrypt", key_arn))
    elif service == "lambda" and str(params.get("FunctionName", "")).startswith("arn:"):
        needed.append((action, params["FunctionName"]))
    else:
        # No resource to name (describe/list calls) or one we do not derive: the action must be
        # allowed on some resource; the wildcard-resource test checks which ones may use "*".
        needed.append((action, "?"))
    return needed


def missing_permissions(function_name: str, run: LambdaRun, region: str = "us-east-1") -> list[str]:
    role_arn = deployed_configuration(function_name, region)["Role"]
    policies = role_policies(role_arn.rsplit("/", 1)[-1])
    missing = []
    for call in run.calls:
        for action, resource in required_permissions(call, region):
            if resource == "?":
                ok = any(
                    any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(s.get("Action", [])))
                    and s.get("Effect") == "Allow"
                    for p in policies
                    for s in _statements(p)
                )
            else:
                ok = allows(policies, action, resource)
            if not ok:
                missing.append(f"{call['service']}:{call['operation']} needs {action} on {resource}")
    return sorted(set(missing))


def assert_least_privilege(function_name: str, run: LambdaRun, region: str = "us-east-1") -> None:
    """Every call the run made (and the KMS use it implies) is allowed by the deployed role."""
    assert run.calls, "the run made no AWS call: nothing to check"
    missing = missing_permissions(function_name, run, region)
    assert not missing, "deployed role lacks:\n" + "\n".join(missing)


def wildcard_actions(policies: list[dict[str, Any]]) -> list[str]:
    """Actions that are wildcards ("*", "svc:*", "svc:Get*")."""
    return sorted(
        {a for p in policies for s in _statements(p) if s.get("Effect") == "Allow"
         for a in _as_list(s.get("Action", [])) if "*" in a}
    )


def unwatched(prefix: str, session: Any = None, region: str = "us-east-1") -> list[str]:
    """Dead-letter queues and EventBridge rules named ``prefix*`` that no alarm watches.

    A message in a dead-letter queue, or an event a rule failed to deliver after every retry, is
    an alert or unit of work that is missing: each must raise an alarm. A dead-letter queue is
    any queue another queue, a rule target or a function sends its failures to.
    """
    session = session or boto3.session.Session()
    sqs, events = session.client("sqs", region_name=region), session.client("events", region_name=region)
    cloudwatch, lam = session.client("cloudwatch", region_name=region), session.client("lambda", region_name=region)
    watched = {
        (a["Namespace"], a["MetricName"], d["Value"])
        for page in cloudwatch.get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"] for d in a.get("Dimensions", [])
    }
    dead_letter_arns: set[str] = set()
    for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
        redrive = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if "RedrivePolicy" in redrive:
            dead_letter_arns.add(json.loads(redrive["RedrivePolicy"])["deadLetterTargetArn"])
    rules = [
        (bus["Name"], rule["Name"])
        for bus in events.list_event_buses()["EventBuses"]
        for rule in events.list_rules(EventBusName=bus["Name"], NamePrefix=prefix)["Rules"]
    ]
    for bus, rule in rules:
        for target in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]:
            if "Arn" in target.get("DeadLetterConfig", {}):
                dead_letter_arns.add(target["DeadLetterConfig"]["Arn"])
    for page in lam.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if function["FunctionName"].startswith(prefix):
                target = lam.get_function_configuration(FunctionName=function["FunctionName"])
                if target.get("DeadLetterConfig", {}).get("TargetArn"):
                    dead_letter_arns.add(target["DeadLetterConfig"]["TargetArn"])
    missing = [f"dead-letter queue {arn.rsplit(':', 1)[-1]}" for arn in sorted(dead_letter_arns)
               if ("AWS/SQS", "ApproximateNumberOfMessagesVisible", arn.rsplit(":", 1)[-1]) not in watched]
    missing += [f"rule {rule} on {bus}" for bus, rule in rules
                if ("AWS/Events", "FailedInvocations", rule) not in watched]
    return missing
