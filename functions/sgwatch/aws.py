"""Thin AWS access: one model cache per process, clients scoped to the account they read.

* The process has one boto3 session. Its botocore loader parses each service model once
  (about 20 MB for EC2); every client of every account is built from it, so adding an
  account adds credentials, never another copy of the models.
* Clients of the function's own account are kept for the life of the process, one per
  (service, region): a bounded set, reused by every invocation as Lambda recommends.
* Clients of a member account are built from that account's assumed-role credentials
  inside a :func:`target_account` block and live only as long as the block (one piece of
  work: an account and region). They are keyed by what they are, never by an object's
  ``id()``, and nothing of them outlives the block - unless the block asks to ``keep`` them
  (the change notifier, one event at a time): then the clients of the last
  :data:`KEPT_TARGETS` sets of credentials are reused while those credentials are.
* Inside a :func:`quick` block (what an alert waits for) every client is a quick one
  (:data:`QUICK_CONFIG`) and no call starts that could end after the block's deadline.

Endpoints come only from the standard AWS configuration, so ``AWS_ENDPOINT_URL`` points
every client at an emulator without special code.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

# The connections a client keeps per host: as many as the threads that share it at most (the review
# pack's reads), so that none is opened and thrown away ("Connection pool is full") on every call.
POOL_CONNECTIONS = 16
RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=POOL_CONNECTIONS)
# The clients of a quick() block: three attempts in all, each given up after 1 s without a
# connection or 2 s without data, so one call ends within worst_call_seconds(QUICK_CONFIG).
QUICK_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 3, "mode": "standard"})
# A caller that must answer within a few seconds whatever happens (the remediation function acknowledging
# Slack within its 3 s): one attempt, at most 1.5 s.
ACK_CONFIG = Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"})
RETRY, QUICK, ACK = "retry", "quick", "ack"
CONFIGS = {RETRY: RETRY_CONFIG, QUICK: QUICK_CONFIG, ACK: ACK_CONFIG}
# Standard retry mode waits at most min(2**(n-1), 20) s before retry n, more (up to 5 s) only when
# the answer asks for it (x-amz-retry-after):
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
MAX_BACKOFF_SECONDS = 20
RETRY_AFTER_EXTRA_SECONDS = 5
# MaxResults of the EC2 Describe* calls SG Watch pages through (security groups, their rules,
# network interfaces) is at most 1000, e.g.
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html
EC2_PAGE_SIZE = 1000

# Creating clients from one session is serialised: sessions are not thread-safe, clients are.
_lock = threading.RLock()
_own_clients: dict[tuple[str, str | None, str], Any] = {}  # (service, region, configuration name)
_own_session: list[boto3.session.Session] = []  # the session _own_clients were built from


@dataclass(frozen=True)
class Credentials:
    """Assumed-role credentials of one member account."""

    account_id: str
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str = field(repr=False)
    expiration: datetime

    @classmethod
    def from_sts(cls, account_id: str, role_arn: str, answer: dict[str, Any]) -> Credentials:
        c = answer["Credentials"]
        return cls(account_id, role_arn, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"])


class Target:
    """One member account being read: its credentials and the clients built from them."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._clients: dict[tuple[str, str | None, bool], Any] = {}

    @property
    def account_id(self) -> str:
        return self.credentials.account_id

    def client(self, service: str, region: str | None) -> Any:
        key = (service, region, _deadline.get() is not None)
        with _lock:
            found = self._clients.get(key)
            if found is None:
                c = self.credentials
                found = _new_client(
                    base_session(),
                    service,
                    region,
                    aws_access_key_id=c.access_key_id,
                    aws_secret_access_key=c.secret_access_key,
                    aws_session_token=c.session_token,
                )
                self._clients[key] = found
            return found


KEPT_TARGETS = 4  # member accounts whose clients target_account(keep=True) keeps, the most recent first
_kept: OrderedDict[tuple[str, str], Target] = OrderedDict()  # (account, access key id)
_kept_session: list[boto3.session.Session] = []  # the session _kept were built from


def _kept_target(credentials: Credentials) -> Target:
    key = (credentials.account_id, credentials.access_key_id)
    with _lock:
        base = base_session()
        if not _kept_session or _kept_session[0] is not base:  # a new default session: its clients only
            _kept.clear()
            _kept_session[:] = [base]
        found = _kept.pop(key, None) or Target(credentials)
        _kept[key] = found
        while len(_kept) > KEPT_TARGETS:
            _kept.popitem(last=False)
        return found


