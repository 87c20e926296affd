"""API settings cross process boundaries as JSON and refuse nonsense with a named setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import build_tag_store

from counterflow.api import ApiSettings
from counterflow.api.server import DATA_DIR_ENV, SETTINGS_ENV, app_from_environment
from counterflow.errors import ConfigError
from counterflow.service import DATABASE_URL_ENV
from counterflow.store.datadir import DataDirectory


def test_settings_round_trip_through_json() -> None:
    settings = ApiSettings(batch_limit=5000, rate_per_second=12.5, rate_burst=20)
    assert ApiSettings.from_json(settings.to_json()) == settings
    assert ApiSettings.from_json("{}") == ApiSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"batch_limit": 0}', "batch_limit must be at least 1"),
        ('{"rate_per_second": -1}', "rate_per_second must not be negative"),
        ('{"audit_flush_seconds": 0}', "audit_flush_seconds must be positive"),
        ('{"batch_limt": 10}', "unknown API settings: batch_limt"),
        ("[1, 2]", "must be a JSON object"),
        ("{", "not JSON"),
    ],
)
def test_bad_settings_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ApiSettings.from_json(text)


def test_a_worker_builds_its_app_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = DataDirectory(tmp_path / "data")
    build_tag_store(directory)
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    monkeypatch.setenv(DATA_DIR_ENV, str(directory.root))
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    monkeypatch.setenv(SETTINGS_ENV, ApiSettings(batch_limit=7).to_json())
    app = app_from_environment()
    context = app.state.context
    assert context.settings.batch_limit == 7
    assert context.directory.root == directory.root
    assert context.state.url.database == str(tmp_path / "elsewhere.sqlite")
    assert (tmp_path / "elsewhere.sqlite").is_file()  # tables made when the app was built
    context.state.close()
