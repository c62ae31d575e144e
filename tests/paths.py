"""Locations shared by the tests, computed from this file, never the working directory."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FUNCTIONS = ROOT / "functions"
DIST = FUNCTIONS / "dist"
EVENTS = TESTS / "events"
REAL_PAYLOADS = ROOT.parent / "shared" / "real-payloads"


def real_payloads(kind: str) -> Path:
    """A folder of recorded AWS payloads; skip the test when the folder is absent (users' clones)."""
    folder = REAL_PAYLOADS / kind
    if not folder.is_dir():
        pytest.skip(f"recorded payloads not available at {folder}")
    return folder


def hcl(path: Path) -> dict[str, Any]:
    """A Terraform file as python-hcl2 parses it, parsed once per test process (many tests read the same
    files, and parsing is slow). The answer is shared: read it, never change it."""
    return _hcl(path.resolve())


@functools.cache
def _hcl(path: Path) -> dict[str, Any]:
    import hcl2

    parsed: dict[str, Any] = hcl2.loads(path.read_text())
    return parsed
