"""The README's inputs/outputs tables are generated from the .tf files and must not drift."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import ROOT, hcl


def test_readme_tables_match_the_terraform():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "tfdocs.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_every_root_variable_and_output_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for path in ROOT.glob("*.tf"):
        parsed = hcl(path)
        for kind, anchor in (("variable", "input"), ("output", "output")):
            for block in parsed.get(kind, []):
                for name in block:
                    assert f'name="{anchor}_{name.strip(chr(34))}"' in readme, f"{kind} {name} missing from README"


def test_every_module_and_example_has_a_readme():
    """User-facing modules and examples carry generated tables; internal modules say they are internal."""
    from tools.tfdocs import BEGIN, END

    for directory in sorted([*ROOT.glob("modules/*/"), *ROOT.glob("examples/*/")]):
        readme = directory / "README.md"
        assert readme.exists(), f"{directory.relative_to(ROOT)} has no README.md"
        text = readme.read_text()
        generated = BEGIN in text and END in text
        internal = text.startswith("Internal module of SG Watch") and len(text.strip().splitlines()) == 1
        assert generated or internal, f"{readme.relative_to(ROOT)}: neither generated tables nor one internal line"


def test_one_version_string_is_the_changelogs_latest_release():
    import re
    import tomllib

    import sgwatch

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sgwatch.__version__"}
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0] == sgwatch.__version__


def test_every_variable_validation_is_pinned_by_terraform_test():
    """tests/terraform/*.tftest.hcl make each validation of the root's variables.tf, and of every module the root
    calls (where the inputs it hands on are checked), fail once (expect_failures): in a run of the root for the
    root's, in a run of the module on its own (module { source = ... }) for a module's."""
    import re

    from tests.unit.test_validations_once import call_tree

    pinned: dict[str, list[str]] = {}
    for path in (ROOT / "tests" / "terraform").glob("*.tftest.hcl"):
        for run in re.split(r"^run ", path.read_text(), flags=re.M)[1:]:
            source = re.search(r"^\s*module\s*\{\s*source\s*=\s*\"([^\"]+)\"", run, re.M)
            where = (ROOT / source[1]).resolve() if source else ROOT.resolve()
            failures = " ".join(re.findall(r"expect_failures\s*=\s*\[(.*?)\]", run, re.S))
            pinned.setdefault(str(where), []).extend(re.findall(r"var\.(\w+)", failures))
    unpinned = {}
    for directory in sorted(call_tree(ROOT)):
        variables = directory / "variables.tf"
        for block in hcl(variables).get("variable", []) if variables.exists() else []:
            for name, body in block.items():
                name, count = name.strip('"'), len(body.get("validation", []))
                if pinned.get(str(directory), []).count(name) < count:
                    unpinned[f"{directory.relative_to(ROOT.resolve()).as_posix() or '.'}: {name}"] = count
    assert not unpinned, f"validations without a failing terraform test run (variable: validations): {unpinned}"
