"""Looking up missing audio features by Spotify track id (``soulsyncd library enrich``).

ReccoBeats (``GET /v1/audio-features?ids=…``, free, no key) returns Spotify-style features for the
Spotify ids it knows. What is sent: only Spotify track ids, at most 40 a request, to the configured
base URL (``catalog.enrich_url``, default ``https://api.reccobeats.com``). Its answer is matched
back by the Spotify id in each item's ``href`` (its own ``id`` is a ReccoBeats UUID, and the order
is its own); ids it does not know are simply absent and are remembered as asked, so each track is
asked once. A 429 waits out ``Retry-After`` (bounded), 5xx and dropped connections back off
exponentially; the sleep is injectable so tests never wait.

Spotify's own audio-features endpoint is never used: it is closed to apps like this one.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from soulsyncd.catalog.store import TRACK_URI_PREFIX, CatalogStore, CatalogTrack

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

SERVICE = "reccobeats"
MAX_BATCH = 40  # the service answers 400 beyond this
_HREF_ID = re.compile(r"/track/([0-9A-Za-z]{22})")


class EnrichError(Exception):
    """The look-up service can't be used now (unreachable after retries, or refuses our requests)."""


@dataclass(frozen=True)
class Features:
    """What the service knows about one track (valence/energy in [0, 1], tempo in bpm or None)."""

    valence: float
    energy: float
    tempo: float | None


@dataclass
class EnrichReport:
    """What one ``enrich`` run did."""

    asked: int = 0
    found: int = 0
    requests: int = 0
    waited_s: float = 0.0  # total back-off (429 Retry-After and retries)
    remaining: int = 0  # tracks still to ask when it stopped early (limit reached or stop set)


