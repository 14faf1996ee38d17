"""The dry-run player: plays nothing, but chooses and "plays" real tracks on a clock, and says so.

With a track picker (the mood engine) it behaves like a real player at track boundaries: the
first play intent starts a track, each track "plays" for its duration (or ``track_s``, to see a
session in seconds), and at its end the picker is told how it ended and asked for the next one,
for the newest intent — a mood change mid-track is honoured at the next boundary, as on Spotify.
Its state carries the track, the speaker and the volume it was told to use (a dry run is a player
like any other: a dashboard shows what was accepted). The daemon's event log writes one line per
track from that state (``would play 'X' by Y (valence 0.62, energy 0.55) on Kitchen — shift step 2
of 5 toward happy``); this module's own lines are at DEBUG, for whoever drives it without the core.

Every method returns at once. Tracks advance when :meth:`DryRunPlayer.poll` sees the clock pass
their end: a background thread polls twice a second by default; tests and ``simulate`` pass
``background=False`` and a manual clock and call ``poll`` themselves.

The Spotify Connect player plugs in behind the same :class:`soulsyncd.interfaces.Player`
protocol; :class:`soulsyncd.core.playback.PlayerWorker` runs either off the analysis thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from soulsyncd.core.playback import describe
from soulsyncd.interfaces import Clock, SystemClock, TrackPicker
from soulsyncd.types import PlayerState, PlayerStatus, PlayIntent, Track

log = logging.getLogger(__name__)

DEFAULT_TRACK_S = 180.0  # a track of unknown length "plays" this long
_MAX_CATCH_UP = 1000  # tracks advanced in one poll after a long stall (a suspended laptop)


@dataclass(frozen=True)
class Played:
    """One track the dry-run player "played": when it started (clock seconds), what, and why."""

    at: float
    track: Track
    detail: str


def describe_track(track: Track) -> str:
    """``'X' by Y (valence 0.62, energy 0.55)`` for the log."""
    features = []
    if track.valence is not None:
        features.append(f"valence {track.valence:.2f}")
    if track.energy is not None:
        features.append(f"energy {track.energy:.2f}")
    suffix = f" ({', '.join(features)})" if features else ""
    return f"{track.name!r} by {track.artist_text}{suffix}"


class DryRunPlayer:
    """Logs what it would play; with a picker, chooses and times real tracks (see the module doc).

    Args:
        picker: chooses tracks at boundaries (the mood engine); None: log intents only.
        clock: monotonic seconds for track timing.
        track_s: "play" every track this long instead of its own duration (the demo uses 8 s).
        describe_choice: a short phrase about the picker's last choice ("shift step 2 of 5 toward
            happy"), shown after each track and as the state's ``detail``.
        background: poll on a thread of its own (False: the caller calls :meth:`poll`).
        poll_s: how often the background thread polls.
    """

    def __init__(
        self,
        picker: TrackPicker | None = None,
        *,
        clock: Clock | None = None,
        track_s: float | None = None,
        describe_choice: Callable[[], str] | None = None,
        background: bool = True,
        poll_s: float = 0.5,
    ) -> None:
        self.history: list[PlayIntent] = []
        self.played: list[Played] = []
        self._picker = picker
        self._clock = clock or SystemClock()
        self._track_s = track_s
        self._describe_choice = describe_choice
        self._lock = threading.RLock()
        self._intent: PlayIntent | None = None
        self._track: Track | None = None
        self._started_at = 0.0
        self._ends_at = 0.0
        self._detail = ""
        self._device: str | None = None
        self._volume: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if picker is not None and background:
            self._thread = threading.Thread(target=self._poll_forever, args=(poll_s,), name="dry-run-player",
                                            daemon=True)
            self._thread.start()

    # --- the Player protocol ------------------------------------------------------------------------

    def apply(self, intent: PlayIntent) -> None:
        with self._lock:
            self.history.append(intent)
            if self._picker is None:
                log.debug("dry-run player: would %s", describe(intent))
                return
            if intent.action == "pause":
                self._end_track(skipped=False)
                self._intent = None
                log.debug("dry-run player: would %s", describe(intent))
                return
            self._intent = intent
            if self._track is None:
                self._next_track(self._clock.monotonic())

    def skip(self) -> None:
        with self._lock:
            if self._picker is None or self._track is None:
                log.debug("dry-run player: would skip to the next track")
                return
            now = self._clock.monotonic()
            self._end_track(skipped=True, at=now)
            self._next_track(now)

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        """Take the speaker and/or volume (None: unchanged) and show them in the state from now on."""
        with self._lock:
            if device is not None:
                self._device = device
            if volume is not None:
                self._volume = max(0, min(100, int(volume)))
            changes = [f"speaker {device}"] if device is not None else []
            changes += [f"volume {self._volume}"] if volume is not None else []
        if changes:
            log.debug("dry-run player: would set %s", " and ".join(changes))

    def state(self) -> PlayerState:
        with self._lock:
            playing = self._intent is not None if self._picker is not None else (
                bool(self.history) and self.history[-1].action == "play")
            progress = max(0.0, self._clock.monotonic() - self._started_at) if self._track else 0.0
            return PlayerState(
                status=PlayerStatus.DRY_RUN, device=self._device, track=self._track, playing=playing,
                progress_s=round(progress, 1), volume=self._volume, detail=self._detail,
            )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        log.debug("dry-run player closed after %d decisions and %d tracks",
                  len(self.history), len(self.played))

    # --- playback on the clock ----------------------------------------------------------------------

    def poll(self) -> None:
        """Finish every track whose time is up and start the next one (at the moment the last ended)."""
        with self._lock:
            now = self._clock.monotonic()
            for _ in range(_MAX_CATCH_UP):
                if self._track is None or now < self._ends_at:
                    return
                ended_at = self._ends_at
                self._end_track(skipped=False, at=ended_at)
                self._next_track(ended_at)

    def _poll_forever(self, poll_s: float) -> None:
        while not self._stop.wait(poll_s):
            try:
                self.poll()
            except Exception:  # the picker's bug must not end playback for good
                log.exception("dry-run player: advancing the track failed")

    def _end_track(self, *, skipped: bool, at: float | None = None) -> None:
        track, self._track = self._track, None
        if track is None or self._picker is None:
            return
        listened = max(0.0, (self._clock.monotonic() if at is None else at) - self._started_at)
        try:
            self._picker.finished(track, listened, skipped)
        except Exception:
            log.exception("dry-run player: reporting the end of %s failed", track.uri)

    def _next_track(self, start: float) -> None:
        intent = self._intent
        if intent is None or intent.action != "play" or self._picker is None:
            return
        try:
            track = self._picker.pick(intent)
        except Exception:  # a picker failure is a dry-run decision with a warning, never a crash
            log.exception("dry-run player: choosing a track failed")
            track = None
        self._detail = self._choice_detail()
        if track is None:
            log.warning("dry-run player: no track to play (%s); would %s", self._detail or "nothing chosen",
                        describe(intent))
            return
        self._track = track
        self._started_at = start
        self._ends_at = start + (self._track_s or track.duration_s or DEFAULT_TRACK_S)
        self.played.append(Played(at=start, track=track, detail=self._detail))
        detail = f" — {self._detail}" if self._detail else ""
        log.debug("dry-run player: would play %s%s", describe_track(track), detail)

    def _choice_detail(self) -> str:
        if self._describe_choice is None:
            return ""
        try:
            return self._describe_choice()
        except Exception:
            log.exception("dry-run player: describing the choice failed")
            return ""
