"""Bitcoin blocks as Bitcoin Core serialises them: ``blk*.dat`` files, raw blocks, transactions.

A full node keeps every block it has seen in ``blocks/blk*.dat``: each block framed by the
network's 4-byte magic and a 4-byte little-endian length, in the order the node received them
(not height order, stale blocks included), files pre-allocated and so zero-padded at the end,
and since Bitcoin Core 28 XOR-obfuscated with the 8-byte key in ``blocks/xor.dat``. Reading them
directly is the fastest way for a node operator to ingest a chain (BlockSci's approach), with no
RPC round trip per block. A file holding one bare serialised block (``.blk``), the hex of one,
and ``.bz2``-compressed files (as test suites ship them) are read too.

Decoding is strict, because a block that is misread would put wrong amounts on real
addresses: every length is checked against the bytes present, compact sizes must be canonical,
a segwit flag must be 1, amounts must lie in 0..21 million BTC, the first transaction (only) must
be a coinbase, and each block's transactions must hash to the merkle root of its header,
which proves the txids recomputed here. A failure raises
:class:`~counterflow.errors.BlockFileError` naming the file, the byte offset, and the block and
transaction where known.

The hot loop is plain Python over ``bytes`` with ``struct`` and ``hashlib``: it collects flat
columns (txids, outpoints, values, scripts) rather than objects per input and output, which is
what makes it an order of magnitude faster than object-per-field deserialisers. Scripts become
addresses later (:mod:`counterflow.chains.bitcoin_script`).
"""

from __future__ import annotations

import bz2
import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from counterflow.chains.registry import BlockNetwork
from counterflow.errors import BlockFileError

HEADER_SIZE = 80
FRAME_SIZE = 8  # magic + length
#: Bitcoin Core's MAX_SIZE: no compact size (count or length) may exceed it.
MAX_COMPACT_SIZE = 0x02000000
#: 21 million BTC in satoshi: bitcoind's MoneyRange.
MAX_MONEY = 21_000_000 * 100_000_000
#: A block cannot be larger than the 4 MB weight limit allows for its bytes.
MAX_BLOCK_BYTES = 4_000_000
NULL_HASH = bytes(32)
#: A coinbase input's outpoint: the null hash and index 0xffffffff.
COINBASE_OUTPOINT = NULL_HASH + b"\xff\xff\xff\xff"

_HEADER = struct.Struct("<i32s32sIII")
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_I64 = struct.Struct("<q").unpack_from
_sha256 = hashlib.sha256


def double_sha256(data: bytes) -> bytes:
    return _sha256(_sha256(data).digest()).digest()


