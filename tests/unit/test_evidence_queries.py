"""The evidence tables and named queries of modules/evidence-queries, over evidence the shipped code writes.

Athena is not emulated, so this test plays its part (tests/athena_tables.py): for every table it computes the locations
partition projection computes from the table's ``storage.location.template`` (modules/evidence-queries/
tables.json, which the module deploys), lists what lies there as Athena does, and loads it into DuckDB (an
embedded engine, with the tables' own columns and the ``$path`` and partition columns Athena adds). The named
queries (modules/evidence-queries/queries/*.sql, deployed as they are) are written in SQL both Trino (Athena
engine 3) and DuckDB accept, so the rows asserted here are the rows Athena returns over the same objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from moto import mock_aws

from sgwatch.csvio import to_csv
from sgwatch.diff import DIFF_HEADER
from sgwatch.evidence import KINDS, RULE_REVIEW, EvidenceStore, put_beside_snapshot, series_prefix
from sgwatch.exposure_report import EXPOSURE_HEADER
from sgwatch.rule_review import REVIEW_HEADER
from sgwatch.rules import SNAPSHOT_HEADER
from sgwatch.sg_inventory.record import record_exposure, record_snapshot
from sgwatch.unused_sg_audit import audit
from sgwatch.unused_sg_audit.usage import REPORT_CSV_HEADER
from tests import athena_tables
from unused_sg_audit import handler as unused_handler

from .test_review import WEB_EGRESS, WEB_HTTPS, WEB_SSH, internet_facing, rule
from .test_sg_change_alerts import BUCKET, DEPLOYER, OWN, PREFIX, Env, _as, _iac_group, _world, run

MODULE = Path(__file__).resolve().parents[2] / "modules" / "evidence-queries"
TABLES: dict[str, dict[str, Any]] = json.loads((MODULE / "tables.json").read_text())
QUERIES = {p.stem: p.read_text() for p in sorted((MODULE / "queries").glob("*.sql"))}
OTHER = "210987654321"
# tests/unit/conftest.py's offline credentials, for the module-scoped estate
OFFLINE = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
REGION = "us-east-1"
PAIRS = [(OWN, REGION), (OTHER, "eu-west-1")]
HEADERS = {"snapshots": SNAPSHOT_HEADER, "diffs": DIFF_HEADER, "exposure": EXPOSURE_HEADER,
           "rule_review": REVIEW_HEADER, "unused": REPORT_CSV_HEADER}
TERRAFORM = "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"
CLI = "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.9"


def location(table: str, account: str, region: str, day: str | None = None) -> str:
    """The key prefix partition projection reads for one partition (the template, under the evidence prefix)."""
    return athena_tables.projected(PREFIX + TABLES[table]["location"], account, region, day)


def kind(table: str) -> str:
    return TABLES[table]["location"].split("/")[2]


def snake(header: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", header).lower()


# --- the tables are the key layout and the headers the code writes -----------------------------------


@pytest.mark.parametrize("table", sorted(TABLES))
def test_projected_locations_are_the_folders_the_code_writes(table: str) -> None:
    # given sample partitions, when projection computes their locations, then each is the kind's series folder
    assert kind(table) in KINDS
    for account, region in PAIRS:
        series = series_prefix(PREFIX, account, region, kind(table))
        if "${part_day}" in TABLES[table]["location"]:
            assert location(table, account, region, "2026/03/09") == series + "2026/03/09/"
        else:
            assert location(table, account, region) == series


@pytest.mark.parametrize("table", sorted(HEADERS))
def test_csv_columns_are_the_headers_the_code_writes_in_their_order(table: str) -> None:
    assert [c["name"] for c in TABLES[table]["columns"]] == [snake(h) for h in HEADERS[table]]


# --- an estate's evidence, written by the shipped code paths ---------------------------------------------


class Frozen(datetime):
    moment = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> Frozen:  # type: ignore[override]
        return cls.moment  # type: ignore[return-value]


def at(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


TODAY = datetime.now(UTC).date()
DAYS = [TODAY - timedelta(days=n) for n in (4, 3, 2, 1)]  # the gaps period: OWN has no snapshot on DAYS[2]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Written once for the module's tests, which only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in OFFLINE.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        boto3.DEFAULT_SESSION = None
        with mock_aws():
            yield from _estate(monkeypatch, tmp_path_factory.mktemp("athena"))


def _estate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if True:
        env = Env(monkeypatch)
        store = EvidenceStore(BUCKET, env.s3)
        # the inventory: OWN opens SSH to the world before its last snapshot, OTHER has a world-open HTTPS rule
        own = [r._replace(account_id=OWN, region=REGION) for r in (WEB_HTTPS, WEB_EGRESS)]
        opened = sorted([*own, WEB_SSH._replace(account_id=OWN, region=REGION)])
        other = [r._replace(account_id=OTHER, region="eu-west-1") for r in
                 (WEB_HTTPS, rule("sg-db", "ingress", "sgr-5", "tcp", "5432", "5432", "10.0.0.0/16"))]
        for day in DAYS:
            if day != DAYS[2]:  # SSH open on the first day (instance i-old), closed, open again on the last (i-web)
                rules = opened if day in (DAYS[0], DAYS[3]) else own
                snapshot = record_snapshot(store, PREFIX, OWN, REGION, rules, at(day))
                found = internet_facing("sg-web", instance="i-web" if day == DAYS[3] else "i-old")
                record_exposure(store, PREFIX, OWN, REGION, str(snapshot.snapshot_key), rules, found)
            snapshot = record_snapshot(store, PREFIX, OTHER, "eu-west-1", other, at(day, 7))
        put_beside_snapshot(store, PREFIX, OTHER, "eu-west-1", RULE_REVIEW, str(snapshot.snapshot_key),
                            to_csv(REVIEW_HEADER, []), "rule review")
        # the change notifier: an approved Terraform change and a manual CLI change to an IaC-managed group
        monkeypatch.setenv("APPROVED_CHANGE_PRINCIPALS", f"arn:aws:iam::{OWN}:role/deploy*")
        monkeypatch.setenv("IAC_MANAGED_TAG_KEYS", "ManagedBy")
        group = _iac_group(env)
        for event_id, who, agent, when in (("evt-approved-1", DEPLOYER, TERRAFORM, at(DAYS[0], 10)),
                                           ("evt-manual-1", f"arn:aws:iam::{OWN}:role/ops", CLI, at(DAYS[1], 11))):
            event = _as(_world(group, event_id, port=443 if who == DEPLOYER else 22), who, agent)
            event["detail"]["eventTime"] = event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert run(event)["published"] is True
        # the unused-group audit, run 120 and 100 days ago and today: "idle" unused throughout, "late" since today
        vpc = env.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        idle = env.ec2.create_security_group(GroupName="idle", Description="idle", VpcId=vpc)["GroupId"]
        monkeypatch.setattr(audit, "datetime", Frozen)
        for key, value in {"EVIDENCE_BUCKET": BUCKET, "REGIONS": REGION, "GRACE_DAYS": "0",
                           "ALLOW_PARTIAL": "true"}.items():
            monkeypatch.setenv(key, value)
        late = ""
        for days_ago in (120, 100, 0):
            if days_ago == 0:
                late = env.ec2.create_security_group(GroupName="late", Description="late", VpcId=vpc)["GroupId"]
            Frozen.moment = datetime.now(UTC) - timedelta(days=days_ago)
            unused_handler.lambda_handler({}, None)
        connection, read = athena(store, tmp_path)
        yield {"store": store, "connection": connection, "read": read, "group": group, "idle": idle, "late": late}


def athena(store: EvidenceStore, folder: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, set[str]]]:
    """DuckDB holding each table as Athena reads it over the store, at the events' days; and the keys each read."""
    days = sorted({k.split("/events/")[1].rsplit("/", 1)[0] for k in store.keys(PREFIX) if "/events/" in k})
    tables = {name: {**spec, "location": PREFIX + spec["location"]} for name, spec in TABLES.items()}
    return athena_tables.load(tables, PAIRS, days, BUCKET, store.keys, lambda key: store.get(key).body, folder)


