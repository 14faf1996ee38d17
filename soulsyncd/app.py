"""The one place that wires soulsyncd together and owns start and stop.

Data moves one way: frame source -> face detector -> classifier -> smoother -> policy -> player.
:class:`SoulSync` is the core loop over those edges (all Protocols, so tests pass doubles);
:func:`build` makes the real adapters from a :class:`~soulsyncd.config.Config`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from soulsyncd.config import (
    Config,
    DryRunPlayerConfig,
    FileCameraConfig,
    Picamera2CameraConfig,
    UsbCameraConfig,
)
from soulsyncd.interfaces import Classifier, Clock, FaceDetector, FrameSource, Player, SystemClock
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother, aggregate_faces
from soulsyncd.player import ThrottledPlayer, describe
from soulsyncd.types import Mood, PlayIntent, Scores
from soulsyncd.vision.detector import crop_faces

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoodChange:
    """One entry of the mood timeline: when (seconds since start), what, how sure."""

    at_s: float
    mood: Mood


@dataclass
class RunStats:
    """Counters the daemon keeps for its log, its benchmark and (later) its published state."""

    frames_analysed: int = 0
    frames_with_face: int = 0
    timeline: list[MoodChange] = field(default_factory=list)
    decisions: list[tuple[float, PlayIntent]] = field(default_factory=list)


class SoulSync:
    """The analysis loop: one tick takes the newest frame through every stage.

    Args:
        source: where frames come from; started and stopped by :meth:`run`.
        detector: finds faces; None disables analysis (every frame counts as "no face").
        classifier: turns face crops into probabilities; None likewise disables analysis.
        smoother: turns per-frame scores into a stable mood.
        policy: decides what music the mood calls for.
        player: acts on the policy's intents; None means nobody listens (analysis only).
        player_min_interval_s: the player hears of a change at most this often (see
            :class:`~soulsyncd.player.ThrottledPlayer`); 0 passes every intent on at once.
        clock: monotonic time for the loop and the smoother.
        analysis_fps: how many frames per second to analyse, independent of the camera's rate.
        on_mood: called with every mood change (the MQTT publisher will hang here).
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
        on_mood: Callable[[Mood], None] | None = None,
    ) -> None:
        self.source = source
        self.detector = detector
        self.classifier = classifier
        self.smoother = smoother
        self.policy = policy
        self.clock = clock or SystemClock()
        self.player = None if player is None else ThrottledPlayer(player, player_min_interval_s, self.clock)
        self.interval_s = 1.0 / analysis_fps
        self.on_mood = on_mood
        self.stats = RunStats()
        self._started_at = self.clock.monotonic()
        self._last_label: str | None = None

    def tick(self) -> Mood | None:
        """Analyse the newest frame, if there is one, and act on the mood. Returns the mood."""
        if self.player is not None:
            self.player.flush()  # an intent held back by the interval goes out when due
        frame = self.source.latest()
        if frame is None:
            return None
        probabilities = None
        faces = 0
        if self.detector is not None and self.classifier is not None:
            boxes = self.detector.detect(frame)
            if boxes:
                crops = crop_faces(frame.image, boxes)
                probabilities = aggregate_faces(self.classifier.classify(crops), boxes)
                faces = len(boxes)
        scores = Scores(timestamp=frame.timestamp, probabilities=probabilities, faces=faces)
        mood = self.smoother.update(scores)
        self.stats.frames_analysed += 1
        self.stats.frames_with_face += faces > 0
        if mood.label != self._last_label:
            self._last_label = mood.label
            self._report(mood, faces)
        intent = self.policy.decide(mood, frame.timestamp)
        if intent is not None:
            self.stats.decisions.append((frame.timestamp - self._started_at, intent))
            log.info("decision: %s", describe(intent))
            if self.player is not None:
                self.player.apply(intent)
        return mood

    def _report(self, mood: Mood, faces: int) -> None:
        at = mood.since - self._started_at
        self.stats.timeline.append(MoodChange(at_s=at, mood=mood))
        if mood.absent:
            log.info("mood at %5.1f s: absent (no face)", at)
        else:
            log.info(
                "mood at %5.1f s: %s (confidence %.2f, valence %+.2f, arousal %+.2f, %d face%s)",
                at, mood.label, mood.confidence, mood.valence, mood.arousal, faces, "" if faces == 1 else "s",
            )
        if self.on_mood is not None:
            try:
                self.on_mood(mood)
            except Exception:  # a listener's bug must not stop the analysis
                log.exception("mood listener failed")

    def run(self, stop: threading.Event, finished: threading.Event | None = None) -> RunStats:
        """Start the source, tick at the analysis rate until ``stop`` (or ``finished``) is set, stop all.

        Components stop in the reverse of their start order.
        """
        self.source.start()
        try:
            next_tick = self.clock.monotonic()
            while not stop.wait(max(0.0, next_tick - self.clock.monotonic())):
                next_tick += self.interval_s
                # After a stall (a slow frame), don't try to catch up with a burst of ticks.
                next_tick = max(next_tick, self.clock.monotonic())
                # Read "finished" before the tick: the file's last frame may land in between.
                input_ended = finished is not None and finished.is_set()
                try:
                    mood = self.tick()
                except Exception:  # a bad frame must not end the daemon; the wiring decides that
                    log.exception("analysis tick failed")
                    mood = None
                if input_ended and mood is None:
                    log.info("input finished")
                    break
        finally:
            self.source.stop()
            if self.player is not None:
                self.player.close()
        return self.stats


