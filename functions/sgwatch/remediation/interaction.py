"""The function URL request: its size, its signature, then the button click it carries.

Order matters: the body's size is checked first (on the encoded body, before decoding), then the
signature over the raw bytes (:mod:`.signature`), and only a request Slack signed is parsed. Every
refusal answers a fixed status and word, never anything of the request. A signed click is answered
with an empty 200 at once (Slack wants an answer within 3 seconds) and its job is queued for the
same function (see :mod:`.jobs`).

Function URL event (payload format 2.0): ``headers`` (lower-case names), ``body`` (a string,
base64 when ``isBase64Encoded``), ``requestContext.http.method``.
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from ..remediation_prompt import (
    ACTION_IDS,
    BLOCK_ID,
    EXCEPTION_ACTIONS,
    KEEP,
    KEEP_CALLBACK_ID,
    RESTORE,
    REVERT,
    AlertRef,
)

# A block_actions payload carries the whole message (our alert: a few sections of at most 3,000
# characters, form-encoded): well below this. Anything larger is not one of our buttons.
MAX_BODY_BYTES = 128 * 1024
_USER = r"[UW][A-Z0-9]{2,20}"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def is_url_request(event: Any) -> bool:
    """Whether the invocation is a function URL request (Lambda builds ``requestContext``; a queued job has none)."""
    return isinstance(event, Mapping) and isinstance(event.get("requestContext"), Mapping)


def answer(status: int, word: str = "") -> dict[str, Any]:
    """A function URL answer: a status and a fixed word, never anything the request held."""
    return {"statusCode": status, "headers": {"content-type": "text/plain"}, "body": word}


OVERSIZED = answer(413, "too large")
REFUSED = answer(401, "refused")
NOT_A_CLICK = answer(400, "not understood")
UNAVAILABLE = answer(503, "unavailable")
ACCEPTED = answer(200)


def form_errors(errors: Mapping[str, str]) -> dict[str, Any]:
    """A dialog submission answered with errors shown beside its fields (fixed texts, never the input)."""
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"response_action": "errors", "errors": dict(errors)})}


def raw_body(event: Mapping[str, Any]) -> bytes | None:
    """The body's bytes; None when it is larger than :data:`MAX_BODY_BYTES` or not decodable."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return None
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
            return None
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        if len(body) > MAX_BODY_BYTES:
            return None
        data = body.encode("utf-8")
    return data if len(data) <= MAX_BODY_BYTES else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def header(event: Mapping[str, Any], name: str) -> str | None:
    headers = _mapping(event.get("headers"))
    value = headers.get(name) or headers.get(name.title())
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Click:
    """A decision from a signed request: a Revert click, a Keep click (which opens the dialog) or the Keep
    dialog's submission (with its reason and expiry): who, on which message, for which alert."""

    action: str
    ref: AlertRef
    user_id: str
    channel_id: str
    message_ts: str
    blocks: list[dict[str, Any]]
    reason: str = ""
    expires: str = ""  # YYYY-MM-DD: the last day a kept change is an exception
    trigger_id: str = ""  # a Keep click's, to open the dialog (never queued)

    def job(self) -> dict[str, Any]:
        """The queued job (the message body)."""
        job = {"action": self.action, "ref": self.ref.value(), "user_id": self.user_id,
               "channel_id": self.channel_id, "message_ts": self.message_ts, "blocks": self.blocks}
        return {**job, "reason": self.reason, "expires": self.expires} if self.action in EXCEPTION_ACTIONS else job

    @classmethod
    def from_job(cls, job: Any) -> Click | None:
        if not isinstance(job, Mapping):
            return None
        ref = AlertRef.parse(job.get("ref"))
        blocks = job.get("blocks")
        fields = (job.get("action"), job.get("user_id"), job.get("channel_id"), job.get("message_ts"))
        if ref is None or not isinstance(blocks, list) or not all(isinstance(f, str) for f in fields):
            return None
        click = cls(str(job["action"]), ref, str(job["user_id"]), str(job["channel_id"]), str(job["message_ts"]),
                    blocks, str(job.get("reason") or ""), str(job.get("expires") or ""))
        return click if click.valid() and (click.action == REVERT or click.kept_valid()) else None

    def valid(self) -> bool:
        return (self.action in (REVERT, KEEP, RESTORE) and re.fullmatch(_USER, self.user_id) is not None
                and re.fullmatch(r"[CGD][A-Z0-9]{2,20}", self.channel_id) is not None
                and re.fullmatch(r"[0-9]{1,12}\.[0-9]{1,8}", self.message_ts) is not None)

    def kept_valid(self) -> bool:
        """Whether a Keep job has its reason and expiry (checked against the dates when it was submitted)."""
        return 0 < len(self.reason) <= MAX_REASON and re.fullmatch(_DATE, self.expires) is not None


def parse_payload(body: bytes) -> dict[str, Any] | None:
    """The interaction payload of a signed form body; None for anything else."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=4)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        return None
    return payload if isinstance(payload, dict) else None


def parse_click(payload: Mapping[str, Any]) -> Click | None:
    """The Revert or Keep click a signed ``block_actions`` payload carries; None for any other payload."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return None
    action = actions[0]
    kind = ACTION_IDS.get(str(action.get("action_id")))
    if kind is None or action.get("block_id") != BLOCK_ID:
        return None
    ref = AlertRef.parse(action.get("value"))
    user, channel = _mapping(payload.get("user")), _mapping(payload.get("channel"))
    container, message = _mapping(payload.get("container")), _mapping(payload.get("message"))
    found_blocks = message.get("blocks")
    blocks: list[dict[str, Any]] = found_blocks if isinstance(found_blocks, list) else []
    trigger_id = str(payload.get("trigger_id") or "")
    if ref is None or (kind in EXCEPTION_ACTIONS and not re.fullmatch(r"[0-9A-Za-z.]{1,100}", trigger_id)):
        return None
    click = Click(kind, ref, str(user.get("id") or ""), str(channel.get("id") or ""),
                  str(container.get("message_ts") or message.get("ts") or ""), blocks,
                  trigger_id=trigger_id if kind in EXCEPTION_ACTIONS else "")
    return click if click.valid() else None


