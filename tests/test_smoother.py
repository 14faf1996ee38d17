"""Tests for soulsyncd.mood.smoother: scripted probability streams with explicit timestamps, no sleeping."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pytest

from soulsyncd.mood.smoother import MoodSmoother, aggregate_faces
from soulsyncd.types import CIRCUMPLEX, Emotion, FaceBox, Mood, Scores

# 4 frames/s: the period 0.25 s is exact in binary floating point, so window edges and dwell
# times land exactly where the arithmetic in the tests says they do.
FPS = 4
PERIOD = 1.0 / FPS

Probabilities = tuple[float, ...]


def pure(emotion: Emotion) -> Probabilities:
    """A one-hot probability vector."""
    return tuple(1.0 if e == emotion else 0.0 for e in Emotion)


def leaning(strong: Emotion, strong_p: float, weak: Emotion, weak_p: float) -> Probabilities:
    """``strong`` and ``weak`` at the given probabilities, the rest spread evenly over the others."""
    rest = (1.0 - strong_p - weak_p) / (len(Emotion) - 2)
    return tuple(strong_p if e == strong else weak_p if e == weak else rest for e in Emotion)


def frames(start: float, end: float, probabilities: Probabilities | None) -> list[Scores]:
    """Frames at FPS from ``start`` (inclusive) to ``end`` (exclusive), all with the same content."""
    count = round((end - start) * FPS)
    faces = int(probabilities is not None)
    return [Scores(start + i * PERIOD, probabilities, faces) for i in range(count)]


def feed(smoother: MoodSmoother, stream: Iterable[Scores]) -> list[tuple[float, Mood]]:
    return [(scores.timestamp, smoother.update(scores)) for scores in stream]


def emotion_changes(history: list[tuple[float, Mood]]) -> list[tuple[float, Emotion | None]]:
    """(timestamp, new emotion) each time the reported emotion differs from the previous one."""
    changes: list[tuple[float, Emotion | None]] = []
    previous: Emotion | None = None
    for timestamp, mood in history:
        if mood.emotion != previous:
            changes.append((timestamp, mood.emotion))
            previous = mood.emotion
    return changes


def settled(emotion: Emotion, until: float = 5.0, **options: float) -> MoodSmoother:
    """A smoother that has watched a steady ``emotion`` from 0 s to ``until``."""
    smoother = MoodSmoother(**options)  # type: ignore[arg-type]
    feed(smoother, frames(0.0, until, pure(emotion)))
    assert smoother.mood is not None
    assert smoother.mood.emotion == emotion
    return smoother


# --- aggregate_faces ------------------------------------------------------------------------------


def test_aggregate_no_faces_is_none() -> None:
    assert aggregate_faces(np.zeros((0, 7)), []) is None


def test_aggregate_single_face_is_its_row_renormalised() -> None:
    row = np.array([[0.1, 0.0, 0.0, 0.6, 0.1, 0.0, 0.19]])  # sums to 0.99, as quantised outputs do
    combined = aggregate_faces(row, [FaceBox(0, 0, 50, 50)])
    assert combined is not None
    assert sum(combined) == pytest.approx(1.0)
    assert combined[Emotion.HAPPY] == pytest.approx(0.6 / 0.99)


def test_aggregate_weights_faces_by_area() -> None:
    """A face with 3x the area counts 3x: the closer face dominates the group's vector."""
    rows = np.array([pure(Emotion.HAPPY), pure(Emotion.SAD)])
    boxes = [FaceBox(0, 0, 30, 30), FaceBox(100, 0, 30, 10)]  # areas 900 and 300
    combined = aggregate_faces(rows, boxes)
    assert combined is not None
    assert combined[Emotion.HAPPY] == pytest.approx(0.75)
    assert combined[Emotion.SAD] == pytest.approx(0.25)
    assert sum(combined) == pytest.approx(1.0)


