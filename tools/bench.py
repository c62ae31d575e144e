#!/usr/bin/env python3
"""Benchmark of the inventory pipeline on a synthetic estate (in process, no AWS).

Estate: 10,000 groups and 100,000 rules shaped like DescribeSecurityGroups /
DescribeSecurityGroupRules responses. The second snapshot edits 1% of the rules in
place, removes 1% and adds 1%. CPU time, best of 5.

  pipeline  flatten two snapshots, write both CSVs, diff them (only differing lines are
            parsed), write the diff CSV
  floor     the bare csv module writing those two snapshot CSVs and reading them back
  run       what one scheduled run does: flatten + write the current snapshot and its group
            index, read and validate the previous one from its CSV, diff, write the diff
  memory    peak RSS of a child process doing one such run with the describe pages
            arriving as a stream (as the paginator delivers them), exposure report included
  exposure  what the run adds for the exposure report: the region's exposure read from
            its describe pages (sgwatch.exposure.look_up) and the report built and written
            to CSV from the snapshot's rows; against "run", and the describe pages it reads
            (the paginators' largest pages) against those of the snapshot

The exposure estate: 20,000 network interfaces (two groups each, one in five with a public
IPv4 address, over 50 VPCs with a main, a public and a private route table each) and 300 load
balancers (200 internet-facing); 2.5% of the rules are open to the world or a wide public range.
CPU only: the describe pages come from memory, neither the network nor botocore's parsing of
the responses is counted (as for the rules above).

Targets: pipeline/floor <= 1.5; <= 1 s CPU per 100k rules; peak RSS <= 200 MB;
exposure <= 15% more time than a run and <= 5 extra describe pages per 1,000 interfaces.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sgwatch import exposure
from sgwatch.csvio import CsvDocument, to_csv, verify
from sgwatch.diff import DIFF_HEADER, diff_snapshot_lines, diff_snapshots
from sgwatch.exposure_report import EXPOSURE_HEADER, exposure_rows
from sgwatch.rules import SNAPSHOT_HEADER, Row, flatten_rule_rows as flatten_rules
from sgwatch.snapshots import GROUP_INDEX_HEADER, group_spans

GROUPS, RULES = 10_000, 100_000
INTERFACES, VPCS, LOAD_BALANCERS = 20_000, 50, 300
SNAPSHOT_PAGES = math.ceil(GROUPS / 1000) + math.ceil(RULES / 1000)  # DescribeSecurityGroups(Rules), 1,000 a page
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
        if kind == 0 and i % 40 == 0:
            rule["CidrIpv4"] = "0.0.0.0/0"
        elif kind == 0 and i % 40 == 20:
            rule["CidrIpv4"] = f"{20 + i % 150}.{(i // 256) % 256}.0.0/16"
        elif kind == 0:
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


def _group_id(n: int) -> str:
    return f"sg-{n % GROUPS:017x}"


def network_interfaces() -> Iterator[dict[str, Any]]:
    """DescribeNetworkInterfaces items, one by one: subnets 0-1 of a VPC public, 2-3 private, 4-5 on the main table."""
    for n in range(INTERFACES):
        vpc, subnet = n % VPCS, (n // VPCS) % 6
        item: dict[str, Any] = {
            "NetworkInterfaceId": f"eni-{n:017x}", "SubnetId": f"subnet-{vpc:04x}{subnet:04x}",
            "VpcId": f"vpc-{vpc:08x}", "Status": "in-use", "InterfaceType": "interface", "Description": "",
            "PrivateIpAddress": "10.0.0.1",
            "Groups": [{"GroupId": _group_id(g), "GroupName": "g"} for g in (n, n * 3 + 1)],
            "Ipv6Addresses": [], "Attachment": {"InstanceId": f"i-{n:017x}", "Status": "attached", "DeviceIndex": 0},
        }
        if n % 5 == 0:
            item["Association"] = {"PublicIp": f"198.51.{(n // 256) % 256}.{n % 256}", "IpOwnerId": "amazon"}
        yield item


def route_tables() -> list[dict[str, Any]]:
    tables = []
    for vpc in range(VPCS):

        def table(kind: str, subnets: Sequence[int], route: dict[str, str], vpc: int = vpc) -> dict[str, Any]:
            table_id = f"rtb-{kind}{vpc:08x}"
            associations: list[dict[str, Any]] = [
                {"RouteTableId": table_id, "SubnetId": f"subnet-{vpc:04x}{s:04x}", "Main": False,
                 "AssociationState": {"State": "associated"}} for s in subnets]
            if not subnets:
                associations.append({"RouteTableId": table_id, "Main": True,
                                     "AssociationState": {"State": "associated"}})
            local = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
            return {"RouteTableId": table_id, "VpcId": f"vpc-{vpc:08x}", "Associations": associations,
                    "Routes": [local, route] if route else [local]}

        tables += [
            table("main", (), {}),
            table("pub", (0, 1), {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": f"igw-{vpc:08x}",
                                  "State": "active"}),
            table("priv", (2, 3), {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": f"nat-{vpc:08x}",
                                   "State": "active"}),
        ]
    return tables


def load_balancers() -> list[dict[str, Any]]:
    return [{"LoadBalancerName": f"lb-{k}", "Scheme": "internet-facing" if k % 3 else "internal",
             "LoadBalancerArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/lb-{k}/{k:016x}",
             "SecurityGroups": [_group_id(k * 33)], "Type": "application", "VpcId": f"vpc-{k % VPCS:08x}"}
            for k in range(LOAD_BALANCERS)]


class PagedEstate:
    """An :data:`sgwatch.exposure.Fetch` over the estate above, in the pages the paginators ask for, counted.

    ``streamed``: the interfaces are made as they are read (for memory); else they are made once, up
    front, like the rules the timings read.
    """

    def __init__(self, streamed: bool = False) -> None:
        self.pages = 0
        self._tables, self._balancers = route_tables(), load_balancers()
        self._interfaces = None if streamed else list(network_interfaces())

    def __call__(self, call: exposure.DescribeCall, values: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        items: Any = {"DescribeNetworkInterfaces": lambda: self._interfaces or network_interfaces(),
                      "DescribeRouteTables": lambda: self._tables,
                      "DescribeLoadBalancers": lambda: self._balancers}[call.operation]()
        page_size = call.request(values)["PaginationConfig"]["PageSize"]
        count = 0
        for count, item in enumerate(items, 1):
            if count % page_size == 1:
                self.pages += 1
            yield item
        if count == 0:
            self.pages += 1  # an empty answer is one page too


def exposure_step(current_rows: list[Row], fetch: PagedEstate) -> int:
    """What a run adds for the exposure report, minus the S3 call: look up, rate, write the CSV."""
    found = exposure.look_up(fetch)
    return to_csv(EXPOSURE_HEADER, exposure_rows(current_rows, found)).rows


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


def one_run(group_list, current_rules, previous_doc, with_exposure: bool = False) -> int:
    """As sgwatch.snapshots.record_snapshot does it, group index included (and record_exposure, ``with_exposure``),
    minus the S3 calls."""
    rows = flatten_rules(ACCOUNT, REGION, group_list, current_rules)
    current = to_csv(SNAPSHOT_HEADER, rows)
    lines = current.data_lines()
    to_csv(GROUP_INDEX_HEADER, group_spans(current, lines))
    verify(previous_doc.body, SNAPSHOT_HEADER, previous_doc.rows, previous_doc.sha256)
    changes = diff_snapshot_lines(previous_doc.data_lines(), lines)
    to_csv(DIFF_HEADER, changes.rows)
    if with_exposure:
        exposure_step(rows, PagedEstate(streamed=True))
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
    one_run(groups(), rules(changed=True), doc, with_exposure=True)
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
    paged = PagedEstate()
    exposure_rows_written = exposure_step(current_rows, paged)
    exposure_pages, paged.pages = paged.pages, 0
    t_exposure = best_of(5, exposure_step, current_rows, paged)

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
    print(f"peak RSS of one run (child, boto3 loaded)   : {peak_mb:.0f} MB  (target <= 200 MB, exposure included)")
    added, per_1000 = t_exposure / t_run, exposure_pages / (INTERFACES / 1000)
    print(f"exposure estate: {INTERFACES} interfaces, {len(route_tables())} route tables, {LOAD_BALANCERS} load "
          f"balancers -> {exposure_rows_written} report rows")
    print(f"exposure added to one run                  : {t_exposure:.3f} s CPU = {added:.1%} of the run "
          "(target <= 15%)")
    print(f"exposure describe pages                    : {exposure_pages} (snapshot: {SNAPSHOT_PAGES}, "
          f"+{exposure_pages / SNAPSHOT_PAGES:.0%}) = {per_1000:.2f} per 1,000 interfaces (target <= 5)")
    met = ratio <= 1.5 and per_100k <= 1.0 and peak_mb <= 200 and added <= 0.15 and per_1000 <= 5
    print("targets: met" if met else "targets: MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
