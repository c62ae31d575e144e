"""Slack Web API access shared by every function that posts to Slack.

The bot token lives in Secrets Manager; it is read at run time, never logged and
never placed in the environment. ``SLACK_API_URL`` overrides the API base URL (proxies,
tests).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import aws


class SlackConfigError(RuntimeError):
    """The Slack token secret is missing, empty or unreadable."""


def read_token(secret_arn: str, secrets: Any | None = None) -> str:
    """The bot token from the secret: a bare token or JSON with a ``token`` key."""
    client = secrets or aws.central_client("secretsmanager")
    try:
        value = client.get_secret_value(SecretId=secret_arn).get("SecretString")
    except Exception as exc:
        raise SlackConfigError(
            f"cannot read the Slack token secret {secret_arn}: {aws.error_code(exc)}"
        ) from None
    value = (value or "").strip()
    if value.startswith("{"):
        try:
            value = str(json.loads(value).get("token") or "").strip()
        except (ValueError, AttributeError):
            raise SlackConfigError(f"the Slack token secret {secret_arn} holds JSON without a 'token' key") from None
    if not value:
        raise SlackConfigError(
            f"the Slack token secret {secret_arn} is empty: set its value to the bot token (xoxb-...)"
        )
    return str(value)


def web_client(secret_arn: str, base_url: str | None = None, secrets: Any | None = None,
               timeout: float | None = None) -> Any:
    """A slack_sdk WebClient with retry handlers for rate limits, 5xx and connection errors; with ``timeout``,
    one attempt of at most that many seconds (a caller that must answer within a deadline)."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    kwargs: dict[str, Any] = {"token": read_token(secret_arn, secrets), "timeout": timeout or 15}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    client = WebClient(**kwargs)
    if timeout is not None:
        client.retry_handlers.clear()
        return client
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


_CONTROL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: Any) -> str:
    """User-controlled text made inert in Slack mrkdwn.

    ``&``, ``<`` and ``>`` are entity-escaped (so ``<!channel>`` and ``<@U123>`` cannot
    be formed), a bare ``@channel``/``@here``/``@everyone`` gets a zero-width joiner
    so it does not notify, and mrkdwn emphasis characters are neutralised.
    """
    value = "".join(_CONTROL.get(ch, ch) for ch in str(text))
    value = _BROADCAST.sub("@\u2060", value)
    return _FORMATTING.sub("\u200b\\1\u200b", value)


def mention(user_id: str) -> str:
    """A real mention of a Slack user id (only ids we map ourselves, never free text)."""
    if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id or ""):
        raise ValueError(f"not a Slack user id: {user_id!r}")
    return f"<@{user_id}>"


def entities(text: Any) -> str:
    """Our own text (keys, counts, ids) made safe for Slack: only ``&``, ``<`` and ``>`` escaped,
    so it stays copyable; user-controlled text goes through :func:`escape` instead."""
    return "".join(_CONTROL.get(ch, ch) for ch in str(text))


class Poster:
    """The one way SG Watch posts to Slack: one channel, the token read once per poster.

    Build one per invocation (``Poster(settings.Slack.from_env(env))``): a warm container then
    reads a rotated token on its next invocation. ``post`` raises on failure; callers decide
    whether Slack is the delivery (report) or a convenience beside SNS (alerts).
    """

    def __init__(self, config: Any, secrets: Any | None = None) -> None:
        self.config = config
        self._secrets = secrets
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = web_client(self.config.secret_arn, self.config.api_url, self._secrets)
        return self._client

    def post(self, text: str, blocks: list[dict[str, Any]] | None = None, **extra: Any) -> Any:
        """``chat.postMessage`` to the channel, links not unfurled."""
        kwargs: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False, **extra}
        if blocks is not None:
            kwargs["blocks"] = blocks
        return self.client.chat_postMessage(channel=self.config.channel_id, text=text, **kwargs)

    def upload(self, **kwargs: Any) -> Any:
        """``files_upload_v2`` into the channel."""
        return self.client.files_upload_v2(channel=self.config.channel_id, **kwargs)