def test_aggregate_zero_area_boxes_count_equally() -> None:
    rows = np.array([pure(Emotion.HAPPY), pure(Emotion.SAD)])
    combined = aggregate_faces(rows, [FaceBox(0, 0, 0, 10), FaceBox(0, 0, 10, 0)])
    assert combined is not None
    assert combined[Emotion.HAPPY] == pytest.approx(0.5)


def test_aggregate_rejects_mismatched_rows_and_boxes() -> None:
    with pytest.raises(ValueError, match="2 probability rows but 1 face boxes"):
        aggregate_faces(np.ones((2, 7)) / 7, [FaceBox(0, 0, 10, 10)])
    with pytest.raises(ValueError, match="shape"):
        aggregate_faces(np.ones((1, 6)) / 6, [FaceBox(0, 0, 10, 10)])


# --- MoodSmoother: start-up and steady state ------------------------------------------------------


def test_before_any_frame_there_is_no_mood() -> None:
    assert MoodSmoother().mood is None


def test_initially_absent_since_first_timestamp() -> None:
    smoother = MoodSmoother()
    mood = smoother.update(Scores(timestamp=12.0, probabilities=None))
    assert mood.absent
    assert mood.since == 12.0
    assert (mood.confidence, mood.valence, mood.arousal) == (0.0, 0.0, 0.0)
    assert smoother.update(Scores(timestamp=20.0, probabilities=None)).since == 12.0


def test_first_emotion_needs_half_a_second_and_two_frames() -> None:
    """Someone appearing is reported on the first frame at least 0.5 s after their first frame."""
    history = feed(MoodSmoother(), frames(10.0, 11.0, pure(Emotion.HAPPY)))
    assert [mood.label for _, mood in history] == ["absent", "absent", "happy", "happy"]
    assert history[2][1].since == 10.5


def test_first_emotion_needs_two_frames_even_if_far_apart() -> None:
    smoother = MoodSmoother(absent_after_s=10.0)
    assert smoother.update(Scores(timestamp=0.0, probabilities=pure(Emotion.SAD))).absent
    assert smoother.update(Scores(timestamp=0.9, probabilities=None)).absent
    assert smoother.update(Scores(timestamp=1.0, probabilities=pure(Emotion.SAD))).emotion == Emotion.SAD


def test_steady_happy_is_reported_happy_throughout() -> None:
    history = feed(MoodSmoother(), frames(0.0, 60.0, pure(Emotion.HAPPY)))
    assert emotion_changes(history) == [(0.5, Emotion.HAPPY)]
    final = history[-1][1]
    assert final.confidence == pytest.approx(1.0)
    assert final.since == 0.5


def test_pure_happy_sits_at_its_circumplex_position() -> None:
    mood = settled(Emotion.HAPPY).mood
    assert mood is not None
    assert (mood.valence, mood.arousal) == pytest.approx(CIRCUMPLEX[Emotion.HAPPY])


def test_valence_arousal_is_probability_weighted_mean_of_positions() -> None:
    half_happy_half_sad = tuple(0.5 if e in (Emotion.HAPPY, Emotion.SAD) else 0.0 for e in Emotion)
    smoother = MoodSmoother()
    mood = feed(smoother, frames(0.0, 3.0, half_happy_half_sad))[-1][1]
    happy, sad = CIRCUMPLEX[Emotion.HAPPY], CIRCUMPLEX[Emotion.SAD]
    assert mood.valence == pytest.approx((happy[0] + sad[0]) / 2)
    assert mood.arousal == pytest.approx((happy[1] + sad[1]) / 2)
    assert mood.confidence == pytest.approx(0.5)


def test_confidence_is_window_mean_of_current_emotion() -> None:
    mood = feed(MoodSmoother(), frames(0.0, 6.0, leaning(Emotion.SAD, 0.7, Emotion.NEUTRAL, 0.2)))[-1][1]
    assert mood.emotion == Emotion.SAD
    assert mood.confidence == pytest.approx(0.7)


# --- MoodSmoother: stability ----------------------------------------------------------------------


