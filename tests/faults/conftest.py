"""The fault matrix's figures, printed at the end of the run (each function's test writes its line)."""

from __future__ import annotations

from typing import Any

from tests.faults.test_matrix import FIGURES


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist) starts afresh
        for old in FIGURES.glob("*.txt") if FIGURES.exists() else ():
            old.unlink()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = sorted(p.read_text().strip() for p in FIGURES.glob("*.txt")) if FIGURES.exists() else []
    if lines:
        terminalreporter.section("fault matrix: call sites x fault kinds and their outcomes")
        for line in lines:
            terminalreporter.write_line(line)