@dataclass(frozen=True, slots=True)
class RawBlock:
    """One block's bytes and where they were found: file, byte offset, position in the file."""

    path: str
    offset: int
    ordinal: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The 80-byte header; hashes are hex in display order (as explorers and RPC show them)."""

    hash: str
    version: int
    prev_hash: str
    merkle_root: str
    timestamp: int
    bits: int
    nonce: int

    @property
    def work(self) -> int:
        """Expected hashes to find a block at this difficulty: chain choice sums it."""
        size, mantissa = self.bits >> 24, self.bits & 0x007FFFFF
        target = mantissa << (8 * (size - 3)) if size > 3 else mantissa >> (8 * (3 - size))
        return (1 << 256) // (target + 1) if target > 0 else 0


@dataclass(slots=True)
class Transactions:
    """Transactions as flat columns, in block order.

    ``input_ends[i]``/``output_ends[i]`` are the cumulative input and output counts after
    transaction ``i``, so transaction ``i`` owns inputs ``input_ends[i-1]:input_ends[i]``.
    Each input is its 36-byte outpoint as serialised (the spent txid, then the output index,
    little-endian): one slice per input is the cheapest thing the hot loop can keep. Hashes are
    in internal byte order (reverse them for display). A coinbase's one input is kept with its
    null outpoint; ``coinbase_scripts`` holds (transaction, scriptSig) of each coinbase input.
    """

    txids: list[bytes] = field(default_factory=list)
    input_ends: list[int] = field(default_factory=list)
    output_ends: list[int] = field(default_factory=list)
    outpoints: list[bytes] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    scripts: list[bytes] = field(default_factory=list)
    coinbase_scripts: list[tuple[int, bytes]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.txids)

    def txid_hex(self, index: int) -> str:
        return self.txids[index][::-1].hex()

    @property
    def prev_txids(self) -> list[bytes]:
        """The txid each input spends from, in internal byte order."""
        return [outpoint[:32] for outpoint in self.outpoints]

    @property
    def prev_vouts(self) -> list[int]:
        """The output index each input spends."""
        return [_U32(outpoint, 32)[0] for outpoint in self.outpoints]


@dataclass(slots=True)
class Block:
    """A decoded block: header, transactions, size, and where it was read from."""

    header: BlockHeader
    txs: Transactions
    size: int
    path: str
    offset: int
    ordinal: int

    @property
    def coinbase_height(self) -> int | None:
        """The height a BIP-34 coinbase states (blocks of version 2 and later), else None."""
        if self.header.version < 2 or not self.txs.coinbase_scripts:
            return None
        return bip34_height(self.txs.coinbase_scripts[0][1])


def bip34_height(script_sig: bytes) -> int | None:
    """The height pushed first in a coinbase scriptSig (BIP-34), or None if there is none."""
    if not script_sig:
        return None
    first = script_sig[0]
    if 0x51 <= first <= 0x60:  # OP_1..OP_16
        return first - 0x50
    if 1 <= first <= 8 and len(script_sig) > first:
        return int.from_bytes(script_sig[1 : 1 + first], "little")
    return None


class _BrokenError(Exception):
    """Internal: a transaction that does not decode; carries the offset for the caller."""

    def __init__(self, reason: str, tx: int, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tx = tx
        self.offset = offset


def _long_size(buf: bytes, p: int) -> tuple[int, int]:
    """A compact size marked 0xfe or 0xff at ``p``: its value and the position after it."""
    if buf[p] == 0xFE:
        value, after, least = _U32(buf, p + 1)[0], p + 5, 0x10000
    else:
        value, after, least = _U64(buf, p + 1)[0], p + 9, 0x100000000
    if value < least:
        raise ValueError(f"non-canonical compact size {value} ({after - p} bytes)")
    if value > MAX_COMPACT_SIZE:
        raise ValueError(f"compact size {value} exceeds bitcoind's maximum {MAX_COMPACT_SIZE}")
    return value, after


def read_compact_size(buf: bytes, p: int) -> tuple[int, int]:
    """The compact size (Bitcoin's varint) at ``p``: its value and the position after it.

    Raises :class:`ValueError` for a non-canonical encoding or a value above bitcoind's limit,
    and :class:`IndexError`/``struct.error`` when the bytes run out.
    """
    b = buf[p]
    if b < 0xFD:
        return b, p + 1
    if b == 0xFD:
        value = _U16(buf, p + 1)[0]
        if value < 0xFD:
            raise ValueError(f"non-canonical compact size {value} (3 bytes)")
        return value, p + 3
    return _long_size(buf, p)


def _decode_transactions(buf: bytes, p: int, count: int, out: Transactions) -> int:
    """Decode ``count`` transactions from ``p`` into ``out``; return the position after them.

    Written as one loop with the compact sizes inlined: this is the hot path, and a function
    call per length would cost a third of its time. ``read_compact_size`` is the same rule.
    """
    sha = _sha256
    u32 = _U32
    i64 = _I64
    txids = out.txids
    in_ends = out.input_ends
    out_ends = out.output_ends
    outpoints = out.outpoints
    values = out.values
    scripts = out.scripts
    coinbase = COINBASE_OUTPOINT
    max_money = MAX_MONEY
    n_in_total = len(outpoints)
    n_out_total = len(values)
    t = 0
    start = p
    try:
        for t in range(count):
            start = p
            p += 4
            segwit = buf[p] == 0
            if segwit:
                if buf[p + 1] != 1:
                    raise _BrokenError(
                        f"segwit marker followed by flag {buf[p + 1]}, not 1", t, start
                    )
                p += 2
            body = p
            b = buf[p]
            if b < 0xFD:
                n_in = b
                p += 1
            elif b == 0xFD:
                n_in, p = read_compact_size(buf, p)
            else:
                n_in, p = _long_size(buf, p)
            if n_in == 0:
                raise _BrokenError("transaction has no inputs", t, start)
            for _ in range(n_in):
                outpoint = buf[p : p + 36]
                p += 36
                b = buf[p]
                if b < 0xFD:
                    size = b
                    p += 1
                elif b == 0xFD:
                    size, p = read_compact_size(buf, p)
                else:
                    size, p = _long_size(buf, p)
                if outpoint == coinbase:
                    out.coinbase_scripts.append((len(txids), buf[p : p + size]))
                p += size + 4
                outpoints.append(outpoint)
            b = buf[p]
            if b < 0xFD:
                n_out = b
                p += 1
            elif b == 0xFD:
                n_out, p = read_compact_size(buf, p)
            else:
                n_out, p = _long_size(buf, p)
            if n_out == 0:
                raise _BrokenError("transaction has no outputs", t, start)
            for _ in range(n_out):
                value = i64(buf, p)[0]
                if not 0 <= value <= max_money:
                    raise _BrokenError(f"output value {value} is outside 0..21e14 satoshi", t, p)
                b = buf[p + 8]
                if b < 0xFD:
                    size = b
                    p += 9
                else:
                    size, p = read_compact_size(buf, p + 8)
                values.append(value)
                scripts.append(buf[p : p + size])
                p += size
            if segwit:
                body_end = p
                for _ in range(n_in):
                    b = buf[p]
                    if b < 0xFD:
                        items = b
                        p += 1
                    else:
                        items, p = read_compact_size(buf, p)
                    for _ in range(items):
                        b = buf[p]
                        if b < 0xFD:
                            p += 1 + b
                        else:
                            size, p = read_compact_size(buf, p)
                            p += size
                u32(buf, p)  # the lock time must be there
                p += 4
                h = sha(buf[start : start + 4])
                h.update(buf[body:body_end])
                h.update(buf[p - 4 : p])
                txids.append(sha(h.digest()).digest())
            else:
                u32(buf, p)
                p += 4
                txids.append(sha(sha(buf[start:p]).digest()).digest())
            n_in_total += n_in
            n_out_total += n_out
            in_ends.append(n_in_total)
            out_ends.append(n_out_total)
    except (IndexError, struct.error) as exc:
        raise _BrokenError(
            f"transaction is truncated: its data runs past the end ({exc})", t, start
        ) from None
    except ValueError as exc:
        raise _BrokenError(str(exc), t, start) from None
    if p > len(buf):
        raise _BrokenError("transaction is truncated: its data runs past the end", t, start)
    return p


def decode_header(data: bytes) -> BlockHeader:
    """The header at the start of ``data`` (at least 80 bytes)."""
    version, prev, merkle, timestamp, bits, nonce = _HEADER.unpack_from(data, 0)
    return BlockHeader(
        hash=double_sha256(data[:HEADER_SIZE])[::-1].hex(),
        version=version,
        prev_hash=prev[::-1].hex(),
        merkle_root=merkle[::-1].hex(),
        timestamp=timestamp,
        bits=bits,
        nonce=nonce,
    )


def merkle_root(txids: Sequence[bytes]) -> bytes:
    """The merkle root of txids in internal byte order (an odd level repeats its last hash)."""
    level = list(txids)
    if not level:
        return NULL_HASH
    while len(level) > 1:
        if len(level) & 1:
            level.append(level[-1])
        level = [double_sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def decode_block(raw: RawBlock) -> Block:
    """Decode one block and check it: structure, coinbase placement and merkle root."""
    data = raw.data

    def broken(reason: str, offset: int, tx: int | None = None) -> BlockFileError:
        return BlockFileError(
            raw.path, reason, offset=raw.offset + offset, block=raw.ordinal, tx=tx
        )

    if len(data) < HEADER_SIZE + 1:
        raise broken(f"a block needs at least {HEADER_SIZE + 1} bytes, found {len(data)}", 0)
    header = decode_header(data)
    try:
        count, p = read_compact_size(data, HEADER_SIZE)
    except (IndexError, struct.error, ValueError) as exc:
        raise broken(f"cannot read the transaction count: {exc}", HEADER_SIZE) from None
    if count == 0:
        raise broken("block has no transactions (not even a coinbase)", HEADER_SIZE)
    txs = Transactions()
    try:
        end = _decode_transactions(data, p, count, txs)
    except _BrokenError as exc:
        raise broken(exc.reason, exc.offset, exc.tx) from None
    if end != len(data):
        raise broken(f"{len(data) - end} byte(s) after the block's {count} transactions", end)
    first = txs.coinbase_scripts[0][0] if txs.coinbase_scripts else None
    if first != 0 or txs.input_ends[0] != 1:
        raise broken("the first transaction is not a coinbase", p, 0)
    if len(txs.coinbase_scripts) > 1:
        raise broken(
            "a transaction other than the first spends a null outpoint (coinbase)",
            p,
            txs.coinbase_scripts[1][0],
        )
    root = merkle_root(txs.txids)[::-1].hex()
    if root != header.merkle_root:
        raise broken(
            f"merkle root mismatch: the transactions hash to {root}, the header says "
            f"{header.merkle_root}",
            0,
        )
    return Block(header, txs, len(data), raw.path, raw.offset, raw.ordinal)


def decode_transaction(data: bytes, *, path: str = "<bytes>") -> Transactions:
    """Decode one serialised transaction (legacy or segwit) that fills ``data`` exactly."""
    txs = Transactions()
    try:
        end = _decode_transactions(data, 0, 1, txs)
    except _BrokenError as exc:
        raise BlockFileError(path, exc.reason, offset=exc.offset) from None
    if end != len(data):
        raise BlockFileError(path, f"{len(data) - end} byte(s) after the transaction", offset=end)
    return txs


# -- files ---------------------------------------------------------------------------------


def read_file_bytes(path: Path) -> bytes:
    """A block file's bytes: decompressed (``.bz2``), decoded (``.hex``), de-obfuscated.

    Bitcoin Core 28 and later XOR block files with the key in ``xor.dat`` beside them; a key of
    zeros (older nodes, or obfuscation turned off) changes nothing.
    """
    name = path.name.lower()
    try:
        if name.endswith(".bz2"):
            with bz2.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, ValueError) as exc:
        raise BlockFileError(str(path), f"cannot read file: {exc}") from exc
    if name.endswith((".hex", ".hex.bz2")):
        text = data.decode("ascii", errors="replace")
        try:
            data = bytes.fromhex("".join(text.split()))
        except ValueError as exc:
            raise BlockFileError(str(path), f"not hexadecimal: {exc}") from None
    key_file = path.parent / "xor.dat"
    if not name.endswith((".bz2", ".hex")) and key_file.is_file():
        key = key_file.read_bytes()
        if any(key):
            data = _xor(data, key)
    return data


def _xor(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        len(data), "little"
    )


def read_blocks(
    path: Path, networks: Sequence[BlockNetwork], *, others: Sequence[BlockNetwork] = ()
) -> Iterator[RawBlock]:
    """The blocks of one file, framed (``blk*.dat``) or one bare block, with their offsets.

    ``networks`` are the magics accepted; ``others`` are known networks, named in the error
    when a file belongs to one of them (a testnet file given for mainnet, say).
    """
    data = read_file_bytes(path)
    yield from split_blocks(data, str(path), networks, others=others)


def split_blocks(
    data: bytes,
    path: str,
    networks: Sequence[BlockNetwork],
    *,
    others: Sequence[BlockNetwork] = (),
) -> Iterator[RawBlock]:
    """Split a file's bytes into blocks: by frames when it starts with a magic, else one block."""
    magics = {n.magic for n in networks}
    if not data:
        raise BlockFileError(path, "file is empty")
    if data[:4] not in magics:
        foreign = next((n for n in others if n.magic == data[:4]), None)
        if foreign is not None:
            raise BlockFileError(
                path,
                f"network magic {data[:4].hex()} is {foreign.name}'s, not "
                f"{' or '.join(n.name for n in networks)}'s",
                offset=0,
            )
        yield RawBlock(path, 0, 0, data)  # one bare serialised block
        return
    pos = 0
    ordinal = 0
    size = len(data)
    while pos < size:
        magic = data[pos : pos + 4]
        if magic not in magics:
            if not any(data[pos:]):
                return  # Bitcoin Core pre-allocates block files: the rest is zero padding
            expected = " or ".join(m.hex() for m in sorted(magics))
            raise BlockFileError(
                path,
                f"expected network magic {expected} at the start of a block frame, found "
                f"{magic.hex()}",
                offset=pos,
                block=ordinal,
            )
        if pos + FRAME_SIZE > size:
            raise BlockFileError(
                path,
                "block frame is cut short: no length after the magic",
                offset=pos,
                block=ordinal,
            )
        length = _U32(data, pos + 4)[0]
        start = pos + FRAME_SIZE
        if length > MAX_BLOCK_BYTES:
            raise BlockFileError(
                path,
                f"frame declares a {length}-byte block, more than the {MAX_BLOCK_BYTES} bytes "
                "a block can have",
                offset=pos,
                block=ordinal,
            )
        if start + length > size:
            raise BlockFileError(
                path,
                f"frame declares a {length}-byte block but only {size - start} byte(s) remain "
                "in the file (truncated)",
                offset=pos,
                block=ordinal,
            )
        yield RawBlock(path, start, ordinal, data[start : start + length])
        ordinal += 1
        pos = start + length
