"""Every fault accounted for: a failure injected at every AWS and Slack call of every function.

Each function's matrix runs in a process of its own, its shipped zip on sys.path (tests/faults/engine.py):
the scenarios of tests/faults/scenarios.py are recorded once, then run again with one fault at each call
site they reached. A row is *raised* (the invocation fails: Lambda's retry, the dead-letter queue or the
error alarm take over), *reported* (the run succeeds and its result, alert, Slack post or evidence names
what failed, or it returns a batch item failure), *optional* (the call is declared in sgwatch/faults.py
and the degradation it declares is what happened) or *silent* (a failure here). Whatever the outcome,
the evidence bucket holds no overwritten or partial object, and the next clean run recovers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.faults.scenarios import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / ".cache" / "faults"
OUTCOMES = ("raised", "reported", "optional", "silent")


def run_matrix(function: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{function}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "FAULTS_PROGRESS"}
    done = subprocess.run([sys.executable, "-m", "tests.faults.engine", function, str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert out.exists(), done.stderr[-3000:]
    matrix: dict[str, Any] = json.loads(out.read_text())
    assert not matrix.get("error"), matrix["error"]
    return matrix


def figures(function: str, rows: list[dict[str, Any]]) -> str:
    sites = {(r["scenario"], r["site"]) for r in rows}
    counts = Counter(r["outcome"] for r in rows)
    return (f"{function}: {len(sites)} call sites x fault kinds = {len(rows)} runs: "
            + ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES))


# The order the functions start in (two run at a time, `make test`). pytest-xdist hands each worker two tests to begin
# with (the first two, the next two), so the two longest matrices lead those pairs, each with a shorter one, and the
# rest, the longest first, go to whichever worker is free.
LONGEST_FIRST = ("sg_inventory", "securityhub_report", "review_pack", "unused_sg_audit", "sg_change_alerts",
                 "remediation", "reachability_check")


@pytest.mark.parametrize("function", sorted(FUNCTIONS, key=lambda f: (f not in LONGEST_FIRST,
                                                                      LONGEST_FIRST.index(f) if f in LONGEST_FIRST
                                                                      else 0, f)))
def test_no_fault_ends_in_a_quiet_success_or_damaged_evidence(function: str, tmp_path: Path) -> None:
    rows = run_matrix(function, tmp_path)["rows"]
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{function}.txt").write_text(figures(function, rows) + "\n")

    assert rows, "no call site recorded"
    def where(r: dict[str, Any]) -> str:
        return f"{r['scenario']}: {r['site']} {r['kind']}"

    assert [where(r) for r in rows if not r["reached"]] == [], "the fault never reached its call"
    assert [f"{where(r)}: {r['warnings']} {r['degradation_problems']}" for r in rows
            if r["outcome"] == "silent"] == []
    assert [f"{where(r)}: {r['problems']}" for r in rows if r["problems"]] == []
    assert [f"{where(r)}: {r['contract_breaches']}" for r in rows if r["contract_breaches"]] == []
