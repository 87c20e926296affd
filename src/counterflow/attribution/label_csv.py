"""Address labels in CSV: a generic ``chain,address,category,label`` file and Etherscan's labels.

**Generic CSV**: a header naming at least ``chain``, ``address``, ``category`` and ``label``
(any order, any case; other columns ignored), optionally ``confidence`` in [0, 1]. Rows without
a confidence get the caller's default. A bad chain, address, category or confidence is a reject
naming the row; a row with the wrong number of fields makes the whole file an error.

**Etherscan label exports** (the public scrape of Etherscan and its sister explorers, one CSV per
label): read from the tarball as published, from an unpacked folder, or one CSV at a time.
Account labels live in ``<explorer>/accounts/<label>.csv`` with the columns ``,Address,Name
Tag,Balance,Txn Count``; the explorer folder gives the chain (``etherscan`` is Ethereum,
``bscscan`` BSC, …). Token labels (``tokens/``) describe token contracts, not who holds funds, and
``empty/`` holds labels with no rows; neither is read. The label's file name maps to a category
(:func:`etherscan_category`): exchanges (``binance``, ``coinbase``, ``kraken``, ``*-deposit``, …),
mixers (``tornado-cash``), bridges, DEXes, ``ofac-sanctions-lists`` as sanctioned and ``heist`` /
``exploit`` as stolen funds; other labels are kept as written. The row's name tag ("Tornado.Cash:
Router") is the tag's label, or the Etherscan label when the row has none.

Quirks of the scrape handled here: page footers scraped as rows (``Sum of 3 Accounts``) and the
"There are no matching entries" placeholder are not labels and are skipped; pseudo-addresses
such as ``genesis`` are rejected. Explorer labels are community data, so their tags carry a
confidence below 1 (:data:`ETHERSCAN_CONFIDENCE`).
"""

from __future__ import annotations

import gzip
import re
import tarfile
import zlib
from collections.abc import Collection, Iterator, Sequence
from datetime import date
from pathlib import Path, PurePosixPath

from counterflow.attribution.list_files import (
    csv_rows,
    decode_text,
    expand_paths,
    read_text,
    source_file,
)
from counterflow.attribution.records import (
    BRIDGE,
    DEX,
    EXCHANGE,
    MIXER,
    SANCTIONED,
    STOLEN_FUNDS,
    ListedAddress,
    ParsedList,
    Reject,
)
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InputError, InvalidAddressError

FORMAT = "label-csv"
ETHERSCAN_FORMAT = "etherscan-labels"
ETHERSCAN_SOURCE = "etherscan-labels"
#: Confidence of a label from a block explorer: curated by the explorer but unverified here,
#: and a snapshot that ages (exchanges rotate deposit addresses).
ETHERSCAN_CONFIDENCE = 0.8
#: Confidence of a generic CSV row that states none.
DEFAULT_CONFIDENCE = 0.5
REQUIRED_COLUMNS = ("chain", "address", "category", "label")

#: Explorer folders of the Etherscan label scrape and the chains they label.
EXPLORER_CHAINS = {
    "etherscan": "ethereum",
    "bscscan": "bsc",
    "polygonscan": "polygon",
    "optimism": "optimism",
    "arbiscan": "arbitrum",
    "avalanche": "avalanche",
    "ftmscan": "fantom",
}
EXCHANGE_LABELS = frozenset(
    {
        "exchange", "abcc", "allbit", "ascendex", "bgogo", "binance", "bitfinex", "bithumb",
        "bitmart", "bitmex", "bitstamp", "bittrex", "changenow", "cobinhood", "coinbase",
        "coinbit", "coinhako", "coinmetro", "coinone", "coinsquare", "coss-io", "crex24",
        "crypto-com", "deribit", "digifinex", "ftx", "gate-io", "gemini", "hitbtc", "hoo-com",
        "hotbit", "huobi", "korbit", "kraken", "kryptono", "kucoin", "latoken", "lcx-ag", "okx",
        "paribu", "poloniex", "quadrigacx", "remitano", "shapeshift", "tidex", "topbtc",
        "trade-io", "upbit", "yunbi", "zb-com",
    }
)  # fmt: skip
MIXER_LABELS = frozenset({"tornado-cash", "ethereum-mixer", "typhoon-cash", "typhoon-network"})
BRIDGE_LABELS = frozenset(
    {
        "bridge", "across-protocol", "anyswap", "celer-network", "connext", "hop-protocol",
        "interoperability-cross-chain", "multichain", "optics", "optimism-bridge",
        "orbit-bridge", "synapse", "wormhole",
    }
)  # fmt: skip
DEX_LABELS = frozenset(
    {
        "dex", "0x-protocol", "1inch", "airswap", "balancer", "bancor", "beethoven-x",
        "bscswap", "burgerswap", "canary-exchange", "cow-protocol", "curve-fi", "dex-ag",
        "dexalot", "dutchx", "dydx", "hydro-protocol", "hyperjump", "idex", "kyberswap",
        "loopring", "lydia-finance", "mdex", "morpheus-swap", "pancakeswap", "pangolin",
        "paraswap", "platypus-finance", "quickswap", "rubicon", "saddle-finance", "spiritswap",
        "spookyswap", "sushiswap", "swipeswap", "switcheo", "tokenlon", "trader-joe", "uniswap",
        "wigoswap",
    }
)  # fmt: skip
SANCTIONED_LABELS = frozenset({"ofac-sanctions-lists"})
STOLEN_FUNDS_LABELS = frozenset({"heist", "exploit"})

