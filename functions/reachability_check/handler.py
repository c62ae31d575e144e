"""Re-check required network paths with VPC Reachability Analyzer after SG changes.

Invoked with a batch of SQS records (EventBridge SG change events, debounced by the
event source mapping's batching window) or by a schedule (every path). Alerts only on
transitions; the last known state of each path lives in the evidence bucket under
``{prefix}{account}/{region}/reachability/{path_id}/<stamp>.json``.

The paths live in the function's own account and region. A change event from any other
account or region (forwarded to a central bus) cannot affect them: it is logged as
``event_ignored`` and consumed, never analysed. The rule's pattern already keeps such
events out (modules/reachability-check); this check holds whatever the pattern says.

The configuration is :class:`sgwatch.reachability_check.reachability_run.Settings`; the invocation is
:class:`sgwatch.reachability_check.reachability_run.Run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sgwatch import log
from sgwatch.reachability_check.reachability_run import Run, Settings


def run(event: dict[str, Any], context: Any, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    return Run(Settings.from_env(), context, sleep)(event)


@log.invocation
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, context)
