"""The analysis loop: one tick takes the newest frame through every stage and acts on the mood.

Data moves one way: frame source -> face detector -> classifier -> smoother -> policy -> player.
The loop is the only thread that touches those objects. Everything from outside comes in as a
command (:meth:`SoulSync.submit`, drained at the start of every tick through one table of
command -> handler) and everything going out leaves as an immutable :class:`DaemonState` snapshot
and :class:`Event` (:meth:`SoulSync.latest`, :meth:`SoulSync.subscribe`). The player is called
through a :class:`~soulsyncd.core.playback.PlayerWorker`, so a slow or failing player never
delays a tick.

Tests drive :meth:`SoulSync.tick` directly with a manual clock; the daemon calls :meth:`run`.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from soulsyncd.core.commands import (
    Command,
    CommandQueue,
    Pause,
    RejectionLog,
    Restart,
    Resume,
    SetCamera,
    SetDevice,
    SetLogLevel,
    SetMode,
    SetTarget,
    SetVolume,
    Skip,
)
from soulsyncd.core.limits import ANALYSIS_FPS_MAX, ANALYSIS_FPS_MIN, PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.core.playback import PlayerWorker, ThrottledPlayer, describe
from soulsyncd.core.progress import Progress
from soulsyncd.core.state import Broadcaster, DaemonState, EventKind, Stats, Subscriber
from soulsyncd.interfaces import Classifier, Clock, FaceDetector, FrameSource, Player, SystemClock
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother, aggregate_faces
from soulsyncd.types import CameraStatus, FaceBox, Frame, Mood, PlayIntent, Scores, ShiftProgress, Track
from soulsyncd.vision.detector import crop_faces
from soulsyncd.vision.framing import FramingMeter

log = logging.getLogger(__name__)


T = TypeVar("T")


class Closable(Protocol):
    def close(self) -> None: ...


HISTORY = 500  # mood changes and decisions kept for the exit summary and the state (ring buffers)
TIMING_WINDOW = 50  # ticks over which the diagnostics' medians are taken
STATS_INTERVAL_S = 5.0  # how often a STATS event goes out
CAMERA_REOPEN_S = 1.0  # the least time between two opens of the camera, for a source without a back-off
FPS_WINDOW_S = 5.0  # frames/s is the frames analysed over about this many seconds
# Camera states that deliver frames; in any other the mood is unknown (None), not the last one seen.
_CAMERA_LIVE = frozenset({CameraStatus.OK, CameraStatus.STARTING})
ERROR_REPORT_INTERVAL_S = 60.0  # a repeated identical error is logged once per this, with a count


@dataclass(frozen=True)
class MoodChange:
    """One entry of the mood timeline: when (seconds since start), what, how sure."""

    at_s: float
    mood: Mood


@dataclass
class RunStats:
    """Counters the daemon keeps for its exit summary; the histories are bounded."""

    frames_analysed: int = 0
    frames_with_face: int = 0
    timeline: deque[MoodChange] = field(default_factory=lambda: deque(maxlen=HISTORY))
    decisions: deque[tuple[float, PlayIntent]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    tracks: deque[tuple[float, Track, str]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    mood_changes: int = 0  # including those that fell out of the ring buffer
    decisions_made: int = 0
    tracks_started: int = 0
    elapsed_s: float = 0.0  # how long the loop ran (set when it stops)

    @property
    def analysis_fps(self) -> float:
        """Frames analysed per second over the whole run (0 before any time has passed)."""
        return self.frames_analysed / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class Controls:
    """The listener's run-time choices, carried over a reload (None: not carried, the file decides)."""

    mode: str | None = None
    target: str | None = None
    paused: bool = False
    camera_enabled: bool = True
    device: str | None = None
    volume: int | None = None

    def commands(self, mode: str, target: str) -> list[Command]:
        """The commands that bring a new core (running ``mode`` and ``target``) to these choices."""
        commands: list[Command] = []
        if self.mode is not None and self.mode != mode:
            commands.append(SetMode(self.mode))  # type: ignore[arg-type]
        if self.target is not None and self.target != target:
            commands.append(SetTarget(self.target))
        if self.paused:
            commands.append(Pause())
        if self.device is not None:
            commands.append(SetDevice(self.device))
        if self.volume is not None:
            commands.append(SetVolume(self.volume))
        return commands


