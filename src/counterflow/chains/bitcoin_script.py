"""Output scripts: the standard type each one is, and the address it pays, as bitcoind says.

Tracing needs an address per output, but a block holds only locking scripts. The names and
addresses here are the ones ``bitcoind`` reports (``scriptPubKey.type`` and ``address``), which
is what bitcoin-etl exports and the BigQuery ``crypto_bitcoin`` data set holds, so a block ingested
from raw bytes and the same block ingested from an export give the same holders:

- ``pubkey`` (``<key> OP_CHECKSIG``): the P2PKH address of the key;
- ``pubkeyhash`` (P2PKH) and ``scripthash`` (P2SH): Base58Check with the chain's version byte;
- ``witness_v0_keyhash``, ``witness_v0_scripthash`` (``OP_0 <20 or 32 bytes>``): bech32;
- ``witness_v1_taproot`` (``OP_1 <32>``), ``anchor`` (``OP_1 <4e73>``, pay-to-anchor) and
  ``witness_unknown`` (other versions and sizes): bech32m;
- ``multisig`` (``OP_m <key>… OP_n OP_CHECKMULTISIG``), ``nulldata`` (``OP_RETURN`` followed by
  pushes only) and ``nonstandard`` (anything else, the empty script included): no address.

P2PK outputs have no address of their own; bitcoind up to version 0.21 (the nodes bitcoin-etl
exported from) reported the key's P2PKH address, and Satoshi-era coins are found under it, so
that is the address given. Bare multisig is kept without an address (as bitcoind does since
version 22): its value needs m of n keys, so no one key's address owns it; the store gives it a
pseudo-holder from the script instead (docs/value-flow-model.md).

The rules mirror bitcoind's ``Solver``: the order of the tests matters (a witness program is
tested before ``OP_RETURN`` and P2PK) and a key must have the size its first byte announces.
Addresses are encoded by the chain's own codecs, so a chain's format (version bytes, bech32
prefix, CashAddr) comes from the registry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Final

from counterflow.chains.base58 import b58check_encode
from counterflow.chains.bech32 import encode_segwit
from counterflow.chains.cashaddr import TYPE_P2PKH, TYPE_P2SH, encode_cashaddr
from counterflow.chains.registry import UtxoAddressFormat

PUBKEY: Final = "pubkey"
PUBKEYHASH: Final = "pubkeyhash"
SCRIPTHASH: Final = "scripthash"
MULTISIG: Final = "multisig"
NULLDATA: Final = "nulldata"
WITNESS_V0_KEYHASH: Final = "witness_v0_keyhash"
WITNESS_V0_SCRIPTHASH: Final = "witness_v0_scripthash"
WITNESS_V1_TAPROOT: Final = "witness_v1_taproot"
ANCHOR: Final = "anchor"
WITNESS_UNKNOWN: Final = "witness_unknown"
NONSTANDARD: Final = "nonstandard"

SCRIPT_TYPES: Final = (
    PUBKEY,
    PUBKEYHASH,
    SCRIPTHASH,
    MULTISIG,
    NULLDATA,
    WITNESS_V0_KEYHASH,
    WITNESS_V0_SCRIPTHASH,
    WITNESS_V1_TAPROOT,
    ANCHOR,
    WITNESS_UNKNOWN,
    NONSTANDARD,
)

OP_0: Final = 0x00
OP_PUSHDATA1: Final = 0x4C
OP_PUSHDATA2: Final = 0x4D
OP_PUSHDATA4: Final = 0x4E
OP_1: Final = 0x51
OP_16: Final = 0x60
OP_RETURN: Final = 0x6A
OP_DUP: Final = 0x76
OP_EQUAL: Final = 0x87
OP_EQUALVERIFY: Final = 0x88
OP_HASH160: Final = 0xA9
OP_CHECKSIG: Final = 0xAC
OP_CHECKMULTISIG: Final = 0xAE

#: Pay-to-anchor's witness program (BIP-433 style ephemeral anchors, bitcoind 28).
ANCHOR_PROGRAM: Final = b"\x4e\x73"
#: bitcoind's MAX_PUBKEYS_PER_MULTISIG: key counts above 16 are pushed as numbers.
MAX_MULTISIG_KEYS: Final = 20

#: A public key's first byte decides its length (CPubKey::GetLen): compressed or not.
_KEY_SIZE_OF_PREFIX: Final = {2: 33, 3: 33, 4: 65, 6: 65, 7: 65}


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: how a key or script becomes a 20-byte address payload."""
    digest = hashlib.sha256(data).digest()
    try:
        return hashlib.new("ripemd160", digest).digest()
    except ValueError:  # pragma: no cover - OpenSSL 3 builds without the legacy provider
        from Crypto.Hash import RIPEMD160

        return RIPEMD160.new(digest).digest()


def script_ops(script: bytes, start: int = 0) -> Iterator[tuple[int, bytes | None]]:
    """Opcodes of ``script`` from ``start`` with the data they push (None for non-pushes).

    Raises :class:`ValueError` when a push runs past the end, as bitcoind's ``GetOp`` fails.
    """
    pos = start
    end = len(script)
    while pos < end:
        opcode = script[pos]
        pos += 1
        if opcode > OP_PUSHDATA4:
            yield opcode, None
            continue
        if opcode < OP_PUSHDATA1:
            size = opcode
        else:
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[opcode]
            if pos + width > end:
                raise ValueError(f"push size at byte {pos - 1} runs past the end")
            size = int.from_bytes(script[pos : pos + width], "little")
            pos += width
        if pos + size > end:
            raise ValueError(f"push of {size} bytes at byte {pos} runs past the end")
        yield opcode, script[pos : pos + size]
        pos += size


