"""The local AWS emulator and the Terraform CLI configuration the module tests use.

Shared by the test session (tests/module/conftest.py) and ``make demo``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def find_plugin_mirror() -> Path | None:
    """``TF_PLUGIN_MIRROR``, else the first likely place holding hashicorp/aws."""
    explicit = os.environ.get("TF_PLUGIN_MIRROR")
    if explicit:
        return Path(explicit)
    for candidate in MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return None


def write_cli_config(directory: Path) -> Path:
    """A Terraform CLI config using the local mirror (when there is one) and a shared plugin cache.

    One cache per pytest-xdist worker: Terraform does not promise that concurrent inits can share one."""
    directory.mkdir(parents=True, exist_ok=True)
    cache = ROOT / ".cache" / "terraform-plugins" / os.environ.get("PYTEST_XDIST_WORKER", "main")
    cache.mkdir(parents=True, exist_ok=True)
    lines = [f'plugin_cache_dir = "{cache}"']
    mirror = find_plugin_mirror()
    if mirror:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "}",
        ]
    config = directory / "terraform.rc"
    config.write_text("\n".join(lines) + "\n")
    return config


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STARTUP_SECONDS = 180


class Emulator:
    """moto_server on a free loopback port, started through tests/moto_launcher.py; and Athena's workgroups and
    named queries, which moto cannot hold, answered by tests/module/fake_athena.py on another."""

    def __init__(self, log_path: Path) -> None:
        from tests.module.fake_athena import FakeAthena

        self.athena = FakeAthena().__enter__()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self._process = subprocess.Popen(
            [sys.executable, str(TESTS / "moto_launcher.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        # Generous: `make test` starts several emulators at once beside the checks and unit tests, on two cores.
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start; see {log_path}") from None
                time.sleep(0.2)

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ENDPOINT_URL_ATHENA": self.athena.url, **FAKE_CREDENTIALS}

    def stop(self) -> None:
        self.athena.__exit__()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()


# The AWS provider pointed at the emulator, as every fixture has it (symlinked as provider.tf);
# without its region for the examples, whose own provider blocks keep theirs.
FIXTURE_PROVIDER = TESTS / "module" / "terraform" / "provider.tf"
EMULATOR_PROVIDER = "".join(
    line
    for line in FIXTURE_PROVIDER.read_text().splitlines(keepends=True)
    if not line.startswith("#") and not line.lstrip().startswith("region ")
)


def terraform(directory: Path, *arguments: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """A Terraform command run in ``directory`` as in automation, its output captured."""
    return subprocess.run(
        ["terraform", *arguments, "-no-color"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_IN_AUTOMATION": "1"},
    )


def prepare_example(
    name: str, destination: Path, variables: dict[str, object] | None = None, root: Path = ROOT
) -> Path:
    """Copy ``examples/<name>`` of ``root`` (this repository, or an earlier release of it) for the emulator.

    The copy is unchanged but for an override file.
    The module sources (``../../`` and ``../../modules/...``) become relative paths from the
    copy back to this repository, so Terraform keeps treating them as local modules (an
    absolute path would be copied module by module, without its sibling modules), and a
    ``*_override.tf`` adds the emulator settings to every ``aws`` provider block.
    """
    import json
    import re
    import shutil

    source = root / "examples" / name
    target = destination / f"example_{name}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    back_to_root = os.path.relpath(root, target) + "/"
    aliases: list[str] = []
    for tf in sorted(source.glob("*.tf")):
        text = tf.read_text().replace('"../../', '"' + back_to_root)
        aliases += re.findall(r'provider\s+"aws"\s*{[^}]*?alias\s*=\s*"([^"]+)"', text, flags=re.S)
        (target / tf.name).write_text(text)
    override = EMULATOR_PROVIDER
    for alias in aliases:
        override += EMULATOR_PROVIDER.replace('provider "aws" {\n', f'provider "aws" {{\n  alias = "{alias}"\n', 1)
    (target / "emulator_override.tf").write_text(override)
    if variables:
        (target / "emulator.auto.tfvars.json").write_text(json.dumps(variables, indent=2))
    return target
