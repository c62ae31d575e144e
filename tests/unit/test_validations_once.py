"""Each input is checked once: where the root hands a value on to a module, the module checks it, not both.

A capability module validates its own inputs (a landing zone may call it on its own), and the root
forwards its variables without repeating those checks. So no validation condition, once each
variable's own name is written ``var.X``, appears twice in the ``variables.tf`` files of one call tree
(a module and every module it calls, the root's tree holding them all). Separate public entry points
that never hand the value to each other may check the same shape on their own inputs: they are named
in ``SEPARATE_EDGES`` with the reason, and the test fails when that list no longer matches the files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from tests.paths import ROOT, hcl

# condition -> the (directory, variable) pairs that hold it though neither hands the value to the other
SEPARATE_EDGES: dict[str, set[tuple[str, str]]] = {
    # The root names every resource with its name_prefix; the member-account modules name theirs with their
    # own (the root's own forwarder is the one call, and it takes the root's checked value).
    'can(regex("^[a-z][a-z0-9-]{1,23}$", var.X))': {
        (".", "name_prefix"),
        ("modules/event-forwarder", "name_prefix"),
        ("modules/organization-members", "name_prefix"),
    },
    # The root's own key, and a member account's forwarder queue key (the root passes the key it checked
    # or created).
    'var.X == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", coalesce(var.X, "-")))': {
        (".", "kms_key_arn"),
        ("modules/event-forwarder", "dlq_kms_key_arn"),
    },
}


def _modules_called(directory: Path) -> set[Path]:
    """The local modules ``directory``'s .tf files call."""
    called = set()
    for path in directory.glob("*.tf"):
        for block in hcl(path).get("module", []):
            for call in block.values():
                source = call["source"].strip('"')
                if source.startswith("."):
                    called.add((directory / source).resolve())
    return called


def call_tree(directory: Path) -> set[Path]:
    """``directory`` and every local module it calls, directly or not."""
    tree, todo = set(), [directory.resolve()]
    while todo:
        current = todo.pop()
        if current not in tree:
            tree.add(current)
            todo.extend(_modules_called(current))
    return tree


def conditions(directory: Path) -> dict[str, set[tuple[str, str]]]:
    """Each validation condition of ``directory``'s variables.tf (own name as ``var.X``) -> (directory, variable)."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    where = directory.resolve().relative_to(ROOT.resolve()).as_posix() or "."
    variables = directory / "variables.tf"
    if not variables.exists():
        return found
    for block in hcl(variables).get("variable", []):
        for quoted, body in block.items():
            name = quoted.strip('"')
            for check in body.get("validation", []):
                condition = check["condition"].removeprefix("${").removesuffix("}")
                found[re.sub(rf"\bvar\.{name}\b", "var.X", condition)].add((where, name))
    return found


def twice(tree: set[Path]) -> dict[str, set[tuple[str, str]]]:
    """Conditions held by more than one variable of the tree, but the separate edges named above."""
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for directory in tree:
        for condition, holders in conditions(directory).items():
            held[condition] |= holders
    return {
        condition: holders
        for condition, holders in held.items()
        if len(holders) > 1 and not holders <= SEPARATE_EDGES.get(condition, set())
    }


def test_no_validation_condition_is_held_twice_in_one_call_tree() -> None:
    roots = [ROOT, *sorted(path for path in (ROOT / "modules").iterdir() if path.is_dir())]
    found = {}
    for directory in roots:
        for condition, holders in twice(call_tree(directory)).items():
            found[condition] = sorted(holders)
    assert found == {}, "conditions checked twice (check each input once, in the module the root hands it to):\n" + (
        "\n".join(f"{condition}: {holders}" for condition, holders in found.items())
    )


def test_the_separate_edges_named_are_the_ones_in_the_files() -> None:
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for directory in [ROOT, *(ROOT / "modules").iterdir()]:
        for condition, holders in conditions(directory).items():
            held[condition] |= holders
    assert {condition: held[condition] for condition in SEPARATE_EDGES} == SEPARATE_EDGES


def test_the_root_tree_holds_every_module_the_root_calls() -> None:
    # the rule reaches the capability modules and, through them, modules/lambda-function
    tree = {path.relative_to(ROOT.resolve()).as_posix() for path in call_tree(ROOT) if path != ROOT.resolve()}
    assert {"modules/securityhub-report", "modules/reachability-check", "modules/lambda-function"} <= tree