def test_single_odd_frame_does_not_flip() -> None:
    smoother = settled(Emotion.HAPPY)
    stream = [
        *frames(5.0, 10.0, pure(Emotion.HAPPY)),
        Scores(timestamp=10.0, probabilities=pure(Emotion.ANGRY)),
        *frames(10.25, 20.0, pure(Emotion.HAPPY)),
    ]
    history = feed(smoother, stream)
    assert {mood.emotion for _, mood in history} == {Emotion.HAPPY}


@pytest.mark.parametrize("burst_s", [0.25, 0.5, 0.75, 1.5, 2.0])
def test_burst_shorter_than_the_window_majority_does_not_flip(burst_s: float) -> None:
    """With the defaults, a burst of a few seconds of another emotion never flips the mood."""
    smoother = settled(Emotion.HAPPY)
    burst_end = 5.0 + burst_s
    stream = [*frames(5.0, burst_end, pure(Emotion.SAD)), *frames(burst_end, 15.0, pure(Emotion.HAPPY))]
    history = feed(smoother, stream)
    assert {mood.emotion for _, mood in history} == {Emotion.HAPPY}


def burst_in_a_short_window(dwell_s: float) -> list[tuple[float, Mood]]:
    """Happy, then 0.75 s of sad, in a 1 s window: sad leads the window (by >= margin) for 0.5 s."""
    smoother = settled(Emotion.HAPPY, window_s=1.0, dwell_s=dwell_s)
    return feed(smoother, [*frames(5.0, 5.75, pure(Emotion.SAD)), *frames(5.75, 10.0, pure(Emotion.HAPPY))])


def test_burst_that_leads_for_less_than_dwell_does_not_flip() -> None:
    history = burst_in_a_short_window(dwell_s=1.0)
    assert {mood.emotion for _, mood in history} == {Emotion.HAPPY}


def test_same_burst_flips_without_dwell() -> None:
    """Control for the test above: it is the dwell, not the window, that stops that burst."""
    changes = emotion_changes(burst_in_a_short_window(dwell_s=0.0))
    assert [emotion for _, emotion in changes] == [Emotion.HAPPY, Emotion.SAD, Emotion.HAPPY]


@pytest.mark.parametrize("second", [Emotion.SAD, Emotion.SURPRISE])
def test_alternating_frames_between_two_classes_cause_no_changes(second: Emotion) -> None:
    """Happy and another class alternating frame by frame for a minute: the mood never moves."""
    smoother = settled(Emotion.HAPPY)
    stream = [
        Scores(timestamp=5.0 + i * PERIOD, probabilities=pure(Emotion.HAPPY if i % 2 else second))
        for i in range(60 * FPS)
    ]
    history = feed(smoother, stream)
    assert {mood.emotion for _, mood in history} == {Emotion.HAPPY}


def test_two_rivals_trading_the_lead_replace_a_stale_emotion_once() -> None:
    """Neutral, then happy/sad alternating: one change away from neutral, then no flip-flopping."""
    smoother = settled(Emotion.NEUTRAL)
    stream = [
        Scores(timestamp=5.0 + i * PERIOD, probabilities=pure(Emotion.HAPPY if i % 2 else Emotion.SAD))
        for i in range(60 * FPS)
    ]
    changes = emotion_changes(feed(smoother, stream))
    assert len(changes) == 2  # the first entry is the starting neutral
    assert changes[1][1] in (Emotion.HAPPY, Emotion.SAD)
    assert changes[1][0] <= 5.0 + smoother.window_s


# --- MoodSmoother: latency ------------------------------------------------------------------------


def change_latency(new_frames: Probabilities, **options: float) -> float:
    """Seconds from the first frame of a sustained change at T = 10 s to the reported change."""
    change_at = 10.0
    smoother = settled(Emotion.HAPPY, until=change_at, **options)
    for timestamp, mood in feed(smoother, frames(change_at, change_at + 20.0, new_frames)):
        if mood.emotion != Emotion.HAPPY:
            assert mood.emotion == Emotion.SAD
            assert mood.since == timestamp
            return timestamp - change_at
    raise AssertionError("the change was never reported")


