"""Compiled kernels of the columnar ingest path (numba, cached).

They read Arrow string columns through their buffers (validity bitmap, int32 offsets, UTF-8
bytes), so a field is checked and parsed without making a Python string of it. A column chunk
is passed as a tuple ``(bitmap, has_bitmap, offsets, data, bit_offset)``: row
``i`` is ``data[offsets[i]:offsets[i + 1]]`` and is NULL when bit ``bit_offset + i`` of
``bitmap`` is clear.

Each check accepts exactly what the SQL path's check accepts *and* what the SQL path would then
store unchanged; anything else (a failing row, a mixed-case address that needs its EIP-55
checksum verified, a number wider than the columnar path handles) makes the kernel return the
row and a :data:`FAILURES` code, and the ingest hands the whole run to the SQL path.

Hex keys are stored big-endian in ``uint64`` words (an address in 3 words, the last holding 4
bytes; a hash in 4), so comparing the words in order compares the lowercase hex texts, which is
the order the SQL path sorts them in. Amounts are 128-bit integers as (low, high) words.
"""

from __future__ import annotations

import numba
import numpy as np

#: Why a row cannot take the columnar path, by the code a scan kernel returns.
FAILURES: dict[int, str] = {
    1: "transaction hash",
    2: "block number",
    3: "transaction index",
    4: "from_address",
    5: "to_address",
    6: "value",
    7: "receipt status",
    8: "receipt gas used",
    9: "gas price",
    10: "block timestamp",
    11: "receipt contract address",
    12: "token address",
    13: "log index",
    14: "mixed-case address (EIP-55 checksum)",
}

_HASH, _BLOCK, _TXI, _FROM, _TO, _VALUE, _STATUS, _GAS, _PRICE, _TS, _CONTRACT = range(1, 12)
_TOKEN, _LOG, _MIXED = 12, 13, 14

#: The same as flags: value in the low 4 bits, 0x40 for an uppercase digit, 0x80 for a non-digit.
_NIBBLE = np.full(256, 0x80, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 0x40 | (10 + _i)
_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).copy()
_ZERO = ord("0")
_MAX_LOG_INDEX = (1 << 31) - 1 - (1 << 24)  # TOKEN_SEQ_BASE + log index stays an INTEGER
_MASK32 = np.uint64(0xFFFFFFFF)
_TEN = np.uint64(10)
_S32 = np.uint64(32)
_S4 = np.uint64(4)
_E19_LO = np.uint64(10**19 & 0xFFFFFFFF)
_E19_HI = np.uint64(10**19 >> 32)


#: The decorator of the kernels that allocate nothing: they run without numba's reference
#: counting (its runtime, ``_nrt``, is what allocation needs). With it, every array a helper
#: unpacks from a column (bitmap, offsets, data) is counted up and down once per row and
#: field, atomically, on counters the threads share: 40% of a scan's time, contended between
#: the cores.
_no_refcounts = numba.njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]


@numba.njit(cache=True, nogil=True, inline="always")
def _span(col, i):  # type: ignore[no-untyped-def]
    """(start, end, present) of row ``i`` of a column chunk."""
    bitmap, has_bitmap, offsets, _data, bit_offset = col
    present = True
    if has_bitmap:
        j = bit_offset + i
        present = (bitmap[j >> 3] >> (j & 7)) & 1 == 1
    return offsets[i], offsets[i + 1], present


