"""Request and response bodies of the REST API, as the OpenAPI document describes them.

Requests are validated by these models. Screening answers are built by the screening engine's
own ``to_json`` and sent as they are (a 100,000-address answer is encoded once, not walked
through a model again); their models here exist for the documentation and for clients.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    with_config,
)

# pydantic needs typing_extensions' TypedDict before Python 3.12.
from typing_extensions import TypedDict, TypeIs

RiskName = Literal["severe", "high", "medium", "low", "none"]


@with_config(
    ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"address": "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"}]},
    )
)
class AddressQuery(TypedDict):
    """One address to screen; ``chain`` may be left out when the address form tells it.

    A TypedDict, not a model: a 100,000-address batch validates into plain dicts about ten
    times faster than into model instances.
    """

    address: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    chain: NotRequired[
        Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=64,
                description="bitcoin, ethereum, tron, … (inferred from the address when "
                "omitted: 0x… ethereum, bc1/1/3… bitcoin, T… tron)",
            ),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class BatchQuery(TypedDict):
    """Many addresses screened in one call (up to the server's batch limit)."""

    addresses: list[AddressQuery]


def is_batch(body: BatchQuery | AddressQuery) -> TypeIs[BatchQuery]:
    return "addresses" in body


def _shape(value: Any) -> str | None:
    if isinstance(value, dict):
        return "batch" if "addresses" in value else "single"
    return None


ScreenBody = Annotated[
    Annotated[BatchQuery, Tag("batch")] | Annotated[AddressQuery, Tag("single")],
    Discriminator(
        _shape,
        custom_error_type="invalid_body",
        custom_error_message='the body must be an object: {"address": …, "chain": …} or '
        '{"addresses": [{"address": …, "chain": …}, …]}',
    ),
]


class Reason(BaseModel):
    """One fact bearing on the risk: a list hit (source, version, entry, programmes), an
    entity hit, exposure (amount in base units as a string, share, hops), proximity."""

    model_config = ConfigDict(extra="allow")

    kind: str
    level: RiskName
    category: str
    source: str | None = None
    version: str | None = None
    entry: str | None = None
    programs: list[str] = []
    label: str | None = None
    amount: str | None = None
    asset: str | None = None
    share: float | None = None
    hops: int | None = None
    confidence: float | None = None
    detail: dict[str, Any] = {}


class ScreeningResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    chain: str
    address: str
    risk: RiskName
    reasons: list[Reason]
    evidence: dict[str, Any]


class BatchItem(BaseModel):
    """One address of a batch: its evidence is in the batch's ``evidence``, by chain."""

    model_config = ConfigDict(extra="allow")

    chain: str
    address: str
    risk: RiskName
    reasons: list[Reason]


class BatchResult(BaseModel):
    results: list[BatchItem] = Field(description="One per address, in the order asked.")
    evidence: dict[str, dict[str, Any]] = Field(
        description="Per chain: what its results were computed from (tag-store generation and "
        "list versions, graph index, policy), the same for every address of the chain."
    )


class TagModel(BaseModel):
    """One listing period of an address; ``valid_to`` set and ``removed_in`` named once
    delisted."""

    chain: str
    address: str
    category: str
    label: str
    confidence: float
    source: str
    version: str
    entry: str | None
    programs: list[str]
    ticker: str | None
    tlp: str
    owner: str | None
    valid_from: str
    valid_to: str | None
    removed_in: str | None


class AddressReport(BaseModel):
    chain: str
    address: str
    tags: list[TagModel] = Field(description="Tags in force now that the caller may see.")
    history: list[TagModel] = Field(
        description="Every listing period the caller may see, delisted ones included."
    )
    screening: ScreeningResult


class ListFile(BaseModel):
    path: str
    sha256: str


class ListVersionModel(BaseModel):
    source: str
    owner: str | None
    version: str
    format: str
    published: str | None
    retrieved: str | None
    imported_at: str
    files: list[ListFile]
    tlp: str
    addresses: int
    entries: int
    rejects: int
    added: int
    removed: int


class ListsReport(BaseModel):
    generation: str
    lists: list[ListVersionModel]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unavailable"]
    audit: Literal["ok", "degraded"]
