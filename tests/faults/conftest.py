"""The fault matrix's figures, printed at the end of the run (each scenario's test writes its part)."""

from __future__ import annotations

import json
from typing import Any

from tests.faults.test_matrix import FIGURES, figure_lines


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist) starts afresh
        for old in FIGURES.glob("*") if FIGURES.exists() else ():
            old.unlink()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = [json.loads(p.read_text()) for p in FIGURES.glob("*.json")] if FIGURES.exists() else []
    if parts:
        terminalreporter.section("fault matrix: call sites x fault kinds and their outcomes")
        for line in figure_lines(parts):
            terminalreporter.write_line(line)
        terminalreporter.write_line("CPU seconds per (function, scenario), the start order's estimate: " + ", ".join(
            f"({p['function']!r}, {p['scenario']}): {p['cpu_seconds']:.0f}"
            for p in sorted(parts, key=lambda p: -p["cpu_seconds"])))
