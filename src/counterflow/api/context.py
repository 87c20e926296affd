"""What one API process holds for its whole life: the service state, the key cache, the rate
limiter, the audit recorder, the tag store and the screening engine.

The screener is built once per process (it loads the tag store and graph index and reloads
them by itself when they change) and warmed at start-up, so no request pays for loading it.
"""

from __future__ import annotations

import threading

from counterflow.api.ratelimit import RateLimiter
from counterflow.api.settings import ApiSettings
from counterflow.attribution.tagstore import TagStore
from counterflow.attribution.tlp import Viewer
from counterflow.chains.base58 import b58check_encode
from counterflow.chains.bech32 import encode_segwit
from counterflow.screening import Screener, ScreenRequest
from counterflow.service.keyring import Keyring
from counterflow.service.recorder import AuditRecorder
from counterflow.service.state import ServiceState
from counterflow.store.datadir import DataDirectory


class ApiContext:
    def __init__(self, directory: DataDirectory, state: ServiceState, settings: ApiSettings):
        self.directory = directory
        self.state = state
        self.settings = settings
        self.keyring = Keyring(state, ttl=settings.key_cache_seconds)
        self.limiter = RateLimiter(settings.rate_per_second, settings.rate_burst)
        self.recorder = AuditRecorder(
            state,
            flush_seconds=settings.audit_flush_seconds,
            flush_rows=settings.audit_flush_rows,
            max_pending=settings.audit_max_pending,
        )
        self.tags = TagStore(directory)
        self._screener: Screener | None = None
        self._lock = threading.Lock()

    @property
    def screener(self) -> Screener:
        screener = self._screener
        if screener is None:
            with self._lock:
                if self._screener is None:
                    self._screener = Screener(self.directory)
                screener = self._screener
        return screener

    def start(self) -> None:
        self.recorder.start()

    def warm(self) -> None:
        """Load what answers need (tag store, graph indexes, each active partner's designation
        tables) and run each screening path once, so the first requests are not the slow ones."""
        screener = self.screener
        screener.warm()
        for partner in self.state.partners():
            if partner.active:
                screener.warm(Viewer(partner.name))
        probes = [
            ScreenRequest("0x" + "00" * 20, "ethereum"),
            ScreenRequest(b58check_encode(bytes(21)), "bitcoin"),
            ScreenRequest(encode_segwit("bc", 0, bytes(20)), "bitcoin"),
        ]
        screener.validate(probes)
        screener.screen(probes)
        screener.screen_table([p.address for p in probes], [p.chain for p in probes])

    def stop(self) -> None:
        self.recorder.close()
        self.state.close()
