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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from ..remediation_prompt import BLOCK_ID, REVERT, REVERT_ACTION_ID, AlertRef

# A block_actions payload carries the whole message (our alert: a few sections of at most 3,000
# characters, form-encoded): well below this. Anything larger is not one of our buttons.
MAX_BODY_BYTES = 128 * 1024
_USER = r"[UW][A-Z0-9]{2,20}"


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
    """A Revert click from a signed request: who clicked, on which message, for which alert."""

    action: str
    ref: AlertRef
    user_id: str
    channel_id: str
    message_ts: str
    blocks: list[dict[str, Any]]

    def job(self) -> dict[str, Any]:
        """The queued job (the message body)."""
        return {"action": self.action, "ref": self.ref.value(), "user_id": self.user_id,
                "channel_id": self.channel_id, "message_ts": self.message_ts, "blocks": self.blocks}

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
                    blocks)
        return click if click.valid() else None

    def valid(self) -> bool:
        return (self.action == REVERT and re.fullmatch(_USER, self.user_id) is not None
                and re.fullmatch(r"[CGD][A-Z0-9]{2,20}", self.channel_id) is not None
                and re.fullmatch(r"[0-9]{1,12}\.[0-9]{1,8}", self.message_ts) is not None)


def parse_click(body: bytes) -> Click | None:
    """The Revert click a signed ``block_actions`` payload carries; None for any other payload."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=4)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return None
    action = actions[0]
    if action.get("action_id") != REVERT_ACTION_ID or action.get("block_id") != BLOCK_ID:
        return None
    ref = AlertRef.parse(action.get("value"))
    user, channel = _mapping(payload.get("user")), _mapping(payload.get("channel"))
    container, message = _mapping(payload.get("container")), _mapping(payload.get("message"))
    found_blocks = message.get("blocks")
    blocks: list[dict[str, Any]] = found_blocks if isinstance(found_blocks, list) else []
    if ref is None:
        return None
    click = Click(REVERT, ref, str(user.get("id") or ""), str(channel.get("id") or ""),
                  str(container.get("message_ts") or message.get("ts") or ""), blocks)
    return click if click.valid() else None
