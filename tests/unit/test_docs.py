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
