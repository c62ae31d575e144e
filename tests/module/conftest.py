"""Module tests: Terraform applies against a local moto_server, then the shipped zips run.

The emulator starts once per session; its endpoint and fake credentials are exported
so that pytest-terraform's ``terraform`` commands and the handlers reach it. Every policy
document an apply leaves in its state is checked against the Service Authorization
Reference (tests/iam_reference.py), every function's environment against Lambda's 4 KB
(tests/contract.py); a breach fails the test that needed the apply.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pytest_terraform import tf, xdist as terraform_xdist
from pytest_terraform.options import teardown

from tests import contract
from tests.iam_reference import check_terraform_state
from tests.module.emulator import Emulator, find_plugin_mirror, prepare_example, write_cli_config
from tests.module.harness import received, subscribe_inbox

# Examples applied by the tests, as fixtures named example_<name>.
EXAMPLE_VARIABLES: dict[str, dict[str, object]] = {
    "minimal": {"evidence_force_destroy": True},
    "complete": {"evidence_force_destroy": True, "name_prefix": "sgw-complete", "slack_channel_id": "C0123456789"},
    "organization": {
        "evidence_force_destroy": True,
        "member_account_id": "222222222222",
        "organization_id": "o-sgwatchtest1",
    },
}

_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(AppliedStateCheck(), "sgwatch-applied-state-check")
    # The emulator and everything applied to it are discarded at the end of the session: destroying each apply
    # would add minutes of provider waiters and prove nothing a test asserts. examples/complete is still
    # destroyed (test_complete.py), as `make demo` destroys it.
    teardown.set_default(teardown.OFF)
    if shutil.which("terraform") is None:
        raise pytest.UsageError("terraform CLI not found on PATH: module tests need it")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(PhaseTimes(), "sgwatch-phase-times")
    # Under pytest-xdist the workers run the tests, each with its emulator; the controller needs none.
    if hasattr(config, "workerinput") or config.getoption("dist", "no") == "no":
        _start_emulator()


def _start_emulator() -> None:
    work = Path(tempfile.mkdtemp(prefix="sgwatch-module-tests-"))
    os.environ["TF_CLI_CONFIG_FILE"] = str(write_cli_config(work))
    emulator = Emulator(work / "moto.log")
    os.environ.update(emulator.environment())
    os.environ.pop("AWS_PROFILE", None)
    _state.update(emulator=emulator, work=work)
    examples = work / "examples"
    for name, variables in EXAMPLE_VARIABLES.items():
        prepare_example(name, examples, variables)
    _state["examples"] = examples
    sys.stderr.write(
        f"emulator {emulator.url}; provider mirror {find_plugin_mirror() or 'none (registry)'}; log {work}/moto.log\n"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    emulator = _state.get("emulator")
    if isinstance(emulator, Emulator):
        emulator.stop()
    work = _state.get("work")
    if isinstance(work, Path) and not os.environ.get("SGWATCH_KEEP_WORK"):
        shutil.rmtree(work, ignore_errors=True)  # SGWATCH_KEEP_WORK=1 keeps the emulator log and example copies


@pytest.fixture(scope="session")
def emulator() -> Emulator:
    return _state["emulator"]  # type: ignore[return-value]


# Under pytest-xdist, pytest-terraform destroys every session fixture after its last test whatever its teardown
# option says: a destroy of minutes, beside another worker's apply on the same two cores, for an emulator about
# to be discarded. Its teardown option holds there too.
_xdist_tear_down = terraform_xdist.ScopedTerraformFixture.tear_down


def _tear_down_unless_off(fixture: terraform_xdist.ScopedTerraformFixture) -> None:
    if fixture.teardown_config != teardown.OFF:
        _xdist_tear_down(fixture)


terraform_xdist.ScopedTerraformFixture.tear_down = _tear_down_unless_off


@pytest.fixture(scope="module")
def inbox(request: pytest.FixtureRequest, deployed: dict[str, Any]) -> str:
    """An empty SQS queue subscribed to the alert topic of the test file's ``deployed`` configuration: what a
    mail subscriber receives (read with ``harness.received``). Named after the test file."""
    url = subscribe_inbox(deployed["alert_topic_arn"], f"{request.module.__name__.rsplit('.', 1)[-1]}-inbox")
    received(url)
    return url


# Every file, the longest first (their totals in the phase table of a clean-clone run): with one worker per file, or
# per test class (pytest-xdist --dist loadscope, --no-loadscope-reorder: else xdist orders them by their number of
# tests) the longest are under way from the start and the short ones fill the gaps at the end, so the suite ends
# about when the busiest worker does. A file not listed runs last.
LONGEST_FIRST = ("test_evidence_protection.py", "test_upgrade.py", "test_review_pack.py", "test_change_alerts.py",
                 "test_complete.py", "test_organization.py", "test_drift.py", "test_reachability_check.py",
                 "test_inventory.py", "test_organization_members.py", "test_unused_sg_audit.py", "test_inputs.py",
                 "test_securityhub_report.py", "test_emulator.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # pytest-terraform looks for fixture directories in --tf-mod-dir first, then next to the tests.
    if "examples" in _state:
        tf.LazyModuleDir.value = str(_state["examples"])
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order


class AppliedStateCheck:
    """Holds every apply to the contract: its policies to the Service Authorization Reference,
    its functions' environments to Lambda's 4 KB, its rules' alarms to their buses. A plugin, not a
    conftest hook: the Terraform fixtures are session-scoped, and session-level hooks see only plugins
    and root conftests."""

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> object:
        result = yield
        if isinstance(result, tf.TerraformState) and result.terraform is not None:
            path = Path(result.terraform.state_path)
            if path.exists():
                contract.RECORDER.add(check_terraform_state(path))
                applied = json.loads(path.read_text())
                contract.RECORDER.add(lambda_environments(applied))
                contract.RECORDER.add(contract.event_rule_alarm_breaches(applied))
        return result


def lambda_environments(state: dict[str, Any]) -> list[contract.Breach]:
    found: list[contract.Breach] = []
    for resource in state.get("resources", ()):
        if resource["mode"] == "managed" and resource["type"] == "aws_lambda_function":
            for instance in resource["instances"]:
                for environment in instance["attributes"].get("environment") or ():
                    name = instance["attributes"].get("function_name")
                    found += contract.lambda_environment_breaches(f"lambda:{name}", environment.get("variables"))
    return found


class PhaseTimes:
    """Where the module tests' time goes, printed at the end of the run: per test file, the set-up (the Terraform
    applies and the other fixtures), the tests and the teardown (destroys), in seconds. Under pytest-xdist the
    workers' reports reach the controller, which adds them up."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]][report.when] += report.duration

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.seconds:
            return
        phases = ("setup", "call", "teardown")
        rows = sorted(self.seconds.items(), key=lambda row: -sum(row[1].values()))
        rows.append(("all files", {phase: sum(row[phase] for _, row in rows) for phase in phases}))
        width = max(len(name) for name, _ in rows)
        write = terminalreporter.write_line
        terminalreporter.section("module test phases (s)")
        write(f"{'file':<{width}}  {'set-up':>7}  {'tests':>7}  {'teardown':>8}  {'total':>7}")
        for name, row in rows:
            values = [row[phase] for phase in phases]
            write(f"{name:<{width}}  {values[0]:7.1f}  {values[1]:7.1f}  {values[2]:8.1f}  {sum(values):7.1f}")
        write(f"wall clock {time.monotonic() - self.started:.1f} s; set-up holds the Terraform applies")
