"""What the Spotify player does, one step at a time: the decisions, without the thread.

:class:`Controller` is driven by :class:`soulsyncd.spotify.player.SpotifyPlayer`'s thread (or
directly by tests, with a manual clock): :meth:`Controller.step` does the work that is due now,
makes at most a few Web API calls, and returns when it wants to be called again. Every failure
becomes a state with a back-off (:meth:`Controller.step` never raises) that stands until a request
proves it over (:mod:`soulsyncd.spotify.failures`).

Playback follows Spotify's own ordering rule: after a play or a transfer, the next command waits
until a poll has seen the result. The listener stays in charge: when the track, the device or the
play/pause state is not what this player asked for, it keeps its hands off for a while (the rules
and the back-off are in :mod:`soulsyncd.spotify.takeover`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from soulsyncd.interfaces import Clock, TrackPicker
from soulsyncd.spotify.client import Device, Playback, SpotifyClient
from soulsyncd.spotify.errors import (
    ApiError,
    LoginRequiredError,
    NoDeviceError,
    RateLimitedError,
    SpotifyError,
)
from soulsyncd.spotify.failures import Failures
from soulsyncd.spotify.limits import SKIP_THRESHOLD_S
from soulsyncd.spotify.memory import PlayedMemory
from soulsyncd.spotify.ours import Ours as _Ours
from soulsyncd.spotify.playlists import PlaylistSync
from soulsyncd.spotify.rules import choose_device, same_device, what
from soulsyncd.spotify.settings import SpotifyPlayerConfig
from soulsyncd.spotify.takeover import (
    HandsOff,
    other_music_plays,
    playing_where,
    something_plays,
    started_by_us,
)
from soulsyncd.types import PlayerState, PlayerStatus, PlayIntent, Track

log = logging.getLogger(__name__)

CONFIRM_POLLS = 3  # polls that may pass before a play that did not show up is sent again
PLAY_ATTEMPTS = 3  # plays sent for one start before the device counts as unavailable
END_SLACK_S = 1.0  # how close to its end a track must be for silence to count as its natural end


class Controller:
    """The Spotify player's decisions (see the module doc). One thread at a time.

    Args:
        client: the Web API.
        picker: chooses tracks (the mood engine); None plays nothing.
        settings: the ``player`` section.
        clock: monotonic seconds.
        wall: epoch seconds, for ``retry_at``.
        sync: the playlist cache's refresher, stepped when playback has nothing urgent to do.
        memory: the tracks this player started lately, kept across restarts.
    """

    def __init__(
        self,
        client: SpotifyClient,
        picker: TrackPicker | None,
        settings: SpotifyPlayerConfig,
        *,
        clock: Clock,
        wall: Callable[[], float] = time.time,
        sync: PlaylistSync | None = None,
        memory: PlayedMemory | None = None,
    ) -> None:
        self._client = client
        self._picker = picker
        self._settings = settings
        self._clock = clock
        self._wall = wall
        self._sync = sync
        self.device_name = settings.device
        self.volume = settings.volume
        self._intent: PlayIntent | None = None
        self._intent_new = False
        self._skip = False
        self._move = False  # set_output named another device while ours plays
        self._volume_due = False
        self._ours: _Ours | None = None
        self._queued: Track | None = None
        self._next_poll = 0.0
        self._speaker_id: str | None = None  # the named speaker's id when last found
        self._hands_off = HandsOff(settings.takeover_backoff_s)
        self._failures = Failures(settings)
        self._device_found = False  # this step found the configured speaker
        self._sync_failures = 0
        self._status = PlayerStatus.IDLE
        self._error: str | None = None
        self._nothing_to_play = False
        self._memory = memory or PlayedMemory()  # what this player started lately (not the listener)
        self._unplayed: tuple[PlayIntent, Track] | None = None  # picked, but its play failed
        self._paused_for: PlayIntent | None = None  # the claiming pause already sent
        self._looked = False  # the start-up read of what plays (our own music from before a reload?)

    # --- inputs (called on the controller's thread, between steps) ---

    def set_intent(self, intent: PlayIntent) -> None:
        """The newest intent replaces any other; a claiming one ends a takeover back-off."""
        if intent.claim:
            self.resume_control()
        if intent != self._intent:
            self._intent, self._intent_new, self._nothing_to_play = intent, True, False

    def request_skip(self) -> None:
        """Next track now (a skip is the listener asking for this player's music: it takes control)."""
        self._skip = True
        self.resume_control()

    def set_output(self, device: str | None, volume: int | None) -> None:
        """Another speaker and/or volume from now on."""
        if device is not None and device != self.device_name:
            self.device_name = device
            self._speaker_id = None
            self._move = self._ours is not None
            if isinstance(self._failures.failing, NoDeviceError):
                # A new name is news: look for it now, not after the back-off.
                self._failures.blocked_until = 0.0
        if volume is not None:
            self.volume = max(0, min(100, int(volume)))
            self._volume_due = True

    def resume_control(self) -> None:
        """End a takeover back-off now (the listener set the mode: they want this player's music)."""
        if self._hands_off.end():
            log.info("taking playback back: the listener asked for it")
        if self._status is PlayerStatus.LISTENER_IN_CONTROL:
            self._status = PlayerStatus.IDLE

    # --- the step ---

    def step(self) -> float | None:
        """Do what is due now; returns seconds until the next step is due (None: until an input)."""
        now = self._clock.monotonic()
        if now >= self._failures.blocked_until:
            answered, commands = self._client.answered, self._client.commands_done
            self._device_found = False
            try:
                self._work(now)
            except SpotifyError as exc:  # back-off and Retry-After count from the answer, not the start
                self._failed(exc, self._clock.monotonic())
            except Exception as exc:  # a bug or a broken catalog must not end the player's thread
                log.exception("Spotify player step failed")
                self._failed(ApiError(f"unexpected error: {exc}", 0), self._clock.monotonic())
            else:
                self._settle(answered=self._client.answered > answered,
                             commanded=self._client.commands_done > commands)
        return self._next_due(self._clock.monotonic())

    def _settle(self, *, answered: bool, commanded: bool) -> None:
        """After a step without an error: end the standing failure if this step proved it over."""
        failing = self._failures.failing
        if failing is None:
            return
        if not self._failures.settle(answered=answered, commanded=commanded, device_found=self._device_found):
            # E.g. the back-off ended but no poll was due yet, or only a GET went out while Premium is
            # missing: the failure stands, with its state and error (a start or an adopt set ok or idle
            # without proving anything); a retry that went out and proved nothing waits longer.
            if self._status is not PlayerStatus.LISTENER_IN_CONTROL and failing.status is not None:
                self._status, self._error = failing.status, failing.message
            if answered:
                now = self._clock.monotonic()
                self._failures.failed(failing, now, self._wall())
            return
        self._error = None
        if self._status in _ERROR_STATES:
            if self._hands_off.active:  # the failure hid it: their music still plays, hands still off
                self._status = PlayerStatus.LISTENER_IN_CONTROL
            else:
                self._status = PlayerStatus.OK if self._ours else PlayerStatus.IDLE

    def state(self) -> PlayerState:
        """A snapshot for the dashboard.

        It changes only when something happened (plus ``progress_s`` while our music plays), since
        it is published retained on every change: while the listener is in control the deadline is
        ``retry_at`` and the detail names its wall-clock time, rather than counting down.
        """
        ours = self._ours
        now = self._clock.monotonic()
        detail, retry_at = "", self._failures.retry_at
        device = ours.device.name if ours else self.device_name
        if isinstance(self._failures.failing, NoDeviceError) and self.device_name:
            # The speaker asked for is not there: say so, not the last speaker as if it were chosen.
            still = f"; still on {ours.device.name}" if ours and ours.device.name != self.device_name else ""
            device = f"{self.device_name} (not found{still})"
        track = ours.track if ours else None
        hands_off = self._hands_off.detail()
        if self._status is PlayerStatus.LISTENER_IN_CONTROL and hands_off is not None:
            retry_at, detail = self._hands_off.wall_until, hands_off
            device = self._hands_off.device or device
            track = track or self._hands_off.track  # the listener's, as the last read showed it
        elif self._queued is not None:
            detail = f"next: {self._queued.name}"
        return PlayerState(
            status=self._status,
            device=device,
            track=track,
            playing=bool(ours and ours.playing and not ours.paused_by_us),
            progress_s=ours.listened(now) if ours else 0.0,
            volume=self.volume,
            last_error=self._error,
            retry_at=retry_at,
            detail=detail,
        )

    def _next_due(self, now: float) -> float | None:
        if now < self._failures.blocked_until:
            return self._failures.blocked_until - now
        times = []
        if self._sync is not None and self._sync.next_at is not None:
            times.append(self._sync.next_at)
        if self._hands_off.until is not None:
            times.append(self._hands_off.until)
        elif self._pending_work() or not self._looked:
            times.append(now)
        elif self._watching():
            times.append(self._next_poll)
        return max(0.0, min(times) - now) if times else None

    def _watching(self) -> bool:
        # Also with no intent yet: our own music adopted at start-up is followed to its end.
        ours = self._ours
        return ours is not None and not ours.paused_by_us

    def _pending_work(self) -> bool:
        """True when a command should go out now (not merely a poll)."""
        intent = self._intent
        if intent is None or self._hands_off.active:
            return False
        ours = self._ours
        if intent.action == "pause":
            return ours is not None and not ours.paused_by_us
        if ours is None or ours.paused_by_us:
            return not self._nothing_to_play
        return self._skip or self._move or (self._intent_new and self._settings.switch == "immediate")

    # --- the work ---

    def _work(self, now: float) -> None:
        poll_due = self._watching() and now >= self._next_poll and not self._hands_off.active
        if self._sync is not None and self._sync.due() and not self._pending_work() and not poll_due:
            self._sync_step()
            return
        intent = self._intent
        if not self._looked:
            self._look(now, intent)
        if self._hands_off.active and self._still_hands_off(now):
            return
        if intent is None:
            ours = self._ours
            if ours is not None and not ours.paused_by_us and now >= self._next_poll:
                self._poll(now, None, ours)  # no intent yet: follow our music, decide nothing
            return
        if intent.action == "pause":
            self._pause(intent)
            return
        ours = self._ours
        if self._skip and ours is not None and not ours.paused_by_us:
            self._skip_now(now, ours)
        elif ours is None:
            self._skip = False
            self._start(now, intent)
        elif ours.paused_by_us:
            self._resume(now, intent, ours)
        elif self._move:
            self._transfer(now, ours)
        elif self._intent_new and self._settings.switch == "immediate":
            self._intent_new = False
            self._finish(ours, now, skipped=False)
            self._start(now, intent, check_listener=False)
        elif now >= self._next_poll:
            self._poll(now, intent, ours)

    def _still_hands_off(self, now: float) -> bool:
        """The takeover back-off: True while it lasts (rechecked once its period ended)."""
        if self._hands_off.waiting(now):
            return True
        if self._hands_off.recheck(now, self._wall(), self._client.playback()):
            return True
        self._status = PlayerStatus.IDLE  # their music stopped: ours again
        return False

    def _sync_step(self) -> None:
        assert self._sync is not None
        try:
            done = self._sync.step()
        except (RateLimitedError, LoginRequiredError):
            raise  # the whole app is affected: the player shows it and waits
        except Exception as exc:
            # Reading playlists failed (an outage, a catalog error): the cache keeps what it had,
            # playback goes on from it, and the playlists are tried again later.
            self._sync_failures += 1
            delay = min(self._settings.retry_max_s, self._settings.retry_initial_s * 2 ** self._sync_failures)
            self._sync.defer(delay)
            self._failures.log_once(logging.WARNING, f"reading the mood playlists failed ({exc}); the cached "
                                    f"ones are used, next try in {delay:.0f} s", key=f"sync:{exc}")
            return
        self._sync_failures = 0
        if done:
            self._nothing_to_play = False  # new tracks may have arrived: the next start picks again

    def _start(self, now: float, intent: PlayIntent, *, check_listener: bool = True) -> None:
        """Start a new pick on the configured device (looked up by name every time)."""
        if check_listener and not intent.claim:
            playback = self._client.playback()
            if something_plays(playback):
                if self._is_ours(playback):
                    self._adopt(now, playback)  # our own music from before a restart: carry on
                else:
                    self._takeover(now, playing_where(playback), playback)
                return
        device = self._find_device()
        track = self._pick(intent)
        if track is None:
            return
        self._play(now, device, track)

    def _play(self, now: float, device: Device, track: Track, *, attempts: int = 1) -> None:
        self._intent_new = False
        try:
            self._client.play(device.id, [track.uri])
        except NoDeviceError:
            # Listed but asleep (librespot): a transfer wakes it; the play is retried after a back-off.
            if device.id:
                self._client.transfer(device.id, play=False)
            raise
        self._ours = _Ours(track, device, seen_at=now, attempts=attempts)
        self._unplayed = None
        self._memory.add(track.uri)
        self._status, self._error = PlayerStatus.OK, None
        self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s
        log.debug("playing %r by %s on %s", track.name, track.artist_text, device.name)

    def _look(self, now: float, intent: PlayIntent | None) -> None:
        """At start-up (a restart, a reload): our own music still playing is adopted, so the state
        shows it and it is watched before the first play decision (or paused by a first pause)."""
        self._looked = True
        if intent is not None and intent.action != "pause":
            return  # a start reads playback anyway
        playback = self._client.playback()
        if something_plays(playback) and self._is_ours(playback):
            self._adopt(now, playback)

    def _is_ours(self, playback: Playback) -> bool:
        return started_by_us(playback, self._memory, self.device_name)

    def _adopt(self, now: float, playback: Playback) -> None:
        assert playback.track is not None
        assert playback.device is not None
        self._ours = _Ours(playback.track, playback.device, confirmed=True)
        self._device_found = True  # our music on the configured speaker: it is there
        self._seen(self._ours, playback, now)
        self._status, self._error, self._intent_new = PlayerStatus.OK, None, False
        self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s
        log.info("carrying on with %r on %s (started by this player)", playback.track.name,
                 playback.device.name)

    def _pick(self, intent: PlayIntent) -> Track | None:
        # A start that failed (no device, offline) plays the same pick when it is retried, so the
        # engine's history is not littered with tracks that never played.
        if self._unplayed is not None and self._unplayed[0] == intent:
            return self._unplayed[1]
        track = None
        if self._picker is not None:
            try:
                track = self._picker.pick(intent)
            except Exception:  # the engine's failure is "nothing to play", not the player's end
                log.exception("the track picker failed")
        if track is None:
            self._nothing_to_play = True
            self._status = PlayerStatus.IDLE
            self._error = "nothing to play for this mood (are music.playlists read?)"
            self._failures.log_once(logging.WARNING, self._error)
        else:
            self._unplayed = (intent, track)
        return track

    def _find_device(self) -> Device:
        device = choose_device(self._client.devices(), self.device_name, self._speaker_id)
        self._device_found = True
        if self.device_name is not None:
            self._speaker_id = device.id  # to tell the speaker from a namesake when it is gone
        return device

    def _poll(self, now: float, intent: PlayIntent | None, ours: _Ours) -> None:
        self._next_poll = now + self._settings.poll_interval_s  # when the read fails, the back-off rules
        playback = self._client.playback()
        self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s  # from the answer
        if not ours.confirmed:
            self._confirm(now, ours, playback)
            return
        expected = ours.listened(now)
        natural_end = expected >= ours.track.duration_s - max(END_SLACK_S, self._settings.poll_interval_s)
        if playback is None or playback.device is None:
            if natural_end:
                self._next_after_end(now, intent, ours)
            else:  # the speaker went away mid-track (unplugged, librespot restarted)
                self._finish(ours, now, skipped=False)
                self._ours = None
                raise NoDeviceError(f"{ours.device.name} stopped playing")
            return
        uri = playback.track.uri if playback.track else None
        if not same_device(playback.device, ours.device):
            self._takeover(now, f"playback moved to {playback.device.name}", playback)
        elif uri == ours.track.uri:
            self._still_ours(now, intent, ours, playback, natural_end=natural_end)
        elif self._queued is not None and uri == self._queued.uri:
            self._finish(ours, now, skipped=not natural_end)
            new = _Ours(self._queued, ours.device, confirmed=True)
            self._queued = None
            self._ours = new
            self._seen(new, playback, now)
            log.debug("now playing %r by %s", new.track.name, new.track.artist_text)
            self._queue_if_due(intent, new)
        elif self._is_ours(playback):
            self._finish(ours, now, skipped=not natural_end)
            self._adopt(now, playback)  # queued before a restart, playing now (ours, if any, is next)
        elif natural_end and self._queued is None:
            self._next_after_end(now, intent, ours)  # e.g. Spotify's autoplay after our last track
        else:
            self._takeover(now, f"{what(playback)} is playing", playback)

    def _still_ours(self, now: float, intent: PlayIntent | None, ours: _Ours, playback: Playback, *,
                    natural_end: bool) -> None:
        assert playback.device is not None
        ours.device = playback.device  # ids change now and then; the name is what counts
        if playback.playing:
            self._seen(ours, playback, now)
            self._queue_if_due(intent, ours)
        elif natural_end and (playback.progress_s < END_SLACK_S
                              or playback.progress_s >= ours.track.duration_s - END_SLACK_S):
            self._next_after_end(now, intent, ours)  # it ended and nothing was queued
        else:
            self._takeover(now, "the listener paused", playback)

    def _confirm(self, now: float, ours: _Ours, playback: Playback | None) -> None:
        if (playback is not None and playback.track is not None and playback.track.uri == ours.track.uri
                and playback.device is not None and same_device(playback.device, ours.device)):
            ours.confirmed, ours.device = True, playback.device
            self._seen(ours, playback, now)
            if self.volume is not None and playback.device.volume != self.volume:
                self._volume_due = True
            if self._volume_due:
                self._set_volume(ours.device)
            return
        ours.unconfirmed_polls += 1
        if ours.unconfirmed_polls < CONFIRM_POLLS:
            return
        if ours.attempts >= PLAY_ATTEMPTS:
            self._ours = None
            raise NoDeviceError(f"{ours.device.name} did not start playing")
        log.info("%s has not started %r yet; sending play again", ours.device.name, ours.track.name)
        self._play(now, ours.device, ours.track, attempts=ours.attempts + 1)

    def _seen(self, ours: _Ours, playback: Playback, now: float) -> None:
        ours.progress_s, ours.seen_at, ours.playing = playback.progress_s, now, playback.playing

    def _queue_if_due(self, intent: PlayIntent | None, ours: _Ours) -> None:
        if self._volume_due:
            self._set_volume(ours.device)
        remaining = ours.track.duration_s - ours.progress_s
        if intent is None or self._queued is not None or remaining > self._settings.boundary_lead_s:
            return
        track = self._pick(intent)
        if track is None:
            return
        self._client.queue(track.uri, ours.device.id)
        self._queued, self._intent_new, self._unplayed = track, False, None
        self._memory.add(track.uri)
        log.debug("queued %r by %s for the track boundary", track.name, track.artist_text)

    def _next_after_end(self, now: float, intent: PlayIntent | None, ours: _Ours) -> None:
        """Our track ended and nothing of ours followed (the queue was missed): play the next pick
        (with no intent yet: nothing, idle)."""
        self._finish(ours, now, skipped=False)
        self._ours = None
        if intent is None:
            if self._status is PlayerStatus.OK:
                self._status = PlayerStatus.IDLE
            return
        track = self._pick(intent)
        if track is not None:
            self._play(now, ours.device, track)

    def _skip_now(self, now: float, ours: _Ours) -> None:
        self._skip = False
        self._finish(ours, now, skipped=ours.listened(now) < SKIP_THRESHOLD_S)
        intent = self._intent
        assert intent is not None
        if self._queued is not None:  # it was picked already and cannot be un-queued: go to it
            queued, self._queued = self._queued, None
            self._client.next_track(ours.device.id)
            self._ours = _Ours(queued, ours.device, seen_at=now)
            self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s
            return
        self._ours = None
        track = self._pick(intent)
        if track is not None:
            self._play(now, ours.device, track)

    def _resume(self, now: float, intent: PlayIntent, ours: _Ours) -> None:
        """Play again after our pause: the same track where it stopped (boundary mode), else a new pick."""
        playback = self._client.playback()
        if other_music_plays(playback, ours.track.uri) and not intent.claim:
            self._takeover(now, playing_where(playback), playback)
            return
        device = self._find_device()
        paused_here = playback is not None and playback.track is not None and (
            playback.track.uri == ours.track.uri)
        if paused_here and self._settings.switch == "boundary":
            try:
                self._client.play(device.id, None)
            except ApiError as exc:
                if exc.http_status != 403:  # 403: nothing to resume any more; start afresh below
                    raise
            else:
                self._ours = replace(ours, device=device, paused_by_us=False, playing=True, seen_at=now,
                                     confirmed=False, unconfirmed_polls=0)
                self._status, self._error, self._intent_new = PlayerStatus.OK, None, False
                self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s
                log.info("resumed %r on %s", ours.track.name, device.name)
                return
        self._finish(ours, now, skipped=False)
        self._ours = None
        track = self._pick(intent)
        if track is not None:
            self._play(now, device, track)

    def _pause(self, intent: PlayIntent) -> None:
        ours = self._ours
        self._skip = False
        if ours is None and intent.claim and self._paused_for is not intent:
            # The listener pressed pause on the dashboard while other music plays: pause that, once.
            self._paused_for = intent
            with contextlib.suppress(ApiError, NoDeviceError):  # nothing playing: paused, as asked
                self._client.pause(None)
            log.info("paused playback for the listener")
        if ours is None or ours.paused_by_us:
            self._status = PlayerStatus.IDLE
            return
        try:
            self._client.pause(ours.device.id)
        except ApiError as exc:
            if exc.http_status != 403:  # 403: it was not playing; paused is what we wanted anyway
                raise
        ours.progress_s = ours.listened(self._clock.monotonic())
        ours.paused_by_us, ours.playing = True, False
        self._status = PlayerStatus.IDLE
        log.info("paused %r on %s", ours.track.name, ours.device.name)

    def _transfer(self, now: float, ours: _Ours) -> None:
        # _move stays set until the move is done: a speaker not found is looked for again after the
        # back-off (the music plays on where it was meanwhile).
        device = self._find_device()
        if device.id == ours.device.id:
            self._move = False
            return
        self._client.transfer(str(device.id), play=True)
        self._move = False
        ours.device, ours.confirmed, ours.unconfirmed_polls = device, False, 0
        self._next_poll = self._clock.monotonic() + self._settings.poll_interval_s
        log.info("moved playback to %s", device.name)

    def _set_volume(self, device: Device) -> None:
        if self.volume is not None:
            self._client.volume(self.volume, device.id)  # a failure leaves it due: tried again later
        self._volume_due = False

    # --- the listener in charge ---

    def _takeover(self, now: float, why: str, playback: Playback | None) -> None:
        ours = self._ours
        if ours is not None:
            self._finish(ours, now, skipped=ours.listened(now) < SKIP_THRESHOLD_S)
        self._ours, self._queued = None, None
        self._hands_off.begin(now, self._wall(), playback, why)
        self._status = PlayerStatus.LISTENER_IN_CONTROL

    def _finish(self, ours: _Ours, now: float, *, skipped: bool) -> None:
        if self._picker is None:
            return
        try:
            self._picker.finished(ours.track, ours.listened(now), skipped)
        except Exception:
            log.exception("the track picker failed to take feedback")

    # --- failures ---

    def _failed(self, exc: SpotifyError, now: float) -> None:
        if exc.status is not None:
            self._status = exc.status
        self._error = exc.message
        self._failures.failed(exc, now, self._wall())


_ERROR_STATES = frozenset({
    PlayerStatus.NO_DEVICE, PlayerStatus.PREMIUM_REQUIRED, PlayerStatus.LOGIN_REQUIRED,
    PlayerStatus.RATE_LIMITED, PlayerStatus.OFFLINE,
})
