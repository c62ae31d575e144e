"""The AWS and Slack contract: documented limits that the emulator and the fakes do not enforce.

moto accepts a 100-character SNS subject, a 3 KB S3 metadata block or 150 Security Hub filter
values; AWS refuses them. Every AWS call a test makes, in process or inside a shipped zip run
by tests/module/lambda_runner.py, goes through :func:`install`'s botocore hook; the fake Slack
Web API calls :func:`check_slack_post`. A breach is

* raised to the caller as AWS would answer it (a ``ClientError`` subclass, :class:`ContractBreach`),
  so the code under test takes the path it would take in AWS, and
* recorded in :data:`RECORDER`, which tests/conftest.py drains after every test phase, failing
  the test, even when the code under test swallowed the error.

Each limit names the page it comes from. This file imports nothing from the project, so the
Lambda runner can load it by path next to a shipped zip.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# --- limits -------------------------------------------------------------------------------------

# Amazon SNS API Reference, Publish, Subject: "Subjects must be UTF-8 text with no line breaks or
# control characters, and less than 100 characters long." Non-ASCII subjects are rewritten on the
# way to e-mail ("Understanding Amazon SNS message validation rules", Amazon Managed Service for
# Prometheus user guide: "Subject contains control or non-ASCII characters"), so we hold to
# printable ASCII.
SNS_SUBJECT_MAX_EXCLUSIVE = 100
# Amazon SNS API Reference, Publish, Message: "at most 256 KiB in size (262,144 bytes, not 262,144
# characters)"; MessageAttributeValue: "All parts of the message attribute, including name, type,
# and value, are included in the message size restriction".
SNS_MESSAGE_MAX_BYTES = 262_144
# Amazon SNS API Reference, MessageAttributeValue, DataType: "Amazon SNS supports the following
# logical data types: String, String.Array, Number, and Binary."
SNS_ATTRIBUTE_TYPES = frozenset({"String", "String.Array", "Number", "Binary"})
# Amazon SNS API Reference, PublishBatch: up to 10 entries, 256 KiB in total.
SNS_BATCH_MAX_ENTRIES = 10

# Amazon SQS API Reference, SendMessage / SendMessageBatch: the API ceiling is now 1 MiB, but a
# message may not exceed the queue's MaximumMessageSize, whose default is 262,144 bytes (256 KiB);
# the queues this module creates keep that default (Terraform aws_sqs_queue max_message_size
# default 262144). SendMessageBatch: the sum of the batch's message sizes is held to the same
# figure, as the 256 KiB-era reference stated ("The maximum total payload size (i.e., the sum of
# all a batch's individual message lengths) is also 256 KB (262,144 bytes)").
SQS_MESSAGE_MAX_BYTES = 262_144
SQS_BATCH_MAX_BYTES = 262_144
# Amazon SQS Developer Guide, "Amazon SQS message quotas": "A single message batch request can
# include a maximum of 10 messages." and "A message can contain up to 10 metadata attributes."
SQS_BATCH_MAX_ENTRIES = 10
SQS_MAX_ATTRIBUTES = 10

# Amazon EventBridge API Reference, PutEvents, Entries: "Array Members: Minimum number of 1 item.
# Maximum number of 10 items." EventBridge User Guide, "Calculating Amazon EventBridge PutEvents
# event entry size": "The total entry size must be less than 256KB" (Time 14 bytes; Source,
# DetailType, Detail and each Resources entry by their UTF-8 bytes).
EVENTS_MAX_ENTRIES = 10
EVENTS_MAX_BYTES_EXCLUSIVE = 262_144

# Amazon S3 User Guide, "Working with object metadata", user-defined metadata: "Within the PUT
# request header, the user-defined metadata is limited to 2 KB in size. The size of user-defined
# metadata is measured by taking the sum of the number of bytes in the UTF-8 encoding of each key
# and value."
S3_METADATA_MAX_BYTES = 2_048

# AWS Security Hub API Reference, GetFindings, Filters: "You can filter by up to 10 finding
# attributes. For each attribute, you can provide up to 20 filter values."
SECURITYHUB_MAX_FILTER_ATTRIBUTES = 10
SECURITYHUB_MAX_FILTER_VALUES = 20
# AWS Security Hub API Reference, BatchUpdateFindings, FindingIdentifiers: "BatchUpdateFindings
# can be used to update up to 100 findings at a time." API_Note / AWS::SecurityHub::AutomationRule
# NoteUpdate: Text and UpdatedBy "Minimum: 1, Maximum: 512".
SECURITYHUB_MAX_UPDATE_FINDINGS = 100
SECURITYHUB_NOTE_MAX_CHARS = 512

# AWS Lambda Developer Guide, "Lambda quotas": environment variables, 4 KB in total for the set.
# Lambda measures the variables as their JSON object ("String measured: {...}" in its error).
LAMBDA_ENVIRONMENT_MAX_BYTES = 4_096

# Slack changelog "Truncating really long messages" (2018-04): "we started truncating messages
# containing more than 40,000 characters" (the text field of chat.postMessage).
SLACK_TEXT_MAX_CHARS = 40_000
# Slack Block Kit reference, Blocks: "You can include up to 50 blocks in each message".
SLACK_MAX_BLOCKS = 50
# Slack Block Kit reference, Section block, text: "Maximum length for the text in this field is
# 3000 characters."; fields: "Maximum number of items is 10. Maximum length for the text in each
# item is 2000 characters."
SLACK_SECTION_TEXT_MAX_CHARS = 3_000
SLACK_SECTION_MAX_FIELDS = 10
SLACK_SECTION_FIELD_MAX_CHARS = 2_000
# Slack Block Kit reference, Actions block: "elements: ... There is a maximum of 25 elements in each
# action block"; block_id: "Maximum length for this field is 255 characters."
SLACK_ACTIONS_MAX_ELEMENTS = 25
SLACK_BLOCK_ID_MAX_CHARS = 255
# Slack Block Kit reference, Button element: text "Maximum length for the text in this field is 75
# characters"; action_id "Maximum length is 255 characters"; value "Maximum length is 2000 characters".
SLACK_BUTTON_TEXT_MAX_CHARS = 75
SLACK_ACTION_ID_MAX_CHARS = 255
SLACK_BUTTON_VALUE_MAX_CHARS = 2_000


# --- breaches -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    where: str  # "sns:Publish", "slack:chat.postMessage", "iam:<resource address>"
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} ({self.detail})"


class ContractBreach(ClientError):
    """What AWS would answer to a call breaking a documented limit."""

    def __init__(self, operation: str, code: str, breaches: list[Breach]) -> None:
        self.breaches = breaches
        message = "[contract] " + "; ".join(str(b) for b in breaches)
        super().__init__({"Error": {"Code": code, "Message": message},
                          "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class Recorder:
    """Breaches seen since the last :meth:`drain`, from any thread."""

    def __init__(self) -> None:
        self._breaches: list[Breach] = []
        self._lock = threading.Lock()

    def add(self, breaches: Iterable[Breach]) -> None:
        with self._lock:
            self._breaches.extend(breaches)

    def drain(self) -> list[Breach]:
        with self._lock:
            found, self._breaches = self._breaches, []
        return found


RECORDER = Recorder()


# --- AWS checks: params as the caller passed them to the client, before botocore validates ----


def _utf8(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(str(value).encode("utf-8")) if value is not None else 0


def _attributes_size(attributes: Any) -> int:
    """Name, type and value bytes of SNS/SQS message attributes."""
    if not isinstance(attributes, dict):
        return 0
    size = 0
    for name, value in attributes.items():
        value = value if isinstance(value, dict) else {}
        size += _utf8(name) + _utf8(value.get("DataType", ""))
        size += _utf8(value.get("StringValue")) + _utf8(value.get("BinaryValue"))
        for item in value.get("StringListValues") or value.get("BinaryListValues") or ():
            size += _utf8(item)
    return size


def _subject_breaches(where: str, subject: Any) -> list[Breach]:
    if subject is None:
        return []
    subject = str(subject)
    found = []
    if len(subject) >= SNS_SUBJECT_MAX_EXCLUSIVE:
        found.append(Breach(where, "Subject must be shorter than 100 characters", f"{len(subject)}: {subject!r}"))
    if "\n" in subject or "\r" in subject:
        found.append(Breach(where, "Subject must be one line", repr(subject)))
    if any(not (0x20 <= ord(c) <= 0x7E) for c in subject):
        found.append(Breach(where, "Subject must be printable ASCII", repr(subject)))
    return found


def _sns_message_breaches(where: str, entry: dict[str, Any]) -> tuple[list[Breach], int]:
    found = _subject_breaches(where, entry.get("Subject"))
    attributes = entry.get("MessageAttributes") or {}
    for name, value in attributes.items() if isinstance(attributes, dict) else ():
        data_type = (value or {}).get("DataType") if isinstance(value, dict) else None
        if data_type not in SNS_ATTRIBUTE_TYPES:
            found.append(Breach(where, "message attribute type must be String, String.Array, Number or Binary",
                                f"{name}: {data_type!r}"))
    size = _utf8(entry.get("Message")) + _attributes_size(attributes)
    if size > SNS_MESSAGE_MAX_BYTES:
        found.append(Breach(where, "message and attributes at most 262,144 bytes", f"{size} bytes"))
    return found, size


def _sns_publish(params: dict[str, Any]) -> list[Breach]:
    return _sns_message_breaches("sns:Publish", params)[0]


Check = Callable[[dict[str, Any]], list[Breach]]
MessageCheck = Callable[[str, dict[str, Any]], tuple[list[Breach], int]]


def _batch(where: str, key: str, max_entries: int, max_bytes: int, message: MessageCheck) -> Check:
    """A batch call's check: at most ``max_entries`` entries, each a message, at most ``max_bytes`` in all."""
    def check(params: dict[str, Any]) -> list[Breach]:
        entries = params.get(key) or []
        found, total = [], 0
        if len(entries) > max_entries:
            found.append(Breach(where, f"at most {max_entries} entries", f"{len(entries)} entries"))
        for entry in entries:
            breaches, size = message(where, entry if isinstance(entry, dict) else {})
            found += breaches
            total += size
        if total > max_bytes:
            found.append(Breach(where, f"batch at most {max_bytes:,} bytes in total", f"{total} bytes"))
        return found
    return check


