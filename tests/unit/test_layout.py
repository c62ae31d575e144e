"""The code's layout holds: a shared core, one package per capability, and zips that carry only their own.

``functions/sgwatch/*.py`` is the core (rule model, CSV, evidence layout, AWS clients, risk, text, settings,
logging); ``functions/sgwatch/<capability>/`` holds one capability's modules and is named like its handler
folder ``functions/<capability>/``, its zip ``functions/dist/<capability>.zip`` and its Terraform module
``modules/<capability with dashes>/``. The core imports no capability, and no capability imports another.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from tests.paths import DIST, FUNCTIONS, ROOT

CORE = FUNCTIONS / "sgwatch"
CAPABILITIES = sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))
# Libraries a zip may vendor, by the name code imports them under: the top-level folders of their wheels.
VENDORED = {"slack_sdk": {"slack_sdk", "slack"}, "jinja2": {"jinja2"}, "markupsafe": {"markupsafe"}}


def _imports(path: Path, package: str) -> set[str]:
    """The absolute names of what ``path`` (a module of ``package``) imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _package_of(path: Path) -> str:
    parts = path.relative_to(FUNCTIONS).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1]).removesuffix(".__init__")


def _capability_of(module: str) -> str | None:
    """The capability package ``module`` (an sgwatch module name) belongs to, or None for the core."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "sgwatch" and parts[1] in CAPABILITIES else None


def test_the_core_is_only_modules_and_every_subpackage_is_a_capability():
    subpackages = sorted(p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert subpackages == [c for c in CAPABILITIES if (CORE / c).is_dir()]
    core = {p.stem for p in CORE.glob("*.py")}
    assert {"rules", "csvio", "evidence", "aws", "risk", "text", "settings", "log"} <= core


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_a_capability_is_named_alike_in_its_handler_package_zip_and_terraform_module(capability):
    assert (DIST / f"{capability}.zip").is_file()
    assert (ROOT / "modules" / capability.replace("_", "-")).is_dir()
    main = (ROOT / "modules" / capability.replace("_", "-") / "main.tf").read_text()
    assert f'function_key = "{capability}"' in main


def test_the_core_imports_no_capability_and_no_capability_imports_another():
    crossings = []
    for path in sorted(CORE.rglob("*.py")):
        package = _package_of(path)
        own = _capability_of(package + ".x") if path.parent != CORE else None
        for name in _imports(path, package):
            other = _capability_of(name)
            if other is not None and other != own:
                crossings.append(f"{path.relative_to(FUNCTIONS)} imports {name}")
    assert crossings == []


def _capability_imports(capability: str) -> set[str]:
    """What the capability's own code (its handler folder and its package) imports, absolute names."""
    paths = [*(FUNCTIONS / capability).rglob("*.py"), *(CORE / capability).rglob("*.py")]
    return set().union(*(_imports(path, _package_of(path)) for path in paths))


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_a_zip_holds_the_core_its_own_package_and_only_the_libraries_it_uses(capability):
    with zipfile.ZipFile(DIST / f"{capability}.zip") as archive:
        names = archive.namelist()
    assert {f"sgwatch/{p.name}" for p in CORE.glob("*.py")} <= set(names)
    assert any(n.startswith(f"{capability}/") for n in names)
    packages = {n.split("/")[1] for n in names if n.startswith("sgwatch/") and n.count("/") > 1}
    assert packages <= {capability}
    assert not [n for n in names if n.split("/")[0] in CAPABILITIES and n.split("/")[0] != capability]

    # Vendored: Jinja2 (and its MarkupSafe) where the code renders, the Slack SDK where it posts to Slack
    # (the core's poster imports it on first use), nothing else.
    uses = _capability_imports(capability)
    wanted = set()
    if any(name.split(".")[0] == "jinja2" for name in uses):
        wanted |= {"jinja2", "markupsafe"}
    if "sgwatch.slack" in uses or any(name.split(".")[0] == "slack_sdk" for name in uses):
        wanted.add("slack_sdk")
    shipped = {top for top in VENDORED if any(n.startswith(f"{top}/") for n in names)}
    assert shipped == wanted
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"sgwatch", capability}.union(*(VENDORED[library] for library in wanted))