@pytest.mark.parametrize(
    ("new_frames", "expected_s"),
    [
        # One-hot: sad leads from T + 2.5 s (half the window), then the 1 s dwell.
        (pure(Emotion.SAD), 3.5),
        (leaning(Emotion.SAD, 0.9, Emotion.HAPPY, 0.05), 3.5),
        (leaning(Emotion.SAD, 0.7, Emotion.HAPPY, 0.1), 4.0),
        (leaning(Emotion.SAD, 0.6, Emotion.HAPPY, 0.2), 4.5),
        (leaning(Emotion.SAD, 0.45, Emotion.HAPPY, 0.2), 5.0),  # a lead of only 0.25: just in time
    ],
    ids=["one-hot", "0.9-vs-0.05", "0.7-vs-0.1", "0.6-vs-0.2", "0.45-vs-0.2"],
)
def test_sustained_change_is_reported_within_the_window(new_frames: Probabilities, expected_s: float) -> None:
    """A new class clearly dominant from T is reported after at least the dwell, by T + window_s."""
    latency = change_latency(new_frames)
    assert latency == pytest.approx(expected_s)
    assert 1.0 <= latency <= 5.0


@pytest.mark.parametrize(("window_s", "expected"), [(3.0, 2.5), (5.0, 3.5), (8.0, 5.0)])
def test_clean_change_latency_scales_with_the_window(window_s: float, expected: float) -> None:
    assert change_latency(pure(Emotion.SAD), window_s=window_s) == pytest.approx(expected)


# --- MoodSmoother: absence ------------------------------------------------------------------------


def test_no_face_for_absent_after_s_means_absent_and_not_before() -> None:
    smoother = settled(Emotion.HAPPY)  # last face frame at 4.75 s
    history = feed(smoother, frames(5.0, 10.0, None))
    before = [mood for timestamp, mood in history if timestamp < 4.75 + 3.0]
    after = [mood for timestamp, mood in history if timestamp >= 4.75 + 3.0]
    assert {mood.emotion for mood in before} == {Emotion.HAPPY}
    assert all(mood.absent for mood in after)
    assert after[0].since == 7.75
    assert (after[0].confidence, after[0].valence, after[0].arousal) == (0.0, 0.0, 0.0)


def test_a_brief_look_away_keeps_the_mood_and_its_evidence() -> None:
    smoother = settled(Emotion.HAPPY)
    history = feed(smoother, [*frames(5.0, 7.0, None), *frames(7.0, 8.0, pure(Emotion.HAPPY))])
    assert {mood.emotion for _, mood in history} == {Emotion.HAPPY}
    assert history[-1][1].since == 0.5


def test_a_returning_face_starts_fresh() -> None:
    """After absence the old (happy) frames no longer count: sad is reported like a first emotion."""
    smoother = settled(Emotion.HAPPY)
    feed(smoother, frames(5.0, 8.0, None))
    assert smoother.mood is not None
    assert smoother.mood.absent
    history = feed(smoother, frames(8.0, 9.0, pure(Emotion.SAD)))
    assert [mood.label for _, mood in history] == ["absent", "absent", "sad", "sad"]
    assert history[2][1].since == 8.5
    assert history[2][1].confidence == pytest.approx(1.0)


def test_a_face_after_a_long_silence_starts_fresh_without_no_face_frames() -> None:
    """A stalled pipeline (no frames at all) counts as absence too once a frame finally comes."""
    smoother = settled(Emotion.HAPPY)
    mood = smoother.update(Scores(timestamp=30.0, probabilities=pure(Emotion.SAD)))
    assert mood.absent
    assert mood.since == 30.0
    assert smoother.update(Scores(timestamp=30.5, probabilities=pure(Emotion.SAD))).emotion == Emotion.SAD


# --- MoodSmoother: input contract -----------------------------------------------------------------


