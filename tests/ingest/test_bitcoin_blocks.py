"""Raw Bitcoin blocks decode exactly: real blocks against python-bitcoinlib, and bad bytes located.

python-bitcoinlib is an independent decoder: every transaction's txid, outpoints, values and
scripts must agree with it, and each block's transactions must hash to its header's merkle root
(the decoder checks that itself, which proves the txids).
"""

from __future__ import annotations

import bz2
import itertools
from pathlib import Path

import bitcoin.core as bc
import pytest
from bitcoin.core.script import CScript, CScriptWitness
from bitcoin.core.serialize import VarIntSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from counterflow.chains.registry import get_chain
from counterflow.errors import BlockFileError
from counterflow.ingest.bitcoin_blocks import (
    Transactions,
    bip34_height,
    decode_block,
    decode_transaction,
    read_blocks,
    read_compact_size,
    split_blocks,
)

BLOCKS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "chain" / "bitcoin-blocks"
BTCD = BLOCKS / "btcd"
BLOCK_574200 = (
    BTCD
    / "wire/testdata/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
)
BLOCK_540107 = (
    BTCD
    / "wire/testdata/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk"
)
BLOCK_277647 = BTCD / "blockchain/testdata/277647.dat.bz2"
BLOCKS_1_255 = BTCD / "database/testdata/blocks1-256.bz2"
BLOCKS_0_4 = BTCD / "blockchain/testdata/blk_0_to_4.dat.bz2"
MEGATX = BTCD / "wire/testdata/megatx.bin.bz2"
HEADERS_1_11 = BTCD / "netsync/testdata/blockheaders-mainnet-1-11.txt"
BLOCK_13B8A = BLOCKS / "rust-bitcoin/p2p/tests/data/block_13b8a.hex"
TESTNET_BLOCK = (
    BLOCKS / "rust-bitcoin/bitcoin/tests/data/"
    "testnet_block_000000000000045e0b1660b6445b5e5c5ab63c9a4f956be7e1e69be04fa4497b.raw"
)
MAINNET = get_chain("bitcoin").block_networks
TESTNET = get_chain("bitcoin-testnet").block_networks


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


def assert_same_as_bitcoinlib(txs: Transactions, peer: list[bc.CTransaction]) -> None:
    assert len(txs) == len(peer)
    assert [txs.txid_hex(i) for i in range(len(txs))] == [bc.b2lx(t.GetTxid()) for t in peer]
    assert txs.input_ends[-1] == sum(len(t.vin) for t in peer)
    assert txs.output_ends[-1] == sum(len(t.vout) for t in peer)
    assert txs.prev_txids == [i.prevout.hash for t in peer for i in t.vin]
    assert txs.prev_vouts == [i.prevout.n for t in peer for i in t.vin]
    assert txs.values == [o.nValue for t in peer for o in t.vout]
    assert txs.scripts == [bytes(o.scriptPubKey) for t in peer for o in t.vout]


REAL = [
    (BLOCK_574200, 1, 3315, 574200),
    (BLOCK_540107, 1, 230, 540107),
    (BLOCK_277647, 1, 213, 277647),
    (BLOCK_13B8A, 1, 9, None),
]


@pytest.mark.parametrize(("path", "blocks", "txs", "height"), REAL, ids=lambda v: str(v)[-12:])
def test_real_blocks_decode_as_python_bitcoinlib_does(
    path: Path, blocks: int, txs: int, height: int | None
) -> None:
    raws = list(read_blocks(needs(path), MAINNET))
    assert len(raws) == blocks
    for raw in raws:
        block = decode_block(raw)  # checks the merkle root
        peer = bc.CBlock.deserialize(raw.data)
        count, _ = read_compact_size(raw.data, 80)
        assert len(block.txs) == count == txs  # the count the block states
        assert block.header.hash == bc.b2lx(peer.GetHash())
        assert block.header.merkle_root == bc.b2lx(peer.calc_merkle_root())
        assert block.header.prev_hash == bc.b2lx(peer.hashPrevBlock)
        assert block.header.timestamp == peer.nTime
        assert block.coinbase_height == height
        assert_same_as_bitcoinlib(block.txs, list(peer.vtx))


def test_segwit_blocks_carry_witness_data() -> None:
    """The two segwit blocks' txids differ from their wtxids: witnesses were skipped, not read."""
    for path in (BLOCK_574200, BLOCK_540107):
        raw = next(read_blocks(needs(path), MAINNET))
        peer = bc.CBlock.deserialize(raw.data)
        assert any(not t.wit.is_null() for t in peer.vtx)
        assert decode_block(raw).size == len(raw.data)


