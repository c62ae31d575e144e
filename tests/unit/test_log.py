"""Every log line of an invocation can be found by its request id, and says whether the process was cold.

Run in a new process, as Lambda starts one: its first invocation is the cold start, the next ones are warm,
lines written by worker threads carry the invocation too, and nothing carries an invocation that has ended.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys

import pytest

from tests.paths import FUNCTIONS

CHILD = r"""
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from sgwatch import log


@log.invocation
def lambda_handler(event, context):
    log.info("begun", n=event["n"])
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda i: log.warning("worker", i=i), range(2)))
    if event.get("fail"):
        raise RuntimeError("boom")
    return event["n"]


log.info("import")
for n, request_id in enumerate(["req-1", "req-2", "req-3"]):
    try:
        lambda_handler({"n": n, "fail": n == 1}, SimpleNamespace(aws_request_id=request_id))
    except RuntimeError:
        pass
log.info("after")
"""


def _lines() -> list[dict]:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(FUNCTIONS)}, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_each_line_carries_the_request_id_and_only_the_first_invocation_is_cold():
    lines = _lines()
    by_request: dict[str | None, list[dict]] = {}
    for line in lines:
        by_request.setdefault(line.get("request_id"), []).append(line)
    assert [line["step"] for line in by_request[None]] == ["import", "after"]
    assert all("cold_start" not in line for line in by_request[None])
    for request_id, cold in (("req-1", True), ("req-2", False), ("req-3", False)):
        ours = by_request[request_id]
        assert sorted(line["step"] for line in ours) == ["begun", "worker", "worker"]  # threads' lines too
        assert {line["cold_start"] for line in ours} == {cold}


@pytest.mark.parametrize("name", sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py")))
def test_every_lambda_handler_is_an_invocation(name):
    module = importlib.import_module(f"{name}.handler")
    tree = ast.parse((FUNCTIONS / name / "handler.py").read_text())
    handler = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "lambda_handler")
    assert [ast.unparse(d) for d in handler.decorator_list] == ["log.invocation"]
    assert module.lambda_handler.__wrapped__.__name__ == "lambda_handler"
