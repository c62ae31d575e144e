"""Which accounts and regions a run covers, and running work over them.

Environment (the inventory and the unused-group audit):
  ACCOUNTS                     comma-separated account ids (empty: only the own account)
  ACCOUNTS_FROM_ORGANIZATIONS  "true": every ACTIVE account of the organisation
  EXCLUDED_ACCOUNTS            comma-separated ids left out of either list
  MEMBER_ROLE_NAME             role assumed in other accounts (default sgwatch-member-read)
  MAX_WORKERS                  (account, region) pairs processed at once (default 8)
  REGIONS                      comma-separated regions (empty: the function's region)

One broken account or region never stops the others: each failure is kept and the
run ends with one error listing them all.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import aws, log

DEFAULT_MEMBER_ROLE = "sgwatch-member-read"
DEFAULT_WORKERS = 8


def ids(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def organization_accounts() -> list[str]:
    """ACTIVE accounts of the organisation (the function must run in the management or a delegated account)."""
    paginator = aws.central_client("organizations").get_paginator("list_accounts")
    return [a["Id"] for page in paginator.paginate() for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE"]


def account_ids(own_account: str, env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ) if env is None else env
    wanted = ids(env.get("ACCOUNTS"))
    if flag(env.get("ACCOUNTS_FROM_ORGANIZATIONS")):
        wanted += organization_accounts()
    excluded = set(ids(env.get("EXCLUDED_ACCOUNTS")))
    chosen = sorted({a for a in (wanted or [own_account]) if a not in excluded})
    for account in chosen:
        if not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"not an AWS account id: {account!r} (ACCOUNTS / EXCLUDED_ACCOUNTS)")
    return chosen


@dataclass
class Sessions:
    """Assumed-role sessions, one per account, created once and shared by its regions."""

    own_account: str
    role_name: str
    partition: str = "aws"
    _cache: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def for_account(self, account_id: str) -> Any:
        if account_id == self.own_account:
            return None  # the function's own credentials
        with self._lock:
            if account_id not in self._cache:
                role_arn = f"arn:{self.partition}:iam::{account_id}:role/{self.role_name}"
                credentials = aws.central_client("sts").assume_role(
                    RoleArn=role_arn, RoleSessionName=f"sgwatch-{self.own_account}"[:64], DurationSeconds=3600
                )["Credentials"]
                self._cache[account_id] = aws.session(credentials)
            return self._cache[account_id]


@dataclass
class RunOutcome:
    results: list[dict[str, Any]]
    failures: dict[tuple[str, str], str]

    def error_message(self, what: str) -> str:
        total = len(self.results) + len(self.failures)
        return f"{what} failed for {len(self.failures)} of {total} account/region pair(s): {pair_listing(self.failures)}"


LISTED_PAIRS = 20  # an error names this many pairs; each failed pair also has its own log line


def pair_listing(failures: dict[tuple[str, str], str]) -> str:
    """``account/region (reason)`` for the first pairs, and how many more the log holds."""
    ordered = sorted(failures.items())
    listed = "; ".join(f"{a}/{r} ({why})" for (a, r), why in ordered[:LISTED_PAIRS])
    more = len(ordered) - LISTED_PAIRS
    return listed + (f"; and {more} more (see the log)" if more > 0 else "")


def caller() -> tuple[str, str]:
    """The function's own account id and partition."""
    identity = aws.central_client("sts").get_caller_identity()
    return identity["Account"], identity.get("Arn", "arn:aws:").split(":")[1] or "aws"


def planned_pairs(env: dict[str, str] | None = None, own_account: str | None = None) -> list[tuple[str, str]]:
    """Every (account, region) pair a run covers, accounts first."""
    env = dict(os.environ) if env is None else env
    own_account = own_account or caller()[0]
    regions = aws.regions_from_env(env.get("REGIONS"))
    return [(a, r) for a in account_ids(own_account, env) for r in regions]


def run_everywhere(
    work: Callable[[str, str], dict[str, Any]],
    env: dict[str, str] | None = None,
    pairs: list[tuple[str, str]] | None = None,
    identity: tuple[str, str] | None = None,
) -> RunOutcome:
    """Run ``work(account_id, region)`` for every pair (default: every account and region), each in its account's context.

    ``identity`` is :func:`caller`'s answer when the caller already has it.
    """
    env = dict(os.environ) if env is None else env
    own_account, partition = identity or caller()
    if pairs is None:
        pairs = planned_pairs(env, own_account)
    sessions = Sessions(own_account, env.get("MEMBER_ROLE_NAME") or DEFAULT_MEMBER_ROLE, partition)
    workers = int(env.get("MAX_WORKERS") or DEFAULT_WORKERS)

    def one(account_id: str, region: str) -> dict[str, Any]:
        with aws.target_account(sessions.for_account(account_id)):
            return work(account_id, region)

    outcome = RunOutcome([], {})
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
        futures = {pair: pool.submit(contextvars.copy_context().run, one, *pair) for pair in pairs}
        for (account_id, region), future in futures.items():
            try:
                outcome.results.append(future.result())
            except Exception as exc:  # kept, reported at the end; the others go on
                outcome.failures[(account_id, region)] = f"{aws.error_code(exc)}: {exc}"
                log.error("target_failed", account_id=account_id, region=region, error=outcome.failures[(account_id, region)])
    return outcome
