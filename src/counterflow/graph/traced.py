"""The transfers a trace reports, kept as columns until they are read.

A trace reports thousands to millions of tainted transfers. The kernel's answer is a handful
of arrays per leg; turning every row into a record with its addresses, transaction hash and
time as text costs more than finding them. :class:`TracedTransfers` keeps each leg's rows as
the gathered arrays (ids, epoch seconds, exact amounts) and names them, for all rows at once,
the first time a record or the JSON rows are asked for. Counting, summing and the service
destinations need no names, so ``trace()`` returns as soon as the search is done; what reads
the rows pays for them once.

The names come from the index's saved lookup tables (memory-mapped, so they stay valid after
the call), or, for an index saved without them, are resolved during the call.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast, overload

import numpy as np

from counterflow.graph.index import GraphIndex
from counterflow.graph.policies import Rule


@dataclass(slots=True)
class TracedTransfer:
    """One transfer that carried taint, with why (the rule) and how much."""

    chain: str
    hop: int
    tx_hash: str | None
    block: int
    time: str
    source: str | None  # an address; None for a UTXO transaction or minted value
    target: str | None  # an address; None for a UTXO transaction or the fee sink
    asset: str
    amount: int
    tainted: int
    taint_in: int  # the source's taint just before this transfer (same asset)
    rule: str
    confidence: float


#: Rule names indexed by the rule's number, as the kernel writes it.
RULE_TEXTS = [r.name.lower() for r in sorted(Rule)]
assert [int(r) for r in sorted(Rule)] == list(range(len(RULE_TEXTS)))


class Namer(Protocol):
    """Id -> text for one chain: the index's lookup tables, or texts resolved beforehand."""

    def address_texts(self, ids: list[int]) -> dict[int, str]: ...

    def tx_hashes(self, ids: list[int]) -> dict[int, str]: ...


@dataclass(frozen=True)
class Resolved:
    """Texts resolved during the call (an index saved without lookup tables)."""

    addresses: dict[int, str]
    hashes: dict[int, str]

    def address_texts(self, ids: list[int]) -> dict[int, str]:
        return {i: self.addresses[i] for i in ids if i in self.addresses}

    def tx_hashes(self, ids: list[int]) -> dict[int, str]:
        return {i: self.hashes[i] for i in ids if i in self.hashes}


@dataclass(frozen=True)
class LegTransfers:
    """One kernel run's tainted transfers as columns, one entry per row.

    ``source``/``target`` are holder ids (an id at or above ``n_addresses`` is a UTXO
    transaction or the sink, which has no address); ``amount`` and ``tainted`` are exact
    integers in base units; ``taint_in`` is in the index's units (``scale`` turns it into
    base units when the rows are read).
    """

    chain: str
    confidence: float
    n_addresses: int
    hop: np.ndarray
    tx: np.ndarray
    block: np.ndarray
    time: np.ndarray
    source: np.ndarray
    target: np.ndarray
    asset: np.ndarray
    amount: np.ndarray
    tainted: np.ndarray
    taint_in: np.ndarray
    rule: np.ndarray
    symbols: list[str]
    scale: Scale
    namer: Namer

    def __len__(self) -> int:
        return len(self.hop)

    def columns(self) -> list[list[Any]]:
        """The rows' fields as lists, in :class:`TracedTransfer` field order."""
        n = len(self)
        endpoints = np.concatenate([self.source, self.target])
        names = self.namer.address_texts(
            np.unique(endpoints[endpoints < self.n_addresses]).tolist()
        )
        hashes = self.namer.tx_hashes(np.unique(self.tx[self.tx >= 0]).tolist())
        incoming = np.minimum(self.scale.base_units(self.taint_in), 2**127)
        return [
            [self.chain] * n,
            self.hop.tolist(),
            texts_at(hashes, self.tx),
            self.block.tolist(),
            iso_many(self.time),
            texts_at(names, self.source),
            texts_at(names, self.target),
            np.array(self.symbols, dtype=object)[self.asset].tolist(),
            self.amount.tolist(),
            self.tainted.tolist(),
            incoming.tolist(),
            np.array(RULE_TEXTS, dtype=object)[self.rule].tolist(),
            [self.confidence] * n,
        ]


