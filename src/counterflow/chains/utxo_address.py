"""Validation and canonical form of addresses on UTXO chains (Bitcoin and its relatives).

One code path serves every UTXO chain; a :class:`UtxoAddressFormat` supplies the version
bytes and prefixes. An address is stored in one canonical spelling so that the same
destination written two ways (upper- and lowercase bech32, legacy and CashAddr on Bitcoin
Cash) is one node in the flow graph:

* Base58Check: unchanged (its case is significant).
* bech32/bech32m: lowercase.
* CashAddr: lowercase with the prefix; on Bitcoin Cash a legacy Base58 address is converted
  to CashAddr, since both spell the same script.

Every rejection is an :class:`~counterflow.errors.InvalidAddressError` whose reason says
what to fix, including the common case of an address pasted for the wrong network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from counterflow.chains.base58 import b58check_decode
from counterflow.chains.bech32 import decode_segwit
from counterflow.chains.cashaddr import TYPE_P2PKH, TYPE_P2SH, decode_cashaddr, encode_cashaddr
from counterflow.chains.registry import CHAINS, UtxoAddressFormat
from counterflow.errors import InvalidAddressError

ScriptType = Literal["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "witness_unknown"]

HASH160_SIZE = 20
#: P2SH32 (a 32-byte script hash), valid in Bitcoin Cash outputs since May 2023.
CASHADDR_P2SH32_SIZE = 32
#: Longer than any Base58Check address; stops a pasted blob before the quadratic decode.
MAX_BASE58_LENGTH = 64

#: Base58 version bytes of the networks users mix up, to say which one an address is for.
_KNOWN_VERSIONS: dict[bytes, str] = {
    b"\x00": "bitcoin P2PKH",
    b"\x05": "bitcoin P2SH",
    b"\x6f": "testnet P2PKH",
    b"\xc4": "testnet P2SH",
    b"\x30": "litecoin P2PKH",
    b"\x32": "litecoin P2SH",
    b"\x1e": "dogecoin P2PKH",
    b"\x16": "dogecoin P2SH",
    b"\x4c": "dash P2PKH",
    b"\x10": "dash P2SH",
    b"\x41": "tron address",
    b"\x1c\xb8": "zcash P2PKH",
    b"\x1c\xbd": "zcash P2SH",
}

#: Bech32 human-readable parts of the networks users mix up.
_KNOWN_HRPS: dict[str, str] = {
    "bc": "bitcoin",
    "tb": "bitcoin testnet",
    "bcrt": "bitcoin regtest",
    "ltc": "litecoin",
    "tltc": "litecoin testnet",
    "rltc": "litecoin regtest",
}


@dataclass(frozen=True, slots=True)
class _Decoded:
    canonical: str
    script_type: ScriptType


class _RejectedError(Exception):
    """Internal: carries the reason up to the one place that knows the chain and address."""


def normalize_utxo_address(address: str, fmt: UtxoAddressFormat, *, chain: str) -> str:
    """Validate ``address`` for the network described by ``fmt`` and return its stored form.

    Raises :class:`~counterflow.errors.InvalidAddressError` naming ``chain``, the address
    and the reason.
    """
    return _decode(address, fmt, chain).canonical


def utxo_script_type(address: str, fmt: UtxoAddressFormat, *, chain: str | None = None) -> str:
    """The kind of output script ``address`` pays to.

    One of ``p2pkh``, ``p2sh``, ``p2wpkh``, ``p2wsh``, ``p2tr``, or ``witness_unknown`` for a
    valid segwit address whose version and length have no consensus meaning yet. ``chain``
    only names the network in error messages and defaults to the registry's name for ``fmt``.
    """
    return _decode(address, fmt, chain or _chain_name(fmt)).script_type


def _chain_name(fmt: UtxoAddressFormat) -> str:
    for spec in CHAINS.values():
        if spec.utxo_format == fmt:
            return spec.name
    return "utxo"


def _decode(address: str, fmt: UtxoAddressFormat, chain: str) -> _Decoded:
    try:
        return _dispatch(address, fmt, chain)
    except _RejectedError as exc:
        raise InvalidAddressError(chain, address, str(exc)) from None


def _dispatch(address: str, fmt: UtxoAddressFormat, chain: str) -> _Decoded:
    if not address:
        raise _RejectedError("empty address")
    if address != address.strip():
        raise _RejectedError("leading or trailing whitespace; strip the address before passing it")

    hrp = _bech32_hrp(address.lower(), fmt)
    if hrp is not None:
        try:
            return _segwit_result(address, hrp, fmt, chain)
        except _RejectedError as error:
            # A Base58 address can begin like a bech32 one (a Litecoin "Ltc1...").
            return _base58_instead(address, fmt, chain, error)

    if fmt.cashaddr_prefix is not None and not address.startswith(("1", "3")):
        # Legacy Base58 on Bitcoin Cash starts with 1 or 3; CashAddr never does, since its
        # first character encodes the type (q for P2PKH, p for P2SH).
        try:
            return _cashaddr_result(address, fmt.cashaddr_prefix)
        except _RejectedError as error:
            # A checksummed Base58 address of another network says more than "not cashaddr".
            return _base58_instead(address, fmt, chain, error)

    return _base58_result(address, fmt, chain)


def _base58_instead(
    address: str, fmt: UtxoAddressFormat, chain: str, error: _RejectedError
) -> _Decoded:
    """Read ``address`` as Base58Check if its checksum holds, otherwise re-raise ``error``.

    Only a valid checksum overrides the first reading: a string that is neither format is
    best explained by the format it resembles.
    """
    if len(address) > MAX_BASE58_LENGTH:
        raise error
    try:
        b58check_decode(address)
    except ValueError:
        raise error from None
    return _base58_result(address, fmt, chain)


def _bech32_hrp(lowered: str, fmt: UtxoAddressFormat) -> str | None:
    for hrp in (fmt.bech32_hrp, *_KNOWN_HRPS):
        if hrp is not None and lowered.startswith(hrp + "1"):
            return hrp
    return None


def _segwit_result(address: str, hrp: str, fmt: UtxoAddressFormat, chain: str) -> _Decoded:
    if fmt.bech32_hrp is None:
        network = _KNOWN_HRPS[hrp]
        raise _RejectedError(f"this is a {network} bech32 address; {chain} has no bech32 form")
    if hrp != fmt.bech32_hrp:
        raise _RejectedError(f"bech32 prefix {hrp!r} is {_KNOWN_HRPS[hrp]}, not {chain}")
    try:
        version, program = decode_segwit(hrp, address)
    except ValueError as exc:
        raise _RejectedError(f"bech32 {exc}") from None
    return _Decoded(address.lower(), _witness_type(version, len(program)))


def _witness_type(version: int, program_length: int) -> ScriptType:
    if version == 0:
        return "p2wpkh" if program_length == HASH160_SIZE else "p2wsh"
    if version == 1 and program_length == 32:
        return "p2tr"
    return "witness_unknown"


def _cashaddr_result(address: str, prefix: str) -> _Decoded:
    try:
        kind, hash_bytes = decode_cashaddr(address, prefix)
    except ValueError as exc:
        raise _RejectedError(f"cashaddr {exc}") from None
    return _cashaddr_from_hash(prefix, kind, hash_bytes)


def _cashaddr_from_hash(prefix: str, kind: int, hash_bytes: bytes) -> _Decoded:
    if kind == TYPE_P2PKH:
        if len(hash_bytes) != HASH160_SIZE:
            raise _RejectedError(f"cashaddr P2PKH hash must be 20 bytes, got {len(hash_bytes)}")
        return _Decoded(encode_cashaddr(prefix, kind, hash_bytes), "p2pkh")
    if kind == TYPE_P2SH:
        if len(hash_bytes) not in (HASH160_SIZE, CASHADDR_P2SH32_SIZE):
            size = len(hash_bytes)
            raise _RejectedError(f"cashaddr P2SH hash must be 20 or 32 bytes, got {size}")
        return _Decoded(encode_cashaddr(prefix, kind, hash_bytes), "p2sh")
    raise _RejectedError(f"cashaddr type {kind} is not supported (only 0 P2PKH and 1 P2SH)")


def _base58_result(address: str, fmt: UtxoAddressFormat, chain: str) -> _Decoded:
    if len(address) > MAX_BASE58_LENGTH:
        raise _RejectedError(f"{len(address)} characters is too long for a Base58Check address")
    try:
        payload = b58check_decode(address)
    except ValueError as exc:
        raise _RejectedError(f"Base58Check {exc}") from None

    candidates: tuple[tuple[tuple[bytes, ...], ScriptType, int], ...] = (
        (fmt.p2pkh, "p2pkh", TYPE_P2PKH),
        (fmt.p2sh, "p2sh", TYPE_P2SH),
    )
    wrong_length: str | None = None
    for versions, script_type, cashaddr_type in candidates:
        for version in versions:
            if not payload.startswith(version):
                continue
            hash_bytes = payload[len(version) :]
            if len(hash_bytes) != HASH160_SIZE:
                # Keep looking: a longer version of the same network may still match.
                wrong_length = wrong_length or (
                    f"payload after version 0x{version.hex()} is {len(hash_bytes)} bytes, "
                    f"expected {HASH160_SIZE}"
                )
                continue
            if fmt.cashaddr_prefix is not None:
                return _cashaddr_from_hash(fmt.cashaddr_prefix, cashaddr_type, hash_bytes)
            return _Decoded(address, script_type)
    raise _RejectedError(wrong_length or _wrong_version_reason(payload, fmt, chain))


def _wrong_version_reason(payload: bytes, fmt: UtxoAddressFormat, chain: str) -> str:
    for version, label in _KNOWN_VERSIONS.items():
        if payload.startswith(version) and len(payload) - len(version) == HASH160_SIZE:
            noun, verb = ("byte", "is") if len(version) == 1 else ("bytes", "are")
            article = "an" if label[0] in "aeiou" else "a"
            return f"version {noun} 0x{version.hex()} {verb} {article} {label}, not {chain}"
    if not payload:
        return "Base58Check payload is empty"
    accepted = (*fmt.p2pkh, *fmt.p2sh)
    expected = " or ".join(f"0x{version.hex()}" for version in accepted)
    width = max(len(version) for version in accepted)
    return (
        f"version 0x{payload[:width].hex()} with {len(payload)} payload bytes is not a "
        f"{chain} address (expected version {expected} and a 20-byte hash)"
    )
