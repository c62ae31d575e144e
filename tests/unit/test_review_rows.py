"""The review pack's tables kept in a temporary file (sgwatch.review_pack.rows): read back as sorting them
all at once would give them, however they were added, and whether in memory or on /tmp."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from sgwatch.review_pack import rows as rows_module
from sgwatch.review_pack.rows import Rows, chain
from sgwatch.rules import Rule

from .test_review import rule

# (sort key, tag): the tag tells ties apart, so stability is seen
items = st.lists(st.lists(st.tuples(st.integers(0, 5), st.text(max_size=3)), max_size=40), max_size=12)


@settings(max_examples=80, deadline=None)
@given(chunks=items)
def test_rows_read_back_as_one_stable_sort_of_every_chunk(chunks: list[list[tuple[int, str]]]) -> None:
    # Given rows added chunk by chunk (one per account/region), each in any order
    table = Rows(lambda item: item[0])
    for chunk in chunks:
        table.add(chunk)
    # Then they read back as a stable sort of all of them in the order they were added, every time
    expected = sorted((item for chunk in chunks for item in chunk), key=lambda item: item[0])
    assert list(table) == expected and list(table) == expected
    assert len(table) == len(expected) and bool(table) == bool(expected)
    assert table[:7] == expected[:7] and table == expected
    if expected:
        assert table[0] == expected[0] and table[-1] == expected[-1]
    table.close()


def test_rows_past_the_memory_limit_go_to_a_file_and_come_back_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given rules (with text that looks like a formula) of three account/regions, past the spool's memory
    monkeypatch.setattr(rows_module, "SPOOL_MEMORY", 64)
    scopes = [[rule(f"sg-{n}", "ingress", f"sgr-{n}{i}", "tcp", "443", "443", "0.0.0.0/0", "=cmd|' /C calc'!A0")
               for i in range(50)] for n in range(3)]
    table = Rows[Rule]()
    for found in scopes:
        table.add(found)
    assert table._file._rolled  # on disk, not in memory
    # Then every iteration gives every rule, in the order added, as it was
    expected = [r for found in scopes for r in found]
    assert list(table) == expected and list(table) == expected
    assert all(isinstance(r, Rule) for r in table)
    table.close()


def test_a_selection_reads_its_source_again_and_counts_once() -> None:
    table = Rows(lambda n: n, range(10))
    even = table.select(lambda n: (n,) if n % 2 == 0 else ())
    doubled = table.select(lambda n: (n, n))
    assert list(even) == [0, 2, 4, 6, 8] and len(even) == 5 and even[:2] == [0, 2]
    assert len(doubled) == 20 and doubled[3] == 1
    assert list(chain(even, [99])) == [0, 2, 4, 6, 8, 99]
    assert not table.select(lambda n: ()) and table.select(lambda n: ()) == []
    with pytest.raises(IndexError):
        even[5]
    with pytest.raises(IndexError):
        table[2:1:2]
