"""The rows of a pack, kept in a temporary file and read back in order as often as the pack needs them.

A review of 800 account/regions holds hundreds of thousands of rows (current rules, changes, change
events, exposure rows, evidence objects). :class:`Rows` keeps them in a compressed temporary file (in
memory up to :data:`SPOOL_MEMORY` bytes, then on Lambda's /tmp) in *chunks*: each account/region adds
its rows as one chunk, sorted by the table's order. Reading merges the chunks in that order
(``heapq.merge``, stable: ties keep the order the chunks were added in), so the rows come out exactly as
sorting them all at once would give them, with :data:`BATCH` rows of each chunk in memory at a time.
:class:`Selected` is a filtered view of them (the rule changes, the out-of-band changes...), counted
once and read again on each iteration.
"""

from __future__ import annotations

import heapq
import io
import itertools
import pickle
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, overload

T = TypeVar("T")
U = TypeVar("U")

SPOOL_MEMORY = 1 << 20  # bytes held in memory before the file goes to /tmp
BATCH = 8  # rows of a chunk read at a time: with 800 chunks merged, 6,400 rows in memory


class _Lazy(Sequence[T]):
    """A sequence read by iterating: what the template and tables need of a list (length, truth,
    iteration, a leading slice such as ``rows[:200]``, one index) without holding it."""

    def __iter__(self) -> Iterator[T]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __bool__(self) -> bool:
        return next(iter(self), _END) is not _END

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            if (index.start or 0) < 0 or (index.stop is not None and index.stop < 0) or index.step not in (None, 1):
                raise IndexError("only a leading slice of stored rows can be read")
            return list(itertools.islice(iter(self), index.start, index.stop))
        if index < 0:
            index += len(self)
        found = next(itertools.islice(iter(self), max(index, 0), None), _END) if index >= 0 else _END
        if found is _END:
            raise IndexError("row index out of range")
        return found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} rows>"

    def select(self, pick: Callable[[T], Iterable[U]]) -> Selected[U]:
        """The rows ``pick`` gives for each row (none, one or several), in this order."""
        return Selected(self, pick)


_END: Any = object()


class Rows(_Lazy[T]):
    """Rows in a temporary file, in chunks each sorted by ``order`` (None: as added), read back merged."""

    def __init__(self, order: Callable[[T], Any] | None = None, rows: Iterable[T] = ()) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self._chunks: list[list[tuple[int, int]]] = []  # per chunk, (offset, length) of each batch
        self._order = order
        self._count = 0
        self.add(rows)

    def add(self, rows: Iterable[T]) -> None:
        """One chunk: ``rows`` (of one account/region), sorted by the table's order."""
        found = sorted(rows, key=self._order) if self._order else list(rows)
        if not found:
            return
        self._file.seek(0, io.SEEK_END)
        batches = []
        for start in range(0, len(found), BATCH):
            data = zlib.compress(pickle.dumps(found[start : start + BATCH], pickle.HIGHEST_PROTOCOL), 1)
            batches.append((self._file.tell(), len(data)))
            self._file.write(data)
        self._chunks.append(batches)
        self._count += len(found)

    def _chunk(self, batches: list[tuple[int, int]]) -> Iterator[T]:
        for offset, length in batches:
            self._file.seek(offset)  # each batch is read whole: iterators may interleave on the one file
            rows: list[T] = pickle.loads(zlib.decompress(self._file.read(length)))  # our own file, written above
            yield from rows

    def __iter__(self) -> Iterator[T]:
        chunks = [self._chunk(batches) for batches in self._chunks]
        if self._order is None or len(chunks) < 2:
            return itertools.chain.from_iterable(chunks)
        return heapq.merge(*chunks, key=self._order)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    @property
    def stored_bytes(self) -> int:
        """Bytes of the temporary file (compressed)."""
        return sum(length for batches in self._chunks for _, length in batches)

    def close(self) -> None:
        self._file.close()


class Selected(_Lazy[U]):
    """The rows :meth:`_Lazy.select` picks, read again from the source on each iteration, counted once."""

    def __init__(self, source: Iterable[T], pick: Callable[[T], Iterable[U]]) -> None:
        self._source = source
        self._pick = pick
        self._count: int | None = None

    def __iter__(self) -> Iterator[U]:
        return itertools.chain.from_iterable(map(self._pick, self._source))

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self)
        return self._count


def chain(*parts: Sequence[T]) -> Selected[T]:
    """One sequence after the other."""
    return Selected(parts, lambda part: part)
