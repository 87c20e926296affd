"""Compiled taint propagation over a GraphIndex (numba, nogil, cached).

The forward kernel is an event simulation in ordering-key order. Every (holder, asset) that
holds taint is a *slot* with a balance and a tainted amount; a heap yields the next transfer
touching any slot, so a trace visits only the edges of tainted holders, each once, and in time
order: an outgoing transfer can carry only taint that arrived at a smaller key (temporal
causality holds by construction). Key ``2e`` is edge ``e`` leaving its source, ``2e + 1`` the
same edge arriving, so a source always settles what it sends before the receiver counts it.

Holder modes: account holders and UTXO transactions pool value under the trace's policy;
mixer pools always pool by haircut; UTXO addresses pass coins through exactly (an input carries
the taint of the very output it spends); a DEX router passes taint from a transaction's inputs
to that transaction's outputs, in any asset; services, bridges and the sink end the path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numba
import numpy as np
from numba import types
from numba.typed import Dict

from counterflow.graph.policies import (
    ROLE_DEX,
    ROLE_MIXER,
    ROLE_NORMAL,
    Policy,
    Rule,
)

if TYPE_CHECKING:
    from counterflow.graph.index import GraphIndex

_HAIRCUT = 1
_FIFO = 2
_MODE_POLICY = 0
_MODE_MIXER = 1
_MODE_SOURCE = 2
_MODE_COINJOIN = 3
_R_SEED, _R_POISON, _R_HAIRCUT, _R_FIFO, _R_COIN, _R_SWAP, _R_MIXER, _R_BRIDGE, _R_COINJOIN = range(
    9
)
_NONE = np.int64(1) << np.int64(62)
#: Numbers a forward run returns when a buffer is full: the index into its ``caps`` plus one.
_FULL_SLOTS, _FULL_WORK, _FULL_RECORDS, _FULL_LOTS = 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def _grow_i8(a: np.ndarray, n: int) -> np.ndarray:
    if n < len(a):
        return a
    b = np.empty(max(2 * len(a), n + 1), a.dtype)
    b[: len(a)] = a
    return b


@numba.njit(cache=True, nogil=True)
def _grow_f8(a: np.ndarray, n: int) -> np.ndarray:
    if n < len(a):
        return a
    b = np.empty(max(2 * len(a), n + 1), a.dtype)
    b[: len(a)] = a
    return b


@numba.njit(cache=True, nogil=True)
def _heap_push(hk: np.ndarray, hs: np.ndarray, size: int, key: int, slot: int) -> int:
    i = size
    hk[i] = key
    hs[i] = slot
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hs[p], hs[i] = hs[i], hs[p]
        i = p
    return size + 1


@numba.njit(cache=True, nogil=True)
def _lower_bound(edges: np.ndarray, lo: int, hi: int, e: int) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if edges[mid] < e:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def _prefix_balance(
    h: int,
    a: int,
    e: int,
    units: np.ndarray,
    asset: np.ndarray,
    out_ptr: np.ndarray,
    out_edges: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
) -> float:
    # The holder's balance of asset a just before edge e, from its whole history replayed in
    # the kernel's own order (a payment before a receipt on one edge) and by its rule: a
    # payment beyond the balance takes what there is, so the balance never goes below zero.
    # (The net of the history would count a payment made before anything reached the holder
    # in the store against receipts that came after it.)
    total = 0.0
    i, i_end = in_ptr[h], _lower_bound(in_edges, in_ptr[h], in_ptr[h + 1], e)
    o, o_end = out_ptr[h], _lower_bound(out_edges, out_ptr[h], out_ptr[h + 1], e)
    while i < i_end or o < o_end:
        if o < o_end and (i >= i_end or out_edges[o] <= in_edges[i]):
            k = out_edges[o]
            o += 1
            if asset[k] == a:
                total = max(total - units[k], 0.0)
        else:
            k = in_edges[i]
            i += 1
            if asset[k] == a:
                total += units[k]
    return total


@numba.njit(cache=True, nogil=True)
def _forward_run(
    src: np.ndarray,
    dst: np.ndarray,
    units: np.ndarray,
    asset: np.ndarray,
    tx: np.ndarray,
    link: np.ndarray,
    out_ptr: np.ndarray,
    out_edges: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
    role: np.ndarray,
    n_addresses: int,
    utxo: bool,
    policy: int,
    max_hops: int,
    min_units: np.ndarray,
    min_fraction: float,
    seed_holders: np.ndarray,
    seed_since: np.ndarray,
    seed_edges: np.ndarray,
    seed_taint: np.ndarray,
    seed_hop: np.ndarray,
    seed_rule: np.ndarray,
    cj_part: np.ndarray,
    cj_ratio: np.ndarray,
    caps: np.ndarray,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    int,
]:
    """Propagate taint forward; return the tainted edges and what is still held.

    Returns ``(edge, taint, hop, taint_in, rule, held_holder, held_asset_taint, dropped)``:
    one row per tainted transfer (taint in units, the hop it is on, the source's taint just
    before it, the rule), then per holder-asset still holding taint at the end (holder and
    ``asset * 2**40``-free pairs packed as two rows of ``held_asset_taint``: asset, taint), and
    per asset the taint dropped under the thresholds.

    Seed edges (``seed_edges`` …) enter with their own taint and rule (a bridge release, or a
    theft transaction's transfer). With haircut, a UTXO transaction that ``cj_part`` marks as a
    CoinJoin is split into sub-transactions (coinjoin.py): a matched participant's own outputs
    (its change, and its equal outputs where their later spending identifies them) carry
    ``cj_ratio`` of its inputs' taint, shared by value; the rest pools over the other outputs.

    Buffers are sized once from ``caps`` (slots, work items, records, lots) and never grown:
    an array variable rebound inside the loop makes numba update its reference count at every
    use, which took half the run. A run that fills a buffer stops and returns its number
    (``_FULL_*``) last, with empty results; :func:`forward` runs it again with more room.
    """
    cj_taint = np.zeros(len(cj_ratio), np.float64)
    cj_left = np.zeros(len(cj_ratio), np.float64)  # value of a participant's outputs not yet paid
    n_edges = len(src)
    n_assets = len(min_units)
    width = n_assets + 1
    status = 0
    # slots
    cap = max(caps[0], len(seed_holders) + 1)
    s_h = np.empty(cap, np.int64)
    s_a = np.empty(cap, np.int64)
    s_mode = np.empty(cap, np.int64)
    s_bal = np.empty(cap, np.float64)
    s_taint = np.empty(cap, np.float64)
    s_oc = np.empty(cap, np.int64)
    s_ic = np.empty(cap, np.int64)
    s_hop = np.empty(cap, np.int64)
    s_head = np.empty(cap, np.int64)
    s_tail = np.empty(cap, np.int64)
    s_active = np.empty(cap, np.int64)
    s_pending = np.empty(cap, np.int64)
    s_pool = np.empty(cap, np.float64)  # CoinJoin: pooled taint, and the pool's value left
    s_pbal = np.empty(cap, np.float64)
    n_slots = 0
    slots = Dict.empty(key_type=types.int64, value_type=types.int64)
    pending = Dict.empty(key_type=types.int64, value_type=types.float64)
    # FIFO lots
    lot_amt = np.empty(caps[3], np.float64)
    lot_taint = np.empty(caps[3], np.float64)
    lot_next = np.empty(caps[3], np.int64)
    n_lots = 0
    # heap: each slot is on it at most once, and each seed edge once
    hk = np.empty(cap + len(seed_edges) + 1, np.int64)
    hs = np.empty(cap + len(seed_edges) + 1, np.int64)
    size = 0
    # slots due to be put on the heap at their next transfer, pushed after each step (each at
    # most once per step)
    due = np.empty(cap + 1, np.int64)
    n_due = 0
    # records
    r_e = np.empty(caps[2], np.int64)
    r_t = np.empty(caps[2], np.float64)
    r_hop = np.empty(caps[2], np.int64)
    r_in = np.empty(caps[2], np.float64)
    r_rule = np.empty(caps[2], np.int64)
    n_rec = 0
    dropped = np.zeros(n_assets, np.float64)
    # delivery work stack: edge, taint, hop, taint_in, rule, direct (1: credit at once)
    w_e = np.empty(caps[1], np.int64)
    w_t = np.empty(caps[1], np.float64)
    w_hop = np.empty(caps[1], np.int64)
    w_in = np.empty(caps[1], np.float64)
    w_rule = np.empty(caps[1], np.int64)
    w_direct = np.empty(caps[1], np.int64)
    n_work = 0

    for k in range(len(seed_holders)):
        h = seed_holders[k]
        slot = n_slots
        n_slots += 1
        s_h[slot] = h
        s_a[slot] = -1
        s_mode[slot] = _MODE_SOURCE
        s_bal[slot] = 0.0
        s_taint[slot] = 0.0
        s_oc[slot] = _lower_bound(out_edges, out_ptr[h], out_ptr[h + 1], seed_since[k])
        s_ic[slot] = in_ptr[h + 1]
        s_hop[slot] = 0
        s_head[slot] = -1
        s_tail[slot] = -1
        s_active[slot] = 1
        s_pending[slot] = 0
        slots[h * width] = slot
        if s_oc[slot] < out_ptr[h + 1]:
            size = _heap_push(hk, hs, size, 2 * np.int64(out_edges[s_oc[slot]]), slot)
    for k in range(len(seed_edges)):
        size = _heap_push(hk, hs, size, 2 * np.int64(seed_edges[k]), -1 - k)

    while size > 0:
        key = hk[0]
        popped = hs[0]
        # pop the heap's least key (sift the last entry down from the root)
        size -= 1
        hk[0] = hk[size]
        hs[0] = hs[size]
        pos = 0
        while True:
            child = 2 * pos + 1
            if child >= size:
                break
            if child + 1 < size and hk[child + 1] < hk[child]:
                child += 1
            if hk[pos] <= hk[child]:
                break
            hk[child], hk[pos] = hk[pos], hk[child]
            hs[child], hs[pos] = hs[pos], hs[child]
            pos = child
        e = key >> 1
        side = key & 1
        if popped < 0:
            k = -1 - popped
            if n_work >= len(w_e):
                status = _FULL_WORK
                break
            w_e[n_work] = e
            w_t[n_work] = seed_taint[k]
            w_hop[n_work] = seed_hop[k]
            w_in[n_work] = seed_taint[k]
            w_rule[n_work] = seed_rule[k]
            w_direct[n_work] = 0
            n_work += 1
        else:
            slot = popped
            h = s_h[slot]
            amt = float(units[e])
            if side == 1:
                s_ic[slot] += 1
                s_bal[slot] += amt
                c = 0.0
                # (the count first: most receipts carry nothing pending, and a dictionary
                # lookup costs more than the rest of the step)
                if s_pending[slot] > 0 and e in pending:
                    c = pending.pop(e)
                    s_pending[slot] -= 1
                s_taint[slot] += c
                if s_mode[slot] == _MODE_COINJOIN:
                    g = cj_part[e]
                    if g >= 0:
                        cj_taint[g] += c * cj_ratio[g]
                        s_pool[slot] += c * (1.0 - cj_ratio[g])
                    else:
                        s_pool[slot] += c
                if policy == _FIFO and s_mode[slot] == _MODE_POLICY:
                    if n_lots >= len(lot_amt):
                        status = _FULL_LOTS
                        break
                    lot_amt[n_lots] = amt
                    lot_taint[n_lots] = c
                    lot_next[n_lots] = -1
                    if s_tail[slot] >= 0:
                        lot_next[s_tail[slot]] = n_lots
                    else:
                        s_head[slot] = n_lots
                    s_tail[slot] = n_lots
                    n_lots += 1
            else:
                s_oc[slot] += 1
                before = s_taint[slot]
                c = 0.0
                rule = _R_SEED
                mode = s_mode[slot]
                if mode == _MODE_SOURCE:
                    c = amt
                    before = amt
                elif mode == _MODE_COINJOIN:
                    rule = _R_COINJOIN
                    g = cj_part[e]
                    if g >= 0:
                        left = cj_left[g]
                        c = cj_taint[g] * amt / left if left > amt else cj_taint[g]
                        c = min(c, cj_taint[g], amt)
                        cj_taint[g] -= c
                        cj_left[g] = max(left - amt, 0.0)
                    else:
                        pool = s_pool[slot]
                        pbal = s_pbal[slot]
                        c = pool * amt / pbal if pbal > amt else pool
                        c = min(c, pool, amt)
                        s_pool[slot] = pool - c
                        s_pbal[slot] = pbal - amt
                    s_taint[slot] = max(before - c, 0.0)
                elif mode == _MODE_MIXER or policy == _HAIRCUT:
                    rule = _R_MIXER if mode == _MODE_MIXER else _R_HAIRCUT
                    bal = s_bal[slot]
                    c = before * amt / bal if bal > amt else min(before, amt)
                    c = min(c, before, amt)
                    s_taint[slot] = before - c
                elif policy == _FIFO:
                    rule = _R_FIFO
                    need = amt
                    lot = s_head[slot]
                    while need > 0 and lot >= 0:
                        take = min(need, lot_amt[lot])
                        part = lot_taint[lot] * take / lot_amt[lot] if lot_amt[lot] > 0 else 0.0
                        c += part
                        lot_taint[lot] -= part
                        lot_amt[lot] -= take
                        need -= take
                        if lot_amt[lot] <= 0:
                            lot = lot_next[lot]
                    s_head[slot] = lot
                    if lot < 0:
                        s_tail[slot] = -1
                    c = min(c, before)
                    s_taint[slot] = before - c
                else:
                    rule = _R_POISON
                    c = amt if before > 0 else 0.0
                s_bal[slot] = max(s_bal[slot] - amt, 0.0)
                if c > 0:
                    step = 0 if (utxo and h >= n_addresses) else 1
                    if n_work >= len(w_e):
                        status = _FULL_WORK
                        break
                    w_e[n_work] = e
                    w_t[n_work] = c
                    w_hop[n_work] = s_hop[slot] + step
                    w_in[n_work] = before
                    w_rule[n_work] = rule
                    w_direct[n_work] = 0
                    n_work += 1

        # deliveries: record the tainted transfer, then hand its taint to the receiver
        while n_work > 0:
            n_work -= 1
            d_e = w_e[n_work]
            c = w_t[n_work]
            hop = w_hop[n_work]
            c_in = w_in[n_work]
            rule = w_rule[n_work]
            direct = w_direct[n_work]
            a = asset[d_e]
            amt = float(units[d_e])
            if c <= 0:
                continue
            frac = c / amt if amt > 0 else 1.0
            if c < min_units[a] or frac < min_fraction:
                dropped[a] += c
                continue
            if n_rec >= len(r_e):
                status = _FULL_RECORDS
                break
            r_e[n_rec] = d_e
            r_t[n_rec] = c
            r_hop[n_rec] = hop
            r_in[n_rec] = c_in
            r_rule[n_rec] = rule
            n_rec += 1
            d = dst[d_e]
            r = role[d]
            if r != ROLE_NORMAL and r != ROLE_MIXER and r != ROLE_DEX:
                continue
            if hop >= max_hops:
                continue
            if r == ROLE_DEX:
                # the whole transaction is one atomic swap: find its edges on either side
                lo = d_e
                while lo > 0 and tx[lo - 1] == tx[d_e]:
                    lo -= 1
                hi = d_e
                while hi + 1 < n_edges and tx[hi + 1] == tx[d_e]:
                    hi += 1
                for o in range(lo, hi + 1):
                    if src[o] == d and o != d_e and units[o] > 0:
                        if n_work >= len(w_e):
                            status = _FULL_WORK
                            break
                        w_e[n_work] = o
                        w_t[n_work] = float(units[o]) * frac
                        w_hop[n_work] = hop + 1
                        w_in[n_work] = c
                        w_rule[n_work] = _R_SWAP
                        w_direct[n_work] = 1 if o < d_e else 0
                        n_work += 1
                if status != 0:
                    break
                continue
            if utxo and d < n_addresses and r == ROLE_NORMAL:
                i = link[d_e]
                if i >= 0:
                    if n_work >= len(w_e):
                        status = _FULL_WORK
                        break
                    w_e[n_work] = i
                    w_t[n_work] = c * float(units[i]) / amt if amt > 0 else c
                    w_hop[n_work] = hop + 1
                    w_in[n_work] = c
                    w_rule[n_work] = _R_COIN
                    w_direct[n_work] = 0
                    n_work += 1
                continue
            skey = d * width + a + 1
            if skey in slots:
                slot = slots[skey]
                if s_hop[slot] > hop:
                    s_hop[slot] = hop
                if s_active[slot] == 1:
                    if direct == 1:
                        s_taint[slot] += c
                    else:
                        pending[d_e] = c
                        s_pending[slot] += 1
                    continue
            else:
                slot = n_slots
                n_slots += 1
                if slot >= len(s_h):
                    status = _FULL_SLOTS
                    break
                slots[skey] = slot
                s_h[slot] = d
                s_a[slot] = a
                s_mode[slot] = _MODE_MIXER if r == ROLE_MIXER else _MODE_POLICY
                if (
                    policy == _HAIRCUT
                    and d >= n_addresses
                    and len(cj_part) > 0
                    and cj_part[d_e] != -1
                ):
                    s_mode[slot] = _MODE_COINJOIN
                s_hop[slot] = hop
            # (re)activate: balance from history, cursors at this edge
            start = d_e + 1 if direct == 1 else d_e
            s_bal[slot] = _prefix_balance(
                d, a, start, units, asset, out_ptr, out_edges, in_ptr, in_edges
            )
            s_taint[slot] = c if direct == 1 else 0.0
            s_oc[slot] = _lower_bound(out_edges, out_ptr[d], out_ptr[d + 1], start)
            s_ic[slot] = _lower_bound(in_edges, in_ptr[d], in_ptr[d + 1], start)
            s_active[slot] = 1
            s_pending[slot] = 0
            s_pool[slot] = 0.0
            s_pbal[slot] = 0.0
            if s_mode[slot] == _MODE_COINJOIN:
                # the pool: every input, less the matched participants' own outputs
                for p in range(in_ptr[d], in_ptr[d + 1]):
                    s_pbal[slot] += units[in_edges[p]]
                for p in range(out_ptr[d], out_ptr[d + 1]):
                    if cj_part[out_edges[p]] >= 0:
                        cj_left[cj_part[out_edges[p]]] = 0.0
                for p in range(out_ptr[d], out_ptr[d + 1]):
                    g = cj_part[out_edges[p]]
                    if g >= 0:
                        s_pbal[slot] -= units[out_edges[p]]
                        cj_left[g] += units[out_edges[p]]
            s_head[slot] = -1
            s_tail[slot] = -1
            if policy == _FIFO and s_mode[slot] == _MODE_POLICY:
                if n_lots + 2 > len(lot_amt):
                    status = _FULL_LOTS
                    break
                lot_amt[n_lots] = s_bal[slot] - (c if direct == 1 else 0.0)
                lot_taint[n_lots] = 0.0
                lot_next[n_lots] = -1
                s_head[slot] = n_lots
                s_tail[slot] = n_lots
                n_lots += 1
                if direct == 1:
                    lot_amt[n_lots] = c
                    lot_taint[n_lots] = c
                    lot_next[n_lots] = -1
                    lot_next[s_tail[slot]] = n_lots
                    s_tail[slot] = n_lots
                    n_lots += 1
            if direct == 0:
                pending[d_e] = c
                s_pending[slot] = 1
            due[n_due] = slot
            n_due += 1
        if status != 0:
            break

        # the popped slot: retire it when nothing it holds can pass the thresholds, else
        # schedule its next transfer
        if popped >= 0:
            slot = popped
            a_s = s_a[slot]
            retired = False
            if (
                s_mode[slot] != _MODE_SOURCE
                and s_pending[slot] == 0
                and (policy != 0 or s_mode[slot] == _MODE_MIXER)
            ):
                t = s_taint[slot]
                # a CoinJoin's taint is its participants' and its pool's, not a share of the
                # whole transaction: one participant's outputs can be wholly tainted in a round
                # that is mostly clean, so only the absolute floor retires it
                haircut = s_mode[slot] == _MODE_MIXER or (
                    policy == _HAIRCUT and s_mode[slot] != _MODE_COINJOIN
                )
                floor = max(min_units[a_s], 1e-9)
                if t < floor or (haircut and s_bal[slot] > 0 and t < min_fraction * s_bal[slot]):
                    dropped[a_s] += t
                    s_taint[slot] = 0.0
                    s_active[slot] = 0
                    retired = True
            if not retired:
                due[n_due] = slot
                n_due += 1

        # every slot that became due goes on the heap at its next transfer of its asset (in
        # or out), in the order it became due
        for j in range(n_due):
            slot = due[j]
            sh = s_h[slot]
            sa = s_a[slot]
            oc = s_oc[slot]
            end_out = out_ptr[sh + 1]
            while oc < end_out and sa >= 0 and asset[out_edges[oc]] != sa:
                oc += 1
            s_oc[slot] = oc
            ic = s_ic[slot]
            end_in = in_ptr[sh + 1]
            while ic < end_in and sa >= 0 and asset[in_edges[ic]] != sa:
                ic += 1
            s_ic[slot] = ic
            best = _NONE
            if oc < end_out:
                best = 2 * np.int64(out_edges[oc])
            if ic < end_in:
                best = min(best, 2 * np.int64(in_edges[ic]) + 1)
            if best == _NONE:
                continue
            # push: sift the new entry up from the end
            pos = size
            hk[pos] = best
            hs[pos] = slot
            size += 1
            while pos > 0:
                parent = (pos - 1) >> 1
                if hk[parent] <= hk[pos]:
                    break
                hk[parent], hk[pos] = hk[pos], hk[parent]
                hs[parent], hs[pos] = hs[pos], hs[parent]
                pos = parent
        n_due = 0

    if status != 0:
        nothing = np.zeros(0, np.int64)
        none_f = np.zeros(0, np.float64)
        return nothing, none_f, nothing, none_f, nothing, nothing, none_f, dropped, status
    held_h = np.empty(n_slots, np.int64)
    held_at = np.empty(2 * n_slots, np.float64)
    n_held = 0
    for slot in range(n_slots):
        if s_mode[slot] != _MODE_SOURCE and s_active[slot] == 1 and s_taint[slot] > 0:
            held_h[n_held] = s_h[slot]
            held_at[2 * n_held] = s_a[slot]
            held_at[2 * n_held + 1] = s_taint[slot]
            n_held += 1
    return (
        r_e[:n_rec].copy(),
        r_t[:n_rec].copy(),
        r_hop[:n_rec].copy(),
        r_in[:n_rec].copy(),
        r_rule[:n_rec].copy(),
        held_h[:n_held].copy(),
        held_at[: 2 * n_held].copy(),
        dropped,
        0,
    )


#: Buffer sizes (slots, work items, records, lots) that the largest run so far needed: a
#: process serving many traces runs each once, not once per doubling.
_CAPS = np.array([1024, 256, 4096, 256], np.int64)


def forward(*args: Any) -> tuple[np.ndarray, ...]:
    """Run the forward kernel (``_forward_run``, same arguments less ``caps``), giving a
    buffer that filled up twice the room until the run completes; the run is deterministic,
    so a repeated run computes the same result."""
    run = cast(Callable[..., tuple[Any, ...]], _forward_run)
    caps = _CAPS.copy()
    while True:
        *out, status = run(*args, caps)
        if status == 0:
            np.maximum(_CAPS, caps, out=_CAPS)
            return tuple(out)
        caps[status - 1] *= 2


def kernel_hops(index: GraphIndex, max_hops: int) -> int:
    """The kernel's hop limit for ``max_hops`` as users count hops.

    On UTXO chains a hop is address -> transaction -> address; the kernel counts the input
    into the last transaction one further, so it needs one more to let that transaction pay.
    """
    return max_hops + 1 if index.utxo else max_hops


def forward_from_transfers(
    index: GraphIndex,
    role: np.ndarray,
    policy: Policy,
    max_hops: int,
    seed_edges: np.ndarray,
    *,
    min_fraction: float = 0.0,
    coinjoin_part: np.ndarray | None = None,
    coinjoin_ratio: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`forward` from whole transfers, each seeded in full at hop 1.

    What exposure and screening ask: how far, and how much of, the value these transfers
    carried travels. Values are fractional units (``GraphIndex.value``), so a transfer below
    one unit still carries value. Without CoinJoin arrays a CoinJoin transaction pools like
    any other under the policy. Returns the tainted edges, their taint and hop.
    """
    seeds = np.sort(np.asarray(seed_edges, np.int64))
    value = index.value
    no_int = np.zeros(0, np.int64)
    out = forward(
        index.src,
        index.dst,
        value,
        index.asset,
        index.tx,
        index.link,
        index.out_ptr,
        index.out_edges,
        index.in_ptr,
        index.in_edges,
        role,
        index.n_addresses,
        index.utxo,
        int(policy),
        kernel_hops(index, max_hops),
        np.zeros(index.n_assets, np.float64),
        min_fraction,
        no_int,
        no_int,
        seeds,
        value[seeds],
        np.ones(len(seeds), np.int64),
        np.full(len(seeds), int(Rule.SEED), np.int64),
        coinjoin_part if coinjoin_part is not None else no_int,
        coinjoin_ratio if coinjoin_ratio is not None else np.zeros(0, np.float64),
    )
    return out[0], out[1], out[2]


@numba.njit(cache=True, nogil=True)
def backward(
    src: np.ndarray,
    dst: np.ndarray,
    units: np.ndarray,
    asset: np.ndarray,
    link: np.ndarray,
    out_ptr: np.ndarray,
    out_edges: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
    role: np.ndarray,
    n_addresses: int,
    utxo: bool,
    policy: int,
    max_hops: int,
    min_fraction: float,
    seeds: np.ndarray,
    seed_edges: np.ndarray | None = None,
    seed_value: np.ndarray | None = None,
    seed_hop: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the seeds' value came from: transfers into them, then into their senders, …

    Returns ``(edge, attributed, hop)``, one row per transfer, sorted by edge. Every transfer
    into a seed is attributed in full at hop 1. Only transfers *before* the one that moved
    value on toward the seed can have supplied it (temporal causality backwards), and assets
    stay apart: USDX a holder received did not fund the ETH it paid.

    Poison and haircut go breadth first by hop over (holder, asset) pairs, each expanded
    once, at the first hop it is reached: over its receipts of that asset before the *latest*
    of the transfers through which it paid toward the seed at that hop (earlier receipts are
    all it can have passed on), poison attributing each in full, haircut splitting what it
    passed on through those transfers over them in proportion to their amounts. The seeds are
    expanded over every receipt, each in its own asset. ``fifo`` follows slices instead, see
    ``_backward_fifo``. Services, DEX routers, bridges and the sink are not expanded.

    Seed edges (``seed_edges``, ``seed_value``, ``seed_hop``; optional, distinct edges) enter
    where the trace arrives from elsewhere: a bridge deposit whose release the trace reached on
    another chain. Each is recorded at its hop with its value (at most its amount), and its
    sender joins the frontier of the next hop as if it had paid that value toward the seed
    through it: expanded over its receipts before it, under the same rules.
    """
    # numba prunes the branch not taken for each call's types: callers without seed edges
    # get a kernel whose loop sees an empty list
    se = np.zeros(0, np.int64) if seed_edges is None else seed_edges
    sv = np.zeros(0, np.float64) if seed_value is None else seed_value
    sh = np.zeros(0, np.int64) if seed_hop is None else seed_hop
    if policy == _FIFO:
        return _backward_fifo(
            src,
            dst,
            units,
            asset,
            link,
            out_ptr,
            out_edges,
            in_ptr,
            in_edges,
            role,
            n_addresses,
            utxo,
            max_hops,
            min_fraction,
            seeds,
            se,
            sv,
            sh,
        )
    # (holder, asset) keys: holder << 16 | (asset + 1); asset -1 (a seed: every asset) is 0
    seen = Dict.empty(key_type=types.int64, value_type=types.int64)
    f_h = np.empty(0, np.int64)
    f_dead = np.empty(0, np.int64)
    f_val = np.empty(0, np.float64)
    f_asset = np.empty(0, np.int64)
    n_seeds = 0
    seed_h = np.empty(len(seeds), np.int64)
    for s in seeds:
        key = np.int64(s) << 16
        if key in seen:
            continue
        seen[key] = 1
        seed_h[n_seeds] = s
        n_seeds += 1
    f_h = seed_h[:n_seeds].copy()
    f_dead = np.full(n_seeds, len(src), np.int64)
    f_val = np.full(n_seeds, -1.0, np.float64)
    f_asset = np.full(n_seeds, -1, np.int64)
    r_e = np.empty(64, np.int64)
    r_t = np.empty(64, np.float64)
    r_hop = np.empty(64, np.int64)
    n_rec = 0
    # seed edges in hop order; si: the next one to enter
    s_order = np.argsort(sh, kind="mergesort")
    si = 0
    hop = 0
    while len(f_h) > 0 or si < len(s_order):
        hop += 1
        if hop > max_hops:
            break
        # next frontier: per (holder, asset) the latest transfer and the value passed through
        nxt = Dict.empty(key_type=types.int64, value_type=types.int64)
        g_h = np.empty(16, np.int64)
        g_dead = np.empty(16, np.int64)
        g_val = np.empty(16, np.float64)
        g_asset = np.empty(16, np.int64)
        n_g = 0
        # this hop's receipts and the part of each traced: seed edges entering here, then
        # the frontier's receipts before the transfer through which it paid on
        c_e = np.empty(16, np.int64)
        c_part = np.empty(16, np.float64)
        n_c = 0
        while si < len(s_order) and sh[s_order[si]] <= hop:
            k = se[s_order[si]]
            c_e = _grow_i8(c_e, n_c + 1)
            c_part = _grow_f8(c_part, n_c + 1)
            c_e[n_c] = k
            c_part[n_c] = min(float(sv[s_order[si]]), float(units[k]))
            n_c += 1
            si += 1
        for i in range(len(f_h)):
            h = f_h[i]
            deadline = f_dead[i]
            value = f_val[i]
            a = f_asset[i]
            end = _lower_bound(in_edges, in_ptr[h], in_ptr[h + 1], deadline)
            total = 0.0
            for p in range(in_ptr[h], end):
                k = in_edges[p]
                if a < 0 or asset[k] == a:
                    total += units[k]
            for p in range(in_ptr[h], end):
                k = in_edges[p]
                if a >= 0 and asset[k] != a:
                    continue
                amount = float(units[k])
                if value < 0 or policy == 0:
                    part = amount
                else:
                    part = min(value * amount / total, amount) if total > 0 else 0.0
                c_e = _grow_i8(c_e, n_c + 1)
                c_part = _grow_f8(c_part, n_c + 1)
                c_e[n_c] = k
                c_part[n_c] = part
                n_c += 1
        for c in range(n_c):
            k = c_e[c]
            part = c_part[c]
            amount = float(units[k])
            if amount <= 0 or part <= 0 or (part / amount < min_fraction and policy != 0):
                continue
            r_e = _grow_i8(r_e, n_rec + 1)
            r_t = _grow_f8(r_t, n_rec + 1)
            r_hop = _grow_i8(r_hop, n_rec + 1)
            r_e[n_rec] = k
            r_t[n_rec] = part
            r_hop[n_rec] = hop
            n_rec += 1
            s = np.int64(src[k])
            if role[s] != ROLE_NORMAL and role[s] != ROLE_MIXER:
                continue
            key = (s << 16) | (np.int64(asset[k]) + 1)
            if key in seen or (s << 16) in seen:
                continue
            if key in nxt:
                j = nxt[key]
                g_dead[j] = max(g_dead[j], np.int64(k))
                g_val[j] += part
                continue
            g_h = _grow_i8(g_h, n_g + 1)
            g_dead = _grow_i8(g_dead, n_g + 1)
            g_val = _grow_f8(g_val, n_g + 1)
            g_asset = _grow_i8(g_asset, n_g + 1)
            nxt[key] = n_g
            g_h[n_g] = s
            g_dead[n_g] = k
            g_val[n_g] = part
            g_asset[n_g] = asset[k]
            n_g += 1
        for key in nxt:
            seen[key] = 1
        f_h = g_h[:n_g].copy()
        f_dead = g_dead[:n_g].copy()
        f_val = g_val[:n_g].copy()
        f_asset = g_asset[:n_g].copy()
    order = np.argsort(r_e[:n_rec], kind="mergesort")
    return r_e[:n_rec][order].copy(), r_t[:n_rec][order].copy(), r_hop[:n_rec][order].copy()


@numba.njit(cache=True, nogil=True)
def _backward_fifo(
    src: np.ndarray,
    dst: np.ndarray,
    units: np.ndarray,
    asset: np.ndarray,
    link: np.ndarray,
    out_ptr: np.ndarray,
    out_edges: np.ndarray,
    in_ptr: np.ndarray,
    in_edges: np.ndarray,
    role: np.ndarray,
    n_addresses: int,
    utxo: bool,
    max_hops: int,
    min_fraction: float,
    seeds: np.ndarray,
    seed_edges: np.ndarray,
    seed_value: np.ndarray,
    seed_hop: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward FIFO: the slice ``[lo, hi)`` of a payment maps onto the receipts that funded it.

    Under FIFO a holder's n-th unit paid out is its n-th unit received. Replaying the holder's
    history of the payment's asset up to the payment (receipts add to ``R``, each payment
    consumes ``[Q, min(Q + amount, R))`` of the receipts: what the forward kernel's lot queue
    does, a payment beyond the balance taking what there is) places the payment at ``[Q, …)``
    in receipt order; the slice ``[Q + lo, min(Q + hi, R))`` overlaps some earlier receipts,
    and each overlap is a slice of that receipt, passed upstream the same way. A UTXO address
    passes coins exactly: an input's slice is the same slice of the output it spends.

    Every transfer keeps the union of the slices that reached it, so nothing is counted twice
    (two routes to one receipt, a seed that also funded another seed): what is attributed to a
    receipt never exceeds it, and what a holder's receipts are attributed never exceeds what
    its payments were. A slice smaller than ``min_fraction`` of its transfer is not followed.
    Mixers are reached but not expanded: a pool has no order to follow.

    A seed edge (a bridge deposit reached through its release) enters at its hop as the slice
    ``[0, value)`` of itself: a bridge converts a deposit in one lump and keeps no order
    between the units it took and the units it released, so which part of the deposit the
    traced part of the release stands for is a convention; FIFO's own, oldest first, is taken.
    """
    # the union of slices per edge: a linked list of disjoint intervals
    iv_head = Dict.empty(key_type=types.int64, value_type=types.int64)
    iv_lo = np.empty(64, np.float64)
    iv_hi = np.empty(64, np.float64)
    iv_next = np.empty(64, np.int64)
    n_iv = 0
    rec = Dict.empty(key_type=types.int64, value_type=types.int64)
    r_e = np.empty(64, np.int64)
    r_t = np.empty(64, np.float64)
    r_hop = np.empty(64, np.int64)
    n_rec = 0
    # work queue (FIFO order: breadth first, so an edge's first slice comes at its fewest hops)
    q_e = np.empty(64, np.int64)
    q_lo = np.empty(64, np.float64)
    q_hi = np.empty(64, np.float64)
    q_hop = np.empty(64, np.int64)
    n_q = 0
    head = 0
    # incoming slices to add: (edge, lo, hi, hop)
    a_e = np.empty(64, np.int64)
    a_lo = np.empty(64, np.float64)
    a_hi = np.empty(64, np.float64)
    n_a = 0
    piece_lo = np.empty(16, np.float64)
    piece_hi = np.empty(16, np.float64)
    done_seed = Dict.empty(key_type=types.int64, value_type=types.int64)
    for s in seeds:
        if np.int64(s) in done_seed:
            continue
        done_seed[np.int64(s)] = 1
        for p in range(in_ptr[s], in_ptr[s + 1]):
            k = in_edges[p]
            a_e = _grow_i8(a_e, n_a + 1)
            a_lo = _grow_f8(a_lo, n_a + 1)
            a_hi = _grow_f8(a_hi, n_a + 1)
            a_e[n_a] = k
            a_lo[n_a] = 0.0
            a_hi[n_a] = float(units[k])
            n_a += 1
    # seed edges in hop order; si: the next one to enter
    s_order = np.argsort(seed_hop, kind="mergesort")
    si = 0
    hop = 1
    while True:
        while si < len(s_order) and seed_hop[s_order[si]] <= hop:
            a_e = _grow_i8(a_e, n_a + 1)
            a_lo = _grow_f8(a_lo, n_a + 1)
            a_hi = _grow_f8(a_hi, n_a + 1)
            a_e[n_a] = seed_edges[s_order[si]]
            a_lo[n_a] = 0.0
            a_hi[n_a] = seed_value[s_order[si]]
            n_a += 1
            si += 1
        # add this round's slices: keep what is new, record it, queue it upstream
        for j in range(n_a):
            k = a_e[j]
            amount = float(units[k])
            lo = max(a_lo[j], 0.0)
            hi = min(a_hi[j], amount)
            if amount <= 0 or hi <= lo or (hi - lo) / amount < min_fraction:
                continue
            piece_lo[0] = lo
            piece_hi[0] = hi
            n_p = 1
            # numba types Dict.get as Optional, which cannot index an array
            it = iv_head[k] if k in iv_head else -1  # noqa: SIM401
            while it >= 0 and n_p > 0:
                c_lo = iv_lo[it]
                c_hi = iv_hi[it]
                m = 0
                piece_lo = _grow_f8(piece_lo, 2 * n_p + 1)
                piece_hi = _grow_f8(piece_hi, 2 * n_p + 1)
                out_lo = np.empty(2 * n_p, np.float64)
                out_hi = np.empty(2 * n_p, np.float64)
                for x in range(n_p):
                    if piece_hi[x] <= c_lo or piece_lo[x] >= c_hi:
                        out_lo[m] = piece_lo[x]
                        out_hi[m] = piece_hi[x]
                        m += 1
                        continue
                    if piece_lo[x] < c_lo:
                        out_lo[m] = piece_lo[x]
                        out_hi[m] = c_lo
                        m += 1
                    if piece_hi[x] > c_hi:
                        out_lo[m] = c_hi
                        out_hi[m] = piece_hi[x]
                        m += 1
                for x in range(m):
                    piece_lo[x] = out_lo[x]
                    piece_hi[x] = out_hi[x]
                n_p = m
                it = iv_next[it]
            for x in range(n_p):
                if piece_hi[x] <= piece_lo[x]:
                    continue
                iv_lo = _grow_f8(iv_lo, n_iv + 1)
                iv_hi = _grow_f8(iv_hi, n_iv + 1)
                iv_next = _grow_i8(iv_next, n_iv + 1)
                iv_lo[n_iv] = piece_lo[x]
                iv_hi[n_iv] = piece_hi[x]
                iv_next[n_iv] = iv_head[k] if k in iv_head else -1  # noqa: SIM401
                iv_head[k] = n_iv
                n_iv += 1
                if k in rec:
                    r_t[rec[k]] += piece_hi[x] - piece_lo[x]
                else:
                    r_e = _grow_i8(r_e, n_rec + 1)
                    r_t = _grow_f8(r_t, n_rec + 1)
                    r_hop = _grow_i8(r_hop, n_rec + 1)
                    rec[k] = n_rec
                    r_e[n_rec] = k
                    r_t[n_rec] = piece_hi[x] - piece_lo[x]
                    r_hop[n_rec] = hop
                    n_rec += 1
                s = src[k]
                if role[s] != ROLE_NORMAL or hop >= max_hops:
                    continue
                q_e = _grow_i8(q_e, n_q + 1)
                q_lo = _grow_f8(q_lo, n_q + 1)
                q_hi = _grow_f8(q_hi, n_q + 1)
                q_hop = _grow_i8(q_hop, n_q + 1)
                q_e[n_q] = k
                q_lo[n_q] = piece_lo[x]
                q_hi[n_q] = piece_hi[x]
                q_hop[n_q] = hop
                n_q += 1
        n_a = 0
        if head >= n_q:
            # nothing left to expand: on to the next seed edge's hop, if any is within reach
            if si < len(s_order) and seed_hop[s_order[si]] <= max_hops:
                hop = seed_hop[s_order[si]]
                continue
            break
        # expand every queued slice of this hop into slices of the receipts that funded it
        hop = q_hop[head] + 1
        while head < n_q and q_hop[head] == hop - 1:
            k = q_e[head]
            lo = q_lo[head]
            hi = q_hi[head]
            head += 1
            h = src[k]
            if utxo and h < n_addresses:
                i = link[k]
                if i >= 0:
                    a_e = _grow_i8(a_e, n_a + 1)
                    a_lo = _grow_f8(a_lo, n_a + 1)
                    a_hi = _grow_f8(a_hi, n_a + 1)
                    a_e[n_a] = i
                    a_lo[n_a] = lo
                    a_hi[n_a] = hi
                    n_a += 1
                continue
            a = asset[k]
            # replay h's history of asset a before k: R received, Q consumed
            r_sum = 0.0
            q_pos = 0.0
            pi = in_ptr[h]
            pi_end = _lower_bound(in_edges, in_ptr[h], in_ptr[h + 1], k)
            po = out_ptr[h]
            po_end = _lower_bound(out_edges, out_ptr[h], out_ptr[h + 1], k)
            while pi < pi_end or po < po_end:
                # at equal ids (a self-transfer) the payment leaves before it arrives
                if po < po_end and (pi >= pi_end or out_edges[po] <= in_edges[pi]):
                    o = out_edges[po]
                    po += 1
                    if asset[o] == a:
                        q_pos = min(q_pos + float(units[o]), r_sum)
                else:
                    r = in_edges[pi]
                    pi += 1
                    if asset[r] == a:
                        r_sum += float(units[r])
            lo_pos = q_pos + lo
            hi_pos = min(q_pos + hi, r_sum)
            if hi_pos <= lo_pos:
                continue
            c0 = 0.0
            for p in range(in_ptr[h], pi_end):
                r = in_edges[p]
                if asset[r] != a:
                    continue
                c1 = c0 + float(units[r])
                o_lo = max(c0, lo_pos)
                o_hi = min(c1, hi_pos)
                if o_hi > o_lo:
                    a_e = _grow_i8(a_e, n_a + 1)
                    a_lo = _grow_f8(a_lo, n_a + 1)
                    a_hi = _grow_f8(a_hi, n_a + 1)
                    a_e[n_a] = r
                    a_lo[n_a] = o_lo - c0
                    a_hi[n_a] = o_hi - c0
                    n_a += 1
                c0 = c1
                if c0 >= hi_pos:
                    break
    order = np.argsort(r_e[:n_rec], kind="mergesort")
    return r_e[:n_rec][order].copy(), r_t[:n_rec][order].copy(), r_hop[:n_rec][order].copy()
