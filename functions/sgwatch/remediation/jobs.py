"""The remediation function's settings, and the queued job a Revert click becomes.

Why a queue: Slack wants the click answered within 3 seconds, and a revert (Slack lookups, an
assumed role, describe and revoke calls, evidence, the message update) can take longer. The function
URL invocation only checks the request and sends the job to the function's own SQS work queue
(``WORK_QUEUE_URL``, modules/lambda-function's fan-out queue); the queue's event source mapping runs
the job. A job that fails (a throttled or unreachable API) is delivered again, then kept in the
work dead-letter queue, with an alarm: never dropped quietly.

A job, in order:

1. the clicker must be an approver (``REMEDIATION_APPROVERS``: user ids, or user-group ids whose
   members Slack lists); anyone else is told so, privately, and nothing is recorded or done;
2. the alert's event record must exist and still qualify under the policy (never what the button
   says: it only names the alert);
3. the decision is written once, ``{prefix}{account}/{region}/remediation/YYYY/MM/DD/<event id>-revert.json``
   (conditional put): a second click, a replayed request or a second delivery of the job finds it and
   does nothing (a redelivery of the same job, same SQS message id, carries on);
4. the revert (:mod:`sgwatch.remediation_revert`), in a member account through its remediation role;
5. the outcome is written once (``<event id>-revert-outcome.json``: the steps, each AWS request id) and the
   Slack message is updated: the button is replaced by what was done.

A Keep job (the Keep dialog's submission) checks the same first two steps, then writes the exception
once (``<event id>-keep.json`` and its index entries, :mod:`sgwatch.remediation_exceptions`) and updates
the message with who kept the change, until when and why. An alert has one decision: a Revert after a
Keep (or the reverse) is refused as already handled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import accounts, aws, log, remediation_revert as revert, settings, slack
from ..evidence import EVENTS, REMEDIATION, EvidenceStore, Layout
from ..remediation_exceptions import covered_rules, index_key
from ..remediation_prompt import KEEP, RESTORE, REVERT, Policy
from ..settings import Environment
from ..text import clean
from .interaction import MAX_REASON, Click

_GROUP = "S"


@dataclass(frozen=True)
class Settings:
    signing_secret_arn: str
    slack: settings.Slack
    evidence: settings.Evidence
    policy: Policy
    approvers: tuple[str, ...]
    queue_url: str
    reach: accounts.Settings = field(default_factory=lambda: accounts.Settings.from_env({}))
    exception_max_days: int = 30

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Settings:
        env = settings.environment(env)
        policy = Policy.from_env(env)
        if policy is None:
            raise settings.SettingsError("REMEDIATION_MODE is not set: the remediation function needs its policy")
        return cls(
            signing_secret_arn=settings.required(env, "SLACK_SIGNING_SECRET_ARN", "requests are verified with it"),
            slack=settings.Slack.required(env, "the remediation function answers in the alert's Slack channel"),
            evidence=settings.Evidence.required(env, "the alert's record and the decisions are kept there"),
            policy=policy,
            approvers=settings.items(env, "REMEDIATION_APPROVERS"),
            queue_url=settings.required(env, "WORK_QUEUE_URL", "clicks are handled as queued jobs"),
            reach=accounts.Settings.from_env(env),
            exception_max_days=settings.integer(env, "REMEDIATION_EXCEPTION_MAX_DAYS", 30, minimum=1),
        )


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, default=str).encode()


class Job:
    """One click's work, given the settings, the Slack client and the evidence store."""

    def __init__(self, config: Settings, click: Click, job_id: str, slack_client: Any,
                 store: EvidenceStore | None = None, now: datetime | None = None) -> None:
        self.config, self.click, self.job_id, self.slack = config, click, job_id, slack_client
        self.store = store or EvidenceStore(config.evidence.bucket)
        self.now = now or datetime.now(UTC)
        ref = click.ref
        self.layout = Layout(config.evidence.prefix)
        self.record_key = f"{self.layout.series(ref.account_id, ref.region, EVENTS)}{ref.day}/{ref.event_id}.json"
        folder = f"{self.layout.series(ref.account_id, ref.region, REMEDIATION)}{ref.day}/{ref.event_id}"
        self.decision_key = f"{folder}-{click.action}.json"
        # A Revert's other decision is a Keep, and the reverse; a Restore follows the automatic revert (decided
        # by "auto" under the Revert's key), so its other decision is a Keep.
        self.other_key = f"{folder}-{KEEP if click.action in (REVERT, RESTORE) else REVERT}.json"
        self.revert_key = f"{folder}-{REVERT}.json"
        self.outcome_key = f"{folder}-{REVERT}-outcome.json"

    # --- Slack
    def is_approver(self) -> bool:
        user = self.click.user_id
        if user in self.config.approvers:
            return True
        for group in (a for a in self.config.approvers if a.startswith(_GROUP)):
            members = self.slack.usergroups_users_list(usergroup=group).get("users") or []
            if user in members:
                return True
        return False

    def tell_clicker(self, text: str) -> None:
        self.slack.chat_postEphemeral(channel=self.click.channel_id, user=self.click.user_id, text=text)

    def update_message(self, lines: list[str], title: str = "*Revert* requested", subject: str = "",
                       reason: str = "") -> None:
        """Replace the buttons with the outcome; the alert's other blocks stay as posted (the record's subject
        stands for them when the click did not carry them)."""
        kept = [b for b in self.click.blocks if isinstance(b, dict) and b.get("type") != "actions"]
        if not kept and subject:
            kept = [{"type": "section", "text": {"type": "mrkdwn", "text": slack.escape(subject)[:2900]}}]
        who = slack.mention(self.click.user_id)
        text = f"{title} by {who} at {self.now.strftime('%Y-%m-%d %H:%M UTC')}:\n" + "\n".join(
            f"• {slack.entities(line)}" for line in lines)
        if reason:  # the person's own words: made inert
            text += f"\n• Reason: {slack.escape(clean(reason, MAX_REASON))}"
        blocks = [*kept[:48], {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
        self.slack.chat_update(channel=self.click.channel_id, ts=self.click.message_ts, text=text[:2900],
                               blocks=blocks)

    # --- evidence
    def read_record(self) -> dict[str, Any] | None:
        try:
            found = self.store.get(self.record_key)
        except Exception as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        record = json.loads(found.body)
        return record if isinstance(record, dict) else None

    def decided_otherwise(self) -> dict[str, Any] | None:
        """The alert's other decision (a Keep for a Revert, and the reverse) when it was already taken. A decision
        that cannot be read raises (the job is retried), never taken as none. Existence is checked with a listing of
        the exact key (a read of a missing key would be the usual case)."""
        if self.store.latest_key(self.other_key) != self.other_key:
            return None
        earlier = json.loads(self.store.get(self.other_key).body)
        if not isinstance(earlier, dict):
            raise ValueError(f"{self.other_key} is not a decision")
        return earlier

    def claim(self, details: Mapping[str, Any]) -> dict[str, Any] | None:
        """Write the decision once; None when this job holds it (now, or on an earlier delivery), else the
        decision another click wrote."""
        decision = {
            "schema": 1, "action": self.click.action, "event_id": self.click.ref.event_id,
            "account_id": self.click.ref.account_id, "region": self.click.ref.region,
            "decided_by": self.click.user_id, "decided_at": self.now.isoformat(), "job_id": self.job_id,
            "event_record": self.record_key, **details,
        }
        if self.store.put_new(self.decision_key, _json(decision), "application/json"):
            return None
        earlier = json.loads(self.store.get(self.decision_key).body)
        return None if earlier.get("job_id") == self.job_id else earlier

    def write_outcome(self, outcomes: list[revert.Outcome]) -> list[str]:
        """Write the outcome once; the lines the message shows. A redelivered job whose outcome is already
        written shows that one (this run found its steps done)."""
        lines = [o.line() for o in outcomes]
        document = {"schema": 1, "action": REVERT, "event_id": self.click.ref.event_id, "decided_by":
                    self.click.user_id, "done_at": datetime.now(UTC).isoformat(), "job_id": self.job_id,
                    "outcomes": [o.as_dict() for o in outcomes], "lines": lines}
        if self.store.put_new(self.outcome_key, _json(document), "application/json"):
            return lines
        log.info("outcome_already_recorded", key=self.outcome_key)
        stored = json.loads(self.store.get(self.outcome_key).body).get("lines")
        return [str(line) for line in stored] if isinstance(stored, list) else lines

    # --- AWS
    def covers(self, context: Any) -> bool:
        """Whether the alert's account is the function's own or one of its member accounts."""
        return revert.may_revert_in(self.config.reach, aws.function_account(context), self.click.ref.account_id)

    def credentials(self, context: Any) -> aws.Credentials | None:
        """None in the function's own account, else the member account's remediation role."""
        ref = self.click.ref
        return revert.credentials(self.config.reach.member_role, aws.function_account(context), ref.account_id,
                                  ref.region)

    def run(self, context: Any) -> str:
        """Do the job; what happened, in one word (also the log's)."""
        ref = self.click.ref
        if not self.is_approver():
            log.warning("remediation_refused", reason="not_an_approver", user_id=self.click.user_id,
                        event_id=ref.event_id, action=self.click.action)
            self.tell_clicker("Only the approvers set in SG Watch's remediation input may revert or keep a change; "
                              "nothing was done.")
            return "not_an_approver"
        record = self.read_record()
        if record is None or record.get("event_id") != ref.event_id:
            self.tell_clicker("This alert's record is not in the evidence bucket; nothing was done.")
            return "no_record"
        if not self.config.policy.qualifies_record(record):
            self.tell_clicker("This alert does not qualify for remediation; nothing was done.")
            return "not_qualifying"
        other = self.decided_otherwise()
        if other is not None:
            return self.already_decided(other)
        if self.click.action == KEEP:
            return self.keep(record)
        if self.click.action == RESTORE:
            return self.restore(record, context)
        if not self.covers(context):
            self.tell_clicker(f"Account {ref.account_id} is not one SG Watch may revert in; nothing was done.")
            return "account_not_covered"
        steps, skipped = revert.plan(record)
        earlier = self.claim({"planned": [s.as_dict() for s in steps]})
        if earlier is not None:
            return self.already_decided(earlier)
        with aws.target_account(self.credentials(context)):
            outcomes = revert.apply(aws.client("ec2", ref.region), ref.account_id, ref.region, steps)
        outcomes += skipped
        self.update_message(self.write_outcome(outcomes) or ["nothing to revert"])
        log.info("remediation_done", event_id=ref.event_id, user_id=self.click.user_id,
                 done=sum(o.result == revert.DONE for o in outcomes), steps=len(outcomes))
        return "reverted"

    def already_decided(self, earlier: Mapping[str, Any]) -> str:
        log.info("remediation_refused", reason="already_decided", event_id=self.click.ref.event_id,
                 decided_by=earlier.get("decided_by"), action=self.click.action)
        self.tell_clicker("This alert was already handled; nothing more was done.")
        return "already_decided"

    def record_exception(self, record: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        """Claim the decision and index the exception of the alert's rules: (the rules, None), or (the rules, the
        outcome) when another decision came first."""
        click = self.click
        rules = covered_rules(record)
        details = {"kept_by": click.user_id, "reason": click.reason, "expires": click.expires, "rules": rules}
        earlier = self.claim(details)
        if earlier is not None:
            return rules, self.already_decided(earlier)
        self.index_exception(details)
        return rules, None

    def index_exception(self, details: Mapping[str, Any]) -> None:
        """The exception's index entry in each group it covers (written once; a redelivered job finds them)."""
        ref = self.click.ref
        document = _json({"schema": 1, "action": KEEP, "event_id": ref.event_id, "account_id": ref.account_id,
                          "region": ref.region, "decided_at": self.now.isoformat(), "decision": self.decision_key,
                          **details})
        for group_id in dict.fromkeys(r["group_id"] for r in details["rules"]):
            key = index_key(self.layout, ref.account_id, ref.region, group_id, self.click.expires, ref.event_id)
            self.store.put_new(key, document, "application/json")

    def automatic_revert(self) -> dict[str, Any] | None:
        """The alert's automatic revert (its evidence, decided by "auto"); None when it was not reverted so."""
        if self.store.latest_key(self.revert_key) != self.revert_key:
            return None
        found = json.loads(self.store.get(self.revert_key).body)
        return found if isinstance(found, dict) and found.get("decided_by") == revert.AUTO else None

    def restore(self, record: Mapping[str, Any], context: Any) -> str:
        """Restore as exception (auto mode): put back what the automatic revert did, record the exception as a Keep
        does, and update the message."""
        ref, click = self.click.ref, self.click
        reverted = self.automatic_revert()
        if reverted is None:
            self.tell_clicker("This alert was not reverted automatically; nothing was restored.")
            return "not_reverted"
        if ref.account_id != aws.function_account(context):  # a member's remediation role may not authorize rules
            self.tell_clicker(f"Account {ref.account_id} is a member account: SG Watch puts rules back in its own "
                              "account only; nothing was done.")
            return "account_not_covered"
        # The exception first: the rule's return is itself a change the notifier alerts, and must find it kept.
        rules, decided = self.record_exception(record)
        if decided is not None:
            return decided
        with aws.target_account(self.credentials(context)):
            outcomes = revert.put_back(aws.client("ec2", ref.region), ref.account_id, ref.region,
                                       revert.done_steps(reverted))
        lines = [o.line() for o in outcomes] + [f"kept as exception until {click.expires} (UTC)"]
        self.update_message(lines, "*Restored as exception*", str(record.get("subject") or ""), click.reason)
        log.info("exception_restored", event_id=ref.event_id, user_id=click.user_id, expires=click.expires,
                 done=sum(o.result == revert.DONE for o in outcomes), steps=len(outcomes))
        return "restored"

    def keep(self, record: Mapping[str, Any]) -> str:
        """Record the exception once (the decision, then each group's index entry) and update the message."""
        ref, click = self.click.ref, self.click
        rules, decided = self.record_exception(record)
        if decided is not None:
            return decided
        shown = ", ".join(f"{r['rule_id'] or 'a rule'} in {r['group_id']}" for r in rules) or "no rule"
        self.update_message([f"{shown}: kept until {click.expires} (UTC)"], "*Kept as exception*",
                            str(record.get("subject") or ""), click.reason)
        log.info("exception_recorded", event_id=ref.event_id, user_id=click.user_id, expires=click.expires,
                 rules=len(rules))
        return "kept"
