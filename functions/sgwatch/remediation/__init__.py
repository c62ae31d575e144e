"""Remediation: revert a qualifying security-group change from its Slack alert.

* :mod:`.signature` -- Slack's ``v0`` request signature, checked before anything of a request is read;
* :mod:`.interaction` -- the function URL request: size, signature, then the button click it carries;
* :mod:`sgwatch.remediation_revert` -- what a revert does (from the alert's event record) and doing it, rule by rule
  (at sgwatch's top level: the notifier's zip ships it too, for auto mode);
* :mod:`.jobs` -- the queued job: approver, write-once claim, revert, evidence and the Slack update.
"""