# --- the Keep dialog (a modal opened with the click's trigger id) ---------------------------------

MAX_REASON = 500
REASON_BLOCK, REASON_ACTION = "sgwatch_reason", "reason"
EXPIRY_BLOCK, EXPIRY_ACTION = "sgwatch_expiry", "expiry"
MAX_METADATA = 3000  # Slack's limit of a view's private_metadata
_MAX_UNPACKED = 64 * 1024


def _pack(blocks: list[dict[str, Any]]) -> str:
    kept = [b for b in blocks if isinstance(b, dict) and b.get("type") != "actions"]
    return base64.b64encode(zlib.compress(json.dumps(kept, separators=(",", ":")).encode(), 9)).decode()


def _unpack(packed: Any) -> list[dict[str, Any]]:
    if not isinstance(packed, str) or not packed:
        return []
    try:
        data = zlib.decompressobj().decompress(base64.b64decode(packed, validate=True), _MAX_UNPACKED)
        blocks = json.loads(data)
    except (binascii.Error, ValueError, zlib.error):
        return []
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def keep_dialog(click: Click, today: date, max_days: int) -> dict[str, Any]:
    """The Keep dialog of a click: its reason and expiry fields; the alert, channel and message in its private
    metadata (Slack keeps it and hands it back with the submission), the message's blocks too when they fit."""
    metadata = {"r": click.ref.value(), "c": click.channel_id, "t": click.message_ts, "b": _pack(click.blocks)}
    if click.action == RESTORE:  # the submission restores the reverted rules before keeping them
        metadata["a"] = RESTORE
    text = json.dumps(metadata, separators=(",", ":"))
    if len(text) > MAX_METADATA:
        text = json.dumps({**metadata, "b": ""}, separators=(",", ":"))
    last = today + timedelta(days=max_days)
    return {
        "type": "modal",
        "callback_id": KEEP_CALLBACK_ID,
        "private_metadata": text,
        "title": {"type": "plain_text", "text": "Restore as exception" if click.action == RESTORE else
                  "Keep as exception"},
        "submit": {"type": "plain_text", "text": "Restore" if click.action == RESTORE else "Keep"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": REASON_BLOCK, "label": {"type": "plain_text", "text": "Reason"},
             "element": {"type": "plain_text_input", "action_id": REASON_ACTION, "multiline": True,
                         "max_length": MAX_REASON}},
            {"type": "input", "block_id": EXPIRY_BLOCK,
             "label": {"type": "plain_text", "text": "Valid until (UTC)"},
             "hint": {"type": "plain_text", "text": f"At most {max_days} days ahead: {last.isoformat()} or earlier."},
             "element": {"type": "datepicker", "action_id": EXPIRY_ACTION, "initial_date": last.isoformat()}},
        ],
    }


def parse_submission(payload: Mapping[str, Any], today: date, max_days: int) -> Click | dict[str, str] | None:
    """The Keep dialog's submission: the Keep decision, or the errors to show beside its fields (fixed texts),
    or None when the payload is not our dialog's."""
    view = _mapping(payload.get("view"))
    if payload.get("type") != "view_submission" or view.get("callback_id") != KEEP_CALLBACK_ID:
        return None
    try:
        metadata = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(metadata, dict):
        return None
    ref = AlertRef.parse(metadata.get("r"))
    if ref is None:
        return None
    values = _mapping(_mapping(view.get("state")).get("values"))
    reason = str(_mapping(_mapping(values.get(REASON_BLOCK)).get(REASON_ACTION)).get("value") or "").strip()
    chosen = str(_mapping(_mapping(values.get(EXPIRY_BLOCK)).get(EXPIRY_ACTION)).get("selected_date") or "")
    errors: dict[str, str] = {}
    if not reason:
        errors[REASON_BLOCK] = "Say why this change is kept."
    elif len(reason) > MAX_REASON:
        errors[REASON_BLOCK] = f"At most {MAX_REASON} characters."
    try:
        expires = date.fromisoformat(chosen) if re.fullmatch(_DATE, chosen) else None
    except ValueError:
        expires = None
    last = today + timedelta(days=max_days)
    if expires is None:
        errors[EXPIRY_BLOCK] = "Choose the last day the exception is valid."
    elif expires < today:
        errors[EXPIRY_BLOCK] = "The date has passed: choose today or a later day."
    elif expires > last:
        errors[EXPIRY_BLOCK] = f"At most {max_days} days ahead: {last.isoformat()} or earlier."
    if errors:
        return errors
    assert expires is not None
    user = _mapping(payload.get("user"))
    action = RESTORE if metadata.get("a") == RESTORE else KEEP
    click = Click(action, ref, str(user.get("id") or ""), str(metadata.get("c") or ""), str(metadata.get("t") or ""),
                  _unpack(metadata.get("b")), reason, expires.isoformat())
    return click if click.valid() else None