class RepeatedErrorLog:
    """Logs the first occurrence of an error with its traceback, then only a count per interval.

    A fault that hits every tick (5 a second) would otherwise write 430,000 tracebacks a day.
    """

    def __init__(self, clock: Clock, interval_s: float = ERROR_REPORT_INTERVAL_S) -> None:
        self._clock = clock
        self._interval_s = interval_s
        self._last_message: str | None = None
        self._repeats = 0
        self._last_report = 0.0

    def error(self, what: str, exc: BaseException) -> str:
        """Report ``exc`` (raised while doing ``what``); returns the one-line message."""
        message = f"{what}: {type(exc).__name__}: {exc}"
        now = self._clock.monotonic()
        if message != self._last_message:
            self.flush()
            self._last_message, self._repeats, self._last_report = message, 0, now
            log.error("%s", message, exc_info=exc)
        else:
            self._repeats += 1
            if now - self._last_report >= self._interval_s:
                self.flush()
                self._last_report = now
        return message

    def flush(self) -> None:
        if self._repeats:
            log.error("%s (repeated %d more times)", self._last_message, self._repeats)
            self._repeats = 0

    def clear(self) -> None:
        """The fault has passed: report any repeats still counted, and log the next one in full."""
        self.flush()
        self._last_message = None


def _root_level() -> str:
    """The root logger's level as a config word (``info`` for anything between the four)."""
    name = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    return name if name in ("debug", "info", "warning", "error") else "info"


