"""Locations shared by the tests, computed from this file, never the working directory."""

from __future__ import annotations

from pathlib import Path

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