@numba.njit(cache=True, nogil=True, inline="always")
def _hex_key(data, start, end, nbytes, out, row, x_upper_ok):  # type: ignore[no-untyped-def]
    """Parse ``0x`` + hex into ``out[row]``: 0 ok, 1 malformed, 2 has uppercase digits.

    ``x_upper_ok`` accepts ``0X`` (hashes are compared lowercased; addresses are not). The
    digit loop has no branches: flags are or-ed together and looked at once at the end.
    """
    if end - start != 2 + 2 * nbytes or data[start] != _ZERO:
        return 1
    x = data[start + 1]
    if x != 120 and not (x_upper_ok and x == 88):
        return 1
    flags = 0
    p = start + 2
    for word in range((nbytes + 7) // 8):
        acc = np.uint64(0)
        for _ in range(2 * min(8, nbytes - 8 * word)):
            v = _NIBBLE[data[p]]
            flags |= v
            acc = (acc << _S4) | np.uint64(v & 15)
            p += 1
        out[row, word] = acc
    if flags & 0x80:
        return 1
    return 2 if flags & 0x40 else 0


@numba.njit(cache=True, nogil=True, inline="always")
def _digits(data, start, end, max_len):  # type: ignore[no-untyped-def]
    """The value of 1..``max_len`` ASCII digits (``max_len`` <= 18), else -1."""
    n = end - start
    if n < 1 or n > max_len:
        return -1
    value = 0
    for k in range(start, end):
        d = data[k] - _ZERO
        if d < 0 or d > 9:
            return -1
        value = value * 10 + d
    return value


@numba.njit(cache=True, nogil=True, inline="always")
def _amount(data, start, end, lo_out, hi_out, sig_out, row):  # type: ignore[no-untyped-def]
    """Parse ``^[0-9]+$`` into 128 bits; returns False when the text is not that.

    ``sig_out[row]`` is the number of digits after leading zeros: above 38 the amount does not
    fit DECIMAL(38,0) and is kept as text, so its words are left zero.
    """
    if end <= start:
        return False
    first = -1
    for k in range(start, end):
        d = data[k] - _ZERO
        if d < 0 or d > 9:
            return False
        if first < 0 and d != 0:
            first = k
    sig = 0 if first < 0 else end - first
    sig_out[row] = sig
    lo = np.uint64(0)
    hi = np.uint64(0)
    if 0 < sig <= 38:
        # value = high * 10^19 + low, each part at most 19 digits (fits 64 bits)
        split = max(first, end - 19)
        high = np.uint64(0)
        for k in range(first, split):
            high = high * _TEN + np.uint64(data[k] - _ZERO)
        low = np.uint64(0)
        for k in range(split, end):
            low = low * _TEN + np.uint64(data[k] - _ZERO)
        if split > first:
            hi, lo = _mul_e19(high)
            lo += low
            if lo < low:
                hi += np.uint64(1)
        else:
            lo = low
    lo_out[row] = lo
    hi_out[row] = hi
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_e19(a):  # type: ignore[no-untyped-def]
    """(high, low) words of ``a * 10^19``, from 32-bit partial products."""
    a0 = a & _MASK32
    a1 = a >> _S32
    p00 = a0 * _E19_LO
    p01 = a0 * _E19_HI
    p10 = a1 * _E19_LO
    p11 = a1 * _E19_HI
    mid = (p00 >> _S32) + (p01 & _MASK32) + (p10 & _MASK32)
    low = (mid << _S32) | (p00 & _MASK32)
    high = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
    return high, low


@numba.njit(cache=True, nogil=True, inline="always")
def _address(col, i, out, row, optional):  # type: ignore[no-untyped-def]
    """0 ok (present), 3 absent and optional, else the failure of :func:`_hex_key`."""
    start, end, present = _span(col, i)
    if not present:
        return 3 if optional else 1
    return _hex_key(col[3], start, end, 20, out, row, False)


@numba.njit(cache=True, nogil=True, inline="always")
def _uint(col, i, max_len):  # type: ignore[no-untyped-def]
    """Digits of a present field, else -1; absent is -2."""
    start, end, present = _span(col, i)
    if not present:
        return -2
    return _digits(col[3], start, end, max_len)


@numba.njit(cache=True, nogil=True, inline="always")
def _same_text(col, i):  # type: ignore[no-untyped-def]
    s0, e0, p0 = _span(col, i - 1)
    s1, e1, p1 = _span(col, i)
    if p0 != p1:
        return False
    if not p0:
        return True
    if e0 - s0 != e1 - s1:
        return False
    data = col[3]
    for j in range(e1 - s1):  # noqa: SIM110 - compiled: no generators
        if data[s0 + j] != data[s1 + j]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def hex_texts(keys, nbytes):  # type: ignore[no-untyped-def]
    """``0x`` + lowercase hex of each key row, as one Arrow string data buffer."""
    width = 2 + 2 * nbytes
    digits = _DIGITS
    out = np.empty(keys.shape[0] * width, dtype=np.uint8)
    for i in range(keys.shape[0]):
        o = i * width
        out[o] = _ZERO
        out[o + 1] = 120
        for k in range(nbytes):
            word = k // 8
            last = min(nbytes, (word + 1) * 8)  # bytes held by this word
            shift = np.uint64(8 * (last - 1 - k))
            byte = (keys[i, word] >> shift) & np.uint64(0xFF)
            out[o + 2 + 2 * k] = digits[byte >> np.uint64(4)]
            out[o + 3 + 2 * k] = digits[byte & np.uint64(0xF)]
    return out


@_no_refcounts
def scan_transactions(  # type: ignore[no-untyped-def]
    n,
    base,
    c_hash,
    c_block,
    c_index,
    c_from,
    c_to,
    c_value,
    c_gas_price,
    c_ts,
    c_gas_used,
    c_status,
    c_effective,
    c_contract,
    c_block_hash,
    hash_w,
    block,
    tx_index,
    from_w,
    dst_w,
    has_dst,
    val_lo,
    val_hi,
    val_sig,
    status,
    gas,
    price,
    ts,
    block_row,
):
    """Check and parse ``n`` transaction rows into the outputs from ``base``.

    ``block_row`` marks the rows whose (block_number, block_hash, block_timestamp) texts differ
    from the row before: the blocks table takes max() of each per block, which the repeats
    cannot change, so it is computed from the marked rows only.

    Returns (-1, 0) when every row can take the columnar path, else (row, failure code).
    """
    for i in range(n):
        r = base + i
        block_row[r] = i == 0 or not (
            _same_text(c_block, i) and _same_text(c_block_hash, i) and _same_text(c_ts, i)
        )
        s, e, p = _span(c_hash, i)
        if not p or _hex_key(c_hash[3], s, e, 32, hash_w, r, True) == 1:
            return i, _HASH
        block[r] = _uint(c_block, i, 18)
        if block[r] < 0:
            return i, _BLOCK
        # At most 9 digits, so that TRY_CAST(... AS INTEGER) cannot come out NULL.
        txi = _uint(c_index, i, 9)
        if txi < 0:
            return i, _TXI
        tx_index[r] = txi
        code = _address(c_from, i, from_w, r, False)
        if code != 0:
            return i, _MIXED if code == 2 else _FROM
        code = _address(c_to, i, dst_w, r, True)
        if code == 3:
            s, e, p = _span(c_contract, i)
            if p:  # a contract creation stores the created contract as the recipient
                code = _hex_key(c_contract[3], s, e, 20, dst_w, r, False)
                if code != 0:
                    return i, _MIXED if code == 2 else _CONTRACT
                has_dst[r] = True
            else:
                has_dst[r] = False
        elif code != 0:
            return i, _MIXED if code == 2 else _TO
        else:
            has_dst[r] = True
        s, e, p = _span(c_value, i)
        if not p or not _amount(c_value[3], s, e, val_lo, val_hi, val_sig, r):
            return i, _VALUE
        s, e, p = _span(c_status, i)
        if not p:
            status[r] = -1
        elif e - s == 1 and (c_status[3][s] == _ZERO or c_status[3][s] == _ZERO + 1):
            status[r] = c_status[3][s] - _ZERO
        else:
            return i, _STATUS
        g = _uint(c_gas_used, i, 9)
        if g == -1:
            return i, _GAS
        gas[r] = g
        price[r] = -1
        if g >= 0:
            q = _uint(c_effective, i, 18)
            if q == -2:
                q = _uint(c_gas_price, i, 18)
            if q < 0:
                return i, _PRICE
            price[r] = q
        t = _uint(c_ts, i, 18)
        if t == -1:
            return i, _TS
        ts[r] = t
    return -1, 0


@_no_refcounts
def scan_token_transfers(  # type: ignore[no-untyped-def]
    n,
    base,
    c_token,
    c_from,
    c_to,
    c_value,
    c_hash,
    c_log,
    c_block,
    c_ts,
    token_w,
    from_w,
    to_w,
    val_lo,
    val_hi,
    val_sig,
    hash_w,
    log_index,
    block,
    ts,
):
    """Check and parse ``n`` token transfer rows; returns as :func:`scan_transactions`."""
    for i in range(n):
        r = base + i
        code = _address(c_token, i, token_w, r, False)
        if code != 0:
            return i, _MIXED if code == 2 else _TOKEN
        code = _address(c_from, i, from_w, r, False)
        if code != 0:
            return i, _MIXED if code == 2 else _FROM
        code = _address(c_to, i, to_w, r, False)
        if code != 0:
            return i, _MIXED if code == 2 else _TO
        s, e, p = _span(c_value, i)
        if not p or not _amount(c_value[3], s, e, val_lo, val_hi, val_sig, r):
            return i, _VALUE
        s, e, p = _span(c_hash, i)
        if not p or _hex_key(c_hash[3], s, e, 32, hash_w, r, True) == 1:
            return i, _HASH
        li = _uint(c_log, i, 10)
        if li < 0 or li > _MAX_LOG_INDEX:
            return i, _LOG
        log_index[r] = li
        block[r] = _uint(c_block, i, 18)
        if block[r] < 0:
            return i, _BLOCK
        t = _uint(c_ts, i, 18)
        if t == -1:
            return i, _TS
        ts[r] = t
    return -1, 0


@_no_refcounts
def parse_canonical(col, n, nbytes, out, ok):  # type: ignore[no-untyped-def]
    """Parse stored dictionary texts that are canonical ``0x`` + lowercase hex; mark the rest.

    A stored text that is not canonical cannot equal a key of the columnar path, which only
    ever holds canonical ones, so it is skipped rather than refused.
    """
    for i in range(n):
        s, e, p = _span(col, i)
        ok[i] = p and _hex_key(col[3], s, e, nbytes, out, i, False) == 0


@numba.njit(cache=True, nogil=True, inline="always")
def _mix(h, w):  # type: ignore[no-untyped-def]
    h ^= w + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2))
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h


