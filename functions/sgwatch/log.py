"""One structured JSON line per significant step.

Every line of an invocation carries its Lambda request id and whether it is the first
invocation of the process (``cold_start``), so one invocation can be followed in CloudWatch
Logs Insights (``filter request_id = "..."``), worker threads' lines included. A handler
says where an invocation begins and ends with :func:`invocation`.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

_logger = logging.getLogger("sgwatch")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])

# The invocation under way: one at a time per Lambda process, shared by its worker threads.
_current: dict[str, Any] = {}
_invocations = 0


def invocation(handler: Handler) -> Handler:
    """Wrap a ``lambda_handler``: its log lines carry ``request_id`` and ``cold_start``."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any) -> Any:
        global _invocations
        _invocations += 1
        _current.update(request_id=getattr(context, "aws_request_id", None), cold_start=_invocations == 1)
        try:
            return handler(event, context)
        finally:
            _current.clear()

    return wrapped  # type: ignore[return-value]


def _emit(level: int, step: str, fields: dict[str, Any]) -> None:
    record = {"level": logging.getLevelName(level), "step": step, **_current, **fields}
    _logger.log(level, json.dumps(record, default=str, sort_keys=True))


def info(step: str, **fields: Any) -> None:
    _emit(logging.INFO, step, fields)


def warning(step: str, **fields: Any) -> None:
    _emit(logging.WARNING, step, fields)


def error(step: str, **fields: Any) -> None:
    _emit(logging.ERROR, step, fields)
