"""Write the CloudFormation templates modules/organization-members builds, for cfn-lint.

    python -m tests.terraform.cfn_templates DIRECTORY

Plans tests/terraform/templates (the module with every optional part on) against the local
emulator, which answers the data sources (account, partition, region), and writes the template
body of each stack set the plan would create to DIRECTORY/<stack set>.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.module.emulator import Emulator, write_cli_config

CONFIG = Path(__file__).resolve().parent / "templates"
# CreateStackSet takes a TemplateBody of at most 51,200 bytes
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
TEMPLATE_BODY_LIMIT = 51_200


def templates(work: Path) -> dict[str, str]:
    """Stack set name -> template body, from a plan of CONFIG."""
    emulator = Emulator(work / "moto.log")
    try:
        env = {**os.environ, **emulator.environment(), "TF_CLI_CONFIG_FILE": str(write_cli_config(work))}
        env.pop("AWS_PROFILE", None)

        def terraform(*args: str) -> str:
            return subprocess.run(["terraform", f"-chdir={CONFIG}", *args], env=env, check=True,
                                  capture_output=True, text=True).stdout

        terraform("init", "-input=false", "-no-color", "-backend=false")
        plan = work / "plan"
        terraform("plan", "-input=false", "-no-color", "-lock=false", f"-state={work / 'state'}", f"-out={plan}")
        shown = json.loads(terraform("show", "-json", str(plan)))
    finally:
        emulator.stop()
    return {
        change["change"]["after"]["name"]: change["change"]["after"]["template_body"]
        for change in shown["resource_changes"]
        if change["type"] == "aws_cloudformation_stack_set"
    }


def main() -> int:
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sgwatch-cfn-"))
    try:
        found = templates(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    too_large = {name: len(body.encode()) for name, body in found.items() if len(body.encode()) > TEMPLATE_BODY_LIMIT}
    for name, body in found.items():
        (target / f"{name}.json").write_text(json.dumps(json.loads(body), indent=2) + "\n")
    print(f"{len(found)} templates in {target}: {', '.join(sorted(found))}")
    if too_large:
        print(f"templates over {TEMPLATE_BODY_LIMIT} bytes: {too_large}", file=sys.stderr)
    return 0 if found and not too_large else 1


if __name__ == "__main__":
    sys.exit(main())
