"""Start moto_server with bucket-policy conditions evaluated like AWS does for them.

moto turns a condition operator it does not know (``Bool``, ``NumericLessThan``)
into "holds", so a TLS-only bucket policy (Deny when ``aws:SecureTransport`` is
false) denies every request. And a statement whose condition fails becomes a Deny.
Real AWS endpoints are TLS-only, so here:

* ``aws:SecureTransport`` is ``true`` and ``s3:TlsVersion`` is ``1.3`` for every request;
* ``Bool``, ``StringEquals``, ``StringNotEquals``, ``NumericLessThan`` and their
  ``IfExists`` forms are evaluated against those values;
* a statement whose condition does not hold simply does not apply (NEUTRAL).

The policies under test are never weakened: a Deny whose condition holds still denies
(tests/module/test_emulator.py proves it).

And a stack set reports back the AutoDeployment and ManagedExecution it was created or updated with, as
DescribeStackSet does in AWS (moto drops the first and answers ``Active: false`` for the second, so every
plan after an apply would replace the stack sets and hide what a change of the configuration really does).

And CreateSchedule keeps its idempotency as in AWS: a request repeated with the client token that created the
schedule (the SDKs send one, the same on every retry of a call) answers with that schedule, where moto ignores
the token and refuses the retry with ConflictException. Another request for an existing name is still refused.

And DescribeStaleSecurityGroups, which moto lacks, answers as AWS does for a VPC without stale references (an
empty ``StaleSecurityGroupSet``): moto never deletes a peering or a peer's group under a rule. What SG Watch
makes of stale references is tested against a loopback fake answering AWS's documented shape.

    python tests/moto_launcher.py --port 5000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from moto.iam import access_control
from moto.iam.access_control import IAMPolicyStatement, PermissionResult

REQUEST_CONTEXT = {"aws:securetransport": "true", "s3:tlsversion": "1.3"}


def _values(expected: Any) -> list[str]:
    return [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]


def _holds(operator: str, key: str, expected: Any) -> bool | None:
    """True/False when we can evaluate the condition, None when the key is unknown."""
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    actual = REQUEST_CONTEXT.get(key.lower())
    if actual is None:
        return True if if_exists else None
    wanted = _values(expected)
    if base in ("Bool", "StringEquals", "StringEqualsIgnoreCase"):
        return actual in wanted
    if base in ("StringNotEquals", "StringNotEqualsIgnoreCase"):
        return actual not in wanted
    if base == "NumericLessThan":
        return any(float(actual) < float(w) for w in wanted)
    return None


def conditions_hold(statement: dict[str, Any]) -> bool:
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in pairs.items():
            if not _holds(operator, key, expected):
                # Unknown keys (aws:SourceArn, aws:PrincipalOrgID...) carry no request value
                # here: the statement does not apply, as in AWS for a missing key.
                return False
    return True


_original = IAMPolicyStatement.is_action_permitted


def is_action_permitted(self: IAMPolicyStatement, action: str, resource: str = "*", principal: Any = None,
                        incoming_condition_values: Any = None) -> PermissionResult:
    if not conditions_hold(self._statement):
        return PermissionResult.NEUTRAL
    statement = {k: v for k, v in self._statement.items() if k != "Condition"}
    return _original(IAMPolicyStatement(statement), action, resource, principal, incoming_condition_values)


_STACK_SET_SETTINGS = {"AutoDeployment": "auto_deployment", "ManagedExecution": "managed_execution"}


def _remembering_stack_set_settings(action: Any) -> Any:
    def call(self: Any) -> Any:
        result = action(self)
        stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        for parameter, attribute in _STACK_SET_SETTINGS.items():
            value = self._get_params().get(parameter)
            if value is not None:
                stack_set.__dict__[f"_sgwatch_{attribute}"] = value
        return result
    return call


def _idempotent_create_schedule(action: Any) -> Any:
    def call(self: Any) -> Any:
        token, name = self._get_param("ClientToken"), self.uri.split("/")[-1]  # the name, as moto reads it
        group = self.scheduler_backend.schedule_groups.get(self._get_param("GroupName") or "default")
        existing = group.schedules.get(name) if group else None
        if existing is not None and token and existing.__dict__.get("_sgwatch_client_token") == token:
            return json.dumps({"ScheduleArn": existing.arn})
        result = action(self)
        created = self.scheduler_backend.get_schedule(self._get_param("GroupName"), name)
        created.__dict__["_sgwatch_client_token"] = token
        return result
    return call


def _no_stale_security_groups(self: Any) -> Any:
    from moto.core.responses import ActionResult

    self.error_on_dryrun()
    return ActionResult({"StaleSecurityGroupSet": []})


def answer_describe_stale_security_groups() -> None:
    """Teach moto (in process or as a server) DescribeStaleSecurityGroups: see the module's docstring."""
    from moto.ec2.responses import EC2Response

    EC2Response.describe_stale_security_groups = _no_stale_security_groups  # type: ignore[attr-defined]


def install() -> None:
    answer_describe_stale_security_groups()
    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    from moto.cloudformation.models import StackSet
    from moto.cloudformation.responses import CloudFormationResponse

    for action in ("create_stack_set", "update_stack_set"):
        original = getattr(CloudFormationResponse, action)
        setattr(CloudFormationResponse, action, _remembering_stack_set_settings(original))
    StackSet.auto_deployment = property(lambda self: self.__dict__.get("_sgwatch_auto_deployment"))  # type: ignore[attr-defined]
    StackSet.managed_execution = property(  # type: ignore[method-assign,assignment]
        lambda self: self.__dict__.get("_sgwatch_managed_execution", {"Active": False}))
    from moto.scheduler.responses import EventBridgeSchedulerResponse

    EventBridgeSchedulerResponse.create_schedule = _idempotent_create_schedule(  # type: ignore[method-assign]
        EventBridgeSchedulerResponse.create_schedule)


def main(argv: list[str]) -> None:
    install()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import moto_caches

    moto_caches.install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
