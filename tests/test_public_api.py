"""The public surface is deliberate: adding or removing a name is a visible change."""

from __future__ import annotations

import counterflow
from counterflow import errors

EXPECTED = {
    "BlockFileError",
    "ConfigError",
    "CounterflowError",
    "ExportFormatError",
    "IngestReport",
    "InputError",
    "InvalidAddressError",
    "StoreError",
    "__version__",
    "ingest",
}


def test_all_is_the_intended_surface() -> None:
    assert set(counterflow.__all__) == EXPECTED
    for name in counterflow.__all__:
        assert hasattr(counterflow, name), name


def test_every_error_derives_from_the_one_base() -> None:
    classes = [
        getattr(errors, name)
        for name in dir(errors)
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), Exception)
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, counterflow.CounterflowError), cls


def test_error_messages_name_where() -> None:
    err = counterflow.ExportFormatError("x.csv", "missing amount", row=7, field="value")
    assert str(err) == "x.csv, row 7, field 'value': missing amount"
    bad = counterflow.InvalidAddressError("bitcoin", "1abc", "Base58Check checksum mismatch")
    assert "1abc" in str(bad) and "checksum" in str(bad)
