"""Turning screening requests into answers: validation that names every bad item, the
vectorised batch path, and what the audit log records of each decision.

A single address goes through :meth:`Screener.screen`. A batch goes through
:meth:`Screener.screen_table`, which validates and looks up whole Arrow columns and builds full
results only for addresses that have findings; the rest answer ``risk: none`` from the table.
In a batch the evidence (tag-store generation, list versions, graph index, policy) is the same
for every address of one chain, so it is sent once per chain beside the results instead of
100,000 times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from counterflow.api.encoding import json_bytes
from counterflow.api.errors import ApiError
from counterflow.api.models import AddressQuery
from counterflow.attribution.tlp import Viewer
from counterflow.chains.registry import get_chain
from counterflow.errors import ConfigError, InputError, InvalidAddressError
from counterflow.screening import Screener, ScreeningResult, ScreenRequest

#: Most problems listed in one 422 answer (the message says how many there were).
MAX_DETAILS = 1000
_REASONS_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Decision:
    """What the audit log keeps of one answer."""

    chain: str
    address: str
    risk: str
    reasons: str
    generation: str


class ResultEncoder:
    """:meth:`ScreeningResult.to_json`, with the JSON form of the evidence kept between calls.

    A result's evidence is the screening moment plus parts the screener builds once per tag
    store generation, viewer and chain and hands to every result (the same objects each
    time). Converting those parts for every single-address answer cost a third of the request;
    here they are converted once per distinct set of objects (checked by identity, the objects
    held so an identity is never reused) and the moment is added per result. Shared by the
    event loop and worker threads: the cache is only added to or replaced whole, so the worst a
    race does is convert one evidence twice.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._evidence: dict[tuple[int, ...], tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def document(self, result: ScreeningResult) -> dict[str, Any]:
        evidence = result.evidence
        parts = tuple(v for k, v in evidence.items() if k != "screened_at")
        key = tuple(id(v) for v in parts)
        hit = self._evidence.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], parts, strict=True)):
            document = result.to_json()
            stable = {k: v for k, v in document["evidence"].items() if k != "screened_at"}
            if len(self._evidence) >= self.limit:
                self._evidence = {}
            self._evidence[key] = (parts, stable)
            return document
        json_evidence = dict(hit[1])
        if "screened_at" in evidence:
            json_evidence = {"screened_at": evidence["screened_at"], **json_evidence}
        return {
            "chain": result.chain,
            "address": result.address,
            "risk": result.risk.value,
            "reasons": [r.to_json() for r in result.reasons],
            "evidence": json_evidence,
        }


def screen_one(
    screener: Screener, item: AddressQuery, viewer: Viewer, encoder: ResultEncoder
) -> dict[str, Any]:
    """The result of one address as JSON, or a 422 naming it."""
    check_chains([item])
    try:
        request = ScreenRequest(item["address"], item.get("chain"))
        [result] = screener.screen([request], viewer=viewer)
    except InvalidAddressError as exc:
        raise _invalid([(0, exc.reason)], [item]) from exc
    except InputError as exc:  # the chain cannot be told from the address's form
        raise _invalid([(0, str(exc))], [item]) from exc
    return encoder.document(result)


def decision_of(document: dict[str, Any]) -> Decision:
    """The audit record of one result given as JSON (with its evidence)."""
    evidence = document.get("evidence") or {}
    return Decision(
        str(document["chain"]),
        str(document["address"]),
        str(document["risk"]),
        reasons_summary(document.get("reasons") or []),
        str((evidence.get("tag_store") or {}).get("generation") or ""),
    )


class BatchAnswer:
    """A screened batch: the answer document, and the decisions to audit (built on demand,
    after the answer is sent)."""

    def __init__(
        self,
        table: pa.Table,
        results: dict[tuple[str, str], ScreeningResult],
        evidence: dict[str, dict[str, Any]],
    ) -> None:
        self.table = table
        self.results = results
        self.evidence = evidence

    def _rows(self) -> list[tuple[str, str, str, int]]:
        columns = [self.table.column(name).to_pylist() for name in ("chain", "address", "risk")]
        counts = self.table.column("reasons").to_pylist()
        return list(zip(*columns, counts, strict=True))

    def content(self) -> bytes:
        """The answer as JSON bytes: ``{"results": […], "evidence": {chain: …}}``.

        Rows without findings (nearly all of a large batch) are rendered by Arrow in one
        vectorised string join; only rows with reasons go through the JSON encoder. The join is
        used only when every chain name and address is plain alphanumeric text (canonical forms
        are), so nothing in them would need escaping.
        """
        chain, address, risk = (self.table.column(n) for n in ("chain", "address", "risk"))
        if len(self.table) and _plain(chain) and _plain(address) and _plain(risk):
            rows = pc.binary_join_element_wise(
                '{"chain":"', chain, '","address":"', address, '","risk":"', risk,
                '","reasons":[]}', "",
            ).to_pylist()  # fmt: skip
        else:
            rows = [
                json_bytes({"chain": c, "address": a, "risk": r, "reasons": []}).decode()
                for c, a, r in zip(
                    chain.to_pylist(), address.to_pylist(), risk.to_pylist(), strict=True
                )
            ]
        counts = self.table.column("reasons").to_numpy()
        for position in np.flatnonzero(counts).tolist():
            key = (chain[position].as_py(), address[position].as_py())
            result = self.results[key]
            rows[position] = json_bytes(
                {
                    "chain": result.chain,
                    "address": result.address,
                    "risk": result.risk.value,
                    "reasons": [r.to_json() for r in result.reasons],
                }
            ).decode()
        evidence = json_bytes(self.evidence).decode()
        return f'{{"results":[{",".join(rows)}],"evidence":{evidence}}}'.encode()

    def decisions(self) -> list[Decision]:
        generations = {
            chain: str((e.get("tag_store") or {}).get("generation") or "")
            for chain, e in self.evidence.items()
        }
        summaries = {
            key: reasons_summary([r.to_json() for r in result.reasons])
            for key, result in self.results.items()
        }
        return [
            Decision(
                chain,
                address,
                risk,
                summaries.get((chain, address), "") if count else "",
                generations.get(chain, ""),
            )
            for chain, address, risk, count in self._rows()
        ]


