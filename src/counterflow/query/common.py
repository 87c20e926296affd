"""Pieces the query modules share: kind names, amount text and chain resolution."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from counterflow.chains.registry import get_chain
from counterflow.errors import InputError
from counterflow.store.reader import StoreReader
from counterflow.store.schema import TransferKind

KIND_NAMES = {int(k): k.name.lower() for k in TransferKind}


def amount_text(amount: Decimal | int | None, raw: str | None = None) -> str | None:
    """A base-unit integer as text; the exact overflow text when it did not fit 38 digits."""
    if raw is not None:
        return raw
    if amount is None:
        return None
    return str(int(amount))


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def resolve_chains(
    reader: StoreReader,
    chain: str | None,
    normalize: Callable[[str], str | None],
    what: str,
) -> list[str]:
    """The chains to look in: the one named, or every stored chain whose format ``what`` fits."""
    if chain is not None:
        name = get_chain(chain).name
        if name not in reader.chains:
            raise InputError(f"chain {name!r} has no data in {reader.directory.root}")
        return [name]
    if not reader.chains:
        raise InputError(f"{reader.directory.root} holds no data yet; run 'counterflow ingest'")
    candidates = [c for c in reader.chains if normalize(c) is not None]
    if not candidates:
        raise InputError(f"{what} fits no stored chain ({', '.join(reader.chains)})")
    return candidates


def asset_map(reader: StoreReader, chain: str) -> dict[int, dict[str, Any]]:
    return {
        row["asset_id"]: row
        for row in reader.records(
            f"SELECT asset_id, contract, symbol, decimals FROM {reader.table(chain, 'assets')}"
        )
    }