class TracedTransfers(Sequence[TracedTransfer]):
    """The tainted transfers of a trace, in leg order, kept as columns until read."""

    def __init__(self, legs: Sequence[LegTransfers] = ()) -> None:
        self._legs = list(legs)
        self._named: list[list[list[Any]]] | None = None  # each leg's columns, named
        self._records: list[TracedTransfer] | None = None

    def add(self, leg: LegTransfers) -> None:
        self._legs.append(leg)
        self._named = None
        self._records = None

    def __len__(self) -> int:
        return sum(len(leg) for leg in self._legs)

    @overload
    def __getitem__(self, index: int) -> TracedTransfer: ...

    @overload
    def __getitem__(self, index: slice) -> list[TracedTransfer]: ...

    def __getitem__(self, index: int | slice) -> TracedTransfer | list[TracedTransfer]:
        return self.records()[index]

    def __iter__(self) -> Iterator[TracedTransfer]:
        return iter(self.records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TracedTransfers):
            return self.records() == other.records()
        if isinstance(other, list):
            return self.records() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"TracedTransfers({len(self)} transfers in {len(self._legs)} leg(s))"

    def records(self) -> list[TracedTransfer]:
        """Every row as a record (made once, then kept)."""
        if self._records is None:
            made: list[TracedTransfer] = []
            with _collector_paused():
                for columns in self._columns():
                    made.extend(map(TracedTransfer, *columns))
            self._records = made
        return self._records

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a JSON object, fields in record order."""
        out: list[dict[str, Any]] = []
        with _collector_paused():
            for columns in self._columns():
                out.extend(map(_row, *columns))
        return out

    def _columns(self) -> list[list[list[Any]]]:
        """Each leg's rows named (addresses, hashes, times), once for records and documents."""
        if self._named is None:
            self._named = [leg.columns() for leg in self._legs]
        return self._named

    def last_time(self) -> str | None:
        """The latest transfer's time (ISO 8601 UTC), None when there is none."""
        latest = [int(np.max(leg.time)) for leg in self._legs if len(leg)]
        return iso_many(np.array([max(latest)], np.int64))[0] if latest else None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the rows are made.

    Tens of thousands of small acyclic objects that all survive: each collection their
    allocation triggers walks every live object of the process (the indexes' derived tables,
    earlier results) and finds nothing to free. Paused, making them takes about half as long;
    reference counting still frees what is dropped.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _row(
    chain: str,
    hop: int,
    tx_hash: str | None,
    block: int,
    time: str,
    source: str | None,
    target: str | None,
    asset: str,
    amount: int,
    tainted: int,
    taint_in: int,
    rule: str,
    confidence: float,
) -> dict[str, Any]:
    """A row as ``asdict`` of its record gives it (a dictionary display per row is the
    quickest way to make the thousands a document holds)."""
    return {
        "chain": chain,
        "hop": hop,
        "tx_hash": tx_hash,
        "block": block,
        "time": time,
        "source": source,
        "target": target,
        "asset": asset,
        "amount": amount,
        "tainted": tainted,
        "taint_in": taint_in,
        "rule": rule,
        "confidence": confidence,
    }