def build_source(config: Config) -> tuple[FrameSource, threading.Event | None]:
    """The frame source for ``camera.kind``, and the event it sets when a file ends (else None)."""
    from soulsyncd.vision import sources

    camera = config.camera
    if isinstance(camera, FileCameraConfig):
        file_source = sources.FileSource(camera.path, loop=camera.loop, pace=camera.pace, fps=camera.fps)
        return file_source, file_source.finished
    if isinstance(camera, UsbCameraConfig):
        return sources.UsbCameraSource(
            camera.device, width=camera.width, height=camera.height, fps=camera.fps,
            retry_initial_s=camera.retry_initial_s, retry_max_s=camera.retry_max_s,
        ), None
    if isinstance(camera, Picamera2CameraConfig):
        return sources.PiCameraSource(
            width=camera.width, height=camera.height, fps=camera.fps,
            retry_initial_s=camera.retry_initial_s, retry_max_s=camera.retry_max_s,
        ), None
    raise AssertionError(f"unhandled camera kind {camera.kind}")


def build_player(config: Config) -> Player:
    player_config = config.player
    if isinstance(player_config, DryRunPlayerConfig):
        from soulsyncd.player import DryRunPlayer

        return DryRunPlayer()
    raise AssertionError(f"unhandled player kind {player_config.kind}")


def build(config: Config) -> tuple[SoulSync, threading.Event | None]:
    """Make every adapter from the config. Raises ModelError / SourceError for what cannot start."""
    import cv2

    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier
    from soulsyncd.vision.detector import HaarFaceDetector

    # One OpenCV thread: the Pi has other work to do, and one core is our budget.
    cv2.setNumThreads(1)
    classifier = EmotionClassifier(ClassifierOptions(model_path=Path(config.model.path),
                                                     num_threads=config.model.num_threads,
                                                     flip_average=config.model.flip_average))
    detection = config.detection
    detector = HaarFaceDetector(
        scale_factor=detection.scale_factor,
        min_neighbors=detection.min_neighbors,
        min_face_px=detection.min_face_px,
        detect_width=detection.detect_width,
        full_scan_interval_s=detection.full_scan_interval_s,
        faces=config.analysis.faces,
    )
    source, finished = build_source(config)
    smoothing = config.smoothing
    app = SoulSync(
        source=source,
        detector=detector,
        classifier=classifier,
        smoother=MoodSmoother(window_s=smoothing.window_s, margin=smoothing.margin,
                              dwell_s=smoothing.dwell_s, absent_after_s=smoothing.absent_after_s),
        policy=MoodPolicy(mode=config.policy.mode, target=config.policy.target,
                          step=config.policy.step, step_interval_s=config.policy.step_interval_s),
        player=build_player(config),
        player_min_interval_s=config.player.min_interval_s,
        analysis_fps=config.analysis.fps,
    )
    return app, finished
