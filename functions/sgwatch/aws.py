"""Thin AWS access: lazily created clients with standard retries.

Endpoints come only from the standard AWS configuration, so ``AWS_ENDPOINT_URL``
points every client at an emulator without special code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "standard"})

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, int], Any] = {}
# The account a piece of work looks at (a member account's assumed-role session);
# unset means the function's own account.
_target_session: ContextVar[boto3.session.Session | None] = ContextVar("sgwatch_target_session", default=None)


@contextmanager
def target_account(sess: boto3.session.Session | None) -> Iterator[None]:
    """Within the block, :func:`client` reads the account of ``sess`` (None: the own account).

    Worker threads inherit it only through ``contextvars.copy_context().run``.
    """
    token = _target_session.set(sess)
    try:
        yield
    finally:
        _target_session.reset(token)


def session(credentials: dict[str, str] | None = None) -> boto3.session.Session:
    """The default session, or one holding assumed-role credentials."""
    if credentials:
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    with _lock:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        return boto3.DEFAULT_SESSION


def client(service: str, region: str | None = None, sess: boto3.session.Session | None = None) -> Any:
    """A cached client of the account being looked at (see :func:`target_account`).

    Creation is serialised because sessions are not thread-safe.
    """
    sess = sess or _target_session.get() or session()
    key = (service, region, id(sess))
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = sess.client(service, region_name=region, config=RETRY_CONFIG)
            _clients[key] = found
        return found


def central_client(service: str, region: str | None = None) -> Any:
    """A client of the function's own account: evidence, alerts, secrets, Security Hub."""
    return client(service, region, session())


def own_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def regions_from_env(value: str | None) -> list[str]:
    """``REGIONS`` is comma-separated; empty means the function's own region."""
    regions = [r.strip() for r in (value or "").split(",") if r.strip()]
    return sorted(set(regions)) or [own_region()]


def account_id(sess: boto3.session.Session | None = None) -> str:
    """The account of ``sess``, else of the account being looked at, else the own account."""
    return client("sts", sess=sess).get_caller_identity()["Account"]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, else the exception's class name."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)
