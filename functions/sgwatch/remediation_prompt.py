"""Which alerts offer a one-click revert, and the button that carries the offer.

Shared by the change notifier (it adds the button to a qualifying alert's Slack message) and the
remediation function (it re-checks the alert against the same policy before acting, so a button
copied onto another message, or an alert that never qualified, changes nothing).

The policy comes from the root input ``remediation`` through the environment:
``REMEDIATION_MODE`` (``approve``), ``REMEDIATION_MIN_SEVERITY`` (``CRITICAL``) and
``REMEDIATION_ONLY_OUT_OF_BAND`` (``true``); without ``REMEDIATION_MODE`` remediation is off.

The button's value names the alert only (event id, account, region, the event's day): never what
to do. What a revert does is read from the alert's own event record in the evidence bucket.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import settings
from .provenance import OUT_OF_BAND
from .risk import CRITICAL, LEVELS, rank
from .settings import Environment

APPROVE = "approve"
AUTO = "auto"
MODES = (APPROVE, AUTO)

REVERT = "revert"
KEEP = "keep"
RESTORE = "restore"  # auto mode: put an automatically reverted change back and keep it as an exception
# Block and action ids of the buttons, and the callback id of the Keep dialog: the remediation function
# accepts no other.
BLOCK_ID = "sgwatch_remediation"
REVERT_ACTION_ID = "sgwatch_revert"
KEEP_ACTION_ID = "sgwatch_keep"
KEEP_CALLBACK_ID = "sgwatch_keep_exception"
RESTORE_ACTION_ID = "sgwatch_restore"
ACTION_IDS = {REVERT_ACTION_ID: REVERT, KEEP_ACTION_ID: KEEP, RESTORE_ACTION_ID: RESTORE}
# The decisions that take a reason and an expiry (the Keep dialog) and record an exception.
EXCEPTION_ACTIONS = (KEEP, RESTORE)

# Changes a revert can undo: an added rule (revoked) and a modified rule (restored). A removed
# rule is never re-opened.
REVERTIBLE = ("added", "modified")

_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_DAY = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}")


@dataclass(frozen=True)
class Policy:
    """Which alerts qualify for remediation."""

    mode: str = APPROVE
    min_severity: str = CRITICAL
    only_out_of_band: bool = True

    @classmethod
    def from_env(cls, env: Environment | None = None) -> Policy | None:
        """The policy when remediation is on (``REMEDIATION_MODE`` set), else None."""
        env = settings.environment(env)
        mode = settings.text(env, "REMEDIATION_MODE").lower()
        if not mode:
            return None
        if mode not in MODES:
            raise settings.SettingsError(f"REMEDIATION_MODE={mode!r} must be approve or auto")
        level = settings.text(env, "REMEDIATION_MIN_SEVERITY", CRITICAL).upper()
        if level not in LEVELS:
            raise settings.SettingsError(f"REMEDIATION_MIN_SEVERITY={level!r} must be one of {', '.join(LEVELS)}")
        return cls(mode, level, settings.flag(env, "REMEDIATION_ONLY_OUT_OF_BAND", True))

    def qualifies(self, severity: str, change_control: str, failed: bool, actions: Sequence[str]) -> bool:
        """Whether an alert of ``severity`` and this change-control verdict offers a revert: a successful
        call that added or modified a rule, at ``min_severity`` or above, out-of-band when asked."""
        if failed or not any(action in REVERTIBLE for action in actions):
            return False
        if rank(severity) < rank(self.min_severity) or severity not in LEVELS:
            return False
        return not self.only_out_of_band or change_control == OUT_OF_BAND

    def qualifies_record(self, record: Mapping[str, Any]) -> bool:
        """:meth:`qualifies` for a stored event record (``sgwatch.sg_change_alerts.alerts.event_record``)."""
        found_provenance, found_changes = record.get("provenance"), record.get("changes")
        provenance: Mapping[str, Any] = found_provenance if isinstance(found_provenance, Mapping) else {}
        changes: list[Any] = found_changes if isinstance(found_changes, list) else []
        return self.qualifies(
            str(record.get("severity") or ""),
            str(provenance.get("change_control") or ""),
            bool(record.get("error_code")),
            [str(c.get("action")) for c in changes if isinstance(c, Mapping)],
        )


@dataclass(frozen=True)
class AlertRef:
    """The alert a button points at: enough to find its event record, nothing to act on."""

    event_id: str
    account_id: str
    region: str
    day: str  # YYYY/MM/DD of the event, the folder of its record

    def value(self) -> str:
        return json.dumps({"e": self.event_id, "a": self.account_id, "r": self.region, "d": self.day},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, value: Any) -> AlertRef | None:
        """The reference a button value holds; None for anything else."""
        if not isinstance(value, str) or len(value) > 400:
            return None
        try:
            data = json.loads(value)
        except ValueError:
            return None
        if not isinstance(data, dict) or set(data) != {"e", "a", "r", "d"}:
            return None
        fields = (data["e"], data["a"], data["r"], data["d"])
        patterns = (_EVENT_ID, _ACCOUNT, _REGION, _DAY)
        if not all(isinstance(f, str) and p.fullmatch(f) for f, p in zip(fields, patterns, strict=True)):
            return None
        return cls(*fields)


def actions_block(ref: AlertRef) -> dict[str, Any]:
    """The Block Kit actions block: Revert (a confirmation dialog first) and Keep as exception (a dialog asks
    the reason and the expiry)."""
    return {
        "type": "actions",
        "block_id": BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": REVERT_ACTION_ID,
                "text": {"type": "plain_text", "text": "Revert"},
                "style": "danger",
                "value": ref.value(),
                "confirm": {
                    "title": {"type": "plain_text", "text": "Revert this change?"},
                    "text": {"type": "mrkdwn", "text": "Added rules are revoked and modified rules restored, "
                                                       "each only if it is still as this alert shows it."},
                    "confirm": {"type": "plain_text", "text": "Revert"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            },
            {
                "type": "button",
                "action_id": KEEP_ACTION_ID,
                "text": {"type": "plain_text", "text": "Keep as exception"},
                "value": ref.value(),
            },
        ],
    }


def restore_block(ref: AlertRef) -> dict[str, Any]:
    """Auto mode: the actions block of an automatically reverted alert, one button, **Restore as exception** (the
    Keep dialog asks the reason and the expiry; the reverted rules are put back and kept until then)."""
    return {
        "type": "actions",
        "block_id": BLOCK_ID,
        "elements": [{
            "type": "button",
            "action_id": RESTORE_ACTION_ID,
            "text": {"type": "plain_text", "text": "Restore as exception"},
            "value": ref.value(),
        }],
    }
