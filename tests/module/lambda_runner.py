"""Run a Lambda handler from a shipped zip, as the Lambda runtime would.

    lambda_runner.py ZIP HANDLER RESULT_FILE < event.json      one invocation
    lambda_runner.py ZIP HANDLER --warm                         invocation after invocation

``--warm`` is a warm Lambda process: the handler's module is imported once and every invocation after the
first finds what the ones before it left (clients, caches). Each invocation is a JSON line on stdin
(``{"event", "result_file", "log_file", "timeout_s"}``); while it runs the process's stdout and stderr go to its
log file, and when its result file is written the process answers ``done`` on its own stdout.

The zip goes first on sys.path (zipimport) and the source tree (functions/, which the
development venv installs editable) is taken off it, so the code under test is exactly what
Terraform deploys. Every AWS API call is recorded (service, operation, parameters)
for the least-privilege check and held to the AWS contract of tests/contract.py (its
breaches go back in the result file; the harness fails the test on them). The
environment is the caller's: the deployed function's variables plus emulator
endpoint and fake credentials.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

calls: list[dict[str, Any]] = []
CONTRACT = Path(__file__).resolve().parents[1] / "contract.py"
SOURCE = Path(__file__).resolve().parents[2] / "functions"


def _record(params: dict[str, Any], model: Any, **_: Any) -> None:
    service = model.service_model
    prefix = service.metadata.get("signingName") or service.endpoint_prefix
    calls.append({"service": prefix, "operation": model.name, "params": params})


def _install_recorder() -> None:
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", _record)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


def _install_contract() -> Any:
    """tests/contract.py, loaded by path: nothing of the repository joins the zip on sys.path."""
    spec = importlib.util.spec_from_file_location("sgwatch_test_contract", CONTRACT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  (dataclasses look their module up)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    recorder = module.Recorder()
    module.install(recorder)
    return recorder


class Context:
    def __init__(self, timeout_s: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 256
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _handler(zip_path: str, handler: str) -> Any:
    module_name, function_name = handler.rsplit(".", 1)
    module = importlib.import_module(module_name)
    for loaded in (module, sys.modules.get("sgwatch")):
        if loaded is not None and not getattr(loaded, "__file__", "").startswith(zip_path):
            raise RuntimeError(f"{loaded.__name__} was not loaded from {zip_path}")
    return getattr(module, function_name)


def invoke(zip_path: str, handler: str, event_text: str, result_file: str, timeout_s: float, contract: Any) -> None:
    """One invocation: its result (or error), its AWS calls and contract breaches to ``result_file``."""
    calls.clear()
    outcome: dict[str, Any] = {"result": None, "error": None}
    try:
        event = json.loads(event_text)
        outcome["result"] = _handler(zip_path, handler)(event, Context(timeout_s))
    except Exception as exc:  # reported to the test, as Lambda reports it
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    outcome["calls"] = calls
    outcome["contract_breaches"] = [vars(b) for b in contract.drain()]
    with open(result_file, "w") as f:
        json.dump(outcome, f, default=str)


def serve(zip_path: str, handler: str, contract: Any) -> None:
    """Invocation after invocation, each read as a JSON line from stdin, until stdin ends."""
    answers = os.fdopen(os.dup(1), "w")
    streams = os.dup(1), os.dup(2)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        with open(request["log_file"], "w") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                invoke(zip_path, handler, json.dumps(request["event"]), request["result_file"],
                       float(request["timeout_s"]), contract)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(streams[0], 1)
                os.dup2(streams[1], 2)
        answers.write("done\n")
        answers.flush()


def main() -> int:
    zip_path, handler, result_file = sys.argv[1:4]
    sys.path[:] = [zip_path, *(p for p in sys.path if not p or Path(p).resolve() != SOURCE)]
    _install_recorder()
    contract = _install_contract()
    if result_file == "--warm":
        serve(zip_path, handler, contract)
    else:
        invoke(zip_path, handler, sys.stdin.read(), result_file,
               float(os.environ.get("SGWATCH_TEST_TIMEOUT", "300")), contract)
    return 0


if __name__ == "__main__":
    sys.exit(main())
