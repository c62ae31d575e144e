"""Slack request signatures (``v0``), checked before anything else of a request is read.

Slack signs every interaction request: ``X-Slack-Signature`` is ``v0=`` and the hex HMAC-SHA256,
keyed with the app's signing secret, of ``v0:{X-Slack-Request-Timestamp}:{raw body}``.
https://api.slack.com/authentication/verifying-requests-from-slack

A request is accepted only when its timestamp is within :data:`WINDOW_SECONDS` of now (a captured
request cannot be replayed later) and its signature equals the expected one, compared in constant
time (:func:`hmac.compare_digest`).

The signing secret lives in Secrets Manager (bare, or JSON ``{"signing_secret": "..."}``). A warm
process keeps it at most :data:`SECRET_TTL_SECONDS`, so a rotated secret is used within minutes;
it is never logged, and never in the environment (only the secret's ARN is).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from .. import aws

VERSION = "v0"
# "verify that the request timestamp is within five minutes of the local time":
# https://api.slack.com/authentication/verifying-requests-from-slack
WINDOW_SECONDS = 300
SECRET_TTL_SECONDS = 300

# Why a request was refused: logged, never sent back (the answer is one fixed word).
UNSIGNED = "unsigned"
STALE = "stale"
BAD_SIGNATURE = "bad_signature"


class SigningSecretError(RuntimeError):
    """The signing secret cannot be read or is empty: every request is refused."""


# The process's signing secret: (secret ARN, value, monotonic time read).
_cache: dict[str, tuple[bytes, float]] = {}


def signing_secret(secret_arn: str, secrets: Any | None = None, now: float | None = None) -> bytes:
    """The signing secret, read from Secrets Manager at most once per :data:`SECRET_TTL_SECONDS`."""
    moment = time.monotonic() if now is None else now
    found = _cache.get(secret_arn)
    if found is not None and moment - found[1] < SECRET_TTL_SECONDS:
        return found[0]
    client = secrets or aws.central_client("secretsmanager")
    try:
        value = (client.get_secret_value(SecretId=secret_arn).get("SecretString") or "").strip()
    except Exception as exc:
        raise SigningSecretError(f"cannot read the Slack signing secret {secret_arn}: {aws.error_code(exc)}") from None
    if value.startswith("{"):
        try:
            value = str(json.loads(value).get("signing_secret") or "").strip()
        except (ValueError, AttributeError):
            value = ""
    if not value:
        raise SigningSecretError(f"the Slack signing secret {secret_arn} is empty: set it to the app's signing "
                                 "secret (bare, or JSON with a 'signing_secret' key)")
    _cache.clear()  # one function, one secret
    _cache[secret_arn] = (value.encode(), moment)
    return _cache[secret_arn][0]


def expected(secret: bytes, timestamp: str, body: bytes) -> str:
    """``v0=`` and the hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def refusal(secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """Why the request must be refused (:data:`UNSIGNED`, :data:`STALE`, :data:`BAD_SIGNATURE`), None when
    it is Slack's, signed within the window."""
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return UNSIGNED
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        return STALE
    if not hmac.compare_digest(expected(secret, timestamp, body).encode(), signature.encode("utf-8", "replace")):
        return BAD_SIGNATURE
    return None
