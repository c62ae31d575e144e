"""Every fault accounted for: a failure injected at every AWS and Slack call of every function.

Each scenario of each function runs in a process of its own, the function's shipped zip on sys.path
(tests/faults/engine.py): the scenario is recorded once, then run again with one fault at each call site it
reached. A row is *raised* (the invocation fails: Lambda's retry, the dead-letter queue or the error alarm take
over), *reported* (the run succeeds and its result, alert, Slack post or evidence names what failed, or it
returns a batch item failure), *optional* (the call is declared in sgwatch/faults.py and the degradation it
declares is what happened) or *silent* (a failure here). Whatever the outcome, the evidence bucket holds no
overwritten or partial object, and the next clean run recovers.

The processes run as many at a time as the machine has cores, the longest first (:data:`SECONDS`), each test
waiting for its own: the last to end is a short one, whatever order pytest runs the tests in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.faults.scenarios import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / ".cache" / "faults"
OUTCOMES = ("raised", "reported", "optional", "silent")


def run_matrix(function: str, scenario: str, out: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "FAULTS_PROGRESS"}
    done = subprocess.run([sys.executable, "-m", "tests.faults.engine", function, str(out), scenario], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert out.exists(), done.stderr[-3000:]
    matrix: dict[str, Any] = json.loads(out.read_text())
    assert not matrix.get("error"), matrix["error"]
    return matrix


# Seconds of CPU each scenario's matrix took (the run prints them at its end): only the order the processes start
# in. A scenario not listed is taken for the longest.
SECONDS = {
    ("sg_inventory", 1): 125, ("sg_inventory", 0): 105, ("review_pack", 1): 92, ("unused_sg_audit", 0): 87,
    ("unused_sg_audit", 1): 86, ("review_pack", 0): 39, ("sg_change_alerts", 3): 14, ("sg_change_alerts", 2): 13,
    ("remediation", 2): 9, ("sg_change_alerts", 0): 8, ("reachability_check", 0): 7, ("sg_change_alerts", 1): 7,
    ("remediation", 0): 5, ("remediation", 1): 5, ("remediation", 3): 3, ("securityhub_report", 0): 3,
}
CASES = sorted(((f, i) for f, spec in FUNCTIONS.items() for i in range(len(spec.scenarios))),
               key=lambda case: -SECONDS.get(case, 10**6))


class Matrices:
    """The selected scenarios' matrix processes, started on first use, as many at a time as there are cores."""

    def __init__(self, out: Path, cases: list[tuple[str, int]]) -> None:
        self.out, self.cases = out, cases
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        self._runs: dict[tuple[str, int], Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def result(self, case: tuple[str, int]) -> dict[str, Any]:
        with self._lock:
            if not self._runs:
                for f, i in self.cases:
                    self._runs[(f, i)] = self._pool.submit(
                        run_matrix, f, FUNCTIONS[f].scenarios[i].name, self.out / f"{f}-{i}.json")
        return self._runs[case].result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture(scope="session")
def matrices(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrices]:
    selected = {item.callspec.params["case"] for item in request.session.items
                if "case" in getattr(getattr(item, "callspec", None), "params", {})}
    found = Matrices(tmp_path_factory.mktemp("faults"), [case for case in CASES if case in selected])
    yield found
    found.close()


def figures(function: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What a scenario adds to its function's line of the figures (tests/faults/conftest.py prints it)."""
    return {"function": function, "sites": len({(r["scenario"], r["site"]) for r in rows}), "runs": len(rows),
            "outcomes": dict(Counter(r["outcome"] for r in rows))}


def figure_lines(parts: list[dict[str, Any]]) -> list[str]:
    """One line per function: its call sites x fault kinds, runs and outcomes, over its scenarios."""
    by_function: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        by_function.setdefault(part["function"], []).append(part)
    lines = []
    for function, found in sorted(by_function.items()):
        counts: Counter[str] = Counter()
        for part in found:
            counts.update(part["outcomes"])
        lines.append(f"{function}: {sum(p['sites'] for p in found)} call sites x fault kinds = "
                     f"{sum(p['runs'] for p in found)} runs: " + ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES))
    return lines


@pytest.mark.parametrize("case", CASES, ids=[f"{f}-{FUNCTIONS[f].scenarios[i].name}" for f, i in CASES])
def test_no_fault_ends_in_a_quiet_success_or_damaged_evidence(case: tuple[str, int], matrices: Matrices) -> None:
    function, index = case
    matrix = matrices.result(case)
    rows = matrix["rows"]
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{function}-{index}.json").write_text(json.dumps(
        {**figures(function, rows), "scenario": index, "cpu_seconds": matrix["cpu_seconds"]}))

    assert rows, "no call site recorded"
    def where(r: dict[str, Any]) -> str:
        return f"{r['scenario']}: {r['site']} {r['kind']}"

    assert [where(r) for r in rows if not r["reached"]] == [], "the fault never reached its call"
    assert [f"{where(r)}: {r['warnings']} {r['degradation_problems']}" for r in rows
            if r["outcome"] == "silent"] == []
    assert [f"{where(r)}: {r['problems']}" for r in rows if r["problems"]] == []
    assert [f"{where(r)}: {r['contract_breaches']}" for r in rows if r["contract_breaches"]] == []
