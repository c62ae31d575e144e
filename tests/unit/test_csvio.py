"""CSV documents: integrity checks that hold for every value, and cells no spreadsheet runs."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from hypothesis import given, settings, strategies as st
from moto import mock_aws

from sgwatch import csvio, evidence
from sgwatch.rules import SNAPSHOT_HEADER, flatten_rule_rows
from sgwatch.sg_inventory import record

ACCOUNT, REGION, BUCKET, PREFIX = "111122223333", "eu-west-1", "evidence", "security-groups/"
GROUP = {"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1", "Description": "web tier"}


def rule(rule_id: str, port: int, description: str) -> dict:
    return {"GroupId": "sg-1", "SecurityGroupRuleId": rule_id, "IsEgress": False, "IpProtocol": "tcp",
            "FromPort": port, "ToPort": port, "CidrIpv4": "10.0.0.0/8", "Description": description}


# --------------------------------------------------------------------------- line breaks inside fields


@pytest.mark.parametrize(
    "description", ["line one\nline two", "crlf\r\nend", "carriage\rreturn", '"quoted"\nand, comma', "\n"]
)
def test_a_document_with_a_line_break_inside_a_field_verifies(description: str) -> None:
    # given a snapshot whose rule description holds a line break (the API allows it)
    rows = flatten_rule_rows(ACCOUNT, REGION, [GROUP], [rule("sgr-1", 22, description), rule("sgr-2", 443, "")])
    doc = csvio.to_csv(SNAPSHOT_HEADER, rows)
    # when it is verified against the row count and digest recorded at write time / then it is whole
    csvio.verify(doc.body, SNAPSHOT_HEADER, doc.rows, doc.sha256)
    # and its data lines are its records, one per row, read back as written
    assert [tuple(next(csv.reader([line]))) for line in doc.data_lines()] == [tuple(r) for r in rows]
    assert csvio.from_csv(doc.body, SNAPSHOT_HEADER, doc.rows, doc.sha256) == [tuple(r) for r in rows]


def test_a_document_missing_a_record_still_fails_the_row_count() -> None:
    rows = flatten_rule_rows(ACCOUNT, REGION, [GROUP], [rule("sgr-1", 22, "a\nb"), rule("sgr-2", 443, "c\nd")])
    doc = csvio.to_csv(SNAPSHOT_HEADER, rows)
    with pytest.raises(csvio.CsvFormatError, match="row count"):
        csvio.verify(doc.body, SNAPSHOT_HEADER, doc.rows + 1, doc.sha256)


def test_the_diff_chain_holds_across_a_description_with_a_line_break() -> None:
    # given a snapshot holding a multi-line description, then runs that change other rules
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        store, t0 = evidence.EvidenceStore(BUCKET), datetime(2026, 11, 1, 6, tzinfo=UTC)
        multi = rule("sgr-1", 22, "bastion\nticket OPS-1")
        runs = [
            [multi],
            [multi, rule("sgr-2", 443, "web\rold")],
            [rule("sgr-1", 22, "bastion\nticket OPS-2"), rule("sgr-2", 443, "web\rold")],
            [rule("sgr-1", 22, "bastion\nticket OPS-2"), rule("sgr-2", 443, "web\rnew")],
        ]
        results = [
            record.record_snapshot(store, PREFIX, ACCOUNT, REGION, flatten_rule_rows(ACCOUNT, REGION, [GROUP], r),
                                      t0 + timedelta(hours=i))
            for i, r in enumerate(runs)
        ]
    # then every later run diffs against the one before: no new baseline, no gap
    assert [(r.previous_error, r.diff_key is not None) for r in results] == [(None, False)] + [(None, True)] * 3
    assert [(r.diff.added, r.diff.updated, r.diff.removed) for r in results[1:]] == [(1, 0, 0), (0, 1, 0), (0, 1, 0)]
    assert [row[-1] for row in results[2].diff.rows] == ["bastion\nticket OPS-1", "bastion\nticket OPS-2"]
    assert [row[-1] for row in results[3].diff.rows] == ["web\rold", "web\rnew"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=3, max_size=3), max_size=8))
def test_any_document_verifies_and_its_data_lines_are_its_records(rows: list[list[str]]) -> None:
    header = ("a", "b", "c")
    doc = csvio.to_csv(header, rows)
    csvio.verify(doc.body, header, doc.rows, doc.sha256)
    assert [tuple(next(csv.reader([line]))) for line in doc.data_lines()] == csvio.from_csv(doc.body, header, doc.rows)


# --------------------------------------------------------------------------- formula injection


def starts_a_formula(cell: str) -> bool:
    """What a spreadsheet runs: a cell starting with = + - @ tab or CR, unless it is a plain number."""
    return cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell)


def read_cells(doc: csvio.CsvDocument) -> list[list[str]]:
    return list(csv.reader(io.StringIO(doc.body.decode("utf-8"), newline="")))[1:]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=3, max_size=3), min_size=1, max_size=8))
def test_no_cell_of_any_document_starts_a_formula(rows: list[list[str]]) -> None:
    # given any cells at all, in any column / when written / then a spreadsheet runs none of them
    cells = read_cells(csvio.to_csv(("a", "b", "c"), rows))
    assert len(cells) == len(rows)
    assert not [cell for row in cells for cell in row if starts_a_formula(cell)]
    # and each cell is the value written, or that value behind one quote
    assert all(
        cell in (value, "'" + value)
        for row, given_row in zip(cells, rows, strict=False)
        for cell, value in zip(row, given_row, strict=False)
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
     ("@SUM(1)", "'@SUM(1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=already", "'=already"),
     ("-1", "-1"), ("-1.5", "-1.5"), ("+3", "+3"), ("0", "0"), ("", ""), ("tcp", "tcp")],
)
def test_a_cell_is_written_behind_a_quote_only_when_a_spreadsheet_would_run_it(value: str, written: str) -> None:
    assert read_cells(csvio.to_csv(("a", "b"), [(value, "x")])) == [[written, "x"]]
    assert csvio.neutralise(value) == written


def test_the_rule_models_all_traffic_rows_keep_their_numbers() -> None:
    rows = flatten_rule_rows(ACCOUNT, REGION, [GROUP], [dict(rule("sgr-1", -1, "=evil"), IpProtocol="-1")])
    (cells,) = read_cells(csvio.to_csv(SNAPSHOT_HEADER, rows))
    record = dict(zip(SNAPSHOT_HEADER, cells, strict=False))
    assert (record["Protocol"], record["FromPort"], record["ToPort"]) == ("-1", "-1", "-1")
    assert record["RuleDescription"] == "'=evil" and tuple(cells) == rows[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from('ab ,"\n-1=x'), max_size=6), min_size=1, max_size=4),
                max_size=8))
def test_the_document_is_what_csv_writer_writes_of_the_neutralised_cells(rows: list[list[str]]) -> None:
    # given any cells (commas, quotes, line breaks, single empty cells), when written
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(("A", "B"))
    writer.writerows([csvio.neutralise(c) for c in row] for row in rows)
    # then the bytes are csv.writer's, whichever way each row went
    assert csvio.to_csv(("A", "B"), rows).body == expected.getvalue().encode("utf-8")