def screen_batch(screener: Screener, items: Sequence[AddressQuery], viewer: Viewer) -> BatchAnswer:
    """Screen every item at one moment, or raise a 422 listing every invalid one."""
    if not items:
        return BatchAnswer(
            pa.table({"chain": [], "address": [], "risk": [], "reasons": []}), {}, {}
        )
    check_chains(items)
    moment = datetime.now(UTC)
    addresses = [item["address"] for item in items]
    chains = [item.get("chain") for item in items]
    table, flagged = screener.screen_table(
        addresses, chains, viewer=viewer, at=moment, skip_invalid=True
    )
    invalid = pc.equal(table.column("risk"), "invalid")
    if pc.any(invalid).as_py():
        requests = [ScreenRequest(a, c) for a, c in zip(addresses, chains, strict=True)]
        problems = screener.validate(requests) or [
            (int(i), "invalid address") for i in np.flatnonzero(invalid.to_numpy())
        ]
        raise _invalid(problems, items)
    results = {(r.chain, r.address): r for r in flagged}
    evidence: dict[str, dict[str, Any]] = {}
    first = pc.unique(table.column("chain")).to_pylist()
    for chain in first:
        position = pc.index(table.column("chain"), chain).as_py()
        address = table.column("address")[position].as_py()
        [probe] = screener.screen([ScreenRequest(address, chain)], viewer=viewer, at=moment)
        evidence[chain] = probe.to_json()["evidence"]
    return BatchAnswer(table, results, evidence)


def _plain(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every value is non-null text of letters, digits, ``:``, ``-`` or ``_``."""
    if column.null_count:
        return False
    return bool(pc.all(pc.match_substring_regex(column, r"^[A-Za-z0-9:_-]*$")).as_py())


def check_chains(items: Sequence[AddressQuery]) -> None:
    """A 422 ``unknown_chain`` listing every item whose chain name is not known."""
    chains = [item.get("chain") for item in items]
    unknown: dict[str, str] = {}
    for name in {chain for chain in chains if chain is not None}:
        try:
            get_chain(name)
        except ConfigError as exc:
            unknown[name] = str(exc)
    if not unknown:
        return
    details = [
        {"index": i, "field": f"addresses.{i}.chain", "chain": chain, "message": unknown[chain]}
        for i, chain in enumerate(chains)
        if chain is not None and chain in unknown
    ]
    first = details[0]
    raise ApiError(
        422,
        "unknown_chain",
        _count_message(len(details), f"item {first['index']}: {first['message']}"),
        details=details[:MAX_DETAILS],
    )


def _invalid(problems: list[tuple[int, str]], items: Sequence[AddressQuery]) -> ApiError:
    details = [
        {
            "index": index,
            "field": f"addresses.{index}.address",
            "address": items[index]["address"],
            "chain": items[index].get("chain"),
            "message": message,
        }
        for index, message in problems[:MAX_DETAILS]
    ]
    index, message = problems[0]
    return ApiError(
        422,
        "invalid_address",
        _count_message(len(problems), f"item {index} ({items[index]['address']!r}): {message}"),
        details=details,
    )


def _count_message(count: int, first: str) -> str:
    if count == 1:
        return first
    more = f"; only the first {MAX_DETAILS:,} are listed" if count > MAX_DETAILS else ""
    return f"{count:,} invalid items, the first: {first}{more}"


def reasons_summary(reasons: Sequence[dict[str, Any]]) -> str:
    """A short, readable account of a result's reasons for the audit log."""
    parts = []
    for reason in reasons:
        part = str(reason.get("kind", "?"))
        if reason.get("category"):
            part += f"/{reason['category']}"
        if reason.get("source"):
            part += f" {reason['source']}"
            if reason.get("version"):
                part += f"@{reason['version']}"
        parts.append(part)
    summary = "; ".join(parts)
    return summary if len(summary) <= _REASONS_CHARS else summary[: _REASONS_CHARS - 1] + "…"