def _sqs_message(where: str, entry: dict[str, Any]) -> tuple[list[Breach], int]:
    found = []
    attributes = entry.get("MessageAttributes") or {}
    if isinstance(attributes, dict) and len(attributes) > SQS_MAX_ATTRIBUTES:
        found.append(Breach(where, "at most 10 message attributes", f"{len(attributes)} attributes"))
    size = _utf8(entry.get("MessageBody")) + _attributes_size(attributes)
    if size > SQS_MESSAGE_MAX_BYTES:
        found.append(Breach(where, "message and attributes at most 262,144 bytes (the queue's MaximumMessageSize)",
                            f"{size} bytes"))
    return found, size


def _sqs_send(params: dict[str, Any]) -> list[Breach]:
    return _sqs_message("sqs:SendMessage", params)[0]


def _sqs_batch_entries(operation: str) -> Callable[[dict[str, Any]], list[Breach]]:
    def check(params: dict[str, Any]) -> list[Breach]:
        entries = params.get("Entries") or []
        if len(entries) > SQS_BATCH_MAX_ENTRIES:
            return [Breach(f"sqs:{operation}", "at most 10 entries", f"{len(entries)} entries")]
        return []
    return check


def put_events_entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's own measure of a PutEvents entry."""
    size = 14 if entry.get("Time") is not None else 0
    size += _utf8(entry.get("Source")) + _utf8(entry.get("DetailType")) + _utf8(entry.get("Detail"))
    return size + sum(_utf8(r) for r in entry.get("Resources") or () if r is not None)


