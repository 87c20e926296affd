"""Addresses as screening receives them: chain inferred from the form, validated, canonical.

A screening request often names no chain: an exchange screens what a customer pasted. The
form tells the chain for the chains Counterflow knows (``0x…`` Ethereum, ``bc1…``/``1…``/``3…``
Bitcoin, ``T…`` Tron, …); what it cannot tell is refused with the address named, never
guessed. Validation is always the registry codec's (counterflow.chains.registry), so an
address screening accepts is exactly one ingest and the tag store accept, in the same canonical
form. For large batches the common canonical forms are recognised in bulk (Arrow compute over
the whole column) and the codec runs once per distinct remaining text
(:mod:`counterflow.screening.codecs` vectorises the checksums of those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.chains.registry import address_normalizer, get_chain
from counterflow.errors import ConfigError, InputError, InvalidAddressError
from counterflow.screening.codecs import buffers, bulk_check, classify, rewritten

#: Address prefixes and the chain each denotes, most specific first.
PREFIX_CHAINS: tuple[tuple[str, str], ...] = (
    ("0x", "ethereum"),
    ("bitcoincash:", "bitcoin-cash"),
    ("bcrt1", "bitcoin-regtest"),
    ("bc1", "bitcoin"),
    ("BC1", "bitcoin"),
    ("tb1", "bitcoin-testnet"),
    ("TB1", "bitcoin-testnet"),
    ("ltc1", "litecoin"),
    ("LTC1", "litecoin"),
    ("t1", "zcash"),
    ("t3", "zcash"),
    ("T", "tron"),
    ("1", "bitcoin"),
    ("3", "bitcoin"),
    ("L", "litecoin"),
    ("M", "litecoin"),
    ("D", "dogecoin"),
)


def infer_chain(address: str) -> str:
    """The chain an address's form denotes; :class:`InputError` when the form does not say."""
    for prefix, chain in PREFIX_CHAINS:
        if address.startswith(prefix):
            return chain
    raise InputError(
        f"cannot tell the chain of address {address!r} from its form; give its chain "
        "(e.g. --chain bitcoin)"
    )


def canonical(address: str, chain: str | None = None) -> tuple[str, str]:
    """``(chain, canonical address)``; raises :class:`InvalidAddressError` naming the address."""
    name = get_chain(chain).name if chain is not None else infer_chain(address)
    return name, address_normalizer(name)(address)


@dataclass
class Normalized:
    """A batch of addresses, validated: per item its chain and canonical form (null: invalid).

    ``codes`` numbers each item's chain (an index into ``names``; -1 where none is known).
    """

    chains: pa.Array  # dictionary-encoded strings, null where no chain is known
    addresses: pa.Array  # string, null where invalid
    errors: list[tuple[int, str]]  # (position, message), in position order
    codes: np.ndarray  # int16
    names: list[str]


