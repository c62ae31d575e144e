"""An input the root module hands on unchanged is refused by the root exactly as by the module it goes to.

The root validates its own variables, so `terraform validate` refuses a bad value in the root's own
names; a capability module validates its inputs too, for a landing zone that calls it directly. Where
both hold a check for the same value, they are the same conditions, word for word once each side's
variable name is set aside: a check added or changed on one side and not the other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import hcl2

from tests.paths import ROOT

FORWARDED = re.compile(r"\$\{var\.(\w+)\}")


def _conditions(directory: Path) -> dict[str, set[str]]:
    """Each variable's validation conditions in ``directory``, its own name written ``var.X``."""
    found: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in hcl2.loads(path.read_text()).get("variable", []):
            for quoted, body in block.items():
                name = quoted.strip('"')
                found[name] = {
                    re.sub(rf"\bvar\.{name}\b", "var.X", check["condition"].removeprefix("${").removesuffix("}"))
                    for check in body.get("validation", [])
                }
    return found


def forwarded_checks() -> list[tuple[str, set[str], set[str]]]:
    """(module.input <- root variable, the root's conditions, the module's) for every input of a root
    module call that is a root variable as it is, where either side validates it."""
    root = _conditions(ROOT)
    pairs = []
    for block in hcl2.loads((ROOT / "main.tf").read_text())["module"]:
        for quoted, call in block.items():
            module = _conditions(ROOT / call["source"].strip('"'))
            for argument, value in call.items():
                forwarded = FORWARDED.fullmatch(value) if isinstance(value, str) else None
                if forwarded and argument in module and (root[forwarded[1]] or module[argument]):
                    where = f"{quoted.strip(chr(34))}.{argument} <- {forwarded[1]}"
                    pairs.append((where, root[forwarded[1]], module[argument]))
    return pairs


def test_the_root_and_the_module_an_input_goes_to_check_it_alike() -> None:
    pairs = forwarded_checks()
    # the checks the capability modules hold for forwarded inputs (reachability paths, grace days, ...)
    both = [where for where, root, module in pairs if root and module]
    assert len(both) >= 14, both
    differ = {
        where: (sorted(root - module), sorted(module - root))
        for where, root, module in pairs
        if root and module and root != module
    }
    assert differ == {}, f"(only the root's, only the module's) conditions: {differ}"


def test_a_module_never_checks_a_forwarded_input_the_root_lets_through() -> None:
    # a value the root accepts must not fail later, at plan, inside a module
    unchecked = [where for where, root, module in forwarded_checks() if module and not root]
    assert unchecked == []