def _events_put(params: dict[str, Any]) -> list[Breach]:
    entries = params.get("Entries") or []
    found = []
    if len(entries) > EVENTS_MAX_ENTRIES:
        found.append(Breach("events:PutEvents", "at most 10 entries", f"{len(entries)} entries"))
    total = sum(put_events_entry_size(e) for e in entries if isinstance(e, dict))
    if total >= EVENTS_MAX_BYTES_EXCLUSIVE:
        found.append(Breach("events:PutEvents", "entries less than 256 KB in total", f"{total} bytes"))
    return found


def _s3_metadata(operation: str) -> Callable[[dict[str, Any]], list[Breach]]:
    def check(params: dict[str, Any]) -> list[Breach]:
        metadata = params.get("Metadata") or {}
        size = sum(_utf8(k) + _utf8(v) for k, v in metadata.items()) if isinstance(metadata, dict) else 0
        if size > S3_METADATA_MAX_BYTES:
            return [Breach(f"s3:{operation}", "user-defined metadata at most 2 KB (keys and values, UTF-8)",
                           f"{size} bytes in {sorted(metadata)}")]
        return []
    return check


def _securityhub_filters(operation: str) -> Callable[[dict[str, Any]], list[Breach]]:
    def check(params: dict[str, Any]) -> list[Breach]:
        filters = params.get("Filters") or {}
        if not isinstance(filters, dict):
            return []
        where = f"securityhub:{operation}"
        found = []
        if len(filters) > SECURITYHUB_MAX_FILTER_ATTRIBUTES:
            found.append(Breach(where, "at most 10 filter attributes", f"{len(filters)}: {sorted(filters)}"))
        for attribute, values in filters.items():
            if isinstance(values, list) and len(values) > SECURITYHUB_MAX_FILTER_VALUES:
                found.append(Breach(where, "at most 20 filter values per attribute", f"{attribute}: {len(values)}"))
        return found
    return check


