"""The errors Counterflow raises, one hierarchy under one base class.

::

    CounterflowError
    ├── ConfigError               bad option, unknown chain or engine, missing extra
    ├── InputError                something the user handed us is wrong
    │   ├── InvalidAddressError   an address fails its format or checksum
    │   ├── ExportFormatError     an export file is malformed (names file, row, field)
    │   └── BlockFileError        a block file is malformed (names file, byte, block, transaction)
    ├── StoreError                the data directory is unusable or inconsistent
    └── NodeError                 a node's RPC endpoint cannot be reached or refuses a call

Every message names what is wrong and where, so that a user can act on it without
reading a traceback. The CLI prints the message and exits non-zero.
"""

from __future__ import annotations


class CounterflowError(Exception):
    """Base class of every error Counterflow raises on purpose."""

    exit_code = 1


class ConfigError(CounterflowError):
    """An option, chain name or engine that Counterflow cannot use as given."""

    exit_code = 2


class InputError(CounterflowError):
    """Input supplied by the user is invalid."""

    exit_code = 3


class InvalidAddressError(InputError, ValueError):
    """An address does not decode for its chain: wrong length, alphabet, prefix or checksum."""

    def __init__(self, chain: str, address: str, reason: str) -> None:
        self.chain = chain
        self.address = address
        self.reason = reason
        super().__init__(f"invalid {chain} address {address!r}: {reason}")


class ExportFormatError(InputError):
    """A chain export file cannot be read as the format it claims to be."""

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.reason = reason
        where = path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class BlockFileError(InputError):
    """A Bitcoin block file (``blk*.dat``, a raw block) cannot be read as blocks.

    ``offset`` is the byte where the broken block or transaction starts (in the decompressed
    data for a ``.bz2`` file); ``block`` counts blocks in the file from 0 and ``tx`` counts
    transactions in the block from 0, so a hex editor or ``bitcoin-cli`` finds the spot.
    """

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        offset: int | None = None,
        block: int | None = None,
        tx: int | None = None,
    ) -> None:
        self.path = path
        self.reason = reason
        self.offset = offset
        self.block = block
        self.tx = tx
        where = path
        if offset is not None:
            where += f", byte {offset}"
        if block is not None:
            where += f" (block {block} in the file" + (
                f", transaction {tx})" if tx is not None else ")"
            )
        super().__init__(f"{where}: {reason}")


class StoreError(CounterflowError):
    """The data directory cannot be used: locked, corrupt, or written by a newer version."""

    exit_code = 4


class NodeError(CounterflowError):
    """A node's JSON-RPC endpoint is unreachable, refuses us, or fails a call.

    ``url`` is shown without credentials.
    """

    exit_code = 5

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")
