#!/usr/bin/env python3
"""Generate the README inputs/outputs tables from the .tf files next to each README.

    tfdocs.py [--check] [README ...]

Writes the tables between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` of each README
from the variables and outputs of its directory: the root module, every submodule and every
example. Without a README argument it handles all of them (``readmes()``); an internal module's
README has no markers and is left alone. The root README's table of sensitive services, between
``<!-- BEGIN_SERVICES -->`` and ``<!-- END_SERVICES -->``, is written from ``sgwatch.risk.SERVICES``
the same way. With ``--check`` it changes nothing and exits 1 when a README is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
SERVICES_BEGIN, SERVICES_END = "<!-- BEGIN_SERVICES -->", "<!-- END_SERVICES -->"


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _expression(value: Any) -> str:
    if isinstance(value, str):
        found = re.fullmatch(r"\$\{(.*)\}", value, flags=re.S)
        return found.group(1) if found else value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(_strip_quotes(value), separators=(", ", ": "))


def _strip_quotes(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _strip_quotes(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_strip_quotes(v) for v in value]
    return _unquote(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readmes() -> list[Path]:
    """The README of the root module, of every submodule and of every example."""
    return [ROOT / "README.md"] + sorted(ROOT.glob("modules/*/README.md")) + sorted(ROOT.glob("examples/*/README.md"))


def _blocks(directory: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            parsed = hcl2.load(f)
        for block in parsed.get(kind, []):
            for name, body in block.items():
                found.append((_unquote(name), body))
    return sorted(found)


def render(directory: Path = ROOT) -> str:
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    for name, body in _blocks(directory, "variable"):
        required = "default" not in body
        default = "n/a" if required else f"`{_cell(_expression(body['default']))}`"
        lines.append(
            f'| <a name="input_{name}"></a> [{name}](#input_{name}) | {_cell(_unquote(body.get("description", "")))} '
            f"| `{_cell(_expression(body.get('type', 'any')))}` | {default} | {'yes' if required else 'no'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in _blocks(directory, "output"):
        lines.append(
            f'| <a name="output_{name}"></a> [{name}](#output_{name}) '
            f'| {_cell(_unquote(body.get("description", "")))} |'
        )
    return "\n".join(lines)


def render_services() -> str:
    """The sensitive services of the risk model (``sgwatch.risk.SERVICES``), one row per service name, with the
    pages each comes from."""
    from sgwatch import risk

    rows: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for service in risk.SERVICES:
        ports, sources = rows.setdefault((service.name, service.kind), ([], []))
        ports.append(f"{service.protocol} {service.port}")
        sources += [s for s in service.sources if s not in sources]
    lines = [f"{len(risk.SERVICES)} protocol and port pairs:", "",
             "| Service | Protocol and port | Kind | Listed by |", "|---|---|---|---|"]
    for (name, kind), (ports, sources) in rows.items():
        listed = ", ".join(f"[{s}]({risk.SOURCES[s]})" for s in sources)
        lines.append(f"| {_cell(name)} | {', '.join(ports)} | {kind} | {listed} |")
    return "\n".join(lines)


def _section(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def update(readme: Path, check: bool) -> bool:
    """Regenerate (or, with check, compare) one README's tables; False when it is stale."""
    text = readme.read_text()
    updated = _section(text, BEGIN, END, render(readme.parent))
    if SERVICES_BEGIN in updated and SERVICES_END in updated:
        updated = _section(updated, SERVICES_BEGIN, SERVICES_END, render_services())
    if updated == text:
        return True
    if check:
        print(f"{readme.relative_to(ROOT)}: generated tables are stale; run 'make docs'", file=sys.stderr)
        return False
    readme.write_text(updated)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("readme", nargs="*", type=Path)
    args = parser.parse_args()
    ok = True
    for readme in [p.resolve() for p in args.readme] or readmes():
        text = readme.read_text()
        if BEGIN not in text or END not in text:
            if args.readme:
                print(f"{readme}: markers {BEGIN} / {END} missing", file=sys.stderr)
                ok = False
            continue
        ok = update(readme, args.check) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