def _securityhub_batch_update(params: dict[str, Any]) -> list[Breach]:
    found = []
    where = "securityhub:BatchUpdateFindings"
    identifiers = params.get("FindingIdentifiers") or []
    if len(identifiers) > SECURITYHUB_MAX_UPDATE_FINDINGS:
        found.append(Breach(where, "at most 100 findings per request", f"{len(identifiers)} findings"))
    note = params.get("Note") or {}
    for field in ("Text", "UpdatedBy"):
        value = note.get(field) if isinstance(note, dict) else None
        if value is not None and len(str(value)) > SECURITYHUB_NOTE_MAX_CHARS:
            found.append(Breach(where, f"Note.{field} at most 512 characters", f"{len(str(value))} characters"))
    return found


def event_rule_alarm_breaches(state: dict[str, Any]) -> list[Breach]:
    """Every EventBridge rule of an applied state has its failed-deliveries alarm on the metric of its own bus.

    Amazon EventBridge user guide, "Monitoring Amazon EventBridge": "Metrics that specify only the RuleName
    dimension refer to the default event bus. Metrics that specify both the EventBusName and RuleName
    dimensions refer to a custom event bus." An alarm of a custom bus's rule without EventBusName watches
    a metric that never has data, and stays OK while every delivery fails.
    """
    def instances(kind: str) -> list[dict[str, Any]]:
        return [instance["attributes"] for resource in state.get("resources", ())
                if resource["mode"] == "managed" and resource["type"] == kind for instance in resource["instances"]]

    alarms: dict[str, list[dict[str, str]]] = {}
    for alarm in instances("aws_cloudwatch_metric_alarm"):
        if alarm.get("namespace") == "AWS/Events" and alarm.get("metric_name") == "FailedInvocations":
            dimensions = alarm.get("dimensions") or {}
            alarms.setdefault(dimensions.get("RuleName", ""), []).append(dimensions)
    found = []
    for rule in instances("aws_cloudwatch_event_rule"):
        bus = str(rule.get("event_bus_name") or "default").rsplit("/", 1)[-1]
        expected = {"RuleName": rule["name"], **({} if bus == "default" else {"EventBusName": bus})}
        where = f"events:rule/{rule['name']}"
        if not alarms.get(rule["name"]):
            found.append(Breach(where, "a failed-deliveries alarm on every rule", "no FailedInvocations alarm"))
        for dimensions in alarms.get(rule["name"], ()):
            if dimensions != expected:
                found.append(Breach(where, "EventBusName with RuleName for a custom bus, RuleName alone for the "
                                    "default bus", f"alarm dimensions {dimensions}, bus {bus}"))
    return found