class SoulSync:
    """The analysis loop and the core's one way in and out.

    Args:
        source: where frames come from; started and stopped by :meth:`run`.
        detector: finds faces; None disables analysis (every frame counts as "no face").
        classifier: turns face crops into probabilities; None likewise disables analysis.
        smoother: turns per-frame scores into a stable mood.
        policy: decides what music the mood calls for.
        player: acts on the policy's intents; None means nobody listens (analysis only). It is run
            on a :class:`PlayerWorker` thread, behind a :class:`ThrottledPlayer`.
        player_min_interval_s: the player hears of a change at most this often; 0 passes every
            intent on at once.
        clock: monotonic time for the loop and the smoother.
        analysis_fps: how many frames per second to analyse, independent of the camera's rate.
        source_factory: makes a fresh source when the privacy switch turns the camera back on
            (a stopped source is never restarted); None: the switch can only turn it off.
        finished: set by a file source that ended for good; :meth:`run` then returns.
        shift_progress: the mood engine's "step k of n toward target", read for the state.
        resources: closed after the player when the loop stops (the catalog), last first.
    """

    def __init__(
        self,
        *,
        source: FrameSource,
        detector: FaceDetector | None,
        classifier: Classifier | None,
        smoother: MoodSmoother,
        policy: MoodPolicy,
        player: Player | None = None,
        player_min_interval_s: float = 0.0,
        clock: Clock | None = None,
        analysis_fps: float = 5.0,
        source_factory: Callable[[], FrameSource] | None = None,
        finished: threading.Event | None = None,
        shift_progress: Callable[[], ShiftProgress | None] | None = None,
        resources: Sequence[Closable] = (),
    ) -> None:
        if not ANALYSIS_FPS_MIN <= analysis_fps <= ANALYSIS_FPS_MAX:
            raise ValueError(f"analysis_fps must be {ANALYSIS_FPS_MIN}..{ANALYSIS_FPS_MAX}, "
                             f"got {analysis_fps}")
        if not 0 <= player_min_interval_s <= PLAYER_MIN_INTERVAL_S_MAX:
            raise ValueError(f"player_min_interval_s must be 0..{PLAYER_MIN_INTERVAL_S_MAX}, "
                             f"got {player_min_interval_s}")
        self.source: FrameSource | None = source
        self.detector = detector
        self.classifier = classifier
        self.smoother = smoother
        self.policy = policy
        self.clock = clock or SystemClock()
        self._worker = None if player is None else PlayerWorker(player)
        self.player = None if self._worker is None else ThrottledPlayer(
            self._worker, player_min_interval_s, self.clock)
        self.interval_s = 1.0 / analysis_fps
        self.finished = finished
        self._source_factory = source_factory
        self._shift_progress = shift_progress
        self._resources = list(resources)
        self.stats = RunStats()
        self.commands = CommandQueue()
        self._events = Broadcaster(DaemonState(mode=policy.mode, target=policy.target,
                                               log_level=_root_level()))
        self._errors = RepeatedErrorLog(self.clock)
        self.ready = threading.Event()  # the first frame was analysed, or the camera is known absent
        self.restart_requested = threading.Event()  # a Restart command: the daemon exits, systemd restarts
        self._started_at = self.clock.monotonic()
        self._last_label: str | None = None
        self._last_tick_at: float | None = None
        self._last_frame_at: float | None = None
        self._last_stats_at = self._started_at
        self._camera_off_at: float | None = None
        self._camera_opened_at: float | None = None  # a reopen waits out the camera's retry back-off
        self._camera_wanted = False  # a "camera on" waiting for that back-off
        self._camera_reopen_s = CAMERA_REOPEN_S
        self._rejections = RejectionLog(clock=self.clock.monotonic)
        self._device_choice: str | None = None  # set by the listener at run time (kept over a reload)
        self._volume_choice: int | None = None
        self._claim_next = False  # the next play intent takes playback back (a mode set by the listener)
        self._frame_times: deque[float] = deque()  # when each frame of the last FPS_WINDOW_S was analysed
        self._last_reported: str | None = None  # the timeline's last label (unknown stretches aside)
        self._detect_ms: deque[float] = deque(maxlen=TIMING_WINDOW)
        self._infer_ms: deque[float] = deque(maxlen=TIMING_WINDOW)
        self._framing = FramingMeter()  # face boxes, face rate, brightness, sharpness: no pixels
        self._handlers: dict[type, Callable[[Command], None]] = {
            SetMode: self._on_set_mode,
            SetTarget: self._on_set_target,
            Pause: self._on_pause,
            Resume: self._on_resume,
            Skip: self._on_skip,
            SetCamera: self._on_set_camera,
            SetDevice: self._on_set_output,
            SetVolume: self._on_set_output,
            Restart: self._on_restart,
            SetLogLevel: self._on_set_log_level,
        }

    # --- the one way in and out (safe from any thread) ------------------------------------------

    def submit(self, command: Command) -> bool:
        """Queue a command for the loop's thread; never blocks; False if the queue was full."""
        return self.commands.submit(command)

    def latest(self) -> DaemonState:
        """The newest state snapshot."""
        return self._events.latest()

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Call ``callback(event)`` for every event from now on, on a thread of its own."""
        self._events.subscribe(name, callback)

    def controls(self) -> Controls:
        """The listener's current run-time choices (for a reload to carry over)."""
        state = self.latest()
        return Controls(mode=state.mode, target=state.target, paused=state.paused,
                        camera_enabled=state.camera is not CameraStatus.DISABLED,
                        device=self._device_choice, volume=self._volume_choice)

    def start_with_camera_off(self) -> None:
        """Before :meth:`run`: keep the camera closed (the privacy switch was off before a reload)."""
        self.source = None
        self._camera_off_at = self.clock.monotonic()
        self.ready.set()  # nothing to wait for: the camera is off on purpose
        self._events.publish(EventKind.CAMERA, dataclasses.replace(
            self.latest(), camera=CameraStatus.DISABLED, camera_detail="privacy switch"))

    def resource(self, kind: type[T]) -> T | None:
        """The first of the resources handed in that is a ``kind`` (the app's services share them)."""
        return next((r for r in self._resources if isinstance(r, kind)), None)

    def progress(self) -> Progress:
        """Proof of life for the watchdog (see :class:`Progress`)."""
        camera = self._events.latest().camera
        alive = bool(getattr(self.source, "alive", True)) if self.source is not None else True
        frames_expected = camera in (CameraStatus.OK, CameraStatus.STARTING)
        return Progress(last_tick_at=self._last_tick_at, last_frame_at=self._last_frame_at,
                        capture_alive=alive, frames_expected=frames_expected)

    # --- the loop -------------------------------------------------------------------------------

    def tick(self) -> Mood | None:
        """Apply queued commands, analyse the newest frame (if any) and act on the mood."""
        for command in self.commands.drain():
            self._handle(command)
        if self._camera_wanted:
            self._handle(SetCamera(enabled=True))
        if self.player is not None:
            self.player.flush()  # an intent held back by the interval goes out when due
        self._check_camera()
        self._check_player()
        now = self.clock.monotonic()
        self._last_tick_at = now
        if self.latest().camera not in _CAMERA_LIVE:
            self._forget_mood()  # camera off, absent, failed or ended: nobody can tell the mood now
        if now - self._last_stats_at >= STATS_INTERVAL_S:
            self._last_stats_at = now
            self._emit(EventKind.STATS)
        frame = self.source.latest() if self.source is not None else None
        if frame is None:
            return None
        self._last_frame_at = now
        self._frame_times.append(now)
        scores, boxes = self._analyse(frame)
        faces = scores.faces
        mood = self.smoother.update(scores)
        self.stats.frames_analysed += 1
        self.stats.frames_with_face += faces > 0
        if not self.ready.is_set():
            self.ready.set()
        changed = mood.label != self._last_label
        framing = self._framing.update(frame.image, boxes, now)
        state = self._state(mood=mood, faces=faces, probabilities=self.smoother.probabilities,
                            framing=framing)
        if changed:
            self._last_label = mood.label
            if mood.label != self._last_reported:  # back from "unknown" to the same mood: no new entry
                self._last_reported = mood.label
                self._report(mood, faces)
            self._events.publish(EventKind.MOOD, state)
        else:
            self._events.set_latest(state)
        if not self.latest().paused:
            intent = self.policy.decide(mood, frame.timestamp)
            if intent is not None:
                self._act(intent)
        return mood

    def run(self, stop: threading.Event) -> RunStats:
        """Start the source, tick at the analysis rate until ``stop`` (or the input ends), stop all.

        Raises:
            SourceError: the source can never work as configured (see the sources' ``start``).
        """
        if self.source is not None:
            self.source.start()
        try:
            next_tick = self.clock.monotonic()
            while not stop.wait(max(0.0, next_tick - self.clock.monotonic())):
                next_tick += self.interval_s
                # After a stall (a slow frame), don't try to catch up with a burst of ticks.
                next_tick = max(next_tick, self.clock.monotonic())
                # Read "finished" before the tick: the file's last frame may land in between.
                input_ended = self.finished is not None and self.finished.is_set()
                try:
                    mood = self.tick()
                except Exception as exc:  # a bad frame must not end the daemon; the wiring decides that
                    message = self._errors.error("analysis tick failed", exc)
                    failed = dataclasses.replace(self.latest(), last_error=message)
                    self._events.publish(EventKind.ERROR, failed)
                    mood = None
                else:
                    self._errors.clear()
                if input_ended and mood is None and self.commands.empty():
                    log.info("input finished")
                    break
        finally:
            self.stats.elapsed_s = self.clock.monotonic() - self._started_at
            self.close()
        return self.stats

    def wait_player_idle(self, timeout_s: float = 2.0) -> bool:
        """Wait until every intent handed to the player has reached it (for tests and tools)."""
        if self.player is not None:
            self.player.flush()
        return self._worker is None or self._worker.wait_idle(timeout_s)

    def close(self) -> None:
        """Stop the source and the player (reverse of start) and the event threads."""
        self._errors.flush()
        self._rejections.flush()
        if self.source is not None:
            self.source.stop()
        if self.player is not None:
            self.player.close()
        for resource in reversed(self._resources):
            try:
                resource.close()
            except Exception:
                log.exception("closing %s failed", type(resource).__name__)
        self._resources = []
        self._events.close()

    # --- helpers --------------------------------------------------------------------------------

    def _act(self, intent: PlayIntent) -> None:
        if self._claim_next and intent.action == "play":
            # The listener set the mode while nobody was in view: the first music after it claims.
            intent = dataclasses.replace(intent, claim=True)
            self._claim_next = False
        at = self.clock.monotonic() - self._started_at
        self.stats.decisions.append((at, intent))
        self.stats.decisions_made += 1
        log.debug("decision: %s", describe(intent))  # the event log writes it, with journal fields
        if self.player is not None:
            self.player.apply(intent)
        self._events.publish(EventKind.DECISION, dataclasses.replace(self.latest(), last_intent=intent))

    def _report(self, mood: Mood, faces: int) -> None:
        at = mood.since - self._started_at
        self.stats.timeline.append(MoodChange(at_s=at, mood=mood))
        self.stats.mood_changes += 1
        # At DEBUG: the event log (soulsyncd.service.logs.EventLog) writes each change once, with journal
        # fields; this line is for whoever drives the core without it.
        if mood.absent:
            log.debug("mood at %5.1f s: absent (no face)", at)
        else:
            log.debug(
                "mood at %5.1f s: %s (confidence %.2f, valence %+.2f, arousal %+.2f, %d face%s)",
                at, mood.label, mood.confidence, mood.valence, mood.arousal, faces, "" if faces == 1 else "s",
            )

    def _state(self, **changes: object) -> DaemonState:
        """The latest snapshot with ``changes`` and the current figures."""
        now = self.clock.monotonic()
        fps = self._analysed_fps(now)
        stats = Stats(
            frames_analysed=self.stats.frames_analysed,
            frames_with_face=self.stats.frames_with_face,
            analysis_fps=round(fps, 2),
            inference_ms=round(statistics.median(self._infer_ms), 2) if self._infer_ms else 0.0,
            detector_ms=round(statistics.median(self._detect_ms), 2) if self._detect_ms else 0.0,
            uptime_s=round(now - self._started_at, 1),
            commands_dropped=self.commands.dropped,
        )
        shift = self._shift_progress() if self._shift_progress is not None else None
        return dataclasses.replace(self.latest(), stats=stats, shift=shift, **changes)  # type: ignore[arg-type]

    def _analyse(self, frame: Frame) -> tuple[Scores, list[FaceBox]]:
        """Detect and classify the faces of one frame (no face, or no analysis: no probabilities);
        also the faces' boxes, for the framing check."""
        probabilities: tuple[float, ...] | None = None
        faces = 0
        boxes: list[FaceBox] = []
        if self.detector is not None and self.classifier is not None:
            started = time.perf_counter()
            boxes = self.detector.detect(frame)
            detected = time.perf_counter()
            self._detect_ms.append((detected - started) * 1000)
            if boxes:
                crops = crop_faces(frame.image, boxes)
                probabilities = aggregate_faces(self.classifier.classify(crops), boxes)
                faces = len(boxes)
                self._infer_ms.append((time.perf_counter() - detected) * 1000)
        return Scores(timestamp=frame.timestamp, probabilities=probabilities, faces=faces), boxes

    def _analysed_fps(self, now: float) -> float:
        """Frames analysed per second over the last :data:`FPS_WINDOW_S` (0 with no frames: not ticks).

        Measured up to ``now``, not up to the last frame, so the figure falls to 0 when frames stop.
        """
        times = self._frame_times
        while times and now - times[0] > FPS_WINDOW_S:
            times.popleft()
        if len(times) < 2 or now <= times[0]:
            return 0.0
        return (len(times) - 1) / (now - times[0])

    def _forget_mood(self) -> None:
        """No frames can come: the mood, faces and probabilities are unknown until the camera is back.

        The smoother keeps its window (the listener is probably still there, see ``skip_gap``); the
        state says unknown, so neither the policy nor the engine's shift acts on the last mood.
        """
        state = self.latest()
        framing_unknown = not state.framing.width
        if state.mood is None and state.faces == 0 and state.probabilities is None and framing_unknown:
            return
        self._last_label = None
        log.debug("mood unknown: camera %s", state.camera.value)
        self._emit(EventKind.MOOD, mood=None, faces=0, probabilities=None, framing=self._framing.reset())

    def _emit(self, kind: EventKind, **changes: object) -> None:
        self._events.publish(kind, self._state(**changes))

    def _check_camera(self) -> None:
        if self.source is None:
            return  # off by the privacy switch; the status says so already
        state = getattr(self.source, "state", "ok")
        status = {"starting": CameraStatus.STARTING, "ok": CameraStatus.OK,
                  "ended": CameraStatus.ENDED}.get(state, CameraStatus.ABSENT)
        detail = str(getattr(self.source, "last_error", None) or "")
        if status is CameraStatus.ABSENT and detail and "open" not in detail.lower():
            status = CameraStatus.ERROR  # it opened once and then failed, rather than never appearing
        current = self.latest()
        if status != current.camera or detail != current.camera_detail:
            if status in (CameraStatus.ABSENT, CameraStatus.ERROR, CameraStatus.ENDED):
                self.ready.set()  # systemd should not wait for a camera that isn't there
            log.debug("camera: %s%s", status.value, f" ({detail})" if detail else "")
            self._emit(EventKind.CAMERA, camera=status, camera_detail=detail)

    def _check_player(self) -> None:
        if self._worker is None:
            return
        player_state = self._worker.state()
        previous = self.latest().player
        if player_state != previous:
            if player_state.track is not None and player_state.track != previous.track:
                at = self.clock.monotonic() - self._started_at
                self.stats.tracks.append((at, player_state.track, player_state.detail))
                self.stats.tracks_started += 1
            self._emit(EventKind.PLAYER, player=player_state)

    def _handle(self, command: Command) -> None:
        handler = self._handlers.get(type(command))
        try:
            if handler is None:
                raise ValueError(f"unknown command {command!r}")
            handler(command)
        except Exception as exc:  # a bad value from outside, a camera that won't reopen: reported
            message = f"command {command} rejected: {exc}"
            self._rejections.rejected(message)
            self._emit(EventKind.ERROR, last_error=message)

    def _on_set_mode(self, command: Command) -> None:
        assert isinstance(command, SetMode)
        self.policy.set_mode(command.mode)
        self.policy.restart()  # the listener chose: ask for music now, and take playback back
        log.debug("mode set to %s", command.mode)
        self._emit(EventKind.CONTROL, mode=self.policy.mode)
        self._decide_now(claim=True)

    def _on_set_target(self, command: Command) -> None:
        assert isinstance(command, SetTarget)
        self.policy.set_target(command.target)
        log.debug("shift target set to %s", command.target)
        self._emit(EventKind.CONTROL, target=self.policy.target)
        self._decide_now(claim=False)

    def _on_pause(self, command: Command) -> None:
        if self.latest().paused:
            return
        log.debug("paused by the listener")
        self._emit(EventKind.CONTROL, paused=True)
        self._act(PlayIntent(action="pause", reason="paused by the listener", claim=True))

    def _on_resume(self, command: Command) -> None:
        if not self.latest().paused:
            return
        log.debug("resumed by the listener")
        self.policy.restart()
        self._emit(EventKind.CONTROL, paused=False)
        self._decide_now(claim=True)

    def _on_skip(self, command: Command) -> None:
        if self.player is not None:
            log.info("skip requested")
            self.player.skip()

    def _on_set_output(self, command: Command) -> None:
        if isinstance(command, SetVolume):
            if not 0 <= command.percent <= 100:
                raise ValueError(f"volume must be 0..100, got {command.percent}")
            self._volume_choice = command.percent
            if self.player is not None:
                self.player.set_output(volume=command.percent)
        elif isinstance(command, SetDevice):
            self._device_choice = command.name
            if self.player is not None:
                self.player.set_output(device=command.name)

    def _on_set_camera(self, command: Command) -> None:
        assert isinstance(command, SetCamera)
        if not command.enabled:
            self._camera_wanted = False
        if not command.enabled and self.source is not None:
            log.debug("camera off (privacy switch): releasing the device")
            self.source.stop()
            self.source = None
            self._camera_off_at = self.clock.monotonic()
            self._frame_times.clear()  # no frame is analysed from now on: 0 frames/s, not the window's
            self._emit(EventKind.CAMERA, camera=CameraStatus.DISABLED, camera_detail="privacy switch",
                       framing=self._framing.reset())
        elif command.enabled and self.source is None:
            if self._source_factory is None:
                raise ValueError("this camera cannot be reopened")
            now = self.clock.monotonic()
            if self._camera_opened_at is not None and now - self._camera_opened_at < self._camera_reopen_s:
                self._camera_wanted = True  # opened moments ago: reopen when the back-off has passed
                return
            self._camera_wanted = False
            log.debug("camera on (privacy switch): opening the device")
            source = self._source_factory()
            self._camera_opened_at = now
            self._camera_reopen_s = float(getattr(source, "retry_initial_s", CAMERA_REOPEN_S))
            source.start()
            self.source = source
            if self._camera_off_at is not None:  # the time with the camera off is not an empty room
                self.smoother.skip_gap(self.clock.monotonic() - self._camera_off_at)
                self._camera_off_at = None
            reset = getattr(self.detector, "reset", None)  # a detector with memory looks afresh
            if callable(reset):
                reset()
            self._emit(EventKind.CAMERA, camera=CameraStatus.STARTING, camera_detail="")

    def _on_restart(self, command: Command) -> None:
        log.info("restart requested")
        self.restart_requested.set()  # the Daemon (app.py) ends the process; systemd starts it again
        self._emit(EventKind.CONTROL)

    def _on_set_log_level(self, command: Command) -> None:
        assert isinstance(command, SetLogLevel)
        logging.getLogger().setLevel(command.level.upper())
        log.info("log level set to %s", command.level)
        self._emit(EventKind.CONTROL, log_level=command.level)

    def _decide_now(self, *, claim: bool) -> None:
        """Let the policy answer a control change at once rather than at the next mood change."""
        self._claim_next = self._claim_next or claim
        mood = self.latest().mood  # None while unknown (camera off): no decision on a stale mood
        if mood is None or self.latest().paused:
            return
        intent = self.policy.decide(mood, self.clock.monotonic())
        if intent is not None:
            self._act(intent)