def test_frames_older_than_the_newest_are_ignored() -> None:
    smoother = settled(Emotion.HAPPY)
    before = smoother.mood
    late = smoother.update(Scores(timestamp=1.0, probabilities=pure(Emotion.SAD)))
    assert late is before
    # The late frame left no trace: a full window of happy still follows.
    history = feed(smoother, frames(5.0, 6.0, pure(Emotion.HAPPY)))
    assert history[-1][1].confidence == pytest.approx(1.0)


def test_equal_timestamps_are_accepted() -> None:
    smoother = MoodSmoother()
    smoother.update(Scores(timestamp=0.0, probabilities=pure(Emotion.FEAR)))
    smoother.update(Scores(timestamp=0.0, probabilities=pure(Emotion.FEAR)))
    assert smoother.update(Scores(timestamp=0.5, probabilities=pure(Emotion.FEAR))).emotion == Emotion.FEAR


def test_wrong_number_of_probabilities_is_an_error() -> None:
    with pytest.raises(ValueError, match="expected 7 probabilities, got 3"):
        MoodSmoother().update(Scores(timestamp=0.0, probabilities=(0.2, 0.3, 0.5)))


@pytest.mark.parametrize(
    ("option", "value"),
    [("window_s", 0.0), ("margin", 1.0), ("margin", -0.1), ("dwell_s", -1.0), ("absent_after_s", 0.0)],
)
def test_out_of_range_parameters_are_rejected(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        MoodSmoother(**{option: value})  # type: ignore[arg-type]


# --- mutation-testing round (docs/mutation-mut-mood.md): exact values and both sides of boundaries ---


def test_aggregate_a_zero_area_face_beside_a_real_one_counts_for_nothing() -> None:
    """Only an all-zero-area frame falls back to equal weights; one real face outweighs the rest."""
    rows = np.array([pure(Emotion.HAPPY), pure(Emotion.SAD)])
    combined = aggregate_faces(rows, [FaceBox(0, 0, 1, 1), FaceBox(5, 5, 0, 9)])  # areas 1 and 0
    assert combined == pure(Emotion.HAPPY)


def test_aggregate_renormalises_a_one_pixel_face() -> None:
    """A total weight under 1 (a 1x1 box, a row summing to 0.99) is still divided out exactly."""
    row = np.array([[0.0, 0.0, 0.0, 0.99, 0.0, 0.0, 0.0]])
    assert aggregate_faces(row, [FaceBox(0, 0, 1, 1)]) == pure(Emotion.HAPPY)


def test_aggregate_all_zero_rows_are_uniform() -> None:
    combined = aggregate_faces(np.zeros((2, 7)), [FaceBox(0, 0, 10, 10), FaceBox(0, 0, 20, 20)])
    assert combined == (1.0 / 7,) * 7


def test_aggregate_errors_say_what_was_wrong() -> None:
    with pytest.raises(ValueError, match=r"^probabilities must have shape \(n, 7\), got \(1, 6\)$"):
        aggregate_faces(np.ones((1, 6)) / 6, [FaceBox(0, 0, 10, 10)])
    with pytest.raises(ValueError, match=r"^probabilities must have shape \(n, 7\), got \(7,\)$"):
        aggregate_faces(np.ones(7) / 7, [FaceBox(0, 0, 10, 10)])


def test_equal_timestamps_both_count_as_evidence() -> None:
    smoother = MoodSmoother()
    smoother.update(Scores(timestamp=0.0, probabilities=pure(Emotion.FEAR)))
    smoother.update(Scores(timestamp=0.0, probabilities=pure(Emotion.HAPPY)))
    assert smoother.probabilities is not None
    assert smoother.probabilities[Emotion.FEAR] == 0.5
    assert smoother.probabilities[Emotion.HAPPY] == 0.5


def test_a_listener_gone_leaves_no_evidence() -> None:
    smoother = settled(Emotion.HAPPY)
    assert smoother.probabilities == pure(Emotion.HAPPY)
    mood = feed(smoother, frames(5.0, 8.0, None))[-1][1]  # the last face frame was at 4.75 s
    assert mood.absent
    assert smoother.probabilities is None


def test_present_but_window_empty_keeps_the_mood_without_evidence() -> None:
    """absent_after_s longer than the window: no face frame left in it, but still present."""
    smoother = settled(Emotion.HAPPY, until=2.0, window_s=1.0, absent_after_s=3.0)  # last face 1.75 s
    before = smoother.update(Scores(timestamp=2.5, probabilities=None))
    assert before.emotion == Emotion.HAPPY
    assert smoother.probabilities is not None
    mood = smoother.update(Scores(timestamp=2.75, probabilities=None))  # the 1.75 s frame drops out
    assert mood is before
    assert mood.emotion == Emotion.HAPPY
    assert smoother.probabilities is None


def one_frame_window(emotion: Emotion, margin: float) -> MoodSmoother:
    """A window of one frame (0.25 s at 4 frames/s) and no dwell: each frame's lead is exact."""
    return settled(emotion, until=1.0, window_s=PERIOD, margin=margin, dwell_s=0.0)


@pytest.mark.parametrize(("margin", "changed"), [(0.25, True), (0.375, False)])
def test_a_lead_of_exactly_the_margin_is_enough(margin: float, changed: bool) -> None:
    smoother = one_frame_window(Emotion.HAPPY, margin)
    sad_by_a_quarter = leaning(Emotion.SAD, 0.625, Emotion.HAPPY, 0.375)
    mood = smoother.update(Scores(timestamp=1.0, probabilities=sad_by_a_quarter))
    assert mood.emotion == (Emotion.SAD if changed else Emotion.HAPPY)


def test_a_new_emotion_can_be_challenged_on_the_very_next_frame() -> None:
    smoother = one_frame_window(Emotion.HAPPY, 0.15)
    assert smoother.update(Scores(timestamp=1.0, probabilities=pure(Emotion.SAD))).emotion == Emotion.SAD
    back = smoother.update(Scores(timestamp=1.25, probabilities=pure(Emotion.HAPPY)))
    assert (back.emotion, back.since) == (Emotion.HAPPY, 1.25)


def test_repeated_absence_returns_the_same_mood_object() -> None:
    """No new Mood per frame while nobody is there (and a changed absence is a new one)."""
    smoother = MoodSmoother()
    first = smoother.update(Scores(timestamp=0.0, probabilities=None))
    assert smoother.update(Scores(timestamp=1.0, probabilities=None)) is first
    assert smoother.update(Scores(timestamp=1.5, probabilities=pure(Emotion.SAD))) is first  # too soon
    gone = settled(Emotion.HAPPY)
    left = feed(gone, frames(5.0, 9.0, None))
    absent = [mood for _, mood in left if mood.absent]
    assert absent[0].since == 7.75
    assert all(mood is absent[0] for mood in absent)


def test_an_all_zero_frame_is_no_evidence_for_anything() -> None:
    smoother = MoodSmoother()
    smoother.update(Scores(timestamp=0.0, probabilities=(0.0,) * 7))
    assert smoother.probabilities == (0.0,) * 7


def test_a_single_quantised_frame_is_renormalised() -> None:
    smoother = MoodSmoother()
    smoother.update(Scores(timestamp=0.0, probabilities=(0.0, 0.0, 0.0, 0.99, 0.0, 0.0, 0.0)))
    assert smoother.probabilities == pure(Emotion.HAPPY)


@pytest.mark.parametrize(
    ("strong", "negative", "expected"),
    [(Emotion.HAPPY, Emotion.SAD, (1.0, 1.0)), (Emotion.SAD, Emotion.HAPPY, (-1.0, -1.0))],
)
def test_valence_and_arousal_stay_on_the_circumplex_whatever_the_scores(
    strong: Emotion, negative: Emotion, expected: tuple[float, float]
) -> None:
    """Scores outside [0, 1] (a broken model) can push the weighted mean past +-1: it is clamped."""
    odd = tuple(2.0 if e == strong else -1.0 if e == negative else 0.0 for e in Emotion)
    smoother = MoodSmoother()
    mood = feed(smoother, [Scores(0.0, odd, 1), Scores(0.5, odd, 1)])[-1][1]
    assert mood.emotion == strong
    assert (mood.valence, mood.arousal) == expected


# --- skip_gap: the camera was off ------------------------------------------------------------------


def test_a_gap_skipped_does_not_count_toward_absence() -> None:
    smoother = settled(Emotion.HAPPY)  # last face frame at 4.75 s
    smoother.skip_gap(1.0)
    assert smoother.update(Scores(timestamp=8.0, probabilities=None)).emotion == Emotion.HAPPY  # 2.25 s
    assert smoother.update(Scores(timestamp=8.75, probabilities=None)).absent  # 3 s


def test_a_gap_skipped_keeps_the_window_s_evidence() -> None:
    smoother = settled(Emotion.HAPPY)  # face frames 0..4.75 s
    smoother.skip_gap(10.0)
    smoother.update(Scores(timestamp=15.0, probabilities=pure(Emotion.SAD)))
    # 10..14.75 s now; the one at 10 s leaves the 5 s window: 19 happy frames and 1 sad.
    assert smoother.probabilities is not None
    assert smoother.probabilities[Emotion.HAPPY] == pytest.approx(19 / 20)
    assert smoother.probabilities[Emotion.SAD] == pytest.approx(1 / 20)


def test_a_gap_can_be_skipped_after_an_emotion_began_or_ended() -> None:
    smoother = settled(Emotion.HAPPY)
    smoother.skip_gap(2.0)
    feed(smoother, frames(5.0, 12.0, None))
    assert smoother.mood is not None
    assert smoother.mood.absent
    smoother.skip_gap(2.0)
    assert smoother.update(Scores(timestamp=12.0, probabilities=None)).absent


def test_a_negative_gap_changes_nothing() -> None:
    smoother = settled(Emotion.HAPPY)
    smoother.skip_gap(-5.0)
    assert smoother.update(Scores(timestamp=7.5, probabilities=None)).emotion == Emotion.HAPPY  # 2.75 s
    assert smoother.update(Scores(timestamp=7.75, probabilities=None)).absent


# --- parameters: both sides of each limit, and the messages ---------------------------------------


def test_no_evidence_before_the_first_frame() -> None:
    assert MoodSmoother().probabilities is None


@pytest.mark.parametrize(
    "options",
    [
        {"window_s": 60.0},
        {"margin": 0.0},
        {"dwell_s": 0.0},
        {"absent_after_s": 0.5},
        {"absent_after_s": 3600.0},
        {"min_evidence_s": 0.0},
        {"min_frames": 1},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()),
)
def test_parameters_at_their_limits_are_accepted(options: dict[str, float]) -> None:
    smoother = MoodSmoother(**options)  # type: ignore[arg-type]
    for name, value in options.items():
        assert getattr(smoother, name) == value


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_s": 60.5}, "window_s must be in (0, 60], got 60.5"),
        ({"margin": -0.1}, "margin must be in [0, 1), got -0.1"),
        ({"dwell_s": -1.0}, "dwell_s must be >= 0, got -1.0"),
        ({"absent_after_s": 3600.5}, "absent_after_s must be in (0, 3600], got 3600.5"),
        ({"min_evidence_s": -0.5}, "min_evidence_s must be >= 0, got -0.5"),
        ({"min_frames": 0}, "min_frames must be >= 1, got 0"),
    ],
)
def test_out_of_range_parameters_name_the_limit(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        MoodSmoother(**options)  # type: ignore[arg-type]


def test_one_frame_is_enough_with_min_frames_one() -> None:
    smoother = MoodSmoother(min_frames=1, min_evidence_s=0.0)
    assert smoother.update(Scores(timestamp=3.0, probabilities=pure(Emotion.SAD))).emotion == Emotion.SAD
