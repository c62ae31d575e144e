"""The evidence tables as Athena reads them, played by DuckDB (an embedded SQL engine): Athena is not emulated.

For each table, the partition locations partition projection computes from its location template, for the
sample partitions given; the objects right at each location (as Athena lists them); loaded into DuckDB with the
table's own columns and the partition columns and ``"$path"`` Athena adds. The unit tests (evidence the
functions' code writes in-process) and the module tests (evidence the shipped zips write, tables read from the
deployed Glue catalog) share it. The named queries are written in SQL both Trino (Athena engine 3) and DuckDB
accept, so the rows DuckDB returns here are the rows Athena returns over the same objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

NEVER = "\x01never\x01"  # OpenCSVSerde reads an empty cell as '', never NULL: DuckDB must not either


def projected(template: str, account: str, region: str, day: str | None = None) -> str:
    """The location partition projection computes for one partition from a ``storage.location.template``."""
    values = {"part_account": account, "part_region": region, "part_day": day}
    found = re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), template)
    assert "None" not in found, f"{template} projects a partition column it was not given"
    return found


def duck_type(hive: str) -> str:
    if hive.startswith("array<"):
        return duck_type(hive[6:-1]) + "[]"
    if hive.startswith("struct<"):
        fields = [f.split(":", 1) for f in hive[7:-1].split(",")]
        return "STRUCT(" + ", ".join(f"{name} {duck_type(t)}" for name, t in fields) + ")"
    return {"string": "VARCHAR", "boolean": "BOOLEAN", "bigint": "BIGINT"}[hive]


def load(
    tables: dict[str, dict[str, Any]],
    partitions: Iterable[tuple[str, str]],
    days: Iterable[str],
    bucket: str,
    keys: Callable[[str], Iterable[str]],
    body: Callable[[str], bytes],
    folder: Path,
) -> tuple[duckdb.DuckDBPyConnection, dict[str, set[str]]]:
    """DuckDB holding each table as Athena reads it, and the keys each table read.

    ``tables``: name -> ``location`` (the key template in the bucket, ``${part_...}`` placeholders), ``format``
    (``csv`` or ``json``) and ``columns`` (``name``, Hive ``type``); ``days`` the sample ``part_day`` values of
    the tables that have one; ``keys(prefix)`` lists the bucket, ``body(key)`` reads an object."""
    connection = duckdb.connect()
    read: dict[str, set[str]] = {}
    partitions, days = list(partitions), list(days)
    for table, spec in tables.items():
        columns = {c["name"]: duck_type(c["type"]) for c in spec["columns"]}
        dated = "${part_day}" in spec["location"]
        parts = []
        for account, region in partitions:
            for day in days if dated else [None]:
                where = projected(spec["location"], account, region, day)
                for key in keys(where):
                    if "/" in key[len(where):] or (spec["format"] == "csv" and not key.endswith(".csv")):
                        continue  # only objects right at the location; the unused folder's JSON twins are left out
                    read.setdefault(table, set()).add(key)
                    path = folder / key
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(body(key))
                    reader = (f"read_csv('{path}', header = true, quote = '\"', escape = '\"', nullstr = '{NEVER}', "
                              f"columns = {columns!r})" if spec["format"] == "csv" else
                              f"read_json('{path}', format = 'newline_delimited', columns = {columns!r})")
                    extra = f"'{account}' AS part_account, '{region}' AS part_region"
                    extra += f", '{day}' AS part_day" if dated else ""
                    parts.append(f"SELECT *, {extra}, 's3://{bucket}/{key}' AS \"$path\" FROM {reader}")
        if not parts:  # nothing at any projected location: the table is empty, as in Athena
            empty = [f"CAST(NULL AS {t}) AS {name}" for name, t in columns.items()]
            empty += [f"'' AS {c}" for c in ("part_account", "part_region", *["part_day"] * dated, '"$path"')]
            parts.append(f"SELECT {', '.join(empty)} WHERE false")
        connection.execute(f"CREATE VIEW {table} AS " + " UNION ALL BY NAME ".join(parts))
    return connection, read
