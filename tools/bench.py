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
  review    what the run adds for the rule review (sgwatch.rule_review_state): the previous run's
            state read, the groups that can have changed reviewed (justification, expiry, stale
            prefix lists, shadowed rules, duplicate groups), the others' lines copied from the previous
            report, the report and the next state made, against the run as the function spends it:
            "run" and botocore's parsing of the run's DescribeSecurityGroups and
            DescribeSecurityGroupRules responses (serialised as EC2 sends them, tags included, by
            moto's serializer of the service model). The previous run reviewed the previous snapshot
            the day before (the default schedule). Printed beside it: the share of "run" alone, and
            the first run's review, every rule's findings written to CSV

``tools/bench.py --review`` prints "run" and "review" alone.

The exposure estate: 20,000 network interfaces (two groups each, one in five with a public
IPv4 address, over 50 VPCs with a main, a public and a private route table each), 300 load
balancers (200 internet-facing, each with two interfaces in a public subnet and two listeners;
one in five with tcp 8000-8100 open to the world on its group, whose listeners the report then
reads) and 25 Classic ones; 2.5% of the rules are open to the world or a wide public range, a
quarter name one of 30 prefix lists (25 customer-managed of private ranges, two of them with a
partner's public /28, and 5 AWS-managed; the default quota is 100 customer-managed lists a
region). The describe pages include the listeners and prefix lists read (one call per load
balancer or list, at least one page each).
CPU only: the describe pages come from memory, neither the network nor botocore's parsing of
the responses is counted (as for the rules above, except in the rule review's denominator).

The review estate: nine rules in ten carry a justification tag (one in twenty of those expiring
within the warning days, one in fifty expired), a third of the groups carry one, every prefix
list exists.

Targets: pipeline/floor <= 1.5; <= 1 s CPU per 100k rules; peak RSS <= 200 MB;
exposure <= 15% more time than a run and <= 5 extra describe pages per 1,000 interfaces;
rule review <= 10% more CPU than a run (describe responses parsed).
"""

from __future__ import annotations

import csv
import datetime
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
from sgwatch.justification import Sources
from sgwatch.rule_review import DEFAULT_WARNING_DAYS, REVIEW_HEADER, Region, review
from sgwatch.rule_review_state import Previous, Snapshot, parse_state, review_incrementally
from sgwatch.rules import SNAPSHOT_HEADER, Row, flatten_rule_rows as flatten_rules
from sgwatch.snapshots import GROUP_INDEX_HEADER, group_spans

GROUPS, RULES = 10_000, 100_000
INTERFACES, VPCS, LOAD_BALANCERS, CLASSIC_LOAD_BALANCERS, PREFIX_LISTS = 20_000, 50, 300, 25, 30
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
            rule["PrefixListId"] = f"pl-{i % PREFIX_LISTS:08x}"
        else:
            rule["ReferencedGroupInfo"] = {"GroupId": f"sg-{(i * 7) % GROUPS:017x}", "UserId": ACCOUNT}
        yield rule
    for k in range(0, LOAD_BALANCERS, 5):  # one load balancer in five: its group open to the world on 8000-8100
        yield {"SecurityGroupRuleId": f"sgr-lb{k:015x}", "GroupId": _lb_group(k), "GroupOwnerId": ACCOUNT,
               "IsEgress": False, "IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8100, "CidrIpv4": "0.0.0.0/0"}
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


def _lb_group(k: int) -> str:
    return _group_id(k * 33)


def load_balancers() -> list[dict[str, Any]]:
    return [{"LoadBalancerName": f"lb-{k}", "Scheme": "internet-facing" if k % 3 else "internal",
             "LoadBalancerArn": _lb_arn(k), "SecurityGroups": [_lb_group(k)], "Type": "application",
             "VpcId": f"vpc-{k % VPCS:08x}"}
            for k in range(LOAD_BALANCERS)]


def _lb_arn(k: int) -> str:
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/lb-{k}/{k:016x}"


def load_balancer_interfaces() -> list[dict[str, Any]]:
    """Two interfaces in a public subnet per internet-facing load balancer, carrying its group."""
    return [{"NetworkInterfaceId": f"eni-lb{k:05x}{n}", "SubnetId": f"subnet-{k % VPCS:04x}{n:04x}",
             "VpcId": f"vpc-{k % VPCS:08x}", "Status": "in-use", "InterfaceType": "interface",
             "Description": f"ELB app/lb-{k}/{k:016x}", "PrivateIpAddress": "10.0.0.2",
             "Groups": [{"GroupId": _lb_group(k), "GroupName": "lb"}], "Ipv6Addresses": [],
             "Association": {"PublicIp": f"203.0.{k % 256}.{n}", "IpOwnerId": "amazon"}}
            for k in range(LOAD_BALANCERS) if k % 3 for n in (0, 1)]


def classic_load_balancers() -> list[dict[str, Any]]:
    return [{"LoadBalancerName": f"clb-{k}", "Scheme": "internet-facing", "VPCId": f"vpc-{k % VPCS:08x}",
             "SecurityGroups": [_group_id(k * 77 + 5)], "SourceSecurityGroup": {"OwnerAlias": ACCOUNT,
                                                                                "GroupName": "clb"},
             "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80,
                                                    "InstanceProtocol": "HTTP", "InstancePort": 8080}}]}
            for k in range(CLASSIC_LOAD_BALANCERS)]


def listeners(arn: str) -> list[dict[str, Any]]:
    return [{"ListenerArn": f"{arn}/l{port}", "LoadBalancerArn": arn, "Port": port, "Protocol": protocol}
            for port, protocol in ((80, "HTTP"), (443, "HTTPS"))]


def prefix_lists() -> list[dict[str, Any]]:
    return [{"PrefixListId": f"pl-{n:08x}", "AddressFamily": "IPv4", "State": "create-complete",
             "PrefixListName": f"com.amazonaws.{REGION}.s3" if n >= 25 else f"partners-{n}",
             "OwnerId": "AWS" if n >= 25 else ACCOUNT, "MaxEntries": 20}
            for n in range(PREFIX_LISTS)]


def prefix_list_entries(pl_id: str) -> list[dict[str, Any]]:
    """Private ranges (offices, peered VPCs); two lists also hold a partner's public /28."""
    n = int(pl_id[3:], 16)
    return [{"Cidr": f"{20 + n}.1.2.{16 * e}/28" if n < 2 and e < 2 else f"10.{n}.{e}.0/24"} for e in range(20)]


class PagedEstate:
    """An :data:`sgwatch.exposure.Fetch` over the estate above, in the pages the paginators ask for, counted.

    ``streamed``: the interfaces are made as they are read (for memory); else they are made once, up
    front, like the rules the timings read.
    """

    def __init__(self, streamed: bool = False) -> None:
        self.pages = 0
        self._tables, self._balancers, self._classic = route_tables(), load_balancers(), classic_load_balancers()
        self._lb_interfaces, self._lists = load_balancer_interfaces(), prefix_lists()
        self._interfaces = None if streamed else [*network_interfaces(), *self._lb_interfaces]

    def _all_interfaces(self) -> Any:
        if self._interfaces is not None:
            return self._interfaces
        return (i for part in (network_interfaces(), self._lb_interfaces) for i in part)

    def __call__(self, call: exposure.DescribeCall, values: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        items: Any = {
            "DescribeNetworkInterfaces": self._all_interfaces,
            "DescribeRouteTables": lambda: self._tables,
            "DescribeLoadBalancers": lambda: self._classic if call.service == "elb" else self._balancers,
            "DescribeListeners": lambda: listeners(values[0]),
            "DescribeManagedPrefixLists": lambda: [p for p in self._lists if p["PrefixListId"] in values],
            "GetManagedPrefixListEntries": lambda: prefix_list_entries(values[0]),
        }[call.operation]()
        page_size = call.request(values)["PaginationConfig"]["PageSize"]
        count = 0
        for count, item in enumerate(items, 1):
            if count % page_size == 1:
                self.pages += 1
            yield item
        if count == 0:
            self.pages += 1  # an empty answer is one page too


class CountedEstate(PagedEstate):
    """PagedEstate, recording the operation of each call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __call__(self, call: exposure.DescribeCall, values: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        self.calls.append(call.operation)
        return super().__call__(call, values)


def exposure_step(current_rows: list[Row], fetch: PagedEstate) -> int:
    """What a run adds for the exposure report, minus the S3 call: look up, rate, write the CSV."""
    found = exposure.look_up(fetch, rules=current_rows)
    return to_csv(EXPOSURE_HEADER, exposure_rows(current_rows, found)).rows


TODAY = datetime.date(2026, 12, 6)


def _rule_number(rule_id: str) -> int:
    """The number a rule of the estate was made from (its tags follow it from run to run)."""
    for head, base in (("sgr-new", RULES), ("sgr-lb", 2 * RULES), ("sgr-", 0)):
        if rule_id.startswith(head):
            return base + int(rule_id[len(head):], 16)
    raise ValueError(rule_id)


def review_sources(group_list: list[dict], rule_list: list[dict]) -> Sources:
    """The justifications of the review estate (see the module's docstring), by rule and group id."""
    def expires(i: int) -> str:
        return "2026-12-10" if i % 20 == 1 else "2026-01-01" if i % 50 == 3 else "2027-06-30"

    tagged = {r["SecurityGroupRuleId"]: {"justification": "business need", "owner": f"team-{i % 40}",
                                         "expires": expires(i)}
              for r in rule_list if (i := _rule_number(r["SecurityGroupRuleId"])) % 10}
    groups_tagged = {g["GroupId"]: {"justification": "tier", "owner": "platform"} for g in group_list[::3]}
    return Sources(rule_tags=tagged, group_tags=groups_tagged)


def review_step(current_rows: list[Row], sources: Sources) -> int:
    """What a run adds for the rule review, minus the S3 call and the stale lookup: the findings and their CSV."""
    region = Region(prefix_lists=frozenset(p["PrefixListId"] for p in prefix_lists()))
    return to_csv(REVIEW_HEADER, review(current_rows, sources, region, TODAY)).rows


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
    """As sgwatch.sg_inventory.record.record_snapshot does it, group index included (and record_exposure,
    ``with_exposure``), minus the S3 calls."""
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


def reviewed_snapshot(group_list: list[dict], rule_list: list[dict]) -> Snapshot:
    """A snapshot as the run has it when the review starts: its rows, its CSV body and its group index."""
    rows = flatten_rules(ACCOUNT, REGION, group_list, rule_list)
    doc = to_csv(SNAPSHOT_HEADER, rows)
    return Snapshot(rows, doc.body, group_spans(doc, doc.data_lines()))


def incremental_review_step(snapshot: Snapshot, sources: Sources, state: bytes, report: bytes) -> Any:
    """What a scheduled run adds for the rule review, minus the S3 calls and the stale lookup: the previous run's
    state parsed, the groups that can have changed reviewed, the report and the next state made."""
    region = Region(prefix_lists=frozenset(p["PrefixListId"] for p in prefix_lists()))
    return review_incrementally(snapshot, sources, region, TODAY, DEFAULT_WARNING_DAYS,
                                Previous(report, parse_state(state)))


def describe_responses(group_list: list[dict], rule_list: list[dict], sources: Sources) -> list[tuple[Any, bytes]]:
    """The run's DescribeSecurityGroups and DescribeSecurityGroupRules responses as EC2 sends them (moto's EC2
    serializer of the service model), 1,000 a page, each rule with its tags: (operation model, body) a page."""
    import botocore.session
    from moto.core.serialize import EC2Serializer
    from moto.core.utils import get_service_model

    ec2, moto_ec2 = botocore.session.get_session().get_service_model("ec2"), get_service_model("ec2")
    pages = []
    for operation, key, items in (("DescribeSecurityGroups", "SecurityGroups", group_list),
                                  ("DescribeSecurityGroupRules", "SecurityGroupRules", rule_list)):
        model = ec2.operation_model(operation)
        serializer = EC2Serializer(moto_ec2.operation_model(operation))
        for start in range(0, len(items), 1000):
            page = items[start:start + 1000]
            if key == "SecurityGroups":
                page = [{**g, "Tags": [{"Key": k, "Value": v} for k, v in (sources.group_tags or {}).get(
                    g["GroupId"], {}).items()]} for g in page]
            else:
                page = [{**r, "Tags": [{"Key": k, "Value": v} for k, v in (sources.rule_tags or {}).get(
                    r["SecurityGroupRuleId"], {}).items()]} for r in page]
            body = serializer.serialize({key: page, "NextToken": "next"})["body"]
            pages.append((model, body.encode() if isinstance(body, str) else body))
    return pages


def parse_step(pages: list[tuple[Any, bytes]]) -> int:
    """botocore's parsing of the describe responses, as the paginator does it for each page of a run."""
    from botocore.parsers import create_parser

    parser, parsed = create_parser("ec2"), 0
    for model, body in pages:
        answer = parser.parse({"body": body, "headers": {}, "status_code": 200}, model.output_shape)
        parsed += len(answer.get("SecurityGroups") or answer.get("SecurityGroupRules") or ())
    return parsed


def review_figure(group_list: list[dict], after: list[dict], current_rows: list[Row], t_run: float) -> bool:
    """Print what the rule review adds to one run, beside its target, and what the first run's (full) review
    costs; whether the target is met. The target holds against the run as the function spends it: the CPU of
    "run" and botocore's parsing of the describe responses the run reads (which "run" leaves out)."""
    sources = review_sources(group_list, after)
    pages = describe_responses(group_list, after, sources)
    if parse_step(pages) != len(group_list) + len(after):
        raise AssertionError("the describe responses did not parse back to the estate")
    t_parse = best_of(3, parse_step, pages)
    t_lambda = t_run + t_parse
    review_rows = review_step(current_rows, sources)
    t_review = best_of(5, review_step, current_rows, sources)
    # The previous run (the day before, the default schedule) reviewed the previous snapshot in full.
    before = list(rules())
    region = Region(prefix_lists=frozenset(p["PrefixListId"] for p in prefix_lists()))
    previous = review_incrementally(reviewed_snapshot(group_list, before), review_sources(group_list, before), region,
                                    TODAY - datetime.timedelta(days=1), DEFAULT_WARNING_DAYS, None)
    snapshot = reviewed_snapshot(group_list, after)
    done = incremental_review_step(snapshot, sources, previous.state, previous.doc.body)
    if done.doc.rows != review_rows:
        raise AssertionError(f"incremental review wrote {done.doc.rows} rows, the full review {review_rows}")
    t_incremental = best_of(5, incremental_review_step, snapshot, sources, previous.state, previous.doc.body)
    added = t_incremental / t_lambda
    print(f"describe responses parsed (botocore)       : {t_parse:.3f} s CPU, {len(pages)} pages with the tags; "
          f"the run with them: {t_lambda:.3f} s CPU")
    print(f"rule review, first run (every rule)        : {t_review:.3f} s CPU = {t_review / t_lambda:.1%} of the run "
          f"with parsing, {t_review / t_run:.1%} without; {review_rows} report rows")
    print(f"rule review added to one scheduled run     : {t_incremental:.3f} s CPU = {added:.1%} of the run with "
          f"parsing (target <= 10%), {t_incremental / t_run:.1%} without; {done.reviewed} of {done.groups} groups "
          f"reviewed, state {len(done.state) / 1e6:.1f} MB")
    return added <= 0.10


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2])
        return 0
    if sys.argv[1:] == ["--review"]:  # the rule review's figure only
        group_list, after = groups(), list(rules(changed=True))
        current_rows = flatten_rules(ACCOUNT, REGION, group_list, after)
        previous_doc = to_csv(SNAPSHOT_HEADER, flatten_rules(ACCOUNT, REGION, group_list, list(rules())))
        t_run = best_of(5, one_run, group_list, after, previous_doc)
        print(f"one scheduled run (incl. re-read previous) : {t_run:.3f} s CPU")
        met = review_figure(group_list, after, current_rows, t_run)
        print("targets: met" if met else "targets: MISSED")
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
    paged = CountedEstate()
    exposure_rows_written = exposure_step(current_rows, paged)
    exposure_pages, paged.pages = paged.pages, 0
    listener_calls, entry_calls, list_calls = (paged.calls.count(op) for op in (
        "DescribeListeners", "GetManagedPrefixListEntries", "DescribeManagedPrefixLists"))
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
    added, per_1000 = t_exposure / t_run, exposure_pages / ((INTERFACES + len(load_balancer_interfaces())) / 1000)
    interfaces = INTERFACES + len(load_balancer_interfaces())
    print(f"exposure estate: {interfaces} interfaces, {len(route_tables())} route tables, {LOAD_BALANCERS} load "
          f"balancers + {CLASSIC_LOAD_BALANCERS} Classic, {PREFIX_LISTS} prefix lists -> {exposure_rows_written} "
          "report rows")
    print(f"exposure calls beyond the four region-wide ones: {listener_calls} DescribeListeners, "
          f"{entry_calls} GetManagedPrefixListEntries, {list_calls} DescribeManagedPrefixLists")
    print(f"exposure added to one run                  : {t_exposure:.3f} s CPU = {added:.1%} of the run "
          "(target <= 15%)")
    print(f"exposure describe pages                    : {exposure_pages} (snapshot: {SNAPSHOT_PAGES}, "
          f"+{exposure_pages / SNAPSHOT_PAGES:.0%}) = {per_1000:.2f} per 1,000 interfaces (target <= 5)")
    review_met = review_figure(group_list, after, current_rows, t_run)
    met = ratio <= 1.5 and per_100k <= 1.0 and peak_mb <= 200 and added <= 0.15 and per_1000 <= 5 and review_met
    print("targets: met" if met else "targets: MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
