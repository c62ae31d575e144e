"""The README's inputs/outputs tables are generated from the .tf files and must not drift."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import ROOT


def test_readme_tables_match_the_terraform():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "tfdocs.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_every_root_variable_and_output_is_in_the_readme():
    import hcl2

    readme = (ROOT / "README.md").read_text()
    for path in ROOT.glob("*.tf"):
        parsed = hcl2.load(path.open())
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


def test_every_root_variable_validation_is_pinned_by_terraform_test():
    """tests/terraform/validations.tftest.hcl makes each validation of variables.tf fail once (expect_failures)."""
    import re

    import hcl2

    validations: dict[str, int] = {}
    for block in hcl2.load((ROOT / "variables.tf").open()).get("variable", []):
        for name, body in block.items():
            if body.get("validation"):
                validations[name.strip('"')] = len(body["validation"])
    tests = (ROOT / "tests" / "terraform" / "validations.tftest.hcl").read_text()
    expected = re.findall(r"var\.(\w+)", " ".join(re.findall(r"expect_failures\s*=\s*\[(.*?)\]", tests, re.S)))
    unpinned = {name: count for name, count in validations.items() if expected.count(name) < count}
    assert not unpinned, f"validations without a failing terraform test run (name: validations): {unpinned}"
