"""Every test runs under the AWS and Slack contract of tests/contract.py.

The botocore hook is installed once, before collection, so it covers every client: the tests',
the code under test's (cached or injected), stubbed ones. The Lambda runner installs the same
hook in its subprocess and hands its breaches back through tests/module/harness.py; the fake
Slack API checks each post. Breaches recorded during a test's setup, call or teardown fail that
phase. A test that provokes a breach on purpose (to prove the code handles AWS's refusal) says so
with ``@pytest.mark.aws_contract_breach_expected``.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests import botocore_sharing, contract, moto_caches


class ContractFailure(AssertionError):
    pass


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aws_contract_breach_expected: the test provokes an AWS/Slack contract breach on purpose; "
        "the breach is still raised to the code as AWS would, but does not fail the test",
    )
    contract.install(contract.RECORDER)
    botocore_sharing.share()  # a test's new session parses no model and builds no client class again
    moto_caches.install()  # moto in process finds a request's handler without rebuilding its URL tables


def _check(item: pytest.Item, phase: str) -> None:
    breaches = contract.RECORDER.drain()
    if breaches and item.get_closest_marker("aws_contract_breach_expected") is None:
        lines = "\n".join(f"  - {b}" for b in dict.fromkeys(map(str, breaches)))
        raise ContractFailure(f"AWS/Slack contract breached during {phase} (tests/contract.py):\n{lines}")


def _checked(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    """The body of a phase's hook wrapper: run the phase, then fail it on a breach."""
    try:
        return (yield)
    finally:
        _check(item, phase)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _checked(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _checked(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    return (yield from _checked(item, "teardown"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = contract.RECORDER.drain()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("AWS/Slack contract breached outside any test:", red=True)
            for breach in left:
                reporter.write_line(f"  - {breach}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