def lambda_environment_breaches(where: str, variables: Any) -> list[Breach]:
    """The 4 KB quota on a function's environment, measured as Lambda measures it."""
    if not isinstance(variables, dict) or not variables:
        return []
    size = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > LAMBDA_ENVIRONMENT_MAX_BYTES:
        return [Breach(where, "environment variables at most 4 KB in total", f"{size} bytes")]
    return []


def _lambda_environment(operation: str) -> Callable[[dict[str, Any]], list[Breach]]:
    def check(params: dict[str, Any]) -> list[Breach]:
        environment = params.get("Environment") or {}
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        return lambda_environment_breaches(f"lambda:{operation}", variables)
    return check


# (signing name, operation) -> (check, the error code AWS answers with)
CHECKS: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], list[Breach]], str]] = {
    ("sns", "Publish"): (_sns_publish, "InvalidParameter"),
    ("sns", "PublishBatch"): (
        _batch("sns:PublishBatch", "PublishBatchRequestEntries", SNS_BATCH_MAX_ENTRIES, SNS_MESSAGE_MAX_BYTES,
               _sns_message_breaches),
        "InvalidParameter",
    ),
    ("sqs", "SendMessage"): (_sqs_send, "InvalidParameterValue"),
    ("sqs", "SendMessageBatch"): (
        _batch("sqs:SendMessageBatch", "Entries", SQS_BATCH_MAX_ENTRIES, SQS_BATCH_MAX_BYTES, _sqs_message),
        "BatchRequestTooLong",
    ),
    ("sqs", "DeleteMessageBatch"): (_sqs_batch_entries("DeleteMessageBatch"), "TooManyEntriesInBatchRequest"),
    ("sqs", "ChangeMessageVisibilityBatch"): (_sqs_batch_entries("ChangeMessageVisibilityBatch"),
                                              "TooManyEntriesInBatchRequest"),
    ("events", "PutEvents"): (_events_put, "ValidationException"),
    ("s3", "PutObject"): (_s3_metadata("PutObject"), "MetadataTooLarge"),
    ("s3", "CopyObject"): (_s3_metadata("CopyObject"), "MetadataTooLarge"),
    ("s3", "CreateMultipartUpload"): (_s3_metadata("CreateMultipartUpload"), "MetadataTooLarge"),
    ("securityhub", "GetFindings"): (_securityhub_filters("GetFindings"), "InvalidInputException"),
    ("securityhub", "BatchUpdateFindings"): (_securityhub_batch_update, "InvalidInputException"),
    ("lambda", "CreateFunction"): (_lambda_environment("CreateFunction"), "InvalidParameterValueException"),
    ("lambda", "UpdateFunctionConfiguration"): (_lambda_environment("UpdateFunctionConfiguration"),
                                                "InvalidParameterValueException"),
}


def _model_maximum_breaches(where: str, shape: Any, value: Any, path: str, depth: int = 0) -> list[Breach]:
    """Every ``max`` of the service model (what the API Reference prints as "Maximum"):
    botocore validates only ``min``, moto neither."""
    if shape is None or value is None or depth > 20:
        return []
    found = []
    maximum = shape.metadata.get("max")
    if maximum is not None:
        if shape.type_name in ("string", "blob", "list", "map") and hasattr(value, "__len__"):
            if len(value) > maximum:
                found.append(Breach(where, f"{path} at most {maximum} (service model)", f"{len(value)}"))
        elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
            if value > maximum:
                found.append(Breach(where, f"{path} at most {maximum} (service model)", f"{value}"))
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                found += _model_maximum_breaches(where, member, value[name], f"{path}.{name}", depth + 1)
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            found += _model_maximum_breaches(where, shape.member, item, f"{path}[]", depth + 1)
    elif shape.type_name == "map" and isinstance(value, dict):
        for item in value.values():
            found += _model_maximum_breaches(where, shape.value, item, f"{path}{{}}", depth + 1)
    return found


def check_call(service: str, operation: str, params: dict[str, Any], input_shape: Any = None) -> list[Breach]:
    """Breaches of one API call, named by the service's signing name and the operation."""
    found = _model_maximum_breaches(f"{service}:{operation}", input_shape, params, operation)
    check = CHECKS.get((service, operation))
    if check is not None:
        found += check[0](params if isinstance(params, dict) else {})
    return found


# --- the botocore hook --------------------------------------------------------------------------