def query(estate: dict[str, Any], name: str, *parameters: Any) -> list[tuple[Any, ...]]:
    return estate["connection"].execute(QUERIES[name], list(parameters)).fetchall()


def test_every_written_object_of_a_table_kind_is_at_a_projected_location(estate: dict[str, Any]) -> None:
    assert sorted(estate["read"]) == sorted(TABLES)  # the estate holds evidence of every table
    for table in TABLES:
        written = {k for a, r in PAIRS for k in estate["store"].keys(series_prefix(PREFIX, a, r, kind(table)))
                   if TABLES[table]["format"] != "csv" or k.endswith(".csv")}
        assert estate["read"][table] == written, table


# --- the named queries ----------------------------------------------------------------------------------


def test_world_open_rules_now_are_those_of_each_latest_snapshot(estate: dict[str, Any]) -> None:
    # given OWN's latest snapshot opened SSH to the world and OTHER's holds a world-open HTTPS rule
    rows = query(estate, "world_open_rules_now")
    # then every world-open rule of each latest snapshot, and none of an older one
    assert [(r[0], r[1], r[3], r[6], r[8], r[10]) for r in rows] == [
        (OWN, REGION, "sg-web", "sgr-1", "443", "0.0.0.0/0"),
        (OWN, REGION, "sg-web", "sgr-2", "", "0.0.0.0/0"),
        (OWN, REGION, "sg-web", "sgr-9", "22", "0.0.0.0/0"),
        (OTHER, "eu-west-1", "sg-web", "sgr-1", "443", "0.0.0.0/0"),
    ]
    assert rows[2][11] == "'=HYPERLINK(\"x\")"  # the cell as stored: neutralised, never a formula


