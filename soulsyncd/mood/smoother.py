"""Turn noisy per-frame emotion scores into a stable mood.

A classifier's per-frame output flickers: a blink, a half-turned head or a bad crop can make one
frame "surprise" in a run of "happy". Music that followed every frame would be unbearable, so the
:class:`MoodSmoother` keeps a sliding window of recent frames and only changes its answer when a new
emotion clearly and persistently leads that window.

Everything here is pure: timestamps come in with the scores (monotonic seconds), nothing reads a
clock, sleeps or logs, so tests drive minutes of behaviour in microseconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from soulsyncd.mood.settings import ABSENT_AFTER_S_MAX, MARGIN_MAX, WINDOW_S_MAX
from soulsyncd.types import CIRCUMPLEX, Emotion, FaceBox, Mood, Scores

NUM_CLASSES = len(Emotion)


# Circumplex coordinates in class-index order, so the valence/arousal estimate is a plain dot product.
_VALENCE = tuple(CIRCUMPLEX[emotion][0] for emotion in Emotion)
_AROUSAL = tuple(CIRCUMPLEX[emotion][1] for emotion in Emotion)


def aggregate_faces(probabilities: np.ndarray, boxes: Sequence[FaceBox]) -> tuple[float, ...] | None:
    """Combine the faces of one frame (a group watching together) into one probability vector.

    Each face's row is weighted by its box area: a bigger face is closer to the camera, its crop has
    more pixels and its classification is more reliable than a small face at the back of the room.

    Args:
        probabilities: (n, 7) per-face probabilities in FER2013 class order, one row per box.
        boxes: the n face boxes, in the same order as the rows.

    Returns:
        The area-weighted mean, renormalised to sum to 1, or None when there are no faces. If every
        box has zero area (degenerate detections) the faces count equally rather than not at all.

    Raises:
        ValueError: the array is not (n, 7) or n differs from the number of boxes.
    """
    rows = np.asarray(probabilities, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != NUM_CLASSES:
        raise ValueError(f"probabilities must have shape (n, {NUM_CLASSES}), got {rows.shape}")
    if rows.shape[0] != len(boxes):
        raise ValueError(f"{rows.shape[0]} probability rows but {len(boxes)} face boxes")
    if rows.shape[0] == 0:
        return None
    weights = np.array([max(box.area, 0) for box in boxes], dtype=np.float64)
    if weights.sum() <= 0.0:
        weights = np.ones_like(weights)
    combined = weights @ rows
    total = float(combined.sum())
    if total <= 0.0:
        # All-zero rows carry no information; say "uniform" rather than divide by zero.
        return tuple(1.0 / NUM_CLASSES for _ in range(NUM_CLASSES))
    return tuple(float(value) / total for value in combined)


class MoodSmoother:
    """A sliding-window vote with hysteresis over per-frame emotion probabilities.

    Feed every analysed frame to :meth:`update`, in timestamp order; it returns the current
    :class:`~soulsyncd.types.Mood`. The rules:

    * **Evidence** is the mean probability vector of the face frames of the last ``window_s``
      seconds (frames with ``timestamp > now - window_s``), renormalised to sum to 1.
    * **First emotion.** When someone appears, the mood stays absent until there are at least
      ``min_frames`` face frames spanning at least ``min_evidence_s`` seconds (defaults: 2 frames
      and 0.5 s, i.e. the 4th frame at 5 frames/s; one frame is too easily a false detection).
      Then the window's leader becomes the emotion.
    * **Change.** A new emotion replaces the current one only when it leads the window mean,
      beats the current emotion's mean by at least ``margin``, and the current emotion has not led
      the window on any update for at least ``dwell_s``. With one challenger this is "the
      challenger has led continuously for ``dwell_s``"; the dwell is measured from the current
      emotion losing the lead rather than from one challenger gaining it, so that two rivals
      trading the lead frame by frame still replace a stale emotion instead of resetting each
      other's clock forever. A single odd frame or a burst shorter than the dwell cannot flip the
      mood, and frames alternating between two classes keep both means near each other, below the
      margin, so they cause no back-and-forth changes.
    * **Absence.** When no face frame has been seen for ``absent_after_s`` seconds the mood becomes
      absent and the window is cleared; when a face returns, evidence starts again from nothing.
    * **Latency.** If from time T every face frame favours a new class N over the old class by a
      probability difference ``d``, N is reported at about
      ``T + max(window_s / (1 + d) + dwell_s, window_s * (1 + margin) / (1 + d))``, rounded up to
      the next frame (decisions happen only on frames): with the defaults 3.5 s for a clean switch
      (d = 1), about 4.6 s for d = 0.4, and within ``window_s`` for d >= 0.3 on a steady frame rate
      (irregular frame times can add up to one frame interval).
    * **Out-of-order input.** A frame older than the newest one already seen is ignored (the
      returned mood is the previous one): the window is ordered by time and a late frame would
      describe the past. Equal timestamps are accepted.

    **Confidence** is the window mean probability of the reported emotion: how much of the last
    ``window_s`` seconds' evidence is for it (0..1). While a challenger waits out the dwell, it can
    be lower than the challenger's share; absent moods have confidence 0.

    ``since`` is the timestamp at which the smoother started reporting the current emotion (or
    absence); before any face the mood is absent since the first timestamp seen.
    """

    def __init__(
        self,
        window_s: float = 5.0,
        margin: float = 0.15,
        dwell_s: float = 1.0,
        absent_after_s: float = 3.0,
        *,
        min_evidence_s: float = 0.5,
        min_frames: int = 2,
    ) -> None:
        """Set the smoothing parameters.

        Args:
            window_s: length of the sliding window of face frames, seconds (0 < window_s <=
                :data:`WINDOW_S_MAX`).
            margin: how far (in mean probability, 0 <= margin < :data:`MARGIN_MAX`) a new emotion
                must lead the current one before it replaces it.
            dwell_s: how long (seconds, >= 0) the current emotion must have been out-led before a
                new one replaces it.
            absent_after_s: seconds without a face after which the listener counts as gone
                (0 < absent_after_s <= :data:`ABSENT_AFTER_S_MAX`).
            min_evidence_s: seconds of face frames needed before the first emotion (>= 0).
            min_frames: face frames needed before the first emotion (>= 1).

        Raises:
            ValueError: a parameter is out of range; the message names it.
        """
        if not 0 < window_s <= WINDOW_S_MAX:
            raise ValueError(f"window_s must be in (0, {WINDOW_S_MAX:g}], got {window_s}")
        if not 0 <= margin < MARGIN_MAX:
            raise ValueError(f"margin must be in [0, {MARGIN_MAX:g}), got {margin}")
        if not dwell_s >= 0:
            raise ValueError(f"dwell_s must be >= 0, got {dwell_s}")
        if not 0 < absent_after_s <= ABSENT_AFTER_S_MAX:
            raise ValueError(f"absent_after_s must be in (0, {ABSENT_AFTER_S_MAX:g}], got {absent_after_s}")
        if not min_evidence_s >= 0:
            raise ValueError(f"min_evidence_s must be >= 0, got {min_evidence_s}")
        if min_frames < 1:
            raise ValueError(f"min_frames must be >= 1, got {min_frames}")
        self.window_s = window_s
        self.margin = margin
        self.dwell_s = dwell_s
        self.absent_after_s = absent_after_s
        self.min_evidence_s = min_evidence_s
        self.min_frames = min_frames

        self._window: deque[tuple[float, tuple[float, ...]]] = deque()
        self._last_timestamp: float | None = None
        self._last_face_at: float | None = None
        self._presence_began: float | None = None  # first face frame since the last absence
        self._face_frames_seen = 0  # since _presence_began; the window may have dropped some
        self._emotion: Emotion | None = None
        self._since = 0.0
        self._lost_lead_at: float | None = None  # when the current emotion stopped leading the window
        self._mood: Mood | None = None
        self._mean = [0.0] * NUM_CLASSES  # reused buffer for the window mean
        self._probabilities: tuple[float, ...] | None = None

    @property
    def mood(self) -> Mood | None:
        """The mood returned by the last :meth:`update`, or None before the first frame."""
        return self._mood

    @property
    def probabilities(self) -> tuple[float, ...] | None:
        """The window's mean probabilities (7, FER2013 order, summing to 1) at the last :meth:`update`:
        the evidence the mood was decided on. None while the window holds no face frame."""
        return self._probabilities

    def skip_gap(self, seconds: float) -> None:
        """Let ``seconds`` pass without them counting: a gap in which nobody looked (the camera was
        off by the privacy switch) is not a listener who left. Every time kept moves forward by it."""
        if seconds <= 0:
            return
        self._window = deque((t + seconds, p) for t, p in self._window)
        for name in ("_last_timestamp", "_last_face_at", "_presence_began", "_lost_lead_at"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value + seconds)

    def update(self, scores: Scores) -> Mood:
        """Add one analysed frame and return the smoothed mood at its timestamp.

        Args:
            scores: the frame's aggregated probabilities (7 values in FER2013 order), or
                ``probabilities=None`` when the frame had no face.

        Returns:
            The current mood. A frame older than the newest one seen is ignored and the previous
            mood is returned unchanged.

        Raises:
            ValueError: the probabilities do not have 7 values.
        """
        now = scores.timestamp
        probabilities = scores.probabilities
        if probabilities is not None and len(probabilities) != NUM_CLASSES:
            raise ValueError(f"expected {NUM_CLASSES} probabilities, got {len(probabilities)}")
        if self._last_timestamp is not None and now < self._last_timestamp and self._mood is not None:
            return self._mood
        if self._last_timestamp is None:
            self._since = now
        self._last_timestamp = now

        if self._presence_ended(now):
            # Gone (or never seen): whatever the window holds describes someone who left.
            self._window.clear()
            self._probabilities = None
            self._end_emotion(now)
            if probabilities is None:
                return self._report_absent(now)
            self._presence_began = now
            self._face_frames_seen = 0
        if probabilities is not None:
            self._window.append((now, tuple(float(p) for p in probabilities)))
            self._last_face_at = now
            self._face_frames_seen += 1

        oldest_kept = now - self.window_s
        while self._window and self._window[0][0] <= oldest_kept:
            self._window.popleft()
        if not self._window:
            self._probabilities = None
            # Possible only when absent_after_s > window_s: still "present", but no fresh evidence.
            return self._mood if self._mood is not None else self._report_absent(now)

        mean = self._window_mean()
        self._probabilities = tuple(mean)
        emotion = self._next_emotion(mean, now)
        if emotion is None:
            return self._report_absent(now)  # someone is there, but not long enough to tell
        self._mood = Mood(
            emotion=emotion,
            confidence=mean[emotion],
            valence=_clamp_unit(sum(p * v for p, v in zip(mean, _VALENCE, strict=True))),
            arousal=_clamp_unit(sum(p * a for p, a in zip(mean, _AROUSAL, strict=True))),
            since=self._since,
        )
        return self._mood

    def _next_emotion(self, mean: Sequence[float], now: float) -> Emotion | None:
        """Apply the first-emotion and change rules; None while evidence is still too thin."""
        leader = Emotion(max(range(NUM_CLASSES), key=mean.__getitem__))
        current = self._emotion
        if current is None:
            if self._enough_first_evidence(now):
                self._set_emotion(leader, now)
        elif leader == current:
            self._lost_lead_at = None
        else:
            if self._lost_lead_at is None:
                self._lost_lead_at = now
            clear_lead = mean[leader] - mean[current] >= self.margin
            if clear_lead and now - self._lost_lead_at >= self.dwell_s:
                self._set_emotion(leader, now)
        return self._emotion

    def _presence_ended(self, now: float) -> bool:
        return self._last_face_at is None or now - self._last_face_at >= self.absent_after_s

    def _enough_first_evidence(self, now: float) -> bool:
        assert self._presence_began is not None
        return self._face_frames_seen >= self.min_frames and now - self._presence_began >= self.min_evidence_s

    def _set_emotion(self, emotion: Emotion, now: float) -> None:
        self._emotion = emotion
        self._since = now
        self._lost_lead_at = None

    def _end_emotion(self, now: float) -> None:
        if self._emotion is not None:
            self._emotion = None
            self._since = now
            self._lost_lead_at = None

    def _report_absent(self, now: float) -> Mood:
        """Report absence (nobody there, or not yet long enough to tell)."""
        self._end_emotion(now)
        if self._mood is None or not self._mood.absent or self._mood.since != self._since:
            self._mood = Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=self._since)
        return self._mood

    def _window_mean(self) -> list[float]:
        """The window's mean probabilities, renormalised to sum to 1 (in the reused buffer)."""
        mean = self._mean
        for index in range(NUM_CLASSES):
            mean[index] = 0.0
        for _, probabilities in self._window:
            for index, value in enumerate(probabilities):
                mean[index] += value
        total = sum(mean)
        if total > 0.0:
            # Dividing by the total, not the count, also corrects quantised outputs summing to 0.99.
            for index in range(NUM_CLASSES):
                mean[index] /= total
        return mean


def _clamp_unit(value: float) -> float:
    return min(1.0, max(-1.0, value))
