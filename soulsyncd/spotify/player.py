"""``player.kind: spotify``: the :class:`~soulsyncd.interfaces.Player` that plays on a Connect speaker.

:class:`SpotifyPlayer` owns one thread. Every public method only hands something over (newest
intent wins) and wakes that thread, or reads the last :class:`~soulsyncd.types.PlayerState`
snapshot, so the analysis loop never waits on HTTP, however slow or rate-limited Spotify is. The
thread runs :class:`~soulsyncd.spotify.control.Controller` steps, sleeping until the next one is due
(a poll every ``poll_interval_s`` while our music plays; nothing at all while paused or idle).

:func:`build_spotify_player` makes one from the config (token cache in ``state.dir``, client secret
from the ``spotify-client-secret`` credential if any, the catalog for the playlist cache).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from soulsyncd.interfaces import Clock, SystemClock, TrackPicker
from soulsyncd.mood.settings import EngineConfig
from soulsyncd.mood.targets import merged_points
from soulsyncd.settings import StateSection, read_secret
from soulsyncd.spotify.control import Controller
from soulsyncd.spotify.memory import FILE_NAME as MEMORY_FILE
from soulsyncd.spotify.memory import PlayedMemory
from soulsyncd.spotify.playlists import PlaylistStore, PlaylistSync, SyncReport
from soulsyncd.spotify.settings import MusicConfig, SpotifyPlayerConfig
from soulsyncd.types import PlayerState, PlayIntent

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 1.0
LONGEST_SLEEP_S = 60.0  # wake up now and then even when nothing is due (cheap; guards against drift)


@dataclass
class _Inbox:
    intent: PlayIntent | None = None
    skip: bool = False
    device: str | None = None
    volume: int | None = None
    resume: bool = False


class SpotifyPlayer:
    """A Spotify Connect player on its own thread (see the module doc).

    Args:
        controller: the decisions and the Web API calls.
        start: start the thread now; tests pass False and call :meth:`run_once` themselves.
        name: the thread's name.
    """

    def __init__(self, controller: Controller, *, start: bool = True, name: str = "spotify-player") -> None:
        self._controller = controller
        self._lock = threading.Lock()
        self._inbox = _Inbox()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._state = controller.state()
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    # --- the Player protocol: each returns at once ---

    def apply(self, intent: PlayIntent) -> None:
        """Follow ``intent`` (a pause goes out at the next step, ahead of anything else)."""
        with self._lock:
            self._inbox.intent = intent
        self._wake.set()

    def skip(self) -> None:
        with self._lock:
            self._inbox.skip = True
        self._wake.set()

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        with self._lock:
            if device is not None:
                self._inbox.device = device
            if volume is not None:
                self._inbox.volume = volume
        self._wake.set()

    def resume_control(self) -> None:
        """End a "listener in control" back-off now (the core calls it when the mode is set)."""
        with self._lock:
            self._inbox.resume = True
        self._wake.set()

    def state(self) -> PlayerState:
        return self._state

    def close(self) -> None:
        """Stop the thread (a request in flight is left to time out on its own); the music plays on."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(CLOSE_TIMEOUT_S)
            if self._thread.is_alive():
                log.info("Spotify player thread still waiting on a request; leaving it to time out")

    # --- the thread ---

    def run_once(self) -> float | None:
        """Hand over what arrived and run one controller step; seconds until the next is due."""
        with self._lock:
            inbox, self._inbox = self._inbox, _Inbox()
        controller = self._controller
        if inbox.resume:
            controller.resume_control()
        if inbox.device is not None or inbox.volume is not None:
            controller.set_output(inbox.device, inbox.volume)
        if inbox.intent is not None:
            controller.set_intent(inbox.intent)
        if inbox.skip:
            controller.request_skip()
        try:
            delay = controller.step()
        finally:
            self._state = controller.state()
        return delay

    def _run(self) -> None:
        delay: float | None = 0.0
        while not self._closed.is_set():
            self._wake.wait(LONGEST_SLEEP_S if delay is None else min(delay, LONGEST_SLEEP_S))
            self._wake.clear()
            if self._closed.is_set():
                break
            try:
                delay = self.run_once()
            except Exception:  # Controller.step catches its own; this is the last guard of the thread
                log.exception("Spotify player thread failed; going on")
                delay = 5.0


class PlayerSections(Protocol):
    """What the Spotify player reads of the daemon's config (:class:`soulsyncd.config.Config` is one)."""

    @property
    def player(self) -> object: ...  # must be a SpotifyPlayerConfig; checked at run time

    @property
    def music(self) -> MusicConfig: ...

    @property
    def engine(self) -> EngineConfig: ...

    @property
    def state(self) -> StateSection: ...


def build_spotify_player(
    config: PlayerSections,
    picker: TrackPicker | None,
    *,
    store: PlaylistStore | None = None,
    on_synced: Callable[[SyncReport], None] | None = None,
    clock: Clock | None = None,
    wall: Callable[[], float] = time.time,
    api_prefix: str | None = None,
    token_url: str | None = None,
    start: bool = True,
) -> SpotifyPlayer:
    """The Spotify player for ``config`` (whose ``player`` must be the spotify kind).

    Args:
        config: the whole config (``player``, ``music``, ``state.dir``).
        picker: chooses the tracks (the mood engine).
        store: the catalog, for the playlist cache; None: ``music.playlists`` are not read here.
        on_synced: called on the player's thread after each complete playlist round.
        clock: monotonic seconds (tests: a manual clock shared with the fake server).
        wall: epoch seconds, for ``retry_at``.
        api_prefix: override of the Web API base URL (tests, tools).
        token_url: override of the token endpoint (tests, tools).
        start: start the thread.
    """
    from soulsyncd.spotify.auth import (
        CLIENT_SECRET_NAME,
        TokenCache,
        install_redaction,
        make_auth_manager,
        token_path,
    )
    from soulsyncd.spotify.client import SpotifyClient

    settings = config.player
    if not isinstance(settings, SpotifyPlayerConfig):
        raise TypeError(f"player.kind is {getattr(settings, 'kind', settings)!r}, not 'spotify'")
    install_redaction()
    clock = clock or SystemClock()
    auth = make_auth_manager(
        client_id=settings.client_id,
        redirect_uri=settings.redirect_uri,
        cache=TokenCache(token_path(config.state.dir)),
        client_secret=read_secret(CLIENT_SECRET_NAME),
        timeout_s=settings.request_timeout_s,
        token_url=token_url,
    )
    client = SpotifyClient(auth, timeout_s=settings.request_timeout_s, api_prefix=api_prefix)
    sync = None
    if store is not None and config.music.playlists:
        # Tags sit at the engine's points (its overrides included), where it looks for each mood.
        tagged = config.music.tagged(merged_points(config.engine.emotion_points))
        sync = PlaylistSync(client, store, tagged, clock=clock, on_round=on_synced,
                            refresh_s=settings.playlist_refresh_h * 3600)
    memory = PlayedMemory(Path(config.state.dir) / MEMORY_FILE)
    controller = Controller(client, picker, settings, clock=clock, wall=wall, sync=sync, memory=memory)
    return SpotifyPlayer(controller, start=start)
