"""Cross-chain links: a bridge deposit on one chain joined to its release on another.

Investigators get these from a bridge operator's published ledger (or their own matching).
The file is CSV with a header::

    deposit_chain,deposit_tx,deposit_amount,release_chain,release_tx,release_address,
    release_amount,release_time[,confidence]

Amounts are integers in base units; ``release_time`` is ISO 8601 UTC; ``confidence`` (0–1,
default 1 for an operator's own ledger) says how sure the link is. Rows are validated as read;
errors name the file, line and field.
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InputError, InvalidAddressError

LINK_COLUMNS = (
    "deposit_chain",
    "deposit_tx",
    "deposit_amount",
    "release_chain",
    "release_tx",
    "release_address",
    "release_amount",
    "release_time",
)


@dataclass(frozen=True)
class Link:
    deposit_chain: str
    deposit_tx: str
    deposit_amount: int
    release_chain: str
    release_tx: str
    release_address: str
    release_amount: int
    release_time: str
    confidence: float


@dataclass(frozen=True)
class LinkFile:
    path: str
    sha256: str
    links: tuple[Link, ...]


def normal_tx(chain: str, tx_hash: str) -> str:
    text = tx_hash.strip().lower()
    if get_chain(chain).family == "account" and not text.startswith("0x"):
        text = "0x" + text
    return text


def load_links(path: str | Path) -> LinkFile:
    """The links of a bridge ledger file, parsed once per version of the file's bytes.

    A service answering many traces reads the same ledger each time; validating every
    address again would cost more than the trace, and hashing a large ledger costs as much
    as a small trace. So a ledger is parsed once per content hash, and the hash is reused
    while the file's identity (device, inode, size, change and modification times) is
    unchanged, as git's index does. Any write changes the change time, which no user
    command can set back; a file changed within the clock's granularity of being read is
    hashed again (a "racy" entry), so a hash reused is always the hash of the bytes.
    """
    file = Path(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise InputError(f"{file}: no such links file") from None
    identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    seen = _SEEN.get(str(file))
    if seen is not None and seen[0] == identity and seen[1] in _PARSED:
        return _PARSED[seen[1]]
    read_at = time.time_ns()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such links file") from None
    key = (str(file), hashlib.sha256(data).hexdigest())
    if key not in _PARSED:
        while len(_PARSED) >= _KEPT:  # only the latest few ledgers: they can be large
            del _PARSED[next(iter(_PARSED))]
        _PARSED[key] = _parse_links(file, data, key[1])
    settled = max(stat.st_mtime_ns, stat.st_ctime_ns) < read_at - _RACY_NS
    if settled and len(data) == stat.st_size:
        if len(_SEEN) >= 64:
            _SEEN.clear()
        _SEEN[str(file)] = (identity, key)
    else:
        _SEEN.pop(str(file), None)
    return _PARSED[key]


_PARSED: dict[tuple[str, str], LinkFile] = {}
_KEPT = 4
#: Per path: the file identity last hashed and the content key it had.
_SEEN: dict[str, tuple[tuple[int, ...], tuple[str, str]]] = {}
#: File times are kept at the kernel's clock tick, coarser than nanoseconds; a file changed
#: less than this before it was read may change again with the same times.
_RACY_NS = 2_000_000_000


def _parse_links(file: Path, data: bytes, sha256: str) -> LinkFile:
    lines = data.decode("utf-8").splitlines()
    reader = csv.DictReader(lines)
    missing = [c for c in LINK_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{file}: missing column(s) {', '.join(missing)}")
    links = []
    for number, row in enumerate(reader, start=2):
        where = f"{file}, line {number}"
        try:
            deposit_chain = get_chain(row["deposit_chain"]).name
            release_chain = get_chain(row["release_chain"]).name
        except ConfigError as exc:
            raise InputError(f"{where}: {exc}") from None
        values: dict[str, int] = {}
        for name in ("deposit_amount", "release_amount"):
            text = row[name].strip()
            if not text.isdigit():
                raise InputError(f"{where}, field {name!r}: not an integer amount: {text!r}")
            values[name] = int(text)
        confidence_text = (row.get("confidence") or "1").strip()
        try:
            confidence = float(confidence_text)
        except ValueError:
            raise InputError(f"{where}, field 'confidence': not a number") from None
        if not 0 <= confidence <= 1:
            raise InputError(f"{where}, field 'confidence': must be between 0 and 1")
        try:
            address = normalize_address(release_chain, row["release_address"].strip())
        except InvalidAddressError as exc:
            raise InputError(f"{where}, field 'release_address': {exc}") from None
        links.append(
            Link(
                deposit_chain=deposit_chain,
                deposit_tx=normal_tx(deposit_chain, row["deposit_tx"]),
                deposit_amount=values["deposit_amount"],
                release_chain=release_chain,
                release_tx=normal_tx(release_chain, row["release_tx"]),
                release_address=address,
                release_amount=values["release_amount"],
                release_time=row["release_time"].strip(),
                confidence=confidence,
            )
        )
    return LinkFile(str(file), sha256, tuple(links))