@numba.njit(cache=True, nogil=True, inline="always")
def _hash_row(keys, i):  # type: ignore[no-untyped-def]
    h = np.uint64(0x84222325CBF29CE4)
    for w in range(keys.shape[1]):
        h = _mix(h, keys[i, w])
    return h


@numba.njit(cache=True, nogil=True, inline="always")
def _slot_matches(slots, slot, keys, i):  # type: ignore[no-untyped-def]
    for w in range(keys.shape[1]):  # noqa: SIM110 - compiled: no generators
        if slots[slot, w] != keys[i, w]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _rehash(distinct, m, size):  # type: ignore[no-untyped-def]
    width = distinct.shape[1]
    slots = np.zeros((size, width + 1), dtype=np.uint64)
    mask = np.uint64(size - 1)
    for code in range(m):
        slot = _hash_row(distinct, code) & mask
        while slots[slot, width] != 0:
            slot = (slot + np.uint64(1)) & mask
        for w in range(width):
            slots[slot, w] = distinct[code, w]
        slots[slot, width] = np.uint64(code + 1)
    return slots


@numba.njit(cache=True, nogil=True)
def encode(keys, present, slots, distinct, m):  # type: ignore[no-untyped-def]
    """Dense codes of key rows, continuing a dictionary (codes in order of first appearance).

    The dictionary is ``distinct[:m]`` (one row per code) and an open-addressing table
    ``slots`` whose rows hold a key's words and its code + 1 (0: free), so that a probe reads
    one cache line, at most 70% full; both grow as needed and are returned with the new
    ``m``. Rows where
    ``present`` is false get code -1 (an empty ``present`` means every row is present).
    """
    n = keys.shape[0]
    width = keys.shape[1]
    codes = np.empty(n, dtype=np.int64)
    mask = np.uint64(slots.shape[0] - 1)
    check = present.shape[0] > 0
    for i in range(n):
        if check and not present[i]:
            codes[i] = -1
            continue
        slot = _hash_row(keys, i) & mask
        while True:
            tag = slots[slot, width]
            if tag == 0:
                if m == distinct.shape[0]:
                    grown = np.empty((2 * m, width), dtype=np.uint64)
                    grown[:m] = distinct[:m]
                    distinct = grown
                for w in range(width):
                    distinct[m, w] = keys[i, w]
                    slots[slot, w] = keys[i, w]
                slots[slot, width] = np.uint64(m + 1)
                codes[i] = m
                m += 1
                if 10 * m > 7 * slots.shape[0]:  # at most 70% full
                    slots = _rehash(distinct, m, 2 * slots.shape[0])
                    mask = np.uint64(slots.shape[0] - 1)
                break
            if _slot_matches(slots, slot, keys, i):
                codes[i] = np.int64(tag) - 1
                break
            slot = (slot + np.uint64(1)) & mask
    return codes, slots, distinct, m


