"""Shared logic of the SG Watch Lambda functions.

Each function's ``handler.py`` is a thin shell: it reads its capability's frozen ``Settings``
from the environment (:mod:`sgwatch.settings` parses every value), calls the modules below and
returns a small JSON-able dict.

Only these modules do I/O:

* ``aws``: boto3 clients (own account, or a member account for one piece of work), the
  function's own account, the EC2 page size;
* ``settings``: the environment, read once per invocation;
* ``evidence``: the evidence bucket's key layout and write-once objects;
* ``accounts`` and ``fanout``: which accounts and regions a run covers, run directly or
  spread over an SQS work queue;
* ``snapshots`` (the inventory), ``changes`` (the change notifier), ``audit`` (the
  unused-group audit, with the declared reference ``sources``), ``reachability_run`` (the
  reachability guard) and ``findings_report`` (the Security Hub report): what each
  capability reads and writes;
* ``notify`` (SNS) and ``slack`` (Slack Web API): delivery;
* ``log``: one JSON line per significant step.

Every other module, and the ``review`` package, is pure: it takes plain data (parsed events,
rules, CSV bytes, API answers) and never touches AWS, so it is tested without an emulator.
"""

__version__ = "1.0.0"
