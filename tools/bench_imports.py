#!/usr/bin/env python3
"""Cold import of each shipped function, as Lambda pays it once per new process.

Each zip of functions/dist is extracted to a new folder and its handler module imported in new
processes with no bytecode written (Lambda's /var/task holds none: the zips ship sources only), boto3
and botocore coming precompiled from the environment as they do from the Lambda runtime. Printed: the
zip's size and file count, the median and the worst import time, and the function's own share (the
handler's imports after boto3), beside the target. A loaded machine inflates every figure alike.

    bench_imports.py [--runs N] [--dist DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "functions" / "dist"
TARGET_MS = 250

CHILD = """
import time
started = time.perf_counter()
import boto3
sdk = time.perf_counter()
import {name}.handler
print((time.perf_counter() - started) * 1000, (time.perf_counter() - sdk) * 1000)
"""


def import_ms(folder: Path, name: str) -> tuple[float, float]:
    """Milliseconds to import the handler, boto3 included, and the part that is the function's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update({"PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"})
    done = subprocess.run([sys.executable, "-c", CHILD.format(name=name)], env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    total, own = done.stdout.split()
    return float(total), float(own)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dist", type=Path, default=DIST, help="zips to measure (functions/dist)")
    args = parser.parse_args()
    import_ms(ROOT / "functions", "sg_inventory")  # boto3's own bytecode in place before the first timing
    print(f"cold import of each handler, median and worst of {args.runs} new processes (target <= {TARGET_MS} ms)")
    worst = 0.0
    for path in sorted(args.dist.glob("*.zip")):
        name = path.stem
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)
            files = len(archive.namelist())
            runs = [import_ms(Path(tmp), name) for _ in range(args.runs)]
        median = statistics.median(total for total, _ in runs)
        own = statistics.median(own for _, own in runs)
        worst = max(worst, median)
        verdict = "ok" if median <= TARGET_MS else "OVER"
        print(f"  {name:20} {path.stat().st_size / 1024:5.0f} KiB {files:4d} files  import {median:4.0f} ms "
              f"(worst {max(total for total, _ in runs):4.0f}; its own code {own:3.0f} ms, the rest boto3)  "
              f"target {TARGET_MS}  {median / TARGET_MS:4.2f}x  {verdict}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