@numba.njit(cache=True, nogil=True)
def lookup(slots, queries, ok):  # type: ignore[no-untyped-def]
    """The code of each query row in the table ``slots`` of :func:`encode`, or -1."""
    width = queries.shape[1]
    mask = np.uint64(slots.shape[0] - 1)
    out = np.full(queries.shape[0], -1, dtype=np.int64)
    for q in range(queries.shape[0]):
        if not ok[q]:
            continue
        slot = _hash_row(queries, q) & mask
        while True:
            tag = slots[slot, width]
            if tag == 0:
                break
            if _slot_matches(slots, slot, queries, q):
                out[q] = np.int64(tag) - 1
                break
            slot = (slot + np.uint64(1)) & mask
    return out


@_no_refcounts
def max_by_code(codes, values, out):  # type: ignore[no-untyped-def]
    """``out[c] = max(out[c], values[i])`` over rows with code ``c >= 0``."""
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0 and values[i] > out[c]:
            out[c] = values[i]


@numba.njit(cache=True, nogil=True, inline="always")
def _lower(out, c, value):  # type: ignore[no-untyped-def]
    if c >= 0 and value < out[c]:
        out[c] = value


@_no_refcounts
def first_uses(  # type: ignore[no-untyped-def]
    tx_new,
    tx_fee,
    tx_native,
    tx_block,
    tx_index,
    tx_from,
    tx_dst,
    tok_new,
    tok_block,
    tok_tx,
    tok_from,
    tok_to,
    tok_asset,
    position,
    addr_block,
    tx_first_block,
    tx_first_index,
    asset_block,
):
    """Smallest block (and position) at which each code is used by a stored row.

    Transaction rows in new blocks name their transaction whether or not they move value (the
    SQL path's ``batch_transactions``), and their sender and recipient where a fee or value
    leg is stored; token rows in new blocks name all of theirs. Code ``i`` of the
    transactions dictionary is row ``i`` of the transactions export.
    """
    for r in range(tx_block.shape[0]):
        if not tx_new[r]:
            continue
        b = tx_block[r]
        _lower(tx_first_block, r, b)
        _lower(tx_first_index, r, tx_index[r])
        if tx_fee[r] or tx_native[r]:
            _lower(addr_block, tx_from[r], b)
        if tx_native[r]:
            _lower(addr_block, tx_dst[r], b)
    for r in range(tok_block.shape[0]):
        if not tok_new[r]:
            continue
        b = tok_block[r]
        t = tok_tx[r]
        _lower(tx_first_block, t, b)
        if position[t] >= 0:
            _lower(tx_first_index, t, position[t])
        _lower(addr_block, tok_from[r], b)
        _lower(addr_block, tok_to[r], b)
        _lower(asset_block, tok_asset[r], b)


