"""Running the API under uvicorn: one process, or ``workers`` processes sharing one port.

Worker processes cannot be handed an app object, so they build their own from the environment
(:func:`app_from_environment`): the data directory, the database URL and the settings (JSON).
The tables are created once in the parent before any worker starts, so workers never race to
create them. Logs of every process are JSON lines on stderr.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from counterflow.api.app import create_app
from counterflow.api.settings import ApiSettings
from counterflow.service.database import DATABASE_URL_ENV
from counterflow.service.state import ServiceState
from counterflow.store.datadir import DataDirectory, default_data_dir

SETTINGS_ENV = "COUNTERFLOW_API_SETTINGS"
DATA_DIR_ENV = "COUNTERFLOW_DATA_DIR"

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "counterflow.api.accesslog.JsonLogFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "counterflow": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def app_from_environment() -> FastAPI:
    """The app a worker process serves (uvicorn's ``factory``), configured by environment."""
    return create_app(
        default_data_dir(),
        os.environ.get(DATABASE_URL_ENV) or None,
        ApiSettings.from_json(os.environ.get(SETTINGS_ENV) or "{}"),
    )


def serve(
    directory: DataDirectory,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    workers: int = 1,
    settings: ApiSettings | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM: queued audit entries are written first)."""
    settings = settings or ApiSettings()
    state = ServiceState(directory, database_url)
    state.ensure_schema()
    state.close()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": LOG_CONFIG,
        "lifespan": "on",
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(directory, database_url, settings), **common)
        return
    os.environ[DATA_DIR_ENV] = str(directory.root.resolve())
    os.environ[DATABASE_URL_ENV] = state.url.render_as_string(hide_password=False)
    os.environ[SETTINGS_ENV] = settings.to_json()
    config = uvicorn.Config(
        "counterflow.api.server:app_from_environment", factory=True, workers=workers, **common
    )
    listener = config.bind_socket()
    # uvicorn binds a socket whose protocol number is 0, so asyncio does not turn Nagle's
    # algorithm off on the connections it accepts, and every keep-alive answer written in two
    # parts waits for the client's delayed ACK (40 ms). Accepted sockets inherit the option
    # from the listening one.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
