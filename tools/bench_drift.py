#!/usr/bin/env python3
"""The drift report's state read: a 50 MB Terraform state parsed in a fresh process, as the inventory reads it
(the object's body read whole, then walked one resource at a time keeping only the security-group resources),
and the drift of the rules it declares against a region's snapshot rows.

  peak RSS        of the child process, boto3 and the inventory's modules imported (target: well within the
                  function's 512 MB, beside the run's own snapshot)
  parse CPU       seconds to walk the 50 MB state
  drift CPU       seconds to hold 20,000 declared rules against 20,000 live rows

    python tools/bench_drift.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"peak_mb": 250, "parse_s": 3.0, "drift_s": 1.0}
STATE_MB = 50
GROUPS, RULES_PER_GROUP = 2000, 10


def state_document(path: Path) -> int:
    """A state of ``STATE_MB`` MB: GROUPS groups with inline rules, one rule resource per group, and filler
    resources (instances with user data, outputs) as a landing zone's state holds them."""
    resources = []
    for g in range(GROUPS):
        gid = f"sg-{g:017x}"
        ingress = [{"cidr_blocks": [f"10.{g % 250}.{r}.0/24"], "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                    "security_groups": [], "self": False, "from_port": 1000 + r, "to_port": 1000 + r,
                    "protocol": "tcp", "description": f"rule {r}"} for r in range(RULES_PER_GROUP)]
        resources.append({"module": f'module.app["{g % 40}"]', "mode": "managed", "type": "aws_security_group",
                          "name": "this", "instances": [{"index_key": g, "attributes": {
                              "id": gid, "arn": f"arn:aws:ec2:eu-west-1:123456789012:security-group/{gid}",
                              "name": f"g{g}", "vpc_id": "vpc-1", "ingress": ingress, "egress": []}}]})
    filler = {"user_data": "x" * 20_000, "password": "not-kept", "tags": {"Name": "filler"}}
    text = json.dumps({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "bench",
                       "outputs": {}, "resources": resources})
    per = len(json.dumps({"mode": "managed", "type": "aws_instance", "name": "f", "instances": [
        {"attributes": filler}]})) + 2
    count = max(0, (STATE_MB * 1024 * 1024 - len(text)) // per)
    body = {"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "bench", "outputs": {},
            "resources": resources + [{"mode": "managed", "type": "aws_instance", "name": f"f{i}",
                                       "instances": [{"attributes": filler}]} for i in range(count)]}
    data = json.dumps(body).encode()
    path.write_bytes(data)
    return len(data)


CHILD = r"""
import json, os, sys, time, resource
import boto3
from sg_inventory import handler  # noqa: F401  (the inventory's modules, as the function has them)
from sgwatch import drift, iac_state

def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024

with open(os.environ["BENCH_STATE"], "rb") as f:
    body = f.read()
started = time.process_time()
declared = iac_state.parse_state(body, "s3://bench/state")
del body
parse_s = time.process_time() - started
rows = [("123456789012", "eu-west-1", "vpc-1", r.group_id, "g", "d", r.direction, f"sgr-{n:017x}", r.protocol,
         r.from_port, str(int(r.to_port) + (1 if n % 100 == 0 else 0)), r.peer_type, r.peer, r.description)
        for n, r in enumerate(declared.rules)]
started = time.process_time()
found = drift.drift(sorted(rows), declared, "123456789012", "eu-west-1", {}, ())
drift_s = time.process_time() - started
print(json.dumps({"rules": len(declared.rules), "drift": len(found), "parse_s": parse_s, "drift_s": drift_s,
                  "peak_mb": peak_mb()}))
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "terraform.tfstate"
        size = state_document(path)
        env = {**os.environ, "BENCH_STATE": str(path), "PYTHONPATH": str(ROOT / "functions")}
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    met = all(figures[k] <= v for k, v in TARGETS.items())
    print(f"state read by the drift report          : {size / 1024 / 1024:.0f} MB, {figures['rules']} declared rules")
    print(f"peak RSS of the child (boto3 loaded)     : {figures['peak_mb']:.0f} MB  "
          f"(target <= {TARGETS['peak_mb']} MB)")
    print(f"parse CPU                                : {figures['parse_s']:.2f} s  (target <= {TARGETS['parse_s']} s)")
    print(f"drift CPU, {figures['rules']} rules against as many rows : {figures['drift_s']:.2f} s  "
          f"(target <= {TARGETS['drift_s']} s), {figures['drift']} drift rows")
    print("targets: met" if met else "targets: MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
