"""Which accounts and regions a run covers, and running work over them.

Environment (the inventory and the unused-group audit):
  ACCOUNTS                     comma-separated account ids (empty: only the own account)
  ACCOUNTS_FROM_ORGANIZATIONS  "true": every ACTIVE account of the organisation (others are skipped and counted)
  EXCLUDED_ACCOUNTS            comma-separated ids left out of either list
  MEMBER_ROLE_NAME             role assumed in other accounts (default sgwatch-member-read)
  MAX_WORKERS                  (account, region) pairs processed at once (default 8)
  REGIONS                      comma-separated regions (empty: the function's region)

Credentials live for one run (a scheduled invocation or a queued batch) and the clients
built from them for one (account, region) pair: nothing of a member account stays in the
process once its work is done (see :mod:`sgwatch.aws`).

One broken account or region never stops the others: each failure is kept and the
run ends with one error listing them all.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import aws, log, settings
from .settings import Environment

DEFAULT_MEMBER_ROLE = "sgwatch-member-read"
DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class Settings:
    """The run's reach, from the environment above; ``regions`` sorted, never empty."""

    accounts: tuple[str, ...] = ()
    from_organizations: bool = False
    excluded: tuple[str, ...] = ()
    member_role: str = DEFAULT_MEMBER_ROLE
    workers: int = DEFAULT_WORKERS
    regions: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        return cls(
            accounts=settings.items(env, "ACCOUNTS"),
            from_organizations=settings.flag(env, "ACCOUNTS_FROM_ORGANIZATIONS"),
            excluded=settings.items(env, "EXCLUDED_ACCOUNTS"),
            member_role=settings.text(env, "MEMBER_ROLE_NAME", DEFAULT_MEMBER_ROLE),
            workers=settings.integer(env, "MAX_WORKERS", DEFAULT_WORKERS, minimum=1),
            regions=tuple(sorted(settings.items(env, "REGIONS"))) or (aws.own_region(),),
        )


# Organizations ``Account.State`` (``Status`` is retired): only ACTIVE accounts can be read;
# SUSPENDED, PENDING_CLOSURE, CLOSED and any state added later are skipped, not failed.
READABLE_STATE = "ACTIVE"


@dataclass(frozen=True)
class Selection:
    """The accounts a run covers, and the organisation's accounts it leaves out by state."""

    accounts: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # account id -> its state


def organization_accounts() -> Selection:
    """ACTIVE accounts of the organisation (the function must run in the management or a delegated account)."""
    paginator = aws.central_client("organizations").get_paginator("list_accounts")
    active: list[str] = []
    skipped: dict[str, str] = {}
    for page in paginator.paginate():
        for account in page["Accounts"]:
            state = account.get("State") or account.get("Status") or READABLE_STATE
            if state == READABLE_STATE:
                active.append(account["Id"])
            else:
                skipped[account["Id"]] = state
    return Selection(active, skipped)


def select_accounts(
    own_account: str, env: Environment | Settings | None = None, *, report_skipped: bool = True
) -> Selection:
    """The run's accounts: ACCOUNTS and, with ACCOUNTS_FROM_ORGANIZATIONS, the organisation's ACTIVE ones.

    ``report_skipped`` logs each organisation account left out by its state (once per run, not per batch).
    """
    reach = _reach(env)
    wanted = list(reach.accounts)
    skipped: dict[str, str] = {}
    if reach.from_organizations:
        organization = organization_accounts()
        wanted += organization.accounts
        skipped = organization.skipped
    excluded = set(reach.excluded)
    chosen = sorted({a for a in (wanted or [own_account]) if a not in excluded})
    for account in chosen:
        if not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"not an AWS account id: {account!r} (ACCOUNTS / EXCLUDED_ACCOUNTS)")
    skipped = {a: state for a, state in sorted(skipped.items()) if a not in excluded and a not in chosen}
    for account, state in skipped.items() if report_skipped else ():
        log.info("account_skipped", account_id=account, state=state, reason="only ACTIVE accounts are read")
    return Selection(chosen, skipped)


def account_ids(own_account: str, env: Environment | Settings | None = None) -> list[str]:
    return select_accounts(own_account, env).accounts