def normalize_batch(
    addresses: pa.Array | Sequence[str],
    chains: pa.Array | Sequence[str | None] | str | None = None,
) -> Normalized:
    """Validate a whole column of addresses, chains given (one for all, or per item) or inferred.

    Nothing is raised: every invalid item is reported in ``errors`` with the codec's message.
    The compiled bulk checks decide the common forms over the column's bytes; the registry
    codec runs once per distinct text they do not recognise.
    """
    texts = (
        plain(addresses)
        if isinstance(addresses, pa.Array | pa.ChunkedArray)
        else pa.array(addresses, pa.string())
    )
    if texts.type not in (pa.string(), pa.large_string()):
        texts = texts.cast(pa.string())
    n = len(texts)
    offsets, data = buffers(texts)
    codes, names = _chain_codes(texts, chains, offsets, data)
    errors: dict[int, str] = {}
    done = np.zeros(n, np.bool_)
    upper = np.zeros(n, np.bool_)
    for code, name in enumerate(names):
        rows = np.flatnonzero(codes == code)
        if len(rows) == 0:
            continue
        try:
            spec = get_chain(name)
        except ConfigError as exc:
            for r in rows.tolist():
                errors[r] = str(exc)
            codes[rows] = -1
            continue
        names[code] = spec.name
        ok, capitals = bulk_check(spec.name, offsets, data, rows)
        done |= ok
        upper |= capitals
    rest = np.flatnonzero(~done)
    known = rest[codes[rest] >= 0]
    fixed = _codec_fallback(texts, known, codes, names, errors)
    values: list[str | None] = [None] * len(rest)
    slot = {int(r): k for k, r in enumerate(rest.tolist())}
    for r, value in zip(known.tolist(), fixed, strict=True):
        values[slot[r]] = value
    canonical = rewritten(texts, upper, rest, values)
    for r in np.flatnonzero(codes < 0).tolist():
        if r in errors:
            continue
        text = texts[r].as_py()
        errors[r] = (
            "empty address"
            if not text
            else f"cannot tell the chain of address {text!r} from its form; give its chain"
        )
    chain_column = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(names, pa.string())
    )
    return Normalized(
        chain_column,
        plain(canonical).cast(pa.string()),
        sorted(errors.items()),
        codes,
        names,
    )


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (compute functions may return chunked ones)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def dictionary(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """``values`` dictionary-encoded, as one array."""
    return pc.dictionary_encode(plain(values))


def _chain_codes(
    texts: pa.Array,
    chains: pa.Array | Sequence[str | None] | str | None,
    offsets: np.ndarray,
    data: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """Per item, the index of its chain in the returned names (-1: none): given, or inferred."""
    names: list[str] = []
    for _, chain in PREFIX_CHAINS:
        if chain not in names:
            names.append(chain)
    n = len(texts)
    if isinstance(chains, str):
        name = get_chain(chains).name
        return np.zeros(n, np.int16), [name]
    inferred = classify(offsets, data, [(p, names.index(c)) for p, c in PREFIX_CHAINS])
    if chains is None:
        return inferred, names
    raw = plain(chains if isinstance(chains, pa.Array) else pa.array(list(chains), pa.string()))
    given = dictionary(pc.utf8_lower(pc.utf8_trim_whitespace(raw)))
    mapping = np.full(len(given.dictionary), -1, np.int64)
    for i, text in enumerate(given.dictionary.to_pylist()):
        if not text:
            continue
        try:
            name = get_chain(text).name
        except ConfigError:
            name = text  # unknown: kept, so that its items fail naming it
        if name not in names:
            names.append(name)
        mapping[i] = names.index(name)
    if len(mapping) == 0:  # no item names a chain
        return inferred, names
    indices = np.asarray(pc.fill_null(given.indices, -1).to_numpy(zero_copy_only=False), np.int64)
    codes = np.where(indices >= 0, mapping[np.maximum(indices, 0)], -1)
    return np.where(codes >= 0, codes, inferred).astype(np.int16), names


def _codec_fallback(
    texts: pa.Array,
    rest: np.ndarray,
    codes: np.ndarray,
    names: list[str],
    errors: dict[int, str],
) -> list[str | None]:
    """The registry codec for the items the bulk checks left, once per (chain, text)."""
    remaining = texts.take(pa.array(rest)).to_pylist()
    answers: dict[tuple[int, str | None], str | None] = {}
    messages: dict[tuple[int, str | None], str] = {}
    fixed: list[str | None] = []
    for r, text in zip(rest.tolist(), remaining, strict=True):
        key = (int(codes[r]), text)
        if key not in answers:
            answers[key] = None
            if not text:
                messages[key] = "empty address"
            else:
                try:
                    answers[key] = address_normalizer(names[key[0]])(text)
                except InvalidAddressError as exc:
                    messages[key] = str(exc)
        if answers[key] is None:
            errors[r] = messages[key]
        fixed.append(answers[key])
    return fixed
