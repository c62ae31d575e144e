"""One digest per run of the drift that appeared since the previous drift report of each account and region
(:mod:`sgwatch.drift_record`): SNS, and Slack when configured, with the resource address to fix.

The pairs of a run (threads) add their new drift as they write their reports; the run sends the digest once its
pairs are done (with the fan-out, once per queued batch). A digest SNS does not take fails the run (its error
alarm fires); Slack is a convenience beside SNS: a failure there is logged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from . import log, notify, settings, slack
from .csvio import unneutralise
from .drift import MISSING, UNDECLARED_GROUP, UNMANAGED, DriftRow
from .text import clean

LISTED = 50  # rows named in one digest; the reports hold them all


@dataclass(frozen=True)
class Settings:
    """``ALERT_TOPIC_ARN`` (none: no digest) and the Slack channel (:class:`sgwatch.settings.Slack`)."""

    topic_arn: str = ""
    slack: settings.Slack | None = None


def line(row: DriftRow) -> str:
    """One row as a line of plain text, every value from the live estate or a state cleaned to one line."""
    where = f"{clean(row.group_id, 40)} ({clean(unneutralise(row.group_name), 80)})"
    if row.drift == UNDECLARED_GROUP:
        return f"{UNDECLARED_GROUP}: {where} is tagged as managed by code that no state declares"
    ports = row.from_port if row.from_port == row.to_port else f"{row.from_port}-{row.to_port}"
    rule = " ".join(clean(unneutralise(v), 80) for v in (row.direction, row.protocol, ports, row.peer) if v)
    if row.rule_id:
        rule += f" [{clean(row.rule_id, 40)}]"
    if row.drift == UNMANAGED:
        return f"{UNMANAGED}: {where} {rule}: declared nowhere; remove it or declare it"
    verb = "declared, not live" if row.drift == MISSING else "differs from"
    return (f"{row.drift}: {where} {rule}: {verb} {clean(row.declared_address, 200)} in "
            f"{clean(row.declared_in, 300)}")


class Digest:
    """The new drift of a run's pairs, sent once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], tuple[str, list[DriftRow]]] = {}

    def add(self, account_id: str, region: str, report_key: str, rows: Sequence[DriftRow]) -> None:
        if rows:
            with self._lock:
                self._found[(account_id, region)] = (report_key, list(rows))

    def message(self) -> tuple[str, str] | None:
        """(subject, body) of the digest; None when nothing new was found."""
        with self._lock:
            found = sorted(self._found.items())
        if not found:
            return None
        total = sum(len(rows) for _, (_, rows) in found)
        subject = f"SG Watch: {total} new IaC drift(s) in {len(found)} account/region(s)"
        lines = [f"{total} security-group rule(s) and group(s) no longer match the infrastructure code that declares "
                 "them (PCI DSS 1.2.8).", ""]
        listed = 0
        for (account_id, region), (key, rows) in found:
            lines.append(f"{account_id} {region}: {len(rows)} new (report {key})")
            for row in rows:
                if listed < LISTED:
                    lines.append(f"- {line(row)}")
                listed += 1
            lines.append("")
        if listed > LISTED:
            lines.append(f"... and {listed - LISTED} more in the reports named above.")
        return subject, "\n".join(lines).rstrip() + "\n"

    def send(self, config: Settings) -> bool:
        """Publish the digest when there is one and a topic to take it; True when published."""
        found = self.message()
        if found is None or not config.topic_arn:
            return False
        subject, body = found
        message_id = notify.publish(config.topic_arn, subject, body, {"kind": "iac-drift"})
        log.info("drift_digest_published", message_id=message_id, accounts_regions=len(self._found))
        if config.slack is not None:
            try:
                slack.Poster(config.slack).post(f"*{slack.entities(subject)}*\n{slack.escape(body)}")
            except Exception as exc:  # the SNS digest is out
                log.error("slack_failed", kind="iac-drift", error=f"{type(exc).__name__}: {str(exc)[:300]}")
        return True