def _signing_name(model: Any) -> str:
    service = model.service_model
    return service.metadata.get("signingName") or service.endpoint_prefix


def _before_parameter_build(params: dict[str, Any], model: Any, **_: Any) -> None:
    service = _signing_name(model)
    breaches = check_call(service, model.name, params, model.input_shape)
    if breaches:
        _recorder.add(breaches)
        code = CHECKS.get((service, model.name), (None, "ValidationException"))[1]
        raise ContractBreach(model.name, code, breaches)


_recorder = RECORDER
_installed = False


def install(recorder: Recorder | None = None) -> None:
    """Check every call of every botocore client created from now on, in this process."""
    global _installed, _recorder
    if recorder is not None:
        _recorder = recorder
    if _installed:
        return
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", _before_parameter_build,
                                    unique_id="sgwatch-aws-contract")
        return client

    create_client.__wrapped__ = original  # type: ignore[attr-defined]
    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    _installed = True


# --- Slack --------------------------------------------------------------------------------------


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


SLACK_TEXT_RULE = "text at most 40,000 characters (Slack truncates)"


def slack_refuses(breaches: list[Breach]) -> bool:
    """Slack answers ``invalid_blocks`` to a block breach; an over-long text is posted truncated."""
    return any(b.rule != SLACK_TEXT_RULE for b in breaches)


def _check_actions(where: str, i: int, block: dict[str, Any]) -> list[Breach]:
    found = []
    elements = block.get("elements") or []
    if len(elements) > SLACK_ACTIONS_MAX_ELEMENTS:
        found.append(Breach(where, "actions block at most 25 elements", f"block {i}: {len(elements)} elements"))
    if len(str(block.get("block_id") or "")) > SLACK_BLOCK_ID_MAX_CHARS:
        found.append(Breach(where, "block_id at most 255 characters", f"block {i}"))
    for element in elements:
        if not isinstance(element, dict) or element.get("type") != "button":
            continue
        if len(_text_of(element.get("text"))) > SLACK_BUTTON_TEXT_MAX_CHARS:
            found.append(Breach(where, "button text at most 75 characters", f"block {i}"))
        if len(str(element.get("action_id") or "")) > SLACK_ACTION_ID_MAX_CHARS:
            found.append(Breach(where, "action_id at most 255 characters", f"block {i}"))
        if len(str(element.get("value") or "")) > SLACK_BUTTON_VALUE_MAX_CHARS:
            found.append(Breach(where, "button value at most 2,000 characters", f"block {i}"))
    return found


def check_slack_post(params: dict[str, Any], method: str = "chat.postMessage") -> list[Breach]:
    """Breaches of one ``chat.postMessage`` or ``chat.update`` (form or JSON body, already decoded)."""
    where = f"slack:{method}"
    found = []
    text = params.get("text")
    if text is not None and len(str(text)) > SLACK_TEXT_MAX_CHARS:
        found.append(Breach(where, SLACK_TEXT_RULE, f"{len(str(text))} characters"))
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            found.append(Breach(where, "blocks must be a JSON array", blocks[:80]))
            blocks = []
    for i, block in enumerate(blocks or []):
        if isinstance(block, dict) and block.get("type") == "actions":
            found += _check_actions(where, i, block)
        if not isinstance(block, dict) or block.get("type") != "section":
            continue
        if len(_text_of(block.get("text"))) > SLACK_SECTION_TEXT_MAX_CHARS:
            found.append(Breach(where, "section text at most 3,000 characters",
                                f"block {i}: {len(_text_of(block.get('text')))} characters"))
        fields = block.get("fields") or []
        if len(fields) > SLACK_SECTION_MAX_FIELDS:
            found.append(Breach(where, "section at most 10 fields", f"block {i}: {len(fields)} fields"))
        for field in fields:
            if len(_text_of(field)) > SLACK_SECTION_FIELD_MAX_CHARS:
                found.append(Breach(where, "section field at most 2,000 characters",
                                    f"block {i}: {len(_text_of(field))} characters"))
    if blocks and len(blocks) > SLACK_MAX_BLOCKS:
        found.append(Breach(where, "at most 50 blocks per message", f"{len(blocks)} blocks"))
    return found