class Scale:
    """Per-row powers of ten of a set of transfers' assets (``GraphIndex.shifts``).

    Amounts are exact Python integers (wei overflows 64 bits above ~9.2 ETH), but most rows
    fit 64 bits: those are computed for the whole column in numpy, and only the rows that
    would overflow take the per-row Python path, which gives the same integers.
    """

    def __init__(self, ix: GraphIndex, asset: np.ndarray) -> None:
        n_assets = int(asset.max(initial=0)) + 1
        powers = [10 ** ix.shifts.get(a, 0) for a in range(n_assets)]
        # a whole part below the limit times the power, plus a remainder below the power,
        # stays under 2**63; a power too large for int64 has limit 0 (always the slow path)
        self._power = np.array([p if p < 2**62 else 1 for p in powers], np.int64)[asset]
        self._limit = np.array([2**62 // p if p < 2**62 else 0 for p in powers], np.int64)[asset]
        # float(int), as Python's float * int converts: exact up to 10**22, rounded beyond
        self._float = np.array([float(p) for p in powers], np.float64)[asset]
        self._big = np.array(powers, dtype=object)[asset]
        self._ix = ix
        self._asset = asset

    def exact(self, units: np.ndarray, rem: np.ndarray) -> np.ndarray:
        """``units * 10**shift + rem`` of every row (``GraphIndex.exact_amount``), as ints."""
        fits = (units >= 0) & (units < self._limit)
        out: np.ndarray = (np.where(fits, units, 0) * self._power + rem).astype(object)
        wide = ~fits
        if wide.any():
            out[wide] = units[wide].astype(object) * self._big[wide] + rem[wide].astype(object)
        return out

    def base_units(self, units: np.ndarray) -> np.ndarray:
        """``GraphIndex.to_base_units`` of every row, with the same float steps, as ints."""
        finite = np.isfinite(units) & (np.abs(units) < 2.0**62)
        whole = np.trunc(np.where(finite, units, 0.0))
        frac = np.trunc((np.where(finite, units, 0.0) - whole) * self._float)
        fits = finite & (np.abs(whole) < self._limit)
        out: np.ndarray = (np.where(fits, whole, 0.0).astype(np.int64) * self._power).astype(object)
        out += np.where(fits, frac, 0.0).astype(np.int64).astype(object)
        # too wide for 64 bits, but each part fits: whole and fraction as exact ints
        wide = finite & ~fits & (self._float < 2.0**62)
        if wide.any():
            out[wide] = whole[wide].astype(np.int64).astype(object) * self._big[wide] + frac[
                wide
            ].astype(np.int64).astype(object)
        for k in np.flatnonzero(~fits & ~wide).tolist():
            out[k] = self._ix.to_base_units(int(self._asset[k]), float(units[k]))
        return out


def texts_at(texts: dict[int, str], keys: np.ndarray) -> list[str | None]:
    """``texts.get(key)`` for every key, looked up once per distinct key."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    table = np.empty(len(distinct), dtype=object)
    table[:] = [texts.get(k) for k in distinct.tolist()]
    found: list[str | None] = table[inverse].tolist()
    return found


def iso_many(epochs: np.ndarray) -> list[str]:
    """ISO 8601 UTC text of every value (unsigned 32-bit seconds: years 1970 to 2106).

    The calendar fields are computed for the whole column (days to civil dates as in
    H. Hinnant's ``civil_from_days``) and written as the code points of fixed-width texts,
    whose ``tolist`` makes the strings in one C loop.
    """
    seconds = np.asarray(epochs, np.int64)
    days, clock = np.divmod(seconds, 86_400)
    shifted = days + 719_468  # days since 0000-03-01
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153  # March is 0
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = np.where(month_index < 10, month_index + 3, month_index - 9)
    year = year_of_era + era * 400 + (month <= 2)
    hour, rest = np.divmod(clock, 3_600)
    minute, second = np.divmod(rest, 60)
    points = np.empty((len(seconds), 20), np.uint32)
    zero = ord("0")
    for column, (value, width) in zip(
        (0, 5, 8, 11, 14, 17),
        ((year, 4), (month, 2), (day, 2), (hour, 2), (minute, 2), (second, 2)),
        strict=True,
    ):
        for place in range(width):
            points[:, column + width - 1 - place] = zero + (value // 10**place) % 10
    for column, mark in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z")):
        points[:, column] = ord(mark)
    texts = cast(list[str], points.view(np.dtype((np.str_, 20))).ravel().tolist())
    return texts