def test_mainnet_blocks_1_to_255_are_a_chain_with_the_published_headers() -> None:
    raws = list(read_blocks(needs(BLOCKS_1_255), MAINNET))
    genesis = next(read_blocks(needs(BLOCKS_0_4), MAINNET))
    blocks = [decode_block(r) for r in [genesis, *raws]]
    assert len(blocks) == 256
    for parent, child in itertools.pairwise(blocks):
        assert child.header.prev_hash == parent.header.hash
    assert blocks[0].header.hash == MAINNET[0].genesis_hash
    headers = needs(HEADERS_1_11).read_text().split()
    for number, header in enumerate(headers, start=1):
        assert raws[number - 1].data[:80].hex() == header
    assert sum(len(b.txs) for b in blocks) == 263
    # Offsets point at the block inside the decompressed file: frames of 8 bytes between.
    assert raws[0].offset == 8
    assert raws[1].offset == 8 + len(raws[0].data) + 8


def test_megatx_decodes() -> None:
    data = bz2.decompress(needs(MEGATX).read_bytes())
    txs = decode_transaction(data)
    peer = bc.CTransaction.deserialize(data)
    assert txs.input_ends == [5569] == [len(peer.vin)]
    assert_same_as_bitcoinlib(txs, [peer])


def test_testnet_and_hex_blocks() -> None:
    raw = next(read_blocks(needs(TESTNET_BLOCK), TESTNET))
    block = decode_block(raw)
    assert block.header.hash == TESTNET_BLOCK.stem.split("_")[-1]
    assert_same_as_bitcoinlib(block.txs, list(bc.CBlock.deserialize(raw.data).vtx))
    hex_block = next(read_blocks(needs(BLOCK_13B8A), MAINNET))
    assert hex_block.data == bytes.fromhex(BLOCK_13B8A.read_text().strip())


def test_bip34_heights() -> None:
    assert bip34_height(bytes.fromhex("03f8c208")) == 574200
    assert bip34_height(b"\x51") == 1
    assert bip34_height(b"") is None
    assert bip34_height(b"\x4c\x01\x01") is None


# -- compact sizes and transactions against python-bitcoinlib's serialiser ----------------------


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(st.integers(0, 0x10100), st.integers(0, 0x02000000)))
def test_compact_size_round_trips(value: int) -> None:
    encoded = VarIntSerializer.serialize(value) + b"tail"
    assert read_compact_size(encoded, 0) == (value, len(encoded) - 4)


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("fdfc00", "non-canonical"),
        ("feffff0000", "non-canonical"),
        ("ffffffffff00000000", "non-canonical"),
        ("ff" + "00000000" + "01000000", "exceeds"),
        ("fe00000003", "exceeds"),
    ],
)
def test_compact_size_refuses_non_canonical_and_huge(encoded: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_compact_size(bytes.fromhex(encoded), 0)


scripts = st.binary(max_size=300)
tx_inputs = st.lists(
    st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 2), scripts),
    min_size=1,
    max_size=4,
)
tx_outputs = st.lists(
    st.tuples(st.integers(0, 21_000_000 * 10**8), scripts), min_size=1, max_size=4
)
witnesses = st.lists(st.binary(max_size=600), max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    inputs=tx_inputs,
    outputs=tx_outputs,
    stacks=st.lists(witnesses, min_size=4, max_size=4),
    segwit=st.booleans(),
    version=st.integers(-(2**31), 2**31 - 1),
    lock_time=st.integers(0, 2**32 - 1),
)
def test_random_transactions_decode_as_serialised(
    inputs: list[tuple[bytes, int, bytes]],
    outputs: list[tuple[int, bytes]],
    stacks: list[list[bytes]],
    segwit: bool,
    version: int,
    lock_time: int,
) -> None:
    vin = [bc.CTxIn(bc.COutPoint(h, n), CScript(s)) for h, n, s in inputs]
    vout = [bc.CTxOut(v, CScript(s)) for v, s in outputs]
    witness = bc.CTxWitness(
        [bc.CTxInWitness(CScriptWitness(stacks[i] if segwit else [])) for i in range(len(vin))]
    )
    tx = bc.CTransaction(vin, vout, lock_time, version, witness)
    data = tx.serialize()
    decoded = decode_transaction(data)
    assert_same_as_bitcoinlib(decoded, [tx])


# -- bad input ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def framed() -> bytes:
    return bz2.decompress(needs(BLOCKS_1_255).read_bytes())


def read_all(data: bytes) -> list[object]:
    return [decode_block(r) for r in split_blocks(data, "f.dat", MAINNET, others=TESTNET)]