_FOOTER = re.compile(r"^(Sum of \d+ Accounts?|There are no matching entries)$")
_MAX_MEMBER = 64 << 20


def etherscan_category(label: str) -> str:
    """The category an Etherscan label denotes, or the label itself when it denotes none."""
    slug = label.strip().lower()
    if slug in EXCHANGE_LABELS or slug.endswith("-deposit"):
        return EXCHANGE
    for labels, category in (
        (MIXER_LABELS, MIXER),
        (BRIDGE_LABELS, BRIDGE),
        (DEX_LABELS, DEX),
        (SANCTIONED_LABELS, SANCTIONED),
        (STOLEN_FUNDS_LABELS, STOLEN_FUNDS),
    ):
        if slug in labels:
            return category
    return slug


# --- generic CSV ----------------------------------------------------------------------------


def parse_label_csv(
    paths: Sequence[str | Path],
    *,
    source: str,
    confidence: float = DEFAULT_CONFIDENCE,
    published: date | None = None,
) -> ParsedList:
    """Parse ``chain,address,category,label[,confidence]`` CSV files.

    ``confidence`` is that of rows whose ``confidence`` column is empty or absent.
    """
    if not source.strip():
        raise ConfigError("a label CSV needs a source name; none was given")
    if not 0.0 <= confidence <= 1.0:
        raise ConfigError(f"confidence {confidence} is outside [0, 1]")
    files = expand_paths(paths)
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for path in files:
        rows = csv_rows(read_text(path), path, columns="header")
        header = next(rows, None)
        if header is None:
            raise InputError(f"{path}: empty; expected a header with {', '.join(REQUIRED_COLUMNS)}")
        names = [name.strip().lower() for name in header[1]]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InputError(
                f"{path}, line {header[0]}: the header lacks {', '.join(missing)} "
                f"(a label CSV needs {', '.join(REQUIRED_COLUMNS)}, optionally confidence)"
            )
        wanted = (*REQUIRED_COLUMNS, "confidence")
        column = {name: names.index(name) for name in wanted if name in names}
        for line, record in rows:
            where = f"{path}, line {line}"
            fields = {name: record[index].strip() for name, index in column.items()}
            try:
                addresses.append(_label_row(fields, confidence))
            except ValueError as exc:
                rejects.append(Reject(where, ",".join(record), str(exc)))
    return ParsedList(
        source=source.strip(),
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def _label_row(fields: dict[str, str], default_confidence: float) -> ListedAddress:
    try:
        chain = get_chain(fields["chain"]).name
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    try:
        address = normalize_address(chain, fields["address"])
    except InvalidAddressError as exc:
        raise ValueError(f"not a valid {chain} address: {exc.reason}") from None
    for name in ("category", "label"):
        if not fields[name]:
            raise ValueError(f"{name} is empty")
    confidence = default_confidence
    if fields.get("confidence"):
        try:
            confidence = float(fields["confidence"])
        except ValueError:
            raise ValueError(f"confidence {fields['confidence']!r} is not a number") from None
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence {confidence} is outside [0, 1]")
    return ListedAddress(
        chain=chain,
        address=address,
        category=fields["category"],
        label=fields["label"],
        confidence=confidence,
    )


# --- Etherscan ------------------------------------------------------------------------------


def parse_etherscan_labels(
    paths: Sequence[str | Path],
    *,
    source: str = ETHERSCAN_SOURCE,
    confidence: float = ETHERSCAN_CONFIDENCE,
    chains: Collection[str] | None = None,
    published: date | None = None,
) -> ParsedList:
    """Parse Etherscan label exports: the tarball, an unpacked folder, or label CSV files.

    ``chains`` limits the explorers read (by chain name); by default every known one is.
    """
    if not 0.0 <= confidence <= 1.0:
        raise ConfigError(f"confidence {confidence} is outside [0, 1]")
    wanted = {get_chain(c).name for c in chains} if chains is not None else None
    files = expand_paths(paths)
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for path in files:
        for where, member, text in _label_files(path):
            explorer, slug = member.parts[-3], member.stem
            chain = EXPLORER_CHAINS.get(explorer)
            if chain is None:
                known = ", ".join(sorted(EXPLORER_CHAINS))
                reason = f"explorer folder {explorer!r} is not one of {known}"
                rejects.append(Reject(where, slug, reason))
                continue
            if wanted is not None and chain not in wanted:
                continue
            _read_label_csv(where, text, chain, slug, confidence, addresses, rejects)
    return ParsedList(
        source=source,
        format=ETHERSCAN_FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def _label_files(path: Path) -> Iterator[tuple[str, PurePosixPath, str]]:
    """``(where, member path, text)`` of each account label CSV in ``path``.

    A CSV given directly is one label; its explorer comes from its folders when they follow
    the export's layout, and is Etherscan otherwise.
    """
    if not is_tarball(path):
        if path.suffix.lower() != ".csv" and not path.name.lower().endswith(".csv.gz"):
            raise InputError(f"{path}: neither a label CSV nor a tar archive of the label export")
        name = path.name.removesuffix(".gz")
        member = PurePosixPath(*path.parent.parts[-2:], name)
        if not is_account_label(member) or member.parts[-3] not in EXPLORER_CHAINS:
            member = PurePosixPath("etherscan", "accounts", name)
        yield str(path), member, read_text(path)
        return
    try:
        with tarfile.open(path, "r:*") as archive:
            for info in archive:
                member = PurePosixPath(info.name)
                if not (info.isfile() and is_account_label(member)):
                    continue
                if info.size > _MAX_MEMBER:
                    raise InputError(f"{path}!{info.name}: {info.size} bytes is too large")
                handle = archive.extractfile(info)
                assert handle is not None
                where = f"{path}!{info.name}"
                yield where, member, decode_text(handle.read(), Path(where))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: truncated or corrupt archive ({exc})") from None


def is_account_label(member: PurePosixPath) -> bool:
    """Whether an archive member or relative path is an account label CSV of the export."""
    return len(member.parts) >= 3 and member.parts[-2] == "accounts" and member.suffix == ".csv"


def is_tarball(path: Path) -> bool:
    """Whether ``path`` is a tar archive (compressed or not); a broken archive is an error."""
    try:
        return tarfile.is_tarfile(path)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: truncated or corrupt archive ({exc})") from None


def _read_label_csv(
    where: str,
    text: str,
    chain: str,
    slug: str,
    confidence: float,
    addresses: list[ListedAddress],
    rejects: list[Reject],
) -> None:
    rows = csv_rows(text, Path(where), columns="header")
    header = next(rows, None)
    if header is None:
        return
    names = [name.strip() for name in header[1]]
    if "Address" not in names:
        raise InputError(f"{where}, line {header[0]}: no 'Address' column in the header")
    address_at = names.index("Address")
    name_at = names.index("Name Tag") if "Name Tag" in names else None
    category = etherscan_category(slug)
    for line, record in rows:
        address = record[address_at].strip()
        tag = record[name_at].strip() if name_at is not None else ""
        if not address and (not tag or _FOOTER.match(tag)):
            continue  # page furniture scraped along with the table
        if _FOOTER.match(address):
            continue
        try:
            canonical = normalize_address(chain, address)
        except InvalidAddressError as exc:
            reason = f"not a valid {chain} address: {exc.reason}"
            rejects.append(Reject(f"{where}, line {line}", address, reason))
            continue
        addresses.append(
            ListedAddress(
                chain=chain,
                address=canonical,
                category=category,
                label=tag or slug,
                confidence=confidence,
            )
        )