def _is_push_only(script: bytes, start: int) -> bool:
    try:
        return all(opcode <= OP_16 for opcode, _data in script_ops(script, start))
    except ValueError:
        return False


def _small_number(opcode: int, data: bytes | None) -> int | None:
    """OP_1..OP_16, or a minimal one-byte push of 17..20 (key counts of large multisig)."""
    if OP_1 <= opcode <= OP_16:
        return opcode - OP_1 + 1
    if data is not None and len(data) == 1 and opcode == 1 and 17 <= data[0] <= MAX_MULTISIG_KEYS:
        return data[0]
    return None


def _is_multisig(script: bytes) -> bool:
    if len(script) < 3 or script[-1] != OP_CHECKMULTISIG:
        return False
    try:
        ops = list(script_ops(script))
    except ValueError:
        return False
    if len(ops) < 4:
        return False
    required = _small_number(*ops[0])
    keys = _small_number(*ops[-2])
    if required is None or keys is None or required > keys:
        return False
    pubkeys = ops[1:-2]
    return len(pubkeys) == keys and all(
        data is not None and len(data) > 0 and _KEY_SIZE_OF_PREFIX.get(data[0]) == len(data)
        for _opcode, data in pubkeys
    )


def classify(script: bytes) -> tuple[str, int, bytes]:
    """The type of ``script`` with what an address encodes: a witness version and a payload.

    The payload is the 20-byte hash for ``pubkeyhash``/``scripthash``, the key for
    ``pubkey``, the witness program for witness types, and empty for the rest; the version is
    the witness version (0 for the others).
    """
    n = len(script)
    if n == 25:
        if (
            script[0] == OP_DUP
            and script[1] == OP_HASH160
            and script[2] == 20
            and script[23] == OP_EQUALVERIFY
            and script[24] == OP_CHECKSIG
        ):
            return PUBKEYHASH, 0, script[3:23]
    elif n == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL:
        return SCRIPTHASH, 0, script[2:22]
    if 4 <= n <= 42:
        first = script[0]
        if (first == OP_0 or OP_1 <= first <= OP_16) and script[1] + 2 == n:
            version = 0 if first == OP_0 else first - OP_1 + 1
            program = script[2:]
            if version == 0:
                if n == 22:
                    return WITNESS_V0_KEYHASH, 0, program
                if n == 34:
                    return WITNESS_V0_SCRIPTHASH, 0, program
                return NONSTANDARD, 0, b""  # v0 of another size: no rule can spend it
            if version == 1 and n == 34:
                return WITNESS_V1_TAPROOT, 1, program
            if version == 1 and program == ANCHOR_PROGRAM:
                return ANCHOR, 1, program
            return WITNESS_UNKNOWN, version, program
    if n and script[0] == OP_RETURN:
        return (NULLDATA if _is_push_only(script, 1) else NONSTANDARD), 0, b""
    if (n == 35 or n == 67) and script[0] == n - 2 and script[-1] == OP_CHECKSIG:
        key = script[1:-1]
        if _KEY_SIZE_OF_PREFIX.get(key[0]) == len(key):
            return PUBKEY, 0, key
    if _is_multisig(script):
        return MULTISIG, 0, b""
    return NONSTANDARD, 0, b""


class ScriptAddresses:
    """Type and address of output scripts for one chain's address format, remembered.

    Addresses are reused, and coinbase and exchange scripts repeat across blocks; encoding is
    the costly part of reading a block (a Base58 or bech32 encode per output), so each
    distinct script is encoded once. The memory is bounded: it is dropped when it grows past
    ``limit`` entries.
    """

    def __init__(self, fmt: UtxoAddressFormat, *, limit: int = 1_000_000) -> None:
        self.fmt = fmt
        self.limit = limit
        self._known: dict[bytes, tuple[str, str | None]] = {}

    def __call__(self, script: bytes) -> tuple[str, str | None]:
        """``(type, address)``; the address is None for types that have none."""
        found = self._known.get(script)
        if found is None:
            found = self.derive(script)
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[script] = found
        return found

    def derive(self, script: bytes) -> tuple[str, str | None]:
        """``(type, address)`` of ``script``, computed without the memory."""
        kind, version, payload = classify(script)
        fmt = self.fmt
        if kind == PUBKEYHASH:
            return kind, self._base58(payload, fmt.p2pkh[0], TYPE_P2PKH)
        if kind == SCRIPTHASH:
            return kind, self._base58(payload, fmt.p2sh[0], TYPE_P2SH)
        if kind == PUBKEY:
            return kind, self._base58(hash160(payload), fmt.p2pkh[0], TYPE_P2PKH)
        if payload and fmt.bech32_hrp is not None:  # a witness program
            return kind, encode_segwit(fmt.bech32_hrp, version, payload)
        return kind, None

    def _base58(self, hash_bytes: bytes, version: bytes, cashaddr_type: int) -> str:
        if self.fmt.cashaddr_prefix is not None:
            return encode_cashaddr(self.fmt.cashaddr_prefix, cashaddr_type, hash_bytes)
        return b58check_encode(version + hash_bytes)


def script_address(script: bytes, fmt: UtxoAddressFormat) -> tuple[str, str | None]:
    """``(type, address)`` of one output script for a chain's address format."""
    return ScriptAddresses(fmt).derive(script)