def frame_start(data: bytes, index: int) -> int:
    pos = 0
    for _ in range(index):
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "little")
    return pos


def test_zero_padding_after_the_last_block_is_accepted(framed: bytes) -> None:
    assert len(read_all(framed + bytes(4096))) == 255


def test_wrong_magic_names_the_frame(framed: bytes) -> None:
    second = frame_start(framed, 1)
    bad = framed[:second] + b"\xde\xad\xbe\xef" + framed[second + 4 :]
    with pytest.raises(BlockFileError, match="expected network magic f9beb4d9") as err:
        read_all(bad)
    assert (err.value.offset, err.value.block) == (second, 1)
    assert f"f.dat, byte {second} (block 1 in the file)" in str(err.value)


def test_another_networks_file_is_named() -> None:
    testnet_magic = TESTNET[0].magic
    with pytest.raises(BlockFileError, match="testnet3"):
        read_all(testnet_magic + bytes(100))


def test_length_past_the_end_of_the_file(framed: bytes) -> None:
    cut = framed[: frame_start(framed, 3) + 100]
    with pytest.raises(BlockFileError, match="remain in the file") as err:
        read_all(cut)
    assert (err.value.offset, err.value.block) == (frame_start(framed, 3), 3)


def test_declared_length_larger_than_any_block(framed: bytes) -> None:
    bad = framed[:4] + (5_000_000).to_bytes(4, "little") + framed[8:]
    with pytest.raises(BlockFileError, match="more than the 4000000 bytes"):
        read_all(bad)


def test_truncated_block_inside_its_frame(framed: bytes) -> None:
    """A frame whose length is shorter than its block: the block runs out of bytes."""
    length = int.from_bytes(framed[4:8], "little")
    bad = framed[:4] + (length - 10).to_bytes(4, "little") + framed[8 : 8 + length - 10]
    with pytest.raises(BlockFileError, match="truncated") as err:
        read_all(bad)
    assert err.value.offset == 8 + 81  # the coinbase transaction starts after header and count
    assert (err.value.block, err.value.tx) == (0, 0)


def test_garbage_transaction_fails_the_merkle_root(framed: bytes) -> None:
    body = bytearray(framed)
    body[8 + 81 + 45] ^= 0xFF  # a byte of the coinbase's scriptSig: still well-formed
    with pytest.raises(BlockFileError, match="merkle root mismatch") as err:
        read_all(bytes(body))
    assert (err.value.offset, err.value.block) == (8, 0)


#: Offsets inside block 1's coinbase (legacy): version 0-3, input count 4, outpoint 5-40,
#: scriptSig length 41 and script 42-48, sequence 49-52, output count 53.
@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (4, 0x00, "segwit marker followed by flag 0"),
        (41, 0xFE, "truncated"),
        (53, 0x00, "no outputs"),
    ],
)
def test_malformed_transaction_bytes(framed: bytes, offset: int, value: int, reason: str) -> None:
    body = bytearray(framed)
    tx = 8 + 81
    body[tx + offset] = value
    with pytest.raises(BlockFileError, match=reason) as err:
        read_all(bytes(body))
    assert (err.value.offset, err.value.block, err.value.tx) == (tx, 0, 0)


def test_bare_block_with_trailing_bytes() -> None:
    raw = needs(BLOCK_574200).read_bytes()
    with pytest.raises(BlockFileError, match="3 byte\\(s\\) after"):
        read_all(raw + b"\x00\x01\x02")


def test_first_transaction_must_be_a_coinbase(framed: bytes) -> None:
    body = bytearray(framed)
    body[8 + 81 + 5] ^= 0x01  # the coinbase's null outpoint is null no more
    with pytest.raises(BlockFileError, match="not a coinbase"):
        read_all(bytes(body))


def test_transaction_with_bytes_left_over() -> None:
    data = bz2.decompress(needs(MEGATX).read_bytes())
    with pytest.raises(BlockFileError, match="1 byte\\(s\\) after the transaction"):
        decode_transaction(data + b"\x00")


def test_obfuscated_block_files_are_read_with_their_key(tmp_path: Path, framed: bytes) -> None:
    key = bytes.fromhex("0102030405060708")
    stream = (key * (len(framed) // 8 + 1))[: len(framed)]
    (tmp_path / "blk00000.dat").write_bytes(
        bytes(a ^ b for a, b in zip(framed, stream, strict=True))
    )
    (tmp_path / "xor.dat").write_bytes(key)
    raws = list(read_blocks(tmp_path / "blk00000.dat", MAINNET))
    assert [r.data for r in raws] == [r.data for r in split_blocks(framed, "x", MAINNET)]