def test_critical_exposure_now_is_that_of_the_latest_snapshot_only(estate: dict[str, Any]) -> None:
    # given SSH open to the world on the first day's i-old and on the latest snapshot's i-web
    rows = query(estate, "critical_exposure_now")
    # then only the latest report's CRITICAL exposure is "now"
    assert [(r[0], r[2], r[4], r[10], r[12]) for r in rows] == [(OWN, "sg-web", "sgr-9", "i-web", "198.51.100.10")]


def test_changes_by_origin_and_change_control_in_a_period(estate: dict[str, Any]) -> None:
    first, last = (d.strftime("%Y/%m/%d") for d in (DAYS[0], DAYS[1]))
    assert query(estate, "changes_by_origin", first, last) == [
        (OWN, "cli", "out-of-band", 1), (OWN, "terraform", "approved", 1)]
    assert query(estate, "changes_by_origin", first, first) == [(OWN, "terraform", "approved", 1)]


def test_manual_changes_to_iac_managed_groups_in_a_period(estate: dict[str, Any]) -> None:
    first, last = (d.strftime("%Y/%m/%d") for d in (DAYS[0], DAYS[3]))
    rows = query(estate, "manual_changes_to_iac_groups", first, last)
    # then the CLI change by ops is listed, not the approved Terraform change
    assert [(r[1], r[3], r[5], r[6], r[7], r[9]) for r in rows] == [
        (OWN, estate["group"], f"arn:aws:iam::{OWN}:role/ops", "cli", "out-of-band", "evt-manual-1")]
    assert query(estate, "manual_changes_to_iac_groups", first, first) == []


def test_groups_unused_for_90_days(estate: dict[str, Any]) -> None:
    # given audits 120 and 100 days ago and today; "late" was created (and unused) only before today's
    rows = query(estate, "unused_for_90_days")
    # then the groups unused in every report since the one 120 days ago, not "late", nor the default group
    since = (datetime.now(UTC) - timedelta(days=120)).date().isoformat()
    assert sorted((r[2], r[3], r[5]) for r in rows) == sorted(
        [(estate["group"], "iac", since), (estate["idle"], "idle", since)])
    assert estate["late"] not in {r[2] for r in rows}


def test_evidence_gaps_are_the_days_an_account_region_has_no_snapshot(estate: dict[str, Any]) -> None:
    rows = query(estate, "evidence_gaps", DAYS[0].isoformat(), 4)
    assert rows == [(OWN, REGION, DAYS[2].isoformat())]
    assert query(estate, "evidence_gaps", DAYS[3].isoformat(), 1) == []


def test_named_queries_are_six_with_a_description_line() -> None:
    assert sorted(QUERIES) == ["changes_by_origin", "critical_exposure_now", "evidence_gaps",
                               "manual_changes_to_iac_groups", "unused_for_90_days", "world_open_rules_now"]
    assert all(text.startswith("-- ") for text in QUERIES.values())
