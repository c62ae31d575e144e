#!/usr/bin/env python3
"""Benchmark of the inventory pipeline on a synthetic estate (in process, no AWS).

Estate: 10,000 groups and 100,000 rules shaped like DescribeSecurityGroups /
DescribeSecurityGroupRules responses. The second snapshot edits 1% of the rules in
place, removes 1% and adds 1%. CPU time, best of 5.

  pipeline  flatten two snapshots, write both CSVs, diff them (only differing lines are
            parsed), write the diff CSV
  floor     the bare csv module writing those two snapshot CSVs and reading them back
  run       what one scheduled run does: flatten + write the current snapshot, read and
            validate the previous one from its CSV, diff, write the diff
  memory    peak RSS of a child process doing one such run with the describe pages
            arriving as a stream (as the paginator delivers them)

Targets: pipeline/floor <= 1.5; <= 1 s CPU per 100k rules; peak RSS <= 200 MB.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sgwatch.csvio import CsvDocument, to_csv, verify
from sgwatch.diff import DIFF_HEADER, diff_snapshot_lines, diff_snapshots
from sgwatch.rules import SNAPSHOT_HEADER, flatten_rule_rows as flatten_rules

GROUPS, RULES = 10_000, 100_000
ACCOUNT, REGION = "111122223333", "eu-west-1"


def groups() -> list[dict]:
    return [
        {"GroupId": f"sg-{i:017x}", "GroupName": f"group-{i}", "Description": f"tier {i % 7}",
         "VpcId": f"vpc-{i % 50:08x}", "OwnerId": ACCOUNT}
        for i in range(GROUPS)
    ]


def rules(changed: bool = False, seed: int = 7):
    """The rules, generated one by one like pages from the paginator."""
    rnd = random.Random(seed)
    for i in range(RULES):
        port = rnd.choice((22, 80, 443, 3306, 5432, 8080, 0))
        if changed and i % 100 == 1:
            continue  # removed
        rule = {"SecurityGroupRuleId": f"sgr-{i:017x}", "GroupId": f"sg-{i % GROUPS:017x}",
                "GroupOwnerId": ACCOUNT, "IsEgress": i % 5 == 0, "IpProtocol": "tcp" if port else "-1",
                "FromPort": port or -1, "ToPort": port or -1, "Description": f"rule {i}" if i % 3 else ""}
        if changed and i % 100 == 2:
            rule["Description"] = "edited in place"
        kind = i % 4
        if kind == 0:
            rule["CidrIpv4"] = f"10.{i % 256}.{(i // 256) % 256}.0/24"
        elif kind == 1:
            rule["CidrIpv6"] = f"2001:db8:{i % 65536:x}::/64"
        elif kind == 2:
            rule["PrefixListId"] = f"pl-{i % 1000:08x}"
        else:
            rule["ReferencedGroupInfo"] = {"GroupId": f"sg-{(i * 7) % GROUPS:017x}", "UserId": ACCOUNT}
        yield rule
    if changed:
        for i in range(RULES // 100):
            yield {"SecurityGroupRuleId": f"sgr-new{i:014x}", "GroupId": f"sg-{i % GROUPS:017x}",
                   "GroupOwnerId": ACCOUNT, "IsEgress": False, "IpProtocol": "tcp", "FromPort": 9000 + i % 100,
                   "ToPort": 9000 + i % 100, "CidrIpv4": "192.0.2.0/24"}


def pipeline(group_list, before_rules, after_rules) -> None:
    previous = to_csv(SNAPSHOT_HEADER, flatten_rules(ACCOUNT, REGION, group_list, before_rules))
    current = to_csv(SNAPSHOT_HEADER, flatten_rules(ACCOUNT, REGION, group_list, after_rules))
    changes = diff_snapshot_lines(previous.data_lines(), current.data_lines())
    to_csv(DIFF_HEADER, changes.rows)


def floor(previous_rows, current_rows) -> None:
    for rows in (previous_rows, current_rows):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(SNAPSHOT_HEADER)
        writer.writerows(rows)
        list(csv.reader(io.StringIO(buffer.getvalue())))


def one_run(group_list, current_rules, previous_doc) -> int:
    """As sgwatch.snapshots.record_snapshot does it, minus the S3 calls."""
    current = to_csv(SNAPSHOT_HEADER, flatten_rules(ACCOUNT, REGION, group_list, current_rules))
    verify(previous_doc.body, SNAPSHOT_HEADER, previous_doc.rows, previous_doc.sha256)
    changes = diff_snapshot_lines(previous_doc.data_lines(), current.data_lines())
    to_csv(DIFF_HEADER, changes.rows)
    return len(changes.rows)


def best_of(n, fn, *args) -> float:
    times = []
    for _ in range(n):
        gc.collect()
        start = time.process_time()
        fn(*args)
        times.append(time.process_time() - start)
    return min(times)


def memory_child(previous_csv: str) -> None:
    """One scheduled run in a fresh process; prints its peak RSS in MB."""
    import hashlib

    import boto3  # noqa: F401  (a Lambda run has it loaded: count its memory too)

    body = Path(previous_csv).read_bytes()
    doc = CsvDocument(body, body.count(b"\n") - 1, hashlib.sha256(body).hexdigest())
    one_run(groups(), rules(changed=True), doc)
    print(peak_rss_mb())


def peak_rss_mb() -> float:
    """High-water mark of this process's memory (VmHWM; getrusage would include the forking parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2])
        return 0
    group_list = groups()
    before, after = list(rules()), list(rules(changed=True))
    previous_rows = flatten_rules(ACCOUNT, REGION, group_list, before)
    current_rows = flatten_rules(ACCOUNT, REGION, group_list, after)
    diff_rows = len(diff_snapshots(previous_rows, current_rows).rows)
    previous_doc = to_csv(SNAPSHOT_HEADER, previous_rows)

    t_pipeline = best_of(5, pipeline, group_list, before, after)
    t_floor = best_of(5, floor, previous_rows, current_rows)
    t_run = best_of(5, one_run, group_list, after, previous_doc)

    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        f.write(previous_doc.body)
        f.flush()
        child = subprocess.run([sys.executable, __file__, "--memory-child", f.name], capture_output=True,
                               text=True, check=True)
    peak_mb = float(child.stdout.strip())

    ratio = t_pipeline / t_floor
    per_100k = t_pipeline / 2 * 100_000 / RULES
    print(f"estate: {GROUPS} groups, {len(before)} rules -> {len(after)} rules, {diff_rows} diff rows")
    print(f"pipeline (flatten x2 + diff + 3 CSVs)      : {t_pipeline:.3f} s CPU")
    print(f"floor    (csv module: write x2 + read x2)  : {t_floor:.3f} s CPU")
    print(f"ratio pipeline/floor                       : {ratio:.2f}   (target <= 1.5)")
    print(f"pipeline per 100k-rule snapshot            : {per_100k:.3f} s CPU (target <= 1 s)")
    print(f"one scheduled run (incl. re-read previous) : {t_run:.3f} s CPU")
    print(f"peak RSS of one run (child, boto3 loaded)   : {peak_mb:.0f} MB  (target <= 200 MB)")
    met = ratio <= 1.5 and per_100k <= 1.0 and peak_mb <= 200
    print("targets: met" if met else "targets: MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
