#!/usr/bin/env python3
"""Build functions/dist/<name>.zip reproducibly.

Each zip holds ``<name>/`` (the handler package), the core of the shared ``sgwatch/``
package (its top-level modules), the capability's own package ``sgwatch/<name>/`` when
there is one (with its non-Python files, e.g. the review pack's templates) and the
third-party libraries named in ``functions/<name>/requirements.txt`` (vendored from their
wheels at the pinned versions). No zip holds another capability's package. Entries are
sorted, with fixed timestamps and permissions and no bytecode, so a rebuild on any machine
is byte-identical.

Vendored code is pure Python: compiled extension modules are left out, because one zip
serves every architecture and Python version the module accepts. A library shipped only
as platform wheels (MarkupSafe) must work without its extension (MarkupSafe falls back
to ``markupsafe._native``); its wheel is always the same platform's, so the zip does not
depend on the machine that builds it.

    package.py [--out DIR] [--check]
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
SHARED = "sgwatch"
WHEEL_CACHE = ROOT / ".cache" / "wheels"
EPOCH = (1980, 1, 1, 0, 0, 0)
# The wheel to take when a library has no pure-Python one: any fixed choice keeps builds
# identical across machines, and its compiled modules are dropped (COMPILED) anyway.
WHEEL_TARGET = ("--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.11",
                "--abi", "cp311")
COMPILED = (".so", ".pyd", ".dylib")


def function_names() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def _source_files(package_dir: Path, arcroot: str, recursive: bool = True) -> dict[str, bytes]:
    files = {}
    for path in sorted(package_dir.rglob("*") if recursive else package_dir.glob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if path.name == "requirements.txt" and path.parent == package_dir:
            continue
        files[f"{arcroot}/{path.relative_to(package_dir).as_posix()}"] = path.read_bytes()
    return files


def _requirements(name: str) -> list[str]:
    path = FUNCTIONS / name / "requirements.txt"
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    pins = [line for line in lines if line]
    for pin in pins:
        if "==" not in pin:
            raise SystemExit(f"{path}: '{pin}' must be pinned with ==")
    return pins


def _wheel(pin: str) -> Path:
    project, version = pin.split("==")
    stem = project.replace("-", "_").lower()
    found = sorted(WHEEL_CACHE.glob(f"{stem}-{version}-*.whl"))
    if not found:
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *WHEEL_TARGET,
             "--dest", str(WHEEL_CACHE), pin],
            check=True,
        )
        found = sorted(WHEEL_CACHE.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"no wheel for {pin}")
    return found[0]


def _vendored_files(pin: str) -> dict[str, bytes]:
    files = {}
    with zipfile.ZipFile(_wheel(pin)) as wheel:
        for info in wheel.infolist():
            parts = info.filename.split("/")
            if info.is_dir() or "__pycache__" in parts or info.filename.endswith((".pyc", ".pyo", *COMPILED)):
                continue
            if parts[0].endswith(".dist-info") and parts[-1] == "RECORD":
                continue
            files[info.filename] = wheel.read(info)
    return files


def build(name: str, out_dir: Path) -> Path:
    files = _source_files(FUNCTIONS / name, name)
    files.update(_source_files(FUNCTIONS / SHARED, SHARED, recursive=False))
    if (FUNCTIONS / SHARED / name).is_dir():
        files.update(_source_files(FUNCTIONS / SHARED / name, f"{SHARED}/{name}"))
    for pin in _requirements(name):
        files.update(_vendored_files(pin))
    target = out_dir / f"{name}.zip"
    partial = out_dir / f".{name}.zip.partial"
    with zipfile.ZipFile(partial, "w") as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=EPOCH)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[arcname], compresslevel=9)
    # Replace atomically, and only when the content changed, so a concurrent
    # `terraform plan` never hashes a half-written zip.
    if target.exists() and filecmp.cmp(partial, target, shallow=False):
        partial.unlink()
    else:
        partial.replace(target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FUNCTIONS / "dist")
    parser.add_argument("--check", action="store_true", help="fail when a committed zip differs from a fresh build")
    args = parser.parse_args()
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
        for name in function_names():
            print(build(name, args.out).relative_to(ROOT) if args.out.is_relative_to(ROOT) else build(name, args.out))
        return 0
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        expected = {f"{n}.zip" for n in function_names()}
        for name in function_names():
            fresh = build(name, Path(tmp))
            committed = args.out / fresh.name
            if not committed.exists() or not filecmp.cmp(fresh, committed, shallow=False):
                stale.append(committed.name)
        extra = sorted(p.name for p in args.out.glob("*.zip") if p.name not in expected)
    if stale or extra:
        print(f"stale zips: {stale}; zips without a function: {extra}. Run 'make package' and commit.", file=sys.stderr)
        return 1
    print(f"{len(expected)} zips match a fresh build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