@_no_refcounts
def transaction_leg_flags(status, gas, price, val_sig, has_dst, fee, native):  # type: ignore[no-untyped-def]
    """Which legs each transaction row has: a fee, when gas used and price are both non-zero;
    its value, when it did not fail, the value is non-zero and it has a recipient."""
    for r in range(status.shape[0]):
        fee[r] = gas[r] > 0 and price[r] > 0
        native[r] = status[r] != 0 and val_sig[r] > 0 and has_dst[r]


@numba.njit(cache=True, nogil=True, inline="always")
def _id(ids, code, out, valid, k):  # type: ignore[no-untyped-def]
    if code >= 0:
        out[k] = ids[code]
        valid[k] = True
    else:
        out[k] = 0
        valid[k] = False


@_no_refcounts
def emit_transfers(  # type: ignore[no-untyped-def]
    tx_new,
    tx_fee,
    tx_native,
    tx_block,
    tx_index,
    tx_ts,
    tx_from,
    tx_dst,
    gas,
    price,
    tx_lo,
    tx_hi,
    tx_sig,
    tok_new,
    tok_block,
    tok_ts,
    tok_log,
    tok_tx,
    tok_from,
    tok_to,
    tok_asset,
    tok_lo,
    tok_hi,
    tok_sig,
    position,
    tx_ids,
    address_ids,
    asset_ids,
    seq_base,
    out_block,
    out_index,
    out_index_ok,
    out_seq,
    out_kind,
    out_tx,
    out_tx_ok,
    out_src,
    out_src_ok,
    out_dst,
    out_dst_ok,
    out_asset,
    out_amount,
    out_time,
    out_time_ok,
    wide_at,
    wide_origin,
):
    """Write the transfers rows of stored legs: per transaction row its fee (seq 0, kind 7)
    then its value (seq 1, kind 4), and one token transfer (kind 6) per token row.

    The two exports are merged on (block, position): when each is in that order, as exports
    are written, the rows come out in the store's key order, which spares readers a sort
    (the graph index checks the order and sorts only when it must). A transaction's own legs
    go before its token transfers; token transfers of an unknown position go last in their
    block. Fees are computed here (gas used < 10^9 and price < 10^18, so the product fits 90
    bits). Times are microseconds since the epoch. An amount too wide for DECIMAL(38,0) is
    listed in ``wide_at`` (the transfer) and ``wide_origin`` (its row: transactions ``r``,
    token transfers ``n_tx + r``). Returns the number of transfers and of wide amounts.
    """
    k = 0
    w = 0
    n_tx = tx_block.shape[0]
    n_tok = tok_block.shape[0]
    r = 0
    q = 0
    while r < n_tx or q < n_tok:
        if r < n_tx and not tx_new[r]:
            r += 1
            continue
        if q < n_tok and not tok_new[q]:
            q += 1
            continue
        if q < n_tok:
            at = position[tok_tx[q]]
            take_tx = r < n_tx and (
                tx_block[r] < tok_block[q]
                or (tx_block[r] == tok_block[q] and (at < 0 or tx_index[r] <= at))
            )
        else:
            take_tx = True
        if not take_tx:
            # the token row, written here: a helper called per row cost more than the row itself
            t = tok_tx[q]
            out_block[k] = tok_block[q]
            out_index[k] = position[t] if position[t] >= 0 else 0
            out_index_ok[k] = position[t] >= 0
            out_seq[k] = seq_base + tok_log[q]
            out_kind[k] = 6
            _id(tx_ids, t, out_tx, out_tx_ok, k)
            _id(address_ids, tok_from[q], out_src, out_src_ok, k)
            _id(address_ids, tok_to[q], out_dst, out_dst_ok, k)
            out_asset[k] = asset_ids[tok_asset[q]]
            out_amount[k, 0] = tok_lo[q]
            out_amount[k, 1] = tok_hi[q]
            if tok_sig[q] > 38:
                wide_at[w] = k
                wide_origin[w] = n_tx + q
                w += 1
            out_time[k] = tok_ts[q] * 1_000_000
            out_time_ok[k] = tok_ts[q] >= 0
            k += 1
            q += 1
            continue
        for leg in range(2):
            if leg == 0 and not tx_fee[r]:
                continue
            if leg == 1 and not tx_native[r]:
                continue
            out_block[k] = tx_block[r]
            out_index[k] = tx_index[r]
            out_index_ok[k] = True
            out_seq[k] = leg
            _id(tx_ids, r, out_tx, out_tx_ok, k)
            _id(address_ids, tx_from[r], out_src, out_src_ok, k)
            out_asset[k] = 0
            out_time[k] = tx_ts[r] * 1_000_000
            out_time_ok[k] = tx_ts[r] >= 0
            if leg == 0:
                out_kind[k] = 7
                out_dst[k] = 0
                out_dst_ok[k] = False
                g = np.uint64(gas[r])
                p = np.uint64(price[r])
                a = g * (p & _MASK32)
                b = g * (p >> _S32)
                lo = a + (b << _S32)
                carry = np.uint64(1) if lo < a else np.uint64(0)
                out_amount[k, 0] = lo
                out_amount[k, 1] = (b >> _S32) + carry
            else:
                out_kind[k] = 4
                _id(address_ids, tx_dst[r], out_dst, out_dst_ok, k)
                out_amount[k, 0] = tx_lo[r]
                out_amount[k, 1] = tx_hi[r]
                if tx_sig[r] > 38:
                    wide_at[w] = k
                    wide_origin[w] = r
                    w += 1
            k += 1
        r += 1
    return k, w