def _reach(env: Environment | Settings | None) -> Settings:
    return env if isinstance(env, Settings) else Settings.from_env(env)


# Assumed credentials last an hour (the limit for a role chained from the function's own role);
# they are renewed when less than a Lambda run's longest duration is left, so no client built
# from them can outlive them.
CREDENTIALS_SECONDS = 3600
RENEW_BEFORE = timedelta(minutes=15)


def assume_role(account_id: str, role_arn: str, session_name: str) -> aws.Credentials:
    answer = aws.central_client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=CREDENTIALS_SECONDS
    )
    return aws.Credentials.from_sts(account_id, role_arn, answer)


@dataclass
class MemberCredentials:
    """Assumed-role credentials of one run, one set per account, shared by its regions."""

    own_account: str
    role_name: str
    partition: str = "aws"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _cache: dict[str, aws.Credentials] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def for_account(self, account_id: str) -> aws.Credentials | None:
        if account_id == self.own_account:
            return None  # the function's own credentials
        with self._lock:
            found = self._cache.get(account_id)
            if found is None or found.expiration - self.clock() < RENEW_BEFORE:
                role_arn = f"arn:{self.partition}:iam::{account_id}:role/{self.role_name}"
                found = assume_role(account_id, role_arn, f"sgwatch-{self.own_account}")
                self._cache[account_id] = found
            return found


@dataclass
class RunOutcome:
    results: list[dict[str, Any]]
    failures: dict[tuple[str, str], str]
    skipped_accounts: int = 0

    def error_message(self, what: str) -> str:
        total = len(self.results) + len(self.failures)
        listed = pair_listing(self.failures)
        return f"{what} failed for {len(self.failures)} of {total} account/region pair(s): {listed}"


LISTED_PAIRS = 20  # an error names this many pairs; each failed pair also has its own log line


def pair_listing(failures: dict[tuple[str, str], str]) -> str:
    """``account/region (reason)`` for the first pairs, and how many more the log holds."""
    ordered = sorted(failures.items())
    listed = "; ".join(f"{a}/{r} ({why})" for (a, r), why in ordered[:LISTED_PAIRS])
    more = len(ordered) - LISTED_PAIRS
    return listed + (f"; and {more} more (see the log)" if more > 0 else "")


@dataclass(frozen=True)
class Plan:
    pairs: list[tuple[str, str]]
    skipped_accounts: int = 0


def planned_pairs(env: Environment | Settings | None = None, own_account: str | None = None) -> Plan:
    """Every (account, region) pair a run covers, accounts first."""
    reach = _reach(env)
    own_account = own_account or aws.own_identity()[0]
    selection = select_accounts(own_account, reach)
    return Plan([(a, r) for a in selection.accounts for r in reach.regions], len(selection.skipped))


def run_everywhere(
    work: Callable[[str, str], dict[str, Any]],
    env: Environment | Settings | None = None,
    pairs: list[tuple[str, str]] | None = None,
    identity: tuple[str, str] | None = None,
) -> RunOutcome:
    """Run ``work(account_id, region)`` for every pair (default: every account and region),
    each in its account's context.

    ``identity`` is :func:`sgwatch.aws.own_identity`'s answer when the caller already has it.
    """
    reach = _reach(env)
    own_account, partition = identity or aws.own_identity()
    skipped = 0
    if pairs is None:
        plan = planned_pairs(reach, own_account)
        pairs, skipped = plan.pairs, plan.skipped_accounts
    credentials = MemberCredentials(own_account, reach.member_role, partition)
    workers = reach.workers

    def one(account_id: str, region: str) -> dict[str, Any]:
        with aws.target_account(credentials.for_account(account_id)):
            return work(account_id, region)

    outcome = RunOutcome([], {}, skipped)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
        futures = {
            (account_id, region): pool.submit(contextvars.copy_context().run, one, account_id, region)
            for account_id, region in pairs
        }
        for (account_id, region), future in futures.items():
            try:
                outcome.results.append(future.result())
            except Exception as exc:  # kept, reported at the end; the others go on
                why = outcome.failures[(account_id, region)] = f"{aws.error_code(exc)}: {exc}"
                log.error("target_failed", account_id=account_id, region=region, error=why)
    return outcome