def _unit(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _tempo(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None  # 0: no beat found


def parse_features(body: Any) -> dict[str, Features]:
    """The features in an audio-features answer, by Spotify id (from each item's ``href``).

    Items without a Spotify track link or with valence/energy missing or outside 0-1 are dropped.
    """
    found: dict[str, Features] = {}
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, list):
        return found
    for item in content:
        if not isinstance(item, Mapping):
            continue
        match = _HREF_ID.search(str(item.get("href") or ""))
        valence, energy = _unit(item.get("valence")), _unit(item.get("energy"))
        if match is None or valence is None or energy is None:
            continue
        found[match.group(1)] = Features(valence, energy, _tempo(item.get("tempo")))
    return found


class ReccoBeatsClient:
    """One batch look-up at a time against a ReccoBeats-compatible service.

    Args:
        base_url: e.g. ``https://api.reccobeats.com`` (``/v1/audio-features`` is appended).
        session: A ``requests.Session`` (default: a new one).
        timeout_s: Per-request timeout.
        sleep: How to wait between attempts (``time.sleep``; tests pass a recorder).
        max_attempts: Attempts per batch before :class:`EnrichError`.
        max_wait_s: Longest single wait honoured (a longer ``Retry-After`` is clamped).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout_s: float = 10.0,
        sleep: Callable[[float], object] = time.sleep,
        max_attempts: int = 5,
        max_wait_s: float = 300.0,
    ) -> None:
        import requests

        self.url = base_url.rstrip("/") + "/v1/audio-features"
        self._session = session or requests.Session()
        self._session.headers.setdefault("Accept", "application/json")
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self.waited_s = 0.0
        self.requests = 0

    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self._max_wait_s)
        self.waited_s += seconds
        self._sleep(seconds)

    def audio_features(self, track_ids: Sequence[str]) -> dict[str, Features]:
        """Features of the known ids among ``track_ids`` (at most 40); unknown ids are absent.

        Raises:
            ValueError: More than 40 ids.
            EnrichError: The service stayed unreachable, kept failing, or refused the request.
        """
        import requests

        if len(track_ids) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} ids a request, got {len(track_ids)}")
        if not track_ids:
            return {}
        backoff = 1.0
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            self.requests += 1
            try:
                response = self._session.get(self.url, params={"ids": ",".join(track_ids)},
                                             timeout=self._timeout_s)
            except requests.RequestException as exc:
                problem = f"unreachable ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    try:
                        return parse_features(response.json())
                    except ValueError:
                        problem = "answered with something that is not JSON"
                elif response.status_code == 429:
                    retry_after = _seconds(response.headers.get("Retry-After"))
                    problem = "rate limited (429)"
                    if attempt < self._max_attempts:
                        log.info("%s: rate limited, waiting %.0f s", self.url, retry_after or backoff)
                        self._wait(retry_after if retry_after is not None else backoff)
                        backoff = min(backoff * 2, self._max_wait_s)
                        continue
                elif response.status_code >= 500:
                    problem = f"server error {response.status_code}"
                else:
                    raise EnrichError(f"{self.url}: refused the request ({response.status_code}: "
                                      f"{response.text[:200]})")
            if attempt < self._max_attempts:
                self._wait(backoff)
                backoff = min(backoff * 2, self._max_wait_s)
        raise EnrichError(f"{self.url}: {problem} after {self._max_attempts} attempts")


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def enrich(
    store: CatalogStore,
    client: ReccoBeatsClient,
    *,
    limit: int | None = None,
    stop: threading.Event | None = None,
    on_batch: Callable[[EnrichReport], None] | None = None,
) -> EnrichReport:
    """Ask the service about every catalog track it could improve and was never asked about.

    Tracks without features, or with only a playlist-tag prior, are asked in batches of 40; found
    features are stored with source ``reccobeats`` (never replacing an imported CSV's), and every
    asked id is remembered, found or not, so a later run skips it.

    Args:
        store: The catalog.
        client: The look-up client.
        limit: Ask about at most this many tracks (None: all).
        stop: Set it to stop after the current batch.
        on_batch: Called with the running report after each batch (progress).

    Raises:
        EnrichError: The service failed; what was found before is kept.
    """
    report = EnrichReport(requests=0)
    todo = store.ids_to_enrich(service=SERVICE)
    if limit is not None:
        report.remaining = max(0, len(todo) - limit)
        todo = todo[:limit]
    for start in range(0, len(todo), MAX_BATCH):
        if stop is not None and stop.is_set():
            report.remaining += len(todo) - start
            break
        batch = todo[start:start + MAX_BATCH]
        before = (client.requests, client.waited_s)
        try:
            found = client.audio_features(batch)
        finally:
            report.requests += client.requests - before[0]
            report.waited_s += client.waited_s - before[1]
        asked = set(batch)
        found = {track_id: f for track_id, f in found.items() if track_id in asked}
        store.upsert_tracks(
            [CatalogTrack(uri=TRACK_URI_PREFIX + track_id, name="", artists=(), valence=f.valence,
                          energy=f.energy, tempo=f.tempo) for track_id, f in found.items()],
            source=SERVICE,
        )
        store.mark_enrich_asked(batch, service=SERVICE, found=found)
        report.asked += len(batch)
        report.found += len(found)
        if on_batch is not None:
            on_batch(report)
    return report


class EnrichService:
    """Looks up missing features in the background while the daemon runs (``catalog.enrich: true``).

    A first pass ``first_delay_s`` after start (so the mood playlists are in the catalog by then),
    then one every ``interval_s`` for tracks added since; after a service failure it tries again
    in ``retry_s``. Every wait, the 429 back-off included, ends at once on :meth:`stop`. Failures are
    logged, never raised: the daemon plays on with the features it has.
    """

    def __init__(
        self,
        store: CatalogStore,
        base_url: str,
        *,
        first_delay_s: float = 60.0,
        interval_s: float = 6 * 3600.0,
        retry_s: float = 900.0,
        session: requests.Session | None = None,
    ) -> None:
        self._store = store
        self._stop = threading.Event()
        self._client = ReccoBeatsClient(base_url, session=session, sleep=self._stop.wait)
        self._first_delay_s = first_delay_s
        self._interval_s = interval_s
        self._retry_s = retry_s
        self._thread: threading.Thread | None = None
        self.passes = 0  # completed passes, successful or not
        self.last_report: EnrichReport | None = None
        self.last_error: str | None = None
        self.passed = threading.Event()  # set after each pass (tests and status wait on it)

    def start(self, core: object = None) -> None:
        """Start the background thread (``core`` is unused: the catalog is all it needs)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="catalog-enrich", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the request in flight (at most its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _run(self) -> None:
        from soulsyncd.catalog.store import CatalogError

        delay = self._first_delay_s
        while not self._stop.wait(delay):
            try:
                self.last_report = enrich(self._store, self._client, stop=self._stop)
                self.last_error = None
                delay = self._interval_s
                if self.last_report.asked:
                    log.info("feature look-up: asked %d tracks, found %d", self.last_report.asked,
                             self.last_report.found)
            except (EnrichError, CatalogError) as exc:
                self.last_error = str(exc)
                delay = self._retry_s
                log.warning("feature look-up failed, trying again in %.0f s: %s", delay, exc)
            except Exception:  # a bug here must not take the daemon down
                log.exception("feature look-up crashed; trying again in %.0f s", self._retry_s)
                delay = self._retry_s
            self.passes += 1
            self.passed.set()