# The member account a piece of work reads; unset means the function's own account.
_target: ContextVar[Target | None] = ContextVar("sgwatch_target", default=None)
# The quick() block's (deadline on time.monotonic(), its length in seconds); unset outside one.
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("sgwatch_deadline", default=None)


def worst_call_seconds(config: Config = QUICK_CONFIG) -> float:
    """The longest one call of a client built with ``config`` can take: every attempt waits out its
    connect and read timeouts, and every retry its longest backoff."""
    attempts = int(config.retries["total_max_attempts"])
    backoff = sum(min(2 ** (n - 1), MAX_BACKOFF_SECONDS) + RETRY_AFTER_EXTRA_SECONDS for n in range(1, attempts))
    return float(attempts * (config.connect_timeout + config.read_timeout) + backoff)


@contextmanager
def quick(seconds: float) -> Iterator[None]:
    """A block whose calls all end within ``seconds``: its clients are quick ones (:data:`QUICK_CONFIG`)
    and a call that could end after the deadline (it starts later than ``seconds`` less
    :func:`worst_call_seconds`) is not made: it raises ``TimeoutError`` instead. Inside another
    quick block the earlier of the two deadlines holds."""
    deadline = (time.monotonic() + seconds, seconds)
    outer = _deadline.get()
    token = _deadline.set(min(outer, deadline) if outer is not None else deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _within_deadline(**_: Any) -> None:
    """``before-call`` of quick clients: a call starts only when it ends, at worst, by the deadline."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() + worst_call_seconds() > deadline[0]:
        raise TimeoutError(f"no answer within {deadline[1]:g} s")


def _new_client(session: boto3.session.Session, service: str, region: str | None, **credentials: str) -> Any:
    """A client of ``session``: a quick one inside a :func:`quick` block, else one that retries patiently."""
    if _deadline.get() is None:
        return session.client(service, region_name=region, config=RETRY_CONFIG, **credentials)
    found = session.client(service, region_name=region, config=QUICK_CONFIG, **credentials)
    found.meta.events.register("before-call", _within_deadline)
    return found


def base_session() -> boto3.session.Session:
    """The process's one session (the function's own credentials and the shared model cache)."""
    with _lock:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        return boto3.DEFAULT_SESSION


@contextmanager
def target_account(credentials: Credentials | None, keep: bool = False) -> Iterator[Target | None]:
    """Within the block, :func:`client` reads the account of ``credentials`` (None: the own account).

    The block's clients are dropped when it ends, unless ``keep``: then a later block with the same
    credentials reuses them (see :data:`KEPT_TARGETS`). Worker threads inherit the block only
    through ``contextvars.copy_context().run``.
    """
    target = (_kept_target(credentials) if keep else Target(credentials)) if credentials else None
    token = _target.set(target)
    try:
        yield target
    finally:
        _target.reset(token)


def client(service: str, region: str | None = None) -> Any:
    """A client of the account being looked at (see :func:`target_account`)."""
    target = _target.get()
    return target.client(service, region) if target else central_client(service, region)


def central_client(service: str, region: str | None = None, config: str | None = None) -> Any:
    """A client of the function's own account: evidence, alerts, secrets, Security Hub. ``config`` names one of
    :data:`CONFIGS` (:data:`ACK`: one short attempt); by default a quick one inside a :func:`quick` block, else one
    that retries patiently. One cache serves every configuration."""
    name = config or (QUICK if _deadline.get() is not None else RETRY)
    key = (service, region, name)
    with _lock:
        base = base_session()
        if not _own_session or _own_session[0] is not base:  # a new default session: its clients only
            _own_clients.clear()
            _own_session[:] = [base]
        found = _own_clients.get(key)
        if found is None:
            found = _own_clients[key] = (_new_client(base, service, region) if config is None
                                         else base.client(service, region_name=region, config=CONFIGS[config]))
        return found


def own_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def own_identity() -> tuple[str, str]:
    """The function's own account id and partition (STS ``GetCallerIdentity``, one call)."""
    identity = central_client("sts").get_caller_identity()
    return identity["Account"], identity.get("Arn", "arn:aws:").split(":")[1] or "aws"


def function_account(context: Any) -> str:
    """The function's own account: from the invocation's function ARN, else STS.

    Nothing is kept between invocations: the ARN comes with each one, and the STS
    client (not its answer) is what the process reuses.
    """
    arn = str(getattr(context, "invoked_function_arn", "") or "")
    if arn.count(":") >= 4 and arn.split(":")[4]:
        return arn.split(":")[4]
    return own_identity()[0]


def account_id() -> str:
    """The account being looked at: the member account of the block, else the own account (STS)."""
    target = _target.get()
    return target.account_id if target else own_identity()[0]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, else the exception's class name."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)
