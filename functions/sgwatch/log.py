"""One structured JSON line per significant step."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("sgwatch")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


def _emit(level: int, step: str, fields: dict[str, Any]) -> None:
    record = {"level": logging.getLevelName(level), "step": step, **fields}
    _logger.log(level, json.dumps(record, default=str, sort_keys=True))


def info(step: str, **fields: Any) -> None:
    _emit(logging.INFO, step, fields)


def warning(step: str, **fields: Any) -> None:
    _emit(logging.WARNING, step, fields)


def error(step: str, **fields: Any) -> None:
    _emit(logging.ERROR, step, fields)
